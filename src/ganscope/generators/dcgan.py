"""The ``dcgan`` generator family with a pluggable 2x upsampler, and the generator registry.

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016: a latent vector is projected to a ``4 x 4`` feature
map, then every block doubles the resolution and halves the channels (BatchNorm + ReLU), and the
last block maps to RGB with ``tanh``. Here the up-convolution of every block is any registered
upsampler (:data:`ganscope.layers.UPSAMPLERS`), which is what the zoo varies.
"""

from __future__ import annotations

import torch
from torch import nn

from ganscope.generators.family import (
    GENERATORS,
    GeneratorFamily,
    check_size,
    check_upsampler,
    create_generator,
    register_generator,
)
from ganscope.layers import create_upsampler

__all__ = ["GENERATORS", "DCGANGenerator", "create_generator", "register_generator"]

# Kept for callers of the 0.1 name.
_check_size = check_size

@register_generator("dcgan")
class DCGANGenerator(GeneratorFamily):
    """DCGAN generator: ``z → 4x4 → 8x8 → ... → size x size`` with any 2x upsampler.

    Channels halve at every block: ``width * 2**(n-1)`` at ``4 x 4`` down to ``width`` before the
    last block, which maps to 3 channels (no BatchNorm, then ``tanh``), as in Radford et al.
    ``forward`` returns images in [-1, 1] (the training space); :meth:`generate` and
    :func:`ganscope.generators.sample_images` return [0, 1].

    Args:
        size: output side, a power of two (16, 32, 64, 128).
        upsample: registered upsampler name (``transposed``, ``bilinear``, ...).
        latent_dim: length of ``z``.
        width: channels before the last block; ``width * 2**(n_blocks - 1)`` at ``4 x 4``.
        max_channels: cap on the channels of any block.

    Shape:
        - Input: :math:`(B, \\text{latent\\_dim})`
        - Output: :math:`(B, 3, \\text{size}, \\text{size})` in [-1, 1]

    Example:
        >>> G = DCGANGenerator(size=32, upsample="bilinear", width=16)
        >>> G(torch.randn(2, G.latent_dim)).shape
        torch.Size([2, 3, 32, 32])
    """

    def __init__(
        self,
        *,
        size: int = 32,
        upsample: str = "transposed",
        latent_dim: int = 128,
        width: int = 16,
        max_channels: int = 512,
    ) -> None:
        super().__init__()
        check_upsampler(upsample)
        n_blocks = check_size(size)
        self.size = size
        self.upsample = upsample
        self.latent_dim = latent_dim
        self.width = width
        self.max_channels = max_channels
        chans = [min(width * 2 ** (n_blocks - 1 - i), max_channels) for i in range(n_blocks)]
        # Radford et al.: the projection of z is a (transposed) conv from 1x1 to 4x4, i.e. linear.
        self.project = nn.Linear(latent_dim, chans[0] * 16, bias=False)
        self.project_norm = nn.BatchNorm2d(chans[0])
        blocks = []
        for i in range(n_blocks - 1):
            blocks.append(
                nn.Sequential(
                    create_upsampler(upsample, chans[i], chans[i + 1]),
                    nn.BatchNorm2d(chans[i + 1]),
                    nn.ReLU(inplace=True),
                )
            )
        self.blocks = nn.Sequential(*blocks)
        self.to_rgb = create_upsampler(upsample, chans[-1], 3)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self._check_z(z)
        x = self.project(z).view(z.shape[0], -1, 4, 4)  # (B, C0, 4, 4)
        x = torch.relu(self.project_norm(x))
        x = self.blocks(x)  # (B, width, size/2, size/2)
        return torch.tanh(self.to_rgb(x))  # (B, 3, size, size)
