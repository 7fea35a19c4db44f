"""Settings of the upsampling study, by profile.

``quick`` is the README's main job (at most ten minutes on two cores from a fresh install);
``full`` is the same study at 64x64 with more steps and images (hours on two cores); ``tiny``
exercises the whole pipeline in the test suite in well under a minute.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ganscope.detectors import CLASSIFIERS, CNN_INPUTS, SPECTRAL_FEATURES
from ganscope.errors import GanscopeError
from ganscope.layers import UPSAMPLERS


@dataclass(frozen=True)
class Variant:
    """One generator of the study: an upsampler, optionally with a spectral fix.

    Attributes:
        name: the source name used in every table (``transposed``, ``transposed+specreg``, ...).
        upsample: registered upsampler.
        spectral_reg: weight of Durall et al.'s spectral regularization (0 = off).
        spectral_disc: add Jung & Keuper's spectral discriminator.
        spectral_disc_weight: weight of its logit beside the image discriminator's.
    """

    name: str
    upsample: str
    spectral_reg: float = 0.0
    spectral_disc: bool = False
    spectral_disc_weight: float = 1.0


@dataclass(frozen=True)
class StudyDetector:
    """One detector of the study: its name in every table and how to build it.

    Attributes:
        name: the detector's name in ``results.json``'s ``transfer`` (``azimuthal+logreg``,
            ``azimuthal+kmeans``, ``cnn-rgb``, ...).
        detector: its class's name in :data:`ganscope.detectors.DETECTORS`.
        settings: keyword arguments of that class (the study adds ``seed``, and ``device`` for
            detectors that take one).
        per_source: also trained on each generator alone (else only on all of them).
    """

    name: str
    detector: str
    settings: dict[str, Any] = field(default_factory=dict)
    per_source: bool = True


def _variants(names: tuple[str, ...], *, fixes: bool) -> tuple[Variant, ...]:
    out = [Variant(n, n) for n in names]
    if fixes:
        # Weights from the generator benchmark: at 1.0 both fixes dominate the GAN loss (their
        # gradients start 50-400x larger) and training collapses to one texture.
        out += [
            Variant("transposed+specreg", "transposed", spectral_reg=0.01),
            Variant(
                "transposed+specdisc", "transposed", spectral_disc=True, spectral_disc_weight=0.05
            ),
        ]
    return tuple(out)


# Every registered upsampler joins the study: a new one is studied the day it is registered.
ALL_UPSAMPLERS: tuple[str, ...] = tuple(UPSAMPLERS)


@dataclass(frozen=True)
class StudyProfile:
    """Every setting of a study run (saved with its results; a rerun must match it)."""

    name: str
    size: int
    n_train: int  # real training crops; each generator contributes as many fakes
    n_test: int  # real test crops; each generator contributes as many fakes
    variants: tuple[Variant, ...]
    gan_steps: int
    gan_width: int
    gan_batch: int
    gan_ema: float = 0.999  # EMA decay of G; short runs need a short memory
    use_zoo: bool = False  # take shipped zoo generators (built-in corpus only, no --retrain)
    # Registered spectral features, but horizontal and vertical only inside projections.
    features: tuple[str, ...] = ("azimuthal", "projections", "dct", "fft2d")
    # Every registered classifier: a new one joins the study the day it is registered.
    classifiers: tuple[str, ...] = tuple(CLASSIFIERS)
    cnn_inputs: tuple[str, ...] = ("rgb", "npr")
    cnn_epochs: int = 4
    cnn_per_source: bool = True  # also train the CNN per generator (else only on all of them)
    few_shot: tuple[int, ...] = (20, 100)
    jpeg_qualities: tuple[int, ...] = (95, 75, 50, 30)
    blur_sigmas: tuple[float, ...] = (0.5, 1.0, 2.0)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for what, names, registry in (
            ("spectral feature", self.features, SPECTRAL_FEATURES),
            ("classifier", self.classifiers, CLASSIFIERS),
            ("CNN input", self.cnn_inputs, CNN_INPUTS),
        ):
            unknown = [n for n in names if n not in registry]
            if unknown:
                raise GanscopeError(
                    f"profile {self.name}: unknown {what} {', '.join(unknown)}; "
                    f"registered: {', '.join(registry)}"
                )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def variant_names(self) -> list[str]:
        """The generators' source names (an upsampler, or an upsampler with a spectral fix)."""
        return [v.name for v in self.variants]

    @property
    def detectors(self) -> list[StudyDetector]:
        """Every detector the study trains: each spectral feature with each classifier, Durall
        et al.'s unsupervised k-means on the azimuthal profile, and a CNN (Wang et al. 2020's
        blur + JPEG augmentation) per input."""
        out = [
            StudyDetector(f"{feat}+{clf}", "spectral", {"features": feat, "classifier": clf})
            for feat in self.features
            for clf in self.classifiers
        ]
        out.append(StudyDetector("azimuthal+kmeans", "spectral-kmeans", {"features": "azimuthal"}))
        out += [
            StudyDetector(
                f"cnn-{inp}",
                "cnn",
                {
                    "arch": "resnet-small",
                    "input": inp,
                    "epochs": self.cnn_epochs,
                    "blur_prob": 0.1,
                    "jpeg_prob": 0.1,
                },
                per_source=self.cnn_per_source,
            )
            for inp in self.cnn_inputs
        ]
        return out


PROFILES: dict[str, StudyProfile] = {
    "tiny": StudyProfile(
        name="tiny",
        size=32,
        n_train=48,
        n_test=32,
        variants=(Variant("transposed", "transposed"), Variant("nearest", "nearest")),
        gan_steps=6,
        gan_width=8,
        gan_batch=16,
        gan_ema=0.5,
        features=("azimuthal", "projections"),
        classifiers=("logreg",),
        cnn_inputs=("rgb",),
        cnn_epochs=1,
        cnn_per_source=False,
        few_shot=(20,),
        jpeg_qualities=(50,),
        blur_sigmas=(1.0,),
    ),
    "quick": StudyProfile(
        name="quick",
        size=32,
        n_train=400,
        n_test=200,
        variants=_variants(ALL_UPSAMPLERS, fixes=True),
        gan_steps=300,
        gan_width=16,
        gan_batch=32,
        gan_ema=0.98,
        use_zoo=True,
        cnn_epochs=6,
        cnn_per_source=True,
    ),
    "full": StudyProfile(
        name="full",
        size=64,
        n_train=4000,
        n_test=1000,
        variants=_variants(ALL_UPSAMPLERS, fixes=True),
        gan_steps=20000,
        gan_width=64,
        gan_batch=64,
        cnn_epochs=20,
        cnn_per_source=True,
        few_shot=(20, 100, 1000),
    ),
}


def get_profile(name: str) -> StudyProfile:
    """The profile called ``name`` (``tiny``, ``quick`` or ``full``)."""
    try:
        return PROFILES[name]
    except KeyError:
        raise GanscopeError(f"profile must be one of {', '.join(PROFILES)}, not {name!r}") from None
