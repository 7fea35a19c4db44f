import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ganscope.spectrum import (
    PowerSpectrum,
    expand_half_spectrum,
    fft_frequencies,
    highpass_residual,
    power_spectrum,
    rgb_to_gray,
)

SIZES = [(8, 8), (9, 9), (8, 11), (13, 6), (16, 32)]


def _numpy_log_spectrum(img: np.ndarray, eps: float = 1e-8, scale: float = 20.0) -> np.ndarray:
    f = np.fft.fftshift(np.fft.fft2(img))
    return scale * np.log(np.abs(f) + eps)


@pytest.mark.parametrize(("H", "W"), SIZES)
def test_matches_numpy_fftshift_fft2(H, W):
    g = torch.Generator().manual_seed(H * 100 + W)
    x = torch.rand(3, 3, H, W, generator=g, dtype=torch.float64)
    got = power_spectrum(x)
    gray = rgb_to_gray(x)[:, 0].numpy()
    for b in range(3):
        np.testing.assert_allclose(got[b, 0].numpy(), _numpy_log_spectrum(gray[b]), atol=1e-9)


@pytest.mark.parametrize(("H", "W"), SIZES)
def test_per_channel_power_and_parseval(H, W):
    x = torch.rand(2, 3, H, W, dtype=torch.float64)
    power = power_spectrum(x, gray=False, log=False)
    assert power.shape == (2, 3, H, W)
    ref = np.abs(np.fft.fftshift(np.fft.fft2(x.numpy()), axes=(-2, -1))) ** 2
    np.testing.assert_allclose(power.numpy(), ref, rtol=1e-10, atol=1e-9)
    # Parseval: sum |F|^2 = H W sum |x|^2 for the unnormalized DFT
    torch.testing.assert_close(
        power.sum((-2, -1)), H * W * x.square().sum((-2, -1)), rtol=1e-12, atol=0
    )


def test_pure_cosine_puts_its_power_in_one_pair_of_coefficients():
    H, W, ky, kx = 16, 20, 3, 5
    yy, xx = torch.meshgrid(
        torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij"
    )
    img = torch.cos(2 * math.pi * (ky * yy / H + kx * xx / W))
    power = power_spectrum(img[None, None], log=False)[0, 0]
    peaks = {(H // 2 + ky, W // 2 + kx), (H // 2 - ky, W // 2 - kx)}
    for i, j in peaks:
        assert power[i, j].item() == pytest.approx((H * W / 2) ** 2, rel=1e-12)
    mask = torch.ones_like(power, dtype=torch.bool)
    for i, j in peaks:
        mask[i, j] = False
    assert power[mask].abs().max().item() < 1e-18 * (H * W) ** 2
    assert fft_frequencies(W)[W // 2 + kx].item() == pytest.approx(kx / W)


@settings(max_examples=25, deadline=None)
@given(
    H=st.integers(4, 12),
    W=st.integers(4, 12),
    dy=st.integers(-20, 20),
    dx=st.integers(-20, 20),
    seed=st.integers(0, 2**16),
)
def test_power_spectrum_is_invariant_to_circular_shifts(H, W, dy, dx, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, H, W, generator=g, dtype=torch.float64)
    shifted = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    for residual in (False, True):
        a = power_spectrum(x, log=False, residual=residual)
        b = power_spectrum(shifted, log=False, residual=residual)
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_residual_is_an_exact_high_pass_filter():
    H, W = 10, 7
    x = torch.rand(2, 1, H, W, dtype=torch.float64)
    p = power_spectrum(x, log=False)
    pr = power_spectrum(x, log=False, residual=True)
    # box 3x3 transfer function: (1 + 2 cos(2 pi k/H)) / 3 * (1 + 2 cos(2 pi l/W)) / 3
    ky = 2 * math.pi * fft_frequencies(H)[:, None]
    kx = 2 * math.pi * fft_frequencies(W)[None, :]
    box = (1 + 2 * torch.cos(ky)) / 3 * (1 + 2 * torch.cos(kx)) / 3
    torch.testing.assert_close(pr, p * (1 - box) ** 2, rtol=1e-9, atol=1e-9)
    assert highpass_residual(torch.full((1, 3, 5, 5), 0.3)).abs().max() < 1e-6


def test_expand_half_spectrum_equals_full_spectrum():
    for H, W in SIZES:
        x = torch.rand(2, 1, H, W, dtype=torch.float64)
        half = torch.fft.rfft2(x).abs()
        full = torch.fft.fftshift(torch.fft.fft2(x).abs(), dim=(-2, -1))
        torch.testing.assert_close(expand_half_spectrum(half, W), full, rtol=1e-12, atol=1e-12)


def test_module_equals_function_dtype_and_gradients():
    x = torch.rand(2, 3, 6, 7)
    out = PowerSpectrum(gray=False, scale=10.0)(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, power_spectrum(x, gray=False, scale=10.0))
    xd = torch.rand(1, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: power_spectrum(t), (xd,))
    assert torch.autograd.gradcheck(lambda t: power_spectrum(t, log=False, residual=True), (xd,))


@pytest.mark.parametrize("bad", [torch.rand(3, 8, 8), torch.zeros(1, 1, 8, 8, dtype=torch.int32)])
def test_bad_input_raises(bad):
    with pytest.raises((TypeError, ValueError)):
        power_spectrum(bad)


def test_fast_no_grad_path_equals_the_autograd_path():
    x = torch.rand(2, 3, 9, 8, dtype=torch.float64)
    fast = power_spectrum(x)
    with_grad = power_spectrum(x.clone().requires_grad_())
    torch.testing.assert_close(fast, with_grad.detach(), rtol=1e-12, atol=1e-12)
    # a constant image has exact zeros: the autograd path keeps finite gradients there
    flat = torch.full((1, 1, 4, 4), 0.5, dtype=torch.float64, requires_grad=True)
    power_spectrum(flat).sum().backward()
    assert torch.isfinite(flat.grad).all()
