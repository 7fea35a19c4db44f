"""The built-in anti-aliasing benchmark (Zhang, ICML 2019, sec. 4-5, on ganscope's own data).

1. **Classifier.** A :class:`~ganscope.antialias.models.SmallVGG` learns which of eight bundled
   photographs (:mod:`ganscope.io.builtin`) a 32x32 crop comes from. ``motorcycle_right`` is left
   out by default: it is the stereo twin of ``motorcycle_left`` (the same scene from a nearby
   viewpoint), so their crops are one class under two labels, and the uncertainty this adds
   swamps what aliasing does to decisions. The anti-aliased network is
   ``antialias(baseline_at_init)``: the same initial weights, the same batches, only the
   max-pools differ. Neither sees shifted copies of a training image (no shift augmentation),
   Zhang's setting where anti-aliasing matters most. Both networks pad circularly (as the
   testbed evaluates them), so a circular shift of the input changes nothing but the phase of
   each subsampling: consistency under circular shifts measures aliasing alone, while two crops
   whose corners differ (Zhang's ImageNet test) also bring new content in at the borders. Test
   images come from the photos' held-out region. Reported per seed and over seeds (the seeds pair
   the networks: a paired t-interval of the per-seed differences): accuracy on centre crops, both
   consistencies, the mean change of P(class), and the per-layer shift-equivariance testbed.
2. **Detector.** The default detector (:func:`ganscope.detectors.default_model_path`, loaded
   through the library) and ``antialias`` of its network, as shipped (no fine-tuning: ganscope
   ships no fakes to fine-tune on). On held-out real photos: decision agreement and change of
   P(fake) under 1..8 px shifts and under resizing.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganscope import __version__
from ganscope.antialias.consistency import consistency, resize_consistency, score_images
from ganscope.antialias.convert import antialias
from ganscope.antialias.equivariance import (
    ShiftEquivariance,
    circular_padding,
    plot_equivariance_heatmaps,
    plot_equivariance_profile,
    shift_equivariance,
)
from ganscope.antialias.models import SmallVGG
from ganscope.errors import GanscopeError
from ganscope.io.builtin import PHOTOS, plan_crops
from ganscope.io.locks import locks_output
from ganscope.io.writers import write_json
from ganscope.progress import progress_bar

__all__ = [
    "BenchmarkConfig",
    "benchmark_summary",
    "photo_task",
    "plot_seeds",
    "run_benchmark",
    "shift_profile",
    "train_classifier",
]

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
"""Two-sided 95% Student-t quantiles by degrees of freedom (for intervals over seeds)."""

SUMMARY_METRICS = {
    "accuracy": "accuracy",
    "consistency_circular": "consistency, circular shifts",
    "consistency": "consistency, crops",
}
"""The metrics ``ganscope antialias benchmark`` prints, and their names."""


@dataclass
class BenchmarkConfig:
    """Settings of :func:`run_benchmark` (the defaults run in a few minutes on 2 CPU cores).

    Attributes:
        seeds: one classifier pair per seed (the seed fixes the initial weights, shared by the
            pair, and the order of the batches).
        exclude: bundled photos left out of the task (default: ``motorcycle_right``, the stereo
            twin of ``motorcycle_left``).
        circular: both networks pad circularly, so circular shifts test aliasing alone.
        n_train, n_test: crops per split (photos drawn uniformly, so classes are ~balanced).
        size: side the networks see; crops are cut at ``size + max_shift``.
        max_shift: largest shift of the consistency test, in pixels.
        epochs, batch_size, lr: Adam training of the classifiers.
        widths: SmallVGG stage widths.
        filter_size: BlurPool taps (Zhang's released models use 4).
        equivariance_images: test images of the per-layer testbed.
        equivariance_grid: the testbed's shifts are ``range(grid) x range(grid)`` (16 shows the
            periods 2, 4, 8, 16 of the four pools).
        detector_images: held-out real photos for the detector part (0 skips it).
    """

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    exclude: tuple[str, ...] = ("motorcycle_right",)
    circular: bool = True
    n_train: int = 1200
    n_test: int = 450
    size: int = 32
    max_shift: int = 8
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    widths: tuple[int, ...] = (16, 32, 64, 64)
    filter_size: int = 4
    equivariance_images: int = 8
    equivariance_grid: int = 16
    detector_images: int = 300
    extra: dict[str, Any] = field(default_factory=dict)


def photo_task(
    n: int, *, size: int, split: str, seed: int, exclude: Sequence[str] = ()
) -> tuple[Tensor, Tensor, list[str]]:
    """Crops of the bundled photos (all but ``exclude``) labelled by source photo.

    Returns:
        ``images (n, 3, size, size)`` in [0, 1], ``labels (n,)`` and the class names.
    """
    from PIL import Image

    unknown = set(exclude) - {p.name for p in PHOTOS}
    if unknown:
        raise GanscopeError(f"unknown photo(s) to exclude: {', '.join(sorted(unknown))}")
    photos = tuple(p for p in PHOTOS if p.name not in exclude)
    if len(photos) < 2:
        raise GanscopeError("the photo task needs at least two photos")
    names = [p.name for p in photos]
    arrays: dict[str, np.ndarray] = {}
    for p in photos:
        with Image.open(p.path) as img:
            arrays[p.name] = np.asarray(img.convert("RGB"))
    crops = plan_crops(size=size, count=n, seed=seed, split=split, photos=photos)
    x = torch.stack(
        [
            torch.from_numpy(
                np.ascontiguousarray(arrays[c.photo][c.top : c.top + size, c.left : c.left + size])
            ).permute(2, 0, 1)
            for c in crops
        ]
    )
    y = torch.tensor([names.index(c.photo) for c in crops])
    return x.float() / 255.0, y, names


def _center(x: Tensor, side: int) -> Tensor:
    top, left = (x.shape[-2] - side) // 2, (x.shape[-1] - side) // 2
    return x[..., top : top + side, left : left + side]


def train_classifier(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    label: str = "train",
) -> nn.Module:
    """Adam on cross-entropy, batches in the order drawn from ``seed``; returns ``model`` in eval
    mode. The same seed gives two models the same batches (a paired comparison)."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    model.train()
    steps = math.ceil(x.shape[0] / batch_size)
    with progress_bar(epochs * steps, label) as bar:
        for _ in range(epochs):
            order = torch.randperm(x.shape[0], generator=gen)
            for i in range(0, x.shape[0], batch_size):
                idx = order[i : i + batch_size]
                if idx.numel() < 2:
                    continue
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                bar.advance(1)
            sched.step()
    return model.eval()


