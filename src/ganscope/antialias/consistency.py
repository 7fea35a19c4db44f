"""Consistency under shifts and resizing (Zhang, ICML 2019, sec. 5.1, "classification consistency").

Zhang measures shift-invariance of a classifier as *consistency*: how often two random shifts of
the same image get the same predicted class. Here ``model`` may be a classifier (``(B, K)``
logits), a one-logit real/fake network (``(B,)`` or ``(B, 1)`` logits of *fake*), or a ganscope
detector (``predict_proba``, decisions at its ``threshold_``); for the last two the decision is
real/fake and the probability is P(fake).

Shifts are real by default (``mode="crop"``: two crops of the same image whose corners differ by
up to ``max_shift`` pixels, as Zhang's ImageNet test), or circular (``mode="circular"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganscope.errors import GanscopeError

__all__ = [
    "Consistency",
    "ResizeConsistency",
    "Scores",
    "consistency",
    "resize_consistency",
    "score_images",
]

MODES = ("crop", "circular")


@dataclass(frozen=True)
class Scores:
    """What a model says about a batch: ``probs (N, K)`` (``K = 2`` for real/fake, column 1 =
    P(fake)), ``decisions (N,)`` (class index; 1 = fake), and ``binary``."""

    probs: np.ndarray
    decisions: np.ndarray
    binary: bool


def _is_detector(model: Any) -> bool:
    return hasattr(model, "predict_proba") and not isinstance(model, nn.Module)


@torch.no_grad()
def score_images(model: Any, images: Tensor, *, batch_size: int = 64) -> Scores:
    """Probabilities and decisions of ``model`` on ``images (N, C, H, W)`` in [0, 1].

    A detector (``predict_proba``) decides fake where ``P(fake) > threshold_`` (0.5 without a
    ``threshold_``), like :meth:`ganscope.detectors.BaseDetector.predict`. An ``nn.Module`` is run
    in eval mode: ``(N, K > 1)`` outputs are logits of ``K`` classes (softmax, argmax); ``(N,)``
    or ``(N, 1)`` outputs are the logit of *fake* (sigmoid, fake where P > 0.5).
    """
    if images.ndim != 4:
        raise GanscopeError(f"expected images (N, C, H, W), got shape {tuple(images.shape)}")
    if _is_detector(model):
        p = np.asarray(model.predict_proba(images), dtype=np.float64)[:, 1]
        threshold = float(getattr(model, "threshold_", 0.5))
        return Scores(np.column_stack([1 - p, p]), (p > threshold).astype(np.int64), True)
    if not isinstance(model, nn.Module):
        raise GanscopeError("model must be an nn.Module or a detector with predict_proba")
    was_training = model.training
    model.eval()
    try:
        ref = next(iter(model.parameters()), None)
        outs = []
        for i in range(0, images.shape[0], batch_size):
            xb = images[i : i + batch_size]
            if ref is not None:
                xb = xb.to(device=ref.device, dtype=ref.dtype)
            outs.append(model(xb).double().cpu())
        out = torch.cat(outs)
    finally:
        model.train(was_training)
    if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        p = torch.sigmoid(out.reshape(-1)).numpy()
        return Scores(np.column_stack([1 - p, p]), (p > 0.5).astype(np.int64), True)
    if out.ndim != 2:
        raise GanscopeError(f"model output of shape {tuple(out.shape)} is not (N,) or (N, K)")
    probs = torch.softmax(out, dim=1).numpy()
    return Scores(probs, probs.argmax(1), False)


def _bootstrap_mean(
    per_image: np.ndarray, *, n_resamples: int, level: float, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over images (pairs of one image stay together)."""
    n = per_image.shape[0]
    if n < 2:
        v = float(per_image.mean()) if n else float("nan")
        return (v, v)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    means = per_image[idx].mean(axis=1)
    a = (1 - level) / 2
    return (float(np.quantile(means, a)), float(np.quantile(means, 1 - a)))


