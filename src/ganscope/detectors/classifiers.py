"""Classical learners on spectral features, registered by name: ``SpectralDetector(classifier=)``
and the ``--method`` of ``ganscope detector train`` (with ``kmeans`` and ``cnn``) read
:data:`CLASSIFIERS`.

Durall, Keuper & Keuper (CVPR 2020, sec. 4) fit a logistic regression and SVMs on the azimuthal
profile. A new learner is
one :class:`Classifier` subclass decorated with ``@register_classifier("name")`` (here, or in a
module imported by ``detectors/__init__.py``). Its ``build`` returns an unfitted scikit-learn
classifier; to be saved with ``save_detector`` that class must be one
:mod:`ganscope.detectors.sklearn_state` encodes (logistic regression, SVMs, trees, forests, MLPs),
since models are never pickled. scikit-learn is imported inside ``build``: this module is read at
the command line's start-up, which must not pay for scikit-learn's two seconds.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ganscope.errors import GanscopeError
from ganscope.registry import Registry

__all__ = [
    "CLASSIFIERS",
    "Classifier",
    "build_classifier",
    "register_classifier",
    "training_methods",
]

CLASSIFIERS = Registry("classifier")
"""Registered learners: name → :class:`Classifier` subclass (in registration order)."""

register_classifier = CLASSIFIERS.register
"""Class decorator adding a :class:`Classifier` to :data:`CLASSIFIERS` (twice raises)."""

OTHER_METHODS = ("kmeans", "cnn")
"""``detector train --method`` names that are not classifiers on features: Durall et al.'s
2-means (:class:`~ganscope.detectors.SpectralKMeans`) and
:class:`~ganscope.detectors.CNNDetector`."""


class Classifier:
    """A learner of :class:`~ganscope.detectors.SpectralDetector`: subclass, implement
    :meth:`build`, register.

    ``build(C=, seed=)`` returns an unfitted scikit-learn classifier. ``C`` is the inverse
    regularization strength (ignore it where it means nothing); ``seed`` fixes its randomness.
    P(fake) is ``predict_proba``'s column of class 1 where the classifier has one, else the
    sigmoid of ``decision_function`` (the SVMs, see ``SpectralDetector``).
    """

    registry_name: ClassVar[str] = ""

    def build(self, *, C: float, seed: int) -> Any:
        raise NotImplementedError


@register_classifier("logreg")
class LogReg(Classifier):
    """L2-regularized logistic regression (Durall et al. 2020)."""

    def build(self, *, C: float, seed: int) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, max_iter=5000, random_state=seed)


@register_classifier("svm-linear")
class LinearSVM(Classifier):
    """A linear-kernel support vector machine (Durall et al. 2020)."""

    def build(self, *, C: float, seed: int) -> Any:
        from sklearn.svm import SVC

        return SVC(kernel="linear", C=C, random_state=seed)


@register_classifier("svm-rbf")
class RBFSVM(Classifier):
    """A Gaussian-kernel support vector machine, ``gamma="scale"``."""

    def build(self, *, C: float, seed: int) -> Any:
        from sklearn.svm import SVC

        return SVC(kernel="rbf", C=C, gamma="scale", random_state=seed)


@register_classifier("random-forest")
class RandomForest(Classifier):
    """100 trees (Breiman 2001); ``C`` is not used."""

    def build(self, *, C: float, seed: int) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, random_state=seed)


@register_classifier("mlp")
class MLP(Classifier):
    """One hidden layer of 64 ReLUs, weight decay ``alpha=1e-3``; ``C`` is not used."""

    def build(self, *, C: float, seed: int) -> Any:
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=2000, random_state=seed)


def build_classifier(name: str, *, C: float = 1.0, seed: int = 0) -> Any:
    """The unfitted scikit-learn learner registered as ``name``.

    Raises:
        GanscopeError: ``name`` is not registered.

    Example:
        >>> type(build_classifier("logreg")).__name__
        'LogisticRegression'
    """
    if name not in CLASSIFIERS:
        raise GanscopeError(f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}")
    return CLASSIFIERS[name]().build(C=C, seed=seed)


def training_methods() -> tuple[str, ...]:
    """The ``--method`` names of ``ganscope detector train``: every registered classifier (a
    :class:`~ganscope.detectors.SpectralDetector`), then ``kmeans`` and ``cnn``."""
    return (*CLASSIFIERS, *OTHER_METHODS)
