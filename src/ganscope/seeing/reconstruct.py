"""``ganscope seeing invert``: invert real images through a generator and show what it leaves out.

The whole instance-level method of Bau et al. (ICCV 2019, sec. 3.2) on a folder of real images:
train (or reuse) the layer-wise encoder ``E*`` of a generator, reconstruct every image twice
(``G(E*(x))``, then ``G_f(r*)``), measure the per-image error of both, and segment the real
images and their reconstructions so that the classes the reconstructions lose are named.

Output folder::

    OUT/encoder/                 E* (model.safetensors + config.json); reused when the generator,
                                 layers and training settings match (a rerun skips training)
    OUT/grid.png                 real | encoder-only | optimised, one image per row
    OUT/segmentation.png         real | its segmentation | optimised | its segmentation
    OUT/reconstructions/*.png    the optimised reconstructions, named after the real files
    OUT/errors.csv               per image: MSE and L1 of both reconstructions (in [0, 1] units)
    OUT/results.json             mean errors, per-class pixel fractions, vanished classes, errors
    OUT/config.json              the resolved settings
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganscope import __version__
from ganscope.checkpoint import load_checkpoint, save_checkpoint
from ganscope.errors import GanscopeError
from ganscope.io import iter_batches, list_images, save_png, write_csv, write_json
from ganscope.io.locks import locks_output
from ganscope.progress import progress_bar
from ganscope.seeing.fsd import class_areas, load_fsd_segmenter
from ganscope.seeing.invert import (
    EncoderTraining,
    LayerChain,
    LayerwiseEncoder,
    default_inversion_layers,
    invert_images,
    train_layerwise_encoder,
)

log = logging.getLogger("ganscope")

__all__ = [
    "InvertSettings",
    "inversion_summary",
    "invert_folder",
    "load_any_generator",
    "reconstruct_folder",
    "vanished_classes",
]

#: A class *vanishes* from a reconstruction that keeps less than this share of its real pixels.
VANISH_RATIO = 0.5


def load_any_generator(spec: str | Path, *, device: torch.device | str = "cpu") -> nn.Module:
    """A generator through :func:`ganscope.generators.load_generator` (run folder or ``zoo:NAME``),
    whatever it returns alongside the module; checked for the generic protocol."""
    from ganscope.generators import load_generator

    loaded: Any = load_generator(spec, device=device)
    G = loaded[0] if isinstance(loaded, tuple) else loaded
    if not isinstance(G, nn.Module) or not isinstance(getattr(G, "latent_dim", None), int):
        raise GanscopeError(f"{spec}: not a generator with a latent_dim")
    return G.eval()


def _fingerprint(G: nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(G.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _encoder_config(
    chain: LayerChain, settings: EncoderTraining, fingerprint: str
) -> dict[str, Any]:
    return {
        "class": "LayerwiseEncoder",
        "layers": chain.layers,
        "training": dataclasses.asdict(settings),
        "generator_fingerprint": fingerprint,
    }


def _load_or_train_encoder(
    chain: LayerChain, settings: EncoderTraining, folder: Path
) -> tuple[LayerwiseEncoder, dict[str, Any]]:

    want = _encoder_config(chain, settings, _fingerprint(chain.G))
    device = next(chain.G.parameters()).device
    if (folder / "model.safetensors").is_file():
        state, config = load_checkpoint(folder)
        if all(config.get(k) == v for k, v in want.items()):
            enc = LayerwiseEncoder(chain.shapes, hidden=settings.hidden)
            enc.load_state_dict(state)
            log.info("reusing the encoder in %s", folder)
            return enc.to(device).eval(), config.get("losses", {})
        log.info("%s was trained for other settings; training a new encoder", folder)
    enc, losses = train_layerwise_encoder(chain, settings)
    save_checkpoint(
        folder, enc.state_dict(), {**want, "settings": enc.settings(), "losses": losses}
    )
    return enc, losses


def vanished_classes(
    real: np.ndarray, recon: np.ndarray, labels: list[str], *, min_area: float = 0.01
) -> list[str]:
    """Classes covering more than ``min_area`` of a real image of which the reconstruction keeps
    less than :data:`VANISH_RATIO` of the pixels (per image: ``real``, ``recon`` are ``(K,)``)."""
    return [
        labels[k]
        for k in range(len(labels))
        if real[k] > min_area and recon[k] < VANISH_RATIO * real[k]
    ]


def reconstruct_folder(
    generator: str | Path,
    images: str | Path,
    out: str | Path,
    *,
    layer: str | None = None,
    count: int = 16,
    encoder: EncoderTraining | None = None,
    steps: int = 300,
    lr: float = 0.05,
    segmenter: str | Path | None = "scenes",
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    encoder_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Invert the first ``count`` images of a folder through a generator (see module docstring).

    Args:
        generator: a run folder or any spec :func:`ganscope.generators.load_generator` takes.
        images: folder of real images; each is centre-cropped to the generator's size (smaller
            or unreadable files are listed in ``results.json`` under ``errors``).
        out: output folder.
        layer: the layer whose output ``r`` is optimised (default:
            :func:`ganscope.seeing.invert.default_inversion_layers`).
        count: images to invert (in sorted file order).
        encoder: encoder training settings (:class:`EncoderTraining`).
        steps: Adam steps of the ``r*`` optimisation.
        lr: its learning rate.
        segmenter: ``scenes``, a segmenter folder, or ``None`` for no segmentation.
        batch_size: images inverted at a time.
        device: torch device.
        encoder_dir: where ``E*`` is saved and reused (default ``out/encoder``).

    Returns:
        The ``results.json`` content.
    """
    from ganscope.seeing.figures import segmentation_grid

    if not Path(images).exists():
        raise GanscopeError(f"image folder not found: {images}")
    if count < 1:
        raise GanscopeError(f"--count must be at least 1, not {count}")
    if steps < 0:
        raise GanscopeError(f"--steps must not be negative, not {steps}")
    out = Path(out)
    settings = encoder or EncoderTraining()
    G = load_any_generator(generator, device=device)
    for p in G.parameters():
        p.requires_grad_(False)
    chain = LayerChain(G, default_inversion_layers(G, layer=layer))
    size = chain.shapes[-1][-2:]
    files = list_images(images)[:count]
    enc_dir = out / "encoder" if encoder_dir is None else Path(encoder_dir)
    enc, losses = _load_or_train_encoder(chain, settings, enc_dir)

    errors: list[tuple[Path, str]] = []
    paths: list[Path] = []
    real, rec_enc, rec_opt = [], [], []
    with progress_bar(len(files), "inverting") as bar:
        for batch in iter_batches(files, batch_size=batch_size, crop=tuple(size), errors=errors):
            res = invert_images(chain, enc, batch.images.float(), steps=steps, lr=lr)
            paths += batch.paths
            real.append(res.real)
            rec_enc.append(res.encoder)
            rec_opt.append(res.optimized)
            bar.advance(len(batch))
    if not paths:
        raise GanscopeError(f"no image of {images} could be read at {size[0]}x{size[1]}")
    x, xe, xo = torch.cat(real), torch.cat(rec_enc), torch.cat(rec_opt)
    d_enc, d_opt = (xe - x).flatten(1), (xo - x).flatten(1)
    per_image = {
        "mse_encoder": d_enc.pow(2).mean(1),
        "mse_optimized": d_opt.pow(2).mean(1),
        "l1_encoder": d_enc.abs().mean(1),
        "l1_optimized": d_opt.abs().mean(1),
    }
    names = [p.stem for p in paths]
    for name, img in zip(names, xo, strict=True):
        save_png(out / "reconstructions" / f"{name}.png", img)
    save_png(out / "grid.png", segmentation_grid([x, xe, xo]))

    rows: list[list[Any]] = []
    results: dict[str, Any] = {
        "generator": str(generator),
        "layers": chain.layers,
        "representation_shape": list(chain.shapes[-2]),
        "n_images": len(paths),
        "mean": {k: float(v.mean()) for k, v in per_image.items()},
        "encoder_losses": losses,
    }
    vanished: list[list[str]] = [[] for _ in paths]
    if segmenter is not None:
        from ganscope.dissect.scenes import SCENE_PALETTE, colorize_labels

        labeler, labels = load_fsd_segmenter(segmenter, device=device)
        with torch.no_grad():
            seg = {k: labeler(v) for k, v in (("real", x), ("encoder", xe), ("optimized", xo))}
        areas = {k: class_areas(v, len(labels)).numpy() for k, v in seg.items()}
        vanished = [
            vanished_classes(areas["real"][i], areas["optimized"][i], labels)
            for i in range(len(paths))
        ]
        frac = {k: v.mean(0) for k, v in areas.items()}
        results["per_class"] = {
            name: {k: float(frac[k][j]) for k in frac} for j, name in enumerate(labels)
        }
        results["vanished"] = [
            name
            for j, name in enumerate(labels)
            if frac["real"][j] > 0 and frac["optimized"][j] < VANISH_RATIO * frac["real"][j]
        ]
        palette = SCENE_PALETTE if len(labels) <= len(SCENE_PALETTE) else None
        if palette is not None:
            seg_real, seg_opt = (colorize_labels(seg[k].cpu()) for k in ("real", "optimized"))
            save_png(out / "segmentation.png", segmentation_grid([x, seg_real, xo, seg_opt]))
    for i, p in enumerate(paths):
        rows.append(
            [str(p), *(f"{float(per_image[k][i]):.6g}" for k in per_image), " ".join(vanished[i])]
        )
    write_csv(out / "errors.csv", ["path", *per_image, "vanished"], rows)
    results["images"] = [
        {"path": str(p), **{k: float(per_image[k][i]) for k in per_image}, "vanished": vanished[i]}
        for i, p in enumerate(paths)
    ]
    results["errors"] = [{"path": str(p), "error": e} for p, e in errors]
    write_json(out / "results.json", results)
    write_json(
        out / "config.json",
        {
            "command": "seeing invert",
            "generator": str(generator),
            "images": str(images),
            "layers": chain.layers,
            "count": count,
            "encoder": dataclasses.asdict(settings),
            "steps": steps,
            "lr": lr,
            "segmenter": None if segmenter is None else str(segmenter),
            "ganscope_version": __version__,
        },
    )
    return results


