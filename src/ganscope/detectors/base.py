"""What every ganscope detector shares: the registry, the input convention, the decision rule.

**Input convention.** ``X`` is a batch of images, a float ``torch.Tensor`` or NumPy array of
shape ``(N, 3, H, W)`` with values in [0, 1] (the ``ganscope.io`` format); ``y`` holds 0 (real)
or 1 (fake). One array means one image size: folders of mixed sizes are centre-cropped to a
common size by the caller (the CLI does this, see :mod:`ganscope.detectors.inference`). A 4-D
array passes through scikit-learn's ``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and
``clone`` unchanged (they index the first axis only). A list of paths is not accepted: decoding
belongs to ``ganscope.io``, not to ``fit``.

**Outputs.** ``predict_proba(X)`` is ``(N, 2)`` with P(fake) in column 1; ``predict(X)`` is 1
(fake) where ``P(fake) > threshold_``. ``threshold_`` is 0.5 unless the detector calibrates it on
held-out data (:class:`~ganscope.detectors.CNNDetector`).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ganscope.errors import GanscopeError
from ganscope.registry import Registry

DETECTORS = Registry("detector")
"""Detector classes by registry name (``spectral``, ``spectral-kmeans``, ``cnn``)."""

register_detector = DETECTORS.register
"""Class decorator: add a detector to :data:`DETECTORS` under ``name`` (twice is an error)."""


def create_detector(name: str, **kwargs: Any) -> BaseDetector:
    """Build the registered detector ``name`` with its settings.

    Example:
        >>> det = create_detector("spectral", classifier="svm-linear")
        >>> det.get_params()["classifier"]
        'svm-linear'
    """
    return DETECTORS.create(name, **kwargs)


def as_images(X: Any, *, name: str = "X") -> torch.Tensor:
    """Validate ``X`` and return it as a float32 CPU-or-device tensor ``(N, 3, H, W)``.

    Raises:
        GanscopeError: not 4-D with 3 channels, empty, or values outside [0, 1].
    """
    if isinstance(X, torch.Tensor):
        x = X.detach()
        if not x.is_floating_point():
            raise GanscopeError(f"{name} must be a float tensor in [0, 1], got {x.dtype}")
        x = x.float()
    else:
        arr = np.asarray(X)
        if arr.dtype.kind not in "f":
            raise GanscopeError(f"{name} must be float images in [0, 1], got dtype {arr.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    if x.ndim != 4 or x.shape[1] != 3:
        raise GanscopeError(f"{name} must have shape (N, 3, H, W), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise GanscopeError(f"{name} holds no images")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise GanscopeError(f"{name} must be in [0, 1] (found values in [{lo:.3g}, {hi:.3g}])")
    return x


def as_labels(y: Any, n: int) -> np.ndarray:
    """Validate binary labels (0 real, 1 fake) for ``n`` images."""
    yy = np.asarray(y).reshape(-1)
    if yy.size != n:
        raise GanscopeError(f"y has {yy.size} labels for {n} images")
    if not np.isin(yy, (0, 1)).all():
        raise GanscopeError("y must hold 0 (real) and 1 (fake) only")
    return yy.astype(np.int64)


def is_fake(p_fake: np.ndarray, threshold: float) -> np.ndarray:
    """The decision rule of every detector: fake where ``P(fake) > threshold`` (boolean)."""
    return np.asarray(p_fake) > threshold


class BaseDetector(ClassifierMixin, BaseEstimator):
    """Base class: scikit-learn estimator conventions plus ganscope's save/load hooks.

    Subclasses implement ``fit``, ``predict_proba``, ``_get_fitted_state`` and
    ``_set_fitted_state``; :func:`ganscope.detectors.save_detector` does the rest.
    """

    registry_name: ClassVar[str] = ""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is a batch of images (N, 3, H, W)
        tags.classifier_tags.multi_class = False
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``(N,)``: 1 (fake) where ``P(fake) > threshold_``, else 0."""
        check_is_fitted(self, "threshold_")
        return is_fake(self.predict_proba(X)[:, 1], self.threshold_).astype(np.int64)

    def decision_function(self, X: Any) -> np.ndarray:
        """P(fake) ``(N,)``, for scikit-learn scorers that ask for a score."""
        return self.predict_proba(X)[:, 1]

    @property
    def input_size(self) -> tuple[int, int] | None:
        """``(h, w)`` every image is centre-cropped to before scoring, or ``None`` for any size
        (then at least :attr:`min_input_size` per side)."""
        check_is_fitted(self, "threshold_")
        size = getattr(self, "input_size_", None)
        return None if size is None else (int(size[0]), int(size[1]))

    @property
    def min_input_size(self) -> int:
        """The smallest side an image may have."""
        size = self.input_size
        return 8 if size is None else min(size)

    # -- persistence hooks --------------------------------------------------------------------
    def _get_fitted_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        raise NotImplementedError

    def _set_fitted_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        raise NotImplementedError

    @classmethod
    def _params_from_json(cls, params: dict[str, Any]) -> dict[str, Any]:
        # JSON has no tuples: give tuple-valued defaults their type back.
        sig = inspect.signature(cls.__init__)
        out = {}
        for k, v in params.items():
            if k not in sig.parameters:
                raise GanscopeError(f"model config has an unknown setting {k!r} for {cls.__name__}")
            default = sig.parameters[k].default
            out[k] = tuple(v) if isinstance(default, tuple) and isinstance(v, list) else v
        return out
