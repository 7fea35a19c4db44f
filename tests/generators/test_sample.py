"""Seed-named sampling: image i depends only on seeds[i]; PNGs can be regenerated alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganscope.errors import GanscopeError
from ganscope.generators import (
    create_generator,
    image_grid,
    latents_for_seeds,
    sample_images,
    save_samples,
    seed_filename,
)
from ganscope.io import to_uint8


@pytest.fixture
def gen():
    torch.manual_seed(0)
    G = create_generator(size=16, upsample="bilinear", width=4, latent_dim=8)
    G.train()
    for _ in range(3):  # give BatchNorm non-trivial running statistics
        G(torch.randn(16, 8))
    return G.eval()


def test_latents_come_from_one_generator_per_seed():
    z = latents_for_seeds([42, 7], 5)
    assert torch.equal(z[0], torch.randn(5, generator=torch.Generator().manual_seed(42)))
    assert torch.equal(z[1], torch.randn(5, generator=torch.Generator().manual_seed(7)))


def test_image_depends_only_on_its_seed(gen):
    alone = sample_images(gen, [42])
    in_batch = sample_images(gen, list(range(38, 46)), batch_size=3)
    assert in_batch.shape == (8, 3, 16, 16)
    assert in_batch.min() >= 0 and in_batch.max() <= 1
    # Same seed, different batch company and batch size: same image (float rounding only).
    assert torch.allclose(alone[0], in_batch[42 - 38], atol=1e-5)
    assert not torch.allclose(in_batch[0], in_batch[1])


def test_sampling_leaves_train_mode_off_and_is_deterministic(gen):
    a = sample_images(gen, [1, 2, 3])
    b = sample_images(gen, [1, 2, 3])
    assert torch.equal(a, b)
    assert not gen.training


def test_saved_png_is_reproducible_from_its_file_name(gen, tmp_path):
    paths = save_samples(gen, tmp_path, range(40, 45), batch_size=2)
    assert [p.name for p in paths] == [f"seed{s:06d}.png" for s in range(40, 45)]
    assert seed_filename(42) == "seed000042.png"
    target = tmp_path / "seed000042.png"
    seed = int(target.stem.removeprefix("seed"))
    again = to_uint8(sample_images(gen, [seed])[0]).astype(int)
    stored = np.asarray(Image.open(target)).astype(int)
    assert stored.shape == (16, 16, 3)
    # Lossless PNG: equal up to a possible one-level rounding flip of a float difference < 1e-5.
    assert np.abs(stored - again).max() <= 1
    assert (stored == again).mean() > 0.99
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_image_grid_layout():
    imgs = torch.stack([torch.full((3, 2, 2), v) for v in (0.0, 0.25, 0.5)])
    grid = image_grid(imgs, nrow=2, padding=1)
    assert grid.shape == (3, 1 + 2 * 3, 1 + 2 * 3)
    assert grid[0, 1, 1] == 0.0 and grid[0, 1, 4] == 0.25 and grid[0, 4, 1] == 0.5
    assert grid[0, 4, 4] == 1.0 and grid[0, 0, 0] == 1.0  # empty slot and padding are white
    with pytest.raises(GanscopeError):
        image_grid(torch.empty(0, 3, 2, 2))
