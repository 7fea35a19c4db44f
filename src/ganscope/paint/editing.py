"""Deterministic GAN Paint edits: a concept's causal units forced on or off inside a mask.

Bau et al. ("Semantic Photo Manipulation with a Generative Image Prior", SIGGRAPH 2019; GAN
Dissection, ICLR 2019, eq. 5) edit a layer's featuremap ``r`` with a spatial mask ``P`` and the
concept's units ``U``:

    r'_U = (1 - a P) ⊙ r_U + a P ⊙ k_U        (add: k_U = the units' insertion values)
    r'_U = (1 - a P) ⊙ r_U                      (remove: k_U = 0)

Here ``a`` is the edit's ``strength`` in [0, 1] and ``P`` the brushed image mask averaged over each
feature cell (a cell half covered by the brush gets half the weight). Edits are applied in order,
so a later edit sees the earlier ones. Every sample is ``G(z(seed))`` with the latent of
:func:`ganscope.generators.latents_for_seeds` and ``G`` in eval mode, so an edit list always gives
the same image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganscope.dissect.concepts import ConceptLabeler, concept_masks
from ganscope.dissect.hooks import hook_layers
from ganscope.dissect.intervention import blend_units
from ganscope.errors import GanscopeError
from ganscope.generators.forward import (
    OUTPUT_RANGE,
    generator_latent_dim,
    module_device,
    run_generator,
)
from ganscope.generators.sample import latents_for_seeds
from ganscope.paint.units import PaintUnits
from ganscope.report.html import png_bytes

__all__ = [
    "MAX_EDITS",
    "MAX_SEED",
    "Edit",
    "Painter",
    "box_to_mask",
    "feature_mask",
    "parse_edits",
    "png_bytes",
]

#: Largest seed accepted (latents are seeded with ``torch.Generator.manual_seed``).
MAX_SEED = 2**63 - 1
#: Edits per request: an undo history longer than this is unusual and costs a forward pass each.
MAX_EDITS = 256
MODES = ("add", "remove")


@dataclass(frozen=True)
class Edit:
    """One brush stroke.

    Attributes:
        concept: a concept with causal units.
        mode: ``"add"`` (force units to their insertion values) or ``"remove"`` (to zero).
        mask: ``(S, S)`` float weights in [0, 1] over image pixels.
        strength: the blend weight ``a`` in [0, 1].
    """

    concept: str
    mode: str
    mask: Tensor
    strength: float = 1.0


def box_to_mask(box: Sequence[float], size: int) -> Tensor:
    """A ``(size, size)`` 0/1 mask of the image-pixel box ``(x0, y0, x1, y1)`` (``x1``, ``y1``
    exclusive; clipped to the image).

    Example:
        >>> box_to_mask([1, 0, 3, 2], 4)[:, :]
        tensor([[0., 1., 1., 0.],
                [0., 1., 1., 0.],
                [0., 0., 0., 0.],
                [0., 0., 0., 0.]])
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    ys = torch.arange(size, dtype=torch.float32) + 0.5  # pixel centres
    inside_y = (ys >= y0) & (ys < y1)
    inside_x = (ys >= x0) & (ys < x1)
    return (inside_y[:, None] & inside_x[None, :]).float()


