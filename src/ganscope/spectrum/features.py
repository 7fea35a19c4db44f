"""Fixed-length spectral feature vectors for detectors, and the ``durall`` preset.

:func:`extract_features` is what ``SpectralDetector(features=...)`` and ``ganscope spectrum`` call.
Each kind is a batched torch computation ``(B, C, H, W) -> (B, F)`` on the input's device:

============== ==================================================================================
kind           feature
============== ==================================================================================
azimuthal      azimuthal mean of the log spectrum over radius bins (Durall et al. 2020, eq. 2)
horizontal     mean over rows of the log spectrum, horizontal frequencies ``0 .. W//2`` / W
vertical       mean over columns of the log spectrum, vertical frequencies ``0 .. H//2`` / H
projections    horizontal ++ vertical
fft2d          the flattened centred log spectrum, ``H * W`` values
dct            the flattened log-abs orthonormal DCT-II of the luma (Frank et al. 2020)
============== ==================================================================================

The log spectrum of the ``default`` preset is :func:`~ganscope.spectrum.power_spectrum` of the luma
(``20 * ln(|F| + 1e-8)``); its azimuthal profile uses the ``"dc"`` binning (bin ``k`` at
``k / min(H, W)`` cycles/pixel). The projections keep the non-negative frequencies only: the
spectrum of a real image is point symmetric, so the other half repeats them. ``bins`` resamples a
1D feature to that many points with the not-a-knot cubic spline of
:func:`~ganscope.spectrum.resample_profile`.

The ``durall`` preset reproduces the published feature of Durall et al. (2020, "Unmasking DeepFakes
with simple features", code ``cc-hpc-itwm/DeepFakeDetection``) exactly, see :func:`durall_features`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ganscope.spectrum.azimuthal import (
    azimuthal_mean_half,
    profile_frequencies,
    resample_profile,
)
from ganscope.spectrum.color import check_image, rgb_to_gray
from ganscope.spectrum.dct import dct_spectrum
from ganscope.spectrum.fourier import _compute_dtype, log_magnitude, power_spectrum

__all__ = [
    "FEATURE_KINDS",
    "PRESETS",
    "DurallFeatures",
    "FeatureLayout",
    "SpectralFeatures",
    "durall_features",
    "extract_features",
    "feature_layout",
]

#: Names accepted by :func:`extract_features`.
FEATURE_KINDS: tuple[str, ...] = (
    "azimuthal",
    "horizontal",
    "vertical",
    "projections",
    "fft2d",
    "dct",
)
#: Presets accepted by :func:`extract_features`.
PRESETS: tuple[str, ...] = ("default", "durall")

_ONE_D = ("azimuthal", "horizontal", "vertical", "projections")
_DURALL_EPS = 1e-8
_DURALL_SCALE = 20.0
_DEFAULT_EPS = 1e-8
_DEFAULT_SCALE = 20.0


def _durall_log_half(x: Tensor, white: float = 1.0) -> tuple[Tensor, float, float]:
    """Durall et al.'s ``20 * ln|fftshift(fft2(gray)) + 1e-8|`` on the ``rfft2`` half, as
    ``(L, a, b)`` with the spectrum ``a * L + b``, shapes ``(B, 1, H, W//2+1)``.

    Their code reads 8-bit grayscale files (``cv2.imread(path, 0)``), so the luma of our [0, 1]
    images is scaled back to [0, 255] before the transform. For 8-bit luma ``k / 255`` (what
    ``ganscope spectrum`` passes) the product is ``k`` again, exactly, so the spectrum is the one of
    their integers: where it is exactly zero (a flat row, a checkerboard), the ``+ 1e-8`` meets the
    same zero as in their code, and ``20 ln(1e-8)`` is reproduced rather than the log of rounding
    noise. The affine map ``a * L + b`` is left to the caller to apply after averaging (one
    full-size pass saved); the luma is computed in the input's dtype and then converted.
    ``white`` is the value of white in ``x`` (255 for 8-bit luma: no scaling pass at all).
    """
    gray = rgb_to_gray(x).to(torch.float64)
    if white != 255.0:
        gray = gray * (255.0 / white)
    half = torch.fft.rfft2(gray)
    # fshift += 1e-8 adds to the complex coefficient, not to its magnitude
    logpow = log_magnitude(half, eps=_DURALL_EPS, scale=2.0, eps_on_complex=True)  # ln|F + e|^2
    return logpow, 0.5 * _DURALL_SCALE, 0.0


def durall_features(x: Tensor, *, bins: int | None = None, white: float = 1.0) -> Tensor:
    r"""The spectral feature of Durall et al. (2020), exactly as their published code computes it.

    Steps (DESIGN.md, ``--preset durall``): ITU-R 601 luma on the [0, 255] scale;
    ``fftshift(fft2(img)) + 1e-8``; ``20 * ln|F|``; mean over integer radius bins
    ``int(hypot(x - (W-1)/2, y - (H-1)/2))``; bins ``1 .. R-1`` kept, i.e. the DC bin 0 and the
    outermost bin dropped, as their ``azimuthalAverage`` does; cubic interpolation (``griddata``,
    i.e. a not-a-knot spline) from ``linspace(0, bins, n)`` to ``linspace(0, bins, bins)``; divided
    by its first value. Computed batched with ``rfft2``, one ``index_add`` and one matrix product.

    The computation always runs in float64 (the result is cast back to ``x``'s dtype): where the
    exact spectrum is zero (images up-sampled by nearest neighbour or zero insertion have whole
    rows of zeros), ``20 ln|F + 1e-8|`` of float32 rounding noise (about ``1e-7 * max|F|``) is far
    from the ``20 ln(1e-8)`` the float64 reference gives, and moves the profile by whole units.

    Args:
        x: images in [0, 1], RGB or gray.
        bins: number of output values; ``None`` keeps the ``n`` kept radius bins (for a square
            ``N x N`` image, ``n = int(0.5 * sqrt(2) * (N - 1)) - 1``).
        white: the value of white in ``x``: 1 for images in [0, 1]; 255 for 8-bit luma as read
            from files (``ganscope spectrum`` passes its 0..255 integers as they are).

    Shape:
        - Input: :math:`(B, C, H, W)`, :math:`C \in \{1, 3\}`.
        - Output: :math:`(B, \text{bins})`.

    Example:
        >>> durall_features(torch.rand(2, 3, 32, 32), bins=50).shape
        torch.Size([2, 50])
    """
    check_image(x)
    dtype = x.dtype
    W = x.shape[-1]
    logpow, a, b = _durall_log_half(x, white)
    profile = a * azimuthal_mean_half(logpow, W, center="durall")[:, 0, 1:-1] + b
    n = profile.shape[-1]
    if n < 1:
        raise ValueError(
            f"the durall preset needs images of at least 4x4, got {tuple(x.shape[-2:])}"
        )
    feats = resample_profile(profile, n if bins is None else bins)
    return (feats / feats[:, :1]).to(dtype)


def _half_projections(half: Tensor, W: int) -> tuple[Tensor, Tensor]:
    """Non-negative-frequency projections of the full spectrum from its ``rfft2`` half.

    Returns ``(horizontal (…, W//2 + 1), vertical (…, H//2 + 1))``: the mean over rows of column
    ``k_x`` and the mean over columns of row ``k_y`` of the full centred spectrum.
    """
    H = half.shape[-2]
    horizontal = half.mean(-2)  # a column k_x >= 0 of the full spectrum lies wholly in the half
    row_all = half.sum(-1)
    row_mirror = half[..., 1 : (W + 1) // 2].sum(-1)  # columns whose mirror is outside the half
    u = torch.arange(H // 2 + 1, device=half.device)
    # row u of the full spectrum = its half-row + the mirrored half-row -u
    vertical = (row_all[..., u] + row_mirror[..., (-u) % H]) / W
    return horizontal, vertical


def _finish_1d(profile: Tensor, bins: int | None, durall: bool) -> Tensor:
    if bins is not None:
        profile = resample_profile(profile, bins)
    if durall:
        profile = profile / profile[..., :1]
    return profile


def _check_args(kind: str, bins: int | None, preset: str) -> None:
    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FEATURE_KINDS)}; got {kind!r}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {preset!r}")
    if kind not in _ONE_D:
        if bins is not None:
            raise ValueError(f"bins applies to 1D features ({', '.join(_ONE_D)}), not {kind}")
        if preset != "default":
            raise ValueError(f"preset {preset!r} applies to 1D features, not {kind}")
    if bins is not None and bins < 1:
        raise ValueError(f"bins must be positive, got {bins}")


def extract_features(
    x: Tensor, kind: str, *, bins: int | None = None, preset: str = "default", white: float = 1.0
) -> Tensor:
    r"""Spectral feature vectors of a batch of images (table in the module doc).

    Args:
        x: images in [0, 1], RGB or gray, any size (every image of a batch has the same size).
        kind: one of :data:`FEATURE_KINDS`.
        bins: resample 1D features to this many values (``None``: native length).
        preset: ``"default"`` or ``"durall"``. ``durall`` with ``azimuthal`` is
            :func:`durall_features`; with the projections it applies the same spectrum
            (``20 ln|F + 1e-8|`` of the [0, 255] luma) and the same resampling and division by the
            first (DC) value. 2D kinds accept only ``default``.
        white: the value of white in ``x`` (1 for images in [0, 1], 255 for 8-bit values); the
            features are those of ``x / white``.

    Returns:
        Float features on ``x``'s device and dtype; the length is given by :func:`feature_layout`.

    Shape:
        - Input: :math:`(B, C, H, W)`.
        - Output: :math:`(B, F)`.

    Example:
        >>> extract_features(torch.rand(4, 3, 16, 16), "projections").shape
        torch.Size([4, 18])
    """
    check_image(x)
    _check_args(kind, bins, preset)
    if white != 1.0 and preset != "durall":
        x = x / white
    if kind == "fft2d":
        return power_spectrum(x).flatten(1)
    if kind == "dct":
        return dct_spectrum(rgb_to_gray(x)).flatten(1)
    if kind == "azimuthal" and preset == "durall":
        return durall_features(x, bins=bins, white=white)
    dtype = x.dtype
    durall = preset == "durall"  # runs in float64, see durall_features
    x = x.to(_compute_dtype(x))
    W = x.shape[-1]
    if durall:
        logpow, a, b = _durall_log_half(x, white)
        half = logpow[:, 0]
    else:
        # ln(|F| + eps); the scale is linear, so it is applied after the reductions
        half = log_magnitude(torch.fft.rfft2(rgb_to_gray(x))[:, 0], eps=_DEFAULT_EPS, scale=1.0)
        a, b = _DEFAULT_SCALE, 0.0
    if kind == "azimuthal":
        feats = a * azimuthal_mean_half(half, W) + b
        return _finish_1d(feats, bins, durall).to(dtype)
    h, v = _half_projections(half, W)
    h, v = a * h + b, a * v + b
    parts = {"horizontal": (h,), "vertical": (v,), "projections": (h, v)}[kind]
    return torch.cat([_finish_1d(p, bins, durall) for p in parts], dim=-1).to(dtype)


@dataclass(frozen=True)
class FeatureLayout:
    """What the values of a feature vector mean.

    Attributes:
        kind: the feature kind.
        length: number of values ``F``.
        segments: for 1D kinds, ``(name, frequencies)`` per consecutive part of the vector
            (``projections`` has ``horizontal`` then ``vertical``); frequencies in cycles/pixel.
        shape2d: for ``fft2d`` and ``dct``, the ``(H, W)`` the flat vector reshapes to.
    """

    kind: str
    length: int
    segments: tuple[tuple[str, np.ndarray], ...] = ()
    shape2d: tuple[int, int] | None = None


def feature_layout(
    kind: str, H: int, W: int, *, bins: int | None = None, preset: str = "default"
) -> FeatureLayout:
    """Length and frequency axis of :func:`extract_features` for ``H x W`` images.

    Example:
        >>> feature_layout("azimuthal", 32, 32, bins=10).length
        10
    """
    _check_args(kind, bins, preset)
    if kind in ("fft2d", "dct"):
        return FeatureLayout(kind, H * W, shape2d=(H, W))

    def axis(native: np.ndarray) -> np.ndarray:
        return native if bins is None else np.linspace(native[0], native[-1], bins)

    segments: list[tuple[str, np.ndarray]] = []
    if kind == "azimuthal":
        if preset == "durall":
            native = profile_frequencies(H, W, center="durall")[1:-1]
        else:
            native = profile_frequencies(H, W)
        segments.append(("azimuthal", axis(native)))
    if kind in ("horizontal", "projections"):
        segments.append(("horizontal", axis(np.arange(W // 2 + 1) / W)))
    if kind in ("vertical", "projections"):
        segments.append(("vertical", axis(np.arange(H // 2 + 1) / H)))
    return FeatureLayout(kind, sum(len(f) for _, f in segments), segments=tuple(segments))


class SpectralFeatures(nn.Module):
    """Module form of :func:`extract_features`."""

    def __init__(self, kind: str, *, bins: int | None = None, preset: str = "default") -> None:
        super().__init__()
        _check_args(kind, bins, preset)
        self.kind, self.bins, self.preset = kind, bins, preset

    def forward(self, x: Tensor) -> Tensor:
        return extract_features(x, self.kind, bins=self.bins, preset=self.preset)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, bins={self.bins}, preset={self.preset!r}"


class DurallFeatures(nn.Module):
    """Module form of :func:`durall_features`."""

    def __init__(self, *, bins: int | None = None) -> None:
        super().__init__()
        self.bins = bins

    def forward(self, x: Tensor) -> Tensor:
        return durall_features(x, bins=self.bins)

    def extra_repr(self) -> str:
        return f"bins={self.bins}"
