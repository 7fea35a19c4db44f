"""Concept labelers: CIELAB colours, spectral-artifact masks, user segmenters."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from ganscope.dissect.concepts import (
    COLOR_NAMES,
    CallableLabeler,
    ColorLabeler,
    SpectralArtifactLabeler,
    TorchScriptLabeler,
    concept_masks,
    load_labeler,
    rgb_to_lab,
    upsampling_frequencies,
)
from ganscope.errors import GanscopeError


def test_rgb_to_lab_reference_values():
    # CIE reference values (D65): white, black, sRGB primaries (Bruce Lindbloom's calculator).
    rgb = torch.tensor([[1, 1, 1], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])[:, :, None, None]
    lab = rgb_to_lab(rgb)[:, :, 0, 0]
    ref = torch.tensor(
        [
            [100, 0, 0],
            [0, 0, 0],
            [53.24, 80.09, 67.20],
            [87.73, -86.18, 83.18],
            [32.30, 79.19, -107.86],
        ]
    )
    torch.testing.assert_close(lab, ref, atol=0.05, rtol=0)


def test_color_prototypes_map_to_their_names():
    lab = ColorLabeler()
    proto = torch.tensor(list(COLOR_NAMES.values()), dtype=torch.float32) / 255
    img = proto.T[None, :, None, :]  # (1, 3, 1, 11)
    assert lab(img)[0, 0].tolist() == list(range(11))
    assert lab.labels == list(COLOR_NAMES)


def test_concept_masks_from_label_map():
    lab = CallableLabeler(lambda x: torch.tensor([[[0, 2], [-1, 1]]]), ["a", "b", "c"])
    m = concept_masks(lab, torch.zeros(1, 3, 2, 2))
    assert m.shape == (1, 3, 2, 2) and m.dtype == torch.bool
    assert m[0, :, 1, 0].sum() == 0  # negative: no concept
    assert m[0, 2, 0, 1] and m[0, 1, 1, 1] and m[0, 0, 0, 0]
    bad = CallableLabeler(lambda x: torch.zeros(1, 2, 2, 2), ["a", "b", "c"])
    with pytest.raises(GanscopeError, match="labeler must return"):
        concept_masks(bad, torch.zeros(1, 3, 2, 2))


def test_upsampling_frequencies():
    assert upsampling_frequencies(2) == [(0.0, 0.5), (0.5, 0.0), (0.5, 0.5)]
    f4 = upsampling_frequencies(4)
    assert len(f4) == 9  # 15 non-DC replicas: 3 real (Nyquist) + 6 conjugate pairs
    assert (0.25, 0.25) in f4 and (0.5, 0.5) in f4


@pytest.mark.parametrize("factor", [2, 4])
def test_artifact_energy_is_amplitude_squared(factor):
    # A smooth gradient plus a cosine at 1/factor cycles/pixel with amplitude 0.05 in the left
    # half: energy a^2 there (away from borders and the edge), ~0 in the right half.
    h, w, half = 32, 64, 32
    yy, xx = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
    a = 0.05
    wave = a * torch.cos(2 * math.pi * xx / factor)
    gray = 0.3 + 0.2 * yy / h + torch.where(xx < half, wave, torch.zeros(()))
    img = gray.expand(1, 3, h, w)
    lab = SpectralArtifactLabeler(factor=factor, threshold=(a / 2) ** 2)
    e = lab.energy(img)[0]
    assert e.shape == (h, w)
    k = lab.window  # the triangle window reaches k - 1 pixels; borders are replicated
    inside, outside = e[k:-k, k : half - k], e[k:-k, half + k :]
    torch.testing.assert_close(inside, torch.full_like(inside, a * a), atol=2e-5, rtol=0)
    assert outside.max() < 1e-9  # the ramp leaves nothing
    mask = lab(img)[0, 0]
    assert mask[:, k : half - k].all() and not mask[:, half + k :].any()
    se = lab.spectral_excess(img)
    assert se.shape == (1,) and 0 < se[0] < a * a


def test_torchscript_labeler(tmp_path):
    class Seg(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([x[:, 0], x[:, 1]], 1)  # logits: red vs green

    torch.jit.script(Seg()).save(str(tmp_path / "seg.pt"))
    (tmp_path / "seg.json").write_text(json.dumps({"torchscript": "seg.pt", "labels": ["r", "g"]}))
    lab = load_labeler(str(tmp_path / "seg.json"), trust_code=True)  # TorchScript is code
    assert isinstance(lab, TorchScriptLabeler) and lab.labels == ["r", "g"]
    img = torch.zeros(1, 3, 1, 2)
    img[0, 0, 0, 0] = 1
    img[0, 1, 0, 1] = 1
    assert lab(img).tolist() == [[[0, 1]]]

    (tmp_path / "bad.pt").write_bytes(b"not a model")
    (tmp_path / "bad.json").write_text(json.dumps({"torchscript": "bad.pt", "labels": ["x"]}))
    with pytest.raises(GanscopeError, match="not a TorchScript"):
        load_labeler(str(tmp_path / "bad.json"), trust_code=True)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(GanscopeError, match="expected JSON"):
        load_labeler(str(tmp_path / "broken.json"))
    with pytest.raises(GanscopeError, match="--concepts must be"):
        load_labeler("nonsense")


def test_builtin_labelers_by_name():
    assert isinstance(load_labeler("colors"), ColorLabeler)
    assert isinstance(load_labeler("artifacts"), SpectralArtifactLabeler)
    scenes = load_labeler("scenes")  # the shipped U-Net segments a render almost exactly
    from ganscope.dissect.scenes import SCENE_LABELS, render_scenes

    assert list(scenes.labels) == list(SCENE_LABELS)
    batch = render_scenes([2_000_000, 2_000_001], size=32)
    assert (scenes(batch.images) == batch.labels).float().mean() > 0.97
