"""Metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    roc_auc_score,
    roc_curve,
)

from ganscope.errors import GanscopeError
from ganscope.metrics import (
    INTERVAL_METRICS,
    accuracy,
    average_precision,
    balanced_accuracy,
    bootstrap_intervals,
    calibrate_threshold,
    detection_metrics,
    expected_calibration_error,
    fake_accuracy,
    real_accuracy,
    roc_auc,
    tpr_at_fpr,
)


def _random_case(seed: int, ties: bool):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    # Few distinct values force many ties.
    s = rng.integers(0, 4, n) / 3.0 if ties else rng.random(n)
    return y, s


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(25))
def test_ranking_metrics_equal_sklearn(seed, ties):
    y, s = _random_case(seed, ties)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=2, max_size=40).filter(
        lambda v: 0 < sum(t[0] for t in v) < len(v)
    )
)
def test_ranking_metrics_equal_sklearn_property(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=float)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_hand_computed_values():
    y = [0, 1, 1, 0]
    s = [0.1, 0.9, 0.4, 0.5]
    # Ranked: 0.9 (fake, P=1), 0.5 (real), 0.4 (fake, P=2/3): AP = (1 + 2/3) / 2.
    assert average_precision(y, s) == pytest.approx(5 / 6)
    # Pairs (fake > real): (0.9 > 0.1), (0.9 > 0.5), (0.4 > 0.1), (0.4 < 0.5): 3/4.
    assert roc_auc(y, s) == pytest.approx(0.75)
    assert accuracy(y, s) == pytest.approx(0.75)  # 0.5 is not > 0.5: decided real, correct
    assert real_accuracy(y, s) == pytest.approx(1.0)
    assert fake_accuracy(y, s) == pytest.approx(0.5)
    assert balanced_accuracy(y, s) == pytest.approx(0.75)
    assert accuracy(y, s, threshold=0.45) == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(5))
def test_decision_metrics_equal_sklearn(seed):
    y, s = _random_case(seed, ties=False)
    for thr in (0.3, 0.5, 0.8):
        pred = (s > thr).astype(int)
        assert accuracy(y, s, threshold=thr) == pytest.approx(accuracy_score(y, pred))
        assert balanced_accuracy(y, s, threshold=thr) == pytest.approx(
            balanced_accuracy_score(y, pred)
        )


@pytest.mark.parametrize("seed", range(8))
def test_tpr_at_fpr_matches_roc_curve(seed):
    y, s = _random_case(seed, ties=seed % 2 == 1)
    fpr, tpr, _ = roc_curve(y, s)
    for target in (0.0, 0.01, 0.05, 0.3):
        assert tpr_at_fpr(y, s, target) == pytest.approx(tpr[fpr <= target].max())


def test_tpr_at_fpr_perfect_and_reversed():
    y = np.r_[np.zeros(50), np.ones(50)]
    assert tpr_at_fpr(y, y, 0.01) == 1.0
    assert tpr_at_fpr(y, 1 - y, 0.01) == 0.0


def test_expected_calibration_error_hand_computed():
    # Bin [0.2, 0.4) holds p = 0.3, 0.3 with one fake: |0.5 - 0.3| * 2/4.
    # Bin [0.8, 1.0] holds p = 0.9, 0.9 with two fakes: |1 - 0.9| * 2/4.
    y = [0, 1, 1, 1]
    p = [0.3, 0.3, 0.9, 0.9]
    assert expected_calibration_error(y, p, n_bins=5) == pytest.approx(0.2 * 0.5 + 0.1 * 0.5)
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == pytest.approx(0.0)
    with pytest.raises(GanscopeError):
        expected_calibration_error([0, 1], [0.0, 1.5])


def test_calibrate_threshold_separates_shifted_scores():
    y = np.r_[np.zeros(20), np.ones(20)]
    s = np.r_[np.linspace(0.6, 0.7, 20), np.linspace(0.75, 0.9, 20)]
    thr = calibrate_threshold(y, s)
    assert 0.7 < thr < 0.75
    assert balanced_accuracy(y, s, threshold=thr) == 1.0
    assert calibrate_threshold(np.zeros(5), np.linspace(0, 1, 5)) == 0.5


def test_bootstrap_intervals_contain_estimate_and_shrink():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(200), np.ones(200)].astype(int)
    s = rng.normal(size=400) + 1.2 * y
    ci = bootstrap_intervals(y, s, metrics=INTERVAL_METRICS, threshold=0.6, n_resamples=400)
    for name, fn in (("ap", average_precision), ("roc_auc", roc_auc)):
        lo, hi = ci[name]
        assert lo < fn(y, s) < hi
    lo, hi = ci["accuracy"]
    assert lo < accuracy(y, s, threshold=0.6) < hi
    small = bootstrap_intervals(y[::8], s[::8], n_resamples=400)
    assert (small["ap"][1] - small["ap"][0]) > (ci["ap"][1] - ci["ap"][0])


def test_bootstrap_resamples_match_slow_reference():
    # The vectorized resampled AP/AUC equal the metrics computed resample by resample.
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(15), np.ones(10)].astype(int)
    s = rng.integers(0, 5, 25) / 4.0
    ci = bootstrap_intervals(y, s, metrics=("ap", "roc_auc"), n_resamples=50, seed=3)
    # Reference: the same resamples (multiplicities drawn as the library does), expanded into
    # explicit index lists and scored one by one with scikit-learn.
    rng = np.random.default_rng(3)
    counts = np.zeros((50, y.size), dtype=np.int64)
    for c in (0, 1):
        m = np.flatnonzero(y == c)
        counts[:, m] = rng.multinomial(m.size, np.full(m.size, 1.0 / m.size), size=50)
    idx = [np.repeat(np.arange(y.size), row) for row in counts]
    aps = [average_precision_score(y[i], s[i]) for i in idx]
    aucs = [roc_auc_score(y[i], s[i]) for i in idx]
    assert ci["ap"] == pytest.approx(tuple(np.quantile(aps, [0.025, 0.975])))
    assert ci["roc_auc"] == pytest.approx(tuple(np.quantile(aucs, [0.025, 0.975])))


def test_detection_metrics_contract_and_json_safety():
    import json

    y = [0, 0, 1, 1, 1]
    s = [0.1, 0.7, 0.8, 0.4, 0.9]
    m = detection_metrics(y, s, threshold=0.5, n_resamples=50)
    for key in ("ap", "roc_auc", "accuracy", "real_accuracy", "fake_accuracy", "n_real", "n_fake"):
        assert key in m
    assert (m["n_real"], m["n_fake"]) == (2, 3)
    assert m["accuracy"] == pytest.approx(3 / 5)
    json.dumps(m, allow_nan=False)
    only_fake = detection_metrics([1, 1], [0.2, 0.9], n_resamples=10)
    assert only_fake["roc_auc"] is None and only_fake["real_accuracy"] is None
    json.dumps(only_fake, allow_nan=False)


def test_bad_input_raises():
    with pytest.raises(GanscopeError):
        average_precision([0, 1], [0.5])
    with pytest.raises(GanscopeError):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(GanscopeError):
        average_precision([0, 1], [0.1, np.nan])


def test_fit_temperature_matches_scipy():
    from scipy.optimize import minimize_scalar

    from ganscope.metrics import fit_temperature

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    logits = (2 * y - 1) * 6.0 + rng.normal(0, 4, 400)  # over-confident: T > 1

    def nll(t):
        u = logits / t
        return np.mean(np.logaddexp(0, u) - u * y)

    ref = minimize_scalar(nll, bounds=(0.02, 50), method="bounded", options={"xatol": 1e-10}).x
    t = fit_temperature(y, logits)
    assert t > 1 and t == pytest.approx(ref, rel=1e-5)
    assert fit_temperature(np.zeros(5), logits[:5]) == 1.0


def test_fit_platt_matches_sklearn_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    from ganscope.metrics import fit_platt, fit_temperature

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 600)
    logits = (2 * y - 1) * 5.0 + 3.0 + rng.normal(0, 3, 600)  # over-confident and leaning fake
    lr = LogisticRegression(C=1e12, tol=1e-12, max_iter=10_000).fit(logits[:, None], y)
    t, b = fit_platt(y, logits)
    assert 1 / t == pytest.approx(lr.coef_[0, 0], rel=1e-5)
    assert b == pytest.approx(lr.intercept_[0], rel=1e-5) and b < 0  # pulls P(fake) down

    def nll(z):
        return np.mean(np.logaddexp(0, z) - z * y)

    # Two parameters fit at least as well as the temperature alone.
    assert nll(logits / t + b) <= nll(logits / fit_temperature(y, logits)) + 1e-12
    assert fit_platt(np.ones(5), logits[:5]) == (1.0, 0.0)
    # Logits unrelated to the labels: no slope, the base rate.
    t0, b0 = fit_platt(np.r_[np.zeros(30), np.ones(10)], np.r_[np.ones(30), -np.ones(10)])
    assert t0 == 50.0 and b0 == pytest.approx(np.log(10 / 30))


@pytest.mark.parametrize("seed", range(20))
def test_fpr_threshold_is_the_lowest_that_keeps_the_rate(seed):
    from ganscope.metrics import fpr_threshold

    rng = np.random.default_rng(seed)
    s = np.round(rng.random(rng.integers(1, 40)), 2)  # ties on purpose
    target = float(rng.uniform(0.01, 0.5))
    t = fpr_threshold(s, target)
    assert t >= 0.5 and (s > t).mean() <= target + 1e-12
    # Brute force: t lies in the gap above the highest real score it must clear: any lower
    # candidate (0.5 itself or a real score below that gap) calls too many reals fake.
    below = s[(s >= 0.5) & (s <= t)]
    gap = below.max() if below.size else 0.5
    for c in np.r_[0.5, below]:
        assert c >= gap or (s > c).mean() > target + 1e-12
    assert not ((s > gap) & (s <= t)).any() and t >= gap
