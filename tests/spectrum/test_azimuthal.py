import math

import numpy as np
import pytest
import torch
from scipy.interpolate import interp1d

from ganscope.spectrum import (
    AzimuthalProfile,
    azimuthal_mean_half,
    azimuthal_profile,
    expand_half_spectrum,
    normalize_profile,
    power_spectrum,
    profile_frequencies,
    projections,
    radial_bins,
    resample_profile,
    spline_matrix,
)

SIZES = [(8, 8), (9, 9), (10, 7), (7, 12), (16, 16), (15, 24)]


def _slow_profile(spec: np.ndarray, center: str) -> np.ndarray:
    """Per-pixel loop: the binning rules written out independently of the library."""
    H, W = spec.shape
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for i in range(H):
        for j in range(W):
            if center == "dc":
                m = min(H, W)
                rho = math.hypot((i - H // 2) / H, (j - W // 2) / W)  # cycles/pixel
                k = math.floor(rho * m + 0.5)
            else:
                k = int(math.hypot(j - (W - 1) / 2, i - (H - 1) / 2))
            sums[k] = sums.get(k, 0.0) + float(spec[i, j])
            counts[k] = counts.get(k, 0) + 1
    R = max(sums) + 1
    assert sorted(sums) == list(range(R)), "an empty bin"
    return np.array([sums[k] / counts[k] for k in range(R)])


def _cosine(H, W, ky, kx):
    yy, xx = torch.meshgrid(
        torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij"
    )
    return torch.cos(2 * math.pi * (ky * yy / H + kx * xx / W))[None, None]


@pytest.mark.parametrize(("H", "W"), SIZES)
@pytest.mark.parametrize("center", ["dc", "durall"])
def test_matches_slow_reference_and_batched_equals_per_image(H, W, center):
    spec = torch.randn(3, 2, H, W, dtype=torch.float64)
    got = azimuthal_profile(spec, center=center)
    for b in range(3):
        for c in range(2):
            ref = _slow_profile(spec[b, c].numpy(), center)
            np.testing.assert_allclose(got[b, c].numpy(), ref, rtol=1e-12, atol=1e-12)
        single = azimuthal_profile(spec[b : b + 1], center=center)
        torch.testing.assert_close(single[0], got[b], rtol=0, atol=1e-13)


@pytest.mark.parametrize(("H", "W"), SIZES)
@pytest.mark.parametrize("center", ["dc", "durall"])
def test_half_spectrum_path_equals_full_path(H, W, center):
    x = torch.rand(2, 1, H, W, dtype=torch.float64)
    half = torch.log(torch.fft.rfft2(x).abs() + 1e-8)
    full = expand_half_spectrum(half, W)
    torch.testing.assert_close(
        azimuthal_mean_half(half, W, center=center),
        azimuthal_profile(full, center=center),
        rtol=1e-12,
        atol=1e-12,
    )


def test_every_bin_holds_a_pixel_for_all_small_sizes():
    for H in range(1, 23):
        for W in range(1, 23):
            for center in ("dc", "durall"):
                b = radial_bins(H, W, center)
                assert np.all(np.bincount(b.ravel()) > 0), (H, W, center)


def test_constant_spectrum_and_constant_image():
    spec = torch.full((2, 1, 12, 9), 3.25, dtype=torch.float64)
    prof = azimuthal_profile(spec)
    torch.testing.assert_close(prof, torch.full_like(prof, 3.25), rtol=0, atol=1e-14)
    # a constant image has all its energy at DC (bin 0): |F(0,0)| = c H W
    img = torch.full((1, 1, 12, 12), 0.5, dtype=torch.float64)
    power = azimuthal_profile(power_spectrum(img, log=False))[0, 0]
    assert power[0].item() == pytest.approx((0.5 * 144) ** 2, rel=1e-12)
    assert power[1:].abs().max().item() < 1e-20


@pytest.mark.parametrize(
    ("H", "W", "ky", "kx", "expected_bin"),
    [
        (32, 32, 0, 7, 7),
        (32, 32, 3, 4, 5),
        (31, 31, 6, 8, 10),
        (24, 32, 0, 8, 6),
        (24, 32, 6, 0, 6),
    ],
)
def test_cosine_puts_its_power_in_the_expected_bin(H, W, ky, kx, expected_bin):
    power = power_spectrum(_cosine(H, W, ky, kx), log=False)
    prof = azimuthal_profile(power)[0, 0]
    assert int(prof.argmax()) == expected_bin
    assert prof[expected_bin] > 1e6 * prof[torch.arange(len(prof)) != expected_bin].max()
    # the bin sits at the cosine's frequency in cycles/pixel
    rho = math.hypot(ky / H, kx / W)
    assert profile_frequencies(H, W)[expected_bin] == pytest.approx(rho)


def test_projections_of_a_horizontal_cosine():
    H, W, kx = 8, 16, 3
    power = power_spectrum(_cosine(H, W, 0, kx), log=False)
    horizontal, vertical = projections(power)
    assert horizontal.shape == (1, 1, W) and vertical.shape == (1, 1, H)
    peak = (H * W / 2) ** 2
    expected_h = torch.zeros(W, dtype=torch.float64)
    expected_h[W // 2 + kx] = expected_h[W // 2 - kx] = peak / H
    torch.testing.assert_close(horizontal[0, 0], expected_h, rtol=1e-12, atol=1e-9)
    expected_v = torch.zeros(H, dtype=torch.float64)
    expected_v[H // 2] = 2 * peak / W  # all energy sits in the row k_y = 0
    torch.testing.assert_close(vertical[0, 0], expected_v, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(("n", "bins"), [(4, 4), (5, 17), (20, 7), (33, 300)])
def test_resample_equals_scipy_cubic_interp1d(n, bins):
    values = np.random.default_rng(n).normal(size=(3, n))
    got = resample_profile(torch.from_numpy(values), bins).numpy()
    nodes, at = np.linspace(0, bins, n), np.linspace(0, bins, bins)
    ref = interp1d(nodes, values, kind="cubic", axis=-1)(at)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_resample_reproduces_a_cubic_polynomial_exactly():
    # a not-a-knot spline reproduces cubics: independent of scipy
    n, bins = 9, 25
    t = np.linspace(0, 1, n)
    s = np.linspace(0, 1, bins)
    poly = lambda u: 2 * u**3 - u**2 + 0.5 * u - 3  # noqa: E731
    got = resample_profile(torch.from_numpy(poly(t)), bins).numpy()
    np.testing.assert_allclose(got, poly(s), atol=1e-12)


def test_small_profiles_fall_back_to_lower_degree():
    assert spline_matrix(1, 5).shape == (1, 5)
    lin = resample_profile(torch.tensor([0.0, 2.0], dtype=torch.float64), 5)
    torch.testing.assert_close(lin, torch.linspace(0, 2, 5, dtype=torch.float64))


def test_normalizations():
    p = torch.tensor([[2.0, 4.0, 1.0, 3.0]], dtype=torch.float64)
    torch.testing.assert_close(normalize_profile(p, "first"), p / 2)
    torch.testing.assert_close(normalize_profile(p, "max"), p / 4)
    torch.testing.assert_close(normalize_profile(p, "sum"), p / 10)
    torch.testing.assert_close(normalize_profile(p, "minmax"), (p - 1) / 3)
    assert normalize_profile(p, None) is p
    with pytest.raises(ValueError):
        normalize_profile(p, "l2")
    with pytest.raises(ValueError):
        azimuthal_profile(torch.rand(4, 4), center="corner")


def test_module_equals_function_and_bins_shape():
    spec = torch.rand(2, 1, 16, 16)
    mod = AzimuthalProfile(bins=30, normalize="minmax")
    out = mod(spec)
    assert out.shape == (2, 1, 30)
    torch.testing.assert_close(out, azimuthal_profile(spec, bins=30, normalize="minmax"))
    assert len(profile_frequencies(16, 16, bins=30)) == 30


def test_gradients_flow_through_the_profile():
    spec = torch.rand(2, 1, 6, 5, dtype=torch.float64, requires_grad=True)
    for kwargs in ({}, {"bins": 7, "normalize": "minmax"}, {"center": "durall"}):
        assert torch.autograd.gradcheck(lambda s, kw=kwargs: azimuthal_profile(s, **kw), (spec,))
    # end to end, as the spectral loss of the generator uses it
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    prof = azimuthal_profile(power_spectrum(x), normalize="minmax")
    prof[..., 5:].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("n", [2, 3, 4, 5, 9, 44, 87])
@pytest.mark.parametrize("bins", [1, 4, 88, 300])
def test_spline_matrix_equals_scipys_not_a_knot_spline(n, bins):
    """Our NumPy spline (no scipy.interpolate import at start-up) against scipy's own, which
    Durall et al.'s griddata(method="cubic") is."""
    from scipy.interpolate import make_interp_spline

    nodes, at = np.linspace(0, bins, n), np.linspace(0, bins, bins)
    ref = make_interp_spline(nodes, np.eye(n), k=min(3, n - 1))(at).T
    np.testing.assert_allclose(spline_matrix(n, bins), ref, rtol=0, atol=1e-12)
