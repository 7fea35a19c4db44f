"""Typed errors. The CLI turns every :class:`GanscopeError` into one line and exit code 2."""

from __future__ import annotations

from pathlib import Path


class GanscopeError(Exception):
    """Bad usage or bad input: the user can fix it. Never a bug in ganscope."""


class ImageReadError(GanscopeError):
    """A file that cannot be read as an image: zero-byte, truncated, corrupt, not an image, or a
    decompression bomb. ``path`` and ``reason`` are kept so batch readers can report them."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsafeCheckpointError(GanscopeError):
    """A weights file that would need unpickling arbitrary objects to load."""


class UntrustedCodeError(GanscopeError):
    """A model file that is code (TorchScript), given without ``--trust-code``: loading and
    calling it would run whatever its author wrote."""
