"""``ganscope gan``: train a generator (resumable), sample seed-named PNGs, measure quality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import DeviceOption, config_options, resolve_device
from ganscope.generators.family import GENERATORS
from ganscope.generators.losses import LOSSES
from ganscope.generators.quality import QualitySettings, evaluate_run
from ganscope.generators.train import (
    SampleSettings,
    TrainConfig,
    parse_betas,
    train_gan,
    write_samples,
)
from ganscope.layers import UPSAMPLERS

Opt, Arg = typer.Option, typer.Argument
gan_app = typer.Typer(
    help=f"Train generators ({', '.join(GENERATORS)}) with pluggable upsampling "
    f"({', '.join(UPSAMPLERS)}), sample them, and measure their quality.",
    no_args_is_help=True,
)


@gan_app.command("train")
@config_options(
    TrainConfig,
    skip=("family_settings",),
    choices={"upsample": UPSAMPLERS, "loss": LOSSES, "family": GENERATORS},
    parsers={"betas": (parse_betas, lambda b: ",".join(map(str, b)))},
)
def train(
    config: TrainConfig,
    out: Annotated[Path, Opt("--out", help="Run folder (rerun to resume).")],
    device: DeviceOption = "auto",
) -> None:
    """Train a generator; rerunning the same command resumes an interrupted run."""
    typer.echo(train_gan(config, out, device=resolve_device(device)).summary())


@gan_app.command("sample")
@config_options(SampleSettings)
def sample(
    config: SampleSettings,
    run: Annotated[Path, Arg(help="Run folder of `gan train` (or its generator/), or zoo:NAME.")],
    out: Annotated[Path, Opt("--out", help="Output folder of seedNNNNNN.png files.")],
    device: DeviceOption = "auto",
) -> None:
    """Write N lossless PNGs named by their seed; any one can be regenerated alone.

    RUN is a `gan train` folder or a shipped generator, zoo:NAME (`ganscope zoo list`)."""
    paths = write_samples(run, out, config, device=resolve_device(device))
    typer.echo(f"wrote {len(paths)} images to {out}")


@gan_app.command("quality")
@config_options(QualitySettings)
def quality(
    config: QualitySettings,
    run: Annotated[Path, Arg(help="Run folder of `gan train`, or zoo:NAME.")],
    real: Annotated[Path, Opt("--real", help="Held-out real images (not trained on).")],
    train: Annotated[
        Path | None, Opt("--train", help="The training images (default: the run's own data).")
    ] = None,
    device: DeviceOption = "auto",
) -> None:
    """Diversity, near-duplicates, memorisation, precision/recall and SWD, each beside its
    real-vs-real value. Needs no downloaded weights."""
    report = evaluate_run(run, config, real=real, train=train, device=resolve_device(device))
    typer.echo(report.table())
