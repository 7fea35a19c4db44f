"""``ganscope study``: the upsampling study end to end, with its HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import DeviceOption, config_options, resolve_device
from ganscope.study import PROFILES, StudySettings, run_configured_study, study_summary


@config_options(StudySettings, choices={"profile": PROFILES})
def study(
    config: StudySettings,
    out: Annotated[Path, typer.Option("--out", help="Output folder (results.json, report.html).")],
    device: DeviceOption = "auto",
) -> None:
    """Train (or take from the zoo) a GAN per upsampler, compare spectra, cross-test detectors.

    Cached and resumable: a rerun continues an interrupted one, and recomputes only the stages
    whose settings changed.
    """
    results = run_configured_study(config, out, device=resolve_device(device))
    typer.echo(study_summary(results, out))
