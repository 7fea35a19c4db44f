"""Dataset layouts and atomic writers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganscope.errors import GanscopeError
from ganscope.io import atomic_path, load_labeled, write_csv, write_json


def _img(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    return path


def test_flat_folders(tmp_path):
    _img(tmp_path / "real" / "a.png")
    _img(tmp_path / "gan_a" / "x.png")
    _img(tmp_path / "other" / "1_fake" / "y.png")
    s = load_labeled([tmp_path / "real"], [tmp_path / "gan_a", tmp_path / "other" / "1_fake"])
    assert [p.name for p in s.real] == ["a.png"]
    assert sorted(s.fakes) == ["gan_a", "other"]
    assert s.n_fake == 2


def test_cnndetection_tree_nested(tmp_path):
    root = tmp_path / "test"
    _img(root / "progan" / "cat" / "0_real" / "r1.png")
    _img(root / "progan" / "cat" / "1_fake" / "f1.png")
    _img(root / "progan" / "dog" / "0_real" / "r2.png")
    _img(root / "progan" / "dog" / "1_fake" / "f2.png")
    _img(root / "stylegan" / "0_real" / "r3.png")
    _img(root / "stylegan" / "1_fake" / "f3.png")
    s = load_labeled([], [root])
    assert sorted(s.fakes) == ["progan/cat", "progan/dog", "stylegan"]
    assert sorted(p.name for p in s.real) == ["r1.png", "r2.png", "r3.png"]
    # the generator folder itself is a tree whose 1_fake sits directly inside it
    s2 = load_labeled([], [root / "stylegan"])
    assert list(s2.fakes) == ["stylegan"]


def test_duplicate_source_names_are_kept_apart(tmp_path):
    _img(tmp_path / "a" / "fake" / "1.png")
    _img(tmp_path / "b" / "fake" / "2.png")
    _img(tmp_path / "r" / "3.png")
    s = load_labeled([tmp_path / "r"], [tmp_path / "a" / "fake", tmp_path / "b" / "fake"])
    assert sorted(s.fakes) == ["fake", "fake-2"]


def test_missing_and_empty_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    _img(tmp_path / "r" / "a.png")
    with pytest.raises(GanscopeError, match="not found"):
        load_labeled([tmp_path / "nope"], [tmp_path / "r"])
    with pytest.raises(GanscopeError, match="no images"):
        load_labeled([tmp_path / "r"], [tmp_path / "empty"])


def test_atomic_writers(tmp_path):
    write_json(tmp_path / "a.json", {"x": np.float32(1.5), "p": Path("q")})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1.5, "p": "q"}
    write_csv(tmp_path / "b.csv", ["a", "b"], ([i, i * i] for i in range(3)))
    assert (tmp_path / "b.csv").read_text().splitlines() == ["a,b", "0,0", "1,1", "2,4"]
    # a failing writer leaves neither the target nor a temporary file behind
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "c.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.csv"]
    # an existing file is replaced only when the new one is complete
    (tmp_path / "d.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "d.txt") as tmp:
        tmp.write_text("new")
        raise RuntimeError("boom")
    assert (tmp_path / "d.txt").read_text() == "old"


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    write_json(tmp_path / "a.json", {})
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
