"""The shift-equivariance testbed (Zhang, ICML 2019, sec. 4 and Fig. 5).

For an input ``x`` and every shift ``(dh, dw)``, each layer ``F`` is tested for
``F(Shift_{dh,dw}(x)) == Shift_{dh/s, dw/s}(F(x))``, where ``s`` is the layer's cumulative stride
(input side / feature side). Shifts are circular and the network is evaluated with circular
padding (Zhang's testbed), so a stack of stride-1 convolutions is exactly equivariant and every
deviation comes from subsampling. Where ``dh/s`` is not an integer, the feature map is shifted by
the fraction with the Fourier shift theorem (a band-limited, circular interpolation); for an
integer it is a plain ``torch.roll``. Layers without spatial extent (a global pool, a classifier)
are tested for invariance: ``F(Shift(x)) == F(x)``.

The deviation is the normalized distance ``|a - b| / (|a| + |b|)`` between the two feature maps of
an image, flattened (:func:`normalized_distance`), averaged over the images: 0 is perfect
equivariance, 1 the most, whatever the scale of the layer. A baseline network's heatmap over
``(dh, dw)`` shows Zhang's checkerboards: after a pool of cumulative stride ``s`` only shifts that
are multiples of ``s`` stay (nearly) equivariant.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganscope.errors import GanscopeError
from ganscope.layers import BlurPool2d
from ganscope.progress import progress_bar

__all__ = [
    "ShiftEquivariance",
    "circular_padding",
    "default_layers",
    "fourier_shift",
    "plot_equivariance_heatmaps",
    "plot_equivariance_profile",
    "shift_equivariance",
]

INPUT = "pixels"
"""Name of the input row (the image itself, trivially equivariant), as in Zhang's figures."""
OUTPUT = "output"
"""Name of the model's output row."""


class _CircularBlurPool2d(BlurPool2d):
    """:class:`BlurPool2d` with circular padding, for the testbed only."""

    def forward(self, x: Tensor) -> Tensor:
        if self.filt_size == 1 and self.pad_off == 0:
            return x[:, :, :: self.stride, :: self.stride]
        x = F.pad(x, self.pads, mode="circular")
        return F.conv2d(x, self.filt.to(x.dtype), stride=self.stride, groups=x.shape[1])


