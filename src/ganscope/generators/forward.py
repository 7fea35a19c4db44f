"""Running any generator forward: its latent size, its device, its images in [0, 1].

Dissection, interventions, inversion and GAN Paint work on any ``nn.Module`` ``G(z)`` with a
``latent_dim`` (a registered family or a hand-written module); these are the few facts about a
generator they all need. A registered family's ``forward(z)`` returns images in
:data:`OUTPUT_RANGE` (see :mod:`ganscope.generators.family`), and the library's image convention
is [0, 1] (DESIGN.md), so code that calls ``G(z)`` itself maps through :func:`run_generator`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganscope.errors import GanscopeError

__all__ = ["OUTPUT_RANGE", "generator_latent_dim", "module_device", "run_generator"]

OUTPUT_RANGE: tuple[float, float] = (-1.0, 1.0)
"""The range of every registered family's ``forward(z)`` (what ``load_generator`` returns)."""


def generator_latent_dim(G: nn.Module, latent_dim: int | None = None) -> int:
    """``latent_dim`` if given, else ``G.latent_dim`` (a one-line error when neither is an int)."""
    dim = latent_dim if latent_dim is not None else getattr(G, "latent_dim", None)
    if not isinstance(dim, int):
        raise GanscopeError("pass latent_dim: the generator has no integer latent_dim attribute")
    return dim


def module_device(G: nn.Module, device: torch.device | str | None = None) -> torch.device:
    """``device`` if given, else where ``G``'s parameters live (the CPU for a parameterless G)."""
    if device is not None:
        return torch.device(device)
    p = next(G.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def run_generator(G: nn.Module, z: Tensor, value_range: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """``G(z)`` mapped from ``value_range`` to [0, 1] (ganscope's image convention), clamped.

    Example:
        >>> G = nn.Identity()
        >>> run_generator(G, torch.tensor([[-1.0, 0.0, 1.0]]), OUTPUT_RANGE)
        tensor([[0.0000, 0.5000, 1.0000]])
    """
    lo, hi = value_range
    return ((G(z) - lo) / (hi - lo)).clamp(0, 1)
