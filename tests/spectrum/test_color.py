import numpy as np
import pytest
import torch
from PIL import Image

from ganscope.spectrum import LUMA_WEIGHTS, RgbToGray, rgb_to_gray


def test_luma_matches_hand_computed_value():
    x = torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64).view(1, 3, 1, 1)
    expected = 0.299 * 1.0 + 0.587 * 0.5 + 0.114 * 0.25
    assert rgb_to_gray(x).item() == pytest.approx(expected, abs=1e-15)
    assert sum(LUMA_WEIGHTS) == pytest.approx(1.0)


def test_luma_agrees_with_pillow_within_rounding():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)
    x = torch.from_numpy(rgb.astype(np.float64)).permute(2, 0, 1)[None]
    ours = rgb_to_gray(x)[0, 0].numpy()
    assert np.abs(ours - pil).max() <= 0.5 + 1e-9  # Pillow rounds to 8 bits


def test_one_channel_passes_through_and_shapes():
    x = torch.rand(2, 1, 5, 4)
    assert rgb_to_gray(x) is x
    assert rgb_to_gray(torch.rand(2, 3, 5, 4)).shape == (2, 1, 5, 4)


@pytest.mark.parametrize(
    ("x", "err"),
    [
        (torch.rand(3, 5, 4), ValueError),
        (torch.rand(1, 2, 5, 4), ValueError),
        (torch.ones(1, 3, 5, 4, dtype=torch.int64), TypeError),
        (np.zeros((1, 3, 4, 4)), TypeError),
    ],
)
def test_bad_input_raises(x, err):
    with pytest.raises(err):
        rgb_to_gray(x)


def test_module_equals_function_and_dtype_follows_input():
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    out = RgbToGray()(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, rgb_to_gray(x))


def test_gradcheck():
    x = torch.rand(1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rgb_to_gray, (x,))
