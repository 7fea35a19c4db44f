"""`ganscope dissect` / `intervene` on a tiny run folder, and the self-contained report."""

from __future__ import annotations

import json
import re

import pytest
import torch

from ganscope.dissect.report import outline_regions
from ganscope.report.html import data_uri_png


def _cli(args, capsys):
    from ganscope.cli import main

    with pytest.raises(SystemExit) as ex:
        main(["-q", *args])
    out = capsys.readouterr()
    return ex.value.code, out.out, out.err


def test_list_layers(run_dir, capsys):
    code, out, _ = _cli(["dissect", str(run_dir), "--list-layers"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("hookable layers")
    assert {"project_norm", "blocks.0", "to_rgb"} <= set(lines[1:])
    assert "project" not in lines[1:]  # a Linear: (B, C), not a feature map


def test_dissect_writes_results_and_report(run_dir, tmp_path, capsys):
    out_dir = tmp_path / "d"
    code, _, err = _cli(
        [
            "dissect",
            str(run_dir),
            "--layer",
            "blocks.0",
            "--layer",
            "project_norm",
            "--samples",
            "8",
            "--concepts",
            "colors",
            "--out",
            str(out_dir),
        ],
        capsys,
    )
    assert code == 0, err
    res = json.loads((out_dir / "results.json").read_text())
    layer = res["layers"]["blocks.0"]
    assert layer["n_units"] == 8 and len(layer["units"]) == 8
    assert layer["threshold_rule"]["quantile"] == 0.99
    assert set(res["summary"]) == {"blocks.0", "project_norm"}
    assert len(layer["iou"]) == 8 and len(layer["iou"][0]) == 11
    page = (out_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 8 + 16
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", page)  # opens offline
    assert json.loads((out_dir / "config.json").read_text())["samples"] == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dissect", "/nonexistent/run", "--list-layers"], "run folder not found"),
        (["dissect", "{run}", "--layer", "nope", "--out", "{tmp}/x"], "no layer named"),
        (["dissect", "{run}", "--out", "{tmp}/x"], "--layer is required"),
        (
            [
                "dissect",
                "{run}",
                "--layer",
                "blocks.0",
                "--concepts",
                "nonsense",
                "--out",
                "{tmp}/x",
            ],
            "--concepts must be",
        ),
        (
            [
                "intervene",
                "{run}",
                "--layer",
                "blocks.0",
                "--units",
                "1",
                "--mode",
                "bad",
                "--out",
                "{tmp}/x",
            ],
            "Invalid value for '--mode'",
        ),
        (
            ["intervene", "{run}", "--layer", "blocks.0", "--units", "a,b", "--out", "{tmp}/x"],
            "comma-separated",
        ),
        (
            [
                "intervene",
                "{run}",
                "--layer",
                "blocks.0",
                "--units",
                "1",
                "--where",
                "4,4,2,8",
                "--out",
                "{tmp}/x",
            ],
            "--where must be",
        ),
        (
            ["intervene", "{run}", "--layer", "blocks.0", "--units", "99", "--out", "{tmp}/x"],
            "unit indices",
        ),
    ],
)
def test_bad_input_exits_2(run_dir, tmp_path, capsys, args, message):
    args = [a.format(run=run_dir, tmp=tmp_path) for a in args]
    code, _, err = _cli(args, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_intervene_ablate_and_insert(run_dir, tmp_path, capsys):
    out_dir = tmp_path / "iv"
    code, _, err = _cli(
        [
            "intervene",
            str(run_dir),
            "--layer",
            "blocks.0",
            "--units",
            "0,1,2,3,4,5,6,7",
            "--mode",
            "ablate",
            "--n",
            "3",
            "--out",
            str(out_dir),
        ],
        capsys,
    )
    assert code == 0, err
    res = json.loads((out_dir / "results.json").read_text())
    assert res["mean_abs_change"] > 0
    assert sorted(p.name for p in (out_dir / "after").iterdir()) == [
        "seed000000.png",
        "seed000001.png",
        "seed000002.png",
    ]
    assert (out_dir / "grid.png").is_file()

    out2 = tmp_path / "ins"
    code, _, err = _cli(
        [
            "intervene",
            str(run_dir),
            "--layer",
            "blocks.0",
            "--units",
            "2",
            "--mode",
            "insert",
            "--where",
            "0,0,8,8",
            "--n",
            "2",
            "--concepts",
            "colors",
            "--concept",
            "green",
            "--stats-samples",
            "16",
            "--out",
            str(out2),
        ],
        capsys,
    )
    assert code == 0, err
    res = json.loads((out2 / "results.json").read_text())
    assert isinstance(res["value"], list) and len(res["value"]) == 1
    assert set(res["causal_effect"]) >= {"ace", "inserted", "ablated"}
    # Only the top-left quadrant's feature cells were edited; a 4x4 transposed conv spreads the
    # edit by at most 2 pixels, so the bottom-right quadrant is unchanged.
    import numpy as np
    from PIL import Image

    b = np.array(Image.open(out2 / "before" / "seed000000.png")).astype(int)
    a = np.array(Image.open(out2 / "after" / "seed000000.png")).astype(int)
    assert np.abs(a[10:, 10:] - b[10:, 10:]).max() == 0


def test_outline_regions():
    img = torch.zeros(1, 3, 6, 6)
    mask = torch.zeros(1, 6, 6, dtype=torch.bool)
    mask[0, 1:5, 1:5] = True
    out = outline_regions(img, mask)
    drawn = out[0, 0] > 0
    ring = mask[0].clone()
    ring[2:4, 2:4] = False
    assert torch.equal(drawn, ring)


def test_data_uri_png_roundtrip():
    import base64
    import io

    import numpy as np
    from PIL import Image

    img = torch.rand(3, 4, 5)
    uri = data_uri_png(img, scale=2)
    raw = base64.b64decode(uri.split(",", 1)[1])
    arr = np.array(Image.open(io.BytesIO(raw)))
    assert arr.shape == (8, 10, 3)
    assert np.abs(arr[::2, ::2] / 255 - img.permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6


@pytest.mark.slow
def test_scenes_demo_end_to_end(tmp_path):
    from ganscope.dissect.demo import ScenesDemoSettings, demo_summary, run_scenes_demo

    settings = ScenesDemoSettings(
        size=16, scenes=32, steps=2, width=8, batch_size=8, samples=8, causal_steps=2
    )
    res = run_scenes_demo(tmp_path / "demo", settings)
    assert res["settings"]["n_scenes"] == 32 and res["settings"]["causal_steps"] == 2
    assert demo_summary(res, "OUT").splitlines()[-1] == (
        "wrote OUT/report.html, OUT/results.json and OUT/figures"
    )
    assert set(res) >= {"summary", "layers", "causal", "artifacts", "timings_s"}
    assert res["causal"]["search"]["concept"] == "tree"
    assert [r["n_ablated"] for r in res["artifacts"]["ablation"]][:2] == [0, 1]
    for name in (
        "report.html",
        "results.json",
        "config.json",
        "figures/remove_tree.png",
        "figures/insert_tree.png",
        "figures/remove_tree_curve.png",
    ):
        assert (tmp_path / "demo" / name).is_file(), name
    page = (tmp_path / "demo" / "report.html").read_text()
    assert "Ablating the top" in page and "data:image/png;base64," in page
