"""Content-aligned fakes: a fully convolutional autoencoder that re-renders photos through a
decoder with any registered upsampler, at their native size.

B-Free (Guillaro et al., "A Bias-Free Training Paradigm for More General AI-generated Image
Detection", CVPR 2025) trains a detector on real images and the *same* images re-generated, so
that fake and real share their content and differ only in the generation trace. Latent-diffusion
images all leave through such a decoder: a VAE with a spatial latent at 1/8 of the resolution
(Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion Models", CVPR 2022), whose
2x upsampling layers leave their spectral traces (Durall, Keuper & Keuper, "Watch your
Up-Convolution", CVPR 2020). :class:`ConvAutoencoder` is a small model of that decoder path:

- encoder: ``depth`` stride-2 3x3 convolutions, then a 3x3 convolution to a spatial latent of
  ``latent_channels`` channels at ``1 / 2**depth`` of the resolution (the LDM VAE's ``/8`` latent);
- decoder: a 3x3 convolution, ``depth`` blocks of (registered 2x upsampler, 3x3 convolution), then
  a 3x3 convolution to RGB; SiLU after every layer but the latent and RGB convolutions.

Unlike the ``autoencoder`` generator family (a linear 4x4 bottleneck, 32x32 only), every layer is a
convolution, so one model re-renders an image of any size at its native resolution: crops are never
resampled. There is no BatchNorm anywhere, so a reconstruction never depends on the rest of its
batch.

- :func:`train_rerender` fits one to random crops of photos (L1 reconstruction loss plus an L1
  loss on Fourier magnitudes, which sharpens).
- :func:`rerender` re-renders images of any ``H, W >= 1``, whole or in overlapping tiles.
- :func:`save_rerender` / :func:`load_rerender` keep it as ``model.safetensors`` + ``config.json``
  (never pickle).

Example:
    >>> model = ConvAutoencoder(upsample="nearest", width=8)
    >>> rerender(model, torch.rand(2, 3, 37, 50)).shape
    torch.Size([2, 3, 37, 50])
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganscope.checkpoint import load_checkpoint, save_checkpoint
from ganscope.devices import resolve_device
from ganscope.errors import GanscopeError
from ganscope.generators.family import check_upsampler
from ganscope.layers import create_upsampler
from ganscope.progress import progress_bar

__all__ = [
    "RERENDER_FORMAT",
    "ConvAutoencoder",
    "load_rerender",
    "rerender",
    "save_rerender",
    "train_rerender",
]

RERENDER_FORMAT = "ganscope-rerender-1"
"""The ``format`` tag of a saved re-rendering autoencoder's ``config.json``."""

_UPSAMPLER_REACH = 3
"""Input pixels (at its own input resolution) that any registered upsampler, its own convolution
included, reaches on either side: 1 for ``transposed``, ``nearest``, ``pixelshuffle`` and
``bednails``, 2 for ``bilinear`` and ``blur``, 3 for ``bicubic`` (its 4-tap kernel, then a 3x3
convolution at the fine side). :attr:`ConvAutoencoder.context` and so :func:`rerender`'s tile
overlap rest on it; the tests measure every upsampler's receptive field against it."""


