"""A registry of 2x upsampling layers with one interface, ``Upsampler(in_channels, out_channels)``.

Every upsampler maps ``(B, C_in, H, W)`` to ``(B, C_out, 2H, 2W)``. They differ in what they do to
the spectrum, which is what the generator zoo studies (Durall, Keuper & Keuper, "Watch your
Up-Convolution", CVPR 2020; Odena et al., "Deconvolution and Checkerboard Artifacts", Distill
2016):

- ``transposed``: a learned transposed convolution (kernel 4, stride 2, padding 1), the DCGAN
  up-convolution; uneven kernel overlap gives checkerboard patterns.
- ``nearest`` / ``bilinear`` / ``bicubic``: a fixed interpolation, then a 3x3 convolution.
- ``pixelshuffle``: a 3x3 convolution to ``4 * C_out`` channels rearranged into space (Shi et al.
  2016), with ICNR initialisation (Aitken et al. 2017) so that it starts as nearest-neighbour
  upsampling and has no checkerboard at initialisation.
- ``bednails``: bed of nails (zero insertion), then a 3x3 convolution. Zero insertion repeats the
  whole spectrum twice along each axis (seed 002's derivation, :func:`bed_of_nails`).
- ``blur``: anti-aliased; nearest-neighbour upsampling followed by a fixed binomial low-pass, as in
  StyleGAN2 (Karras et al. 2020, ``upfirdn2d`` with ``[1, 3, 3, 1]``) and Zhang (ICML 2019), then a
  3x3 convolution.

A new upsampler is one class decorated with :func:`register_upsampler`; the tests are
parametrized over :data:`UPSAMPLERS`, so it is tested the day it is added.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganscope.errors import GanscopeError
from ganscope.layers.blurpool import _blur_pool_with, _pad_sizes, binomial_filter2d
from ganscope.registry import Registry

UPSAMPLERS = Registry("upsampler", attr="upsampler_name")
"""Registered upsamplers: name → class taking ``(in_channels, out_channels)``."""

register_upsampler = UPSAMPLERS.register
"""Class decorator adding an upsampler to :data:`UPSAMPLERS` (twice raises ``ValueError``)."""


def create_upsampler(name: str, in_channels: int, out_channels: int, **kwargs) -> nn.Module:
    """Build the registered upsampler ``name`` mapping ``(B, in, H, W)`` to ``(B, out, 2H, 2W)``.

    Example:
        >>> up = create_upsampler("bilinear", 8, 4)
        >>> up(torch.rand(1, 8, 5, 7)).shape
        torch.Size([1, 4, 10, 14])
    """
    return UPSAMPLERS.create(name, in_channels, out_channels, **kwargs)


def bed_of_nails(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Zero insertion ("bed of nails"): ``out[..., f*i, f*j] = x[..., i, j]``, zeros elsewhere.

    In 1D, the DFT of the upsampled signal of length ``f*N`` is the DFT of ``x`` repeated ``f``
    times, ``Â_up[k] = Â[k mod N]`` (seed 002): the spectrum gets ``f - 1`` exact replicas at high
    frequencies, which the following convolution has to remove.

    Args:
        x: ``(..., H, W)``.
        factor: upsampling factor.

    Returns:
        ``(..., factor*H, factor*W)``, same device and dtype.
    """
    if x.ndim < 2:
        raise GanscopeError(f"bed_of_nails expects (..., H, W), got shape {tuple(x.shape)}")
    *lead, H, W = x.shape
    out = x.new_zeros(*lead, factor * H, factor * W)
    out[..., ::factor, ::factor] = x
    return out


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)