class _CircularPadded(nn.Module):
    """A pooling layer whose own padding is replaced by circular padding."""

    def __init__(self, pool: nn.Module, pads: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.pads = pads  # left, right, top, bottom
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(F.pad(x, self.pads, mode="circular"))


def circular_padding(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in which every padding is circular (Zhang's testbed).

    Convs get ``padding_mode="circular"``; :class:`~ganscope.layers.BlurPool2d` and padding layers
    (``ReflectionPad2d``, ``ReplicationPad2d``, ``ZeroPad2d``, as in ``antialiased_cnns``' BlurPool)
    pad circularly; max/avg pools with padding are preceded by circular padding instead. Module
    names are kept, so layers can be named as in ``model``. Idempotent: a model that already pads
    circularly (the built-in benchmark trains such networks) comes back unchanged in function.
    """
    if isinstance(model, torch.jit.ScriptModule):
        return model  # frozen: tested with its own padding
    model = copy.deepcopy(model)
    pad_layers = (nn.ReflectionPad2d, nn.ReplicationPad2d, nn.ZeroPad2d, nn.ConstantPad2d)
    for parent in list(model.modules()):
        if isinstance(parent, _CircularPadded):
            continue  # its pool already pads circularly
        for key, child in list(parent._modules.items()):
            if child is None:
                continue
            if isinstance(child, nn.Conv2d) and any(child._reversed_padding_repeated_twice):
                # Conv2d pads with F.pad(mode=padding_mode) by these amounts for any mode but
                # "zeros" (padding given as numbers or "same").
                child.padding_mode = "circular"
            elif isinstance(child, BlurPool2d) and not isinstance(child, _CircularBlurPool2d):
                new = _CircularBlurPool2d(
                    child.channels, child.filt_size, child.stride, child.pad_type, child.pad_off
                )
                new.filt = child.filt
                parent._modules[key] = new
            elif isinstance(child, pad_layers):
                parent._modules[key] = nn.CircularPad2d(tuple(child.padding))
            elif isinstance(child, nn.MaxPool2d | nn.AvgPool2d):
                ph, pw = _as_pair(child.padding)
                kh, kw = _as_pair(child.kernel_size)
                if _as_pair(child.stride) == (1, 1) and (ph, pw) == (0, 0):
                    # A dense max without padding (Zhang's Max(k=2, stride 1)) shrinks the map
                    # by k - 1; wrapping around keeps its size, so it is exactly equivariant.
                    pads = (0, kw - 1, 0, kh - 1)
                else:
                    pads = (pw, pw, ph, ph)
                if any(pads):
                    pool = copy.copy(child)
                    pool.padding = 0
                    parent._modules[key] = _CircularPadded(pool, pads)
    return model


def _as_pair(v: Any) -> tuple[int, int]:
    if isinstance(v, str):
        return (0, 0)
    if isinstance(v, int):
        return (v, v)
    return (int(v[0]), int(v[-1]))


def fourier_shift(x: Tensor, dh: float, dw: float) -> Tensor:
    """Circularly shift ``x (..., H, W)`` by ``(dh, dw)`` pixels, fractions allowed.

    Integer shifts are ``torch.roll`` (exact); fractional ones multiply the 2D DFT by the phase
    ramp ``exp(-2 pi i (k dh / H + l dw / W))`` (shift theorem) and keep the real part.

    Example:
        >>> fourier_shift(torch.arange(4.0).view(1, 4), 0, 1)
        tensor([[3., 0., 1., 2.]])
    """
    if float(dh).is_integer() and float(dw).is_integer():
        return torch.roll(x, shifts=(int(dh), int(dw)), dims=(-2, -1))
    return _shift_spectrum(torch.fft.fft2(x.to(torch.float64)), dh, dw).to(x.dtype)


def _shift_spectrum(spec: Tensor, dh: float, dw: float) -> Tensor:
    """The real signal whose 2D DFT is ``spec`` shifted by ``(dh, dw)`` (shift theorem)."""
    H, W = spec.shape[-2:]
    real = torch.float64 if spec.dtype == torch.complex128 else torch.float32
    kh = torch.fft.fftfreq(H, device=spec.device, dtype=torch.float64)[:, None]
    kw = torch.fft.fftfreq(W, device=spec.device, dtype=torch.float64)[None, :]
    phase = torch.exp(-2j * math.pi * (kh * dh + kw * dw)).to(spec.dtype)
    return torch.fft.ifft2(spec * phase).real.to(real)


def default_layers(model: nn.Module) -> list[str]:
    """The model's children, with ``nn.Sequential`` containers opened (recursively); custom blocks
    (a ResNet's ``BasicBlock``) are kept whole. ``torchvision``'s ResNet gives ``conv1, bn1, relu,
    maxpool, layer1.0, layer1.1, ..., avgpool, fc``."""
    names: list[str] = []

    def walk(m: nn.Module, prefix: str) -> None:
        for key, child in m.named_children():
            name = f"{prefix}{key}"
            if type(child) is nn.Sequential and len(child) > 0:
                walk(child, name + ".")
            else:
                names.append(name)

    walk(model, "")
    return names


@dataclass
class ShiftEquivariance:
    """Deviation from shift-equivariance per layer and shift.

    Attributes:
        layers: layer names, ``"pixels"`` first and ``"output"`` last.
        strides: cumulative stride ``(sh, sw)`` of each layer; ``(0, 0)`` for a layer without
            spatial extent (tested for invariance).
        shifts: the input shifts ``(dh, dw)``.
        deviation: ``(layers, shifts)`` mean :func:`normalized_distance` over the images.
        image_size: ``(H, W)`` of the input.
        n_images: images averaged.
    """

    layers: list[str]
    strides: list[tuple[float, float]]
    shifts: list[tuple[int, int]]
    deviation: np.ndarray
    image_size: tuple[int, int]
    n_images: int
    extra: dict[str, Any] = field(default_factory=dict)

    def mean(self) -> dict[str, float]:
        """Mean deviation of each layer over all shifts."""
        return {n: float(v) for n, v in zip(self.layers, self.deviation.mean(axis=1), strict=True)}

    def grid(self, layer: str) -> np.ndarray | None:
        """The deviation of ``layer`` as a ``(n_dh, n_dw)`` heatmap when the shifts form a full
        grid (as with the default shifts), else ``None``."""
        dhs = sorted({s[0] for s in self.shifts})
        dws = sorted({s[1] for s in self.shifts})
        if len(dhs) * len(dws) != len(self.shifts):
            return None
        pos = {s: i for i, s in enumerate(self.shifts)}
        row = self.deviation[self.layers.index(layer)]
        out = np.full((len(dhs), len(dws)), np.nan)
        for i, dh in enumerate(dhs):
            for j, dw in enumerate(dws):
                if (dh, dw) not in pos:
                    return None
                out[i, j] = row[pos[(dh, dw)]]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: layer means, strides and the per-shift deviations."""
        return {
            "layers": self.layers,
            "strides": [list(s) for s in self.strides],
            "mean_deviation": self.mean(),
            "shifts": [list(s) for s in self.shifts],
            "deviation": self.deviation.round(6).tolist(),
            "image_size": list(self.image_size),
            "n_images": self.n_images,
            "metric": "|a - b| / (|a| + |b|), a = F(shift(x)), b = shift(F(x)), per image",
        }


def _feature(out: Any) -> Tensor | None:
    if isinstance(out, Tensor):
        return out
    if isinstance(out, tuple | list):
        for item in out:
            if isinstance(item, Tensor):
                return item
    return None


def normalized_distance(a: Tensor, b: Tensor) -> Tensor:
    """Per image, ``|a - b| / (|a| + |b|)`` over the flattened maps: 0 when equal, 1 at most
    (opposite), scale-free, and defined for one-number outputs too (a detector's logit)."""
    a = a.reshape(a.shape[0], -1).double()
    b = b.reshape(b.shape[0], -1).double()
    den = a.norm(dim=1) + b.norm(dim=1)
    # Two all-zero maps (a dead ReLU layer) agree perfectly.
    return torch.where(den > 0, (a - b).norm(dim=1) / den.clamp_min(1e-300), torch.zeros_like(den))


@torch.no_grad()
def shift_equivariance(
    model: nn.Module | Callable[[Tensor], Any],
    x: Tensor,
    layers: Sequence[str] | None = None,
    shifts: Sequence[tuple[int, int]] | None = None,
    *,
    max_shift: int | None = None,
    circular: bool = True,
    batch_size: int = 64,
) -> ShiftEquivariance:
    """Measure, per named layer, how far ``F(shift(x))`` is from ``shift(F(x))`` (Zhang 2019).

    Args:
        model: an ``nn.Module`` (evaluated in eval mode on a copy) or a TorchScript module.
        x: images ``(B, C, H, W)``.
        layers: layer names (``model.named_modules()``); default :func:`default_layers`. The
            rows ``"pixels"`` (the input) and ``"output"`` are always added.
        shifts: input shifts ``(dh, dw)`` in pixels; default the full grid
            ``range(max_shift) x range(max_shift)``.
        max_shift: side of the default grid; default ``min(H, W)`` (every circular shift).
        circular: evaluate a copy with circular padding (:func:`circular_padding`), as in Zhang's
            testbed. With ``False`` borders add their own deviation.
        batch_size: images per forward pass (shifted copies are batched together).

    Returns:
        A :class:`ShiftEquivariance`.

    Raises:
        GanscopeError: ``x`` not 4-D, an unknown layer, a layer that is never called.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2))
        >>> r = shift_equivariance(net, torch.rand(2, 3, 8, 8), max_shift=4)
        >>> r.layers
        ['pixels', '0', '1', 'output']
    """
    if x.ndim != 4:
        raise GanscopeError(f"shift_equivariance expects images (B, C, H, W), got {tuple(x.shape)}")
    if not isinstance(model, nn.Module):
        raise GanscopeError("shift_equivariance needs an nn.Module (or a TorchScript module)")
    H, W = x.shape[-2:]
    if shifts is None:
        m = max_shift if max_shift is not None else min(H, W)
        if m < 1:
            raise GanscopeError(f"max_shift must be at least 1, not {m}")
        shifts = [(dh, dw) for dh in range(m) for dw in range(m)]
    shifts = [(int(a), int(b)) for a, b in shifts]
    net = circular_padding(model) if circular else model
    was_training = net.training
    net.eval()
    modules = dict(net.named_modules())
    names = list(layers) if layers is not None else default_layers(net)
    unknown = [n for n in names if n not in modules or not n]
    if unknown:
        raise GanscopeError(
            f"no layer named {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(default_layers(net))}"
        )
    store: dict[str, Tensor] = {}

    order: list[str] = []  # layers in the order forward calls them

    def make(name: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            t = _feature(out)
            if t is not None:
                store[name] = t.clone()
                if name not in order:
                    order.append(name)

        return hook

    def run(batch: Tensor) -> dict[str, Tensor]:
        store.clear()
        out = _feature(net(batch))
        if out is None:
            raise GanscopeError("the model's output is not a tensor")
        feats = {INPUT: batch, **{n: store[n] for n in names if n in store}, OUTPUT: out}
        missing = [n for n in names if n not in store]
        if missing:
            raise GanscopeError(f"layers never called in forward: {', '.join(missing)}")
        return feats

    handles = [modules[n].register_forward_hook(make(n)) for n in names]
    try:
        run(x[:1])
        rows = [INPUT, *order, OUTPUT]  # call order, not registration order
        total = np.zeros((len(rows), len(shifts)))
        strides: dict[str, tuple[float, float]] = {}
        with progress_bar(len(shifts) * math.ceil(x.shape[0] / batch_size), "equivariance") as bar:
            for i0 in range(0, x.shape[0], batch_size):
                xb = x[i0 : i0 + batch_size]
                per_pass = max(1, batch_size // xb.shape[0])  # shifted copies per forward pass
                ref = run(xb)
                spectra: dict[str, Tensor] = {}
                for name in rows:
                    f = ref[name]
                    if f.dim() == 4 and f.shape[-1] * f.shape[-2] > 1:
                        strides[name] = (H / f.shape[-2], W / f.shape[-1])
                    else:
                        strides[name] = (0.0, 0.0)
                for s0 in range(0, len(shifts), per_pass):
                    chunk = shifts[s0 : s0 + per_pass]
                    shifted = torch.cat([torch.roll(xb, sh, dims=(-2, -1)) for sh in chunk])
                    feats = run(shifted)
                    n = xb.shape[0]
                    for r, name in enumerate(rows):
                        sh_, sw_ = strides[name]
                        for k, (dh, dw) in enumerate(chunk):
                            got = feats[name][k * n : (k + 1) * n]
                            want = ref[name]
                            if sh_ > 0 and not (
                                (dh / sh_).is_integer() and (dw / sw_).is_integer()
                            ):
                                # the DFT of the reference is taken once per layer
                                if name not in spectra:
                                    spectra[name] = torch.fft.fft2(want)
                                want = _shift_spectrum(spectra[name], dh / sh_, dw / sw_)
                            elif sh_ > 0:
                                want = torch.roll(want, (int(dh / sh_), int(dw / sw_)), (-2, -1))
                            total[r, s0 + k] += float(normalized_distance(got, want).sum())
                    bar.advance(len(chunk))
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    return ShiftEquivariance(
        layers=rows,
        strides=[strides[n] for n in rows],
        shifts=shifts,
        deviation=total / x.shape[0],
        image_size=(int(H), int(W)),
        n_images=int(x.shape[0]),
    )


def plot_equivariance_heatmaps(
    results: Mapping[str, ShiftEquivariance],
    path: str | Path,
    *,
    layers: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Zhang's per-layer heatmaps: one row per model, one panel per layer, each showing the
    deviation over the shift grid ``(dh, dw)`` on one shared colour scale (dark = equivariant).

    Args:
        results: model label → result (all with full-grid shifts).
        path: output ``.png`` (written atomically).
        layers: layers to show (default: those of the first result present in all).
        title: figure title.
    """
    from matplotlib.figure import Figure

    from ganscope.report.spectra import save_figure

    if not results:
        raise GanscopeError("nothing to plot")
    first = next(iter(results.values()))
    show = (
        list(layers)
        if layers is not None
        else [n for n in first.layers if all(n in r.layers for r in results.values())]
    )
    grids = {(label, n): r.grid(n) for label, r in results.items() for n in show if n in r.layers}
    if any(g is None for g in grids.values()):
        raise GanscopeError("heatmaps need shifts on a full (dh, dw) grid")
    vmax = max(float(np.nanmax(g)) for g in grids.values()) or 1.0
    fig = Figure(figsize=(1.45 * len(show) + 1.2, 1.65 * len(results) + 0.8), layout="constrained")
    axes = fig.subplots(len(results), len(show), squeeze=False)
    im = None
    for i, label in enumerate(results):
        for j, n in enumerate(show):
            ax = axes[i][j]
            g = grids.get((label, n))
            ax.set_xticks([])
            ax.set_yticks([])
            if g is None:
                ax.set_axis_off()
                continue
            im = ax.imshow(g, cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
            if i == 0:
                ax.set_title(n, fontsize=8)
            if j == 0:
                ax.set_ylabel(label, fontsize=9)
            ax.set_xlabel(f"{results[label].mean()[n]:.3f}", fontsize=7)
    if im is not None:
        cb = fig.colorbar(im, ax=axes, shrink=0.8, pad=0.01)
        cb.set_label("|a - b| / (|a| + |b|)", fontsize=8)
    fig.suptitle(
        title or "Deviation from shift-equivariance per layer (axes: shift Δh, Δw; below: mean)",
        fontsize=9,
    )
    return save_figure(fig, path)


def plot_equivariance_profile(
    results: Mapping[str, ShiftEquivariance],
    path: str | Path,
    *,
    layers: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Mean deviation per layer over all shifts, one line per model: where equivariance is lost."""
    from matplotlib.figure import Figure

    from ganscope.report.spectra import save_figure

    if not results:
        raise GanscopeError("nothing to plot")
    first = next(iter(results.values()))
    show = (
        list(layers)
        if layers is not None
        else [n for n in first.layers if all(n in r.layers for r in results.values())]
    )
    fig = Figure(figsize=(max(5.0, 0.55 * len(show) + 2), 3.2), layout="constrained")
    ax = fig.subplots()
    for label, r in results.items():
        means = r.mean()
        ax.plot(range(len(show)), [means.get(n, np.nan) for n in show], marker="o", label=label)
    ax.set_xticks(range(len(show)), show, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("mean normalized distance")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Deviation from shift-equivariance, per layer", fontsize=9)
    return save_figure(fig, path)
