"""The CNN detector against a linear spectral model on a small training set (issue 12).

The set: 150 real photo crops (ganscope's built-in corpus, 32x32, train split) against 150
reconstructions of other crops by a small convolutional autoencoder trained here for 400 steps
(rounded to 8 bits, as a saved PNG is); tested on 150 + 150 others (test split). Reconstructions
are smoother than photos: the difference is blur-like, which Wang et al.'s blur augmentation
erases from the evidence.

Run by hand:  python benchmarks/bench_cnn_small_data.py
Writes benchmarks/RESULTS-cnn-small.md (then run benchmarks/assemble_results.py).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganscope.detectors import CNNDetector, SpectralDetector
from ganscope.io.builtin import iter_builtin
from ganscope.metrics import average_precision

HERE = Path(__file__).parent


def _tensor(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).astype(np.float32) / 255)


def make_set(
    n: int = 150, seed: int = 0
) -> tuple[torch.Tensor, np.ndarray, torch.Tensor, np.ndarray]:
    """``(X_train, y_train, X_test, y_test)``: n real + n autoencoder reconstructions each."""
    train = [a for _, a in iter_builtin(size=32, count=4 * n, seed=seed, split="train")]
    test = [a for _, a in iter_builtin(size=32, count=2 * n, seed=seed + 1, split="test")]
    real_tr, ae_data, src_tr = (
        _tensor(train[:n]),
        _tensor(train[n : 3 * n]),
        _tensor(train[3 * n :]),
    )
    real_te, src_te = _tensor(test[:n]), _tensor(test[n:])
    torch.manual_seed(seed)
    ae = nn.Sequential(  # 32 -> 8 -> 32, transposed-convolution decoder
        nn.Conv2d(3, 32, 4, 2, 1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 4, 2, 1),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 4, 2, 1),
        nn.ReLU(),
        nn.ConvTranspose2d(32, 3, 4, 2, 1),
        nn.Sigmoid(),
    )
    opt = torch.optim.Adam(ae.parameters(), 2e-3)
    for _ in range(400):
        idx = torch.randint(0, len(ae_data), (64,))  # torch's global generator, seeded above
        loss = ((ae(ae_data[idx]) - ae_data[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        fake_tr = (ae(src_tr) * 255).round() / 255
        fake_te = (ae(src_te) * 255).round() / 255
    y = np.r_[np.zeros(n), np.ones(n)].astype(np.int64)
    return torch.cat([real_tr, fake_tr]), y, torch.cat([real_te, fake_te]), y.copy()


CONFIGS: dict[str, dict] = {
    "cnn rgb, before issue 12 (blur+jpeg 0.1, 20 epochs, patience 5)": dict(
        augment="blur+jpeg", epochs=20, patience=5
    ),
    "cnn rgb, no augmentation, 20 epochs": dict(augment="none", epochs=20, patience=5),
    "cnn rgb, defaults now (auto: dihedral, epochs by data size)": {},
    "cnn npr, defaults now": dict(input="npr"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-cnn-small.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    X, y, Xt, yt = make_set()
    rows = []
    spectral = SpectralDetector(classifier="logreg", features="azimuthal").fit(X, y)
    rows.append(
        (
            "logreg on azimuthal spectra",
            average_precision(yt, spectral.predict_proba(Xt)[:, 1]),
            "",
            "",
        )
    )
    for name, cfg in CONFIGS.items():
        t = time.perf_counter()
        det = CNNDetector(device="cpu", seed=0, **cfg).fit(X, y)
        ap = average_precision(yt, det.predict_proba(Xt)[:, 1])
        rows.append(
            (
                name,
                ap,
                f"{det.val_ap_:.3f}",
                f"{det.best_epoch_} / {len(det.history_)} ({time.perf_counter() - t:.0f} s)",
            )
        )
        print(rows[-1], flush=True)
    lines = [
        "## CNN detector on a small training set (issue 12)",
        "",
        "150 + 150 training images of 32x32 (built-in photo crops against reconstructions by a "
        "small transposed-convolution autoencoder), tested on 150 + 150 others; one torch thread. "
        f"Load average before the run: {load_before[0]:.1f} (times are then inflated, the APs "
        "are not).",
        "",
        "| detector | test AP | validation AP | best epoch / epochs run |",
        "|---|---|---|---|",
        *(f"| {n} | {ap:.3f} | {v} | {e} |" for n, ap, v, e in rows),
        "",
        "Reproduce: `python benchmarks/bench_cnn_small_data.py`.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
