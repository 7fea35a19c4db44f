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
import ganscope.cli.data as cli_data
import ganscope.cli.gan as cli_gan
import ganscope.cli.paint as cli_paint
import ganscope.cli.seeing as cli_seeing
import ganscope.cli.spectrum as cli_spectrum
import ganscope.cli.study as cli_study
import ganscope.detectors.workflow as workflow
from ganscope.antialias.report import ReportSettings
from ganscope.cli import load_commands
from ganscope.detectors.settings import DetectSettings, EvalSettings
from ganscope.dissect import demo
from ganscope.dissect import experiment as ex
from ganscope.generators.quality import QualitySettings
from ganscope.generators.train import SampleSettings
from ganscope.io.builtin import BuiltinSettings
from ganscope.paint import PaintSettings
from ganscope.report.sources import SpectrumSettings
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
        (cli_spectrum, "write_spectrum_outputs"),
        (cli_gan, "write_samples"),
        (workflow, "evaluate_folders"),
        (workflow, "detect_files"),
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
    monkeypatch.setattr(cli_gan, "evaluate_run", _returning_a_table(record))
    monkeypatch.setattr(cli_spectrum, "summary_table", lambda analysis: ("table", "what"))
    monkeypatch.setattr(workflow, "eval_table", lambda result, title: ("table", "note"))
    # write_builtin takes the settings as keyword arguments
    monkeypatch.setattr(
        cli_data, "write_builtin", lambda out, **kw: record(BuiltinSettings(**kw), out)
    )
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
    assert fsd1 == FSDSettings(
        bootstrap=20, batch_size=8, segmenter="seg", seed=1, json=tmp_path / "f.json",
        plot=tmp_path / "f.png",
    )  # fmt: skip
    assert fsd_rest == {"args": [Path("R"), Path("G")], "device": CPU}
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


def test_spectrum(calls, tmp_path):
    _invoke("spectrum", "A")
    _invoke(
        "spectrum", "A", "B", "--kind", "dct", "--preset", "durall", "--bins", 20, "--csv",
        tmp_path / "f.csv", "--plot", tmp_path / "p.png", "--json", tmp_path / "s.json",
        "--batch-size", 4, "--device", "cpu",
    )  # fmt: skip
    (default, _), (given, rest) = calls
    assert default == SpectrumSettings(
        kind="azimuthal", preset="default", bins=None, csv=None, plot=None, json=None,
        batch_size=64,
    )  # fmt: skip
    assert not default.writes_files and given.writes_files
    assert given == SpectrumSettings(
        "dct", "durall", 20, tmp_path / "f.csv", tmp_path / "p.png", tmp_path / "s.json", 4
    )
    assert rest == {"args": [[Path("A"), Path("B")]], "device": "cpu"}


def test_gan_sample_and_quality(calls, tmp_path):
    _invoke("gan", "sample", "RUN", "--n", 3, "--out", tmp_path / "s")
    _invoke(
        "gan", "sample", "zoo:x", "--n", 2, "--out", tmp_path / "s", "--seed", 7,
        "--batch-size", 5, "--device", "cpu",
    )  # fmt: skip
    _invoke("gan", "quality", "RUN", "--real", "R")
    _invoke(
        "gan", "quality", "RUN", "--real", "R", "--train", "T", "--n", 8, "--json",
        tmp_path / "q.json", "--seed", 2, "--device", "cpu",
    )  # fmt: skip
    (s0, _), (s1, s_rest), (q0, _), (q1, q_rest) = calls
    assert s0 == SampleSettings(n=3, seed=0, batch_size=64) and list(s0.seeds) == [0, 1, 2]
    assert s1 == SampleSettings(2, 7, 5) and list(s1.seeds) == [7, 8]
    assert s_rest == {"args": [Path("zoo:x"), tmp_path / "s"], "device": CPU}
    assert q0 == QualitySettings(n=500, json=None, seed=0)
    assert q1 == QualitySettings(8, tmp_path / "q.json", 2)
    assert q_rest == {"args": [Path("RUN")], "real": Path("R"), "train": Path("T"), "device": CPU}


def test_data_builtin(calls, tmp_path):
    _invoke("data", "builtin", "--out", tmp_path / "a")
    _invoke(
        "data", "builtin", "--out", tmp_path / "b", "--size", 16, "--count", 5, "--seed", 3,
        "--split", "test",
    )  # fmt: skip
    (default, _), (given, rest) = calls
    assert default == BuiltinSettings(size=32, count=1000, seed=0, split="all")
    assert given == BuiltinSettings(16, 5, 3, "test")
    assert rest == {"args": [tmp_path / "b"]}


def test_detector_eval_and_detect(calls, tmp_path):
    _invoke("detector", "eval", "M", "--real", "R", "--fake", "F")
    _invoke(
        "detector", "eval", "M", "--real", "R", "--fake", "F", "--fake", "G", "--json",
        tmp_path / "e.json", "--batch-size", 8, "--bootstrap", 20, "--seed", 1, "--device", "cpu",
    )  # fmt: skip
    _invoke("detect", "P")
    _invoke(
        "detect", "P", "Q", "--model", "M", "--json", tmp_path / "d.json", "--csv",
        tmp_path / "d.csv", "--batch-size", 7, "--device", "cpu",
    )  # fmt: skip
    (e0, _), (e1, e_rest), (d0, d0_rest), (d1, d_rest) = calls
    assert e0 == EvalSettings(json=None, batch_size=64, bootstrap=1000, seed=0)
    assert e1 == EvalSettings(tmp_path / "e.json", 8, 20, 1)
    assert e_rest["args"] == [Path("M"), [Path("R")], [Path("F"), Path("G")]]
    assert e_rest["device"] == "cpu"
    assert d0 == DetectSettings(json=None, csv=None, batch_size=64)
    assert d0_rest["model"] is None and d0_rest["device"] == "auto"
    assert d1 == DetectSettings(tmp_path / "d.json", tmp_path / "d.csv", 7)
    assert d_rest["args"] == [[Path("P"), Path("Q")]] and d_rest["model"] == Path("M")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["spectrum", "D", "--bins", "0"], "--bins must be at least 1, not 0"),
        (["spectrum", "D", "--batch-size", "0"], "--batch-size must be at least 1, not 0"),
        (["spectrum", "D", "--kind", "x"], "Invalid value for '--kind'"),
        (["gan", "sample", "RUN", "--n", "0", "--out", "o"], "--n must be at least 1, not 0"),
        (["gan", "sample", "RUN", "--n", "1", "--seed", "-1", "--out", "o"],
         "--seed must be at least 0, not -1"),
        (["gan", "sample", "RUN", "--n", "1", "--batch-size", "0", "--out", "o"],
         "--batch-size must be at least 1, not 0"),
        (["gan", "quality", "RUN", "--real", "R", "--n", "7"], "--n must be at least 8, not 7"),
        (["data", "builtin", "--out", "o", "--split", "x"], "Invalid value for '--split'"),
        (["detector", "eval", "M", "--batch-size", "0"], "--batch-size must be at least 1, not 0"),
        (["detect", "P", "--batch-size", "0"], "--batch-size must be at least 1, not 0"),
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