@dataclasses.dataclass(frozen=True)
class InvertSettings:
    """Settings of :func:`invert_folder` (``ganscope seeing invert``).

    Attributes:
        layer: layer whose output r is optimised (default: the first at least 1/32 of the
            image side).
        count: images to invert.
        encoder_steps: training steps of every layer encoder.
        steps: Adam steps optimising r*.
        lr: learning rate of the r* optimisation.
        segment: segment the images and their reconstructions (name the classes they lose).
        segmenter: the segmenter of the classes: scenes (the built-in scene U-Net), or a folder
            holding model.safetensors + config.json of a ganscope U-Net.
        seed: seed of the encoders' initial weights and latents.
    """

    layer: str | None = None
    count: int = 16
    encoder_steps: int = 500
    steps: int = 300
    lr: float = 0.05
    segment: bool = True
    segmenter: str = "scenes"
    seed: int = 0


@locks_output
def invert_folder(
    generator: str | Path,
    images: str | Path,
    out: str | Path,
    settings: InvertSettings,
    *,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """``ganscope seeing invert``: :func:`reconstruct_folder` with ``settings`` (the encoders
    trained for ``encoder_steps`` from ``seed``); returns the ``results.json`` content."""
    return reconstruct_folder(
        generator,
        images,
        out,
        layer=settings.layer,
        count=settings.count,
        encoder=EncoderTraining(steps=settings.encoder_steps, seed=settings.seed),
        steps=settings.steps,
        lr=settings.lr,
        segmenter=settings.segmenter if settings.segment else None,
        device=device,
    )


def inversion_summary(results: dict[str, Any], out: str | Path) -> str:
    """The lines ``ganscope seeing invert`` prints for :func:`invert_folder`'s results."""
    mse, layers = results["mean"], ", ".join(results["layers"])
    lines = [
        f"inverted {results['n_images']} images through {layers}: MSE encoder-only "
        f"{mse['mse_encoder']:.5f}, optimised {mse['mse_optimized']:.5f}"
    ]
    if results.get("vanished"):
        lines.append(f"classes the reconstructions lose: {', '.join(results['vanished'])}")
    return "\n".join([*lines, f"wrote {out}/grid.png, errors.csv, results.json"])
