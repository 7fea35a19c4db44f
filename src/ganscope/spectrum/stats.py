"""Mean and standard deviation of spectra per source, accumulated in one pass.

Wang et al. (2020) and Durall et al. (2020) compare generators by their *mean* spectrum; the
difference spectrum ``mean(fake) - mean(real)`` shows where a generator adds or misses energy
(up-sampling replicas appear as bright peaks). :class:`SpectrumStats` merges batch moments with the
parallel update of Chan, Golub & LeVeque (1979) in float64, so a folder of any size streams through
in constant memory and the result does not depend on the batch size (to rounding).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["SpectrumStats", "difference_spectrum"]


class SpectrumStats:
    """Running mean and standard deviation of equally shaped tensors (spectra, profiles, features).

    Example:
        >>> stats = SpectrumStats()
        >>> stats.update(torch.tensor([[1.0, 2.0], [3.0, 6.0]]))
        >>> stats.mean
        tensor([2., 4.], dtype=torch.float64)
        >>> stats.count
        2
    """

    def __init__(self) -> None:
        self.count = 0
        self._mean: Tensor | None = None
        self._m2: Tensor | None = None

    def update(self, batch: Tensor) -> None:
        """Add a batch; ``batch[i]`` is one sample of shape ``S``.

        Shape:
            - Input: :math:`(B, *S)`.
        """
        if batch.ndim < 1:
            raise ValueError("batch must have a leading batch dimension")
        n_b = batch.shape[0]
        if n_b == 0:
            return
        b = batch.detach().to(torch.float64)
        mean_b = b.mean(0)
        m2_b = (b - mean_b).square().sum(0)
        if self._mean is None or self._m2 is None:
            self.count, self._mean, self._m2 = n_b, mean_b, m2_b
            return
        if mean_b.shape != self._mean.shape:
            raise ValueError(
                f"sample shape {tuple(mean_b.shape)} differs from {tuple(self._mean.shape)}"
            )
        n_a = self.count
        n = n_a + n_b
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / n)
        self._m2 = self._m2 + m2_b + delta.square() * (n_a * n_b / n)
        self.count = n

    def _require(self) -> tuple[Tensor, Tensor]:
        if self._mean is None or self._m2 is None:
            raise ValueError("no samples were added")
        return self._mean, self._m2

    @property
    def mean(self) -> Tensor:
        """Mean over all samples (float64)."""
        return self._require()[0]

    def var(self, *, ddof: int = 1) -> Tensor:
        """Variance with ``ddof`` delta degrees of freedom (zero when ``count <= ddof``)."""
        _, m2 = self._require()
        if self.count <= ddof:
            return torch.zeros_like(m2)
        return m2 / (self.count - ddof)

    @property
    def std(self) -> Tensor:
        """Sample standard deviation (``ddof=1``; zero for a single sample)."""
        return self.var(ddof=1).sqrt()


def difference_spectrum(fake: Tensor, real: Tensor) -> Tensor:
    """``fake - real``: where a generator's mean (log) spectrum departs from the real one's.

    Positive values mark frequencies where the fakes carry more energy (e.g. the spectral replicas
    of transposed convolutions, Durall et al. 2020), negative ones where they lack it.

    Shape:
        - Input: two tensors of the same shape.
        - Output: the same shape.
    """
    if fake.shape != real.shape:
        raise ValueError(f"shapes differ: {tuple(fake.shape)} vs {tuple(real.shape)}")
    return fake - real
