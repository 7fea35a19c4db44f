"""The spectral-feature registry: the contract every registered kind keeps, and a kind added in a
test reaching ``extract_features``, ``feature_layout``, the spectral detectors and the CLI."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from torch import Tensor

from ganscope.spectrum import (
    FEATURE_KINDS,
    FEATURES,
    PRESETS,
    FeatureLayout,
    SpectralFeature,
    extract_features,
    feature_layout,
    power_spectrum,
    register_feature,
)


@pytest.mark.parametrize("kind", list(FEATURES))
def test_every_feature_keeps_the_contract(kind):
    cls = FEATURES[kind]
    assert issubclass(cls, SpectralFeature) and cls.kind == kind
    assert cls.domain in ("fft", "dct")
    H, W = 14, 19
    x = torch.rand(2, 3, H, W, dtype=torch.float64)
    for bins, preset in [(None, "default"), *([(7, p) for p in PRESETS] if cls.one_d else [])]:
        feats = extract_features(x, kind, bins=bins, preset=preset)
        layout = feature_layout(kind, H, W, bins=bins, preset=preset)
        assert layout.kind == kind and feats.shape == (2, layout.length)
        assert feats.dtype == x.dtype and torch.isfinite(feats).all()
        assert isinstance(cls().value_label(preset), str)
        if cls.one_d:
            assert layout.shape2d is None
            assert sum(len(f) for _, f in layout.segments) == layout.length
            if bins is not None:
                assert all(len(f) == bins for _, f in layout.segments)
        else:
            assert layout.segments == () and layout.shape2d is not None
            assert layout.length == layout.shape2d[0] * layout.shape2d[1]
        # white: the features of x / white
        torch.testing.assert_close(
            extract_features(x * 255, kind, bins=bins, preset=preset, white=255.0), feats
        )
    if not cls.one_d:
        with pytest.raises(ValueError, match="bins applies to 1D features"):
            extract_features(x, kind, bins=4)
        with pytest.raises(ValueError, match="applies to 1D features"):
            extract_features(x, kind, preset="durall")


def test_registering_a_name_twice_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_feature("azimuthal")(type("Again", (SpectralFeature,), {}))


def test_feature_kinds_is_the_registry():
    assert FEATURE_KINDS is FEATURES
    assert list(FEATURES)[:6] == ["azimuthal", "horizontal", "vertical", "projections", "fft2d",
                                  "dct"]  # fmt: skip


class _CornerEnergy(SpectralFeature):
    """A toy 2-value feature: mean log power in the low and in the high quarter of frequencies."""

    one_d = False

    def compute(self, x: Tensor, *, bins: int | None, preset: str, white: float) -> Tensor:
        spec = power_spectrum(x)[:, 0]  # centred: the low frequencies are in the middle
        H, W = spec.shape[-2:]
        mid = spec[:, H // 4 : H - H // 4, W // 4 : W - W // 4].mean((-2, -1))
        return torch.stack([mid, spec.mean((-2, -1))], 1)

    def layout(self, H: int, W: int, *, bins: int | None, preset: str) -> FeatureLayout:
        return FeatureLayout(self.kind, 2, shape2d=(1, 2))


@pytest.fixture
def toy_feature():
    register_feature("toy-corner-energy")(_CornerEnergy)
    try:
        yield "toy-corner-energy"
    finally:
        del FEATURES["toy-corner-energy"]
        import ganscope.cli.detector

        importlib.reload(ganscope.cli.detector)  # the choices without the toy again


def test_a_registered_feature_is_found_everywhere(toy_feature, tmp_path):
    from typer.testing import CliRunner

    import ganscope.cli.detector
    from ganscope.detectors import SpectralDetector, spectral_features
    from ganscope.detectors.settings import choices

    x = torch.rand(6, 3, 16, 16)
    assert extract_features(x, toy_feature).shape == (6, 2)
    assert feature_layout(toy_feature, 16, 16).length == 2
    assert spectral_features(x, toy_feature).shape == (6, 2)
    det = SpectralDetector(toy_feature, "logreg").fit(x, np.r_[np.zeros(3), np.ones(3)])
    assert det.predict_proba(x).shape == (6, 2)
    assert toy_feature in choices()["features"]
    cli = importlib.reload(ganscope.cli.detector)
    import typer

    app = typer.Typer()
    app.add_typer(cli.detector_app, name="detector")
    result = CliRunner().invoke(app, ["detector", "train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and toy_feature in result.output
