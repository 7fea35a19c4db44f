"""Causal units per concept for GAN Paint: which units, at which layer, at which insertion value.

GAN Paint (Bau et al., "Semantic Photo Manipulation with a Generative Image Prior", SIGGRAPH 2019;
units from "GAN Dissection", ICLR 2019, sec. 3.2) paints a concept by forcing that concept's causal
units of one generator layer to a fixed high value inside the brushed region, and erases it by
forcing them to zero. This module finds those units once, for every concept a segmenter knows:

1. Candidate layers: the generator's feature maps between 1/8 and 1/2 of the image side
   (:func:`paint_layers`), one name per distinct output shape.
2. Each layer is dissected (:func:`ganscope.dissect.dissect`): per-unit 0.99 quantiles (the
   insertion values ``k``) and IoU with every concept.
3. For each concept, the top units by IoU are re-ranked by the causal search of
   :func:`ganscope.dissect.causal_unit_search` (their eq. 6), and the effect of ablating the top
   ``n`` ranked units is measured for a few ``n``.
4. Per concept, the layer and ``n`` that remove the most of the concept win (the smallest ``n``
   within a tolerance of the best, so edits stay local).
5. The insertion value is the units' 0.99 quantile times the factor (1, 2 or 3) whose insertion
   paints the most of the concept.

The result, :class:`PaintUnits`, is saved as ``paint_units.json`` beside the generator's
``model.safetensors`` (``scripts/find_paint_units.py``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganscope.dissect.causal import causal_unit_search
from ganscope.dissect.concepts import ConceptLabeler, concept_masks
from ganscope.dissect.dissection import dissect
from ganscope.dissect.hooks import edit_layer, feature_layers
from ganscope.dissect.intervention import blend_units
from ganscope.errors import GanscopeError
from ganscope.generators.forward import (
    OUTPUT_RANGE,
    generator_latent_dim,
    module_device,
    run_generator,
)
from ganscope.generators.sample import latents_for_seeds

log = logging.getLogger("ganscope")

__all__ = [
    "PAINT_UNITS_FILE",
    "ConceptUnits",
    "PaintUnits",
    "find_paint_units",
    "load_paint_units",
    "paint_layers",
]

#: File name of the shipped units, beside a generator's ``model.safetensors``.
PAINT_UNITS_FILE = "paint_units.json"
_FORMAT = "ganscope-paint-units-1"


@dataclass(frozen=True)
class ConceptUnits:
    """The causal units of one concept.

    Attributes:
        concept: the concept name (a label of the segmenter).
        layer: the generator layer the units belong to.
        units: unit (channel) indices, most causal first.
        values: the insertion value ``k`` of each unit (its 0.99 activation quantile times
            ``scale``).
        baseline: the concept's mean segmented fraction on unedited samples.
        ablated: the fraction with all ``units`` ablated everywhere (how well removal works).
        inserted: the fraction with all ``units`` inserted everywhere at ``values``.
        scale: the factor applied to the 0.99 quantiles.
    """

    concept: str
    layer: str
    units: list[int]
    values: list[float]
    baseline: float = 0.0
    ablated: float = 0.0
    inserted: float = 0.0
    scale: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "units": list(self.units),
            "values": [round(float(v), 6) for v in self.values],
            "baseline": round(float(self.baseline), 6),
            "ablated": round(float(self.ablated), 6),
            "inserted": round(float(self.inserted), 6),
            "scale": float(self.scale),
        }


@dataclass
class PaintUnits:
    """Causal units for every paintable concept of a generator (``paint_units.json``).

    Attributes:
        concepts: concept name → :class:`ConceptUnits`, in the segmenter's label order.
        settings: how they were found (samples, steps, seed, segmenter, ...).
    """

    concepts: dict[str, ConceptUnits]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "concepts": {name: cu.to_json() for name, cu in self.concepts.items()},
            "settings": self.settings,
        }

    @classmethod
    def from_json(cls, d: Any, *, source: str = "paint units") -> PaintUnits:
        """Parse (and validate) the JSON form; a :class:`GanscopeError` names what is wrong."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            raise GanscopeError(f"{source}: not a {_FORMAT} file")
        concepts: dict[str, ConceptUnits] = {}
        raw = d.get("concepts")
        if not isinstance(raw, dict):
            raise GanscopeError(f"{source}: 'concepts' must be an object")
        for name, c in raw.items():
            try:
                units = [int(u) for u in c["units"]]
                values = [float(v) for v in c["values"]]
                layer = str(c["layer"])
            except (KeyError, TypeError, ValueError):
                raise GanscopeError(
                    f"{source}: concept {name!r} needs 'layer', 'units' and 'values'"
                ) from None
            if len(units) != len(values) or not units or min(units) < 0:
                raise GanscopeError(
                    f"{source}: concept {name!r} needs as many values as units (at least one)"
                )
            concepts[str(name)] = ConceptUnits(
                str(name),
                layer,
                units,
                values,
                float(c.get("baseline", 0.0)),
                float(c.get("ablated", 0.0)),
                float(c.get("inserted", 0.0)),
                float(c.get("scale", 1.0)),
            )
        if not concepts:
            raise GanscopeError(f"{source}: no concepts")
        return cls(concepts, dict(d.get("settings") or {}))

    def save(self, path: str | Path) -> None:
        """Write atomically as JSON."""
        from ganscope.io import write_json

        write_json(path, self.to_json())


