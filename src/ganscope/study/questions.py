"""The study's questions: each one registered function from the results to one sentence.

The report asks every question of :data:`QUESTIONS`, in registration order, and prints each
answer under its title. Adding a question is writing one function here and decorating it::

    @study_question("detectors-agree", "Do the detectors agree?")
    def _detectors_agree(r: StudyResults) -> Answer | None:
        ...
        return Answer(f"... {value:.3f} ...", sources=r.upsamplers)

A question returns ``None`` when this study's results cannot answer it (a profile without the
detectors it needs). Its :class:`Answer` names the generators whose numbers the sentence rests on
(``sources``); :func:`answer_questions` appends a caveat naming those that
:func:`broken_generators` flags, so no sentence draws a conclusion from a collapsed or
unrealistic generator without saying so. Detectors are found by what they are
(:meth:`StudyResults.find`, from ``results["detectors"]``), not by matching their names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ALL = "all"


# --- the numbers every question reads ----------------------------------------------------------


def mean_ap(row: dict[str, dict], *, only: str | None = None) -> float:
    """Mean AP of one row of a transfer matrix (``nan`` if empty)."""
    vals = [
        v["ap"] for k, v in row.items() if v.get("ap") is not None and (only is None or k == only)
    ]
    return float(np.mean(vals)) if vals else float("nan")


def diagonal(table: dict[str, dict]) -> dict[str, float]:
    """AP of each generator's detector on its own generator's held-out fakes."""
    return {s: table[s][s]["ap"] for s in table if s in table[s] and table[s][s]["ap"] is not None}


def off_diagonal(table: dict[str, dict]) -> float:
    """Mean AP of detectors trained on one generator and tested on another."""
    vals = [
        v["ap"]
        for tr, row in table.items()
        if tr != ALL
        for te, v in row.items()
        if te != tr and v["ap"] is not None
    ]
    return float(np.mean(vals)) if vals else float("nan")


def broken_generators(quality: dict[str, dict]) -> dict[str, str]:
    """Generators whose samples are collapsed or unlike any real patch, with the reason."""
    out = {}
    for name, q in quality.items():
        if "diversity" not in q:
            continue
        if q["collapsed"]:
            out[name] = (
                f"collapsed (diversity {q['diversity']:.2f} of real, "
                f"{q['near_duplicates']:.0%} near-duplicate pairs)"
            )
        elif q["unrealistic"]:
            out[name] = (
                f"unrealistic (nearest-training distance {q['nn_ratio']:.2f}x that of real crops)"
            )
    return out


class StudyResults:
    """Read access to ``results.json`` for the questions.

    Attributes:
        raw: the results dict itself.
        upsamplers: the generators' source names, in the study's order.
        transfer: detector name -> transfer matrix.
        broken: :func:`broken_generators` of the quality stage.
    """

    def __init__(self, results: dict[str, Any]) -> None:
        self.raw = results
        self.upsamplers: list[str] = list(results.get("upsamplers", []))
        self.transfer: dict[str, dict] = results.get("transfer", {})
        self.broken = broken_generators(results.get("quality") or {})

    def find(self, **spec: Any) -> str | None:
        """The first detector whose description (``results["detectors"]``: ``detector``,
        ``features``, ``classifier``, ``input``, ...) matches every ``spec`` item, and whose
        transfer matrix exists; ``None`` if none does."""
        for name, desc in self.raw.get("detectors", {}).items():
            if name in self.transfer and all(desc.get(k) == v for k, v in spec.items()):
                return name
        return None

    def where(self, test: Callable[[dict[str, Any]], bool]) -> list[str]:
        """Every detector with a transfer matrix whose description passes ``test``."""
        return [
            name
            for name, desc in self.raw.get("detectors", {}).items()
            if name in self.transfer and test(desc)
        ]

    def variants(self) -> list[dict[str, Any]]:
        """The generators' variant settings (``name``, ``upsample``, ``spectral_reg``, ...)."""
        return list(self.raw.get("settings", {}).get("profile", {}).get("variants", []))


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One sentence and the generators whose numbers it rests on."""

    text: str
    sources: tuple[str, ...] | list[str] = ()


@dataclass(frozen=True)
class Question:
    """A registered question: its name, its title on the page and the function that answers."""

    name: str
    title: str
    answer: Callable[[StudyResults], Answer | None]


QUESTIONS: dict[str, Question] = {}
"""Every study question by name, in the order the report asks them."""


def study_question(
    name: str, title: str
) -> Callable[[Callable[[StudyResults], Answer | None]], Callable[[StudyResults], Answer | None]]:
    """Decorator: register ``fn(results) -> Answer | None`` as the question ``title``.

    Raises:
        ValueError: ``name`` is already registered (a programming error).
    """

    def deco(fn: Callable[[StudyResults], Answer | None]) -> Callable[..., Answer | None]:
        if name in QUESTIONS:
            raise ValueError(f"study question {name!r} is already registered")
        QUESTIONS[name] = Question(name, title, fn)
        return fn

    return deco


def caveat(answer: Answer, broken: dict[str, str]) -> str:
    """The sentence that warns about the broken generators ``answer`` rests on ('' if none)."""
    hit = [s for s in answer.sources if s in broken]
    if not hit:
        return ""
    if len(hit) > 4:
        of = "all" if len(hit) == len(answer.sources) else f"{len(hit)} of"
        return f" Caveat: {of} {len(answer.sources)} generators behind this are broken."
    verdicts = ", ".join(f"{s} {broken[s].split(' (')[0]}" for s in hit)
    return f" Caveat: this rests on broken generators ({verdicts})."


def answer_questions(
    results: dict[str, Any], questions: Sequence[Question] | None = None
) -> list[tuple[str, str]]:
    """``(title, sentence)`` for every question these results answer, each sentence followed by
    its :func:`caveat`."""
    r = StudyResults(results)
    out = []
    for q in QUESTIONS.values() if questions is None else questions:
        answer = q.answer(r)
        if answer is not None:
            out.append((q.title, answer.text + caveat(answer, r.broken)))
    return out


# --- the questions (lab task of seed 002, Durall et al. 2020; Wang et al. 2020) ----------------


def _baseline(r: StudyResults) -> str | None:
    """Durall et al.'s detector: azimuthal profile + logistic regression."""
    return r.find(detector="spectral", features="azimuthal", classifier="logreg")


