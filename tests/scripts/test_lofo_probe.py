"""scripts/lofo_probe.py: its command line (the probe itself trains for minutes; the build's test
covers the functions it shares with the build)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def probe():
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("lofo_probe", SCRIPTS / "lofo_probe.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.path.remove(str(SCRIPTS))


def test_set_reads_values_as_json_and_keeps_words(probe):
    got = probe.settings_overrides(
        ["jpeg_prob=0.2", "input=rgb", "jpeg_quality=[50, 100]", "antialias=true"]
    )
    assert got == {"jpeg_prob": 0.2, "input": "rgb", "jpeg_quality": (50, 100), "antialias": True}


@pytest.mark.parametrize("bad", ["foo=1", "jpeg_prob", "seed=3", "weights=x.pth"])
def test_set_refuses_unknown_keys_in_one_line(probe, bad, capsys):
    with pytest.raises(ValueError, match="KEY=VALUE"):
        probe.settings_overrides([bad])
    assert probe.main(["--set", bad, "--work", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set takes KEY=VALUE") and err.count("\n") == 1


def test_ensemble_is_the_platt_scaled_mean_logit(probe):
    import numpy as np
    import torch

    from ganscope.detectors import CNNDetector
    from ganscope.metrics.classification import fit_platt

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(48, 3, 16, 16, generator=gen)
    x[24:] = torch.nn.functional.interpolate(x[24:, :, ::2, ::2], scale_factor=2)  # 2x traces
    y = np.r_[np.zeros(24, int), np.ones(24, int)]
    members = [
        CNNDetector(input="npr", crop=16, epochs=1, batch_size=16, seed=s, device="cpu").fit(x, y)
        for s in (0, 1)
    ]
    ens = probe.Ensemble(members, x, y, fpr=0.25)
    cpu = torch.device("cpu")
    z = np.mean([m._logits(m.network_, x, cpu).double().numpy() for m in members], 0)
    t, b = fit_platt(y, z)
    assert (ens.temperature_, ens.bias_) == pytest.approx((t, b))
    p = ens.predict_proba(x)[:, 1]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(z / t + b))), rtol=1e-12)
    assert ens.threshold_ >= 0.5 and (p[y == 0] > ens.threshold_).mean() <= 0.25
