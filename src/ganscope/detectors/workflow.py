"""Detectors on folders of images, end to end: what ``ganscope detector train``, ``detector eval``
and ``detect`` do, callable (and tested) without the command line.

Each command is one function here: :func:`train_from_folders`, :func:`evaluate_folders`,
:func:`detect_files`. They write the model folder and the JSON/CSV outputs of DESIGN.md and hand
every line meant for the terminal to callbacks (``out`` for results on stdout, ``err`` for
warnings and skipped files on stderr), so that a caller decides where lines go and a long run
reports its warnings as they happen.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.table import Table

from ganscope.detectors.audit import audit_bias
from ganscope.detectors.base import BaseDetector, is_fake
from ganscope.detectors.classifiers import CLASSIFIERS, training_methods
from ganscope.detectors.cnn import CNNDetector
from ganscope.detectors.inference import (
    common_size,
    evaluate_detector,
    iter_predictions,
    load_images,
)
from ganscope.detectors.persistence import default_model_path, load_detector, save_detector
from ganscope.detectors.settings import DetectSettings, EvalSettings, TrainSettings
from ganscope.detectors.spectral import SpectralDetector, SpectralKMeans
from ganscope.devices import resolve_device
from ganscope.errors import GanscopeError
from ganscope.io import (
    LabeledSet,
    errors_csv_path,
    errors_json,
    list_images,
    load_labeled,
    write_csv,
    write_errors_csv,
    write_json,
)
from ganscope.io.locks import locks_output
from ganscope.io.paths import writable_parent

__all__ = [
    "build_detector",
    "detect_files",
    "detector_for_method",
    "error_summary",
    "eval_table",
    "evaluate_folders",
    "fit_detector",
    "labeled_folders",
    "train_from_folders",
    "training_set",
]

BadFile = tuple[Path, str]
Lines = Callable[[str], None]
"""Receives one line of text for the terminal."""


def _ignore(_line: str) -> None:
    pass


def detector_for_method(method: str, **settings: Any) -> BaseDetector:
    """The detector behind a ``--method``: a registered classifier gives a
    :class:`SpectralDetector`, ``kmeans`` a :class:`SpectralKMeans`, ``cnn`` a
    :class:`CNNDetector`."""
    if method in CLASSIFIERS:
        return SpectralDetector(classifier=method, **settings)
    if method == "kmeans":
        return SpectralKMeans(**settings)
    if method == "cnn":
        return CNNDetector(**settings)
    raise GanscopeError(f"unknown method {method!r}; choose from {', '.join(training_methods())}")


def build_detector(settings: TrainSettings) -> BaseDetector:
    """The unfitted detector ``settings`` describe."""
    feats = settings.resolved_features()
    if settings.method != "cnn":
        spectral = {"features": feats, "bins": settings.bins, "preset": settings.preset}
        return detector_for_method(settings.method, **spectral, seed=settings.seed)
    explicit_probs = settings.blur_prob is not None or settings.jpeg_prob is not None
    return detector_for_method(
        "cnn",
        arch=settings.arch,
        input=feats,
        antialias=settings.antialias,
        crop=settings.crop,
        eval_crop=settings.eval_crop,
        calibrate=settings.calibrate,
        target_fpr=settings.target_fpr,
        augment="blur+jpeg" if settings.augment == "auto" and explicit_probs else settings.augment,
        epochs=settings.epochs,
        lr=settings.lr,
        batch_size=settings.batch_size,
        blur_prob=0.1 if settings.blur_prob is None else settings.blur_prob,
        jpeg_prob=0.1 if settings.jpeg_prob is None else settings.jpeg_prob,
        val_fraction=settings.val_fraction,
        patience=settings.patience,
        members=settings.members,
        weights=str(settings.weights) if settings.weights else None,
        seed=settings.seed,
        device=settings.device,
    )


def error_summary(
    errors: Sequence[BadFile], what: str, listed: Path | None, hint: str = "--json FILE"
) -> list[str]:
    """A short report of skipped files: the first five, and where all of them are listed
    (``listed``, a machine-readable output, DESIGN.md) or the option (``hint``) that lists them."""
    if not errors:
        return []
    lines = [f"warning: {len(errors)} file(s) skipped while {what}:"]
    lines += [f"  {path}: {reason}" for path, reason in errors[:5]]
    if len(errors) > 5:
        lines.append(f"  ... and {len(errors) - 5} more")
    if listed is not None:
        lines.append(f"  all {len(errors)} listed in {listed}")
    else:
        lines.append(f"  (give {hint} to list all {len(errors)})")
    return lines


def labeled_folders(
    real: Sequence[Path] | None, fake: Sequence[Path] | None, *, err: Lines = _ignore
) -> LabeledSet:
    """``--real`` and ``--fake`` folders as a :class:`~ganscope.io.LabeledSet`; the bias audit
    (:func:`~ganscope.detectors.audit_bias`) goes to ``err``."""
    if not fake:
        raise GanscopeError("give at least one --fake folder")
    data = load_labeled(list(real or []), list(fake))
    if not data.real:
        raise GanscopeError("no real images: give --real DIR (or a tree with 0_real folders)")
    for w in audit_bias(data.real, data.fakes):
        err(f"warning: bias audit: {w}")
    return data


def training_set(
    data: LabeledSet, size: int | None = None, errors: list[BadFile] | None = None
) -> tuple[torch.Tensor, np.ndarray, tuple[int, int]]:
    """``(X (N, 3, h, w), y (N,), (h, w))``: every readable image, real ones first (``y`` = 0),
    centre-cropped to ``size x size`` or to the smallest height and width of the set; unreadable
    files go to ``errors``. A class may end up empty: check ``y`` before fitting."""
    errors = [] if errors is None else errors
    # common_size skips bad files without listing them: load_images lists every one, once
    hw = (size, size) if size is not None else common_size(data.real + data.all_fake())
    X_real, kept_real = load_images(data.real, size=hw, errors=errors, description="real")
    fakes = [load_images(v, size=hw, errors=errors, description=k) for k, v in data.fakes.items()]
    n_fake = sum(len(kept) for _, kept in fakes)
    X = torch.cat([X_real] + [images for images, _ in fakes])
    y = np.r_[np.zeros(len(kept_real), dtype=np.int64), np.ones(n_fake, dtype=np.int64)]
    return X, y, hw


def fit_detector(
    det: BaseDetector,
    X: torch.Tensor,
    y: np.ndarray,
    *,
    n_labels: int = 5,
    seed: int = 0,
    err: Lines = _ignore,
) -> BaseDetector:
    """Fit ``det``; a :class:`SpectralKMeans` sees only ``n_labels`` random labels per class
    (they name the fake cluster, Durall et al.'s unsupervised setting) and its warning goes to
    ``err``."""
    if not isinstance(det, SpectralKMeans):
        return det.fit(X, y)
    partial = np.full_like(y, -1)
    rng = np.random.default_rng(seed)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        partial[rng.permutation(idx)[:n_labels]] = cls
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        det.fit(X, partial)
    for w in caught:
        err(f"warning: {w.message}")
    return det


def _epochs_kept(det: CNNDetector) -> str:
    """``best epoch 7 of 10``, or for an ensemble ``best epochs 7 of 10, 12 of 12``."""
    runs = [sum(r.get("member", 0) == m for r in det.history_) for m in range(det.members)]
    kept = ", ".join(f"{e} of {n}" for e, n in zip(det.member_epochs_, runs, strict=True))
    return f"best epoch {kept}" if det.members == 1 else f"best epochs {kept}"


def _cnn_summary(det: CNNDetector, err: Lines) -> list[str]:
    val = (
        f"validation AP {det.val_ap_:.3f} (chance {det.val_chance_:.2f})"
        if det.val_ap_ == det.val_ap_  # not nan: there was a validation split
        else "no validation AP"
    )
    if det.near_chance():
        err(
            f"warning: validation AP {det.val_ap_:.3f} is near chance ({det.val_chance_:.2f}): "
            "the CNN learnt little; try --features npr, --augment none or dihedral, or a "
            "spectral --method (e.g. logreg)"
        )
    return [
        f"{_epochs_kept(det)} (augment {det.augment_}), {val}, "
        f"calibrated threshold {det.threshold_:.3f} on {det.n_val_} validation images"
        + (
            f" (temperature {det.temperature_:.3f}"
            + (f", bias {det.bias_:+.3f}" if det.calibrate == "platt" else "")
            + f", ECE {det.val_ece_:.3f})"
            if det.calibrate != "threshold"
            else ""
        )
    ]


@locks_output
def train_from_folders(
    out: Path,
    real: Sequence[Path] | None,
    fake: Sequence[Path] | None,
    settings: TrainSettings,
    *,
    err: Lines = _ignore,
) -> list[str]:
    """``ganscope detector train``: fit a detector on folders and save it in ``out`` with
    ``errors.csv`` (every skipped file); returns the summary lines.

    With ``method="cnn"``, ``weights``, ``epochs=0`` and no folders, the weights are saved as a
    model as they are (threshold 0.5).
    """
    s = settings
    resolve_device(s.device)
    feats = s.resolved_features()
    if s.method == "cnn" and s.weights is not None and s.epochs == 0 and not real and not fake:
        det = CNNDetector.from_weights(
            str(s.weights),
            arch=s.arch,
            input=feats,
            antialias=s.antialias,
            crop=s.crop or 224,
            seed=s.seed,
            device=s.device,
        )
        save_detector(det, out)
        return [f"saved {s.weights} as a ganscope model (no training, threshold 0.5) -> {out}"]
    data = labeled_folders(real, fake, err=err)
    errors: list[BadFile] = []
    X, y, hw = training_set(data, s.size, errors)
    for line in error_summary(errors, "loading the training images", out / "errors.csv"):
        err(line)
    if not (y == 0).any() or not y.any():
        raise GanscopeError("training needs readable real and fake images")
    det = fit_detector(build_detector(s), X, y, n_labels=s.n_labels, seed=s.seed, err=err)
    save_detector(det, out)
    # After the model, so that a failed save (a full disk) leaves no folder behind.
    write_errors_csv(out / "errors.csv", errors)  # every skipped file (header only: none)
    n_real, n_fake = int((y == 0).sum()), int(y.sum())
    lines = [
        f"trained {s.method} ({feats}) on {n_real} real + {n_fake} fake images "
        f"({hw[0]}x{hw[1]}) -> {out}"
    ]
    return lines + (_cnn_summary(det, err) if isinstance(det, CNNDetector) else [])


def evaluate_folders(
    model: Path,
    real: Sequence[Path] | None,
    fake: Sequence[Path] | None,
    settings: EvalSettings | None = None,
    *,
    device: str = "auto",
    err: Lines = _ignore,
) -> dict[str, Any]:
    """``ganscope detector eval``: :func:`~ganscope.detectors.evaluate_detector` of the model on
    folders, with ``settings.bootstrap`` resamples for the intervals; writes ``settings.json``
    (DESIGN.md: ``model``, ``overall``, ``per_source``, ``errors``) when given, and returns the
    metrics. The JSON path is checked before the model loads."""
    s = settings or EvalSettings()
    if s.json is not None:
        writable_parent(s.json, folder=False)
    resolve_device(device)
    det = load_detector(model, device=device)
    data = labeled_folders(real, fake, err=err)
    errors: list[BadFile] = []
    result = evaluate_detector(
        det, data, batch_size=s.batch_size, errors=errors, n_resamples=s.bootstrap, seed=s.seed
    )
    for line in error_summary(errors, "scoring", s.json):
        err(line)
    if result["overall"]["n_real"] == 0 or result["overall"]["n_fake"] == 0:
        raise GanscopeError("no readable real or no readable fake image to evaluate on")
    if s.json is not None:
        write_json(s.json, {"model": str(model), **result, "errors": errors_json(errors)})
    return result


def _cell(v: float | None, ci: list | None = None) -> str:
    if v is None:
        return "-"
    text = f"{v:.3f}"
    if ci and ci[0] is not None:
        text += f"\n{ci[0]:.2f}-{ci[1]:.2f}"
    return text


def eval_table(result: dict[str, Any], title: str) -> tuple[Table, str]:
    """The table ``detector eval`` prints (a row per source, intervals on second lines) and the
    line that explains it."""
    table = Table(title=title)
    for col in ("source", "real/fake", "AP", "ROC-AUC", "accuracy", "real", "fake"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for name, m in [("overall", result["overall"]), *result["per_source"].items()]:
        ci = m.get("intervals", {})
        table.add_row(
            name,
            f"{m['n_real']}/{m['n_fake']}",
            *(_cell(m[k], ci.get(k)) for k in ("ap", "roc_auc", "accuracy")),
            _cell(m["real_accuracy"]),
            _cell(m["fake_accuracy"]),
        )
    thr = result["overall"]["threshold"]
    note = (
        "second lines: 95% bootstrap intervals; real, fake: accuracy on real and on fake images; "
        f"decisions at the model's threshold P(fake) > {thr:.4g}"
    )
    return table, note


def detect_files(
    paths: Sequence[Path],
    settings: DetectSettings | None = None,
    *,
    model: Path | None = None,
    device: str = "auto",
    out: Lines = _ignore,
    err: Lines = _ignore,
) -> list[dict[str, Any]]:
    """``ganscope detect``: P(fake) and a label per image file (``model=None``: the shipped
    detector); unreadable files are reported, never fatal.

    Without ``settings.json`` and ``settings.csv`` every result goes to ``out`` as it is scored
    (``P<TAB>label<TAB>path``); with them, the files are written (DESIGN.md) and one summary
    line goes to ``out``. Both paths are checked before the model loads. Returns the results
    ``{"path", "prob_fake", "label"}``.
    """
    settings = settings or DetectSettings()
    json_path, csv_path = settings.json, settings.csv
    for path in filter(None, (json_path, csv_path)):
        writable_parent(path, folder=False)
    model = default_model_path() if model is None else model
    resolve_device(device)  # the same refusal for every model type
    det = load_detector(model, device=device)
    thr = float(det.threshold_)
    errors: list[BadFile] = []
    results: list[dict[str, Any]] = []
    quiet = json_path is not None or csv_path is not None
    batch_size = settings.batch_size
    batches = iter_predictions(det, list_images(paths), batch_size=batch_size, errors=errors)
    for batch_paths, probs in batches:
        labels = np.where(is_fake(probs, thr), "fake", "real")
        for p, s, label in zip(batch_paths, probs.tolist(), labels.tolist(), strict=True):
            results.append({"path": str(p), "prob_fake": float(s), "label": label})
            if not quiet:
                out(f"{s:.4f}\t{label}\t{p}")
    if json_path is not None:
        doc = {"model": str(model), "threshold": thr, "results": results}
        write_json(json_path, {**doc, "errors": errors_json(errors)})
    if csv_path is not None:
        rows = ([r["path"], f"{r['prob_fake']:.6g}", r["label"]] for r in results)
        write_csv(csv_path, ["path", "prob_fake", "label"], rows)
        write_errors_csv(errors_csv_path(csv_path), errors)
    listed = json_path or (errors_csv_path(csv_path) if csv_path else None)
    for line in error_summary(errors, "detecting", listed, "--json FILE or --csv FILE"):
        err(line)
    if quiet:
        n_fake = sum(r["label"] == "fake" for r in results)
        out(
            f"{len(results)} image(s): {n_fake} fake, {len(results) - n_fake} real "
            f"(threshold {thr:.4g}); {len(errors)} error(s)"
        )
    return results
