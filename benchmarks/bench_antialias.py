"""What anti-aliasing costs, and what the shift-equivariance testbed costs, as ratios measured in
the same run: forward throughput of anti-aliased networks (``antialias(model)``, Zhang 2019)
against their baselines, and testbed throughput against plain forward passes of the same images.

Run by hand:  python benchmarks/bench_antialias.py [--rounds 5] [--benchmark DIR]
(``--benchmark DIR``: also tabulate the training times of a ``ganscope antialias benchmark --out
DIR`` run.) Writes benchmarks/RESULTS-antialias.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ganscope.antialias import antialias, shift_equivariance
from ganscope.antialias.models import SmallVGG
from ganscope.detectors import resnet50, resnet_small

HERE = Path(__file__).parent


def best_rate(fns: dict[str, tuple[int, Callable[[], object]]], rounds: int) -> dict[str, float]:
    """Items/s of each function, best of ``rounds`` rounds run interleaved (same machine load)."""
    rates = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, (n, fn) in fns.items():
            t = time.perf_counter()
            fn()
            rates[name] = max(rates[name], n / (time.perf_counter() - t))
    return rates


@torch.no_grad()
def bench_forward(rounds: int, lines: list[str]) -> None:
    torch.manual_seed(0)
    nets: dict[str, tuple[nn.Module, torch.Tensor]] = {
        "SmallVGG (4 max-pools), 32x32, batch 64": (SmallVGG(9).eval(), torch.rand(64, 3, 32, 32)),
        "resnet-small (detector), 32x32, batch 64": (
            resnet_small().eval(),
            torch.rand(64, 3, 32, 32),
        ),
        "ResNet-50 (torchvision layout), 64x64, batch 8": (
            resnet50().eval(),
            torch.rand(8, 3, 64, 64),
        ),
    }
    fns: dict[str, tuple[int, Callable[[], object]]] = {}
    for label, (net, x) in nets.items():
        aa = antialias(net, 4).eval()
        net(x), aa(x)  # warm-up
        fns[f"{label}|base"] = (x.shape[0], lambda net=net, x=x: net(x))
        fns[f"{label}|aa"] = (x.shape[0], lambda aa=aa, x=x: aa(x))
    rates = best_rate(fns, rounds)
    lines += [
        f"### Forward throughput, anti-aliased (filter 4) vs baseline (best of {rounds} "
        "interleaved rounds)",
        "",
        "| network | baseline images/s | anti-aliased images/s | anti-aliased / baseline |",
        "|---|---:|---:|---:|",
    ]
    for label in nets:
        b, a = rates[f"{label}|base"], rates[f"{label}|aa"]
        lines.append(f"| {label} | {b:,.0f} | {a:,.0f} | {a / b:.2f} |")
    lines += [
        "",
        "The dense max (stride 1) and the blur run at the resolution before subsampling; in "
        "ResNets the strided conv runs at full resolution too (Zhang 2019 counts this cost).",
        "",
    ]


@torch.no_grad()
def bench_testbed(rounds: int, lines: list[str]) -> None:
    torch.manual_seed(1)
    net = antialias(SmallVGG(9), 4).eval()
    x = torch.rand(8, 3, 32, 32)
    shifts = [(dh, dw) for dh in range(8) for dw in range(8)]
    layers = net.stage_names() if hasattr(net, "stage_names") else None
    big = x.repeat(len(shifts), 1, 1, 1)
    n = x.shape[0] * len(shifts)
    rates = best_rate(
        {
            "forward": (n, lambda: [net(c) for c in big.split(128)]),
            "testbed": (
                n,
                lambda: shift_equivariance(net, x, layers=layers, shifts=shifts, batch_size=128),
            ),
        },
        rounds,
    )
    lines += [
        f"### Testbed throughput: `shift_equivariance` vs plain forward passes ({len(shifts)} "
        f"shifts x {x.shape[0]} images of 32x32, anti-aliased SmallVGG, batches of 128)",
        "",
        "| what | shifted images/s | vs forward |",
        "|---|---:|---:|",
        f"| plain forward of the shifted images | {rates['forward']:,.0f} | 1.00 |",
        f"| testbed (circular-padding copy, hooks on 10 layers, Fourier shifts, distances) | "
        f"{rates['testbed']:,.0f} | {rates['testbed'] / rates['forward']:.2f} |",
        "",
    ]


def bench_training(folder: Path, lines: list[str]) -> None:
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    rows = results["classifier"]["per_seed"]
    lines += [
        f"### Training time in `ganscope antialias benchmark` ({folder.name}: "
        f"{results['seconds']:.0f} s in all, {results.get('torch_threads', '?')} torch thread(s))",
        "",
        "Seconds per classifier: training (the same batches for both networks), then its tests "
        "(consistency, accuracy, the per-layer testbed). Both networks pad circularly.",
        "",
        "| seed | baseline train s | anti-aliased train s | ratio | baseline test s | "
        "anti-aliased test s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        b, a = r["baseline"], r["anti-aliased"]
        ratio = a["train_seconds"] / b["train_seconds"]
        lines.append(
            f"| {r['seed']} | {b['train_seconds']:.0f} | {a['train_seconds']:.0f} | {ratio:.2f} | "
            f"{b['test_seconds']:.0f} | {a['test_seconds']:.0f} |"
        )
    lines.append("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--benchmark", type=Path, default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()
    lines = [
        "## Anti-aliasing (`ganscope.antialias`, issue 15)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads). Load average before the run: "
        + ", ".join(f"{v:.1f}" for v in load_before)
        + ".",
        "",
    ]
    bench_forward(args.rounds, lines)
    bench_testbed(args.rounds, lines)
    if args.benchmark is not None:
        bench_training(args.benchmark, lines)
    load_after = os.getloadavg()
    lines.append(
        "Load average after the run: "
        + ", ".join(f"{v:.1f}" for v in load_after)
        + ". A load above the 2 cores means other work shared the machine: absolute figures are "
        "then low and noisy, the ratios (measured in the same run) matter more."
    )
    (HERE / "RESULTS-antialias.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
