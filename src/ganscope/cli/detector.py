"""``ganscope detector train|eval`` and ``detect``: parse, call :mod:`ganscope.detectors.workflow`,
print. Settings, choices and help come from :mod:`ganscope.detectors.settings` (no scikit-learn)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from typer import Argument, Option

import ganscope.cli.options as o
from ganscope.detectors.settings import HELP, DetectSettings, EvalSettings, TrainSettings, choices

detector_app = typer.Typer(help="Train and evaluate real-vs-fake detectors.", no_args_is_help=True)
_err = functools.partial(o.echo_lossless, err=True)
Real = Annotated[list[Path] | None, Option("--real", help=HELP["real"])]
Fake = Annotated[list[Path] | None, Option("--fake", help=HELP["fake"])]


@detector_app.command("train")
@o.config_options(TrainSettings, choices=choices())
def train(
    config: TrainSettings,
    out: Annotated[Path, Option("--out", help=HELP["out"])],
    real: Real = None,
    fake: Fake = None,
) -> None:
    """Train a detector on real and fake folders and save it as a model folder."""
    from ganscope.detectors.workflow import train_from_folders

    for line in train_from_folders(out, real, fake, config, err=_err):
        o.echo_lossless(line)


@detector_app.command("eval")
@o.config_options(EvalSettings)
def evaluate(
    config: EvalSettings,
    model: Annotated[Path, Argument(help=HELP["model"])],
    real: Real = None,
    fake: Fake = None,
    device: o.DeviceOption = "auto",
) -> None:
    """Evaluate a model on real and fake folders: AP, ROC-AUC, accuracies, with intervals."""
    from rich.console import Console

    from ganscope.detectors.workflow import eval_table, evaluate_folders

    result = evaluate_folders(model, real, fake, config, device=device, err=_err)
    table, note = eval_table(result, f"{model}")
    Console().print(table)
    typer.echo(note)


@o.config_options(DetectSettings)
def detect(
    config: DetectSettings,
    paths: Annotated[list[Path], Argument(help=HELP["paths"])],
    model: Annotated[Path | None, Option("--model", help=HELP["detect_model"])] = None,
    device: o.DeviceOption = "auto",
) -> None:
    from ganscope.detectors.workflow import detect_files

    detect_files(paths, config, model=model, device=device, out=o.echo_lossless, err=_err)


detect.__doc__ = HELP["detect"]  # the command's help, shared with the docs
