r"""Atomic writers: every output is written to a temporary file in the same folder, flushed, and
renamed over the target, so an interrupted job never leaves a half-written file behind.

**Write errors** (a full disk, a folder where a file should go, no permission) become one
:class:`~ganscope.errors.GanscopeError` naming the output; the temporary file is removed, and so
are the folders the failed write created, so nothing partial is left looking complete.

**File names that are not UTF-8** are written losslessly, the same way in every output: a name is
``os.fsdecode``'d (undecodable bytes become lone surrogates ``U+DC80..U+DCFF``, Python's
``surrogateescape``). Text outputs (CSV, printed lines) encode them back to the original bytes;
JSON, which must be Unicode, escapes them as ``\udcXX``, which ``json.loads`` followed by
``os.fsencode`` turns back into the same bytes.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganscope.errors import GanscopeError

PATH_ERRORS = "surrogateescape"
"""The codec error handler that writes file names losslessly (see the module docstring)."""

_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^.]+)$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_failure(path: Path, err: BaseException) -> GanscopeError | None:
    """The one-line error for a failed write, or ``None`` when ``err`` is not an I/O failure.

    Besides :class:`OSError`, writers implemented in Rust or C (safetensors) report I/O failures
    as their own exception types whose message carries ``(os error N)``.
    """
    if isinstance(err, IsADirectoryError):
        return GanscopeError(f"cannot write {path}: it is an existing folder")
    if isinstance(err, OSError):
        return GanscopeError(f"cannot write {path}: {err.strerror or err}")
    match = re.search(r"\(os error (\d+)\)", str(err))
    if isinstance(err, Exception) and match:
        return GanscopeError(f"cannot write {path}: {os.strerror(int(match.group(1)))}")
    return None


def _missing_parents(folder: Path) -> list[Path]:
    """The folders that ``folder.mkdir(parents=True)`` would create, deepest first."""
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    return missing


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``.

    The temporary name keeps ``path``'s suffix (or ``suffix``) so writers that pick a format from
    the name (matplotlib, Pillow) still work. On error the temporary file is removed, and so are
    the folders this call created; an I/O error (full disk, a folder in the way, permissions)
    is raised as one-line :class:`GanscopeError`.
    """
    path = Path(path)
    created = _missing_parents(path.parent)
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp"
        )
    except OSError as err:
        _remove_empty(created)
        raise _write_failure(path, err) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the output the permissions a plain open() would.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        _remove_empty(created)
        failure = _write_failure(path, err)
        if failure is not None:
            raise failure from None
        raise


def _remove_empty(folders: Sequence[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`atomic_path` (``.NAME.XXXXXXXX.SUFFIX``)."""
    return _TEMP_NAME.match(name) is not None


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed writers left under ``folder`` (recursively).

    Only call this while holding the folder's :func:`ganscope.io.locks.run_lock`: a live writer's
    temporary file looks the same as a dead one's.

    Returns:
        The removed files.
    """
    removed = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if is_temp_name(name):
                p = Path(root) / name
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
    return removed


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (file names in it are written losslessly)."""
    write_bytes(path, text.encode("utf-8", PATH_ERRORS))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray | torch.Tensor):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def json_text(obj: Any, *, indent: int = 2) -> str:
    """``obj`` as JSON text (NumPy/torch scalars, arrays and paths are converted)."""
    return json.dumps(obj, indent=indent, default=_json_default, allow_nan=True) + "\n"


def write_json(path: str | Path, obj: Any, *, indent: int = 2) -> None:
    """Write ``obj`` as JSON atomically (NumPy/torch scalars, arrays and paths are converted)."""
    write_text(path, json_text(obj, indent=indent))


def open_text(path: str | Path) -> Any:
    """Open ``path`` for writing UTF-8 text whose file names are kept losslessly (for CSV too)."""
    return open(path, "w", newline="", encoding="utf-8", errors=PATH_ERRORS)


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a CSV file atomically; ``rows`` may be a generator (it is streamed to disk)."""
    with atomic_path(path) as tmp, open_text(tmp) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow(row)
        fh.flush()
        os.fsync(fh.fileno())


def errors_csv_path(csv_path: str | Path) -> Path:
    """Where the bad files of a ``--csv`` output are listed: ``NAME.errors.csv`` beside it."""
    csv_path = Path(csv_path)
    return csv_path.with_name(f"{csv_path.stem}.errors.csv")


def write_errors_csv(path: str | Path, errors: Sequence[tuple[str | Path, str]]) -> None:
    """List every bad file, ``path,error``, one row each (DESIGN.md: batch commands name every
    bad file in a machine-readable output)."""
    write_csv(path, ["path", "error"], ([os.fspath(p), reason] for p, reason in errors))


def errors_json(errors: Sequence[tuple[str | Path, str]]) -> list[dict[str, str]]:
    """The ``errors`` list of a JSON output: ``[{"path", "error"}]``, every bad file."""
    return [{"path": os.fspath(p), "error": reason} for p, reason in errors]


def to_uint8(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(3, H, W)`` or ``(1, H, W)`` float in [0, 1] → ``(H, W, C)`` uint8, rounding to nearest."""
    arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4):
        arr = arr.transpose(1, 2, 0)
    arr = np.clip(np.rint(arr.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    return arr[:, :, 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr


def save_png(path: str | Path, image: torch.Tensor | np.ndarray) -> None:
    """Save a ``(3, H, W)`` float image in [0, 1] (or a uint8 ``(H, W, 3)``) as a lossless PNG."""
    arr = image if isinstance(image, np.ndarray) and image.dtype == np.uint8 else to_uint8(image)
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")
