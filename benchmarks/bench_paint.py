"""GAN Paint: does removing a concept in a box remove it there (and only there), does adding add
it, and how long one edit takes. Written to ``benchmarks/RESULTS-paint.md``.

- Removal, per concept: the first ``--seeds`` samples (seeds from 200000 on, disjoint from the
  unit search's) in which the segmenter finds the concept on at least ``--min-pixels`` pixels. The
  box is a ``S/2 x S/2`` square centred on the concept's pixels, snapped to the feature grid of the
  concept's layer. Reported: the concept's segmented fraction inside the box before and after
  (and the cut, ``1 - after/before`` of the means), the fraction outside the box before and after,
  the mean absolute pixel change outside and inside the box (0-255 grey levels) and the share of
  outside pixels whose segmentation label changed.
- Addition, per concept: ``--seeds`` samples from seed 300000, a box over the lower middle of the
  image; the concept's fraction inside it before and after.
- Latency on ``--threads`` torch threads: the median of interleaved repeats of one plain forward
  pass (the reference), one edit (forward with a brushed mask + PNG), and the full HTTP request
  ``POST /api/edit`` / ``/api/segment`` through Starlette's TestClient (JSON with a S x S mask).

Run: ``python benchmarks/bench_paint.py zoo:scenes`` (or a run folder); add ``--screenshot
docs/paint.png`` to also drive the page in headless Chromium and save a screenshot.

Without a zoo generator, ``--train-scenes RUN`` first makes the development generator these
numbers were measured on (4000 rendered 32x32 scenes, a DCGAN of width 32 and latent 64, hinge
loss, Adam lr 2e-4 with betas (0, 0.9), 2000 steps of 32; resumable; about 15 CPU-minutes) and
its units (``scripts/find_paint_units.py``), then measures it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def _load(path: str | None) -> tuple[float, ...]:
    return os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3


def concept_box(mask: torch.Tensor, size: int, cell: int) -> tuple[int, int, int, int]:
    """A ``size/2`` square centred on the mask's pixels, snapped to ``cell``-pixel cells."""
    ys, xs = mask.nonzero(as_tuple=True)
    half = size // 4
    cy, cx = float(ys.float().mean()) + 0.5, float(xs.float().mean()) + 0.5

    def snap(c: float) -> int:
        lo = round((c - half) / cell) * cell
        return int(min(max(lo, 0), size - 2 * half))

    y0, x0 = snap(cy), snap(cx)
    return (x0, y0, x0 + 2 * half, y0 + 2 * half)


