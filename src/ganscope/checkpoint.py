"""Model folders: ``model.safetensors`` (tensors) + ``config.json`` (class, settings, version).

This is the only way ganscope models go to and from disk. Nothing here unpickles: safetensors
holds raw tensors only, and a foreign PyTorch ``.pth`` file is opened with
``torch.load(weights_only=True)``, which refuses any object that is not a tensor or a plain
container; such a file is reported with :class:`UnsafeCheckpointError` instead of being run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ganscope import __version__
from ganscope.errors import GanscopeError, UnsafeCheckpointError
from ganscope.io.writers import atomic_path, json_text

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


def save_checkpoint(
    folder: str | Path, state: Mapping[str, torch.Tensor], config: Mapping[str, Any]
) -> Path:
    """Write ``state`` and ``config`` into ``folder`` atomically; returns the folder.

    ``config`` should name the model class (``"class"``) and its settings (``"settings"``);
    ``"ganscope_version"`` is added. Tensors are made contiguous and moved to the CPU; tensors
    that share memory are copied (safetensors refuses shared storage).
    """
    folder = Path(folder)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    text = json_text({**dict(config), "ganscope_version": __version__})
    # Both files are written to temporary names first and renamed only when both are complete
    # (the inner one, config.json, first): a failed write (a full disk) leaves neither a new
    # folder nor a new weights file beside an old config.
    with atomic_path(folder / WEIGHTS_NAME) as tmp_weights:
        save_file(tensors, str(tmp_weights))
        with atomic_path(folder / CONFIG_NAME) as tmp_config:
            tmp_config.write_bytes(text.encode("utf-8"))
    return folder


def load_config(folder: str | Path) -> dict[str, Any]:
    """Read ``config.json`` of a model folder."""
    path = Path(folder) / CONFIG_NAME
    if not path.exists():
        raise GanscopeError(f"not a ganscope model folder (no {CONFIG_NAME}): {folder}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise GanscopeError(f"{path}: invalid JSON ({err.msg} at line {err.lineno})") from None


def load_checkpoint(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a model folder written by :func:`save_checkpoint`: ``(state, config)``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GanscopeError(f"model folder not found: {folder}")
    config = load_config(folder)
    weights = folder / WEIGHTS_NAME
    if not weights.exists():
        raise GanscopeError(f"model folder has no {WEIGHTS_NAME}: {folder}")
    try:
        state = load_file(str(weights))
    except Exception as err:  # safetensors raises its own error types for bad headers
        raise GanscopeError(f"{weights}: not a valid safetensors file ({err})") from None
    return state, config


def load_foreign_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read tensors from a foreign weights file: ``.safetensors``, or a PyTorch ``.pth``/``.pt``
    opened with ``weights_only=True`` (never full unpickling).

    A checkpoint that wraps its state dict (``{"model": ...}``, ``{"state_dict": ...}``) is
    unwrapped; a ``module.`` prefix left by ``DataParallel`` is removed.

    Raises:
        UnsafeCheckpointError: the file needs arbitrary unpickling to load.
        GanscopeError: missing or unreadable file, or no tensors inside.
    """
    path = Path(path)
    if not path.is_file():
        raise GanscopeError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except Exception as err:
            raise GanscopeError(f"{path}: not a valid safetensors file ({err})") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        text = str(err)
        if "weights_only" in text or "Unsupported global" in text or "WeightsUnpickler" in text:
            raise UnsafeCheckpointError(
                f"{path} refused: it holds Python objects that would need unpickling to load "
                "(ganscope only reads plain tensors, torch.load(weights_only=True))"
            ) from None
        raise GanscopeError(f"{path}: cannot read weights ({text.splitlines()[0]})") from None
    for key in ("model", "state_dict", "model_state_dict"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise GanscopeError(f"{path}: expected a dict of tensors, found {type(obj).__name__}")
    tensors = {
        (k[len("module.") :] if k.startswith("module.") else k): v
        for k, v in obj.items()
        if isinstance(v, torch.Tensor)
    }
    if not tensors:
        raise GanscopeError(f"{path}: no tensors inside")
    return tensors
