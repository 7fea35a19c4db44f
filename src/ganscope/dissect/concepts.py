"""Concept labelers: functions from images to per-pixel concept masks.

A labeler has ``labels`` (concept names) and maps images ``(B, 3, H, W)`` in [0, 1] to either a
label map ``(B, H, W)`` of indices into ``labels`` (negative = no concept) or boolean masks
``(B, K, H, W)`` (concepts may overlap). :func:`concept_masks` turns either into masks.

Built in, and usable on any generator:

- :class:`ColorLabeler`: colour names per pixel, nearest prototype in CIELAB, as Broden's colour
  concepts (Bau et al., "Network Dissection", CVPR 2017).
- :class:`SpectralArtifactLabeler`: where the image has local energy at the frequencies an
  upsampling layer leaves behind (Durall et al., CVPR 2020; Odena et al., Distill 2016).
- :class:`CallableLabeler` and :class:`TorchScriptLabeler`: any user segmenter (TorchScript is
  code, so :func:`load_labeler` loads it only when trusted), and a segmenter folder of weights
  (safetensors) plus settings for a known architecture, safe to take from anyone.
- the scene segmenter, :func:`ganscope.dissect.segmenter.scene_labeler`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganscope.errors import GanscopeError, UntrustedCodeError

__all__ = [
    "COLOR_NAMES",
    "CallableLabeler",
    "ColorLabeler",
    "ConceptLabeler",
    "SpectralArtifactLabeler",
    "TorchScriptLabeler",
    "UntrustedCodeError",
    "concept_masks",
    "load_labeler",
    "rgb_to_lab",
    "upsampling_frequencies",
]


@runtime_checkable
class ConceptLabeler(Protocol):
    """What dissection needs from a segmenter."""

    labels: Sequence[str]

    def __call__(self, images: Tensor) -> Tensor:
        """``(B, 3, H, W)`` in [0, 1] → ``(B, H, W)`` int labels or ``(B, K, H, W)`` bool masks."""
        ...


def concept_masks(labeler: ConceptLabeler, images: Tensor) -> Tensor:
    """Run ``labeler`` and return boolean masks ``(B, K, H', W')``, ``K = len(labeler.labels)``."""
    out = labeler(images)
    k = len(labeler.labels)
    if out.dim() == 3:
        lab = out.long()
        masks = lab[:, None] == torch.arange(k, device=lab.device)[None, :, None, None]
    elif out.dim() == 4 and out.shape[1] == k:
        masks = out.bool()
    else:
        raise GanscopeError(
            f"a labeler must return (B, H, W) labels or (B, {k}, H, W) masks, "
            f"got {tuple(out.shape)}"
        )
    if masks.shape[0] != images.shape[0]:
        raise GanscopeError("the labeler returned a different batch size")
    return masks


class CallableLabeler:
    """Wrap a function ``images -> label map or masks`` and its concept names.

    Example:
        >>> red = CallableLabeler(lambda x: (x[:, 0] > 0.5) & (x[:, 1] < 0.5), ["red"])
        >>> concept_masks(red, torch.ones(1, 3, 2, 2)).shape
        torch.Size([1, 1, 2, 2])
    """

    def __init__(self, fn: Callable[[Tensor], Tensor], labels: Sequence[str]) -> None:
        self.fn = fn
        self.labels = list(labels)

    def __call__(self, images: Tensor) -> Tensor:
        out = self.fn(images)
        if out.dim() == 3 and out.dtype == torch.bool and len(self.labels) == 1:
            return out[:, None]
        return out


class TorchScriptLabeler:
    """A user segmenter saved with ``torch.jit.save``: images in [0, 1] → logits ``(B, K, H, W)``
    (argmax is taken) or a label map ``(B, H, W)``.

    TorchScript archives are not unpickled as arbitrary Python objects, but they are code: the
    scripted ``forward`` can call any TorchScript operator (write files, loop forever). Only load
    files you trust; :func:`load_labeler` refuses them without ``trust_code=True``.
    """

    def __init__(
        self, path: str | Path, labels: Sequence[str], *, device: str | torch.device = "cpu"
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise GanscopeError(f"segmenter file not found: {path}")
        try:
            self.model = torch.jit.load(str(path), map_location=device).eval()
        except (RuntimeError, ValueError) as err:
            raise GanscopeError(
                f"{path} is not a TorchScript file: {str(err).splitlines()[0]}"
            ) from None
        self.labels = list(labels)

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        out = self.model(images)
        if out.dim() == 4 and out.is_floating_point():
            return out.argmax(1)
        return out


# --- colours ------------------------------------------------------------------------------------

#: Broden's eleven colour names with a prototype sRGB colour (0-255) each.
COLOR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (15, 15, 15),
    "blue": (35, 75, 200),
    "brown": (125, 80, 40),
    "green": (50, 150, 50),
    "grey": (128, 128, 128),
    "orange": (240, 140, 25),
    "pink": (240, 150, 190),
    "purple": (120, 45, 150),
    "red": (200, 30, 30),
    "white": (245, 245, 245),
    "yellow": (240, 220, 35),
}


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB ``(..., 3, H, W)`` in [0, 1] → CIELAB (D65), ``L`` in [0, 100].

    The sRGB transfer curve is IEC 61966-2-1; XYZ → Lab follows CIE 15 (``δ = 6/29``).
    """
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0) + 0.055) / 1.055) ** 2.4)
    m = torch.tensor(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ],
        dtype=rgb.dtype,
        device=rgb.device,
    )
    xyz = torch.einsum("ij,...jhw->...ihw", m, lin)
    white = torch.tensor([0.95047, 1.0, 1.08883], dtype=rgb.dtype, device=rgb.device)[:, None, None]
    t = xyz / white
    d = 6 / 29
    f = torch.where(t > d**3, t.clamp(min=1e-12) ** (1 / 3), t / (3 * d * d) + 4 / 29)
    fx, fy, fz = f.unbind(-3)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


