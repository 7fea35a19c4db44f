import numpy as np
import pytest
import torch

from ganscope.spectrum import (
    FEATURE_KINDS,
    SpectralFeatures,
    azimuthal_profile,
    dct_spectrum,
    extract_features,
    feature_layout,
    power_spectrum,
    projections,
    resample_profile,
    rgb_to_gray,
)

SIZES = [(16, 16), (15, 15), (12, 17), (17, 10)]


@pytest.mark.parametrize("kind", FEATURE_KINDS)
@pytest.mark.parametrize(("H", "W"), SIZES)
def test_shapes_match_layout_and_batched_equals_per_image(kind, H, W):
    x = torch.rand(3, 3, H, W, dtype=torch.float64)
    feats = extract_features(x, kind)
    layout = feature_layout(kind, H, W)
    assert feats.shape == (3, layout.length)
    assert sum(len(f) for _, f in layout.segments) in (0, layout.length)
    for b in range(3):
        torch.testing.assert_close(extract_features(x[b : b + 1], kind)[0], feats[b])


@pytest.mark.parametrize(("H", "W"), SIZES)
def test_fast_paths_equal_the_composed_pure_functions(H, W):
    x = torch.rand(2, 3, H, W, dtype=torch.float64)
    spec = power_spectrum(x)
    torch.testing.assert_close(
        extract_features(x, "azimuthal"), azimuthal_profile(spec)[:, 0], rtol=1e-12, atol=1e-10
    )
    h, v = projections(spec)
    # keep the non-negative frequencies 0 .. W//2 (index W//2 + k, wrapping to the Nyquist column)
    h_pos = h[:, 0, (W // 2 + torch.arange(W // 2 + 1)) % W]
    v_pos = v[:, 0, (H // 2 + torch.arange(H // 2 + 1)) % H]
    torch.testing.assert_close(extract_features(x, "horizontal"), h_pos, rtol=1e-12, atol=1e-10)
    torch.testing.assert_close(extract_features(x, "vertical"), v_pos, rtol=1e-12, atol=1e-10)
    torch.testing.assert_close(
        extract_features(x, "projections"), torch.cat([h_pos, v_pos], 1), rtol=1e-12, atol=1e-10
    )
    torch.testing.assert_close(extract_features(x, "fft2d"), spec.flatten(1))
    torch.testing.assert_close(extract_features(x, "dct"), dct_spectrum(rgb_to_gray(x)).flatten(1))


def test_projections_are_symmetric_so_the_positive_half_loses_nothing():
    x = torch.rand(2, 3, 12, 9, dtype=torch.float64)
    h, v = projections(power_spectrum(x))
    W, H = 9, 12
    for k in range(1, W // 2 + 1):
        torch.testing.assert_close(h[..., (W // 2 + k) % W], h[..., (W // 2 - k) % W])
    for k in range(1, H // 2 + 1):
        torch.testing.assert_close(v[..., (H // 2 + k) % H], v[..., (H // 2 - k) % H])


def test_bins_resample_and_durall_projections():
    x = torch.rand(2, 3, 20, 24, dtype=torch.float64)
    native = extract_features(x, "horizontal")
    torch.testing.assert_close(
        extract_features(x, "horizontal", bins=40), resample_profile(native, 40)
    )
    feats = extract_features(x, "projections", preset="durall", bins=16)
    assert feats.shape == (2, 32)
    torch.testing.assert_close(feats[:, [0, 16]], torch.ones(2, 2, dtype=torch.float64))
    layout = feature_layout("projections", 20, 24, bins=16)
    assert [name for name, _ in layout.segments] == ["horizontal", "vertical"]
    np.testing.assert_allclose(layout.segments[0][1][[0, -1]], [0.0, 0.5])


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("radial", {}),
        ("azimuthal", {"preset": "wang"}),
        ("fft2d", {"bins": 10}),
        ("dct", {"preset": "durall"}),
        ("azimuthal", {"bins": 0}),
    ],
)
def test_bad_arguments_raise(kind, kwargs):
    with pytest.raises(ValueError):
        extract_features(torch.rand(1, 3, 8, 8), kind, **kwargs)


def test_module_float32_and_gradients():
    x = torch.rand(2, 3, 16, 16)
    mod = SpectralFeatures("projections", bins=12)
    out = mod(x)
    assert out.dtype == torch.float32 and out.shape == (2, 24)
    torch.testing.assert_close(out, extract_features(x, "projections", bins=12))
    torch.testing.assert_close(
        extract_features(x, "azimuthal").double(),
        extract_features(x.double(), "azimuthal"),
        rtol=1e-4,
        atol=1e-3,
    )
    xd = torch.rand(1, 1, 6, 7, dtype=torch.float64, requires_grad=True)
    for kind in ("azimuthal", "projections"):
        assert torch.autograd.gradcheck(lambda t, k=kind: extract_features(t, k, bins=5), (xd,))
