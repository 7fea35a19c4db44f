"""A quick probe of the default detector's leave-one-family-out results: train one detector
without one family (or with every family), with the build's settings or a variant of them, and
print the held-out AP of that family by source and by size.

    python scripts/lofo_probe.py --work runs/default-detector --without autoencoder
    python scripts/lofo_probe.py --without dcgan --extra-simulated 6000 --seeds 0 1
    python scripts/lofo_probe.py --without none --weighting family    # the full model's numbers

It reads the caches of a finished ``make_default_detector.py`` build in ``--work`` (training,
calibration and test sets, under the key of the current plan) and trains in minutes on two
cores, where a full build with its four leave-one-out models takes twenty. Variants:

- ``--extra-simulated N``: N more simulated up-sampling pairs (``Plan.simulated``'s choice),
  with ``--replace-simulated`` instead of the cached ones; ``--sim-post``, ``--sim-down``,
  ``--sim-strength``, ``--sim-stages``, ``--sim-jitter`` and ``--sim-seed`` set how they are
  made (:func:`ganscope.detectors.simulate.simulate_upsampling`);
- ``--weighting family``: every family gets the same weight in the loss (``Plan.weighting``);
- ``--validation calib``: early stopping on the calibration strip instead of a random split;
- ``--antialias``: Zhang (ICML 2019)'s BlurPool before every subsampling of the network;
- ``--set KEY=VALUE ...``: any of the build's detector settings (``jpeg_prob=0.2``);
- ``--seeds``: several trainings, and their mean and spread (single runs vary by 0.05 AP); each
  is an ensemble of ``DETECTOR_SETTINGS["members"]`` networks as in the build (``--set
  members=1`` for one), whose members are also scored alone;
- ``--per-epoch``: also score the weights of every epoch and means of the weights of runs of
  epochs (stochastic weight averaging, Izmailov et al., UAI 2018), each with precise BN and
  recalibrated, from the same training (early stopping off).

Printed per seed, then averaged: AP (balanced draw, chance 0.5) of each held-out source at its
size and of the whole family per size; with ``--without none``, AP per size, fakes caught and
reals called fake at the threshold, and AP after JPEG quality 50.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_default_detector as build

from ganscope.detectors.simulate import DOWNSAMPLINGS, POST_LAYERS

FAMILIES = ("autoencoder", "dcgan", "simulated", "stylegan2", "none")


def extra_simulated(
    photos: list, n: int, plan: build.Plan, seed: int = 7, **options: Any
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    regions, _ = build.real_regions(photos, build.ALIGNED_REGION, n, "train", rng)
    fakes = build.simulated(regions, 11 * seed, plan.simulated_post, **options)
    pairs = [np.stack([build.final_crop(a, rng, plan) for a in arr]) for arr in (regions, fakes)]
    return np.concatenate(pairs), np.r_[np.zeros(n, int), np.ones(n, int)]


def settings_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["jpeg_prob=0.2", "input=rgb"]`` -> ``{"jpeg_prob": 0.2, "input": "rgb"}``: values are
    read as JSON when they parse (numbers, lists), else kept as strings; keys must be
    :class:`~ganscope.detectors.CNNDetector` settings."""
    from ganscope.detectors import CNNDetector

    known = [k for k in inspect.signature(CNNDetector).parameters if k not in ("seed", "weights")]
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in known:
            raise ValueError(
                f"--set takes KEY=VALUE with KEY one of {', '.join(known)}; got {pair!r}"
            )
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
        if isinstance(out[key], list):
            out[key] = tuple(out[key])
    return out


class Ensemble:
    """The mean logit of several fitted CNN detectors, Platt-scaled and thresholded on
    calibration data like one detector of the build."""

    def __init__(self, members: list[Any], x_cal: torch.Tensor, y_cal: np.ndarray, fpr: float):
        from ganscope.metrics.classification import fit_platt, fpr_threshold

        self.members = members
        self.temperature_, self.bias_ = fit_platt(y_cal, self.logits(x_cal))
        p = self.predict_proba(x_cal)[:, 1]
        self.threshold_ = fpr_threshold(p[y_cal == 0], fpr)

    def logits(self, x: torch.Tensor) -> np.ndarray:
        cpu = torch.device("cpu")
        return np.mean([m._logits(m.network_, x, cpu).double().numpy() for m in self.members], 0)

    def predict_proba(self, x: torch.Tensor) -> np.ndarray:
        p = 1 / (1 + np.exp(-(self.logits(x) / self.temperature_ + self.bias_)))
        return np.column_stack([1 - p, p])


