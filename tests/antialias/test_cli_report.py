"""``ganscope antialias report``: PNG/JPEG folders, a detector folder, TorchScript, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganscope.cli import main


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def images(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(5):
        arr = (rng.random((20, 20, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"im{i}.png")
    Image.fromarray(arr).save(folder / "im5.jpg", quality=90)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return folder


class TinyClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(torch.relu(self.conv(x))).mean(dim=(2, 3)))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_report_on_torchscript(images: Path, tmp_path: Path, capsys) -> None:
    torch.manual_seed(0)
    ts = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(TinyClassifier()), str(ts))
    out = tmp_path / "rep"
    code, stdout, err = run(
        [
            "-q",
            "antialias",
            "report",
            str(ts),
            "--images",
            str(images),
            "--out",
            str(out),
            "--max-shift",
            "4",
            "--grid",
            "4",
            "--trust-code",
        ],
        capsys,
    )
    assert code == 0, err
    assert "1 unreadable" in stdout
    r = json.loads((out / "results.json").read_text())
    assert r["n_images"] == 6 and r["shift_mode"] == "crop" and r["view"] == 16
    assert [e["path"] for e in r["errors"]] == [str(images / "broken.png")]
    assert r["equivariance"]["layers"] == ["pixels", "output"]  # TorchScript: no hooks inside
    assert 0 <= r["consistency"]["agreement"] <= 1 and not r["binary"]
    for name in ("equivariance_heatmaps.png", "equivariance_profile.png", "shifts.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "config.json").read_text())["max_shift"] == 4


def test_report_on_a_detector_folder(tmp_path: Path, capsys) -> None:
    from ganscope.detectors import CNNDetector, save_detector

    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.random((16, 3, 16, 16))).float()
    y = np.array([0, 1] * 8)
    det = CNNDetector(epochs=1, batch_size=8, val_fraction=0.0, device="cpu").fit(x, y)
    model = save_detector(det, tmp_path / "det")
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray((rng.random((18, 18, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "rep"
    code, _, err = run(
        [
            "-q",
            "antialias",
            "report",
            str(model),
            "--images",
            str(folder),
            "--out",
            str(out),
            "--max-shift",
            "2",
            "--grid",
            "2",
        ],
        capsys,
    )
    assert code == 0, err
    r = json.loads((out / "results.json").read_text())
    assert r["binary"] and r["view"] == 16
    layers = r["equivariance"]["layers"]
    assert layers[:3] == ["pixels", "input", "network.conv1"] and layers[-1] == "output"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_bad_inputs_exit_2(images: Path, tmp_path: Path, capsys) -> None:
    not_ts = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, not_ts)
    ts = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(TinyClassifier()), str(ts))
    cases = [
        [str(tmp_path / "missing"), "--images", str(images)],
        [str(not_ts), "--images", str(images), "--trust-code"],
        [str(images / "im0.png"), "--images", str(images)],
        [str(ts), "--images", str(images)],  # TorchScript is code: refused without --trust-code
        ["default", "--images", str(tmp_path / "nowhere")],
        ["default", "--images", str(images), "--max-shift", "0"],
        ["default", "--images", str(images)],  # 20x20 images, the detector needs 32x32
    ]
    for args in cases:
        code, _, err = run(
            ["-q", "antialias", "report", *args, "--out", str(tmp_path / "o")], capsys
        )
        assert code == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), err


@pytest.mark.parametrize("field", ["max_shift", "max_images", "grid", "equivariance_images"])
def test_report_settings_refuse_non_positive_values(field: str) -> None:
    from ganscope.antialias.report import ReportSettings
    from ganscope.errors import GanscopeError

    option = "--" + field.replace("_", "-")
    with pytest.raises(GanscopeError, match=f"{option} must be at least 1, not 0"):
        ReportSettings(**{field: 0})
