"""The whole study pipeline on the ``tiny`` profile: results.json contract, a report that inlines
every figure, and a rerun that resumes from the cache (tests/study/test_cache.py: what a changed
setting recomputes)."""

from __future__ import annotations

import json
import re
from html import escape

import pytest

from ganscope.study import PROFILES, run_study
from ganscope.study.questions import answer_questions


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    run_study(PROFILES["tiny"], out, seed=0)
    return out


def test_results_contract(study_dir):
    res = json.loads((study_dir / "results.json").read_text())
    ups = res["upsamplers"]
    assert ups == ["transposed", "nearest"]
    assert res["transfer"], "no detector was evaluated"
    for det, table in res["transfer"].items():
        for train, row in table.items():
            assert train in [*ups, "all"], (det, train)
            assert set(row) == set(ups), (det, train)
            for m in row.values():
                assert 0.0 <= m["ap"] <= 1.0 and 0.0 <= m["accuracy"] <= 1.0
    # every spectral detector is trained per upsampler and on all of them
    assert set(res["transfer"]["azimuthal+logreg"]) == {"transposed", "nearest", "all"}
    assert set(res["quality"]) == set(ups)
    assert res["spectra"]["size"] == [32, 32]


def test_report_inlines_every_figure(study_dir):
    html = (study_dir / "report.html").read_text()
    srcs = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in html and "https://" not in html
    for name in json.loads((study_dir / "results.json").read_text())["figures"]:
        assert (study_dir / name).is_file()
    assert len(list((study_dir / "figures").glob("*.png"))) >= len(srcs)
    # The answers are the registry's (tests/study/test_questions.py), each with its title.
    answers = answer_questions(json.loads((study_dir / "results.json").read_text()))
    assert len(answers) >= 5
    for title, text in answers:
        assert escape(title) in html and escape(text) in html


def test_rerun_resumes_from_cache(study_dir):
    before = (study_dir / "stages" / "gan-transposed.json").stat().st_mtime_ns
    timings = json.loads((study_dir / "results.json").read_text())["timings"]
    res = run_study(PROFILES["tiny"], study_dir, seed=0)
    assert res["stages_computed"] == []
    assert (study_dir / "stages" / "gan-transposed.json").stat().st_mtime_ns == before
    assert res["timings"] == timings  # a reused stage keeps the time it took when it ran


def test_results_describe_each_detector(study_dir):
    res = json.loads((study_dir / "results.json").read_text())
    assert set(res["detectors"]) == set(res["transfer"])
    assert res["detectors"]["azimuthal+logreg"] == {
        "detector": "spectral", "features": "azimuthal", "classifier": "logreg", "per_source": True
    }  # fmt: skip
    assert res["detectors"]["cnn-rgb"]["input"] == "rgb"


def test_quick_profile_takes_zoo_generators(tmp_path, monkeypatch):
    """With ``use_zoo`` a variant the zoo has is not trained: its run is the zoo folder, and the
    zoo's other families join the study as sources; ``retrain`` trains everything."""
    import dataclasses
    import shutil

    import ganscope.zoo as zoo
    from ganscope.generators import TrainConfig, train_gan
    from ganscope.io import write_builtin

    data = tmp_path / "data"
    write_builtin(data, size=32, count=24, seed=0, split="train")
    root = tmp_path / "zoo"
    for name, family, up in (("dcgan-nearest", "dcgan", "nearest"), ("vae-blur", "vae", "blur")):
        run = tmp_path / name
        train_gan(
            TrainConfig(
                data=str(data),
                family=family,
                upsample=up,
                steps=2,
                width=4,
                batch_size=8,
                sample_every=0,
                grid_size=4,
            ),
            run,
        )
        shutil.copytree(run / "generator", root / name)
        cfg = json.loads((root / name / "config.json").read_text())
        cfg["zoo"] = {"data": {"size": 32, "count": 24, "seed": 0, "split": "train"}}
        (root / name / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setattr(zoo, "ZOO_DIR", root)
    profile = dataclasses.replace(PROFILES["tiny"], use_zoo=True)
    res = run_study(profile, tmp_path / "study", seed=0)
    assert res["upsamplers"] == ["transposed", "nearest", "vae-blur"]
    assert res["generators"]["nearest"]["zoo"] == "dcgan-nearest"
    assert res["generators"]["transposed"]["zoo"] is None  # not in the zoo: trained
    assert not (tmp_path / "study" / "gans" / "nearest").exists()
    again = run_study(profile, tmp_path / "retrained", seed=0, retrain=True)
    assert again["upsamplers"] == ["transposed", "nearest"]
    assert again["generators"]["nearest"]["zoo"] is None
