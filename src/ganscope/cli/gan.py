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
from ganscope.generators.family import GENERATORS
from ganscope.generators.losses import LOSSES
from ganscope.generators.train import TrainConfig
from ganscope.layers import UPSAMPLERS

Upsampler = choice_enum("Upsampler", UPSAMPLERS)
Loss = choice_enum("Loss", LOSSES)
Family = choice_enum("Family", GENERATORS)
_D = TrainConfig  # the recipe's defaults live in one place: TrainConfig

gan_app = typer.Typer(
    help=f"Train generators ({', '.join(GENERATORS)}) with pluggable upsampling "
    f"({', '.join(UPSAMPLERS)}), sample them, and measure their quality.",
    no_args_is_help=True,
)


def _parse_betas(text: str) -> tuple[float, float]:
    from ganscope.errors import GanscopeError

    try:
        b1, b2 = (float(v) for v in text.split(","))
    except ValueError:
        raise GanscopeError(f"--betas must be two numbers B1,B2, not {text!r}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise GanscopeError(f"--betas must lie in [0, 1), not {text!r}")
    return b1, b2


@gan_app.command("train")
def train(
    data: Annotated[Path, typer.Option("--data", help="Folder of training images.")],
    upsample: Annotated[Upsampler, typer.Option("--upsample", help="Upsampler of every block.")],
    out: Annotated[Path, typer.Option("--out", help="Run folder (rerun to resume).")],
    family: Annotated[
        Family, typer.Option("--family", help="Generator family (architecture).")
    ] = _D.family,
    size: Annotated[int, typer.Option("--size", help="Image side (centre crop).")] = 32,
    steps: Annotated[int, typer.Option("--steps", help="Training steps.")] = _D.steps,
    seed: SeedOption = 0,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Images per step.")
    ] = _D.batch_size,
    loss: Annotated[
        Loss, typer.Option("--loss", help="Non-saturating (ns), hinge or WGAN-GP loss.")
    ] = _D.loss,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = _D.lr,
    betas: Annotated[
        str,
        typer.Option("--betas", help="Adam betas as B1,B2 (DCGAN: 0.5,0.999; SNGAN: 0,0.9)."),
    ] = ",".join(str(b) for b in _D.betas),
    d_lr: Annotated[
        float | None, typer.Option("--d-lr", help="Discriminator learning rate (default: --lr).")
    ] = None,
    augment: Annotated[
        str,
        typer.Option(
            "--augment",
            help="DiffAugment policy before every D call: none, or a comma list of "
            "color, translation, cutout.",
        ),
    ] = _D.augment,
    n_dis: Annotated[int, typer.Option("--n-dis", help="D updates per G update.")] = _D.n_dis,
    r1_gamma: Annotated[
        float, typer.Option("--r1-gamma", help="Lazy R1 penalty weight (0 = off).")
    ] = _D.r1_gamma,
    d_mbstd: Annotated[
        bool,
        typer.Option("--d-mbstd", help="Give D ProGAN's minibatch standard deviation feature."),
    ] = _D.d_mbstd,
    pac: Annotated[
        int,
        typer.Option("--pac", help="PacGAN: D judges packs of this many images (1 = off)."),
    ] = _D.pac,
    width: Annotated[int, typer.Option("--width", help="Generator width (channels).")] = _D.width,
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
    ema_decay: Annotated[float, typer.Option("--ema-decay", help="EMA decay of G.")] = _D.ema_decay,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", help="Steps between checkpoints.")
    ] = 500,
    sample_every: Annotated[
        int, typer.Option("--sample-every", help="Steps between sample grids (0 = at the end).")
    ] = 500,
    device: DeviceOption = "auto",
) -> None:
    """Train a GAN; rerunning the same command resumes an interrupted run."""
    from ganscope.generators import train_gan

    cfg = TrainConfig(
        family=Family(family).value,
        d_lr=d_lr,
        augment=augment,
        n_dis=n_dis,
        r1_gamma=r1_gamma,
        d_mbstd=d_mbstd,
        betas=_parse_betas(betas),
        pac=pac,
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
    run: Annotated[
        Path, typer.Argument(help="Run folder of `gan train` (or its generator/), or zoo:NAME.")
    ],
    n: Annotated[int, typer.Option("--n", help="Number of images.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder of seedNNNNNN.png files.")],
    seed: Annotated[
        int, typer.Option("--seed", help="First seed; images use seeds seed .. seed+n-1.")
    ] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.")] = 64,
    device: DeviceOption = "auto",
) -> None:
    """Write N lossless PNGs named by their seed; any one can be regenerated alone.

    RUN is a `gan train` folder or a shipped generator, zoo:NAME (`ganscope zoo list`)."""
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


@gan_app.command("quality")
def quality(
    run: Annotated[Path, typer.Argument(help="Run folder of `gan train`, or zoo:NAME.")],
    real: Annotated[Path, typer.Option("--real", help="Held-out real images (not trained on).")],
    train_dir: Annotated[
        Path | None,
        typer.Option("--train", help="The training images (default: the run's own data)."),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Samples to measure.")] = 500,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the numbers here.")] = None,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Diversity, near-duplicates, memorisation, precision/recall and SWD, each beside its
    real-vs-real value. Needs no downloaded weights."""
    from ganscope.cli.options import require_dirs
    from ganscope.generators import load_generator
    from ganscope.generators.quality import evaluate_generator
    from ganscope.io import write_json

    positive(n, "--n", minimum=8)
    require_dirs([real] + ([train_dir] if train_dir else []))
    if json_out is not None:
        writable_parent(json_out, folder=False)
    G, config = load_generator(run, device=resolve_device(device))
    report = evaluate_generator(
        G, config, real=str(real), train=str(train_dir) if train_dir else None, n=n, seed=seed
    )
    d = report.as_dict()
    rows = [
        ("diversity", d["diversity"], 1.0),
        ("near-duplicate pairs", d["near_duplicates"], d["near_duplicates_real"]),
        ("nearest-training distance ratio", d["nn_ratio"], d["nn_ratio_real"]),
        ("precision", d["precision"], d["precision_real"]),
        ("recall", d["recall"], d["recall_real"]),
        ("SWD x1e3", d["swd"], d["swd_real"]),
    ]
    typer.echo(f"{'':34s}{'generator':>12s}{'real-vs-real':>14s}")
    for name, ours, theirs in rows:
        typer.echo(f"{name:34s}{ours:12.3f}{theirs:14.3f}")
    verdict = "healthy" if d["healthy"] else "collapsed" if d["collapsed"] else "unhealthy"
    typer.echo(f"verdict: {verdict} (on {d['n_fake']} samples, {d['n_real']} real images)")
    if json_out is not None:
        write_json(json_out, {"generator": str(run), **d})


def register(app: typer.Typer) -> None:
    """Add the ``gan`` group to the root app."""
    app.add_typer(gan_app, name="gan")
