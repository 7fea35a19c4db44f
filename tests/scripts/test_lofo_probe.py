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
