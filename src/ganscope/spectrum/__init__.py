"""Pure, batched torch functions for frequency analysis of images: FFT and DCT spectra, azimuthal
profiles, projections, fixed-length spectral features, and per-source statistics.

Every function takes images ``(B, C, H, W)`` on any device, follows the input's dtype, and is
differentiable where the math allows (the generator's spectral loss backpropagates through
:func:`power_spectrum` and :func:`azimuthal_profile`).
"""

from ganscope.spectrum.azimuthal import (
    NORMALIZATIONS,
    AzimuthalProfile,
    azimuthal_mean_half,
    azimuthal_profile,
    normalize_profile,
    profile_frequencies,
    projections,
    radial_bins,
    resample_profile,
    spline_matrix,
)
from ganscope.spectrum.color import LUMA_WEIGHTS, RgbToGray, rgb_to_gray
from ganscope.spectrum.dct import DCTSpectrum, dct2, dct_basis, dct_spectrum
from ganscope.spectrum.features import (
    FEATURE_KINDS,
    FEATURES,
    PRESETS,
    DurallFeatures,
    FeatureLayout,
    SpectralFeature,
    SpectralFeatures,
    durall_features,
    extract_features,
    feature_layout,
    register_feature,
)
from ganscope.spectrum.fourier import (
    PowerSpectrum,
    expand_half_spectrum,
    fft_frequencies,
    highpass_residual,
    power_spectrum,
)
from ganscope.spectrum.stats import SpectrumStats, difference_spectrum

__all__ = [
    "FEATURES",
    "FEATURE_KINDS",
    "LUMA_WEIGHTS",
    "NORMALIZATIONS",
    "PRESETS",
    "AzimuthalProfile",
    "DCTSpectrum",
    "DurallFeatures",
    "FeatureLayout",
    "PowerSpectrum",
    "RgbToGray",
    "SpectralFeature",
    "SpectralFeatures",
    "SpectrumStats",
    "azimuthal_mean_half",
    "azimuthal_profile",
    "dct2",
    "dct_basis",
    "dct_spectrum",
    "difference_spectrum",
    "durall_features",
    "expand_half_spectrum",
    "extract_features",
    "feature_layout",
    "fft_frequencies",
    "highpass_residual",
    "normalize_profile",
    "power_spectrum",
    "profile_frequencies",
    "projections",
    "radial_bins",
    "register_feature",
    "resample_profile",
    "rgb_to_gray",
    "spline_matrix",
]
