"""Causal units per concept: layer choice, search on a generator whose answer is known, JSON."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from ganscope.dissect.concepts import CallableLabeler
from ganscope.errors import GanscopeError
from ganscope.paint import (
    PAINT_UNITS_FILE,
    ConceptUnits,
    PaintUnits,
    find_paint_units,
    load_paint_units,
    paint_layers,
)


class RedGreenGenerator(nn.Module):
    """An 8-unit 8x8 layer whose units 0 and 1 paint red and the rest paint green.

    Unit activations are ReLU of random linear maps of z, so every unit is on somewhere in most
    samples; pixels are red where units 0+1 outweigh the others.
    """

    latent_dim = 6

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.feat = nn.Sequential(nn.Linear(6, 8 * 8 * 8), nn.Unflatten(1, (8, 8, 8)))
        self.act = nn.ReLU()
        w = torch.zeros(3, 8, 1, 1)
        w[0, :2] = 3.0  # red from units 0, 1
        w[1, 2:] = 1.0  # green from units 2..7
        self.to_rgb = nn.Conv2d(8, 3, 1, bias=False)
        self.to_rgb.weight.data.copy_(w)
        self.up = nn.Upsample(scale_factor=4, mode="nearest")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.act(self.feat(z))  # (B, 8, 8, 8)
        rgb = self.to_rgb(x)  # (B, 3, 8, 8)
        return torch.tanh(self.up(rgb) - 1.0)  # (B, 3, 32, 32) in [-1, 1]


def _red_green(images: torch.Tensor) -> torch.Tensor:
    r, g = images[:, 0], images[:, 1]
    red = (r > g) & (r > 0.2)
    green = (g >= r) & (g > 0.2)
    return torch.where(red, 1, torch.where(green, 2, 0))  # (B, H, W): none, red, green


def test_paint_layers_of_a_dcgan(G):
    # One per feature-map shape, the innermost module ending each block.
    assert paint_layers(G) == ["project_norm", "blocks.0.2", "blocks.1.2"]


def test_paint_layers_skip_containers_and_small_maps():
    # feat (a Sequential) and feat.1 and act all output (8, 8, 8): the last innermost is "act".
    assert paint_layers(RedGreenGenerator()) == ["act"]


def test_find_paint_units_recovers_the_red_units():
    G = RedGreenGenerator()
    labeler = CallableLabeler(_red_green, ["none", "red", "green"])
    units = find_paint_units(
        G, labeler, concepts=["red", "green"], samples=24, sizes=(1, 2, 3), causal_steps=0
    )
    red = units.concepts["red"]
    assert red.layer == "act"
    assert sorted(red.units) == [0, 1]
    assert red.ablated == 0.0 < red.baseline  # no red is left once both red units are off
    assert len(red.values) == 2 and all(v > 0 for v in red.values)
    # Inserting the red units everywhere paints more red than there was; the scale is one tried.
    assert red.inserted > red.baseline and red.scale in (1.0, 2.0, 3.0)
    assert set(units.concepts["green"].units) <= set(range(2, 8))
    assert units.settings["samples"] == 24


def test_find_paint_units_rejects_unknown_concepts(G, labeler):
    with pytest.raises(GanscopeError, match="unknown concept"):
        find_paint_units(G, labeler, concepts=["ufo"], samples=8)


def test_paint_units_json_round_trip(tmp_path):
    pu = PaintUnits(
        {"tree": ConceptUnits("tree", "blocks.0.2", [3, 1], [1.25, 2.5], 0.2, 0.05, 0.4, 2.0)},
        {"seed": 0},
    )
    pu.save(tmp_path / PAINT_UNITS_FILE)
    back = load_paint_units(tmp_path)  # the folder holding it
    assert back.to_json() == pu.to_json()
    assert back.concepts["tree"].units == [3, 1]
    (tmp_path / "generator").mkdir()
    pu.save(tmp_path / "generator" / PAINT_UNITS_FILE)  # a run folder's generator/
    assert load_paint_units(tmp_path / "generator" / PAINT_UNITS_FILE).to_json() == pu.to_json()


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ([], "not a ganscope-paint-units-1"),
        ({"format": "ganscope-paint-units-1", "concepts": []}, "must be an object"),
        ({"format": "ganscope-paint-units-1", "concepts": {}}, "no concepts"),
        ({"format": "ganscope-paint-units-1", "concepts": {"t": {"units": [1]}}}, "needs 'layer'"),
        (
            {
                "format": "ganscope-paint-units-1",
                "concepts": {"t": {"layer": "a", "units": [1, 2], "values": [1.0]}},
            },
            "as many values",
        ),
    ],
)
def test_paint_units_json_errors(tmp_path, payload, match):
    path = tmp_path / "u.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(GanscopeError, match=match):
        load_paint_units(path)


def test_load_paint_units_missing_and_broken(tmp_path):
    with pytest.raises(GanscopeError, match=r"no paint_units\.json"):
        load_paint_units(tmp_path)
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(GanscopeError, match="not valid JSON"):
        load_paint_units(tmp_path / "x.json")
