"""Image degradations and the training augmentation of Wang et al. (CVPR 2020).

Wang et al., "CNN-generated images are surprisingly easy to spot... for now", CVPR 2020, sec. 4:
a detector trained on one GAN generalizes to others when its training images are, each with
probability ``p``, blurred with a Gaussian of ``sigma ~ U[0, 3]`` and JPEG-compressed with
``quality ~ U{30, ..., 100}``; blur comes before JPEG, both before the random crop and flip.

The same degradations (plus downscaling) drive the robustness sweep of
:func:`ganscope.metrics.robustness_sweep`, applied equally to real and fake images.

All functions take and return float tensors ``(B, 3, H, W)`` in [0, 1]. Gaussian blur is one
batched, separable, grouped convolution (one kernel per image); JPEG is a Pillow encode/decode
round trip per image on the CPU (there is no batched JPEG codec in torch).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganscope.errors import GanscopeError


def gaussian_kernels1d(sigmas: torch.Tensor, radius: int) -> torch.Tensor:
    """Normalized 1D Gaussian kernels, one per sigma: ``(B, 2 * radius + 1)``.

    Each kernel is truncated at its own radius ``ceil(3 sigma)`` (zero taps beyond), so an image
    is blurred the same whichever batch it is in. ``sigma == 0`` gives the identity (a delta), so
    un-blurred images can share the batch.
    """
    t = torch.arange(-radius, radius + 1, device=sigmas.device, dtype=sigmas.dtype)
    s = sigmas.clamp_min(1e-8)[:, None]
    k = torch.exp(-0.5 * (t[None, :] / s) ** 2)
    own_radius = torch.ceil(3.0 * sigmas).clamp_min(1.0)[:, None]
    k = torch.where(t[None, :].abs() <= own_radius, k, torch.zeros_like(k))
    return k / k.sum(dim=1, keepdim=True)


def gaussian_blur(
    images: torch.Tensor, sigma: float | Sequence[float] | torch.Tensor
) -> torch.Tensor:
    """Blur each image with its own isotropic Gaussian (truncated at ``ceil(3 sigma)`` pixels,
    reflect padding: scipy's ``mode="mirror"``).

    Args:
        images: ``(B, C, H, W)``.
        sigma: one value for all images, or ``(B,)`` values; 0 leaves an image unchanged.

    Shape:
        Output: ``(B, C, H, W)``, same dtype and device.

    Example:
        >>> x = torch.rand(2, 3, 16, 16)
        >>> gaussian_blur(x, [0.0, 1.5]).shape
        torch.Size([2, 3, 16, 16])
    """
    B, C, H, W = images.shape
    sig = torch.as_tensor(sigma, dtype=images.dtype, device=images.device).reshape(-1)
    if sig.numel() == 1:
        sig = sig.expand(B)
    if sig.numel() != B:
        raise GanscopeError(f"need one sigma or {B} sigmas, got {sig.numel()}")
    if (sig < 0).any():
        raise GanscopeError("blur sigma must be >= 0")
    smax = float(sig.max()) if B else 0.0
    if smax == 0.0:
        return images.clone()
    radius = max(1, math.ceil(3.0 * smax))
    k = gaussian_kernels1d(sig, radius).repeat_interleave(C, dim=0)  # (B*C, K)
    x = images.reshape(1, B * C, H, W)
    # torch's "reflect" is scipy's "mirror"; it needs the pad to be smaller than the side.
    mode = "reflect" if radius < min(H, W) else "replicate"
    x = F.pad(x, (radius, radius, 0, 0), mode=mode)
    x = F.conv2d(x, k[:, None, None, :], groups=B * C)
    x = F.pad(x, (0, 0, radius, radius), mode=mode)
    x = F.conv2d(x, k[:, None, :, None], groups=B * C)
    return x.reshape(B, C, H, W)


def jpeg_roundtrip(images: torch.Tensor, quality: int | Sequence[int]) -> torch.Tensor:
    """Encode each image as JPEG (Pillow, 4:2:0 chroma subsampling) and decode it again.

    Args:
        images: ``(B, 3, H, W)`` in [0, 1].
        quality: one JPEG quality (1..100) for all images, or one per image.

    Shape:
        Output: ``(B, 3, H, W)`` float in [0, 1], on the input's device and dtype.
    """
    B = images.shape[0]
    q = np.broadcast_to(np.asarray(quality, dtype=np.int64).reshape(-1), (B,)) if B else []
    arr = (images.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1)
    arr = arr.cpu().numpy()
    out = np.empty_like(arr)
    for i in range(B):
        buf = io.BytesIO()
        Image.fromarray(arr[i], mode="RGB").save(buf, format="JPEG", quality=int(q[i]))
        buf.seek(0)
        with Image.open(buf) as im:
            out[i] = np.asarray(im.convert("RGB"))
    res = torch.from_numpy(out).permute(0, 3, 1, 2).to(images.device, images.dtype) / 255.0
    return res.contiguous()


def downscale(images: torch.Tensor, factor: float) -> torch.Tensor:
    """Resize by ``factor`` < 1 (antialiased bilinear) and back to the original size.

    This removes the frequencies above ``factor`` times Nyquist, as a resize-for-upload does,
    while keeping the size a fixed-size detector expects.
    """
    if not 0 < factor <= 1:
        raise GanscopeError(f"downscale factor must be in (0, 1], not {factor}")
    if factor == 1:
        return images.clone()
    H, W = images.shape[-2:]
    h, w = max(1, round(H * factor)), max(1, round(W * factor))
    small = F.interpolate(images, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    back = F.interpolate(small, size=(H, W), mode="bilinear", align_corners=False)
    return back.clamp(0, 1)


DEGRADATIONS = ("jpeg", "blur", "downscale")


def degrade(images: torch.Tensor, kind: str, level: float) -> torch.Tensor:
    """Apply one named degradation: ``jpeg`` (quality), ``blur`` (sigma) or ``downscale``."""
    if kind == "jpeg":
        return jpeg_roundtrip(images, int(level))
    if kind == "blur":
        return gaussian_blur(images, float(level))
    if kind == "downscale":
        return downscale(images, float(level))
    raise GanscopeError(f"unknown degradation {kind!r}; choose from {', '.join(DEGRADATIONS)}")


def wang_augment(
    images: torch.Tensor,
    *,
    blur_prob: float,
    blur_sigma: tuple[float, float],
    jpeg_prob: float,
    jpeg_quality: tuple[int, int],
    generator: torch.Generator,
) -> torch.Tensor:
    """Wang et al. (2020) augmentation: blur with prob ``blur_prob``, then JPEG with ``jpeg_prob``.

    ``sigma ~ U[blur_sigma]`` and ``quality ~ U{jpeg_quality[0], ..., jpeg_quality[1]}`` per image.
    Runs on the CPU (the JPEG codec does); randomness comes from ``generator`` (a CPU generator).
    """
    x = images
    B = x.shape[0]
    if blur_prob > 0:
        pick = torch.rand(B, generator=generator) < blur_prob
        lo, hi = blur_sigma
        sig = lo + (hi - lo) * torch.rand(B, generator=generator)
        if pick.any():
            sig = torch.where(pick, sig, torch.zeros_like(sig))
            x = gaussian_blur(x, sig.to(x.dtype))
    if jpeg_prob > 0:
        pick = torch.rand(B, generator=generator) < jpeg_prob
        q = torch.randint(jpeg_quality[0], jpeg_quality[1] + 1, (B,), generator=generator)
        if pick.any():
            idx = torch.nonzero(pick).reshape(-1)
            x = x.clone()
            x[idx] = jpeg_roundtrip(x[idx], q[idx].tolist())
    return x


AUGMENTATIONS: tuple[str, ...] = ("auto", "none", "flip", "dihedral", "jpeg", "blur", "blur+jpeg")
"""Training augmentation policies of :class:`~ganscope.detectors.CNNDetector` (``--augment``).

- ``none``: the random crop only.
- ``flip``: random crop and horizontal flip.
- ``dihedral``: random crop and one of the 8 flips/quarter turns of the square: every
  transform keeps the pixel grid, so up-sampling artifacts and the spectrum's axes survive it,
  while the content seen by the network is multiplied by 8 (for small training sets).
- ``jpeg``, ``blur``, ``blur+jpeg``: Wang et al. (2020)'s degradations with their probabilities,
  then random crop and flip. Blur teaches the network to ignore missing high frequencies: right
  for robustness to resized uploads, wrong where the fakes differ from the reals by being
  smoother (autoencoders, up-sampled images), which is then the very evidence erased.
- ``auto``: ``dihedral`` below :data:`SMALL_TRAINING_SET` training images, ``blur+jpeg`` from there.
"""

SMALL_TRAINING_SET = 2000
"""Below this many training images ``augment="auto"`` uses ``dihedral`` instead of blur+JPEG."""


def resolve_augment(name: str, n_train: int) -> str:
    """The policy ``name`` stands for with ``n_train`` training images (``auto`` resolved)."""
    if name not in AUGMENTATIONS:
        raise GanscopeError(f"unknown augment {name!r}; choose from {', '.join(AUGMENTATIONS)}")
    if name == "auto":
        return "dihedral" if n_train < SMALL_TRAINING_SET else "blur+jpeg"
    return name


def random_dihedral(images: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
    """Each square image under one of the 8 symmetries of the square (flips and quarter turns),
    uniformly at random. Shape: ``(B, C, S, S)`` to the same."""
    B, _C, H, W = images.shape
    if H != W:
        raise GanscopeError(f"dihedral augmentation needs square images, got {H}x{W}")
    pick = torch.randint(0, 8, (B,), generator=generator).tolist()
    out = images.clone()
    for k in set(pick):
        idx = [i for i, p in enumerate(pick) if p == k]
        view = images[idx]
        if k >= 4:
            view = view.transpose(-2, -1)
        out[idx] = torch.rot90(view, k % 4, dims=(-2, -1))
    return out


def random_crop_flip(
    images: torch.Tensor, crop: int, *, generator: torch.Generator, flip: bool = True
) -> torch.Tensor:
    """A random ``crop x crop`` window per image and a horizontal flip with probability 1/2.

    One gather for the whole batch (no Python loop over images).
    """
    B, _C, H, W = images.shape
    if crop > H or crop > W:
        raise GanscopeError(f"images of {H}x{W} are smaller than the crop {crop}")
    top = torch.randint(0, H - crop + 1, (B,), generator=generator)
    left = torch.randint(0, W - crop + 1, (B,), generator=generator)
    ar = torch.arange(crop)
    rows = (top[:, None] + ar[None, :]).to(images.device)  # (B, crop)
    cols = (left[:, None] + ar[None, :]).to(images.device)
    if flip:
        do = (torch.rand(B, generator=generator) < 0.5).to(images.device)
        cols = torch.where(do[:, None], cols.flip(1), cols)
    b = torch.arange(B, device=images.device)[:, None, None]
    out = images.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]]  # (B, crop, crop, C)
    return out.permute(0, 3, 1, 2).contiguous()


def center_crop(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Centre crop ``(B, C, H, W)`` to ``size``; the top-left rounds down (as ``ganscope.io``)."""
    H, W = images.shape[-2:]
    h, w = size
    if h > H or w > W:
        raise GanscopeError(f"images of {H}x{W} are smaller than the crop {h}x{w}")
    top, left = (H - h) // 2, (W - w) // 2
    return images[..., top : top + h, left : left + w]
