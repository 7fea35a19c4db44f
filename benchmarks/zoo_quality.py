"""Tabulate the shipped zoo's quality numbers (issue 10's bar) into RESULTS-zoo.md.

    python benchmarks/zoo_quality.py [--study-minutes M --study-command CMD]

Reads every entry's ``quality.json`` (written by ``scripts/make_zoo.py``: 500 samples against 500
held-out crops, each number beside its real-vs-real value) and checks issue 10's bar: diversity
>= 0.7, near-duplicate pairs <= 1%, nearest-training ratio 0.7-1.3. No timing is measured here;
the quick study's wall time, measured with ``time``, can be recorded beside it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganscope.zoo import zoo_entries

HERE = Path(__file__).parent
BAR = {"diversity": 0.7, "near_duplicates": 0.01, "nn_ratio": (0.7, 1.3)}


def meets_bar(q: dict) -> bool:
    lo, hi = BAR["nn_ratio"]
    return (
        q["diversity"] >= BAR["diversity"]
        and q["near_duplicates"] <= BAR["near_duplicates"]
        and lo <= q["nn_ratio"] <= hi
    )


def table() -> str:
    rows = [
        "| entry | family | upsampler | steps | diversity | near-dup | NN ratio (real) | "
        "precision (real) | recall (real) | SWD (real) | bar |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for e in zoo_entries():
        q = e.quality
        if not q or "nn_ratio" not in q:
            continue
        rows.append(
            f"| {e.name} | {e.family} | {e.upsampler} | {e.steps} | {q['diversity']:.2f} | "
            f"{q['near_duplicates']:.2%} | {q['nn_ratio']:.2f} ({q['nn_ratio_real']:.2f}) | "
            f"{q['precision']:.2f} ({q['precision_real']:.2f}) | "
            f"{q['recall']:.2f} ({q['recall_real']:.2f}) | {q['swd']:.0f} ({q['swd_real']:.0f}) | "
            f"{'met' if meets_bar(q) else 'missed'} |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--study-minutes", type=float, default=None)
    ap.add_argument("--study-command", default="time ganscope study --profile quick --out DIR")
    ap.add_argument(
        "--study-machine", default="the idle 2-core machine", help="what else ran beside it"
    )
    args = ap.parse_args()
    lines = [
        "# The shipped zoo's quality (`benchmarks/zoo_quality.py`)",
        "",
        "Each entry: 500 samples against 500 held-out 32x32 crops of the built-in corpus "
        "(`ganscope gan quality zoo:NAME --real test32/`), real-vs-real values in brackets. "
        "Issue 10's bar: diversity >= 0.7, near-duplicate pairs <= 1%, nearest-training ratio "
        "0.7-1.3. `zoo:scenes` is measured against scene renders, not photos (see README).",
        "",
        table(),
    ]
    if args.study_minutes is not None:
        lines += [
            "",
            f"Quick study wall time: {args.study_minutes:.1f} minutes on {args.study_machine} "
            f"(`{args.study_command}`; issue 10 asks for at most 10).",
        ]
    (HERE / "RESULTS-zoo.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
