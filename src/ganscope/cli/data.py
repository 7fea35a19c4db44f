"""``ganscope data``: datasets ganscope makes itself (built-in photo crops, rendered scenes)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import config_options
from ganscope.dissect.scenes import write_scenes
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
def scenes(
    out: Annotated[Path, Opt("--out", help="Output folder (images/, masks/, labels.json).")],
    count: Annotated[int, Opt("--count", help="Number of scenes.")] = 1000,
    seed: Annotated[int, Opt("--seed", help="First seed; scenes are seed..seed+count-1.")] = 0,
    size: Annotated[int, Opt("--size", help="Image height and width in pixels.")] = 64,
) -> None:
    """Render the built-in scene world: images, exact label masks (palette PNGs) and labels.json."""
    info = write_scenes(out, count=count, seed=seed, size=size)
    typer.echo(f"wrote {count} scenes ({size}x{size}, {len(info['labels'])} labels) to {out}")
