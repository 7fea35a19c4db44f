"""Rebuild the shipped pretrained zoo (src/ganscope/assets/zoo/) with the default recipe.

    python scripts/make_zoo.py                       # every entry; hours on 2 CPU cores
    python scripts/make_zoo.py --only dcgan-blur     # one entry
    python scripts/make_zoo.py --device cuda         # when a GPU is at hand
    python scripts/make_zoo.py --list                # the plan and what is done

Resumable at every level: each generator trains in ``WORK/<name>`` with ganscope's exactly
resumable loop (kill it and rerun the same command), and an entry already exported with its full
step count is skipped. Training data is made by ganscope itself: the built-in photo corpus
(train split; the test split is held out for the quality numbers) and, for ``scenes``, the
procedural scene world. Each exported entry gets float16 weights, ``quality.json`` (500 samples
against 500 held-out crops, each number beside its real-vs-real value), ``samples.png`` and the
training settings in ``config.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "src" / "ganscope" / "assets" / "zoo"
DATA_COUNT = 4000
SCENES_COUNT = 4000
REAL_TEST = {"size": 32, "count": 500, "seed": 1, "split": "test"}


@dataclass
class Entry:
    """One zoo generator: its name, family, upsampler and any settings beyond the recipe."""

    name: str
    family: str
    upsample: str
    steps: int
    data: str = "builtin"  # builtin | scenes
    settings: dict[str, Any] = field(default_factory=dict)
    note: str = ""


# The photo recipe: the hinge loss with SNGAN's Adam betas (0, 0.9), batch 32. Measured on the
# built-in corpus (issue 10's note): at 2000 steps it gives diversity 0.98, 0.2% near-duplicate
# pairs and a nearest-training ratio of 1.43, where the non-saturating loss with DCGAN's betas
# (0.5, 0.999) gave blobs (ratio 1.8 at 1000 steps) and the hinge loss with them collapsed.
PHOTO_RECIPE: dict[str, Any] = {"loss": "hinge", "betas": (0.0, 0.9), "batch_size": 32}

# The smooth upsamplers' recipe: the photo recipe with PacGAN (Lin et al. 2018; D judges packs of
# four samples). With the photo recipe alone dcgan-bilinear drew smooth, low-texture patches, 1.5%
# of its sample pairs near-duplicates (NN ratio 0.56): a partial collapse onto flat patches.
SMOOTH = ("bilinear", "bicubic", "blur")
SMOOTH_RECIPE: dict[str, Any] = {**PHOTO_RECIPE, "pac": 4}
# dcgan-bicubic after 8000 steps of it: diversity 1.03, no near-duplicates, but NN ratio 1.36 (the
# bar is 1.3), 1.303 after 12000, 1.26 after 16000; it and dcgan-blur (NN ratio 1.43 after 8000)
# train twice the steps, as a DCGAN's ratio falls with training (transposed: 1.50 at 4000 steps,
# 1.24 at 8000).
DOUBLE_STEPS = ("bicubic", "blur")

# The VAE's recipe: the photo recipe with a 32-d latent, KL weight 0.25, and a discriminator that
# judges samples of the prior only (prior_fraction 1.0; reconstructions are trained by the L1 loss
# alone). With the family's defaults (128-d latent, KL weight 0.05) the posterior codes leave most
# of N(0, I) unused and the prior samples D sees collapse to one dark blob by step 800 (diversity
# 0.3 of real); with KL weight 1.0 the codes carry too little and every sample is the same blur
# (diversity 0.32 at step 1200). At 0.25 / 32-d with D seeing half reconstructions, half prior
# samples, vae-transposed drew speckled, noisy textures unlike any real crop: NN ratio 1.39 after
# 8000 steps, 1.46 after 12000 (diversity 0.76, 0.77); PacGAN made it worse (1.68), and so did a
# 4x lighter reconstruction loss (1.42 at 4000 steps). With D judging prior samples only, the
# decoder learns the prior as a GAN generator does: after 4000 steps diversity 0.89 and NN ratio
# 1.40, smooth photo-like patches. vae-nearest meets the bar after 8000 steps (diversity 1.00,
# 0.04% near-duplicate pairs, NN ratio 1.13); vae-transposed at 8000 had 1.2% near-duplicate pairs
# (too many dark patches; the bar is 1%) and trains 12000 (diversity 1.04, 0.5%, NN ratio 0.96).
VAE_RECIPE: dict[str, Any] = {
    **PHOTO_RECIPE,
    "latent_dim": 32,
    "family_settings": {"kl_weight": 0.25, "prior_fraction": 1.0},
}


def plan(steps: int) -> list[Entry]:
    """The zoo: every study variant as dcgan, stylegan2 and vae with two upsamplers each, and
    the scene generator used by GAN Paint and "seeing"."""
    ups = ("transposed", "nearest", "bilinear", "bicubic", "pixelshuffle", "bednails", "blur")
    out = [
        Entry(
            f"dcgan-{u}",
            "dcgan",
            u,
            steps * 2 if u in DOUBLE_STEPS else steps,
            settings=dict(SMOOTH_RECIPE if u in SMOOTH else PHOTO_RECIPE),
        )
        for u in ups
    ]
    out += [
        Entry(
            "dcgan-transposed-specreg",
            "dcgan",
            "transposed",
            steps,
            settings={**PHOTO_RECIPE, "spectral_reg": 0.01},
            note="Durall et al.'s spectral regularisation, weight 0.01",
        ),
        Entry(
            "dcgan-transposed-specdisc",
            "dcgan",
            "transposed",
            steps,
            settings={**PHOTO_RECIPE, "spectral_disc": True, "spectral_disc_weight": 0.05},
            note="Jung & Keuper's spectral discriminator, weight 0.05",
        ),
    ]
    # StyleGAN2 costs ~2.4x a DCGAN step on the CPU (benchmarks/RESULTS-families.md): 5/8 of the
    # steps keep an entry within about an hour and a half of one core.
    out += [
        Entry(f"stylegan2-{u}", "stylegan2", u, steps * 5 // 8, settings=dict(PHOTO_RECIPE))
        for u in ("blur", "transposed")
    ]
    out += [
        Entry(
            f"vae-{u}",
            "vae",
            u,
            steps * 3 // 2 if u == "transposed" else steps,
            settings=dict(VAE_RECIPE),
        )
        for u in ("transposed", "nearest")
    ]
    # The scene generator of GAN Paint and "seeing": the recipe it was trained with (hinge loss,
    # Adam betas (0, 0.9), latent 64, batch 32, 2000 steps on 4000 renders), which gave varied
    # scenes where betas (0.5, 0.999) collapsed by step 2000.
    out += [
        Entry(
            "scenes",
            "dcgan",
            "transposed",
            2000,
            data="scenes",
            settings={"loss": "hinge", "betas": (0.0, 0.9), "latent_dim": 64, "batch_size": 32},
        )
    ]
    return out


def make_data(work: Path, kind: str) -> Path:
    """Write (once) the training folder of a data kind and return it."""
    folder = work / f"data-{kind}"
    done = folder / ".complete"
    if done.exists():
        return folder if kind == "builtin" else folder / "images"
    if folder.exists():
        shutil.rmtree(folder)
    if kind == "builtin":
        from ganscope.io.builtin import write_builtin

        write_builtin(folder, size=32, count=DATA_COUNT, seed=0, split="train")
    else:
        from ganscope.dissect.scenes import write_scenes

        write_scenes(folder, count=SCENES_COUNT, seed=0, size=32)
    done.write_text("ok\n")
    return folder if kind == "builtin" else folder / "images"


def train_entry(entry: Entry, work: Path, device: str, width: int) -> Path:
    from ganscope.generators import TrainConfig, train_gan

    data = make_data(work, entry.data)
    cfg = TrainConfig(
        data=str(data),
        family=entry.family,
        upsample=entry.upsample,
        size=32,
        steps=entry.steps,
        width=width,
        sample_every=max(entry.steps // 10, 1),
        checkpoint_every=250,
        seed=0,
        **entry.settings,
    )
    run = work / entry.name
    t0 = time.time()
    result = train_gan(cfg, run, device=device)
    if not result.already_complete:
        print(f"{entry.name}: {result.step - result.start_step} steps in {time.time() - t0:.0f}s")
    return run


def export_entry(entry: Entry, run: Path, *, data_recipe: dict | None) -> dict:
    """Copy the run's generator into the zoo in float16, with quality numbers and samples."""
    from safetensors.torch import load_file, save_file

    from ganscope.generators import image_grid, load_generator, sample_images
    from ganscope.generators.quality import evaluate_generator
    from ganscope.io import save_png, write_json

    src = run / "generator"
    config = json.loads((src / "config.json").read_text())
    config["zoo"] = {
        "name": entry.name,
        "variant": entry.name,
        "spectral_fix": entry.note or None,
        "data": data_recipe,
        "data_kind": entry.data,
        "recipe": "scripts/make_zoo.py: PHOTO_RECIPE (hinge loss, Adam betas 0, 0.9, batch 32) "
        "for the photo entries, the scenes entry's own settings for scenes",
    }
    dest = ZOO / entry.name
    tmp = ZOO / f".{entry.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    state = load_file(str(src / "model.safetensors"))
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_file(half, str(tmp / "model.safetensors"))
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    G, cfg = load_generator(tmp)
    save_png(tmp / "samples.png", image_grid(sample_images(G, list(range(64)))))
    if entry.data == "builtin":
        q = evaluate_generator(G, cfg, real=REAL_TEST, n=500).as_dict()
    else:
        q = _scene_quality(G, run)
    write_json(tmp / "quality.json", q)
    if (src / "paint_units.json").exists():  # GAN Paint's causal units, found for this G
        shutil.copy2(src / "paint_units.json", tmp / "paint_units.json")
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    return q