class ConvAutoencoder(nn.Module):
    """A fully convolutional autoencoder with a spatial latent (LDM-style, Rombach et al. 2022)
    whose decoder upsamples with a registered upsampler.

    Channels are ``width * 2**i`` after the ``i``-th stride-2 convolution of the encoder, and the
    decoder mirrors them (its last block keeps ``width``). Images are mapped to ``[-1, 1]`` inside.

    Args:
        upsample: registered upsampler (``ganscope.layers.UPSAMPLERS``) of every decoder block.
        width: channels at half resolution in the encoder and at full resolution in the decoder.
        latent_channels: channels of the latent.
        depth: number of stride-2 convolutions and of 2x decoder blocks; the latent is at
            ``1 / 2**depth`` of the resolution, and :meth:`forward` needs sides divisible by
            ``2**depth`` (:func:`rerender` pads any size).

    Shape:
        - :meth:`encode`: :math:`(B, 3, H, W)` → :math:`(B, L, H / 2^d, W / 2^d)`
        - :meth:`decode`: :math:`(B, L, h, w)` → :math:`(B, 3, 2^d h, 2^d w)`
        - :meth:`forward`: :math:`(B, 3, H, W)` in [0, 1] → :math:`(B, 3, H, W)`, about [0, 1]
          (not clamped, so that training sees the gradient everywhere; :func:`rerender` clamps)

    Example:
        >>> model = ConvAutoencoder(upsample="bilinear", width=8, latent_channels=4)
        >>> model.encode(torch.rand(1, 3, 32, 48)).shape
        torch.Size([1, 4, 4, 6])
    """

    def __init__(
        self,
        *,
        upsample: str = "transposed",
        width: int = 32,
        latent_channels: int = 8,
        depth: int = 3,
    ) -> None:
        super().__init__()
        check_upsampler(upsample)
        for name, value in (("width", width), ("latent_channels", latent_channels)):
            if value < 1:
                raise GanscopeError(f"{name} must be at least 1, not {value}")
        if not 1 <= depth <= 6:
            raise GanscopeError(f"depth must be in 1..6, not {depth}")
        self.upsample, self.width = upsample, width
        self.latent_channels, self.depth = latent_channels, depth
        chans = [width * 2**i for i in range(depth)]  # after each stride-2 conv

        enc: list[nn.Module] = []
        c_in = 3
        for c in chans:
            enc += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.SiLU()]
            c_in = c
        enc.append(nn.Conv2d(c_in, latent_channels, 3, padding=1))
        self.encoder = nn.Sequential(*enc)

        self.decoder_in = nn.Sequential(
            nn.Conv2d(latent_channels, chans[-1], 3, padding=1), nn.SiLU()
        )
        outs = [*chans[-2::-1], width]  # mirror of the encoder; the last block keeps ``width``
        self.blocks = nn.ModuleList(
            nn.Sequential(
                create_upsampler(upsample, c_in, c_out),
                nn.SiLU(),
                nn.Conv2d(c_out, c_out, 3, padding=1),
                nn.SiLU(),
            )
            for c_in, c_out in zip(chans[::-1], outs, strict=True)
        )
        self.to_rgb = nn.Conv2d(width, 3, 3, padding=1)

    @property
    def multiple(self) -> int:
        """Sides that :meth:`forward` accepts are multiples of this, ``2**depth``."""
        return 2**self.depth

    @property
    def context(self) -> int:
        """Input pixels on either side that one output pixel can depend on (a bound, rounded up
        to a multiple of ``2**depth``): the overlap :func:`rerender` gives its tiles."""
        reach, jump = 0, 1
        for _ in range(self.depth):  # encoder: stride-2 3x3 convolutions
            reach, jump = reach + jump, jump * 2
        reach += 2 * jump  # latent conv and the decoder's first conv, both 3x3 at 1/2**depth
        for _ in range(self.depth):  # upsampler at the coarse side, then a 3x3 conv at the fine
            reach += _UPSAMPLER_REACH * jump + jump // 2
            jump //= 2
        reach += 1  # to_rgb
        return self.multiple * math.ceil(reach / self.multiple)

    def settings(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this model (saved in ``config.json``)."""
        return {
            "upsample": self.upsample,
            "width": self.width,
            "latent_channels": self.latent_channels,
            "depth": self.depth,
        }

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] → latents at ``1 / 2**depth`` of the resolution."""
        return self.encoder(images * 2 - 1)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents → images, about [0, 1] (not clamped)."""
        x = self.decoder_in(latents)  # (B, C, h, w)
        for block in self.blocks:
            x = block(x)  # (B, C', 2h, 2w)
        return (self.to_rgb(x) + 1) / 2  # (B, 3, H, W)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruct images in [0, 1] whose sides are multiples of ``2**depth``."""
        H, W = images.shape[-2:]
        if images.ndim != 4 or images.shape[1] != 3 or H % self.multiple or W % self.multiple:
            raise GanscopeError(
                f"ConvAutoencoder expects (B, 3, H, W) with H and W multiples of {self.multiple}, "
                f"got {tuple(images.shape)} (rerender() pads any size)"
            )
        return self.decode(self.encode(images))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.settings().items())


