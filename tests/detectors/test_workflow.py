"""``ganscope.detectors.workflow``: ``detector train|eval`` and ``detect`` without the CLI."""

from __future__ import annotations

import csv
import json
from enum import StrEnum
from pathlib import Path

import numpy as np
import pytest

from ganscope.detectors import SpectralKMeans
from ganscope.detectors.settings import (
    HELP,
    DetectSettings,
    EvalSettings,
    TrainSettings,
    choices,
)
from ganscope.detectors.workflow import (
    detect_files,
    error_summary,
    eval_table,
    evaluate_folders,
    fit_detector,
    train_from_folders,
)
from ganscope.errors import GanscopeError
from ganscope.settings import attribute_help


def test_error_summary_names_five_and_where_the_rest_is():
    assert error_summary([], "x", None) == []
    errors = [(Path(f"f{i}.png"), "bad") for i in range(7)]
    lines = error_summary(errors, "detecting", None, "--csv FILE")
    assert lines[0] == "warning: 7 file(s) skipped while detecting:"
    assert lines[1:6] == [f"  f{i}.png: bad" for i in range(5)]
    assert lines[6:] == ["  ... and 2 more", "  (give --csv FILE to list all 7)"]
    assert error_summary(errors[:1], "x", Path("e.csv"))[-1] == "  all 1 listed in e.csv"


@pytest.mark.parametrize(
    ("settings", "features"),
    [
        ({"method": "logreg"}, "azimuthal"),
        ({"method": "kmeans", "features": "dct"}, "dct"),
        ({"method": "cnn"}, "rgb"),
        ({"method": "cnn", "arch": "npr"}, "npr"),
    ],
)
def test_features_default_by_method(settings, features):
    assert TrainSettings(**settings).resolved_features() == features


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "cnn", "features": "azimuthal"}, "must be one of rgb, npr, fft, dct"),
        ({"method": "logreg", "features": "npr"}, "must be one of azimuthal"),
        ({"method": "cnn", "arch": "npr", "features": "rgb"}, "--arch npr reads NPR"),
        ({"method": "mlp", "weights": Path("w.pth")}, "--weights applies to --method cnn"),
    ],
)
def test_bad_combinations_are_the_users_error(settings, message):
    with pytest.raises(GanscopeError, match=message):
        TrainSettings(**settings).resolved_features()


def test_settings_from_parsed_options_and_help_for_every_field():
    Method = StrEnum("Method", {"svm-rbf": "svm-rbf"})
    s = TrainSettings.of(method=Method("svm-rbf"), real=[Path("r")], size=32, out=Path("m"))
    assert s == TrainSettings(method="svm-rbf", size=32)
    for cls in (TrainSettings, EvalSettings, DetectSettings):
        assert set(attribute_help(cls)) == set(cls.__dataclass_fields__), cls
    assert not set(HELP) & set(TrainSettings.__dataclass_fields__)  # one description each
    assert set(choices()) == {
        "method",
        "features",
        "arch",
        "augment",
        "preset",
        "eval_crop",
        "calibrate",
    }


@pytest.mark.parametrize("cls", [EvalSettings, DetectSettings])
def test_eval_and_detect_settings_refuse_an_empty_batch(cls):
    with pytest.raises(GanscopeError, match=r"^--batch-size must be at least 1, not 0$"):
        cls(batch_size=0)


def test_eval_and_detect_check_their_outputs_before_the_model(tmp_path):
    (tmp_path / "file").write_text("x")
    no_model = tmp_path / "no-model"  # would fail later: nothing to load
    with pytest.raises(GanscopeError, match="is a file, not a folder"):
        evaluate_folders(no_model, None, None, EvalSettings(json=tmp_path / "file" / "e.json"))
    with pytest.raises(GanscopeError, match="is an existing folder"):
        detect_files([tmp_path], DetectSettings(csv=tmp_path), model=no_model)


def test_kmeans_sees_n_labels_per_class_and_its_guess_is_reported(train_set):
    X, y = train_set
    lines: list[str] = []
    det = fit_detector(SpectralKMeans(), X, y, n_labels=0, err=lines.append)
    assert det.naming_ == "smaller-cluster"
    assert len(lines) == 1 and lines[0].startswith("warning: SpectralKMeans: no labelled image")
    lines.clear()
    det = fit_detector(SpectralKMeans(), X, y, n_labels=3, err=lines.append)
    assert det.naming_ == "labels" and lines == []


def test_train_eval_detect_on_folders(image_folders, tmp_path):
    err: list[str] = []
    out = tmp_path / "m"
    lines = train_from_folders(
        out, [image_folders / "real"], [image_folders / "gan"],
        TrainSettings(method="svm-linear", bins=20), err=err.append,
    )  # fmt: skip
    assert lines == [f"trained svm-linear (azimuthal) on 24 real + 24 fake images (32x32) -> {out}"]
    assert err[0] == "warning: 1 file(s) skipped while loading the training images:"
    assert [r[0] for r in csv.reader((out / "errors.csv").open())][1:] == [
        str(image_folders / "gan" / "broken.png")
    ]
    jpath = tmp_path / "e.json"
    result = evaluate_folders(out, [image_folders / "real"], [image_folders / "gan2"],
                              EvalSettings(json=jpath, bootstrap=20))  # fmt: skip
    assert (
        json.loads(jpath.read_text())["per_source"]["gan2"]["ap"]
        == result["per_source"]["gan2"]["ap"]
    )
    table, note = eval_table(result, "title")
    assert table.row_count == 2 and "P(fake) > 0.5" in note
    printed: list[str] = []
    results = detect_files([image_folders / "gan2"], model=out, out=printed.append)
    assert len(printed) == len(results) == 16
    for line, r in zip(printed, results, strict=True):
        p, label, path = line.split("\t")
        assert path == r["path"] and label == r["label"] == ("fake" if r["prob_fake"] > 0.5 else
                                                             "real")  # fmt: skip
        assert float(p) == pytest.approx(r["prob_fake"], abs=1e-4)
    cpath = tmp_path / "d.csv"
    printed.clear()
    detect_files([image_folders / "gan"], DetectSettings(csv=cpath), model=out,
                 out=printed.append, err=err.append)  # fmt: skip
    assert printed[0].startswith("24 image(s): ") and printed[0].endswith("; 1 error(s)")
    assert len(list(csv.reader(cpath.open()))) == 25
    assert err[-1] == f"  all 1 listed in {tmp_path / 'd.errors.csv'}"
    assert np.isfinite([r["prob_fake"] for r in results]).all()
