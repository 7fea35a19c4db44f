"""GAN Dissection: units ↔ concepts, interventions, causal units, artifact units.

Bau et al., "GAN Dissection: Visualizing and Understanding Generative Adversarial Networks",
ICLR 2019, and "Understanding the role of individual units in a deep neural network", PNAS 2020.
Everything works on any ``nn.Module`` generator ``G(z)`` with a ``latent_dim``:

- :func:`dissect`: per-unit thresholds (0.99 quantile over upsampled pixels, streamed), pooled IoU
  with every concept, bootstrap intervals, top samples → :class:`DissectionResult`.
- :class:`Intervention`, :func:`generate`, :func:`average_causal_effect`: ablate / insert units,
  everywhere or in a box, with the blend ``x' = (1 - a) x + a v`` (:func:`blend_units`).
- :func:`causal_unit_search`, :func:`effect_curve`: optimised per-unit weights and effect curves.
- :func:`find_artifact_units`, :func:`artifact_ablation`: units that predict spectral artifacts.
- Concepts: :class:`ColorLabeler`, :class:`SpectralArtifactLabeler`, :class:`CallableLabeler`,
  :class:`TorchScriptLabeler`, and the scene world (:func:`render_scenes`) with its U-Net
  segmenter (:func:`scene_labeler`).
"""

from ganscope.dissect.artifacts import ArtifactUnits, artifact_ablation, find_artifact_units
from ganscope.dissect.causal import CausalSearch, causal_unit_search, effect_curve
from ganscope.dissect.concepts import (
    COLOR_NAMES,
    CallableLabeler,
    ColorLabeler,
    ConceptLabeler,
    SpectralArtifactLabeler,
    TorchScriptLabeler,
    concept_masks,
    load_labeler,
)
from ganscope.dissect.dissection import DissectionResult, dissect
from ganscope.dissect.hooks import edit_layer, feature_layers, get_layer, hook_layers, record_layers
from ganscope.dissect.intervention import (
    Intervention,
    average_causal_effect,
    blend_units,
    box_mask,
    generate,
    intervened,
)
from ganscope.dissect.iou import IoUAccumulator, pooled_iou
from ganscope.dissect.report import write_report
from ganscope.dissect.scenes import SCENE_LABELS, render_scenes, write_scenes
from ganscope.dissect.segmenter import UNet, scene_labeler, train_scene_segmenter
from ganscope.dissect.stats import ReservoirQuantiles, TopKSamples

__all__ = [
    "COLOR_NAMES",
    "SCENE_LABELS",
    "ArtifactUnits",
    "CallableLabeler",
    "CausalSearch",
    "ColorLabeler",
    "ConceptLabeler",
    "DissectionResult",
    "Intervention",
    "IoUAccumulator",
    "ReservoirQuantiles",
    "SpectralArtifactLabeler",
    "TopKSamples",
    "TorchScriptLabeler",
    "UNet",
    "artifact_ablation",
    "average_causal_effect",
    "blend_units",
    "box_mask",
    "causal_unit_search",
    "concept_masks",
    "dissect",
    "edit_layer",
    "effect_curve",
    "feature_layers",
    "find_artifact_units",
    "generate",
    "get_layer",
    "hook_layers",
    "intervened",
    "load_labeler",
    "pooled_iou",
    "record_layers",
    "render_scenes",
    "scene_labeler",
    "train_scene_segmenter",
    "write_report",
    "write_scenes",
]
