"""Real-vs-fake detectors: scikit-learn estimators, registered by name.

``X`` is a batch of images ``(N, 3, H, W)`` in [0, 1] (tensor or array), ``y`` is 1 for fake;
``predict_proba(X)[:, 1]`` is P(fake). See :mod:`ganscope.detectors.base`.

- :class:`SpectralDetector` (``"spectral"``): a spectral feature
  (:data:`ganscope.spectrum.FEATURES`) and a classical learner (:data:`CLASSIFIERS`), Durall et
  al. (2020).
- :class:`SpectralKMeans` (``"spectral-kmeans"``): Durall et al.'s unsupervised 2-means.
- :class:`CNNDetector` (``"cnn"``): a ResNet with Wang et al. (2020)'s blur + JPEG augmentation.
- :mod:`ganscope.detectors.workflow`: what ``detector train``, ``detector eval`` and ``detect``
  do with folders.

**Imported on first use.** The names below are loaded the first time one of them is read (PEP 562),
all at once, so every built-in detector is registered before :data:`DETECTORS` is seen. Importing
one light submodule (``classifiers``, ``inputs``, ``augment``, ``networks``) does not load
scikit-learn: the command line reads its choices from them at start-up.

Example:
    >>> from ganscope.detectors import create_detector, save_detector, load_detector
    >>> det = create_detector("spectral", features="azimuthal", classifier="logreg")
    >>> det.fit(X, y).predict_proba(X_test)[:, 1]  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, tuple[str, ...]] = {
    "audit": ("BiasWarning", "audit_bias", "estimate_jpeg_quality"),
    "augment": ("downscale", "gaussian_blur", "jpeg_roundtrip", "random_crop_flip", "wang_augment"),
    "base": ("DETECTORS", "BaseDetector", "as_images", "create_detector", "register_detector"),
    "classifiers": (
        "CLASSIFIERS",
        "Classifier",
        "build_classifier",
        "register_classifier",
        "training_methods",
    ),
    "inputs": ("CNN_INPUTS", "cnn_input", "npr_residual"),
    "cnn": ("CNNDetector", "LR_SCHEDULES", "lr_factor"),
    "inference": (
        "common_size",
        "evaluate_detector",
        "iter_predictions",
        "load_images",
        "predict_paths",
    ),
    "networks": ("ARCHITECTURES", "ResNet", "create_network", "resnet50", "resnet_small"),
    "persistence": ("default_model_path", "load_detector", "save_detector"),
    "spectral": (
        "SPECTRAL_FEATURES",
        "SpectralDetector",
        "SpectralFeatureExtractor",
        "SpectralKMeans",
        "spectral_features",
    ),
    "workflow": ("detector_for_method",),
}

__all__ = sorted([name for names in _EXPORTS.values() for name in names] + ["METHODS"])


def _load() -> None:
    for module, names in _EXPORTS.items():
        mod = importlib.import_module(f"{__name__}.{module}")
        globals().update({name: getattr(mod, name) for name in names})


def __getattr__(name: str) -> Any:
    if name == "METHODS":  # computed on every read: a classifier registered later is in it
        _load()
        return globals()["training_methods"]()
    if name in __all__:
        _load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
