"""A quick probe of the default detector's weakest leave-one-family-out case: train without the
autoencoder family (the content-aligned re-renderings and the zoo's VAEs), optionally with extra
simulated up-sampling pairs, and rank the held-out aligned re-renderings against held-out photos.

    python scripts/lofo_probe.py --work runs/default-detector --extra-simulated 15000

It reads the caches of a finished ``make_default_detector.py`` build in ``--work`` (training items
and test sets, under the key of the current plan) and trains one detector with the build's
settings (a minute or a few on two cores). Printed: ROC-AUC of aligned fakes per upsampler and in
all (64 px) and of a few zoo generators (32 px), each against the held-out photos of that size.
This is how ``Plan.simulated`` was chosen: with the 3000 pairs of a build made with
``simulated=3000`` plus ``--extra-simulated`` 0, 6000 and 15000, the aligned ROC-AUC was 0.68,
0.78 and 0.89.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_default_detector as build

ZOO_PROBES = ("dcgan-nearest", "dcgan-bicubic", "vae-nearest")


def auc(p_real: np.ndarray, p_fake: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.zeros(len(p_real)), np.ones(len(p_fake))]
    return float(roc_auc_score(y, np.r_[p_real, p_fake]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, default=build.ROOT / "runs" / "default-detector")
    ap.add_argument("--extra-simulated", type=int, default=0, help="simulated pairs to add")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from ganscope.detectors import CNNDetector

    plan = build.Plan()
    missing = f"error: no finished build of the current plan in {args.work}"
    if not all((args.work / f"{n}.safetensors").is_file() for n in ("train", "test")):
        print(missing, file=sys.stderr)
        return 2
    photos = build.photos(plan)
    key = build.data_key(plan, photos)
    cached = build.cached_arrays(args.work / "test.safetensors", key)
    if cached is None or build.cached_arrays(args.work / "train.safetensors", key) is None:
        print(missing, file=sys.stderr)
        return 2
    items = build.cached_items(args.work, "train", key, None)
    keep = np.flatnonzero(np.asarray(items.families) != "autoencoder")
    x = build.to_float(np.stack([items.images[i] for i in keep]))
    y = np.asarray(items.labels)[keep]
    if args.extra_simulated:
        rng = np.random.default_rng(7)
        regions, _ = build.real_regions(photos, build.ALIGNED_REGION, args.extra_simulated,
                                        "train", rng)  # fmt: skip
        fakes = build.simulated(regions, seed=77)
        pairs = [np.stack([build.final_crop(a, rng, plan.resize_prob) for a in arr])
                 for arr in (regions, fakes)]  # fmt: skip
        x = torch.cat([x, *(build.to_float(a) for a in pairs)])
        y = np.concatenate([y, np.zeros(len(regions), int), np.ones(len(fakes), int)])
    t0 = time.time()
    det = CNNDetector(
        **build.DETECTOR_SETTINGS,
        target_fpr=plan.target_fpr,
        epochs=plan.epochs,
        patience=plan.patience,
    ).fit(x, y)
    print(f"trained on {len(y)} crops in {time.time() - t0:.0f}s, {len(det.history_)} epochs")
    arrays = {k: np.asarray(v) for k, v in cached[0].items()}
    reals = {s: build.scores(det, np.concatenate([arrays[f"{s}/real/photos"],
                                                   arrays[f"{s}/real/unseen"]]))
             for s in (32, 64)}  # fmt: skip
    aligned = []
    for up in plan.upsamplers:
        p = build.scores(det, arrays[f"64/fake/aligned-{up}"])
        aligned.append(p)
        print(f"aligned-{up} (64 px): ROC-AUC {auc(reals[64], p):.3f}")
    print(f"all aligned (64 px): ROC-AUC {auc(reals[64], np.concatenate(aligned)):.3f}")
    for name in ZOO_PROBES:
        if f"32/fake/{name}" in arrays:
            p = build.scores(det, arrays[f"32/fake/{name}"])
            print(f"{name} (32 px): ROC-AUC {auc(reals[32], p):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