def _scene_quality(G: torch.nn.Module, run: Path) -> dict:
    from ganscope.dissect.scenes import render_scenes
    from ganscope.generators.quality import quality_report, quality_samples

    test = render_scenes(range(1_000_000, 1_000_500), size=32).images
    train = render_scenes(range(0, SCENES_COUNT), size=32).images
    fake = quality_samples(G, 500, test)
    return quality_report(fake, test, train).as_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "zoo-build")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=8000, help="training steps per generator")
    ap.add_argument("--width", type=int, default=32, help="generator and discriminator width")
    ap.add_argument("--only", nargs="*", help="entry names to build (default: all)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--list", action="store_true", help="print the plan and exit")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    entries = plan(args.steps)
    if args.only:
        unknown = set(args.only) - {e.name for e in entries}
        if unknown:
            print(f"unknown entries: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        entries = [e for e in entries if e.name in args.only]
    for e in entries:
        done = ZOO / e.name / "config.json"
        shipped = done.exists() and json.loads(done.read_text()).get("step") == e.steps
        if args.list:
            print(f"{e.name:28s} {e.family:10s} {e.upsample:12s} {'shipped' if shipped else '-'}")
            continue
        if shipped:
            continue
        run = train_entry(e, args.work, args.device, args.width)
        recipe = {"size": 32, "count": DATA_COUNT, "seed": 0, "split": "train"}
        q = export_entry(e, run, data_recipe=recipe if e.data == "builtin" else None)
        if e.data == "scenes" and not (ZOO / e.name / "paint_units.json").exists():
            # GAN Paint needs the causal units per concept: find them once and ship them.
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "find_paint_units.py"), f"zoo:{e.name}"],
                check=True,
            )
        print(
            f"{e.name}: diversity {q['diversity']:.2f}, near-dup {q['near_duplicates']:.3f}, "
            f"nn ratio {q['nn_ratio']:.2f}, healthy {q['healthy']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
