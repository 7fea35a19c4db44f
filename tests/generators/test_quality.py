"""Quality numbers: hand-computable cases, precision/recall against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganscope.generators.quality import (
    diversity,
    near_duplicate_rate,
    nearest_neighbour_distances,
    precision_recall,
    quality_report,
)


def test_diversity_and_duplicates_by_hand():
    a = torch.tensor([0.0, 0.0, 3.0]).view(3, 1, 1, 1)  # pair distances 0, 3, 3
    b = torch.tensor([0.0, 1.0]).view(2, 1, 1, 1)  # pair distance 1
    assert diversity(a, b) == pytest.approx(2.0)
    assert near_duplicate_rate(a, 0.5) == pytest.approx(1 / 3)
    d = nearest_neighbour_distances(a, b)
    torch.testing.assert_close(d, torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64))


def _reference_pr(real, fake, k):
    real, fake = real.numpy(), fake.numpy()

    def radii(x):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        return np.sort(d, axis=1)[:, k]

    rr, rf = radii(real), radii(fake)
    prec = np.mean([any(np.linalg.norm(f - r) <= rr[j] for j, r in enumerate(real)) for f in fake])
    rec = np.mean([any(np.linalg.norm(r - f) <= rf[j] for j, f in enumerate(fake)) for r in real])
    return prec, rec


@pytest.mark.parametrize("shift", [0.0, 1.0, 4.0])
def test_precision_recall_matches_brute_force(shift):
    g = torch.Generator().manual_seed(0)
    real = torch.randn(40, 3, generator=g, dtype=torch.float64)
    fake = torch.randn(30, 3, generator=g, dtype=torch.float64) * 0.5 + shift
    p, r = precision_recall(real, fake, k=3)
    pr, rr = _reference_pr(real, fake, 3)
    assert (p, r) == (pytest.approx(pr), pytest.approx(rr))


def test_report_flags_collapse_and_copies():
    g = torch.Generator().manual_seed(0)
    # "Real" images: smooth random colour fields, two disjoint sets.
    base = torch.rand(200, 3, 4, 4, generator=g)
    real = torch.nn.functional.interpolate(base, size=16, mode="bilinear", align_corners=False)
    train, test = real[:120], real[120:]
    collapsed = test[:1].repeat(64, 1, 1, 1) + 0.001 * torch.rand(64, 3, 16, 16, generator=g)
    r = quality_report(collapsed, test, train)
    assert r.collapsed and r.diversity < 0.1 and r.near_duplicates > 0.9
    copies = quality_report(train[:80], test, train)
    assert copies.nn_ratio < 1e-6  # every sample is a training image (cdist rounding)
    healthy = quality_report(test[:40], test[40:], train)
    assert not healthy.collapsed and 0.7 < healthy.nn_ratio < 1.3
    assert set(healthy.as_dict()) >= {"diversity", "precision", "recall", "swd", "swd_real"}
