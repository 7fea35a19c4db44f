"""A hand-wired toy generator whose unit 0 paints a known red square."""

from __future__ import annotations

import pytest
import torch
from torch import nn

SIZE = 32
SQUARE = (slice(10, 13), slice(20, 23))  # rows, columns of the 3x3 square (0.9% of pixels)


class SquareUnits(nn.Module):
    """``z (B, 4) -> (B, 4, 32, 32)``. Unit 0 is 1 + z0 / 10 inside SQUARE when z0 > 0, else 0;
    units 1-3 are smooth z-dependent patterns that never touch the square."""

    def __init__(self) -> None:
        super().__init__()
        c = torch.arange(SIZE, dtype=torch.float32) / SIZE
        square = torch.zeros(SIZE, SIZE)
        square[SQUARE] = 1
        self.register_buffer("square", square)
        self.register_buffer("ramp", c[None, :].expand(SIZE, SIZE).clone())
        self.register_buffer("wave", torch.sin(6.0 * c)[:, None] * torch.cos(4.0 * c)[None, :])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        present = (z[:, 0] > 0).float()[:, None, None]
        u0 = self.square * present * (1 + z[:, 0, None, None] / 10)
        u1 = torch.relu(z[:, 1, None, None]) * self.ramp
        u2 = torch.relu(z[:, 2, None, None] * self.wave)
        u3 = z[:, 3, None, None].abs().expand(-1, SIZE, SIZE) * 0.1
        return torch.stack([u0, u1, u2, u3], 1)


class SquareGAN(nn.Module):
    """Grey images; unit 0 of layer ``units`` paints red, the others faint blue/green tints."""

    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.units = SquareUnits()
        self.to_rgb = nn.Conv2d(4, 3, 1)
        with torch.no_grad():
            self.to_rgb.weight.zero_()
            self.to_rgb.weight[:, 0, 0, 0] = torch.tensor([0.45, -0.4, -0.4])
            self.to_rgb.weight[2, 1, 0, 0] = 0.05
            self.to_rgb.weight[1, 2, 0, 0] = 0.05
            self.to_rgb.bias.fill_(0.5)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_rgb(self.units(z)).clamp(0, 1)


@pytest.fixture
def square_gan() -> SquareGAN:
    return SquareGAN().eval()


def square_mask(images: torch.Tensor) -> torch.Tensor:
    """The ground-truth "red square" concept: reddish pixels."""
    return (images[:, 0] > 0.7) & (images[:, 1] < 0.3)


@pytest.fixture
def square_labeler():
    from ganscope.dissect.concepts import CallableLabeler

    return CallableLabeler(square_mask, ["red square"])


@pytest.fixture
def square_region() -> tuple[slice, slice]:
    return SQUARE


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny untrained DCGAN run folder (16x16, latent 8) for the dissect commands."""
    from ganscope.checkpoint import save_checkpoint
    from ganscope.generators import create_generator

    torch.manual_seed(0)
    G = create_generator("dcgan", size=16, upsample="transposed", latent_dim=8, width=8)
    run = tmp_path_factory.mktemp("run")
    save_checkpoint(
        run / "generator", G.state_dict(), {"family": "dcgan", "settings": G.settings()}
    )
    return run
