"""Tests of the generator family, the SNGAN discriminator and the spectral discriminator."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganscope.errors import GanscopeError
from ganscope.generators import (
    GENERATORS,
    DCGANGenerator,
    SNGANDiscriminator,
    SpectralDiscriminator,
    create_generator,
    register_generator,
)
from ganscope.layers import UPSAMPLERS, BlurPool2d


@pytest.mark.parametrize("upsample", sorted(UPSAMPLERS))
def test_dcgan_with_every_upsampler(upsample):
    torch.manual_seed(0)
    G = create_generator("dcgan", size=16, upsample=upsample, width=4, latent_dim=8)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 3, 16, 16)
    assert x.abs().max() <= 1.0  # tanh: [-1, 1] inside the zoo
    img = G.eval().generate(torch.randn(2, 8))
    assert img.min() >= 0 and img.max() <= 1  # [0, 1] at the boundary


@pytest.mark.parametrize("size", [32, 64, 128])
def test_dcgan_sizes(size):
    G = create_generator(size=size, upsample="nearest", width=2, latent_dim=4)
    assert G(torch.randn(2, 4)).shape == (2, 3, size, size)
    n_up = sum(1 for m in G.modules() if type(m).__name__ == "NearestUpsampler")
    assert 2**n_up * 4 == size


def test_generator_settings_rebuild_the_same_architecture():
    G = create_generator(size=32, upsample="pixelshuffle", width=8)
    H = create_generator(G.family, **G.settings())
    H.load_state_dict(G.state_dict())  # same keys and shapes
    assert isinstance(H, DCGANGenerator)


def test_generator_errors():
    with pytest.raises(GanscopeError, match="power of two"):
        create_generator(size=48)
    with pytest.raises(GanscopeError, match="unknown upsampler"):
        create_generator(upsample="lanczos")
    with pytest.raises(GanscopeError, match="unknown generator family"):
        create_generator("stylegan9")
    with pytest.raises(GanscopeError, match="z of shape"):
        create_generator(size=16, width=2, latent_dim=8)(torch.randn(2, 9))
    with pytest.raises(ValueError, match="already registered"):
        register_generator("dcgan")(nn.Module)
    assert GENERATORS["dcgan"] is DCGANGenerator


@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("size", [16, 32])
def test_sngan_discriminator(size, antialias):
    D = SNGANDiscriminator(size=size, width=4, antialias=antialias)
    out = D(torch.rand(3, 3, size, size) * 2 - 1)
    assert out.shape == (3,)
    assert any(isinstance(m, BlurPool2d) for m in D.modules()) == antialias
    with pytest.raises(GanscopeError):
        D(torch.rand(1, 3, size + 1, size))


def test_sngan_paper_network_layout():
    # Miyato et al. 2018, Table 3 (CIFAR-10, M = 32): 7 convolutions, 64 ... 512 channels.
    D = SNGANDiscriminator(size=32, width=64)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1), (256, 4, 2), (512, 3, 1),
    ]  # fmt: skip
    assert D.head.in_features == 512 * 4 * 4


def test_spectral_normalization_bounds_the_largest_singular_value():
    torch.manual_seed(0)
    D = SNGANDiscriminator(size=16, width=4)
    x = torch.randn(2, 3, 16, 16)
    for _ in range(30):  # one power iteration per forward pass in train mode
        D(x)
    D.eval()
    conv = D.features[2]  # the first 4x4 stride-2 convolution
    sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
    assert float(sigma) == pytest.approx(1.0, abs=1e-3)


def test_spectral_discriminator_is_linear_on_a_normalized_profile():
    torch.manual_seed(0)
    Ds = SpectralDiscriminator(size=16)
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = Ds(x)
    assert out.shape == (4,)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # differentiable spectrum
    # Linear in the profile: a constant shift of the logit equals a shift of the bias.
    with torch.no_grad():
        before = Ds(x)
        Ds.linear.bias += 1.5
        assert torch.allclose(Ds(x), before + 1.5)
