"""The scenes demo, end to end: render scenes, train a GAN on them, dissect it, remove trees.

1. Render the scene world (:mod:`ganscope.dissect.scenes`) and train a DCGAN on it
   (:func:`ganscope.generators.train_gan`; resumable, so a second call continues).
2. Dissect every block of the generator against the shipped scene segmenter and count the units
   per concept and layer (the paper's "comparing layers").
3. For trees: rank units by IoU, optimise causal weights (:mod:`ganscope.dissect.causal`), and
   measure the effect of ablating 1, 2, 5, 10, 20 units; save before/after grids that remove
   trees from the samples with the most trees, and insert doors/trees in a box.
4. Artifact units of the last block (:mod:`ganscope.dissect.artifacts`): ablate them and measure
   spectral distance and SWD to the rendered scenes.
5. ``report.html`` (self-contained, built with :mod:`ganscope.report.html`), ``results.json``
   and ``figures/*.png`` in ``out``.

``ganscope scenes-demo`` calls :func:`run_scenes_demo` with a :class:`ScenesDemoSettings` (one
field per option) and prints :func:`demo_summary`; each stage logs one line and shows its own
progress bar (:mod:`ganscope.progress`).

Time budget on the shared 2-core CPU this was built on (other jobs running): rendering 4000
scenes 80 s; training the default GAN (32x32, width 16, 1500 steps of 32) 30 min (about 10 min
when the machine is otherwise idle); dissection, causal search, curves and artifact units 2 min.
The segmenter is shipped (:mod:`ganscope.dissect.segmenter`), so it is not trained here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganscope import __version__
from ganscope.dissect.artifacts import artifact_ablation, find_artifact_units
from ganscope.dissect.causal import causal_unit_search, effect_curve
from ganscope.dissect.concepts import concept_masks
from ganscope.dissect.dissection import dissect
from ganscope.dissect.hooks import feature_layers
from ganscope.dissect.intervention import Intervention, generate
from ganscope.dissect.report import write_report
from ganscope.dissect.scenes import render_scenes, write_scenes
from ganscope.dissect.segmenter import scene_labeler
from ganscope.errors import GanscopeError
from ganscope.generators import TrainConfig, image_grid, load_generator, train_gan
from ganscope.generators.forward import OUTPUT_RANGE
from ganscope.io import atomic_path, save_png, write_json
from ganscope.io.locks import locks_output

log = logging.getLogger("ganscope")

__all__ = ["ScenesDemoSettings", "demo_summary", "run_scenes_demo"]

# Each stage draws its samples from its own seed range, so no two stages share a sample.
_CAUSAL_SEARCH_SEEDS = 50_000
_EFFECT_CURVE_SEEDS = 100_000
_SHOWN_POOL_SEEDS = 200_000
_REAL_SCENE_SEEDS = 300_000
_ARTIFACT_ABLATION_SEEDS = 400_000


@dataclass(frozen=True)
class ScenesDemoSettings:
    """Settings of :func:`run_scenes_demo` (``ganscope scenes-demo``).

    The defaults (a 32x32 DCGAN of width 16, 1500 steps of 32 images) fit the time budget of a
    shared 2-core CPU; ``size=64``, ``width=32``, more steps give better scenes on a GPU.

    Attributes:
        size: scene and GAN image size (32 or 64).
        scenes: rendered training scenes.
        steps: GAN training steps (resumable).
        samples: samples per dissection.
        width: generator width (channels before the last block).
        batch_size: GAN training images per step.
        causal_steps: optimisation steps of the causal unit search.
        concept: scene concept whose units are searched, ablated and removed.
        insert_concept: scene concept whose units are inserted in a box.
        seed: seed of the scenes, the GAN and the samples.
    """

    size: int = 32
    scenes: int = 4000
    steps: int = 1500
    samples: int = 300
    width: int = 16
    batch_size: int = 32
    causal_steps: int = 60
    concept: str = "tree"
    insert_concept: str = "tree"
    seed: int = 0


def _effect_figure(path: Path, curves: dict[str, list[dict[str, float]]], concept: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, rows in curves.items():
        if rows:
            ax.plot(
                [r["n"] for r in rows],
                [r["ablated"] for r in rows],
                "o-",
                label=f"ablated ({name})",
            )
    if any(curves.values()):
        base = next(r for rows in curves.values() for r in rows)["baseline"]
        ax.axhline(base, color="grey", ls="--", label="no intervention")
    ax.set_xscale("log")
    ax.set_xlabel("units ablated")
    ax.set_ylabel(f"fraction of pixels: {concept}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


@locks_output
def run_scenes_demo(
    out: str | Path,
    settings: ScenesDemoSettings | None = None,
    *,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Run the demo into ``out`` (see module docstring); returns ``results.json``'s content."""
    settings = settings or ScenesDemoSettings()
    size, steps, samples, seed = settings.size, settings.steps, settings.samples, settings.seed
    concept, insert_concept = settings.concept, settings.insert_concept
    out = Path(out)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    labeler = scene_labeler(device=device)
    for c in (concept, insert_concept):
        if c not in labeler.labels:
            raise GanscopeError(f"unknown scene concept {c!r}; known: {', '.join(labeler.labels)}")

    scenes = out / "scenes"
    if not (scenes / "labels.json").is_file():
        log.info("scenes demo 1/5: rendering %d scenes of %dx%d", settings.scenes, size, size)
        write_scenes(scenes, count=settings.scenes, seed=seed, size=size)
    timings["render_scenes_s"] = time.perf_counter() - t

    t = time.perf_counter()
    log.info("scenes demo 2/5: training a %dx%d DCGAN for %d steps", size, size, steps)
    cfg = TrainConfig(
        data=str(scenes / "images"),
        size=size,
        steps=steps,
        batch_size=settings.batch_size,
        width=settings.width,
        latent_dim=64,
        seed=seed,
        sample_every=0,
        grid_size=16,
    )
    train_gan(cfg, out / "run", device=device)
    G, _ = load_generator(out / "run", device=device)
    timings["train_gan_s"] = time.perf_counter() - t
    vr = OUTPUT_RANGE

    t = time.perf_counter()
    layers = [
        n
        for n, _ in feature_layers(G, torch.zeros(1, G.latent_dim, device=device))
        if n.startswith("blocks.") and n.count(".") == 1
    ]
    log.info("scenes demo 3/5: dissecting %s on %d samples", ", ".join(layers), samples)
    results = [
        dissect(G, name, labeler, n_samples=samples, seed=seed, value_range=vr, device=device)
        for name in layers
    ]
    timings["dissect_s"] = time.perf_counter() - t

    # The layer with the most units matching the concept carries the causal search.
    best = max(
        results, key=lambda r: (r.summary()[concept], r.iou[:, r.labels.index(concept)].max())
    )
    t = time.perf_counter()
    log.info("scenes demo 4/5: causal %s units of %s", concept, best.layer)
    k = best.labels.index(concept)
    by_iou = torch.argsort(best.iou[:, k], descending=True, stable=True).tolist()
    n_cand = min(20, best.n_units)
    search = causal_unit_search(
        G,
        best.layer,
        labeler,
        concept,
        by_iou[:n_cand],
        value=best.thresholds[by_iou[:n_cand]],
        steps=settings.causal_steps,
        batch_size=8,
        seed=seed + _CAUSAL_SEARCH_SEEDS,
        value_range=vr,
    )
    ranked_causal = search.ranked + [u for u in by_iou if u not in search.ranked]
    curves = {
        "IoU rank": effect_curve(
            G,
            best.layer,
            by_iou,
            labeler,
            concept,
            values=best.thresholds,
            sizes=(1, 2, 5, 10, 20),
            n_samples=min(samples, 200),
            seed=seed + _EFFECT_CURVE_SEEDS,
            value_range=vr,
        ),
        "causal rank": effect_curve(
            G,
            best.layer,
            ranked_causal,
            labeler,
            concept,
            values=best.thresholds,
            sizes=(1, 2, 5, 10, 20),
            n_samples=min(samples, 200),
            seed=seed + _EFFECT_CURVE_SEEDS,
            value_range=vr,
        ),
    }
    timings["causal_s"] = time.perf_counter() - t
    figures = out / "figures"
    _effect_figure(figures / f"remove_{concept}_curve.png", curves, concept)

    # Remove trees from the 8 of 64 samples with the most tree pixels.
    pool = list(range(seed + _SHOWN_POOL_SEEDS, seed + _SHOWN_POOL_SEEDS + 64))
    imgs = generate(G, pool, value_range=vr)
    frac = concept_masks(labeler, imgs)[:, k].float().mean((1, 2))
    show = [pool[i] for i in torch.argsort(frac, descending=True)[:8].tolist()]
    before = generate(G, show, value_range=vr)
    # Bau et al. ablate 20 of 512 units (4%); a small layer gets the same share, at least one.
    n_remove = max(1, min(20, best.n_units // 8))
    # Use the ranking whose effect curve removes more of the concept at (about) that size.
    at = {name: [r for r in rows if r["n"] <= n_remove] for name, rows in curves.items()}
    rank_name = min(at, key=lambda name: at[name][-1]["ablated"] if at[name] else 1.0)
    removal_units = (ranked_causal if rank_name == "causal rank" else by_iou)[:n_remove]
    removed = generate(
        G,
        show,
        value_range=vr,
        intervention=Intervention.ablate(best.layer, removal_units),
    )
    save_png(figures / f"remove_{concept}.png", image_grid(torch.cat([before, removed]), nrow=8))

    # Insert the second concept's top units in a box at the lower middle of the image.
    ins = next(r for r in results if r.layer == best.layer)
    ki = ins.labels.index(insert_concept)
    ins_units = torch.argsort(ins.iou[:, ki], descending=True, stable=True)[:n_remove].tolist()
    box = (size * 0.375, size * 0.55, size * 0.625, size * 0.8)
    inserted = generate(
        G,
        show,
        value_range=vr,
        intervention=Intervention.insert(
            best.layer, ins_units, ins.thresholds[ins_units], where=box, image_hw=(size, size)
        ),
    )
    save_png(
        figures / f"insert_{insert_concept}.png", image_grid(torch.cat([before, inserted]), nrow=8)
    )

    # Artifact units of the last block.
    t = time.perf_counter()
    last = layers[-1]
    log.info("scenes demo 5/5: artifact units of %s", last)
    art = find_artifact_units(G, last, n_samples=samples, seed=seed, value_range=vr)
    real_seeds = range(seed + _REAL_SCENE_SEEDS, seed + _REAL_SCENE_SEEDS + 256)
    real = render_scenes(real_seeds, size=size).images
    art_rows = artifact_ablation(
        G,
        last,
        art.ranked,
        real,
        sizes=(0, 1, 2, 5, 10),
        n_samples=256,
        seed=seed + _ARTIFACT_ABLATION_SEEDS,
        value_range=vr,
    )
    timings["artifacts_s"] = time.perf_counter() - t

    payload = {
        "settings": {
            "size": size,
            "width": settings.width,
            "batch_size": settings.batch_size,
            "n_scenes": settings.scenes,
            "steps": steps,
            "samples": samples,
            "causal_steps": settings.causal_steps,
            "concept": concept,
            "insert_concept": insert_concept,
            "seed": seed,
            "threads": torch.get_num_threads(),
            "ganscope_version": __version__,
        },
        "summary": {r.layer: r.summary() for r in results},
        "layers": {r.layer: r.to_json() for r in results},
        "causal": {
            "layer": best.layer,
            "search": search.to_json(),
            "curves": curves,
            "removal": {"units": removal_units, "ranking": rank_name},
            "insert": {"concept": insert_concept, "units": ins_units, "box": box},
        },
        "artifacts": {**art.to_json(), "ablation": art_rows},
        "timings_s": {k2: round(v, 1) for k2, v in timings.items()},
    }
    write_json(out / "results.json", payload)
    write_json(out / "config.json", {"command": "scenes-demo", **payload["settings"]})
    write_report(
        out / "report.html",
        G,
        results,
        title="ganscope scenes demo: dissection",
        value_range=vr,
        notes=[
            f"DCGAN {size}x{size} trained {steps} steps on {settings.scenes} rendered scenes; "
            f"segmenter: ganscope's U-Net; causal layer {best.layer}; figures in figures/."
        ],
        figures=[
            (
                f"Ablating the top {n_remove} {concept} units of {best.layer} ({rank_name}) "
                "(top row: original, bottom row: ablated)",
                image_grid(torch.cat([before, removed]), nrow=8),
            ),
            (
                f"Inserting {len(ins_units)} {insert_concept} units in a box "
                "(top: original, bottom: inserted)",
                image_grid(torch.cat([before, inserted]), nrow=8),
            ),
            (
                f"{concept} fraction vs number of ablated units",
                figures / f"remove_{concept}_curve.png",
            ),
        ],
    )
    return payload


def demo_summary(results: dict[str, Any], out: str | Path) -> str:
    """The lines ``ganscope scenes-demo`` prints: the units per concept of each layer, and where
    the outputs are."""
    lines = [
        f"{layer}: " + ", ".join(f"{c} {n}" for c, n in counts.items() if n)
        for layer, counts in results["summary"].items()
    ]
    return "\n".join([*lines, f"wrote {out}/report.html, {out}/results.json and {out}/figures"])
