"""``ganscope gan``: train a GAN with a chosen upsampler (resumable), sample seed-named PNGs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import (
    DeviceOption,
    SeedOption,
    choice_enum,
    positive,
    resolve_device,
    writable_parent,
)
from ganscope.generators.losses import LOSSES
from ganscope.layers import UPSAMPLERS

Upsampler = choice_enum("Upsampler", UPSAMPLERS)
Loss = choice_enum("Loss", LOSSES)

gan_app = typer.Typer(
    help=f"Train DCGAN generators with pluggable upsampling ({', '.join(UPSAMPLERS)}) and "
    "sample from them.",
    no_args_is_help=True,
)


@gan_app.command("train")
def train(
    data: Annotated[Path, typer.Option("--data", help="Folder of training images.")],
    upsample: Annotated[Upsampler, typer.Option("--upsample", help="Upsampler of every block.")],
    out: Annotated[Path, typer.Option("--out", help="Run folder (rerun to resume).")],
    size: Annotated[int, typer.Option("--size", help="Image side (centre crop).")] = 32,
    steps: Annotated[int, typer.Option("--steps", help="Training steps.")] = 2000,
    seed: SeedOption = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per step.")] = 64,
    loss: Annotated[
        Loss, typer.Option("--loss", help="Non-saturating (ns), hinge or WGAN-GP loss.")
    ] = "ns",
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 2e-4,
    width: Annotated[int, typer.Option("--width", help="Generator width (channels).")] = 16,
    d_width: Annotated[
        int | None, typer.Option("--d-width", help="Discriminator width (default: --width).")
    ] = None,
    spectral_reg: Annotated[
        float,
        typer.Option(
            "--spectral-reg",
            help="Weight of Durall et al.'s spectral loss (0 = off; try 0.01, 1.0 is too strong).",
        ),
    ] = 0.0,
    spectral_disc: Annotated[
        bool, typer.Option("--spectral-disc", help="Add Jung & Keuper's spectral discriminator.")
    ] = False,
    spectral_disc_weight: Annotated[
        float,
        typer.Option(
            "--spectral-disc-weight", help="Weight b of its logit, G sees (D + b D_s) / (1 + b)."
        ),
    ] = 1.0,
    ema_decay: Annotated[float, typer.Option("--ema-decay", help="EMA decay of G.")] = 0.999,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", help="Steps between checkpoints.")
    ] = 500,
    sample_every: Annotated[
        int, typer.Option("--sample-every", help="Steps between sample grids (0 = at the end).")
    ] = 500,
    device: DeviceOption = "auto",
) -> None:
    """Train a GAN; rerunning the same command resumes an interrupted run."""
    from ganscope.generators import TrainConfig, train_gan

    cfg = TrainConfig(
        data=str(data),
        upsample=upsample.value,
        size=size,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        loss=Loss(loss).value,
        width=width,
        d_width=d_width,
        spectral_reg=spectral_reg,
        spectral_disc=spectral_disc,
        spectral_disc_weight=spectral_disc_weight,
        ema_decay=ema_decay,
        checkpoint_every=checkpoint_every,
        sample_every=sample_every,
        seed=seed,
    )
    cfg.validate()
    writable_parent(out, folder=True)
    result = train_gan(cfg, out, device=resolve_device(device))
    if result.already_complete:
        typer.echo(f"{out} is complete ({result.step} steps); nothing to do")
        return
    if result.resumed:
        typer.echo(f"resumed from step {result.start_step}; ", nl=False)
    typer.echo(
        f"trained {result.step - result.start_step} steps in {result.seconds:.1f} s; "
        f"generator: {out / 'generator'}"
    )


@gan_app.command("sample")
def sample(
    run: Annotated[Path, typer.Argument(help="Run folder of `gan train` (or its generator/).")],
    n: Annotated[int, typer.Option("--n", help="Number of images.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder of seedNNNNNN.png files.")],
    seed: Annotated[
        int, typer.Option("--seed", help="First seed; images use seeds seed .. seed+n-1.")
    ] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.")] = 64,
    device: DeviceOption = "auto",
) -> None:
    """Write N lossless PNGs named by their seed; any one can be regenerated alone."""
    from ganscope.errors import GanscopeError
    from ganscope.generators import load_generator, save_samples

    if n < 1:
        raise GanscopeError(f"--n must be at least 1, not {n}")
    if seed < 0:
        raise GanscopeError(f"--seed must be >= 0, not {seed}")
    positive(batch_size, "--batch-size")
    writable_parent(out, folder=True)
    dev = resolve_device(device)
    G, _ = load_generator(run, device=dev)
    paths = save_samples(G, out, range(seed, seed + n), batch_size=batch_size, device=dev)
    typer.echo(f"wrote {len(paths)} images to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``gan`` group to the root app."""
    app.add_typer(gan_app, name="gan")
