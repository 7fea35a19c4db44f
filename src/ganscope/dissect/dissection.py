"""Network dissection of a generator layer (Bau et al., "GAN Dissection", ICLR 2019, sec. 3.1).

For every unit (channel) ``u`` of a layer, its feature map ``r_u(z)`` is upsampled to the image
size and thresholded at ``t_u``, the unit's 0.99 quantile over all upsampled pixels of the sample
set (the rule of Bau et al., PNAS 2020; 0.995 is the ICLR variant's choice for some layers). The
thresholded region is compared with each concept's segmentation of the generated image by pooled
IoU (:mod:`ganscope.dissect.iou`); each unit is labelled with its best concept.

Two passes over the same seeds: the first streams the pixels into a reservoir for the quantiles
(:class:`ganscope.dissect.stats.ReservoirQuantiles`) and keeps each unit's top samples, the second
thresholds and accumulates intersections. No pass holds more than one batch of activations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganscope.dissect.concepts import ConceptLabeler, concept_masks
from ganscope.dissect.hooks import record_layers
from ganscope.dissect.iou import IoUAccumulator
from ganscope.dissect.stats import ReservoirQuantiles, TopKSamples
from ganscope.errors import GanscopeError
from ganscope.generators.forward import generator_latent_dim, module_device, run_generator
from ganscope.generators.sample import latents_for_seeds
from ganscope.progress import progress_bar

__all__ = ["DissectionResult", "dissect", "upsample_features"]


def upsample_features(feats: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear upsampling of ``(B, U, h, w)`` feature maps to the image ``size`` (Bau et al.)."""
    if tuple(feats.shape[-2:]) == tuple(size):
        return feats
    return F.interpolate(feats, size=size, mode="bilinear", align_corners=False)


def _layer_output(store: dict[str, Tensor], layer: str) -> Tensor:
    feats = store[layer]
    if feats.dim() != 4:
        raise GanscopeError(
            f"layer {layer!r} outputs shape {tuple(feats.shape)}; dissection needs a (B, C, H, W) "
            "feature map (see --list-layers)"
        )
    return feats.float()


