"""Causal unit search and artifact units on hand-wired toy generators."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganscope.dissect.artifacts import artifact_ablation, find_artifact_units
from ganscope.dissect.causal import causal_unit_search, effect_curve
from ganscope.dissect.concepts import ColorLabeler
from ganscope.dissect.segmenter import SegmenterLabeler
from ganscope.errors import GanscopeError


def _red_segmenter() -> SegmenterLabeler:
    """A differentiable two-class 'segmenter': logit of red = 20 * (r - g - 0.4)."""
    net = nn.Conv2d(3, 2, 1)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.zero_()
        net.weight[1, 0, 0, 0], net.weight[1, 1, 0, 0], net.bias[1] = 20.0, -20.0, -8.0
    return SegmenterLabeler(net, ["other", "red"], multiple=1)


def test_causal_search_finds_the_square_unit(square_gan):
    lab = _red_segmenter()
    search = causal_unit_search(
        square_gan,
        "units",
        lab,
        "red",
        [3, 2, 1, 0],
        value=1.0,
        steps=25,
        lr=0.1,
        l2=0.01,
        batch_size=2,
    )
    assert search.ranked[0] == 0
    a = dict(zip(search.candidates, search.alpha.tolist(), strict=True))
    assert a[0] > 0.9  # near the top of [0, 1] (the L2 penalty pulls it back a little)
    assert max(a[1], a[2], a[3]) < 0.2  # no effect, pulled down by the L2 penalty
    assert search.history[-1] > search.history[0]
    assert all(p.requires_grad for p in square_gan.parameters())  # restored
    assert search.to_json()["ranked"][0] == 0

    curve = effect_curve(
        square_gan,
        "units",
        search.ranked,
        lab,
        "red",
        values=torch.ones(4),
        sizes=(1, 2, 10),
        n_samples=4,
    )
    assert [c["n"] for c in curve] == [1, 2]
    assert curve[0]["ace"] > 0.9


def test_causal_search_needs_soft_labels(square_gan):
    with pytest.raises(GanscopeError, match="differentiable"):
        causal_unit_search(square_gan, "units", ColorLabeler(), "red", [0], value=1.0, steps=1)


class CheckerGAN(nn.Module):
    """Unit 0 of ``units`` scales a pixel checkerboard (an up-convolution artifact); unit 1 the
    brightness; unit 2 a smooth gradient."""

    latent_dim = 3

    def __init__(self) -> None:
        super().__init__()
        self.units = nn.Identity()
        i = torch.arange(16)
        self.register_buffer("checker", ((i[:, None] + i[None, :]) % 2 * 2 - 1).float())
        self.register_buffer("ramp", (i.float() / 16)[None, :].expand(16, 16).clone())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        maps = torch.stack(
            [
                torch.relu(z[:, 0, None, None]).expand(-1, 16, 16),
                z[:, 1, None, None].expand(-1, 16, 16),
                z[:, 2, None, None].abs() * self.ramp,
            ],
            1,
        )
        u = self.units(maps)
        img = 0.5 + 0.04 * u[:, 0] * self.checker + 0.05 * u[:, 1] + 0.1 * u[:, 2]
        return img[:, None].expand(-1, 3, -1, -1).clamp(0, 1)


def test_artifact_units_and_ablation():
    G = CheckerGAN()
    found = find_artifact_units(G, "units", n_samples=64, batch_size=16)
    assert found.ranked[0] == 0
    assert found.correlation[0] > 0.8 and found.correlation[1:].abs().max() < 0.5
    assert found.to_json()["top_units"][0] == 0
    real = (0.5 + 0.1 * torch.ones(16, 3, 16, 16) * torch.linspace(0, 1, 16)).clamp(0, 1)
    rows = artifact_ablation(G, "units", found.ranked, real, sizes=(0, 1), n_samples=16)
    assert [r["n_ablated"] for r in rows] == [0, 1]
    assert rows[1]["spectral_excess"] < 1e-6  # only the ramp at the border is left
    assert rows[0]["spectral_excess"] > 1e-4
    assert rows[1]["spectral_distance"] < rows[0]["spectral_distance"]
