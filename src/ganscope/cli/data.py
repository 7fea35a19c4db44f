"""``ganscope data``: datasets ganscope makes itself (built-in photo crops, rendered scenes)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import config_options
from ganscope.dissect.scenes import SceneSettings, scenes_summary, write_scenes
from ganscope.io.builtin import SPLITS, BuiltinSettings, write_builtin

data_app = typer.Typer(help="Make the built-in datasets.", no_args_is_help=True)
Opt = typer.Option


@data_app.command("builtin")
@config_options(BuiltinSettings, choices={"split": SPLITS})
def builtin(
    config: BuiltinSettings,
    out: Annotated[Path, Opt("--out", help="Output folder for the PNG crops.")],
) -> None:
    """Write random crops of the colour photographs bundled with scikit-image and scikit-learn.

    Crops are cut without resampling, so they keep the camera's spectrum. The same seed gives the
    same bytes. A manifest.csv records the source photo and offset of every crop.
    """
    write_builtin(out, **dataclasses.asdict(config))


@data_app.command("scenes")
@config_options(SceneSettings)
def scenes(
    config: SceneSettings,
    out: Annotated[Path, Opt("--out", help="Output folder (images/, masks/, labels.json).")],
) -> None:
    """Render the built-in scene world: images, exact label masks (palette PNGs) and labels.json."""
    info = write_scenes(out, **dataclasses.asdict(config))
    typer.echo(scenes_summary(info, config, out))
