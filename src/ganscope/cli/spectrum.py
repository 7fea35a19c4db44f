"""``ganscope spectrum``: spectral features of image folders, compared source by source."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import torch
import typer

from ganscope.cli.options import DeviceOption, require_dirs, resolve_device, writable_parent
from ganscope.errors import GanscopeError
from ganscope.io import (
    errors_csv_path,
    fake_source_name,
    list_images,
    write_errors_csv,
    write_json,
)

if TYPE_CHECKING:
    from ganscope.spectrum.sources import SpectrumAnalysis

log = logging.getLogger("ganscope")

_PLOT_SUFFIXES = (".png", ".pdf", ".svg")
_DECODE_WORKERS = 2


@contextlib.contextmanager
def _threads_beside_decoders(device: torch.device) -> Iterator[None]:
    """On CPU, leave a core per decoding thread: torch's intra-op threads wait by spinning, and
    sharing the cores with the decoder threads made ``analyze_sources`` with 2 torch threads 1.6
    to 2.4x slower than with 1 on the shared 2-core development machine."""
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(max(1, min(before, (os.cpu_count() or 1) - _DECODE_WORKERS)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Kind(StrEnum):
    azimuthal = "azimuthal"
    horizontal = "horizontal"
    vertical = "vertical"
    projections = "projections"
    fft2d = "fft2d"
    dct = "dct"


class Preset(StrEnum):
    default = "default"
    durall = "durall"


def _source_names(dirs: list[Path]) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for d in dirs:
        base = fake_source_name(d) or str(d)
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names[name] = d
    return names


def _summary_table(analysis: SpectrumAnalysis) -> None:
    from rich.console import Console
    from rich.table import Table

    from ganscope.spectrum.sources import value_label

    layout = analysis.layout
    table = Table(
        title=f"{analysis.kind} spectrum ({analysis.preset}), {analysis.size[0]}x{analysis.size[1]}"
    )
    table.add_column("source")
    table.add_column("images", justify="right")
    picks: list[tuple[str, int]] = []
    if layout.segments:
        start = 0
        for seg, freqs in layout.segments:
            targets = (0.1, 0.25, 0.4, 0.6) if len(layout.segments) == 1 else (0.1, 0.25, 0.45)
            for f in targets:
                i = int(np.argmin(np.abs(freqs - f)))
                if abs(freqs[i] - f) < 0.05:
                    picks.append((f"{seg[0]}@{freqs[i]:.2f}", start + i))
            start += len(freqs)
        for label, _ in picks:
            table.add_column(label, justify="right")
    else:
        table.add_column("mean", justify="right")
        table.add_column("std", justify="right")
    for name, src in analysis.sources.items():
        row = [name, str(src.count)]
        if src.count == 0:
            row += ["-"] * (len(picks) or 2)
        elif picks:
            mean, std = src.features.mean.numpy(), src.features.std.numpy()
            row += [f"{mean[i]:.4g}\n±{std[i]:.2g}" for _, i in picks]
        else:
            mean = src.features.mean.numpy()
            row += [f"{mean.mean():.3g}", f"{src.features.std.numpy().mean():.3g}"]
        table.add_row(*row)
    Console().print(table)
    if layout.segments:
        typer.echo(
            "cells: mean ± std over the images of the feature at the frequency (cycles/pixel) "
            f"in the header; values are {value_label(analysis.kind, analysis.preset)}"
        )


def _plot(analysis: SpectrumAnalysis, path: Path) -> None:
    from ganscope.report.spectra import save_figure, spectrum_overview_figure
    from ganscope.spectrum.sources import value_label

    live = {n: s for n, s in analysis.sources.items() if s.count}
    if not live:
        raise GanscopeError(f"nothing to plot in {path}: no image could be decoded")
    stats = {n: (s.features.mean.numpy(), s.features.std.numpy()) for n, s in live.items()}
    spectra = {n: s.spectrum.mean.numpy() for n, s in live.items() if s.spectrum is not None}
    domain = "dct" if analysis.kind == "dct" else "fft"
    spectrum_label = "ln(|DCT| + 1e-12)" if domain == "dct" else "20 ln(|F| + 1e-8)"
    ref = next(iter(analysis.sources))
    fig = spectrum_overview_figure(
        segments=analysis.layout.segments,
        stats=stats,
        spectra=spectra,
        reference=ref if ref in spectra else None,
        ylabel=value_label(analysis.kind, analysis.preset),
        spectrum_label=spectrum_label,
        domain=domain,
        counts={n: s.count for n, s in live.items()},
        title=f"{analysis.kind} spectra ({analysis.preset} preset), "
        f"{analysis.size[0]}x{analysis.size[1]} px, reference: {ref}",
    )
    save_figure(fig, path)


def spectrum(
    dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Image folders; each is one source named after the folder. "
            "The first is the reference for difference spectra."
        ),
    ],
    kind: Annotated[Kind, typer.Option("--kind", help="Feature to compute.")] = Kind.azimuthal,
    preset: Annotated[
        Preset,
        typer.Option("--preset", help="durall: Durall et al. 2020's published feature exactly."),
    ] = Preset.default,
    bins: Annotated[
        int | None,
        typer.Option("--bins", min=1, help="Resample 1D features to N points (cubic spline)."),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="One row per readable image: path,f0,f1,...; every bad file goes to "
            "NAME.errors.csv beside it (path,error).",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="Figure (.png/.pdf/.svg): profiles, mean spectra, differences."
        ),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Mean/std per source and the list of bad files.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images per batch.")] = 64,
    device: DeviceOption = "auto",
) -> None:
    """Spectral features of image folders, compared source by source.

    Files are read as 8-bit luma, as Durall et al.'s cv2.imread(path, 0) reads them (a JPEG's
    luma is decoded straight from the file).

    Mixed sizes: every image is centre-cropped to the smallest height and width found.

    Images smaller than 8x8 and unreadable files are reported and skipped.

    Prints a table unless --csv, --json or --plot is given.
    """
    from ganscope.spectrum.sources import analyze_sources, analyze_to_csv, spectrum_report

    require_dirs(dirs)
    outputs = [p for p in (csv_path, plot, json_path) if p is not None]
    for p in outputs:
        writable_parent(p)
    if plot is not None and plot.suffix.lower() not in _PLOT_SUFFIXES:
        raise GanscopeError(f"--plot must end with {', '.join(_PLOT_SUFFIXES)}: {plot}")
    if kind.value in ("fft2d", "dct") and (bins is not None or preset is not Preset.default):
        raise GanscopeError(
            f"--bins and --preset durall apply to 1D kinds, not --kind {kind.value}"
        )
    torch_device = resolve_device(device)
    folders = _source_names(dirs)
    sources = {name: list_images([d]) for name, d in folders.items()}
    common = {
        "kind": kind.value,
        "preset": preset.value,
        "bins": bins,
        "batch_size": batch_size,
        "device": torch_device,
        "spectra": plot is not None,
        "workers": _DECODE_WORKERS,
    }
    with _threads_beside_decoders(torch_device):
        if csv_path is None:
            analysis = analyze_sources(sources, **common)
        else:
            analysis = analyze_to_csv(sources, csv_path, **common)
    listed = []
    if csv_path is not None:
        errors_csv = errors_csv_path(csv_path)
        write_errors_csv(errors_csv, analysis.bad)  # written even when empty: no stale list
        listed.append(str(errors_csv))
    if json_path is not None:
        write_json(json_path, spectrum_report(analysis, folders))
        log.info("wrote %s", json_path)
        listed.append(f"{json_path} (errors)")
    if analysis.bad:
        shown = "; ".join(f"{p}: {r}" for p, r in analysis.bad[:3])
        more = f" (and {len(analysis.bad) - 3} more)" if len(analysis.bad) > 3 else ""
        where = f"; every one is listed in {' and '.join(listed)}" if listed else ""
        log.warning("skipped %d bad file(s): %s%s%s", len(analysis.bad), shown, more, where)
    if plot is not None:
        _plot(analysis, plot)
        log.info("wrote %s", plot)
    if not outputs:
        _summary_table(analysis)
    log.debug("decode %.2fs, features %.2fs", analysis.decode_seconds, analysis.feature_seconds)


def register(app: typer.Typer) -> None:
    """Add ``ganscope spectrum`` to the root app."""
    app.command("spectrum")(spectrum)
