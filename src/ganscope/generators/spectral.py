"""Differentiable 1D spectra for the two spectral fixes of the zoo.

Both fixes look at the azimuthal profile of the log power spectrum of the luma image, computed by
:func:`ganscope.spectrum.power_spectrum` and :func:`ganscope.spectrum.azimuthal_profile` (pure
torch, so gradients flow back into the generator):

- Durall, Keuper & Keuper, "Watch your Up-Convolution", CVPR 2020: a spectral loss on the
  generator (:func:`spectral_regularization`).
- Jung & Keuper, "Spectral Distribution Aware Image Generation", AAAI 2021: a spectral
  discriminator (:class:`ganscope.generators.SpectralDiscriminator`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def log_profile(x: torch.Tensor) -> torch.Tensor:
    """Azimuthal profile of the log power spectrum of the luma of ``x``.

    Args:
        x: images ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(B, R)``: one value per integer radius.
    """
    from ganscope.spectrum import azimuthal_profile, power_spectrum

    spec = power_spectrum(x, gray=True, log=True)  # (B, 1, H, W)
    return azimuthal_profile(spec).flatten(1)  # (B, R)


def normalized_profile(x: torch.Tensor) -> torch.Tensor:
    """:func:`log_profile` min-max normalized to [0, 1] per image.

    The per-image min-max normalization follows Jung & Keuper's released ``SpectralLoss`` (and
    Durall et al.'s spectral loss): only the *shape* of the profile matters, not the image's
    overall contrast.

    Args:
        x: images ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(B, R)`` in [0, 1].
    """
    from ganscope.spectrum import normalize_profile

    return normalize_profile(log_profile(x), "minmax")


def spectral_regularization(
    real: torch.Tensor, fake: torch.Tensor, *, eps: float = 1e-6
) -> torch.Tensor:
    """Durall et al. (CVPR 2020, eq. 4-5) spectral loss: binary cross-entropy between each fake
    image's normalized 1D spectrum and the mean normalized spectrum of the real batch.

    Durall et al. treat every normalized profile entry as a probability and use BCE against the
    real profile as target; we do the same with the real batch mean as the (detached) target.
    Unlike their released code, which computes the spectrum in NumPy and so passes no gradient
    to the generator, this is pure torch: the loss backpropagates into the generator.

    The gradient of a log spectrum is large where ``|F|`` is small, so this loss pushes much
    harder than an adversarial loss: weight it by about 0.01 (see ``TrainConfig.spectral_reg``).

    Args:
        real: real images ``(B, 3, H, W)`` in [0, 1] (no gradient is taken through them).
        fake: generated images ``(B', 3, H, W)`` in [0, 1].
        eps: clamp of the fake profile away from 0 and 1 (BCE takes their logarithm).

    Returns:
        Scalar loss (mean over fake images and frequencies).
    """
    with torch.no_grad():
        target = normalized_profile(real).mean(dim=0, keepdim=True)  # (1, R)
    pred = normalized_profile(fake).clamp(eps, 1 - eps)  # (B', R)
    return F.binary_cross_entropy(pred, target.expand_as(pred))
