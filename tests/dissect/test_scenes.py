"""The scene world: deterministic per seed, labels that match the pixels, and `data scenes`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganscope.dissect.scenes import SCENE_LABELS, colorize_labels, render_scenes


def test_shapes_and_range():
    b = render_scenes([0, 1, 2], size=32)
    assert b.images.shape == (3, 3, 32, 32) and b.labels.shape == (3, 32, 32)
    assert b.images.dtype == torch.float32 and b.labels.dtype == torch.int64
    assert b.images.min() >= 0 and b.images.max() <= 1
    assert b.labels.min() >= 0 and b.labels.max() < len(SCENE_LABELS)


def test_scene_depends_only_on_its_seed():
    a = render_scenes([5, 6, 7], size=32)
    b = render_scenes([7, 100, 5], size=32)
    torch.testing.assert_close(a.images[0], b.images[2], rtol=0, atol=0)
    torch.testing.assert_close(a.images[2], b.images[0], rtol=0, atol=0)
    assert torch.equal(a.labels[0], b.labels[2])
    assert not torch.equal(a.labels[1], b.labels[1])


def test_every_label_occurs():
    b = render_scenes(range(64), size=64)
    counts = torch.bincount(b.labels.flatten(), minlength=len(SCENE_LABELS))
    assert (counts > 0).all(), dict(zip(SCENE_LABELS, counts.tolist(), strict=True))


def test_labels_match_pixels():
    # Without texture noise, every label's pixels share that object's flat colour, so the colour
    # predicted from the label map (the class mean) explains the image almost exactly, except the
    # sky gradient and ground shading which vary smoothly.
    b = render_scenes(range(8), size=64, noise=0.0)
    flat = ("cloud", "sun", "water", "tree", "trunk", "house", "roof", "door", "window")
    for i in range(8):
        for name in flat:
            m = b.labels[i] == SCENE_LABELS.index(name)
            if m.sum() < 4:
                continue
            pix = b.images[i].permute(1, 2, 0)[m]  # (n, 3)
            # Two objects of one class in a scene can have different jittered colours, but each
            # pixel equals one of at most three object colours.
            assert torch.unique(pix, dim=0).shape[0] <= 3, (i, name)


def test_colorize_labels_uses_palette():
    lab = torch.tensor([[[0, 3]]])
    rgb = colorize_labels(lab)
    assert rgb.shape == (1, 3, 1, 2)
    torch.testing.assert_close(rgb[0, :, 0, 1] * 255, torch.tensor([70.0, 160.0, 60.0]))


def test_cli_data_scenes(tmp_path):
    from ganscope.cli import main

    out = tmp_path / "scenes"
    with pytest.raises(SystemExit) as ex:
        main(
            [
                "-q",
                "data",
                "scenes",
                "--out",
                str(out),
                "--count",
                "3",
                "--seed",
                "4",
                "--size",
                "32",
            ]
        )
    assert ex.value.code == 0
    names = sorted(p.name for p in (out / "images").iterdir())
    assert names == ["scene000004.png", "scene000005.png", "scene000006.png"]
    info = json.loads((out / "labels.json").read_text())
    assert info["labels"] == list(SCENE_LABELS)
    mask = np.array(Image.open(out / "masks" / "scene000005.png"))
    assert np.array_equal(mask, render_scenes([5], size=32).labels[0].numpy())
    img = np.array(Image.open(out / "images" / "scene000005.png"))
    ref = np.rint(render_scenes([5], size=32).images[0].permute(1, 2, 0).numpy() * 255)
    assert np.abs(img.astype(float) - ref).max() <= 1

    with pytest.raises(SystemExit) as ex:
        main(["-q", "data", "scenes", "--out", str(out), "--count", "0"])
    assert ex.value.code == 2
