"""``ganscope seeing fsd`` and ``ganscope seeing invert``: what a GAN cannot generate.

Bau et al., "Seeing What a GAN Cannot Generate", ICCV 2019.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ganscope.cli.options import (
    DeviceOption,
    SeedOption,
    locks_output,
    require_dirs,
    resolve_device,
    writable_parent,
)

seeing_app = typer.Typer(
    help="Seeing what a GAN cannot generate: segmentation statistics (FSD) and inversion.",
    no_args_is_help=True,
)
log = logging.getLogger("ganscope")

SegmenterOption = Annotated[
    str,
    typer.Option(
        "--segmenter",
        help="scenes (the built-in scene U-Net), or a folder holding model.safetensors + "
        "config.json of a ganscope U-Net segmenter. TorchScript and pickles are not loaded.",
    ),
]


@seeing_app.command("fsd")
def fsd(
    real_dir: Annotated[Path, typer.Argument(help="Folder of real images (read recursively).")],
    gen_dir: Annotated[Path, typer.Argument(help="Folder of generated images.")],
    segmenter: SegmenterOption = "scenes",
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help='Write {"fsd", "fsd_ci", "per_class": {class: {"real", "generated", '
            '"real_presence", "generated_presence", ...}}, "errors"}.',
        ),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the per-class chart (.png, .pdf, .svg).")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap resamples for the intervals.")
    ] = 200,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.")] = 64,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Compare per-class segmentation statistics of real and generated images; print the FSD.

    Both folders are segmented in a stream (memory holds one class-area vector per image), then
    the Fréchet Segmentation Distance, per-class pixel fractions and presence rates get bootstrap
    intervals. Classes are listed from the most under-generated.
    """
    from ganscope.io import write_json
    from ganscope.seeing.fsd import compare_folders

    require_dirs([real_dir, gen_dir])
    for p in (json_out, plot):
        if p is not None:
            writable_parent(p)
    result = compare_folders(
        real_dir,
        gen_dir,
        segmenter=segmenter,
        n_boot=bootstrap,
        seed=seed,
        batch_size=batch_size,
        device=resolve_device(device),
    )
    lo, hi = result.fsd_ci
    typer.echo(
        f"FSD {result.fsd:.5g}  (95% CI {lo:.3g} .. {hi:.3g}; "
        f"{result.n_real} real, {result.n_generated} generated images)"
    )
    typer.echo(f"{'class':<12}{'real %':>9}{'gen %':>9}{'gen/real':>10}")
    ratio = result.ratio()
    for name in result.under_generated(by="deficit"):
        i = result.labels.index(name)
        r = "-" if ratio[i] != ratio[i] else f"{ratio[i]:.3f}"
        typer.echo(
            f"{name:<12}{100 * result.real[i]:>9.3f}{100 * result.generated[i]:>9.3f}{r:>10}"
        )
    if result.errors:
        log.warning("%d unreadable files (listed in --json)", len(result.errors))
    if json_out is not None:
        write_json(json_out, result.to_json())
    if plot is not None:
        from ganscope.seeing.figures import class_chart, save_figure

        save_figure(class_chart(result), plot)


@seeing_app.command("invert")
@locks_output("out")
def invert(
    run: Annotated[str, typer.Argument(help="A GAN run folder, a generator folder, or zoo:NAME.")],
    images: Annotated[Path, typer.Option("--images", help="Folder of real images to invert.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    layer: Annotated[
        str | None,
        typer.Option(
            "--layer",
            help="Layer whose output r is optimised (default: the first at least 1/32 of the "
            "image side, as Bau et al.'s 8x8 layer of a 256-pixel GAN).",
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", help="Images to invert.")] = 16,
    encoder_steps: Annotated[
        int, typer.Option("--encoder-steps", help="Training steps of every layer encoder.")
    ] = 500,
    steps: Annotated[int, typer.Option("--steps", help="Adam steps optimising r*.")] = 300,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate of the r* optimisation.")] = 0.05,
    segmenter: SegmenterOption = "scenes",
    no_segment: Annotated[
        bool, typer.Option("--no-segment", help="Skip the segmentation of the reconstructions.")
    ] = False,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Invert real images through a generator (layer-wise encoders, then r*) and show what the
    reconstructions leave out: grid.png, segmentation.png, errors.csv, results.json.

    The encoder is saved in OUT/encoder and reused by a rerun with the same settings.
    """
    from ganscope.seeing.invert import EncoderTraining
    from ganscope.seeing.reconstruct import reconstruct_folder

    require_dirs([images], "image folder")
    writable_parent(out)
    res = reconstruct_folder(
        run,
        images,
        out,
        layer=layer,
        count=count,
        encoder=EncoderTraining(steps=encoder_steps, seed=seed),
        steps=steps,
        lr=lr,
        segmenter=None if no_segment else segmenter,
        device=resolve_device(device),
    )
    m = res["mean"]
    typer.echo(
        f"inverted {res['n_images']} images through {', '.join(res['layers'])}: MSE encoder-only "
        f"{m['mse_encoder']:.5f}, optimised {m['mse_optimized']:.5f}"
    )
    if res.get("vanished"):
        typer.echo(f"classes the reconstructions lose: {', '.join(res['vanished'])}")
    typer.echo(f"wrote {out}/grid.png, errors.csv, results.json")


def register(app: typer.Typer) -> None:
    """Add the ``seeing`` group to the root app."""
    app.add_typer(seeing_app, name="seeing")
