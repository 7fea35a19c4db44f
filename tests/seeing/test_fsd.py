"""FSD, class areas, bootstrap intervals and streaming segmentation (Bau et al. 2019, sec. 3.1)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ganscope.errors import GanscopeError
from ganscope.seeing.fsd import (
    ClassAreas,
    class_areas,
    compare_class_areas,
    frechet_distance,
    frechet_segmentation_distance,
    load_fsd_segmenter,
    segment_folder,
)


def _fid_reference(mu1, s1, mu2, s2):
    """pytorch-fid's formula (Heusel et al. 2017): scipy's sqrtm of the product."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _random_cov(rng, k, n=50):
    a = rng.normal(size=(n, k))
    return np.atleast_2d(np.cov(a, rowvar=False))


def test_class_areas_by_hand():
    labels = torch.tensor([[[0, 1], [1, 1]], [[2, 2], [2, 0]]])
    got = class_areas(labels, 3)
    want = torch.tensor([[0.25, 0.75, 0.0], [0.25, 0.0, 0.75]], dtype=torch.float64)
    assert torch.equal(got, want)
    assert class_areas(torch.zeros(0, 4, 4, dtype=torch.long), 3).shape == (0, 3)


def test_class_areas_rejects_bad_labels():
    with pytest.raises(GanscopeError):
        class_areas(torch.tensor([[[0, 3]]]), 3)
    with pytest.raises(GanscopeError):
        class_areas(torch.zeros(4, 4, dtype=torch.long), 3)


def test_frechet_matches_scipy_reference():
    rng = np.random.default_rng(0)
    for k in (1, 3, 11):
        mu1, mu2 = rng.normal(size=k), rng.normal(size=k)
        s1, s2 = _random_cov(rng, k), _random_cov(rng, k)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
            _fid_reference(mu1, s1, mu2, s2), rel=1e-9, abs=1e-10
        )


def test_frechet_closed_form_1d_and_identity():
    # 1-D Gaussians: (m1 - m2)^2 + (s1 - s2)^2.
    d = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]]))
    assert d == pytest.approx(4.0 + 1.0, abs=1e-12)
    rng = np.random.default_rng(1)
    s = _random_cov(rng, 5)
    mu = rng.normal(size=5)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-10)


def test_frechet_singular_covariances():
    # Class areas of absent classes have zero variance: covariances are singular.
    rng = np.random.default_rng(2)
    a = rng.dirichlet(np.ones(4), 200)
    a = np.concatenate([a, np.zeros((200, 2))], 1)
    b = rng.dirichlet(np.ones(4) * 2, 200)
    b = np.concatenate([b, np.zeros((200, 2))], 1)
    d = frechet_segmentation_distance(a, b)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    assert d == pytest.approx(_fid_reference(a.mean(0), s1, b.mean(0), s2), abs=1e-7)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6))
def test_frechet_symmetric_nonnegative(seed, k):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.normal(size=k), rng.normal(size=k)
    s1, s2 = _random_cov(rng, k, 8), _random_cov(rng, k, 8)
    d12, d21 = frechet_distance(mu1, s1, mu2, s2), frechet_distance(mu2, s2, mu1, s1)
    assert d12 >= 0
    assert d12 == pytest.approx(d21, rel=1e-7, abs=1e-9)


def _areas(rng, n, alpha):
    return ClassAreas(["a", "b", "c", "d"], rng.dirichlet(alpha, n))


def test_same_distribution_interval_contains_zero():
    rng = np.random.default_rng(3)
    alpha = np.array([5.0, 3.0, 1.0, 1.0])
    res = compare_class_areas(_areas(rng, 400, alpha), _areas(rng, 400, alpha), n_boot=100)
    assert res.fsd > 0
    assert res.fsd_ci[0] == 0.0 < res.fsd <= res.fsd_ci[1]


def test_removed_class_is_most_under_generated():
    rng = np.random.default_rng(4)
    real = _areas(rng, 400, np.array([5.0, 3.0, 1.0, 1.0]))
    gen_areas = rng.dirichlet(np.array([5.0, 3.0, 1.0, 1.0]), 400)
    gen_areas[:, 0] += gen_areas[:, 2]  # class c painted over by class a
    gen_areas[:, 2] = 0
    res = compare_class_areas(real, ClassAreas(real.labels, gen_areas), n_boot=100)
    assert res.fsd_ci[0] > 0
    assert res.under_generated(by="ratio")[0] == "c"
    assert res.under_generated(by="deficit")[0] == "c"
    assert res.under_generated(by="deficit")[-1] == "a"
    c = res.labels.index("c")
    assert res.generated[c] == 0 and res.generated_presence[c] == 0
    assert res.real_presence[c] == 1.0
    lo, hi = res.ci["real"][c]
    assert lo <= res.real[c] <= hi
    doc = res.to_json()
    assert set(doc) >= {"fsd", "fsd_ci", "per_class"}
    keys = {"real", "generated", "real_presence", "generated_presence"}
    assert set(doc["per_class"]["c"]) >= keys


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(5)
    a, b = _areas(rng, 60, np.ones(4)), _areas(rng, 60, np.ones(4) * 2)
    r1 = compare_class_areas(a, b, n_boot=30, seed=7)
    r2 = compare_class_areas(a, b, n_boot=30, seed=7)
    r3 = compare_class_areas(a, b, n_boot=30, seed=8)
    assert r1.fsd_ci == r2.fsd_ci and r1.fsd_ci != r3.fsd_ci


