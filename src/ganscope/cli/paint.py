"""``ganscope paint``: the GAN Paint web app on a local port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer import Argument, Option

from ganscope.cli.options import DeviceOption, SeedOption, resolve_device
from ganscope.paint import open_painter, serve
from ganscope.paint.app import url

SEGMENTER = ('Concepts and their masks: scenes (the built-in scene segmenter), colors, or a JSON '
             'file {"torchscript": FILE, "labels": [...]}.')

def _paint(
    generator: Annotated[str, Argument(help="A GAN run folder or zoo:NAME (see `ganscope zoo "
                                       "list`).")] = "zoo:scenes",
    port: Annotated[int, Option(min=1, max=65535, help="TCP port to serve on.")] = 8765,
    host: Annotated[str, Option(help="Address to bind; any but the default 127.0.0.1 lets the "
                                "network run the generator (with a warning).")] = "127.0.0.1",
    segmenter: Annotated[str, Option(help=SEGMENTER)] = "scenes",
    units: Annotated[Path | None, Option(help="A paint_units.json (default: the one beside the "
                                         "weights, else a quick causal search).")] = None,
    seed: SeedOption = 0, device: DeviceOption = "cpu",
) -> None:
    """Serve GAN Paint: brush concepts into or out of generated scenes in the browser."""
    session = open_painter(generator, segmenter=segmenter, units=units, seed=seed,
                           device=resolve_device(device))
    p = session.painter
    typer.echo(f"GAN Paint: {session.name} ({p.size}x{p.size}), concepts "
               f"{', '.join(p.concepts)}; units from {session.units_source}")
    typer.echo(f"open {url(host, port)}  (Ctrl+C stops)")
    serve(session, host=host, port=port)


def register(app: typer.Typer) -> None:
    """Add ``paint`` to the root app."""
    app.command("paint")(_paint)
