from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def image_dirs(tmp_path: Path) -> dict[str, Path]:
    """Three tiny sources: ``real`` (noise, one larger image), ``fake`` (2x nearest up-sampled
    noise, plus a corrupt file and a 5x5 image) and ``other`` (a second folder named ``real``)."""
    rng = np.random.default_rng(0)
    real = tmp_path / "a" / "real"
    fake = tmp_path / "fake"
    other = tmp_path / "b" / "real"
    for i in range(5):
        _save(real / f"r{i}.png", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    _save(real / "r_big.png", rng.integers(0, 256, (30, 28, 3), dtype=np.uint8))
    for i in range(4):
        small = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        _save(fake / f"f{i}.png", small.repeat(2, 0).repeat(2, 1))
    (fake / "broken.png").write_bytes(b"this is not an image")
    _save(fake / "tiny.png", rng.integers(0, 256, (5, 5, 3), dtype=np.uint8))
    for i in range(3):
        _save(other / f"o{i}.png", rng.integers(0, 256, (24, 26, 3), dtype=np.uint8))
    return {"real": real, "fake": fake, "other": other}
