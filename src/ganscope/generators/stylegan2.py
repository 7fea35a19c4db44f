"""The ``stylegan2`` generator family: a small StyleGAN2 with a pluggable upsampler.

Karras, Laine, Aittala, Hellsten, Lehtinen & Aila, "Analyzing and Improving the Image Quality of
StyleGAN", CVPR 2020. What is kept from the paper, at a size that trains on a CPU:

- a **mapping network** ``z → w`` (pixel norm, then ``mapping_layers`` fully connected layers
  with LeakyReLU(0.2) and a 0.01 learning-rate multiplier);
- a learned **constant** ``4 x 4`` input;
- **modulated and demodulated 3x3 convolutions** (Sec. 2.2, eqs. 1–3): the weights are scaled
  per input channel by the style ``s = A(w)`` and each output channel is divided by
  ``sqrt(sum (s * w)^2 + eps)``. They are computed the paper's "non-fused" way (scale the
  activations, convolve with the shared weight, scale the outputs), which is the same function
  and much faster than grouped convolution on a CPU;
- **per-pixel noise** with a learned strength per layer;
- **skip to-RGB outputs**: every resolution adds a 1x1 modulated (not demodulated) to-RGB to
  the upsampled sum of the coarser ones;
- **equalized learning rate** on every weight (Karras et al. 2018).

The 2x upsampling of each block is any registered upsampler (:data:`ganscope.layers.UPSAMPLERS`):
it maps the block input to the block's channels (the paper's up-convolution), and a 3-channel
instance of the same upsampler carries the RGB skip path up. With ``upsample="blur"`` this is the
paper's FIR upsampling (nearest neighbour + ``[1, 3, 3, 1]`` low-pass). Path-length
regularisation, style mixing, truncation and progressive growing are left out.

Noise: in training mode the noise maps are drawn from the step's :class:`torch.Generator`
(:meth:`training_output`), so training resumes exactly; in eval mode fixed noise buffers are used
(StyleGAN2's ``noise_mode="const"``), so an image depends only on its seed.
"""

from __future__ import annotations

import math

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

__all__ = ["ModulatedConv2d", "StyleGAN2Generator"]


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate (weights ~ N(0, 1/lr_mul^2), scaled at run
    time)."""

    def __init__(
        self, in_features: int, out_features: int, *, lr_mul: float = 1.0, bias_init: float = 0.0
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class ModulatedConv2d(nn.Module):
    """Modulated (and optionally demodulated) convolution, Karras et al. 2020, eqs. 1–3.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel side (3 for features, 1 for to-RGB).
        w_dim: style vector length.
        demodulate: divide each output channel by its expected standard deviation (eq. 3).

    Shape:
        - Input: :math:`(B, C_{in}, H, W)` and ``w`` :math:`(B, w\\_dim)`
        - Output: :math:`(B, C_{out}, H, W)`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        w_dim: int,
        *,
        demodulate: bool = True,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)  # A in the paper
        self.demodulate = demodulate
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # (B, C_in), eq. 1's s_i
        weight = self.weight * self.scale  # (C_out, C_in, k, k)
        x = F.conv2d(x * s[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            # eq. 3: sigma_j = sqrt(sum_{i,k} (s_i w_ijk)^2), per sample and output channel.
            d = torch.rsqrt((s.square() @ weight.square().sum(dim=(2, 3)).t()) + 1e-8)  # (B, C_out)
            x = x * d[:, :, None, None]
        return x


class _NoiseActivation(nn.Module):
    """Add scaled per-pixel noise and a bias, then LeakyReLU(0.2) x sqrt(2) (StyleGAN2's gain)."""

    noise_const: torch.Tensor

    def __init__(self, channels: int, resolution: int, const_seed: int) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(channels))
        g = torch.Generator().manual_seed(const_seed)
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution, generator=g))
        self.rng: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.rng is not None:
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], generator=self.rng).to(x)
        else:
            noise = self.noise_const.to(x.dtype)
        x = x + self.strength * noise + self.bias[None, :, None, None]
        return F.leaky_relu(x, 0.2) * math.sqrt(2)