@register_upsampler("transposed")
class TransposedConvUpsampler(nn.Module):
    """Transposed convolution, kernel 4, stride 2, padding 1 (DCGAN, Radford et al. 2016).

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`
        - Output: :math:`(B, C_{out}, 2H, 2W)`
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(
            in_channels, out_channels, kernel_size=4, stride=2, padding=1
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class InterpolateConvUpsampler(nn.Module):
    """``F.interpolate(scale_factor=2, mode=mode)``, then a 3x3 convolution.

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`
        - Output: :math:`(B, C_{out}, 2H, 2W)`
    """

    mode: str = "nearest"

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = _conv3x3(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        else:
            x = F.interpolate(x, scale_factor=2, mode=self.mode, align_corners=False)
        return self.conv(x)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


@register_upsampler("nearest")
class NearestUpsampler(InterpolateConvUpsampler):
    """Nearest-neighbour upsampling (each pixel becomes a 2x2 block), then a 3x3 convolution."""

    mode = "nearest"


@register_upsampler("bilinear")
class BilinearUpsampler(InterpolateConvUpsampler):
    """Bilinear interpolation (half-pixel centres), then a 3x3 convolution (the SNGAN variant
    of seed 002)."""

    mode = "bilinear"


@register_upsampler("bicubic")
class BicubicUpsampler(InterpolateConvUpsampler):
    """Bicubic interpolation (Keys, a = -0.75 as in PyTorch), then a 3x3 convolution."""

    mode = "bicubic"


def icnr_(weight: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """ICNR initialisation in place (Aitken et al. 2017, "Checkerboard artifact free sub-pixel
    convolution"): the ``factor**2`` sub-kernels that :class:`torch.nn.PixelShuffle` puts side by
    side start equal, so the layer starts as convolution + nearest-neighbour upsampling.

    Args:
        weight: conv weight ``(C_out * factor**2, C_in, k, k)``, already initialised; its first
            ``C_out`` kernels (one per output channel) are kept and repeated.
    """
    n = factor * factor
    if weight.shape[0] % n:
        raise GanscopeError(f"ICNR needs output channels divisible by {n}, got {weight.shape[0]}")
    with torch.no_grad():
        sub = weight[: weight.shape[0] // n].clone()
        # PixelShuffle builds output channel c from input channels c*n .. c*n + n - 1.
        weight.copy_(sub.repeat_interleave(n, dim=0))
    return weight


@register_upsampler("pixelshuffle")
class PixelShuffleUpsampler(nn.Module):
    """Sub-pixel convolution: 3x3 conv to ``4 * C_out`` channels, then ``PixelShuffle(2)``
    (Shi et al. 2016), ICNR-initialised (Aitken et al. 2017).

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`
        - Output: :math:`(B, C_{out}, 2H, 2W)`
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = _conv3x3(in_channels, 4 * out_channels)
        icnr_(self.conv.weight)
        with torch.no_grad():
            self.conv.bias.copy_(self.conv.bias[:out_channels].repeat_interleave(4))
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


@register_upsampler("bednails")
class BedOfNailsUpsampler(nn.Module):
    """Bed of nails (zero insertion, :func:`bed_of_nails`), then a 3x3 convolution.

    Equivalent to a transposed convolution with kernel 3 and stride 2, which is how it is
    computed (without materializing the zeros, 4x fewer multiplications); the weight keeps its
    meaning as the 3x3 kernel applied to the zero-inserted map (the tests compare against that
    slow reference). The spectral replica that zero insertion creates is left for the learned
    kernel to suppress.

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`
        - Output: :math:`(B, C_{out}, 2H, 2W)`
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = _conv3x3(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # conv2d(bed_of_nails(x), W, padding=1) == conv_transpose2d(x, flip(W)^T, stride=2,
        # padding=1, output_padding=1): the zeros contribute nothing, so skip them.
        w = self.conv.weight.flip(-1, -2).transpose(0, 1)  # (C_in, C_out, 3, 3)
        return F.conv_transpose2d(x, w, self.conv.bias, stride=2, padding=1, output_padding=1)

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        """The definition, slowly: zero insertion, then the 3x3 convolution."""
        return self.conv(bed_of_nails(x, 2))


@register_upsampler("blur")
class BlurUpsampler(nn.Module):
    """Anti-aliased upsampling: nearest neighbour, a fixed binomial low-pass, a 3x3 convolution.

    Nearest neighbour is zero insertion followed by the box ``[1, 1]``; the extra binomial filter
    of ``filt_size`` taps (default ``[1, 3, 3, 1]``, the StyleGAN2 resampling filter) makes the
    total interpolation kernel the binomial of ``filt_size + 1`` taps, ``[1, 4, 6, 4, 1] / 8`` per
    axis. Its frequency response ``cos(w/2)**filt_size`` has a zero of order ``filt_size`` where the
    zero-insertion replica of the DC component lands (Zhang 2019; seed 003), versus order 1 for
    ``nearest`` (``[1, 1]``) and order 3 for half-pixel ``bilinear`` (``[1, 3, 3, 1] / 4``, the
    same filter StyleGAN2 applies after zero insertion). The filter is a registered buffer;
    borders repeat the edge pixel (as bilinear interpolation clamps), which also works for 1-pixel
    inputs.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        filt_size: taps of the binomial low-pass after nearest neighbour (1..7).

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`
        - Output: :math:`(B, C_{out}, 2H, 2W)`
    """

    filt: torch.Tensor

    def __init__(self, in_channels: int, out_channels: int, filt_size: int = 4) -> None:
        super().__init__()
        if not 1 <= filt_size <= 7:
            raise GanscopeError(f"blur filt_size must be in 1..7, not {filt_size}")
        self.filt_size = filt_size
        self.pads = _pad_sizes(filt_size, 0)
        self.register_buffer(
            "filt", binomial_filter2d(filt_size)[None, None].repeat(in_channels, 1, 1, 1)
        )
        self.conv = _conv3x3(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")  # (B, C_in, 2H, 2W)
        x = _blur_pool_with(x, self.filt.to(x.dtype), 1, "replicate", self.pads)
        return self.conv(x)

    def extra_repr(self) -> str:
        return f"filt_size={self.filt_size}"
