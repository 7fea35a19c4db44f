"""Adversarial losses on hand-computed logits, the gradient penalty and the spectral loss."""

from __future__ import annotations

import math

import pytest
import torch

from ganscope.errors import GanscopeError
from ganscope.generators import (
    create_generator,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    normalized_profile,
    spectral_regularization,
)

REAL = torch.tensor([0.5, 2.0])
FAKE = torch.tensor([-2.0, 0.0])


def _sp(v: float) -> float:
    return math.log1p(math.exp(v))


def test_non_saturating_by_hand():
    # D: mean softplus(-real) + mean softplus(fake); G: mean softplus(-fake) = -log sigmoid(fake).
    d = (_sp(-0.5) + _sp(-2.0)) / 2 + (_sp(-2.0) + _sp(0.0)) / 2
    assert discriminator_loss("ns", REAL, FAKE).item() == pytest.approx(d, abs=1e-6)
    g = (_sp(2.0) + _sp(0.0)) / 2
    assert generator_loss("ns", FAKE).item() == pytest.approx(g, abs=1e-6)
    zero = torch.zeros(3)
    assert discriminator_loss("ns", zero, zero).item() == pytest.approx(2 * math.log(2), abs=1e-6)


def test_hinge_by_hand():
    # relu(1 - [0.5, 2]) = [0.5, 0] -> 0.25; relu(1 + [-2, 0]) = [0, 1] -> 0.5.
    assert discriminator_loss("hinge", REAL, FAKE).item() == pytest.approx(0.75)
    assert generator_loss("hinge", FAKE).item() == pytest.approx(1.0)


def test_wgan_by_hand():
    assert discriminator_loss("wgan-gp", REAL, FAKE).item() == pytest.approx(-1.0 - 1.25)
    assert generator_loss("wgan-gp", FAKE).item() == pytest.approx(1.0)


def test_unknown_loss():
    with pytest.raises(GanscopeError):
        discriminator_loss("lsgan", REAL, FAKE)
    with pytest.raises(GanscopeError):
        generator_loss("lsgan", FAKE)


@pytest.mark.parametrize(("w", "expected"), [(0.5, 0.0), (1.0, 1.0), (0.25, 0.25)])
def test_gradient_penalty_of_a_linear_critic(w, expected):
    # critic(x) = <w, x>: grad = w everywhere, ||w|| over 4 pixels = 2 w, penalty (2w - 1)^2.
    weight = torch.full((1, 2, 2), w)

    def critic(x):
        return (x * weight).flatten(1).sum(1)

    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx(expected, abs=1e-6)


def test_gradient_penalty_backpropagates_into_the_critic():
    lin = torch.nn.Linear(4, 1)
    gp = gradient_penalty(lambda x: lin(x).squeeze(1), torch.randn(3, 4), torch.randn(3, 4))
    gp.backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0


def test_spectral_loss_has_a_gradient_on_generator_parameters():
    torch.manual_seed(0)
    G = create_generator(size=16, upsample="transposed", width=4, latent_dim=8)
    real = torch.rand(6, 3, 16, 16)
    fake = (G(torch.randn(6, 8)) + 1) / 2
    loss = spectral_regularization(real, fake)
    assert loss.item() > 0
    loss.backward()
    grads = [p.grad for p in G.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # Every layer, including the first projection, receives signal from the spectrum.
    assert all(g.abs().sum() > 0 for g in grads)


def test_spectral_loss_pulls_the_spectrum_towards_the_real_one():
    g = torch.Generator().manual_seed(0)
    # Real: smooth images (steep spectral fall-off); fake: white noise (flat spectrum).
    real = torch.nn.functional.avg_pool2d(torch.rand(8, 3, 20, 20, generator=g), 5, 1)
    logits = torch.randn(8, 3, 16, 16, generator=g).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=0.05)
    first = None
    for _ in range(40):
        loss = spectral_regularization(real, torch.sigmoid(logits))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    gap_before = (
        (
            normalized_profile(torch.rand(8, 3, 16, 16, generator=g)).mean(0)
            - normalized_profile(real).mean(0)
        )
        .abs()
        .mean()
    )
    gap_after = (
        (normalized_profile(torch.sigmoid(logits)).mean(0) - normalized_profile(real).mean(0))
        .abs()
        .mean()
    )
    assert loss.item() < first
    assert gap_after < 0.7 * gap_before
