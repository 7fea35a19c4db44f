"""Consistency under shifts and resizing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganscope.antialias import consistency, resize_consistency, score_images
from ganscope.errors import GanscopeError


class Brightness(nn.Module):
    """Logit of 'fake' = mean brightness - 0.5: shift- and resize-invariant up to crops."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 50 * (x.mean(dim=(1, 2, 3)) - 0.5)


class Corner(nn.Module):
    """Three classes decided by the top-left pixel: anything but shift-invariant."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x[:, 0, 0, 0]
        return torch.stack([-(v - 0.2).abs(), -(v - 0.5).abs(), -(v - 0.8).abs()], 1) * 100


def test_invariant_model_is_fully_consistent() -> None:
    x = (
        torch.rand(6, 3, 12, 12) * 0.2
        + torch.tensor([0.0, 0.7, 0.1, 0.8, 0.0, 0.75])[:, None, None, None]
    )
    r = consistency(Brightness(), x, max_shift=3, mode="circular", pairs=4)
    assert r.binary and r.agreement == 1.0 and r.prob_diff < 1e-9
    assert r.n_pairs == 24 and r.agreement_ci == (1.0, 1.0)


def test_shift_sensitive_model_agrees_like_chance() -> None:
    torch.manual_seed(0)
    x = torch.rand(200, 3, 10, 10)
    r = consistency(Corner(), x, max_shift=4, pairs=5, seed=1)
    # The decisions on two different pixels of i.i.d. noise agree with probability sum p_k^2,
    # about 0.34 for three nearly equal classes.
    assert 0.25 < r.agreement < 0.45
    assert r.agreement_ci[0] < r.agreement < r.agreement_ci[1]
    assert not r.binary


def test_crop_mode_shows_the_model_smaller_views_and_pairs_differ() -> None:
    seen: list[tuple[int, ...]] = []

    class Spy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(tuple(x.shape))
            return x.mean(dim=(1, 2, 3))

    consistency(Spy(), torch.rand(3, 3, 20, 16), max_shift=6, pairs=2)
    assert seen == [(6, 3, 14, 10), (6, 3, 14, 10)]


def test_detector_uses_its_threshold() -> None:
    class Det:
        threshold_ = 0.9

        def predict_proba(self, X):
            p = np.full(len(X), 0.8)
            return np.column_stack([1 - p, p])

    s = score_images(Det(), torch.rand(4, 3, 8, 8))
    assert s.binary and (s.decisions == 0).all()


def test_resize_consistency() -> None:
    x = torch.rand(5, 3, 40, 40) * 0.2 + 0.7
    r = resize_consistency(Brightness(), x, scales=(0.8, 1.25))
    assert r.crop == 32 and r.agreement == [1.0, 1.0]
    with pytest.raises(GanscopeError, match="crop"):
        resize_consistency(Brightness(), x, scales=(0.5,), crop=32)


def test_bad_arguments() -> None:
    with pytest.raises(GanscopeError, match="mode"):
        consistency(Brightness(), torch.rand(2, 3, 8, 8), mode="diagonal")
    with pytest.raises(GanscopeError, match="leaves nothing"):
        consistency(Brightness(), torch.rand(2, 3, 8, 8), max_shift=8)
    with pytest.raises(GanscopeError, match="N, C, H, W"):
        consistency(Brightness(), torch.rand(3, 8, 8))