def shift_profile(
    model: Any, images: Tensor, shifts: Sequence[int] = tuple(range(1, 9)), *, side: int
) -> dict[str, list[float]]:
    """Decision agreement and mean change of P (P(fake), or P of the decided class) between the
    crop at the corner and the crop moved by ``d`` pixels (right and down, averaged), per ``d``.
    """
    ref = score_images(model, images[..., :side, :side])
    col = np.ones_like(ref.decisions) if ref.binary else ref.decisions
    rows = np.arange(len(col))
    agree, diff = [], []
    for d in shifts:
        a_d, p_d = [], []
        for view in (images[..., d : d + side, :side], images[..., :side, d : d + side]):
            s = score_images(model, view)
            a_d.append(float((s.decisions == ref.decisions).mean()))
            p_d.append(float(np.abs(s.probs[rows, col] - ref.probs[rows, col]).mean()))
        agree.append(float(np.mean(a_d)))
        diff.append(float(np.mean(p_d)))
    return {"shift": [int(d) for d in shifts], "agreement": agree, "prob_diff": diff}


def _interval(values: Sequence[float]) -> dict[str, Any]:
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    if v.size < 2:
        return {"mean": mean, "ci": [mean, mean], "values": v.tolist()}
    half = T_975.get(v.size - 1, 1.96) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return {"mean": mean, "ci": [mean - half, mean + half], "values": v.tolist()}


def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    return float((score_images(model, x).decisions == y.numpy()).mean())


