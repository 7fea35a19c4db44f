"""The study's own figures, drawn from ``results.json``'s numbers (and its sample folders).

Spectra are drawn by :mod:`ganscope.report.spectra` (:func:`spectra_figures`); the figures here
are the study's alone: sample grids, transfer matrices, the few-shot curve, robustness and
quality bars. Every function returns a :class:`matplotlib.figure.Figure` (no pyplot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ganscope.io import iter_batches, list_images
from ganscope.report.spectra import difference_figure, profile_figure, spectra_grid_figure
from ganscope.study.stages import REAL, source_folder


def samples_figure(out: Path, names: list[str], n: int = 16) -> Figure:
    """Held-out samples of each generator beside real crops (``out/data/test/*``)."""
    folders = {REAL: out / "data" / "test" / REAL} | {
        name: out / "data" / "test" / source_folder(name) for name in names
    }
    cols = min(4, len(folders))
    rows = -(-len(folders) // cols)
    fig = Figure(figsize=(2.6 * cols, 2.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    side = int(np.sqrt(n))
    for ax, (name, folder) in zip(axes.flat, folders.items(), strict=False):
        files = list_images([folder])[: side * side]
        imgs = next(iter_batches(files, batch_size=len(files))).images.numpy()
        h, w = imgs.shape[-2:]
        grid = np.ones((side * (h + 1) - 1, side * (w + 1) - 1, 3))
        for k, img in enumerate(imgs):
            r, c = divmod(k, side)
            grid[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = img.transpose(
                1, 2, 0
            )
        ax.imshow(grid, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    for ax in list(axes.flat)[len(folders) :]:
        ax.axis("off")
    return fig


def spectra_figures(spec: dict) -> dict[str, tuple[Figure, str]]:
    """The spectra stage's numbers (:func:`ganscope.study.spectra.spectra_stage`) as figures of
    :mod:`ganscope.report.spectra`, keyed by file stem, each with its caption."""

    def profiles(key: str) -> Figure:
        segments = [(name, np.asarray(f)) for name, f in spec[key]["segments"]]
        stats = {n: (np.asarray(m), np.asarray(spec[key]["std"][n]))
                 for n, m in spec[key]["mean"].items()}  # fmt: skip
        return profile_figure(segments, stats, ylabel="20 ln|F|", reference=REAL)

    fft = {n: np.asarray(a) for n, a in spec["fft2d_mean"].items()}
    dct = {n: np.asarray(a) for n, a in spec["dct_mean"].items()}
    return {
        "azimuthal": (profiles("azimuthal"),
                      "Mean azimuthal log-power profile per source (band: ±1 std)."),
        "projections": (profiles("projections"),
                        "Horizontal and vertical projections of the log spectrum."),
        "spectra_2d": (spectra_grid_figure(fft, domain="fft", label="20 ln|F|"),
                       "Mean 2D power spectrum (luma) per source."),
        "spectra_diff": (difference_figure(fft, REAL, domain="fft", label="Δ 20 ln|F|"),
                         "Mean 2D power spectrum minus real: replicas and checkerboard peaks show "
                         "as red spots."),
        "dct_diff": (difference_figure(dct, REAL, domain="dct", label="Δ ln|DCT|"),
                     "Mean 2D DCT spectrum minus real (Frank et al. 2020)."),
    }  # fmt: skip


def transfer_figure(table: dict[str, dict], title: str, metric: str = "ap") -> Figure:
    """A transfer matrix (trained on rows, tested on columns) as a heatmap with its values."""
    train = list(table)
    test = list(next(iter(table.values())))
    M = np.array(
        [
            [table[tr][te][metric] if table[tr][te][metric] is not None else np.nan for te in test]
            for tr in train
        ]
    )
    fig = Figure(
        figsize=(max(5.0, 2.2 + 0.75 * len(test)), max(3.6, 1.8 + 0.5 * len(train))),
        layout="constrained",
    )
    ax = fig.subplots()
    im = ax.imshow(M, cmap="viridis", vmin=0.5, vmax=1.0)
    ax.set_xticks(range(len(test)), test, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(train)), train, fontsize=8)
    ax.set_xlabel("tested on (held-out fakes vs held-out real)")
    ax.set_ylabel("trained on")
    for i in range(len(train)):
        for j in range(len(test)):
            if np.isfinite(M[i, j]):
                ax.text(
                    j,
                    i,
                    f"{M[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if M[i, j] < 0.8 else "black",
                )
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label=metric.upper())
    return fig


def few_shot_figure(curve: dict[str, dict[str, float]]) -> Figure:
    """AP per generator by number of labelled training images."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    sizes = list(curve)
    sources = list(next(iter(curve.values())))
    for s in sources:
        ax.plot(range(len(sizes)), [curve[n][s] for n in sizes], marker="o", label=s)
    ax.set_xticks(range(len(sizes)), sizes)
    ax.set_xlabel("training images (real + fake)")
    ax.set_ylabel("AP on held-out images")
    ax.set_title("azimuthal + logistic regression: few-shot")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def robustness_figure(robust: dict[str, list[dict]]) -> Figure:
    """AP of each detector under JPEG and blur, one panel per degradation."""
    kinds = [
        k
        for k in ("jpeg", "blur")
        if any(r["degradation"] == k for rows in robust.values() for r in rows)
    ]
    fig = Figure(figsize=(5 * len(kinds), 4), layout="constrained")
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    for ax, kind in zip(axes, kinds, strict=True):
        for det, rows in robust.items():
            clean = next(r for r in rows if r["degradation"] == "none")
            pts = [(r["level"], r["ap"]) for r in rows if r["degradation"] == kind]
            x0 = 100 if kind == "jpeg" else 0.0
            xs = [x0] + [p[0] for p in pts]
            ys = [clean["ap"]] + [p[1] for p in pts]
            ax.plot(xs, ys, marker="o", label=det)
        ax.set_xlabel("JPEG quality (100 = clean)" if kind == "jpeg" else "blur sigma (pixels)")
        if kind == "jpeg":
            ax.invert_xaxis()
        ax.set_ylabel("AP (all generators pooled)")
        ax.set_ylim(0.4, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def quality_figure(quality: dict[str, dict], spectra: dict) -> Figure:
    """SWD, spectral distance and high-frequency difference to real, per generator."""
    names = list(quality)
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    first = quality[names[0]] if names else {}
    panels = [  # values, title, scale, the same number between two real sets (dashed)
        ([quality[n]["swd"] for n in names], "SWD to real (x1e3, lower is better)", 1e3,
         first.get("swd_real")),
        ([quality[n]["spectral_distance"] for n in names], "spectral distance to real", 1.0,
         first.get("spectral_distance_real")),
        ([spectra["high_frequency_difference"][n] for n in names],
         "high-frequency log-power difference", 1.0, None),
    ]  # fmt: skip
    for ax, (vals, title, scale, real) in zip(axes, panels, strict=True):
        ax.bar(range(len(names)), np.asarray(vals) * scale, color="#4c72b0")
        if real is not None:
            ax.axhline(real * scale, color="black", ls="--", lw=1)
            title += "\n(dashed: between two real sets)"
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.axhline(0, color="black", lw=0.8)
        ax.grid(alpha=0.3, axis="y")
    return fig
