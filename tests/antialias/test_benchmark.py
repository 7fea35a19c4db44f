"""The built-in benchmark end to end at toy size (the real run: `ganscope antialias benchmark`)."""

from __future__ import annotations

import json

import pytest
import torch

from ganscope.antialias.benchmark import (
    BenchmarkConfig,
    benchmark_summary,
    photo_task,
    run_benchmark,
)
from ganscope.antialias.models import SmallVGG
from ganscope.errors import GanscopeError


def test_photo_task_is_deterministic_and_labelled() -> None:
    x, y, classes = photo_task(12, size=16, split="test", seed=3)
    x2, y2, _ = photo_task(12, size=16, split="test", seed=3)
    assert x.shape == (12, 3, 16, 16) and torch.equal(x, x2) and torch.equal(y, y2)
    assert len(classes) == 9 and int(y.min()) >= 0 and int(y.max()) < 9
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def test_photo_task_leaves_excluded_photos_out() -> None:
    x, y, classes = photo_task(40, size=16, split="train", seed=1, exclude=["motorcycle_right"])
    assert len(classes) == 8 and "motorcycle_right" not in classes
    assert x.shape == (40, 3, 16, 16) and int(y.max()) < 8
    with pytest.raises(GanscopeError, match="unknown photo"):
        photo_task(4, size=16, split="train", seed=1, exclude=["nope"])


def test_small_vgg_stage_names_are_its_layers() -> None:
    net = SmallVGG(3, widths=(4, 8))
    names = dict(net.named_modules())
    assert net.stage_names() == ["conv1", "pool1", "conv2", "pool2", "gap", "fc"]
    assert all(n in names for n in net.stage_names())


def test_toy_benchmark_writes_results_and_figures(tmp_path) -> None:
    cfg = BenchmarkConfig(
        seeds=(0, 1),
        n_train=27,
        n_test=9,
        epochs=1,
        widths=(4, 8, 8, 8),
        equivariance_images=1,
        equivariance_grid=2,
        detector_images=3,
        max_shift=2,
    )
    r = run_benchmark(tmp_path, cfg)
    s = r["classifier"]["summary"]["consistency"]
    assert len(s["baseline"]["values"]) == 2
    lo, hi = s["difference"]["ci"]
    assert lo <= s["difference"]["mean"] <= hi
    assert set(r["detector"]) >= {"baseline", "anti-aliased (no fine-tuning)", "threshold"}
    assert json.loads((tmp_path / "results.json").read_text())["classifier"]["per_seed"]
    names = ("equivariance_heatmaps", "equivariance_profile", "consistency_seeds")
    for name in (f"{n}.png" for n in (*names, "detector_shifts")):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "config.json").read_text())["seeds"] == [0, 1]
    assert r["classifier"]["task"]["padding"] == "circular"
    assert len(r["classifier"]["task"]["classes"]) == 8
    assert 0 <= r["classifier"]["summary"]["consistency_circular"]["seeds_ahead"] <= 2
    text = benchmark_summary(r)
    assert text.count("\n") == 2 and "consistency, circular shifts" in text


def test_benchmark_refuses_no_seeds_and_no_epochs(tmp_path) -> None:
    with pytest.raises(GanscopeError, match="seed"):
        run_benchmark(tmp_path, BenchmarkConfig(seeds=()))
    with pytest.raises(GanscopeError, match="epochs"):
        run_benchmark(tmp_path, BenchmarkConfig(epochs=0))
