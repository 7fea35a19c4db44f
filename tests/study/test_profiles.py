"""Study profiles name registered features, classifiers and CNN inputs only."""

from __future__ import annotations

import dataclasses

import pytest

from ganscope.detectors import CLASSIFIERS
from ganscope.errors import GanscopeError
from ganscope.study import PROFILES


def test_profiles_name_registered_detectors_only():
    assert PROFILES["quick"].classifiers == tuple(CLASSIFIERS)
    with pytest.raises(GanscopeError, match="unknown classifier nope"):
        dataclasses.replace(PROFILES["tiny"], classifiers=("logreg", "nope"))
    names = [d.name for d in PROFILES["tiny"].detectors]
    assert names == ["azimuthal+logreg", "projections+logreg", "azimuthal+kmeans", "cnn-rgb"]
