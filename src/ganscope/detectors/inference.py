"""Running detectors on image files: loading training sets, streaming predictions, evaluation.

**Image sizes.** A detector scores one size per batch:

- Spectral detectors (and CNN detectors with ``eval_crop="center"``) centre-crop every image to
  their input size (the training size for spectral detectors, the crop for CNNs). Smaller
  images cannot be scored and are reported in ``errors`` ("too small for a HxW crop").
- CNN detectors with ``eval_crop="full"`` score every image whole; consecutive images of one size
  share a batch, images with a side below the crop are reported in ``errors``.

For training, :func:`load_images` centre-crops every image to the smallest height and the smallest
width found in the training set (or to ``size``), so that real and fake images are seen at the
same size (a size difference is a bias the detector would otherwise learn, see
:mod:`ganscope.detectors.audit`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganscope.detectors.base import BaseDetector
from ganscope.io import LabeledSet, iter_batches
from ganscope.io.sizes import plan_crop
from ganscope.metrics.classification import detection_metrics
from ganscope.progress import progress_bar

BadFile = tuple[Path, str]


def common_size(
    paths: Sequence[Path], errors: list[BadFile] | None = None, *, min_size: int = 8
) -> tuple[int, int]:
    """``(min H, min W)`` over the headers of the files that will be used.

    Unreadable files and files with a side below ``min_size`` (which :func:`load_images` skips
    as too small) go to ``errors`` and do not take part: one stray 1x1 file must not shrink
    every training crop to 1x1.

    Raises:
        GanscopeError: no readable image of at least ``min_size`` x ``min_size``.
    """
    plan = plan_crop({"": list(paths)}, min_size=min_size)
    if errors is not None:
        errors.extend(plan.bad)
    return plan.size


def load_images(
    paths: Sequence[Path],
    *,
    size: tuple[int, int],
    batch_size: int = 64,
    errors: list[BadFile] | None = None,
    description: str = "loading",
) -> tuple[torch.Tensor, list[Path]]:
    """Decode ``paths`` centre-cropped to ``size``: ``(images (N, 3, h, w), kept paths)``.

    Unreadable or too-small files are appended to ``errors`` and left out.
    """
    chunks, kept = [], []
    bad: list[BadFile] = []
    with progress_bar(len(paths), description) as bar:
        for batch in iter_batches(paths, batch_size=batch_size, crop=size, errors=bad):
            chunks.append(batch.images)
            kept.extend(batch.paths)
            bar.advance(len(batch) + len(bad))
            if errors is not None:
                errors.extend(bad)
            bad.clear()
        bar.advance(len(bad))
        if errors is not None:
            errors.extend(bad)
    if not chunks:
        return torch.zeros(0, 3, *size), []
    return torch.cat(chunks), kept


def iter_predictions(
    detector: BaseDetector,
    paths: Sequence[Path],
    *,
    batch_size: int = 64,
    errors: list[BadFile] | None = None,
    description: str = "detecting",
) -> Iterator[tuple[list[Path], np.ndarray]]:
    """Stream ``(paths, P(fake))`` per batch; bad files go to ``errors`` and the rest goes on."""
    size = detector.input_size
    min_size = detector.min_input_size
    bad: list[BadFile] = []
    with progress_bar(len(paths), description) as bar:
        for batch in iter_batches(
            paths, batch_size=batch_size, crop=size, min_size=min_size, errors=bad
        ):
            probs = detector.predict_proba(batch.images)[:, 1]
            bar.advance(len(batch) + len(bad))  # skipped files count as done
            if errors is not None:
                errors.extend(bad)
            bad.clear()
            yield batch.paths, probs
        bar.advance(len(bad))
        if errors is not None:
            errors.extend(bad)


def predict_paths(
    detector: BaseDetector,
    paths: Sequence[Path],
    *,
    batch_size: int = 64,
    errors: list[BadFile] | None = None,
    description: str = "detecting",
) -> tuple[list[Path], np.ndarray]:
    """All of :func:`iter_predictions` at once: ``(scored paths, P(fake) (N,))``."""
    kept: list[Path] = []
    probs: list[np.ndarray] = []
    for p, s in iter_predictions(
        detector, paths, batch_size=batch_size, errors=errors, description=description
    ):
        kept.extend(p)
        probs.append(s)
    return kept, (np.concatenate(probs) if probs else np.zeros(0))


def evaluate_detector(
    detector: BaseDetector,
    data: LabeledSet,
    *,
    batch_size: int = 64,
    errors: list[BadFile] | None = None,
    intervals: bool = True,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Score a labelled set: ``{"overall": M, "per_source": {source: M}}`` (DESIGN.md).

    ``overall`` pools the real images with every fake source; each ``per_source`` entry is the
    real images against that source alone. ``M`` is :func:`ganscope.metrics.detection_metrics`
    at the detector's ``threshold_``.
    """
    thr = float(getattr(detector, "threshold_", 0.5))
    _, p_real = predict_paths(
        detector, data.real, batch_size=batch_size, errors=errors, description="real"
    )
    per_source: dict[str, Any] = {}
    fake_scores = []
    for name, files in data.fakes.items():
        _, p_fake = predict_paths(
            detector, files, batch_size=batch_size, errors=errors, description=name
        )
        fake_scores.append(p_fake)
        y = np.r_[np.zeros(p_real.size), np.ones(p_fake.size)]
        per_source[name] = detection_metrics(
            y,
            np.r_[p_real, p_fake],
            threshold=thr,
            intervals=intervals,
            n_resamples=n_resamples,
            seed=seed,
        )
    p_all_fake = np.concatenate(fake_scores) if fake_scores else np.zeros(0)
    y = np.r_[np.zeros(p_real.size), np.ones(p_all_fake.size)]
    overall = detection_metrics(
        y,
        np.r_[p_real, p_all_fake],
        threshold=thr,
        intervals=intervals,
        n_resamples=n_resamples,
        seed=seed,
    )
    return {"overall": overall, "per_source": per_source}
