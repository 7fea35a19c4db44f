"""CNN detectors trained with Wang et al. (CVPR 2020)'s recipe.

Wang, Wang, Zhang, Owens & Efros, "CNN-generated images are surprisingly easy to spot... for
now", CVPR 2020: a ResNet-50 trained on ProGAN images vs real photos, with Gaussian blur
(``sigma ~ U[0, 3]``) and JPEG (``quality ~ U{30..100}``) augmentation each applied with
probability ``p``, random crops and flips, generalizes to unseen generators. Inputs other than
RGB: NPR, the residual ``x - up(down(x))`` of nearest down/up-sampling that exposes up-sampling
traces (Tan et al., CVPR 2024, eq. 1); the log-magnitude Fourier spectrum; the log-magnitude DCT
spectrum (Frank et al., ICML 2020).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ganscope.detectors.augment import (
    AUGMENTATIONS,
    center_crop,
    random_crop_flip,
    random_dihedral,
    resolve_augment,
    wang_augment,
)
from ganscope.detectors.base import BaseDetector, as_images, as_labels, register_detector
from ganscope.detectors.inputs import CALIBRATIONS, CNN_INPUTS, EVAL_CROPS, cnn_input
from ganscope.detectors.networks import ARCHITECTURES, MeanLogit, create_network
from ganscope.detectors.tiles import tile_count, tile_images
from ganscope.devices import resolve_device
from ganscope.errors import GanscopeError
from ganscope.layers import precise_batchnorm
from ganscope.metrics.classification import (
    average_precision,
    calibrate_threshold,
    expected_calibration_error,
    fit_platt,
    fit_temperature,
    fpr_threshold,
)
from ganscope.progress import progress_bar

NEAR_CHANCE_MARGIN = 0.15
"""A validation AP less than this above chance (the fraction of fakes) counts as near chance."""

MIN_TRAINING_STEPS = 500
"""``epochs=None`` trains for at least this many optimizer steps (at least 20 epochs, at most
100): on a few hundred images 20 epochs are only ~150 steps, too few to learn anything."""

LR_SCHEDULES = ("constant", "cosine")
"""How the learning rate moves over training: ``constant``, or ``cosine`` (Loshchilov & Hutter,
"SGDR", ICLR 2017, without restarts): from ``lr`` down to 0 at the last step of ``epochs``."""


PRECISE_BN_IMAGES = 2048
"""Training images over which "precise BN" recomputes the BatchNorm statistics after each epoch:
a uniform random draw of them (fixed for the fit), not the first ones. Until the default
detector's build after commit e7f0678 they were the first 2048 in the order given, so the
statistics came from whatever the caller put first: in that build's data the re-rendering
autoencoders' first photos, and with the autoencoders left out the simulated pairs' real crops
of four photographs. Left-out autoencoders: AP 0.88 / 0.84 / 0.90 / 0.92 at 32-256 px with the
cached order, 0.95 / 0.96 / 0.97 / 0.99 with the same images in another order (two seeds each,
``scripts/lofo_probe.py``). The build with the uniform draw: left-out autoencoders 0.96 / 0.97 /
0.98 / 0.99, every model trained all 12 epochs instead of stopping after 1-4; the left-out DCGANs
0.886 (0.920 before) and StyleGAN2s 0.969 (0.993)."""


def precise_bn_subset(train_idx: np.ndarray, seed: int, n: int = PRECISE_BN_IMAGES) -> np.ndarray:
    """``n`` of ``train_idx`` drawn uniformly without replacement (all of them if fewer), in
    increasing order; the draw depends on ``seed`` only, not on the fit's random stream."""
    if train_idx.size <= n:
        return train_idx
    gen = torch.Generator().manual_seed(seed)
    return np.sort(train_idx[torch.randperm(train_idx.size, generator=gen)[:n].numpy()])


class WeightAverage:
    """The running mean of a network's floating-point weights over the times it is
    :meth:`add`-ed (stochastic weight averaging, Izmailov et al., UAI 2018). BatchNorm running
    statistics are averaged too but mean nothing for the averaged weights: recompute them
    (precise BN) after :meth:`apply`."""

    def __init__(self, net: nn.Module) -> None:
        self.mean = {
            k: torch.zeros_like(v, dtype=torch.float64)
            for k, v in net.state_dict().items() if v.is_floating_point()
        }  # fmt: skip
        self.count, self.first, self.last = 0, 0, 0

    def add(self, net: nn.Module, epoch: int) -> None:
        self.count += 1
        self.first, self.last = self.first or epoch, epoch
        state = net.state_dict()
        for k, m in self.mean.items():
            m += (state[k].detach().double() - m) / self.count

    def apply(self, net: nn.Module) -> None:
        state = net.state_dict()
        net.load_state_dict({**state, **{k: m.to(state[k].dtype) for k, m in self.mean.items()}})


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """The multiple of the base learning rate for optimizer step ``step`` (from 0) of
    ``total_steps``: 1 for ``constant``; ``(1 + cos(pi * step / total_steps)) / 2`` for
    ``cosine``."""
    if schedule == "constant" or total_steps <= 0:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


