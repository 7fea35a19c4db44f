"""Spectral detectors: separation, chance level, scikit-learn compatibility, save/load."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ganscope.detectors import (
    CLASSIFIERS,
    SpectralDetector,
    SpectralFeatureExtractor,
    SpectralKMeans,
    load_detector,
    save_detector,
)
from ganscope.errors import GanscopeError
from ganscope.metrics import average_precision

CHANCE_TOLERANCE = 0.12  # |AP - 0.5| on 200 + 200 identical images: ~3 standard deviations


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_each_classifier_separates_checkerboard(classifier, train_set, test_set):
    X, y = train_set  # 20 + 20 training images, as Durall et al.'s smallest setting
    Xt, yt = test_set
    det = SpectralDetector("azimuthal", classifier).fit(X, y)
    p = det.predict_proba(Xt)
    assert p.shape == (len(yt), 2)
    np.testing.assert_allclose(p.sum(1), 1.0)
    assert average_precision(yt, p[:, 1]) > 0.95
    assert (det.predict(Xt) == yt).mean() > 0.85


@pytest.mark.parametrize("features", ["azimuthal", "dct"])
def test_features_separate_checkerboard(features, train_set, test_set):
    det = SpectralDetector(features, "logreg").fit(*train_set)
    Xt, yt = test_set
    assert average_precision(yt, det.predict_proba(Xt)[:, 1]) > 0.95


@pytest.mark.parametrize("features", ["projections", "fft2d"])
def test_weaker_features_run_and_beat_chance(features, train_set, test_set):
    # The projections average the Nyquist peak over a whole row, fft2d has 1024 noisy dimensions
    # for 40 images: weaker on this signal, but better than chance.
    det = SpectralDetector(features, "svm-linear").fit(*train_set)
    Xt, yt = test_set
    assert average_precision(yt, det.predict_proba(Xt)[:, 1]) > 0.55


@pytest.mark.parametrize("classifier", ["logreg", "svm-rbf", "random-forest"])
def test_chance_level_on_identical_sources(classifier, identical_train, identical_test):
    det = SpectralDetector("azimuthal", classifier).fit(*identical_train)
    Xt, yt = identical_test
    assert abs(average_precision(yt, det.predict_proba(Xt)[:, 1]) - 0.5) < CHANCE_TOLERANCE


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_save_load_gives_identical_probabilities(classifier, train_set, test_set, tmp_path):
    det = SpectralDetector("azimuthal", classifier, bins=16).fit(*train_set)
    save_detector(det, tmp_path / "model")
    assert (tmp_path / "model" / "model.safetensors").exists()
    again = load_detector(tmp_path / "model")
    assert type(again) is SpectralDetector and again.get_params() == det.get_params()
    Xt, _ = test_set
    np.testing.assert_array_equal(again.predict_proba(Xt), det.predict_proba(Xt))


def test_no_pickle_in_model_folder(train_set, tmp_path):
    det = SpectralDetector("azimuthal", "random-forest").fit(*train_set)
    save_detector(det, tmp_path / "m")
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["config.json", "model.safetensors"]


def test_grid_search_and_pipeline(train_set, test_set):
    X, y = train_set
    grid = GridSearchCV(
        SpectralDetector("azimuthal"),
        {"classifier": ["logreg", "svm-linear"], "C": [0.1, 1.0]},
        cv=2,
    ).fit(X, y)
    assert grid.best_score_ > 0.9
    Xt, yt = test_set
    assert average_precision(yt, grid.predict_proba(Xt)[:, 1]) > 0.95
    scores = cross_val_score(SpectralDetector(), X, y, cv=2, scoring="average_precision")
    assert scores.min() > 0.9
    features = SpectralFeatureExtractor("azimuthal")
    pipe = make_pipeline(features, StandardScaler(), LogisticRegression())
    pipe.fit(X, y)
    assert average_precision(yt, pipe.predict_proba(Xt)[:, 1]) > 0.95
    assert clone(pipe).get_params()["spectralfeatureextractor__kind"] == "azimuthal"


def test_numpy_input_equals_tensor_input(train_set, test_set):
    X, y = train_set
    Xt, _ = test_set
    a = SpectralDetector().fit(X, y).predict_proba(Xt)
    b = SpectralDetector().fit(X.numpy(), y).predict_proba(Xt.numpy())
    np.testing.assert_allclose(a, b)


def test_larger_images_are_centre_cropped_smaller_refused(train_set):
    X, y = train_set
    det = SpectralDetector().fit(X, y)
    big = torch.nn.functional.pad(X[:4], (2, 2, 2, 2), value=0.5)  # 36x36, centre = original
    np.testing.assert_allclose(det.predict_proba(big), det.predict_proba(X[:4]))
    with pytest.raises(GanscopeError, match="smaller"):
        det.predict_proba(X[:4, :, :16, :16])


def test_bad_inputs_raise(train_set):
    X, y = train_set
    with pytest.raises(GanscopeError):
        SpectralDetector(features="wavelets").fit(X, y)
    with pytest.raises(GanscopeError):
        SpectralDetector(classifier="xgboost").fit(X, y)
    with pytest.raises(GanscopeError, match="both"):
        SpectralDetector().fit(X, np.zeros(len(y)))
    with pytest.raises(GanscopeError, match=r"\[0, 1\]"):
        SpectralDetector().fit(X * 255, y)
    with pytest.raises(GanscopeError, match="shape"):
        SpectralDetector().fit(X[:, 0], y)


# -- SpectralKMeans ---------------------------------------------------------------------------
@pytest.mark.parametrize("features", ["azimuthal", "dct"])
def test_kmeans_named_by_a_few_labels(features, train_set, test_set):
    X, y = train_set
    partial = np.full_like(y, -1)
    first_real = int(np.flatnonzero(y == 0)[0])
    first_fake = int(np.flatnonzero(y == 1)[0])
    partial[[first_real, first_fake]] = y[[first_real, first_fake]]
    det = SpectralKMeans(features).fit(X, partial)
    assert det.naming_ == "labels"
    Xt, yt = test_set
    assert average_precision(yt, det.predict_proba(Xt)[:, 1]) > 0.95


def test_kmeans_without_labels_calls_the_smaller_cluster_fake(test_set):
    Xt, yt = test_set
    keep = np.r_[np.flatnonzero(yt == 0), np.flatnonzero(yt == 1)[:10]]  # 40 real, 10 fake
    with pytest.warns(UserWarning, match="smaller cluster"):
        det = SpectralKMeans().fit(Xt[torch.from_numpy(keep)])
    assert det.naming_ == "smaller-cluster"
    assert average_precision(yt[keep], det.predict_proba(Xt[torch.from_numpy(keep)])[:, 1]) > 0.95


def test_kmeans_chance_and_save_load(identical_train, identical_test, train_set, tmp_path):
    Xi, yi = identical_train
    det = SpectralKMeans().fit(Xi, yi)
    Xt, yt = identical_test
    assert abs(average_precision(yt, det.predict_proba(Xt)[:, 1]) - 0.5) < CHANCE_TOLERANCE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted = SpectralKMeans(standardize=True).fit(train_set[0])
    save_detector(fitted, tmp_path / "km")
    again = load_detector(tmp_path / "km")
    np.testing.assert_array_equal(again.predict_proba(Xt), fitted.predict_proba(Xt))
