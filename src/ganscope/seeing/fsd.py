"""Distribution-level mode collapse: segmentation statistics and the Fréchet Segmentation Distance.

Bau et al., "Seeing What a GAN Cannot Generate", ICCV 2019, sec. 3.1: segment many generated and
many real images with the same scene parser, and compare, class by class, how much of the images
each class covers. A class that covers much less of the generated images than of the real ones is
one the GAN *under-generates* (has dropped, at least in part). The Fréchet Segmentation Distance
(FSD) summarises the whole comparison in one number, as FID does for Inception features:

    FSD = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

where ``mu`` and ``S`` are the mean and covariance of the per-image class-area vectors (the
fraction of the image's pixels that each class covers).

**Streaming.** A folder is read in batches through :func:`ganscope.io.iter_batches`; each batch
is segmented and reduced at once to one ``K``-vector per image, so memory holds ``N x K`` numbers
(11 classes: 88 bytes an image), never the masks.

**Uncertainty.** Images are resampled with replacement (``n_boot`` times, both sets
independently). Pixel fractions and presence rates get percentile intervals. FSD is biased
upward by sampling noise (two finite samples of one distribution have FSD > 0, and a resample
adds more of that noise), so a percentile interval would never contain 0; FSD gets the *basic*
(reverse-percentile) bootstrap interval ``[2 FSD - q_hi, 2 FSD - q_lo]`` (Davison & Hinkley,
"Bootstrap Methods and their Application", 1997, ch. 5), which corrects that bias, clipped at 0
since a distance is not negative.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganscope.checkpoint import load_config
from ganscope.errors import GanscopeError
from ganscope.io import iter_batches, list_images, write_json
from ganscope.progress import progress_bar

__all__ = [
    "ClassAreas",
    "FSDResult",
    "FSDSettings",
    "class_areas",
    "compare_class_areas",
    "compare_folders",
    "frechet_distance",
    "frechet_segmentation_distance",
    "fsd_report",
    "load_fsd_segmenter",
    "segment_folder",
]

log = logging.getLogger("ganscope")

Labeler = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class FSDSettings:
    """Settings of :func:`fsd_report` (``ganscope seeing fsd``).

    Attributes:
        bootstrap: bootstrap resamples for the intervals.
        batch_size: images per batch.
        segmenter: the segmenter of the classes: scenes (the built-in scene U-Net), or a folder
            holding model.safetensors + config.json of a ganscope U-Net.
        seed: seed of the bootstrap resamples; the same seed gives the same output.
        json: write {"fsd", "fsd_ci", "per_class": {class: {"real", "generated", ...}}, ...}.
        plot: write the per-class chart (.png/.pdf/.svg).
    """

    bootstrap: int = 200
    batch_size: int = 64
    segmenter: str = "scenes"
    seed: int = 0
    json: Path | None = None
    plot: Path | None = None


def class_areas(labels: Tensor, n_classes: int) -> Tensor:
    """Per-image class-area fractions of label maps.

    Args:
        labels: ``(B, H, W)`` integer label maps with values in ``[0, n_classes)``.
        n_classes: ``K``.

    Returns:
        ``(B, K)`` float64: the fraction of each image's pixels labelled with each class (rows
        sum to 1).

    Example:
        >>> class_areas(torch.tensor([[[0, 1], [1, 1]]]), 3)
        tensor([[0.2500, 0.7500, 0.0000]], dtype=torch.float64)
    """
    if labels.ndim != 3:
        raise GanscopeError(f"label maps must be (B, H, W), got {tuple(labels.shape)}")
    b = labels.shape[0]
    if b == 0:
        return torch.zeros(0, n_classes, dtype=torch.float64)
    lab = labels.long()
    if int(lab.min()) < 0 or int(lab.max()) >= n_classes:
        raise GanscopeError(f"label values must lie in [0, {n_classes}), got {int(lab.max())}")
    # One bincount for the whole batch: image i's class c goes to bin i * K + c.
    offset = torch.arange(b, device=lab.device)[:, None, None] * n_classes
    counts = torch.bincount((lab + offset).flatten(), minlength=b * n_classes).view(b, n_classes)
    return counts.double().cpu() / float(labels.shape[1] * labels.shape[2])


@dataclass
class ClassAreas:
    """Per-image class-area vectors of one image set (what FSD and the chart are built from).

    Attributes:
        labels: the class names, length ``K``.
        areas: ``(N, K)`` float64 area fractions, one row per readable image.
        errors: ``(path, reason)`` of every file that could not be read.
    """

    labels: list[str]
    areas: np.ndarray
    errors: list[tuple[Path, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.areas.shape[0])

    def pixel_fraction(self) -> np.ndarray:
        """``(K,)``: the mean over images of each class's area fraction."""
        return self.areas.mean(0)

    def presence(self, min_area: float = 0.0) -> np.ndarray:
        """``(K,)``: the fraction of images in which the class covers more than ``min_area``."""
        return (self.areas > min_area).mean(0)


