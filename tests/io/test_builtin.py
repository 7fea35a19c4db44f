"""The built-in corpus: deterministic, unresampled crops with a manifest."""

from __future__ import annotations

import csv
import hashlib
import logging

import numpy as np
import pytest
from PIL import Image

from ganscope.errors import GanscopeError
from ganscope.io import PHOTOS, write_builtin
from ganscope.io.builtin import plan_crops


def _digest(folder) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.name != "config.json":
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    write_builtin(tmp_path / "a", size=16, count=12, seed=3)
    write_builtin(tmp_path / "b", size=16, count=12, seed=3)
    write_builtin(tmp_path / "c", size=16, count=12, seed=4)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_crops_are_exact_pixels_of_the_photo(tmp_path):
    paths = write_builtin(tmp_path, size=24, count=6, seed=0)
    with open(tmp_path / "manifest.csv") as fh:
        rows = list(csv.DictReader(fh))
    by_name = {p.name: p for p in PHOTOS}
    for path, row in zip(paths, rows, strict=True):
        photo = np.asarray(Image.open(by_name[row["photo"]].path).convert("RGB"))
        top, left = int(row["top"]), int(row["left"])
        expected = photo[top : top + 24, left : left + 24]
        np.testing.assert_array_equal(np.asarray(Image.open(path)), expected)


def test_train_and_test_regions_do_not_overlap():
    size = 32
    sizes = {p.name: Image.open(p.path).size for p in PHOTOS}
    for c in plan_crops(size=size, count=300, seed=1, split="train"):
        w = sizes[c.photo][0]
        assert c.left + size <= round(w * 0.75)
    for c in plan_crops(size=size, count=300, seed=1, split="test"):
        w = sizes[c.photo][0]
        assert c.left >= round(w * 0.75) and c.left + size <= w


def test_write_builtin_checks_its_folder_first_and_says_what_it_wrote(tmp_path, caplog):
    (tmp_path / "file").write_text("x")
    with pytest.raises(GanscopeError, match="is a file, not a folder"):
        write_builtin(tmp_path / "file" / "crops", size=16, count=2)
    with caplog.at_level(logging.INFO, logger="ganscope"):
        paths = write_builtin(tmp_path / "crops", size=16, count=3)
    assert len(paths) == 3
    assert f"wrote 3 crops of 16x16 to {tmp_path / 'crops'}" in caplog.messages