def _reflect_indices(n: int, total: int, device: torch.device) -> torch.Tensor:
    """Indices ``0 .. total - 1`` folded into ``0 .. n - 1`` by mirror reflection without
    repeating the edge (``numpy.pad(mode="reflect")``, which also works when the padding exceeds
    the size; a 1-pixel side repeats its pixel)."""
    i = torch.arange(total, device=device)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = i % period
    return torch.where(i < n, i, period - i)


def _pad_to(x: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """Reflect-pad ``(B, C, h, w)`` at the bottom and right to ``(B, C, H, W)``."""
    h, w = x.shape[-2:]
    if (h, w) == (H, W):
        return x
    x = x.index_select(-2, _reflect_indices(h, H, x.device))
    return x.index_select(-1, _reflect_indices(w, W, x.device))


@torch.no_grad()
def rerender(
    model: ConvAutoencoder, images: torch.Tensor, *, tile: int | None = None
) -> torch.Tensor:
    """Re-render images of any size through ``model`` at their native resolution.

    Each image is reflect-padded at the bottom and right to a multiple of ``2**depth`` (so its
    pixel grid lines up with the stride-2 grid as in training crops), reconstructed, cropped back
    and clamped to [0, 1]. Images are independent of their batch (no BatchNorm).

    With ``tile``, the padded image is cut into ``tile x tile`` squares, each run with
    ``model.context`` pixels of surrounding image on every side and only its centre kept; the
    context covers the model's receptive field, so the result equals the whole-image one up to
    float rounding (the tests check this for every upsampler), and memory is bounded by the tile.

    Memory (float32, CPU, ``torch.no_grad``): the largest activations are the ``width``-channel
    maps at full resolution, a few alive at once, about ``4 * width * 4`` bytes per pixel of the
    batch. Measured at the default ``width=32``, one thread, peak resident memory above the
    starting process: a whole 1024x1024 image 0.45-0.58 GB (``bicubic`` to ``blur``, 2.3-2.8 s);
    ``tile=256`` on the same image 0.18 GB (4.8 s); a 3000x3000 image with ``tile=512`` 0.68 GB,
    most of it the four full-size copies of the image (input, padded, output, result).

    Args:
        model: a (trained) :class:`ConvAutoencoder`; it is run on its own device and dtype.
        images: ``(B, 3, H, W)`` float in [0, 1], any ``H, W >= 1``.
        tile: side of the tiles (rounded up to a multiple of ``2**depth``), or ``None`` to run
            each batch whole.

    Returns:
        ``(B, 3, H, W)`` in [0, 1], on the device and in the dtype of ``images``.

    Raises:
        GanscopeError: not a ``(B, 3, H, W)`` floating tensor, or ``tile < 1``.
    """
    if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise GanscopeError(
            f"rerender expects float images (B, 3, H, W), got {tuple(images.shape)} {images.dtype}"
        )
    if tile is not None and tile < 1:
        raise GanscopeError(f"tile must be at least 1, not {tile}")
    param = next(model.parameters())
    m = model.multiple
    H, W = images.shape[-2:]
    Hp, Wp = m * math.ceil(H / m), m * math.ceil(W / m)
    x = _pad_to(images.to(param.device, param.dtype), Hp, Wp)  # (B, 3, Hp, Wp)
    if tile is None or (Hp <= tile and Wp <= tile):
        out = model(x)
    else:
        t, c = m * math.ceil(tile / m), model.context
        out = torch.empty_like(x)
        for top in range(0, Hp, t):
            for left in range(0, Wp, t):
                y0, x0 = max(top - c, 0), max(left - c, 0)
                y1, x1 = min(top + t + c, Hp), min(left + t + c, Wp)
                rec = model(x[..., y0:y1, x0:x1])  # tile with its context
                bottom, right = min(top + t, Hp), min(left + t, Wp)
                out[..., top:bottom, left:right] = rec[
                    ..., top - y0 : bottom - y0, left - x0 : right - x0
                ]
    return out[..., :H, :W].clamp_(0, 1).to(images.device, images.dtype)


def _random_crops(
    images: torch.Tensor, n: int, crop: int, generator: torch.Generator
) -> torch.Tensor:
    """``n`` random ``crop x crop`` windows (never resampled), each flipped left-right with
    probability 1/2. ``images``: ``(N, 3, H, W)`` → ``(n, 3, crop, crop)``."""
    N, _, H, W = images.shape
    which = torch.randint(N, (n,), generator=generator)
    tops = torch.randint(H - crop + 1, (n,), generator=generator)
    lefts = torch.randint(W - crop + 1, (n,), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    out = torch.stack(
        [
            images[k, :, t : t + crop, s : s + crop]
            for k, t, s in zip(which.tolist(), tops.tolist(), lefts.tolist(), strict=True)
        ]
    )
    return torch.where(flips[:, None, None, None], out.flip(-1), out)


def train_rerender(
    images: torch.Tensor,
    *,
    upsample: str,
    steps: int,
    batch_size: int = 32,
    crop: int = 32,
    lr: float = 4e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
    width: int = 32,
    latent_channels: int = 8,
    depth: int = 3,
    fft_weight: float = 1.0,
) -> ConvAutoencoder:
    """Train a :class:`ConvAutoencoder` to reconstruct random crops of ``images``.

    The loss is the mean absolute error (L1) of the reconstruction, the pixel term of the LDM
    autoencoder (Rombach et al. 2022; Esser et al. 2021), plus ``fft_weight`` times the L1 distance
    between the magnitudes of the crops' 2D Fourier transforms (orthonormal), a simple form of a
    frequency-domain loss (Jiang et al., "Focal Frequency Loss", ICCV 2021). An L1 loss alone
    gives blurry reconstructions, and blur is a shortcut a detector trained on them would learn
    (Durall et al. 2020 find GAN spectra miss exactly these high frequencies). Measured on the
    built-in photos (1500 steps, width 32, ``lr=2e-3``, held-out 128x128 crops): ``fft_weight=1``
    raises the reconstructions' mean absolute Laplacian from 0.20 to 0.38 of the photos'
    (``transposed``) and from 0.15 to 0.18 (``nearest``), and the ``nearest`` reconstructions'
    power in the 1/8-1/4 cycles/pixel band from 0.32 to 0.40 of the photos', at the same PSNR
    (26.5 dB either way); ``fft_weight=0.1`` changed nothing measurable (0.20).

    Adam (``betas=(0.9, 0.99)``) with a cosine-decayed learning rate; crops are cut without
    resampling and flipped left-right at random. Training is deterministic given ``seed`` on the
    CPU: the initial weights and every crop come from it, and the global RNG is left untouched.

    Measured with the defaults (400 crops of 128x128 from the built-in photos' ``train`` split,
    ``torch.set_num_threads(1)``, ``nice -n 19`` on two cores shared with other jobs, so steps/s
    varies with their load; PSNR is the mean over 48 held-out native crops of the ``test`` split,
    128x128 and 32x32):

    ==========  =====  ======  =======  ========  =======
    upsample    steps  wall s  steps/s  PSNR 128  PSNR 32
    ==========  =====  ======  =======  ========  =======
    transposed   1500     293      5.1     27.1     29.1
    nearest      1500     432      3.5     26.5     27.5
    transposed   3000     526      5.7     29.1     31.6
    nearest      3000     341      8.8     27.8     29.5
    ==========  =====  ======  =======  ========  =======

    At 1500 steps smooth regions are reproduced and fine texture (foliage) comes back blotchy on
    the 8-pixel latent grid and greyed; 3000 steps bring most of its colour back with
    ``transposed``, less with ``nearest``. ``lr=4e-3`` beat ``2e-3`` by 0.6 dB (``transposed``,
    1500 steps) and trained stably on the tests' tiny sets too. ``transposed``
    reconstructions carry checkerboard peaks at (1/4, 1/4) and (1/2, 1/2) cycles/pixel (10-14x
    their neighbourhood's power), ``nearest`` ones do not: the traces a detector should learn.

    Args:
        images: ``(N, 3, H, W)`` float in [0, 1], ``H, W >= crop``; crops are cut where it
            lives and moved to ``device``.
        upsample: registered upsampler of the decoder.
        steps: optimizer steps.
        batch_size: crops per step.
        crop: side of the training crops, a multiple of ``2**depth``.
        lr: peak Adam learning rate.
        seed: seed of the initial weights and of the crops.
        device: where to train (``cpu``, ``cuda``, ``auto``).
        progress: show a progress bar (drawn only when the CLI has enabled progress bars).
        width, latent_channels, depth: as :class:`ConvAutoencoder`.
        fft_weight: weight of the L1 loss on Fourier magnitudes (0 for plain L1).

    Returns:
        The model, in eval mode, on ``device``.

    Raises:
        GanscopeError: bad shapes or settings.
    """
    if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise GanscopeError(
            f"train_rerender expects float images (N, 3, H, W), got {tuple(images.shape)}"
        )
    multiple = 2**depth
    if crop < multiple or crop % multiple:
        raise GanscopeError(f"crop must be a positive multiple of {multiple}, not {crop}")
    if min(images.shape[-2:]) < crop:
        raise GanscopeError(f"images of {tuple(images.shape[-2:])} are smaller than crop {crop}")
    if steps < 0 or batch_size < 1:
        raise GanscopeError(f"need steps >= 0 and batch_size >= 1, got {steps} and {batch_size}")
    dev = resolve_device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ConvAutoencoder(
            upsample=upsample, width=width, latent_channels=latent_channels, depth=depth
        ).to(dev)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / max(steps, 1)))
    )
    model.train()
    bar_cm = progress_bar(steps, f"rerender {upsample}") if progress else contextlib.nullcontext()
    with bar_cm as bar:
        for _ in range(steps):
            x = _random_crops(images, batch_size, crop, gen).to(dev)  # (B, 3, crop, crop)
            y = model(x)
            loss = (y - x).abs().mean()
            if fft_weight:  # Fourier-magnitude L1 (Jiang et al. 2021, simplified): sharpens
                fy, fx = torch.fft.rfft2(y, norm="ortho"), torch.fft.rfft2(x, norm="ortho")
                loss = loss + fft_weight * (fy.abs() - fx.abs()).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if bar is not None:
                bar.advance(1, l1=loss.item())
    return model.eval()


