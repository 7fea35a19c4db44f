"""``ganscope dissect``, ``intervene`` and ``scenes-demo``: GAN Dissection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer import Argument, Option

from ganscope.cli.options import DeviceOption, SeedOption, choice_enum, locks_output, resolve_device
from ganscope.dissect import experiment as ex
from ganscope.dissect.demo import run_scenes_demo

CONCEPTS = ('scenes (built-in segmenter), colors, artifacts, a segmenter folder, or a JSON file '
            '{"segmenter": FOLDER or "torchscript": FILE, "labels": [...]} (TorchScript: '
            "--trust-code).")
Run = Annotated[Path, Argument(help="A GAN run folder (from `ganscope gan train`).")]
Trust = Annotated[bool, Option("--trust-code", help="Allow a TorchScript segmenter (it is code).")]
Mode = choice_enum("Mode", ("ablate", "insert"))


@locks_output("out")
def _dissect(
    run: Run, concepts: Annotated[str, Option(help=CONCEPTS)] = "colors",
    layer: Annotated[list[str] | None, Option(help="Layer (see --list-layers); repeat it.")] = None,
    samples: Annotated[int, Option(help="Number of generated samples.")] = 1000,
    quantile: Annotated[float, Option(help="Threshold quantile (0.99; or 0.995).")] = 0.99,
    batch_size: Annotated[int, Option(help="Samples per forward pass.")] = 16,
    report_units: Annotated[int, Option(help="Units shown per layer in report.html.")] = 64,
    list_layers: Annotated[bool, Option("--list-layers", help="List the layers, exit.")] = False,
    out: Annotated[Path | None, Option(help="Output folder (results.json, report.html).")] = None,
    trust_code: Trust = False, seed: SeedOption = 0, device: DeviceOption = "auto",
) -> None:
    """Label every unit of a generator layer with the concept its activation region matches best."""
    if list_layers:
        names = ex.hookable_layers(run, device=resolve_device(device))
        typer.echo(f"hookable layers of {run} (4-D feature maps, in forward order):")
        return typer.echo("\n".join(names))
    res = ex.dissect_run(run, out, layers=layer or [], concepts=concepts, trust_code=trust_code,
                         samples=samples, quantile=quantile, batch_size=batch_size, seed=seed,
                         report_units=report_units, device=resolve_device(device))
    for name, counts in res["summary"].items():
        matched = {c: n for c, n in counts.items() if n} or "none"
        typer.echo(f"{name}: {res['layers'][name]['n_units']} units; matched: {matched}")
    typer.echo(f"wrote {out}/results.json and {out}/report.html")


@locks_output("out")
def _intervene(
    run: Run, layer: Annotated[str, Option(help="Layer name (see dissect --list-layers).")],
    units: Annotated[str, Option(help="Comma-separated unit indices, e.g. 3,17,42.")],
    out: Annotated[Path, Option(help="Output folder (grid.png, before/, after/, results.json).")],
    mode: Annotated[Mode, Option(help="ablate (force to 0) or insert (force on).")] = "ablate",
    where: Annotated[str | None, Option(help="Only inside this pixel box: x0,y0,x1,y1.")] = None,
    value: Annotated[str, Option(help="Insertion value: quantile (each unit's 0.99 quantile), mean "
                                      "(its mean when active) or a number.")] = "quantile",
    n: Annotated[int, Option("--n", help="Number of images.")] = 16,
    concepts: Annotated[str | None, Option(help="Labeler of --concept: " + CONCEPTS)] = None,
    concept: Annotated[str | None, Option(help="Measure the causal effect on it.")] = None,
    stats_samples: Annotated[int, Option(help="Samples for the insertion values.")] = 200,
    trust_code: Trust = False, seed: SeedOption = 0, device: DeviceOption = "auto",
) -> None:
    """Ablate or insert units and save before/after images (and the concept's change)."""
    res = ex.intervene_run(
        run, out, layer=layer, units=ex.parse_units(units), mode=Mode(mode).value, value=value,
        where=ex.parse_box(where), n=n, concepts=concepts, concept=concept, trust_code=trust_code,
        stats_samples=stats_samples, seed=seed, device=resolve_device(device))
    change = res["mean_abs_change"]
    typer.echo(f"{res['mode']} {len(res['units'])} units of {layer}: mean |change| {change:.4f}")
    if ce := res.get("causal_effect"):
        typer.echo(f"causal effect on {concept}: {ce['ace']:+.4f} ± {ce['ace_stderr']:.4f} "
                   f"(inserted {ce['inserted']:.4f}, ablated {ce['ablated']:.4f})")
    typer.echo(f"wrote {out}/grid.png (rows: before, after)")


@locks_output("out")
def _scenes_demo(
    out: Annotated[Path, Option(help="Output folder (scenes/, run/, report.html, ...).")],
    size: Annotated[int, Option(help="Scene and GAN image size (32 or 64).")] = 32,
    scenes: Annotated[int, Option(help="Rendered training scenes.")] = 4000,
    steps: Annotated[int, Option(help="GAN training steps (resumable).")] = 1500,
    samples: Annotated[int, Option(help="Samples per dissection.")] = 300,
    seed: SeedOption = 0, device: DeviceOption = "auto",
) -> None:
    """End to end: train a GAN on rendered scenes, dissect it, remove trees, find artifact units."""
    res = run_scenes_demo(out, size=size, n_scenes=scenes, steps=steps, samples=samples,
                          seed=seed, device=resolve_device(device))
    for layer, counts in res["summary"].items():
        typer.echo(f"{layer}: " + ", ".join(f"{c} {n}" for c, n in counts.items() if n))
    typer.echo(f"wrote {out}/report.html, {out}/results.json and {out}/figures")


def register(app: typer.Typer) -> None:
    """Add ``dissect``, ``intervene`` and ``scenes-demo`` to the root app."""
    for name, command in (("dissect", _dissect), ("intervene", _intervene)):
        app.command(name)(command)
    app.command("scenes-demo")(_scenes_demo)
