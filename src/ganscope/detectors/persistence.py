"""Detectors to and from model folders (``model.safetensors`` + ``config.json``), no pickle.

``config.json`` holds ``{"class": <registry name>, "settings": get_params(), "state": ...}``:
settings and small fitted values as JSON, arrays (network weights, coefficients, support vectors,
tree node tables) as named tensors. Loading looks the class up in the detector registry only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sklearn

from ganscope.checkpoint import load_checkpoint, save_checkpoint
from ganscope.detectors import cnn, spectral  # noqa: F401 (registers the built-in detectors)
from ganscope.detectors.base import DETECTORS, BaseDetector
from ganscope.errors import GanscopeError

FORMAT = "ganscope-detector/1"

log = logging.getLogger("ganscope")


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise GanscopeError(f"cannot save the setting value {v!r} ({type(v).__name__})")


def save_detector(detector: BaseDetector, folder: str | Path) -> Path:
    """Write a fitted detector to ``folder``; returns the folder.

    Example:
        >>> save_detector(SpectralDetector().fit(X, y), "models/spectral")  # doctest: +SKIP
    """
    if not isinstance(detector, BaseDetector) or not detector.registry_name:
        raise GanscopeError(f"not a registered ganscope detector: {type(detector).__name__}")
    if not hasattr(detector, "threshold_"):
        raise GanscopeError("the detector is not fitted yet")
    tensors, state = detector._get_fitted_state()
    config = {
        "format": FORMAT,
        "class": detector.registry_name,
        "settings": {k: _jsonable(v) for k, v in detector.get_params(deep=False).items()},
        "state": state,
        "sklearn_version": sklearn.__version__,
    }
    return save_checkpoint(folder, tensors, config)


def load_detector(folder: str | Path, *, device: str | None = None) -> BaseDetector:
    """Read a detector written by :func:`save_detector`.

    Args:
        folder: the model folder.
        device: overrides the saved ``device`` setting of CNN detectors (``auto``/``cpu``/``cuda``).

    Raises:
        GanscopeError: not a ganscope detector folder, or an unknown detector class.
    """
    tensors, config = load_checkpoint(folder)
    if config.get("format") != FORMAT:
        raise GanscopeError(
            f"{folder} is not a ganscope detector (format {config.get('format')!r})"
        )
    name = config.get("class")
    if name not in DETECTORS:
        raise GanscopeError(f"{folder}: unknown detector class {name!r}")
    cls = DETECTORS[name]
    saved_with = config.get("sklearn_version")
    if saved_with and saved_with != sklearn.__version__ and name != "cnn":
        log.warning(
            "%s was saved with scikit-learn %s, this is %s: predictions may differ",
            folder,
            saved_with,
            sklearn.__version__,
        )
    settings = cls._params_from_json(dict(config.get("settings", {})))
    if device is not None and "device" in settings:
        settings["device"] = device
    det = cls(**settings)
    try:
        det._set_fitted_state(tensors, config["state"])
    except (KeyError, RuntimeError, ValueError, TypeError) as err:
        raise GanscopeError(f"{folder}: damaged or incompatible model ({err})") from None
    return det


DEFAULT_MODEL_DIR = "default_detector"
"""Folder name of the shipped default detector inside ``ganscope/assets``."""


def default_model_path() -> Path:
    """The detector ``ganscope detect`` uses without ``--model``: trained by ganscope on its
    built-in data; read its ``MODEL_CARD.md`` before trusting it."""
    path = Path(__file__).resolve().parent.parent / "assets" / DEFAULT_MODEL_DIR
    if not (path / "config.json").exists():
        raise GanscopeError(
            f"the default detector is missing from this install ({path}); pass --model"
        )
    return path
