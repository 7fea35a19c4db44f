"""Spectral detectors: a 1D/2D power-spectrum feature and a classical learner.

Durall, Keuper & Keuper, "Watch your Up-Convolution: CNN Based Generative Deep Neural Networks
are Failing to Reproduce Spectral Distributions", CVPR 2020: up-convolutions leave their mark on
the high-frequency end of the azimuthally averaged power spectrum; a logistic regression or SVM
on that 1D profile separates real from generated faces (100% with 20 training images on
Faces-HQ), and k-means with two clusters does well without labels (sec. 4, Table 1).
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ganscope.detectors.augment import center_crop
from ganscope.detectors.base import BaseDetector, as_images, as_labels, register_detector
from ganscope.detectors.classifiers import build_classifier
from ganscope.detectors.sklearn_state import decode_state, encode_state
from ganscope.errors import GanscopeError
from ganscope.progress import progress_bar
from ganscope.spectrum.features import FEATURES, extract_features

SPECTRAL_FEATURES = FEATURES
"""Feature kinds a spectral detector can learn from: every kind registered in
:data:`ganscope.spectrum.FEATURES` (this is that registry)."""

_CHUNK = 256  # images per feature-extraction call: bounds memory for large X


def spectral_features(
    X: Any, kind: str = "azimuthal", *, bins: int | None = None, preset: str = "default"
) -> np.ndarray:
    """Spectral features ``(N, F)`` (float64) of images ``(N, 3, H, W)`` in [0, 1], in chunks.

    A thin wrapper around :func:`ganscope.spectrum.extract_features` that bounds memory and
    reports progress.
    """
    x = as_images(X)
    out = []
    # A bar only for large inputs: callers that stream small batches draw their own.
    total = x.shape[0] if x.shape[0] > _CHUNK else None
    with progress_bar(total, f"{kind} features") if total else nullcontext() as bar:
        for i in range(0, x.shape[0], _CHUNK):
            chunk = x[i : i + _CHUNK]
            try:
                with torch.no_grad():
                    f = extract_features(chunk, kind, bins=bins, preset=preset)
            except ValueError as err:  # bad kind/bins/preset: the user's input
                raise GanscopeError(str(err)) from None
            out.append(f.reshape(chunk.shape[0], -1).double().cpu().numpy())
            if bar is not None:
                bar.advance(chunk.shape[0])
    return np.concatenate(out)


class SpectralFeatureExtractor(TransformerMixin, BaseEstimator):
    """Transformer: images ``(N, 3, H, W)`` to spectral features ``(N, F)``, for ``Pipeline``.

    Stateless (``fit`` only records the number of features), so it composes with any
    scikit-learn scaler or classifier.

    Example:
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sklearn.linear_model import LogisticRegression
        >>> features = SpectralFeatureExtractor("azimuthal")
        >>> pipe = make_pipeline(features, StandardScaler(), LogisticRegression())
    """

    def __init__(
        self, kind: str = "azimuthal", *, bins: int | None = None, preset: str = "default"
    ):
        self.kind = kind
        self.bins = bins
        self.preset = preset

    def fit(self, X: Any, y: Any = None) -> SpectralFeatureExtractor:
        self.n_features_out_ = self.transform(X[:1]).shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        return spectral_features(X, self.kind, bins=self.bins, preset=self.preset)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


def _check_kind(features: str) -> None:
    if features not in FEATURES:
        raise GanscopeError(
            f"unknown spectral features {features!r}; choose from {', '.join(FEATURES)}"
        )


def _fixed_size(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    # Spectra depend on the image size: score every image at the training size (centre crop).
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    H, W = x.shape[-2:]
    if size[0] > H or size[1] > W:
        raise GanscopeError(
            f"images of {H}x{W} are smaller than the detector's input size {size[0]}x{size[1]}"
        )
    return center_crop(x, size)


@register_detector("spectral")
class SpectralDetector(BaseDetector):
    """Spectral features, standardization, then a classical classifier (Durall et al. 2020).

    Args:
        features: a kind registered in :data:`ganscope.spectrum.FEATURES`: ``azimuthal``
            (Durall's 1D profile), ``projections`` (horizontal + vertical profiles), ``dct``
            (Frank et al. 2020), ``fft2d`` (full 2D log spectrum), ...
        classifier: a name registered in :data:`~ganscope.detectors.CLASSIFIERS`: ``logreg``,
            ``svm-linear``, ``svm-rbf``, ``random-forest``, ``mlp``, ...
        bins: feature length for the 1D profiles (``None``: the spectrum module's default).
        preset: ``default`` or ``durall`` (Durall et al.'s exact feature, see DESIGN.md).
        C: inverse regularization strength of ``logreg`` and the SVMs.
        seed: seed of the learner (forests, MLP, SVM tie-breaking).

    Attributes:
        scaler_: the fitted ``StandardScaler``.
        classifier_: the fitted learner.
        input_size_: ``(H, W)`` of the training images; larger images are centre-cropped to it,
            smaller ones are refused (a spectrum depends on the image size).
        threshold_: 0.5.

    ``predict_proba`` of the SVMs is ``sigmoid(decision_function)``: monotone in the margin (AP
    and ROC-AUC are those of the SVM), 0.5 on its decision boundary, but not a calibrated
    probability (scikit-learn 1.9 deprecates ``SVC(probability=True)``; its internal 5-fold Platt
    scaling is also unreliable with 20 training images). ``ece`` in the metrics shows how far off.

    Example:
        >>> det = SpectralDetector("azimuthal", "logreg").fit(X, y)  # doctest: +SKIP
        >>> det.predict_proba(X_test)[:, 1]  # P(fake)  # doctest: +SKIP
    """

    def __init__(
        self,
        features: str = "azimuthal",
        classifier: str = "logreg",
        *,
        bins: int | None = None,
        preset: str = "default",
        C: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.bins = bins
        self.preset = preset
        self.C = C
        self.seed = seed

    def _features(self, x: torch.Tensor) -> np.ndarray:
        return spectral_features(x, self.features, bins=self.bins, preset=self.preset)

    def fit(self, X: Any, y: Any) -> SpectralDetector:
        """Fit on images ``X (N, 3, H, W)`` in [0, 1] with labels ``y`` (1 = fake); returns self."""
        _check_kind(self.features)
        x = as_images(X)
        yy = as_labels(y, x.shape[0])
        if np.unique(yy).size < 2:
            raise GanscopeError("training needs both real (0) and fake (1) images")
        clf = build_classifier(self.classifier, C=self.C, seed=self.seed)
        F = self._features(x)
        self.scaler_ = StandardScaler().fit(F)
        self.classifier_ = clf.fit(self.scaler_.transform(F), yy)
        self.input_size_ = (int(x.shape[-2]), int(x.shape[-1]))
        self.n_features_ = int(F.shape[1])
        self.classes_ = np.array([0, 1])
        self.threshold_ = 0.5
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(N, 2)``: P(real), P(fake). Images larger than ``input_size_`` are centre-cropped."""
        check_is_fitted(self, "classifier_")
        x = _fixed_size(as_images(X), self.input_size_)
        Z = self.scaler_.transform(self._features(x))
        if not hasattr(self.classifier_, "predict_proba"):  # the SVMs, see the class docstring
            p = 1.0 / (1.0 + np.exp(-self.classifier_.decision_function(Z)))
        else:
            p = self.classifier_.predict_proba(Z)[:, list(self.classifier_.classes_).index(1)]
        return np.column_stack([1.0 - p, p])

    def _get_fitted_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        state = {
            "scaler": encode_state(self.scaler_, tensors, "scaler"),
            "classifier": encode_state(self.classifier_, tensors, "classifier"),
            "input_size": list(self.input_size_),
            "n_features": self.n_features_,
        }
        return tensors, state

    def _set_fitted_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        self.scaler_ = decode_state(state["scaler"], tensors)
        self.classifier_ = decode_state(state["classifier"], tensors)
        self.input_size_ = tuple(state["input_size"])
        self.n_features_ = int(state["n_features"])
        self.classes_ = np.array([0, 1])
        self.threshold_ = 0.5


@register_detector("spectral-kmeans")
class SpectralKMeans(BaseDetector):
    """Durall et al. (2020)'s unsupervised detector: k-means with two clusters on spectra.

    The two clusters are found without labels. Which one is *fake* is decided by:

    1. **Labelled images**, if ``y`` holds any 0 or 1 (use -1 for unlabelled images, the
       scikit-learn semi-supervised convention; a handful suffices): the cluster where the
       labelled fakes are over-represented relative to the labelled reals, i.e. the cluster ``c``
       maximizing ``frac(fakes in c) - frac(reals in c)``.
    2. **No labels** (``y=None`` or all -1): the *smaller* cluster is called fake (an assumption
       that generated images are the minority in the pile). This is a guess: on a balanced set it
       is a coin flip, and a wrong guess turns AP into roughly ``1 - AP``. A ``UserWarning`` says
       so, and ``naming_`` records ``"smaller-cluster"``.

    ``predict_proba`` uses relative distances to the two centroids in the feature space:
    ``P(fake) = d_real / (d_real + d_fake)`` (0.5 on the bisecting hyperplane, where k-means
    itself changes its assignment).

    Args:
        features: as in :class:`SpectralDetector`.
        bins: feature length for the 1D profiles.
        preset: ``default`` or ``durall``.
        standardize: scale every feature to unit variance before clustering. Off by default, as
            in Durall et al.: the bins where up-sampling leaves its trace have a large spread of
            their own, which standardization would shrink to that of every other bin.
        n_init: k-means restarts.
        seed: k-means seed.

    Attributes:
        scaler_: the fitted ``StandardScaler`` (the identity unless ``standardize``).
        centroids_: ``(2, F)`` cluster centres in the (scaled) feature space.
        fake_cluster_: index (0 or 1) of the fake cluster.
        naming_: ``"labels"`` or ``"smaller-cluster"``.
    """

    def __init__(
        self,
        features: str = "azimuthal",
        *,
        bins: int | None = None,
        preset: str = "default",
        standardize: bool = False,
        n_init: int = 10,
        seed: int = 0,
    ) -> None:
        self.features = features
        self.bins = bins
        self.preset = preset
        self.standardize = standardize
        self.n_init = n_init
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> SpectralKMeans:
        """Cluster ``X``; ``y`` (optional, -1 = unlabelled) only names the fake cluster."""
        _check_kind(self.features)
        x = as_images(X)
        F = spectral_features(x, self.features, bins=self.bins, preset=self.preset)
        # Durall et al. cluster the raw profile: the few bins where up-sampling leaves its trace
        # carry a large variance there; per-bin standardization would drown them among the rest.
        self.scaler_ = StandardScaler(with_mean=self.standardize, with_std=self.standardize).fit(F)
        Z = self.scaler_.transform(F)
        kmeans = KMeans(2, n_init=self.n_init, random_state=self.seed).fit(Z)
        self.centroids_ = kmeans.cluster_centers_  # (2, F)
        assign = kmeans.labels_
        yy = None if y is None else np.asarray(y).reshape(-1)
        if yy is not None and (yy.size != x.shape[0] or not np.isin(yy, (-1, 0, 1)).all()):
            raise GanscopeError("y must hold -1 (unlabelled), 0 (real) or 1 (fake) per image")
        fake_cluster = None
        if yy is not None and (yy >= 0).any():
            score = np.zeros(2)
            for cls, sign in ((1, 1.0), (0, -1.0)):
                members = assign[yy == cls]
                if members.size:
                    score += sign * np.bincount(members, minlength=2) / members.size
            if score[0] != score[1]:
                fake_cluster, self.naming_ = int(np.argmax(score)), "labels"
        if fake_cluster is None:
            counts = np.bincount(assign, minlength=2)
            fake_cluster = int(np.argmin(counts)) if counts[0] != counts[1] else 1
            self.naming_ = "smaller-cluster"
            warnings.warn(
                "SpectralKMeans: no labelled image decides which cluster is fake; the smaller "
                "cluster was called fake (a guess; give a few labels in y to name it)",
                UserWarning,
                stacklevel=2,
            )
        self.fake_cluster_ = fake_cluster
        self.input_size_ = (int(x.shape[-2]), int(x.shape[-1]))
        self.classes_ = np.array([0, 1])
        self.threshold_ = 0.5
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(N, 2)`` from relative centroid distances (see the class docstring)."""
        check_is_fitted(self, "centroids_")
        x = _fixed_size(as_images(X), self.input_size_)
        F = spectral_features(x, self.features, bins=self.bins, preset=self.preset)
        Z = self.scaler_.transform(F)
        d = np.linalg.norm(Z[:, None, :] - self.centroids_[None], axis=2)  # (N, 2)
        d_fake = d[:, self.fake_cluster_]
        d_real = d[:, 1 - self.fake_cluster_]
        total = d_fake + d_real
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(total > 0, d_real / total, 0.5)
        return np.column_stack([1.0 - p, p])

    def _get_fitted_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {"centroids": torch.from_numpy(self.centroids_.copy())}
        state = {
            "scaler": encode_state(self.scaler_, tensors, "scaler"),
            "fake_cluster": self.fake_cluster_,
            "naming": self.naming_,
            "input_size": list(self.input_size_),
        }
        return tensors, state

    def _set_fitted_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        self.scaler_ = decode_state(state["scaler"], tensors)
        self.centroids_ = tensors["centroids"].numpy().astype(np.float64)
        self.fake_cluster_ = int(state["fake_cluster"])
        self.naming_ = state["naming"]
        self.input_size_ = tuple(state["input_size"])
        self.classes_ = np.array([0, 1])
        self.threshold_ = 0.5
