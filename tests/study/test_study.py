"""The whole study pipeline on the ``tiny`` profile: results.json contract, a report that inlines
every figure, and a rerun that resumes from the cache."""

from __future__ import annotations

import json
import re

import pytest

from ganscope.errors import GanscopeError
from ganscope.study import PROFILES, run_study
from ganscope.study.cache import StageCache


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


def test_rerun_resumes_from_cache(study_dir):
    before = (study_dir / "stages" / "gan-transposed.json").stat().st_mtime_ns
    timings = json.loads((study_dir / "stages" / "timings.json").read_text())
    run_study(PROFILES["tiny"], study_dir, seed=0)
    assert (study_dir / "stages" / "gan-transposed.json").stat().st_mtime_ns == before
    assert json.loads((study_dir / "stages" / "timings.json").read_text()) == timings


def test_other_settings_in_same_folder_refused(study_dir):
    with pytest.raises(GanscopeError, match="other settings"):
        StageCache(study_dir, {"profile": "something else"})