@dataclass(frozen=True)
class Consistency:
    """Agreement of decisions on two shifts of the same image.

    Attributes:
        agreement: fraction of pairs with the same decision (Zhang's consistency).
        agreement_ci: bootstrap interval over images.
        prob_diff: mean ``|P(x1) - P(x2)|`` of P(fake) (binary) or of the class decided on the
            first shift (classifier).
        prob_diff_ci: bootstrap interval over images.
        n_images, n_pairs: images and pairs evaluated.
        max_shift, mode, binary: the settings; ``binary`` means real/fake decisions.
    """

    agreement: float
    agreement_ci: tuple[float, float]
    prob_diff: float
    prob_diff_ci: tuple[float, float]
    n_images: int
    n_pairs: int
    max_shift: int
    mode: str
    binary: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shift_pairs(
    n: int, pairs: int, max_shift: int, rng: np.random.Generator, mode: str
) -> np.ndarray:
    """``(n, pairs, 2, 2)`` shifts; the two of a pair always differ."""
    lo = 0 if mode == "crop" else -max_shift
    out = rng.integers(lo, max_shift + 1, size=(n, pairs, 2, 2))
    same = (out[:, :, 0] == out[:, :, 1]).all(-1)
    while same.any():
        out[same, 1] = rng.integers(lo, max_shift + 1, size=(int(same.sum()), 2))
        same = (out[:, :, 0] == out[:, :, 1]).all(-1)
    return out


def _apply(images: Tensor, shifts: np.ndarray, mode: str, max_shift: int) -> Tensor:
    """One view per row of ``shifts (N, 2)``: a crop at that corner, or a circular roll."""
    H, W = images.shape[-2:]
    views = []
    for img, (dh, dw) in zip(images, shifts, strict=True):
        if mode == "crop":
            views.append(img[:, dh : dh + H - max_shift, dw : dw + W - max_shift])
        else:
            views.append(torch.roll(img, (int(dh), int(dw)), dims=(-2, -1)))
    return torch.stack(views)


def consistency(
    model: Any,
    images: Tensor,
    max_shift: int = 8,
    *,
    pairs: int = 5,
    mode: str = "crop",
    seed: int = 0,
    batch_size: int = 64,
    n_resamples: int = 1000,
    level: float = 0.95,
) -> Consistency:
    """How often two random shifts of an image get the same decision (Zhang 2019, sec. 5.1).

    Args:
        model: a classifier or real/fake ``nn.Module``, or a detector (see :func:`score_images`).
        images: ``(N, C, H, W)`` in [0, 1].
        max_shift: largest shift per axis, in pixels. With ``mode="crop"`` the model sees
            ``(H - max_shift) x (W - max_shift)`` crops whose corners are drawn uniformly from
            ``{0..max_shift}^2``; with ``"circular"`` full images rolled by ``{-m..m}^2``.
        pairs: shift pairs per image (the two shifts of a pair differ).
        mode: ``crop`` or ``circular``.
        seed: seed of the shifts and of the bootstrap.
        batch_size: images per forward pass.
        n_resamples, level: bootstrap over images for the intervals.

    Returns:
        A :class:`Consistency`.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        >>> consistency(net, torch.rand(4, 3, 16, 16), max_shift=2).n_pairs
        20
    """
    if mode not in MODES:
        raise GanscopeError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if images.ndim != 4 or images.shape[0] < 1:
        raise GanscopeError(f"expected images (N, C, H, W), got shape {tuple(images.shape)}")
    if max_shift < 1 or pairs < 1:
        raise GanscopeError("max_shift and pairs must be at least 1")
    H, W = images.shape[-2:]
    if mode == "crop" and min(H, W) - max_shift < 1:
        raise GanscopeError(f"max_shift {max_shift} leaves nothing of {H}x{W} images")
    n = images.shape[0]
    rng = np.random.default_rng(seed)
    shifts = _shift_pairs(n, pairs, max_shift, rng, mode)  # (n, pairs, 2, 2)
    rep = images.repeat_interleave(pairs, dim=0)  # (n * pairs, C, H, W), image-major
    a = score_images(
        model, _apply(rep, shifts[:, :, 0].reshape(-1, 2), mode, max_shift), batch_size=batch_size
    )
    b = score_images(
        model, _apply(rep, shifts[:, :, 1].reshape(-1, 2), mode, max_shift), batch_size=batch_size
    )
    agree = (a.decisions == b.decisions).astype(np.float64).reshape(n, pairs)
    col = np.ones_like(a.decisions) if a.binary else a.decisions
    rows = np.arange(len(col))
    diff = np.abs(a.probs[rows, col] - b.probs[rows, col]).reshape(n, pairs)
    kw = {"n_resamples": n_resamples, "level": level, "seed": seed}
    return Consistency(
        agreement=float(agree.mean()),
        agreement_ci=_bootstrap_mean(agree.mean(1), **kw),
        prob_diff=float(diff.mean()),
        prob_diff_ci=_bootstrap_mean(diff.mean(1), **kw),
        n_images=int(n),
        n_pairs=int(n * pairs),
        max_shift=int(max_shift),
        mode=mode,
        binary=a.binary,
    )


