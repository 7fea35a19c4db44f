"""Issue #17, item 7: validation gaps, and issue #12, item 3: every choice in ``--help``."""

from __future__ import annotations

import types
import typing
from enum import Enum

import pytest
import torch
import typer

from ganscope.cli import load_commands
from ganscope.io import atomic_path, is_temp_name, remove_stale_temp_files


@pytest.mark.parametrize("size", ["-4", "0"])
def test_detector_train_size_must_be_positive(size, real_fake, tmp_path, cli) -> None:
    real, fake = real_fake
    r = cli("detector", "train", "--real", real, "--fake", fake, "--method", "logreg",
            "--size", size, "--out", tmp_path / "m")  # fmt: skip
    assert r.one_line_error and f"--size must be at least 1, not {size}" in r.err
    assert not (tmp_path / "m").exists()


def test_usage_errors_are_one_line(tmp_path, cli) -> None:
    r = cli("spectrum", tmp_path, "--bins", "0")  # was a 5-line box
    assert r.one_line_error and "--bins" in r.err
    r = cli("gan", "train", "--data", tmp_path, "--out", tmp_path / "r", "--upsample", "bic")
    assert r.one_line_error and "'bic' is not one of" in r.err and "bicubic" in r.err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda_is_refused_for_every_model(spectral_model, real_fake, cli):
    real, fake = real_fake
    for model in ([], ["--model", spectral_model]):  # the shipped CNN, and a spectral model
        r = cli("detect", real, *model, "--device", "cuda")
        assert r.one_line_error and "no CUDA device" in r.err
    r = cli("detector", "eval", spectral_model, "--real", real, "--fake", fake,
            "--device", "cuda")  # fmt: skip
    assert r.one_line_error and "no CUDA device" in r.err


def test_study_removes_temp_files_a_killed_run_left(tmp_path, cli) -> None:
    out = tmp_path / "study"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "azimuthal.png").write_bytes(b"kept")
    # What a run killed inside atomic_path leaves behind:
    with pytest.raises(KeyboardInterrupt), atomic_path(out / "figures" / "samples.png") as tmp:
        tmp.write_bytes(b"half")
        leftover = tmp
        raise KeyboardInterrupt
    assert not leftover.exists()  # an interrupt is cleaned up; a kill -9 is not:
    stale = [out / "figures" / ".samples.png.abcd_123.png", out / ".results.json.x1y2z3w4.json"]
    for p in stale:
        p.write_bytes(b"half")
        assert is_temp_name(p.name)
    assert not is_temp_name("azimuthal.png") and not is_temp_name(".ganscope.lock")
    r = cli("study", "--profile", "tiny", "--real", tmp_path / "missing", "--out", out)
    assert r.one_line_error  # stops at once, after the clean-up
    assert not any(p.exists() for p in stale)
    assert (out / "figures" / "azimuthal.png").read_bytes() == b"kept"
    assert remove_stale_temp_files(out) == []


# --- issue #12, item 3: --help lists every choice in full at any width ---------------------------


def _commands(command, path=()):
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, command


def _choices(param) -> list[str]:
    annotation = param.type_descriptor.annotation
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    for t in (annotation, *options):
        if isinstance(t, type) and issubclass(t, Enum):
            return [m.value for m in t]
    return []


ALL = list(_commands(typer.main.get_command(load_commands())))
MUST_BE_CHOICES = {"upsample", "loss", "method", "features", "preset", "arch", "profile", "split",
                   "mode", "kind"}  # fmt: skip


def test_options_with_fixed_values_are_choices() -> None:
    found = {p.name for _, c in ALL for p in c.params if _choices(p)}
    assert found >= MUST_BE_CHOICES, MUST_BE_CHOICES - found


@pytest.mark.parametrize("columns", ["80", "40"])
@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=" ".join)
def test_help_lists_every_choice_in_full(path, columns, cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    command = dict(ALL)[path]
    r = cli(*path, "--help")
    assert r.code == 0
    assert "…" not in r.out and "╭" not in r.out  # no truncation, no box
    for param in command.params:
        for choice in _choices(param):
            assert choice in r.out, (path, param.name, choice)


def test_a_closed_pipe_is_quiet() -> None:
    """``ganscope ... | head``: the reader leaving is no bug, so no traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "ganscope", "gan", "train", "--help"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1 and b"Traceback" not in err and b"Broken" not in err
