"""The settings of ``seeing fsd`` / ``seeing invert`` as library objects, and what is printed."""

from __future__ import annotations

from ganscope.seeing import reconstruct
from ganscope.seeing.invert import EncoderTraining
from ganscope.seeing.reconstruct import InvertSettings, inversion_summary, invert_folder


def test_invert_folder_passes_every_setting(monkeypatch):
    seen = {}

    def fake(generator, images, out, **kwargs):
        seen.update(kwargs, generator=generator, images=images, out=out)
        return {"ok": True}

    monkeypatch.setattr(reconstruct, "reconstruct_folder", fake)
    settings = InvertSettings(layer="blocks.1", count=3, encoder_steps=7, steps=5, lr=0.1, seed=4)
    assert invert_folder("run", "imgs", "out", settings, device="cpu") == {"ok": True}
    assert seen == {
        "generator": "run",
        "images": "imgs",
        "out": "out",
        "layer": "blocks.1",
        "count": 3,
        "encoder": EncoderTraining(steps=7, seed=4),
        "steps": 5,
        "lr": 0.1,
        "segmenter": "scenes",
        "device": "cpu",
    }
    invert_folder("run", "imgs", "out", InvertSettings(segment=False))
    assert seen["segmenter"] is None  # --no-segment


def test_inversion_summary():
    results = {
        "n_images": 3,
        "layers": ["project_norm", "blocks.0"],
        "mean": {"mse_encoder": 0.012345, "mse_optimized": 0.0054321},
        "vanished": ["house", "door"],
    }
    assert inversion_summary(results, "OUT").splitlines() == [
        "inverted 3 images through project_norm, blocks.0: MSE encoder-only 0.01235, "
        "optimised 0.00543",
        "classes the reconstructions lose: house, door",
        "wrote OUT/grid.png, errors.csv, results.json",
    ]
    results["vanished"] = []
    assert len(inversion_summary(results, "OUT").splitlines()) == 2
