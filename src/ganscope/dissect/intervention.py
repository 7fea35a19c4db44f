"""Interventions on units: ablation, insertion and their average causal effect on a concept.

Bau et al. ("GAN Dissection", ICLR 2019, sec. 3.2) decompose a layer's featuremap ``r`` into the
units ``U`` under study and the rest, and force ``U`` off (ablation, ``r_U = 0``) or on (insertion,
``r_U = k``, a constant). One blend primitive covers both and its soft, per-unit and spatial
generalisations (their eq. 5, with ``α`` a per-unit weight and ``P`` a spatial mask):

    r' = (1 - α ⊙ P) ⊙ r + (α ⊙ P) ⊙ k

The average causal effect of ``U`` on concept ``c`` is
``δ_{U→c} = E_z[s_c(x_inserted)] - E_z[s_c(x_ablated)]`` (their eq. 4), with ``s_c`` the fraction
of the image the segmenter labels ``c``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganscope.dissect.concepts import ConceptLabeler, concept_masks
from ganscope.dissect.hooks import edit_layer
from ganscope.errors import GanscopeError
from ganscope.generators.forward import generator_latent_dim, module_device, run_generator
from ganscope.generators.sample import latents_for_seeds
from ganscope.progress import progress_bar

__all__ = [
    "Intervention",
    "average_causal_effect",
    "blend_units",
    "box_mask",
    "generate",
    "intervened",
]


def blend_units(
    x: Tensor,
    units: Sequence[int] | Tensor,
    *,
    alpha: float | Tensor = 1.0,
    value: float | Tensor = 0.0,
    mask: Tensor | None = None,
) -> Tensor:
    """``x' = (1 - a) * x + a * v`` on the channels ``units`` of a feature map.

    Args:
        x: feature map ``(B, U, h, w)``.
        units: channel indices to edit.
        alpha: per-unit weight in [0, 1], a float or ``(len(units),)`` (differentiable).
        value: the value ``v`` forced in, a float or ``(len(units),)``; 0 ablates.
        mask: optional spatial weight ``(h, w)`` or ``(B, 1, h, w)`` in [0, 1].

    Returns:
        The edited map; channels not in ``units`` are untouched.

    Example:
        >>> x = torch.ones(1, 3, 2, 2)
        >>> blend_units(x, [1], alpha=0.25, value=5.0)[0, :, 0, 0]
        tensor([1., 2., 1.])
    """
    idx = torch.as_tensor(units, dtype=torch.int64, device=x.device).reshape(-1)
    n = x.shape[1]
    if idx.numel() and (idx.min() < 0 or idx.max() >= n):
        raise GanscopeError(f"unit indices must be in 0..{n - 1}, got {idx.tolist()}")
    a_sel = torch.as_tensor(alpha, dtype=x.dtype, device=x.device).expand(idx.shape[0])
    v_sel = torch.as_tensor(value, dtype=x.dtype, device=x.device).expand(idx.shape[0])
    a = torch.zeros(n, dtype=x.dtype, device=x.device).index_put((idx,), a_sel)
    v = torch.zeros(n, dtype=x.dtype, device=x.device).index_put((idx,), v_sel)
    a = a[None, :, None, None]  # (1, U, 1, 1)
    if mask is not None:
        m = mask.to(device=x.device, dtype=x.dtype)
        a = a * (m[None, None] if m.dim() == 2 else m)
    return x + a * (v[None, :, None, None] - x)


def box_mask(
    where: tuple[float, float, float, float], feature_hw: tuple[int, int], image_hw: tuple[int, int]
) -> Tensor:
    """A ``(h, w)`` 0/1 mask of the feature cells whose centres fall in an image-pixel box.

    Args:
        where: ``(x0, y0, x1, y1)`` in image pixels, ``x1``/``y1`` exclusive.
        feature_hw: the feature map's ``(h, w)``.
        image_hw: the generated image's ``(H, W)``.
    """
    x0, y0, x1, y1 = where
    h, w = feature_hw
    H, W = image_hw
    cy = (torch.arange(h, dtype=torch.float32) + 0.5) * H / h
    cx = (torch.arange(w, dtype=torch.float32) + 0.5) * W / w
    m = ((cy >= y0) & (cy < y1))[:, None] & ((cx >= x0) & (cx < x1))[None, :]
    if not m.any():
        # A box smaller than one feature cell still selects the cell under its centre.
        iy = min(int((y0 + y1) / 2 * h / H), h - 1)
        ix = min(int((x0 + x1) / 2 * w / W), w - 1)
        m[iy, ix] = True
    return m.float()


@dataclass
class Intervention:
    """Force ``units`` of ``layer`` towards ``value`` with weight ``alpha`` (optionally only
    inside ``where``, an image-pixel box ``(x0, y0, x1, y1)``).

    ``Intervention.ablate(layer, units)`` and ``Intervention.insert(layer, units, values)`` are the
    two modes of the paper.
    """

    layer: str
    units: list[int]
    value: float | Tensor = 0.0
    alpha: float | Tensor = 1.0
    where: tuple[float, float, float, float] | None = None
    image_hw: tuple[int, int] | None = None

    @classmethod
    def ablate(cls, layer: str, units: Sequence[int], **kw: Any) -> Intervention:
        return cls(layer, list(units), value=0.0, **kw)

    @classmethod
    def insert(
        cls, layer: str, units: Sequence[int], value: float | Tensor, **kw: Any
    ) -> Intervention:
        return cls(layer, list(units), value=value, **kw)

    def edit(self, x: Tensor) -> Tensor:
        mask = None
        if self.where is not None:
            if self.image_hw is None:
                raise GanscopeError("a spatial intervention needs the image size (image_hw)")
            mask = box_mask(self.where, tuple(x.shape[-2:]), self.image_hw)
        return blend_units(x, self.units, alpha=self.alpha, value=self.value, mask=mask)


@contextlib.contextmanager
def intervened(G: nn.Module, intervention: Intervention | None) -> Iterator[nn.Module]:
    """Within the block, every forward pass of ``G`` applies ``intervention`` (none: unchanged)."""
    if intervention is None:
        yield G
        return
    with edit_layer(G, intervention.layer, intervention.edit):
        yield G


@torch.no_grad()
def generate(
    G: nn.Module,
    seeds: Sequence[int],
    *,
    intervention: Intervention | None = None,
    latent_dim: int | None = None,
    batch_size: int = 32,
    value_range: tuple[float, float] = (0.0, 1.0),
    device: torch.device | str | None = None,
) -> Tensor:
    """Images ``(N, 3, H, W)`` in [0, 1] on the CPU for ``seeds``, with an optional intervention.

    Sample ``s`` uses the latent of :func:`ganscope.generators.latents_for_seeds`, so it is the
    image ``seed{s:06d}.png`` of ``ganscope gan sample``.
    """
    dim = generator_latent_dim(G, latent_dim)
    device = module_device(G, device)
    G.eval().to(device)
    out = []
    with intervened(G, intervention):
        for i in range(0, len(seeds), batch_size):
            z = latents_for_seeds(seeds[i : i + batch_size], dim).to(device)
            out.append(run_generator(G, z, value_range).float().cpu())
    return torch.cat(out) if out else torch.empty(0, 3, 0, 0)


def _concept_index(labeler: ConceptLabeler, concept: str | int) -> int:
    if isinstance(concept, int):
        return concept
    labels = list(labeler.labels)
    if concept not in labels:
        raise GanscopeError(f"unknown concept {concept!r}; known: {', '.join(labels)}")
    return labels.index(concept)


@torch.no_grad()
def average_causal_effect(
    G: nn.Module,
    layer: str,
    units: Sequence[int],
    labeler: ConceptLabeler,
    concept: str | int,
    *,
    value: float | Tensor,
    alpha: float | Tensor = 1.0,
    where: tuple[float, float, float, float] | None = None,
    n_samples: int = 200,
    seed: int = 0,
    latent_dim: int | None = None,
    batch_size: int = 32,
    value_range: tuple[float, float] = (0.0, 1.0),
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Average causal effect of ``units`` on ``concept`` (Bau et al. 2019, eq. 4).

    ``E[fraction of c | units inserted at value] - E[fraction of c | units ablated]``, measured by
    ``labeler`` on the generated images of seeds ``seed .. seed + n_samples - 1``.

    Returns:
        ``{"ace", "ace_stderr", "inserted", "ablated", "baseline"}`` (concept fractions; the
        standard error is over samples, the effect being paired per sample).
    """
    k = _concept_index(labeler, concept)
    dim = generator_latent_dim(G, latent_dim)
    device = module_device(G, device)
    G.eval().to(device)
    seeds = list(range(seed, seed + n_samples))
    fr: dict[str, list[Tensor]] = {"inserted": [], "ablated": [], "baseline": []}
    with progress_bar(n_samples, "causal effect") as bar:
        for i in range(0, n_samples, batch_size):
            z = latents_for_seeds(seeds[i : i + batch_size], dim).to(device)
            image_hw = None
            for mode in ("baseline", "inserted", "ablated"):
                iv = None
                if mode != "baseline":
                    v = value if mode == "inserted" else 0.0
                    iv = Intervention(
                        layer, list(units), value=v, alpha=alpha, where=where, image_hw=image_hw
                    )
                with intervened(G, iv):
                    images = run_generator(G, z, value_range)
                image_hw = tuple(images.shape[-2:])
                masks = concept_masks(labeler, images)[:, k]
                fr[mode].append(masks.float().mean((1, 2)).cpu())
            bar.advance(z.shape[0])
    f = {m: torch.cat(v).double() for m, v in fr.items()}
    diff = f["inserted"] - f["ablated"]
    stderr = diff.std() / diff.numel() ** 0.5 if diff.numel() > 1 else torch.tensor(0.0)
    return {
        "ace": float(diff.mean()),
        "ace_stderr": float(stderr),
        "inserted": float(f["inserted"].mean()),
        "ablated": float(f["ablated"].mean()),
        "baseline": float(f["baseline"].mean()),
    }
