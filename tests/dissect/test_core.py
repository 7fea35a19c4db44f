"""Hooks, streaming quantiles, top-k, pooled IoU and dissection of a toy generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from ganscope.dissect.concepts import ColorLabeler
from ganscope.dissect.dissection import DissectionResult, dissect
from ganscope.dissect.hooks import edit_layer, feature_layers, get_layer, hook_layers, record_layers
from ganscope.dissect.iou import IoUAccumulator, pooled_iou
from ganscope.dissect.stats import ReservoirQuantiles, TopKSamples, linear_quantile
from ganscope.errors import GanscopeError


def _n_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


# --- hooks ---------------------------------------------------------------------------------------


def test_hooks_removed_after_exception():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3))
    with pytest.raises(RuntimeError, match="boom"), record_layers(net, ["0", "2"]) as store:
        net(torch.zeros(1, 3, 8, 8))
        assert set(store) == {"0", "2"} and _n_hooks(net) == 2
        raise RuntimeError("boom")
    assert _n_hooks(net) == 0
    with pytest.raises(RuntimeError), edit_layer(net, "1", lambda x: x * 0):
        assert _n_hooks(net) == 1
        net(torch.zeros(1, 5, 8, 8))  # wrong channels: fails inside the forward
    assert _n_hooks(net) == 0


def test_hooks_removed_when_a_later_name_is_unknown():
    net = nn.Sequential(nn.Conv2d(3, 4, 3))
    with (
        pytest.raises(GanscopeError, match="no layer named"),
        hook_layers(net, {"0": lambda *a: None, "nope": lambda *a: None}),
    ):
        pass
    assert _n_hooks(net) == 0


def test_record_clones_before_inplace_relu():
    net = nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU(inplace=True))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.fill_(0.0)
    with torch.no_grad(), record_layers(net, ["0"]) as store:
        net(-torch.ones(1, 1, 2, 2))
    assert (store["0"] == -1).all()


def test_edit_layer_changes_output():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.Conv2d(2, 1, 1))
    x = torch.randn(1, 1, 4, 4)
    with torch.no_grad(), edit_layer(net, "0", torch.zeros_like):
        out = net(x)
    torch.testing.assert_close(out, net[1].bias.detach().view(1, 1, 1, 1).expand_as(out))


def test_feature_layers_and_get_layer(square_gan):
    layers = dict(feature_layers(square_gan, torch.zeros(1, 4)))
    assert layers == {"units": (4, 32, 32), "to_rgb": (3, 32, 32)}
    assert get_layer(square_gan, "to_rgb") is square_gan.to_rgb
    with pytest.raises(GanscopeError, match="known layers: units"):
        get_layer(square_gan, "nope")


# --- statistics ----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 4),
    u=st.integers(1, 5),
    h=st.integers(1, 6),
    q=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_reservoir_exact_when_everything_fits(b, u, h, q, seed):
    g = torch.Generator().manual_seed(seed)
    batches = [torch.randn(b, u, h, h + 1, generator=g) for _ in range(3)]
    rq = ReservoirQuantiles(u, size=10_000, seed=seed)
    for x in batches:
        rq.update(x)
    allpix = torch.cat([x.permute(0, 2, 3, 1).reshape(-1, u) for x in batches]).double().numpy()
    np.testing.assert_allclose(
        rq.quantile(q).double().numpy(), np.quantile(allpix, q, axis=0), rtol=1e-6, atol=1e-6
    )


def test_reservoir_quantile_close_to_numpy_when_subsampled():
    # 40 batches of 8x3x32x32 = 327,680 pixel positions, reservoir 20,000. The estimated 0.99
    # quantile's rank has standard deviation sqrt(.99 * .01 / 20000) = 0.0007; we allow 0.004 in
    # rank (more than 5 sigma), checked through the empirical CDF of the full data.
    g = torch.Generator().manual_seed(0)
    scales = torch.tensor([1.0, 5.0, 0.1])[None, :, None, None]
    shifts = torch.tensor([0.0, -3.0, 2.0])[None, :, None, None]
    batches = [torch.randn(8, 3, 32, 32, generator=g).exp() * scales + shifts for _ in range(40)]
    rq = ReservoirQuantiles(3, size=20_000, seed=1)
    for x in batches:
        rq.update(x)
    assert rq.n_seen == 40 * 8 * 32 * 32
    est = rq.quantile(0.99)
    allpix = torch.cat([x.permute(0, 2, 3, 1).reshape(-1, 3) for x in batches])
    ranks = (allpix <= est[None]).double().mean(0)
    assert torch.all((ranks - 0.99).abs() < 0.004), ranks


def test_reservoir_is_a_uniform_sample():
    # Values are their own position index: a uniform sample of 0..N-1 has mean (N-1)/2.
    x = torch.arange(100_000, dtype=torch.float32).view(100, 1, 1000, 1)
    rq = ReservoirQuantiles(1, size=5000, seed=3)
    for i in range(0, 100, 10):
        rq.update(x[i : i + 10])
    kept = rq._values[:, 0]
    assert kept.unique().numel() == 5000  # without replacement
    # Standard error of the mean of 5000 of U(0, 1e5): 1e5 / sqrt(12 * 5000) = 408.
    assert abs(kept.mean().item() - 49_999.5) < 5 * 408


@pytest.mark.parametrize("batch", [7, 30, 250])
def test_reservoir_keeps_the_largest_keys(batch):
    # Reference: regenerate the same random keys, keep the 100 positions with the largest keys
    # over the whole stream; the reservoir must hold exactly those values (in any order).
    g = torch.Generator().manual_seed(5)
    batches = [torch.randn(1, 3, 1, batch, generator=g) for _ in range(6)]
    rq = ReservoirQuantiles(3, size=100, seed=9)
    for x in batches:
        rq.update(x)
    keygen = torch.Generator().manual_seed(9)
    keys = torch.cat([torch.rand(batch, generator=keygen) for _ in batches])
    allpix = torch.cat([x[0, :, 0].T for x in batches])  # (6 * batch, 3)
    expected = allpix[keys.topk(min(100, keys.numel())).indices]
    torch.testing.assert_close(rq._values.sort(0).values, expected.sort(0).values)


def test_linear_quantile_matches_numpy():
    x = torch.randn(101, 7, dtype=torch.float64)
    for q in (0.0, 0.25, 0.99, 0.995, 1.0):
        np.testing.assert_allclose(linear_quantile(x, q).numpy(), np.quantile(x.numpy(), q, axis=0))


def test_topk_samples():
    tk = TopKSamples(2, k=2)
    tk.update(torch.tensor([[1.0, 0.0], [3.0, 1.0]]), torch.tensor([7, 8]))
    tk.update(torch.tensor([[2.0, 5.0]]), torch.tensor([9]))
    assert tk.ids.tolist() == [[8, 9], [9, 8]]
    assert tk.scores.tolist() == [[3.0, 2.0], [5.0, 1.0]]


# --- IoU -----------------------------------------------------------------------------------------


def test_pooled_iou_by_hand():
    # Two images of 2x2 pixels, one unit, two concepts.
    units = torch.tensor([[[[1, 1], [0, 0]]], [[[1, 0], [0, 0]]]], dtype=torch.bool)  # (2,1,2,2)
    concepts = torch.tensor(
        [
            [[[1, 0], [0, 0]], [[0, 0], [1, 1]]],
            [[[1, 1], [1, 0]], [[0, 0], [0, 0]]],
        ],
        dtype=torch.bool,
    )  # (2, 2, 2, 2)
    # Concept 0: intersections 1 + 1 = 2; unions 2 + 3 = 5 -> pooled 0.4 (mean of per-image
    # IoUs would be (0.5 + 1/3) / 2 = 0.4167: pooled is not the mean).
    # Concept 1: intersections 0; unions 4 + 1 = 5 -> 0.
    iou = pooled_iou(units, concepts)
    torch.testing.assert_close(iou, torch.tensor([[0.4, 0.0]]))
    acc = IoUAccumulator(1, 2)
    acc.update(units[:1], concepts[:1])
    acc.update(units[1:], concepts[1:])
    torch.testing.assert_close(acc.iou(), iou)
    assert acc.concept_pixels().tolist() == [4.0, 2.0]


def test_iou_matches_loop_reference():
    g = torch.Generator().manual_seed(0)
    units = torch.rand(5, 6, 7, 8, generator=g) > 0.7
    concepts = torch.rand(5, 3, 7, 8, generator=g) > 0.5
    ref = torch.zeros(6, 3)
    for u in range(6):
        for k in range(3):
            inter = (units[:, u] & concepts[:, k]).sum()
            union = (units[:, u] | concepts[:, k]).sum()
            ref[u, k] = inter / union
    torch.testing.assert_close(pooled_iou(units, concepts), ref)


def test_iou_bootstrap_interval():
    g = torch.Generator().manual_seed(0)
    acc = IoUAccumulator(2, 1)
    for _ in range(10):
        c = torch.rand(8, 1, 6, 6, generator=g) > 0.5
        noisy = c[:, 0] ^ (torch.rand(8, 6, 6, generator=g) > 0.8)
        acc.update(torch.stack([c[:, 0], noisy], 1), c)
    lo, hi = acc.bootstrap(n_boot=300, seed=0)
    iou = acc.iou()
    assert iou[0, 0] == 1 and lo[0, 0] == 1 and hi[0, 0] == 1  # a perfect unit: no spread
    assert lo[1, 0] < iou[1, 0] < hi[1, 0] and hi[1, 0] - lo[1, 0] < 0.1


def test_iou_shape_mismatch_raises():
    with pytest.raises(ValueError, match="disagree"):
        pooled_iou(
            torch.zeros(1, 2, 4, 4, dtype=torch.bool), torch.zeros(1, 1, 5, 4, dtype=torch.bool)
        )


# --- dissection ----------------------------------------------------------------------------------


def test_dissection_labels_the_square_unit(square_gan, square_labeler):
    res = dissect(square_gan, "units", square_labeler, n_samples=40, batch_size=16, n_bootstrap=50)
    assert res.iou.shape == (4, 1)
    # Unit 0 is exactly the square (the 0.99 quantile is 0: the square covers 0.9% of pixels,
    # and unit 0 is > 0 only there), so its IoU is exactly 1; the others do not overlap it.
    assert res.iou[0, 0] == pytest.approx(1.0)
    assert res.thresholds[0] == 0
    assert (res.iou[1:, 0] < 0.05).all()
    assert res.units_for("red square", min_iou=0.5) == [0]
    assert res.settings["estimator"].startswith("exact")
    # Top samples of unit 0 are the seeds with the largest z0 (peak activation 1 + z0 / 10).
    from ganscope.generators import latents_for_seeds

    z0 = latents_for_seeds(list(range(40)), 4)[:, 0]
    assert res.top_seeds[0].tolist() == torch.argsort(z0, descending=True)[:8].tolist()


def test_dissection_with_colors(square_gan):
    res = dissect(square_gan, "units", ColorLabeler(), n_samples=32, n_bootstrap=0)
    idx, best = res.best_concept()
    assert res.labels[int(idx[0])] == "red" and best[0] > 0.9
    assert res.summary()["red"] == 1
    j = res.to_json()
    assert j["units"][0]["label"] == "red"
    back = DissectionResult.from_json(j)
    torch.testing.assert_close(back.iou, res.iou)
    torch.testing.assert_close(back.thresholds, res.thresholds)
    assert back.top_seeds.tolist() == res.top_seeds.tolist()


def test_dissection_bad_layer(square_gan, square_labeler):
    with pytest.raises(GanscopeError, match="no layer named"):
        dissect(square_gan, "nope", square_labeler, n_samples=2)
    net = nn.Sequential(nn.Linear(4, 12), nn.Unflatten(1, (3, 2, 2)))
    net.latent_dim = 4
    with pytest.raises(GanscopeError, match="feature map"):
        dissect(net, "0", square_labeler, n_samples=2)
