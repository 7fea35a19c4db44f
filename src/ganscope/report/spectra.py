"""Figures of spectra: 1D profiles with ±std bands per source, a grid of mean 2D spectra, and
difference heatmaps (source - reference), all on normalized-frequency axes (cycles/pixel).

Figures are built on :class:`matplotlib.figure.Figure` directly (the Agg canvas, never ``pyplot``),
so nothing opens a window or touches global pyplot state, and are saved atomically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure, SubFigure

from ganscope.io import atomic_path

__all__ = [
    "difference_figure",
    "draw_differences",
    "draw_profiles",
    "draw_spectra",
    "profile_figure",
    "save_figure",
    "spectra_grid_figure",
    "spectrum_overview_figure",
]

_MAX_COLS = 4
_PANEL = 3.4  # inches per panel

#: Axis label of each 1D feature segment.
_SEGMENT_XLABEL = {
    "azimuthal": "radial frequency (cycles/pixel)",
    "horizontal": "horizontal frequency $k_x$ (cycles/pixel)",
    "vertical": "vertical frequency $k_y$ (cycles/pixel)",
}


def _extent(shape: tuple[int, int], domain: str) -> tuple[list[float], str]:
    H, W = shape
    if domain == "dct":
        # DCT-II basis k oscillates at k / (2N) cycles/pixel; DC at the top left
        return [-0.25 / W, (W - 0.5) / (2 * W), (H - 0.5) / (2 * H), -0.25 / H], "upper"
    fx0, fx1 = (-(W // 2) - 0.5) / W, (W - 1 - W // 2 + 0.5) / W
    fy0, fy1 = (-(H // 2) - 0.5) / H, (H - 1 - H // 2 + 0.5) / H
    return [fx0, fx1, fy0, fy1], "lower"


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, _MAX_COLS)
    return math.ceil(n / cols), cols


def draw_profiles(
    fig: Figure | SubFigure,
    segments: Sequence[tuple[str, np.ndarray]],
    stats: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    ylabel: str,
    counts: Mapping[str, int] | None = None,
    reference: str | None = None,
) -> None:
    """Mean ± std of each source's 1D features, one panel per segment.

    Args:
        fig: figure or subfigure to draw into.
        segments: ``(name, frequencies)`` per consecutive part of the feature vector
            (:attr:`ganscope.spectrum.FeatureLayout.segments`).
        stats: source name -> ``(mean, std)`` over the whole feature vector.
        ylabel: what the values are.
        counts: images per source, shown in the legend.
        reference: a source drawn as a thick black line with a light band (real images, that
            the others are compared with).
    """
    axes = fig.subplots(1, len(segments), squeeze=False)[0]
    # Many sources: one legend (on the last panel, two columns) instead of one per panel.
    many = len(stats) > 4
    for i, (ax, (seg_name, freqs), start) in enumerate(zip(
        axes, segments, np.cumsum([0] + [len(f) for _, f in segments]), strict=False
    )):
        sl = slice(int(start), int(start) + len(freqs))
        for name, (mean, std) in stats.items():
            m, s = np.asarray(mean)[sl], np.asarray(std)[sl]
            label = f"{name} (n={counts[name]})" if counts else name
            ref = name == reference
            style = {"color": "black", "lw": 2.2, "zorder": 3} if ref else {"lw": 1.4}
            (line,) = ax.plot(freqs, m, label=label, **style)
            alpha = 0.08 if ref or many else 0.18
            ax.fill_between(freqs, m - s, m + s, color=line.get_color(), alpha=alpha, lw=0)
        ax.set_xlabel(_SEGMENT_XLABEL.get(seg_name, f"{seg_name} (cycles/pixel)"))
        ax.set_ylabel(ylabel)
        ax.set_title(f"{seg_name} profile, mean ± std")
        ax.grid(alpha=0.3)
        if not many or i == len(segments) - 1:
            ax.legend(fontsize="small" if not many else "x-small", ncol=2 if many else 1)


def draw_spectra(
    fig: Figure | SubFigure,
    spectra: Mapping[str, np.ndarray],
    *,
    domain: str = "fft",
    label: str = "",
) -> None:
    """Mean 2D spectra side by side on one colour scale.

    Args:
        spectra: source name -> ``(H, W)`` mean spectrum (centred for ``fft``).
        domain: ``"fft"`` (centred DFT, axes -0.5..0.5) or ``"dct"`` (DC top left, 0..0.5).
        label: colour bar label.
    """
    names = list(spectra)
    rows, cols = _grid(len(names))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    values = np.concatenate([np.asarray(s).ravel() for s in spectra.values()])
    # robust limits: exact zeros (e.g. the Nyquist row of nearest-neighbour up-sampling) sit at
    # the log floor ln(eps) and would flatten the colour scale; they saturate instead
    vmin, vmax = np.percentile(values, [5, 99.9])
    image = None
    for ax, name in zip(axes, names, strict=False):
        extent, origin = _extent(np.asarray(spectra[name]).shape, domain)
        image = ax.imshow(
            spectra[name], extent=extent, origin=origin, cmap="viridis", vmin=vmin, vmax=vmax
        )
        ax.set_title(f"mean spectrum: {name}")
        ax.set_xlabel("$k_x$ (cycles/pixel)")
        ax.set_ylabel("$k_y$ (cycles/pixel)")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=list(axes[: len(names)]), label=label, shrink=0.85, extend="both")


def draw_differences(
    fig: Figure | SubFigure,
    spectra: Mapping[str, np.ndarray],
    reference: str,
    *,
    domain: str = "fft",
    label: str = "",
) -> None:
    """Heatmaps of ``spectrum[source] - spectrum[reference]`` on one symmetric colour scale.

    Red marks frequencies where a source has more energy than the reference (e.g. the spectral
    replicas of up-convolution, Durall et al. 2020), blue where it has less.
    """
    others = [n for n in spectra if n != reference]
    if not others:
        raise ValueError("need at least one source besides the reference")
    ref = np.asarray(spectra[reference])
    diffs = {n: np.asarray(spectra[n]) - ref for n in others}
    # robust limit (as in draw_spectra): the strongest few percent saturate
    limit = float(np.percentile(np.abs(np.concatenate([d.ravel() for d in diffs.values()])), 97))
    limit = limit or 1.0
    rows, cols = _grid(len(others))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    image = None
    for ax, name in zip(axes, others, strict=False):
        extent, origin = _extent(diffs[name].shape, domain)
        image = ax.imshow(
            diffs[name], extent=extent, origin=origin, cmap="RdBu_r", vmin=-limit, vmax=limit
        )
        ax.set_title(f"{name} − {reference}")
        ax.set_xlabel("$k_x$ (cycles/pixel)")
        ax.set_ylabel("$k_y$ (cycles/pixel)")
    for ax in axes[len(others) :]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=list(axes[: len(others)]), label=label, shrink=0.85, extend="both")


def profile_figure(
    segments: Sequence[tuple[str, np.ndarray]],
    stats: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    ylabel: str,
    counts: Mapping[str, int] | None = None,
    reference: str | None = None,
) -> Figure:
    """A figure with :func:`draw_profiles`."""
    fig = Figure(figsize=(_PANEL * 1.5 * len(segments), _PANEL), layout="constrained")
    draw_profiles(fig, segments, stats, ylabel=ylabel, counts=counts, reference=reference)
    return fig


def spectra_grid_figure(
    spectra: Mapping[str, np.ndarray], *, domain: str = "fft", label: str = ""
) -> Figure:
    """A figure with :func:`draw_spectra`."""
    rows, cols = _grid(len(spectra))
    fig = Figure(figsize=(_PANEL * cols + 1, _PANEL * rows), layout="constrained")
    draw_spectra(fig, spectra, domain=domain, label=label)
    return fig


def difference_figure(
    spectra: Mapping[str, np.ndarray], reference: str, *, domain: str = "fft", label: str = ""
) -> Figure:
    """A figure with :func:`draw_differences`."""
    rows, cols = _grid(max(1, len(spectra) - 1))
    fig = Figure(figsize=(_PANEL * cols + 1, _PANEL * rows), layout="constrained")
    draw_differences(fig, spectra, reference, domain=domain, label=label)
    return fig


def spectrum_overview_figure(
    *,
    segments: Sequence[tuple[str, np.ndarray]] = (),
    stats: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    spectra: Mapping[str, np.ndarray] | None = None,
    reference: str | None = None,
    ylabel: str = "",
    spectrum_label: str = "",
    domain: str = "fft",
    counts: Mapping[str, int] | None = None,
    title: str | None = None,
) -> Figure:
    """Profiles (if ``segments``), mean spectra and differences to ``reference`` in one figure.

    Rows are left out when their inputs are missing: no profiles for 2D features, no differences
    for a single source.
    """
    parts: list[tuple[str, float]] = []
    if segments and stats:
        parts.append(("profiles", 1.0))
    n_src = len(spectra or {})
    if spectra:
        parts.append(("spectra", float(_grid(n_src)[0])))
        if reference is not None and n_src > 1:
            parts.append(("differences", float(_grid(n_src - 1)[0])))
    if not parts:
        raise ValueError("nothing to plot")
    cols = max(_grid(max(n_src, 1))[1], 2 if len(segments) > 1 else 1)
    height = sum(h for _, h in parts) * _PANEL + (0.4 if title else 0)
    fig = Figure(figsize=(max(_PANEL * cols + 1, 7.0), height), layout="constrained")
    subs = fig.subfigures(len(parts), 1, height_ratios=[h for _, h in parts], squeeze=False)[:, 0]
    for sub, (what, _) in zip(subs, parts, strict=True):
        if what == "profiles":
            draw_profiles(sub, segments, stats or {}, ylabel=ylabel, counts=counts)
        elif what == "spectra":
            draw_spectra(sub, spectra or {}, domain=domain, label=spectrum_label)
        else:
            draw_differences(
                sub, spectra or {}, reference or "", domain=domain, label=f"Δ {spectrum_label}"
            )
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Save ``fig`` atomically (temporary file in the same folder, then rename); the format
    follows the suffix (``.png``, ``.pdf``, ``.svg``)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")
    return path
