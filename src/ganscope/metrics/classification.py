"""Scores of a binary real-vs-fake detector: ranking, decisions, calibration, intervals.

Conventions (everywhere in ganscope): label 1 means fake; ``scores`` are P(fake) or any score that
grows with "fakeness"; a decision is ``fake`` when ``score > threshold`` (strictly, as in Wang et
al. 2020's evaluation code, so an undecided 0.5 counts as real).

Wang et al. (CVPR 2020) report AP per generator and note that AP is computed on a collection of
images, while a real/fake decision per image is more difficult: both are reported here. Ranking
metrics (AP, ROC-AUC) are computed exactly as scikit-learn computes them, ties included, but
vectorized so that :func:`bootstrap_intervals` can evaluate a thousand resamples at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from ganscope.errors import GanscopeError

RANKING_METRICS = ("ap", "roc_auc")
DECISION_METRICS = ("accuracy", "real_accuracy", "fake_accuracy", "balanced_accuracy")
INTERVAL_METRICS = RANKING_METRICS + DECISION_METRICS


def _as_1d(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise GanscopeError(f"y_true has {y.size} entries but scores has {s.size}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise GanscopeError("y_true must contain only 0 (real) and 1 (fake)")
    if not np.isfinite(s).all():
        raise GanscopeError("scores contain NaN or infinite values")
    return y.astype(np.int64), s


# --------------------------------------------------------------------------------------------
# Ranking metrics, batched over rows: y (R, N), s (R, N). Each row must hold both classes.
# --------------------------------------------------------------------------------------------
def _average_precision_rows(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    # AP = sum_n (R_n - R_{n-1}) P_n over distinct thresholds (scikit-learn's definition): every
    # positive contributes the precision measured at the end of its group of tied scores.
    R, N = s.shape
    order = np.argsort(-s, axis=1, kind="stable")
    s_sorted = np.take_along_axis(s, order, axis=1)
    y_sorted = np.take_along_axis(y, order, axis=1)
    tp = np.cumsum(y_sorted, axis=1)
    precision = tp / np.arange(1, N + 1)
    group_end = np.ones((R, N), dtype=bool)
    group_end[:, :-1] = s_sorted[:, :-1] != s_sorted[:, 1:]
    idx = np.where(group_end, np.arange(N), N)
    end_of_group = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]  # (R, N)
    prec_at_end = np.take_along_axis(precision, end_of_group, axis=1)
    n_pos = y_sorted.sum(axis=1)
    return (y_sorted * prec_at_end).sum(axis=1) / n_pos


def _roc_auc_rows(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    # Mann-Whitney U with mid-ranks for ties equals the trapezoidal area under the ROC curve.
    ranks = rankdata(s, axis=1, method="average")
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    rank_sum = (ranks * y).sum(axis=1)
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


class _Ranking:
    """A test set sorted once by decreasing score, for metrics of many weighted copies of it.

    A bootstrap resample is the original set with integer multiplicities (weights), so its AP
    and ROC-AUC follow from weighted cumulative sums along the one sorted order: no per-resample
    sort. Ties (equal scores) form groups, treated exactly as scikit-learn does.
    """

    def __init__(self, y: np.ndarray, s: np.ndarray) -> None:
        N = s.size
        self.order = np.argsort(-s, kind="stable")
        s_sorted = s[self.order]
        self.y = y[self.order].astype(np.float64)
        last = np.r_[s_sorted[:-1] != s_sorted[1:], True]  # last position of each tie group
        first = np.r_[True, last[:-1]]
        idx = np.arange(N)
        self.end = np.minimum.accumulate(np.where(last, idx, N)[::-1])[::-1]
        self.start = np.maximum.accumulate(np.where(first, idx, -1))

    def metrics(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """AP and ROC-AUC ``(R,)`` for weights ``w (R, N)`` given in the original order."""
        w = w[:, self.order]
        wp = w * self.y
        wn = w - wp
        tp = np.cumsum(wp, axis=1)
        fp = np.cumsum(wn, axis=1)
        P = tp[:, -1]
        Nn = fp[:, -1]
        tp_end, fp_end = tp[:, self.end], fp[:, self.end]
        with np.errstate(invalid="ignore", divide="ignore"):
            # AP: every positive earns the precision at the end of its tie group.
            prec = np.where(tp_end + fp_end > 0, tp_end / (tp_end + fp_end), 0.0)
            ap = (wp * prec).sum(axis=1) / P
            # AUC: negatives ranked below a positive count 1, tied negatives count 1/2.
            fp_before = (fp - wn)[:, self.start]
            pairs = (Nn[:, None] - fp_end) + 0.5 * (fp_end - fp_before)
            auc = (wp * pairs).sum(axis=1) / (P * Nn)
        return ap, auc


def _both_classes(y: np.ndarray) -> bool:
    return bool(y.size) and 0 < int(y.sum()) < y.size


def average_precision(y_true: Any, scores: Any) -> float:
    """Average precision (area under the precision-recall curve, step-wise).

    ``AP = sum_n (R_n - R_(n-1)) P_n`` over the distinct score thresholds, identical to
    :func:`sklearn.metrics.average_precision_score` (ties included).

    Args:
        y_true: labels ``(N,)``, 1 = fake.
        scores: ``(N,)``, higher = more likely fake.

    Returns:
        AP in [0, 1], or NaN when ``y_true`` has no fake image.

    Example:
        >>> average_precision([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.5])
        0.8333333333333333
    """
    y, s = _as_1d(y_true, scores)
    if not y.any():
        return float("nan")
    return float(_average_precision_rows(y[None], s[None])[0])


def roc_auc(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve, identical to :func:`sklearn.metrics.roc_auc_score`.

    Returns:
        ROC-AUC in [0, 1], or NaN unless both classes are present.

    Example:
        >>> roc_auc([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.5])
        0.75
    """
    y, s = _as_1d(y_true, scores)
    if not _both_classes(y):
        return float("nan")
    return float(_roc_auc_rows(y[None], s[None])[0])


