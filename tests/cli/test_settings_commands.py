"""Commands whose options come from a settings dataclass (``config_options``): every command line
that parsed before still parses, into the settings it meant, with the old defaults.

The library call of each command is replaced by a recorder, so nothing runs but the parsing; the
library functions themselves are tested in tests/<package>/.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import ganscope.cli.antialias as cli_antialias
import ganscope.cli.paint as cli_paint
import ganscope.cli.seeing as cli_seeing
import ganscope.cli.study as cli_study
from ganscope.antialias.report import ReportSettings
from ganscope.cli import load_commands
from ganscope.dissect import demo
from ganscope.dissect import experiment as ex
from ganscope.paint import PaintSettings
from ganscope.seeing import FSDSettings
from ganscope.seeing.reconstruct import InvertSettings
from ganscope.study import StudySettings


@pytest.fixture
def calls(monkeypatch):
    """Record (settings, other arguments) of every library call the commands make."""
    seen: list[tuple[object, dict]] = []

    def record(*args, **kwargs):
        settings = next(a for a in args if dataclasses.is_dataclass(a))
        seen.append((settings, {"args": [a for a in args if a is not settings], **kwargs}))
        return {}

    for module, name in [
        (ex, "dissect_run"),
        (ex, "intervene_run"),
        (demo, "run_scenes_demo"),
        (cli_seeing, "invert_folder"),
        (cli_paint, "serve_painter"),
        (cli_study, "run_configured_study"),
        (cli_antialias, "antialias_report"),
    ]:
        monkeypatch.setattr(module, name, record)
    for module, name in [
        (ex, "dissect_summary"),
        (ex, "intervene_summary"),
        (demo, "demo_summary"),
        (cli_seeing, "inversion_summary"),
        (cli_study, "study_summary"),
        (cli_antialias, "report_summary"),
    ]:
        monkeypatch.setattr(module, name, lambda *a, **k: "summary")
    monkeypatch.setattr(cli_seeing, "fsd_report", _returning_a_table(record))
    return seen


def _returning_a_table(record):
    """``record`` for ``fsd_report``, whose result the command prints with ``.table()``."""

    class Table:
        def table(self) -> str:
            return "table"

    def fsd(*args, **kwargs):
        record(*args, **kwargs)
        return Table()

    return fsd


def _invoke(*args: object) -> None:
    result = CliRunner().invoke(load_commands(), [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)


CPU = torch.device("cpu")


def test_dissect_and_list_layers(calls, tmp_path, monkeypatch):
    _invoke("dissect", "RUN", "--layer", "blocks.0", "--out", tmp_path / "d", "--device", "cpu")
    _invoke(
        "dissect", "RUN", "--concepts", "scenes", "--layer", "a", "--layer", "b", "--samples", 8,
        "--quantile", 0.995, "--batch-size", 4, "--report-units", 3, "--trust-code", "--seed", 2,
        "--out", tmp_path / "d", "--device", "cpu",
    )  # fmt: skip
    (default, _), (given, rest) = calls
    assert default == ex.DissectSettings(
        concepts="colors", layer=["blocks.0"], samples=1000, quantile=0.99, batch_size=16,
        report_units=64, trust_code=False, seed=0,
    )  # fmt: skip
    assert given == ex.DissectSettings("scenes", ["a", "b"], 8, 0.995, 4, 3, True, 2)
    assert rest == {"args": [Path("RUN"), tmp_path / "d"], "device": CPU}
    monkeypatch.setattr(ex, "layers_listing", lambda run, device: f"layers of {run}")
    result = CliRunner().invoke(load_commands(), ["dissect", "RUN", "--list-layers"])
    assert result.exit_code == 0 and result.output == "layers of RUN\n"


def test_intervene(calls, tmp_path):
    out = tmp_path / "iv"
    _invoke("intervene", "RUN", "--layer", "blocks.0", "--units", "3,17", "--out", out)
    _invoke(
        "intervene", "RUN", "--layer", "blocks.0", "--units", "2", "--mode", "insert", "--where",
        "0,0,8,8", "--value", "mean", "--n", 3, "--concepts", "colors", "--concept", "green",
        "--stats-samples", 16, "--trust-code", "--seed", 1, "--out", out, "--device", "cpu",
    )  # fmt: skip
    (default, _), (given, rest) = calls
    assert default == ex.InterveneSettings(
        layer="blocks.0", units=[3, 17], mode="ablate", where=None, value="quantile", n=16,
        concepts=None, concept=None, stats_samples=200, trust_code=False, seed=0,
    )  # fmt: skip
    assert given == ex.InterveneSettings(
        "blocks.0", [2], "insert", (0.0, 0.0, 8.0, 8.0), "mean", 3, "colors", "green", 16, True, 1
    )
    assert rest == {"args": [Path("RUN"), out], "device": CPU}


def test_scenes_demo(calls, tmp_path):
    _invoke("scenes-demo", "--out", tmp_path / "a")
    _invoke(
        "scenes-demo", "--out", tmp_path / "b", "--size", 64, "--scenes", 10, "--steps", 5,
        "--samples", 7, "--seed", 3, "--device", "cpu",
    )  # fmt: skip
    (default, _), (given, rest) = calls
    old = {"size": 32, "scenes": 4000, "steps": 1500, "samples": 300, "seed": 0}
    assert {k: getattr(default, k) for k in old} == old
    assert given == demo.ScenesDemoSettings(size=64, scenes=10, steps=5, samples=7, seed=3)
    assert rest == {"args": [tmp_path / "b"], "device": CPU}


def test_seeing_fsd_and_invert(calls, tmp_path):
    _invoke("seeing", "fsd", "R", "G")
    _invoke(
        "seeing", "fsd", "R", "G", "--json", tmp_path / "f.json", "--plot", tmp_path / "f.png",
        "--bootstrap", 20, "--batch-size", 8, "--segmenter", "seg", "--seed", 1, "--device", "cpu",
    )  # fmt: skip
    out = tmp_path / "inv"
    _invoke("seeing", "invert", "RUN", "--images", "I", "--out", out)
    _invoke(
        "seeing", "invert", "RUN", "--images", "I", "--out", out, "--layer", "blocks.0",
        "--count", 3, "--encoder-steps", 5, "--steps", 2, "--lr", 0.1, "--no-segment",
        "--segmenter", "seg", "--seed", 1, "--device", "cpu",
    )  # fmt: skip
    (fsd0, _), (fsd1, fsd_rest), (inv0, _), (inv1, inv_rest) = calls
    assert fsd0 == FSDSettings(bootstrap=200, batch_size=64, segmenter="scenes", seed=0)
    assert fsd1 == FSDSettings(bootstrap=20, batch_size=8, segmenter="seg", seed=1)
    assert fsd_rest == {
        "args": [Path("R"), Path("G")],
        "json_out": tmp_path / "f.json",
        "plot": tmp_path / "f.png",
        "device": CPU,
    }
    assert inv0 == InvertSettings(
        layer=None, count=16, encoder_steps=500, steps=300, lr=0.05, segment=True,
        segmenter="scenes", seed=0,
    )  # fmt: skip
    assert inv1 == InvertSettings("blocks.0", 3, 5, 2, 0.1, False, "seg", 1)
    assert inv_rest == {"args": ["RUN", Path("I"), out], "device": CPU}


def test_paint(calls, tmp_path):
    _invoke("paint")
    _invoke(
        "paint", "RUN", "--port", 9000, "--host", "0.0.0.0", "--segmenter", "colors", "--units",
        tmp_path / "u.json", "--seed", 1, "--device", "cpu",
    )  # fmt: skip
    (default, default_rest), (given, rest) = calls
    assert default == PaintSettings(port=8765, host="127.0.0.1", segmenter="scenes", units=None)
    assert default_rest["args"] == ["zoo:scenes"] and default_rest["device"] == CPU
    assert given == PaintSettings(9000, "0.0.0.0", "colors", tmp_path / "u.json", 1)
    assert rest["args"] == ["RUN"]


def test_study(calls, tmp_path):
    _invoke("study", "--out", tmp_path / "a")
    _invoke(
        "study", "--profile", "tiny", "--real", tmp_path / "r", "--retrain", "--seed", 1, "--out",
        tmp_path / "b", "--device", "cpu",
    )  # fmt: skip
    (default, _), (given, rest) = calls
    assert default == StudySettings(profile="quick", real=None, retrain=False, seed=0)
    assert given == StudySettings("tiny", tmp_path / "r", True, 1)
    assert rest == {"args": [tmp_path / "b"], "device": CPU}


def test_antialias_report(calls, tmp_path):
    _invoke("antialias", "report", "M", "--images", "I", "--out", tmp_path / "a")
    _invoke(
        "antialias", "report", "M", "--images", "I", "--out", tmp_path / "b", "--max-shift", 4,
        "--max-images", 9, "--grid", 4, "--seed", 1, "--trust-code",
    )  # fmt: skip
    (default, _), (given, rest) = calls
    assert default == ReportSettings(max_shift=8, max_images=256, grid=32, seed=0)
    assert given == ReportSettings(max_shift=4, max_images=9, grid=4, seed=1, trust_code=True)
    assert rest == {"args": ["M", Path("I"), tmp_path / "b"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["intervene", "RUN", "--layer", "x", "--units", "1", "--mode", "bad", "--out", "o"],
         "Invalid value for '--mode'"),
        (["intervene", "RUN", "--layer", "x", "--units", "a", "--out", "o"], "comma-separated"),
        (["intervene", "RUN", "--layer", "x", "--units", "1", "--n", "0", "--out", "o"],
         "--n must be at least 1"),
        (["paint", "--port", "0"], "--port must be in 1..65535"),
        (["antialias", "report", "M", "--images", "I", "--out", "o", "--grid", "0"],
         "--grid must be at least 1"),
        (["study", "--profile", "huge", "--out", "o"], "Invalid value for '--profile'"),
    ],
)  # fmt: skip
def test_bad_settings_are_one_line_exit_2(calls, tmp_path, monkeypatch, capsys, args, message):
    from ganscope.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and err.count("\n") == 1
    assert calls == []
