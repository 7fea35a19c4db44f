"""``ganscope gan``: train a generator (resumable), sample seed-named PNGs, measure quality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import (
    DeviceOption,
    SeedOption,
    config_options,
    positive,
    require_dirs,
    resolve_device,
    writable_parent,
)
from ganscope.errors import GanscopeError
from ganscope.generators import load_generator, save_samples, train_gan
from ganscope.generators.family import GENERATORS
from ganscope.generators.losses import LOSSES
from ganscope.generators.quality import evaluate_generator
from ganscope.generators.train import TrainConfig
from ganscope.io import write_json
from ganscope.layers import UPSAMPLERS

Opt, Arg = typer.Option, typer.Argument
gan_app = typer.Typer(help=f"Train generators ({', '.join(GENERATORS)}) with pluggable upsampling "
                      f"({', '.join(UPSAMPLERS)}), sample them, and measure their quality.",
                      no_args_is_help=True)


def _parse_betas(text: str) -> tuple[float, float]:
    try:
        b1, b2 = (float(v) for v in text.split(","))
    except ValueError:
        raise GanscopeError(f"--betas must be two numbers B1,B2, not {text!r}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise GanscopeError(f"--betas must lie in [0, 1), not {text!r}")
    return b1, b2


@gan_app.command("train")
@config_options(TrainConfig, skip=("family_settings",), choices={"upsample": UPSAMPLERS,
                "loss": LOSSES, "family": GENERATORS},
                parsers={"betas": (_parse_betas, lambda b: ",".join(map(str, b)))})
def train(config: TrainConfig, out: Annotated[Path, Opt("--out", help="Run folder (rerun to "
          "resume).")], device: DeviceOption = "auto") -> None:
    """Train a generator; rerunning the same command resumes an interrupted run."""
    config.validate()
    writable_parent(out, folder=True)
    result = train_gan(config, out, device=resolve_device(device))
    if result.already_complete:
        typer.echo(f"{out} is complete ({result.step} steps); nothing to do")
        return
    resumed = f"resumed from step {result.start_step}; " if result.resumed else ""
    typer.echo(f"{resumed}trained {result.step - result.start_step} steps in "
               f"{result.seconds:.1f} s; generator: {out / 'generator'}")


@gan_app.command("sample")
def sample(
    run: Annotated[Path, Arg(help="Run folder of `gan train` (or its generator/), or zoo:NAME.")],
    n: Annotated[int, Opt("--n", min=1, help="Number of images.")],
    out: Annotated[Path, Opt("--out", help="Output folder of seedNNNNNN.png files.")],
    seed: Annotated[int, Opt("--seed", min=0, help="First seed; images use seeds seed .. "
                    "seed+n-1.")] = 0,
    batch_size: Annotated[int, Opt("--batch-size", min=1, help="Images per batch.")] = 64,
    device: DeviceOption = "auto",
) -> None:
    """Write N lossless PNGs named by their seed; any one can be regenerated alone.

    RUN is a `gan train` folder or a shipped generator, zoo:NAME (`ganscope zoo list`)."""
    writable_parent(out, folder=True)
    dev = resolve_device(device)
    G, _ = load_generator(run, device=dev)
    paths = save_samples(G, out, range(seed, seed + n), batch_size=batch_size, device=dev)
    typer.echo(f"wrote {len(paths)} images to {out}")


@gan_app.command("quality")
def quality(
    run: Annotated[Path, Arg(help="Run folder of `gan train`, or zoo:NAME.")],
    real: Annotated[Path, Opt("--real", help="Held-out real images (not trained on).")],
    train_dir: Annotated[Path | None, Opt("--train", help="The training images (default: the "
                         "run's own data).")] = None,
    n: Annotated[int, Opt("--n", help="Samples to measure.")] = 500,
    json_out: Annotated[Path | None, Opt("--json", help="Write the numbers here.")] = None,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Diversity, near-duplicates, memorisation, precision/recall and SWD, each beside its
    real-vs-real value. Needs no downloaded weights."""
    positive(n, "--n", minimum=8)
    require_dirs([real] + ([train_dir] if train_dir else []))
    if json_out is not None:
        writable_parent(json_out, folder=False)
    G, config = load_generator(run, device=resolve_device(device))
    report = evaluate_generator(G, config, real=str(real), train=str(train_dir) if train_dir
                                else None, n=n, seed=seed)
    typer.echo(report.table())
    if json_out is not None:
        write_json(json_out, {"generator": str(run), **report.as_dict()})


def register(app: typer.Typer) -> None:
    """Add the ``gan`` group to the root app."""
    app.add_typer(gan_app, name="gan")
