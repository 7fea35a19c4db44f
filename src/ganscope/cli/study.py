"""``ganscope study``: the upsampling study end to end, with its HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import DeviceOption, SeedOption, choice_enum, locks_output, resolve_device
from ganscope.study import PROFILES, run_study

Profile = choice_enum("Profile", PROFILES)


@locks_output("out")
def study(
    out: Annotated[Path, typer.Option("--out", help="Output folder (results.json, report.html).")],
    profile: Annotated[Profile, typer.Option("--profile", help="quick (about 10 min on 2 cores), "
                                             "full (hours) or tiny (a test).")] = "quick",
    real: Annotated[Path | None, typer.Option(
        "--real", help="Folder of real images instead of the built-in corpus.")] = None,
    retrain: Annotated[bool, typer.Option(
        "--retrain", help="Train every generator instead of taking the shipped zoo's.")] = False,
    seed: SeedOption = 0, device: DeviceOption = "auto",
) -> None:
    """Train (or take from the zoo) a GAN per upsampler, compare spectra, cross-test detectors.

    Cached and resumable: a rerun continues an interrupted one, and recomputes only the stages
    whose settings changed.
    """
    res = run_study(Profile(profile).value, out, real=real, seed=seed,
                    device=resolve_device(device), retrain=retrain)
    typer.echo(f"study ({res['profile']}) done in {res['seconds_this_run']:.0f} s: "
               f"{out / 'report.html'}, {out / 'results.json'}")


def register(app: typer.Typer) -> None:
    """Add ``study`` to the root app."""
    app.command("study")(study)