def _write_pngs(folder, images):
    from ganscope.io import save_png

    for i, img in enumerate(images):
        save_png(folder / f"img{i:03d}.png", img)


def test_segment_folder_streams_and_reports_bad_files(tmp_path):
    # Image i is red on its first i columns (of 8): the red labeler gives class 1 areas i / 8.
    imgs = torch.zeros(10, 3, 8, 8)
    for i in range(10):
        imgs[i, 0, :, : min(i, 8)] = 1.0
    _write_pngs(tmp_path, imgs)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    seen = []

    def red(x):
        seen.append(x.shape[0])
        return (x[:, 0] > 0.5).long()

    res = segment_folder(tmp_path, red, ["other", "red"], batch_size=3)
    assert max(seen) <= 3  # never more than one batch at a time
    np.testing.assert_allclose(res.areas[:, 1], [min(i, 8) / 8 for i in range(10)])
    assert [p.name for p, _ in res.errors] == ["broken.png"]


def test_segment_folder_without_readable_images(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"nope")
    with pytest.raises(GanscopeError):
        segment_folder(tmp_path, lambda x: x[:, 0].long(), ["a"])


def test_segmenter_spec_refuses_torchscript_and_pickles(tmp_path):
    net = torch.jit.script(torch.nn.Conv2d(3, 2, 1))
    net.save(str(tmp_path / "seg.pt"))
    with pytest.raises(GanscopeError, match="not loaded"):
        load_fsd_segmenter(tmp_path / "seg.pt")
    with pytest.raises(GanscopeError):
        load_fsd_segmenter(tmp_path / "missing")


def test_segmenter_folder_loads_and_checks_class(tmp_path):
    from ganscope.checkpoint import save_checkpoint
    from ganscope.dissect.segmenter import UNet, save_segmenter

    net = UNet(n_classes=11, width=4, depth=2)
    save_segmenter(net, tmp_path / "seg")
    labeler, labels = load_fsd_segmenter(tmp_path / "seg")
    assert len(labels) == 11
    assert labeler(torch.rand(2, 3, 16, 16)).shape == (2, 16, 16)
    labeler2, _ = load_fsd_segmenter(tmp_path / "seg" / "model.safetensors")
    assert labeler2(torch.rand(1, 3, 16, 16)).shape == (1, 16, 16)
    save_checkpoint(tmp_path / "other", net.state_dict(), {"class": "ResNet", "settings": {}})
    with pytest.raises(GanscopeError, match="UNet"):
        load_fsd_segmenter(tmp_path / "other")


@pytest.fixture(scope="module")
def scene_folders(tmp_path_factory):
    from ganscope.dissect.scenes import write_scenes

    root = tmp_path_factory.mktemp("scenes")
    write_scenes(root / "a", count=120, seed=5_000_000, size=32)
    write_scenes(root / "b", count=120, seed=5_100_000, size=32)
    write_scenes(root / "nohouse", count=120, seed=5_100_000, size=32, without=["house"])
    return root


def test_shipped_segmenter_real_vs_real_and_removed_houses(scene_folders):
    from ganscope.seeing.fsd import compare_folders

    same = compare_folders(
        scene_folders / "a" / "images", scene_folders / "b" / "images", n_boot=100
    )
    assert same.fsd_ci[0] == 0.0  # disjoint real sets: FSD within its interval of 0
    removed = compare_folders(
        scene_folders / "a" / "images", scene_folders / "nohouse" / "images", n_boot=100
    )
    assert removed.fsd_ci[0] > same.fsd_ci[1]
    assert removed.under_generated(by="deficit")[0] == "house"
    assert set(removed.under_generated(by="ratio")[:4]) == {"house", "roof", "door", "window"}


def test_table_lists_the_most_under_generated_class_first():
    import numpy as np

    from ganscope.seeing.fsd import FSDResult

    zeros = np.zeros(3)
    result = FSDResult(
        labels=["sky", "tree", "door"],
        fsd=0.01234,
        fsd_ci=(0.001, 0.02),
        real=np.array([0.5, 0.3, 0.0]),
        generated=np.array([0.6, 0.1, 0.05]),
        real_presence=zeros,
        generated_presence=zeros,
        ci={},
        n_real=10,
        n_generated=12,
        n_boot=0,
        confidence=0.95,
        seed=0,
    )
    lines = result.table().splitlines()
    assert lines[0] == "FSD 0.01234  (95% CI 0.001 .. 0.02; 10 real, 12 generated images)"
    assert [line.split()[0] for line in lines[2:]] == ["tree", "door", "sky"]
    assert lines[2].split()[1:] == ["30.000", "10.000", "0.333"]
    assert lines[3].split()[-1] == "-"  # no real door pixels: no ratio


def test_fsd_report_names_a_missing_folder(tmp_path):
    from ganscope.errors import GanscopeError
    from ganscope.seeing import fsd_report

    (tmp_path / "real").mkdir()
    with pytest.raises(GanscopeError, match=r"folder not found: .*gen"):
        fsd_report(tmp_path / "real", tmp_path / "gen")
