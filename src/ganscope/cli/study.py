"""``ganscope study``: the upsampling study end to end, with its HTML report."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import DeviceOption, SeedOption, resolve_device, writable_parent

log = logging.getLogger("ganscope")


def study(
    out: Annotated[Path, typer.Option("--out", help="Output folder (results.json, report.html).")],
    profile: Annotated[
        str,
        typer.Option("--profile", help="quick (about 10 min on 2 cores), full (hours) or tiny."),
    ] = "quick",
    real: Annotated[
        Path | None,
        typer.Option("--real", help="Folder of real images instead of the built-in corpus."),
    ] = None,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Train a GAN per upsampler, compare spectra, train and cross-test every detector.

    Cached and resumable: rerun the same command after an interruption and it continues.
    """
    from ganscope.study import get_profile, run_study

    prof = get_profile(profile)
    writable_parent(out / "results.json")
    t0 = time.perf_counter()
    run_study(prof, out, real=real, seed=seed, device=resolve_device(device))
    typer.echo(
        f"study ({prof.name}) done in {time.perf_counter() - t0:.0f} s: "
        f"{out / 'report.html'}, {out / 'results.json'}"
    )


def register(app: typer.Typer) -> None:
    """Add ``study`` to the root app."""
    app.command("study")(study)
