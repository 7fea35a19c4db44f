"""Issue #17, items 2-4 and issue #12, item 4: files that are skipped decide nothing, odd files do
not crash anything, non-UTF-8 names are written losslessly, and every bad file is named in a
machine-readable output."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganscope.detectors import common_size
from ganscope.io import write_csv

BAD_BYTES = b"caf\xe9-latin1.png"  # not UTF-8: Python sees a lone surrogate in its name
BAD_NAME = os.fsdecode(BAD_BYTES)


def _png(path: Path, size: int) -> Path:
    Image.fromarray(np.full((size, size, 3), 128, np.uint8)).save(path)
    return path


# --- item 2: a skipped file must not decide the common size --------------------------------------


def test_common_size_ignores_files_too_small_to_use(tmp_path: Path) -> None:
    paths = [
        _png(tmp_path / "a.png", 16),
        _png(tmp_path / "b.png", 20),
        _png(tmp_path / "t.png", 1),
    ]
    errors: list = []
    assert common_size(paths, errors) == (16, 16)
    assert [(p.name, r) for p, r in errors] == [("t.png", "too small to analyze (1x1 < 8x8)")]


def test_one_tiny_image_does_not_ruin_detector_train(real_fake, tmp_path, cli) -> None:
    real, fake = real_fake
    _png(real / "tiny.png", 1)
    r = cli("detector", "train", "--real", real, "--fake", fake, "--method", "logreg",
            "--out", tmp_path / "m")  # fmt: skip
    assert r.code == 0, r.err
    assert "(16x16)" in r.out and "(1x1)" not in r.out
    rows = list(csv.reader((tmp_path / "m" / "errors.csv").open()))
    assert rows[0] == ["path", "error"] and [Path(p).name for p, _ in rows[1:]] == ["tiny.png"]


# --- item 3: gan train on a folder with a symlink loop and a non-UTF-8 name -----------------------


def test_gan_train_survives_odd_files(tmp_path, pngs, cli, caplog) -> None:
    data = pngs(tmp_path / "data", 6)
    (data / "loop.png").symlink_to(data / "loop.png")  # ELOOP when stat'ed
    _png(data / BAD_NAME, 16)
    r = cli("gan", "train", "--data", data, "--upsample", "nearest", "--out", tmp_path / "run",
            "--size", "16", "--steps", "1", "--batch-size", "4", "--width", "4",
            "--checkpoint-every", "1", "--device", "cpu")  # fmt: skip
    assert r.code == 0, r.err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["n_images"] == 7  # six plus the non-UTF-8 one; the loop is skipped


# --- item 4: non-UTF-8 names, losslessly and the same way in every output -------------------------


@pytest.fixture
def odd_folder(tmp_path, pngs) -> Path:
    folder = pngs(tmp_path / "imgs", 2)
    _png(folder / BAD_NAME, 16)
    return folder


def test_write_csv_keeps_the_name_bytes(tmp_path) -> None:
    write_csv(tmp_path / "x.csv", ["path"], [[str(Path("d") / BAD_NAME)]])
    assert (tmp_path / "x.csv").read_bytes() == b"path\r\nd/" + BAD_BYTES + b"\r\n"


def test_detect_csv_and_json_keep_non_utf8_names(odd_folder, spectral_model, tmp_path, cli):
    r = cli("detect", odd_folder, "--model", spectral_model,
            "--csv", tmp_path / "r.csv", "--json", tmp_path / "r.json")  # fmt: skip
    assert r.code == 0, r.err
    # CSV: the file system's bytes, exactly.
    lines = (tmp_path / "r.csv").read_bytes().splitlines()
    assert any(line.startswith(os.fsencode(odd_folder / BAD_NAME) + b",") for line in lines)
    # JSON: escaped (\udce9), and json.loads + os.fsencode give the same bytes back.
    results = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["results"]
    assert os.fsencode(odd_folder / BAD_NAME) in [os.fsencode(x["path"]) for x in results]


def test_detect_prints_non_utf8_names_under_strict_utf8(odd_folder, spectral_model) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganscope",
            "-q",
            "detect",
            str(odd_folder),
            "--model",
            str(spectral_model),
        ],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert os.fsencode(odd_folder / BAD_NAME) in proc.stdout
    assert len(proc.stdout.splitlines()) == 3


def test_spectrum_csv_keeps_non_utf8_names(odd_folder, tmp_path, cli) -> None:
    r = cli("spectrum", odd_folder, "--csv", tmp_path / "s.csv", "--bins", "8")
    assert r.code == 0, r.err
    assert os.fsencode(odd_folder / BAD_NAME) + b"," in (tmp_path / "s.csv").read_bytes()


# --- issue #12, item 4: every bad file named in a machine-readable output -------------------------


@pytest.fixture
def seven_bad(tmp_path, pngs) -> Path:
    """Two good images and seven bad files (more than the five the stderr summary shows)."""
    folder = pngs(tmp_path / "mixed", 2)
    for i in range(4):
        (folder / f"empty{i}.png").write_bytes(b"")
    for i in range(2):
        (folder / f"text{i}.jpg").write_bytes(b"not an image")
    _png(folder / "tiny.png", 2)
    return folder


def test_detect_names_every_bad_file(seven_bad, spectral_model, tmp_path, cli) -> None:
    r = cli("detect", seven_bad, "--model", spectral_model, "--csv", tmp_path / "r.csv",
            "--json", tmp_path / "r.json")  # fmt: skip
    assert r.code == 0, r.err
    assert "... and 2 more" in r.err and "all 7 listed in" in r.err
    listed = list(csv.DictReader((tmp_path / "r.errors.csv").open(encoding="utf-8")))
    from_json = json.loads((tmp_path / "r.json").read_text())["errors"]
    for rows in (listed, from_json):
        assert len(rows) == 7 and all(row["error"] for row in rows)
        assert {Path(row["path"]).name for row in rows} == {
            *(f"empty{i}.png" for i in range(4)),
            "text0.jpg",
            "text1.jpg",
            "tiny.png",
        }


def test_detect_without_outputs_says_how_to_list_them(seven_bad, spectral_model, cli) -> None:
    r = cli("detect", seven_bad, "--model", spectral_model)
    assert r.code == 0 and "give --json FILE or --csv FILE to list all 7" in r.err


def test_detector_eval_and_train_name_every_bad_file(seven_bad, real_fake, tmp_path, cli):
    real, fake = real_fake
    r = cli("detector", "train", "--real", real, "--real", seven_bad, "--fake", fake,
            "--method", "logreg", "--out", tmp_path / "m")  # fmt: skip
    assert r.code == 0, r.err
    assert len(list(csv.DictReader((tmp_path / "m" / "errors.csv").open()))) == 7
    r = cli("detector", "eval", tmp_path / "m", "--real", real, "--real", seven_bad,
            "--fake", fake, "--json", tmp_path / "e.json", "--bootstrap", "10")  # fmt: skip
    assert r.code == 0, r.err
    assert len(json.loads((tmp_path / "e.json").read_text())["errors"]) == 7
