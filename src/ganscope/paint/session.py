"""Open a generator for painting: the generator, its segmenter and its causal units.

A generator is named as ``ganscope.generators.load_generator`` names it: a run folder, a run's
``generator/`` folder, or ``zoo:NAME`` (a shipped zoo generator, whose folder has the same layout).
The causal units come from ``paint_units.json`` beside the generator's weights
(``scripts/find_paint_units.py`` writes it), from an explicit file, or, when there is none, from a
quick causal search at start-up (:func:`ganscope.paint.units.find_paint_units` with few samples).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from ganscope.errors import GanscopeError
from ganscope.paint.editing import Painter
from ganscope.paint.units import PAINT_UNITS_FILE, PaintUnits, find_paint_units, load_paint_units

log = logging.getLogger("ganscope")

__all__ = ["PaintSession", "PaintSettings", "generator_folder", "open_painter"]


@dataclass
class PaintSession:
    """What ``ganscope paint`` serves.

    Attributes:
        painter: the :class:`~ganscope.paint.editing.Painter`.
        name: a display name of the generator.
        units_source: where the units came from (a file, or ``"searched at start-up"``).
    """

    painter: Painter
    name: str
    units_source: str


@dataclass(frozen=True)
class PaintSettings:
    """Settings of ``ganscope paint`` (:func:`ganscope.paint.app.serve_painter`); the port is
    checked when made, before the generator loads.

    Attributes:
        port: TCP port to serve on.
        host: address to bind; any but the default 127.0.0.1 lets the network run the generator
            (with a warning).
        segmenter: concepts and their masks: scenes (the built-in scene segmenter), colors, or a
            JSON file {"torchscript": FILE, "labels": [...]}.
        units: a paint_units.json (default: the one beside the weights, else a quick causal
            search).
        seed: first seed of that start-up search.
    """

    port: int = 8765
    host: str = "127.0.0.1"
    segmenter: str = "scenes"
    units: Path | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise GanscopeError(f"--port must be in 1..65535, not {self.port}")


def generator_folder(spec: str | Path) -> Path | None:
    """The folder holding the generator's ``model.safetensors`` (``None`` when there is none);
    ``zoo:NAME`` resolves through :func:`ganscope.zoo.resolve_generator`."""
    from ganscope.zoo import resolve_generator

    path = resolve_generator(spec)
    for folder in (path / "generator", path):
        if (folder / "model.safetensors").is_file():
            return folder
    return None


def open_painter(
    generator: str | Path,
    *,
    segmenter: str = "scenes",
    units: str | Path | None = None,
    device: torch.device | str = "cpu",
    search_samples: int = 96,
    search_steps: int = 15,
    seed: int = 0,
) -> PaintSession:
    """Load ``generator``, the ``segmenter`` (``scenes``, ``colors`` or a JSON file, as for
    ``ganscope dissect --concepts``) and the causal units.

    Args:
        generator: a run folder or ``zoo:NAME``.
        segmenter: the labeler that defines and measures concepts.
        units: a ``paint_units.json`` (default: the one beside the generator's weights, or a
            quick search when there is none).
        device: where the generator and segmenter run.
        search_samples: samples of the start-up search (when no units file exists).
        search_steps: causal-search steps of the start-up search.
        seed: first seed of the start-up search.
    """
    from ganscope.dissect.concepts import load_labeler
    from ganscope.generators import load_generator

    if units is not None and not Path(units).is_file():
        raise GanscopeError(f"units file not found: {units}")
    if segmenter not in ("scenes", "colors") and not Path(segmenter).is_file():
        raise GanscopeError(
            f"--segmenter must be scenes, colors or a JSON file describing a segmenter, "
            f"not {segmenter!r}"
        )
    G, _config = load_generator(generator, device=device)
    labeler = load_labeler(segmenter, device=device)
    folder = generator_folder(generator)
    if units is not None:
        paint_units = load_paint_units(units)
        source = str(units)
    elif folder is not None and (folder / PAINT_UNITS_FILE).is_file():
        paint_units = load_paint_units(folder / PAINT_UNITS_FILE)
        source = str(folder / PAINT_UNITS_FILE)
    else:
        log.warning(
            "no %s for %s: searching causal units now (%d samples); "
            "scripts/find_paint_units.py saves a better set",
            PAINT_UNITS_FILE,
            generator,
            search_samples,
        )
        paint_units = find_paint_units(
            G, labeler, samples=search_samples, causal_steps=search_steps, seed=seed
        )
        source = "searched at start-up"
    _check_units(paint_units)
    name = str(generator) if str(generator).startswith("zoo:") else Path(generator).name
    return PaintSession(Painter(G, labeler, paint_units), name, source)


def _check_units(units: PaintUnits) -> None:
    if not units.concepts:
        raise GanscopeError("the units file names no concepts")