def _classifier_part(cfg: BenchmarkConfig, out: Path) -> dict[str, Any]:
    crop = cfg.size + cfg.max_shift
    kw = {"size": crop, "exclude": cfg.exclude}
    x_tr, y_tr, classes = photo_task(cfg.n_train, split="train", seed=101, **kw)
    x_te, y_te, _ = photo_task(cfg.n_test, split="test", seed=202, **kw)
    x_tr_c, x_te_c = _center(x_tr, cfg.size), _center(x_te, cfg.size)
    per_seed: list[dict[str, Any]] = []
    testbed: dict[str, list[ShiftEquivariance]] = {"baseline": [], "anti-aliased": []}
    for seed in cfg.seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            base = SmallVGG(len(classes), cfg.widths)
        nets = {"baseline": base, "anti-aliased": antialias(base, cfg.filter_size)}
        if cfg.circular:
            nets = {label: circular_padding(net) for label, net in nets.items()}
        row: dict[str, Any] = {"seed": seed}
        for label, net in nets.items():
            t0 = time.perf_counter()
            train_classifier(
                net,
                x_tr_c,
                y_tr,
                epochs=cfg.epochs,
                batch_size=cfg.batch_size,
                lr=cfg.lr,
                seed=seed,
                label=f"{label} seed {seed}",
            )
            t1 = time.perf_counter()
            c = consistency(net, x_te, cfg.max_shift, pairs=5, seed=seed)
            # Pure shifts: the same content, rolled (Zhang's testbed); crops above also bring new
            # content in at the borders.
            c_roll = consistency(net, x_te_c, cfg.max_shift, pairs=5, mode="circular", seed=seed)
            eq = shift_equivariance(
                net,
                x_te_c[: cfg.equivariance_images],
                layers=base.stage_names(),
                max_shift=cfg.equivariance_grid,
                batch_size=128,
            )
            testbed[label].append(eq)
            row[label] = {
                "accuracy": _accuracy(net, x_te_c, y_te),
                "consistency": c.agreement,
                "consistency_ci": list(c.agreement_ci),
                "prob_diff": c.prob_diff,
                "consistency_circular": c_roll.agreement,
                "consistency_circular_ci": list(c_roll.agreement_ci),
                "prob_diff_circular": c_roll.prob_diff,
                "train_seconds": round(t1 - t0, 1),
                "test_seconds": round(time.perf_counter() - t1, 1),
                "mean_deviation": eq.mean(),
            }
        per_seed.append(row)
    summary: dict[str, Any] = {}
    metrics = ("consistency_circular", "prob_diff_circular")
    for metric in ("accuracy", "consistency", "prob_diff", *metrics):
        b = [r["baseline"][metric] for r in per_seed]
        a = [r["anti-aliased"][metric] for r in per_seed]
        diff = [ai - bi for ai, bi in zip(a, b, strict=True)]
        better = [d < 0 if metric.startswith("prob_diff") else d > 0 for d in diff]
        summary[metric] = {
            "baseline": _interval(b),
            "anti-aliased": _interval(a),
            "difference": _interval(diff),  # paired: the seeds pair the networks
            "seeds_ahead": int(sum(better)),  # seeds where the anti-aliased network is better
        }
    layers = testbed["baseline"][0].layers
    deviation = {
        label: {n: _interval([r.mean()[n] for r in rs]) for n in layers}
        for label, rs in testbed.items()
    }
    first = {label: rs[0] for label, rs in testbed.items()}
    plot_equivariance_heatmaps(
        first,
        out / "equivariance_heatmaps.png",
        title=f"SmallVGG on the photo task (seed {cfg.seeds[0]}): deviation from "
        "shift-equivariance per layer over shifts Δh, Δw (dark = equivariant); below: mean",
    )
    plot_equivariance_profile(
        first,
        out / "equivariance_profile.png",
        title=f"Mean deviation from shift-equivariance per layer (seed {cfg.seeds[0]})",
    )
    return {
        "task": {
            "classes": classes,
            "excluded": list(cfg.exclude),
            "padding": "circular" if cfg.circular else "zeros",
            "n_train": int(x_tr.shape[0]),
            "n_test": int(x_te.shape[0]),
            "size": cfg.size,
            "crop": crop,
        },
        "per_seed": per_seed,
        "summary": summary,
        "equivariance_mean_deviation": deviation,
        "equivariance_seed0": {k: v.to_dict() for k, v in first.items()},
    }


def _detector_part(cfg: BenchmarkConfig, out: Path) -> dict[str, Any]:
    from ganscope.detectors import default_model_path, load_detector

    det = load_detector(default_model_path(), device="cpu")
    network = getattr(det, "network_", None)
    if not isinstance(network, nn.Module):
        raise GanscopeError("the default detector has no network to anti-alias")
    side = int(getattr(det, "crop_", cfg.size))
    aa_det = copy.deepcopy(det)
    aa_det.network_ = antialias(network, cfg.filter_size).eval()
    x, _, _ = photo_task(cfg.detector_images, size=side + cfg.max_shift, split="test", seed=303)
    models = {"baseline": det, "anti-aliased (no fine-tuning)": aa_det}
    result: dict[str, Any] = {
        "detector": str(default_model_path()),
        "images": f"{x.shape[0]} held-out real photo crops of {x.shape[-1]}px (test region)",
        "threshold": float(getattr(det, "threshold_", 0.5)),
    }
    for label, m in models.items():
        c = consistency(m, x, cfg.max_shift, pairs=5, seed=0)
        scales = [f for f in (0.8, 0.9, 1.1, 1.25) if round(x.shape[-1] * f) >= side]
        r = resize_consistency(m, x, scales=scales, crop=side)
        s = score_images(m, _center(x, side))
        result[label] = {
            "consistency": c.to_dict(),
            "shift_profile": shift_profile(m, x, range(1, cfg.max_shift + 1), side=side),
            "resize": r.to_dict(),
            "real_accuracy": float((s.decisions == 0).mean()),
            "mean_prob_fake": float(s.probs[:, 1].mean()),
        }
    _plot_detector(result, list(models), out / "detector_shifts.png")
    return result


