"""Real-vs-fake detectors: scikit-learn estimators, registered by name.

``X`` is a batch of images ``(N, 3, H, W)`` in [0, 1] (tensor or array), ``y`` is 1 for fake;
``predict_proba(X)[:, 1]`` is P(fake). See :mod:`ganscope.detectors.base`.

- :class:`SpectralDetector` (``"spectral"``): spectral features + a classical learner
  (Durall et al. 2020).
- :class:`SpectralKMeans` (``"spectral-kmeans"``): Durall et al.'s unsupervised 2-means.
- :class:`CNNDetector` (``"cnn"``): a ResNet with Wang et al. (2020)'s blur + JPEG augmentation.

Example:
    >>> from ganscope.detectors import create_detector, save_detector, load_detector
    >>> det = create_detector("spectral", features="azimuthal", classifier="logreg")
    >>> det.fit(X, y).predict_proba(X_test)[:, 1]  # doctest: +SKIP
"""

from ganscope.detectors.audit import BiasWarning, audit_bias, estimate_jpeg_quality
from ganscope.detectors.augment import (
    downscale,
    gaussian_blur,
    jpeg_roundtrip,
    random_crop_flip,
    wang_augment,
)
from ganscope.detectors.base import (
    DETECTORS,
    BaseDetector,
    as_images,
    create_detector,
    register_detector,
)
from ganscope.detectors.cnn import CNN_INPUTS, CNNDetector, cnn_input, npr_residual
from ganscope.detectors.inference import (
    common_size,
    evaluate_detector,
    iter_predictions,
    load_images,
    predict_paths,
)
from ganscope.detectors.networks import (
    ARCHITECTURES,
    ResNet,
    create_network,
    resnet50,
    resnet_small,
)
from ganscope.detectors.persistence import default_model_path, load_detector, save_detector
from ganscope.detectors.spectral import (
    CLASSIFIERS,
    SPECTRAL_FEATURES,
    SpectralDetector,
    SpectralFeatureExtractor,
    SpectralKMeans,
    spectral_features,
)

METHODS = (*CLASSIFIERS, "kmeans", "cnn")
"""The learners of ``ganscope detector train --method``."""


def detector_for_method(method: str, **settings: object) -> BaseDetector:
    """The detector behind a CLI ``--method``: a classifier name gives a :class:`SpectralDetector`,
    ``kmeans`` a :class:`SpectralKMeans`, ``cnn`` a :class:`CNNDetector`."""
    from ganscope.errors import GanscopeError

    if method in CLASSIFIERS:
        return SpectralDetector(classifier=method, **settings)  # type: ignore[arg-type]
    if method == "kmeans":
        return SpectralKMeans(**settings)  # type: ignore[arg-type]
    if method == "cnn":
        return CNNDetector(**settings)  # type: ignore[arg-type]
    raise GanscopeError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


__all__ = [
    "ARCHITECTURES",
    "CLASSIFIERS",
    "CNN_INPUTS",
    "DETECTORS",
    "METHODS",
    "SPECTRAL_FEATURES",
    "BaseDetector",
    "BiasWarning",
    "CNNDetector",
    "ResNet",
    "SpectralDetector",
    "SpectralFeatureExtractor",
    "SpectralKMeans",
    "as_images",
    "audit_bias",
    "cnn_input",
    "common_size",
    "create_detector",
    "create_network",
    "default_model_path",
    "detector_for_method",
    "downscale",
    "estimate_jpeg_quality",
    "evaluate_detector",
    "gaussian_blur",
    "iter_predictions",
    "jpeg_roundtrip",
    "load_detector",
    "load_images",
    "npr_residual",
    "predict_paths",
    "random_crop_flip",
    "register_detector",
    "resnet50",
    "resnet_small",
    "save_detector",
    "spectral_features",
    "wang_augment",
]
