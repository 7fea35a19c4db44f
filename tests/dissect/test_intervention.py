"""The blend primitive, ablation/insertion on the toy generator, average causal effect."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganscope.dissect.intervention import (
    Intervention,
    average_causal_effect,
    blend_units,
    box_mask,
    generate,
    intervened,
)
from ganscope.errors import GanscopeError


def test_blend_by_hand():
    x = torch.arange(8.0).view(1, 2, 2, 2)
    out = blend_units(x, [1], alpha=0.5, value=10.0, mask=torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    torch.testing.assert_close(out[0, 0], x[0, 0])
    torch.testing.assert_close(out[0, 1], torch.tensor([[7.0, 5.0], [6.0, 8.5]]))


def test_blend_alpha_zero_and_empty_units_are_identity():
    x = torch.randn(2, 5, 3, 3)
    torch.testing.assert_close(blend_units(x, [0, 3], alpha=0.0, value=4.0), x, rtol=0, atol=0)
    torch.testing.assert_close(blend_units(x, [], value=4.0), x, rtol=0, atol=0)


def test_blend_per_unit_values_and_bad_units():
    x = torch.zeros(1, 3, 1, 1)
    out = blend_units(x, [0, 2], alpha=torch.tensor([1.0, 0.5]), value=torch.tensor([2.0, 4.0]))
    assert out.flatten().tolist() == [2.0, 0.0, 2.0]
    with pytest.raises(GanscopeError, match="unit indices"):
        blend_units(x, [3])


def test_blend_gradcheck_alpha():
    x = torch.randn(1, 3, 2, 2, dtype=torch.float64)
    alpha = torch.rand(2, dtype=torch.float64, requires_grad=True)
    value = torch.randn(2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, v: blend_units(x, [0, 2], alpha=a, value=v), (alpha, value)
    )


def test_box_mask():
    m = box_mask((8, 0, 16, 8), (4, 4), (32, 32))  # feature cells are 8x8 image pixels
    expected = torch.zeros(4, 4)
    expected[0, 1] = 1
    torch.testing.assert_close(m, expected)
    tiny = box_mask((30, 30, 31, 31), (4, 4), (32, 32))
    assert tiny.sum() == 1 and tiny[3, 3] == 1


def test_ablating_all_units_changes_output_and_none_does_not(square_gan):
    seeds = list(range(6))
    before = generate(square_gan, seeds)
    none = generate(square_gan, seeds, intervention=Intervention.ablate("units", []))
    torch.testing.assert_close(none, before, rtol=0, atol=0)
    everything = generate(square_gan, seeds, intervention=Intervention.ablate("units", range(4)))
    assert (everything - before).abs().amax() > 0.1
    torch.testing.assert_close(everything, torch.full_like(before, 0.5))  # just the bias


def test_ablating_unit0_removes_the_square(square_gan, square_labeler, square_region):
    seeds = list(range(20))
    z0 = torch.stack([torch.randn(4, generator=torch.Generator().manual_seed(s)) for s in seeds])[
        :, 0
    ]
    before = generate(square_gan, seeds)
    red = square_labeler(before)[:, 0]
    assert torch.equal(red.any((1, 2)), z0 > 0)  # the square is painted exactly when z0 > 0
    assert red[z0 > 0][:, square_region[0], square_region[1]].all()
    after = generate(square_gan, seeds, intervention=Intervention.ablate("units", [0]))
    assert not square_labeler(after).any()
    # Only the square's pixels changed.
    changed = (after - before).abs().amax(1) > 0
    assert torch.equal(changed, red)


def test_insertion_in_a_box_paints_there(square_gan, square_labeler):
    iv = Intervention.insert("units", [0], 1.0, where=(0, 0, 4, 4), image_hw=(32, 32))
    seeds = [0, 1, 2, 3]
    before = square_labeler(generate(square_gan, seeds))[:, 0]
    red = square_labeler(generate(square_gan, seeds, intervention=iv))[:, 0]
    assert red[:, :4, :4].all()
    outside = torch.ones(32, 32, dtype=torch.bool)
    outside[:4, :4] = False
    assert torch.equal(red[:, outside], before[:, outside])  # elsewhere only the original square


def test_hook_gone_after_intervened_raises(square_gan):
    with pytest.raises(ValueError), intervened(square_gan, Intervention.ablate("units", [0])):
        raise ValueError
    assert all(len(m._forward_hooks) == 0 for m in square_gan.modules())


def test_average_causal_effect(square_gan, square_labeler):
    # Inserting unit 0 at 1.0 everywhere paints the whole image red, ablating removes the square.
    ace = average_causal_effect(
        square_gan, "units", [0], square_labeler, "red square", value=1.0, n_samples=8, batch_size=4
    )
    assert ace["inserted"] == pytest.approx(1.0)
    assert ace["ablated"] == 0.0
    assert ace["ace"] == pytest.approx(1.0)
    assert 0 < ace["baseline"] < 0.01
    # A unit that does not paint red has no effect on the concept.
    ace3 = average_causal_effect(
        square_gan, "units", [3], square_labeler, 0, value=1.0, n_samples=8, batch_size=4
    )
    assert ace3["ace"] == 0.0


def test_ace_in_a_box(square_gan, square_labeler):
    ace = average_causal_effect(
        square_gan,
        "units",
        [0],
        square_labeler,
        "red square",
        value=1.0,
        where=(0, 0, 8, 8),
        n_samples=4,
    )
    assert ace["ace"] == pytest.approx(64 / 1024)
    with pytest.raises(GanscopeError, match="unknown concept"):
        average_causal_effect(
            square_gan, "units", [0], square_labeler, "tree", value=1.0, n_samples=1
        )


def test_generate_needs_latent_dim():
    with pytest.raises(GanscopeError, match="latent_dim"):
        generate(nn.Identity(), [0])
