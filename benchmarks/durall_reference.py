"""Durall et al.'s per-image spectral feature pipeline, as their published code runs it: the
reference that ``ganscope spectrum --preset durall`` is timed and checked against.

Durall, Keuper & Keuper, "Watch your Up-Convolution: CNN Based Generative Deep Neural Networks
are Failing to Reproduce Spectral Distributions", CVPR 2020 / "Unmasking DeepFakes with simple
features", 2019; code: github.com/cc-hpc-itwm/DeepFakeDetection (``radialProfile.py`` and the
feature-extraction loops of its notebooks). Per file: ``cv2.imread(path, 0)``, ``np.fft.fft2``,
``np.fft.fftshift``, ``+= 1e-8``, ``20 * np.log(np.abs(.))``, ``azimuthalAverage`` (argsort and
cumsum over integer radii), cubic interpolation to ``N`` points on ``[0, N]``
(``scipy.interpolate.griddata(method="cubic")`` in 1D is ``interp1d(kind="cubic")``), divided by
its first value. Needs opencv-python-headless and SciPy; not part of the package.

    python benchmarks/durall_reference.py DIR --bins N --csv OUT.csv
"""

from __future__ import annotations

import argparse
import glob
import os

import cv2
import numpy as np
from scipy.interpolate import interp1d


def azimuthal_average(image: np.ndarray) -> np.ndarray:
    """``radialProfile.azimuthalAverage`` as published (it yields radius bins 1 .. R-1)."""
    y, x = np.indices(image.shape)
    center = np.array([(x.max() - x.min()) / 2.0, (y.max() - y.min()) / 2.0])
    r = np.hypot(x - center[0], y - center[1])
    ind = np.argsort(r.flat)
    r_sorted = r.flat[ind]
    i_sorted = image.flat[ind]
    r_int = r_sorted.astype(int)
    deltar = r_int[1:] - r_int[:-1]
    rind = np.where(deltar)[0]
    nr = rind[1:] - rind[:-1]
    csim = np.cumsum(i_sorted, dtype=float)
    tbin = csim[rind[1:]] - csim[rind[:-1]]
    return tbin / nr


def durall_feature(path: str, N: int) -> np.ndarray | None:
    """One file -> its feature of length ``N`` (``None`` where OpenCV cannot read it)."""
    img = cv2.imread(path, 0)
    if img is None:
        return None
    f = np.fft.fft2(img)
    fshift = np.fft.fftshift(f)
    fshift += 1e-8
    magnitude_spectrum = 20 * np.log(np.abs(fshift))
    psd1D = azimuthal_average(magnitude_spectrum)
    points = np.linspace(0, N, num=psd1D.size)
    xi = np.linspace(0, N, num=N)
    interpolated = interp1d(points, psd1D, kind="cubic")(xi)
    return interpolated / interpolated[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--bins", type=int, required=True)
    parser.add_argument("--csv", required=True)
    args = parser.parse_args()
    files = sorted(
        p for p in glob.glob(os.path.join(args.folder, "*")) if not p.endswith((".csv", ".json"))
    )
    rows, names = [], []
    for path in files:
        feat = durall_feature(path, args.bins)
        if feat is not None:
            rows.append(feat)
            names.append(path)
    with open(args.csv, "w", encoding="utf-8") as fh:
        fh.write(",".join(["path", *(f"f{i}" for i in range(args.bins))]) + "\n")
        for name, row in zip(names, rows, strict=True):
            fh.write(name + "," + ",".join(f"{v:.17g}" for v in row) + "\n")


if __name__ == "__main__":
    main()
