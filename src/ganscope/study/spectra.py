"""The spectra stage of the study: per-source mean spectra and profiles, stored as plain numbers
so that the report can draw them and a reader can check them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganscope.spectrum import (
    dct_spectrum,
    extract_features,
    feature_layout,
    power_spectrum,
    rgb_to_gray,
)

HIGH_FREQUENCY = 0.25
"""Frequencies above this (cycles/pixel) count as "high" in the summary numbers."""


def _mean_std(feats: torch.Tensor) -> tuple[list[float], list[float]]:
    f = feats.double()
    return f.mean(0).tolist(), (f.std(0) if len(f) > 1 else torch.zeros_like(f[0])).tolist()


def spectra_stage(real: torch.Tensor, fakes: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Mean/std azimuthal profiles and projections, mean 2D FFT and DCT spectra per source
    (``real`` first), and two summary numbers per fake source relative to real:

    - ``high_frequency_difference``: mean of (fake - real) mean azimuthal log power above
      :data:`HIGH_FREQUENCY` cycles/pixel, in units of ``20 ln|F|``. Positive: the generator
      puts too much energy at high frequencies (up-convolution replicas); negative: too little
      (Durall et al. 2020, Fig. 1).
    - ``nyquist_difference``: (fake - real) log power at the (0.5, 0.5) cycles/pixel corner, where
      the checkerboard of a stride-2 up-convolution puts its peak.
    """
    sources = {"real": real, **fakes}
    H, W = real.shape[-2:]
    az_layout = feature_layout("azimuthal", H, W)
    pr_layout = feature_layout("projections", H, W)
    out: dict[str, Any] = {
        "size": [int(H), int(W)],
        "azimuthal": {
            "segments": [[n, f.tolist()] for n, f in az_layout.segments],
            "mean": {},
            "std": {},
        },
        "projections": {
            "segments": [[n, f.tolist()] for n, f in pr_layout.segments],
            "mean": {},
            "std": {},
        },
        "fft2d_mean": {},
        "dct_mean": {},
        "high_frequency_difference": {},
        "nyquist_difference": {},
    }
    with torch.no_grad():
        for name, x in sources.items():
            for kind in ("azimuthal", "projections"):
                m, s = _mean_std(extract_features(x, kind))
                out[kind]["mean"][name] = m
                out[kind]["std"][name] = s
            out["fft2d_mean"][name] = power_spectrum(x)[:, 0].double().mean(0).tolist()
            out["dct_mean"][name] = dct_spectrum(rgb_to_gray(x)).double().mean(0)[0].tolist()
    freqs = az_layout.segments[0][1]
    high = freqs > HIGH_FREQUENCY
    real_prof = np.asarray(out["azimuthal"]["mean"]["real"])
    real_fft = np.asarray(out["fft2d_mean"]["real"])
    for name in fakes:
        prof = np.asarray(out["azimuthal"]["mean"][name])
        out["high_frequency_difference"][name] = float((prof - real_prof)[high].mean())
        fft = np.asarray(out["fft2d_mean"][name])
        # fftshift puts frequency -0.5 at index 0 for even sizes: the Nyquist corner.
        out["nyquist_difference"][name] = float(fft[0, 0] - real_fft[0, 0])
    return out
