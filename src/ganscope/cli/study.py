"""``ganscope study``: the upsampling study end to end, with its HTML report."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import (
    DeviceOption,
    SeedOption,
    choice_enum,
    locks_output,
    resolve_device,
    writable_parent,
)
from ganscope.study.profiles import PROFILES

log = logging.getLogger("ganscope")
Profile = choice_enum("Profile", PROFILES)


@locks_output("out")
def study(
    out: Annotated[Path, typer.Option("--out", help="Output folder (results.json, report.html).")],
    profile: Annotated[
        Profile,
        typer.Option(
            "--profile", help="quick (about 10 min on 2 cores), full (hours) or tiny (a test)."
        ),
    ] = "quick",
    real: Annotated[
        Path | None,
        typer.Option("--real", help="Folder of real images instead of the built-in corpus."),
    ] = None,
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain", help="Train every generator instead of taking the shipped zoo's."
        ),
    ] = False,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Train (or take from the zoo) a GAN per upsampler, compare spectra, cross-test detectors.

    Cached and resumable: rerun the same command after an interruption and it continues.
    """
    from ganscope.io import remove_stale_temp_files
    from ganscope.study import get_profile, run_study

    prof = get_profile(Profile(profile).value)
    writable_parent(out, folder=True)
    # Under the lock no other writer is alive here: temporary files are a killed run's leftovers.
    for tmp in remove_stale_temp_files(out):
        log.debug("removed %s, left by an interrupted run", tmp)
    t0 = time.perf_counter()
    run_study(prof, out, real=real, seed=seed, device=resolve_device(device), retrain=retrain)
    typer.echo(
        f"study ({prof.name}) done in {time.perf_counter() - t0:.0f} s: "
        f"{out / 'report.html'}, {out / 'results.json'}"
    )


def register(app: typer.Typer) -> None:
    """Add ``study`` to the root app."""
    app.command("study")(study)
