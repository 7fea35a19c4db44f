"""Every registered generator family, tested through the registry (a new family is tested the day
it lands), plus the StyleGAN2 building blocks against slow references."""

from __future__ import annotations

import pytest
import torch

from ganscope.generators import GENERATORS, GeneratorFamily, create_generator, sample_images
from ganscope.generators.stylegan2 import ModulatedConv2d
from ganscope.layers import UPSAMPLERS

FAMILIES = sorted(GENERATORS)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("upsample", ["transposed", "blur", "bednails"])
def test_family_protocol(family, upsample):
    G = create_generator(family, size=16, upsample=upsample, width=4, latent_dim=8)
    assert isinstance(G, GeneratorFamily) and G.family == family
    assert G(torch.randn(3, 8)).shape == (3, 3, 16, 16)
    # settings() rebuild the same architecture.
    H = create_generator(family, **G.settings())
    H.load_state_dict(G.state_dict())
    # One training output: images for D plus named scalar losses, with gradients reaching G.
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    fake, losses = G.train().training_output(
        real, torch.randn(4, 8), generator=torch.Generator().manual_seed(0)
    )
    assert fake.shape == real.shape
    total = fake.mean() + sum(losses.values(), torch.zeros(()))
    total.backward()
    assert all(p.grad is not None for p in G.parameters() if p.requires_grad) or family == "vae"


@pytest.mark.parametrize("family", FAMILIES)
def test_family_samples_depend_only_on_their_seed(family):
    torch.manual_seed(0)
    G = create_generator(family, size=16, upsample="nearest", width=4, latent_dim=8)
    a = sample_images(G, [3, 4, 5])
    b = sample_images(G, [5])
    torch.testing.assert_close(a[2:], b, atol=1e-5, rtol=0)
    assert a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize("upsample", sorted(UPSAMPLERS))
def test_stylegan2_with_every_upsampler(upsample):
    G = create_generator("stylegan2", size=16, upsample=upsample, width=4, latent_dim=8)
    assert G(torch.randn(2, 8)).shape == (2, 3, 16, 16)


def test_modulated_conv_equals_per_sample_weight_reference():
    """The activation-scaling computation equals eqs. 1-3 applied to a per-sample weight."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 7, 3, w_dim=6).double()
    x, w = torch.randn(3, 5, 8, 8, dtype=torch.float64), torch.randn(3, 6, dtype=torch.float64)
    out = conv(x, w)
    s = conv.affine(w)
    for b in range(3):
        wb = conv.weight * conv.scale * s[b][None, :, None, None]  # eq. 1
        wb = wb / (wb.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()  # eq. 3
        ref = torch.nn.functional.conv2d(x[b : b + 1], wb, padding=1)
        torch.testing.assert_close(out[b : b + 1], ref, atol=1e-10, rtol=1e-10)


def test_demodulation_keeps_unit_variance():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 64, 3, w_dim=8)
    y = conv(torch.randn(16, 64, 16, 16), torch.randn(16, 8) * 3)
    assert 0.8 < y[..., 2:-2, 2:-2].std().item() < 1.2  # eq. 2-3: unit output std for unit input


def test_stylegan2_noise_is_seeded_in_training_and_fixed_in_eval():
    G = create_generator("stylegan2", size=8, upsample="blur", width=4, latent_dim=8)
    for m in G.modules():
        if hasattr(m, "strength"):
            m.strength.data.fill_(1.0)
    z, real = torch.randn(2, 8), torch.zeros(2, 3, 8, 8)
    out = [
        G.train().training_output(real, z, generator=torch.Generator().manual_seed(s))[0]
        for s in (1, 1, 2)
    ]
    torch.testing.assert_close(out[0], out[1])
    assert not torch.allclose(out[0], out[2])
    torch.testing.assert_close(G.eval()(z), G.eval()(z))


def test_vae_reconstruction_uses_the_mean_and_kl_is_zero_at_the_prior():
    torch.manual_seed(0)
    G = create_generator("vae", size=16, upsample="nearest", width=4, latent_dim=8)
    x = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(G.reconstruct(x), G.reconstruct(x))
    # With the encoder outputting mu = 0 and log sigma^2 = 0, q(z|x) = N(0, I): KL = 0.
    torch.nn.init.zeros_(G.encoder.head.weight)
    torch.nn.init.zeros_(G.encoder.head.bias)
    _, losses = G.training_output(x * 2 - 1, torch.randn(2, 8), generator=torch.Generator())
    assert losses["kl"].item() == pytest.approx(0.0, abs=1e-12)
    assert G.reconstructs and G.samples_prior
    ae = create_generator("autoencoder", size=16, upsample="nearest", width=4, latent_dim=8)
    assert ae.reconstructs and not ae.samples_prior


@pytest.mark.parametrize(("fraction", "n_prior"), [(0.0, 0), (0.5, 2), (0.75, 3), (1.0, 4)])
def test_vae_prior_fraction_sets_how_many_fakes_sample_the_prior(fraction, n_prior):
    torch.manual_seed(0)
    G = create_generator("vae", size=16, upsample="nearest", width=4, latent_dim=8)
    G.prior_fraction = fraction
    real, z = torch.rand(4, 3, 16, 16) * 2 - 1, torch.randn(4, 8)
    fake, _ = G.training_output(real, z, generator=torch.Generator().manual_seed(0))
    n_recon = 4 - n_prior
    # The prior samples are exactly G(z) of the last latents; the rest are not.
    torch.testing.assert_close(fake[n_recon:], G(z[n_recon:]))
    if n_recon:
        assert not torch.allclose(fake[:n_recon], G(z[:n_recon]))
    rebuilt = create_generator("vae", **{**G.settings(), "prior_fraction": fraction})
    assert rebuilt.prior_fraction == fraction
    with pytest.raises(ValueError, match="prior_fraction"):
        create_generator("vae", size=16, prior_fraction=1.5)


def test_pacgan_discriminator_judges_packs():
    from ganscope.errors import GanscopeError
    from ganscope.generators import SNGANDiscriminator

    torch.manual_seed(0)
    D = SNGANDiscriminator(size=16, width=4, pac=2)
    x = torch.randn(6, 3, 16, 16)
    assert D(x).shape == (3,)
    # A pack is samples 2k and 2k+1: changing sample 5 changes only the last pack's logit.
    y = x.clone()
    y[5] += 1
    D.eval()
    out_x, out_y = D(x), D(y)
    assert torch.equal(out_x[:2], out_y[:2]) and not torch.equal(out_x[2], out_y[2])
    with pytest.raises(GanscopeError, match="packs of 2"):
        D(torch.randn(5, 3, 16, 16))
