import csv
import json

import numpy as np
import pytest
import torch

from ganscope.cli import main
from ganscope.io import center_crop_array
from ganscope.io.luma import load_luma
from ganscope.spectrum import durall_features, extract_features


def run(argv):
    with pytest.raises(SystemExit) as exc:
        main(["-q", *argv])
    return exc.value.code


def _luma(path, size=None):
    """The 8-bit luma ``spectrum`` reads, as a (1, 1, H, W) float64 tensor in [0, 1]."""
    arr = load_luma(path)[:, :, None]
    if size is not None:
        arr = center_crop_array(arr, *size)
    return torch.from_numpy(arr[:, :, 0].astype(np.float64) / 255.0)[None, None]


def _features(path, size, kind="azimuthal", **kw):
    return extract_features(_luma(path, size).float(), kind, **kw)[0].numpy()


def test_csv_json_and_plot(image_dirs, tmp_path, capsys):
    out = tmp_path / "out"
    code = run(
        [
            "spectrum",
            str(image_dirs["real"]),
            str(image_dirs["fake"]),
            str(image_dirs["other"]),
            "--csv",
            str(out / "f.csv"),
            "--json",
            str(out / "s.json"),
            "--plot",
            str(out / "p.png"),
            "--batch-size",
            "4",
        ]
    )
    assert code == 0
    with open(out / "f.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header[0] == "path" and header[1:] == [f"f{i}" for i in range(len(header) - 1)]
    assert len(body) == 13  # 6 + 4 + 3 readable images, bad files have no row
    by_path = {r[0]: np.array(r[1:], dtype=np.float64) for r in body}
    first = sorted(image_dirs["real"].glob("*.png"))[0]
    np.testing.assert_allclose(
        by_path[str(first)], _features(first, (24, 24)), rtol=1e-6, atol=1e-4
    )

    report = json.loads((out / "s.json").read_text())
    assert list(report["sources"]) == ["real", "fake", "real-2"]
    assert report["size"] == [24, 24] and report["n_cropped"] == 4
    fake_rows = np.stack([v for k, v in by_path.items() if "/fake/" in k])
    np.testing.assert_allclose(report["sources"]["fake"]["mean"], fake_rows.mean(0), atol=1e-4)
    np.testing.assert_allclose(
        report["sources"]["fake"]["std"], fake_rows.std(0, ddof=1), atol=1e-4
    )
    assert len(report["frequencies"]["azimuthal"]) == len(header) - 1
    errors = {e["path"].rsplit("/", 1)[-1]: e["error"] for e in report["errors"]}
    assert set(errors) == {"broken.png", "tiny.png"}
    assert (out / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["f.csv", "f.errors.csv", "p.png", "s.json"]
    with open(out / "f.errors.csv", newline="") as fh:
        listed = list(csv.reader(fh))
    assert listed[0] == ["path", "error"]
    assert {r[0]: r[1] for r in listed[1:]} == {e["path"]: e["error"] for e in report["errors"]}
    assert "centre-cropped to 24x24" in capsys.readouterr().err


def test_every_bad_file_is_named(image_dirs, tmp_path, capsys):
    # four bad files: the stderr line shows three, the errors CSV and the JSON list all four
    fake = image_dirs["fake"]
    (fake / "empty.png").write_bytes(b"")
    (fake / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    out = tmp_path / "o"
    argv = ["spectrum", str(fake), "--csv", str(out / "f.csv"), "--json", str(out / "s.json")]
    assert run(argv) == 0
    err = capsys.readouterr().err
    assert "skipped 4 bad file(s)" in err and "(and 1 more)" in err and "f.errors.csv" in err
    with open(out / "f.errors.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    names = {r[0].rsplit("/", 1)[-1] for r in rows}
    assert names == {"broken.png", "tiny.png", "empty.png", "cut.jpg"}
    report = json.loads((out / "s.json").read_text())
    assert {e["path"].rsplit("/", 1)[-1] for e in report["errors"]} == names
    # a clean run leaves an errors CSV with the header only (no stale list from a former run)
    assert run(["spectrum", str(image_dirs["real"]), "--csv", str(out / "f.csv")]) == 0
    assert (out / "f.errors.csv").read_text().strip() == "path,error"


def test_help_lists_every_choice_at_80_columns(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exc:
        main(["spectrum", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "…" not in text
    flat = " ".join(text.split())
    assert "azimuthal|horizontal|vertical|projections|fft2d|dct" in flat.replace(" ", "")
    assert "<default|durall>" in flat
    assert max(len(line) for line in text.splitlines()) <= 80


def test_durall_preset_through_the_cli(image_dirs, tmp_path):
    out = tmp_path / "d.csv"
    assert (
        run(
            [
                "spectrum",
                str(image_dirs["fake"]),
                "--preset",
                "durall",
                "--bins",
                "20",
                "--csv",
                str(out),
            ]
        )
        == 0
    )
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    for row in rows:
        expected = durall_features(_luma(row[0]), bins=20)[0].numpy()
        # float64 features written with 17 digits, yet not bit-exact: these fakes are nearest
        # up-sampled, so whole rows of their spectrum are exactly zero, and there 20 ln|F + 1e-8|
        # reads FFT rounding noise (~1e-13), which differs between the command's batched FFT and
        # a single image's (seen: 1.5e-6 relative in a few bins; elsewhere ~1e-16).
        np.testing.assert_allclose(np.array(row[1:], dtype=float), expected, rtol=1e-5, atol=0)


def test_summary_table_without_outputs(image_dirs, capsys):
    assert (
        run(["spectrum", str(image_dirs["real"]), str(image_dirs["fake"]), "--kind", "vertical"])
        == 0
    )
    stdout = capsys.readouterr().out
    assert "real" in stdout and "fake" in stdout and "v@0.25" in stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["spectrum", "{missing}"],
        ["spectrum", "{empty}"],
        ["spectrum", "{real}", "--kind", "fft2d", "--bins", "8"],
        ["spectrum", "{real}", "--kind", "dct", "--preset", "durall"],
        ["spectrum", "{real}", "--plot", "{tmp}/p.txt"],
        ["spectrum", "{real}", "--kind", "radial"],
    ],
)
def test_bad_input_exits_2_with_one_line(image_dirs, tmp_path, capsys, argv):
    (tmp_path / "empty").mkdir()
    fill = {
        "missing": str(tmp_path / "nope"),
        "empty": str(tmp_path / "empty"),
        "real": str(image_dirs["real"]),
        "tmp": str(tmp_path),
    }
    assert run([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1
    if "radial" in argv:  # a typo names every valid value
        assert all(k in err for k in ("azimuthal", "projections", "fft2d", "dct"))
