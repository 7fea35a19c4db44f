"""run_lock without flock (some network file systems): an exclusive lock file with the PID."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ganscope.io.locks as locks
from ganscope.errors import GanscopeError
from ganscope.io import FolderLockedError, run_lock


@pytest.fixture
def no_flock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "fcntl", None)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_exclusive_lock_file_holds_our_pid(tmp_path: Path, no_flock) -> None:
    with run_lock(tmp_path / "run") as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not (tmp_path / "run").exists()


def test_live_owner_refused_dead_owner_taken_over(tmp_path: Path, no_flock) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    lock = folder / locks.LOCK_NAME
    lock.write_text(json.dumps({"pid": os.getppid(), "host": "h"}))  # alive, and not us
    with pytest.raises(FolderLockedError, match=f"PID {os.getppid()}"), run_lock(folder):
        pass
    lock.write_text(json.dumps({"pid": _dead_pid(), "host": "h"}))
    with run_lock(folder):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_flock_refused_by_the_file_system_falls_back(tmp_path: Path, monkeypatch) -> None:
    import errno

    class NoLocks:
        LOCK_EX = LOCK_NB = 0

        @staticmethod
        def flock(fd: int, op: int) -> None:
            raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(locks, "fcntl", NoLocks)
    with run_lock(tmp_path / "run") as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_locks_output_holds_the_out_folder_however_it_is_passed(tmp_path):
    from ganscope.io.locks import LOCK_NAME, locks_output

    seen = []

    @locks_output
    def job(images, out=None, *, n=1):
        seen.append(out is not None and (Path(out) / LOCK_NAME).exists())
        return n

    assert job("x", tmp_path / "a", n=3) == 3  # positional
    assert job("x", out=tmp_path / "b") == 1  # keyword
    assert job("x") == 1  # out=None: nothing written, nothing locked
    assert seen == [True, True, False]
    assert not (tmp_path / "a").exists()  # a job that wrote nothing leaves no folder
    (tmp_path / "file").write_text("")
    with pytest.raises(GanscopeError, match="not a folder"):
        job("x", tmp_path / "file")
