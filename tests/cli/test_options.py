"""Shared CLI options: output checks, device names, choices, lossless printing."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
import torch

from ganscope.cli.options import (
    choice_enum,
    echo_lossless,
    positive,
    resolve_device,
    writable_parent,
)
from ganscope.errors import GanscopeError


def test_writable_parent(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.json").mkdir()
    writable_parent(tmp_path / "new" / "deeper", folder=True)  # may be created
    writable_parent(tmp_path / "new.json", folder=False)
    with pytest.raises(GanscopeError, match="existing file, not a folder"):
        writable_parent(tmp_path / "file", folder=True)
    with pytest.raises(GanscopeError, match="existing folder"):
        writable_parent(tmp_path / "dir.json")  # guessed from the suffix
    with pytest.raises(GanscopeError, match="is a file, not a folder"):
        writable_parent(tmp_path / "file" / "x.json")


def test_resolve_device() -> None:
    assert resolve_device("CPU") == torch.device("cpu")
    for bad in ("gpu", "cuda:x", "cuda:-1"):
        with pytest.raises(GanscopeError, match="auto, cpu, cuda or cuda:N"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:0"):
            with pytest.raises(GanscopeError, match="no CUDA device"):
                resolve_device(name)


def test_choice_enum_and_positive() -> None:
    E = choice_enum("E", ["a-b", "c"])
    assert [e.value for e in E] == ["a-b", "c"] and E("c") == "c"
    positive(None, "--x")
    positive(0, "--x", minimum=0)
    with pytest.raises(GanscopeError, match="--x must be at least 1, not 0"):
        positive(0, "--x")


def test_echo_lossless_writes_the_name_bytes(monkeypatch) -> None:
    raw = io.BytesIO()
    strict = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")  # PYTHONIOENCODING=utf-8
    monkeypatch.setattr(sys, "stdout", strict)
    echo_lossless("0.5\treal\t" + os.fsdecode(b"a\xe9.png"))
    assert raw.getvalue() == b"0.5\treal\ta\xe9.png\n"
