"""Figures and the self-contained ``report.html`` of the upsampling study.

Each question of the lab task (seed 002) gets one sentence with the numbers behind it, computed
from ``results.json``; nothing in the page is typed by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ganscope.io import iter_batches, list_images
from ganscope.report.html import HtmlReport
from ganscope.report.spectra import save_figure

ALL = "all"


def _mean_ap(row: dict[str, dict], *, only: str | None = None) -> float:
    vals = [
        v["ap"] for k, v in row.items() if v.get("ap") is not None and (only is None or k == only)
    ]
    return float(np.mean(vals)) if vals else float("nan")


def _diagonal(table: dict[str, dict]) -> dict[str, float]:
    return {s: table[s][s]["ap"] for s in table if s in table[s] and table[s][s]["ap"] is not None}


def _off_diagonal(table: dict[str, dict]) -> float:
    vals = [
        v["ap"]
        for tr, row in table.items()
        if tr != ALL
        for te, v in row.items()
        if te != tr and v["ap"] is not None
    ]
    return float(np.mean(vals)) if vals else float("nan")


# --- figures -----------------------------------------------------------------------------------


def _samples_figure(out: Path, names: list[str], n: int = 16) -> Figure:
    folders = {"real": out / "data" / "test" / "real"} | {
        name: out / "data" / "test" / name.replace("+", "_") for name in names
    }
    cols = min(4, len(folders))
    rows = -(-len(folders) // cols)
    fig = Figure(figsize=(2.6 * cols, 2.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    side = int(np.sqrt(n))
    for ax, (name, folder) in zip(axes.flat, folders.items(), strict=False):
        files = list_images([folder])[: side * side]
        imgs = next(iter_batches(files, batch_size=len(files))).images.numpy()
        h, w = imgs.shape[-2:]
        grid = np.ones((side * (h + 1) - 1, side * (w + 1) - 1, 3))
        for k, img in enumerate(imgs):
            r, c = divmod(k, side)
            grid[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = img.transpose(
                1, 2, 0
            )
        ax.imshow(grid, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    for ax in list(axes.flat)[len(folders) :]:
        ax.axis("off")
    return fig


def _profile_figure(spec: dict, key: str, ylabel: str) -> Figure:
    segments = spec[key]["segments"]
    fig = Figure(figsize=(5.5 * len(segments), 4.0), layout="constrained")
    axes = fig.subplots(1, len(segments), squeeze=False)[0]
    start = 0
    for ax, (seg_name, freqs) in zip(axes, segments, strict=True):
        f = np.asarray(freqs)
        sl = slice(start, start + len(f))
        start += len(f)
        for name, mean in spec[key]["mean"].items():
            m = np.asarray(mean)[sl]
            s = np.asarray(spec[key]["std"][name])[sl]
            style = {"color": "black", "lw": 2.2} if name == "real" else {"lw": 1.2}
            (line,) = ax.plot(f, m, label=name, **style)
            ax.fill_between(f, m - s, m + s, color=line.get_color(), alpha=0.08)
        ax.set_xlabel("frequency (cycles/pixel)")
        ax.set_ylabel(ylabel)
        ax.set_title(seg_name)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=8, ncol=2)
    return fig


def _spectra_grid(spec: dict, key: str, *, diff: bool, label: str) -> Figure:
    items = spec[key]
    names = [n for n in items if not (diff and n == "real")]
    cols = min(5, len(names))
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(2.7 * cols + 0.8, 2.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    ref = np.asarray(items["real"])
    arrays = {n: np.asarray(items[n]) - (ref if diff else 0) for n in names}
    if diff:
        lim = max(float(np.abs(a).max()) for a in arrays.values()) or 1.0
        kw = {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}
    else:
        lo = min(float(a.min()) for a in arrays.values())
        hi = max(float(a.max()) for a in arrays.values())
        kw = {"cmap": "magma", "vmin": lo, "vmax": hi}
    H, W = ref.shape
    if key == "dct_mean":
        extent = [0, 0.5, 0.5, 0]
        xl = "horizontal DCT frequency (cycles/pixel)"
    else:
        extent = [-0.5, 0.5 - 1 / W, 0.5 - 1 / H, -0.5]
        xl = "cycles/pixel"
    im = None
    for ax, (name, arr) in zip(axes.flat, arrays.items(), strict=False):
        im = ax.imshow(arr, extent=extent, **kw)
        ax.set_title(f"{name} - real" if diff else name, fontsize=9)
        ax.set_xlabel(xl, fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(arrays) :]:
        ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.8, label=label)
    return fig


def _heatmap(table: dict[str, dict], title: str, metric: str = "ap") -> Figure:
    train = list(table)
    test = list(next(iter(table.values())))
    M = np.array(
        [
            [table[tr][te][metric] if table[tr][te][metric] is not None else np.nan for te in test]
            for tr in train
        ]
    )
    fig = Figure(
        figsize=(max(5.0, 2.2 + 0.75 * len(test)), max(3.6, 1.8 + 0.5 * len(train))),
        layout="constrained",
    )
    ax = fig.subplots()
    im = ax.imshow(M, cmap="viridis", vmin=0.5, vmax=1.0)
    ax.set_xticks(range(len(test)), test, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(train)), train, fontsize=8)
    ax.set_xlabel("tested on (held-out fakes vs held-out real)")
    ax.set_ylabel("trained on")
    for i in range(len(train)):
        for j in range(len(test)):
            if np.isfinite(M[i, j]):
                ax.text(
                    j,
                    i,
                    f"{M[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if M[i, j] < 0.8 else "black",
                )
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label=metric.upper())
    return fig


def _few_shot_figure(curve: dict[str, dict[str, float]]) -> Figure:
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    sizes = list(curve)
    sources = list(next(iter(curve.values())))
    for s in sources:
        ax.plot(range(len(sizes)), [curve[n][s] for n in sizes], marker="o", label=s)
    ax.set_xticks(range(len(sizes)), sizes)
    ax.set_xlabel("training images (real + fake)")
    ax.set_ylabel("AP on held-out images")
    ax.set_title("azimuthal + logistic regression: few-shot")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def _robustness_figure(robust: dict[str, list[dict]]) -> Figure:
    kinds = [
        k
        for k in ("jpeg", "blur")
        if any(r["degradation"] == k for rows in robust.values() for r in rows)
    ]
    fig = Figure(figsize=(5 * len(kinds), 4), layout="constrained")
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    for ax, kind in zip(axes, kinds, strict=True):
        for det, rows in robust.items():
            clean = next(r for r in rows if r["degradation"] == "none")
            pts = [(r["level"], r["ap"]) for r in rows if r["degradation"] == kind]
            x0 = 100 if kind == "jpeg" else 0.0
            xs = [x0] + [p[0] for p in pts]
            ys = [clean["ap"]] + [p[1] for p in pts]
            ax.plot(xs, ys, marker="o", label=det)
        ax.set_xlabel("JPEG quality (100 = clean)" if kind == "jpeg" else "blur sigma (pixels)")
        if kind == "jpeg":
            ax.invert_xaxis()
        ax.set_ylabel("AP (all generators pooled)")
        ax.set_ylim(0.4, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def _quality_figure(quality: dict[str, dict], spectra: dict) -> Figure:
    names = list(quality)
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = [
        ([quality[n]["swd"] for n in names], "SWD to real (x1e3, lower is better)", 1e3),
        ([quality[n]["spectral_distance"] for n in names], "spectral distance to real", 1.0),
        (
            [spectra["high_frequency_difference"][n] for n in names],
            "high-frequency log-power difference",
            1.0,
        ),
    ]
    for ax, (vals, title, scale) in zip(axes, panels, strict=True):
        ax.bar(range(len(names)), np.asarray(vals) * scale, color="#4c72b0")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.axhline(0, color="black", lw=0.8)
        ax.grid(alpha=0.3, axis="y")
    return fig


# --- the page ----------------------------------------------------------------------------------


def _answers(results: dict[str, Any]) -> list[tuple[str, str]]:
    transfer = results["transfer"]
    ups = results["upsamplers"]
    base = transfer.get("azimuthal+logreg")
    out: list[tuple[str, str]] = []
    if base:
        diag = _diagonal(base)
        worst = min(diag, key=diag.get) if diag else None
        txt = ", ".join(f"{k} {v:.2f}" for k, v in diag.items())
        out.append(
            (
                "Is the detection approach working for other upsampling approaches?",
                f"Azimuthal spectrum + logistic regression, trained and tested per upsampler, reaches "
                f"AP {txt} (lowest: {worst}).",
            )
        )
    proj = transfer.get("projections+logreg")
    if base and proj:
        a, p = _diagonal(base), _diagonal(proj)
        ma, mp = float(np.mean(list(a.values()))), float(np.mean(list(p.values())))
        better = "better" if mp > ma + 0.005 else "worse" if mp < ma - 0.005 else "about as good"
        out.append(
            (
                "Can you get better results using vertical and horizontal projections instead of radial ones?",
                f"Projections are {better}: mean per-upsampler AP {mp:.3f} with projections vs {ma:.3f} "
                f"with the azimuthal profile (logistic regression); in transfer to other upsamplers "
                f"{_off_diagonal(proj):.3f} vs {_off_diagonal(base):.3f}.",
            )
        )
    nets = {k: v for k, v in transfer.items() if k.startswith("cnn-") or k.endswith("+mlp")}
    if base and nets:
        parts = []
        for k, t in nets.items():
            row = t.get(ALL) or next(iter(t.values()))
            parts.append(f"{k} {_mean_ap(row):.3f}")
        transfers = [f"{k} {_off_diagonal(t):.3f}" for k, t in nets.items() if len(t) > 2]
        if transfers:
            parts.append(
                "and trained on one upsampler, tested on the others: "
                + ", ".join(transfers)
                + f" (azimuthal logistic regression {_off_diagonal(base):.3f})"
            )
        ref_row = base.get(ALL) or next(iter(base.values()))
        out.append(
            (
                "Using a neural network?",
                f"Mean AP over all test upsamplers when trained on all of them (azimuthal logistic "
                f"regression: {_mean_ap(ref_row):.3f}): {', '.join(parts)}.",
            )
        )
    if base and ALL in base:
        diag = _diagonal(base)
        all_row = base[ALL]
        per = float(np.mean(list(diag.values())))
        one = float(np.mean([all_row[s]["ap"] for s in diag]))
        out.append(
            (
                "Train per upsampling method, or one setting for all (balanced)?",
                f"One detector trained on all upsamplers (balanced) scores mean AP {one:.3f} across them, "
                f"against {per:.3f} for a separate detector per upsampler (azimuthal + logistic regression).",
            )
        )
    if base and len(ups) > 1:
        best_pair = None
        for tr in ups:
            for te in ups:
                if tr != te and tr in base:
                    v = base[tr][te]["ap"]
                    if v is not None and (best_pair is None or v < best_pair[2]):
                        best_pair = (tr, te, v)
        tail = (
            f"; the hardest transfer is {best_pair[0]} -> {best_pair[1]} (AP {best_pair[2]:.2f})"
            if best_pair
            else ""
        )
        out.append(
            (
                "Does a classifier transfer from one generator to another?",
                f"Trained on one upsampler and tested on the others, the azimuthal logistic regression "
                f"averages AP {_off_diagonal(base):.3f}{tail}.",
            )
        )
    few = results.get("few_shot")
    if few:
        means = {
            n: float(np.mean([v for v in row.values() if v is not None])) for n, row in few.items()
        }
        out.append(
            (
                "How many labelled images does the spectral detector need?",
                "Mean AP over upsamplers by training-set size: "
                + ", ".join(f"{n}: {v:.3f}" for n, v in means.items())
                + ".",
            )
        )
    robust = results.get("robustness")
    if robust:
        parts = []
        for det, rows in robust.items():
            clean = next(r for r in rows if r["degradation"] == "none")["ap"]
            worst = min(rows, key=lambda r: r["ap"] if r["ap"] is not None else 1.0)
            parts.append(
                f"{det} AP {clean:.2f} clean, {worst['ap']:.2f} at {worst['degradation']} {worst['level']:g}"
            )
        out.append(
            ("How robust is detection to blur and JPEG at test time?", "; ".join(parts) + ".")
        )
    q = results.get("quality")
    broken = _broken_generators(q or {})
    if broken:
        out.insert(
            0,
            (
                "Are the generators worth studying?",
                "Not all of them: "
                + "; ".join(f"{n} is {why}" for n, why in broken.items())
                + ". Every finding below that involves these generators describes broken "
                "training as much as the upsampler.",
            ),
        )
    if q and "transposed" in q:
        fixes = [n for n in q if n.startswith("transposed+")]
        if fixes:
            t = q["transposed"]
            parts = [
                f"{n}: spectral distance {q[n]['spectral_distance']:.2f} (plain {t['spectral_distance']:.2f}), "
                f"SWD x1e3 {q[n]['swd'] * 1e3:.1f} (plain {t['swd'] * 1e3:.1f})"
                for n in fixes
            ]
            out.append(("What do the spectral fixes buy and cost?", "; ".join(parts) + "."))
    return out


def _broken_generators(quality: dict[str, dict]) -> dict[str, str]:
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


def build_report(results: dict[str, Any], out: str | Path) -> list[str]:
    """Draw every figure into ``out/figures`` and write ``out/report.html``; returns the figure
    file names (relative to ``out``)."""
    out = Path(out)
    figdir = out / "figures"
    figs: dict[str, tuple[Figure, str]] = {}
    spec = results["spectra"]
    ups = results["upsamplers"]
    figs["samples"] = (
        _samples_figure(out, ups),
        "Held-out samples of each generator and real crops.",
    )
    figs["azimuthal"] = (
        _profile_figure(spec, "azimuthal", "20 ln|F|"),
        "Mean azimuthal log-power profile per source (band: ±1 std).",
    )
    figs["projections"] = (
        _profile_figure(spec, "projections", "20 ln|F|"),
        "Horizontal and vertical projections of the log spectrum.",
    )
    figs["spectra_2d"] = (
        _spectra_grid(spec, "fft2d_mean", diff=False, label="20 ln|F|"),
        "Mean 2D power spectrum (luma) per source.",
    )
    figs["spectra_diff"] = (
        _spectra_grid(spec, "fft2d_mean", diff=True, label="Δ 20 ln|F|"),
        "Mean 2D power spectrum minus real: replicas and checkerboard peaks show as red spots.",
    )
    figs["dct_diff"] = (
        _spectra_grid(spec, "dct_mean", diff=True, label="Δ ln|DCT|"),
        "Mean 2D DCT spectrum minus real (Frank et al. 2020).",
    )
    for det, table in results["transfer"].items():
        if len(table) > 1 or det.startswith("cnn-") or det == "azimuthal+logreg":
            figs[f"transfer_{det.replace('+', '_')}"] = (
                _heatmap(table, f"{det}: AP"),
                f"Transfer matrix of {det}.",
            )
    if results.get("few_shot"):
        figs["few_shot"] = (
            _few_shot_figure(results["few_shot"]),
            "AP by number of training images.",
        )
    if results.get("robustness"):
        figs["robustness"] = (
            _robustness_figure(results["robustness"]),
            "AP under JPEG and blur applied to real and fake test images alike.",
        )
    if results.get("quality"):
        figs["quality"] = (_quality_figure(results["quality"], spec), "Quality per generator.")
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
    for q, a in _answers(results):
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
        diag = _diagonal(table)
        rows.append(
            [
                det,
                float(np.mean(list(diag.values()))) if diag else float("nan"),
                _off_diagonal(table),
                _mean_ap(table[ALL]) if ALL in table else float("nan"),
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
        broken = _broken_generators(q)
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
                ["real vs real", any_q["swd_real"] * 1e3, 0.0, 0.0, 1.0, any_q["near_duplicates_real"],
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
