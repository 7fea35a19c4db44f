"""Degradations and Wang et al. augmentation against slow references."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter

from ganscope.detectors.augment import (
    degrade,
    downscale,
    gaussian_blur,
    jpeg_roundtrip,
    random_crop_flip,
    wang_augment,
)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_gaussian_blur_equals_scipy(sigma):
    x = torch.rand(2, 3, 24, 20, dtype=torch.float64)
    out = gaussian_blur(x, sigma)
    # scipy's "mirror" is torch's "reflect"; truncate so that both use radius ceil(3 sigma).
    radius = int(np.ceil(3 * sigma))
    ref = gaussian_filter(
        x.numpy(), sigma=(0, 0, sigma, sigma), mode="mirror", truncate=(radius + 0.25) / sigma
    )
    # scipy's radius is int(truncate * sigma + 0.5) = radius
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


def test_per_image_sigma_and_identity():
    x = torch.rand(3, 3, 16, 16, dtype=torch.float64)
    out = gaussian_blur(x, [0.0, 1.0, 2.0])
    torch.testing.assert_close(out[0], x[0])
    torch.testing.assert_close(out[1:2], gaussian_blur(x[1:2], 1.0))
    torch.testing.assert_close(out[2:3], gaussian_blur(x[2:3], 2.0))


def test_gaussian_blur_gradcheck():
    x = torch.rand(1, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: gaussian_blur(t, 1.0), (x,))


def test_jpeg_roundtrip_equals_pillow():
    x = torch.rand(2, 3, 16, 16)
    out = jpeg_roundtrip(x, [50, 90])
    for i, q in enumerate((50, 90)):
        arr = (x[i].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=q)
        ref = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")) / 255.0
        np.testing.assert_allclose(out[i].permute(1, 2, 0).numpy(), ref, atol=1e-6)
    assert (out - x).abs().mean() > 0.01  # random noise does not survive JPEG


def test_random_crop_flip_equals_loop_reference():
    x = torch.arange(2 * 3 * 6 * 7, dtype=torch.float32).reshape(2, 3, 6, 7)
    out = random_crop_flip(x, 4, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    top = torch.randint(0, 3, (2,), generator=g)
    left = torch.randint(0, 4, (2,), generator=g)
    flip = torch.rand(2, generator=g) < 0.5
    for i in range(2):
        ref = x[i, :, top[i] : top[i] + 4, left[i] : left[i] + 4]
        if flip[i]:
            ref = ref.flip(-1)
        torch.testing.assert_close(out[i], ref)


def test_downscale_keeps_size_and_constants():
    x = torch.full((1, 3, 32, 32), 0.3)
    out = downscale(x, 0.5)
    assert out.shape == x.shape
    torch.testing.assert_close(out, x)
    noise = torch.rand(1, 3, 32, 32)
    assert (downscale(noise, 0.25) - noise).abs().mean() > 0.1


def test_wang_augment_probability_zero_is_identity():
    x = torch.rand(4, 3, 16, 16)
    g = torch.Generator().manual_seed(0)
    out = wang_augment(
        x, blur_prob=0, blur_sigma=(0, 3), jpeg_prob=0, jpeg_quality=(30, 100), generator=g
    )
    torch.testing.assert_close(out, x)
    out = wang_augment(
        x,
        blur_prob=1,
        blur_sigma=(1, 1),
        jpeg_prob=0,
        jpeg_quality=(30, 100),
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(out, gaussian_blur(x, 1.0))


def test_degrade_unknown_raises():
    from ganscope.errors import GanscopeError

    with pytest.raises(GanscopeError):
        degrade(torch.rand(1, 3, 8, 8), "rotate", 1)
