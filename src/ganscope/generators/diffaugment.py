"""Differentiable Augmentation (Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for
Data-Efficient GAN Training", NeurIPS 2020).

The same random augmentation ``T`` is applied to real and generated images before *every*
discriminator call, in D's update and in G's, so that D never sees an un-augmented image and
cannot memorise a small training set, while G's gradient flows through ``T`` (every operation here
is differentiable in the image). The three policies follow the authors' ``DiffAugment_pytorch.py``:

- ``color``: brightness ``x + (u - 0.5)``, saturation ``(x - mean_c) * 2u + mean_c`` and contrast
  ``(x - mean) * (u + 0.5) + mean``, each with its own ``u ~ U(0, 1)`` per image;
- ``translation``: an integer shift of up to ``1/8`` of the side in each axis, zero padding;
- ``cutout``: one square of half the side set to zero, at a random position.

Unlike the reference, randomness comes from an explicit :class:`torch.Generator`, so a training
step is a function of its seed (exact resume).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ganscope.errors import GanscopeError

__all__ = ["AUGMENT_POLICIES", "diff_augment", "parse_policy"]


def _u(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, generator=g).to(x.device, x.dtype)


def _color(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    x = x + (_u(x, g) - 0.5)  # brightness
    m = x.mean(dim=1, keepdim=True)
    x = (x - m) * (_u(x, g) * 2) + m  # saturation
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - m) * (_u(x, g) + 0.5) + m  # contrast


def _translation(x: torch.Tensor, g: torch.Generator | None, ratio: float = 0.125) -> torch.Tensor:
    B, _, H, W = x.shape
    sh, sw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (B, 1, 1), generator=g).to(x.device)
    tx = torch.randint(-sw, sw + 1, (B, 1, 1), generator=g).to(x.device)
    gy, gx = torch.meshgrid(
        torch.arange(H, device=x.device), torch.arange(W, device=x.device), indexing="ij"
    )
    # Output pixel (i, j) reads input (i + ty, j + tx) of the zero-padded image (reference code).
    iy = (gy[None] + ty + 1).clamp(0, H + 1)  # (B, H, W) in padded coordinates
    ix = (gx[None] + tx + 1).clamp(0, W + 1)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))  # (B, C, H+2, W+2)
    flat = padded.flatten(2)  # (B, C, (H+2)(W+2))
    idx = (iy * (W + 2) + ix).flatten(1)[:, None, :].expand(-1, x.shape[1], -1)
    return flat.gather(2, idx).view_as(x)


def _cutout(x: torch.Tensor, g: torch.Generator | None, ratio: float = 0.5) -> torch.Tensor:
    B, _, H, W = x.shape
    ch, cw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    oy = torch.randint(0, H + (1 - ch % 2), (B, 1, 1), generator=g).to(x.device)
    ox = torch.randint(0, W + (1 - cw % 2), (B, 1, 1), generator=g).to(x.device)
    gy = torch.arange(H, device=x.device)[None, :, None]
    gx = torch.arange(W, device=x.device)[None, None, :]
    # The square covers [o - c/2, o + c/2) in each axis, clipped at the borders (reference code).
    y0, x0 = oy - ch // 2, ox - cw // 2
    inside = (gy >= y0) & (gy < y0 + ch) & (gx >= x0) & (gx < x0 + cw)  # (B, H, W)
    return x * (~inside)[:, None].to(x.dtype)


AUGMENT_POLICIES: dict[str, Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]] = {
    "color": _color,
    "translation": _translation,
    "cutout": _cutout,
}
"""The DiffAugment operations by name, applied in the order a policy lists them."""


def parse_policy(policy: str | Sequence[str]) -> tuple[str, ...]:
    """``"color,translation,cutout"`` → ``("color", "translation", "cutout")``; ``"none"`` → ``()``.

    Raises:
        GanscopeError: an unknown operation.
    """
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = [n.strip() for n in names if n.strip() and n.strip() != "none"]
    bad = [n for n in names if n not in AUGMENT_POLICIES]
    if bad:
        raise GanscopeError(
            f"unknown augmentation {bad[0]!r}; choose from none, {', '.join(AUGMENT_POLICIES)}"
        )
    return tuple(names)


def diff_augment(
    x: torch.Tensor, policy: str | Sequence[str], *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply a DiffAugment policy to a batch (differentiable in ``x``).

    Args:
        x: images ``(B, C, H, W)``, in [-1, 1] as D sees them.
        policy: comma-separated operations (``"color,translation,cutout"``) or ``"none"``.
        generator: source of randomness (CPU); the same state gives the same augmentation.

    Returns:
        The augmented batch, same shape, device and dtype.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> diff_augment(torch.zeros(2, 3, 8, 8), "translation,cutout", generator=g).shape
        torch.Size([2, 3, 8, 8])
    """
    for name in parse_policy(policy):
        x = AUGMENT_POLICIES[name](x, generator)
    return x
