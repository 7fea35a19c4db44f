"""The detector registry and scikit-learn estimator conventions, for every registered detector."""

from __future__ import annotations

import pytest
from sklearn.base import clone

from ganscope.detectors import (
    DETECTORS,
    METHODS,
    BaseDetector,
    create_detector,
    detector_for_method,
    register_detector,
)
from ganscope.errors import GanscopeError


def test_registry_names():
    assert set(DETECTORS) == {"spectral", "spectral-kmeans", "cnn"}


def test_duplicate_name_raises():
    with pytest.raises(ValueError, match="already registered"):

        @register_detector("spectral")
        class Again(BaseDetector):
            pass


def test_unknown_name_is_bad_usage():
    with pytest.raises(GanscopeError, match="unknown detector"):
        create_detector("nope")


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_clone_and_get_params(name):
    det = create_detector(name, seed=7)
    params = det.get_params()
    assert params["seed"] == 7
    twin = clone(det)
    assert twin is not det
    assert twin.get_params() == params
    twin.set_params(seed=3)
    assert twin.get_params()["seed"] == 3 and det.get_params()["seed"] == 7


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_init_stores_settings_only(name):
    det = create_detector(name)
    assert not [k for k in vars(det) if k.endswith("_")], "no learned state before fit"


@pytest.mark.parametrize("method", METHODS)
def test_every_cli_method_builds_a_detector(method):
    assert isinstance(detector_for_method(method), BaseDetector)
    with pytest.raises(GanscopeError):
        detector_for_method("bogus")
