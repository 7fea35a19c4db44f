"""``ganscope antialias report|benchmark``: Zhang (ICML 2019)'s shift-equivariance testbed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import SeedOption, locks_output, positive, require_dirs

log = logging.getLogger("ganscope")

antialias_app = typer.Typer(
    help="Shift-equivariance testbed and anti-aliasing (Zhang, ICML 2019).", no_args_is_help=True
)


@antialias_app.command("report")
@locks_output("out")
def report(
    model: Annotated[
        str,
        typer.Argument(
            help="A ganscope detector folder, 'default' (the shipped detector), or a TorchScript "
            "file (.pt, .ts, .torchscript; needs --trust-code)."
        ),
    ],
    images: Annotated[Path, typer.Option("--images", help="Folder of images to test on.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (figures, results.json).")],
    max_shift: Annotated[
        int, typer.Option("--max-shift", help="Largest shift of the consistency test, in px.")
    ] = 8,
    max_images: Annotated[int, typer.Option("--max-images", help="Images used at most.")] = 256,
    grid: Annotated[
        int, typer.Option("--grid", help="Side of the testbed's (dh, dw) shift grid.")
    ] = 32,
    seed: SeedOption = 0,
    trust_code: Annotated[
        bool,
        typer.Option(
            "--trust-code",
            help="Allow a TorchScript MODEL: it is code and runs with your permissions.",
        ),
    ] = False,
) -> None:
    """Per-layer shift-equivariance heatmaps, consistency under shifts and resizing, for MODEL.

    Writes OUT/results.json, OUT/config.json and OUT/*.png; unreadable images are listed under
    "errors" in results.json.
    """
    from ganscope.antialias.report import antialias_report

    require_dirs([images], "image folder")
    positive(max_shift, "--max-shift")
    positive(max_images, "--max-images")
    positive(grid, "--grid")
    r = antialias_report(
        model,
        images,
        out,
        max_shift=max_shift,
        max_images=max_images,
        grid=grid,
        seed=seed,
        trust_code=trust_code,
    )
    c = r["consistency"]
    typer.echo(
        f"{r['n_images']} images: consistency {c['agreement']:.3f} "
        f"[{c['agreement_ci'][0]:.3f}, {c['agreement_ci'][1]:.3f}] under {r['shift_mode']} "
        f"shifts up to {c['max_shift']} px, mean |ΔP| {c['prob_diff']:.4f}; "
        f"{len(r['errors'])} unreadable; written to {out}"
    )


@antialias_app.command("benchmark")
@locks_output("out")
def benchmark(
    out: Annotated[Path, typer.Option("--out", help="Output folder (figures, results.json).")],
    seeds: Annotated[int, typer.Option("--seeds", help="Number of seeds (0, 1, ...).")] = 3,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs per classifier.")] = 10,
) -> None:
    """The built-in benchmark: a small VGG with and without anti-aliasing on the photo task,
    over seeds, plus the default detector under shifts (a few minutes on 2 CPU cores)."""
    from ganscope.antialias.benchmark import BenchmarkConfig, run_benchmark

    positive(seeds, "--seeds", minimum=1)
    positive(epochs, "--epochs")
    r = run_benchmark(out, BenchmarkConfig(seeds=tuple(range(seeds)), epochs=epochs))
    s = r["classifier"]["summary"]
    for metric in ("accuracy", "consistency", "consistency_circular"):
        b, a, d = s[metric]["baseline"], s[metric]["anti-aliased"], s[metric]["difference"]
        typer.echo(
            f"{metric}: baseline {b['mean']:.3f}, anti-aliased {a['mean']:.3f}, "
            f"difference {d['mean']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]"
        )
    typer.echo(f"written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``antialias`` group to the root app."""
    app.add_typer(antialias_app, name="antialias")
