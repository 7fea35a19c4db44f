"""Streaming per-unit statistics: quantiles from a random pixel reservoir, top-k samples.

Dissection needs each unit's 0.99 quantile over *all* upsampled pixels of the sample set (Bau et
al., PNAS 2020) without holding all activations in memory. :class:`ReservoirQuantiles` keeps a
uniform random sample, without replacement, of a fixed number of pixel positions: every position
seen gets a uniform random key and the reservoir keeps the positions with the largest keys
(priority sampling with equal weights). One key per position serves all units, so an update is a
1-D ``topk`` plus a gather, whatever the number of units.

While fewer positions than the reservoir size have been seen, it holds them all and the quantiles
are exact (equal to ``numpy.quantile``). Beyond that, the quantile's rank error is binomial: at
``q = 0.99`` and 65536 kept positions its standard deviation is ``sqrt(q (1 - q) / n) ≈ 0.0004``.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ReservoirQuantiles", "TopKSamples", "linear_quantile"]


def linear_quantile(values: Tensor, q: float | Tensor, dim: int = 0) -> Tensor:
    """``numpy.quantile(values, q, axis=dim)`` with numpy's default linear interpolation.

    Unlike ``torch.quantile`` it has no input-size limit.
    """
    v = values.sort(dim=dim).values
    n = v.shape[dim]
    q_t = torch.as_tensor(q, dtype=torch.float64)
    pos = q_t * (n - 1)
    lo = int(torch.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = float(pos - lo)
    a, b = v.select(dim, lo), v.select(dim, hi)
    return a + (b - a) * frac


class ReservoirQuantiles:
    """Per-unit quantiles of a stream of feature maps from a fixed-size random reservoir.

    Args:
        n_units: number of channels ``U``.
        size: number of pixel positions kept (memory: ``size * U`` floats).
        seed: seed of the reservoir's random keys.

    Example:
        >>> rq = ReservoirQuantiles(2, size=1000)
        >>> rq.update(torch.arange(8.0).view(1, 2, 2, 2))
        >>> rq.quantile(0.5)
        tensor([1.5000, 5.5000])
    """

    def __init__(self, n_units: int, *, size: int = 65536, seed: int = 0) -> None:
        self.n_units = n_units
        self.size = size
        self._gen = torch.Generator().manual_seed(seed)
        self._keys: Tensor | None = None  # (R,)
        self._values: Tensor | None = None  # (R, U)
        self.n_seen = 0

    def update(self, feats: Tensor) -> None:
        """Add the pixels of a batch of feature maps ``(B, U, H, W)``."""
        if feats.dim() != 4 or feats.shape[1] != self.n_units:
            raise ValueError(f"expected (B, {self.n_units}, H, W), got {tuple(feats.shape)}")
        flat = feats.detach().permute(0, 2, 3, 1).reshape(-1, self.n_units)  # (B*H*W, U)
        keys = torch.rand(flat.shape[0], generator=self._gen).to(flat.device)
        self.n_seen += flat.shape[0]
        if self._keys is None or self._values is None:
            if keys.shape[0] > self.size:
                keys, idx = keys.topk(self.size)
                flat = flat[idx]
            self._keys, self._values = keys, flat.clone()
            return
        n_old = self._keys.shape[0]
        if n_old + keys.shape[0] <= self.size:
            self._keys = torch.cat([self._keys, keys])
            self._values = torch.cat([self._values, flat])
            return
        # Keep the `size` largest keys of old and new. Kept old rows stay where they are; the
        # slots of evicted old rows (and, while not full, new slots) take the selected new rows,
        # so only the incoming rows are copied.
        _, idx = torch.cat([self._keys, keys]).topk(self.size)
        kept_old = torch.zeros(n_old, dtype=torch.bool, device=keys.device)
        kept_old[idx[idx < n_old]] = True
        new_rows = idx[idx >= n_old] - n_old
        if n_old < self.size:
            grow = self.size - n_old
            self._keys = torch.cat([self._keys, keys.new_empty(grow)])
            self._values = torch.cat([self._values, flat.new_empty(grow, self.n_units)])
            kept_old = torch.cat([kept_old, kept_old.new_zeros(grow)])
        slots = (~kept_old).nonzero().squeeze(1)  # as many as new_rows
        self._keys[slots] = keys[new_rows]
        self._values[slots] = flat[new_rows]

    def quantile(self, q: float) -> Tensor:
        """Per-unit ``q`` quantile ``(U,)`` of the pixels seen (linear interpolation)."""
        if self._values is None:
            raise ValueError("no data seen yet")
        return linear_quantile(self._values, q, dim=0)


class TopKSamples:
    """The ``k`` highest-scoring samples per unit over a stream, with their sample ids.

    Example:
        >>> tk = TopKSamples(1, k=2)
        >>> tk.update(torch.tensor([[0.1], [0.9], [0.5]]), torch.tensor([10, 11, 12]))
        >>> tk.ids.tolist(), tk.scores.tolist()
        ([[11, 12]], [[0.9, 0.5]])
    """

    def __init__(self, n_units: int, *, k: int = 8) -> None:
        self.n_units = n_units
        self.k = k
        self.scores = torch.empty(n_units, 0)
        self.ids = torch.empty(n_units, 0, dtype=torch.int64)

    def update(self, scores: Tensor, ids: Tensor) -> None:
        """Add per-sample scores ``(B, U)`` of samples ``ids`` ``(B,)``."""
        s = torch.cat([self.scores, scores.detach().float().cpu().T], dim=1)  # (U, k + B)
        i = torch.cat([self.ids, ids.cpu()[None].expand(self.n_units, -1)], dim=1)
        top, idx = s.topk(min(self.k, s.shape[1]), dim=1)
        self.scores, self.ids = top, i.gather(1, idx)
