"""antialias(model) against Zhang's own anti-aliased networks (``antialiased_cnns``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganscope.antialias import antialias, downsampling_layers
from ganscope.errors import GanscopeError
from ganscope.layers import BlurPool2d

from . import torchvision_models as tv

aa = pytest.importorskip("antialiased_cnns")
aa_vgg = pytest.importorskip("antialiased_cnns.vgg")


def structure(model: nn.Module) -> list[tuple]:
    """Every module with the settings that define what it computes; a blur is a blur whichever
    class implements it (Zhang's BlurPool keeps its padding in a child, which is skipped)."""
    out: list[tuple] = []
    blur_prefixes: list[str] = []
    for name, m in model.named_modules():
        if any(name.startswith(p + ".") for p in blur_prefixes):
            continue
        if type(m).__name__ in ("BlurPool", "BlurPool2d"):
            blur_prefixes.append(name)
            out.append((name, "blur", m.channels, m.filt_size, m.stride, m.pad_off))
        elif isinstance(m, nn.Conv2d):
            out.append(
                (
                    name,
                    "conv",
                    m.in_channels,
                    m.out_channels,
                    m.kernel_size,
                    m.stride,
                    m.padding,
                    m.groups,
                    m.bias is not None,
                )
            )
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            out.append((name, type(m).__name__, m.kernel_size, m.stride, m.padding))
        elif isinstance(m, nn.BatchNorm2d):
            out.append((name, "bn", m.num_features))
        else:
            out.append((name, type(m).__name__))
    return out


def assert_same_network(mine: nn.Module, zhang: nn.Module, x: torch.Tensor) -> None:
    assert structure(mine) == structure(zhang)
    s_mine, s_zhang = mine.state_dict(), zhang.state_dict()
    assert list(s_mine) == list(s_zhang)
    assert all(s_mine[k].shape == s_zhang[k].shape for k in s_mine)
    # Shared weights: Zhang's network takes the converted one's, BatchNorm statistics included.
    with torch.no_grad():
        for v in s_mine.values():
            if v.is_floating_point() and v.dim() == 1:
                v.uniform_(0.5, 1.5)  # non-trivial BN statistics and affine terms
    zhang.load_state_dict(mine.state_dict())
    mine.eval()
    zhang.eval()
    with torch.no_grad():
        torch.testing.assert_close(mine(x), zhang(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("filter_size", [1, 2, 3, 4, 5, 7])
def test_resnet18_matches_antialiased_cnns(filter_size: int) -> None:
    torch.manual_seed(0)
    mine = antialias(tv.resnet18(num_classes=10), filter_size, skip={"conv1"}, max_kernel_size=2)
    zhang = aa.resnet18(filter_size=filter_size, num_classes=10)
    assert_same_network(mine, zhang, torch.rand(2, 3, 64, 64))


def test_resnet18_antialiased_stem_matches_pool_only_false() -> None:
    torch.manual_seed(1)
    mine = antialias(tv.resnet18(num_classes=5), 4, max_kernel_size=2)
    zhang = aa.resnet18(filter_size=4, pool_only=False, num_classes=5)
    assert_same_network(mine, zhang, torch.rand(1, 3, 48, 48))


def test_resnet50_matches_antialiased_cnns() -> None:
    torch.manual_seed(2)
    mine = antialias(tv.resnet50(num_classes=7), 3, skip={"conv1"}, max_kernel_size=2)
    zhang = aa.resnet50(filter_size=3, num_classes=7)
    assert_same_network(mine, zhang, torch.rand(1, 3, 64, 64))


@pytest.mark.parametrize("cfg", ["A", "B", "D"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_vgg_features_match_antialiased_cnns(cfg: str, batch_norm: bool) -> None:
    torch.manual_seed(3)
    mine = antialias(tv.vgg_features(cfg, batch_norm), 4)
    zhang = aa_vgg.make_layers(aa_vgg.cfg[cfg], batch_norm=batch_norm, filter_size=4)
    assert_same_network(mine, zhang, torch.rand(2, 3, 64, 64))


def test_vgg_classifier_is_untouched() -> None:
    """The only downsampling of a VGG is in ``features``; the classifier is kept as it is."""
    vgg = tv.VGG(tv.vgg_features("A"), num_classes=3, hidden=16)  # a small head keeps this fast
    out = antialias(vgg, 4)
    assert structure(out.classifier) == structure(vgg.classifier)
    assert out.eval()(torch.rand(1, 3, 64, 64)).shape == (1, 3)


# Zhang's AlexNet(pool_only=True) drops the ReLU after conv1 (his code), so it is not compared.


def test_model_is_not_changed_and_weights_are_kept() -> None:
    torch.manual_seed(6)
    base = tv.resnet18(num_classes=4)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    conv = antialias(base, 4)
    assert downsampling_layers(base) == [
        "conv1",
        "maxpool",
        "layer2.0.conv1",
        "layer2.0.downsample.0",
        "layer3.0.conv1",
        "layer3.0.downsample.0",
        "layer4.0.conv1",
        "layer4.0.downsample.0",
    ]
    assert downsampling_layers(conv) == []
    for k, v in base.state_dict().items():
        assert torch.equal(v, before[k])
    # Every original parameter is in the copy, unchanged, and the copy adds only blur filters.
    p_base = [p.detach() for p in base.parameters()]
    p_conv = [p.detach() for p in conv.parameters()]
    assert len(p_base) == len(p_conv)
    assert all(torch.equal(a, b) for a, b in zip(p_base, p_conv, strict=True))
    assert all(a is not b for a, b in zip(p_base, p_conv, strict=True))


def test_blur_goes_after_the_relu_in_a_sequential() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 1, stride=2),
        nn.Conv2d(8, 4, 3, stride=2, padding=1),
        nn.AvgPool2d(2),
        nn.Flatten(),
    )
    out = antialias(net, 3)
    kinds = [type(m).__name__ for m in out]
    assert kinds == [
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "BlurPool2d",  # conv + ReLU + blur (Zhang, Fig. 4)
        "BlurPool2d",
        "Conv2d",  # a linear 1x1 conv: blur in front, exactly equivalent
        "Conv2d",
        "BlurPool2d",  # no activation: blur right after the conv
        "BlurPool2d",  # AvgPool -> BlurPool
        "Flatten",
    ]
    assert [m.stride for m in out if isinstance(m, nn.Conv2d)] == [(1, 1)] * 3
    assert [m.channels for m in out if isinstance(m, BlurPool2d)] == [8, 8, 4, 4]
    x = torch.rand(2, 3, 32, 32)
    assert out.eval()(x).shape == net.eval()(x).shape


def test_one_by_one_conv_blur_order_is_exact() -> None:
    """Blur, then a 1x1 conv equals the 1x1 conv, then blur (why the front is allowed)."""
    torch.manual_seed(7)
    conv = nn.Conv2d(5, 6, 1, stride=2, bias=True).double()
    front = antialias(nn.Sequential(conv), 4)
    after = nn.Sequential(nn.Conv2d(5, 6, 1).double(), BlurPool2d(6, 4, 2).double())
    after[0].load_state_dict(conv.state_dict())
    x = torch.rand(2, 5, 17, 17, dtype=torch.float64)
    torch.testing.assert_close(front(x), after(x), atol=1e-12, rtol=0)


class Untraceable(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Conv2d(4, 2, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if y.sum() > 0:
            y = y * 1.0
        return self.head(y)


def test_untraceable_model_uses_the_module_tree(caplog: pytest.LogCaptureFixture) -> None:
    out = antialias(Untraceable(), 3)
    assert [type(m).__name__ for m in out.body] == ["Conv2d", "ReLU", "BlurPool2d"]
    assert isinstance(out.head, nn.Sequential)
    assert [type(m).__name__ for m in out.head] == ["Conv2d", "BlurPool2d"]
    assert out(torch.rand(1, 3, 16, 16)).shape == (1, 2, 4, 4)


def test_ganscope_detector_network_converts() -> None:
    from ganscope.detectors import resnet_small

    torch.manual_seed(8)
    net = resnet_small()
    out = antialias(net, 3)
    blocks = [out.layer1[0], out.layer2[0], out.layer3[0]]
    for b in blocks:
        assert isinstance(b.conv2, nn.Sequential) and isinstance(b.conv2[0], BlurPool2d)
        assert b.conv1.stride == (1, 1)
        assert isinstance(b.downsample[0], BlurPool2d)
    x = torch.rand(3, 3, 32, 32)
    assert out.eval()(x).shape == net.eval()(x).shape == (3,)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_bad_arguments() -> None:
    net = tv.resnet18()
    with pytest.raises(GanscopeError, match="skip"):
        antialias(net, skip={"nope"})
    with pytest.raises(GanscopeError, match="filter_size"):
        antialias(net, 8)
    with pytest.raises(GanscopeError, match="TorchScript"):
        antialias(torch.jit.script(nn.Sequential(nn.MaxPool2d(2))))


@pytest.mark.parametrize(
    "make",
    [
        lambda: tv.resnet18(num_classes=5),
        lambda: tv.resnet50(num_classes=5),
        lambda: tv.VGG(tv.vgg_features("A", True), num_classes=5, hidden=8),
        tv.AlexNet,
    ],
    ids=["resnet18", "resnet50", "vgg11_bn", "alexnet"],
)
def test_filter_size_one_is_the_original_network(make) -> None:
    """With a 1-tap "blur", BlurPool is plain subsampling, and subsampling commutes with every
    per-pixel layer between the dense op and the blur (BN, ReLU): the converted network must
    compute exactly what the original does, whatever the placement decided (Zhang 2019, Fig. 3:
    a strided op = the dense op followed by subsampling)."""
    torch.manual_seed(9)
    net = make().eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    out = antialias(net, 1).eval()
    assert downsampling_layers(out) == []
    x = torch.rand(2, 3, 67, 67)
    with torch.no_grad():
        torch.testing.assert_close(out(x), net(x), atol=1e-5, rtol=1e-5)
