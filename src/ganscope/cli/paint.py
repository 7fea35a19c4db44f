"""``ganscope paint``: the GAN Paint web app on a local port."""

from __future__ import annotations

from typing import Annotated

import typer
from typer import Argument

from ganscope.cli.options import DeviceOption, config_options, resolve_device
from ganscope.paint import PaintSettings, serve_painter

Generator = Annotated[str, Argument(help="A GAN run folder or zoo:NAME (see `ganscope zoo list`).")]


@config_options(PaintSettings)
def paint(
    config: PaintSettings,
    generator: Generator = "zoo:scenes",
    device: DeviceOption = "cpu",
) -> None:
    """Serve GAN Paint: brush concepts into or out of generated scenes in the browser."""
    serve_painter(generator, config, device=resolve_device(device), echo=typer.echo)
