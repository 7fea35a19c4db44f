"""Issue #17, item 1: a user's TorchScript segmenter is code. It is refused without
``--trust-code``; paths in the JSON stay inside its folder; weights + config is the safe route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from ganscope.dissect.concepts import UntrustedCodeError, load_labeler
from ganscope.dissect.segmenter import UNet, save_segmenter
from ganscope.errors import GanscopeError


def _hostile_segmenter(folder: Path, victim: Path) -> Path:
    """A scripted module that overwrites ``victim`` in place when it runs (as in the issue)."""
    n = victim.stat().st_size

    class Hostile(nn.Module):
        def __init__(self, target: str, size: int) -> None:
            super().__init__()
            self.target = target
            self.size = size

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.from_file(self.target, True, self.size, dtype=torch.uint8)
            y.fill_(0)
            return x[:, :2] + y[0].float() * 0  # used, so TorchScript keeps the write

    torch.jit.script(Hostile(str(victim), n)).save(str(folder / "seg.pt"))
    spec = folder / "seg.json"
    spec.write_text(json.dumps({"torchscript": "seg.pt", "labels": ["a", "b"]}))
    return spec


def test_torchscript_runs_its_own_code(tmp_path: Path) -> None:
    """The reproduction: trusted, the scripted module does overwrite the file."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    spec = _hostile_segmenter(tmp_path, victim)
    labeler = load_labeler(str(spec), trust_code=True)
    labeler(torch.rand(1, 3, 8, 8))
    assert victim.read_bytes() == b"\0" * 8


def test_torchscript_refused_without_trust_code(tmp_path: Path, tiny_run: Path, cli) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    spec = _hostile_segmenter(tmp_path, victim)
    with pytest.raises(UntrustedCodeError, match="--trust-code"):
        load_labeler(str(spec))
    args = ["dissect", tiny_run, "--layer", "blocks.0", "--concepts", spec, "--samples", "8",
            "--out", tmp_path / "d"]  # fmt: skip
    r = cli(*args)
    assert r.one_line_error and "TorchScript" in r.err and "--trust-code" in r.err
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "d").exists()


def test_endless_torchscript_is_not_even_loaded(tmp_path: Path) -> None:
    class Endless(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            i = 0
            while i >= 0:
                i = i + 1
            return x

    torch.jit.script(Endless()).save(str(tmp_path / "loop.pt"))
    spec = tmp_path / "loop.json"
    spec.write_text(json.dumps({"torchscript": "loop.pt", "labels": ["a"]}))
    with pytest.raises(UntrustedCodeError):  # returns at once: nothing is loaded or run
        load_labeler(str(spec))


@pytest.mark.parametrize("name", ["../outside/seg.pt", "/etc/passwd", "../../../../etc/passwd"])
def test_paths_stay_inside_the_json_folder(tmp_path: Path, name: str) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "seg.pt").write_bytes(b"x")
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "seg.json").write_text(json.dumps({"torchscript": name, "labels": ["a"]}))
    with pytest.raises(GanscopeError, match="outside the JSON file's folder"):
        load_labeler(str(folder / "seg.json"), trust_code=True)


def test_symlink_out_of_the_json_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "spec"
    folder.mkdir()
    (tmp_path / "elsewhere.pt").write_bytes(b"x")
    (folder / "seg.pt").symlink_to(tmp_path / "elsewhere.pt")
    (folder / "seg.json").write_text(json.dumps({"torchscript": "seg.pt", "labels": ["a"]}))
    with pytest.raises(GanscopeError, match="outside"):
        load_labeler(str(folder / "seg.json"), trust_code=True)


def test_segmenter_folder_is_the_safe_route(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = UNet(n_classes=3, width=4, depth=1).eval()
    save_segmenter(net, tmp_path / "seg")
    x = torch.rand(2, 3, 8, 8)
    expected = net(x).argmax(1)
    # A folder of weights + config, as ganscope ships its own: no flag needed.
    direct = load_labeler(str(tmp_path / "seg"))
    assert torch.equal(direct(x), expected)
    # The same folder named from a JSON, with the user's label names.
    (tmp_path / "seg.json").write_text(json.dumps({"segmenter": "seg", "labels": ["p", "q", "r"]}))
    named = load_labeler(str(tmp_path / "seg.json"))
    assert named.labels == ["p", "q", "r"] and torch.equal(named(x), expected)
    (tmp_path / "two.json").write_text(json.dumps({"segmenter": "seg", "labels": ["p", "q"]}))
    with pytest.raises(GanscopeError, match="2 labels for a segmenter with 3 classes"):
        load_labeler(str(tmp_path / "two.json"))


def test_unknown_architecture_is_refused(tmp_path: Path) -> None:
    save_segmenter(UNet(n_classes=2, width=4, depth=1), tmp_path / "seg")
    cfg = json.loads((tmp_path / "seg" / "config.json").read_text())
    (tmp_path / "seg" / "config.json").write_text(json.dumps({**cfg, "class": "MyNet"}))
    with pytest.raises(GanscopeError, match="unknown segmenter architecture 'MyNet'"):
        load_labeler(str(tmp_path / "seg"))
