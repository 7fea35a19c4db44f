"""Fixed-length spectral feature vectors for detectors, a registry of them, and ``durall``.

:func:`extract_features` is what ``SpectralDetector(features=...)``, ``ganscope spectrum --kind``,
``ganscope detector train --features`` and the study call. Each kind is a class registered in
:data:`FEATURES` (a :class:`SpectralFeature` decorated with :func:`register_feature`): a batched
torch computation ``(B, C, H, W) -> (B, F)`` on the input's device, and its :class:`FeatureLayout`.
The built-in kinds:

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

A new kind is one subclass of :class:`SpectralFeature` decorated with ``@register_feature("name")``
(here, or in a new module imported by ``spectrum/__init__.py``); every consumer and the tests
parametrized over :data:`FEATURES` find it by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ganscope.registry import Registry
from ganscope.spectrum.azimuthal import (
    azimuthal_mean_half,
    profile_frequencies,
    resample_profile,
)
from ganscope.spectrum.color import check_image, rgb_to_gray
from ganscope.spectrum.dct import dct_spectrum
from ganscope.spectrum.fourier import _compute_dtype, log_magnitude, power_spectrum

__all__ = [
    "FEATURES",
    "FEATURE_KINDS",
    "PRESETS",
    "DurallFeatures",
    "FeatureLayout",
    "SpectralFeature",
    "SpectralFeatures",
    "durall_features",
    "extract_features",
    "feature_layout",
    "register_feature",
]

FEATURES = Registry("spectral feature", attr="kind")
"""Registered feature kinds: name → :class:`SpectralFeature` subclass (in registration order)."""

register_feature = FEATURES.register
"""Class decorator adding a :class:`SpectralFeature` to :data:`FEATURES` (twice raises)."""

FEATURE_KINDS = FEATURES
"""The names accepted by :func:`extract_features`: :data:`FEATURES` itself (iterate it, or test
``kind in FEATURE_KINDS``); kept under its older name."""

#: Presets accepted by :func:`extract_features`.
PRESETS: tuple[str, ...] = ("default", "durall")

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


class SpectralFeature:
    """One kind of feature: subclass, implement :meth:`compute` and :meth:`layout`, register.

    :func:`extract_features` and :func:`feature_layout` check the arguments (``bins`` and the
    ``durall`` preset only for ``one_d`` kinds) and divide by ``white`` before calling
    :meth:`compute`, except for the ``durall`` preset, which receives ``white`` as it is.

    Example:
        >>> @register_feature("mean-log-power")  # doctest: +SKIP
        ... class MeanLogPower(SpectralFeature):
        ...     one_d = False
        ...     def compute(self, x, *, bins, preset, white):
        ...         return power_spectrum(x).flatten(1).mean(1, keepdim=True)
        ...     def layout(self, H, W, *, bins, preset):
        ...         return FeatureLayout(self.kind, 1)
    """

    kind: ClassVar[str] = ""
    one_d: ClassVar[bool] = True
    """A profile over frequency: accepts ``bins`` (resampling) and the ``durall`` preset."""
    domain: ClassVar[str] = "fft"
    """``"fft"`` or ``"dct"``: the transform the values come from (for plots)."""

    def compute(self, x: Tensor, *, bins: int | None, preset: str, white: float) -> Tensor:
        """Features ``(B, F)`` of images ``x`` ``(B, C, H, W)`` (already checked)."""
        raise NotImplementedError

    def layout(self, H: int, W: int, *, bins: int | None, preset: str) -> FeatureLayout:
        """Length and frequency axis of :meth:`compute` for ``H x W`` images."""
        raise NotImplementedError

    def value_label(self, preset: str) -> str:
        """What the values are, in words (for tables, plots and JSON)."""
        if preset == "durall":
            return "20 ln|F| (÷ first value)"
        return "ln(|DCT| + 1e-12)" if self.domain == "dct" else "20 ln(|F| + 1e-8)"


def _log_half(x: Tensor, preset: str, white: float) -> tuple[Tensor, float, float]:
    """``(L, a, b)`` for the 1D kinds: the log spectrum ``a * L + b`` on the ``rfft2`` half,
    ``(B, H, W//2+1)``, of ``x`` already in its compute dtype (see :func:`_durall_log_half`)."""
    if preset == "durall":
        logpow, a, b = _durall_log_half(x, white)
        return logpow[:, 0], a, b
    # ln(|F| + eps); the scale is linear, so it is applied after the reductions
    half = log_magnitude(torch.fft.rfft2(rgb_to_gray(x))[:, 0], eps=_DEFAULT_EPS, scale=1.0)
    return half, _DEFAULT_SCALE, 0.0


def _axis(native: np.ndarray, bins: int | None) -> np.ndarray:
    return native if bins is None else np.linspace(native[0], native[-1], bins)


class _Projection(SpectralFeature):
    """Shared by the projection kinds: ``parts`` names the profiles concatenated."""

    parts: ClassVar[tuple[str, ...]] = ()

    def compute(self, x: Tensor, *, bins: int | None, preset: str, white: float) -> Tensor:
        dtype = x.dtype
        x = x.to(_compute_dtype(x))  # durall runs in float64, see durall_features
        half, a, b = _log_half(x, preset, white)
        h, v = _half_projections(half, x.shape[-1])
        profiles = {"horizontal": a * h + b, "vertical": a * v + b}
        durall = preset == "durall"
        return torch.cat([_finish_1d(profiles[p], bins, durall) for p in self.parts], -1).to(dtype)

    def layout(self, H: int, W: int, *, bins: int | None, preset: str) -> FeatureLayout:
        native = {"horizontal": np.arange(W // 2 + 1) / W, "vertical": np.arange(H // 2 + 1) / H}
        segments = tuple((p, _axis(native[p], bins)) for p in self.parts)
        return FeatureLayout(self.kind, sum(len(f) for _, f in segments), segments=segments)


@register_feature("azimuthal")
class Azimuthal(SpectralFeature):
    """Azimuthal mean of the log spectrum over radius bins (Durall et al. 2020, eq. 2); with the
    ``durall`` preset, :func:`durall_features`."""

    def compute(self, x: Tensor, *, bins: int | None, preset: str, white: float) -> Tensor:
        if preset == "durall":
            return durall_features(x, bins=bins, white=white)
        dtype = x.dtype
        x = x.to(_compute_dtype(x))
        half, a, b = _log_half(x, preset, white)
        feats = a * azimuthal_mean_half(half, x.shape[-1]) + b
        return _finish_1d(feats, bins, False).to(dtype)

    def layout(self, H: int, W: int, *, bins: int | None, preset: str) -> FeatureLayout:
        if preset == "durall":
            native = profile_frequencies(H, W, center="durall")[1:-1]
        else:
            native = profile_frequencies(H, W)
        segments = (("azimuthal", _axis(native, bins)),)
        return FeatureLayout(self.kind, len(segments[0][1]), segments=segments)


@register_feature("horizontal")
class Horizontal(_Projection):
    """Mean over rows of the log spectrum, horizontal frequencies ``0 .. W//2`` / W."""

    parts = ("horizontal",)


@register_feature("vertical")
class Vertical(_Projection):
    """Mean over columns of the log spectrum, vertical frequencies ``0 .. H//2`` / H."""

    parts = ("vertical",)


@register_feature("projections")
class Projections(_Projection):
    """``horizontal`` then ``vertical``, concatenated."""

    parts = ("horizontal", "vertical")


@register_feature("fft2d")
class FFT2D(SpectralFeature):
    """The flattened centred log spectrum :func:`~ganscope.spectrum.power_spectrum`, ``H * W``."""

    one_d = False

    def compute(self, x: Tensor, *, bins: int | None, preset: str, white: float) -> Tensor:
        return power_spectrum(x).flatten(1)

    def layout(self, H: int, W: int, *, bins: int | None, preset: str) -> FeatureLayout:
        return FeatureLayout(self.kind, H * W, shape2d=(H, W))


@register_feature("dct")
class DCT(FFT2D):
    """The flattened log-abs orthonormal DCT-II of the luma (Frank et al. 2020), ``H * W``."""

    domain = "dct"

    def compute(self, x: Tensor, *, bins: int | None, preset: str, white: float) -> Tensor:
        return dct_spectrum(rgb_to_gray(x)).flatten(1)


def _check_args(kind: str, bins: int | None, preset: str) -> SpectralFeature:
    """The registered feature ``kind``, after checking ``bins`` and ``preset`` against it."""
    if kind not in FEATURES:
        raise ValueError(f"kind must be one of {', '.join(FEATURES)}; got {kind!r}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {preset!r}")
    feature: SpectralFeature = FEATURES[kind]()
    if not feature.one_d:
        one_d = ", ".join(k for k, cls in FEATURES.items() if cls.one_d)
        if bins is not None:
            raise ValueError(f"bins applies to 1D features ({one_d}), not {kind}")
        if preset != "default":
            raise ValueError(f"preset {preset!r} applies to 1D features, not {kind}")
    if bins is not None and bins < 1:
        raise ValueError(f"bins must be positive, got {bins}")
    return feature


def extract_features(
    x: Tensor, kind: str, *, bins: int | None = None, preset: str = "default", white: float = 1.0
) -> Tensor:
    r"""Spectral feature vectors of a batch of images (table in the module doc).

    Args:
        x: images in [0, 1], RGB or gray, any size (every image of a batch has the same size).
        kind: a name registered in :data:`FEATURES`.
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
    feature = _check_args(kind, bins, preset)
    if white != 1.0 and preset != "durall":
        x = x / white
    return feature.compute(x, bins=bins, preset=preset, white=white)


def feature_layout(
    kind: str, H: int, W: int, *, bins: int | None = None, preset: str = "default"
) -> FeatureLayout:
    """Length and frequency axis of :func:`extract_features` for ``H x W`` images.

    Example:
        >>> feature_layout("azimuthal", 32, 32, bins=10).length
        10
    """
    return _check_args(kind, bins, preset).layout(H, W, bins=bins, preset=preset)


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
