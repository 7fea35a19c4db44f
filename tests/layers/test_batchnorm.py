"""precise_batchnorm: running statistics become the exact average over the batches given."""

import torch
from torch import nn

from ganscope.layers import precise_batchnorm


def test_running_stats_are_the_average_over_the_batches():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, momentum=0.1))
    batches = [torch.randn(5, 3, 8, 8) * (i + 1) for i in range(3)] + [torch.randn(1, 3, 8, 8)]
    assert precise_batchnorm(net, iter(batches))
    bn = net[1]
    with torch.no_grad():
        feats = [net[0](b) for b in batches[:3]]  # the one-image batch is skipped
    means = torch.stack([f.mean(dim=(0, 2, 3)) for f in feats])
    variances = torch.stack([f.var(dim=(0, 2, 3), unbiased=True) for f in feats])
    torch.testing.assert_close(bn.running_mean, means.mean(0))
    torch.testing.assert_close(bn.running_var, variances.mean(0))
    assert bn.momentum == 0.1 and not net.training


def test_a_net_without_batchnorm_is_only_put_in_eval_mode():
    net = nn.Sequential(nn.Conv2d(3, 4, 3)).train()
    assert not precise_batchnorm(net, [torch.randn(2, 3, 8, 8)])
    assert not net.training
