"""nn building blocks: the 2x upsampler registry and anti-aliased downsampling (BlurPool)."""

from ganscope.layers.batchnorm import precise_batchnorm
from ganscope.layers.blurpool import (
    PAD_TYPES,
    BlurPool2d,
    binomial_filter1d,
    binomial_filter2d,
    blur_pool2d,
)
from ganscope.layers.upsample import (
    UPSAMPLERS,
    BedOfNailsUpsampler,
    BicubicUpsampler,
    BilinearUpsampler,
    BlurUpsampler,
    InterpolateConvUpsampler,
    NearestUpsampler,
    PixelShuffleUpsampler,
    TransposedConvUpsampler,
    bed_of_nails,
    create_upsampler,
    icnr_,
    register_upsampler,
)

__all__ = [
    "PAD_TYPES",
    "UPSAMPLERS",
    "BedOfNailsUpsampler",
    "BicubicUpsampler",
    "BilinearUpsampler",
    "BlurPool2d",
    "BlurUpsampler",
    "InterpolateConvUpsampler",
    "NearestUpsampler",
    "PixelShuffleUpsampler",
    "TransposedConvUpsampler",
    "bed_of_nails",
    "binomial_filter1d",
    "binomial_filter2d",
    "blur_pool2d",
    "create_upsampler",
    "icnr_",
    "precise_batchnorm",
    "register_upsampler",
]
