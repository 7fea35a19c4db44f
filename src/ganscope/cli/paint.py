"""``ganscope paint``: the GAN Paint web app on a local port."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import DeviceOption, SeedOption, resolve_device
from ganscope.errors import GanscopeError

log = logging.getLogger("ganscope")

DEFAULT_GENERATOR = "zoo:scenes"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _paint(
    generator: Annotated[
        str,
        typer.Argument(
            help="A GAN run folder (from `ganscope gan train`) or zoo:NAME "
            "(see `ganscope zoo list`)."
        ),
    ] = DEFAULT_GENERATOR,
    port: Annotated[int, typer.Option("--port", help="TCP port to serve on.")] = 8765,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to bind. The default 127.0.0.1 serves only this machine; any other "
            "address lets the network run the generator (a warning is printed).",
        ),
    ] = "127.0.0.1",
    segmenter: Annotated[
        str,
        typer.Option(
            "--segmenter",
            help="Concepts and their masks: scenes (the built-in scene segmenter), colors, or a "
            'JSON file {"torchscript": FILE, "labels": [...]}.',
        ),
    ] = "scenes",
    units: Annotated[
        Path | None,
        typer.Option(
            "--units",
            help="A paint_units.json (default: the one beside the generator's weights, or a quick "
            "causal search at start-up when there is none).",
        ),
    ] = None,
    seed: SeedOption = 0,
    device: DeviceOption = "cpu",
) -> None:
    """Serve GAN Paint: brush concepts into or out of generated scenes in the browser."""
    if not 0 < port < 65536:
        raise GanscopeError(f"--port must be in 1..65535, not {port}")
    if units is not None and not units.is_file():
        raise GanscopeError(f"units file not found: {units}")
    if segmenter not in ("scenes", "colors") and not Path(segmenter).is_file():
        raise GanscopeError(
            f"--segmenter must be scenes, colors or a JSON file describing a segmenter, "
            f"not {segmenter!r}"
        )
    from ganscope.paint.session import open_painter

    session = open_painter(
        generator, segmenter=segmenter, units=units, device=resolve_device(device), seed=seed
    )
    import uvicorn

    from ganscope.paint.app import create_app

    if not is_loopback(host):
        log.warning(
            "serving on %s: anyone who can reach this address can run the generator "
            "(the default 127.0.0.1 serves only this machine)",
            host,
        )
    painter = session.painter
    typer.echo(
        f"GAN Paint: {session.name} ({painter.size}x{painter.size}), concepts "
        f"{', '.join(painter.concepts)}; units from {session.units_source}"
    )
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"open http://{shown}:{port}/  (Ctrl+C stops)")
    app = create_app(painter, generator_name=session.name)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except OSError as err:
        raise GanscopeError(f"cannot serve on {host}:{port}: {err.strerror or err}") from None


def register(app: typer.Typer) -> None:
    """Add ``paint`` to the root app."""
    app.command("paint")(_paint)
