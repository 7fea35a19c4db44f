r"""Azimuthal (radial) average and axis projections of a centred 2D spectrum.

The azimuthal average is the 1D "frequency profile" of Durall et al. (2020, eq. 2):
:math:`AI(\omega_k) = \int_0^{2\pi} |\mathcal{F}(I)(\omega_k \cos\phi, \omega_k \sin\phi)| d\phi`,
discretized as the mean of the spectrum over the pixels whose radius falls in bin :math:`k`.

Binning rules (``center``):

``"dc"`` (default)
    Radius measured from the DC coefficient at ``(H // 2, W // 2)`` in normalized frequency,
    :math:`\rho = \sqrt{(k_y / H)^2 + (k_x / W)^2}` cycles/pixel, scaled by ``m = min(H, W)`` and
    rounded: bin :math:`k` holds :math:`\rho \in [(k - 1/2)/m, (k + 1/2)/m)` and sits at frequency
    :math:`k / m`. Bin 0 is DC alone; a cosine of frequency :math:`k/m` lands in bin :math:`k`; the
    last bin is at about :math:`0.5\sqrt{2}` (the corners). Works for odd, even and non-square
    sizes.
``"durall"``
    The reference code of Durall et al.: ``r = hypot(x - (W-1)/2, y - (H-1)/2)`` in pixels,
    truncated to an integer (``r.astype(int)``).

Every bin of either rule holds at least one pixel for any ``H, W >= 1`` (consecutive lattice radii
along the centre row and the border column are less than one apart).

The radius index is built once per ``(H, W, rule, device)`` and cached; the average is one
``index_add`` over the flattened pixels, batched over all leading dimensions and differentiable.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "NORMALIZATIONS",
    "AzimuthalProfile",
    "azimuthal_profile",
    "normalize_profile",
    "profile_frequencies",
    "projections",
    "radial_bins",
    "resample_profile",
    "spline_matrix",
]

Center = Literal["dc", "durall"]
#: Accepted values of ``normalize``.
NORMALIZATIONS = (None, "first", "max", "minmax", "sum")


def radial_bins(H: int, W: int, center: Center = "dc") -> np.ndarray:
    """Integer radius bin of every pixel of a centred ``H x W`` spectrum (see the module doc).

    Returns:
        ``int64`` array of shape ``(H, W)``.
    """
    if H < 1 or W < 1:
        raise ValueError(f"spectrum size must be positive, got {H}x{W}")
    if center == "dc":
        m = min(H, W)
        ky = (np.arange(H) - H // 2)[:, None] * (m / H)
        kx = (np.arange(W) - W // 2)[None, :] * (m / W)
        return np.floor(np.hypot(ky, kx) + 0.5).astype(np.int64)
    if center == "durall":
        # written as in Durall et al.'s radialProfile.azimuthalAverage so the floats are identical
        y, x = np.indices((H, W))
        c = np.array([(x.max() - x.min()) / 2.0, (y.max() - y.min()) / 2.0])
        return np.hypot(x - c[0], y - c[1]).astype(np.int64)
    raise ValueError(f"center must be 'dc' or 'durall', got {center!r}")


@functools.lru_cache(maxsize=64)
def _radial_index(H: int, W: int, center: Center, device: torch.device) -> tuple[Tensor, Tensor]:
    b = radial_bins(H, W, center).reshape(-1)
    counts = np.bincount(b)
    return (
        torch.as_tensor(b, dtype=torch.long, device=device),
        torch.as_tensor(counts, dtype=torch.float64, device=device),
    )


@functools.lru_cache(maxsize=64)
def _radial_index_half(
    H: int, W: int, center: Center, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Bins for the pixels of an ``rfft2`` half spectrum: own bin, and the bin of the mirrored
    coefficient ``(-u, -v)`` (or a trash bin ``R`` when the mirror lies in the half itself)."""
    b = np.fft.ifftshift(radial_bins(H, W, center))  # bins in unshifted (fft) order
    R = int(b.max()) + 1
    Wh = W // 2 + 1
    own = b[:, :Wh]
    u = (-np.arange(H)) % H
    v = (-np.arange(Wh)) % W
    mirror = b[u][:, v]
    # columns 0 and (for even W) W/2 contain their own mirrors: count those pixels once
    self_mirrored = (np.arange(Wh) == 0) | (2 * np.arange(Wh) == W)
    mirror = np.where(self_mirrored[None, :], R, mirror)
    counts = np.bincount(b.reshape(-1), minlength=R)
    return (
        torch.as_tensor(own.reshape(-1), dtype=torch.long, device=device),
        torch.as_tensor(mirror.reshape(-1), dtype=torch.long, device=device),
        torch.as_tensor(counts, dtype=torch.float64, device=device),
    )


