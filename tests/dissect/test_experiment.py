"""The dissect and intervene experiments as library calls (no command line): outputs, insertion
values computed once, and their one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from ganscope.dissect.dissection import dissect
from ganscope.dissect.experiment import (
    STATS_SEED_OFFSET,
    DissectSettings,
    InterveneSettings,
    dissect_run,
    dissect_summary,
    hookable_layers,
    insertion_values,
    intervene_run,
    intervene_summary,
    layers_listing,
    load_run,
    parse_box,
    parse_units,
)
from ganscope.errors import GanscopeError
from ganscope.generators.forward import OUTPUT_RANGE


def test_hookable_layers_are_feature_maps_in_forward_order(run_dir):
    names = hookable_layers(run_dir)
    assert names.index("project_norm") < names.index("blocks.0") < names.index("to_rgb")
    assert "project" not in names  # a Linear: (B, C), not a feature map
    listing = layers_listing(run_dir).splitlines()
    assert listing[0] == f"hookable layers of {run_dir} (4-D feature maps, in forward order):"
    assert listing[1:] == names


def test_dissect_run_writes_what_it_returns(run_dir, tmp_path):
    settings = DissectSettings(layer=["blocks.0"], samples=6, report_units=3)
    res = dissect_run(run_dir, tmp_path / "d", settings)
    assert json.loads((tmp_path / "d" / "results.json").read_text()) == json.loads(json.dumps(res))
    assert res["layers"]["blocks.0"]["settings"]["value_range"] == list(OUTPUT_RANGE)
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    assert config["layers"] == ["blocks.0"] and config["samples"] == 6
    page = (tmp_path / "d" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3  # report_units strips, nothing else
    assert "<code>blocks.0</code>" in page
    lines = dissect_summary(res, tmp_path / "d").splitlines()
    counts = {c: n for c, n in res["summary"]["blocks.0"].items() if n} or "none"
    assert lines == [
        f"blocks.0: 8 units; matched: {counts}",
        f"wrote {tmp_path / 'd'}/results.json and {tmp_path / 'd'}/report.html",
    ]


@pytest.mark.parametrize(
    ("layer", "out", "message"),
    [
        (None, "x", "--layer is required"),
        ([], "x", "--layer is required"),
        (["blocks.0"], None, "--out is required"),
        (["nope"], "x", "no layer named"),
    ],
)
def test_dissect_run_refuses_bad_input_before_work(run_dir, tmp_path, layer, out, message):
    with pytest.raises(GanscopeError, match=message):
        dissect_run(run_dir, out and tmp_path / out, DissectSettings(layer=layer, samples=4))
    assert not (tmp_path / "x").exists()


def test_missing_run_is_one_line():
    with pytest.raises(GanscopeError, match="run folder not found"):
        load_run("/nonexistent/run")


def test_insertion_values_are_the_units_statistics(run_dir):
    G = load_run(run_dir)
    stats = dissect(
        G,
        "blocks.0",
        None,
        n_samples=8,
        seed=3 + STATS_SEED_OFFSET,
        n_bootstrap=0,
        value_range=OUTPUT_RANGE,
    )
    q = insertion_values(G, "blocks.0", [4, 1], "quantile", n_samples=8, seed=3)
    m = insertion_values(G, "blocks.0", [4, 1], "mean", n_samples=8, seed=3)
    assert torch.equal(q, stats.thresholds[[4, 1]])
    assert torch.equal(m, stats.mean_active[[4, 1]])
    assert (m >= q).all()  # the mean above the threshold is at least the threshold
    assert insertion_values(G, "blocks.0", [0], "2.5") == 2.5
    with pytest.raises(GanscopeError, match="--value must be"):
        insertion_values(G, "blocks.0", [0], "median")
    with pytest.raises(GanscopeError, match=r"unit indices must be in 0\.\.7"):
        insertion_values(G, "blocks.0", [8], n_samples=2)


def test_causal_effect_does_not_depend_on_the_mode(run_dir, tmp_path):
    """Both modes insert at the same per-unit values for the causal effect (ablate used to
    measure it with a second, separately written statistics pass)."""
    common = dict(
        layer="blocks.0", units=[1, 2], n=3, concepts="colors", concept="green", stats_samples=8
    )
    ins = intervene_run(run_dir, tmp_path / "i", InterveneSettings(mode="insert", **common))
    abl = intervene_run(run_dir, tmp_path / "a", InterveneSettings(mode="ablate", **common))
    assert ins["causal_effect"] == abl["causal_effect"]
    assert abl["value"] == 0.0 and len(ins["value"]) == 2
    assert ins["mean_abs_change"] > 0 and abl["mean_abs_change"] > 0
    names = sorted(p.name for p in (tmp_path / "a" / "after").iterdir())
    assert names == ["seed000000.png", "seed000001.png", "seed000002.png"]
    saved = json.loads((tmp_path / "i" / "config.json").read_text())
    assert saved["command"] == "intervene" and saved["units"] == [1, 2]
    ace = ins["causal_effect"]
    assert intervene_summary(ins, InterveneSettings(**common), tmp_path / "i").splitlines() == [
        f"insert 2 units of blocks.0: mean |change| {ins['mean_abs_change']:.4f}",
        f"causal effect on green: {ace['ace']:+.4f} ± {ace['ace_stderr']:.4f} "
        f"(inserted {ace['inserted']:.4f}, ablated {ace['ablated']:.4f})",
        f"wrote {tmp_path / 'i'}/grid.png (rows: before, after)",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "remove"}, "--mode must be"),
        ({"n": 0}, "--n must be at least 1"),
        ({"concept": "green"}, "--concept and --concepts go together"),
    ],
)
def test_intervene_settings_refuse_bad_input(kwargs, message):
    with pytest.raises(GanscopeError, match=message):
        InterveneSettings(layer="blocks.0", units=[0], **kwargs)


def test_intervene_run_refuses_an_unknown_layer(run_dir, tmp_path):
    with pytest.raises(GanscopeError, match="no layer named"):
        intervene_run(run_dir, tmp_path / "x", InterveneSettings(layer="nope", units=(0,)))
    assert not (tmp_path / "x").exists()


def test_parse_units_and_box():
    assert parse_units("3, 17,42,") == [3, 17, 42]
    assert parse_box("0,1,8,9") == (0.0, 1.0, 8.0, 9.0) and parse_box(None) is None
    with pytest.raises(GanscopeError, match="comma-separated"):
        parse_units("a,b")
    for bad in ("4,4,2,8", "0,0,4"):
        with pytest.raises(GanscopeError, match="--where must be"):
            parse_box(bad)
