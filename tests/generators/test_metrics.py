"""Sliced Wasserstein distance (ProGAN, App. D) and the spectral distance."""

from __future__ import annotations

import math

import pytest
import torch

from ganscope.errors import GanscopeError
from ganscope.generators.metrics import (
    laplacian_pyramid,
    sliced_wasserstein,
    sliced_wasserstein_distance,
    spectral_distance,
)
from ganscope.spectrum import azimuthal_profile


def _upsample_like_pyr_up(x):
    from ganscope.generators.metrics import _pyr_up

    return _pyr_up(x)


def test_laplacian_pyramid_reconstructs_exactly():
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    pyr = laplacian_pyramid(x, 3)
    assert [p.shape[-1] for p in pyr] == [32, 16, 8]
    rec = pyr[-1]
    for level in reversed(pyr[:-1]):
        rec = level + _upsample_like_pyr_up(rec)
    assert torch.allclose(rec, x, atol=1e-12)


def test_sliced_wasserstein_of_a_translated_set_by_hand():
    # Projections of b = a + t e_0 on a unit direction d are those of a shifted by t d_0, so
    # each sorted 1D distance is exactly |t d_0|: the SWD is t * mean |d_0| over the directions.
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 6, generator=g, dtype=torch.float64)
    b = a.clone()
    b[:, 0] += 0.3
    swd = sliced_wasserstein(
        a, b, dir_repeats=2, dirs_per_repeat=16, generator=torch.Generator().manual_seed(5)
    )
    g2 = torch.Generator().manual_seed(5)
    d0 = []
    for _ in range(2):
        dirs = torch.randn(6, 16, generator=g2).double()
        d0.append((dirs / dirs.norm(dim=0, keepdim=True))[0].abs())
    assert swd.item() == pytest.approx(0.3 * torch.cat(d0).mean().item(), abs=1e-12)
    assert sliced_wasserstein(a, a).item() == 0.0


def test_swd_levels_and_identity():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(6, 3, 32, 32, generator=g)
    same = sliced_wasserstein_distance(real, real, nhoods_per_image=16)
    assert same.resolutions == [32, 16]
    # Same images, but patch positions are drawn separately per set: small, not zero.
    assert same.mean < 0.2
    r64 = sliced_wasserstein_distance(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    assert r64.resolutions == [64, 32, 16]
    assert r64.as_dict().keys() == {"swd_64", "swd_32", "swd_16", "swd_mean"}
    assert r64.mean == pytest.approx(sum(r64.per_level) / 3)


def test_swd_sees_a_checkerboard_at_the_finest_level_only():
    g = torch.Generator().manual_seed(1)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(12, 3, 36, 36, generator=g), 5, 1)
    smooth2 = torch.nn.functional.avg_pool2d(torch.rand(12, 3, 36, 36, generator=g), 5, 1)
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    checker = 0.1 * (-1.0) ** (yy + xx)  # the up-convolution artifact, at Nyquist
    close = sliced_wasserstein_distance(smooth, smooth2, seed=3)
    far = sliced_wasserstein_distance(smooth, smooth2 + checker, seed=3)
    assert far.per_level[0] > 3 * close.per_level[0]
    # The 5-tap binomial of pyrDown has a zero at Nyquist: the coarse level cannot see the
    # checkerboard, and with the same seed (same patches, same directions) the value is equal.
    assert far.per_level[1] == pytest.approx(close.per_level[1], abs=1e-5)
    assert sliced_wasserstein_distance(smooth, smooth2 + checker, seed=3) == far
    # Unequal set sizes are allowed (the larger descriptor set is subsampled).
    assert sliced_wasserstein_distance(smooth[:5], smooth2).n_descriptors == 5 * 128


def test_swd_input_errors():
    with pytest.raises(GanscopeError):
        sliced_wasserstein_distance(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 16, 16))
    with pytest.raises(GanscopeError):
        sliced_wasserstein_distance(torch.rand(0, 3, 32, 32), torch.rand(2, 3, 32, 32))


def test_spectral_distance_of_constant_images_by_hand():
    # A constant image c has |F| = c * H * W at DC and 0 elsewhere: the log profiles differ in
    # the DC bin only, by 20 ln(c1 / c2); averaged over the R bins.
    a = torch.full((3, 3, 16, 16), 0.8, dtype=torch.float64)
    b = torch.full((2, 3, 16, 16), 0.4, dtype=torch.float64)
    R = azimuthal_profile(torch.zeros(1, 1, 16, 16)).shape[-1]
    assert spectral_distance(a, b) == pytest.approx(20 * math.log(2) / R, rel=1e-9)
    assert spectral_distance(a, a) == 0.0
    with pytest.raises(GanscopeError):
        spectral_distance(a, torch.rand(1, 3, 8, 8))
