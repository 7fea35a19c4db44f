"""``ganscope antialias report|benchmark``: Zhang (ICML 2019)'s shift-equivariance testbed."""

from pathlib import Path
from typing import Annotated

from typer import Argument, Option, Typer, echo

from ganscope.antialias.benchmark import BenchmarkConfig, benchmark_summary, run_benchmark
from ganscope.antialias.report import ReportSettings, antialias_report, report_summary
from ganscope.cli.options import config_options

MODEL_HELP = (
    "A ganscope detector folder, 'default' (the shipped detector), or a TorchScript file (.pt, "
    ".ts, .torchscript; --trust-code)."
)
Out = Annotated[Path, Option("--out", help="Output folder (figures, results.json, config.json).")]
antialias_app = Typer(no_args_is_help=True, help="Shift-equivariance testbed (Zhang 2019).")


@antialias_app.command("report")
@config_options(ReportSettings)
def report(
    config: ReportSettings,
    model: Annotated[str, Argument(help=MODEL_HELP)],
    images: Annotated[Path, Option(help="Folder of images to test on.")],
    out: Out,
) -> None:
    """Per-layer shift-equivariance heatmaps, consistency under shifts and resizing, for MODEL."""
    echo(report_summary(antialias_report(model, images, out, config), out))


@antialias_app.command("benchmark")
def benchmark(
    out: Out,
    seeds: Annotated[int, Option(help="Number of seeds (0, 1, ...).")] = 5,
    epochs: Annotated[int, Option(help="Training epochs per classifier.")] = 8,
) -> None:
    """Small VGGs with/without anti-aliasing on the built-in photo task; the default detector."""
    results = run_benchmark(out, BenchmarkConfig(seeds=tuple(range(seeds)), epochs=epochs))
    echo(f"{benchmark_summary(results)}\nwritten to {out}")
