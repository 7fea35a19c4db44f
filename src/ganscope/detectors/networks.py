"""ResNets for real-vs-fake detection, with torchvision's parameter names.

:func:`resnet50` is He et al. (CVPR 2016)'s ResNet-50 (v1.5: the stride sits on the 3x3 conv of
a bottleneck, as in torchvision) with a one-logit ``fc``, written here because torchvision is not
a dependency. Its ``state_dict`` keys and shapes are torchvision's (``conv1.weight``, ``bn1.*``,
``layer1.0.conv1.weight``, ..., ``layer4.2.bn3.running_var``, ``fc.weight (1, 2048)``), which is
what Wang et al. (CVPR 2020)'s CNNDetection checkpoints hold, so their published weights load
unchanged (:func:`ganscope.checkpoint.load_foreign_weights`).

:func:`resnet_small` is a CIFAR-style ResNet (He et al. 2016, sec. 4.2: 3x3 stem without
pooling, three stages of basic blocks) of 16/32/64 channels, each stage halving the resolution,
that trains in seconds on 32x32 images on a laptop CPU.

``antialias=True`` applies Zhang (ICML 2019)'s anti-aliasing, laid out as in the reference
``antialiased-cnns`` code: the stem's max-pool becomes ``MaxPool(stride 1) + BlurPool2d``, a
strided conv becomes ``BlurPool2d + conv(stride 1)`` and the strided 1x1 shortcut becomes
``BlurPool2d + conv1x1``. Parameter names then differ from torchvision's (``conv2.1.weight``), so
foreign CNNDetection weights load only into ``antialias=False`` networks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ganscope.errors import GanscopeError


def _blurpool(channels: int, stride: int) -> nn.Module:
    from ganscope.layers import BlurPool2d

    return BlurPool2d(channels, filt_size=3, stride=stride, pad_type="reflect")


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def _conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


def _strided_conv3x3(cin: int, cout: int, stride: int, antialias: bool) -> nn.Module:
    if stride == 1 or not antialias:
        return _conv3x3(cin, cout, stride)
    return nn.Sequential(_blurpool(cin, stride), _conv3x3(cin, cout))


def _shortcut(cin: int, cout: int, stride: int, antialias: bool) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    if stride != 1 and antialias:
        return nn.Sequential(_blurpool(cin, stride), _conv1x1(cin, cout), nn.BatchNorm2d(cout))
    return nn.Sequential(_conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (He et al. 2016, Fig. 2)."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, antialias: bool = False) -> None:
        super().__init__()
        self.conv1 = _strided_conv3x3(cin, planes, stride, antialias)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _shortcut(cin, planes, stride, antialias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand by 4 (He et al. 2016, Fig. 5; torchvision v1.5)."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, antialias: bool = False) -> None:
        super().__init__()
        out = planes * self.expansion
        self.conv1 = _conv1x1(cin, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _strided_conv3x3(planes, planes, stride, antialias)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, out)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(cin, out, stride, antialias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet that outputs one logit per image (log-odds of *fake*).

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: blocks per stage.
        widths: ``planes`` per stage.
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max-pool) or ``"cifar"`` (3x3/1 conv).
        strides: stride of each stage's first block (default: 1 for the first stage, then 2).
        in_channels: input channels.
        antialias: Zhang (2019) BlurPool before every subsampling.

    Shape:
        - Input: ``(B, in_channels, H, W)``, any ``H, W`` (global average pooling).
        - Output: ``(B,)`` logits.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        widths: list[int],
        *,
        stem: str = "imagenet",
        strides: list[int] | None = None,
        in_channels: int = 3,
        antialias: bool = False,
    ) -> None:
        super().__init__()
        self.inplanes = widths[0] if stem == "cifar" else 64
        if stem == "imagenet":
            if antialias:
                self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
                self.maxpool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _blurpool(64, 2))
            else:
                self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
                self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        elif stem == "cifar":
            self.conv1 = _conv3x3(in_channels, self.inplanes)
            self.maxpool = nn.Identity()
        else:
            raise GanscopeError(f"unknown stem {stem!r}")
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        strides = strides or [1] + [2] * (len(layers) - 1)
        for i, (n, w, stride) in enumerate(zip(layers, widths, strides, strict=True)):
            blocks = []
            for j in range(n):
                blocks.append(block(self.inplanes, w, stride if j == 0 else 1, antialias))
                self.inplanes = w * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.n_stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.inplanes, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, C0, H/4, W/4) for "imagenet"
        for i in range(self.n_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        x = torch.flatten(self.avgpool(x), 1)  # (B, C)
        return self.fc(x).squeeze(1)  # (B,)


def resnet50(*, in_channels: int = 3, antialias: bool = False) -> ResNet:
    """ResNet-50 with torchvision's parameter names and a 1-logit ``fc`` (Wang et al. 2020)."""
    return ResNet(
        Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], in_channels=in_channels, antialias=antialias
    )


