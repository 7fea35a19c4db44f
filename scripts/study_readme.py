"""Print the pieces of README.md's "Results of our run" that come from a study's results.json:
the report's answers (one bullet each) and the transfer tables of the azimuthal logistic
regression and the CNN on NPR residuals, with their mean off-diagonal AP; and copy the figures the
README shows into docs/figures/.

    python scripts/study_readme.py runs/quick-25              # print the Markdown
    python scripts/study_readme.py runs/quick-25 --figures    # and copy the figures
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("quality", "samples", "azimuthal", "spectra_diff", "transfer_azimuthal_logreg",
           "transfer_cnn-npr", "robustness")  # fmt: skip
TABLES = (
    ("azimuthal + logistic regression", {"detector": "spectral", "features": "azimuthal",
                                          "classifier": "logreg"}),
    ("CNN on NPR residuals", {"detector": "cnn", "input": "npr"}),
)  # fmt: skip


def transfer_table(matrix: dict[str, dict[str, dict]], order: list[str]) -> str:
    """A Markdown AP table (rows trained on, columns tested on) and its mean off-diagonal AP."""
    rows = [
        "| trained on ↓ / tested on → | " + " | ".join(order) + " |",
        "|---|" + "---:|" * len(order),
    ]
    off = []
    for a in order:
        cells = []
        for b in order:
            ap = matrix[a][b]["ap"]
            cells.append(f"{ap:.2f}")
            if a != b:
                off.append(ap)
        rows.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + f"\n\nmean off-diagonal {sum(off) / len(off):.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("run", type=Path, help="a finished study folder (with results.json)")
    ap.add_argument("--figures", action="store_true", help="copy its figures to docs/figures/")
    args = ap.parse_args(argv)
    path = args.run / "results.json"
    if not path.is_file():
        print(f"error: {path} not found (run the study first)", file=sys.stderr)
        return 2
    from ganscope.study.questions import StudyResults, answer_questions

    results = json.loads(path.read_text())
    r = StudyResults(results)
    for title, sentence in answer_questions(results):
        print(f"- **{title}** {sentence}")
    for label, spec in TABLES:
        name = r.find(**spec)
        if name is None:
            continue
        print(f"\n**{label}** (rows: trained on; columns: tested on; AP)\n")
        print(transfer_table(r.transfer[name], r.upsamplers))
    seconds = results.get("seconds_this_run")
    if seconds is not None:
        print(f"\nthis run: {seconds / 60:.1f} minutes; generators: {', '.join(r.upsamplers)}")
    if args.figures:
        for fig in FIGURES:
            shutil.copy2(args.run / "figures" / f"{fig}.png", ROOT / "docs" / "figures" /
                         f"study_{fig}.png")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
