"""The testbed classifier: a small VGG with max-pools (Zhang, ICML 2019, sec. 4: "VGG on CIFAR").

Zhang's shift-equivariance testbed is a VGG network with five max-pools on 32x32 CIFAR images;
:class:`SmallVGG` is that network scaled down to train in seconds on a CPU: ``n`` stages of
``conv3x3 + BN + ReLU`` followed by a 2x2 max-pool, then global average pooling and a linear
classifier. Its stages are attributes named ``conv1, pool1, conv2, pool2, ...``, so
:func:`ganscope.antialias.antialias` turns every ``poolK`` into ``Sequential(Max, BlurPool)`` under
the same name, and the testbed compares baseline and anti-aliased networks layer by layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganscope.errors import GanscopeError

__all__ = ["SmallVGG"]


class SmallVGG(nn.Module):
    """VGG-style classifier: ``[conv3x3-BN-ReLU, MaxPool 2x2]`` per stage, GAP, linear.

    Args:
        num_classes: outputs (logits).
        widths: channels of each stage (one max-pool per stage).
        in_channels: input channels.

    Shape:
        - Input: ``(B, in_channels, H, W)`` with ``H, W`` divisible by ``2 ** len(widths)``.
        - Output: ``(B, num_classes)`` logits.

    Example:
        >>> SmallVGG(9)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 9])
    """

    def __init__(
        self, num_classes: int, widths: Sequence[int] = (16, 32, 64, 64), in_channels: int = 3
    ) -> None:
        super().__init__()
        if num_classes < 1 or not widths:
            raise GanscopeError("SmallVGG needs num_classes >= 1 and at least one stage")
        self.n_stages = len(widths)
        cin = in_channels
        for i, w in enumerate(widths, start=1):
            stage = nn.Sequential(
                nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()
            )
            setattr(self, f"conv{i}", stage)
            setattr(self, f"pool{i}", nn.MaxPool2d(2))
            cin = w
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def stage_names(self) -> list[str]:
        """``conv1, pool1, ..., gap, fc``: the rows of Zhang's per-layer figure."""
        names = [n for i in range(1, self.n_stages + 1) for n in (f"conv{i}", f"pool{i}")]
        return [*names, "gap", "fc"]

    def forward(self, x: Tensor) -> Tensor:
        for i in range(1, self.n_stages + 1):
            x = getattr(self, f"pool{i}")(getattr(self, f"conv{i}")(x))  # (B, C_i, H/2^i, W/2^i)
        return self.fc(torch.flatten(self.gap(x), 1))  # (B, num_classes)
