"""``ganscope detector train|eval`` and ``detect``: parse, call :mod:`ganscope.detectors.workflow`,
print. Choices and help come from :mod:`ganscope.detectors.settings` (no scikit-learn)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from typer import Argument, Option

import ganscope.cli.options as o
from ganscope.detectors.settings import HELP, TrainSettings, choices

detector_app = typer.Typer(help="Train and evaluate real-vs-fake detectors.", no_args_is_help=True)
_err = functools.partial(o.echo_lossless, err=True)


def _opt(name: str) -> typer.models.OptionInfo:
    return Option("--" + name.replace("_", "-"), help=HELP[name])


@detector_app.command("train")
@o.locks_output("out")
@o.config_options(TrainSettings, choices=choices(), help={**HELP, "batch_size":
                  HELP["train_batch_size"]})  # fmt: skip
def train(
    config: TrainSettings,
    out: Annotated[Path, _opt("out")],
    real: Annotated[list[Path] | None, _opt("real")] = None,
    fake: Annotated[list[Path] | None, _opt("fake")] = None,
) -> None:
    """Train a detector on real and fake folders and save it as a model folder."""
    from ganscope.detectors.workflow import train_from_folders
    for line in train_from_folders(out, real, fake, config, err=_err):
        o.echo_lossless(line)


@detector_app.command("eval")
def evaluate(
    model: Annotated[Path, Argument(help=HELP["model"])],
    real: Annotated[list[Path] | None, _opt("real")] = None,
    fake: Annotated[list[Path] | None, _opt("fake")] = None,
    json_path: Annotated[Path | None, _opt("json")] = None,
    batch_size: Annotated[int, _opt("batch_size")] = 64,
    bootstrap: Annotated[int, _opt("bootstrap")] = 1000,
    seed: o.SeedOption = 0,
    device: o.DeviceOption = "auto",
) -> None:
    """Evaluate a model on real and fake folders: AP, ROC-AUC, accuracies, with intervals."""
    from rich.console import Console

    from ganscope.detectors.workflow import eval_table, evaluate_folders
    for p in filter(None, (json_path,)):
        o.writable_parent(p, folder=False)
    o.positive(batch_size, "--batch-size")
    result = evaluate_folders(model, real, fake, json_path=json_path, batch_size=batch_size,
                              bootstrap=bootstrap, seed=seed, device=device, err=_err)  # fmt: skip
    table, note = eval_table(result, f"{model}")
    Console().print(table)
    typer.echo(note)


def detect(
    paths: Annotated[list[Path], Argument(help=HELP["paths"])],
    model: Annotated[Path | None, Option("--model", help=HELP["detect_model"])] = None,
    json_path: Annotated[Path | None, _opt("json")] = None,
    csv_path: Annotated[Path | None, _opt("csv")] = None,
    batch_size: Annotated[int, _opt("batch_size")] = 64,
    device: o.DeviceOption = "auto",
) -> None:
    """``ganscope detect``; its help is ``HELP["detect"]``."""
    from ganscope.detectors.workflow import detect_files
    for p in filter(None, (json_path, csv_path)):
        o.writable_parent(p, folder=False)
    o.positive(batch_size, "--batch-size")
    detect_files(paths, model=model, json_path=json_path, csv_path=csv_path,
                 batch_size=batch_size, device=device, out=o.echo_lossless, err=_err)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the ``detector`` group and the ``detect`` command to the root app."""
    app.add_typer(detector_app, name="detector")
    app.command("detect", help=HELP["detect"])(detect)
