"""Figures of "Seeing what a GAN cannot generate": the per-class chart and reconstruction grids.

Built on :class:`matplotlib.figure.Figure` (the Agg canvas, never ``pyplot``) and saved atomically,
as in :mod:`ganscope.report.spectra`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from ganscope.io import atomic_path
from ganscope.seeing.fsd import FSDResult

__all__ = ["class_chart", "save_figure", "segmentation_grid"]

_CLIP = 6.0  # the chart's log2 axis ends at 1/64 and 64 times the real pixel fraction


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Save ``fig`` atomically; the format follows the suffix."""

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")
    return path


def class_chart(result: FSDResult, *, title: str | None = None) -> Figure:
    """The per-class under/over-generation chart (as in Bau et al. 2019).

    Left: ``log2(generated / real)`` pixel fraction per class with its bootstrap interval,
    most under-generated first (red: under, blue: over; a class the generator never shows sits at
    the left edge). Right: the two pixel fractions themselves.
    """
    order = [result.labels.index(n) for n in result.under_generated(by="ratio")]
    order = [i for i in order if result.real[i] > 0 or result.generated[i] > 0]
    names = [result.labels[i] for i in order]
    eps = 2.0**-_CLIP

    def lg(v: np.ndarray) -> np.ndarray:
        return np.clip(np.log2(np.maximum(v, eps)), -_CLIP, _CLIP)

    ratio = result.ratio()[order]
    ratio = np.where(np.isnan(ratio), 2.0**_CLIP, ratio)  # absent from the real set: over
    lo, hi = result.ci["ratio"][order, 0], result.ci["ratio"][order, 1]
    lo = np.where(np.isnan(lo), ratio, lo)
    hi = np.where(np.isnan(hi), ratio, hi)
    y = np.arange(len(order))[::-1]
    fig = Figure(figsize=(10, 0.42 * len(order) + 1.6))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    vals = lg(ratio)
    colors = ["#c0392b" if v < 0 else "#2e6fb5" for v in vals]
    ax.barh(y, vals, color=colors, height=0.65)
    ax.errorbar(
        vals, y, xerr=[vals - lg(lo), lg(hi) - vals], fmt="none", ecolor="black", lw=1, capsize=2
    )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, names)
    ticks = np.arange(-_CLIP, _CLIP + 1, 2)
    ax.set_xticks(ticks, [f"{2.0**t:g}" if t >= 0 else f"1/{2.0**-t:g}" for t in ticks])
    ax.set_xlim(-_CLIP - 0.3, _CLIP + 0.3)
    ax.set_xlabel("generated / real pixel fraction (log scale)")
    ax.set_title("under-generated  ←   →  over-generated", fontsize=10)
    for yy, i in zip(y, order, strict=True):
        ax.text(
            _CLIP + 0.2,
            yy,
            f"{100 * result.real[i]:.2f}% → {100 * result.generated[i]:.2f}%",
            va="center",
            ha="right",
            fontsize=7,
            color="#444",
        )
    h = 0.38
    ax2.barh(y + h / 2, 100 * result.real[order], height=h, color="#7f8c8d", label="real")
    ax2.barh(y - h / 2, 100 * result.generated[order], height=h, color="#e67e22", label="generated")
    ax2.set_yticks(y, names)
    ax2.set_xscale("symlog", linthresh=0.1)
    ax2.set_xlabel("pixel fraction (%)")
    ax2.legend(loc="lower right", fontsize=8)
    lo_f, hi_f = result.fsd_ci
    fig.suptitle(
        title
        or f"FSD {result.fsd:.4g} [{lo_f:.3g}, {hi_f:.3g}]  "
        f"({result.n_real} real vs {result.n_generated} generated images)",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def segmentation_grid(columns: Sequence[Tensor], *, padding: int = 2, scale: int = 2) -> Tensor:
    """Tile equal-length batches ``(B, 3, H, W)`` in [0, 1] as the columns of one image.

    Row ``b`` shows image ``b`` of every column; nearest-neighbour upscaling by ``scale`` keeps
    small images legible. Returns ``(3, H', W')``.
    """
    from ganscope.generators import image_grid

    stacked = torch.stack([c.float().cpu() for c in columns], 1)  # (B, cols, 3, H, W)
    k = stacked.shape[1]
    flat = stacked.flatten(0, 1)
    if scale > 1:
        flat = flat.repeat_interleave(scale, -1).repeat_interleave(scale, -2)
    return image_grid(flat, nrow=k, padding=padding)
