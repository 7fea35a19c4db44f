"""``ganscope spectrum``: spectral features of image folders, compared source by source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import DeviceOption, config_options
from ganscope.report.sources import SpectrumSettings, summary_table, write_spectrum_outputs
from ganscope.spectrum.features import FEATURES, PRESETS

DIRS_HELP = (
    "Image folders; each is one source named after the folder. The first is the reference for "
    "difference spectra."
)


@config_options(SpectrumSettings, choices={"kind": FEATURES, "preset": PRESETS})
def spectrum(
    config: SpectrumSettings,
    dirs: Annotated[list[Path], typer.Argument(help=DIRS_HELP)],
    device: DeviceOption = "auto",
) -> None:
    """Spectral features of image folders, compared source by source.

    Files are read as 8-bit luma, as Durall et al.'s cv2.imread(path, 0) reads them (a JPEG's
    luma is decoded straight from the file).

    Mixed sizes: every image is centre-cropped to the smallest height and width found.

    Images smaller than 8x8 and unreadable files are reported and skipped.

    Prints a table unless --csv, --json or --plot is given.
    """
    analysis = write_spectrum_outputs(dirs, config, device=device)
    if not config.writes_files:
        from rich.console import Console  # not at start-up: --csv/--json/--plot print no table

        table, what = summary_table(analysis)
        Console().print(table)
        if what:
            typer.echo(what)
