"""scripts/make_default_detector.py end to end, tiny: built-in photos, one aligned upsampler, the
shipped zoo, one epoch. Checks the contract of what it writes, not the detector's quality."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganscope.detectors import load_detector

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_default_detector.py"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("make_default_detector", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    root = tmp_path_factory.mktemp("dd")
    args = ["--tiny", "--no-debian", "--threads", "1", "--work", str(root / "w")]
    assert mod.main([*args, "--out", str(root / "out")]) == 0
    return mod, root


def test_a_new_threshold_target_reuses_the_cached_network_and_recalibrates_it(build, monkeypatch):
    mod, root = build
    photos = mod.photos(mod.Plan(debian=False))
    base = mod.Plan(debian=False)
    key = mod.data_key(base, photos)
    assert mod.data_key(mod.Plan(debian=False, target_fpr=0.2), photos) == key
    # The epoch budget and the detector's settings retrain the models on the same data.
    assert mod.data_key(mod.Plan(debian=False, epochs=3), photos) == key
    # --no-lofo builds the same data sets (it once keyed them apart and rebuilt them).
    assert mod.data_key(mod.Plan(debian=False, lofo=False), photos) == key
    assert mod.data_key(mod.Plan(debian=False, simulated=5), photos) != key
    model = mod.model_key(base, key)
    assert mod.model_key(mod.Plan(debian=False, target_fpr=0.2), key) == model
    assert mod.model_key(mod.Plan(debian=False, epochs=3), key) != model
    monkeypatch.setitem(mod.DETECTOR_SETTINGS, "calibrate", "temperature")
    assert mod.model_key(base, key) == model  # calibration changes no weight
    monkeypatch.setitem(mod.DETECTOR_SETTINGS, "jpeg_prob", 0.0)
    assert mod.model_key(base, key) != model
    monkeypatch.undo()
    # The tiny build's cached network, recalibrated to call at most 20% of calibration reals fake.
    (folder,) = (root / "w" / "models").iterdir()
    cached = load_detector(folder / "all")
    tiny_key = mod.load_arrays(root / "w" / "calib.safetensors")[1]["key"]
    calib = mod.cached_items(root / "w", "calib", tiny_key, make=None)
    plan = mod.Plan(debian=False, target_fpr=0.2)
    det = mod.train(root / "w", "all", (calib, calib), plan, folder.name)
    assert det.target_fpr == 0.2
    for a, b in zip(det.network_.parameters(), cached.network_.parameters(), strict=True):
        assert torch.equal(a, b)  # loaded, not retrained
    reals = np.stack([im for im, y in zip(calib.images, calib.labels, strict=True) if y == 0])
    p_real = det.predict_proba(mod.to_float(reals))[:, 1]
    assert (p_real >= det.threshold_).mean() <= 0.2 + 1e-9


def test_writes_a_tiled_calibrated_detector_with_its_card(build):
    mod, root = build
    det = load_detector(root / "out")
    assert det.get_params()["eval_crop"] == "tiles" and det.threshold_ >= 0.5
    assert det.get_params()["target_fpr"] == 0.03 and det.temperature_ > 0
    card = (root / "out" / "MODEL_CARD.md").read_text()
    assert det.get_params()["calibrate"] == "platt" and f"b = {det.bias_:+.3f}" in card
    shown = "0.5" if det.threshold_ == 0.5 else f"{det.threshold_:.3f}"
    assert f"Decision threshold {shown}**" in card
    for heading in ("## Training data", "### Per source", "### Per image size", "### Per JPEG"):
        assert heading in card
    assert "## Do not trust it for" in card
    assert mod.training_degradations() in card  # the settings trained with, not a fixed text
    ev = json.loads((root / "out" / "evaluation.json").read_text())
    assert set(ev["evaluation"]["per_size"]) == {"32", "64"}
    assert "aligned-nearest" in ev["fake_sources"]
    # Every model is an ensemble of two networks; leave one family out, one seed: the card's
    # rows are the ensembles' numbers and the last column each member's AP alone.
    assert det.members == 2 and len(det.network_.members) == 2
    assert ev["detector"]["member_epochs_run"] == [1, 1]
    assert "| AP of each member |" in card and ev["lofo"]
    for fam, res in ev["lofo"].items():
        assert res["seeds"] == [0] and len(res["runs"]) == 1 and len(res["members"]) == 2
        for n, r in res["mean"]["per_size"].items():
            assert r["ap"] == res["runs"][0]["per_size"][n]["ap"]
            each = " / ".join(f"{m['per_size'][n]['ap']:.3f}" for m in res["members"])
            assert f"without {fam}: all {fam} at {n} px" in card and f"| {each} |" in card
    models = {m.name for keyed in (root / "w" / "models").iterdir() for m in keyed.iterdir()}
    assert models >= {"all", "without-dcgan"}
    # The photos are split by region: train | calib | test columns, no crop crossing a border.
    photo = mod.photos(mod.Plan(debian=False))[0]
    rng = np.random.default_rng(0)
    width = mod.load_rgb(photo.path).shape[1]
    cut = mod.region(photo, width, "test")[0]
    calib = mod.region(photo, width, "calib")
    assert mod.region(photo, width, "train") == (0, calib[0]) and calib[1] == cut
    assert all(left + 64 <= calib[0] for _, left in mod.crop_positions(photo, 64, 50, "train", rng))
    assert all(
        calib[0] <= left and left + 32 <= cut
        for _, left in mod.crop_positions(photo, 32, 50, "calib", rng)
    )
    assert ev["n_calibration"] > 0 and det.val_ece_ >= 0
    assert all(
        top % 2 == 0 and left % 2 == 0
        for top, left in mod.crop_positions(photo, 32, 50, "test", rng)
    )


def test_rerun_resumes_from_the_cache(build):
    mod, root = build
    before = (root / "w" / "train.safetensors").stat().st_mtime_ns
    assert (
        mod.main(
            [
                "--tiny",
                "--no-debian",
                "--threads",
                "1",
                "--work",
                str(root / "w"),
                "--out",
                str(root / "out2"),
            ]
        )
        == 0
    )
    assert (root / "w" / "train.safetensors").stat().st_mtime_ns == before
    assert (root / "out2" / "model.safetensors").exists()


def test_threshold_text_says_whether_the_target_raised_the_threshold(build):
    mod, _ = build
    raised = mod.threshold_text(0.8, 0.03, {"photos@32": 0.11, "unseen@32": 0.02})
    assert "Decision threshold 0.800**, not 0.5" in raised and "2%-11%" in raised
    kept = mod.threshold_text(0.5, 0.03, {"photos@32": 0.02})
    assert "Decision threshold 0.5**" in kept and "stays there" in kept
