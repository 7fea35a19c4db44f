"""Whole-image scoring by tiles (issue 11) and temperature-scaled P(fake)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganscope.detectors import CNNDetector, load_detector, save_detector
from ganscope.detectors.inference import predict_paths
from ganscope.detectors.tiles import tile_count, tile_images, tile_starts
from ganscope.errors import GanscopeError

FAST = dict(epochs=2, batch_size=16, crop=16, seed=0, device="cpu", input="npr")


@pytest.mark.parametrize("length", [16, 17, 31, 32, 33, 47, 48, 70, 101])
def test_tiles_cover_every_pixel_from_even_offsets(length):
    starts = tile_starts(length, 16)
    assert all(s % 2 == 0 for s in starts)
    assert starts == sorted(set(starts)) and starts[-1] + 16 <= length
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s : s + 16] = True
    # Every pixel, except the last of an odd side (it would need an odd start).
    assert covered[: length - (length % 2)].all()


def test_tile_starts_refuse_small_or_odd():
    with pytest.raises(GanscopeError, match="smaller"):
        tile_starts(15, 16)
    with pytest.raises(GanscopeError, match="even"):
        tile_starts(40, 15)


def test_tile_images_matches_a_loop():
    x = torch.rand(2, 3, 40, 50)
    tiles = tile_images(x, 16)
    rows, cols = tile_starts(40, 16), tile_starts(50, 16)
    assert tiles.shape == (2 * tile_count(40, 50, 16), 3, 16, 16)
    k = 0
    for b in range(2):
        for y in rows:
            for xx in cols:
                torch.testing.assert_close(tiles[k], x[b, :, y : y + 16, xx : xx + 16])
                k += 1


@pytest.fixture(scope="module")
def tiled(train_set):
    X, y = train_set
    return CNNDetector(eval_crop="tiles", calibrate="temperature", **FAST).fit(X, y)


def test_tiled_score_is_the_mean_tile_logit(tiled, test_set):
    Xt, _ = test_set
    big = torch.cat([Xt[:2], Xt[2:4]], dim=-1)[..., :, :60]  # (2, 3, 32, 60)
    p = tiled.predict_proba(big)[:, 1]
    net = tiled.network_
    for b in range(2):
        logits = []
        for y0 in tile_starts(32, 16):
            for x0 in tile_starts(60, 16):
                tile = big[b : b + 1, :, y0 : y0 + 16, x0 : x0 + 16]
                with torch.no_grad():
                    logits.append(float(net(tiled._prepare(tile))))
        expected = 1 / (1 + math.exp(-np.mean(logits) / tiled.temperature_))
        assert p[b] == pytest.approx(expected, abs=1e-5)
    assert tiled.input_size is None and tiled.min_input_size == 16


def test_temperature_calibration_sets_threshold_half(tiled):
    assert tiled.threshold_ == 0.5
    assert tiled.temperature_ > 0 and tiled.temperature_ != 1.0
    assert 0 <= tiled.val_ece_ <= 1


def test_temperature_survives_save_load(tiled, test_set, tmp_path):
    save_detector(tiled, tmp_path / "m")
    again = load_detector(tmp_path / "m")
    assert again.temperature_ == tiled.temperature_ and again.val_ece_ == tiled.val_ece_
    np.testing.assert_array_equal(
        again.predict_proba(test_set[0]), tiled.predict_proba(test_set[0])
    )


def test_tiled_detector_scores_mixed_size_files(tiled, tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate([(16, 16), (37, 64), (64, 37), (8, 40)]):
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        path = tmp_path / f"{i}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(arr).save(path)
        paths.append(path)
    errors: list = []
    kept, p = predict_paths(tiled, paths, errors=errors)
    assert [q.name for q in kept] == ["0.jpg", "1.png", "2.jpg"]
    assert len(errors) == 1 and errors[0][0].name == "3.png"
    assert ((p >= 0) & (p <= 1)).all()


def test_a_single_tile_of_an_odd_sized_image_is_its_tile(tiled, test_set):
    x = torch.nn.functional.pad(test_set[0][:2, :, :16, :16], (0, 1, 0, 1), value=0.5)  # 17x17
    np.testing.assert_allclose(
        tiled.predict_proba(x), tiled.predict_proba(x[..., :16, :16]), rtol=0, atol=1e-6
    )


def test_odd_tiles_are_refused(train_set):
    with pytest.raises(GanscopeError, match="even crop"):
        CNNDetector(eval_crop="tiles", **dict(FAST, crop=15)).fit(*train_set)


def test_unknown_calibration_is_refused(train_set):
    with pytest.raises(GanscopeError, match="calibrate"):
        CNNDetector(calibrate="isotonic", **FAST).fit(*train_set)


def test_target_fpr_raises_the_threshold_on_validation_reals(train_set):
    X, y = train_set
    base = CNNDetector(eval_crop="tiles", calibrate="temperature", **FAST).fit(X, y)
    strict = CNNDetector(eval_crop="tiles", calibrate="temperature", target_fpr=0.01, **FAST).fit(
        X, y
    )
    assert strict.temperature_ == base.temperature_  # the same network and calibration
    assert strict.threshold_ >= 0.5
    # Rebuild the validation split the detector used and check the promise on it.
    from ganscope.detectors.cnn import _stratified_split

    yy = np.asarray(y)
    _, val_idx = _stratified_split(yy, 0.2, torch.Generator().manual_seed(0))
    p_val = strict.predict_proba(X[torch.from_numpy(val_idx)])[:, 1]
    reals = p_val[yy[val_idx] == 0]
    assert (reals > strict.threshold_).mean() <= 0.01 + 1e-9


def test_target_fpr_needs_temperature(train_set):
    X, y = train_set
    with pytest.raises(GanscopeError, match="target_fpr"):
        CNNDetector(calibrate="threshold", target_fpr=0.05, **FAST).fit(X, y)
    with pytest.raises(GanscopeError, match="target_fpr"):
        CNNDetector(calibrate="temperature", target_fpr=1.5, **FAST).fit(X, y)


def test_platt_calibration_fits_temperature_and_bias_and_survives_saving(
    train_set, test_set, tmp_path
):
    from ganscope.detectors import load_detector, save_detector
    from ganscope.metrics import fit_platt

    X, y = train_set
    Xt, yt = test_set
    det = CNNDetector(eval_crop="tiles", calibrate="platt", target_fpr=0.1, **FAST).fit(X, y)
    logits = det._logits(det.network_, Xt, torch.device("cpu")).double().numpy()
    det.calibrate_on(Xt, yt)
    t, b = fit_platt(np.asarray(yt), logits)
    assert (det.temperature_, det.bias_) == (pytest.approx(t), pytest.approx(b))
    p = det.predict_proba(Xt)[:, 1]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(logits / t + b))), rtol=1e-6)
    assert (p[np.asarray(yt) == 0] > det.threshold_).mean() <= 0.1 + 1e-9
    save_detector(det, tmp_path / "platt")
    again = load_detector(tmp_path / "platt")
    assert again.bias_ == det.bias_
    np.testing.assert_array_equal(again.predict_proba(Xt), det.predict_proba(Xt))


def test_calibrate_on_held_out_data_refits_only_the_calibration(train_set, test_set):
    X, y = train_set
    Xt, yt = test_set
    det = CNNDetector(eval_crop="tiles", calibrate="temperature", target_fpr=0.1, **FAST).fit(X, y)
    weights = {k: v.clone() for k, v in det.network_.state_dict().items()}
    logits = det._logits(det.network_, Xt, torch.device("cpu")).double().numpy()
    det.calibrate_on(Xt, yt)
    for k, v in det.network_.state_dict().items():
        torch.testing.assert_close(v, weights[k])
    from ganscope.metrics import expected_calibration_error, fit_temperature

    assert det.temperature_ == pytest.approx(fit_temperature(np.asarray(yt), logits))
    p = det.predict_proba(Xt)[:, 1]
    assert det.threshold_ >= 0.5
    assert (p[np.asarray(yt) == 0] > det.threshold_).mean() <= 0.1 + 1e-9
    assert det.val_ece_ == pytest.approx(expected_calibration_error(yt, p))