class ColorLabeler:
    """Per-pixel colour names: the nearest of :data:`COLOR_NAMES` in CIELAB (ΔE 1976).

    Example:
        >>> lab = ColorLabeler()
        >>> img = torch.tensor([0.8, 0.1, 0.1])[None, :, None, None].expand(1, 3, 2, 2)
        >>> lab.labels[int(lab(img)[0, 0, 0])]
        'red'
    """

    def __init__(self, colors: dict[str, tuple[int, int, int]] | None = None) -> None:
        colors = COLOR_NAMES if colors is None else colors
        self.labels = list(colors)
        proto = torch.tensor(list(colors.values()), dtype=torch.float32) / 255.0
        self._proto_lab = rgb_to_lab(proto[:, :, None, None])[:, :, 0, 0]  # (K, 3)

    def __call__(self, images: Tensor) -> Tensor:
        lab = rgb_to_lab(images.float())  # (B, 3, H, W)
        proto = self._proto_lab.to(lab.device)
        d = ((lab[:, None] - proto[None, :, :, None, None]) ** 2).sum(2)  # (B, K, H, W)
        return d.argmin(1)


# --- spectral artifacts --------------------------------------------------------------------------


def upsampling_frequencies(factor: int = 2) -> list[tuple[float, float]]:
    """Spatial frequencies ``(f_y, f_x)`` in cycles/pixel where a ×``factor`` upsampler (zero
    insertion followed by a finite filter, as in transposed convolution) leaves spectral replicas:
    multiples of ``1 / factor`` other than DC, one of each ± pair (Odena et al. 2016;
    Durall et al. 2020, sec. 3)."""
    out = []
    for a in range(factor):
        for b in range(factor):
            fy, fx = a / factor, b / factor
            fy, fx = (fy - 1 if fy > 0.5 else fy), (fx - 1 if fx > 0.5 else fx)
            if (fy, fx) == (0, 0):
                continue
            if (-fy % 1, -fx % 1) in {(p % 1, q % 1) for p, q in out}:
                continue
            out.append((fy, fx))
    return out


