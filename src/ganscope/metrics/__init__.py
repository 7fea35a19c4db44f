"""Numbers for real-vs-fake detectors: AP, ROC-AUC, accuracies, calibration, bootstrap
intervals, transfer matrices and robustness sweeps. Label 1 means fake."""

from ganscope.metrics.classification import (
    INTERVAL_METRICS,
    accuracy,
    average_precision,
    balanced_accuracy,
    bootstrap_intervals,
    calibrate_threshold,
    detection_metrics,
    expected_calibration_error,
    fake_accuracy,
    fit_platt,
    fit_temperature,
    fpr_threshold,
    real_accuracy,
    roc_auc,
    tpr_at_fpr,
)
from ganscope.metrics.transfer import DEFAULT_SWEEP, robustness_sweep, transfer_matrix

__all__ = [
    "DEFAULT_SWEEP",
    "INTERVAL_METRICS",
    "accuracy",
    "average_precision",
    "balanced_accuracy",
    "bootstrap_intervals",
    "calibrate_threshold",
    "detection_metrics",
    "expected_calibration_error",
    "fake_accuracy",
    "fit_platt",
    "fit_temperature",
    "fpr_threshold",
    "real_accuracy",
    "robustness_sweep",
    "roc_auc",
    "tpr_at_fpr",
    "transfer_matrix",
]
