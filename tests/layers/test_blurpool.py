"""Tests of the binomial filters and BlurPool2d (Zhang 2019)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganscope.errors import GanscopeError
from ganscope.layers import BlurPool2d, binomial_filter1d, binomial_filter2d, blur_pool2d

PASCAL = {
    1: [1],
    2: [1, 1],
    3: [1, 2, 1],
    4: [1, 3, 3, 1],
    5: [1, 4, 6, 4, 1],
    6: [1, 5, 10, 10, 5, 1],
    7: [1, 6, 15, 20, 15, 6, 1],
}


@pytest.mark.parametrize("size", sorted(PASCAL))
def test_binomial_filters_are_zhangs(size):
    taps = torch.tensor(PASCAL[size], dtype=torch.float64)
    assert torch.allclose(binomial_filter1d(size, dtype=torch.float64), taps / taps.sum())
    f2 = binomial_filter2d(size, dtype=torch.float64)
    assert f2.sum().item() == pytest.approx(1.0, abs=1e-15)
    assert torch.allclose(f2, torch.outer(taps, taps) / taps.sum() ** 2)


def _reference(x: np.ndarray, size: int, stride: int, mode: str) -> np.ndarray:
    """Slow loop: pad like Zhang's code, weighted sum over each window, subsample."""
    taps = np.array(PASCAL[size], dtype=np.float64)
    k = np.outer(taps, taps) / taps.sum() ** 2
    lo, hi = (size - 1) // 2, size // 2
    np_mode = {"reflect": "reflect", "replicate": "edge", "zero": "constant"}[mode]
    p = np.pad(x, ((lo, hi), (lo, hi)), mode=np_mode)
    H, W = x.shape
    out = np.zeros(((H - 1) // stride + 1, (W - 1) // stride + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            win = p[i * stride : i * stride + size, j * stride : j * stride + size]
            out[i, j] = (win * k).sum()
    return out


def test_blurpool_by_hand_on_a_4x4_ramp():
    x = torch.arange(16, dtype=torch.float64).view(1, 1, 4, 4)
    y = BlurPool2d(1, filt_size=3, stride=2).double()(x)
    # Output (0, 0): reflect padding mirrors row/col 1 to -1; the window is
    # [[5, 4, 5], [1, 0, 1], [5, 4, 5]] weighted by [1,2,1]x[1,2,1]/16:
    # (5 + 8 + 5 + 2 + 0 + 2 + 5 + 8 + 5) / 16 = 40 / 16 = 2.5.
    assert y[0, 0, 0, 0].item() == pytest.approx(2.5, abs=1e-12)
    # Output (1, 1) is centred on x[2, 2] = 10 with a full interior window: a linear ramp is kept.
    assert y[0, 0, 1, 1].item() == pytest.approx(10.0, abs=1e-12)
    assert y.shape == (1, 1, 2, 2)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "zero"])
@pytest.mark.parametrize("hw", [(8, 8), (9, 7)])
def test_blurpool_matches_slow_reference(size, mode, hw):
    g = torch.Generator().manual_seed(size)
    x = torch.randn(2, 3, *hw, generator=g, dtype=torch.float64)
    y = BlurPool2d(3, filt_size=size, stride=2, pad_type=mode).double()(x)
    for b in range(2):
        for c in range(3):
            ref = _reference(x[b, c].numpy(), size, 2, mode)
            np.testing.assert_allclose(y[b, c].numpy(), ref, atol=1e-12)


def test_module_equals_function_and_filter_is_a_buffer():
    x = torch.randn(2, 4, 10, 10)
    pool = BlurPool2d(4, filt_size=5, stride=2)
    assert torch.allclose(pool(x), blur_pool2d(x, 5, 2), atol=1e-6)
    assert "filt" in dict(pool.named_buffers())
    assert pool.double().filt.dtype == torch.float64


def test_constant_input_stays_constant_and_size_is_ceil():
    y = BlurPool2d(2, filt_size=4)(torch.full((1, 2, 7, 5), 3.0))
    assert y.shape == (1, 2, 4, 3)
    assert torch.allclose(y, torch.full_like(y, 3.0))


def test_filt_size_1_is_plain_subsampling():
    x = torch.randn(1, 2, 6, 6)
    assert torch.equal(BlurPool2d(2, filt_size=1)(x), x[:, :, ::2, ::2])


def test_gradcheck():
    pool = BlurPool2d(2, filt_size=3).double()
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pool, (x,))


def test_bad_arguments_raise():
    with pytest.raises(GanscopeError):
        BlurPool2d(3, filt_size=8)
    with pytest.raises(GanscopeError):
        BlurPool2d(3, pad_type="circular")
    with pytest.raises(GanscopeError):
        BlurPool2d(3)(torch.zeros(1, 4, 8, 8))
    with pytest.raises(GanscopeError):
        blur_pool2d(torch.zeros(4, 8, 8))


def test_blurpool_is_more_shift_stable_than_subsampling():
    # Zhang 2019: a one-pixel shift changes strided subsampling far more than BlurPool.
    n = torch.arange(32, dtype=torch.float64)
    x = torch.cos(torch.pi * 0.9 * n)[None, None, None, :].expand(1, 1, 4, 32).contiguous()
    xs = torch.roll(x, 1, dims=-1)
    for_stride = (x[..., ::2] - xs[..., ::2]).abs().mean()
    pool = BlurPool2d(1, filt_size=5).double()
    for_blur = (pool(x) - pool(xs)).abs()[..., 2:-2].mean()
    assert for_blur < 0.1 * for_stride