def azimuthal_mean_half(half: Tensor, W: int, center: Center = "dc") -> Tensor:
    """Azimuthal mean of the full spectrum given only its ``rfft2`` half.

    ``half`` is a real function of the half-spectrum coefficients (e.g. their log magnitude); each
    value stands for itself and for its conjugate mirror. Equal to
    ``azimuthal_profile(expand_half_spectrum(half, W), center=center)`` to rounding, at half the
    memory traffic.

    Shape:
        - Input: :math:`(*, H, W // 2 + 1)`.
        - Output: :math:`(*, R)`.
    """
    H = half.shape[-2]
    own, mirror, counts = _radial_index_half(H, W, center, half.device)
    R = counts.numel()
    flat = half.reshape(*half.shape[:-2], -1)
    sums = flat.new_zeros(*flat.shape[:-1], R + 1)
    sums = sums.index_add(-1, own, flat).index_add(-1, mirror, flat)
    return sums[..., :R] / counts.to(flat.dtype)


def normalize_profile(profile: Tensor, normalize: str | None) -> Tensor:
    """Normalize 1D profiles along the last dimension.

    Args:
        profile: profiles, shape ``(*, R)``.
        normalize: ``None`` (unchanged), ``"first"`` (divide by the first value, as Durall et al.
            do), ``"max"`` (divide by the maximum), ``"minmax"`` (map to [0, 1] per profile, as in
            the spectral loss of Durall et al., CVPR 2020) or ``"sum"`` (divide by the sum).
    """
    if normalize is None:
        return profile
    if normalize == "first":
        return profile / profile[..., :1]
    if normalize == "max":
        return profile / profile.amax(-1, keepdim=True)
    if normalize == "minmax":
        lo = profile.amin(-1, keepdim=True)
        hi = profile.amax(-1, keepdim=True)
        return (profile - lo) / (hi - lo).clamp_min(torch.finfo(profile.dtype).tiny)
    if normalize == "sum":
        return profile / profile.sum(-1, keepdim=True)
    raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")


@functools.lru_cache(maxsize=128)
def spline_matrix(n: int, bins: int) -> np.ndarray:
    """Linear map from ``n`` profile values to ``bins`` values of their interpolating spline.

    The nodes are ``np.linspace(0, bins, n)`` and the outputs ``np.linspace(0, bins, bins)``,
    exactly as Durall et al. call ``griddata(..., method="cubic")``, which is
    ``interp1d(kind="cubic")``: a not-a-knot cubic spline (``make_interp_spline(k=3)``). Because
    the spline is linear in the values, interpolating the identity gives its matrix. With fewer
    than 4 values the degree drops to ``n - 1`` (scipy's cubic would refuse).

    Returns:
        ``float64`` array of shape ``(n, bins)``; ``profile @ M`` resamples.
    """
    if n < 1 or bins < 1:
        raise ValueError(f"need at least one value and one bin, got n={n}, bins={bins}")
    nodes, at = np.linspace(0, bins, n), np.linspace(0, bins, bins)
    if n <= 3:  # the interpolating polynomial of degree n - 1 (Lagrange)
        matrix = np.ones((n, bins))
        for i in range(n):
            for j in range(n):
                if j != i:
                    matrix[i] *= (at - nodes[j]) / (nodes[i] - nodes[j])
    else:
        matrix = _not_a_knot_matrix(nodes, at)
    matrix = np.ascontiguousarray(matrix)
    matrix.flags.writeable = False  # cached: shared by every caller
    return matrix


