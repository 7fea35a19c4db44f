"""Causal unit search: which units, forced on or off, make a concept appear or disappear.

Bau et al. ("GAN Dissection", ICLR 2019, sec. 3.2) rank units for a concept ``c`` by the effect of
intervening on them. Units are first ranked by dissection IoU; then a per-unit weight
``α ∈ [0, 1]^d`` over the candidates is optimised with Adam to maximise the average causal effect
with an L2 penalty (their eq. 6):

    α* = argmin_α  -δ_{α→c} + λ ||α||²,
    δ_{α→c} = E_z[s_c(G(r ⊙ (1 - α) + k ⊙ α))] - E_z[s_c(G(r ⊙ (1 - α)))],

where ``s_c`` is the segmenter's soft (softmax) fraction of the image labelled ``c``, so the
objective is differentiable. Units are then ranked by ``α``; the effect of ablating and inserting
the top ``n`` units with hard weights gives the curves of the paper's "removing successively larger
sets of tree-causal units" figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganscope.dissect.concepts import ConceptLabeler
from ganscope.dissect.hooks import edit_layer
from ganscope.dissect.intervention import _concept_index, average_causal_effect, blend_units
from ganscope.errors import GanscopeError
from ganscope.generators.forward import generator_latent_dim, module_device, run_generator
from ganscope.generators.sample import latents_for_seeds
from ganscope.progress import progress_bar

__all__ = ["CausalSearch", "causal_unit_search", "effect_curve", "soft_concept_fraction"]

#: Unit-set sizes of the effect curves.
CURVE_SIZES: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100)


def soft_concept_fraction(labeler: ConceptLabeler, concept: int) -> Callable[[Tensor], Tensor]:
    """A differentiable per-image concept fraction ``images -> (B,)``.

    Needs a labeler with ``probabilities(images) -> (B, K, H, W)`` (the scene segmenter has one);
    other labelers cannot be optimised through.
    """
    probs = getattr(labeler, "probabilities", None)
    if probs is None:
        raise GanscopeError(
            "causal unit search needs a differentiable labeler with probabilities() "
            "(e.g. the scene segmenter); this one only gives hard labels"
        )

    def fraction(images: Tensor) -> Tensor:
        return probs(images)[:, concept].mean((1, 2))

    return fraction


@dataclass
class CausalSearch:
    """Result of :func:`causal_unit_search`.

    Attributes:
        concept: the concept name.
        candidates: the units optimised over (ranked by IoU).
        alpha: their optimised weights, same order.
        ranked: candidates ranked by ``alpha`` (highest first).
        history: the objective's effect term per optimisation step.
    """

    concept: str
    candidates: list[int]
    alpha: Tensor
    ranked: list[int]
    history: list[float]

    def to_json(self) -> dict[str, Any]:
        return {
            "concept": self.concept,
            "candidates": self.candidates,
            "alpha": [round(float(a), 5) for a in self.alpha],
            "ranked": self.ranked,
            "history": [round(h, 6) for h in self.history],
        }


def causal_unit_search(
    G: nn.Module,
    layer: str,
    labeler: ConceptLabeler,
    concept: str | int,
    candidates: Sequence[int],
    *,
    value: float | Tensor,
    steps: int = 100,
    lr: float = 0.05,
    l2: float = 0.01,
    batch_size: int = 8,
    seed: int = 0,
    latent_dim: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> CausalSearch:
    """Optimise per-unit intervention weights ``α`` over ``candidates`` (see module docstring).

    Args:
        G: generator; its weights are not changed.
        layer: the layer the units belong to.
        labeler: a labeler with ``probabilities`` (differentiable concept fractions).
        concept: concept name or index.
        candidates: units to optimise over, e.g. the top units by IoU for ``concept``.
        value: insertion value per candidate (``(len(candidates),)``) or one for all.
        steps: Adam steps; each uses a fresh batch of latents (seeds ``seed + step * batch_size``).
        lr: Adam learning rate.
        l2: weight ``λ`` of the ``||α||²`` penalty.
        batch_size: latents per step.
        seed: first latent seed.
        latent_dim: length of ``z`` (default ``G.latent_dim``).
        value_range: range of ``G``'s output.
    """
    k = _concept_index(labeler, concept)
    name = list(labeler.labels)[k]
    fraction = soft_concept_fraction(labeler, k)
    dim = generator_latent_dim(G, latent_dim)
    device = module_device(G)
    G.eval()
    units = list(candidates)
    if not units:
        raise GanscopeError("no candidate units to search over")
    v = torch.as_tensor(value, dtype=torch.float32, device=device).expand(len(units))
    alpha = torch.full((len(units),), 0.5, device=device, requires_grad=True)
    opt = torch.optim.Adam([alpha], lr=lr)
    requires = [q.requires_grad for q in G.parameters()]
    for q in G.parameters():
        q.requires_grad_(False)
    history = []
    try:
        with progress_bar(steps, f"causal units for {name}") as bar:
            for step in range(steps):
                seeds = list(range(seed + step * batch_size, seed + (step + 1) * batch_size))
                z = latents_for_seeds(seeds, dim).to(device)
                with edit_layer(G, layer, lambda x: blend_units(x, units, alpha=alpha, value=v)):
                    inserted = fraction(run_generator(G, z, value_range))
                with edit_layer(G, layer, lambda x: blend_units(x, units, alpha=alpha, value=0.0)):
                    ablated = fraction(run_generator(G, z, value_range))
                effect = (inserted - ablated).mean()
                loss = -effect + l2 * (alpha**2).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():
                    alpha.clamp_(0, 1)
                history.append(effect.item())
                bar.advance(1, effect=effect.item())
    finally:
        for q, r in zip(G.parameters(), requires, strict=True):
            q.requires_grad_(r)
    a = alpha.detach().cpu()
    order = torch.argsort(a, descending=True, stable=True).tolist()
    return CausalSearch(
        concept=name, candidates=units, alpha=a, ranked=[units[i] for i in order], history=history
    )


def effect_curve(
    G: nn.Module,
    layer: str,
    ranked_units: Sequence[int],
    labeler: ConceptLabeler,
    concept: str | int,
    *,
    values: Tensor,
    sizes: Sequence[int] = CURVE_SIZES,
    n_samples: int = 100,
    seed: int = 0,
    latent_dim: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    batch_size: int = 32,
) -> list[dict[str, float]]:
    """The average causal effect of the top ``n`` of ``ranked_units`` for each ``n`` in ``sizes``.

    Args:
        values: insertion value per unit of the layer, ``(U,)`` (e.g. dissection thresholds).

    Returns:
        One ``{"n", "ace", "ace_stderr", "inserted", "ablated", "baseline"}`` per size that does
        not exceed the number of ranked units.
    """
    out = []
    for n in sizes:
        if n > len(ranked_units):
            break
        units = list(ranked_units[:n])
        ace = average_causal_effect(
            G,
            layer,
            units,
            labeler,
            concept,
            value=values[units],
            n_samples=n_samples,
            seed=seed,
            latent_dim=latent_dim,
            value_range=value_range,
            batch_size=batch_size,
        )
        out.append({"n": n, **ace})
    return out
