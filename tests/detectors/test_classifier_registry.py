"""The classifier registry: the contract of every registered learner (separation and save/load are
in ``test_spectral.py``, parametrized over the same registry), and a learner added in a test
reaching ``build_classifier``, ``SpectralDetector``, ``--method`` and a saved model."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from typing import Any

import pytest
import typer
from sklearn.base import clone
from typer.testing import CliRunner

import ganscope.cli.detector
from ganscope.detectors import (
    CLASSIFIERS,
    METHODS,
    Classifier,
    SpectralDetector,
    build_classifier,
    load_detector,
    register_classifier,
    training_methods,
)
from ganscope.detectors.settings import choices
from ganscope.errors import GanscopeError


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_every_classifier_builds_an_unfitted_seeded_learner(name, train_set):
    cls = CLASSIFIERS[name]
    assert issubclass(cls, Classifier) and cls.registry_name == name
    clf = build_classifier(name, C=0.5, seed=3)
    assert not [k for k in vars(clf) if k.endswith("_") and not k.startswith("_")]
    assert hasattr(clf, "predict_proba") or hasattr(clf, "decision_function")
    params = clf.get_params()
    if "random_state" in params:
        assert params["random_state"] == 3
    assert clone(clf).get_params() == params
    det = SpectralDetector("azimuthal", name, bins=12).fit(*train_set)
    p = det.predict_proba(train_set[0])
    assert p.shape == (len(train_set[1]), 2) and ((p >= 0) & (p <= 1)).all()


def test_methods_are_the_classifiers_then_kmeans_and_cnn():
    assert training_methods() == (*CLASSIFIERS, "kmeans", "cnn") == METHODS
    assert choices()["method"] == training_methods()
    app = typer.Typer(rich_markup_mode=None)  # click's plain help, as ganscope's own app
    app.add_typer(importlib.reload(ganscope.cli.detector).detector_app, name="detector")
    text = CliRunner().invoke(app, ["detector", "train", "--help"], terminal_width=200).output
    assert f"--method <{'|'.join(training_methods())}>" in text


def test_unknown_and_duplicate_names():
    with pytest.raises(GanscopeError, match="unknown classifier 'xgboost'; choose from logreg"):
        build_classifier("xgboost")
    with pytest.raises(ValueError, match="already registered"):
        register_classifier("logreg")(type("Again", (Classifier,), {}))


def test_the_cli_reads_no_scikit_learn_at_start_up():
    code = "import sys, ganscope.cli.detector; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class _Stump(Classifier):
    """A toy learner: a depth-1 decision tree (a type the model format already stores)."""

    def build(self, *, C: float, seed: int) -> Any:
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(max_depth=1, random_state=seed)


@pytest.fixture
def toy_classifier():
    register_classifier("toy-stump")(_Stump)
    try:
        yield "toy-stump"
    finally:
        del CLASSIFIERS["toy-stump"]
        importlib.reload(ganscope.cli.detector)  # the choices without the toy again


def test_a_registered_classifier_is_found_everywhere(toy_classifier, image_folders, tmp_path):
    assert type(build_classifier(toy_classifier)).__name__ == "DecisionTreeClassifier"
    assert toy_classifier in training_methods() and toy_classifier in choices()["method"]
    cli = importlib.reload(ganscope.cli.detector)
    app = typer.Typer()
    app.add_typer(cli.detector_app, name="detector")
    runner = CliRunner()
    result = runner.invoke(app, ["detector", "train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and toy_classifier in result.output
    out = tmp_path / "stump"
    args = ["detector", "train", "--real", image_folders / "real", "--fake", image_folders / "gan2",
            "--method", toy_classifier, "--out", out]  # fmt: skip
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["settings"]["classifier"] == "toy-stump"
    det = load_detector(out)
    assert type(det) is SpectralDetector and det.classifier == toy_classifier
