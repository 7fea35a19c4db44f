"""``ganscope antialias report``: the testbed's figures and numbers for one model on a folder.

The model is a ganscope detector folder (``model.safetensors`` + ``config.json``), ``default``
(the shipped detector), or a TorchScript file (``.pt``/``.ts``, only with ``trust_code``: it is
code; its internal layers cannot be hooked, so only the input and output rows of the testbed are
measured). Images are read with
:mod:`ganscope.io` (bad files are listed, never fatal) and centre-cropped to a common size.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganscope import __version__
from ganscope.antialias.benchmark import shift_profile
from ganscope.antialias.consistency import consistency, resize_consistency, score_images
from ganscope.antialias.equivariance import (
    default_layers,
    plot_equivariance_heatmaps,
    plot_equivariance_profile,
    shift_equivariance,
)
from ganscope.errors import GanscopeError
from ganscope.io import list_images
from ganscope.io.locks import locks_output
from ganscope.io.writers import write_json

__all__ = ["DetectorNetwork", "ReportSettings", "antialias_report", "load_model", "report_summary"]

TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".torchscript")


class DetectorNetwork(nn.Module):
    """A CNN detector as one module: its input transform (``input``), then its network
    (``network``), so the testbed sees every layer, the transform included (NPR residuals and
    spectra are not shift-equivariant by themselves)."""

    def __init__(self, detector: Any) -> None:
        super().__init__()
        from ganscope.detectors.cnn import cnn_input

        self.kind = detector.input
        self.register_buffer("mean", detector.input_mean_.float().reshape(-1, 1, 1).clone())
        self.register_buffer("std", detector.input_std_.float().reshape(-1, 1, 1).clone())
        self._cnn_input = cnn_input
        self.input = nn.Identity()
        self.network = detector.network_

    def forward(self, x: Tensor) -> Tensor:
        z = self._cnn_input(x, self.kind)
        if self.kind in ("fft", "dct"):
            z = (z - self.mean.to(z.dtype)) / self.std.to(z.dtype)
        return self.network(self.input(z))  # (B,) logit of fake


def load_model(
    spec: str | Path, *, trust_code: bool = False
) -> tuple[Any, nn.Module, list[str], int | None]:
    """Load ``spec`` for the report: ``(scorer, module for the testbed, layers, input side)``.

    ``scorer`` is what :func:`~ganscope.antialias.consistency.score_images` accepts (the detector
    itself, with its threshold); ``input side`` is the crop a detector scores (``None``: any).
    A TorchScript file is code that runs with the user's permissions: it is refused unless
    ``trust_code`` (``--trust-code``), as everywhere in ganscope.
    """
    spec_s = str(spec)
    if spec_s == "default":
        from ganscope.detectors import default_model_path

        spec = default_model_path()
    path = Path(spec)
    if path.is_dir():
        from ganscope.detectors import load_detector

        det = load_detector(path, device="cpu")
        if not isinstance(getattr(det, "network_", None), nn.Module):
            raise GanscopeError(
                f"{path} is a {type(det).__name__} detector without a network; the testbed "
                "needs a CNN detector or a TorchScript module"
            )
        module = DetectorNetwork(det).eval()
        layers = ["input"] + [f"network.{n}" for n in default_layers(det.network_)]
        side = det.input_size[0] if det.input_size is not None else None
        return det, module, layers, side
    if path.is_file() and path.suffix.lower() in TORCHSCRIPT_SUFFIXES:
        if not trust_code:
            raise GanscopeError(
                f"{path} is a TorchScript file, which is code that runs on this machine; "
                "refused without --trust-code (or give a ganscope detector folder)"
            )
        try:
            with warnings.catch_warnings():  # deprecated in favour of torch.export; still works
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
        except Exception as err:  # torch raises RuntimeError/ValueError on non-TorchScript files
            raise GanscopeError(f"{path} is not a TorchScript module ({err})") from err
        return module.eval(), module, [], None
    if not path.exists():
        raise GanscopeError(f"model not found: {path}")
    raise GanscopeError(
        f"{path}: expected a ganscope detector folder, 'default', or a TorchScript file "
        f"({', '.join(TORCHSCRIPT_SUFFIXES)})"
    )


def _center(x: Tensor, side: int) -> Tensor:
    top, left = (x.shape[-2] - side) // 2, (x.shape[-1] - side) // 2
    return x[..., top : top + side, left : left + side]


@dataclass(frozen=True)
class ReportSettings:
    """Settings of :func:`antialias_report` (``ganscope antialias report``), checked when made.

    Attributes:
        max_shift: largest shift of the consistency test, in px.
        max_images: images used at most (the first, in sorted order).
        grid: testbed shift grid side (grid x grid shifts, at most the image side).
        equivariance_images: images of the per-layer testbed.
        seed: seed of the random shifts.
        trust_code: allow a TorchScript model (it is code).
    """

    max_shift: int = 8
    max_images: int = 256
    grid: int = 32
    equivariance_images: int = 8
    seed: int = 0
    trust_code: bool = False

    def __post_init__(self) -> None:
        for name in ("max_shift", "max_images", "grid", "equivariance_images"):
            if getattr(self, name) < 1:
                option = "--" + name.replace("_", "-")
                raise GanscopeError(f"{option} must be at least 1, not {getattr(self, name)}")


@locks_output
def antialias_report(
    model: str | Path,
    images: str | Path,
    out: str | Path,
    settings: ReportSettings | None = None,
) -> dict[str, Any]:
    """Measure one model on a folder of images and write the testbed's outputs to ``out``.

    Writes ``results.json`` (consistency under shifts and resizing, the per-shift profile, the
    per-layer equivariance means, unreadable files under ``errors``), ``config.json`` and the
    figures ``equivariance_heatmaps.png``, ``equivariance_profile.png`` and ``shifts.png``.

    Args:
        model: detector folder, ``default``, or TorchScript file (see :func:`load_model`).
        images: folder of images (read recursively).
        out: output folder.
        settings: shifts, images, testbed grid and seed (:class:`ReportSettings`).
    """
    from ganscope.detectors.inference import common_size, load_images

    t0 = time.perf_counter()
    settings = settings or ReportSettings()
    max_shift, seed = settings.max_shift, settings.seed
    if not Path(images).is_dir():
        raise GanscopeError(f"image folder not found: {images}")
    scorer, module, layers, side = load_model(model, trust_code=settings.trust_code)
    paths = list_images(images)
    if not paths:
        raise GanscopeError(f"no images found in {images}")
    paths = sorted(paths)[: settings.max_images]
    errors: list[tuple[Path, str]] = []
    h, w = common_size(paths, errors)
    small = min(h, w)
    if side is not None and small < side:
        raise GanscopeError(f"images of {h}x{w} are smaller than the model's input {side}x{side}")
    # Real shifts (two crops) where the images leave room for them, else circular shifts.
    view = side if side is not None else max(8, small - max_shift)
    mode = "crop" if small >= view + max_shift else "circular"
    size = view + max_shift if mode == "crop" else (view if side is not None else small)
    view = view if mode == "crop" else size
    x, _ = load_images(paths, size=(size, size), errors=errors)
    if x.shape[0] == 0:
        raise GanscopeError(f"no readable image in {images}")
    errors = list(dict.fromkeys(errors))  # common_size and load_images both report a bad file
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {"model": str(model), "images": str(images), **asdict(settings)}
    write_json(out / "config.json", {**config, "ganscope_version": __version__})
    cons = consistency(scorer, x, max_shift, mode=mode, seed=seed)
    scores = score_images(scorer, _center(x, view))
    eq_in = _center(x, view)[: settings.equivariance_images]
    eq = shift_equivariance(module, eq_in, layers=layers, max_shift=min(settings.grid, view))
    results: dict[str, Any] = {
        "model": str(model),
        "n_images": int(x.shape[0]),
        "image_size": [size, size],
        "view": view,
        "shift_mode": mode,
        "binary": scores.binary,
        "consistency": cons.to_dict(),
        "equivariance": eq.to_dict(),
    }
    if mode == "crop":
        results["shift_profile"] = shift_profile(scorer, x, range(1, max_shift + 1), side=view)
    scales = [s for s in (0.8, 0.9, 1.1, 1.25) if round(size * s) >= view]
    if scales:
        results["resize"] = resize_consistency(scorer, x, scales, crop=view).to_dict()
    results["errors"] = [{"path": str(p), "error": e} for p, e in errors]
    results["seconds"] = round(time.perf_counter() - t0, 1)
    label = Path(str(model)).name or str(model)
    plot_equivariance_heatmaps({label: eq}, out / "equivariance_heatmaps.png")
    plot_equivariance_profile({label: eq}, out / "equivariance_profile.png")
    if "shift_profile" in results:
        _plot_profile(results["shift_profile"], label, scores.binary, out / "shifts.png")
    write_json(out / "results.json", results)
    return results


def _plot_profile(prof: dict[str, list[float]], label: str, binary: bool, path: Path) -> None:
    from matplotlib.figure import Figure

    from ganscope.report.spectra import save_figure

    fig = Figure(figsize=(8.4, 3.0), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(prof["shift"], prof["prob_diff"], marker="o")
    ax2.plot(prof["shift"], prof["agreement"], marker="o")
    ax1.set_ylabel("mean |ΔP(fake)|" if binary else "mean |ΔP(decided class)|")
    ax2.set_ylabel("decision agreement")
    for ax in (ax1, ax2):
        ax.set_xlabel("shift (px)")
        ax.grid(alpha=0.3)
    ax1.set_ylim(bottom=0)
    fig.suptitle(f"{label}: change of the output when the image moves by d pixels", fontsize=9)
    save_figure(fig, path)


def report_summary(results: dict[str, Any], out: str | Path) -> str:
    """The one line ``ganscope antialias report`` prints for :func:`antialias_report`'s results."""
    c = results["consistency"]
    lo, hi = c["agreement_ci"]
    return (
        f"{results['n_images']} images: consistency {c['agreement']:.3f} [{lo:.3f}, {hi:.3f}] "
        f"under {results['shift_mode']} shifts up to {c['max_shift']} px, mean |ΔP| "
        f"{c['prob_diff']:.4f}; {len(results['errors'])} unreadable; written to {out}"
    )
