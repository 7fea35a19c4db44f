"""Model folders round-trip; foreign weights never unpickle."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from ganscope import __version__
from ganscope.checkpoint import load_checkpoint, load_foreign_weights, save_checkpoint
from ganscope.errors import GanscopeError, UnsafeCheckpointError


def test_round_trip(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    save_checkpoint(tmp_path / "m", net.state_dict(), {"class": "Seq", "settings": {"k": 3}})
    state, config = load_checkpoint(tmp_path / "m")
    assert config["class"] == "Seq" and config["settings"] == {"k": 3}
    assert config["ganscope_version"] == __version__
    for k, v in net.state_dict().items():
        assert torch.equal(state[k], v)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["class"] == "Seq"


def test_missing_folder_is_bad_input(tmp_path):
    with pytest.raises(GanscopeError, match="not found"):
        load_checkpoint(tmp_path / "nope")


class _Evil:
    """Unpickling this creates a file: the attack a weights file can carry."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_that_would_create_a_file_is_refused(tmp_path):
    target = tmp_path / "pwned.txt"
    bad = tmp_path / "bad.pth"
    with open(bad, "wb") as fh:
        pickle.dump({"weight": _Evil(str(target))}, fh)
    with pytest.raises(UnsafeCheckpointError):
        load_foreign_weights(bad)
    assert not target.exists()


def test_foreign_state_dict_unwrapped(tmp_path):
    sd = {"module.fc.weight": torch.ones(1, 2), "module.fc.bias": torch.zeros(1)}
    torch.save({"model": sd, "epoch": 3}, tmp_path / "w.pth")
    got = load_foreign_weights(tmp_path / "w.pth")
    assert set(got) == {"fc.weight", "fc.bias"}
