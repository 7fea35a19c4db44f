"""`ganscope seeing fsd` and `ganscope seeing invert` end to end on tiny inputs."""

from __future__ import annotations

import json

import pytest
import torch


def _cli(args, capsys):
    from ganscope.cli import main

    with pytest.raises(SystemExit) as ex:
        main(["-q", *args])
    out = capsys.readouterr()
    return ex.value.code, out.out, out.err


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    from ganscope.dissect.scenes import write_scenes

    root = tmp_path_factory.mktemp("scenes")
    write_scenes(root / "real", count=24, seed=7_000_000, size=32)
    write_scenes(root / "gen", count=24, seed=7_100_000, size=32, without=["house"])
    return root


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from ganscope.checkpoint import save_checkpoint
    from ganscope.generators import create_generator

    torch.manual_seed(0)
    G = create_generator("dcgan", size=32, upsample="transposed", latent_dim=8, width=4)
    run = tmp_path_factory.mktemp("run")
    save_checkpoint(
        run / "generator", G.state_dict(), {"family": "dcgan", "settings": G.settings()}
    )
    return run


def test_fsd_json_and_plot(scenes, tmp_path, capsys):
    (scenes / "gen" / "images" / "broken.png").write_bytes(b"\x89PNG but not really")
    js, plot = tmp_path / "fsd.json", tmp_path / "chart.png"
    code, out, err = _cli(
        [
            "seeing",
            "fsd",
            str(scenes / "real" / "images"),
            str(scenes / "gen" / "images"),
            "--json",
            str(js),
            "--plot",
            str(plot),
            "--bootstrap",
            "20",
        ],
        capsys,
    )
    assert code == 0, err
    assert out.startswith("FSD ")
    doc = json.loads(js.read_text())
    assert set(doc) >= {"fsd", "fsd_ci", "per_class"}
    lo, hi = doc["fsd_ci"]
    assert 0 <= lo <= hi and isinstance(doc["fsd"], float)
    house = doc["per_class"]["house"]
    assert set(house) >= {"real", "generated", "real_presence", "generated_presence"}
    assert house["real"] > 0.01 and house["generated"] < 0.002
    assert [e["path"].endswith("broken.png") for e in doc["errors"]] == [True]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "extra",
    [
        ["--segmenter", "nope"],
        ["--bootstrap", "1"],
    ],
)
def test_fsd_bad_input_is_one_line_exit_2(scenes, tmp_path, capsys, extra):
    code, _, err = _cli(
        ["seeing", "fsd", str(scenes / "real" / "images"), str(scenes / "gen" / "images"), *extra],
        capsys,
    )
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")


def test_fsd_missing_folder(tmp_path, capsys):
    code, _, err = _cli(["seeing", "fsd", str(tmp_path / "a"), str(tmp_path / "b")], capsys)
    assert code == 2 and "not found" in err


def test_invert_writes_everything_and_reuses_its_encoder(run_dir, scenes, tmp_path, capsys):
    out = tmp_path / "inv"
    args = [
        "seeing",
        "invert",
        str(run_dir),
        "--images",
        str(scenes / "real" / "images"),
        "--out",
        str(out),
        "--count",
        "3",
        "--encoder-steps",
        "3",
        "--steps",
        "5",
        "--device",
        "cpu",
    ]
    code, stdout, err = _cli(args, capsys)
    assert code == 0, err
    assert "MSE encoder-only" in stdout
    for name in ("grid.png", "segmentation.png", "errors.csv", "results.json", "config.json"):
        assert (out / name).is_file(), name
    assert len(list((out / "reconstructions").glob("*.png"))) == 3
    res = json.loads((out / "results.json").read_text())
    assert res["layers"] == ["project_norm"] and res["n_images"] == 3
    for img in res["images"]:
        assert img["mse_optimized"] <= img["mse_encoder"] + 1e-6
    assert set(res["per_class"]["house"]) == {"real", "encoder", "optimized"}
    rows = (out / "errors.csv").read_text().splitlines()
    assert rows[0].startswith("path,mse_encoder,mse_optimized") and len(rows) == 4
    weights = out / "encoder" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    code, _, err = _cli(args, capsys)
    assert code == 0, err
    assert weights.stat().st_mtime_ns == stamp  # the encoder was reused, not retrained


def test_invert_bad_layer_and_missing_images(run_dir, tmp_path, capsys):
    code, _, err = _cli(
        [
            "seeing",
            "invert",
            str(run_dir),
            "--images",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 2 and "not found" in err
    (tmp_path / "imgs").mkdir()
    from ganscope.io import save_png

    save_png(tmp_path / "imgs" / "a.png", torch.rand(3, 32, 32))
    code, _, err = _cli(
        [
            "seeing",
            "invert",
            str(run_dir),
            "--images",
            str(tmp_path / "imgs"),
            "--out",
            str(tmp_path / "o"),
            "--layer",
            "to_rgb",
        ],
        capsys,
    )
    assert code == 2 and "to_rgb" in err
