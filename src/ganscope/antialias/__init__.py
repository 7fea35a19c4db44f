"""Anti-aliasing: the shift-equivariance testbed, consistency and ``antialias(model)``.

Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019.
"""

from ganscope.antialias.consistency import (
    Consistency,
    ResizeConsistency,
    Scores,
    consistency,
    resize_consistency,
    score_images,
)
from ganscope.antialias.convert import antialias, downsampling_layers
from ganscope.antialias.equivariance import (
    ShiftEquivariance,
    circular_padding,
    default_layers,
    fourier_shift,
    normalized_distance,
    plot_equivariance_heatmaps,
    plot_equivariance_profile,
    shift_equivariance,
)

__all__ = [
    "Consistency",
    "ResizeConsistency",
    "Scores",
    "ShiftEquivariance",
    "antialias",
    "circular_padding",
    "consistency",
    "default_layers",
    "downsampling_layers",
    "fourier_shift",
    "normalized_distance",
    "plot_equivariance_heatmaps",
    "plot_equivariance_profile",
    "resize_consistency",
    "score_images",
    "shift_equivariance",
]
