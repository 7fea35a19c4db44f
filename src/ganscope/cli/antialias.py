"""``ganscope antialias report|benchmark``: Zhang (ICML 2019)'s shift-equivariance testbed."""

from pathlib import Path
from typing import Annotated

from typer import Argument, Option, Typer, echo

from ganscope.cli.options import SeedOption, locks_output

Out = Annotated[Path, Option("--out", help="Output folder (figures, results.json, config.json).")]
antialias_app = Typer(no_args_is_help=True, help="Shift-equivariance testbed (Zhang 2019).")


@antialias_app.command("report")
@locks_output("out")
def report(
    model: Annotated[str, Argument(help="A ganscope detector folder, 'default' (the shipped "
                     "detector), or a TorchScript file (.pt, .ts, .torchscript; --trust-code).")],
    images: Annotated[Path, Option(help="Folder of images to test on.")], out: Out,
    max_shift: Annotated[int, Option(help="Largest shift tested, in px.")] = 8,
    max_images: Annotated[int, Option(help="Images used at most.")] = 256,
    grid: Annotated[int, Option(help="Testbed shift grid side.")] = 32, seed: SeedOption = 0,
    trust_code: Annotated[bool, Option("--trust-code", help="Allow TorchScript (code).")] = False,
) -> None:
    """Per-layer shift-equivariance heatmaps, consistency under shifts and resizing, for MODEL."""
    from ganscope.antialias.report import antialias_report, report_summary
    echo(report_summary(antialias_report(model, images, out, max_shift=max_shift, grid=grid,
               max_images=max_images, seed=seed, trust_code=trust_code), out))


@antialias_app.command("benchmark")
@locks_output("out")
def benchmark(
    out: Out, seeds: Annotated[int, Option(help="Number of seeds (0, 1, ...).")] = 5,
    epochs: Annotated[int, Option(help="Training epochs per classifier.")] = 8,
) -> None:
    """Small VGGs with/without anti-aliasing on the built-in photo task; the default detector."""
    from ganscope.antialias.benchmark import BenchmarkConfig, benchmark_summary, run_benchmark
    r = run_benchmark(out, BenchmarkConfig(seeds=tuple(range(seeds)), epochs=epochs))
    echo(f"{benchmark_summary(r)}\nwritten to {out}")


def register(app: Typer) -> None:
    """Add the ``antialias`` group to the root app."""
    app.add_typer(antialias_app, name="antialias")
