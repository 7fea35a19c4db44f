"""Stage caches keyed by what each stage reads: a changed setting recomputes the stages that read
it (and those downstream of them), nothing else; a setting no stage reads invalidates nothing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import ganscope.study.cache as cache_module
import ganscope.study.pipeline as pipeline
from ganscope.errors import GanscopeError
from ganscope.io.writers import save_png
from ganscope.study import PROFILES, run_study
from ganscope.study.cache import StageCache, stage_key

# --- the cache on its own ----------------------------------------------------------------------


def _counting(value):
    calls = []

    def fn():
        calls.append(1)
        return value

    return fn, calls


def test_same_settings_reuse_other_settings_recompute(tmp_path):
    fn, calls = _counting({"x": (1, 2)})
    assert StageCache(tmp_path).run("a", fn, settings={"k": 1}) == {"x": [1, 2]}
    assert StageCache(tmp_path).run("a", fn, settings={"k": 1}) == {"x": [1, 2]}
    assert len(calls) == 1
    cache = StageCache(tmp_path)
    cache.run("a", fn, settings={"k": 2})
    assert len(calls) == 2 and cache.computed == ["a"]
    assert "seconds" in json.loads((tmp_path / "stages" / "a.json").read_text())


def test_upstream_key_and_version_are_part_of_the_key(tmp_path, monkeypatch):
    down, _ = _counting(1)

    def run(up_setting):
        cache = StageCache(tmp_path)
        cache.run("up", lambda: 0, settings={"u": up_setting})
        cache.run("down", down, after=["up"])
        return cache.computed

    assert run(1) == ["up", "down"]
    assert run(1) == []
    assert run(2) == ["up", "down"]  # down reads up's outputs: recomputed too
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    assert run(2) == ["up", "down"]  # another ganscope: nothing reused
    assert stage_key("s", {}, {}) != stage_key("s", {"a": 1}, {})
    assert stage_key("s", {"a": 1}, {}) != stage_key("t", {"a": 1}, {})


def test_outputs_cleared_under_a_new_key_kept_after_an_interruption(tmp_path):
    out = tmp_path / "gans" / "run"

    def interrupted():
        out.mkdir(parents=True, exist_ok=True)
        (out / "checkpoint").write_text("step 3")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        StageCache(tmp_path).run("gan", interrupted, settings={"steps": 6}, outputs=[out])
    seen = []
    StageCache(tmp_path).run(
        "gan", lambda: seen.append((out / "checkpoint").exists()), settings={"steps": 6},
        outputs=[out],
    )  # fmt: skip
    assert seen == [True]  # same key: the run resumes from its checkpoint
    StageCache(tmp_path).run(
        "gan", lambda: seen.append(out.exists()), settings={"steps": 9}, outputs=[out]
    )
    assert seen == [True, False]  # other settings: the old run is removed first


def test_old_records_and_outputs_outside_the_folder(tmp_path):
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "a.json").write_text('{"bare": "result of an older ganscope"}')
    fn, calls = _counting(3)
    assert StageCache(tmp_path).run("a", fn) == 3 and calls == [1]
    with pytest.raises(GanscopeError, match="outside"):
        StageCache(tmp_path / "study").run("b", fn, outputs=[tmp_path / "elsewhere"])


# --- the study: which stages a changed setting recomputes --------------------------------------


@pytest.fixture
def cheap_study(monkeypatch):
    """The tiny study with GAN training, sampling, quality and the report replaced by cheap
    stand-ins (the stage graph and the detectors are the real ones)."""

    def train(profile, variant, real_dir, run, seed, device):
        run.mkdir(parents=True, exist_ok=True)
        return {"run": str(run), "seconds": 0.0, "config": {"steps": profile.gan_steps}}

    def sample(run, data, folder, n_train, n_test, device):
        rng = np.random.default_rng(len(folder))
        for split, n in (("train", n_train), ("test", n_test)):
            for i in range(n):
                img = (rng.random((3, 32, 32)) * (0.5 + 0.5 * (folder == "nearest"))).astype("f4")
                save_png(data / split / folder / f"seed{i:07d}.png", img)
        return {"train": "", "test": ""}

    monkeypatch.setattr(pipeline, "train_generator", train)
    monkeypatch.setattr(pipeline, "sample_generator", sample)
    monkeypatch.setattr(
        pipeline, "quality_stage", lambda rt, rs, fakes, seed: {n: {"swd": 0.0} for n in fakes}
    )
    monkeypatch.setattr(pipeline, "build_report", lambda results, out: [])
    return dataclasses.replace(PROFILES["tiny"], cnn_per_source=True)


def test_changing_a_setting_recomputes_only_the_stages_that_read_it(tmp_path, cheap_study):
    out, p = tmp_path / "study", cheap_study
    everything = run_study(p, out)["stages_computed"]
    assert len(everything) == 13
    assert run_study(p, out)["stages_computed"] == []
    # Adding a profile field (no stage reads it) invalidates nothing, and is not refused.
    assert run_study(dataclasses.replace(p, extra={"new": 1}), out)["stages_computed"] == []
    p = dataclasses.replace(p, jpeg_qualities=(40,))
    assert run_study(p, out)["stages_computed"] == ["robustness"]
    p = dataclasses.replace(p, few_shot=(10,))
    assert run_study(p, out)["stages_computed"] == ["few-shot"]
    p = dataclasses.replace(p, cnn_epochs=2)
    assert run_study(p, out)["stages_computed"] == ["transfer-cnn-rgb", "robustness"]
    p = dataclasses.replace(p, gan_steps=7)  # every generator, and all that reads their images
    assert run_study(p, out)["stages_computed"] == [s for s in everything if s != "real"]
    res = run_study(p, out, seed=1)  # the seed is read by every stage that draws at random
    assert res["stages_computed"] == everything
    assert set(res["timings"]) == set(everything)
