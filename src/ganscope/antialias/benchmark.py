"""The built-in anti-aliasing benchmark (Zhang, ICML 2019, sec. 4-5, on ganscope's own data).

1. **Classifier.** A :class:`~ganscope.antialias.models.SmallVGG` learns which of the nine
   bundled photographs (:mod:`ganscope.io.builtin`) a 32x32 crop comes from. The anti-aliased
   network is ``antialias(baseline_at_init)``: the same initial weights, the same batches, only
   the max-pools differ. Neither sees shifted training images (no crop augmentation), Zhang's
   "no augmentation" setting, where anti-aliasing matters most. Test images come from the
   photos' held-out region. Reported per seed and over seeds (t-interval of the mean): accuracy
   on centre crops, consistency (two random crops whose corners differ by up to 8 px, and two
   circular shifts of up to 8 px of the centre crop), the mean change of P(class), and the
   per-layer shift-equivariance testbed.
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

from ganscope.antialias.consistency import consistency, resize_consistency, score_images
from ganscope.antialias.convert import antialias
from ganscope.antialias.equivariance import (
    ShiftEquivariance,
    plot_equivariance_heatmaps,
    plot_equivariance_profile,
    shift_equivariance,
)
from ganscope.antialias.models import SmallVGG
from ganscope.errors import GanscopeError
from ganscope.progress import progress_bar

__all__ = [
    "BenchmarkConfig",
    "photo_task",
    "run_benchmark",
    "shift_profile",
    "train_classifier",
]

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
"""Two-sided 95% Student-t quantiles by degrees of freedom (for intervals over seeds)."""


@dataclass
class BenchmarkConfig:
    """Settings of :func:`run_benchmark` (the defaults run in a few minutes on 2 CPU cores).

    Attributes:
        seeds: one classifier pair per seed.
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

    seeds: tuple[int, ...] = (0, 1, 2)
    n_train: int = 1200
    n_test: int = 450
    size: int = 32
    max_shift: int = 8
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    widths: tuple[int, ...] = (16, 32, 64, 64)
    filter_size: int = 4
    equivariance_images: int = 8
    equivariance_grid: int = 16
    detector_images: int = 300
    extra: dict[str, Any] = field(default_factory=dict)


def photo_task(n: int, *, size: int, split: str, seed: int) -> tuple[Tensor, Tensor, list[str]]:
    """Crops of the bundled photos labelled by source photo.

    Returns:
        ``images (n, 3, size, size)`` in [0, 1], ``labels (n,)`` and the class names.
    """
    from ganscope.io.builtin import PHOTOS, iter_builtin

    names = [p.name for p in PHOTOS]
    items = iter_builtin(size=size, count=n, seed=seed, split=split)
    x = torch.stack([torch.from_numpy(a).permute(2, 0, 1) for _, a in items]).float() / 255.0
    y = torch.tensor([names.index(c.photo) for c, _ in items])
    return x, y, names


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
    x_tr, y_tr, classes = photo_task(cfg.n_train, size=crop, split="train", seed=101)
    x_te, y_te, _ = photo_task(cfg.n_test, size=crop, split="test", seed=202)
    x_tr_c, x_te_c = _center(x_tr, cfg.size), _center(x_te, cfg.size)
    per_seed: list[dict[str, Any]] = []
    testbed: dict[str, list[ShiftEquivariance]] = {"baseline": [], "anti-aliased": []}
    for seed in cfg.seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            base = SmallVGG(len(classes), cfg.widths)
        nets = {"baseline": base, "anti-aliased": antialias(base, cfg.filter_size)}
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
                "train_seconds": round(time.perf_counter() - t0, 1),
                "mean_deviation": eq.mean(),
            }
        per_seed.append(row)
    summary: dict[str, Any] = {}
    metrics = ("consistency_circular", "prob_diff_circular")
    for metric in ("accuracy", "consistency", "prob_diff", *metrics):
        b = [r["baseline"][metric] for r in per_seed]
        a = [r["anti-aliased"][metric] for r in per_seed]
        summary[metric] = {
            "baseline": _interval(b),
            "anti-aliased": _interval(a),
            "difference": _interval([ai - bi for ai, bi in zip(a, b, strict=True)]),
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


def run_benchmark(out: str | Path, config: BenchmarkConfig | None = None) -> dict[str, Any]:
    """Run the built-in benchmark and write ``results.json``, ``config.json`` and the figures
    (``equivariance_heatmaps.png``, ``equivariance_profile.png``, ``detector_shifts.png``) to
    ``out``. Returns the results."""
    from ganscope import __version__
    from ganscope.io.writers import write_json

    cfg = config or BenchmarkConfig()
    if not cfg.seeds:
        raise GanscopeError("the benchmark needs at least one seed")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", {**asdict(cfg), "ganscope_version": __version__})
    t0 = time.perf_counter()
    results: dict[str, Any] = {"classifier": _classifier_part(cfg, out)}
    if cfg.detector_images > 0:
        results["detector"] = _detector_part(cfg, out)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["torch_threads"] = torch.get_num_threads()
    write_json(out / "results.json", results)
    return results
