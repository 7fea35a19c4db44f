"""``ganscope study``'s settings as a library object, and the line it prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganscope.errors import GanscopeError
from ganscope.study import StudySettings, pipeline, run_configured_study, study_summary


def test_an_unknown_profile_is_one_line():
    with pytest.raises(GanscopeError, match="profile must be one of tiny, quick, full"):
        StudySettings(profile="huge")


def test_run_configured_study_passes_every_setting(monkeypatch):
    seen = {}
    monkeypatch.setattr(pipeline, "run_study", lambda *a, **kw: seen.update(args=a, **kw))
    settings = StudySettings(profile="tiny", real=Path("r"), retrain=True, seed=3)
    run_configured_study(settings, "out", device="cpu")
    assert seen == {
        "args": ("tiny", "out"),
        "real": Path("r"),
        "seed": 3,
        "device": "cpu",
        "retrain": True,
    }


def test_study_summary():
    results = {"profile": "tiny", "seconds_this_run": 12.6}
    out = Path("runs") / "s"
    assert study_summary(results, out) == (
        f"study (tiny) done in 13 s: {out / 'report.html'}, {out / 'results.json'}"
    )
