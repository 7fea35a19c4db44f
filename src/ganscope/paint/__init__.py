"""GAN Paint: paint concepts into and out of generated scenes, in the browser.

Bau et al., "Semantic Photo Manipulation with a Generative Image Prior", SIGGRAPH 2019, and "GAN
Dissection", ICLR 2019: a concept's causal units are switched on (add) or off (remove) inside a
brushed region of one generator layer.

- :func:`find_paint_units` / :class:`PaintUnits`: the causal units per concept, found once by
  ganscope's causal search and shipped as ``paint_units.json`` beside the generator.
- :class:`Painter`, :class:`Edit`: deterministic edits of the sample of a seed, and the
  segmenter's concept fractions.
- :func:`create_app`, :func:`serve`: the local web app and its JSON API; :func:`serve_painter`
  with :class:`PaintSettings` is ``ganscope paint``.
"""

from ganscope.paint.app import create_app, is_loopback, serve, serve_painter
from ganscope.paint.editing import Edit, Painter, box_to_mask, feature_mask, parse_edits, png_bytes
from ganscope.paint.session import PaintSession, PaintSettings, generator_folder, open_painter
from ganscope.paint.units import (
    PAINT_UNITS_FILE,
    ConceptUnits,
    PaintUnits,
    find_paint_units,
    load_paint_units,
    paint_layers,
)

__all__ = [
    "PAINT_UNITS_FILE",
    "ConceptUnits",
    "Edit",
    "PaintSession",
    "PaintSettings",
    "PaintUnits",
    "Painter",
    "box_to_mask",
    "create_app",
    "feature_mask",
    "find_paint_units",
    "generator_folder",
    "is_loopback",
    "load_paint_units",
    "open_painter",
    "paint_layers",
    "parse_edits",
    "png_bytes",
    "serve",
    "serve_painter",
]
