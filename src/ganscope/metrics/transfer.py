"""How a detector transfers across sources, and how it survives degradations.

- :func:`transfer_matrix`: train on real vs one fake source, test on real vs every source
  (Wang et al. 2020, Table 2: train on ProGAN, test on eleven other generators).
- :func:`robustness_sweep`: degrade the *whole* test set (real and fake images alike) with JPEG,
  blur or downscaling at several levels and report the metrics per level. Degrading only the fakes
  would measure a container difference, not robustness.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ganscope.errors import GanscopeError
from ganscope.metrics.classification import detection_metrics
from ganscope.progress import progress_bar

DEFAULT_SWEEP: dict[str, tuple[float, ...]] = {
    "jpeg": (100, 90, 75, 50, 30),
    "blur": (0.5, 1.0, 2.0, 3.0),
    "downscale": (0.75, 0.5, 0.25),
}
"""Levels of :func:`robustness_sweep`: JPEG quality, blur sigma (pixels), downscale factor."""


def _stack(real: Any, fake: Any) -> tuple[Any, np.ndarray]:
    if isinstance(real, torch.Tensor):
        X = torch.cat([real, torch.as_tensor(fake, dtype=real.dtype)])
    else:
        X = np.concatenate([np.asarray(real), np.asarray(fake)])
    y = np.r_[np.zeros(len(real), dtype=np.int64), np.ones(len(fake), dtype=np.int64)]
    return X, y


def _threshold(detector: Any) -> float:
    return float(getattr(detector, "threshold_", 0.5))


def transfer_matrix(
    make_detector: Callable[[], Any],
    real_train: Any,
    fakes_train: Mapping[str, Any],
    real_test: Any,
    fakes_test: Mapping[str, Any],
    *,
    metrics: Sequence[str] = ("ap", "accuracy"),
    on_fitted: Callable[[str, Any], None] | None = None,
    label: str = "transfer",
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Train one detector per training source, evaluate it on every test source.

    Args:
        make_detector: returns a fresh, unfitted detector (e.g.
            ``lambda: SpectralDetector(classifier="logreg")``).
        real_train: real training images ``(N, 3, H, W)`` (tensor or array).
        fakes_train: ``{source: fake training images}``.
        real_test: real test images, shared by all test sources.
        fakes_test: ``{source: fake test images}``.
        metrics: keys of :func:`ganscope.metrics.detection_metrics` to keep.
        on_fitted: called as ``on_fitted(train_source, detector)`` after each fit (e.g. to save
            the detector trained on one source for later use).
        label: the progress bar's label.

    Returns:
        ``{train_source: {test_source: {metric: value}}}``, the shape of ``results.json``'s
        ``"transfer"`` entry (DESIGN.md).
    """
    if not fakes_train or not fakes_test:
        raise GanscopeError("transfer_matrix needs at least one training and one test source")
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    with progress_bar(len(fakes_train), label) as bar:
        for train_name, fake_tr in fakes_train.items():
            X, y = _stack(real_train, fake_tr)
            det = make_detector().fit(X, y)
            if on_fitted is not None:
                on_fitted(train_name, det)
            p_real = det.predict_proba(real_test)[:, 1]
            row: dict[str, dict[str, float | None]] = {}
            for test_name, fake_te in fakes_test.items():
                p_fake = det.predict_proba(fake_te)[:, 1]
                yt = np.r_[np.zeros(len(p_real)), np.ones(len(p_fake))]
                m = detection_metrics(
                    yt, np.r_[p_real, p_fake], threshold=_threshold(det), intervals=False
                )
                row[test_name] = {k: m[k] for k in metrics}
            out[train_name] = row
            bar.advance(1)
    return out


def robustness_sweep(
    detector: Any,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    degrade: Callable[[torch.Tensor, str, float], torch.Tensor],
    sweep: Mapping[str, Sequence[float]] | None = None,
    metrics: Sequence[str] = ("ap", "accuracy", "roc_auc"),
) -> list[dict[str, Any]]:
    """Metrics of a fitted detector on a test set degraded equally for real and fake images.

    Args:
        detector: fitted, with ``predict_proba`` (and optionally ``threshold_``).
        real: real images ``(N, 3, H, W)`` in [0, 1].
        fake: fake images ``(M, 3, H, W)`` in [0, 1].
        degrade: ``degrade(images, kind, level)``, e.g. :func:`ganscope.detectors.augment.degrade`
            (passed in, so that metrics stay pure numbers and import nothing above io).
        sweep: ``{degradation: levels}`` with degradations ``jpeg`` (quality), ``blur`` (sigma),
            ``downscale`` (factor); default :data:`DEFAULT_SWEEP`.
        metrics: keys of :func:`ganscope.metrics.detection_metrics` to keep.

    Returns:
        Rows ``{"degradation", "level", <metrics>}``, starting with ``("none", 0)`` (clean).
    """
    sweep = DEFAULT_SWEEP if sweep is None else sweep
    real = torch.as_tensor(real)
    fake = torch.as_tensor(fake, dtype=real.dtype)
    X = torch.cat([real, fake])
    y = np.r_[np.zeros(len(real)), np.ones(len(fake))]
    thr = _threshold(detector)
    steps = [("none", 0.0)] + [(k, float(v)) for k, levels in sweep.items() for v in levels]
    rows = []
    with progress_bar(len(steps), "robustness") as bar:
        for kind, level in steps:
            Xd = X if kind == "none" else degrade(X, kind, level)
            p = detector.predict_proba(Xd)[:, 1]
            m = detection_metrics(y, p, threshold=thr, intervals=False)
            rows.append({"degradation": kind, "level": level, **{k: m[k] for k in metrics}})
            bar.advance(1)
    return rows
