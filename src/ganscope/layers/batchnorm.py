"""BatchNorm statistics recomputed as a true average over fixed inputs.

After training, BatchNorm's running averages lag behind the weights (they are exponential
averages over past steps). "Precise BN" (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021,
sec. 3) recomputes them over a pass of training images; for generators the same is Brock et
al.'s "standing statistics" (BigGAN, 2019, sec. 3.1) over fixed latents."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["precise_batchnorm"]


@torch.no_grad()
def precise_batchnorm(net: nn.Module, batches: Iterable[torch.Tensor]) -> bool:
    """Set every BatchNorm's running mean and variance of ``net`` to the cumulative average over
    ``batches`` (each fed to ``net`` in train mode; batches of one image are skipped), restore
    the momenta, and leave ``net`` in eval mode.

    Returns:
        False (and nothing else done than ``eval()``) if ``net`` has no BatchNorm.
    """
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        net.eval()
        return False
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    net.train()
    try:
        for x in batches:
            if x.shape[0] >= 2:
                net(x)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        net.eval()
    return True
