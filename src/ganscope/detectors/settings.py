"""The settings of ``ganscope detector train|eval`` and ``detect``, and what each one means.

:class:`TrainSettings`, :class:`EvalSettings` and :class:`DetectSettings` document each setting
once, in their ``Attributes:`` (the command line shows it in ``--help``), and check their values;
:class:`TrainSettings` also checks their combinations. :data:`HELP` describes the rest (folders,
the model, ``detect`` itself). Light on purpose (no scikit-learn): the command line reads this
module at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganscope.detectors.augment import AUGMENTATIONS
from ganscope.detectors.classifiers import training_methods
from ganscope.detectors.inputs import CALIBRATIONS, CNN_INPUTS, EVAL_CROPS
from ganscope.detectors.networks import ARCHITECTURES
from ganscope.errors import GanscopeError
from ganscope.settings import positive
from ganscope.spectrum.features import FEATURES, PRESETS

__all__ = [
    "HELP",
    "DetectSettings",
    "EvalSettings",
    "TrainSettings",
    "choices",
    "feature_choices",
]

HELP: dict[str, str] = {
    "out": "Model folder to write.",
    "real": "Folder of real images (repeatable; 0_real/1_fake trees work).",
    "fake": "Folder of fake images, one source per folder (repeatable).",
    "model": "Model folder written by detector train.",
    "detect_model": "Model folder; default: the detector shipped with ganscope (see "
    "MODEL_CARD.md).",
    "paths": "Image files or folders.",
    "detect": "P(fake) and a real/fake label per image. Unreadable files are reported, never "
    "fatal.\n\nThe default model scores every pixel of an image of any size >= 32x32 (the mean "
    "logit of 32x32 tiles) and its P(fake) is calibrated; fake means P(fake) above its "
    "threshold (MODEL_CARD.md says which and why). Other "
    "models centre-crop to their input size (spectral models: their training size; CNNs: their "
    "crop, unless trained with tiled scoring); smaller images are reported as errors.",
}
"""Argument or option that is not a setting (``detect``: the command) -> its ``--help`` text;
the settings' help is the ``Attributes:`` section of their classes."""


def choices() -> dict[str, tuple[str, ...]]:
    """The values of ``detector train``'s fixed-choice options, read from the registries now
    (``--method``: :func:`~ganscope.detectors.classifiers.training_methods`; ``--features``:
    :data:`ganscope.spectrum.FEATURES` then the CNN inputs)."""
    return {
        "method": training_methods(),
        "features": tuple(dict.fromkeys((*FEATURES, *CNN_INPUTS))),
        "arch": tuple(ARCHITECTURES),
        "augment": AUGMENTATIONS,
        "eval_crop": EVAL_CROPS,
        "calibrate": CALIBRATIONS,
        "preset": PRESETS,
    }


def feature_choices(method: str) -> tuple[str, ...]:
    """What ``--features`` may name for ``method``: the CNN inputs for ``cnn``, every registered
    spectral feature otherwise (the first is the default)."""
    return CNN_INPUTS if method == "cnn" else tuple(FEATURES)


