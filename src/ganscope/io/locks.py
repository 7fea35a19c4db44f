"""One process at a time per output folder.

A long job (``gan train``, ``study``, ``detector train``, ``dissect``) holds
:func:`run_lock` on its output folder while it works. A second job on the same folder stops at
once with one line (exit 2) instead of training into the same files: two runs with different
settings would otherwise leave a folder holding one run's ``config.json`` and the other's
checkpoint.

The lock is ``FOLDER/.ganscope.lock`` holding the owner's PID and host, locked with ``flock``
(POSIX). The kernel drops the lock when its process dies, however it dies (``kill -9``
included), so a lock file left by a dead process is simply taken over; where ``flock`` is not
available the lock file is created exclusively and a file whose PID is no longer running is
taken over.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

from ganscope.errors import GanscopeError
from ganscope.io.paths import writable_parent

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".ganscope.lock"
"""The lock file inside a locked folder (hidden, so image listings skip it)."""

_held: dict[Path, tuple[int, int | None]] = {}  # folder -> (depth, fd) in this process
_guard = threading.Lock()


class FolderLockedError(GanscopeError):
    """Another live process holds the folder's lock."""


def _owner(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _busy(folder: Path, owner: dict) -> FolderLockedError:
    who = f"PID {owner['pid']}" if "pid" in owner else "another process"
    if owner.get("host") and owner["host"] != socket.gethostname():
        who += f" on {owner['host']}"
    return FolderLockedError(
        f"{folder} is in use by another ganscope run ({who}); wait for it to finish or use "
        "another output folder"
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _stamp() -> bytes:
    return (json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n").encode()


def _acquire_flock(folder: Path, path: Path) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN):
                raise _busy(folder, _owner(path)) from None
            raise
        # The previous holder may have removed the file between our open and our flock: then we
        # hold a lock on a file nobody else can see. Retry on the file now at ``path``.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, _stamp(), 0)
            except OSError:  # e.g. a full disk: give the lock up again
                with contextlib.suppress(OSError):
                    path.unlink()
                os.close(fd)
                raise
            return fd
        os.close(fd)


def _acquire_exclusive(folder: Path, path: Path) -> None:
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = _owner(path)
            pid = owner.get("pid")
            if isinstance(pid, int) and pid != os.getpid() and _pid_alive(pid):
                raise _busy(folder, owner) from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        os.write(fd, _stamp())
        os.close(fd)
        return
    raise _busy(folder, _owner(path))


@contextlib.contextmanager
def run_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the lock of ``folder`` (created if needed) for the duration of the ``with`` block.

    Re-entrant within one process (a study that trains GANs in its subfolders, or a command that
    calls a locked library function, locks each folder once).

    Raises:
        FolderLockedError: another live process holds the lock (a :class:`GanscopeError`, so the
            CLI prints one line and exits 2).
        GanscopeError: the folder cannot be created.

    Example:
        >>> with run_lock(tmp_path / "run"):  # doctest: +SKIP
        ...     train_into(tmp_path / "run")
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise GanscopeError(f"{folder} must be a folder, but it is a file")
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GanscopeError(f"cannot create {folder}: {err.strerror or err}") from None
    key = folder.resolve()
    path = folder / LOCK_NAME
    with _guard:
        depth, fd = _held.get(key, (0, None))
        if depth == 0:
            try:
                fd = None
                if fcntl is not None:
                    try:
                        fd = _acquire_flock(folder, path)
                    except OSError as err:  # a file system without flock (some network mounts)
                        if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                            raise
                if fd is None:
                    _acquire_exclusive(folder, path)
            except FolderLockedError:
                raise
            except OSError as err:
                if created:
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                raise GanscopeError(f"cannot lock {folder}: {err.strerror or err}") from None
        _held[key] = (depth + 1, fd)
    try:
        yield path
    finally:
        with _guard:
            depth, fd = _held.pop(key)
            if depth > 1:
                _held[key] = (depth - 1, fd)
            else:
                # Unlink before unlocking, so that a waiting process never locks a file that is
                # about to disappear (it re-checks the inode, see _acquire_flock).
                with contextlib.suppress(OSError):
                    path.unlink()
                if fd is not None:
                    os.close(fd)
                if created:  # a job that failed before writing anything leaves no empty folder
                    with contextlib.suppress(OSError):
                        folder.rmdir()


P = ParamSpec("P")
R = TypeVar("R")


def locks_output(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a library function whose ``out`` argument is the folder it writes, so that it
    holds :func:`run_lock` on that folder while it runs (after :func:`writable_parent`'s
    checks). A second run on the same folder, from the command line or from Python, then stops
    with one line instead of writing into the same files. ``out=None`` (nothing written) locks
    nothing.

    Example:
        >>> @locks_output
        ... def write_report(images, out): ...  # doctest: +SKIP
    """
    signature = inspect.signature(function)

    @functools.wraps(function)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        folder = signature.bind(*args, **kwargs).arguments.get("out")
        if folder is None:
            return function(*args, **kwargs)
        writable_parent(Path(folder), folder=True)
        with run_lock(folder):
            return function(*args, **kwargs)

    return locked
