"""GAN training: Adam, an EMA generator, checkpoints that resume bit-exactly, sample grids.

A run folder holds::

    RUN/config.json             resolved TrainConfig + ganscope version
    RUN/checkpoint.safetensors  G, D, (spectral D), G_ema, both Adam states, step (atomic)
    RUN/generator/              G_ema as a model folder (model.safetensors + config.json)
    RUN/losses.csv              one row per step
    RUN/samples/step%06d.png    sample grids of G_ema on fixed seeds

**Exact resume.** Every random draw of step ``t`` (the real batch, the flips, the latents, the
WGAN-GP interpolation weights) comes from a CPU ``torch.Generator`` seeded with a hash of
``(seed, t)``, and the data order of epoch ``e`` from one seeded with ``(seed, e)``: the random
state at any step is a function of the seed and the step (a counter-based scheme, like JAX's
``fold_in``), so nothing but the networks and the optimizer states has to be saved, and a run
killed and resumed from its last checkpoint ends with exactly the weights of an uninterrupted run
on the CPU. The global torch RNG is not used (weight initialisation runs inside
``torch.random.fork_rng``), so training does not disturb the caller's random state either.

**Data.** The training folder is read once with :mod:`ganscope.io` and kept in memory as uint8;
every image is centre-cropped to ``size x size`` *without resampling* (as the built-in corpus is
cut), so its spectrum is the camera's; smaller or unreadable images are skipped and counted.
Each batch is drawn without replacement within an epoch and flipped left-right at random.

**EMA.** ``G_ema`` follows ``G`` with decay ``min(ema_decay, (1 + t) / (10 + t))`` (the
warm-up of TensorFlow's ``ExponentialMovingAverage``), so short runs are not dominated by the
initial weights. Its BatchNorm statistics are recomputed on fixed latents before every grid and
export ("standing statistics", Brock et al. 2019, BigGAN), because ``G``'s running statistics
belong to ``G``'s weights, not to the averaged ones.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ganscope import __version__, progress
from ganscope.checkpoint import load_checkpoint, save_checkpoint
from ganscope.errors import GanscopeError
from ganscope.generators.diffaugment import diff_augment, parse_policy
from ganscope.generators.discriminators import SNGANDiscriminator, SpectralDiscriminator
from ganscope.generators.family import check_size, create_generator
from ganscope.generators.losses import (
    LOSSES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
)
from ganscope.generators.sample import image_grid, latents_for_seeds, sample_images, save_samples
from ganscope.generators.spectral import spectral_regularization
from ganscope.io import (
    atomic_path,
    iter_batches,
    list_images,
    save_png,
    write_csv,
    write_errors_csv,
    write_json,
)
from ganscope.io.locks import LOCK_NAME, run_lock
from ganscope.io.paths import writable_parent
from ganscope.layers import UPSAMPLERS, precise_batchnorm
from ganscope.settings import positive
from ganscope.zoo import resolve_generator

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.safetensors"
GENERATOR_DIR = "generator"
LOSS_COLUMNS = (
    "step",
    "d_loss",
    "g_loss",
    "d_real",
    "d_fake",
    "gp",
    "spectral_reg",
    "ds_loss",
    "r1",
    "own",
)
_R1_EVERY = 16
_FORMAT = "ganscope-gan-train-2"
# Settings that may change between a run and its resumption (they do not change the weights).
_RESUMABLE_CHANGES = frozenset({"steps", "checkpoint_every", "sample_every", "grid_size"})


def parse_betas(text: str) -> tuple[float, float]:
    """Adam's betas from ``"B1,B2"`` (``--betas 0.5,0.999``), each in [0, 1).

    Raises:
        GanscopeError: not two numbers, or one outside [0, 1).
    """
    try:
        b1, b2 = (float(v) for v in text.split(","))
    except ValueError:
        raise GanscopeError(f"--betas must be two numbers B1,B2, not {text!r}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise GanscopeError(f"--betas must lie in [0, 1), not {text!r}")
    return b1, b2


@dataclass
class TrainConfig:
    """Every setting of a GAN training run (saved to ``RUN/config.json``).

    Attributes:
        data: folder of training images (read recursively).
        upsample: registered upsampler used by every generator block.
        size: image side (power of two); images are centre-cropped to it.
        steps: total optimisation steps (one D and one G update each).
        batch_size: images per step.
        lr: Adam learning rate of both networks.
        betas: Adam betas (DCGAN's ``(0.5, 0.999)``).
        loss: ``ns`` (non-saturating), ``hinge`` or ``wgan-gp``.
        gp_weight: WGAN-GP lambda (Gulrajani et al.: 10).
        ema_decay: decay of the generator's exponential moving average.
        spectral_reg: weight of Durall et al.'s spectral loss on G (0 = off). Its gradient is
            far larger than the GAN loss's (~400x at initialisation, 32x32): weights around
            0.01 leave the GAN in charge, 1.0 collapses short runs (benchmarks/RESULTS-gan.md).
        spectral_disc: add Jung & Keuper's spectral discriminator.
        spectral_disc_weight: weight ``b`` of its logit: G sees ``(D + b * D_s) / (1 + b)``
            (the authors' default 1.0 collapses short 32x32 runs here; 0.05 works).
        checkpoint_every: steps between checkpoints (and ``losses.csv`` flushes).
        sample_every: steps between sample grids (0 = only at the end).
        grid_size: images per sample grid (seeds ``0 .. grid_size - 1``).
        seed: the run's seed (initial weights, data order, latents).
        width: generator width (channels before the last block).
        d_width: discriminator width (``None``: same as ``width``).
        latent_dim: length of ``z``.
        family: registered generator family.
        d_antialias: BlurPool instead of strided convolutions in D.
        flip: random left-right flips of the real images.
        augment: DiffAugment policy applied to real and fake before every D call (Zhao et al.
            2020): ``color,translation,cutout``, a subset, or ``none`` (the default: at 1000
            steps on the built-in corpus it did not yet measure better, see the README).
        n_dis: discriminator updates per generator update (SNGAN's ``n_dis``).
        d_lr: discriminator learning rate (``None``: same as ``lr``).
        pac: PacGAN packing (Lin et al. 2018): D judges packs of this many images (1 = off);
            ``batch_size`` must divide by it.
        d_mbstd: give D ProGAN's minibatch standard deviation feature (counters collapse).
        r1_gamma: weight of the R1 penalty on real images (Mescheder et al. 2018), applied
            lazily every 16 steps (Karras et al. 2020); 0 = off.
        family_settings: extra constructor settings of the generator family (e.g. an
            autoencoder's ``recon_weight``).
    """

    data: str
    upsample: str = "transposed"
    size: int = 32
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    loss: str = "ns"
    gp_weight: float = 10.0
    ema_decay: float = 0.999
    spectral_reg: float = 0.0
    spectral_disc: bool = False
    spectral_disc_weight: float = 1.0
    checkpoint_every: int = 500
    sample_every: int = 500
    grid_size: int = 64
    seed: int = 0
    width: int = 16
    d_width: int | None = None
    latent_dim: int = 128
    family: str = "dcgan"
    d_antialias: bool = False
    flip: bool = True
    augment: str = "none"
    n_dis: int = 1
    d_lr: float | None = None
    r1_gamma: float = 0.0
    d_mbstd: bool = False
    pac: int = 1
    family_settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def validate(self) -> None:
        """Raise :class:`GanscopeError` for a setting that cannot work."""
        if self.upsample not in UPSAMPLERS:
            raise GanscopeError(
                f"unknown upsampler {self.upsample!r}; registered: {', '.join(UPSAMPLERS)}"
            )
        if self.loss not in LOSSES:
            raise GanscopeError(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        for name in ("steps", "batch_size", "checkpoint_every", "width", "latent_dim", "grid_size"):
            if getattr(self, name) < 1:
                raise GanscopeError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.d_width is not None and self.d_width < 1:
            raise GanscopeError(f"d_width must be at least 1, not {self.d_width}")
        check_size(self.size)
        parse_policy(self.augment)
        if self.pac < 1 or self.batch_size % self.pac:
            raise GanscopeError(
                f"pac must be >= 1 and divide batch_size ({self.batch_size}), not {self.pac}"
            )
        if self.n_dis < 1:
            raise GanscopeError(f"n_dis must be at least 1, not {self.n_dis}")
        if self.r1_gamma < 0:
            raise GanscopeError(f"r1_gamma must be >= 0, not {self.r1_gamma}")
        if self.sample_every < 0 or self.spectral_reg < 0 or self.lr <= 0:
            raise GanscopeError("sample_every, spectral_reg must be >= 0 and lr > 0")
        if not 0 <= self.ema_decay < 1:
            raise GanscopeError(f"ema_decay must be in [0, 1), not {self.ema_decay}")

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "betas" in kw:
            kw["betas"] = tuple(kw["betas"])
        return cls(**kw)


@dataclass
class TrainResult:
    """What :func:`train_gan` did.

    Attributes:
        run_dir: the run folder.
        step: steps completed now.
        start_step: step the call started from (0 for a fresh run).
        resumed: the call continued an interrupted run.
        already_complete: the run had finished before this call; nothing was trained.
        seconds: wall time of the training loop.
    """

    run_dir: Path
    step: int
    start_step: int
    resumed: bool
    already_complete: bool
    seconds: float

    def summary(self) -> str:
        """One line: what the call trained (and from which step), or that nothing was left."""
        if self.already_complete:
            return f"{self.run_dir} is complete ({self.step} steps); nothing to do"
        resumed = f"resumed from step {self.start_step}; " if self.resumed else ""
        return (
            f"{resumed}trained {self.step - self.start_step} steps in {self.seconds:.1f} s; "
            f"generator: {self.run_dir / GENERATOR_DIR}"
        )


# --------------------------------------------------------------------------- randomness


def _derive_seed(seed: int, tag: str, index: int) -> int:
    digest = hashlib.sha256(f"{seed}/{tag}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _rng(seed: int, tag: str, index: int) -> torch.Generator:
    return torch.Generator().manual_seed(_derive_seed(seed, tag, index))


class _DataOrder:
    """Epoch-wise permutations: the global sample ``k`` is ``perm(k // N)[k % N]``."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        self._cache: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            if len(self._cache) > 4:
                self._cache.clear()
            self._cache[epoch] = torch.randperm(self.n, generator=_rng(self.seed, "epoch", epoch))
        return self._cache[epoch]

    def indices(self, step: int, batch_size: int) -> torch.Tensor:
        pos = torch.arange(step * batch_size, (step + 1) * batch_size)
        epochs = pos // self.n
        out = torch.empty(batch_size, dtype=torch.long)
        for e in epochs.unique().tolist():
            sel = epochs == e
            out[sel] = self._perm(e)[pos[sel] % self.n]
        return out


# --------------------------------------------------------------------------- data


def load_training_images(
    data: str | Path, size: int, *, errors: list[tuple[Path, str]] | None = None
) -> tuple[torch.Tensor, str, int]:
    """Read a folder into a uint8 tensor ``(N, 3, size, size)`` (centre crops, no resampling).

    Args:
        data: the folder (read recursively).
        size: crop side.
        errors: if given, receives ``(path, reason)`` for every file skipped.

    Returns:
        ``(images, fingerprint, n_skipped)``; the fingerprint (file names and sizes) lets a
        resumed run check that its data did not change.
    """

    files = list_images([data])
    errors = [] if errors is None else errors
    chunks = []
    with progress.progress_bar(len(files), "reading images") as bar:
        for batch in iter_batches(files, batch_size=256, crop=(size, size), errors=errors):
            chunks.append((batch.images * 255).round_().to(torch.uint8))
            bar.advance(len(batch))
    if not chunks:
        reason = errors[0][1] if errors else "no images"
        raise GanscopeError(f"no usable {size}x{size} training images in {data} ({reason})")
    if errors:
        log.warning(
            "skipped %d of %d files in %s (e.g. %s: %s)",
            len(errors),
            len(files),
            data,
            errors[0][0],
            errors[0][1],
        )
    h = hashlib.sha256()
    for f in files:
        # Names are hashed as the file system's bytes (a name need not be UTF-8), and a file that
        # cannot be stat'ed (a symlink loop, already reported as bad) counts by name alone.
        try:
            n_bytes = str(f.stat().st_size)
        except OSError:
            n_bytes = "unreadable"
        h.update(os.fsencode(f) + f":{n_bytes}\n".encode())
    return torch.cat(chunks), h.hexdigest()[:16], len(errors)


# --------------------------------------------------------------------------- state


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict, list]:
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            t = val if isinstance(val, torch.Tensor) else torch.tensor(val)
            tensors[f"{prefix}.{idx}.{key}"] = t
    return tensors, sd["param_groups"]


def _unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], groups: list) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, t in tensors.items():
        if name.startswith(prefix + "."):
            idx, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[key] = t
    return {"state": state, "param_groups": groups}


def _prefixed(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def _strip(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


@torch.no_grad()
def recalibrate_batchnorm(
    G: nn.Module, *, n: int = 512, batch_size: int = 128, seed: int = 0
) -> None:
    """Recompute the BatchNorm running statistics of ``G`` on ``n`` fixed latents ("standing
    statistics", Brock et al. 2019) and leave ``G`` in eval mode. Deterministic for a seed."""

    device, dim = next(G.parameters()).device, G.latent_dim
    precise_batchnorm(
        G,
        (
            latents_for_seeds(
                [_derive_seed(seed, "bn", k) for k in range(i, min(n, i + batch_size))], dim
            ).to(device)
            for i in range(0, n, batch_size)
        ),
    )


class _Trainer:
    def __init__(self, cfg: TrainConfig, run_dir: Path, device: torch.device) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.device = device
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.G = create_generator(
                cfg.family,
                size=cfg.size,
                upsample=cfg.upsample,
                latent_dim=cfg.latent_dim,
                width=cfg.width,
                **cfg.family_settings,
            ).to(device)
            self.D = SNGANDiscriminator(
                size=cfg.size,
                width=cfg.d_width or cfg.width,
                antialias=cfg.d_antialias,
                minibatch_std=cfg.d_mbstd,
                pac=cfg.pac,
            ).to(device)
            self.Ds = SpectralDiscriminator(size=cfg.size).to(device) if cfg.spectral_disc else None
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        d_params = list(self.D.parameters())
        if self.Ds is not None:
            d_params += list(self.Ds.parameters())
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(d_params, lr=cfg.d_lr or cfg.lr, betas=cfg.betas)
        self.step = 0
        self.rows: list[list[Any]] = []

    # ----------------------------------------------------------------------- persistence

    def state_tensors(self) -> dict[str, torch.Tensor]:
        t = {**_prefixed("G", self.G), **_prefixed("D", self.D), **_prefixed("G_ema", self.G_ema)}
        if self.Ds is not None:
            t.update(_prefixed("Ds", self.Ds))
        og, og_groups = _flatten_optimizer("opt_g", self.opt_g)
        od, od_groups = _flatten_optimizer("opt_d", self.opt_d)
        t.update(og)
        t.update(od)
        self._groups = {"opt_g": og_groups, "opt_d": od_groups}
        return {k: v.detach().cpu().contiguous().clone() for k, v in t.items()}

    def save(self, fingerprint: str) -> None:

        tensors = self.state_tensors()
        meta = {
            "format": _FORMAT,
            "step": str(self.step),
            "data_fingerprint": fingerprint,
            "optimizer_groups": json.dumps(self._groups),
            "ganscope_version": __version__,
        }
        write_csv(self.run_dir / "losses.csv", LOSS_COLUMNS, self.rows)
        self.export_generator()
        with atomic_path(self.run_dir / CHECKPOINT_NAME) as tmp:
            save_file(tensors, str(tmp), metadata=meta)

    def load(self, fingerprint: str) -> None:
        path = self.run_dir / CHECKPOINT_NAME
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as fh:
                meta = fh.metadata() or {}
            tensors = load_file(str(path))
        except Exception as err:
            raise GanscopeError(f"{path}: unreadable checkpoint ({err})") from None
        if meta.get("format") != _FORMAT:
            raise GanscopeError(f"{path}: not a ganscope training checkpoint")
        if meta.get("data_fingerprint") != fingerprint:
            raise GanscopeError(
                f"the training images in {self.cfg.data} changed since {self.run_dir} was started; "
                "use a new --out folder"
            )
        self.G.load_state_dict(_strip("G", tensors))
        self.D.load_state_dict(_strip("D", tensors))
        self.G_ema.load_state_dict(_strip("G_ema", tensors))
        if self.Ds is not None:
            self.Ds.load_state_dict(_strip("Ds", tensors))
        groups = json.loads(meta["optimizer_groups"])
        self.opt_g.load_state_dict(_unflatten_optimizer("opt_g", tensors, groups["opt_g"]))
        self.opt_d.load_state_dict(_unflatten_optimizer("opt_d", tensors, groups["opt_d"]))
        self.step = int(meta["step"])
        self.rows = _read_loss_rows(self.run_dir / "losses.csv", self.step)

    def export_generator(self) -> None:
        recalibrate_batchnorm(self.G_ema, seed=self.cfg.seed)
        save_checkpoint(
            self.run_dir / GENERATOR_DIR,
            self.G_ema.state_dict(),
            {
                "class": type(self.G_ema).__name__,
                "family": self.cfg.family,
                "settings": self.G_ema.settings(),
                "step": self.step,
                "train_config": self.cfg.to_json(),
            },
        )

    def save_grid(self) -> None:

        recalibrate_batchnorm(self.G_ema, seed=self.cfg.seed)
        images = sample_images(self.G_ema, list(range(self.cfg.grid_size)), device=self.device)
        save_png(self.run_dir / "samples" / f"step{self.step:06d}.png", image_grid(images))

    # ----------------------------------------------------------------------- one step

    def _real_batch(self, data: torch.Tensor, order: _DataOrder, k: int, rng) -> torch.Tensor:
        """The ``k``-th real batch of this step (``n_dis`` batches per step), in [-1, 1]."""
        cfg = self.cfg
        idx = order.indices(self.step * cfg.n_dis + k, cfg.batch_size)
        flips = torch.rand(cfg.batch_size, generator=rng) < 0.5
        real = data[idx].to(self.device, non_blocking=True).float().div_(127.5).sub_(1)
        if cfg.flip:
            flips = flips.to(self.device).view(-1, 1, 1, 1)
            real = torch.where(flips, real.flip(-1), real)
        return real  # (B, 3, S, S)

    def _d(self, D: nn.Module, x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        # DiffAugment (Zhao et al. 2020): D only ever sees augmented images, real and fake.
        return D(diff_augment(x, self.cfg.augment, generator=rng))

    def train_step(self, data: torch.Tensor, order: _DataOrder) -> list[Any]:
        cfg = self.cfg
        rng = _rng(cfg.seed, "step", self.step)
        self.G.train()

        # Discriminator(s): n_dis updates, each on a fresh real batch and fresh fakes.
        self.D.requires_grad_(True)
        if self.Ds is not None:
            self.Ds.requires_grad_(True)
        gp = r1 = ds_loss = None
        for k in range(cfg.n_dis):
            real = self._real_batch(data, order, k, rng)
            z = torch.randn(cfg.batch_size, cfg.latent_dim, generator=rng).to(self.device)
            if k == cfg.n_dis - 1:
                # The last D update's fakes are reused, with their graph, for G's update.
                fake, own_losses = self.G.training_output(real, z, generator=rng)
                fake_d = fake.detach()
            else:
                with torch.no_grad():
                    fake_d, _ = self.G.training_output(real, z, generator=rng)
            self.opt_d.zero_grad(set_to_none=True)
            lazy_r1 = cfg.r1_gamma > 0 and (self.step * cfg.n_dis + k) % _R1_EVERY == 0
            if lazy_r1:
                real.requires_grad_(True)
            d_real, d_fake = self._d(self.D, real, rng), self._d(self.D, fake_d, rng)
            d_loss = discriminator_loss(cfg.loss, d_real, d_fake)
            total = d_loss
            if cfg.loss == "wgan-gp":
                gp = gradient_penalty(self.D, real.detach(), fake_d, generator=rng)
                total = total + cfg.gp_weight * gp
            if lazy_r1:
                # R1 (Mescheder et al. 2018) on the augmented reals, every 16th D step with its
                # weight scaled by 16 (lazy regularization, Karras et al. 2020, Sec. 3.1).
                (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
                r1 = grad.square().flatten(1).sum(1).mean()
                total = total + cfg.r1_gamma / 2 * r1 * _R1_EVERY
            if self.Ds is not None:
                ds_loss = discriminator_loss(cfg.loss, self.Ds(real.detach()), self.Ds(fake_d))
                if cfg.loss == "wgan-gp":
                    ds_loss = ds_loss + cfg.gp_weight * gradient_penalty(
                        self.Ds, real.detach(), fake_d, generator=rng
                    )
                total = total + ds_loss
            total.backward()
            self.opt_d.step()

        # Generator: one update against the updated discriminator(s).
        self.D.requires_grad_(False)
        if self.Ds is not None:
            self.Ds.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        real = real.detach()
        logits = self._d(self.D, fake, rng)
        if self.Ds is not None:
            # Jung & Keuper 2021: combine the logits, (a * D + b * D_s) / (a + b) with a = 1.
            b = cfg.spectral_disc_weight
            logits = (logits + b * self.Ds(fake)) / (1 + b)
        g_loss = generator_loss(cfg.loss, logits)
        g_total = g_loss + sum(own_losses.values(), torch.zeros((), device=self.device))
        reg = None
        if cfg.spectral_reg > 0:
            reg = spectral_regularization((real + 1) / 2, (fake + 1) / 2)
            g_total = g_total + cfg.spectral_reg * reg
        g_total.backward()
        self.opt_g.step()

        self._update_ema()
        self.step += 1
        return [
            self.step,
            d_loss.item(),
            g_loss.item(),
            d_real.mean().item(),
            d_fake.mean().item(),
            "" if gp is None else gp.item(),
            "" if reg is None else reg.item(),
            "" if ds_loss is None else ds_loss.item(),
            "" if r1 is None else r1.item(),
            ";".join(f"{k}={v.item():.5g}" for k, v in own_losses.items()),
        ]

    @torch.no_grad()
    def _update_ema(self) -> None:
        t = self.step
        decay = min(self.cfg.ema_decay, (1 + t) / (10 + t))
        ema_params = list(self.G_ema.parameters())
        params = [p.detach() for p in self.G.parameters()]
        torch._foreach_lerp_(ema_params, params, 1 - decay)


def _checkpoint_step(path: Path) -> int:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        return int(meta["step"])
    except Exception as err:
        raise GanscopeError(f"{path}: unreadable checkpoint ({err})") from None


def _read_loss_rows(path: Path, upto: int) -> list[list[Any]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        return [row for row in reader if row and int(row[0]) <= upto]


def _check_same_settings(saved: dict[str, Any], cfg: TrainConfig, run_dir: Path) -> None:
    now = cfg.to_json()
    # A setting added after the run was saved had its default then: adding a setting to
    # TrainConfig must not make every existing run folder refuse to resume.
    defaults = TrainConfig(data=cfg.data).to_json()
    diffs = [
        f"{k} ({saved.get(k, defaults[k])!r} → {now[k]!r})"
        for k in now
        if k not in _RESUMABLE_CHANGES and saved.get(k, defaults[k]) != now[k]
    ]
    if diffs:
        raise GanscopeError(
            f"{run_dir} holds a run with other settings: {', '.join(diffs)}; "
            "use a new --out folder or the same settings"
        )


def train_gan(
    config: TrainConfig, out_dir: str | Path, *, device: torch.device | str = "cpu"
) -> TrainResult:
    """Train (or resume, or confirm complete) a GAN run in ``out_dir``, holding the folder's
    :func:`ganscope.io.run_lock`: a second run on the same folder stops with a
    :class:`GanscopeError` instead of training into the same files. See :func:`_train_gan`."""

    config.validate()
    writable_parent(Path(out_dir), folder=True)
    with run_lock(out_dir):
        return _train_gan(config, out_dir, device=device)


def _train_gan(
    config: TrainConfig, out_dir: str | Path, *, device: torch.device | str = "cpu"
) -> TrainResult:
    """Train (or resume, or confirm complete) a GAN run in ``out_dir``.

    A new folder starts a run; a folder with a checkpoint of the same settings resumes it from
    its last checkpoint (``steps`` may be raised to train longer); a finished run returns at
    once with ``already_complete=True``.

    Args:
        config: all settings.
        out_dir: the run folder.
        device: torch device to train on.

    Returns:
        :class:`TrainResult`.

    Raises:
        GanscopeError: bad settings, unreadable data, or a folder holding something else.
    """
    config.validate()
    cfg = dataclasses.replace(config, data=str(Path(config.data).resolve()))
    run_dir = Path(out_dir)
    device = torch.device(device)
    ckpt = run_dir / CHECKPOINT_NAME
    cfg_path = run_dir / "config.json"
    if run_dir.exists() and not run_dir.is_dir():
        raise GanscopeError(f"--out must be a folder, but {run_dir} is a file")

    others = (p for p in run_dir.iterdir() if p.name != LOCK_NAME) if run_dir.is_dir() else ()
    if any(others) and not cfg_path.exists():
        raise GanscopeError(f"{run_dir} is not empty and is not a ganscope run folder")
    resuming = ckpt.exists()
    if resuming:
        saved = json.loads(cfg_path.read_text(encoding="utf-8"))
        _check_same_settings(saved, cfg, run_dir)
        done = _checkpoint_step(ckpt)
        if done >= cfg.steps:
            log.info("%s is complete (%d of %d steps)", run_dir, done, cfg.steps)
            return TrainResult(run_dir, done, done, False, True, 0.0)

    bad_files: list[tuple[Path, str]] = []
    data, fingerprint, _ = load_training_images(cfg.data, cfg.size, errors=bad_files)
    trainer = _Trainer(cfg, run_dir, device)
    if resuming:
        trainer.load(fingerprint)
        log.info("resuming %s from step %d of %d", run_dir, trainer.step, cfg.steps)
    start = trainer.step

    write_json(cfg_path, {**cfg.to_json(), "n_images": len(data), "ganscope_version": __version__})
    if bad_files:
        # Every skipped file by name (the warning above shows one).
        write_errors_csv(run_dir / "errors.csv", bad_files)
        log.warning("the %d skipped files are listed in %s", len(bad_files), run_dir / "errors.csv")

    data = data.to(device)
    order = _DataOrder(len(data), cfg.seed)
    t0 = time.perf_counter()
    with progress.progress_bar(cfg.steps, f"gan {cfg.upsample}", completed=start) as bar:
        while trainer.step < cfg.steps:
            row = trainer.train_step(data, order)
            trainer.rows.append(row)
            step = trainer.step
            if (cfg.sample_every and step % cfg.sample_every == 0) or step == cfg.steps:
                trainer.save_grid()
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                trainer.save(fingerprint)
            bar.advance(1, d=row[1], g=row[2])
    return TrainResult(run_dir, trainer.step, start, resuming, False, time.perf_counter() - t0)


def load_generator(
    run_dir: str | Path, *, device: torch.device | str = "cpu"
) -> tuple[nn.Module, dict]:
    """Load the EMA generator of a run (``RUN`` or ``RUN/generator``) or a shipped ``zoo:NAME``,
    in eval mode, in float32 (zoo weights are stored in float16).

    Returns:
        ``(G_ema, config)`` where ``config`` is the generator folder's ``config.json``
        (``family``, ``settings``, ``step``, ``train_config``, ``ganscope_version``).
    """

    run_dir = resolve_generator(run_dir)
    folder = run_dir / GENERATOR_DIR if (run_dir / GENERATOR_DIR).is_dir() else run_dir
    if not (folder / "model.safetensors").exists():
        raise GanscopeError(
            f"no trained generator in {run_dir} (train one with `ganscope gan train`, "
            "or name a shipped one as zoo:NAME; `ganscope zoo list` shows them)"
        )
    state, config = load_checkpoint(folder)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        G = create_generator(config.get("family", "dcgan"), **config["settings"])
        G.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError, GanscopeError) as err:
        raise GanscopeError(
            f"{folder}: generator config and weights do not match ({err})"
        ) from None
    return G.to(device).eval(), config


@dataclass(frozen=True)
class SampleSettings:
    """Settings of :func:`write_samples` (``ganscope gan sample``), checked when made.

    Attributes:
        n: number of images.
        seed: first seed; images use seeds seed .. seed+n-1.
        batch_size: images per batch.
    """

    n: int
    seed: int = 0
    batch_size: int = 64

    def __post_init__(self) -> None:
        positive(self.n, "--n")
        positive(self.seed, "--seed", minimum=0)
        positive(self.batch_size, "--batch-size")

    @property
    def seeds(self) -> range:
        """The seeds of the images, in order: ``seed .. seed+n-1``."""
        return range(self.seed, self.seed + self.n)


def write_samples(
    run: str | Path,
    out_dir: str | Path,
    settings: SampleSettings,
    *,
    device: torch.device | str = "cpu",
) -> list[Path]:
    """``gan sample``: write ``seed%06d.png`` of every seed of ``settings`` (:func:`save_samples`)
    with the generator of a run folder or ``zoo:NAME`` (:func:`load_generator`); ``out_dir`` is
    checked before the generator loads. Returns the written paths in seed order."""
    writable_parent(Path(out_dir), folder=True)
    G, _ = load_generator(run, device=device)
    return save_samples(G, out_dir, settings.seeds, batch_size=settings.batch_size, device=device)
