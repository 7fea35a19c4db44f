"""What ``ganscope spectrum`` shows of a :class:`~ganscope.spectrum.sources.SpectrumAnalysis`: a
table of a few frequencies per source, and the overview figure (profiles, mean spectra and their
differences to the reference source); :func:`write_spectrum_outputs` runs the whole command with
its :class:`SpectrumSettings`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ganscope.errors import GanscopeError
from ganscope.io.paths import writable_parent
from ganscope.settings import positive
from ganscope.spectrum.features import FEATURES
from ganscope.spectrum.sources import SpectrumAnalysis, run_spectrum, value_label

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "PLOT_SUFFIXES",
    "SpectrumSettings",
    "check_plot_path",
    "plot_analysis",
    "summary_table",
    "write_spectrum_outputs",
]

PLOT_SUFFIXES = (".png", ".pdf", ".svg")
log = logging.getLogger(__name__)


def summary_table(analysis: SpectrumAnalysis) -> tuple[Table, str]:
    """A rich table (mean ± std per source at a few frequencies; mean and std for 2D kinds) and
    the sentence that says what its cells are."""
    from rich.table import Table  # not at start-up: `spectrum --csv` prints no table

    layout = analysis.layout
    H, W = analysis.size
    table = Table(title=f"{analysis.kind} spectrum ({analysis.preset}), {H}x{W}")
    table.add_column("source")
    table.add_column("images", justify="right")
    picks: list[tuple[str, int]] = []
    start = 0
    for seg, freqs in layout.segments:
        targets = (0.1, 0.25, 0.4, 0.6) if len(layout.segments) == 1 else (0.1, 0.25, 0.45)
        for f in targets:
            i = int(np.argmin(np.abs(freqs - f)))
            if abs(freqs[i] - f) < 0.05:
                picks.append((f"{seg[0]}@{freqs[i]:.2f}", start + i))
        start += len(freqs)
    for label in [p[0] for p in picks] if layout.segments else ["mean", "std"]:
        table.add_column(label, justify="right")
    for name, src in analysis.sources.items():
        row = [name, str(src.count)]
        if src.count == 0:
            table.add_row(*row, *["-"] * (len(picks) or 2))
            continue
        mean, std = src.features.mean.numpy(), src.features.std.numpy()
        if layout.segments:
            row += [f"{mean[i]:.4g}\n±{std[i]:.2g}" for _, i in picks]
        else:
            row += [f"{mean.mean():.3g}", f"{std.mean():.3g}"]
        table.add_row(*row)
    what = (
        "cells: mean ± std over the images of the feature at the frequency (cycles/pixel) in the "
        f"header; values are {value_label(analysis.kind, analysis.preset)}"
    )
    return table, what if layout.segments else ""


def check_plot_path(path: Path) -> None:
    """Refuse, in one line, a figure path whose suffix matplotlib is not asked to write."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise GanscopeError(f"--plot must end with {', '.join(PLOT_SUFFIXES)}: {path}")


def plot_analysis(analysis: SpectrumAnalysis, path: Path) -> None:
    """Save the overview figure (``.png``, ``.pdf`` or ``.svg``) of every source with images."""
    # matplotlib is imported here, not at start-up: `ganscope spectrum --csv` never needs it
    from ganscope.report.spectra import save_figure, spectrum_overview_figure

    check_plot_path(path)
    live = {n: s for n, s in analysis.sources.items() if s.count}
    if not live:
        raise GanscopeError(f"nothing to plot in {path}: no image could be decoded")
    stats = {n: (s.features.mean.numpy(), s.features.std.numpy()) for n, s in live.items()}
    spectra = {n: s.spectrum.mean.numpy() for n, s in live.items() if s.spectrum is not None}
    domain = FEATURES[analysis.kind].domain
    ref = next(iter(analysis.sources))
    fig = spectrum_overview_figure(
        segments=analysis.layout.segments,
        stats=stats,
        spectra=spectra,
        reference=ref if ref in spectra else None,
        ylabel=value_label(analysis.kind, analysis.preset),
        spectrum_label="ln(|DCT| + 1e-12)" if domain == "dct" else "20 ln(|F| + 1e-8)",
        domain=domain,
        counts={n: s.count for n, s in live.items()},
        title=f"{analysis.kind} spectra ({analysis.preset} preset), "
        f"{analysis.size[0]}x{analysis.size[1]} px, reference: {ref}",
    )
    save_figure(fig, path)


@dataclass(frozen=True)
class SpectrumSettings:
    """Settings of :func:`write_spectrum_outputs` (``ganscope spectrum``), checked when made.

    Attributes:
        kind: feature to compute.
        preset: durall: Durall et al. 2020's published feature exactly.
        bins: resample 1D features to N points (cubic spline).
        csv: one row per readable image: path,f0,f1,...; every bad file goes to NAME.errors.csv
            beside it (path,error).
        plot: figure (.png/.pdf/.svg): profiles, mean spectra, differences.
        json: mean/std per source and the list of bad files.
        batch_size: images per batch.
    """

    kind: str = "azimuthal"
    preset: str = "default"
    bins: int | None = None
    csv: Path | None = None
    plot: Path | None = None
    json: Path | None = None
    batch_size: int = 64

    def __post_init__(self) -> None:
        positive(self.bins, "--bins")
        positive(self.batch_size, "--batch-size")

    @property
    def writes_files(self) -> bool:
        """Whether any output file is asked for (``ganscope spectrum`` prints a table if not)."""
        return self.csv is not None or self.json is not None or self.plot is not None


def write_spectrum_outputs(
    dirs: Sequence[Path],
    settings: SpectrumSettings | None = None,
    *,
    device: str | torch.device = "auto",
) -> SpectrumAnalysis:
    """``ganscope spectrum``: :func:`~ganscope.spectrum.sources.run_spectrum` (the CSV and the
    JSON summary) and the overview figure (:func:`plot_analysis`) at ``settings.plot``. Every
    output is checked before the first image is read, so a bad path fails at once, in one line.

    Returns:
        The analysis, for :func:`summary_table`.
    """
    s = settings or SpectrumSettings()
    for path in (s.csv, s.plot, s.json):
        if path is not None:
            writable_parent(path)
    if s.plot is not None:
        check_plot_path(s.plot)
    analysis = run_spectrum(
        dirs,
        kind=s.kind,
        preset=s.preset,
        bins=s.bins,
        csv_path=s.csv,
        json_path=s.json,
        batch_size=s.batch_size,
        device=device,
        spectra=s.plot is not None,
    )
    if s.plot is not None:
        plot_analysis(analysis, s.plot)
        log.info("wrote %s", s.plot)
    return analysis