@torch.no_grad()
def removal(painter, concept: str, n_seeds: int, min_pixels: int) -> dict:
    from ganscope.paint import Edit, box_to_mask

    S = painter.size
    labels = list(painter.labeler.labels)
    k = labels.index(concept)
    cu = painter.units.concepts[concept]
    # The feature side of the concept's layer (for snapping boxes to whole cells).
    from ganscope.dissect.hooks import record_layers

    with record_layers(painter.G, [cu.layer]) as feats:
        painter.render(0)
    cell = max(1, S // int(feats[cu.layer].shape[-1]))
    rows = []
    seed = 200_000
    while len(rows) < n_seeds and seed < 200_000 + 100 * n_seeds:
        seeds = list(range(seed, seed + 64))
        seed += 64
        before = painter.render_batch(seeds)
        seg = painter.segment(before)
        for s, img, m in zip(seeds, before, seg, strict=True):
            if len(rows) == n_seeds or int(m[k].sum()) < min_pixels:
                continue
            box = concept_box(m[k], S, cell)
            inside = box_to_mask(box, S)
            after = painter.render(s, [Edit(concept, "remove", inside, 1.0)])
            seg_after = painter.segment(after[None])[0]
            out = 1 - inside
            d = (after - img).abs().mean(0) * 255  # (S, S) grey levels
            rows.append(
                {
                    "in_before": float((m[k] * inside).sum() / inside.sum()),
                    "in_after": float((seg_after[k] * inside).sum() / inside.sum()),
                    "out_before": float((m[k] * out).sum() / out.sum()),
                    "out_after": float((seg_after[k] * out).sum() / out.sum()),
                    "dpix_out": float((d * out).sum() / out.sum()),
                    "dpix_in": float((d * inside).sum() / inside.sum()),
                    "label_changed_out": float(
                        ((m.float().argmax(0) != seg_after.float().argmax(0)) * out).sum()
                        / out.sum()
                    ),
                }
            )
    if not rows:
        return {"concept": concept, "n": 0}
    mean = {key: statistics.fmean(r[key] for r in rows) for key in rows[0]}
    ratio = [r["in_after"] / r["in_before"] for r in rows if r["in_before"] > 0]
    return {
        "concept": concept,
        "layer": cu.layer,
        "units": len(cu.units),
        "n": len(rows),
        **mean,
        "cut": 1 - mean["in_after"] / mean["in_before"] if mean["in_before"] else 0.0,
        "cut_per_seed": 1 - statistics.fmean(ratio) if ratio else 0.0,
    }


@torch.no_grad()
def addition(painter, concept: str, n_seeds: int) -> dict:
    from ganscope.paint import Edit, box_to_mask

    S = painter.size
    k = list(painter.labeler.labels).index(concept)
    box = (S // 4, S * 3 // 8, S * 3 // 4, S * 3 // 4)
    inside = box_to_mask(box, S)
    seeds = list(range(300_000, 300_000 + n_seeds))
    before = painter.segment(painter.render_batch(seeds))[:, k].float()
    after = painter.segment(painter.render_batch(seeds, [Edit(concept, "add", inside, 1.0)]))
    after = after[:, k].float()
    fb = ((before * inside).sum((1, 2)) / inside.sum()).mean()
    fa = ((after * inside).sum((1, 2)) / inside.sum()).mean()
    return {"concept": concept, "box": box, "in_before": float(fb), "in_after": float(fa)}


def latency(painter, repeats: int) -> dict:
    from starlette.testclient import TestClient

    from ganscope.generators import latents_for_seeds
    from ganscope.generators.forward import run_generator
    from ganscope.paint import Edit, create_app, png_bytes

    S = painter.size
    concept = "tree" if "tree" in painter.concepts else painter.concepts[0]
    mask = torch.zeros(S, S)
    mask[S // 4 : S // 2, S // 4 : 3 * S // 4] = 1
    edit = [Edit(concept, "remove", mask, 1.0)]
    body = {
        "seed": 7,
        "edits": [{"concept": concept, "mode": "remove", "mask": mask.int().tolist()}],
    }
    client = TestClient(create_app(painter))
    z = latents_for_seeds([7], painter.latent_dim)

    def plain() -> None:
        with torch.no_grad():
            png_bytes(run_generator(painter.G, z, painter.value_range)[0])

    def one_edit() -> None:
        png_bytes(painter.render(7, edit))

    def api_edit() -> None:
        r = client.post("/api/edit", json=body)
        assert r.status_code == 200

    def api_segment() -> None:
        r = client.post("/api/segment", json=body)
        assert r.status_code == 200

    fns = {"plain": plain, "edit": one_edit, "api_edit": api_edit, "api_segment": api_segment}
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm up
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {
        "median": {k: statistics.median(v) for k, v in times.items()},
        "best": {k: min(v) for k, v in times.items()},
        "p90_api_edit": sorted(times["api_edit"])[int(0.9 * repeats)],
        "concept": concept,
    }


def screenshot(painter, name: str, path: Path) -> None:
    """Drive the page in headless Chromium: remove tree with a stroke, save a screenshot."""
    import shutil
    import socket
    import tempfile
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright

    from ganscope.paint import create_app

    # The seed with the most tree among the first 64 of the removal seeds; stroke through it.
    S = painter.size
    seeds = list(range(200_000, 200_064))
    k_tree = list(painter.labeler.labels).index("tree")
    tree = painter.segment(painter.render_batch(seeds))[:, k_tree]
    i = int(tree.flatten(1).sum(1).argmax())
    seed = seeds[i]
    ys, xs = tree[i].nonzero(as_tuple=True)
    cy, cx = float(ys.float().mean()), float(xs.float().mean())

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(create_app(painter, generator_name=name), port=port, log_level="error")
    )
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    while not srv.started:
        time.sleep(0.05)
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    try:
        with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile,
                executable_path=shutil.which("chromium"),
                headless=True,
                args=args,
                viewport={"width": 1180, "height": 640},
            )
            page = ctx.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            wait = "document.body.dataset.busy === '0' && Number(document.body.dataset.renders)>={}"
            page.fill("#seed", str(seed))
            page.press("#seed", "Enter")
            page.wait_for_function(wait.format(2))
            page.evaluate(
                "(() => { const b = document.getElementById('brush'); b.value = '7';"
                " b.dispatchEvent(new Event('input')); })()"
            )
            box = page.locator("#paint").bounding_box()
            k = box["width"] / S
            y = box["y"] + (cy + 0.5) * k
            page.mouse.move(box["x"] + (cx - 5) * k, y)
            page.mouse.down()
            for dx in (-3, 0, 3, 5):
                page.mouse.move(box["x"] + (cx + dx) * k, y)
            page.mouse.up()
            page.wait_for_function(wait.format(3))
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path))
            ctx.close()
    finally:
        srv.should_exit = True
        th.join(timeout=10)


