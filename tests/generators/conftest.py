"""Tiny training folders shared by the generator tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True)
def _one_thread():
    """These models are tiny: one intra-op thread is faster than two, and much faster when the
    two cores are shared (OpenMP threads then wait on each other). Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _write_images(folder: Path, n: int, size: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        # Smooth colour blobs: low-frequency, like downsampled photos.
        cy, cx = rng.uniform(0, size, 2)
        r = rng.uniform(size / 6, size / 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        colour = rng.uniform(0, 1, 3)
        img = 0.2 + 0.7 * blob[..., None] * colour[None, None, :]
        Image.fromarray((img * 255).round().astype(np.uint8)).save(folder / f"img{i:03d}.png")
    return folder


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """24 PNGs of 20x20 (centre-cropped to 16 by the trainer)."""
    return _write_images(tmp_path_factory.mktemp("gan_data"), 24, 20, seed=0)