@dataclass(frozen=True)
class ResizeConsistency:
    """Agreement between the decision on an image and on a resized copy, per scale factor.

    Attributes:
        scales: the factors.
        agreement: per scale, the fraction of images whose decision did not change.
        prob_diff: per scale, mean ``|P(original) - P(resized)|`` (as in :class:`Consistency`).
        crop: side of the centre crop both views were scored on.
        n_images: images evaluated.
    """

    scales: list[float]
    agreement: list[float]
    prob_diff: list[float]
    crop: int
    n_images: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _center_crop(x: Tensor, side: int) -> Tensor:
    H, W = x.shape[-2:]
    top, left = (H - side) // 2, (W - side) // 2
    return x[..., top : top + side, left : left + side]


def resize_consistency(
    model: Any,
    images: Tensor,
    scales: Sequence[float] = (0.8, 0.9, 1.1, 1.25),
    *,
    crop: int | None = None,
    batch_size: int = 64,
) -> ResizeConsistency:
    """Does the decision survive resizing? Each image is resized by every factor (bilinear, with
    antialiasing when shrinking), then the original and the resized copy are centre-cropped to
    ``crop`` and scored.

    Args:
        model: see :func:`score_images`.
        images: ``(N, C, H, W)`` in [0, 1].
        scales: resize factors (not 1).
        crop: side of the scored centre crop; default the smallest side any view has.
        batch_size: images per forward pass.
    """
    if images.ndim != 4 or images.shape[0] < 1:
        raise GanscopeError(f"expected images (N, C, H, W), got shape {tuple(images.shape)}")
    if not scales or any(s <= 0 for s in scales):
        raise GanscopeError("scales must be positive factors")
    H, W = images.shape[-2:]
    sizes = [(max(1, round(H * s)), max(1, round(W * s))) for s in scales]
    side = crop if crop is not None else min(min(H, W), *(min(h, w) for h, w in sizes))
    if side < 1 or side > min(H, W) or any(side > min(h, w) for h, w in sizes):
        raise GanscopeError(f"crop {side} does not fit every resized view")
    ref = score_images(model, _center_crop(images, side), batch_size=batch_size)
    agreement, prob_diff = [], []
    col = np.ones_like(ref.decisions) if ref.binary else ref.decisions
    rows = np.arange(len(col))
    for size in sizes:
        resized = F.interpolate(
            images, size=size, mode="bilinear", align_corners=False, antialias=True
        ).clamp(0, 1)
        view = _center_crop(resized, side)
        s = score_images(model, view, batch_size=batch_size)
        agreement.append(float((s.decisions == ref.decisions).mean()))
        prob_diff.append(float(np.abs(s.probs[rows, col] - ref.probs[rows, col]).mean()))
    return ResizeConsistency(
        scales=[float(s) for s in scales],
        agreement=agreement,
        prob_diff=prob_diff,
        crop=int(side),
        n_images=int(images.shape[0]),
    )
