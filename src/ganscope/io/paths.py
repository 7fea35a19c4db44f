"""Checks on the paths a user names (inputs that must exist, outputs that can be written), made
before any work starts so that a mistake costs one line and no time, and printing file names
losslessly."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ganscope.errors import GanscopeError
from ganscope.io.writers import PATH_ERRORS

__all__ = ["echo_lossless", "require_dirs", "writable_parent"]


def require_dirs(paths: list[Path], what: str = "folder") -> None:
    """Exit 2 (through :class:`GanscopeError`) when a path does not exist."""
    for p in paths:
        if not p.exists():
            raise GanscopeError(f"{what} not found: {p}")


_FILE_SUFFIXES = frozenset({".json", ".csv", ".png", ".html", ".txt", ".pdf", ".svg"})


def writable_parent(path: Path, *, folder: bool | None = None) -> None:
    """Fail early, with one line, when an output cannot be created.

    Args:
        path: the output.
        folder: ``True`` when ``path`` is an output folder, ``False`` for an output file;
            ``None`` guesses from the suffix (an output file has one).
    """
    is_folder = (not path.suffix) if folder is None else folder
    if is_folder and path.exists() and not path.is_dir():
        raise GanscopeError(f"cannot write to {path}: it is an existing file, not a folder")
    if not is_folder and path.is_dir() and (folder is False or path.suffix in _FILE_SUFFIXES):
        raise GanscopeError(f"cannot write {path}: it is an existing folder")
    parent = path if is_folder else path.parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise GanscopeError(f"cannot write to {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK):
        raise GanscopeError(f"cannot write to {path}: {probe} is not writable")


def echo_lossless(text: str, *, err: bool = False) -> None:
    """Print one line whose file names may not be UTF-8, losslessly (their original bytes),
    whatever ``PYTHONIOENCODING`` says (see :mod:`ganscope.io.writers`)."""
    stream = sys.stderr if err else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a text-only stream: it cannot carry raw bytes
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")
        return
    try:
        data = (text + "\n").encode(encoding, PATH_ERRORS)
    except UnicodeEncodeError:  # a character the terminal's encoding has no bytes for
        data = (text + "\n").encode(encoding, "backslashreplace")
    stream.flush()
    buffer.write(data)
    buffer.flush()
