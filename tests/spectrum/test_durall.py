"""The ``durall`` preset against a slow per-image NumPy/SciPy reference written from Durall et al.'s
published pipeline (github.com/cc-hpc-itwm/DeepFakeDetection): gray, fft2, fftshift, + 1e-8,
20 * log|.|, azimuthalAverage, griddata(cubic), divide by the first value."""

import numpy as np
import pytest
import torch
from scipy.interpolate import griddata

from ganscope.spectrum import DurallFeatures, durall_features, extract_features, feature_layout


def _azimuthal_average_published(image: np.ndarray) -> np.ndarray:
    """radialProfile.azimuthalAverage as published (argsort + cumsum; it yields bins 1 .. R-1)."""
    y, x = np.indices(image.shape)
    center = np.array([(x.max() - x.min()) / 2.0, (y.max() - y.min()) / 2.0])
    r = np.hypot(x - center[0], y - center[1])
    ind = np.argsort(r.flat)
    r_sorted = r.flat[ind]
    i_sorted = image.flat[ind]
    r_int = r_sorted.astype(int)
    deltar = r_int[1:] - r_int[:-1]
    rind = np.where(deltar)[0]
    nr = rind[1:] - rind[:-1]
    csim = np.cumsum(i_sorted, dtype=float)
    tbin = csim[rind[1:]] - csim[rind[:-1]]
    return tbin / nr


def _durall_reference(rgb01: np.ndarray, N: int | None, *, published_average: bool = False):
    """One image (C, H, W) in [0, 1] -> Durall et al.'s feature of length N."""
    if rgb01.shape[0] == 3:
        gray = 0.299 * rgb01[0] + 0.587 * rgb01[1] + 0.114 * rgb01[2]
    else:
        gray = rgb01[0]
    img = gray * 255.0  # their cv2.imread(path, 0) gives 0..255
    f = np.fft.fft2(img)
    fshift = np.fft.fftshift(f)
    fshift += 1e-8
    magnitude_spectrum = 20 * np.log(np.abs(fshift))
    if published_average:
        psd1D = _azimuthal_average_published(magnitude_spectrum)
    else:
        y, x = np.indices(magnitude_spectrum.shape)
        center = np.array([(x.max() - x.min()) / 2.0, (y.max() - y.min()) / 2.0])
        r = np.hypot(x - center[0], y - center[1]).astype(int)
        tbin = np.bincount(r.ravel(), magnitude_spectrum.ravel())
        nr = np.bincount(r.ravel())
        psd1D = (tbin / nr)[1:-1]
    N = psd1D.size if N is None else N
    points = np.linspace(0, N, num=psd1D.size)
    xi = np.linspace(0, N, num=N)
    interpolated = griddata(points, psd1D, xi, method="cubic")
    return interpolated / interpolated[0]


@pytest.mark.parametrize(("H", "W"), [(32, 32), (33, 33), (31, 40), (48, 36), (17, 23), (64, 64)])
@pytest.mark.parametrize("bins", [None, 50, 300])
def test_durall_equals_reference(H, W, bins):
    g = torch.Generator().manual_seed(H * 1000 + W)
    x = torch.rand(3, 3, H, W, generator=g, dtype=torch.float64)
    got = durall_features(x, bins=bins).numpy()
    for b in range(3):
        ref = _durall_reference(x[b].numpy(), bins)
        assert got[b].shape == ref.shape
        np.testing.assert_allclose(got[b], ref, rtol=0, atol=1e-9)
    assert feature_layout("azimuthal", H, W, bins=bins, preset="durall").length == got.shape[1]


@pytest.mark.parametrize(("H", "W"), [(32, 32), (33, 33), (21, 30)])
def test_keeping_bins_1_to_r_minus_1_is_what_the_published_average_does(H, W):
    x = torch.rand(2, 3, H, W, dtype=torch.float64)
    got = durall_features(x).numpy()
    for b in range(2):
        ref = _durall_reference(x[b].numpy(), None, published_average=True)
        np.testing.assert_allclose(got[b], ref, rtol=0, atol=1e-9)


def test_gray_input_and_structured_image_with_exact_zeros():
    # a checkerboard has exactly zero coefficients: the epsilon goes on the complex value
    yy, xx = np.indices((16, 16))
    img = ((yy // 2 + xx // 4) % 2).astype(np.float64)[None]
    got = durall_features(torch.from_numpy(img)[None], bins=40)[0].numpy()
    np.testing.assert_allclose(got, _durall_reference(img, 40), rtol=0, atol=1e-9)


def test_batched_equals_per_image_and_float32_is_close():
    x = torch.rand(5, 3, 24, 24, dtype=torch.float64)
    batched = durall_features(x, bins=64)
    for b in range(5):
        torch.testing.assert_close(durall_features(x[b : b + 1], bins=64)[0], batched[b])
    f32 = durall_features(x.float(), bins=64)
    assert f32.dtype == torch.float32
    torch.testing.assert_close(f32.double(), batched, rtol=1e-4, atol=1e-4)


def test_preset_module_and_first_value():
    x = torch.rand(2, 3, 20, 20)
    feats = extract_features(x, "azimuthal", preset="durall", bins=33)
    torch.testing.assert_close(feats, DurallFeatures(bins=33)(x))
    torch.testing.assert_close(feats[:, 0], torch.ones(2))


def test_small_images():
    # 8x8 keeps 3 radius bins, too few for a cubic: the spline degree drops (finite output)
    out = durall_features(torch.rand(2, 3, 8, 8), bins=10)
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="at least"):
        durall_features(torch.rand(1, 3, 3, 3))