def _plot_detector(result: dict[str, Any], labels: list[str], path: Path) -> None:
    from matplotlib.figure import Figure

    from ganscope.report.spectra import save_figure

    fig = Figure(figsize=(8.4, 3.0), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for label in labels:
        prof = result[label]["shift_profile"]
        ax1.plot(prof["shift"], prof["prob_diff"], marker="o", label=label)
        ax2.plot(prof["shift"], prof["agreement"], marker="o", label=label)
    ax1.set_xlabel("shift (px)")
    ax1.set_ylabel("mean |ΔP(fake)|")
    ax1.set_ylim(bottom=0)
    ax2.set_xlabel("shift (px)")
    ax2.set_ylabel("decision agreement")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    fig.suptitle("Default detector on held-out real photos: score change under shifts", fontsize=9)
    save_figure(fig, path)


def plot_seeds(classifier: dict[str, Any], path: Path) -> None:
    """Per-seed accuracy and consistencies of the two networks, a line per seed (the pairs), with
    the paired difference and its 95% interval in each panel's title."""
    from matplotlib.figure import Figure

    from ganscope.report.spectra import save_figure

    panels = {
        "accuracy": "accuracy (centre crops)",
        **{k: v for k, v in SUMMARY_METRICS.items() if k != "accuracy"},
    }
    fig = Figure(figsize=(3.0 * len(panels), 3.2), layout="constrained")
    labels = ("baseline", "anti-aliased")
    for ax, (metric, name) in zip(fig.subplots(1, len(panels)), panels.items(), strict=True):
        for row in classifier["per_seed"]:
            ax.plot([0, 1], [row[lb][metric] for lb in labels], marker="o", color="0.4", lw=1)
        d = classifier["summary"][metric]["difference"]
        ax.set_title(
            f"{name}\nΔ {d['mean']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]", fontsize=8
        )
        ax.set_xticks([0, 1], labels, fontsize=8)
        ax.set_xlim(-0.3, 1.3)
        ax.grid(alpha=0.3)
    n = len(classifier["per_seed"])
    fig.suptitle(
        f"SmallVGG on the photo task: {n} seeds, each line one pair (same initial "
        "weights, same batches); Δ: mean paired difference, 95% t-interval",
        fontsize=8,
    )
    save_figure(fig, path)


@locks_output
def run_benchmark(out: str | Path, config: BenchmarkConfig | None = None) -> dict[str, Any]:
    """Run the built-in benchmark and write ``results.json``, ``config.json`` and the figures
    (``equivariance_heatmaps.png``, ``equivariance_profile.png``, ``consistency_seeds.png``,
    ``detector_shifts.png``) to
    ``out``. Returns the results."""

    cfg = config or BenchmarkConfig()
    if not cfg.seeds:
        raise GanscopeError("the benchmark needs at least one seed")
    if cfg.epochs < 1:
        raise GanscopeError(f"--epochs must be at least 1, not {cfg.epochs}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", {**asdict(cfg), "ganscope_version": __version__})
    t0 = time.perf_counter()
    results: dict[str, Any] = {"classifier": _classifier_part(cfg, out)}
    plot_seeds(results["classifier"], out / "consistency_seeds.png")
    if cfg.detector_images > 0:
        results["detector"] = _detector_part(cfg, out)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["torch_threads"] = torch.get_num_threads()
    write_json(out / "results.json", results)
    return results


def benchmark_summary(results: dict[str, Any]) -> str:
    """What ``ganscope antialias benchmark`` prints: per metric, both means and the paired
    difference with its 95% t-interval over seeds."""
    s = results["classifier"]["summary"]
    lines = []
    for metric, name in SUMMARY_METRICS.items():
        b, a, d = s[metric]["baseline"], s[metric]["anti-aliased"], s[metric]["difference"]
        lines.append(
            f"{name}: baseline {b['mean']:.3f}, anti-aliased {a['mean']:.3f}, difference "
            f"{d['mean']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}] "
            f"({s[metric]['seeds_ahead']} of {len(d['values'])} seeds ahead)"
        )
    return "\n".join(lines)
