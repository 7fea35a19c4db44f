"""``ganscope dissect``, ``ganscope intervene`` and ``ganscope data scenes``: GAN Dissection."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import (
    DeviceOption,
    SeedOption,
    choice_enum,
    locks_output,
    require_dirs,
    resolve_device,
    writable_parent,
)
from ganscope.errors import GanscopeError

log = logging.getLogger("ganscope")

RunArgument = Annotated[Path, typer.Argument(help="A GAN run folder (from `ganscope gan train`).")]
LayerHelp = "Layer name (see --list-layers)."
ConceptsHelp = (
    "scenes (built-in segmenter), colors, artifacts, a segmenter folder (model.safetensors + "
    'config.json, as ganscope ships its own), or a JSON file {"segmenter": FOLDER, "labels": '
    '[...]} or {"torchscript": FILE, "labels": [...]} (TorchScript needs --trust-code).'
)
TrustCodeOption = Annotated[
    bool,
    typer.Option(
        "--trust-code",
        help="Allow a TorchScript segmenter: it is code and runs with your permissions.",
    ),
]
Mode = choice_enum("Mode", ("ablate", "insert"))


@locks_output("out")
def _data_scenes(
    out: Annotated[
        Path, typer.Option("--out", help="Output folder (images/, masks/, labels.json).")
    ],
    count: Annotated[int, typer.Option("--count", help="Number of scenes.")] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", help="First scene seed; scenes are seed..seed+count-1.")
    ] = 0,
    size: Annotated[int, typer.Option("--size", help="Image height and width in pixels.")] = 64,
) -> None:
    """Render the built-in scene world: images, exact label masks and labels.json.

    Train a GAN on OUT/images (the masks are palette PNGs whose pixel values are label indices).
    """
    from ganscope.dissect.scenes import write_scenes

    writable_parent(out, folder=True)
    info = write_scenes(out, count=count, seed=seed, size=size)
    typer.echo(f"wrote {count} scenes ({size}x{size}, {len(info['labels'])} labels) to {out}")


def _load_run(run: Path, device: str):  # -> (G, config)
    from ganscope.generators import load_generator

    require_dirs([run], "run folder")
    return load_generator(run, device=resolve_device(device))


def _example_latent(G) -> object:
    import torch

    return torch.zeros(1, G.latent_dim, device=next(G.parameters()).device)


@locks_output("out")
def _dissect(
    run: RunArgument,
    layer: Annotated[
        list[str] | None, typer.Option("--layer", help=LayerHelp + " Repeat to compare layers.")
    ] = None,
    concepts: Annotated[str, typer.Option("--concepts", help=ConceptsHelp)] = "colors",
    trust_code: TrustCodeOption = False,
    samples: Annotated[int, typer.Option("--samples", help="Number of generated samples.")] = 1000,
    quantile: Annotated[
        float, typer.Option("--quantile", help="Threshold quantile (0.99; or 0.995).")
    ] = 0.99,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Samples per forward pass.")] = 16,
    report_units: Annotated[
        int, typer.Option("--report-units", help="Units shown per layer in report.html.")
    ] = 64,
    list_layers: Annotated[
        bool, typer.Option("--list-layers", help="Print the hookable layers and exit.")
    ] = False,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (results.json, report.html).")
    ] = None,
) -> None:
    """Label every unit of a generator layer with the concept its activation region matches best."""
    from ganscope.dissect.hooks import feature_layers

    G, _config = _load_run(run, device)
    if list_layers:
        typer.echo(f"hookable layers of {run} (4-D feature maps, in forward order):")
        for name, _shape in feature_layers(G, _example_latent(G)):
            typer.echo(name)
        return
    if not layer:
        raise GanscopeError("--layer is required (see --list-layers)")
    if out is None:
        raise GanscopeError("--out is required")
    from ganscope.dissect.hooks import get_layer

    for name in layer:
        get_layer(G, name)
    writable_parent(out, folder=True)
    from ganscope import __version__
    from ganscope.dissect.concepts import load_labeler
    from ganscope.dissect.dissection import dissect
    from ganscope.dissect.report import write_report
    from ganscope.io import write_json

    torch_device = resolve_device(device)
    labeler = load_labeler(concepts, device=torch_device, trust_code=trust_code)
    results = [
        dissect(
            G,
            name,
            labeler,
            n_samples=samples,
            seed=seed,
            quantile=quantile,
            batch_size=batch_size,
            value_range=(-1.0, 1.0),
            device=torch_device,
        )
        for name in layer
    ]
    payload = {
        "run": str(run),
        "concepts": concepts,
        "summary": {r.layer: r.summary() for r in results},
        "layers": {r.layer: r.to_json() for r in results},
    }
    write_json(out / "results.json", payload)
    write_json(
        out / "config.json",
        {
            "command": "dissect",
            "run": str(run),
            "layers": layer,
            "concepts": concepts,
            "samples": samples,
            "quantile": quantile,
            "seed": seed,
            "ganscope_version": __version__,
        },
    )
    write_report(
        out / "report.html",
        G,
        results,
        title=f"Dissection of {run.name}",
        max_units=report_units,
        value_range=(-1.0, 1.0),
        notes=[f"concepts: {concepts}; samples: seeds {seed}..{seed + samples - 1}"],
    )
    for r in results:
        matched = {c: n for c, n in r.summary().items() if n}
        typer.echo(f"{r.layer}: {r.n_units} units; matched: {matched or 'none'}")
    typer.echo(f"wrote {out / 'results.json'} and {out / 'report.html'}")


def _parse_ints(text: str, what: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise GanscopeError(f"{what} must be comma-separated integers, got {text!r}") from None


@locks_output("out")
def _intervene(
    run: RunArgument,
    layer: Annotated[str, typer.Option("--layer", help=LayerHelp)],
    units: Annotated[
        str, typer.Option("--units", help="Comma-separated unit indices, e.g. 3,17,42.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Output folder (grid.png, before/, after/, results.json).")
    ],
    mode: Annotated[
        Mode, typer.Option("--mode", help="ablate (force to 0) or insert (force on).")
    ] = "ablate",
    where: Annotated[
        str | None, typer.Option("--where", help="Only inside this image-pixel box: x0,y0,x1,y1.")
    ] = None,
    value: Annotated[
        str,
        typer.Option(
            "--value",
            help="Insertion value: quantile (each unit's 0.99 quantile), mean "
            "(its mean when active) or a number.",
        ),
    ] = "quantile",
    n: Annotated[int, typer.Option("--n", help="Number of images.")] = 16,
    concepts: Annotated[
        str | None,
        typer.Option(
            "--concepts",
            help="With --concept: measure the causal effect with this labeler: " + ConceptsHelp,
        ),
    ] = None,
    trust_code: TrustCodeOption = False,
    concept: Annotated[
        str | None, typer.Option("--concept", help="Concept whose fraction is measured.")
    ] = None,
    stats_samples: Annotated[
        int,
        typer.Option("--stats-samples", help="Samples for the per-unit insertion values."),
    ] = 200,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Ablate or insert units and save before/after images (and the concept's change)."""
    import torch

    from ganscope import __version__
    from ganscope.dissect.dissection import dissect
    from ganscope.dissect.intervention import Intervention, average_causal_effect, generate
    from ganscope.generators import image_grid
    from ganscope.generators.sample import seed_filename
    from ganscope.io import save_png, write_json

    mode = Mode(mode).value
    unit_list = _parse_ints(units, "--units")
    box = None
    if where is not None:
        coords = [float(v) for v in _parse_ints(where, "--where")]
        if len(coords) != 4 or coords[2] <= coords[0] or coords[3] <= coords[1]:
            raise GanscopeError(
                f"--where must be x0,y0,x1,y1 with x1 > x0 and y1 > y0, got {where!r}"
            )
        box = (coords[0], coords[1], coords[2], coords[3])
    if n < 1:
        raise GanscopeError(f"--n must be at least 1, got {n}")
    writable_parent(out, folder=True)
    G, _config = _load_run(run, device)
    torch_device = resolve_device(device)
    vr = (-1.0, 1.0)
    size = int(getattr(G, "size", 0)) or None
    fill: float | torch.Tensor = 0.0
    if mode == "insert":
        if value in ("quantile", "mean"):
            stats = dissect(
                G,
                layer,
                None,
                n_samples=stats_samples,
                seed=seed + 1_000_000,
                n_bootstrap=0,
                value_range=vr,
                device=torch_device,
            )
            per_unit = stats.thresholds if value == "quantile" else stats.mean_active
            if max(unit_list, default=0) >= stats.n_units:
                raise GanscopeError(f"layer {layer!r} has {stats.n_units} units")
            fill = per_unit[unit_list]
        else:
            try:
                fill = float(value)
            except ValueError:
                raise GanscopeError(
                    f"--value must be quantile, mean or a number, not {value!r}"
                ) from None
    iv = Intervention(
        layer, unit_list, value=fill, where=box, image_hw=(size, size) if size else None
    )
    seeds = list(range(seed, seed + n))
    before = generate(G, seeds, value_range=vr, device=torch_device)
    after = generate(G, seeds, intervention=iv, value_range=vr, device=torch_device)
    for s, b, a in zip(seeds, before, after, strict=True):
        save_png(out / "before" / seed_filename(s), b)
        save_png(out / "after" / seed_filename(s), a)
    nrow = min(n, 8)
    rows = []
    for i in range(0, n, nrow):
        rows += [before[i : i + nrow], after[i : i + nrow]]
    save_png(out / "grid.png", image_grid(torch.cat(rows), nrow=nrow))
    payload = {
        "run": str(run),
        "layer": layer,
        "units": unit_list,
        "mode": mode,
        "where": box,
        "value": fill.tolist() if isinstance(fill, torch.Tensor) else fill,
        "seeds": [seeds[0], seeds[-1]],
        "mean_abs_change": float((after - before).abs().mean()),
    }
    if concept is not None or concepts is not None:
        if concept is None or concepts is None:
            raise GanscopeError("--concept and --concepts go together")
        from ganscope.dissect.concepts import load_labeler

        labeler = load_labeler(concepts, device=torch_device, trust_code=trust_code)
        ins = (
            fill
            if mode == "insert"
            else (
                dissect(
                    G,
                    layer,
                    None,
                    n_samples=stats_samples,
                    seed=seed + 1_000_000,
                    n_bootstrap=0,
                    value_range=vr,
                    device=torch_device,
                ).thresholds[unit_list]
            )
        )
        payload["causal_effect"] = average_causal_effect(
            G,
            layer,
            unit_list,
            labeler,
            concept,
            value=ins,
            where=box,
            n_samples=n,
            seed=seed,
            value_range=vr,
            device=torch_device,
        )
    write_json(out / "results.json", payload)
    write_json(
        out / "config.json", {"command": "intervene", **payload, "ganscope_version": __version__}
    )
    typer.echo(
        f"{mode} {len(unit_list)} units of {layer}: mean |change| {payload['mean_abs_change']:.4f}"
    )
    if "causal_effect" in payload:
        ce = payload["causal_effect"]
        typer.echo(
            f"causal effect on {concept}: {ce['ace']:+.4f} ± {ce['ace_stderr']:.4f} "
            f"(inserted {ce['inserted']:.4f}, ablated {ce['ablated']:.4f})"
        )
    typer.echo(f"wrote {out / 'grid.png'} (rows: before, after)")


