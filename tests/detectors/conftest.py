"""Synthetic real/fake sources with a known spectral difference.

"Real": smooth noise (white noise blurred by a Gaussian of sigma 1.5) in [0.2, 0.8]. "Fake": the
same kind of image plus a small periodic bed-of-nails pattern (a pixel in every 2x2 block raised),
the trace zero-insertion up-sampling leaves at the Nyquist frequencies (Durall et al. 2020): energy
at (N/2, 0), (0, N/2) and (N/2, N/2) that smooth noise lacks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganscope.detectors.augment import gaussian_blur


def smooth_noise(n: int, size: int = 32, *, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = gaussian_blur(torch.rand(n, 3, size, size, generator=g), 1.5)
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    return 0.2 + 0.6 * (x - lo) / (hi - lo)


def with_checkerboard(x: torch.Tensor, amplitude: float = 0.04) -> torch.Tensor:
    H, W = x.shape[-2:]
    i = torch.arange(H)[:, None]
    j = torch.arange(W)[None, :]
    nails = ((i % 2 == 0) & (j % 2 == 0)).to(x.dtype) - 0.25
    return (x + amplitude * nails).clamp(0, 1)


def make_sources(n_per_class: int, size: int = 32, *, seed: int = 0, identical: bool = False):
    """``(X, y)``: ``n_per_class`` real then ``n_per_class`` fake images (shuffled order)."""
    real = smooth_noise(n_per_class, size, seed=seed)
    other = smooth_noise(n_per_class, size, seed=seed + 1000)
    fake = other if identical else with_checkerboard(other)
    X = torch.cat([real, fake])
    y = np.r_[np.zeros(n_per_class, dtype=np.int64), np.ones(n_per_class, dtype=np.int64)]
    perm = np.random.default_rng(seed).permutation(2 * n_per_class)
    return X[torch.from_numpy(perm)], y[perm]


@pytest.fixture(scope="session")
def train_set():
    return make_sources(20, seed=1)


@pytest.fixture(scope="session")
def cnn_train_set():
    return make_sources(48, seed=1)


@pytest.fixture(scope="session")
def test_set():
    return make_sources(40, seed=2)


@pytest.fixture(scope="session")
def identical_train():
    return make_sources(40, seed=3, identical=True)


@pytest.fixture(scope="session")
def identical_test():
    return make_sources(200, seed=4, identical=True)


@pytest.fixture(scope="session")
def image_folders(tmp_path_factory):
    """Tiny PNG folders: ``real`` (24), ``gan`` (24, checkerboard, plus one broken file),
    ``gan2`` (16, stronger checkerboard)."""
    from ganscope.io import save_png

    root = tmp_path_factory.mktemp("folders")
    sets = {
        "real": smooth_noise(24, seed=11),
        "gan": with_checkerboard(smooth_noise(24, seed=12)),
        "gan2": with_checkerboard(smooth_noise(16, seed=13), 0.08),
    }
    for name, x in sets.items():
        (root / name).mkdir()
        for i in range(len(x)):
            save_png(root / name / f"{i:03d}.png", x[i])
    (root / "gan" / "broken.png").write_bytes(b"this is not a png")
    return root
