"""Layer-wise inversion (Bau et al. 2019, sec. 3.2) on tiny generators."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganscope.errors import GanscopeError
from ganscope.generators import GENERATORS
from ganscope.seeing.invert import (
    EncoderTraining,
    LayerChain,
    LayerwiseEncoder,
    default_inversion_layers,
    encoder_losses,
    invert_images,
    optimize_representation,
    train_layerwise_encoder,
)


@pytest.fixture(scope="module")
def gen():
    from ganscope.generators import create_generator

    torch.manual_seed(0)
    g = create_generator("dcgan", size=32, upsample="transposed", latent_dim=16, width=8)
    with torch.no_grad():  # non-trivial BatchNorm statistics, then eval mode
        g.train()
        g(torch.randn(64, 16))
        for p in g.to_rgb.parameters():  # images that vary with z, as a trained G's do
            p.mul_(10)
    return g.eval()


class StyledGenerator(nn.Module):
    """Not a chain: every layer also reads z (as a StyleGAN's styles do)."""

    def __init__(self) -> None:
        super().__init__()
        self.latent_dim = 8
        self.stem = nn.Linear(8, 4 * 4 * 4)
        self.base = nn.Conv2d(4, 4, 3, padding=1)
        self.style = nn.Linear(8, 4)
        self.up = nn.Conv2d(4, 4, 3, padding=1)
        self.rgb = nn.Conv2d(4, 3, 1)

    def forward(self, z):
        x = self.base(self.stem(z).view(-1, 4, 4, 4))  # (B, 4, 4, 4)
        s = self.style(z)[:, :, None, None]
        x = self.up(nn.functional.interpolate(x, scale_factor=2) * (1 + s))  # (B, 4, 8, 8)
        return torch.tanh(self.rgb(nn.functional.interpolate(x, scale_factor=2)))


def test_default_layers(gen):
    # One layer per resolution below the image; r* at 4x4 for a 32-pixel generator.
    assert default_inversion_layers(gen) == ["project_norm"]
    assert default_inversion_layers(gen, layer="blocks.1") == [
        "project_norm",
        "blocks.0",
        "blocks.1",
    ]
    with pytest.raises(GanscopeError):
        default_inversion_layers(gen, layer="to_rgb")


def test_chain_reproduces_the_generator_exactly(gen):
    chain = LayerChain(gen, ["project_norm", "blocks.0", "blocks.1"])
    assert chain.shapes == [(16,), (32, 4, 4), (16, 8, 8), (8, 16, 16), (3, 32, 32)]
    z = torch.randn(5, 16)
    with torch.no_grad():
        x = gen(z)
        r = z
        for i in range(1, chain.n + 1):
            r = chain.step(i, r)
            assert torch.equal(r, chain.forward_to(i, z))
        assert torch.equal(chain.tail(r), x)


def test_chain_uses_the_context_latent():
    torch.manual_seed(0)
    g = StyledGenerator().eval()
    assert default_inversion_layers(g) == ["base"]
    chain = LayerChain(g, ["base"])  # the styles act after this layer
    z = torch.randn(3, 8)
    with torch.no_grad():
        r = chain.forward_to(chain.n, z)
        assert torch.allclose(chain.tail(r, z), g(z))
        assert not torch.allclose(chain.tail(r), g(z))  # zeros as context: other styles


def test_chain_rejects_nested_layers_and_leaves_no_hooks(gen):
    with pytest.raises(GanscopeError, match="contains"):
        LayerChain(gen, ["blocks", "blocks.0"])
    chain = LayerChain(gen, ["project_norm", "blocks.0"])
    with pytest.raises(GanscopeError):
        chain.tail(torch.zeros(2, 3, 3, 3))  # wrong shape: raised inside a hook
    assert all(not m._forward_hooks for m in gen.modules())


def test_encoder_shapes(gen):
    chain = LayerChain(gen, ["project_norm", "blocks.0"])
    enc = LayerwiseEncoder(chain.shapes, hidden=8)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert enc(x).shape == (2, 16)
    assert enc.encode_to(x, 1).shape == (2, 32, 4, 4)
    assert enc.encode_to(x, 2).shape == (2, 16, 8, 8)


def test_encoder_training_lowers_the_objective(gen):
    chain = LayerChain(gen, ["project_norm"])
    z = torch.randn(32, 16, generator=torch.Generator().manual_seed(9))  # held-out latents
    torch.manual_seed(0)
    fresh = LayerwiseEncoder(chain.shapes, hidden=16)
    before = encoder_losses(chain, fresh, z)
    enc, _ = train_layerwise_encoder(chain, EncoderTraining(steps=60, batch_size=8, hidden=16))
    after = encoder_losses(chain, enc, z)
    # The objective L_L + lambda_R L_R (lambda_R = 1) went down (e_f learns slowly in 60 steps).
    assert sum(after["e1"]) < 0.5 * sum(before["e1"])
    assert sum(after["ef"]) < sum(before["ef"])
    assert all(not p.requires_grad for p in gen.parameters())


def test_optimization_beats_the_encoder_and_recovers_reachable_images(gen):
    chain = LayerChain(gen, ["project_norm"])
    enc = LayerwiseEncoder(chain.shapes, hidden=8)  # untrained: a poor starting point
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        target = (gen(z) + 1) / 2  # images the generator can make exactly
    res = invert_images(chain, enc, target, steps=100, lr=0.05)
    err = res.errors()
    assert (err["mse_optimized"] < err["mse_encoder"]).all()
    assert torch.equal(res.real, target.clamp(0, 1))
    # From far away, r* finds a representation that makes the reachable image again.
    with torch.no_grad():
        r_true = chain.forward_to(1, z)
        x = chain.tail(r_true)
        r0 = r_true + 2 * torch.randn(r_true.shape, generator=torch.Generator().manual_seed(2))
        start = (chain.tail(r0) - x).pow(2).flatten(1).mean(1)
    r_star = optimize_representation(chain, x, r0, torch.zeros(4, 16), steps=200, lr=0.05)
    with torch.no_grad():
        end = (chain.tail(r_star) - x).pow(2).flatten(1).mean(1)
    assert (end < 0.05 * start).all()


def test_images_are_optimized_independently(gen):
    chain = LayerChain(gen, ["project_norm"])
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    r0 = torch.randn(3, 32, 4, 4)
    z = torch.zeros(3, 16)
    both = optimize_representation(chain, x, r0, z, steps=20)
    one = optimize_representation(chain, x[1:2], r0[1:2], z[1:2], steps=20)
    assert torch.allclose(both[1:2], one, atol=1e-5)


def test_invert_checks_image_size(gen):
    chain = LayerChain(gen, ["project_norm"])
    enc = LayerwiseEncoder(chain.shapes, hidden=8)
    with pytest.raises(GanscopeError, match="generator makes"):
        invert_images(chain, enc, torch.rand(1, 3, 16, 16), steps=1)


@pytest.mark.parametrize("family", list(GENERATORS))
def test_every_registered_family_inverts_through_its_layers(family):
    # Timm-style: a family added to the registry is tested the day it is added.
    from ganscope.generators import create_generator
    from ganscope.seeing.invert import _candidate_layers

    torch.manual_seed(0)
    g = create_generator(family, size=32).eval()
    z = torch.randn(2, g.latent_dim)
    names = [n for n, _ in _candidate_layers(g, z[:1])]
    assert default_inversion_layers(g) == names[:1]  # 4x4 or 8x8: at least 1/32 of 32 pixels
    chain = LayerChain(g, names)
    with torch.no_grad():
        r = z
        for i in range(1, chain.n + 1):
            r = chain.step(i, r, z)  # styles (if any) from the same z
        assert torch.equal(chain.tail(r, z), g(z))
