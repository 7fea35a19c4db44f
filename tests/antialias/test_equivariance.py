"""The shift-equivariance testbed: exact answers on layers whose behaviour is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganscope.antialias import (
    antialias,
    circular_padding,
    default_layers,
    fourier_shift,
    plot_equivariance_heatmaps,
    plot_equivariance_profile,
    shift_equivariance,
)
from ganscope.antialias.models import SmallVGG
from ganscope.errors import GanscopeError
from ganscope.layers import BlurPool2d

from . import torchvision_models as tv


def test_fourier_shift_integer_is_roll_and_fraction_is_band_limited() -> None:
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    assert torch.equal(fourier_shift(x, 3, -2), torch.roll(x, (3, -2), (-2, -1)))
    # Two half-pixel shifts make a one-pixel shift for any signal without Nyquist content.
    X = torch.fft.fft2(x)
    X[..., 4, :] = 0
    X[..., :, 4] = 0
    smooth = torch.fft.ifft2(X).real
    twice = fourier_shift(fourier_shift(smooth, 0.5, 0.5), 0.5, 0.5)
    torch.testing.assert_close(twice, torch.roll(smooth, (1, 1), (-2, -1)), atol=1e-12, rtol=0)
    # A cosine of frequency k shifted by d is the cosine with phase -2 pi k d / N.
    n = torch.arange(16, dtype=torch.float64)
    c = torch.cos(2 * torch.pi * 3 * n / 16).expand(1, 16)
    got = fourier_shift(c, 0, 0.3)
    torch.testing.assert_close(
        got, torch.cos(2 * torch.pi * 3 * (n - 0.3) / 16).expand(1, 16), atol=1e-12, rtol=0
    )


def test_stride_one_convs_are_exactly_equivariant_with_circular_padding() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 5, padding=2), nn.Tanh()
    )
    r = shift_equivariance(net, torch.rand(3, 3, 12, 12))
    assert len(r.shifts) == 144
    assert r.deviation.max() < 1e-6  # float32 rounding of sums taken in another order
    # Zero padding breaks it at the borders.
    r0 = shift_equivariance(net, torch.rand(3, 3, 12, 12), circular=False, max_shift=3)
    assert r0.mean()["2"] > 1e-3


def test_subsampling_is_equivariant_exactly_at_multiples_of_its_stride() -> None:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2))
    r = shift_equivariance(net, torch.rand(2, 3, 16, 16), max_shift=8)
    g = r.grid("1")
    assert r.strides[r.layers.index("1")] == (2.0, 2.0)
    assert g[::2, ::2].max() < 1e-6  # even shifts: the pooling grid moves with the image
    odd = np.ones_like(g, dtype=bool)
    odd[::2, ::2] = False
    assert g[odd].min() > 1e-3  # any odd shift: Zhang's checkerboard


def test_blurpool_reduces_the_deviation_of_max_pooling() -> None:
    torch.manual_seed(2)
    base = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    aa = antialias(base, 5)
    x = torch.rand(4, 3, 16, 16)
    d_base = shift_equivariance(base, x, max_shift=4).mean()["output"]
    d_aa = shift_equivariance(aa, x, max_shift=4).mean()["output"]
    assert d_aa < d_base / 3


def test_invariance_rows_and_default_layers() -> None:
    net = tv.resnet18(num_classes=3)
    names = default_layers(net)
    assert names[:5] == ["conv1", "bn1", "relu", "maxpool", "layer1.0"]
    assert names[-2:] == ["avgpool", "fc"]
    small = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    r = shift_equivariance(small, torch.rand(2, 3, 8, 8), max_shift=3)
    assert r.layers == ["pixels", "0", "1", "2", "output"]
    assert r.strides[2:] == [(0.0, 0.0)] * 3
    assert r.deviation[2:].max() < 1e-6  # a global average is shift-invariant


def test_circular_padding_keeps_names_and_weights() -> None:
    torch.manual_seed(3)
    net = antialias(tv.resnet18(num_classes=2), 3)
    circ = circular_padding(net)
    assert dict(net.named_parameters()).keys() == dict(circ.named_parameters()).keys()
    assert circ.conv1.padding_mode == "circular"
    assert net.conv1.padding_mode == "zeros"
    assert isinstance(circ.layer2[0].conv2[0], BlurPool2d)
    x = torch.rand(1, 3, 32, 32)
    assert circ.eval()(x).shape == net.eval()(x).shape


def test_circular_padding_is_idempotent() -> None:
    torch.manual_seed(4)
    circ = circular_padding(antialias(SmallVGG(3, (4, 8)), 4)).eval()
    again = circular_padding(circ).eval()
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(again(x), circ(x), atol=1e-6)
    assert str(again) == str(circ)


def test_bad_input_and_plots(tmp_path) -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2))
    with pytest.raises(GanscopeError, match="no layer"):
        shift_equivariance(net, torch.rand(1, 3, 8, 8), layers=["nope"])
    with pytest.raises(GanscopeError, match="B, C, H, W"):
        shift_equivariance(net, torch.rand(3, 8, 8))
    r = shift_equivariance(net, torch.rand(1, 3, 8, 8), max_shift=4)
    r2 = shift_equivariance(antialias(net, 3), torch.rand(1, 3, 8, 8), max_shift=4)
    p1 = plot_equivariance_heatmaps({"baseline": r, "anti-aliased": r2}, tmp_path / "h.png")
    p2 = plot_equivariance_profile({"baseline": r, "anti-aliased": r2}, tmp_path / "p.png")
    assert p1.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert p2.stat().st_size > 1000
    partial = shift_equivariance(net, torch.rand(1, 3, 8, 8), shifts=[(0, 1), (1, 1), (3, 0)])
    assert partial.grid("1") is None
    with pytest.raises(GanscopeError, match="full"):
        plot_equivariance_heatmaps({"x": partial}, tmp_path / "bad.png")
