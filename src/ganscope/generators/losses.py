"""Adversarial losses on discriminator logits (real > 0): non-saturating, hinge, WGAN-GP.

Every function takes logits ``(B,)`` and returns a scalar to *minimize*.

- ``ns``: Goodfellow et al. 2014, the non-saturating generator loss ``-log D(G(z))``;
  the discriminator minimizes ``softplus(-D(x)) + softplus(D(G(z)))`` (binary cross-entropy on
  logits).
- ``hinge``: Lim & Ye 2017, Miyato et al. 2018 (SNGAN):
  ``relu(1 - D(x)) + relu(1 + D(G(z)))`` for D, ``-D(G(z))`` for G.
- ``wgan-gp``: Gulrajani et al. 2017: ``D(G(z)) - D(x) + lambda * (||grad D(x_hat)|| - 1)**2``
  on random interpolates ``x_hat``, ``-D(G(z))`` for G.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ganscope.errors import GanscopeError

LOSSES = ("ns", "hinge", "wgan-gp")


def _check(name: str) -> None:
    if name not in LOSSES:
        raise GanscopeError(f"loss must be one of {', '.join(LOSSES)}, not {name!r}")


def discriminator_loss(
    name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """The discriminator's adversarial loss (without the gradient penalty of ``wgan-gp``).

    Example:
        >>> zero = torch.zeros(4)
        >>> round(discriminator_loss("ns", zero, zero).item(), 4)  # 2 log 2
        1.3863
    """
    _check(name)
    if name == "ns":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if name == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return fake_logits.mean() - real_logits.mean()


def generator_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial loss."""
    _check(name)
    if name == "ns":
        return F.softplus(-fake_logits).mean()
    return -fake_logits.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty ``mean((||grad_x critic(x_hat)||_2 - 1)**2)`` (Gulrajani et al. 2017, eq. 3).

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per sample, drawn from
    ``generator`` on the CPU (so the draw does not depend on the device). The graph is kept so
    the penalty can be backpropagated into the critic's weights.

    Args:
        critic: maps ``(B, ...)`` to logits ``(B,)``.
        real: real batch.
        fake: generated batch of the same shape (detached by the caller).
        generator: random source of the interpolation weights.

    Returns:
        Scalar penalty (multiply by lambda = 10 as in the paper).
    """
    if real.shape != fake.shape:
        raise GanscopeError(f"gradient_penalty: real {real.shape} and fake {fake.shape} differ")
    eps = torch.rand(real.shape[0], generator=generator).to(real.device, real.dtype)
    eps = eps.view(-1, *([1] * (real.ndim - 1)))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()
