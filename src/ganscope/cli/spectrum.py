"""``ganscope spectrum``: spectral features of image folders, compared source by source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import DeviceOption, choice_enum
from ganscope.report.sources import summary_table, write_spectrum_outputs
from ganscope.spectrum.features import FEATURES, PRESETS

Kind = choice_enum("Kind", FEATURES)
Preset = choice_enum("Preset", PRESETS)
Opt = typer.Option


def spectrum(
    dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Image folders; each is one source named "
            "after the folder. The first is the reference for difference spectra."
        ),
    ],
    kind: Annotated[Kind, Opt("--kind", help="Feature to compute.")] = "azimuthal",
    preset: Annotated[
        Preset, Opt("--preset", help="durall: Durall et al. 2020's published feature exactly.")
    ] = "default",
    bins: Annotated[
        int | None, Opt("--bins", min=1, help="Resample 1D features to N points (cubic spline).")
    ] = None,
    csv: Annotated[
        Path | None,
        Opt(
            "--csv",
            help="One row per readable image: path,f0,f1,...; "
            "every bad file goes to NAME.errors.csv beside it (path,error).",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        Opt("--plot", help="Figure (.png/.pdf/.svg): profiles, mean spectra, differences."),
    ] = None,
    json: Annotated[
        Path | None, Opt("--json", help="Mean/std per source and the list of bad files.")
    ] = None,
    batch_size: Annotated[int, Opt("--batch-size", min=1, help="Images per batch.")] = 64,
    device: DeviceOption = "auto",
) -> None:
    """Spectral features of image folders, compared source by source.

    Files are read as 8-bit luma, as Durall et al.'s cv2.imread(path, 0) reads them (a JPEG's
    luma is decoded straight from the file).

    Mixed sizes: every image is centre-cropped to the smallest height and width found.

    Images smaller than 8x8 and unreadable files are reported and skipped.

    Prints a table unless --csv, --json or --plot is given.
    """
    analysis = write_spectrum_outputs(
        dirs,
        kind=str(kind),
        preset=str(preset),
        bins=bins,
        batch_size=batch_size,
        device=device,
        csv_path=csv,
        json_path=json,
        plot_path=plot,
    )
    if csv is None and json is None and plot is None:
        from rich.console import Console  # not at start-up: --csv/--json/--plot print no table

        table, what = summary_table(analysis)
        Console().print(table)
        if what:
            typer.echo(what)


def register(app: typer.Typer) -> None:
    """Add ``ganscope spectrum`` to the root app."""
    app.command("spectrum")(spectrum)
