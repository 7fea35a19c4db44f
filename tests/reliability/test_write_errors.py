"""Issue #17, item 6: every write error is one line and exit 2, and no partial output is left
looking complete (a full disk is simulated by failing the write, and also reproduced for real on
a tiny tmpfs where the machine allows mounting one)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path

import pytest

import ganscope.checkpoint
import ganscope.io.writers
from ganscope.errors import GanscopeError


def _enospc(*_args: object, **_kw: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_json_naming_a_folder(spectral_model, real_fake, tmp_path, cli) -> None:
    real, fake = real_fake
    (tmp_path / "out.json").mkdir()
    r = cli("detect", real, "--model", spectral_model, "--json", tmp_path / "out.json")
    assert r.one_line_error and "existing folder" in r.err
    r = cli("detector", "eval", spectral_model, "--real", real, "--fake", fake,
            "--json", tmp_path / "out.json")  # fmt: skip
    assert r.one_line_error and "existing folder" in r.err


def test_atomic_write_over_a_folder_is_one_line(tmp_path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(GanscopeError, match="is an existing folder"):
        ganscope.io.writers.write_json(tmp_path / "x", {"a": 1})


def test_gan_sample_out_naming_a_file(tiny_run, tmp_path, cli) -> None:
    (tmp_path / "file").write_text("x")
    r = cli("gan", "sample", tiny_run, "--n", "2", "--out", tmp_path / "file")
    assert r.one_line_error and "existing file" in r.err


def test_full_disk_in_detect_csv(spectral_model, real_fake, tmp_path, cli, monkeypatch) -> None:
    real, _ = real_fake
    out = tmp_path / "out"
    monkeypatch.setattr(ganscope.io.writers.os, "fsync", _enospc)
    r = cli("detect", real, "--model", spectral_model, "--csv", out / "r.csv")
    assert r.one_line_error and "No space left on device" in r.err
    assert _leftovers(out) == []  # no CSV, no temporary file, no folder


def test_full_disk_in_spectrum_csv(real_fake, tmp_path, cli, monkeypatch) -> None:
    real, _ = real_fake
    out = tmp_path / "out"
    monkeypatch.setattr(os, "fsync", _enospc)
    r = cli("spectrum", real, "--csv", out / "s.csv")
    assert r.one_line_error and "No space left on device" in r.err
    assert _leftovers(out) == []


def test_full_disk_in_detector_train(real_fake, tmp_path, cli, monkeypatch) -> None:
    real, fake = real_fake

    def save_file(*_a: object, **_k: object) -> None:  # as safetensors reports it
        raise RuntimeError(
            "Error while serializing: I/O error: No space left on device (os error 28)"
        )

    monkeypatch.setattr(ganscope.checkpoint, "save_file", save_file)
    r = cli("detector", "train", "--real", real, "--fake", fake, "--method", "logreg",
            "--out", tmp_path / "model")  # fmt: skip
    assert r.one_line_error and "No space left on device" in r.err
    assert not (tmp_path / "model").exists()  # was: an empty model folder


def test_full_disk_in_gan_train(pngs, tmp_path, cli, monkeypatch) -> None:
    data = pngs(tmp_path / "data", 4)
    monkeypatch.setattr(ganscope.io.writers.os, "fsync", _enospc)
    r = cli("gan", "train", "--data", data, "--upsample", "nearest", "--out", tmp_path / "run",
            "--size", "16", "--steps", "1", "--batch-size", "4", "--width", "4",
            "--checkpoint-every", "1", "--device", "cpu")  # fmt: skip
    assert r.one_line_error and "No space left on device" in r.err
    assert "checkpoint.safetensors" not in _leftovers(tmp_path / "run")
    assert not any(n.startswith(".") for n in _leftovers(tmp_path / "run"))


@contextlib.contextmanager
def _tiny_disk(path: Path):
    """A 64 KiB tmpfs at ``path``, filled up; skips where mounting is not allowed."""
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
                          capture_output=True)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode(errors='replace').strip()}")
    try:
        with contextlib.suppress(OSError), open(path / "filler", "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def test_really_full_disk(spectral_model, real_fake, tmp_path, cli) -> None:
    real, fake = real_fake
    with _tiny_disk(tmp_path / "disk") as disk:
        r = cli("detect", real, "--model", spectral_model, "--csv", disk / "r.csv")
        assert r.one_line_error and "No space left on device" in r.err
        r = cli("spectrum", real, "--csv", disk / "s.csv")
        assert r.one_line_error and "No space left on device" in r.err
        r = cli("detector", "train", "--real", real, "--fake", fake, "--method", "logreg",
                "--out", disk / "model")  # fmt: skip
        assert r.one_line_error and "No space left on device" in r.err
        assert _leftovers(disk) == ["filler"]
