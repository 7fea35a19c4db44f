"""Issue #17, item 5: one process at a time per run folder (``ganscope.io.run_lock``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ganscope.io.locks
from ganscope.errors import GanscopeError
from ganscope.io import FolderLockedError, run_lock
from ganscope.io.locks import LOCK_NAME

# The holder loads locks.py alone (not ganscope.io, which imports torch): a fast start.
HOLD = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("locks", sys.argv[3])
locks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(locks)
with locks.run_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def held(tmp_path: Path):
    """A second process that holds the lock of ``tmp_path / "run"`` until the test ends."""
    folder = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder), "120", ganscope.io.locks.__file__],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield folder, proc
    proc.kill()
    proc.wait()


def test_second_process_is_refused_with_the_owner_pid(held) -> None:
    folder, proc = held
    with (
        pytest.raises(FolderLockedError, match=f"in use by another ganscope run \\(PID {proc.pid}"),
        run_lock(folder),
    ):
        pass


def test_lock_of_a_killed_process_is_taken_over(held) -> None:
    folder, proc = held
    proc.kill()  # kill -9: no cleanup runs, the lock file stays behind
    proc.wait()
    assert (folder / LOCK_NAME).exists()
    with run_lock(folder):
        owner = json.loads((folder / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid()
    assert not (folder / LOCK_NAME).exists()


def test_stale_lock_file_with_a_dead_pid_is_taken_over(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (folder / LOCK_NAME).write_text(json.dumps({"pid": int(dead.stdout), "host": "x"}))
    with run_lock(folder):
        assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_reentrant_in_one_process_and_released_after(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    with run_lock(folder):
        with run_lock(folder):  # a locked command calling a locked library function
            assert (folder / LOCK_NAME).exists()
        assert (folder / LOCK_NAME).exists()
    assert not folder.exists()  # made by the lock, left empty: removed
    folder.mkdir()
    (folder / "kept.txt").write_text("x")
    with run_lock(folder):
        pass
    assert sorted(p.name for p in folder.iterdir()) == ["kept.txt"]


def test_a_file_in_the_way_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(GanscopeError, match="must be a folder"), run_lock(tmp_path / "f"):
        pass


def _gan_train(data: Path, out: Path, upsample: str, steps: int) -> list[str]:
    return [sys.executable, "-m", "ganscope", "-q", "gan", "train", "--data", str(data),
            "--upsample", upsample, "--out", str(out), "--size", "16", "--steps", str(steps),
            "--batch-size", "4", "--width", "4", "--checkpoint-every", "1000",
            "--sample-every", "0", "--device", "cpu"]  # fmt: skip


@pytest.mark.slow
def test_two_gan_train_runs_on_one_folder(tmp_path: Path, pngs) -> None:
    """The reproduction: two runs with different upsamplers started on the same --out."""
    data = pngs(tmp_path / "data", 8)
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(_gan_train(data, out, "nearest", 100000), env=env,
                             stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out / LOCK_NAME).exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        second = subprocess.run(_gan_train(data, out, "bilinear", 2), env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and f"PID {first.pid}" in second.stderr
    finally:
        first.kill()
        first.wait()
    assert not (out / "config.json").exists() or (
        json.loads((out / "config.json").read_text())["upsample"] == "nearest"
    )


@pytest.mark.parametrize("command", ["study", "detector", "dissect"])
def test_long_commands_refuse_a_locked_folder(held, command, real_fake, tiny_run, cli) -> None:
    folder, proc = held
    real, fake = real_fake
    args = {
        "study": ["study", "--profile", "tiny", "--out", folder],
        "detector": ["detector", "train", "--real", real, "--fake", fake, "--method", "logreg",
                     "--out", folder],
        "dissect": ["dissect", tiny_run, "--layer", "blocks.0", "--out", folder],
    }[command]  # fmt: skip
    r = cli(*args)
    assert r.one_line_error and f"PID {proc.pid}" in r.err
