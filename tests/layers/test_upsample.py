"""Tests of the 2x upsampler registry and bed-of-nails zero insertion."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganscope.errors import GanscopeError
from ganscope.layers import (
    UPSAMPLERS,
    BedOfNailsUpsampler,
    BlurUpsampler,
    bed_of_nails,
    create_upsampler,
    register_upsampler,
)

NAMES = sorted(UPSAMPLERS)


def test_registry_has_the_documented_names():
    assert set(UPSAMPLERS) >= {
        "transposed",
        "nearest",
        "bilinear",
        "bicubic",
        "pixelshuffle",
        "bednails",
        "blur",
    }


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hw", [(4, 4), (5, 7), (1, 3)])
def test_upsampler_doubles_height_and_width(name, hw):
    torch.manual_seed(0)
    up = create_upsampler(name, 6, 5)
    x = torch.randn(2, 6, *hw)
    y = up(x)
    assert y.shape == (2, 5, 2 * hw[0], 2 * hw[1])
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", NAMES)
def test_upsampler_backpropagates_and_follows_dtype(name):
    torch.manual_seed(0)
    up = create_upsampler(name, 3, 2).double()
    x = torch.randn(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y = up(x)
    assert y.dtype == torch.float64
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in up.parameters())


@pytest.mark.parametrize("name", ["bednails", "blur", "pixelshuffle", "transposed"])
def test_upsampler_gradcheck(name):
    torch.manual_seed(0)
    up = create_upsampler(name, 2, 1).double()
    x = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(up, (x,), eps=1e-6, atol=1e-5)


def test_registering_a_name_twice_raises():
    with pytest.raises(ValueError, match="already registered"):

        @register_upsampler("bilinear")
        class Again(nn.Module):
            pass

    assert UPSAMPLERS["bilinear"].__name__ == "BilinearUpsampler"


def test_unknown_upsampler_is_a_usage_error():
    with pytest.raises(GanscopeError, match="registered: transposed"):
        create_upsampler("lanczos", 3, 3)


def test_bed_of_nails_places_values_on_the_even_grid():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    expected = torch.tensor(
        [[1.0, 0, 2.0, 0], [0, 0, 0, 0], [3.0, 0, 4.0, 0], [0, 0, 0, 0]],
    )
    assert torch.equal(bed_of_nails(x), expected)


def test_bed_of_nails_1d_spectrum_is_the_original_repeated_twice_by_hand():
    # Seed 002: the DFT of the zero-inserted signal of length 2N is the N-point DFT repeated.
    # a = [1, 2, 3, 4]: DFT = [10, -2+2i, -2, -2-2i] (hand-computed).
    a = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    up = bed_of_nails(a)[0]  # the first row is the 1D zero-inserted signal
    assert torch.equal(up, torch.tensor([1.0, 0, 2, 0, 3, 0, 4, 0], dtype=torch.float64))
    hand = torch.tensor([10, -2 + 2j, -2, -2 - 2j], dtype=torch.complex128)
    assert torch.allclose(torch.fft.fft(a[0]), hand, atol=1e-12)
    assert torch.allclose(torch.fft.fft(up), torch.cat([hand, hand]), atol=1e-12)


def test_bed_of_nails_2d_spectrum_is_an_exact_replica():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 5, 6, generator=g, dtype=torch.float64)
    F = torch.fft.fft2(x)
    F_up = torch.fft.fft2(bed_of_nails(x))  # (2, 3, 10, 12)
    # F_up[k, l] = F[k mod H, l mod W]: the spectrum tiled 2 x 2, exactly.
    assert torch.allclose(F_up, F.repeat(1, 1, 2, 2), atol=1e-10)
    # ... so the high-frequency replica carries as much energy as the original band.
    assert torch.allclose(F_up[..., 5:, 6:], F, atol=1e-10)


def test_bednails_fast_path_equals_the_zero_insertion_reference():
    torch.manual_seed(0)
    up = BedOfNailsUpsampler(4, 3).double()
    x = torch.randn(2, 4, 5, 3, dtype=torch.float64)
    assert torch.allclose(up(x), up.forward_reference(x), atol=1e-12)


def test_pixelshuffle_starts_as_nearest_neighbour_icnr():
    torch.manual_seed(0)
    up = create_upsampler("pixelshuffle", 4, 3)
    y = up(torch.randn(2, 4, 5, 5))
    # ICNR: the four sub-pixel kernels are equal, so every 2x2 output block is constant.
    assert torch.equal(y[..., 0::2, 0::2], y[..., 1::2, 0::2])
    assert torch.equal(y[..., 0::2, 0::2], y[..., 0::2, 1::2])
    assert torch.equal(y[..., 0::2, 0::2], y[..., 1::2, 1::2])


def _identity_conv(up: nn.Module) -> None:
    with torch.no_grad():
        up.conv.weight.zero_()
        up.conv.weight[0, 0, 1, 1] = 1.0
        up.conv.bias.zero_()


@torch.no_grad()
def test_blur_upsampler_interpolates_with_the_5_tap_binomial():
    # Nearest neighbour + [1, 3, 3, 1]/8 = zero insertion + [1, 4, 6, 4, 1]/8 per axis:
    # y[2j] = (x[j-1] + 6 x[j] + x[j+1]) / 8 and y[2j+1] = (x[j] + x[j+1]) / 2 (by hand).
    up = BlurUpsampler(1, 1).double()
    _identity_conv(up)
    x = torch.randn(1, 1, 1, 8, dtype=torch.float64).expand(1, 1, 8, 8).contiguous()
    y = up(x)[0, 0, 6]  # rows are constant, so any row is the 1D upsampling of x's row
    r = x[0, 0, 0]
    for j in range(1, 7):
        assert y[2 * j] == pytest.approx(float(r[j - 1] + 6 * r[j] + r[j + 1]) / 8, abs=1e-12)
        assert y[2 * j + 1] == pytest.approx(float(r[j] + r[j + 1]) / 2, abs=1e-12)


@torch.no_grad()
def test_bilinear_upsampler_interpolates_with_half_pixel_weights():
    up = create_upsampler("bilinear", 1, 1).double()
    _identity_conv(up)
    x = torch.randn(1, 1, 1, 6, dtype=torch.float64).expand(1, 1, 6, 6).contiguous()
    y = up(x)[0, 0, 5]
    r = x[0, 0, 0]
    for j in range(1, 5):
        assert y[2 * j] == pytest.approx(float(0.25 * r[j - 1] + 0.75 * r[j]), abs=1e-12)


@torch.no_grad()
@pytest.mark.parametrize(("name", "order"), [("nearest", 1), ("bilinear", 3), ("blur", 4)])
def test_replica_rejection_of_the_interpolation_kernel(name, order):
    # The response to an interior impulse is the interpolation kernel on the zero-inserted grid:
    # [1, 1] (nearest), [1, 3, 3, 1] / 4 (bilinear), [1, 4, 6, 4, 1] / 8 (blur), binomials whose
    # magnitude response is |cos(w / 2)|**order (times 2), so the replica of a
    # frequency w0 created by zero insertion, at pi - w0, is scaled by
    # (cos((pi - w0) / 2) / cos(w0 / 2))**order relative to w0: anti-aliasing grows with order.
    up = create_upsampler(name, 1, 1).double()
    _identity_conv(up)
    x = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    x[..., 8, 8] = 1.0
    kernel = up(x)[0, 0].sum(dim=0)  # (32,): the 1D kernel (separable; rows summed out)
    K = torch.fft.fft(kernel).abs()
    w0, wr = 2 * math.pi * 2 / 32, 2 * math.pi * 14 / 32  # bin 2 and its replica, bin 16 - 2
    expected = (math.cos(wr / 2) / math.cos(w0 / 2)) ** order
    assert float(K[14] / K[2]) == pytest.approx(expected, abs=1e-12)