def _not_a_knot_matrix(nodes: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``(n, m)`` matrix of the not-a-knot cubic spline through ``nodes`` (n >= 4), evaluated at
    ``at``: the second derivatives ``M`` solve the usual continuity equations, with the third
    derivative also continuous at the second and the second-to-last node (de Boor, *A Practical
    Guide to Splines*, ch. IV). NumPy only: importing scipy.interpolate would cost 0.4 s of every
    start of ``ganscope spectrum``."""
    n, h = len(nodes), np.diff(nodes)
    A, B = np.zeros((n, n)), np.zeros((n, n))
    for i in range(1, n - 1):  # C2 continuity at the interior nodes
        A[i, i - 1 : i + 2] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        B[i, i - 1 : i + 2] = 6 / h[i - 1], -6 / h[i - 1] - 6 / h[i], 6 / h[i]
    A[0, :3] = h[1], -(h[0] + h[1]), h[0]  # third derivative continuous at nodes[1]
    A[-1, -3:] = h[-1], -(h[-2] + h[-1]), h[-2]  # and at nodes[-2]
    M = np.linalg.solve(A, B)  # second derivatives at the nodes, one column per unit value
    j = np.clip(np.searchsorted(nodes, at, side="right") - 1, 0, n - 2)
    hj, left, right = h[j], nodes[j + 1] - at, at - nodes[j]
    out = (M[j].T * left**3 + M[j + 1].T * right**3) / (6 * hj)
    out -= (M[j].T * left + M[j + 1].T * right) * hj / 6
    cols = np.arange(len(at))
    out[j, cols] += left / hj
    out[j + 1, cols] += right / hj
    return out


@functools.lru_cache(maxsize=128)
def _spline_matrix_on(n: int, bins: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    return torch.tensor(spline_matrix(n, bins), dtype=dtype, device=device)  # a copy


def resample_profile(profile: Tensor, bins: int) -> Tensor:
    r"""Resample profiles to ``bins`` evenly spaced points by cubic spline interpolation.

    The first and last values stay the end points; the spline is scipy's
    ``interp1d(kind="cubic")`` (not-a-knot), applied as one cached matrix product so the op stays
    batched and differentiable.

    Shape:
        - Input: :math:`(*, n)`.
        - Output: :math:`(*, \text{bins})`.
    """
    return profile @ _spline_matrix_on(profile.shape[-1], int(bins), profile.dtype, profile.device)


def azimuthal_profile(
    spec: Tensor,
    *,
    bins: int | None = None,
    normalize: str | None = None,
    center: Center = "dc",
) -> Tensor:
    r"""Azimuthal average of a centred spectrum (Durall et al. 2020, eq. 2).

    Args:
        spec: centred spectra, e.g. from :func:`~ganscope.spectrum.power_spectrum`, DC at
            ``(H // 2, W // 2)``; any ``H x W``.
        bins: ``None`` keeps the native radius bins (``R`` of them, see
            :func:`profile_frequencies`); an integer resamples them to that many points with
            :func:`resample_profile`.
        normalize: see :func:`normalize_profile`; applied after resampling.
        center: binning rule, ``"dc"`` or ``"durall"`` (module doc).

    Returns:
        The mean of ``spec`` per radius bin; gradients flow to ``spec``.

    Shape:
        - Input: :math:`(*, H, W)`, typically :math:`(B, C', H, W)`.
        - Output: :math:`(*, R)` or :math:`(*, \text{bins})`.

    Example:
        >>> azimuthal_profile(torch.ones(2, 1, 8, 8)).shape
        torch.Size([2, 1, 7])
    """
    if not isinstance(spec, Tensor) or spec.ndim < 2:
        raise ValueError("spec must be a tensor with shape (*, H, W)")
    H, W = spec.shape[-2:]
    idx, counts = _radial_index(H, W, center, spec.device)
    flat = spec.reshape(*spec.shape[:-2], H * W)
    sums = flat.new_zeros(*flat.shape[:-1], counts.numel()).index_add(-1, idx, flat)
    profile = sums / counts.to(flat.dtype)
    if bins is not None:
        profile = resample_profile(profile, bins)
    return normalize_profile(profile, normalize)


def profile_frequencies(
    H: int, W: int, *, bins: int | None = None, center: Center = "dc"
) -> np.ndarray:
    """Frequency in cycles/pixel of each value of :func:`azimuthal_profile`.

    For ``"dc"`` bin ``k`` is at ``k / min(H, W)``. For ``"durall"`` the radius is in pixels of an
    ``H x W`` grid; it is shown as ``r / sqrt(H * W)`` (exact for square images). With ``bins`` the
    native range is spanned evenly.
    """
    R = int(radial_bins(H, W, center).max()) + 1
    scale = min(H, W) if center == "dc" else float(np.sqrt(H * W))
    f = np.arange(R) / scale
    if bins is not None:
        f = np.linspace(f[0], f[-1], bins)
    return f


def projections(spec: Tensor) -> tuple[Tensor, Tensor]:
    r"""Horizontal and vertical projections of a centred spectrum.

    The horizontal projection is the mean over rows, a function of horizontal frequency
    :math:`k_x`; the vertical one the mean over columns, a function of :math:`k_y`. They answer
    the lab question of Durall's lecture (seed 002): do axis-aligned profiles separate generators
    better than the radial one? Up-sampling replicas lie on the axes and diagonals.

    Returns:
        ``(horizontal, vertical)``; index ``W // 2`` (``H // 2``) is DC.

    Shape:
        - Input: :math:`(*, H, W)`.
        - Output: :math:`(*, W)` and :math:`(*, H)`.
    """
    if not isinstance(spec, Tensor) or spec.ndim < 2:
        raise ValueError("spec must be a tensor with shape (*, H, W)")
    return spec.mean(-2), spec.mean(-1)


class AzimuthalProfile(nn.Module):
    """Module form of :func:`azimuthal_profile`."""

    def __init__(
        self, *, bins: int | None = None, normalize: str | None = None, center: Center = "dc"
    ) -> None:
        super().__init__()
        self.bins, self.normalize, self.center = bins, normalize, center

    def forward(self, spec: Tensor) -> Tensor:
        return azimuthal_profile(spec, bins=self.bins, normalize=self.normalize, center=self.center)

    def extra_repr(self) -> str:
        return f"bins={self.bins}, normalize={self.normalize!r}, center={self.center!r}"
