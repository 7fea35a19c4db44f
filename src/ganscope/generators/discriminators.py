"""Discriminators: the SNGAN CNN (spectral normalization) and the spectral discriminator.

Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for Generative Adversarial Networks",
ICLR 2018, Table 3 ("standard CNN"): pairs of a 3x3 convolution and a 4x4 stride-2 convolution,
LeakyReLU(0.1), every weight divided by its largest singular value (one power iteration per step),
and a linear layer on the last ``4 x 4`` map.

Jung & Keuper, "Spectral Distribution Aware Image Generation", AAAI 2021: a second, linear
discriminator on the normalized 1D (azimuthal) power spectrum of the image; the generator is
trained against a combination of both discriminators' logits.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganscope.errors import GanscopeError
from ganscope.generators.dcgan import _check_size
from ganscope.generators.spectral import normalized_profile
from ganscope.layers import BlurPool2d


class SNGANDiscriminator(nn.Module):
    """SNGAN "standard CNN" discriminator (Miyato et al. 2018, Table 3), any power-of-two size.

    ``size = 32, width = 64`` is the paper's CIFAR-10 network: ``3x3 conv 64, 4x4 conv 64 /2,
    3x3 conv 128, 4x4 conv 128 /2, 3x3 conv 256, 4x4 conv 256 /2, 3x3 conv 512, linear``.
    Larger sizes add stages until the map is ``4 x 4``; channels double per stage up to
    ``max_channels``.

    Args:
        size: input side (power of two).
        width: channels of the first stage.
        max_channels: cap on any layer's channels.
        antialias: replace each stride-2 4x4 convolution by a stride-1 3x3 convolution,
            LeakyReLU and :class:`~ganscope.layers.BlurPool2d` (Zhang 2019's recipe for strided
            convolutions).
        spectral: apply spectral normalization (switch off only for ablations).
        pac: pack this many images into one D input along the channels (PacGAN, Lin, Khetan,
            Fanti & Oh, NeurIPS 2018): D judges sets of ``pac`` samples, so a generator that
            repeats itself is easy to tell from real data. The batch must divide by ``pac``.
        minibatch_std: append the minibatch standard deviation as an extra ``4 x 4`` feature
            map before the head (Karras et al. 2018, ProGAN, Sec. 3): a batch of near-identical
            fakes then has a visibly low deviation, which lets D punish mode collapse.

    Shape:
        - Input: :math:`(B, 3, \\text{size}, \\text{size})` in [-1, 1]
        - Output: :math:`(B,)` logits (real > 0)

    Example:
        >>> D = SNGANDiscriminator(size=32, width=16)
        >>> D(torch.rand(4, 3, 32, 32) * 2 - 1).shape
        torch.Size([4])
    """

    def __init__(
        self,
        *,
        size: int = 32,
        width: int = 16,
        max_channels: int = 512,
        antialias: bool = False,
        spectral: bool = True,
        minibatch_std: bool = False,
        pac: int = 1,
    ) -> None:
        super().__init__()
        n_down = _check_size(size)
        self.size = size
        self.width = width
        self.max_channels = max_channels
        self.antialias = antialias
        self.spectral = spectral
        self.minibatch_std = minibatch_std
        if pac < 1:
            raise GanscopeError(f"pac must be at least 1, not {pac}")
        self.pac = pac
        sn = spectral_norm if spectral else (lambda m: m)

        def act() -> nn.Module:
            return nn.LeakyReLU(0.1, inplace=True)

        c = min(width, max_channels)
        layers: list[nn.Module] = [sn(nn.Conv2d(3 * pac, c, 3, 1, 1)), act()]
        for _ in range(n_down):
            if antialias:
                layers += [sn(nn.Conv2d(c, c, 3, 1, 1)), act(), BlurPool2d(c, 3, 2)]
            else:
                layers += [sn(nn.Conv2d(c, c, 4, 2, 1)), act()]
            c_next = min(2 * c, max_channels)
            layers += [sn(nn.Conv2d(c, c_next, 3, 1, 1)), act()]
            c = c_next
        self.features = nn.Sequential(*layers)  # (B, c, 4, 4)
        self.head = sn(nn.Linear((c + int(minibatch_std)) * 16, 1))

    def settings(self) -> dict[str, Any]:
        """The constructor settings."""
        return {
            "size": self.size,
            "width": self.width,
            "max_channels": self.max_channels,
            "antialias": self.antialias,
            "spectral": self.spectral,
            "minibatch_std": self.minibatch_std,
            "pac": self.pac,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (3, self.size, self.size):
            raise GanscopeError(
                f"discriminator expects (B, 3, {self.size}, {self.size}), got {tuple(x.shape)}"
            )
        if self.pac > 1:
            if x.shape[0] % self.pac:
                raise GanscopeError(
                    f"batch of {x.shape[0]} does not divide into packs of {self.pac}"
                )
            x = x.reshape(-1, 3 * self.pac, self.size, self.size)  # (B / pac, 3 pac, S, S)
        h = self.features(x)  # (B', C, 4, 4)
        if self.minibatch_std:
            h = _append_minibatch_std(h)  # (B, C + 1, 4, 4)
        return self.head(h.flatten(1)).squeeze(1)  # (B,)


def _append_minibatch_std(h: torch.Tensor, group: int = 4) -> torch.Tensor:
    """ProGAN's minibatch standard deviation: per group of ``group`` samples, the standard
    deviation of every feature across the group, averaged to one number, as an extra channel."""
    B, C, H, W = h.shape
    g = min(group, B)
    if B % g:
        g = 1 if B == 1 else next(k for k in range(g, 0, -1) if B % k == 0)
    y = h.view(g, -1, C, H, W)  # (G, B/G, C, H, W): sample b is in group b % (B/G)
    y = (y.var(dim=0, correction=0) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B/G,)
    y = y.repeat(g).view(B, 1, 1, 1).expand(B, 1, H, W)
    return torch.cat([h, y], dim=1)


class SpectralDiscriminator(nn.Module):
    """A linear classifier on the normalized 1D power spectrum (Jung & Keuper, AAAI 2021).

    The image (in [-1, 1]) is mapped to [0, 1], converted to luma, and its log power spectrum is
    averaged over rings (:func:`ganscope.generators.spectral.normalized_profile`, built on
    :mod:`ganscope.spectrum` and differentiable); each profile is min-max normalized to [0, 1]
    as in the authors' code, then a single linear layer gives a logit.

    Args:
        size: input side.

    Shape:
        - Input: :math:`(B, 3, \\text{size}, \\text{size})` in [-1, 1]
        - Output: :math:`(B,)` logits
    """

    def __init__(self, *, size: int = 32) -> None:
        super().__init__()
        self.size = size
        with torch.no_grad():
            n_bins = normalized_profile(torch.zeros(1, 3, size, size)).shape[-1]
        self.n_bins = n_bins
        self.linear = nn.Linear(n_bins, 1)

    def settings(self) -> dict[str, Any]:
        return {"size": self.size}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        profile = normalized_profile((x + 1) / 2)  # (B, R) in [0, 1]
        return self.linear(profile).squeeze(1)