@study_question("generators-worth-studying", "Are the generators worth studying?")
def _worth_studying(r: StudyResults) -> Answer | None:
    if not r.broken:
        return None
    # The verdict itself: it names every broken generator, so it needs no caveat.
    return Answer(
        "Not all of them: "
        + "; ".join(f"{n} is {why}" for n, why in r.broken.items())
        + ". Every finding below that involves these generators describes broken "
        "training as much as the upsampler."
    )


@study_question(
    "detection-per-upsampler", "Is the detection approach working for other upsampling approaches?"
)
def _per_upsampler(r: StudyResults) -> Answer | None:
    base = _baseline(r)
    if base is None:
        return None
    diag = diagonal(r.transfer[base])
    worst = min(diag, key=diag.get) if diag else None
    txt = ", ".join(f"{k} {v:.2f}" for k, v in diag.items())
    return Answer(
        f"Azimuthal spectrum + logistic regression, trained and tested per upsampler, reaches "
        f"AP {txt} (lowest: {worst}).",
        sources=list(diag),
    )


@study_question(
    "projections-vs-azimuthal",
    "Can you get better results using vertical and horizontal projections instead of radial ones?",
)
def _projections(r: StudyResults) -> Answer | None:
    base = _baseline(r)
    proj = r.find(detector="spectral", features="projections", classifier="logreg")
    if base is None or proj is None:
        return None
    a, p = diagonal(r.transfer[base]), diagonal(r.transfer[proj])
    ma, mp = float(np.mean(list(a.values()))), float(np.mean(list(p.values())))
    better = "better" if mp > ma + 0.005 else "worse" if mp < ma - 0.005 else "about as good"
    return Answer(
        f"Projections are {better}: mean per-upsampler AP {mp:.3f} with projections vs {ma:.3f} "
        f"with the azimuthal profile (logistic regression); in transfer to other upsamplers "
        f"{off_diagonal(r.transfer[proj]):.3f} vs {off_diagonal(r.transfer[base]):.3f}.",
        sources=r.upsamplers,
    )


def _is_network(desc: dict[str, Any]) -> bool:
    """A CNN detector, or a spectral detector whose classifier is a neural network (MLP)."""
    return desc.get("detector") == "cnn" or desc.get("classifier") == "mlp"


@study_question("neural-network", "Using a neural network?")
def _neural(r: StudyResults) -> Answer | None:
    base = _baseline(r)
    nets = r.where(_is_network)
    if base is None or not nets:
        return None
    parts = []
    for k in nets:
        t = r.transfer[k]
        parts.append(f"{k} {mean_ap(t.get(ALL) or next(iter(t.values()))):.3f}")
    transfers = [f"{k} {off_diagonal(r.transfer[k]):.3f}" for k in nets if len(r.transfer[k]) > 2]
    if transfers:
        parts.append(
            "and trained on one upsampler, tested on the others: "
            + ", ".join(transfers)
            + f" (azimuthal logistic regression {off_diagonal(r.transfer[base]):.3f})"
        )
    ref_row = r.transfer[base].get(ALL) or next(iter(r.transfer[base].values()))
    return Answer(
        f"Mean AP over all test upsamplers when trained on all of them (azimuthal logistic "
        f"regression: {mean_ap(ref_row):.3f}): {', '.join(parts)}.",
        sources=r.upsamplers,
    )


