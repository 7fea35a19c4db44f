"""Every registered study question answers on a small synthetic results dict, says nothing it
cannot back, and never draws a conclusion from a broken generator without saying so."""

from __future__ import annotations

import copy

import pytest

from ganscope.study.questions import (
    QUESTIONS,
    Answer,
    Question,
    StudyResults,
    answer_questions,
    broken_generators,
    caveat,
    study_question,
)

UPS = ["transposed", "nearest", "transposed+specreg"]


def _row(base: float) -> dict:
    return {te: {"ap": base - 0.1 * i, "accuracy": 0.8, "roc_auc": 0.9} for i, te in enumerate(UPS)}


def _results(*, broken: str | None = "nearest") -> dict:
    """Results of a made-up study: three generators, the baseline, projections, an MLP and a
    CNN, and ``broken`` collapsed."""
    table = {tr: _row(0.95) for tr in [*UPS, "all"]}
    detectors = {
        "azimuthal+logreg": {"detector": "spectral", "features": "azimuthal",
                             "classifier": "logreg"},
        "projections+logreg": {"detector": "spectral", "features": "projections",
                               "classifier": "logreg"},
        "azimuthal+mlp": {"detector": "spectral", "features": "azimuthal", "classifier": "mlp"},
        "cnn-rgb": {"detector": "cnn", "input": "rgb"},
    }  # fmt: skip
    quality = {
        n: {"swd": 0.01, "spectral_distance": 1.0, "diversity": 0.9, "near_duplicates": 0.0,
            "nn_ratio": 1.1, "collapsed": n == broken, "unrealistic": False}
        for n in UPS
    }  # fmt: skip
    variants = [
        {"name": n, "upsample": n, "spectral_reg": 0.0, "spectral_disc": False}
        for n in ("transposed", "nearest")
    ] + [
        {"name": "transposed+specreg", "upsample": "transposed", "spectral_reg": 0.01,
         "spectral_disc": False},
    ]  # fmt: skip
    return {
        "upsamplers": UPS,
        "settings": {"profile": {"variants": variants}},
        "detectors": detectors,
        "transfer": {name: copy.deepcopy(table) for name in detectors} | {
            "cnn-rgb": {"all": _row(0.99)}
        },
        "few_shot": {"20": {n: 0.9 for n in UPS}, "all": {n: 0.97 for n in UPS}},
        "robustness": {
            "azimuthal+logreg": [
                {"degradation": "none", "level": 0.0, "ap": 0.97},
                {"degradation": "jpeg", "level": 50.0, "ap": 0.7},
            ]
        },
        "quality": quality,
    }


@pytest.mark.parametrize("question", list(QUESTIONS.values()), ids=list(QUESTIONS))
def test_every_question_answers_a_synthetic_study(question: Question) -> None:
    answer = question.answer(StudyResults(_results()))
    assert isinstance(answer, Answer), question.name
    assert answer.text.endswith(".") and "nan" not in answer.text
    assert question.title.endswith("?")
    assert set(answer.sources) <= set(UPS)


@pytest.mark.parametrize("question", list(QUESTIONS.values()), ids=list(QUESTIONS))
def test_no_conclusion_from_a_broken_generator_unsaid(question: Question) -> None:
    results = _results(broken="nearest")
    text = dict(answer_questions(results, [question])).get(question.title)
    assert text is not None
    if "nearest" in text or "nearest" in question.answer(StudyResults(results)).sources:
        assert "nearest collapsed" in text or "nearest is collapsed" in text, text
    healthy = dict(answer_questions(_results(broken=None), [question])).get(question.title, "")
    assert "broken" not in healthy.lower() and "collapsed" not in healthy


@pytest.mark.parametrize("question", list(QUESTIONS.values()), ids=list(QUESTIONS))
def test_a_question_without_its_numbers_stays_silent(question: Question) -> None:
    # A profile that ran none of the detectors, stages or fixes a question reads.
    assert question.answer(StudyResults({"upsamplers": ["nearest"], "transfer": {}})) is None


def test_the_broken_verdict_comes_first_and_caveats_name_the_generators() -> None:
    titles = [t for t, _ in answer_questions(_results())]
    assert titles[0] == "Are the generators worth studying?"
    assert len(titles) == len(QUESTIONS)
    broken = broken_generators(_results()["quality"])
    assert caveat(Answer("x.", ("transposed",)), broken) == ""
    assert "nearest collapsed" in caveat(Answer("x.", ("nearest", "transposed")), broken)
    many = {f"g{i}": "collapsed (...)" for i in range(6)}
    assert "all 6 generators" in caveat(Answer("x.", tuple(many)), many)


def test_a_new_question_is_one_function_and_its_registration(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("ganscope.study.questions.QUESTIONS", dict(QUESTIONS))
    from ganscope.study import questions

    @study_question("how-many-detectors", "How many detectors were compared?")
    def _count(r):
        return Answer(f"{len(r.transfer)} detectors.", sources=r.upsamplers)

    assert dict(answer_questions(_results()))["How many detectors were compared?"].startswith(
        "4 detectors. Caveat:"
    )
    with pytest.raises(ValueError, match="already registered"):
        study_question("how-many-detectors", "Again?")(_count)
    assert "how-many-detectors" in questions.QUESTIONS



def test_a_fix_is_not_compared_with_a_zoo_generator_trained_far_longer() -> None:
    results = _results(broken=None)
    results["generators"] = {"transposed": {"zoo": "dcgan-transposed"},
                             "transposed+specreg": {"zoo": None}}  # fmt: skip
    (text,) = [t for title, t in answer_questions(results) if "spectral fixes" in title]
    assert "cannot be compared" in text and "zoo:dcgan-transposed" in text
    assert "spectral distance" not in text
    results["generators"]["transposed"]["zoo"] = None  # both trained here: compared
    (text,) = [t for title, t in answer_questions(results) if "spectral fixes" in title]
    assert "spectral distance 1.00 (plain 1.00)" in text
    results["generators"] = {"transposed": {"zoo": "dcgan-transposed"},
                             "transposed+specreg": {"zoo": "dcgan-transposed-specreg"}}  # fmt: skip
    (text,) = [t for title, t in answer_questions(results) if "spectral fixes" in title]
    assert "spectral distance 1.00 (plain 1.00)" in text  # both from the zoo: compared
    for v in results["quality"].values():
        v.update(spectral_distance_real=0.5, swd_real=0.002)
    (text,) = [t for title, t in answer_questions(results) if "spectral fixes" in title]
    assert "two real sets (training and held-out crops) the spectral distance is 0.50" in text


def test_another_family_with_the_same_upsampler_is_not_a_fix() -> None:
    results = _results(broken=None)
    results["settings"]["profile"]["variants"].append(
        {"name": "stylegan2-transposed", "upsample": "transposed"}
    )
    results["quality"]["stylegan2-transposed"] = dict(results["quality"]["transposed"])
    (text,) = [t for title, t in answer_questions(results) if "spectral fixes" in title]
    assert "stylegan2-transposed" not in text and "transposed+specreg" in text

