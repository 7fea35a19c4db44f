"""Edits: masks, the blend against GAN Dissection's own interventions, determinism, validation."""

from __future__ import annotations

import pytest
import torch

from ganscope.dissect.intervention import Intervention, generate
from ganscope.errors import GanscopeError
from ganscope.paint import ConceptUnits, Edit, Painter, PaintUnits, box_to_mask, feature_mask
from ganscope.paint.editing import MAX_EDITS, parse_edits, png_bytes

VR = (-1.0, 1.0)


def _hooks_left(G) -> int:
    return sum(len(m._forward_hooks) for m in G.modules())


def test_box_to_mask_pixel_centres():
    m = box_to_mask([1, 0, 3, 2], 4)
    expected = torch.tensor([[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]).float()
    assert torch.equal(m, expected)
    # A box reaching past the image is clipped; a fractional edge includes the pixels whose
    # centres it covers (centre 2.5 < 2.6).
    assert torch.equal(box_to_mask([-5, -5, 2.6, 100], 4)[:, :3].sum(0), torch.tensor([4.0] * 3))
    assert box_to_mask([-5, -5, 2.6, 100], 4)[:, 3].sum() == 0


def test_feature_mask_is_the_covered_share_of_each_cell():
    mask = torch.zeros(4, 4)
    mask[0, 0] = mask[0, 1] = mask[1, 0] = 1  # 3 of the 4 pixels of cell (0, 0)
    mask[3, 3] = 1  # 1 of 4 of cell (1, 1)
    assert torch.equal(feature_mask(mask, (2, 2)), torch.tensor([[0.75, 0.0], [0.0, 0.25]]))
    assert torch.equal(feature_mask(mask, (4, 4)), mask)
    # Sides that do not divide: bilinear, still in [0, 1].
    m3 = feature_mask(torch.ones(4, 4), (3, 3))
    assert torch.allclose(m3, torch.ones(3, 3))


def test_full_mask_remove_equals_dissection_ablation(painter, G):
    full = torch.ones(32, 32)
    ours = painter.render(4, [Edit("tree", "remove", full, 1.0)])
    ref = generate(
        G, [4], value_range=VR, intervention=Intervention.ablate("blocks.0.2", [0, 3, 5])
    )
    assert torch.allclose(ours, ref[0], atol=1e-6)
    assert (ours - painter.render(4)).abs().max() > 1e-3  # the edit did something


def test_box_add_equals_dissection_insertion_in_a_box(painter, G):
    # A box on whole 4-pixel cells of the 8x8 layer: the area mask is exactly GAN Dissection's
    # cell-centre box mask.
    box = (8.0, 12.0, 20.0, 28.0)
    ours = painter.render(9, [Edit("tree", "add", box_to_mask(box, 32), 0.6)])
    iv = Intervention.insert(
        "blocks.0.2",
        [0, 3, 5],
        torch.tensor([2.0, 1.5, 3.0]),
        alpha=0.6,
        where=box,
        image_hw=(32, 32),
    )
    ref = generate(G, [9], value_range=VR, intervention=iv)
    assert torch.allclose(ours, ref[0], atol=1e-6)


def test_strength_zero_and_empty_mask_change_nothing(painter):
    before = painter.render(2)
    mask = box_to_mask([0, 0, 16, 16], 32)
    assert torch.equal(painter.render(2, [Edit("grass", "add", mask, 0.0)]), before)
    assert torch.equal(painter.render(2, [Edit("grass", "add", torch.zeros(32, 32), 1.0)]), before)


def test_edits_compose_in_order(painter):
    mask = box_to_mask([0, 0, 32, 32], 32)
    add = Edit("tree", "add", mask, 1.0)
    remove = Edit("tree", "remove", mask, 1.0)
    # Removing after adding everywhere leaves the units at zero: the same as removing alone.
    assert torch.allclose(painter.render(1, [add, remove]), painter.render(1, [remove]), atol=1e-6)
    assert not torch.allclose(painter.render(1, [remove, add]), painter.render(1, [remove]))


def test_deterministic_and_batch_independent(painter):
    edits = [Edit("grass", "remove", box_to_mask([4, 4, 20, 30], 32), 0.7)]
    a = png_bytes(painter.render(11, edits))
    b = png_bytes(painter.render(11, edits))
    assert a == b
    batch = painter.render_batch([10, 11, 12], edits)
    assert torch.allclose(batch[1], painter.render(11, edits), atol=1e-6)


def test_hooks_are_removed_even_after_an_error(G, labeler):
    bad = PaintUnits({"tree": ConceptUnits("tree", "blocks.0.2", [0, 1], [1.0, 2.0, 3.0])})
    p = Painter(G, labeler, bad)
    with pytest.raises(RuntimeError):
        p.render(0, [Edit("tree", "add", torch.ones(32, 32), 1.0)])
    assert _hooks_left(G) == 0
    p.render(0)
    assert _hooks_left(G) == 0


def test_fractions_inside_a_region(painter):
    images = painter.render_batch([0, 1])
    masks = painter.segment(images)
    k = list(painter.labeler.labels).index("tree")
    region = box_to_mask([0, 0, 16, 32], 32)
    fr = painter.fractions(images, region)
    expected = masks[:, k, :, :16].float().mean((1, 2))
    assert fr["tree"] == pytest.approx(expected.tolist())
    assert set(fr) == {"tree", "grass"}


def test_painter_rejects_units_the_generator_or_segmenter_lacks(G, labeler):
    with pytest.raises(GanscopeError, match="no layer"):
        Painter(G, labeler, PaintUnits({"tree": ConceptUnits("tree", "nope", [0], [1.0])}))
    with pytest.raises(GanscopeError, match="does not know"):
        Painter(G, labeler, PaintUnits({"ufo": ConceptUnits("ufo", "blocks.0.2", [0], [1.0])}))


OK_MASK = [[0] * 4 for _ in range(4)]


@pytest.mark.parametrize(
    ("edits", "match"),
    [
        ({"concept": "tree"}, "must be a list"),
        (["x"], r"edits\[0\] must be an object"),
        ([{"concept": "ufo", "mode": "add", "box": [0, 0, 1, 1]}], "unknown concept"),
        ([{"concept": "tree", "mode": "paint", "box": [0, 0, 1, 1]}], "mode must be"),
        ([{"concept": "tree", "mode": "add"}], "exactly one of"),
        ([{"concept": "tree", "mode": "add", "box": [0, 0, 1, 1], "mask": OK_MASK}], "exactly one"),
        ([{"concept": "tree", "mode": "add", "box": [0, 0, 1]}], "x0, y0, x1, y1"),
        ([{"concept": "tree", "mode": "add", "box": [2, 0, 1, 1]}], "x1 > x0"),
        ([{"concept": "tree", "mode": "add", "box": [0, 0, "1", 1]}], "must be a number"),
        ([{"concept": "tree", "mode": "add", "box": [0, 0, 1, 1], "strength": 2}], r"\[0, 1\]"),
        ([{"concept": "tree", "mode": "add", "box": [0, 0, 1, 1], "strength": True}], "number"),
        ([{"concept": "tree", "mode": "add", "mask": [[0] * 4] * 3}], "4x4"),
        ([{"concept": "tree", "mode": "add", "mask": [[0, 0, 0, 2]] * 4}], "0/1"),
        ([{"concept": "tree", "mode": "add", "mask": [[0, 0, 0, True]] * 4}], "0/1"),
        ([{"concept": "tree", "mode": "add", "box": [0, 0, 1, 1], "colour": 1}], "unknown field"),
        ([{"concept": "tree", "mode": "add", "box": [0, 0, 1, 1]}] * (MAX_EDITS + 1), "at most"),
    ],
)
def test_parse_edits_rejects_bad_input(edits, match):
    with pytest.raises(GanscopeError, match=match):
        parse_edits(edits, ["tree", "grass"], 4)


def test_parse_edits_accepts_masks_and_boxes():
    mask = [[0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    out = parse_edits(
        [
            {"concept": "tree", "mode": "remove", "mask": mask},
            {"concept": "grass", "mode": "add", "box": [0, 0, 2, 2], "strength": 0.5},
        ],
        ["tree", "grass"],
        4,
    )
    assert torch.equal(out[0].mask, torch.tensor(mask).float())
    assert out[0].strength == 1.0
    assert out[1].strength == 0.5 and out[1].mask.sum() == 4
