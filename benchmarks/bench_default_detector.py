"""Throughput of ``ganscope detect`` with the shipped default detector (issue 11), which scores
every pixel of an image as the mean logit of 32x32 tiles, on JPEG files of 64, 256 and 1024 px.

Measured per size (images per second, best of ``--repeats``), in the same run:

- ``detect``: the streamed pipeline :func:`ganscope.detectors.iter_predictions` (what
  ``ganscope detect`` runs: decoding threads feed batches of one size to the model);
- ``per-image``: the simple reference: ``load_image`` then ``predict_proba`` one file at a time;
- ``tiles/s``: 32x32 tiles scored per second by ``detect``.

Run by hand:  python benchmarks/bench_default_detector.py [--repeats 3]
Writes benchmarks/RESULTS-default-detector.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganscope.detectors import iter_predictions, load_detector
from ganscope.detectors.persistence import default_model_path
from ganscope.detectors.tiles import tile_count
from ganscope.io import list_images, load_image

SIZES = ((64, 256), (256, 48), (1024, 6))


def photo_like(size: int, seed: int) -> np.ndarray:
    """A smooth random image (a blurred noise field), uint8 ``(size, size, 3)``."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, size // 8), max(2, size // 8), 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((size, size), Image.BICUBIC)
    noise = rng.normal(0, 4, (size, size, 3))
    return np.clip(np.asarray(img, np.float64) + noise, 0, 255).astype(np.uint8)


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("RESULTS-default-detector.md")
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    det = load_detector(default_model_path(), device="cpu")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, n in SIZES:
            folder = Path(tmp) / f"s{size}"
            folder.mkdir()
            for i in range(n):
                Image.fromarray(photo_like(size, i)).save(folder / f"{i:04d}.jpg", quality=90)
            files = list_images(folder)

            def detect(files=files):
                for _ in iter_predictions(det, files, batch_size=64):
                    pass

            def per_image(files=files):
                for f in files:
                    det.predict_proba(load_image(f)[None])

            r = {
                "detect": n / best(detect, args.repeats),
                "per-image": n / best(per_image, max(1, args.repeats - 1)),
            }
            tiles = tile_count(size, size, det.crop_) if det.eval_crop == "tiles" else 1
            rows.append((size, n, tiles, r))
            print(size, n, {k: round(v, 2) for k, v in r.items()}, flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# `ganscope detect` with the default detector (tiled scoring)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, 2 cores, torch "
        f"{torch.__version__}, CPU only, {args.threads} torch threads. Load average at the end of "
        f"the run: {load:.1f}"
        + (
            " (the machine was shared with other work: absolute figures are low and noisy, the "
            "ratios hold better)."
            if load > 2.0
            else " (an otherwise idle machine)."
        ),
        "",
        f"The default detector (`{det.get_params()['arch']}` on NPR residuals, "
        f"eval_crop `{det.eval_crop}`) scores every pixel: an image of n x n px is "
        f"(n/{det.crop_})^2 tiles. JPEG files (quality 90). *detect*: the streamed pipeline "
        "`ganscope detect` runs; *per-image*: `load_image` + `predict_proba` one file at a time. "
        "Speed-up = detect / per-image.",
        "",
        "| size | images | tiles per image | detect images/s | detect tiles/s | per-image images/s "
        "| speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, n, tiles, r in rows:
        lines.append(
            f"| {size}x{size} | {n} | {tiles} | {r['detect']:.1f} | {r['detect'] * tiles:.0f} | "
            f"{r['per-image']:.1f} | {r['detect'] / r['per-image']:.1f}x |"
        )
    lines += [
        "",
        f"Command: `python benchmarks/bench_default_detector.py --repeats {args.repeats}`.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
