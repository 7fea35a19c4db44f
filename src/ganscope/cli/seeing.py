"""``ganscope seeing fsd`` and ``seeing invert``: what a GAN cannot generate (Bau et al. 2019)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer import Argument, Option

from ganscope.cli.options import DeviceOption, SeedOption, locks_output, resolve_device
from ganscope.seeing import EncoderTraining, fsd_report
from ganscope.seeing.reconstruct import reconstruct_folder

seeing_app = typer.Typer(help="What a GAN cannot generate: FSD, inversion.", no_args_is_help=True)
Segmenter = Annotated[str, Option(help="scenes (the built-in scene U-Net), or a folder holding "
                                  "model.safetensors + config.json of a ganscope U-Net.")]


@seeing_app.command("fsd")
def fsd(
    real_dir: Annotated[Path, Argument(help="Folder of real images (read recursively).")],
    gen_dir: Annotated[Path, Argument(help="Folder of generated images.")],
    json_out: Annotated[Path | None, Option("--json", help='Write {"fsd", "fsd_ci", "per_class": '
                                            '{class: {"real", "generated", ...}}, ...}.')] = None,
    plot: Annotated[Path | None, Option(help="Write the per-class chart (.png/.pdf/.svg).")] = None,
    bootstrap: Annotated[int, Option(help="Bootstrap resamples for the intervals.")] = 200,
    batch_size: Annotated[int, Option(help="Images per batch.")] = 64,
    segmenter: Segmenter = "scenes", seed: SeedOption = 0, device: DeviceOption = "auto",
) -> None:
    """Compare per-class segmentation statistics of real and generated images; print the FSD
    (Fréchet Segmentation Distance) and each class, most under-generated first."""
    result = fsd_report(real_dir, gen_dir, json_out=json_out, plot=plot, segmenter=segmenter,
                        n_boot=bootstrap, seed=seed, batch_size=batch_size,
                        device=resolve_device(device))
    typer.echo(result.table())


@seeing_app.command("invert")
@locks_output("out")
def invert(
    run: Annotated[str, Argument(help="A GAN run folder, a generator folder, or zoo:NAME.")],
    images: Annotated[Path, Option(help="Folder of real images to invert.")],
    out: Annotated[Path, Option(help="Output folder.")],
    layer: Annotated[str | None, Option(help="Layer whose output r is optimised (default: the "
                                        "first at least 1/32 of the image side).")] = None,
    count: Annotated[int, Option(help="Images to invert.")] = 16,
    encoder_steps: Annotated[int, Option(help="Training steps of every layer encoder.")] = 500,
    steps: Annotated[int, Option(help="Adam steps optimising r*.")] = 300,
    lr: Annotated[float, Option(help="Learning rate of the r* optimisation.")] = 0.05,
    no_segment: Annotated[bool, Option("--no-segment", help="Skip the segmentation.")] = False,
    segmenter: Segmenter = "scenes", seed: SeedOption = 0, device: DeviceOption = "auto",
) -> None:
    """Invert real images through a generator (layer-wise encoders, then r*, reused from
    OUT/encoder) and show what is left out: grid.png, segmentation.png, errors.csv, results.json."""
    res = reconstruct_folder(run, images, out, layer=layer, count=count, steps=steps, lr=lr,
                             encoder=EncoderTraining(steps=encoder_steps, seed=seed),
                             segmenter=None if no_segment else segmenter,
                             device=resolve_device(device))
    mse, layers = res["mean"], ", ".join(res["layers"])
    typer.echo(f"inverted {res['n_images']} images through {layers}: MSE encoder-only "
               f"{mse['mse_encoder']:.5f}, optimised {mse['mse_optimized']:.5f}")
    if res.get("vanished"):
        typer.echo(f"classes the reconstructions lose: {', '.join(res['vanished'])}")
    typer.echo(f"wrote {out}/grid.png, errors.csv, results.json")


def register(app: typer.Typer) -> None:
    """Add the ``seeing`` group to the root app."""
    app.add_typer(seeing_app, name="seeing")
