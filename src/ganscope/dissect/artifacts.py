"""Artifact units: units whose activity predicts spectral artifacts, and what ablating them does.

GAN Dissection (Bau et al. 2019, sec. 4.3) found units that cause visible artifacts by asking
people to label the top images of each unit, then showed that ablating them improves FID. ganscope
needs no human labels: an image's *spectral excess* is its mean local energy at the frequencies an
upsampling layer leaves behind (:class:`ganscope.dissect.concepts.SpectralArtifactLabeler`;
Durall et al. 2020 show these excesses in the spectra of up-convolutional generators). A unit is
an artifact unit when its mean activation per image correlates with the image's spectral excess
(Pearson, over samples). Ablating the top units is then judged by the spectral distance and the
sliced Wasserstein distance to real images (:mod:`ganscope.generators.metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganscope.dissect.concepts import SpectralArtifactLabeler
from ganscope.dissect.hooks import record_layers
from ganscope.dissect.intervention import Intervention, generate
from ganscope.errors import GanscopeError
from ganscope.generators.forward import generator_latent_dim, module_device, run_generator
from ganscope.generators.sample import latents_for_seeds
from ganscope.progress import progress_bar

__all__ = ["ArtifactUnits", "artifact_ablation", "find_artifact_units"]


@dataclass
class ArtifactUnits:
    """Per-unit Pearson correlation between mean activation and spectral excess.

    Attributes:
        layer: the layer.
        correlation: ``(U,)``; NaN-free (a constant unit has correlation 0).
        ranked: units by correlation, highest first.
        mean_excess: mean spectral excess of the samples.
        n_samples: samples used.
        factor: upsampling factor whose frequencies were probed.
    """

    layer: str
    correlation: Tensor
    ranked: list[int]
    mean_excess: float
    n_samples: int
    factor: int

    def to_json(self, top: int = 20) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "factor": self.factor,
            "n_samples": self.n_samples,
            "mean_spectral_excess": self.mean_excess,
            "top_units": self.ranked[:top],
            "top_correlation": [round(float(self.correlation[u]), 4) for u in self.ranked[:top]],
        }


@torch.no_grad()
def find_artifact_units(
    G: nn.Module,
    layer: str,
    *,
    n_samples: int = 256,
    seed: int = 0,
    factor: int = 2,
    batch_size: int = 32,
    latent_dim: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> ArtifactUnits:
    """Rank the units of ``layer`` by how well their activity predicts spectral artifacts.

    The correlation is accumulated in one streaming pass (sums of ``x``, ``y``, ``x²``, ``y²``,
    ``xy`` in float64), so no activations are kept.
    """
    if n_samples < 3:
        raise GanscopeError("need at least 3 samples for a correlation")
    dim = generator_latent_dim(G, latent_dim)
    device = module_device(G)
    G.eval()
    labeler = SpectralArtifactLabeler(factor=factor)
    seeds = list(range(seed, seed + n_samples))
    sx = sxx = sxy = None
    sy = syy = 0.0
    with record_layers(G, [layer]) as store, progress_bar(n_samples, "artifact units") as bar:
        for i in range(0, n_samples, batch_size):
            z = latents_for_seeds(seeds[i : i + batch_size], dim).to(device)
            images = run_generator(G, z, value_range)
            feats = store[layer]
            if feats.dim() != 4:
                raise GanscopeError(f"layer {layer!r} is not a (B, C, H, W) feature map")
            x = feats.double().mean((2, 3)).cpu()  # (B, U)
            y = labeler.spectral_excess(images.double()).cpu()  # (B,)
            if sx is None:
                sx = torch.zeros(x.shape[1], dtype=torch.float64)
                sxx, sxy = sx.clone(), sx.clone()
            sx += x.sum(0)
            sxx += (x * x).sum(0)
            sxy += (x * y[:, None]).sum(0)
            sy += float(y.sum())
            syy += float((y * y).sum())
            bar.advance(z.shape[0])
    n = float(n_samples)
    cov = sxy / n - (sx / n) * (sy / n)
    vx = (sxx / n - (sx / n) ** 2).clamp(min=0)
    vy = max(syy / n - (sy / n) ** 2, 0.0)
    denom = (vx * vy).sqrt()
    corr = torch.where(denom > 1e-12, cov / denom.clamp(min=1e-300), torch.zeros_like(cov)).float()
    ranked = torch.argsort(corr, descending=True, stable=True).tolist()
    return ArtifactUnits(layer, corr, ranked, sy / n, n_samples, factor)


@torch.no_grad()
def artifact_ablation(
    G: nn.Module,
    layer: str,
    ranked_units: Sequence[int],
    real: Tensor,
    *,
    sizes: Sequence[int] = (0, 1, 2, 5, 10, 20),
    n_samples: int = 256,
    seed: int = 10_000,
    factor: int = 2,
    latent_dim: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> list[dict[str, float]]:
    """Ablate the top ``n`` artifact units for each ``n`` in ``sizes`` and measure, against
    ``real`` images ``(N, 3, H, W)`` in [0, 1], the spectral distance, the SWD (mean over pyramid
    levels, ×10³ as ProGAN reports it) and the mean spectral excess of the samples."""
    from ganscope.generators.metrics import sliced_wasserstein_distance, spectral_distance

    seeds = list(range(seed, seed + n_samples))
    labeler = SpectralArtifactLabeler(factor=factor)
    out = []
    for n in sizes:
        if n > len(ranked_units):
            break
        iv = Intervention.ablate(layer, list(ranked_units[:n])) if n else None
        fake = generate(G, seeds, intervention=iv, latent_dim=latent_dim, value_range=value_range)
        out.append(
            {
                "n_ablated": n,
                "spectral_distance": spectral_distance(real, fake),
                "swd_x1e3": 1e3 * sliced_wasserstein_distance(real, fake, seed=seed).mean,
                "spectral_excess": float(labeler.spectral_excess(fake).mean()),
            }
        )
    return out
