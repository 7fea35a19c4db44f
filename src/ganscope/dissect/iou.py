"""Pooled intersection-over-union between unit masks and concept masks, with bootstrap intervals.

GAN Dissection (Bau et al. 2019, eq. 1) scores the agreement of unit ``u`` and concept ``c`` as

    IoU(u, c) = Σ_x |m_u(x) ∧ s_c(x)| / Σ_x |m_u(x) ∨ s_c(x)|

pooled over all samples ``x`` (sums of intersections over sums of unions, not a mean of
per-image IoUs), where ``m_u`` is the unit's upsampled, thresholded feature map and ``s_c`` the
concept's segmentation. Intersections of all ``U`` units with all ``K`` concepts come from one
batched matrix product of the flattened boolean masks.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["IoUAccumulator", "mask_intersections", "pooled_iou"]


def mask_intersections(unit_masks: Tensor, concept_masks: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample pixel counts of unit ∧ concept, of each unit and of each concept.

    Args:
        unit_masks: ``(B, U, H, W)`` bool.
        concept_masks: ``(B, K, H, W)`` bool.

    Returns:
        ``(inter (B, U, K), unit_area (B, U), concept_area (B, K))`` as float32 counts (exact up
        to 2^24 pixels per image).
    """
    if (
        unit_masks.shape[0] != concept_masks.shape[0]
        or unit_masks.shape[2:] != concept_masks.shape[2:]
    ):
        raise ValueError(
            f"mask shapes disagree: units {tuple(unit_masks.shape)}, "
            f"concepts {tuple(concept_masks.shape)}"
        )
    u = unit_masks.flatten(2).float()  # (B, U, P)
    c = concept_masks.flatten(2).float()  # (B, K, P)
    inter = torch.bmm(u, c.transpose(1, 2))  # (B, U, K)
    return inter, u.sum(2), c.sum(2)


def pooled_iou(unit_masks: Tensor, concept_masks: Tensor) -> Tensor:
    """Pooled IoU ``(U, K)`` of one set of masks (see module docstring); 0 where the union is 0."""
    inter, ua, ca = mask_intersections(unit_masks, concept_masks)
    i = inter.sum(0)
    union = ua.sum(0)[:, None] + ca.sum(0)[None, :] - i
    return torch.where(union > 0, i / union.clamp(min=1), torch.zeros_like(i))


class IoUAccumulator:
    """Accumulates per-sample intersections and areas; pooled IoU and bootstrap intervals.

    Per-sample counts are kept (``N * U * K`` floats) so the bootstrap can resample samples.

    Args:
        n_units: ``U``.
        n_concepts: ``K``.
    """

    def __init__(self, n_units: int, n_concepts: int) -> None:
        self.n_units, self.n_concepts = n_units, n_concepts
        self._inter: list[Tensor] = []
        self._ua: list[Tensor] = []
        self._ca: list[Tensor] = []

    def update(self, unit_masks: Tensor, concept_masks: Tensor) -> None:
        """Add a batch: ``unit_masks (B, U, H, W)`` and ``concept_masks (B, K, H, W)``, bool."""
        inter, ua, ca = mask_intersections(unit_masks, concept_masks)
        self._inter.append(inter.cpu())
        self._ua.append(ua.cpu())
        self._ca.append(ca.cpu())

    @property
    def n_samples(self) -> int:
        return sum(t.shape[0] for t in self._inter)

    def _stacked(self) -> tuple[Tensor, Tensor, Tensor]:
        if not self._inter:
            raise ValueError("no samples added")
        return (
            torch.cat(self._inter).double(),
            torch.cat(self._ua).double(),
            torch.cat(self._ca).double(),
        )

    @staticmethod
    def _iou(inter: Tensor, ua: Tensor, ca: Tensor) -> Tensor:
        union = ua[..., :, None] + ca[..., None, :] - inter
        return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))

    def iou(self) -> Tensor:
        """Pooled IoU ``(U, K)`` over all samples added."""
        inter, ua, ca = self._stacked()
        return self._iou(inter.sum(0), ua.sum(0), ca.sum(0)).float()

    def concept_pixels(self) -> Tensor:
        """Pixels covered by each concept ``(K,)`` over all samples."""
        _, _, ca = self._stacked()
        return ca.sum(0)

    def bootstrap(
        self, *, n_boot: int = 200, level: float = 0.95, seed: int = 0
    ) -> tuple[Tensor, Tensor]:
        """Percentile bootstrap interval ``(low (U, K), high (U, K))`` of the pooled IoU.

        Samples are resampled with replacement ``n_boot`` times; each resample is a vector of
        sample counts, so pooled sums are one matrix product.
        """
        inter, ua, ca = self._stacked()
        n = inter.shape[0]
        g = torch.Generator().manual_seed(seed)
        idx = torch.randint(0, n, (n_boot, n), generator=g)
        w = torch.zeros(n_boot, n, dtype=torch.float64).scatter_add_(
            1, idx, torch.ones(n_boot, n, dtype=torch.float64)
        )  # (n_boot, N) resample counts
        i_b = (w @ inter.flatten(1)).view(n_boot, self.n_units, self.n_concepts)
        iou_b = self._iou(i_b, w @ ua, w @ ca)
        alpha = (1 - level) / 2
        qs = torch.tensor([alpha, 1 - alpha], dtype=torch.float64)
        lo, hi = torch.quantile(iou_b, qs, dim=0)
        return lo.float(), hi.float()
