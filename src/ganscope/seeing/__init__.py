"""Seeing what a GAN cannot generate (Bau et al., ICCV 2019).

- :mod:`ganscope.seeing.fsd`: distribution level: per-class segmentation statistics of real and
  generated images, the Fréchet Segmentation Distance with bootstrap intervals, and the per-class
  under/over-generation chart.
- :mod:`ganscope.seeing.invert`: instance level: layer-wise encoders ``E*``, the optimisation of
  an intermediate representation ``r*``, and what the reconstruction leaves out.
"""

from ganscope.seeing.fsd import (
    ClassAreas,
    FSDResult,
    FSDSettings,
    class_areas,
    compare_class_areas,
    compare_folders,
    frechet_distance,
    frechet_segmentation_distance,
    fsd_report,
    load_fsd_segmenter,
    segment_folder,
)
from ganscope.seeing.invert import (
    EncoderTraining,
    InversionResult,
    LayerChain,
    LayerwiseEncoder,
    default_inversion_layers,
    invert_images,
    optimize_representation,
    train_layerwise_encoder,
)

__all__ = [
    "ClassAreas",
    "EncoderTraining",
    "FSDResult",
    "FSDSettings",
    "InversionResult",
    "LayerChain",
    "LayerwiseEncoder",
    "class_areas",
    "compare_class_areas",
    "compare_folders",
    "default_inversion_layers",
    "frechet_distance",
    "frechet_segmentation_distance",
    "fsd_report",
    "invert_images",
    "load_fsd_segmenter",
    "optimize_representation",
    "segment_folder",
    "train_layerwise_encoder",
]
