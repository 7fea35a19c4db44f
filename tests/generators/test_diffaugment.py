"""DiffAugment (Zhao et al. 2020) against a loop-based transcription of the authors' code."""

from __future__ import annotations

import pytest
import torch

from ganscope.errors import GanscopeError
from ganscope.generators.diffaugment import diff_augment, parse_policy


def _reference_translation(x, tx, ty):
    # DiffAugment_pytorch.rand_translation with its random shifts given: output (i, j) reads
    # the zero-padded input at (i + ty + 1, j + tx + 1), clamped to the padded frame.
    B, _, H, W = x.shape
    pad = torch.nn.functional.pad(x, (1, 1, 1, 1))
    out = torch.empty_like(x)
    for b in range(B):
        for i in range(H):
            for j in range(W):
                ii = min(max(i + ty[b] + 1, 0), H + 1)
                jj = min(max(j + tx[b] + 1, 0), W + 1)
                out[b, :, i, j] = pad[b, :, ii, jj]
    return out


def test_translation_matches_reference():
    x = torch.rand(4, 2, 8, 8)
    g = torch.Generator().manual_seed(3)
    out = diff_augment(x, "translation", generator=g)
    g = torch.Generator().manual_seed(3)
    ty = torch.randint(-1, 2, (4, 1, 1), generator=g).flatten().tolist()
    tx = torch.randint(-1, 2, (4, 1, 1), generator=g).flatten().tolist()
    torch.testing.assert_close(out, _reference_translation(x, tx, ty))


def test_cutout_zeroes_one_square_of_half_the_side():
    x = torch.ones(64, 1, 8, 8)
    out = diff_augment(x, "cutout", generator=torch.Generator().manual_seed(0))
    zeros = (out == 0).float().sum(dim=(1, 2, 3))
    assert zeros.max() == 16  # a 4x4 square when it lies inside
    assert zeros.min() >= 4  # clipped at a corner, at least 2x2 remain
    rows = (out == 0).any(dim=3).float().sum(dim=(1, 2))
    assert rows.max() <= 4


def test_color_is_differentiable_and_policy_parsing():
    x = torch.rand(3, 3, 8, 8, requires_grad=True)
    y = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(0))
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert parse_policy("none") == ()
    assert diff_augment(x, "none") is x
    with pytest.raises(GanscopeError, match="unknown augmentation"):
        parse_policy("color,rotate")


def test_same_generator_state_same_augmentation():
    x = torch.rand(2, 3, 8, 8)
    a = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(5))
    b = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
