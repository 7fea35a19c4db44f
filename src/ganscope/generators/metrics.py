"""Quality metrics that need no downloaded weights.

- :func:`sliced_wasserstein_distance`: Karras, Aila, Laine & Lehtinen, "Progressive Growing of
  GANs", ICLR 2018, Appendix D: the distance between the distributions of 7x7 patches at every
  level of a Laplacian pyramid, estimated with random 1D projections. Small = the two sets have
  similar local structure at that scale (fine detail at the finest level, colour and layout at
  the coarsest).
- :func:`spectral_distance`: the mean absolute difference between the mean log azimuthal power
  spectra of two sets (Durall et al. 2020's 1D spectrum, from :mod:`ganscope.spectrum`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ganscope.errors import GanscopeError

# Burt & Adelson's 5-tap binomial, as cv2.pyrDown / the ProGAN reference code.
_GAUSS_1D = (1.0, 4.0, 6.0, 4.0, 1.0)


def _gauss(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    g = torch.tensor(_GAUSS_1D, device=x.device, dtype=x.dtype)
    k = (g[:, None] * g[None, :]) / 256.0 * gain
    c = x.shape[1]
    # scipy.ndimage.convolve(mode="mirror") in the reference code is torch's "reflect".
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k.expand(c, 1, 5, 5), groups=c)


def _pyr_down(x: torch.Tensor) -> torch.Tensor:
    return _gauss(x)[:, :, ::2, ::2]


def _pyr_up(x: torch.Tensor) -> torch.Tensor:
    B, C, H, W = x.shape
    up = x.new_zeros(B, C, 2 * H, 2 * W)
    up[:, :, ::2, ::2] = x
    return _gauss(up, gain=4.0)


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Laplacian pyramid, finest level first; the last level is the coarsest Gaussian level.

    ``x`` is exactly ``pyramid[0] + up(pyramid[1] + up(...))`` (perfect reconstruction).

    Args:
        x: ``(B, C, H, W)``.
        levels: number of levels (1 = just ``x``).
    """
    pyramid = [x]
    for _ in range(1, levels):
        down = _pyr_down(pyramid[-1])
        pyramid[-1] = pyramid[-1] - _pyr_up(down)
        pyramid.append(down)
    return pyramid


def _descriptors(
    level: torch.Tensor, per_image: int, nhood: int, generator: torch.Generator
) -> torch.Tensor:
    """Random ``nhood x nhood`` patches, ``per_image`` per image: ``(B * per_image, C, k, k)``."""
    n_img, _, height, width = level.shape
    h = nhood // 2
    if min(height, width) < nhood:
        raise GanscopeError(f"images of {height}x{width} are too small for {nhood}x{nhood} patches")
    M = n_img * per_image
    # ProGAN reference: centres uniform in [h, S - h), so every patch lies inside the image.
    ys = torch.randint(h, height - h, (M,), generator=generator)
    xs = torch.randint(h, width - h, (M,), generator=generator)
    img = torch.arange(M) // per_image
    d = torch.arange(-h, h + 1)
    yy = (ys[:, None] + d[None, :]).to(level.device)  # (M, k)
    xx = (xs[:, None] + d[None, :]).to(level.device)
    img = img.to(level.device)
    # (M, C, k, k) via advanced indexing: level[img, :, yy, xx] with broadcasting
    patches = level[img[:, None, None], :, yy[:, :, None], xx[:, None, :]]  # (M, k, k, C)
    return patches.permute(0, 3, 1, 2)


def _normalize_descriptors(desc: torch.Tensor) -> torch.Tensor:
    # ProGAN reference (finalize_descriptors): per-channel zero mean, unit std over all patches.
    mean = desc.mean(dim=(0, 2, 3), keepdim=True)
    std = desc.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    return ((desc - mean) / std.clamp_min(1e-12)).flatten(1)