def segment_folder(
    folder: str | Path | Sequence[str | Path],
    labeler: Labeler,
    labels: Sequence[str],
    *,
    batch_size: int = 64,
    description: str = "segmenting",
) -> ClassAreas:
    """Segment every image of a folder, streamed batch by batch, into per-image class areas.

    Args:
        folder: an image folder (read recursively) or a list of files.
        labeler: ``(B, 3, H, W)`` in [0, 1] → ``(B, H, W)`` class indices (e.g.
            :class:`ganscope.dissect.segmenter.SegmenterLabeler`).
        labels: the class names of the labeler's indices.
        batch_size: images decoded and segmented at a time.
        description: progress-bar text.

    Returns:
        :class:`ClassAreas`; unreadable files are listed in ``errors``, not raised.

    Raises:
        GanscopeError: the folder does not exist or holds no readable image.
    """

    files = list_images(folder)
    k = len(labels)
    errors: list[tuple[Path, str]] = []
    rows: list[Tensor] = []
    with progress_bar(len(files), description) as bar, torch.inference_mode():
        for batch in iter_batches(files, batch_size=batch_size, errors=errors):
            images = batch.images.float()
            rows.append(class_areas(labeler(images), k))
            bar.advance(len(batch))
    if not rows:
        shown = folder if isinstance(folder, str | Path) else f"{len(files)} files"
        raise GanscopeError(f"no readable image in {shown} ({len(errors)} unreadable)")
    return ClassAreas(list(labels), torch.cat(rows).numpy(), errors)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance between two Gaussians, squared as in FID and FSD.

    ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``. The trace of the matrix square root is
    taken as ``sum sqrt(eig(A S2 A))`` with ``A = S1^(1/2)`` (symmetric, so ``eigh`` is exact and
    stable for singular covariances, where ``scipy.linalg.sqrtm`` of ``S1 S2`` can go complex).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    w, v = np.linalg.eigh((cov1 + cov1.T) / 2)
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S1^(1/2)
    m = a @ cov2 @ a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d = float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt)
    return max(d, 0.0)


