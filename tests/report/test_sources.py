"""``write_spectrum_outputs``: what ``ganscope spectrum`` writes, called without the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from ganscope.errors import GanscopeError
from ganscope.report.sources import SpectrumSettings, summary_table, write_spectrum_outputs


@pytest.fixture
def folders(tmp_path):
    rng = np.random.default_rng(0)
    out = []
    for name, n in (("real", 3), ("fake", 2)):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(n):
            pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
        out.append(folder)
    (out[1] / "broken.png").write_bytes(b"not an image")
    return out


def test_every_output_is_written(folders, tmp_path):
    out = tmp_path / "out"
    settings = SpectrumSettings(bins=8, csv=out / "f.csv", json=out / "s.json", plot=out / "p.png")
    analysis = write_spectrum_outputs(folders, settings, device="cpu")
    assert {n: s.count for n, s in analysis.sources.items()} == {"real": 3, "fake": 2}
    with open(out / "f.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["path", *(f"f{i}" for i in range(8))] and len(rows) == 1 + 5
    summary = json.loads((out / "s.json").read_text())
    assert summary["bins"] == 8 and [e["path"] for e in summary["errors"]] == [
        str(folders[1] / "broken.png")
    ]
    assert (out / "p.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "f.errors.csv").exists()
    table, what = summary_table(analysis)
    assert table.row_count == 2 and "cycles/pixel" in what


def test_no_output_asked_writes_nothing(folders, tmp_path):
    before = sorted(tmp_path.rglob("*"))
    analysis = write_spectrum_outputs(folders, SpectrumSettings(kind="fft2d"), device="cpu")
    assert analysis.kind == "fft2d" and sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({"plot": "p.jpg"}, "--plot must end with .png, .pdf, .svg"),
        ({"csv": "file/f.csv"}, "is a file, not a folder"),
        ({"json": "dir.json"}, "is an existing folder"),
    ],
)
def test_outputs_are_checked_before_any_image_is_read(tmp_path, outputs, message):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.json").mkdir()
    paths = {k: tmp_path / v for k, v in outputs.items()}
    with pytest.raises(GanscopeError, match=message):
        # the folder is checked later
        write_spectrum_outputs([tmp_path / "missing"], SpectrumSettings(**paths))


@pytest.mark.parametrize(("field", "option"), [("bins", "--bins"), ("batch_size", "--batch-size")])
def test_settings_refuse_zero(field, option):
    with pytest.raises(GanscopeError, match=f"^{option} must be at least 1, not 0$"):
        SpectrumSettings(**{field: 0})