class EpochRecorder:
    """Keeps the weights of every epoch of a :class:`~ganscope.detectors.CNNDetector` fit (after
    its precise-BN pass, as validation sees them) and the images that pass used."""

    def __init__(self, det: Any) -> None:
        self.states: list[dict[str, torch.Tensor]] = []
        original = det._precise_batchnorm

        def record(net: torch.nn.Module, x_bn: torch.Tensor, device: torch.device) -> None:
            original(net, x_bn, device)
            self.states.append({k: v.detach().clone() for k, v in net.state_dict().items()})
            self.x_bn = x_bn

        det._precise_batchnorm = record
        self.original = original


def averaged(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of floating-point entries (weights, BN statistics); others from the last."""
    out = {}
    for k, v in states[-1].items():
        out[k] = torch.stack([s[k] for s in states]).mean(0) if v.is_floating_point() else v
    return out


def per_epoch(det: Any, rec: EpochRecorder, x_cal, y_cal, tests, plan, only, without) -> None:
    n = len(rec.states)
    windows = {f"epoch {e}": (e, e) for e in range(1, n + 1)}
    windows |= {f"mean {a}-{n}": (a, n) for a in (1, 2, 3, n // 2 + 1, n - 2) if a < n}
    for name, (a, b) in windows.items():
        det.network_.load_state_dict(averaged(rec.states[a - 1 : b]))
        if a != b:  # the mean of weights needs its own BN statistics
            rec.original(det.network_, rec.x_bn, torch.device("cpu"))
        det.network_.eval()
        det.calibrate_on(x_cal, y_cal)
        res = summary(build.evaluate(det, tests, plan, only=only), without)
        print(f"  {name}: " + " ".join(f"{k}={v:.3f}" for k, v in res.items() if "@" in k))


def summary(res: dict[str, Any], without: str) -> dict[str, float]:
    if without != "none":
        out = {f"{n}@{r['size']}": r["ap"] for n, r in sorted(res["per_source"].items())}
        out |= {f"all@{s}": r["ap"] for s, r in res["per_size"].items()}
        return out
    out = {}
    for s, r in res["per_size"].items():
        out |= {f"AP@{s}": r["ap"], f"caught@{s}": r["fakes_caught"]}
    out |= {f"reals-fake {k}": v for k, v in res["reals"].items() if k.endswith("@32")}
    out |= {f"AP jpeg{q}": r["ap"] for q, r in res["per_jpeg"].items()}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, default=build.ROOT / "runs" / "default-detector")
    ap.add_argument("--without", choices=FAMILIES, default="autoencoder")
    ap.add_argument("--extra-simulated", type=int, default=0, help="simulated pairs to add")
    ap.add_argument(
        "--replace-simulated",
        action="store_true",
        help="drop the cached simulated pairs; --extra-simulated N makes new ones",
    )
    ap.add_argument("--sim-stages", type=int, nargs="+", default=[1], help="2x stages to draw")
    ap.add_argument("--sim-jitter", type=float, default=0.0, help="phase gain jitter")
    ap.add_argument("--sim-post", choices=POST_LAYERS, default="conv")
    ap.add_argument("--sim-seed", type=int, default=7, help="draw of the new simulated pairs")
    ap.add_argument("--sim-strength", type=float, default=1.0, help="post layer's strength")
    ap.add_argument("--sim-down", choices=DOWNSAMPLINGS, default="average")
    ap.add_argument("--weighting", choices=("none", "family"), default="none")
    ap.add_argument("--validation", choices=("split", "calib"), default="split")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--antialias", action="store_true", help="BlurPool before every subsampling")
    ap.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override detector settings, e.g. jpeg_prob=0.2 input=rgb (values read as JSON)",
    )
    ap.add_argument("--per-epoch", action="store_true", help="score every epoch and SWA means")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if args.sim_strength < 0:
        ap.error(f"--sim-strength must be >= 0, got {args.sim_strength}")
    try:
        overrides = settings_overrides(args.set)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    from ganscope.detectors import CNNDetector

    plan = build.Plan()
    photos = build.photos(plan)
    key = build.data_key(plan, photos)
    names = ("train", "calib", "test")
    if not all(build.cached_arrays(args.work / f"{n}.safetensors", key) for n in names):
        print(f"error: no finished build of the current plan in {args.work}", file=sys.stderr)
        return 2
    items = build.cached_items(args.work, "train", key, None)
    x, y, fams = build.without_family(items, args.without)
    if args.replace_simulated:
        keep = fams != "simulated"
        x, y, fams = x[torch.from_numpy(keep)], y[keep], fams[keep]
    if args.extra_simulated:
        options = {"stages": tuple(args.sim_stages), "phase_jitter": args.sim_jitter,
                   "post_layer": args.sim_post, "downsample": args.sim_down,
                   "post_strength": args.sim_strength}  # fmt: skip
        xs, ys = extra_simulated(photos, args.extra_simulated, plan, args.sim_seed, **options)
        x, y = torch.cat([x, build.to_float(xs)]), np.r_[y, ys]
        fams = np.r_[fams, np.full(len(ys), "simulated")]
    calib = build.cached_items(args.work, "calib", key, None)
    x_cal, y_cal, _ = build.without_family(calib, args.without)
    tests = build.test_sets(args.work, plan, photos, {}, key)
    only = None if args.without == "none" else build.family_sources(args.without, tests, plan)
    eval_plan = plan if args.without == "none" else replace(plan, jpeg_qualities=())
    rows, members = [], []
    for seed in args.seeds:
        t0 = time.time()
        settings = {
            **build.DETECTOR_SETTINGS,
            "target_fpr": plan.target_fpr,
            "epochs": plan.epochs,
            "patience": plan.patience,
            "antialias": args.antialias,
            **overrides,
        }
        if args.per_epoch:  # the weights of one network's epochs
            settings["patience"], settings["members"] = settings["epochs"], 1
        det = CNNDetector(**{**settings, "seed": seed})
        rec = EpochRecorder(det) if args.per_epoch else None
        det.fit(
            x,
            y,
            sample_weight=build.family_weights(fams) if args.weighting == "family" else None,
            validation=(x_cal, y_cal) if args.validation == "calib" else None,
        )
        det.calibrate_on(x_cal, y_cal)
        members.append(det)
        rows.append(summary(build.evaluate(det, tests, eval_plan, only=only), args.without))
        print(
            f"seed {seed}: {len(y)} crops, {time.time() - t0:.0f}s, kept epoch "
            f"{det.best_epoch_} of {len(det.history_)}, threshold {det.threshold_:.3f}"
        )
        for k, v in rows[-1].items():
            print(f"  {k}: {v:.3f}")
        for i, one in enumerate(build.member_views(det, x_cal, y_cal)):
            res = summary(build.evaluate(one, tests, eval_plan, only=only), args.without)
            print(f"  member {i} alone: " + " ".join(f"{k}={v:.3f}" for k, v in res.items()))
        if rec is not None:
            per_epoch(det, rec, x_cal, y_cal, tests, eval_plan, only, args.without)
    if len(rows) > 1:
        print(f"mean (spread) over seeds {args.seeds}:")
        for k in rows[0]:
            v = np.array([r[k] for r in rows])
            print(f"  {k}: {v.mean():.3f} ({v.min():.3f}-{v.max():.3f})")
        ens = Ensemble(members, x_cal, y_cal, plan.target_fpr)
        print(f"ensemble of the {len(members)} (mean logit), threshold {ens.threshold_:.3f}:")
        for k, v in summary(build.evaluate(ens, tests, eval_plan, only=only), args.without).items():
            print(f"  {k}: {v:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
