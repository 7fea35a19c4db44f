"""Binomial low-pass filters and anti-aliased downsampling (BlurPool).

Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019: strided pooling and
strided convolution alias; blurring with a small binomial filter before subsampling restores
(approximate) shift-equivariance. ``MaxPool(stride 2)`` becomes ``MaxPool(stride 1)`` followed by
``BlurPool2d``; ``Conv(stride 2)`` becomes ``Conv(stride 1)`` + ReLU + ``BlurPool2d``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganscope.errors import GanscopeError

PAD_TYPES = ("reflect", "replicate", "zero")
_PAD_ALIASES = {"refl": "reflect", "repl": "replicate", "zeros": "zero", "constant": "zero"}


def binomial_filter1d(
    size: int, *, device: torch.device | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """The normalized 1D binomial filter of ``size`` taps (row ``size - 1`` of Pascal's triangle).

    ``size`` 1..7 are Zhang (2019)'s filters ``[1], [1, 1], [1, 2, 1], [1, 3, 3, 1], ...``; larger
    sizes are allowed (they approach a Gaussian).

    Args:
        size: number of taps, at least 1.
        device: device of the result.
        dtype: dtype of the result (default: the global default dtype).

    Returns:
        Tensor ``(size,)`` summing to 1.

    Example:
        >>> binomial_filter1d(3)
        tensor([0.2500, 0.5000, 0.2500])
    """
    if size < 1:
        raise GanscopeError(f"filter size must be at least 1, not {size}")
    taps = [math.comb(size - 1, k) for k in range(size)]
    t = torch.tensor(taps, device=device, dtype=dtype or torch.get_default_dtype())
    return t / t.sum()


def binomial_filter2d(
    size: int, *, device: torch.device | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """The separable 2D binomial filter ``outer(b, b)`` of ``size x size`` taps, summing to 1."""
    b = binomial_filter1d(size, device=device, dtype=dtype)
    return b[:, None] * b[None, :]


def _normalize_pad_type(pad_type: str) -> str:
    pad_type = _PAD_ALIASES.get(pad_type, pad_type)
    if pad_type not in PAD_TYPES:
        raise GanscopeError(f"pad_type must be one of {', '.join(PAD_TYPES)}, not {pad_type!r}")
    return pad_type


def _pad_sizes(filt_size: int, pad_off: int) -> tuple[int, int, int, int]:
    # Zhang's reference code: floor((k-1)/2) on the left/top, ceil((k-1)/2) on the right/bottom.
    lo = (filt_size - 1) // 2 + pad_off
    hi = math.ceil((filt_size - 1) / 2) + pad_off
    return (lo, hi, lo, hi)


def blur_pool2d(
    x: torch.Tensor,
    filt_size: int = 3,
    stride: int = 2,
    pad_type: str = "reflect",
    pad_off: int = 0,
) -> torch.Tensor:
    """Blur every channel with a binomial filter, then subsample by ``stride`` (Zhang 2019).

    Args:
        x: input ``(B, C, H, W)``.
        filt_size: binomial filter taps per side (1 = no blur, plain subsampling).
        stride: subsampling factor.
        pad_type: ``reflect``, ``replicate`` or ``zero`` padding, so that ``H`` becomes
            ``ceil(H / stride)`` (for ``pad_off=0``).
        pad_off: extra padding on every side.

    Returns:
        ``(B, C, H', W')`` with ``H' = floor((H + 2 * pad_off - 1) / stride) + 1``.

    Shape:
        - Input: :math:`(B, C, H, W)`
        - Output: :math:`(B, C, \\lceil H / s \\rceil, \\lceil W / s \\rceil)` for ``pad_off=0``.

    Example:
        >>> blur_pool2d(torch.ones(1, 2, 8, 8)).shape
        torch.Size([1, 2, 4, 4])
    """
    if x.ndim != 4:
        raise GanscopeError(f"blur_pool2d expects (B, C, H, W), got shape {tuple(x.shape)}")
    pad_type = _normalize_pad_type(pad_type)
    if stride < 1:
        raise GanscopeError(f"stride must be at least 1, not {stride}")
    pads = _pad_sizes(filt_size, pad_off)
    if filt_size == 1 and pad_off == 0:
        return x[:, :, ::stride, ::stride]
    filt = binomial_filter2d(filt_size, device=x.device, dtype=x.dtype)
    weight = filt.expand(x.shape[1], 1, filt_size, filt_size)
    return _blur_pool_with(x, weight, stride, pad_type, pads)


def _blur_pool_with(
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: int,
    pad_type: str,
    pads: tuple[int, int, int, int],
) -> torch.Tensor:
    x = F.pad(x, pads) if pad_type == "zero" else F.pad(x, pads, mode=pad_type)
    if weight.shape[-1] == 1:
        return x[:, :, ::stride, ::stride]
    return F.conv2d(x, weight, stride=stride, groups=x.shape[1])


class BlurPool2d(nn.Module):
    """Anti-aliased downsampling: binomial blur, then subsampling (Zhang, ICML 2019).

    The filter is a registered buffer ``(channels, 1, k, k)`` applied as a depthwise convolution,
    so it follows the module's device and dtype and is saved with the weights.

    Args:
        channels: number of input channels (the depthwise filter has one copy per channel).
        filt_size: binomial taps per side, 1..7 as in the paper (1 = plain subsampling).
        stride: subsampling factor.
        pad_type: ``reflect`` (the paper's default), ``replicate`` or ``zero``.
        pad_off: extra padding on every side.

    Shape:
        - Input: :math:`(B, C, H, W)`
        - Output: :math:`(B, C, \\lceil H / s \\rceil, \\lceil W / s \\rceil)`

    Example:
        >>> pool = BlurPool2d(16, filt_size=3, stride=2)
        >>> pool(torch.rand(2, 16, 32, 32)).shape
        torch.Size([2, 16, 16, 16])
    """

    filt: torch.Tensor

    def __init__(
        self,
        channels: int,
        filt_size: int = 3,
        stride: int = 2,
        pad_type: str = "reflect",
        pad_off: int = 0,
    ) -> None:
        super().__init__()
        if not 1 <= filt_size <= 7:
            raise GanscopeError(f"BlurPool2d filt_size must be in 1..7, not {filt_size}")
        if channels < 1:
            raise GanscopeError(f"channels must be at least 1, not {channels}")
        self.channels = channels
        self.filt_size = filt_size
        self.stride = stride
        self.pad_type = _normalize_pad_type(pad_type)
        self.pad_off = pad_off
        self.pads = _pad_sizes(filt_size, pad_off)
        filt = binomial_filter2d(filt_size)
        self.register_buffer("filt", filt[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise GanscopeError(
                f"BlurPool2d({self.channels}) expects (B, {self.channels}, H, W), "
                f"got shape {tuple(x.shape)}"
            )
        if self.filt_size == 1 and self.pad_off == 0:
            return x[:, :, :: self.stride, :: self.stride]
        return _blur_pool_with(x, self.filt.to(x.dtype), self.stride, self.pad_type, self.pads)

    def extra_repr(self) -> str:
        return (
            f"{self.channels}, filt_size={self.filt_size}, stride={self.stride}, "
            f"pad_type={self.pad_type!r}"
        )
