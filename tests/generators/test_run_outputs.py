"""The library side of ``gan train``, ``gan sample`` and ``gan quality``: what each writes and
says, and that every bad input is refused before a generator loads (no CLI, no subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganscope.errors import GanscopeError
from ganscope.generators.quality import QualitySettings, evaluate_run
from ganscope.generators.train import (
    SampleSettings,
    TrainConfig,
    TrainResult,
    parse_betas,
    train_gan,
    write_samples,
)


@pytest.fixture(scope="module")
def tiny_run(tiny_data, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run") / "run"
    cfg = TrainConfig(data=str(tiny_data), size=16, steps=2, batch_size=8, width=4,
                      sample_every=0, grid_size=4, checkpoint_every=2)  # fmt: skip
    result = train_gan(cfg, run)
    assert result.summary().startswith("trained 2 steps in ")
    assert result.summary().endswith(f" s; generator: {run / 'generator'}")
    return run


def test_parse_betas():
    assert parse_betas("0.5,0.999") == (0.5, 0.999)
    assert parse_betas("0,0.9") == (0.0, 0.9)
    for bad in ("0.5", "0.5,0.9,0.99", "a,b", ""):
        with pytest.raises(GanscopeError, match="two numbers B1,B2"):
            parse_betas(bad)
    for bad in ("1,0.9", "0.5,-0.1"):
        with pytest.raises(GanscopeError, match=r"must lie in \[0, 1\)"):
            parse_betas(bad)


def test_train_result_summary_says_what_the_call_did(tmp_path):
    run = tmp_path / "run"
    done = TrainResult(run, 10, 10, False, True, 0.0)
    assert done.summary() == f"{run} is complete (10 steps); nothing to do"
    resumed = TrainResult(run, 10, 4, True, False, 1.25)
    assert resumed.summary() == (
        f"resumed from step 4; trained 6 steps in 1.2 s; generator: {run / 'generator'}"
    )


def test_train_gan_checks_the_output_folder_first(tiny_data, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(GanscopeError, match="existing file, not a folder"):
        train_gan(TrainConfig(data=str(tiny_data), size=16), tmp_path / "file")


def test_write_samples_names_images_by_seed(tiny_run, tmp_path):
    paths = write_samples(tiny_run, tmp_path / "s", SampleSettings(n=3, seed=41, batch_size=2))
    assert [p.name for p in paths] == ["seed000041.png", "seed000042.png", "seed000043.png"]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [p.name for p in paths]


def test_write_samples_checks_the_output_before_loading(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(GanscopeError, match="existing file"):
        write_samples(tmp_path / "no-run", tmp_path / "file", SampleSettings(n=1))
    with pytest.raises(GanscopeError, match="no trained generator"):
        write_samples(tmp_path / "no-run", tmp_path / "out", SampleSettings(n=1))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"n": 0}, "^--n must be at least 1, not 0$"),
        ({"n": 1, "seed": -1}, "^--seed must be at least 0, not -1$"),
        ({"n": 1, "batch_size": 0}, "^--batch-size must be at least 1, not 0$"),
    ],
)
def test_sample_settings_refuse_bad_numbers(fields, message):
    with pytest.raises(GanscopeError, match=message):
        SampleSettings(**fields)


def test_evaluate_run_writes_the_numbers(tiny_run, tiny_data, tmp_path):
    out = tmp_path / "q" / "quality.json"
    report = evaluate_run(tiny_run, QualitySettings(n=8, json=out), real=tiny_data)
    saved = json.loads(out.read_text())
    assert saved == {"generator": str(tiny_run), **json.loads(json.dumps(report.as_dict()))}
    assert "real-vs-real" in report.table()


def test_quality_settings_refuse_too_few_samples():
    with pytest.raises(GanscopeError, match=r"^--n must be at least 8, not 7$"):
        QualitySettings(n=7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"real": Path("missing")}, "folder not found: missing"),
        ({"train": Path("missing")}, "folder not found: missing"),
        ({"json": "DIR"}, "is an existing folder"),
    ],
)
def test_evaluate_run_refuses_bad_input_before_loading(tiny_data, tmp_path, kwargs, message):
    kwargs = {"real": tiny_data, **kwargs}
    # "DIR": --json names a folder (tmp_path) where a file is asked for
    settings = QualitySettings(json=tmp_path) if kwargs.pop("json", None) else None
    with pytest.raises(GanscopeError, match=message):
        evaluate_run(tmp_path / "no-run", settings, **kwargs)  # would fail later: no generator
