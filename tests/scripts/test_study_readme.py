"""scripts/study_readme.py and scripts/lofo_probe.py: small helper scripts behind README numbers."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "study_readme.py"


@pytest.fixture(scope="module")
def mod():
    spec = importlib.util.spec_from_file_location("study_readme", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _matrix(aps: dict[tuple[str, str], float]) -> dict:
    out: dict = {}
    for (a, b), ap in aps.items():
        out.setdefault(a, {})[b] = {"ap": ap}
    return out


def test_transfer_table_rows_are_training_sets_and_mean_skips_the_diagonal(mod):
    m = _matrix({("a", "a"): 1.0, ("a", "b"): 0.4, ("b", "a"): 0.6, ("b", "b"): 0.9})
    text = mod.transfer_table(m, ["a", "b"])
    lines = text.splitlines()
    assert lines[2] == "| a | 1.00 | 0.40 |" and lines[3] == "| b | 0.60 | 0.90 |"
    assert text.endswith("mean off-diagonal 0.50")


def test_prints_tables_of_a_results_file_and_refuses_a_missing_one(mod, tmp_path, capsys):
    spec = {"detector": "spectral", "features": "azimuthal", "classifier": "logreg"}
    aps = {("a", "a"): 1.0, ("a", "b"): 0.3, ("b", "a"): 0.5, ("b", "b"): 1.0}
    results = {
        "upsamplers": ["a", "b"],
        "detectors": {"az": spec},
        "transfer": {"az": _matrix(aps)},
        "seconds_this_run": 120.0,
    }
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert mod.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "**azimuthal + logistic regression**" in out and "mean off-diagonal 0.40" in out
    assert "CNN on NPR" not in out  # no such detector in these results
    assert "this run: 2.0 minutes; generators: a, b" in out
    assert mod.main([str(tmp_path / "none")]) == 2
    assert "not found" in capsys.readouterr().err


def test_lofo_probe_refuses_a_folder_without_a_build(tmp_path, capsys):
    path = SCRIPT.parent / "lofo_probe.py"
    spec = importlib.util.spec_from_file_location("lofo_probe", path)
    probe = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = probe
    spec.loader.exec_module(probe)
    assert probe.main(["--work", str(tmp_path)]) == 2
    assert "no finished build" in capsys.readouterr().err
    # Family weights: every family the same total weight, mean 1.
    fams = np.array(["dcgan"] * 6 + ["simulated"] * 2 + ["stylegan2"] * 4)
    w = probe.build.family_weights(fams)
    assert w.mean() == pytest.approx(1.0)
    assert {round(w[fams == f].sum(), 9) for f in set(fams)} == {4.0}