@dataclass(frozen=True)
class TrainSettings:
    """Every setting of ``ganscope detector train`` but the folders (see its ``--help``).

    ``features=None`` is the method's default (``azimuthal``; ``rgb`` for ``cnn``, ``npr`` for
    ``arch="npr"``); ``blur_prob``/``jpeg_prob`` given with ``augment="auto"`` ask for Wang et
    al.'s ``blur+jpeg`` recipe; ``n_labels`` labelled images per class name the fake k-means
    cluster.

    Attributes:
        method: the learner: a classifier (logreg, ...; ganscope.detectors.CLASSIFIERS) or kmeans
            on spectral features, or cnn.
        features: what the learner sees: a spectral feature (spectral methods, default azimuthal;
            ganscope.spectrum.FEATURES) or rgb, npr, fft, dct (cnn, default rgb).
        bins: length of 1D spectral features.
        preset: spectral feature preset.
        size: centre-crop training images to SIZE x SIZE (default: the smallest height and width
            in the training set).
        n_labels: kmeans: labelled images per class used only to name the fake cluster (0: the
            smaller cluster is called fake).
        arch: cnn network: resnet-small, resnet50 (CNNDetection's), or npr (Tan et al. 2024's
            published NPR network; reads NPR residuals, loads their NPR.pth).
        antialias: cnn: BlurPool (Zhang 2019).
        crop: cnn: random-crop side.
        eval_crop: cnn: how an image is scored: center (the central crop), full (the whole image
            at once) or tiles (the mean logit of crop x crop tiles covering every pixel).
        calibrate: cnn: threshold (the balanced-accuracy threshold on the validation split) or
            temperature (temperature-scaled P(fake), threshold 0.5; Guo et al. 2017) or platt
            (a temperature and a bias; Platt 1999).
        target_fpr: cnn: with --calibrate temperature or platt, raise the threshold until at
            most this share of the validation reals is called fake (e.g. 0.05; default: 0.5).
        augment: cnn: training augmentation; auto: dihedral (flips, quarter turns) below 2000
            training images, blur+jpeg (Wang et al. 2020) from there. Blur hides the evidence
            where fakes are smoother than reals.
        epochs: cnn: most training epochs (default: by data size).
        lr: cnn: Adam learning rate.
        batch_size: cnn: images per step.
        blur_prob: cnn: blur probability (0.1); implies blur+jpeg.
        jpeg_prob: cnn: JPEG probability (0.1); implies blur+jpeg.
        val_fraction: cnn: held-out fraction per class.
        patience: cnn: early-stopping epochs (default: epochs / 4).
        members: cnn: networks to train from seeds seed, seed+1, ...; the detector scores with
            the mean of their logits (a deep ensemble; scoring costs that many times as much).
        weights: cnn: start from a .pth/.safetensors file (e.g. CNNDetection's); with --epochs 0
            it is used as it is.
        seed: random seed; the same seed gives the same output.
        device: auto (cuda if available, else cpu), cpu, cuda or cuda:N.
    """

    method: str
    features: str | None = None
    bins: int | None = None
    preset: str = "default"
    size: int | None = None
    n_labels: int = 5
    arch: str = "resnet-small"
    antialias: bool = False
    crop: int | None = None
    eval_crop: str = "center"
    calibrate: str = "threshold"
    target_fpr: float | None = None
    augment: str = "auto"
    epochs: int | None = None
    lr: float = 1e-3
    batch_size: int = 32
    blur_prob: float | None = None
    jpeg_prob: float | None = None
    val_fraction: float = 0.2
    patience: int | None = None
    members: int = 1
    weights: Path | None = None
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        for name, low in (("size", 1), ("bins", 1), ("crop", 1), ("batch_size", 1), ("epochs", 0),
                          ("members", 1)):  # fmt: skip
            positive(getattr(self, name), "--" + name.replace("_", "-"), minimum=low)
        if self.target_fpr is not None and (
            self.calibrate == "threshold" or not 0 < self.target_fpr < 1
        ):
            raise GanscopeError(
                f"--target-fpr needs --calibrate temperature or platt and a value in (0, 1), "
                f"not {self.target_fpr} with --calibrate {self.calibrate}"
            )

    @classmethod
    def of(cls, **options: object) -> TrainSettings:
        """Settings from parsed options: an Enum member stands for its value, and names that are
        not settings (the folders) are left out."""
        fields = cls.__dataclass_fields__
        return cls(**{k: getattr(v, "value", v) for k, v in options.items() if k in fields})  # type: ignore[arg-type]

    def resolved_features(self) -> str:
        """The feature kind or CNN input to learn from; bad combinations are the user's error."""
        allowed = feature_choices(self.method)
        feats = self.features if self.features is not None else allowed[0]
        if self.method == "cnn" and self.arch == "npr":
            # Tan et al.'s network is trained on NPR residuals; any other input would be nonsense.
            if self.features is not None and feats != "npr":
                raise GanscopeError(
                    "--arch npr reads NPR residuals: use --features npr (the default)"
                )
            feats = "npr"
        if feats not in allowed:
            raise GanscopeError(
                f"--features for --method {self.method} must be one of {', '.join(allowed)}"
            )
        if self.weights is not None and self.method != "cnn":
            raise GanscopeError("--weights applies to --method cnn only")
        return feats


@dataclass(frozen=True)
class EvalSettings:
    """Every setting of ``ganscope detector eval`` but the model and the folders
    (:func:`~ganscope.detectors.workflow.evaluate_folders`), checked when made.

    Attributes:
        json: write the results as JSON.
        batch_size: images per batch.
        bootstrap: bootstrap resamples for the 95% intervals.
        seed: random seed; the same seed gives the same output.
    """

    json: Path | None = None
    batch_size: int = 64
    bootstrap: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        positive(self.batch_size, "--batch-size")


@dataclass(frozen=True)
class DetectSettings:
    """Every setting of ``ganscope detect`` but the model and the paths
    (:func:`~ganscope.detectors.workflow.detect_files`), checked when made.

    Attributes:
        json: write the results as JSON.
        csv: write the results as CSV.
        batch_size: images per batch.
    """

    json: Path | None = None
    csv: Path | None = None
    batch_size: int = 64

    def __post_init__(self) -> None:
        positive(self.batch_size, "--batch-size")