def train_dev_generator(run: Path, *, steps: int = 2000) -> None:
    """The development scene generator (see module docstring), into ``run`` (resumable)."""
    from ganscope.dissect.scenes import write_scenes
    from ganscope.generators import TrainConfig, train_gan

    done = run / "generator" / "config.json"
    if done.is_file() and json.loads(done.read_text()).get("step", 0) >= steps:
        return  # trained already
    scenes = run.parent / (run.name + "-scenes")
    if not (scenes / "labels.json").is_file():
        write_scenes(scenes, count=4000, seed=0, size=32)
    cfg = TrainConfig(
        data=str(scenes / "images"),
        size=32,
        steps=steps,
        batch_size=32,
        width=32,
        latent_dim=64,
        seed=0,
        sample_every=500,
        loss="hinge",
        lr=2e-4,
        betas=(0.0, 0.9),
    )
    train_gan(cfg, run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("generator", nargs="?", default="zoo:scenes")
    ap.add_argument("--units", default=None, help="paint_units.json (default: beside the weights)")
    ap.add_argument("--concepts", default="tree,grass", help="removal/addition concepts")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--min-pixels", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS-paint.md")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--screenshot", type=Path, default=None)
    ap.add_argument(
        "--train-scenes",
        type=Path,
        default=None,
        metavar="RUN",
        help="train the development generator into RUN and measure it",
    )
    args = ap.parse_args()
    if args.train_scenes is not None:
        import subprocess

        torch.set_num_threads(1)
        train_dev_generator(args.train_scenes)
        if not (args.train_scenes / "generator" / "paint_units.json").is_file():
            script = HERE.parent / "scripts" / "find_paint_units.py"
            subprocess.run([sys.executable, str(script), str(args.train_scenes)], check=True)
        args.generator = str(args.train_scenes)

    from ganscope import progress
    from ganscope.paint import open_painter

    progress.enable(False)
    torch.set_num_threads(args.threads)
    load_before = _load(None)
    session = open_painter(args.generator, units=args.units)
    painter = session.painter
    concepts = [c for c in args.concepts.split(",") if c in painter.concepts]
    t0 = time.perf_counter()
    removed = [removal(painter, c, args.seeds, args.min_pixels) for c in concepts]
    added = [addition(painter, c, args.seeds) for c in concepts]
    lat = latency(painter, args.repeats)
    elapsed = time.perf_counter() - t0
    load_after = _load(None)
    result = {
        "generator": args.generator,
        "size": painter.size,
        "units_source": session.units_source,
        "removal": removed,
        "addition": added,
        "latency_s": lat,
        "threads": args.threads,
        "load_before": load_before,
        "load_after": load_after,
        "seconds": elapsed,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.screenshot:
        screenshot(painter, session.name, args.screenshot)

    S = painter.size
    lines = [
        "# GAN Paint (`ganscope paint`, issue 14)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({args.threads} threads). Load average before the run: "
        + ", ".join(f"{v:.1f}" for v in load_before)
        + f". Generator `{args.generator}` ({S}x{S}); units from `{session.units_source}`. "
        f"Command: `python benchmarks/bench_paint.py {' '.join(sys.argv[1:])}`.",
        "",
        f"### Removing a concept inside a {S // 2}x{S // 2} box ({args.seeds} seeds each)",
        "",
        f"Seeds from 200000 on where the segmenter finds the concept on at least "
        f"{args.min_pixels} pixels; the box is centred on the concept, snapped to its layer's "
        "cells. Fractions are the concept's segmented share of the pixels; pixel changes are mean "
        "absolute differences in 0-255 grey levels.",
        "",
        "| concept | layer, units | inside before | inside after | cut | outside before | "
        "outside after | mean pixel change outside | inside | outside labels changed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in removed:
        if not r["n"]:
            lines.append(f"| {r['concept']} | no seed with the concept | | | | | | | | |")
            continue
        lines.append(
            f"| {r['concept']} | `{r['layer']}`, {r['units']} | {r['in_before']:.3f} | "
            f"{r['in_after']:.3f} | **{100 * r['cut']:.0f}%** | {r['out_before']:.3f} | "
            f"{r['out_after']:.3f} | {r['dpix_out']:.1f} | {r['dpix_in']:.1f} | "
            f"{100 * r['label_changed_out']:.1f}% |"
        )
    box = added[0]["box"] if added else None
    lines += [
        "",
        f"### Adding a concept inside the box {box} (x0, y0, x1, y1; {args.seeds} seeds from "
        "300000)",
        "",
        "| concept | inside before | inside after |",
        "|---|---|---|",
    ]
    lines += [f"| {a['concept']} | {a['in_before']:.3f} | {a['in_after']:.3f} |" for a in added]
    med, best = lat["median"], lat["best"]
    steps = [
        ("plain", "plain forward pass of one seed + PNG (reference)"),
        ("edit", f"one edit: forward with a brushed {lat['concept']} mask + PNG"),
        ("api_edit", f"`POST /api/edit` with a {S}x{S} mask (HTTP, JSON, render, PNG)"),
        ("api_segment", "`POST /api/segment` (HTTP, JSON, render, segmenter)"),
    ]
    lines += [
        "",
        f"### Latency of one edit ({args.threads} torch threads, {args.repeats} interleaved "
        "repeats)",
        "",
        "| step | best ms | median ms | best vs reference |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {label} | {1000 * best[k]:.1f} | {1000 * med[k]:.1f} | {best[k] / best['plain']:.2f}x |"
        for k, label in steps
    ]
    lines += [
        "",
        f"90th percentile of `POST /api/edit`: {1000 * lat['p90_api_edit']:.1f} ms.",
        "",
        "Load average after the run: " + ", ".join(f"{v:.1f}" for v in load_after) + ". "
        "A load above the 2 cores means other work shared the machine: absolute times are then "
        "high and noisy, the ratios matter more.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
