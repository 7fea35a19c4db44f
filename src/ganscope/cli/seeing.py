"""``ganscope seeing fsd`` and ``seeing invert``: what a GAN cannot generate (Bau et al. 2019)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer import Argument, Option

from ganscope.cli.options import DeviceOption, config_options, resolve_device
from ganscope.seeing import FSDSettings, fsd_report
from ganscope.seeing.reconstruct import InvertSettings, inversion_summary, invert_folder

seeing_app = typer.Typer(help="What a GAN cannot generate: FSD, inversion.", no_args_is_help=True)


@seeing_app.command("fsd")
@config_options(FSDSettings)
def fsd(
    config: FSDSettings,
    real_dir: Annotated[Path, Argument(help="Folder of real images (read recursively).")],
    gen_dir: Annotated[Path, Argument(help="Folder of generated images.")],
    device: DeviceOption = "auto",
) -> None:
    """Compare per-class segmentation statistics of real and generated images; print the FSD
    (Fréchet Segmentation Distance) and each class, most under-generated first."""
    typer.echo(fsd_report(real_dir, gen_dir, config, device=resolve_device(device)).table())


@seeing_app.command("invert")
@config_options(InvertSettings)
def invert(
    config: InvertSettings,
    run: Annotated[str, Argument(help="A GAN run folder, a generator folder, or zoo:NAME.")],
    images: Annotated[Path, Option(help="Folder of real images to invert.")],
    out: Annotated[Path, Option(help="Output folder.")],
    device: DeviceOption = "auto",
) -> None:
    """Invert real images through a generator (layer-wise encoders, then r*, reused from
    OUT/encoder) and show what is left out: grid.png, segmentation.png, errors.csv, results.json."""
    results = invert_folder(run, images, out, config, device=resolve_device(device))
    typer.echo(inversion_summary(results, out))
