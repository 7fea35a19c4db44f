"""Throughput of dissection's inner loops against simple references, written to RESULTS-dissect.md.

- IoU: batched ``bmm`` on flattened boolean masks (``ganscope.dissect.iou``) vs a loop over units
  and concepts with ``&``/``|`` counts (the obvious implementation).
- Quantiles: the random pixel reservoir (``ReservoirQuantiles``) fed batch by batch vs keeping all
  upsampled pixels and calling ``torch.quantile`` per unit at the end (exact, but memory grows
  with the sample set).

Run: ``python benchmarks/bench_dissect.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ganscope.dissect.iou import IoUAccumulator
from ganscope.dissect.stats import ReservoirQuantiles


def _time(fn, repeats: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_iou(b: int, u: int, k: int, side: int) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    units = torch.rand(b, u, side, side, generator=g) > 0.99
    concepts = torch.rand(b, k, side, side, generator=g) > 0.8

    def fast() -> None:
        acc = IoUAccumulator(u, k)
        acc.update(units, concepts)
        acc.iou()

    def loop() -> None:
        out = torch.zeros(u, k)
        for i in range(u):
            for j in range(k):
                inter = (units[:, i] & concepts[:, j]).sum()
                union = (units[:, i] | concepts[:, j]).sum()
                out[i, j] = inter / union.clamp(min=1)

    tf, tl = _time(fast), _time(loop, repeats=1)
    return {"fast_s": tf, "loop_s": tl, "speedup": tl / tf, "images_per_s": b / tf}


def bench_quantile(n_batches: int, b: int, u: int, side: int, size: int) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(b, u, side, side, generator=g) for _ in range(n_batches)]

    def reservoir() -> None:
        rq = ReservoirQuantiles(u, size=size)
        for x in batches:
            rq.update(x)
        rq.quantile(0.99)

    def keep_all() -> None:
        allpix = torch.cat([x.permute(1, 0, 2, 3).reshape(u, -1) for x in batches], 1)
        torch.stack([torch.quantile(row, 0.99) for row in allpix])

    tr, ta = _time(reservoir, repeats=2), _time(keep_all, repeats=2)
    mem_all = n_batches * b * u * side * side * 4 / 2**20
    return {
        "reservoir_s": tr,
        "keep_all_s": ta,
        "ratio": ta / tr,
        "reservoir_MiB": size * u * 4 / 2**20,
        "keep_all_MiB": mem_all,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-dissect.md"))
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    iou = bench_iou(16, 128, 11, 64)
    q = bench_quantile(16, 16, 64, 32, 65536)
    lines = [
        "# Dissection benchmarks",
        "",
        f"`python benchmarks/bench_dissect.py` on {torch.get_num_threads()} torch threads, CPU. "
        + (args.note or ""),
        "",
        "| what | ganscope | reference | ratio |",
        "|---|---|---|---|",
        "| pooled IoU, 16 images x 128 units x 11 concepts at 64x64 "
        "(bmm vs loop over unit x concept) "
        f"| {iou['fast_s'] * 1e3:.1f} ms | {iou['loop_s'] * 1e3:.1f} ms "
        f"| {iou['speedup']:.1f}x faster |",
        "| 0.99 quantile of 64 units over 16 batches of 16x32x32 px "
        "(reservoir of 65536 vs keep everything + torch.quantile) "
        f"| {q['reservoir_s'] * 1e3:.1f} ms, {q['reservoir_MiB']:.0f} MiB "
        f"| {q['keep_all_s'] * 1e3:.1f} ms, {q['keep_all_MiB']:.0f} MiB (grows with samples) "
        f"| {q['ratio']:.2f}x |",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