def _stratified_split(
    y: np.ndarray, fraction: float, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    train, val = [], []
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        perm = idx[torch.randperm(idx.size, generator=generator).numpy()]
        n_val = round(fraction * idx.size)
        if fraction > 0 and idx.size >= 2:
            n_val = min(max(n_val, 1), idx.size - 1)
        val.append(perm[:n_val])
        train.append(perm[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


@register_detector("cnn")
class CNNDetector(BaseDetector):
    """A ResNet trained end to end on images, with Wang et al. (2020)'s augmentation.

    Training (``fit``): a stratified validation split (``val_fraction``); each epoch, every
    training image is augmented by the ``augment`` policy (:data:`~ganscope.detectors.augment.
    AUGMENTATIONS`): with ``blur+jpeg``, blurred with probability ``blur_prob``
    (``sigma ~ U[blur_sigma]``), then JPEG-compressed with probability ``jpeg_prob``
    (``quality ~ U{jpeg_quality}``), then randomly cropped to ``crop x crop`` and flipped; Adam on
    the binary cross-entropy.

    Small training sets (issue 12): with a few hundred images, Wang et al.'s recipe learns
    nothing where the fakes are smoother than the reals (autoencoder reconstructions: AP 0.85 on
    one such set and 0.54 on another, against 0.96 for a logistic regression on the azimuthal
    spectrum), because the blur makes real photos look like the fakes and 20 epochs are ~150
    steps. The defaults therefore depend on the data size: ``augment="auto"`` is ``dihedral``
    (flips and quarter turns, which keep up-sampling artifacts) below
    :data:`~ganscope.detectors.augment.SMALL_TRAINING_SET` training images and ``blur+jpeg`` from
    there, and ``epochs=None`` trains for at least :data:`MIN_TRAINING_STEPS` steps with a
    patience of a quarter of the epochs. The validation AP (``val_ap_``) says whether anything
    was learnt. After every epoch the
    BatchNorm statistics are recomputed on the training images ("precise BN", Wu & Johnson 2021)
    and the validation loss (on centre crops, no augmentation) is measured; training stops after
    ``patience`` epochs without improvement and the best epoch's weights are kept. The decision
    threshold ``threshold_`` is then calibrated on the validation predictions (maximum balanced
    accuracy, :func:`ganscope.metrics.calibrate_threshold`); 0.5 without a validation split.
    With ``calibrate="temperature"`` a temperature ``T`` is fitted instead (Guo et al., ICML
    2017): ``P(fake) = sigmoid(logit / T)`` minimizes the validation cross-entropy, so that a
    P(fake) of 0.8 means fake 8 times in 10 on data like the validation split, and the decision
    threshold is 0.5. ``calibrate="platt"`` fits a bias too (Platt scaling:
    ``sigmoid(logit / T + b)``, :func:`ganscope.metrics.fit_platt`), for validation data on
    which the network leans to one class as a whole. ``val_ece_`` is the expected calibration
    error there. ``target_fpr``
    then raises the threshold, where needed, until at most that share of the validation reals
    is called fake: P(fake) keeps its calibrated meaning and the detector accuses only when it is
    sure enough (a Neyman-Pearson operating point, for users to whom a false accusation costs
    more than a miss).

    Scoring (``predict_proba``): with ``eval_crop="center"`` (default) every image is centre-
    cropped to ``crop x crop``, the view the network was trained and calibrated on; with
    ``"full"`` the whole image is scored (global average pooling accepts any size, as in Wang
    et al.'s evaluation); with ``"tiles"`` the image is cut into ``crop x crop`` tiles on an even
    grid that covers every pixel and its logit is the mean of the tiles' logits
    (:mod:`ganscope.detectors.tiles`): the network sees the view it was trained on, everywhere.
    Images must be at least ``crop`` on each side.

    Args:
        arch: ``resnet-small`` (seconds on a CPU at 32x32) or ``resnet50`` (torchvision names).
        input: ``rgb``, ``npr``, ``fft`` or ``dct`` (see :func:`cnn_input`).
        antialias: Zhang (2019) BlurPool before every subsampling.
        crop: training crop side; ``None``: ``min(224, smallest training side)``.
        eval_crop: ``center``, ``full`` or ``tiles`` (see above).
        calibrate: ``threshold`` (the balanced-accuracy threshold) or ``temperature`` (see above).
        target_fpr: with ``temperature``, the largest share of validation reals the threshold
            may call fake (``None``: the threshold stays 0.5).
        augment: ``auto``, ``none``, ``flip``, ``dihedral``, ``jpeg``, ``blur`` or ``blur+jpeg``
            (see :data:`~ganscope.detectors.augment.AUGMENTATIONS`).
        blur_prob, blur_sigma: probability and sigma range of the blur augmentation.
        jpeg_prob, jpeg_quality: probability and quality range of the JPEG augmentation. The
            default probabilities 0.1 are Wang et al.'s "Blur+JPEG (0.1)" model; "(0.5)" is
            their other published model, more robust to degradations and a little less accurate
            on clean images.
        flip: random horizontal flips.
        epochs: the most training epochs; ``None``: by data size, enough for
            :data:`MIN_TRAINING_STEPS` steps, 20 to 100 (0 with ``weights``: keep the weights as
            they are and only calibrate the threshold, on all of ``X``).
        lr: Adam learning rate.
        lr_schedule: ``constant`` or ``cosine`` decay to 0 over ``epochs``
            (:data:`LR_SCHEDULES`); early stopping still applies.
        weight_decay: Adam weight decay.
        batch_size: images per step (training and scoring).
        val_fraction: fraction of each class held out for early stopping and calibration
            (none when ``fit`` is given ``validation`` data).
        patience: epochs without validation improvement before stopping; ``None``: a quarter
            of the epochs, at least 5.
        average_from: stochastic weight averaging (Izmailov et al., UAI 2018): keep the mean of
            the weights at the end of epochs ``average_from`` .. the last one run, with
            BatchNorm statistics recomputed for it, instead of the epoch with the lowest
            validation loss. Cha et al. (SWAD, NeurIPS 2021) find such means generalize better
            to unseen domains than any single epoch; early stopping still ends training, and a
            run that stops before ``average_from`` keeps its last epoch. ``None``: off.
        members: networks to train, from seeds ``seed``, ``seed + 1``, ...; the detector's
            logit is the mean of theirs (a deep ensemble, Lakshminarayanan et al., NeurIPS
            2017; :class:`~ganscope.detectors.networks.MeanLogit`), calibrated as one. They
            share the validation split; member 0 is the network ``members=1`` trains. Scoring
            costs ``members`` times as much.
        weights: optional foreign weights file (e.g. CNNDetection's ``blur_jpg_prob0.5.pth``)
            to start from, read with ``torch.load(weights_only=True)``.
        seed: seed of initialization, split, augmentation and batch order.
        device: ``auto``, ``cpu`` or ``cuda``.

    Attributes:
        network_: the trained :class:`~ganscope.detectors.networks.ResNet` (eval mode).
        threshold_: calibrated decision threshold on P(fake) (0.5 with ``temperature``).
        temperature_: the logit temperature ``T`` (1.0 with ``calibrate="threshold"``).
        bias_: the logit bias ``b`` of ``calibrate="platt"`` (0.0 otherwise).
        val_ece_: expected calibration error of P(fake) on the validation split.
        crop_: the crop side used.
        input_mean_, input_std_: per-channel standardization of the ``fft``/``dct`` input
            (measured on the training images; 0 and 1 for ``rgb``/``npr``).
        history_: per-epoch ``{"epoch", "train_loss", "val_loss"}``.
        best_epoch_: the epoch whose weights were kept (with ``average_from``: the last epoch
            of the mean); of member 0 in an ensemble.
        member_epochs_: ``best_epoch_`` of every member (``history_`` records carry a
            ``member`` index when there are several).
        averaged_epochs_: ``(first, last)`` epochs of the weight mean, ``None`` without one.
        augment_, epochs_, patience_: the augmentation policy and the epoch budget used.
        val_ap_: average precision on the validation split (``nan`` without one).
        val_chance_: the AP of a random guess there (the fraction of fakes).
    """

    def __init__(
        self,
        arch: str = "resnet-small",
        input: str = "rgb",
        *,
        antialias: bool = False,
        crop: int | None = None,
        eval_crop: str = "center",
        calibrate: str = "threshold",
        target_fpr: float | None = None,
        augment: str = "auto",
        blur_prob: float = 0.1,
        blur_sigma: tuple[float, float] = (0.0, 3.0),
        jpeg_prob: float = 0.1,
        jpeg_quality: tuple[int, int] = (30, 100),
        flip: bool = True,
        epochs: int | None = None,
        lr: float = 1e-3,
        lr_schedule: str = "constant",
        weight_decay: float = 0.0,
        batch_size: int = 32,
        val_fraction: float = 0.2,
        patience: int | None = None,
        average_from: int | None = None,
        members: int = 1,
        weights: str | None = None,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.arch = arch
        self.input = input
        self.antialias = antialias
        self.crop = crop
        self.eval_crop = eval_crop
        self.calibrate = calibrate
        self.target_fpr = target_fpr
        self.augment = augment
        self.blur_prob = blur_prob
        self.blur_sigma = blur_sigma
        self.jpeg_prob = jpeg_prob
        self.jpeg_quality = jpeg_quality
        self.flip = flip
        self.epochs = epochs
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.patience = patience
        self.average_from = average_from
        self.members = members
        self.weights = weights
        self.seed = seed
        self.device = device

    # -- helpers ------------------------------------------------------------------------------
    def _check_settings(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise GanscopeError(
                f"unknown arch {self.arch!r}; choose from {', '.join(ARCHITECTURES)}"
            )
        if self.input not in CNN_INPUTS:
            raise GanscopeError(
                f"unknown input {self.input!r}; choose from {', '.join(CNN_INPUTS)}"
            )
        if self.augment not in AUGMENTATIONS:
            raise GanscopeError(
                f"unknown augment {self.augment!r}; choose from {', '.join(AUGMENTATIONS)}"
            )
        if self.eval_crop not in EVAL_CROPS:
            raise GanscopeError(
                f"eval_crop must be one of {', '.join(EVAL_CROPS)}, not {self.eval_crop!r}"
            )
        if self.calibrate not in CALIBRATIONS:
            raise GanscopeError(
                f"calibrate must be one of {', '.join(CALIBRATIONS)}, not {self.calibrate!r}"
            )
        if self.target_fpr is not None and (
            self.calibrate == "threshold" or not 0 < self.target_fpr < 1
        ):
            raise GanscopeError(
                "target_fpr needs calibrate='temperature' or 'platt' and a value in (0, 1)"
            )
        if not 0 <= self.blur_prob <= 1 or not 0 <= self.jpeg_prob <= 1:
            raise GanscopeError("blur_prob and jpeg_prob must be in [0, 1]")
        lo, hi = self.jpeg_quality
        if not 1 <= lo <= hi <= 100:
            raise GanscopeError(f"jpeg_quality must satisfy 1 <= low <= high <= 100, not {lo, hi}")
        if not 0 <= self.blur_sigma[0] <= self.blur_sigma[1]:
            raise GanscopeError(f"blur_sigma must satisfy 0 <= low <= high, not {self.blur_sigma}")
        if not 0 <= self.val_fraction < 1:
            raise GanscopeError("val_fraction must be in [0, 1)")
        if (self.epochs is not None and self.epochs < 0) or self.batch_size < 1:
            raise GanscopeError("epochs must be >= 0 and batch_size >= 1")
        if self.eval_crop == "tiles" and self.crop is not None and self.crop % 2:
            raise GanscopeError(
                f"eval_crop tiles needs an even crop (the 2x2 grid), not {self.crop}"
            )
        if self.patience is not None and self.patience < 1:
            raise GanscopeError("patience must be >= 1")
        if self.average_from is not None and self.average_from < 1:
            raise GanscopeError("average_from must be >= 1 (an epoch) or None")
        if not isinstance(self.members, int) or self.members < 1:
            raise GanscopeError(f"members must be an integer >= 1, not {self.members!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise GanscopeError(
                f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, not {self.lr_schedule!r}"
            )

    def _build_network(self, seed: int | None = None) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed if seed is None else seed)
            net = create_network(self.arch, antialias=self.antialias)
        if self.weights:
            from ganscope.checkpoint import load_foreign_weights

            state = load_foreign_weights(self.weights)
            own = net.state_dict()
            # Files saved before PyTorch 0.4.1 lack BatchNorm's num_batches_tracked: harmless.
            missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
            unexpected = [k for k in state if k not in own]
            wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
            if missing or unexpected or wrong:
                raise GanscopeError(
                    f"{self.weights} does not fit arch {self.arch!r}"
                    f"{' (antialiased)' if self.antialias else ''}: {len(missing)} missing keys "
                    f"(e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]}), "
                    f"{len(wrong)} of another shape (e.g. {wrong[:2]})"
                )
            net.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
        return net

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        z = cnn_input(x, self.input)
        if self.input in ("fft", "dct"):
            mean = self.input_mean_.to(z.device, z.dtype)[:, None, None]
            std = self.input_std_.to(z.device, z.dtype)[:, None, None]
            z = (z - mean) / std
        return z

    def _eval_view(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        if self.crop_ > H or self.crop_ > W:
            raise GanscopeError(
                f"images of {H}x{W} are smaller than the detector's crop {self.crop_}x{self.crop_}"
            )
        if self.eval_crop == "center":
            return center_crop(x, (self.crop_, self.crop_))
        return x

    def _logits(self, net: nn.Module, x: torch.Tensor, device: torch.device) -> torch.Tensor:
        """One logit per image of ``x`` (before the temperature), on the ``eval_crop`` view."""
        net.eval()
        out = []
        h, w = self._eval_view(x[:1]).shape[-2:]
        tiles = tile_count(h, w, self.crop_) if self.eval_crop == "tiles" else 0
        # Scoring needs no large batches: a few large images at a time keep the full-resolution
        # activations in cache (4 images of 256x256 were ~1.7x faster than 32 on a 2-core CPU).
        step = max(1, min(self.batch_size, 2**18 // (h * w)))
        with torch.no_grad():
            for i in range(0, x.shape[0], step):
                xb = self._eval_view(x[i : i + step]).to(device)
                if tiles:  # even a single tile: an odd-sized image is more than its tile
                    z = net(self._prepare(tile_images(xb, self.crop_)))
                    out.append(z.float().reshape(-1, tiles).mean(dim=1).cpu())
                else:
                    out.append(net(self._prepare(xb)).float().cpu())
        return torch.cat(out) if out else torch.zeros(0)

    def _input_stats(self, x: torch.Tensor) -> None:
        if self.input in ("fft", "dct"):
            sample = center_crop(x[:256], (self.crop_, self.crop_))
            z = cnn_input(sample, self.input)
            self.input_mean_ = z.mean(dim=(0, 2, 3)).float().cpu()
            self.input_std_ = z.std(dim=(0, 2, 3)).clamp_min(1e-6).float().cpu()
        else:
            self.input_mean_ = torch.zeros(3)
            self.input_std_ = torch.ones(3)

    # -- estimator API ------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        validation: tuple[Any, Any] | None = None,
    ) -> CNNDetector:
        """Train on images ``X (N, 3, H, W)`` in [0, 1] (one size, each side >= crop), ``y``.

        ``sample_weight``: ``(N,)`` non-negative weights of the training loss (e.g. to give every
        source of fakes the same say whatever its count); the validation loss is unweighted.

        ``validation``: images and labels ``(X_val, y_val)`` for early stopping and calibration
        instead of a random ``val_fraction`` split of ``X`` (which then all trains). Give it data
        whose content the training images do not share (other regions of the photos): a random
        split shares the content, so its loss and calibration are optimistic."""
        self._check_settings()
        x = as_images(X).cpu()
        yy = as_labels(y, x.shape[0])
        if np.unique(yy).size < 2:
            raise GanscopeError("training needs both real (0) and fake (1) images")
        H, W = x.shape[-2:]
        crop = self.crop if self.crop is not None else min(224, H, W)
        if crop > min(H, W) or crop < 8:
            raise GanscopeError(f"crop {crop} must be in 8..{min(H, W)} for {H}x{W} images")
        self.crop_ = int(crop)
        device = resolve_device(self.device)
        gen = torch.Generator().manual_seed(self.seed)
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if weights.shape[0] != x.shape[0] or not np.isfinite(weights).all() or \
                    (weights < 0).any() or weights.sum() <= 0:  # fmt: skip
                raise GanscopeError(
                    f"sample_weight must be {x.shape[0]} finite weights >= 0, not all zero"
                )
        if validation is not None:
            x_val = as_images(validation[0]).cpu()
            y_val = as_labels(validation[1], x_val.shape[0])
            if x_val.shape[1:] != x.shape[1:]:
                raise GanscopeError(
                    f"validation images are {tuple(x_val.shape[1:])}, training images "
                    f"{tuple(x.shape[1:])}: they must match"
                )
            n = x.shape[0]
            x, yy = torch.cat([x, x_val]), np.concatenate([yy, y_val])
            if weights is not None:
                weights = np.concatenate([weights, np.zeros(len(y_val))])
            train_idx, val_idx = np.arange(n), np.arange(n, n + x_val.shape[0])
        else:
            train_idx, val_idx = _stratified_split(yy, self.val_fraction, gen)
        self._input_stats(x[torch.from_numpy(train_idx)])
        self._resolve_budget(train_idx.size)
        self.history_: list[dict[str, float]] = []
        self.best_epoch_ = 0
        self.member_epochs_: list[int] = []
        self.averaged_epochs_: tuple[int, int] | None = None
        nets = []
        for m in range(self.members):  # member 0 is exactly the single network of this seed
            net = self._build_network(self.seed + m).to(device)
            if self.epochs_ > 0:
                member_gen = gen if m == 0 else torch.Generator().manual_seed(self.seed + m)
                self._train(net, x, yy, train_idx, val_idx, member_gen, device, weights, m)
            self.member_epochs_.append(self.best_epoch_)
            nets.append(net.eval())
        self.best_epoch_ = self.member_epochs_[0]
        net = nets[0] if self.members == 1 else MeanLogit(nets).eval()
        if self.epochs_ == 0:  # nothing was trained on the images: calibrate on all of them
            val_idx = np.arange(len(yy))
        self.network_ = net
        self._calibrate_on(x[torch.from_numpy(val_idx)], yy[val_idx])
        self.n_train_, self.n_val_ = int(train_idx.size), int(val_idx.size)
        self.classes_ = np.array([0, 1])
        return self

    def _resolve_budget(self, n_train: int) -> None:
        """Settle the data-size dependent defaults: ``augment_``, ``epochs_``, ``patience_``."""
        self.augment_ = resolve_augment(self.augment, n_train)
        if self.epochs is None:
            steps_per_epoch = max(1, math.ceil(n_train / self.batch_size))
            self.epochs_ = min(100, max(20, math.ceil(MIN_TRAINING_STEPS / steps_per_epoch)))
        else:
            self.epochs_ = int(self.epochs)
        self.patience_ = self.patience if self.patience is not None else max(5, self.epochs_ // 4)

    def near_chance(self) -> bool:
        """Whether the validation AP is less than :data:`NEAR_CHANCE_MARGIN` above chance."""
        check_is_fitted(self, "network_")
        ap, chance = getattr(self, "val_ap_", math.nan), getattr(self, "val_chance_", math.nan)
        return not math.isnan(ap) and ap < chance + NEAR_CHANCE_MARGIN

    def _augment_batch(self, xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        policy = self.augment_
        if policy in ("jpeg", "blur", "blur+jpeg"):
            xb = wang_augment(
                xb,
                blur_prob=self.blur_prob if policy != "jpeg" else 0.0,
                blur_sigma=tuple(self.blur_sigma),
                jpeg_prob=self.jpeg_prob if policy != "blur" else 0.0,
                jpeg_quality=tuple(self.jpeg_quality),
                generator=gen,
            )
        flip = self.flip and policy != "none"
        xb = random_crop_flip(xb, self.crop_, generator=gen, flip=flip and policy != "dihedral")
        if policy == "dihedral" and self.flip:
            xb = random_dihedral(xb, generator=gen)
        return xb

    def _train(
        self,
        net: nn.Module,
        x: torch.Tensor,
        y: np.ndarray,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        gen: torch.Generator,
        device: torch.device,
        weights: np.ndarray | None = None,
        member: int = 0,
    ) -> None:
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        yt = torch.from_numpy(y).float()
        if weights is not None:  # mean 1 over the training images: the loss keeps its scale
            if weights[train_idx].sum() <= 0:
                raise GanscopeError("sample_weight is zero for every training image")
            wt = torch.from_numpy(weights / weights[train_idx].mean()).float()
        x_val, y_val = x[torch.from_numpy(val_idx)], yt[torch.from_numpy(val_idx)]
        bn_idx = precise_bn_subset(train_idx, self.seed + 1, PRECISE_BN_IMAGES)
        x_bn = x[torch.from_numpy(bn_idx)]
        best_loss, best_state, wait = math.inf, None, 0
        swa = WeightAverage(net) if self.average_from is not None else None
        steps_per_epoch = math.ceil(train_idx.size / self.batch_size)
        total_steps, step = self.epochs_ * steps_per_epoch, 0
        what = f"training {member + 1}/{self.members}" if self.members > 1 else "training"
        with progress_bar(self.epochs_ * steps_per_epoch, what) as bar:
            for epoch in range(1, self.epochs_ + 1):
                net.train()
                order = torch.from_numpy(train_idx)[torch.randperm(train_idx.size, generator=gen)]
                total, count = 0.0, 0
                for i in range(0, order.numel(), self.batch_size):
                    idx = order[i : i + self.batch_size]
                    if idx.numel() < 2:  # BatchNorm needs two samples in training mode
                        bar.advance(1)
                        continue
                    xb = self._augment_batch(x[idx], gen)
                    logits = net(self._prepare(xb.to(device)))
                    loss = F.binary_cross_entropy_with_logits(
                        logits, yt[idx].to(device), weight=None if weights is None else
                        wt[idx].to(device)
                    )  # fmt: skip
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    for group in opt.param_groups:
                        group["lr"] = self.lr * lr_factor(self.lr_schedule, step, total_steps)
                    opt.step()
                    step += 1
                    total += loss.item() * idx.numel()
                    count += idx.numel()
                    bar.advance(1, epoch=epoch, loss=loss.item())
                record = {"epoch": epoch, "train_loss": total / max(count, 1)}
                if self.members > 1:
                    record = {"member": member, **record}
                self._precise_batchnorm(net, x_bn, device)
                if swa is not None and epoch >= self.average_from:
                    swa.add(net, epoch)
                if val_idx.size:
                    val_logits = self._logits(net, x_val, device)
                    val_loss = float(F.binary_cross_entropy_with_logits(val_logits, y_val))
                    record["val_loss"] = val_loss
                    if val_loss < best_loss - 1e-6:
                        best_loss, wait, self.best_epoch_ = val_loss, 0, epoch
                        best_state = copy.deepcopy(net.state_dict())
                    else:
                        wait += 1
                else:
                    self.best_epoch_ = epoch
                self.history_.append(record)
                if val_idx.size and wait >= self.patience_:
                    bar.advance(steps_per_epoch * (self.epochs_ - epoch))
                    break
        if swa is not None:
            if not swa.count:  # stopped before the first epoch of the mean: the last epoch
                swa.add(net, len(self.history_))
            swa.apply(net)
            self._precise_batchnorm(net, x_bn, device)
            self.averaged_epochs_ = (swa.first, swa.last)
            self.best_epoch_ = swa.last
        elif best_state is not None:
            net.load_state_dict(best_state)

    def _precise_batchnorm(
        self, net: nn.Module, x_train: torch.Tensor, device: torch.device
    ) -> None:
        # "Precise BN" (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021, sec. 3): the
        # running averages lag far behind the weights after a few hundred steps, so validation
        # (and the saved model) would use stale statistics. Recompute them as a true average
        # over the training images (centre crops, the view used for scoring).
        crop, step = (self.crop_, self.crop_), self.batch_size
        views = (
            self._prepare(center_crop(x_train[i : i + step], crop).to(device))
            for i in range(0, len(x_train), step)
        )
        precise_batchnorm(net, views)

    def calibrate_on(self, X: Any, y: Any) -> CNNDetector:
        """Calibrate a fitted detector again on held-out images ``X`` with labels ``y``, without
        touching its network: the temperature (with ``calibrate="temperature"``), the threshold
        (balanced accuracy, or ``target_fpr`` of these reals) and ``val_ece_``/``val_ap_`` are
        refitted on them, as :meth:`fit` does on its validation split.

        Use data the network never trained on and that resembles deployment better than a random
        split of the training images: e.g. crops of other regions of the photos, whose content
        the network has not seen (a random split shares it and calls too few reals fake)."""
        check_is_fitted(self, "network_")
        x = as_images(X).cpu()
        self._calibrate_on(x, as_labels(y, x.shape[0]))
        return self

    def _calibrate_on(self, x: torch.Tensor, y: np.ndarray) -> None:
        self.val_ap_, self.val_chance_, self.val_ece_ = math.nan, math.nan, math.nan
        self.temperature_, self.bias_, self.threshold_ = 1.0, 0.0, 0.5
        if not y.size:
            return
        device = next(self.network_.parameters()).device
        logits = self._logits(self.network_, x, device).double()
        if self.calibrate == "temperature":
            self.temperature_ = fit_temperature(y, logits.numpy())
        elif self.calibrate == "platt":
            self.temperature_, self.bias_ = fit_platt(y, logits.numpy())
        p = self._probability(logits)
        if self.calibrate == "threshold":
            self.threshold_ = calibrate_threshold(y, p)
        elif self.target_fpr is not None and (y == 0).any():
            self.threshold_ = fpr_threshold(p[y == 0], self.target_fpr)
        self.val_ece_ = expected_calibration_error(y, p)
        if np.unique(y).size == 2:
            self.val_ap_ = float(average_precision(y, p))
            self.val_chance_ = float(y.mean())

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(N, 2)``: P(real), P(fake), scored on the view chosen by ``eval_crop``."""
        check_is_fitted(self, "network_")
        x = as_images(X)
        device = next(self.network_.parameters()).device
        logits = self._logits(self.network_, x, device).double()
        p = self._probability(logits)
        return np.column_stack([1.0 - p, p])

    def _probability(self, logits: torch.Tensor) -> np.ndarray:
        """Calibrated P(fake) of network logits: ``sigmoid(z / T + b)``."""
        return torch.sigmoid(logits / self.temperature_ + self.bias_).numpy()

    @property
    def input_size(self) -> tuple[int, int] | None:
        check_is_fitted(self, "network_")
        return (self.crop_, self.crop_) if self.eval_crop == "center" else None

    @property
    def min_input_size(self) -> int:
        check_is_fitted(self, "network_")
        return self.crop_

    @classmethod
    def from_weights(cls, weights: str, *, crop: int = 224, **settings: Any) -> CNNDetector:
        """A ready-to-use detector from foreign weights (e.g. Wang et al.'s CNNDetection
        ``blur_jpg_prob0.5.pth``), without training: ``threshold_`` = 0.5, ``arch`` defaults to
        ``resnet50`` and ``input`` must be ``rgb`` or ``npr`` (fft/dct need training statistics).
        """
        settings.setdefault("arch", "resnet50")
        det = cls(weights=str(weights), crop=crop, epochs=0, **settings)
        det._check_settings()
        if det.input not in ("rgb", "npr"):
            raise GanscopeError("from_weights supports input rgb or npr only")
        det.crop_ = int(crop)
        det.input_mean_, det.input_std_ = torch.zeros(3), torch.ones(3)
        det.network_ = det._build_network().to(resolve_device(det.device)).eval()
        det.threshold_, det.temperature_, det.bias_, det.val_ece_ = 0.5, 1.0, 0.0, math.nan
        det.history_, det.best_epoch_, det.n_train_, det.n_val_ = [], 0, 0, 0
        det.averaged_epochs_, det.member_epochs_ = None, [0]
        det.augment_, det.epochs_, det.patience_ = "none", 0, 0
        det.val_ap_, det.val_chance_ = math.nan, math.nan
        det.classes_ = np.array([0, 1])
        return det

    # -- persistence --------------------------------------------------------------------------
    def _get_fitted_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {f"network.{k}": v for k, v in self.network_.state_dict().items()}
        tensors["input_mean"] = self.input_mean_
        tensors["input_std"] = self.input_std_
        state = {
            "threshold": self.threshold_,
            "crop": self.crop_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "member_epochs": self.member_epochs_,
            "averaged_epochs": self.averaged_epochs_,
            "n_train": self.n_train_,
            "n_val": self.n_val_,
            "augment": self.augment_,
            "epochs": self.epochs_,
            "patience": self.patience_,
            "val_ap": None if math.isnan(self.val_ap_) else self.val_ap_,
            "val_chance": None if math.isnan(self.val_chance_) else self.val_chance_,
            "temperature": self.temperature_,
            "bias": self.bias_,
            "val_ece": None if math.isnan(self.val_ece_) else self.val_ece_,
        }
        return tensors, state

    def _set_fitted_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        self._check_settings()
        nets = [create_network(self.arch, antialias=self.antialias) for _ in range(self.members)]
        net = nets[0] if self.members == 1 else MeanLogit(nets)
        net_state = {
            k[len("network.") :]: v for k, v in tensors.items() if k.startswith("network.")
        }
        net.load_state_dict(net_state, strict=True)
        self.network_ = net.to(resolve_device(self.device)).eval()
        self.input_mean_ = tensors["input_mean"].float()
        self.input_std_ = tensors["input_std"].float()
        self.threshold_ = float(state["threshold"])
        self.crop_ = int(state["crop"])
        self.history_ = list(state["history"])
        self.best_epoch_ = int(state["best_epoch"])
        self.member_epochs_ = [int(e) for e in state.get("member_epochs", [self.best_epoch_])]
        averaged = state.get("averaged_epochs")  # models before weight averaging: none
        self.averaged_epochs_ = None if averaged is None else (int(averaged[0]), int(averaged[1]))
        self.n_train_, self.n_val_ = int(state["n_train"]), int(state["n_val"])
        # models saved before issue 12 lack these
        self.augment_ = state.get("augment", "blur+jpeg")
        self.epochs_ = int(state.get("epochs", len(self.history_)))
        self.patience_ = int(state.get("patience", self.patience or 5))
        val_ap, val_chance = state.get("val_ap"), state.get("val_chance")
        self.val_ap_ = math.nan if val_ap is None else float(val_ap)
        self.val_chance_ = math.nan if val_chance is None else float(val_chance)
        self.temperature_ = float(state.get("temperature", 1.0))  # models before issue 11: 1
        self.bias_ = float(state.get("bias", 0.0))  # models before Platt scaling: 0
        val_ece = state.get("val_ece")
        self.val_ece_ = math.nan if val_ece is None else float(val_ece)
        self.classes_ = np.array([0, 1])
