"""The dissection experiments behind ``ganscope dissect`` and ``ganscope intervene``, on a run.

Each function takes a generator as ``load_generator`` names it (a run folder or ``zoo:NAME``)
and its settings (:class:`DissectSettings`, :class:`InterveneSettings`: one field per option of
the command), writes its output folder (``results.json``, ``config.json`` and its pictures) and
returns the ``results.json`` content; the ``*_summary`` functions say it in a few lines. The command
line only parses options and prints. Generators loaded this way are registered families, whose
``G(z)`` is in :data:`ganscope.generators.forward.OUTPUT_RANGE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganscope import __version__
from ganscope.dissect.concepts import load_labeler
from ganscope.dissect.dissection import DissectionResult, dissect
from ganscope.dissect.hooks import feature_layers, get_layer
from ganscope.dissect.intervention import Intervention, average_causal_effect, generate
from ganscope.dissect.report import write_report
from ganscope.errors import GanscopeError
from ganscope.generators import image_grid, load_generator
from ganscope.generators.forward import OUTPUT_RANGE, generator_latent_dim, module_device
from ganscope.generators.sample import seed_filename
from ganscope.io import save_png, write_json
from ganscope.io.locks import locks_output

__all__ = [
    "INTERVENTION_MODES",
    "STATS_SEED_OFFSET",
    "DissectSettings",
    "InterveneSettings",
    "dissect_run",
    "dissect_summary",
    "hookable_layers",
    "insertion_values",
    "intervene_run",
    "intervene_summary",
    "layers_listing",
    "load_run",
    "parse_box",
    "parse_units",
]

STATS_SEED_OFFSET = 1_000_000
"""The insertion statistics use seeds ``seed + STATS_SEED_OFFSET ...``: never the shown samples."""

INSERTION_RULES = ("quantile", "mean")
"""Per-unit insertion values: each unit's threshold quantile, or its mean activation when active."""

INTERVENTION_MODES = ("ablate", "insert")
"""``ablate`` forces units to 0; ``insert`` forces them to their insertion value."""


@dataclass
class DissectSettings:
    """Settings of :func:`dissect_run` (``ganscope dissect``).

    Attributes:
        concepts: the labeler: scenes (built-in segmenter), colors, artifacts, a segmenter
            folder, or a JSON file {"segmenter": FOLDER or "torchscript": FILE, "labels": [...]}
            (TorchScript: --trust-code).
        layer: layer to dissect (see --list-layers); repeat it to compare several side by side.
        samples: number of generated samples (seeds seed .. seed+samples-1).
        quantile: threshold quantile (0.99; or 0.995).
        batch_size: samples per forward pass.
        report_units: units shown per layer in report.html.
        trust_code: allow a TorchScript segmenter (it is code).
        seed: first sample seed; the same seed gives the same output.
    """

    concepts: str = "colors"
    layer: list[str] | None = None
    samples: int = 1000
    quantile: float = 0.99
    batch_size: int = 16
    report_units: int = 64
    trust_code: bool = False
    seed: int = 0


@dataclass
class InterveneSettings:
    """Settings of :func:`intervene_run` (``ganscope intervene``); checked when made.

    Attributes:
        layer: layer whose units are edited (see dissect --list-layers).
        units: unit indices (comma-separated on the command line: 3,17,42).
        mode: ablate (force to 0) or insert (force on).
        where: only inside this image-pixel box x0,y0,x1,y1.
        value: insertion value: quantile (each unit's 0.99 quantile), mean (its mean when
            active) or a number.
        n: number of images (seeds seed .. seed+n-1).
        concepts: labeler of --concept: scenes, colors, artifacts, a segmenter folder or a
            JSON file (as for dissect --concepts).
        concept: measure the units' average causal effect on this concept.
        stats_samples: samples for the insertion values.
        trust_code: allow a TorchScript segmenter (it is code).
        seed: first sample seed; the same seed gives the same output.
    """

    layer: str
    units: Sequence[int]
    mode: str = "ablate"
    where: tuple[float, float, float, float] | None = None
    value: str = "quantile"
    n: int = 16
    concepts: str | None = None
    concept: str | None = None
    stats_samples: int = 200
    trust_code: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in INTERVENTION_MODES:
            raise GanscopeError(f"--mode must be ablate or insert, not {self.mode!r}")
        if self.n < 1:
            raise GanscopeError(f"--n must be at least 1, got {self.n}")
        if (self.concept is None) != (self.concepts is None):
            raise GanscopeError("--concept and --concepts go together")
        self.units = list(self.units)


def load_run(run: str | Path, *, device: torch.device | str = "cpu") -> nn.Module:
    """The generator of a run folder or ``zoo:NAME`` (one line when the folder does not exist)."""
    if not str(run).startswith("zoo:") and not Path(run).exists():
        raise GanscopeError(f"run folder not found: {run}")
    G, _config = load_generator(run, device=device)
    return G