@study_question(
    "per-upsampler-or-all", "Train per upsampling method, or one setting for all (balanced)?"
)
def _per_or_all(r: StudyResults) -> Answer | None:
    base = _baseline(r)
    if base is None or ALL not in r.transfer[base]:
        return None
    diag = diagonal(r.transfer[base])
    all_row = r.transfer[base][ALL]
    per = float(np.mean(list(diag.values())))
    one = float(np.mean([all_row[s]["ap"] for s in diag]))
    return Answer(
        f"One detector trained on all upsamplers (balanced) scores mean AP {one:.3f} across them, "
        f"against {per:.3f} for a separate detector per upsampler (azimuthal + logistic "
        "regression).",
        sources=list(diag),
    )


@study_question("transfer", "Does a classifier transfer from one generator to another?")
def _transfer(r: StudyResults) -> Answer | None:
    base = _baseline(r)
    if base is None or len(r.upsamplers) < 2:
        return None
    table = r.transfer[base]
    hardest = None
    for tr in r.upsamplers:
        for te in r.upsamplers:
            if tr != te and tr in table:
                v = table[tr][te]["ap"]
                if v is not None and (hardest is None or v < hardest[2]):
                    hardest = (tr, te, v)
    tail = (
        f"; the hardest transfer is {hardest[0]} -> {hardest[1]} (AP {hardest[2]:.2f})"
        if hardest
        else ""
    )
    return Answer(
        f"Trained on one upsampler and tested on the others, the azimuthal logistic regression "
        f"averages AP {off_diagonal(table):.3f}{tail}.",
        sources=r.upsamplers,
    )


@study_question("few-shot", "How many labelled images does the spectral detector need?")
def _few_shot(r: StudyResults) -> Answer | None:
    few = r.raw.get("few_shot")
    if not few:
        return None
    means = {n: float(np.mean([v for v in row.values() if v is not None]))
             for n, row in few.items()}  # fmt: skip
    return Answer(
        "Mean AP over upsamplers by training-set size: "
        + ", ".join(f"{n}: {v:.3f}" for n, v in means.items())
        + ".",
        sources=list(next(iter(few.values()))),
    )


@study_question("robustness", "How robust is detection to blur and JPEG at test time?")
def _robustness(r: StudyResults) -> Answer | None:
    robust = r.raw.get("robustness")
    if not robust:
        return None
    parts = []
    for det, rows in robust.items():
        clean = next(x for x in rows if x["degradation"] == "none")["ap"]
        worst = min(rows, key=lambda x: x["ap"] if x["ap"] is not None else 1.0)
        parts.append(
            f"{det} AP {clean:.2f} clean, {worst['ap']:.2f} at {worst['degradation']} "
            f"{worst['level']:g}"
        )
    return Answer("; ".join(parts) + ".", sources=r.upsamplers)  # all fakes pooled


@study_question("spectral-fixes", "What do the spectral fixes buy and cost?")
def _spectral_fixes(r: StudyResults) -> Answer | None:
    q = r.raw.get("quality") or {}
    variants = {v["name"]: v for v in r.variants() if v["name"] in q}
    # The plain generator of an upsampler is named after it (``transposed``), a fix is not.
    plain = {v["upsample"]: n for n, v in variants.items() if n == v["upsample"]
             and not v.get("spectral_reg") and not v.get("spectral_disc")}  # fmt: skip
    parts, sources = [], []
    for n, v in variants.items():
        base = plain.get(v["upsample"])
        if base is None or base == n or not (v.get("spectral_reg") or v.get("spectral_disc")):
            continue  # no fix: another family with the same upsampler is not a fix of it
        zoo = {g: (r.raw.get("generators", {}).get(g) or {}).get("zoo") for g in (n, base)}
        if bool(zoo[n]) != bool(zoo[base]):  # one shipped (trained for hours), one here: unequal
            which = base if zoo[base] else n
            parts.append(
                f"{n} cannot be compared with {base}: {which} comes from the zoo "
                f"(zoo:{zoo[which]}, trained far longer), the other was trained here"
            )
            continue
        t = q[base]
        parts.append(
            f"{n}: spectral distance {q[n]['spectral_distance']:.2f} (plain "
            f"{t['spectral_distance']:.2f}), SWD x1e3 {q[n]['swd'] * 1e3:.1f} (plain "
            f"{t['swd'] * 1e3:.1f})"
        )
        sources += [n, base]
    if not parts:
        return None
    text = "; ".join(parts) + "."
    ref = next(iter(q.values()), {})
    if sources and "spectral_distance_real" in ref and "swd_real" in ref:
        text += (
            f" Between two real sets (training and held-out crops) the spectral distance is "
            f"{ref['spectral_distance_real']:.2f} and SWD x1e3 {ref['swd_real'] * 1e3:.1f}."
        )
    return Answer(text, sources=tuple(dict.fromkeys(sources)))
