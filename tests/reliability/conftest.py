"""Reproductions of issue #17 (reliability): tiny real files and the CLI run in-process."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganscope.cli import main

BAD_NAME = os.fsdecode(b"caf\xe9-latin1.png")  # not UTF-8: decodes to a lone surrogate


@dataclass
class Result:
    """What one ``ganscope`` run did."""

    code: int
    out: str
    err: str

    @property
    def one_line_error(self) -> bool:
        """DESIGN.md: bad usage or input is exit 2 with a one-line reason and no traceback."""
        return self.code == 2 and self.err.startswith("error: ") and self.err.count("\n") == 1


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``ganscope -q ARGS`` in this process."""

    def run(*args: object) -> Result:
        with pytest.raises(SystemExit) as exc:
            main(["-q", *map(str, args)])
        out, err = capsys.readouterr()
        return Result(int(exc.value.code or 0), out, err)

    return run


@pytest.fixture
def pngs() -> Callable[..., Path]:
    return write_pngs


def write_pngs(folder: Path, n: int, *, size: int = 16, seed: int = 0, stripes: bool = False):
    """``n`` noise PNGs (``stripes``: plus a pixel-period pattern, the "fake" source)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = rng.integers(60, 190, (size, size, 3)).astype(np.int16)
        if stripes:
            img[:, ::2] += 50
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture
def real_fake(tmp_path: Path) -> tuple[Path, Path]:
    return write_pngs(tmp_path / "real", 12), write_pngs(
        tmp_path / "fake", 12, seed=1, stripes=True
    )


@pytest.fixture(scope="module")
def spectral_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("model")
    real = write_pngs(base / "real", 12)
    fake = write_pngs(base / "fake", 12, seed=1, stripes=True)
    with pytest.raises(SystemExit) as exc:
        main(["-q", "detector", "train", "--real", str(real), "--fake", str(fake),
              "--method", "logreg", "--out", str(base / "m")])  # fmt: skip
    assert exc.value.code in (0, None)
    return base / "m"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GAN run folder trained for two steps (enough for sample and dissect)."""
    base = tmp_path_factory.mktemp("gan")
    data = write_pngs(base / "data", 8)
    with pytest.raises(SystemExit) as exc:
        main(["-q", "gan", "train", "--data", str(data), "--upsample", "nearest",
              "--out", str(base / "run"), "--size", "16", "--steps", "2", "--batch-size", "4",
              "--width", "4", "--checkpoint-every", "2", "--device", "cpu"])  # fmt: skip
    assert exc.value.code in (0, None)
    return base / "run"
