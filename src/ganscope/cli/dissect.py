"""``ganscope dissect``, ``intervene`` and ``scenes-demo``: GAN Dissection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer import Argument, Option

from ganscope.cli.options import DeviceOption, config_options, resolve_device
from ganscope.dissect import demo
from ganscope.dissect import experiment as ex

Run = Annotated[Path, Argument(help="A GAN run folder (from `ganscope gan train`).")]


@config_options(ex.DissectSettings)
def dissect(
    config: ex.DissectSettings,
    run: Run,
    list_layers: Annotated[bool, Option("--list-layers", help="List the layers, exit.")] = False,
    out: Annotated[Path | None, Option(help="Output folder (results.json, report.html).")] = None,
    device: DeviceOption = "auto",
) -> None:
    """Label every unit of a generator layer with the concept its activation region matches best."""
    if list_layers:
        typer.echo(ex.layers_listing(run, device=resolve_device(device)))
        return
    results = ex.dissect_run(run, out, config, device=resolve_device(device))
    typer.echo(ex.dissect_summary(results, out))


@config_options(
    ex.InterveneSettings,
    choices={"mode": ex.INTERVENTION_MODES},
    parsers={"units": (ex.parse_units, str), "where": (ex.parse_box, str)},
)
def intervene(
    config: ex.InterveneSettings,
    run: Run,
    out: Annotated[Path, Option(help="Output folder (grid.png, before/, after/, results.json).")],
    device: DeviceOption = "auto",
) -> None:
    """Ablate or insert units and save before/after images (and the concept's change)."""
    results = ex.intervene_run(run, out, config, device=resolve_device(device))
    typer.echo(ex.intervene_summary(results, config, out))


@config_options(demo.ScenesDemoSettings)
def scenes_demo(
    config: demo.ScenesDemoSettings,
    out: Annotated[Path, Option(help="Output folder (scenes/, run/, report.html, ...).")],
    device: DeviceOption = "auto",
) -> None:
    """End to end: train a GAN on rendered scenes, dissect it, remove trees, find artifact units."""
    results = demo.run_scenes_demo(out, config, device=resolve_device(device))
    typer.echo(demo.demo_summary(results, out))