def resnet_small(*, in_channels: int = 3, antialias: bool = False) -> ResNet:
    """A small CIFAR-style ResNet, ~78k parameters: a full-resolution 3x3 stem (16 channels, so
    the first layer sees every pixel-level trace), then three stages of one basic block
    (16/32/64 channels), each halving the resolution."""
    return ResNet(
        BasicBlock,
        [1, 1, 1],
        [16, 32, 64],
        stem="cifar",
        strides=[2, 2, 2],
        in_channels=in_channels,
        antialias=antialias,
    )


class NPRNet(nn.Module):
    """Tan et al.'s published NPR detector (CVPR 2024, ``networks/resnet.py`` of their code):
    a ResNet-50 truncated after ``layer2``, with a 3x3 stride-2 stem and a 512 → 1 head named
    ``fc1``, so their ``NPR.pth`` state dict loads by name.

    It expects what :class:`~ganscope.detectors.CNNDetector` feeds it with ``input="npr"``:
    ``(x - up(down(x))) * 2/3`` of the ImageNet-normalized image (their input scaling); their
    forward computes that residual itself, ours in :func:`~ganscope.detectors.cnn.cnn_input`.

    Shape:
        - Input: ``(B, in_channels, H, W)``, any ``H, W`` >= 4.
        - Output: ``(B,)`` logits.
    """

    def __init__(self, *, in_channels: int = 3, antialias: bool = False) -> None:
        super().__init__()
        self.conv1 = (
            nn.Sequential(_conv3x3(in_channels, 64), _blurpool(64, 2))
            if antialias
            else _conv3x3(in_channels, 64, stride=2)
        )
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = (
            nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _blurpool(64, 2))
            if antialias
            else nn.MaxPool2d(3, stride=2, padding=1)
        )
        self.layer1 = nn.Sequential(
            Bottleneck(64, 64, 1, antialias), *(Bottleneck(256, 64) for _ in range(2))
        )
        self.layer2 = nn.Sequential(
            Bottleneck(256, 128, 2, antialias), *(Bottleneck(512, 128) for _ in range(3))
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(512, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4, W/4)
        x = self.layer2(self.layer1(x))  # (B, 512, H/8, W/8)
        return self.fc1(torch.flatten(self.avgpool(x), 1)).squeeze(1)  # (B,)


def npr(*, in_channels: int = 3, antialias: bool = False) -> NPRNet:
    """Tan et al. 2024's NPR network (use with ``input="npr"``)."""
    return NPRNet(in_channels=in_channels, antialias=antialias)


class MeanLogit(nn.Module):
    """The mean logit of several networks trained alike from different seeds: a deep ensemble
    (Lakshminarayanan, Pritzel & Blundell, "Simple and Scalable Predictive Uncertainty
    Estimation using Deep Ensembles", NeurIPS 2017), whose averaging of independently trained
    members is their remedy for one network's overconfidence on data unlike its training set.

    Shape:
        - Input: what every member takes.
        - Output: ``(B,)``, the members' ``(B,)`` logits averaged.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise GanscopeError("an ensemble needs at least two networks")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(0)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet-small": resnet_small,
    "resnet50": resnet50,
    "npr": npr,
}
"""Networks :class:`ganscope.detectors.CNNDetector` can train, by ``arch`` name."""


def create_network(arch: str, *, in_channels: int = 3, antialias: bool = False) -> nn.Module:
    """Build the network ``arch`` (a key of :data:`ARCHITECTURES`)."""
    if arch not in ARCHITECTURES:
        raise GanscopeError(f"unknown arch {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](in_channels=in_channels, antialias=antialias)
