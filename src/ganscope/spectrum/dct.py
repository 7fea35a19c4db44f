"""Orthonormal 2D DCT-II spectra (Frank et al., "Leveraging Frequency Analysis for Deep Fake Image
Recognition", ICML 2020).

Frank et al. show that GAN up-sampling leaves a grid of peaks in the log-scaled DCT spectrum; their
features are ``log(|DCT2(x)| + eps)`` of each channel, with ``scipy.fft.dctn(x, norm="ortho")``.
Here the transform is two matrix products with a cached DCT basis, ``D_H @ x @ D_W^T``, which is
batched, runs on any device and is differentiable.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor, nn

from ganscope.spectrum.color import check_image

__all__ = ["DCTSpectrum", "dct2", "dct_basis", "dct_spectrum"]


@functools.lru_cache(maxsize=32)
def _dct_basis_cached(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    basis = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    basis[0] /= math.sqrt(2.0)
    return basis.to(dtype=dtype, device=device)


def dct_basis(
    n: int, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> Tensor:
    r"""Orthonormal DCT-II matrix :math:`D_{ki} = c_k \sqrt{2/n} \cos(\pi (2i + 1) k / 2n)`,
    :math:`c_0 = 1/\sqrt{2}`, :math:`c_{k>0} = 1`; :math:`D D^T = I`.

    Shape:
        - Output: :math:`(n, n)`, row ``k`` is frequency ``k``.
    """
    if n < 1:
        raise ValueError(f"DCT size must be positive, got {n}")
    return _dct_basis_cached(n, dtype, torch.device(device or "cpu"))


def dct2(x: Tensor) -> Tensor:
    """Orthonormal 2D DCT-II over the last two dimensions (``scipy.fft.dctn(norm="ortho")``).

    Shape:
        - Input: :math:`(*, H, W)`.
        - Output: :math:`(*, H, W)`.
    """
    H, W = x.shape[-2:]
    dh = _dct_basis_cached(H, x.dtype, x.device)
    dw = _dct_basis_cached(W, x.dtype, x.device)
    return dh @ x @ dw.T


def dct_spectrum(x: Tensor, *, log: bool = True, eps: float = 1e-12) -> Tensor:
    r"""Per-channel 2D DCT-II spectrum, log-scaled as in Frank et al. (2020).

    Args:
        x: images.
        log: return :math:`\ln(|\mathrm{DCT}(x)| + \epsilon)` (natural log, their ``np.log``);
            otherwise the signed coefficients.
        eps: added to the magnitude before the log (Frank et al. use ``1e-12``).

    Returns:
        Index ``(0, 0)`` is DC (no shift: DCT frequencies grow towards the bottom right).

    Shape:
        - Input: :math:`(B, C, H, W)`.
        - Output: :math:`(B, C, H, W)`.

    Example:
        >>> dct_spectrum(torch.rand(2, 3, 8, 8)).shape
        torch.Size([2, 3, 8, 8])
    """
    check_image(x)
    coeffs = dct2(x)
    return torch.log(coeffs.abs() + eps) if log else coeffs


class DCTSpectrum(nn.Module):
    """Module form of :func:`dct_spectrum`."""

    def __init__(self, *, log: bool = True, eps: float = 1e-12) -> None:
        super().__init__()
        self.log, self.eps = log, eps

    def forward(self, x: Tensor) -> Tensor:
        return dct_spectrum(x, log=self.log, eps=self.eps)

    def extra_repr(self) -> str:
        return f"log={self.log}, eps={self.eps}"