def save_rerender(
    model: ConvAutoencoder, folder: str | Path, *, info: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` to ``folder`` as ``model.safetensors`` + ``config.json`` (class, settings,
    ``format`` tag, optional JSON-able ``info`` such as how it was trained), atomically.

    Returns:
        The folder.
    """
    config: dict[str, Any] = {
        "class": type(model).__name__,
        "format": RERENDER_FORMAT,
        "settings": model.settings(),
    }
    if info is not None:
        config["info"] = dict(info)
    return save_checkpoint(folder, model.state_dict(), config)


def load_rerender(folder: str | Path, *, device: str | torch.device = "cpu") -> ConvAutoencoder:
    """Read a model written by :func:`save_rerender` (safetensors and JSON only, never pickle),
    in eval mode on ``device``.

    Raises:
        GanscopeError: missing folder or files, another format, or weights that do not match.
    """
    state, config = load_checkpoint(folder)
    if config.get("format") != RERENDER_FORMAT:
        raise GanscopeError(
            f"{folder}: not a re-rendering autoencoder (format {config.get('format')!r}, "
            f"expected {RERENDER_FORMAT!r})"
        )
    try:
        model = ConvAutoencoder(**config["settings"])
        model.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError) as err:
        raise GanscopeError(f"{folder}: config and weights do not match ({err})") from None
    return model.to(resolve_device(device)).eval()
