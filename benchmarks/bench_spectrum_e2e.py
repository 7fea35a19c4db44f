"""End to end, process start included: ``ganscope spectrum --preset durall --csv`` against Durall et
al.'s own per-image pipeline (``benchmarks/durall_reference.py``: cv2.imread(path, 0), fft2,
fftshift, 20 log|.|, azimuthalAverage, cubic interpolation) over the same folder of JPEGs.

Both run as fresh processes, back to back, several rounds; wall time and the CPU time of the
process (user + system) are recorded, and the two CSVs are compared value by value. Needs
opencv-python-headless (a test-only dependency) for the reference.

Run by hand:  python benchmarks/bench_spectrum_e2e.py [--count 8000] [--rounds 3]
Writes benchmarks/RESULTS-spectrum-e2e.md (then run benchmarks/assemble_results.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SIZE = 128


def make_jpegs(folder: Path, count: int, quality: int = 90) -> None:
    """``count`` crops of ganscope's built-in photos (``ganscope data builtin``'s corpus) saved as
    JPEGs of SIZE x SIZE."""
    from PIL import Image

    from ganscope.io.builtin import iter_builtin

    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.jpg"))) == count:
        return
    for i, (_crop, arr) in enumerate(iter_builtin(size=SIZE, count=count, seed=0)):
        Image.fromarray(arr).save(folder / f"img_{i:05d}.jpg", quality=quality)


# as a user's install runs: with compiled bytecode (some sandboxes set PYTHONDONTWRITEBYTECODE,
# which makes every start compile ganscope's ~100 modules again)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, all threads) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def read_rows(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    return {os.path.basename(r[0]): np.array(r[1:], dtype=np.float64) for r in rows}


def import_seconds(module: str) -> dict[str, float]:
    """Cumulative import time (s) of the heavy packages when ``module`` is imported."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
        env=ENV,
    ).stderr
    found: dict[str, float] = {}
    for line in out.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)$", line)
        if m and m.group(3) in ("torch", "numpy", "scipy", "matplotlib", "sklearn", "PIL", module):
            found[m.group(3)] = max(found.get(m.group(3), 0.0), int(m.group(1)) / 1e6)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bins", type=int, default=88)  # the native length at 128x128
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "gs-e2e")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-spectrum-e2e.md")
    args = parser.parse_args()
    jpegs = args.folder / f"jpegs{SIZE}_{args.count}"
    make_jpegs(jpegs, args.count)
    ref_csv, ours_csv = args.folder / "reference.csv", args.folder / "ganscope.csv"
    ref_cmd = [
        sys.executable,
        str(HERE / "durall_reference.py"),
        str(jpegs),
        "--bins",
        str(args.bins),
        "--csv",
        str(ref_csv),
    ]
    ours_cmd = [
        sys.executable,
        "-m",
        "ganscope",
        "-q",
        "spectrum",
        str(jpegs),
        "--preset",
        "durall",
        "--bins",
        str(args.bins),
        "--csv",
        str(ours_csv),
    ]
    # compile bytecode, warm the caches
    for warm_up in ("import ganscope.cli.spectrum", "import cv2, scipy.interpolate"):
        subprocess.run([sys.executable, "-c", warm_up], check=True, env=ENV)
    load_before = os.getloadavg()
    ref_runs, ours_runs = [], []
    for _ in range(args.rounds):  # back to back, so both see the same machine load
        ref_runs.append(timed(ref_cmd))
        ours_runs.append(timed(ours_cmd))
    load_after = os.getloadavg()
    ref, ours = read_rows(ref_csv), read_rows(ours_csv)
    assert ref.keys() == ours.keys(), "the two pipelines read different files"
    diff = np.abs(np.stack([ref[k] - ours[k] for k in ref]))
    imports = import_seconds("ganscope.cli.spectrum")  # what `ganscope spectrum` imports
    probe = (
        "import sys\nfrom ganscope.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        "print(' '.join(m for m in ('matplotlib', 'sklearn') if m in sys.modules))"
    )
    heavy = subprocess.run(
        [sys.executable, "-c", probe, *ours_cmd[3:]], check=True, capture_output=True, text=True
    ).stdout.split()
    wall_ratios = [r[0] / o[0] for r, o in zip(ref_runs, ours_runs, strict=True)]
    cpu_ratios = [r[1] / o[1] for r, o in zip(ref_runs, ours_runs, strict=True)]
    shared = max(load_before[0], load_after[0]) > (os.cpu_count() or 1) * 0.75
    lines = [
        "## Spectrum end to end: `ganscope spectrum --preset durall --csv` vs Durall et al.'s "
        "per-image pipeline (issue 12)",
        "",
        f"{args.count} JPEGs of {SIZE}x{SIZE} (crops of the built-in photos, quality 90), "
        f"`--bins {args.bins}`, each run a fresh process (start-up and imports included), "
        f"{args.rounds} rounds back to back, bytecode compiled beforehand. Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "Load average before / after: "
        f"{load_before[0]:.1f} / {load_after[0]:.1f}"
        + (
            " — **shared with other work**: wall times are inflated and noisy; the ratios of "
            "back-to-back runs hold better."
            if shared
            else "."
        ),
        "",
        "| round | Durall et al. wall s | ganscope wall s | wall ratio | Durall CPU s | "
        "ganscope CPU s | CPU ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, ((rw, rc), (ow, oc)) in enumerate(zip(ref_runs, ours_runs, strict=True), 1):
        lines.append(
            f"| {i} | {rw:.1f} | {ow:.1f} | **{rw / ow:.1f}x** | {rc:.1f} | {oc:.1f} | "
            f"{rc / oc:.1f}x |"
        )
    lines += [
        "",
        f"Median wall ratio **{np.median(wall_ratios):.1f}x** (issue 12 asks for at least 5x; it "
        "measured 3.2x for the former pipeline on an idle machine), median CPU-time ratio "
        f"{np.median(cpu_ratios):.1f}x. The features agree: max |ganscope - reference| = "
        f"{diff.max():.1e} over {diff.size:,} values "
        f"(median {np.median(diff):.0e}).",
        "",
        "Where ganscope's time goes: it reads each JPEG's stored luma plane (the file handed "
        "whole to libjpeg's gray decode: no chroma, no colour conversion, no Python marker "
        "parsing), parses JPEG/PNG headers itself for the common-size pre-pass, and runs 2 "
        "threads that each decode a batch and compute its float64 features (both release the "
        "GIL) while the main thread writes the CSV with exact round-trip digits. `ganscope "
        "spectrum` imports only its own command's modules. Import time of "
        "`ganscope.cli.spectrum` in a fresh process (cumulative, s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(imports.items(), key=lambda kv: -kv[1]))
        + ". torch is most of the fixed cost; "
        + (
            f"imported on this path besides: {', '.join(heavy)}."
            if heavy
            else "matplotlib and scikit-learn are not imported on this path."
        ),
        "",
        f"Reproduce: `python benchmarks/bench_spectrum_e2e.py --count {args.count} --rounds "
        f"{args.rounds}`.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
