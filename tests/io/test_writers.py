"""Atomic writers: what a failed write leaves (nothing), lossless file names, bad-file lists."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from ganscope.errors import GanscopeError
from ganscope.io import (
    atomic_path,
    errors_csv_path,
    errors_json,
    is_temp_name,
    remove_stale_temp_files,
    write_errors_csv,
    write_json,
    write_text,
)
from ganscope.io.writers import json_text

ODD = os.fsdecode(b"\xff\xfe.png")  # two bytes that are not UTF-8


def test_success_renames_and_gives_ordinary_permissions(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "a" / "b.txt") as tmp:
        assert is_temp_name(tmp.name) and tmp.parent == tmp_path / "a"
        tmp.write_text("x")
    assert (tmp_path / "a" / "b.txt").read_text() == "x"
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a" / "b.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert os.listdir(tmp_path / "a") == ["b.txt"]


def test_failure_removes_the_temp_file_and_the_folders_it_made(tmp_path: Path) -> None:
    (tmp_path / "keep").mkdir()
    target = tmp_path / "keep" / "a" / "b" / "c.txt"
    full = pytest.raises(GanscopeError, match=r"cannot write .*c\.txt: No space left on device")
    with full, atomic_path(target) as tmp:
        tmp.write_text("half")
        raise OSError(28, os.strerror(28))
    assert os.listdir(tmp_path / "keep") == []  # a/ and a/b/ were made by the write: gone


def test_rust_io_errors_become_one_line(tmp_path: Path) -> None:
    full = pytest.raises(GanscopeError, match="No space left on device")
    with full, atomic_path(tmp_path / "m.safetensors"):
        raise RuntimeError(
            "Error while serializing: I/O error: No space left on device (os error 28)"
        )


def test_other_errors_are_not_disguised(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), atomic_path(tmp_path / "x.txt"):
        1 / 0  # noqa: B018  (a bug stays a bug: exit 1 with its traceback)
    assert os.listdir(tmp_path) == []


def test_writing_over_a_folder_or_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    with pytest.raises(GanscopeError, match="is an existing folder"):
        write_json(tmp_path / "d.json", {})
    (tmp_path / "f").write_text("x")
    with pytest.raises(GanscopeError, match="cannot write"):
        write_text(tmp_path / "f" / "x.txt", "y")


def test_non_utf8_names_round_trip(tmp_path: Path) -> None:
    write_text(tmp_path / "t.txt", f"dir/{ODD}")
    assert (tmp_path / "t.txt").read_bytes() == b"dir/\xff\xfe.png"
    back = json.loads(json_text({"path": ODD}))["path"]
    assert os.fsencode(back) == b"\xff\xfe.png"


def test_errors_csv_beside_the_csv_lists_every_file(tmp_path: Path) -> None:
    assert (
        errors_csv_path(tmp_path / "out" / "scores.csv") == tmp_path / "out" / "scores.errors.csv"
    )
    bad = [(Path(f"x{i}.png"), "empty file (0 bytes)") for i in range(300)] + [(Path(ODD), "odd")]
    write_errors_csv(tmp_path / "e.csv", bad)
    with open(tmp_path / "e.csv", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["path", "error"] and len(rows) == 302 and rows[-1] == [ODD, "odd"]
    assert errors_json(bad[:1]) == [{"path": "x0.png", "error": "empty file (0 bytes)"}]


def test_stale_temp_files_are_recognised_and_removed(tmp_path: Path) -> None:
    (tmp_path / "figures").mkdir()
    stale = tmp_path / "figures" / ".samples.png.k3j_x9a2.png"
    stale.write_bytes(b"")
    keep = [tmp_path / "figures" / "samples.png", tmp_path / ".hidden", tmp_path / ".a.b.png"]
    for p in keep:
        p.write_bytes(b"")
    assert remove_stale_temp_files(tmp_path) == [stale]
    assert all(p.exists() for p in keep) and not stale.exists()