@locks_output("out")
def _scenes_demo(
    out: Annotated[
        Path, typer.Option("--out", help="Output folder (scenes/, run/, report.html, ...).")
    ],
    size: Annotated[int, typer.Option("--size", help="Scene and GAN image size (32 or 64).")] = 32,
    scenes: Annotated[int, typer.Option("--scenes", help="Rendered training scenes.")] = 4000,
    steps: Annotated[int, typer.Option("--steps", help="GAN training steps (resumable).")] = 1500,
    samples: Annotated[int, typer.Option("--samples", help="Samples per dissection.")] = 300,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """End to end: train a GAN on rendered scenes, dissect it, remove trees, find artifact units."""
    from ganscope.dissect.demo import run_scenes_demo

    writable_parent(out)
    res = run_scenes_demo(
        out,
        size=size,
        n_scenes=scenes,
        steps=steps,
        samples=samples,
        seed=seed,
        device=resolve_device(device),
    )
    for layer, counts in res["summary"].items():
        typer.echo(f"{layer}: " + ", ".join(f"{c} {n}" for c, n in counts.items() if n))
    typer.echo(f"wrote {out / 'report.html'}, {out / 'results.json'} and {out / 'figures'}")


def register(app: typer.Typer) -> None:
    """Add ``dissect``, ``intervene`` and ``data scenes`` to the root app."""
    from ganscope.cli.data import data_app

    data_app.command("scenes")(_data_scenes)
    app.command("dissect")(_dissect)
    app.command("intervene")(_intervene)
    app.command("scenes-demo")(_scenes_demo)
