"""The ``autoencoder`` and ``vae`` generator families: encoder–decoder generators.

Durall, Keuper & Keuper ("Watch your Up-Convolution", CVPR 2020; seed 002) show the spectral
traces of up-convolution on autoencoders as well as GANs: whatever decodes an image through
learned 2x upsampling leaves them. Latent-diffusion images all leave through such a decoder (a VAE
trained with reconstruction, KL and adversarial losses; Rombach et al. 2022, Esser et al. 2021),
so these families also give content-aligned fakes: the same real image, re-rendered by a decoder.

- ``autoencoder``: ``x → E(x) = z → D(z)``, trained with an L1 reconstruction loss plus the shared
  adversarial loss on the reconstructions (which keeps them sharp).
- ``vae`` (Kingma & Welling, ICLR 2014): ``E(x)`` gives ``(mu, log sigma^2)``; the decoder sees
  ``z = mu + sigma * eps``, the loss adds ``kl_weight * KL(q(z|x) || N(0, I))``, and the
  discriminator sees reconstructions *and* samples of the prior (VAE-GAN, Larsen et al. 2016),
  so ``forward(z)`` with ``z ~ N(0, I)`` samples images.

The decoder is the DCGAN stack (linear to ``4 x 4``, 2x blocks with any registered upsampler)
without BatchNorm, whose batch statistics would make a reconstruction depend on the rest of the
batch; the encoder mirrors it with stride-2 convolutions.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganscope.generators.family import (
    GeneratorFamily,
    check_size,
    check_upsampler,
    register_generator,
)
from ganscope.layers import create_upsampler

__all__ = ["AutoencoderGenerator", "VAEGenerator"]


def _channels(size: int, width: int, max_channels: int) -> list[int]:
    n = check_size(size)
    return [min(width * 2 ** (n - 1 - i), max_channels) for i in range(n)]  # 4x4 → size/2


class _Encoder(nn.Module):
    def __init__(self, size: int, width: int, max_channels: int, out_features: int) -> None:
        super().__init__()
        chans = _channels(size, width, max_channels)[::-1]  # size/2 → 4x4
        layers: list[nn.Module] = [nn.Conv2d(3, chans[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for c_in, c_out in itertools.pairwise(chans):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)  # (B, C, 4, 4)
        self.head = nn.Linear(chans[-1] * 16, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class AutoencoderGenerator(GeneratorFamily):
    """Encoder–decoder generator; registered as ``autoencoder`` (and subclassed by ``vae``).

    Args:
        size: image side, a power of two >= 8.
        upsample: registered upsampler of every decoder block.
        latent_dim: length of the code ``z``.
        width: channels of the decoder's last block (doubling per coarser level).
        max_channels: cap on the channels of any block.
        recon_weight: weight of the L1 reconstruction loss (images in [-1, 1]).

    Shape:
        - ``forward``: :math:`(B, \\text{latent\\_dim})` → :math:`(B, 3, S, S)` in [-1, 1]
        - :meth:`reconstruct`: :math:`(B, 3, S, S)` in [0, 1] → the same

    Example:
        >>> G = AutoencoderGenerator(size=16, upsample="nearest", width=8, latent_dim=16)
        >>> G.reconstruct(torch.rand(2, 3, 16, 16)).shape
        torch.Size([2, 3, 16, 16])
    """

    reconstructs = True
    samples_prior = False
    setting_names = (*GeneratorFamily.setting_names, "recon_weight")

    def __init__(
        self,
        *,
        size: int = 32,
        upsample: str = "transposed",
        latent_dim: int = 128,
        width: int = 32,
        max_channels: int = 256,
        recon_weight: float = 10.0,
    ) -> None:
        super().__init__()
        check_upsampler(upsample)
        chans = _channels(size, width, max_channels)
        self.size, self.upsample, self.latent_dim = size, upsample, latent_dim
        self.width, self.max_channels, self.recon_weight = width, max_channels, recon_weight
        self.encoder = _Encoder(size, width, max_channels, self._code_features())
        self.project = nn.Linear(latent_dim, chans[0] * 16)
        self.blocks = nn.Sequential(
            *(
                nn.Sequential(create_upsampler(upsample, c_in, c_out), nn.LeakyReLU(0.2))
                for c_in, c_out in itertools.pairwise(chans)
            )
        )
        self.to_rgb = create_upsampler(upsample, chans[-1], 3)

    def _code_features(self) -> int:
        return self.latent_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] → codes ``(B, latent_dim)``."""
        return self.encoder(x)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode ``z`` to images in [-1, 1]."""
        self._check_z(z)
        c0 = self.project.out_features // 16
        x = F.leaky_relu(self.project(z), 0.2).view(z.shape[0], c0, 4, 4)  # (B, C0, 4, 4)
        return torch.tanh(self.to_rgb(self.blocks(x)))  # (B, 3, S, S)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Encode and decode images in [0, 1] (the deterministic code, ``mu`` for a VAE)."""
        x = images * 2 - 1
        return ((self(self.encode(x)) + 1) / 2).clamp_(0, 1)

    def training_output(
        self, real: torch.Tensor, z: torch.Tensor, *, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        recon = self(self.encode(real))
        return recon, {"recon": self.recon_weight * (recon - real).abs().mean()}


register_generator("autoencoder")(AutoencoderGenerator)


@register_generator("vae")
class VAEGenerator(AutoencoderGenerator):
    """Variational autoencoder (Kingma & Welling 2014) trained with an adversarial term.

    Args:
        kl_weight: weight of the KL divergence (mean over latent dimensions).
        prior_fraction: share of the discriminator's fakes that are samples of the prior (the
            rest are reconstructions); 1.0 trains the decoder adversarially on prior samples only.
        **kwargs: as :class:`AutoencoderGenerator`.
    """

    samples_prior = True
    setting_names = (*AutoencoderGenerator.setting_names, "kl_weight", "prior_fraction")

    def __init__(
        self, *, kl_weight: float = 0.05, prior_fraction: float = 0.5, **kwargs: Any
    ) -> None:
        if not 0.0 <= prior_fraction <= 1.0:
            raise ValueError(f"prior_fraction must be in [0, 1], got {prior_fraction}")
        self.kl_weight, self.prior_fraction = kl_weight, prior_fraction
        super().__init__(**kwargs)

    def _code_features(self) -> int:
        return 2 * self.latent_dim  # mu and log sigma^2

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] → the posterior mean ``mu`` (the deterministic code)."""
        return self.encoder(x)[:, : self.latent_dim]

    def training_output(
        self, real: torch.Tensor, z: torch.Tensor, *, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        mu, logvar = self.encoder(real).chunk(2, dim=1)  # (B, latent_dim) each
        logvar = logvar.clamp(-10, 10)
        eps = torch.randn(mu.shape, generator=generator).to(mu)
        recon = self(mu + (0.5 * logvar).exp() * eps)  # reparameterisation trick
        kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).mean()
        losses = {
            "recon": self.recon_weight * (recon - real).abs().mean(),
            "kl": self.kl_weight * kl,
        }
        # D sees reconstructions and samples of the prior (z is N(0, I)), prior_fraction of them.
        n_recon = real.shape[0] - round(real.shape[0] * self.prior_fraction)
        if n_recon == real.shape[0]:
            return recon, losses
        fake = torch.cat([recon[:n_recon], self(z[n_recon:])])
        return fake, losses