class _SynthesisBlock(nn.Module):
    """``up → noise/act → modconv → noise/act → to-RGB`` at one resolution."""

    def __init__(
        self, in_ch: int, out_ch: int, res: int, w_dim: int, upsample: str, seed: int
    ) -> None:
        super().__init__()
        self.up = create_upsampler(upsample, in_ch, out_ch)
        self.act0 = _NoiseActivation(out_ch, res, seed)
        self.conv = ModulatedConv2d(out_ch, out_ch, 3, w_dim)
        self.act1 = _NoiseActivation(out_ch, res, seed + 1)
        self.to_rgb = ModulatedConv2d(out_ch, 3, 1, w_dim, demodulate=False)
        self.rgb_up = create_upsampler(upsample, 3, 3)

    def forward(
        self, x: torch.Tensor, rgb: torch.Tensor, w: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.act0(self.up(x))  # (B, out, 2H, 2W)
        x = self.act1(self.conv(x, w))
        rgb = self.rgb_up(rgb) + self.to_rgb(x, w)  # skip architecture (Fig. 7b)
        return x, rgb


@register_generator("stylegan2")
class StyleGAN2Generator(GeneratorFamily):
    """A small StyleGAN2 (Karras et al. 2020) whose 2x upsampling is any registered upsampler.

    Args:
        size: output side, a power of two >= 8.
        upsample: registered upsampler (``blur`` = the paper's FIR upsampling).
        latent_dim: length of ``z`` (and of ``w``).
        width: channels at full resolution; doubling per coarser level up to ``max_channels``.
        max_channels: cap on the channels of any level.
        mapping_layers: fully connected layers of the mapping network.

    Shape:
        - Input: :math:`(B, \\text{latent\\_dim})`
        - Output: :math:`(B, 3, \\text{size}, \\text{size})` in [-1, 1] (no final ``tanh``, as
          in the paper; :meth:`generate` clamps)

    Example:
        >>> G = StyleGAN2Generator(size=16, upsample="blur", width=8, latent_dim=16)
        >>> G(torch.randn(2, 16)).shape
        torch.Size([2, 3, 16, 16])
    """

    setting_names = (*GeneratorFamily.setting_names, "mapping_layers")

    def __init__(
        self,
        *,
        size: int = 32,
        upsample: str = "blur",
        latent_dim: int = 128,
        width: int = 32,
        max_channels: int = 256,
        mapping_layers: int = 4,
    ) -> None:
        super().__init__()
        check_upsampler(upsample)
        n_up = check_size(size)
        self.size, self.upsample, self.latent_dim = size, upsample, latent_dim
        self.width, self.max_channels, self.mapping_layers = width, max_channels, mapping_layers
        chans = [min(width * 2 ** (n_up - i), max_channels) for i in range(n_up + 1)]  # 4x4 → size
        layers: list[nn.Module] = []
        for _ in range(mapping_layers):
            layers += [EqualLinear(latent_dim, latent_dim, lr_mul=0.01), nn.LeakyReLU(0.2)]
        self.mapping = nn.Sequential(*layers)
        self.const = nn.Parameter(torch.randn(1, chans[0], 4, 4))
        self.conv4 = ModulatedConv2d(chans[0], chans[0], 3, latent_dim)
        self.act4 = _NoiseActivation(chans[0], 4, 0)
        self.rgb4 = ModulatedConv2d(chans[0], 3, 1, latent_dim, demodulate=False)
        self.blocks = nn.ModuleList(
            _SynthesisBlock(chans[i], chans[i + 1], 8 * 2**i, latent_dim, upsample, 2 * i + 1)
            for i in range(n_up)
        )

    def map(self, z: torch.Tensor) -> torch.Tensor:
        """``z → w``: pixel norm (Karras et al. 2018), then the mapping MLP."""
        z = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        return self.mapping(z)

    def synthesize(self, w: torch.Tensor) -> torch.Tensor:
        """``w (B, latent_dim)`` → images in [-1, 1] (one style for every layer)."""
        x = self.const.expand(w.shape[0], -1, -1, -1)  # (B, C0, 4, 4)
        x = self.act4(self.conv4(x, w))
        rgb = self.rgb4(x, w)  # (B, 3, 4, 4)
        for block in self.blocks:
            x, rgb = block(x, rgb, w)  # (B, C, 2H, 2W), (B, 3, 2H, 2W)
        return rgb

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self._check_z(z)
        return self.synthesize(self.map(z))

    def training_output(
        self, real: torch.Tensor, z: torch.Tensor, *, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        noises = [m for m in self.modules() if isinstance(m, _NoiseActivation)]
        for m in noises:
            m.rng = generator
        try:
            return self(z), {}
        finally:
            for m in noises:
                m.rng = None