def _gaussian(areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = areas.mean(0)
    if areas.shape[0] < 2:
        return mu, np.zeros((areas.shape[1], areas.shape[1]))
    return mu, np.atleast_2d(np.cov(areas, rowvar=False))


def frechet_segmentation_distance(real: np.ndarray, generated: np.ndarray) -> float:
    """FSD (Bau et al. 2019) between two sets of per-image class-area vectors ``(N, K)``."""
    return frechet_distance(*_gaussian(real), *_gaussian(generated))


@dataclass
class FSDResult:
    """The comparison of a real and a generated image set (see :func:`compare_class_areas`).

    Attributes:
        labels: class names.
        fsd: the Fréchet Segmentation Distance.
        fsd_ci: its basic-bootstrap interval ``(lo, hi)``.
        real, generated: per-class pixel fractions ``(K,)``.
        real_presence, generated_presence: per-class presence rates ``(K,)``.
        ci: name → ``(K, 2)`` percentile intervals of the four per-class statistics above, and
            of ``ratio`` (generated / real pixel fraction).
        n_real, n_generated: images in each set.
        n_boot, confidence, seed: the bootstrap settings.
        errors: ``(path, reason)`` of unreadable files of both sets.
    """

    labels: list[str]
    fsd: float
    fsd_ci: tuple[float, float]
    real: np.ndarray
    generated: np.ndarray
    real_presence: np.ndarray
    generated_presence: np.ndarray
    ci: dict[str, np.ndarray]
    n_real: int
    n_generated: int
    n_boot: int
    confidence: float
    seed: int
    errors: list[tuple[Path, str]] = field(default_factory=list)

    def ratio(self) -> np.ndarray:
        """Generated / real pixel fraction per class (``nan`` where the real fraction is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.real > 0, self.generated / self.real, np.nan)

    def under_generated(self, *, by: str = "deficit") -> list[str]:
        """Classes ordered from the most under-generated to the most over-generated.

        Args:
            by: ``deficit`` (real minus generated pixel fraction: how much of the image is
                missing) or ``ratio`` (generated / real: which share of the class is missing;
                classes absent from the real set go last).
        """
        if by == "deficit":
            key = self.generated - self.real
        elif by == "ratio":
            key = np.nan_to_num(self.ratio(), nan=np.inf)
        else:
            raise GanscopeError(f"order by 'deficit' or 'ratio', not {by!r}")
        return [self.labels[i] for i in np.argsort(key, kind="stable")]

    def table(self) -> str:
        """The text ``ganscope seeing fsd`` prints: the FSD with its interval, then the pixel
        percentage of each class in both sets, most under-generated (by deficit) first."""
        lo, hi = self.fsd_ci
        lines = [
            f"FSD {self.fsd:.5g}  (95% CI {lo:.3g} .. {hi:.3g}; "
            f"{self.n_real} real, {self.n_generated} generated images)",
            f"{'class':<12}{'real %':>9}{'gen %':>9}{'gen/real':>10}",
        ]
        ratio = self.ratio()
        for name in self.under_generated(by="deficit"):
            i = self.labels.index(name)
            r = "-" if math.isnan(ratio[i]) else f"{ratio[i]:.3f}"
            real, gen = 100 * self.real[i], 100 * self.generated[i]
            lines.append(f"{name:<12}{real:>9.3f}{gen:>9.3f}{r:>10}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The ``seeing fsd --json`` document (DESIGN.md contract, plus intervals and errors)."""
        per_class = {}
        ratio = self.ratio()
        for i, name in enumerate(self.labels):
            per_class[name] = {
                "real": float(self.real[i]),
                "generated": float(self.generated[i]),
                "real_presence": float(self.real_presence[i]),
                "generated_presence": float(self.generated_presence[i]),
                "ratio": None if math.isnan(ratio[i]) else float(ratio[i]),
                **{f"{k}_ci": [float(v) for v in self.ci[k][i]] for k in self.ci},
            }
        return {
            "fsd": self.fsd,
            "fsd_ci": [self.fsd_ci[0], self.fsd_ci[1]],
            "per_class": per_class,
            "under_generated": self.under_generated(),
            "n_real": self.n_real,
            "n_generated": self.n_generated,
            "bootstrap": {"n_boot": self.n_boot, "confidence": self.confidence, "seed": self.seed},
            "errors": [{"path": str(p), "error": e} for p, e in self.errors],
        }


def compare_class_areas(
    real: ClassAreas,
    generated: ClassAreas,
    *,
    n_boot: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    min_area: float = 0.0,
) -> FSDResult:
    """FSD, per-class statistics and their bootstrap intervals for two sets of class areas.

    Args:
        real: class areas of the real images.
        generated: class areas of the generated images (same classes).
        n_boot: bootstrap resamples (each set resampled with replacement, independently).
        confidence: coverage of the intervals.
        seed: the bootstrap's random seed.
        min_area: a class is *present* in an image when it covers more than this fraction.

    Returns:
        :class:`FSDResult`.
    """
    if real.labels != generated.labels:
        raise GanscopeError("the two image sets were segmented with different classes")
    if n_boot < 2:
        raise GanscopeError(f"n_boot must be at least 2, not {n_boot}")
    if not 0 < confidence < 1:
        raise GanscopeError(f"confidence must lie in (0, 1), not {confidence}")
    a, b = real.areas, generated.areas
    fsd = frechet_segmentation_distance(a, b)
    rng = np.random.default_rng(seed)
    k = a.shape[1]
    boot_fsd = np.empty(n_boot)
    stats = {
        n: np.empty((n_boot, k))
        for n in ("real", "generated", "real_presence", "generated_presence", "ratio")
    }
    for t in range(n_boot):
        ra = a[rng.integers(0, len(a), len(a))]
        rb = b[rng.integers(0, len(b), len(b))]
        boot_fsd[t] = frechet_segmentation_distance(ra, rb)
        stats["real"][t], stats["generated"][t] = ra.mean(0), rb.mean(0)
        stats["real_presence"][t] = (ra > min_area).mean(0)
        stats["generated_presence"][t] = (rb > min_area).mean(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            stats["ratio"][t] = rb.mean(0) / ra.mean(0)
    alpha = (1 - confidence) / 2
    q_lo, q_hi = np.quantile(boot_fsd, [alpha, 1 - alpha])
    ci = {n: _percentile_interval(s, alpha) for n, s in stats.items()}
    return FSDResult(
        labels=list(real.labels),
        fsd=fsd,
        fsd_ci=(max(0.0, float(2 * fsd - q_hi)), max(0.0, float(2 * fsd - q_lo))),
        real=real.pixel_fraction(),
        generated=generated.pixel_fraction(),
        real_presence=real.presence(min_area),
        generated_presence=generated.presence(min_area),
        ci=ci,
        n_real=len(real),
        n_generated=len(generated),
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
        errors=[*real.errors, *generated.errors],
    )


def _percentile_interval(samples: np.ndarray, alpha: float) -> np.ndarray:
    """``(K, 2)`` percentile interval per column over its finite samples (``nan`` if none)."""
    out = np.full((samples.shape[1], 2), np.nan)
    for j in range(samples.shape[1]):
        col = samples[:, j][np.isfinite(samples[:, j])]
        if col.size:
            out[j] = np.quantile(col, [alpha, 1 - alpha])
    return out


def load_fsd_segmenter(
    spec: str | Path = "scenes", *, device: torch.device | str = "cpu"
) -> tuple[Labeler, list[str]]:
    """The segmenter named by ``--segmenter``: ``scenes`` (the shipped scene U-Net) or a model
    folder (or its ``model.safetensors``) of the same architecture with its ``config.json``.

    Only safetensors weights are read: a TorchScript or pickled file is refused, never loaded.

    Returns:
        ``(labeler, labels)``.
    """
    from ganscope.dissect.segmenter import scene_labeler

    if str(spec) == "scenes":
        lab = scene_labeler(device=device)
        return lab, lab.labels
    path = Path(spec)
    folder = path.parent if path.is_file() and path.name == "model.safetensors" else path
    if path.is_file() and folder is path:
        raise GanscopeError(
            f"--segmenter {path}: give 'scenes' or a folder holding model.safetensors + "
            "config.json of a ganscope U-Net segmenter (TorchScript and pickled models are not "
            "loaded)"
        )
    if not folder.is_dir():
        raise GanscopeError(f"--segmenter {spec}: no such folder (or 'scenes')")
    config = load_config(folder)
    if config.get("class", "UNet") != "UNet":
        raise GanscopeError(
            f"--segmenter {folder}: config.json names class {config.get('class')!r}; only the "
            "UNet segmenter architecture (ganscope.dissect.segmenter) is supported"
        )
    lab = scene_labeler(folder, device=device)
    n = lab.net.n_classes  # type: ignore[attr-defined]
    if len(lab.labels) != n:
        raise GanscopeError(
            f"--segmenter {folder}: config.json lists {len(lab.labels)} labels for {n} classes"
        )
    return lab, lab.labels


def compare_folders(
    real: str | Path | Sequence[str | Path],
    generated: str | Path | Sequence[str | Path],
    *,
    segmenter: str | Path = "scenes",
    n_boot: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> FSDResult:
    """``ganscope seeing fsd``: segment two image folders (streamed) and compare them.

    Works on any folders, so on any generator's samples. See :func:`compare_class_areas`.
    """
    labeler, labels = load_fsd_segmenter(segmenter, device=device)
    a = segment_folder(real, labeler, labels, batch_size=batch_size, description="segmenting real")
    b = segment_folder(
        generated, labeler, labels, batch_size=batch_size, description="segmenting generated"
    )
    return compare_class_areas(a, b, n_boot=n_boot, confidence=confidence, seed=seed)


def fsd_report(
    real: str | Path,
    generated: str | Path,
    settings: FSDSettings | None = None,
    *,
    device: torch.device | str = "cpu",
) -> FSDResult:
    """``ganscope seeing fsd``: :func:`compare_folders` with ``settings``, then write the JSON
    document (:meth:`FSDResult.to_json`) to ``settings.json`` and the per-class chart
    (:func:`ganscope.seeing.figures.class_chart`) to ``settings.plot`` (.png, .pdf or .svg) when
    given.
    Unreadable files are logged as one warning and listed in the JSON."""
    from ganscope.seeing.figures import class_chart, save_figure  # imports this module; matplotlib

    for folder in (real, generated):
        if not Path(folder).exists():
            raise GanscopeError(f"folder not found: {folder}")
    settings = settings or FSDSettings()
    result = compare_folders(
        real,
        generated,
        segmenter=settings.segmenter,
        n_boot=settings.bootstrap,
        seed=settings.seed,
        batch_size=settings.batch_size,
        device=device,
    )
    if result.errors:
        log.warning("%d unreadable files (listed in --json)", len(result.errors))
    if settings.json is not None:
        write_json(settings.json, result.to_json())
    if settings.plot is not None:
        save_figure(class_chart(result), settings.plot)
    return result