class SpectralArtifactLabeler:
    """Where an image carries energy at upsampling frequencies: a one-concept mask ``"artifact"``.

    For each frequency ``f`` the grayscale image is demodulated, ``d(p) = g(p) e^{-2πi f·p}``, and
    low-passed with a box of ``window`` pixels applied twice (the window is a multiple of the
    upsampling period, so smooth image content, shifted to ``-f``, falls on double zeros of the
    filter: constants and linear ramps leave no trace). ``|LP(d)|²`` is the local energy at ``f``;
    summed over frequencies it is thresholded into the mask.

    Args:
        factor: upsampling factor whose frequencies are probed (see :func:`upsampling_frequencies`).
        window: box size in pixels (default ``2 * factor``).
        threshold: local energy above which a pixel is an artifact; ``0.02 ** 2`` is a checkerboard
            of amplitude 0.02 (about 5 grey levels).
    """

    labels = ("artifact",)

    def __init__(
        self, *, factor: int = 2, window: int | None = None, threshold: float = 0.02**2
    ) -> None:
        self.factor = factor
        self.window = window or 2 * factor
        self.threshold = threshold
        self.frequencies = upsampling_frequencies(factor)

    def energy(self, images: Tensor) -> Tensor:
        """Local energy at the upsampling frequencies ``(B, H, W)``."""
        g = 0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]  # ITU-R 601 luma
        k = self.window
        lo, hi = 2 * (k // 2), 2 * ((k - 1) // 2)
        # Pad the image (not the demodulated signal: replicating that would fake a checkerboard
        # at the border), then demodulate on the padded grid and filter without padding.
        g = F.pad(g[:, None], (lo, hi, lo, hi), mode="replicate")[:, 0]
        h, w = g.shape[-2:]
        yy = torch.arange(h, dtype=g.dtype, device=g.device)[:, None] - lo
        xx = torch.arange(w, dtype=g.dtype, device=g.device)[None, :] - lo
        total = g.new_zeros(g.shape[0], h - lo - hi, w - lo - hi)
        for fy, fx in self.frequencies:
            phase = 2 * math.pi * (fy * yy + fx * xx)
            both = torch.stack([g * torch.cos(phase), -g * torch.sin(phase)], 1)  # (B, 2, h, w)
            # Box twice: a triangle window, blind to linear ramps as well as constants.
            lp = F.avg_pool2d(F.avg_pool2d(both, k, 1), k, 1)
            # A real cosine at f has half its amplitude at each of ±f; Nyquist frequencies are
            # their own mirror and carry it all.
            real = all(abs(v) in (0.0, 0.5) for v in (fy, fx))
            total = total + (1.0 if real else 4.0) * (lp**2).sum(1)
        return total

    def spectral_excess(self, images: Tensor) -> Tensor:
        """Mean local energy at the upsampling frequencies per image ``(B,)``."""
        return self.energy(images).mean((-2, -1))

    def __call__(self, images: Tensor) -> Tensor:
        return (self.energy(images.float()) > self.threshold)[:, None]


def _inside(base: Path, name: object, key: str, spec: Path) -> Path:
    """``base / name``, refused unless it stays inside ``base`` (symlinks resolved)."""
    if not isinstance(name, str) or not name:
        raise GanscopeError(f"{spec}: '{key}' must be a file name relative to the JSON file")
    target = (base / name).resolve()
    if not target.is_relative_to(base.resolve()):
        raise GanscopeError(
            f"{spec}: '{key}' ({name}) points outside the JSON file's folder; "
            "only files inside that folder are read"
        )
    return target


def _segmenter_folder(folder: Path, labels: object, device: str | torch.device) -> ConceptLabeler:
    """A segmenter stored as weights and settings, not code: ``model.safetensors`` +
    ``config.json`` of a known architecture, exactly as ganscope ships its scene segmenter."""
    from ganscope.checkpoint import load_config
    from ganscope.dissect.segmenter import scene_labeler

    config = load_config(folder)
    if config.get("class") != "UNet":
        raise GanscopeError(
            f"{folder}: unknown segmenter architecture {config.get('class')!r}; known: UNet "
            "(ganscope.dissect.segmenter; weights in model.safetensors, settings in config.json)"
        )
    labeler = scene_labeler(folder, device=device)
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise GanscopeError(f"{folder}: 'labels' must be a list of names")
        if len(labels) != labeler.net.n_classes:
            raise GanscopeError(
                f"{folder}: {len(labels)} labels for a segmenter with "
                f"{labeler.net.n_classes} classes"
            )
        labeler.labels = list(labels)
    return labeler


def load_labeler(
    spec: str, *, device: str | torch.device = "cpu", trust_code: bool = False
) -> ConceptLabeler:
    """The labeler named by ``--concepts``.

    - ``scenes``, ``colors``, ``artifacts``: built in.
    - a segmenter folder (``model.safetensors`` + ``config.json`` with ``"class": "UNet"``,
      ``"settings"`` and ``"labels"``, as :func:`ganscope.dissect.segmenter.save_segmenter`
      writes it): weights only, safe to load from anyone.
    - a JSON file ``{"segmenter": "FOLDER", "labels": [...]}`` (such a folder, with other label
      names), or ``{"torchscript": "seg.pt", "labels": [...]}``.

    **TorchScript is code**: a scripted module runs whatever its author wrote (it can write files
    or loop forever) when it is loaded and called. It is refused unless ``trust_code=True``
    (``--trust-code``). Paths in the JSON are resolved inside the JSON file's folder only.

    Raises:
        UntrustedCodeError: a TorchScript segmenter without ``trust_code``.
        GanscopeError: anything else that cannot be loaded.
    """
    if spec == "colors":
        return ColorLabeler()
    if spec == "artifacts":
        return SpectralArtifactLabeler()
    if spec == "scenes":
        from ganscope.dissect.segmenter import scene_labeler

        return scene_labeler(device=device)
    path = Path(spec)
    if path.is_dir():
        return _segmenter_folder(path, None, device)
    if not path.is_file():
        raise GanscopeError(
            f"--concepts must be scenes, colors, artifacts, a segmenter folder or a JSON file "
            f"describing a segmenter; {spec!r} is none of these"
        )
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise TypeError
        labels = info["labels"]
        kind = next(k for k in ("segmenter", "torchscript") if k in info)
    except (json.JSONDecodeError, KeyError, TypeError, StopIteration, UnicodeDecodeError) as err:
        raise GanscopeError(
            f"{path}: expected JSON with 'segmenter' (a model folder) or 'torchscript', and "
            f"'labels' ({type(err).__name__})"
        ) from None
    target = _inside(path.parent, info[kind], kind, path)
    if kind == "segmenter":
        if not target.is_dir():
            raise GanscopeError(f"{path}: segmenter folder not found: {target}")
        return _segmenter_folder(target, labels, device)
    if not trust_code:
        raise UntrustedCodeError(
            f"{path} names a TorchScript segmenter, which is code that runs on this machine; "
            "refused without --trust-code (or give a segmenter folder: model.safetensors + "
            "config.json)"
        )
    return TorchScriptLabeler(target, labels, device=device)
