"""Validate "Seeing what a GAN cannot generate" on the scene world, where the truth is known.

A GAN is trained on scene renders from which every house (wall, roof, door, windows) was
removed. Then:

1. FSD and the per-class chart compare held-out *full* renders (with houses) to the GAN's samples:
   the house classes must come out as the most under-generated. Two disjoint sets of full renders
   give the noise floor (FSD within its bootstrap interval of 0), and full vs house-free renders
   give what a perfect house-free generator would score.
2. The layer-wise inversion reconstructs held-out house-free renders (the GAN's own
   distribution: optimisation must beat the encoder alone) and renders with big houses (the
   houses must vanish from the reconstructions).

Resumable: every stage keeps its output under ``--out`` and is skipped when present (the GAN run
resumes from its last checkpoint). Run with one thread on a shared machine::

    OMP_NUM_THREADS=1 python scripts/seeing_validation.py --out runs/seeing-validation \\
        --figures docs/figures

It writes ``OUT/summary.json`` with every number quoted in the README.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

import torch

from ganscope.dissect.scenes import SCENE_LABELS, render_scenes, write_scenes
from ganscope.generators import TrainConfig, save_samples, train_gan
from ganscope.io import save_png, write_json
from ganscope.seeing.figures import class_chart, save_figure
from ganscope.seeing.fsd import compare_folders
from ganscope.seeing.invert import EncoderTraining
from ganscope.seeing.reconstruct import load_any_generator, reconstruct_folder

log = logging.getLogger("ganscope")

TRAIN_SEED = 0  # training renders: seeds 0 .. n_train - 1
REAL_SEED = 2_000_000  # held-out full renders
REAL2_SEED = 2_100_000  # a second, disjoint set of full renders (and its house-free twin)
INVERT_SEED = 3_000_000  # renders to invert


def _scenes(folder: Path, *, count: int, seed: int, without: tuple[str, ...] = ()) -> Path:
    if not (folder / "labels.json").is_file():
        write_scenes(folder, count=count, seed=seed, size=32, without=without)
    return folder / "images"


def _house_renders(folder: Path, *, count: int, min_house: float = 0.06) -> Path:
    """The first ``count`` held-out renders whose houses cover at least ``min_house``."""
    if len(list(folder.glob("*.png"))) >= count:
        return folder
    house = SCENE_LABELS.index("house")
    seeds = list(range(INVERT_SEED, INVERT_SEED + 50 * count))
    batch = render_scenes(seeds, size=32)
    frac = (batch.labels == house).float().mean((1, 2))
    picked = [i for i in range(len(seeds)) if frac[i] >= min_house][:count]
    for i in picked:
        save_png(folder / f"scene{seeds[i]:07d}.png", batch.images[i])
    return folder


def _own_renders(folder: Path, *, count: int) -> Path:
    """Held-out house-free renders: the GAN's own distribution."""
    if len(list(folder.glob("*.png"))) >= count:
        return folder
    seeds = list(range(INVERT_SEED, INVERT_SEED + count))
    batch = render_scenes(seeds, size=32, without=("house",))
    for s, img in zip(seeds, batch.images, strict=True):
        save_png(folder / f"scene{s:07d}.png", img)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/seeing-validation"))
    ap.add_argument("--figures", type=Path, default=None, help="copy the figures here")
    ap.add_argument("--train", type=int, default=4000, help="training renders")
    ap.add_argument(
        "--steps",
        type=int,
        default=1250,
        help="GAN training steps (this configuration collapses after about 1500)",
    )
    ap.add_argument("--n", type=int, default=1000, help="images per FSD set")
    ap.add_argument("--invert", type=int, default=16, help="images inverted per set")
    ap.add_argument("--encoder-steps", type=int, default=300)
    ap.add_argument("--opt-steps", type=int, default=300)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")
    torch.set_num_threads(1)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    # Data: house-free training renders, held-out full and house-free renders.
    train = _scenes(out / "train-nohouse", count=args.train, seed=TRAIN_SEED, without=("house",))
    real = _scenes(out / "real", count=args.n, seed=REAL_SEED)
    real2 = _scenes(out / "real2", count=args.n, seed=REAL2_SEED)
    real2_nohouse = _scenes(
        out / "real2-nohouse", count=args.n, seed=REAL2_SEED, without=("house",)
    )

    # The GAN (resumes; a finished run returns at once).
    run = out / "gan"
    cfg = TrainConfig(
        data=str(train),
        size=32,
        steps=args.steps,
        batch_size=32,
        width=32,
        loss="hinge",
        lr=2e-4,
        betas=(0.5, 0.999),
        sample_every=250,
        checkpoint_every=250,
        seed=0,
    )
    exported = run / "generator" / "config.json"
    if not (exported.is_file() and json.loads(exported.read_text())["step"] == args.steps):
        train_gan(cfg, run)
    generated = out / "generated"
    if len(list(generated.glob("*.png"))) < args.n:
        G = load_any_generator(run)
        save_samples(G, generated, list(range(args.n)))

    # 1. Distribution level.
    summary: dict = {"settings": vars(args) | {"out": str(out), "figures": str(args.figures)}}
    for name, a, b in (
        ("real_vs_real", real, real2),
        ("real_vs_nohouse_renders", real, real2_nohouse),
        ("real_vs_gan", real, generated),
    ):
        res = compare_folders(a, b, n_boot=200, seed=0)
        write_json(out / f"fsd-{name}.json", res.to_json())
        save_figure(class_chart(res), out / f"chart-{name}.png")
        summary[name] = {
            "fsd": res.fsd,
            "fsd_ci": list(res.fsd_ci),
            "under_generated_by_deficit": res.under_generated(by="deficit")[:5],
            "under_generated_by_ratio": res.under_generated(by="ratio")[:5],
            "house": res.to_json()["per_class"]["house"],
        }
        log.info("%s: FSD %.5f %s", name, res.fsd, res.fsd_ci)

    # 2. Instance level: one encoder, two image sets.
    enc = EncoderTraining(steps=args.encoder_steps, seed=0)
    for name, images in (
        ("own", _own_renders(out / "invert-own-images", count=args.invert)),
        ("houses", _house_renders(out / "invert-house-images", count=args.invert)),
    ):
        res = reconstruct_folder(
            run,
            images,
            out / f"invert-{name}",
            count=args.invert,
            encoder=enc,
            steps=args.opt_steps,
            encoder_dir=out / "encoder",
        )
        summary[f"invert_{name}"] = {
            "mean": res["mean"],
            "vanished": res.get("vanished"),
            "per_class": {k: res["per_class"][k] for k in ("house", "roof", "door", "window")},
            "images_better_after_optimization": sum(
                r["mse_optimized"] < r["mse_encoder"] for r in res["images"]
            ),
            "n_images": res["n_images"],
        }
    summary["encoder_losses"] = res["encoder_losses"]
    write_json(out / "summary.json", summary)
    if args.figures is not None:
        args.figures.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "chart-real_vs_gan.png", args.figures / "seeing_chart.png")
        shutil.copy(out / "invert-houses" / "grid.png", args.figures / "seeing_invert_houses.png")
        shutil.copy(
            out / "invert-houses" / "segmentation.png",
            args.figures / "seeing_invert_houses_segmentation.png",
        )
        shutil.copy(out / "invert-own" / "grid.png", args.figures / "seeing_invert_own.png")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