def hookable_layers(run: str | Path, *, device: torch.device | str = "cpu") -> list[str]:
    """The layers of ``run``'s generator that output a 4-D feature map, in forward order."""
    G = load_run(run, device=device)
    z = torch.zeros(1, generator_latent_dim(G), device=module_device(G))
    return [name for name, _shape in feature_layers(G, z)]


@locks_output
def dissect_run(
    run: str | Path,
    out: str | Path | None,
    settings: DissectSettings,
    *,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Dissect ``settings.layer`` of a run's generator against ``settings.concepts`` (Bau et
    al., ICLR 2019).

    Writes ``out/results.json`` (returned), ``out/config.json`` and ``out/report.html`` (the
    ``report_units`` best-matching units of each layer with their top samples).

    Args:
        run: a run folder or ``zoo:NAME``.
        out: the output folder (required; ``None`` is refused once the layers are checked, so
            that a missing ``--layer`` is reported first).
        settings: the layers (:func:`hookable_layers`), the labeler spec
            (:func:`ganscope.dissect.concepts.load_labeler`), samples and threshold.
        device: where the generator and labeler run.
    """
    layers, concepts, seed = list(settings.layer or []), settings.concepts, settings.seed
    if not layers:
        raise GanscopeError("--layer is required (see --list-layers)")
    if out is None:
        raise GanscopeError("--out is required")
    out = Path(out)
    G = load_run(run, device=device)
    for name in layers:
        get_layer(G, name)
    labeler = load_labeler(concepts, device=device, trust_code=settings.trust_code)
    samples = settings.samples
    results: list[DissectionResult] = [
        dissect(
            G,
            name,
            labeler,
            n_samples=samples,
            seed=seed,
            quantile=settings.quantile,
            batch_size=settings.batch_size,
            value_range=OUTPUT_RANGE,
            device=device,
        )
        for name in layers
    ]
    payload = {
        "run": str(run),
        "concepts": concepts,
        "summary": {r.layer: r.summary() for r in results},
        "layers": {r.layer: r.to_json() for r in results},
    }
    write_json(out / "results.json", payload)
    config = {"command": "dissect", "run": str(run), "layers": list(layers), "concepts": concepts}
    config |= {"samples": samples, "quantile": settings.quantile, "seed": seed}
    write_json(out / "config.json", {**config, "ganscope_version": __version__})
    write_report(
        out / "report.html",
        G,
        results,
        title=f"Dissection of {Path(str(run)).name}",
        max_units=settings.report_units,
        value_range=OUTPUT_RANGE,
        notes=[f"concepts: {concepts}; samples: seeds {seed}..{seed + samples - 1}"],
    )
    return payload


def layers_listing(run: str | Path, *, device: torch.device | str = "cpu") -> str:
    """What ``ganscope dissect --list-layers`` prints: a heading, then one layer a line."""
    names = hookable_layers(run, device=device)
    return "\n".join([f"hookable layers of {run} (4-D feature maps, in forward order):", *names])


def dissect_summary(results: dict[str, Any], out: str | Path) -> str:
    """The lines ``ganscope dissect`` prints for :func:`dissect_run`'s results: per layer, its
    units and how many matched each concept."""
    lines = []
    for name, counts in results["summary"].items():
        matched = {c: n for c, n in counts.items() if n} or "none"
        lines.append(f"{name}: {results['layers'][name]['n_units']} units; matched: {matched}")
    return "\n".join([*lines, f"wrote {out}/results.json and {out}/report.html"])


def parse_units(text: str, option: str = "--units") -> list[int]:
    """``"3,17,42"`` → ``[3, 17, 42]`` (one line naming ``option`` otherwise)."""
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise GanscopeError(f"{option} must be comma-separated integers, got {text!r}") from None


def parse_box(text: str | None) -> tuple[float, float, float, float] | None:
    """``"x0,y0,x1,y1"`` (image pixels, ``x1 > x0``, ``y1 > y0``) → a box; ``None`` stays."""
    if text is None:
        return None
    c = [float(v) for v in parse_units(text, "--where")]
    if len(c) != 4 or c[2] <= c[0] or c[3] <= c[1]:
        raise GanscopeError(f"--where must be x0,y0,x1,y1 with x1 > x0 and y1 > y0, got {text!r}")
    return (c[0], c[1], c[2], c[3])


def insertion_values(
    G: nn.Module,
    layer: str,
    units: Sequence[int],
    value: str | float = "quantile",
    *,
    n_samples: int = 200,
    seed: int = 0,
    value_range: tuple[float, float] = OUTPUT_RANGE,
    device: torch.device | str | None = None,
) -> float | Tensor:
    """The value each of ``units`` is forced to when inserted (Bau et al. 2019, sec. 3.2).

    Args:
        value: ``quantile`` (each unit's 0.99 quantile, its dissection threshold), ``mean``
            (its mean upsampled activation where above threshold), or a number (as a float or
            text) used for every unit.
        n_samples: samples of the per-unit statistics, seeds ``seed + STATS_SEED_OFFSET ...``.

    Returns:
        A float, or ``(len(units),)`` per-unit values.
    """
    if value not in INSERTION_RULES:
        try:
            return float(value)
        except ValueError:
            raise GanscopeError(
                f"--value must be quantile, mean or a number, not {value!r}"
            ) from None
    stats = dissect(
        G,
        layer,
        None,
        n_samples=n_samples,
        seed=seed + STATS_SEED_OFFSET,
        n_bootstrap=0,
        value_range=value_range,
        device=device,
    )
    if max(units, default=0) >= stats.n_units or min(units, default=0) < 0:
        raise GanscopeError(
            f"unit indices must be in 0..{stats.n_units - 1} (layer {layer!r} has "
            f"{stats.n_units} units), got {list(units)}"
        )
    per_unit = stats.thresholds if value == "quantile" else stats.mean_active
    return per_unit[list(units)]


@locks_output
def intervene_run(
    run: str | Path,
    out: str | Path,
    settings: InterveneSettings,
    *,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Ablate or insert ``settings.units`` of ``settings.layer`` and save the samples before and
    after.

    Writes ``out/before/seedNNNNNN.png``, ``out/after/...``, ``out/grid.png`` (rows alternate
    before and after, 8 samples a row), ``out/results.json`` (returned) and ``out/config.json``.
    With ``concepts`` and ``concept``, also measures the average causal effect of the units on
    the concept (Bau et al. 2019, eq. 4), inserting at :func:`insertion_values` in both modes.

    Args:
        run: a run folder or ``zoo:NAME``.
        out: the output folder.
        settings: the layer, units, mode, box, insertion value, samples and concept.
        device: where the generator and labeler run.
    """
    out, layer, units = Path(out), settings.layer, list(settings.units)
    mode, n, seed = settings.mode, settings.n, settings.seed
    G = load_run(run, device=device)
    get_layer(G, layer)
    labeler = None
    if settings.concepts is not None:
        labeler = load_labeler(settings.concepts, device=device, trust_code=settings.trust_code)
    inserted: float | Tensor = 0.0
    if mode == "insert" or labeler is not None:
        inserted = insertion_values(
            G,
            layer,
            units,
            settings.value,
            n_samples=settings.stats_samples,
            seed=seed,
            device=device,
        )
    size = int(getattr(G, "size", 0)) or None
    image_hw = (size, size) if size else None
    fill = inserted if mode == "insert" else 0.0
    iv = Intervention(layer, units, value=fill, where=settings.where, image_hw=image_hw)
    seeds = list(range(seed, seed + n))
    before = generate(G, seeds, value_range=OUTPUT_RANGE, device=device)
    after = generate(G, seeds, intervention=iv, value_range=OUTPUT_RANGE, device=device)
    for s, b, a in zip(seeds, before, after, strict=True):
        save_png(out / "before" / seed_filename(s), b)
        save_png(out / "after" / seed_filename(s), a)
    nrow = min(n, 8)
    rows = [t for i in range(0, n, nrow) for t in (before[i : i + nrow], after[i : i + nrow])]
    save_png(out / "grid.png", image_grid(torch.cat(rows), nrow=nrow))
    payload: dict[str, Any] = {
        "run": str(run),
        "layer": layer,
        "units": units,
        "mode": mode,
        "where": settings.where,
        "value": fill.tolist() if isinstance(fill, Tensor) else fill,
        "seeds": [seeds[0], seeds[-1]],
        "mean_abs_change": float((after - before).abs().mean()),
    }
    if labeler is not None and settings.concept is not None:
        payload["causal_effect"] = average_causal_effect(
            G,
            layer,
            units,
            labeler,
            settings.concept,
            value=inserted,
            where=settings.where,
            n_samples=n,
            seed=seed,
            value_range=OUTPUT_RANGE,
            device=device,
        )
    write_json(out / "results.json", payload)
    write_json(
        out / "config.json", {"command": "intervene", **payload, "ganscope_version": __version__}
    )
    return payload


def intervene_summary(results: dict[str, Any], settings: InterveneSettings, out: str | Path) -> str:
    """The lines ``ganscope intervene`` prints for :func:`intervene_run`'s results."""
    change = results["mean_abs_change"]
    edited = f"{results['mode']} {len(results['units'])} units of {results['layer']}"
    lines = [f"{edited}: mean |change| {change:.4f}"]
    if ce := results.get("causal_effect"):
        lines.append(
            f"causal effect on {settings.concept}: {ce['ace']:+.4f} ± {ce['ace_stderr']:.4f} "
            f"(inserted {ce['inserted']:.4f}, ablated {ce['ablated']:.4f})"
        )
    return "\n".join([*lines, f"wrote {out}/grid.png (rows: before, after)"])
