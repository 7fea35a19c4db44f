"""Simulated up-sampling fakes (Zhang et al. 2019's idea): exact where the kernels are known."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganscope.detectors.inputs import npr_residual
from ganscope.detectors.simulate import (
    SIMULATED_UPSAMPLERS,
    simulate_upsampling,
    upsample_like_a_generator,
)
from ganscope.errors import GanscopeError


def test_shapes_range_and_seed():
    x = torch.rand(12, 3, 32, 48)
    a, kinds = simulate_upsampling(x, seed=3)
    b, _ = simulate_upsampling(x, seed=3)
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert len(kinds) == 12 and all(k.split("+")[0] in SIMULATED_UPSAMPLERS for k in kinds)
    assert not torch.equal(a, simulate_upsampling(x, seed=4)[0])


def test_nearest_leaves_no_npr_residual_and_bilinear_is_interpolate():
    x = torch.rand(2, 3, 16, 16)
    half = F.avg_pool2d(x, 2)
    g = torch.Generator().manual_seed(0)
    near = upsample_like_a_generator(half, "nearest", g)
    assert float(npr_residual(near).abs().max()) == 0.0
    bil = upsample_like_a_generator(half, "bilinear", g)
    torch.testing.assert_close(bil, F.interpolate(half, scale_factor=2, mode="bilinear"))


@pytest.mark.parametrize("kind", ["transposed", "pixelshuffle"])
def test_random_kernels_keep_a_flat_image_flat(kind):
    flat = torch.full((1, 3, 8, 8), 0.4)
    for seed in range(5):
        y = upsample_like_a_generator(flat, kind, torch.Generator().manual_seed(seed), post=True)
        assert y.shape == (1, 3, 16, 16)
        # Interior pixels (the transposed edges see fewer taps): exactly the flat value.
        torch.testing.assert_close(y[..., 2:-2, 2:-2], torch.full_like(y[..., 2:-2, 2:-2], 0.4))


def test_random_transposed_leaves_a_two_periodic_trace():
    x = torch.rand(4, 3, 32, 32)
    half = F.avg_pool2d(x, 2)
    y = upsample_like_a_generator(half, "transposed", torch.Generator().manual_seed(1))
    # Its NPR residual is far from the residual of the smooth bilinear version.
    bil = F.interpolate(half, scale_factor=2, mode="bilinear")
    assert not torch.allclose(npr_residual(y), npr_residual(bil), atol=1e-3)


def test_bad_input_is_refused():
    with pytest.raises(GanscopeError, match="multiples of 2"):
        simulate_upsampling(torch.rand(1, 3, 15, 16))
    with pytest.raises(GanscopeError, match="unknown"):
        upsample_like_a_generator(torch.rand(1, 3, 4, 4), "lanczos", torch.Generator())


def test_every_fake_ends_in_a_layer_by_default():
    x = torch.rand(16, 3, 16, 16)
    _, kinds = simulate_upsampling(x, seed=0)
    assert all(k.endswith("+conv") for k in kinds)
    fakes, kinds = simulate_upsampling(x, seed=0, post_prob=0.0)
    assert not any(k.endswith("+conv") for k in kinds)
    # Without the last layer, nearest is an exact 2x enlargement: no NPR residual at all.
    near = [i for i, k in enumerate(kinds) if k == "nearest"]
    assert near and float(npr_residual(fakes[near]).abs().max()) == 0.0
    with pytest.raises(GanscopeError, match="post_prob"):
        simulate_upsampling(x, post_prob=1.5)


@pytest.mark.parametrize("kind", ["transposed", "pixelshuffle"])
def test_phase_jitter_leaves_a_checkerboard_on_a_flat_image(kind):
    flat = torch.full((1, 3, 8, 8), 0.4)
    y = upsample_like_a_generator(flat, kind, torch.Generator().manual_seed(0), phase_jitter=0.1)
    inner = y[..., 2:-2, 2:-2]
    # Each output phase is flat at its own gain: the same value two pixels apart, not one.
    torch.testing.assert_close(inner[..., 2:, :], inner[..., :-2, :])
    torch.testing.assert_close(inner[..., :, 2:], inner[..., :, :-2])
    assert float((inner[..., 1:, :] - inner[..., :-1, :]).abs().max()) > 1e-3


def test_stages_up_sample_like_a_decoder():
    x = torch.rand(8, 3, 32, 32)
    fakes, kinds = simulate_upsampling(x, seed=1, kinds=("nearest",), post_prob=0.0, stages=(2,))
    assert kinds == ["nearestx2"] * 8
    # Two bare nearest stages: each 4x4 block is the mean of the same block of the input.
    blocks = F.avg_pool2d(x, 4)
    torch.testing.assert_close(fakes, F.interpolate(blocks, scale_factor=4, mode="nearest"))
    _, kinds = simulate_upsampling(x, seed=1, stages=(1, 2))
    assert {k.endswith("x2") for k in kinds} == {True, False}
    with pytest.raises(GanscopeError, match="multiples of 4"):
        simulate_upsampling(torch.rand(1, 3, 18, 18), stages=(1, 2))
    with pytest.raises(GanscopeError, match="stages"):
        simulate_upsampling(x, stages=(0,))
    with pytest.raises(GanscopeError, match="phase_jitter"):
        simulate_upsampling(x, phase_jitter=-1.0)


def test_relu_conv_post_layer_is_a_small_nonlinear_residual():
    from ganscope.detectors.simulate import _random_relu_block

    x = torch.rand(2, 3, 16, 16)
    y = _random_relu_block(x, torch.Generator().manual_seed(0))
    assert 1e-4 < float((y - x).abs().mean()) < 0.05
    # Not affine: an affine r would give r(x) + r(z) = r(x + z - c) + r(c) for every c.
    r = lambda v: _random_relu_block(v, torch.Generator().manual_seed(0)) - v  # noqa: E731
    z, c = x.flip(-1), torch.full_like(x, 0.5)
    assert float((r(x) + r(z) - r(x + z - c) - r(c)).abs().max()) > 1e-4
    a, kinds_a = simulate_upsampling(x, seed=2)
    b, kinds_b = simulate_upsampling(x, seed=2, post_layer="relu-conv")
    assert kinds_a[0] == kinds_b[0] and not torch.equal(a, b)
    with pytest.raises(GanscopeError, match="post_layer"):
        simulate_upsampling(x, post_layer="mlp")


def test_subsampled_fakes_keep_every_other_pixel_of_the_real_image():
    """``downsample="subsample"``: nearest up-sampling of every other pixel gives back exactly
    those pixels, each repeated over its 2x2 block (average pooling would blur them)."""
    x = torch.rand(3, 3, 16, 16)
    fakes, kinds = simulate_upsampling(
        x, seed=2, kinds=("nearest",), post_prob=0.0, downsample="subsample"
    )
    assert kinds == ["nearest/sub"] * 3
    expected = x[..., ::2, ::2].repeat_interleave(2, -1).repeat_interleave(2, -2)
    torch.testing.assert_close(fakes, expected, rtol=0, atol=0)
    average, _ = simulate_upsampling(x, seed=2, kinds=("nearest",), post_prob=0.0)
    pooled = F.avg_pool2d(x, 2).repeat_interleave(2, -1).repeat_interleave(2, -2)
    torch.testing.assert_close(average, pooled)
    default, _ = simulate_upsampling(x, seed=5)
    torch.testing.assert_close(default, simulate_upsampling(x, seed=5, downsample="average")[0])
    _, mixed = simulate_upsampling(torch.rand(32, 3, 16, 16), seed=0, downsample="mixed")
    assert 0 < sum(k.endswith("/sub") for k in mixed) < 32
    with pytest.raises(GanscopeError, match="downsample"):
        simulate_upsampling(x, downsample="max")


def test_post_strength_zero_makes_the_post_layer_the_identity():
    """``post_strength=0``: the 3x3 taps keep only their centre and the residual block's scale
    is 0, so a post-processed nearest fake equals the plain one; larger strengths move further
    from it."""
    x = torch.rand(4, 3, 16, 16)
    plain, _ = simulate_upsampling(x, seed=1, kinds=("nearest",), post_prob=0.0)
    distances = []
    for strength in (0.0, 1.0, 4.0):
        fakes, _ = simulate_upsampling(
            x,
            seed=1,
            kinds=("nearest",),
            post_prob=1.0,
            post_layer="relu-conv",
            post_strength=strength,
        )
        distances.append(float((fakes - plain).abs().mean()))
    assert distances[0] == 0.0
    assert 0.0 < distances[1] < distances[2]
    with pytest.raises(GanscopeError, match="post_strength"):
        simulate_upsampling(x, post_strength=-1.0)
