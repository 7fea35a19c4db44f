import numpy as np
import pytest
import torch

from ganscope.errors import GanscopeError
from ganscope.io import center_crop_array, list_images
from ganscope.io.luma import load_luma
from ganscope.spectrum import extract_features
from ganscope.spectrum.sources import analyze_sources, plan_crop


def _features_of(path, size, kind="azimuthal", **kw):
    arr = center_crop_array(load_luma(path)[:, :, None], *size)
    x = torch.from_numpy(arr.transpose(2, 0, 1).astype(np.float32) / 255.0)[None]
    return extract_features(x, kind, **kw)[0]


def test_plan_crop_picks_the_smallest_height_and_width(image_dirs):
    sources = {n: list_images([d]) for n, d in image_dirs.items()}
    plan = plan_crop(sources)
    assert plan.size == (24, 24)  # heights 24..30, widths 24..28
    assert plan.n_cropped == 1 + 3  # r_big and the three 24x26 images
    reasons = {p.name: r for p, r in plan.bad}
    assert set(reasons) == {"broken.png", "tiny.png"}
    assert "too small" in reasons["tiny.png"]
    assert all(p.name not in reasons for files in plan.files.values() for p in files)


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_analysis_equals_per_image_features(image_dirs, batch_size):
    sources = {n: list_images([d]) for n, d in image_dirs.items()}
    seen = []
    result = analyze_sources(
        sources,
        kind="projections",
        bins=10,
        batch_size=batch_size,
        spectra=True,
        on_batch=lambda paths, feats: seen.extend(zip(paths, feats, strict=True)),
        workers=1,
    )
    assert result.size == (24, 24) and result.layout.length == 20
    assert [s.count for s in result.sources.values()] == [6, 4, 3]
    assert len(seen) == 13
    for path, feats in seen:
        torch.testing.assert_close(
            feats, _features_of(path, (24, 24), "projections", bins=10), rtol=1e-5, atol=1e-4
        )
    fake = torch.stack([f for p, f in seen if p.parent.name == "fake"]).double()
    torch.testing.assert_close(result.sources["fake"].features.mean, fake.mean(0))
    torch.testing.assert_close(result.sources["fake"].features.std, fake.std(0))
    assert result.sources["real"].spectrum.mean.shape == (24, 24)
    assert {p.name for p, _ in result.bad} == {"broken.png", "tiny.png"}


def test_bad_settings_and_nothing_readable(image_dirs, tmp_path):
    sources = {"real": list_images([image_dirs["real"]])}
    with pytest.raises(GanscopeError):
        analyze_sources(sources, kind="fft2d", bins=4)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    with pytest.raises(GanscopeError, match="no readable image"):
        analyze_sources({"bad": [bad]})
