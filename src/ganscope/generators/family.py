"""The generator-family protocol and registry.

A generator family is one ``nn.Module`` subclass of :class:`GeneratorFamily`, decorated with
:func:`register_generator`. Everything else (``gan train --family``, the zoo, sampling,
dissection, the study) finds it through :data:`GENERATORS`, and the tests are parametrized over
the registry, so a new family is tested the day it lands. What a family must provide:

- keyword-only constructor settings including ``size``, ``upsample`` and ``latent_dim``, and
  :meth:`~GeneratorFamily.settings` returning them (saved in ``config.json``, enough to rebuild
  the model);
- ``forward(z)``: latents ``(B, latent_dim)`` → images ``(B, 3, size, size)`` in [-1, 1];
- optionally :meth:`~GeneratorFamily.training_output` when training is more than ``G(z)``
  against a discriminator (autoencoders reconstruct real images and add their own losses).

The shared training loop (:func:`ganscope.generators.train_gan`) trains every family against the
same discriminator with the same recipe.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ganscope.errors import GanscopeError
from ganscope.layers import UPSAMPLERS
from ganscope.registry import Registry

__all__ = [
    "GENERATORS",
    "GeneratorFamily",
    "check_size",
    "check_upsampler",
    "create_generator",
    "register_generator",
]

GENERATORS = Registry("generator family", attr="family")
"""Registered generator families: name → :class:`GeneratorFamily` subclass."""

register_generator = GENERATORS.register
"""Class decorator adding a generator family to :data:`GENERATORS` (twice raises ``ValueError``)."""


def check_size(size: int) -> int:
    """Validate a power-of-two image side ≥ 8 and return ``log2(size / 4)`` (2x blocks from 4x4)."""
    if not isinstance(size, int) or size < 8 or size & (size - 1):
        raise GanscopeError(
            f"image size must be a power of two >= 8 (e.g. 32, 64, 128), not {size}"
        )
    return int(math.log2(size // 4))


def check_upsampler(name: str) -> str:
    """Validate a registered upsampler name."""
    if name not in UPSAMPLERS:
        raise GanscopeError(f"unknown upsampler {name!r}; registered: {', '.join(UPSAMPLERS)}")
    return name


class GeneratorFamily(nn.Module):
    """Base class of every registered generator family.

    Attributes:
        family: the registered name (set by :func:`register_generator`).
        size: output side.
        upsample: registered upsampler of every 2x block.
        latent_dim: length of ``z``.
        reconstructs: the family encodes real images (autoencoders); it then has
            :meth:`reconstruct`, and its samples for quality numbers are reconstructions
            unless it also samples a prior (``samples_prior``).
        samples_prior: ``forward(z)`` with ``z ~ N(0, I)`` gives meaningful images.
    """

    family: str
    size: int
    upsample: str
    latent_dim: int
    reconstructs: bool = False
    samples_prior: bool = True
    setting_names: tuple[str, ...] = ("size", "upsample", "latent_dim", "width", "max_channels")
    """Constructor settings, each kept as an attribute of the same name."""

    def settings(self) -> dict[str, Any]:
        """The constructor settings (saved in ``config.json``, enough to rebuild the model)."""
        return {name: getattr(self, name) for name in self.setting_names}

    def _check_z(self, z: torch.Tensor) -> None:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise GanscopeError(
                f"generator expects z of shape (B, {self.latent_dim}), got {tuple(z.shape)}"
            )

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (the library's image convention) for latent vectors ``z``."""
        return ((self(z) + 1) / 2).clamp_(0, 1)

    def training_output(
        self, real: torch.Tensor, z: torch.Tensor, *, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """What one training step shows the discriminator, and the family's own G losses.

        Args:
            real: the real batch ``(B, 3, S, S)`` in [-1, 1].
            z: latents ``(B, latent_dim)`` drawn for this step.
            generator: this step's random source (for any extra noise).

        Returns:
            ``(fake, losses)``: images in [-1, 1] for D, and named scalar losses added to G's
            adversarial loss (empty for a pure GAN).
        """
        return self(z), {}

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruct images in [0, 1] (only for families with ``reconstructs``)."""
        raise GanscopeError(f"the {self.family} family does not reconstruct images")


def create_generator(family: str = "dcgan", **kwargs: Any) -> GeneratorFamily:
    """Build a registered generator family with keyword settings.

    Example:
        >>> G = create_generator("dcgan", size=32, upsample="pixelshuffle", width=16)
        >>> G.settings()["upsample"]
        'pixelshuffle'
    """
    return GENERATORS.create(family, **kwargs)
