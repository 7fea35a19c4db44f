"""Fixtures of the GAN Paint tests: a tiny random DCGAN, the shipped scene segmenter, hand-set
causal units."""

from __future__ import annotations

import pytest
import torch

from ganscope.dissect.segmenter import scene_labeler
from ganscope.generators import DCGANGenerator
from ganscope.paint import ConceptUnits, Painter, PaintUnits


def tiny_generator() -> DCGANGenerator:
    torch.manual_seed(0)
    return DCGANGenerator(size=32, upsample="transposed", latent_dim=16, width=8).eval()


def tiny_units() -> PaintUnits:
    return PaintUnits(
        {
            "tree": ConceptUnits("tree", "blocks.0.2", [0, 3, 5], [2.0, 1.5, 3.0]),
            "grass": ConceptUnits("grass", "blocks.1.2", [1, 2], [2.5, 2.5]),
        },
        {"note": "hand-set for tests"},
    )


@pytest.fixture(scope="session")
def labeler():
    return scene_labeler()


@pytest.fixture(name="G")
def fixture_generator() -> DCGANGenerator:
    return tiny_generator()


@pytest.fixture
def painter(G, labeler) -> Painter:
    return Painter(G, labeler, tiny_units())