def sliced_wasserstein(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    dir_repeats: int = 4,
    dirs_per_repeat: int = 128,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sliced Wasserstein-1 distance between two equal-size point sets ``(M, D)``.

    For each of ``dir_repeats`` draws of ``dirs_per_repeat`` random unit directions, both sets
    are projected, sorted, and the mean absolute difference of the sorted projections is taken
    (the 1D Wasserstein-1 distance); the result is the mean over all directions.
    """
    if a.ndim != 2 or a.shape != b.shape:
        raise GanscopeError(
            f"sliced_wasserstein needs two (M, D) sets of one shape, got {a.shape}, {b.shape}"
        )
    results = []
    for _ in range(dir_repeats):
        dirs = torch.randn(a.shape[1], dirs_per_repeat, generator=generator).to(a.device, a.dtype)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        # (dirs, M): sorting contiguous rows is several times faster than sorting columns.
        pa = (dirs.T @ a.T).sort(dim=1).values
        pb = (dirs.T @ b.T).sort(dim=1).values
        results.append((pa - pb).abs().mean())
    return torch.stack(results).mean()


@dataclass
class SWDResult:
    """Sliced Wasserstein distances per pyramid level (finest first) and their mean.

    The ProGAN paper reports these values multiplied by 1e3.
    """

    resolutions: list[int]
    per_level: list[float]
    mean: float
    n_descriptors: int = field(default=0)

    def as_dict(self) -> dict[str, float]:
        out = {f"swd_{r}": v for r, v in zip(self.resolutions, self.per_level, strict=True)}
        out["swd_mean"] = self.mean
        return out


def sliced_wasserstein_distance(
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    min_resolution: int = 16,
    nhood_size: int = 7,
    nhoods_per_image: int = 128,
    dir_repeats: int = 4,
    dirs_per_repeat: int = 128,
    seed: int = 0,
) -> SWDResult:
    """Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, App. D).

    Both sets are decomposed into Laplacian pyramids from full resolution down to
    ``min_resolution``; at each level, ``nhoods_per_image`` random ``7 x 7`` patches per image
    are taken, each set's patches are normalized per colour channel (zero mean, unit std), and
    the sliced Wasserstein distance is estimated with ``dir_repeats * dirs_per_repeat`` (512)
    random directions. When the sets differ in size, the larger descriptor set is randomly
    subsampled to the smaller.

    Args:
        real: ``(N, 3, H, W)`` in [0, 1].
        fake: ``(M, 3, H, W)`` in [0, 1].
        min_resolution: coarsest pyramid level (ProGAN: 16).
        nhood_size: patch side (7).
        nhoods_per_image: patches per image per level (128).
        dir_repeats: draws of random directions (4).
        dirs_per_repeat: directions per draw (128).
        seed: seed of the patch positions and directions (same seed, same value).

    Returns:
        :class:`SWDResult` with one distance per level (finest first) and their mean.
    """
    if real.ndim != 4 or fake.ndim != 4 or real.shape[1:] != fake.shape[1:]:
        raise GanscopeError(
            f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must be (N, C, H, W) "
            "of one size"
        )
    if len(real) == 0 or len(fake) == 0:
        raise GanscopeError("sliced_wasserstein_distance needs at least one image per set")
    side = min(real.shape[-2:])
    # Levels from full resolution down to min_resolution (ProGAN: 16), at least one.
    levels = 1 + max(0, math.floor(math.log2(side / min_resolution)))
    g = torch.Generator().manual_seed(seed)
    pyr_r = laplacian_pyramid(real.float(), levels)
    pyr_f = laplacian_pyramid(fake.float(), levels)
    per_level, resolutions = [], []
    n_desc = 0
    for lr, lf in zip(pyr_r, pyr_f, strict=True):
        dr = _normalize_descriptors(_descriptors(lr, nhoods_per_image, nhood_size, g))
        df = _normalize_descriptors(_descriptors(lf, nhoods_per_image, nhood_size, g))
        n = min(len(dr), len(df))
        if len(dr) > n:
            dr = dr[torch.randperm(len(dr), generator=g)[:n].to(dr.device)]
        if len(df) > n:
            df = df[torch.randperm(len(df), generator=g)[:n].to(df.device)]
        n_desc = n
        swd = sliced_wasserstein(
            dr, df, dir_repeats=dir_repeats, dirs_per_repeat=dirs_per_repeat, generator=g
        )
        per_level.append(float(swd))
        resolutions.append(int(lr.shape[-1]))
    return SWDResult(resolutions, per_level, sum(per_level) / len(per_level), n_desc)


def spectral_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Mean absolute difference between the mean log azimuthal spectra of two image sets.

    Each image's spectrum is ``power_spectrum(gray=True, log=True)`` averaged over rings
    (:mod:`ganscope.spectrum`, the same profile as :func:`ganscope.generators.log_profile`);
    the profiles are averaged per set and compared bin by bin. Units are those of the log
    spectrum (``20 ln |F|``); 0 means identical mean spectra.

    Args:
        real: ``(N, 3, H, W)`` in [0, 1].
        fake: ``(M, 3, H, W)`` in [0, 1], same ``H, W``.
    """
    from ganscope.generators.spectral import log_profile

    if real.shape[1:] != fake.shape[1:]:
        raise GanscopeError(
            f"spectral_distance needs images of one size, got {tuple(real.shape[1:])} and "
            f"{tuple(fake.shape[1:])}"
        )
    dtype = torch.promote_types(torch.promote_types(real.dtype, fake.dtype), torch.float32)
    with torch.no_grad():
        pr = log_profile(real.to(dtype)).mean(0)
        pf = log_profile(fake.to(dtype)).mean(0)
    return float((pr - pf).abs().mean())