def feature_mask(mask: Tensor, feature_hw: tuple[int, int]) -> Tensor:
    """The share of each feature cell covered by an image mask: ``(S, S)`` → ``(h, w)``.

    Area averaging when the image side is a multiple of the feature side (every cell is a block of
    pixels); bilinear resampling otherwise.
    """
    h, w = feature_hw
    m = mask.float()[None, None]  # (1, 1, S, S)
    S_h, S_w = mask.shape
    if S_h % h == 0 and S_w % w == 0:
        return F.avg_pool2d(m, (S_h // h, S_w // w))[0, 0]
    return F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)[0, 0].clamp(0, 1)


def _number(value: Any, what: str) -> float:
    # bool is an int subclass in Python; JSON true is not a number here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GanscopeError(f"{what} must be a number")
    v = float(value)
    if v != v or v in (float("inf"), float("-inf")):
        raise GanscopeError(f"{what} must be finite")
    return v


def parse_seed(value: Any) -> int:
    """A seed from JSON: an integer in ``[0, 2**63 - 1]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise GanscopeError("'seed' must be an integer")
    if not 0 <= value <= MAX_SEED:
        raise GanscopeError(f"'seed' must be in 0..{MAX_SEED}")
    return value


def parse_edits(raw: Any, concepts: Sequence[str], size: int) -> list[Edit]:
    """Validate the ``edits`` list of an API request (see :mod:`ganscope.paint.app`).

    Each edit is ``{"concept", "mode": "add"|"remove", "mask": S×S 0/1 | "box": [x0, y0, x1, y1],
    "strength": float in [0, 1] (default 1)}``.

    Raises:
        GanscopeError: with a one-line reason naming the offending edit.
    """
    if not isinstance(raw, list):
        raise GanscopeError("'edits' must be a list")
    if len(raw) > MAX_EDITS:
        raise GanscopeError(f"at most {MAX_EDITS} edits per request, got {len(raw)}")
    edits = []
    for i, e in enumerate(raw):
        where = f"edits[{i}]"
        if not isinstance(e, dict):
            raise GanscopeError(f"{where} must be an object")
        unknown = set(e) - {"concept", "mode", "mask", "box", "strength"}
        if unknown:
            raise GanscopeError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        concept = e.get("concept")
        if concept not in concepts:
            raise GanscopeError(
                f"{where}: unknown concept {concept!r}; paintable: {', '.join(concepts)}"
            )
        mode = e.get("mode")
        if mode not in MODES:
            raise GanscopeError(f"{where}: mode must be 'add' or 'remove', not {mode!r}")
        strength = _number(e.get("strength", 1.0), f"{where}.strength")
        if not 0.0 <= strength <= 1.0:
            raise GanscopeError(f"{where}.strength must be in [0, 1], got {strength}")
        if ("mask" in e) == ("box" in e):
            raise GanscopeError(f"{where} needs exactly one of 'mask' and 'box'")
        if "box" in e:
            box = e["box"]
            if not isinstance(box, list) or len(box) != 4:
                raise GanscopeError(f"{where}.box must be [x0, y0, x1, y1]")
            x0, y0, x1, y1 = (_number(v, f"{where}.box") for v in box)
            if not (x1 > x0 and y1 > y0):
                raise GanscopeError(f"{where}.box needs x1 > x0 and y1 > y0")
            mask = box_to_mask((x0, y0, x1, y1), size)
        else:
            mask = _parse_mask(e["mask"], size, where)
        edits.append(Edit(str(concept), str(mode), mask, strength))
    return edits


def _parse_mask(raw: Any, size: int, where: str) -> Tensor:
    shape_msg = f"{where}.mask must be a {size}x{size} list of rows of 0/1"
    if not isinstance(raw, list) or len(raw) != size:
        raise GanscopeError(shape_msg)
    for row in raw:
        if not isinstance(row, list) or len(row) != size:
            raise GanscopeError(shape_msg)
        for v in row:
            if isinstance(v, bool) or v not in (0, 1):
                raise GanscopeError(shape_msg)
    return torch.tensor(raw, dtype=torch.float32)


class Painter:
    """Render and segment edited samples of a generator.

    Args:
        G: a generator with ``latent_dim`` (any family; layers are addressed by module name).
        labeler: the segmenter that measures concepts (``labels`` must include every painted
            concept).
        units: the causal units per concept (:func:`ganscope.paint.find_paint_units`).
        value_range: the range of ``G``'s output (ganscope's generators: ``(-1, 1)``).

    Example:
        >>> painter = Painter(G, labeler, units)  # doctest: +SKIP
        >>> png = png_bytes(painter.render(7, [Edit("tree", "remove", mask)]))  # doctest: +SKIP
    """

    def __init__(
        self,
        G: nn.Module,
        labeler: ConceptLabeler,
        units: PaintUnits,
        *,
        value_range: tuple[float, float] = OUTPUT_RANGE,
    ) -> None:
        self.G = G.eval()
        self.labeler = labeler
        self.units = units
        self.value_range = value_range
        self.latent_dim = generator_latent_dim(G, None)
        self.device = module_device(G)
        labels = list(labeler.labels)
        missing = [c for c in units.concepts if c not in labels]
        if missing:
            raise GanscopeError(
                f"the segmenter does not know the concept(s) {', '.join(missing)} "
                f"(it knows {', '.join(labels)})"
            )
        names = {n for n, _ in G.named_modules()}
        for cu in units.concepts.values():
            if cu.layer not in names:
                raise GanscopeError(
                    f"concept {cu.concept!r}: the generator has no layer {cu.layer!r}"
                )
        with torch.no_grad():
            self.size = int(self._forward(torch.zeros(1, self.latent_dim), []).shape[-1])

    @property
    def concepts(self) -> list[str]:
        """The paintable concepts, in the segmenter's label order."""
        return list(self.units.concepts)

    def _forward(self, z: Tensor, edits: Sequence[Edit]) -> Tensor:
        by_layer: dict[str, list[Edit]] = {}
        for e in edits:
            by_layer.setdefault(self.units.concepts[e.concept].layer, []).append(e)

        def make_hook(layer_edits: list[Edit]) -> Any:
            def hook(_m: nn.Module, _inp: Any, out: Any) -> Any:
                if not isinstance(out, Tensor):
                    raise GanscopeError("GAN Paint can only edit layers that return a tensor")
                x = out
                for e in layer_edits:
                    cu = self.units.concepts[e.concept]
                    m = feature_mask(e.mask, tuple(x.shape[-2:])).to(x.device, x.dtype)
                    value = (
                        torch.tensor(cu.values, dtype=x.dtype, device=x.device)
                        if e.mode == "add"
                        else 0.0
                    )
                    x = blend_units(x, cu.units, alpha=e.strength, value=value, mask=m)
                return x

            return hook

        with hook_layers(self.G, {layer: make_hook(es) for layer, es in by_layer.items()}):
            return run_generator(self.G, z.to(self.device), self.value_range)

    @torch.no_grad()
    def render(self, seed: int, edits: Sequence[Edit] = ()) -> Tensor:
        """The edited sample of ``seed``: ``(3, S, S)`` float32 on the CPU in [0, 1]."""
        z = latents_for_seeds([seed], self.latent_dim)
        return self._forward(z, edits)[0].float().cpu()

    @torch.no_grad()
    def render_batch(self, seeds: Sequence[int], edits: Sequence[Edit] = ()) -> Tensor:
        """Like :meth:`render` for several seeds with the same edits: ``(N, 3, S, S)``."""
        z = latents_for_seeds(list(seeds), self.latent_dim)
        return self._forward(z, edits).float().cpu()

    @torch.no_grad()
    def segment(self, images: Tensor) -> Tensor:
        """Boolean concept masks ``(N, K, S, S)`` of ``images`` (K = the segmenter's labels)."""
        return concept_masks(self.labeler, images).cpu()

    def fractions(self, images: Tensor, region: Tensor | None = None) -> dict[str, list[float]]:
        """Per paintable concept, the fraction of each image's pixels (inside ``region``, an
        ``(S, S)`` 0/1 mask, if given) that the segmenter labels with it."""
        masks = self.segment(images).float()
        labels = list(self.labeler.labels)
        if region is None:
            region = torch.ones(masks.shape[-2:])
        w = region.float()
        total = float(w.sum())
        if total == 0:
            raise GanscopeError("the region is empty")
        out = {}
        for c in self.concepts:
            k = labels.index(c)
            out[c] = ((masks[:, k] * w).sum((1, 2)) / total).tolist()
        return out
