"""Regression test for mode collapse: a short run on a data set of eight distinct modes (solid
colours at the corners of the RGB cube) must cover most of them.

With the textbook recipe every generator family, and a plain PyTorch loop of MLPs, collapses onto
one colour on this set (all 256 samples on one mode after 900 steps; issue 10's note). PacGAN's
packing (Lin et al. 2018) is what lets a short run spread over the modes."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ganscope.generators import TrainConfig, load_generator, sample_images, train_gan

CORNERS = np.array([[a, b, c] for a in (0.1, 0.9) for b in (0.1, 0.9) for c in (0.1, 0.9)])


def _modes_data(folder, n=256, size=8):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        img = np.tile(CORNERS[i % 8], (size, size, 1)) + rng.normal(0, 0.03, (size, size, 3))
        Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8)).save(
            folder / f"m{i:03d}.png"
        )
    return folder


def test_pacgan_run_covers_most_of_eight_modes(tmp_path):
    data = _modes_data(tmp_path / "modes")
    cfg = TrainConfig(
        data=str(data), size=8, width=8, latent_dim=16, batch_size=32, steps=900, lr=1e-3,
        loss="ns", pac=4, sample_every=0, checkpoint_every=900, seed=0,
    )  # fmt: skip
    train_gan(cfg, tmp_path / "run")
    G, _ = load_generator(tmp_path / "run")
    colours = sample_images(G, list(range(256))).mean(dim=(2, 3)).double().numpy()  # (256, 3)
    d = ((colours[:, None] - CORNERS[None]) ** 2).sum(-1)
    on_mode = d.min(1) < 0.03  # within ~0.1 per channel of a corner
    counts = np.bincount(d.argmin(1)[on_mode], minlength=8)
    assert (counts >= 5).sum() >= 5, counts  # most modes, each by at least 5 of 256 samples