@dataclass
class DissectionResult:
    """What :func:`dissect` measured for one layer.

    Attributes:
        layer: the layer name.
        labels: concept names ``K``.
        quantile: threshold quantile (0.99 by default).
        thresholds: ``(U,)`` per-unit activation threshold ``t_u``.
        iou: ``(U, K)`` pooled IoU.
        iou_low, iou_high: ``(U, K)`` bootstrap interval.
        mean_active: ``(U,)`` mean upsampled activation where above threshold (an insertion value).
        top_seeds, top_scores: ``(U, k)`` seeds of the samples with the highest peak activation.
        concept_fraction: ``(K,)`` fraction of pixels each concept covers in the samples.
        seeds: the sample seeds.
        settings: the resolved options (threshold rule, reservoir size, ...).
    """

    layer: str
    labels: list[str]
    quantile: float
    thresholds: Tensor
    iou: Tensor
    iou_low: Tensor
    iou_high: Tensor
    mean_active: Tensor
    top_seeds: Tensor
    top_scores: Tensor
    concept_fraction: Tensor
    seeds: list[int]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return int(self.thresholds.shape[0])

    def best_concept(self) -> tuple[Tensor, Tensor]:
        """Each unit's best concept index and its IoU, ``((U,), (U,))`` (zeros without concepts)."""
        if not self.labels:
            return torch.zeros(self.n_units, dtype=torch.int64), torch.zeros(self.n_units)
        best, idx = self.iou.max(dim=1)
        return idx, best

    def units_for(self, concept: str | int, *, min_iou: float = 0.0) -> list[int]:
        """Units ranked by IoU with ``concept`` (highest first), keeping IoU > ``min_iou``."""
        k = self.labels.index(concept) if isinstance(concept, str) else int(concept)
        order = torch.argsort(self.iou[:, k], descending=True, stable=True)
        return [int(u) for u in order if self.iou[u, k] > min_iou]

    def summary(self, *, min_iou: float = 0.04) -> dict[str, int]:
        """How many units have each concept as best match with IoU above ``min_iou`` (the
        "comparing layers" count; 0.04 is Network Dissection's cut-off, Bau et al. CVPR 2017)."""
        idx, best = self.best_concept()
        return {
            name: int(((idx == k) & (best > min_iou)).sum()) for k, name in enumerate(self.labels)
        }

    def to_json(self, *, min_iou: float = 0.04) -> dict[str, Any]:
        """A JSON-ready dict (``results.json``)."""
        idx, best = self.best_concept()
        units = []
        for u in range(self.n_units):
            k = int(idx[u])
            units.append(
                {
                    "unit": u,
                    "label": self.labels[k] if self.labels and best[u] > min_iou else None,
                    "best_concept": self.labels[k] if self.labels else None,
                    "iou": float(best[u]),
                    "iou_interval": (
                        [float(self.iou_low[u, k]), float(self.iou_high[u, k])]
                        if self.labels
                        else []
                    ),
                    "threshold": float(self.thresholds[u]),
                    "mean_active": float(self.mean_active[u]),
                    "top_seeds": [int(s) for s in self.top_seeds[u]],
                    "top_scores": [float(s) for s in self.top_scores[u]],
                }
            )
        concepts = {}
        for k, name in enumerate(self.labels):
            ranked = self.units_for(k, min_iou=min_iou)
            concepts[name] = {
                "pixel_fraction": float(self.concept_fraction[k]),
                "units": ranked,
                "iou": [float(self.iou[u, k]) for u in ranked],
            }
        return {
            "layer": self.layer,
            "n_units": self.n_units,
            "labels": self.labels,
            "threshold_rule": {
                "quantile": self.quantile,
                "over": "all bilinearly upsampled pixels of the sample set (Bau et al., PNAS 2020)",
                "estimator": self.settings.get("estimator", ""),
            },
            "min_iou": min_iou,
            "n_samples": len(self.seeds),
            "seeds": [self.seeds[0], self.seeds[-1]] if self.seeds else [],
            "summary": self.summary(min_iou=min_iou),
            "units": units,
            "concepts": concepts,
            "iou": self.iou.tolist(),
            "settings": self.settings,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DissectionResult:
        """Rebuild from :meth:`to_json` (intervals and top samples included)."""
        units = d["units"]
        labels = list(d["labels"])
        iou = torch.tensor(d["iou"], dtype=torch.float32).view(len(units), len(labels))
        low, high = iou.clone(), iou.clone()
        for u in units if labels else []:
            k = labels.index(u["best_concept"])
            low[u["unit"], k], high[u["unit"], k] = u["iou_interval"]
        s0, s1 = d["seeds"] if d["seeds"] else (0, -1)
        return cls(
            layer=d["layer"],
            labels=labels,
            quantile=d["threshold_rule"]["quantile"],
            thresholds=torch.tensor([u["threshold"] for u in units]),
            iou=iou,
            iou_low=low,
            iou_high=high,
            mean_active=torch.tensor([u["mean_active"] for u in units]),
            top_seeds=torch.tensor([u["top_seeds"] for u in units], dtype=torch.int64),
            top_scores=torch.tensor([u["top_scores"] for u in units]),
            concept_fraction=torch.tensor([d["concepts"][n]["pixel_fraction"] for n in labels]),
            seeds=list(range(s0, s1 + 1)),
            settings=d.get("settings", {}),
        )


@torch.no_grad()
def dissect(
    G: nn.Module,
    layer: str,
    labeler: ConceptLabeler | None,
    *,
    latent_dim: int | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    quantile: float = 0.99,
    batch_size: int = 16,
    reservoir_size: int = 65536,
    top_k: int = 8,
    n_bootstrap: int = 200,
    value_range: tuple[float, float] = (0.0, 1.0),
    device: torch.device | str | None = None,
) -> DissectionResult:
    """Dissect ``layer`` of generator ``G``: label each unit with the concept it matches best.

    Args:
        G: any module mapping ``z (B, latent_dim)`` to images ``(B, 3, H, W)`` in ``value_range``.
        layer: a name from ``G.named_modules()`` whose output is ``(B, U, h, w)``.
        labeler: concepts (see :mod:`ganscope.dissect.concepts`); ``None`` measures only the unit
            statistics (thresholds, mean activation when active, top samples).
        latent_dim: length of ``z`` (default ``G.latent_dim``).
        n_samples: samples ``seed .. seed + n_samples - 1``.
        seed: first sample seed.
        quantile: the threshold quantile (0.99, or the 0.995 variant).
        batch_size: samples per forward pass.
        reservoir_size: pixel positions kept for the quantile estimate; exact when the sample set
            has at most this many pixels.
        top_k: top activating samples kept per unit.
        n_bootstrap: bootstrap resamples for the IoU intervals (0: none).
        value_range: range of ``G``'s output (``(-1, 1)`` for ganscope's generators).
        device: where to run (default: where ``G``'s parameters are).

    Returns:
        A :class:`DissectionResult`.
    """
    if not 0.5 <= quantile < 1:
        raise GanscopeError(f"the threshold quantile must be in [0.5, 1), got {quantile}")
    if n_samples < 1:
        raise GanscopeError(f"need at least one sample, got {n_samples}")
    dim = generator_latent_dim(G, latent_dim)
    device = module_device(G, device)
    G.eval().to(device)
    seeds = list(range(seed, seed + n_samples))
    batches = [seeds[i : i + batch_size] for i in range(0, n_samples, batch_size)]

    # Pass 1: quantiles (reservoir over upsampled pixels) and top activating samples.
    rq: ReservoirQuantiles | None = None
    topk: TopKSamples | None = None
    with (
        record_layers(G, [layer]) as store,
        progress_bar(2 * n_samples, f"dissecting {layer}") as bar,
    ):
        for chunk in batches:
            z = latents_for_seeds(chunk, dim).to(device)
            images = run_generator(G, z, value_range)
            feats = _layer_output(store, layer)
            if rq is None:
                rq = ReservoirQuantiles(feats.shape[1], size=reservoir_size, seed=seed)
                topk = TopKSamples(feats.shape[1], k=top_k)
            rq.update(upsample_features(feats, images.shape[-2:]))
            topk.update(feats.amax(dim=(2, 3)), torch.tensor(chunk))
            bar.advance(len(chunk))
        assert rq is not None and topk is not None
        thresholds = rq.quantile(quantile).to(device)  # (U,)

        # Pass 2: threshold, segment, intersect.
        n_units = thresholds.shape[0]
        labels = list(labeler.labels) if labeler is not None else []
        acc = IoUAccumulator(n_units, len(labels))
        active_sum = torch.zeros(n_units, dtype=torch.float64)
        active_count = torch.zeros(n_units, dtype=torch.float64)
        n_pixels = 0
        for chunk in batches:
            z = latents_for_seeds(chunk, dim).to(device)
            images = run_generator(G, z, value_range)
            if labeler is not None:
                masks = concept_masks(labeler, images)  # (B, K, H', W')
            else:
                masks = images.new_zeros(images.shape[0], 0, *images.shape[-2:], dtype=torch.bool)
            up = upsample_features(_layer_output(store, layer), masks.shape[-2:])  # (B, U, H', W')
            unit_masks = up > thresholds[None, :, None, None]
            acc.update(unit_masks, masks)
            active_sum += (up * unit_masks).sum((0, 2, 3)).double().cpu()
            active_count += unit_masks.sum((0, 2, 3)).double().cpu()
            n_pixels += masks.shape[0] * masks.shape[2] * masks.shape[3]
            bar.advance(len(chunk))

    iou = acc.iou()
    if n_bootstrap > 0:
        low, high = acc.bootstrap(n_boot=n_bootstrap, seed=seed)
    else:
        low, high = iou.clone(), iou.clone()
    mean_active = torch.where(
        active_count > 0, active_sum / active_count.clamp(min=1), thresholds.double().cpu()
    )
    exact = rq.n_seen <= reservoir_size
    return DissectionResult(
        layer=layer,
        labels=labels,
        quantile=quantile,
        thresholds=thresholds.float().cpu(),
        iou=iou,
        iou_low=low,
        iou_high=high,
        mean_active=mean_active.float(),
        top_seeds=topk.ids,
        top_scores=topk.scores,
        concept_fraction=(acc.concept_pixels() / max(n_pixels, 1)).float(),
        seeds=seeds,
        settings={
            "estimator": (
                "exact (all pixels kept)"
                if exact
                else f"uniform random reservoir of {reservoir_size} of {rq.n_seen} pixel positions"
            ),
            "reservoir_size": reservoir_size,
            "n_bootstrap": n_bootstrap,
            "bootstrap_level": 0.95,
            "batch_size": batch_size,
            "value_range": list(value_range),
            "top_k": top_k,
        },
    )