def load_paint_units(path: str | Path) -> PaintUnits:
    """Read ``paint_units.json`` (a file, or a generator/run folder that holds one)."""
    path = Path(path)
    candidates = (
        [path]
        if path.suffix == ".json"
        else [
            path / PAINT_UNITS_FILE,
            path / "generator" / PAINT_UNITS_FILE,
        ]
    )
    for p in candidates:
        if p.is_file():
            try:
                data = json.loads(p.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise GanscopeError(f"{p}: not valid JSON ({err})") from None
            return PaintUnits.from_json(data, source=str(p))
    raise GanscopeError(f"no {PAINT_UNITS_FILE} in {path}")


@torch.no_grad()
def paint_layers(G: nn.Module, *, latent_dim: int | None = None) -> list[str]:
    """Layers GAN Paint can edit: one per distinct feature-map shape with side in
    ``[S/8, S/2]`` (``S`` the image side), at least 4 cells and 8 channels.

    Of several modules with the same output shape (a block and its last activation) the last
    innermost one is kept, e.g. ``blocks.1.2`` (the ReLU ending ``blocks.1``).
    """
    dim = generator_latent_dim(G, latent_dim)
    device = module_device(G)
    was_training = G.training
    G.eval()
    try:
        z = torch.zeros(1, dim, device=device)
        size = int(G(z).shape[-1])
        found = feature_layers(G, z)
    finally:
        G.train(was_training)
    by_shape: dict[tuple[int, ...], list[str]] = {}
    for name, shape in found:
        c, h, w = shape
        if c >= 8 and h == w and max(4, size // 8) <= h <= size // 2:
            by_shape.setdefault(shape, []).append(name)
    layers = []
    for names in by_shape.values():
        # An ancestor with the same output shape only passes its child's output on.
        inner = [n for n in names if not any(m.startswith(n + ".") for m in names)]
        layers.append(inner[-1])
    return layers


_BATCH = 32


@torch.no_grad()
def edited_fraction(
    G: nn.Module,
    layer: str,
    units: Sequence[int],
    labeler: ConceptLabeler,
    concept: int,
    latents: Tensor,
    value_range: tuple[float, float] = OUTPUT_RANGE,
    *,
    value: float | Tensor = 0.0,
) -> float:
    """The mean segmented fraction of concept index ``concept`` with ``units`` of ``layer`` forced
    to ``value`` everywhere (0: ablated), over ``latents``."""
    device = module_device(G)
    total = 0.0
    with edit_layer(G, layer, lambda x: blend_units(x, units, value=value)):
        for z in latents.split(_BATCH):
            images = run_generator(G, z.to(device), value_range)
            total += float(concept_masks(labeler, images)[:, concept].float().mean((1, 2)).sum())
    return total / latents.shape[0]


def _insertion_scale(
    G: nn.Module,
    cu: ConceptUnits,
    labeler: ConceptLabeler,
    k: int,
    latents: Tensor,
    value_range: tuple[float, float],
    scales: Sequence[float],
) -> ConceptUnits:
    """``cu`` with its insertion values scaled by the factor of ``scales`` whose insertion
    (everywhere) paints the most of the concept; a larger factor must add at least one
    percentage point to be preferred. In a small GAN the units of one concept also draw its
    neighbours (grass units draw dark, tree-like green at their 0.99 quantile), and a higher value
    can tip the segmenter back to the concept."""
    base = torch.tensor(cu.values)
    best_scale, best_fraction = None, -1.0
    for scale in sorted(scales):
        f = edited_fraction(
            G, cu.layer, cu.units, labeler, k, latents, value_range, value=base * scale
        )
        log.info("%s: insertion at %.1fx the 0.99 quantile paints %.4f", cu.concept, scale, f)
        if f > best_fraction + 0.01:
            best_scale, best_fraction = scale, f
    scaled = (base * best_scale).tolist()
    return ConceptUnits(
        cu.concept, cu.layer, cu.units, scaled, cu.baseline, cu.ablated, best_fraction, best_scale
    )


def find_paint_units(
    G: nn.Module,
    labeler: ConceptLabeler,
    *,
    concepts: Sequence[str] | None = None,
    layers: Sequence[str] | None = None,
    samples: int = 200,
    candidates: int = 16,
    sizes: Sequence[int] = (2, 4, 8, 12, 16),
    causal_steps: int = 30,
    tolerance: float = 0.1,
    min_fraction: float = 0.002,
    insertion_scales: Sequence[float] = (1.0, 2.0, 3.0),
    seed: int = 0,
    value_range: tuple[float, float] = OUTPUT_RANGE,
) -> PaintUnits:
    """Find the causal units of every concept (see module docstring).

    Args:
        G: the generator (weights unchanged).
        labeler: the segmenter, with ``probabilities`` (for the causal search).
        concepts: concepts to find units for (default: every label of ``labeler``).
        layers: candidate layers (default: :func:`paint_layers`).
        samples: samples per dissection and per effect measurement.
        candidates: top-IoU units handed to the causal search (at most half of a layer).
        sizes: numbers of units tried for removal.
        causal_steps: Adam steps of the causal search.
        tolerance: the smallest ``n`` whose removal is within ``tolerance`` (a share of the
            baseline fraction) of the best removal wins.
        min_fraction: concepts that cover less than this share of generated pixels at baseline
            are skipped (nothing to measure removal on).
        insertion_scales: factors of the units' 0.99 quantiles tried as insertion values; the
            one whose insertion paints the most of the concept is kept.
        seed: first sample seed; dissection, search and measurement use disjoint seed ranges.
        value_range: the range of ``G``'s output.

    Returns:
        :class:`PaintUnits` for the concepts that have at least one unit.
    """
    if samples < 8:
        raise GanscopeError(f"need at least 8 samples, got {samples}")
    names = list(labeler.labels)
    wanted = list(concepts) if concepts is not None else names
    for c in wanted:
        if c not in names:
            raise GanscopeError(f"unknown concept {c!r}; the segmenter knows: {', '.join(names)}")
    layer_names = list(layers) if layers is not None else paint_layers(G)
    if not layer_names:
        raise GanscopeError("the generator has no feature layer GAN Paint can edit")
    dissections = {
        layer: dissect(
            G, layer, labeler, n_samples=samples, seed=seed, n_bootstrap=0, value_range=value_range
        )
        for layer in layer_names
    }
    # Removal is measured on its own seeds, the same for every layer and unit set.
    latents = latents_for_seeds(
        list(range(seed + 100_000, seed + 100_000 + samples)), generator_latent_dim(G, None)
    )
    baselines = torch.cat(
        [
            concept_masks(labeler, run_generator(G, z, value_range)).float().mean((2, 3))
            for z in latents.split(_BATCH)
        ]
    ).mean(0)  # (K,)
    found: dict[str, ConceptUnits] = {}
    for concept in wanted:
        k = names.index(concept)
        best: tuple[float, int, ConceptUnits] | None = None
        if baselines[k] < min_fraction:
            log.info("%s: skipped (%.4f of generated pixels)", concept, float(baselines[k]))
            continue
        for layer, res in dissections.items():
            n_units = res.n_units
            n_cand = max(1, min(candidates, n_units // 2))
            by_iou = torch.argsort(res.iou[:, k], descending=True, stable=True).tolist()
            if float(res.iou[by_iou[0], k]) <= 0:
                continue
            ranked = by_iou[:n_cand]
            if causal_steps > 0 and hasattr(labeler, "probabilities"):
                # Without a differentiable segmenter the IoU ranking stands.
                ranked = causal_unit_search(
                    G,
                    layer,
                    labeler,
                    concept,
                    by_iou[:n_cand],
                    value=res.thresholds[by_iou[:n_cand]],
                    steps=causal_steps,
                    batch_size=8,
                    seed=seed + 50_000,
                    value_range=value_range,
                ).ranked
            baseline = float(baselines[k])
            rows = [
                (n, edited_fraction(G, layer, ranked[:n], labeler, k, latents, value_range))
                for n in [n for n in sizes if n <= len(ranked)] or [len(ranked)]
            ]
            best_removed = min(a for _, a in rows)
            n, ablated = next((n, a) for n, a in rows if a <= best_removed + tolerance * baseline)
            cu = ConceptUnits(
                concept,
                layer,
                ranked[:n],
                res.thresholds[ranked[:n]].tolist(),
                baseline,
                ablated,
            )
            # Rank layers by the share of the concept that removal leaves (lower is better).
            score = ablated / baseline
            log.info(
                "%s @ %s: %d units remove %.0f%% (%.4f -> %.4f)",
                concept,
                layer,
                n,
                100 * (1 - score),
                baseline,
                ablated,
            )
            if best is None or (score, n) < (best[0], best[1]):
                best = (score, n, cu)
        if best is not None:
            found[concept] = _insertion_scale(
                G, best[2], labeler, k, latents, value_range, insertion_scales
            )
        else:
            log.info("%s: no units (the generator draws too little of it)", concept)
    if not found:
        raise GanscopeError("no concept has causal units in this generator")
    settings = {
        "layers": layer_names,
        "samples": samples,
        "candidates": candidates,
        "sizes": list(sizes),
        "causal_steps": causal_steps,
        "tolerance": tolerance,
        "min_fraction": min_fraction,
        "insertion_scales": list(insertion_scales),
        "seed": seed,
    }
    return PaintUnits(found, settings)
