"""The self-contained ``report.html`` of the upsampling study.

Each question of the lab task (seed 002) is a registered entry of
:data:`ganscope.study.questions.QUESTIONS` that answers in one sentence with the numbers behind
it, computed from ``results.json``; figures come from :mod:`ganscope.study.figures` (spectra via
:mod:`ganscope.report.spectra`); nothing in the page is typed by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ganscope.report.html import HtmlReport
from ganscope.report.spectra import save_figure
from ganscope.study.figures import (
    few_shot_figure,
    quality_figure,
    robustness_figure,
    samples_figure,
    spectra_figures,
    transfer_figure,
)
from ganscope.study.questions import (
    ALL,
    StudyResults,
    answer_questions,
    broken_generators,
    diagonal,
    mean_ap,
    off_diagonal,
)


def build_report(results: dict[str, Any], out: str | Path) -> list[str]:
    """Draw every figure into ``out/figures`` and write ``out/report.html``; returns the figure
    file names (relative to ``out``)."""
    out = Path(out)
    figdir = out / "figures"
    figs: dict[str, tuple[Figure, str]] = {}
    spec = results["spectra"]
    ups = results["upsamplers"]
    figs["samples"] = (
        samples_figure(out, ups),
        "Held-out samples of each generator and real crops.",
    )
    figs.update(spectra_figures(spec))
    # A matrix for every detector trained on several sources, and for the baseline and the CNNs.
    found = StudyResults(results)
    shown = {found.find(detector="spectral", features="azimuthal", classifier="logreg")}
    shown |= set(found.where(lambda d: d.get("detector") == "cnn"))
    for det, table in results["transfer"].items():
        if len(table) > 1 or det in shown:
            figs[f"transfer_{det.replace('+', '_')}"] = (
                transfer_figure(table, f"{det}: AP"),
                f"Transfer matrix of {det}.",
            )
    if results.get("few_shot"):
        figs["few_shot"] = (
            few_shot_figure(results["few_shot"]),
            "AP by number of training images.",
        )
    if results.get("robustness"):
        figs["robustness"] = (
            robustness_figure(results["robustness"]),
            "AP under JPEG and blur applied to real and fake test images alike.",
        )
    if results.get("quality"):
        figs["quality"] = (quality_figure(results["quality"], spec), "Quality per generator.")
    names = []
    for key, (fig, _) in figs.items():
        save_figure(fig, figdir / f"{key}.png")
        names.append(f"figures/{key}.png")

    r = HtmlReport(f"ganscope upsampling study ({results['profile']} profile)")
    real = results["real"]
    r.paragraph(
        f"{len(ups)} generators ({', '.join(ups)}) trained on {real['n_train']} real "
        f"{spec['size'][0]}x{spec['size'][1]} images ({real['source']}); every detector is "
        f"evaluated on {real['n_test']} held-out real images against held-out fakes of each "
        "generator. Regenerate with: ganscope study --profile "
        f"{results['profile']} --out DIR."
    )
    r.heading("Answers")
    for q, a in answer_questions(results):
        r.answer(q, a)
    r.heading("Samples")
    r.figure(figdir / "samples.png", figs["samples"][1])
    r.heading("Spectra")
    for key in ("azimuthal", "projections", "spectra_2d", "spectra_diff", "dct_diff"):
        r.figure(figdir / f"{key}.png", figs[key][1])
    r.table(
        ["generator", "high-frequency Δ (20 ln|F|)", "Nyquist-corner Δ"],
        [[n, spec["high_frequency_difference"][n], spec["nyquist_difference"][n]] for n in ups],
        caption="Fake minus real log power: above 0.25 cycles/pixel on average, and at (0.5, 0.5).",
    )
    r.heading("Detectors")
    rows = []
    for det, table in results["transfer"].items():
        diag = diagonal(table)
        rows.append(
            [
                det,
                float(np.mean(list(diag.values()))) if diag else float("nan"),
                off_diagonal(table),
                mean_ap(table[ALL]) if ALL in table else float("nan"),
            ]
        )
    r.table(
        ["detector", "AP same upsampler", "AP other upsamplers", "AP trained on all"],
        rows,
        caption="Mean AP; 'nan' where the setting was not run in this profile.",
    )
    for key in figs:
        if key.startswith("transfer_"):
            r.figure(figdir / f"{key}.png", figs[key][1])
    for key in ("few_shot", "robustness", "quality"):
        if key in figs:
            r.heading(
                {"few_shot": "Few-shot", "robustness": "Robustness", "quality": "Quality"}[key]
            )
            r.figure(figdir / f"{key}.png", figs[key][1])
    if results.get("quality"):
        q = results["quality"]
        broken = broken_generators(q)
        full = all("diversity" in q[n] for n in ups)
        header = ["generator", "SWD x1e3", "spectral distance", "training seconds"]
        if full:
            header += ["diversity", "near-dup pairs", "NN ratio", "precision", "recall", "verdict"]
        rows = []
        for n in ups:
            row = [
                n,
                q[n]["swd"] * 1e3,
                q[n]["spectral_distance"],
                results["generators"][n]["seconds"],
            ]
            if full:
                verdict = broken.get(n, "healthy" if q[n].get("healthy") else "usable").split(" (")[
                    0
                ]
                row += [
                    q[n]["diversity"],
                    q[n]["near_duplicates"],
                    q[n]["nn_ratio"],
                    q[n]["precision"],
                    q[n]["recall"],
                    verdict.upper() if n in broken else verdict,
                ]
            rows.append(row)
        if full:
            any_q = q[ups[0]]
            rows.append(
                ["real vs real", any_q["swd_real"] * 1e3, any_q.get("spectral_distance_real", "n/a"),
                 0.0, 1.0, any_q["near_duplicates_real"],
                 any_q["nn_ratio_real"], any_q["precision_real"], any_q["recall_real"], "reference"]
            )  # fmt: skip
        r.table(
            header,
            rows,
            caption="Quality of each generator on its held-out samples, beside the same numbers "
            "between two real sets. Diversity: pairwise distance ratio to real (1 = as varied). "
            "NN ratio: distance to the nearest training crop vs that of held-out real crops "
            "(about 1 is healthy, far above 1 means blobs). Precision/recall: Kynkaanniemi et "
            "al. 2019 on random-CNN features. Generators marked in capitals are broken.",
        )
    r.heading("Environment and time")
    env = results["environment"]
    r.table(
        ["item", "value"],
        [[k, v] for k, v in env.items()] + [["ganscope", results["ganscope_version"]]],
    )
    r.table(
        ["stage", "seconds"],
        [[k, v] for k, v in results["timings"].items()],
        caption="Time per stage when it ran (cached stages are not re-timed).",
    )
    r.paragraph(
        f"Total time of the stages: {sum(results['timings'].values()):.0f} s.", css_class="muted"
    )
    r.save(out / "report.html")
    return names
