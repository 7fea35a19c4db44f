"""The dissection experiments behind ``ganscope dissect`` and ``ganscope intervene``, on a run.

Each function takes a generator as ``load_generator`` names it (a run folder or ``zoo:NAME``),
writes its output folder (``results.json``, ``config.json`` and its pictures) and returns the
``results.json`` content; the command line only parses options and prints. Generators loaded this
way are registered families, whose ``G(z)`` is in :data:`ganscope.generators.forward.OUTPUT_RANGE`.
"""

from __future__ import annotations

from collections.abc import Sequence
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

__all__ = [
    "STATS_SEED_OFFSET",
    "dissect_run",
    "hookable_layers",
    "insertion_values",
    "intervene_run",
    "load_run",
    "parse_box",
    "parse_units",
]

STATS_SEED_OFFSET = 1_000_000
"""The insertion statistics use seeds ``seed + STATS_SEED_OFFSET ...``: never the shown samples."""

INSERTION_RULES = ("quantile", "mean")
"""Per-unit insertion values: each unit's threshold quantile, or its mean activation when active."""


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


def dissect_run(
    run: str | Path,
    out: str | Path | None,
    *,
    layers: Sequence[str],
    concepts: str = "colors",
    trust_code: bool = False,
    samples: int = 1000,
    quantile: float = 0.99,
    batch_size: int = 16,
    report_units: int = 64,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Dissect ``layers`` of a run's generator against ``concepts`` (Bau et al., ICLR 2019).

    Writes ``out/results.json`` (returned), ``out/config.json`` and ``out/report.html`` (the
    ``report_units`` best-matching units of each layer with their top samples).

    Args:
        run: a run folder or ``zoo:NAME``.
        out: the output folder (required; ``None`` is refused once the layers are checked, so
            that a missing ``--layer`` is reported first).
        layers: layer names (:func:`hookable_layers`); several are compared side by side.
        concepts: a labeler spec (:func:`ganscope.dissect.concepts.load_labeler`).
        trust_code: allow a TorchScript segmenter.
        samples: samples ``seed .. seed + samples - 1``.
        quantile: the threshold quantile.
        batch_size: samples per forward pass.
        report_units: units shown per layer in the report.
        seed: first sample seed.
        device: where the generator and labeler run.
    """
    if not layers:
        raise GanscopeError("--layer is required (see --list-layers)")
    if out is None:
        raise GanscopeError("--out is required")
    out = Path(out)
    G = load_run(run, device=device)
    for name in layers:
        get_layer(G, name)
    labeler = load_labeler(concepts, device=device, trust_code=trust_code)
    results: list[DissectionResult] = [
        dissect(
            G,
            name,
            labeler,
            n_samples=samples,
            seed=seed,
            quantile=quantile,
            batch_size=batch_size,
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
    config |= {"samples": samples, "quantile": quantile, "seed": seed}
    write_json(out / "config.json", {**config, "ganscope_version": __version__})
    write_report(
        out / "report.html",
        G,
        results,
        title=f"Dissection of {Path(str(run)).name}",
        max_units=report_units,
        value_range=OUTPUT_RANGE,
        notes=[f"concepts: {concepts}; samples: seeds {seed}..{seed + samples - 1}"],
    )
    return payload


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


def intervene_run(
    run: str | Path,
    out: str | Path,
    *,
    layer: str,
    units: Sequence[int],
    mode: str = "ablate",
    where: tuple[float, float, float, float] | None = None,
    value: str | float = "quantile",
    n: int = 16,
    concepts: str | None = None,
    concept: str | None = None,
    trust_code: bool = False,
    stats_samples: int = 200,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Ablate or insert ``units`` of ``layer`` and save the samples before and after.

    Writes ``out/before/seedNNNNNN.png``, ``out/after/...``, ``out/grid.png`` (rows alternate
    before and after, 8 samples a row), ``out/results.json`` (returned) and ``out/config.json``.
    With ``concepts`` and ``concept``, also measures the average causal effect of the units on
    the concept (Bau et al. 2019, eq. 4), inserting at :func:`insertion_values` in both modes.

    Args:
        run: a run folder or ``zoo:NAME``.
        out: the output folder.
        layer: the layer whose units are edited.
        units: unit indices.
        mode: ``ablate`` (force to 0) or ``insert`` (force to ``value``).
        where: only inside this image-pixel box ``(x0, y0, x1, y1)``.
        value: the insertion value (see :func:`insertion_values`).
        n: samples, seeds ``seed .. seed + n - 1``.
        concepts: a labeler spec; goes with ``concept``.
        concept: the concept whose pixel fraction the units should change.
        trust_code: allow a TorchScript segmenter.
        stats_samples: samples of the per-unit insertion values.
        seed: first sample seed.
        device: where the generator and labeler run.
    """
    if mode not in ("ablate", "insert"):
        raise GanscopeError(f"--mode must be ablate or insert, not {mode!r}")
    if n < 1:
        raise GanscopeError(f"--n must be at least 1, got {n}")
    if (concept is None) != (concepts is None):
        raise GanscopeError("--concept and --concepts go together")
    out, units = Path(out), list(units)
    G = load_run(run, device=device)
    get_layer(G, layer)
    labeler = None
    if concepts is not None:
        labeler = load_labeler(concepts, device=device, trust_code=trust_code)
    inserted: float | Tensor = 0.0
    if mode == "insert" or labeler is not None:
        inserted = insertion_values(
            G, layer, units, value, n_samples=stats_samples, seed=seed, device=device
        )
    size = int(getattr(G, "size", 0)) or None
    image_hw = (size, size) if size else None
    fill = inserted if mode == "insert" else 0.0
    iv = Intervention(layer, units, value=fill, where=where, image_hw=image_hw)
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
        "where": where,
        "value": fill.tolist() if isinstance(fill, Tensor) else fill,
        "seeds": [seeds[0], seeds[-1]],
        "mean_abs_change": float((after - before).abs().mean()),
    }
    if labeler is not None and concept is not None:
        payload["causal_effect"] = average_causal_effect(
            G,
            layer,
            units,
            labeler,
            concept,
            value=inserted,
            where=where,
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
