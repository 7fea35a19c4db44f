"""``ganscope detector train|eval`` and ``ganscope detect``: exit codes and JSON contracts."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganscope.cli import main
from ganscope.detectors import resnet_small

METRIC_KEYS = {"ap", "roc_auc", "accuracy", "real_accuracy", "fake_accuracy", "n_real", "n_fake"}


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["-q", *map(str, args)])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture(scope="module")
def logreg_model(image_folders, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "logreg"
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "-q",
                "detector",
                "train",
                "--real",
                str(image_folders / "real"),
                "--fake",
                str(image_folders / "gan"),
                "--method",
                "logreg",
                "--out",
                str(out),
            ]
        )
    assert exc.value.code == 0
    return out


def test_train_writes_model_folder(logreg_model):
    assert (logreg_model / "model.safetensors").exists()
    config = json.loads((logreg_model / "config.json").read_text())
    assert config["class"] == "spectral"
    assert config["settings"]["classifier"] == "logreg"
    assert "ganscope_version" in config


def test_eval_json_contract(logreg_model, image_folders, tmp_path, capsys):
    path = tmp_path / "eval.json"
    code, out, err = run(
        [
            "detector",
            "eval",
            logreg_model,
            "--real",
            image_folders / "real",
            "--fake",
            image_folders / "gan",
            "--fake",
            image_folders / "gan2",
            "--json",
            path,
            "--bootstrap",
            "100",
        ],
        capsys,
    )
    assert code == 0, err
    result = json.loads(path.read_text())
    assert set(result["per_source"]) == {"gan", "gan2"}
    for m in [result["overall"], *result["per_source"].values()]:
        assert set(m) >= METRIC_KEYS
    assert result["overall"]["n_real"] == 24
    assert result["overall"]["n_fake"] == 24 + 16  # the broken file is skipped
    assert result["per_source"]["gan2"]["ap"] > 0.95
    assert "broken.png" in err
    assert "gan2" in out and "AP" in out


def test_detect_json_csv_and_errors(logreg_model, image_folders, tmp_path, capsys):
    jpath, cpath = tmp_path / "d.json", tmp_path / "d.csv"
    code, _out, err = run(
        [
            "detect",
            "--model",
            logreg_model,
            image_folders / "gan",
            image_folders / "real" / "000.png",
            "--json",
            jpath,
            "--csv",
            cpath,
            "--batch-size",
            "7",
        ],
        capsys,
    )
    assert code == 0, err
    result = json.loads(jpath.read_text())
    assert result["model"] == str(logreg_model)
    assert len(result["results"]) == 25
    assert all(set(r) >= {"path", "prob_fake", "label"} for r in result["results"])
    assert {r["label"] for r in result["results"]} <= {"fake", "real"}
    assert [e["path"] for e in result["errors"]] == [str(image_folders / "gan" / "broken.png")]
    labels = {r["path"]: r["label"] for r in result["results"]}
    assert labels[str(image_folders / "real" / "000.png")] == "real"
    assert sum(v == "fake" for v in labels.values()) >= 22
    rows = list(csv.reader(cpath.open()))
    assert rows[0] == ["path", "prob_fake", "label"] and len(rows) == 26


def test_detect_prints_lines_without_outputs(logreg_model, image_folders, capsys):
    code, out, _ = run(["detect", "--model", logreg_model, image_folders / "gan2"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 16 and lines[0].split("\t")[1] in ("fake", "real")


def test_detect_without_model_uses_the_shipped_default(image_folders, tmp_path, capsys):
    jpath = tmp_path / "d.json"
    (image_folders / "broken.png").write_bytes(b"")
    try:
        code, _, _ = run(["detect", image_folders, "--json", jpath], capsys)
    finally:
        (image_folders / "broken.png").unlink()
    assert code == 0
    doc = json.loads(jpath.read_text())
    assert "default_detector" in doc["model"]
    assert doc["results"] and all(r["label"] in ("fake", "real") for r in doc["results"])
    assert all(0.0 <= r["prob_fake"] <= 1.0 for r in doc["results"])
    assert str(image_folders / "broken.png") in [e["path"] for e in doc["errors"]]


@pytest.mark.parametrize(
    "args",
    [
        [
            "detector",
            "train",
            "--real",
            "missing",
            "--fake",
            "gan",
            "--method",
            "logreg",
            "--out",
            "m",
        ],
        [
            "detector",
            "train",
            "--real",
            "real",
            "--fake",
            "gan",
            "--method",
            "cnn",
            "--features",
            "azimuthal",
            "--out",
            "m",
        ],
        [
            "detector",
            "train",
            "--real",
            "real",
            "--fake",
            "gan",
            "--method",
            "logreg",
            "--features",
            "npr",
            "--out",
            "m",
        ],
        ["detector", "eval", "no-such-model", "--real", "real", "--fake", "gan"],
        ["detect", "--model", "no-such-model", "gan"],
    ],
)
def test_bad_usage_is_exit_2(args, image_folders, capsys, monkeypatch):
    monkeypatch.chdir(image_folders)
    code, _, err = run(args, capsys)
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err


def test_train_method_is_validated(image_folders, tmp_path, capsys):
    code, _, _ = run(
        [
            "detector",
            "train",
            "--real",
            image_folders / "real",
            "--fake",
            image_folders / "gan",
            "--method",
            "xgboost",
            "--out",
            tmp_path / "m",
        ],
        capsys,
    )
    assert code == 2


def test_kmeans_and_cnn_train_then_detect(image_folders, tmp_path, capsys):
    for method, extra in (
        ("kmeans", ["--features", "dct"]),
        ("cnn", ["--features", "dct", "--epochs", "1", "--crop", "28", "--device", "cpu",
                 "--eval-crop", "tiles", "--calibrate", "temperature", "--target-fpr", "0.05"]),
    ):  # fmt: skip
        out = tmp_path / method
        code, _, err = run(
            [
                "detector",
                "train",
                "--real",
                image_folders / "real",
                "--fake",
                image_folders / "gan",
                "--method",
                method,
                "--out",
                out,
                *extra,
            ],
            capsys,
        )
        assert code == 0, err
        jpath = tmp_path / f"{method}.json"
        code, _, err = run(
            ["detect", "--model", out, image_folders / "gan2", "--json", jpath], capsys
        )
        assert code == 0, err
        assert len(json.loads(jpath.read_text())["results"]) == 16
    settings = json.loads((tmp_path / "cnn" / "config.json").read_text())["settings"]
    assert settings["eval_crop"] == "tiles" and settings["calibrate"] == "temperature"
    assert settings["target_fpr"] == 0.05


def test_train_prints_bias_audit(image_folders, tmp_path, capsys):
    jpg = tmp_path / "jpeg_real"
    jpg.mkdir()
    for p in sorted((image_folders / "real").glob("*.png")):
        Image.open(p).convert("RGB").save(jpg / (p.stem + ".jpg"), quality=90)
    code, _, err = run(
        [
            "detector",
            "train",
            "--real",
            jpg,
            "--fake",
            image_folders / "gan2",
            "--method",
            "logreg",
            "--out",
            tmp_path / "m",
        ],
        capsys,
    )
    assert code == 0
    assert "bias audit" in err and "JPEG" in err


def test_foreign_weights_without_training(image_folders, tmp_path, capsys):
    torch.manual_seed(0)
    path = tmp_path / "weights.pth"
    torch.save({"model": resnet_small().state_dict()}, path)
    out = tmp_path / "imported"
    code, _, err = run(
        [
            "detector",
            "train",
            "--method",
            "cnn",
            "--arch",
            "resnet-small",
            "--weights",
            path,
            "--epochs",
            "0",
            "--crop",
            "32",
            "--device",
            "cpu",
            "--out",
            out,
        ],
        capsys,
    )
    assert code == 0, err
    jpath = tmp_path / "w.json"
    code, _, err = run(["detect", "--model", out, image_folders / "gan2", "--json", jpath], capsys)
    assert code == 0, err
    probs = [r["prob_fake"] for r in json.loads(jpath.read_text())["results"]]
    assert len(probs) == 16 and np.isfinite(probs).all()


@pytest.mark.parametrize(
    "extra", [["--target-fpr", "0.05"], ["--calibrate", "temperature", "--target-fpr", "1.5"]]
)
def test_bad_target_fpr_is_refused_before_reading_images(image_folders, tmp_path, capsys, extra):
    out = tmp_path / "m"
    code, _, err = run(
        ["detector", "train", "--real", image_folders / "real", "--fake", image_folders / "gan",
         "--method", "cnn", "--out", out, *extra],
        capsys,
    )  # fmt: skip
    assert code == 2 and "--target-fpr" in err and len(err.strip().splitlines()) == 1
    assert not (out / "errors.csv").exists()


def test_members_train_an_ensemble_that_detect_loads(image_folders, tmp_path, capsys):
    out = tmp_path / "pair"
    code, said, err = run(
        ["detector", "train", "--real", image_folders / "real", "--fake", image_folders / "gan",
         "--method", "cnn", "--features", "npr", "--epochs", "1", "--crop", "28", "--device",
         "cpu", "--members", "2", "--out", out],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "best epochs 1 of 1, 1 of 1" in said + err
    assert json.loads((out / "config.json").read_text())["settings"]["members"] == 2
    code, _, err = run(
        ["detect", "--model", out, image_folders / "gan2", "--json", tmp_path / "p.json"], capsys
    )
    assert code == 0, err
    code, _, err = run(
        ["detector", "train", "--real", image_folders / "real", "--fake", image_folders / "gan",
         "--method", "cnn", "--members", "0", "--out", tmp_path / "none"],
        capsys,
    )  # fmt: skip
    assert code == 2 and "--members" in err and len(err.strip().splitlines()) == 1
