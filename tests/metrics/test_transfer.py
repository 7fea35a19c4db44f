"""Transfer matrices and robustness sweeps with a tiny, transparent detector."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganscope.detectors.augment import degrade
from ganscope.errors import GanscopeError
from ganscope.metrics import robustness_sweep, transfer_matrix


class MeanBrightness:
    """A stand-in detector: P(fake) grows with the mean brightness; threshold learned in fit."""

    def fit(self, X, y):
        m = X.mean(dim=(1, 2, 3)).numpy()
        self.threshold_ = 0.5
        self.offset_ = (m[y == 0].mean() + m[y == 1].mean()) / 2
        return self

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-50 * (X.mean(dim=(1, 2, 3)).numpy() - self.offset_)))
        return np.column_stack([1 - p, p])


def _images(level, n, seed):
    g = torch.Generator().manual_seed(seed)
    return (level + 0.05 * torch.rand(n, 3, 8, 8, generator=g)).clamp(0, 1)


def test_transfer_matrix_shape_and_values():
    real_tr, real_te = _images(0.3, 20, 0), _images(0.3, 20, 1)
    fakes_tr = {"bright": _images(0.6, 20, 2), "same": _images(0.3, 20, 3)}
    fakes_te = {"bright": _images(0.6, 20, 4), "dim": _images(0.1, 20, 5)}
    out = transfer_matrix(MeanBrightness, real_tr, fakes_tr, real_te, fakes_te)
    assert set(out) == {"bright", "same"}
    assert set(out["bright"]) == {"bright", "dim"}
    assert set(out["bright"]["bright"]) == {"ap", "accuracy"}
    assert out["bright"]["bright"]["ap"] == pytest.approx(1.0)
    assert out["bright"]["dim"]["ap"] < 0.6  # darker fakes score below the reals: no transfer
    with pytest.raises(GanscopeError):
        transfer_matrix(MeanBrightness, real_tr, {}, real_te, fakes_te)


def test_transfer_matrix_hands_over_each_fitted_detector():
    real_tr, real_te = _images(0.3, 20, 0), _images(0.3, 20, 1)
    fakes = {"bright": _images(0.6, 20, 2), "dim": _images(0.1, 20, 3)}
    fitted = {}
    out = transfer_matrix(
        MeanBrightness, real_tr, fakes, real_te, fakes, metrics=("ap", "roc_auc"),
        on_fitted=fitted.__setitem__, label="brightness",
    )  # fmt: skip
    assert list(fitted) == ["bright", "dim"]
    assert fitted["bright"].offset_ > fitted["dim"].offset_  # each fit on its own source
    assert set(out["dim"]["bright"]) == {"ap", "roc_auc"}


def test_robustness_sweep_degrades_real_and_fake_alike():
    class Sharpness(MeanBrightness):
        # P(fake) from high-frequency energy: blur removes the cue from both sets equally.
        def predict_proba(self, X):
            hf = (X[..., 1:, :] - X[..., :-1, :]).abs().mean(dim=(1, 2, 3)).numpy()
            p = np.clip(hf * 5, 0, 1)
            return np.column_stack([1 - p, p])

    real = torch.full((10, 3, 16, 16), 0.5)
    i = torch.arange(16)
    fake = (0.5 + 0.1 * ((i[:, None] + i[None, :]) % 2 * 2 - 1)).expand(10, 3, 16, 16).clone()
    det = Sharpness().fit(torch.cat([real, fake]), np.r_[np.zeros(10), np.ones(10)])
    rows = robustness_sweep(det, real, fake, degrade=degrade, sweep={"blur": [2.0], "jpeg": [90]})
    assert [r["degradation"] for r in rows] == ["none", "blur", "jpeg"]
    clean, blurred = rows[0], rows[1]
    assert clean["ap"] == pytest.approx(1.0) and clean["accuracy"] == pytest.approx(1.0)
    assert blurred["accuracy"] == pytest.approx(0.5)  # the checkerboard is gone: all say real