def _decision_rows(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    pred = s > threshold
    real = y == 0
    fake = ~real
    n_real = real.sum(axis=-1)
    n_fake = fake.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        real_acc = (real & ~pred).sum(axis=-1) / n_real
        fake_acc = (fake & pred).sum(axis=-1) / n_fake
        acc = ((real & ~pred).sum(axis=-1) + (fake & pred).sum(axis=-1)) / y.shape[-1]
        bal = (real_acc + fake_acc) / 2.0
    return {
        "accuracy": acc,
        "real_accuracy": real_acc,
        "fake_accuracy": fake_acc,
        "balanced_accuracy": bal,
    }


def accuracy(y_true: Any, scores: Any, *, threshold: float = 0.5) -> float:
    """Fraction of images decided correctly, ``fake`` when ``score > threshold``.

    Example:
        >>> accuracy([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.5])
        0.75
    """
    y, s = _as_1d(y_true, scores)
    if not y.size:
        return float("nan")
    return float(_decision_rows(y, s, threshold)["accuracy"])


def real_accuracy(y_true: Any, scores: Any, *, threshold: float = 0.5) -> float:
    """Fraction of real images (label 0) decided real; NaN without real images."""
    y, s = _as_1d(y_true, scores)
    return float(_decision_rows(y, s, threshold)["real_accuracy"]) if (y == 0).any() else np.nan


def fake_accuracy(y_true: Any, scores: Any, *, threshold: float = 0.5) -> float:
    """Fraction of fake images (label 1) decided fake (the true-positive rate); NaN without
    fakes."""
    y, s = _as_1d(y_true, scores)
    return float(_decision_rows(y, s, threshold)["fake_accuracy"]) if y.any() else np.nan


def balanced_accuracy(y_true: Any, scores: Any, *, threshold: float = 0.5) -> float:
    """Mean of real and fake accuracy: insensitive to the real/fake ratio of the test set."""
    y, s = _as_1d(y_true, scores)
    if not _both_classes(y):
        return float("nan")
    return float(_decision_rows(y, s, threshold)["balanced_accuracy"])


def tpr_at_fpr(y_true: Any, scores: Any, fpr: float) -> float:
    """The highest true-positive rate reachable with a false-positive rate of at most ``fpr``.

    The operating points are the thresholds of the empirical ROC curve (no interpolation): the
    answer is a rate a user can actually get by picking a threshold, at the stated FPR or below.

    Args:
        y_true: labels, 1 = fake.
        scores: higher = more likely fake.
        fpr: the largest tolerated false-positive rate, e.g. ``0.01``.

    Returns:
        TPR in [0, 1], or NaN unless both classes are present.
    """
    y, s = _as_1d(y_true, scores)
    if not _both_classes(y):
        return float("nan")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    ends = np.r_[s_sorted[:-1] != s_sorted[1:], True]  # last index of each tie group
    tps = np.cumsum(y_sorted)[ends]
    fps = np.cumsum(1 - y_sorted)[ends]
    tpr = np.r_[0.0, tps / y.sum()]
    fprs = np.r_[0.0, fps / (y.size - y.sum())]
    return float(tpr[fprs <= fpr + 1e-12].max())


def expected_calibration_error(y_true: Any, probs: Any, *, n_bins: int = 15) -> float:
    """Expected calibration error of P(fake) (Guo et al., ICML 2017, eq. 3, on the fake class).

    ``ECE = sum_b |B_b| / N * |mean(y in B_b) - mean(p in B_b)|`` over ``n_bins`` equal-width bins
    of P(fake) on [0, 1] (the last bin includes 1). A detector whose P(fake) = 0.8 images are fake
    80% of the time scores 0.

    Returns:
        ECE in [0, 1], or NaN for an empty input.
    """
    y, p = _as_1d(y_true, probs)
    if not y.size:
        return float("nan")
    if (p < 0).any() or (p > 1).any():
        raise GanscopeError("expected_calibration_error needs probabilities in [0, 1]")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    np.bincount(bins, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    return float(np.abs(sum_y - sum_p).sum() / y.size)


def _bce_with_logits(u: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of ``sigmoid(u)`` against ``y``, stable for any ``u``:
    ``max(u, 0) - u * y + log(1 + exp(-|u|))``."""
    return float(np.mean(np.maximum(u, 0) - u * y + np.log1p(np.exp(-np.abs(u)))))


def fit_temperature(
    y_true: Any, logits: Any, *, bounds: tuple[float, float] = (0.02, 50.0)
) -> float:
    """Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017,
    sec. 4.2): the ``T > 0`` minimizing the binary cross-entropy of ``sigmoid(logits / T)``.

    The loss is convex in ``1 / T`` (a logistic regression with one weight and no bias), so a
    golden-section search over ``log T`` within ``bounds`` finds the minimum to ~1e-9 relative.
    Fit it on held-out validation logits: ``T > 1`` softens an over-confident network. It keeps
    the ranking (AP, ROC-AUC) and the 0.5 decision boundary (logit 0) unchanged.

    Returns:
        ``T``; 1.0 unless ``y_true`` holds both classes.
    """
    y, z = _as_1d(y_true, logits)
    if not _both_classes(y):
        return 1.0

    def nll(log_t: float) -> float:
        return _bce_with_logits(z / np.exp(log_t), y)

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    g = (np.sqrt(5.0) - 1) / 2
    a, b = lo + (1 - g) * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(80):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - g) * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def fit_platt(y_true: Any, logits: Any, *, iterations: int = 50) -> tuple[float, float]:
    """Platt scaling (Platt, "Probabilistic Outputs for Support Vector Machines", 1999; the
    two-parameter form of Guo et al., ICML 2017, sec. 4.2): the ``T > 0`` and bias ``b``
    minimizing the binary cross-entropy of ``sigmoid(logits / T + b)``.

    Temperature scaling alone (:func:`fit_temperature`) keeps logit 0 at P = 0.5; when the
    calibration reals look more fake to the network than its training reals did (other cameras,
    other regions of the photos), P(fake) is then too high for all of them and only a bias fixes
    it. The loss is convex in ``(1 / T, b)``; Newton's method from ``(1, 0)`` with a step halving
    line search converges in a few iterations. The ranking (AP, ROC-AUC) is kept when ``T > 0``.

    Returns:
        ``(T, b)``; ``(1.0, 0.0)`` unless ``y_true`` holds both classes. ``T`` is capped at 50
        (a network whose logits carry no information).
    """
    y, z = _as_1d(y_true, logits)
    if not _both_classes(y):
        return 1.0, 0.0
    X = np.column_stack([z, np.ones_like(z)])

    def nll(w: np.ndarray) -> float:
        return _bce_with_logits(X @ w, y)

    w = np.array([1.0, 0.0])
    f = nll(w)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(X @ w)))
        grad = X.T @ (p - y) / y.size
        hess = (X * (p * (1 - p))[:, None]).T @ X / y.size + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-8 and nll(w - t * step) > f:
            t /= 2
        w_new = w - t * step
        f_new = nll(w_new)
        if f - f_new < 1e-15:
            break
        w, f = w_new, f_new
    if w[0] < 1 / 50.0:  # no usable slope: the base rate, whatever the logit
        rate = float(np.clip(y.mean(), 1e-12, 1 - 1e-12))
        return 50.0, float(np.log(rate / (1 - rate)))
    return float(1 / w[0]), float(w[1])


def calibrate_threshold(y_true: Any, scores: Any) -> float:
    """The decision threshold that maximizes balanced accuracy on ``(y_true, scores)``.

    Candidates are the midpoints between consecutive distinct scores (plus one below the lowest
    and one above the highest), so the threshold sits in a gap rather than on a training score.
    Among equally good candidates the one closest to 0.5 is taken. Meant for a held-out
    validation split; on the training data it is optimistic.

    Returns:
        The threshold; 0.5 when ``y_true`` does not hold both classes.
    """
    y, s = _as_1d(y_true, scores)
    if not _both_classes(y):
        return 0.5
    u = np.unique(s)
    cands = np.r_[u[0] - 1e-6, (u[:-1] + u[1:]) / 2.0, u[-1] + 1e-6]
    pred = s[None, :] > cands[:, None]  # (T, N)
    real = y == 0
    bal = ((~pred & real).sum(1) / real.sum() + (pred & ~real).sum(1) / (~real).sum()) / 2.0
    best = np.flatnonzero(bal >= bal.max() - 1e-12)
    return float(cands[best[np.argmin(np.abs(cands[best] - 0.5))]])


def fpr_threshold(real_scores: Any, target_fpr: float, *, floor: float = 0.5) -> float:
    """The lowest threshold ``t >= floor`` at which at most ``target_fpr`` of ``real_scores``
    lie above it (a decision ``score > t`` then calls at most that share of reals fake).

    The threshold sits midway between two real scores (or at ``floor`` when few enough reals
    exceed it already), so it does not land on a validation score.

    Example:
        >>> fpr_threshold([0.1, 0.2, 0.6, 0.7, 0.9], 0.2)
        0.8
        >>> fpr_threshold([0.1, 0.2, 0.3], 0.1)
        0.5
    """
    s = np.sort(np.asarray(real_scores, dtype=np.float64).ravel())
    if not 0 < target_fpr < 1:
        raise ValueError(f"target_fpr must be in (0, 1), not {target_fpr}")
    allowed = int(np.floor(target_fpr * s.size + 1e-9))  # reals that may stay above
    if s.size == 0 or (s > floor).sum() <= allowed:
        return float(floor)
    k = s.size - allowed  # the k lowest scores must be <= t; the rest may lie above
    upper = s[k] if k < s.size else s[-1] + 1e-6
    return float(max(floor, (s[k - 1] + upper) / 2.0))


def bootstrap_intervals(
    y_true: Any,
    scores: Any,
    *,
    metrics: Sequence[str] = ("ap", "roc_auc", "accuracy"),
    threshold: float = 0.5,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence intervals, all resamples evaluated at once.

    The resampling is stratified (reals and fakes are resampled separately, Efron & Tibshirani
    1993, ch. 13), so every resample keeps the test set's class counts and AP/ROC-AUC are always
    defined. A resample is represented by the multiplicity of every image, so AP and ROC-AUC of
    all resamples follow from one sort of the scores and weighted cumulative sums over an
    ``(R, N)`` matrix (``R`` up to ``n_resamples``, fewer for large ``N`` to bound memory).

    Args:
        y_true: labels, 1 = fake.
        scores: P(fake) or any score.
        metrics: names from :data:`INTERVAL_METRICS`.
        threshold: decision threshold for the accuracy metrics.
        n_resamples: bootstrap resamples.
        level: confidence level of the interval.
        seed: seed of the resampling.

    Returns:
        ``{metric: (low, high)}``; ``(nan, nan)`` where the metric is undefined.
    """
    y, s = _as_1d(y_true, scores)
    unknown = set(metrics) - set(INTERVAL_METRICS)
    if unknown:
        raise GanscopeError(f"unknown metric(s) {sorted(unknown)}; choose from {INTERVAL_METRICS}")
    if n_resamples < 1:
        raise GanscopeError("n_resamples must be at least 1")
    if not y.size:
        return {m: (float("nan"), float("nan")) for m in metrics}
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(y == cls) for cls in (0, 1)]
    ranking = _Ranking(y, s) if (set(metrics) & set(RANKING_METRICS)) else None
    both = _both_classes(y)
    pred = s > threshold
    # Resamples are evaluated in chunks of at most ~4M weights, so memory stays bounded for big
    # test sets (1000 resamples x 100k images would otherwise need several GB).
    chunk = max(1, min(n_resamples, 4_000_000 // y.size))
    parts: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for start in range(0, n_resamples, chunk):
        R = min(chunk, n_resamples - start)
        w = np.zeros((R, y.size))  # multiplicity of every image in every resample
        for m in members:
            if m.size:
                w[:, m] = rng.multinomial(m.size, np.full(m.size, 1.0 / m.size), size=R)
        values: dict[str, np.ndarray] = {}
        if ranking is not None:
            ap, auc = ranking.metrics(w)
            values["ap"] = ap if y.any() else np.full(R, np.nan)
            values["roc_auc"] = auc if both else np.full(R, np.nan)
        n_real, n_fake = (y == 0).sum(), (y == 1).sum()
        right_real = (w * ((y == 0) & ~pred)).sum(axis=1)
        right_fake = (w * ((y == 1) & pred)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            values["real_accuracy"] = right_real / n_real
            values["fake_accuracy"] = right_fake / n_fake
            values["accuracy"] = (right_real + right_fake) / y.size
            values["balanced_accuracy"] = (values["real_accuracy"] + values["fake_accuracy"]) / 2
        for m in metrics:
            parts[m].append(np.asarray(values[m], dtype=np.float64))
    alpha = (1.0 - level) / 2.0
    out = {}
    for m in metrics:
        v = np.concatenate(parts[m])
        if np.isnan(v).all():
            out[m] = (float("nan"), float("nan"))
        else:
            lo, hi = np.nanquantile(v, [alpha, 1.0 - alpha])
            out[m] = (float(lo), float(hi))
    return out


def _nan_to_none(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def detection_metrics(
    y_true: Any,
    scores: Any,
    *,
    threshold: float = 0.5,
    intervals: bool = True,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Every number ``ganscope detector eval`` reports for one test set.

    Keys (the ``M`` of DESIGN.md's ``detector eval --json`` contract, then extras):
    ``ap``, ``roc_auc``, ``accuracy``, ``real_accuracy``, ``fake_accuracy``, ``n_real``,
    ``n_fake``; ``balanced_accuracy``, ``threshold``, ``accuracy_at_0.5``, ``tpr_at_fpr_1``,
    ``tpr_at_fpr_5`` (TPR at 1% and 5% FPR), ``ece`` and ``intervals`` (95% bootstrap intervals
    ``{metric: [low, high]}``). The accuracies use ``threshold`` (the detector's calibrated
    threshold); ``accuracy_at_0.5`` is the accuracy at 0.5 for comparison with papers.
    Undefined values (e.g. ROC-AUC without real images) are ``None``, so the dict is valid JSON.
    """
    y, s = _as_1d(y_true, scores)
    dec = _decision_rows(y, s, threshold) if y.size else {}
    out: dict[str, Any] = {
        "ap": _nan_to_none(average_precision(y, s)),
        "roc_auc": _nan_to_none(roc_auc(y, s)),
        "accuracy": _nan_to_none(float(dec["accuracy"])) if y.size else None,
        "real_accuracy": _nan_to_none(float(dec["real_accuracy"])) if y.size else None,
        "fake_accuracy": _nan_to_none(float(dec["fake_accuracy"])) if y.size else None,
        "n_real": int((y == 0).sum()),
        "n_fake": int((y == 1).sum()),
        "balanced_accuracy": _nan_to_none(float(dec["balanced_accuracy"])) if y.size else None,
        "threshold": float(threshold),
        "accuracy_at_0.5": _nan_to_none(accuracy(y, s, threshold=0.5)),
        "tpr_at_fpr_1": _nan_to_none(tpr_at_fpr(y, s, 0.01)),
        "tpr_at_fpr_5": _nan_to_none(tpr_at_fpr(y, s, 0.05)),
    }
    in_unit = bool(y.size) and bool(((s >= 0) & (s <= 1)).all())
    out["ece"] = _nan_to_none(expected_calibration_error(y, s)) if in_unit else None
    if intervals:
        ci = bootstrap_intervals(
            y, s, metrics=INTERVAL_METRICS, threshold=threshold, n_resamples=n_resamples, seed=seed
        )
        out["intervals"] = {k: [_nan_to_none(lo), _nan_to_none(hi)] for k, (lo, hi) in ci.items()}
    return out
