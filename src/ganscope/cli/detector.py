"""``ganscope detector train|eval`` and ``ganscope detect``: thin wrappers over
:mod:`ganscope.detectors` and :mod:`ganscope.metrics`."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ganscope.cli.options import (
    DeviceOption,
    SeedOption,
    choice_enum,
    echo_lossless,
    locks_output,
    positive,
    require_dirs,
    resolve_device,
    writable_parent,
)
from ganscope.errors import GanscopeError

log = logging.getLogger("ganscope")

detector_app = typer.Typer(help="Train and evaluate real-vs-fake detectors.", no_args_is_help=True)


class Method(StrEnum):
    logreg = "logreg"
    svm_linear = "svm-linear"
    svm_rbf = "svm-rbf"
    random_forest = "random-forest"
    mlp = "mlp"
    kmeans = "kmeans"
    cnn = "cnn"


class Arch(StrEnum):
    resnet_small = "resnet-small"
    resnet50 = "resnet50"
    npr = "npr"


class Preset(StrEnum):
    default = "default"
    durall = "durall"


# ganscope.detectors.augment.AUGMENTATIONS (not imported here: ganscope.detectors pulls in
# scikit-learn, and every command would pay for it at start-up; a test keeps the two equal)
_AUGMENT = ("auto", "none", "flip", "dihedral", "jpeg", "blur", "blur+jpeg")
Augment = choice_enum("Augment", _AUGMENT)

_SPECTRAL = ("azimuthal", "projections", "dct", "fft2d")
_CNN = ("rgb", "npr", "fft", "dct")
Features = choice_enum("Features", dict.fromkeys(_SPECTRAL + _CNN))

RealOption = Annotated[
    list[Path] | None,
    typer.Option("--real", help="Folder of real images (repeatable; 0_real/1_fake trees work)."),
]
FakeOption = Annotated[
    list[Path] | None,
    typer.Option("--fake", help="Folder of fake images, one source per folder (repeatable)."),
]


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _report_errors(
    errors: list[tuple[Path, str]], what: str, listed: Path | None, hint: str = "--json FILE"
) -> None:
    """A short summary on stderr, naming the machine-readable output ``listed`` that holds every
    bad file (DESIGN.md), or the option (``hint``) that writes one."""
    if not errors:
        return
    _warn(f"{len(errors)} file(s) skipped while {what}:")
    for path, reason in errors[:5]:
        echo_lossless(f"  {path}: {reason}", err=True)
    if len(errors) > 5:
        typer.echo(f"  ... and {len(errors) - 5} more", err=True)
    if listed is not None:
        echo_lossless(f"  all {len(errors)} listed in {listed}", err=True)
    else:
        typer.echo(f"  (give {hint} to list all {len(errors)})", err=True)


def _labeled(real: list[Path] | None, fake: list[Path] | None):
    from ganscope.detectors import audit_bias
    from ganscope.io import load_labeled

    if not fake:
        raise GanscopeError("give at least one --fake folder")
    require_dirs(list(real or []) + list(fake), "folder")
    data = load_labeled(list(real or []), list(fake))
    if not data.real:
        raise GanscopeError("no real images: give --real DIR (or a tree with 0_real folders)")
    for w in audit_bias(data.real, data.fakes):
        _warn(f"bias audit: {w}")
    return data


def _fmt(v: float | None, ci: list | None = None) -> str:
    if v is None:
        return "-"
    text = f"{v:.3f}"
    if ci and ci[0] is not None:
        text += f"\n{ci[0]:.2f}-{ci[1]:.2f}"
    return text


def _print_eval_table(result: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("source", "real/fake", "AP", "ROC-AUC", "accuracy", "real", "fake"):
        table.add_column(col, justify="left" if col == "source" else "right")
    rows = [("overall", result["overall"]), *list(result["per_source"].items())]
    for name, m in rows:
        ci = m.get("intervals", {})
        table.add_row(
            name,
            f"{m['n_real']}/{m['n_fake']}",
            _fmt(m["ap"], ci.get("ap")),
            _fmt(m["roc_auc"], ci.get("roc_auc")),
            _fmt(m["accuracy"], ci.get("accuracy")),
            _fmt(m["real_accuracy"]),
            _fmt(m["fake_accuracy"]),
        )
    Console().print(table)
    thr = result["overall"]["threshold"]
    typer.echo(
        "second lines: 95% bootstrap intervals; real, fake: accuracy on real and on fake images; "
        f"decisions at the model's threshold P(fake) > {thr:.4g}"
    )


@detector_app.command("train")
@locks_output("out")
def train(
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    method: Annotated[
        Method,
        typer.Option("--method", help="The learner; logreg..mlp and kmeans use spectral features."),
    ],
    real: RealOption = None,
    fake: FakeOption = None,
    features: Annotated[
        Features | None,
        typer.Option(
            "--features",
            help="What the learner sees: azimuthal, projections, dct or fft2d (spectral "
            "methods, default azimuthal); rgb, npr, fft or dct (cnn, default rgb).",
        ),
    ] = None,
    bins: Annotated[
        int | None, typer.Option("--bins", help="Length of 1D spectral features.")
    ] = None,
    preset: Annotated[
        Preset, typer.Option("--preset", help="Spectral feature preset.")
    ] = Preset.default,
    size: Annotated[
        int | None,
        typer.Option(
            "--size",
            help="Centre-crop training images to SIZE x SIZE (default: the "
            "smallest height and width in the training set).",
        ),
    ] = None,
    n_labels: Annotated[
        int,
        typer.Option(
            "--n-labels",
            help="kmeans: labelled images per class used only to name the "
            "fake cluster (0: the smaller cluster is called fake).",
        ),
    ] = 5,
    arch: Annotated[
        Arch,
        typer.Option(
            "--arch",
            help="cnn network: resnet-small, resnet50 (CNNDetection's), or npr (Tan et al. "
            "2024's published NPR network; reads NPR residuals, loads their NPR.pth).",
        ),
    ] = Arch.resnet_small,
    antialias: Annotated[
        bool, typer.Option("--antialias", help="cnn: BlurPool (Zhang 2019).")
    ] = False,
    crop: Annotated[int | None, typer.Option("--crop", help="cnn: random-crop side.")] = None,
    augment: Annotated[
        Augment,
        typer.Option(
            "--augment",
            help="cnn: training augmentation; auto: dihedral (flips, quarter turns) below 2000 "
            "training images, blur+jpeg (Wang et al. 2020) from there. Blur hides the evidence "
            "where fakes are smoother than reals.",
        ),
    ] = Augment("auto"),
    epochs: Annotated[
        int | None,
        typer.Option("--epochs", help="cnn: most training epochs (default: by data size)."),
    ] = None,
    lr: Annotated[float, typer.Option("--lr", help="cnn: Adam learning rate.")] = 1e-3,
    batch_size: Annotated[int, typer.Option("--batch-size", help="cnn: images per step.")] = 32,
    blur_prob: Annotated[
        float | None,
        typer.Option("--blur-prob", help="cnn: blur probability (0.1); implies blur+jpeg."),
    ] = None,
    jpeg_prob: Annotated[
        float | None,
        typer.Option("--jpeg-prob", help="cnn: JPEG probability (0.1); implies blur+jpeg."),
    ] = None,
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", help="cnn: held-out fraction per class.")
    ] = 0.2,
    patience: Annotated[
        int | None,
        typer.Option("--patience", help="cnn: early-stopping epochs (default: epochs / 4)."),
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            help="cnn: start from a .pth/.safetensors file (e.g. "
            "CNNDetection's); with --epochs 0 it is used as it is.",
        ),
    ] = None,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Train a detector on real and fake folders and save it as a model folder."""
    import torch

    from ganscope.detectors import (
        CNNDetector,
        common_size,
        detector_for_method,
        load_images,
        save_detector,
    )
    from ganscope.detectors.cnn import resolve_device_name

    writable_parent(out, folder=True)
    resolve_device(device)
    resolve_device_name(device)
    for value, option in ((size, "--size"), (bins, "--bins"), (crop, "--crop")):
        positive(value, option)
    positive(batch_size, "--batch-size")
    positive(epochs, "--epochs", minimum=0)
    m = method.value
    allowed = _CNN if m == "cnn" else _SPECTRAL
    feats = features.value if features is not None else allowed[0]
    if m == "cnn" and arch.value == "npr":
        # Tan et al.'s network is trained on NPR residuals; any other input would be nonsense.
        if features is not None and feats != "npr":
            raise GanscopeError("--arch npr reads NPR residuals: use --features npr (the default)")
        feats = "npr"
    if feats not in allowed:
        raise GanscopeError(f"--features for --method {m} must be one of {', '.join(allowed)}")
    if weights is not None and m != "cnn":
        raise GanscopeError("--weights applies to --method cnn only")
    if m == "cnn" and weights is not None and epochs == 0 and not real and not fake:
        det = CNNDetector.from_weights(
            str(weights),
            arch=arch.value,
            input=feats,
            antialias=antialias,
            crop=crop or 224,
            seed=seed,
            device=device,
        )
        save_detector(det, out)
        typer.echo(f"saved {weights} as a ganscope model (no training, threshold 0.5) -> {out}")
        return
    data = _labeled(real, fake)
    errors: list[tuple[Path, str]] = []
    paths = data.real + data.all_fake()
    hw = (size, size) if size is not None else common_size(paths)  # bad files: reported below
    X_real, kept_real = load_images(data.real, size=hw, errors=errors, description="real")
    fakes = [load_images(v, size=hw, errors=errors, description=k) for k, v in data.fakes.items()]
    _report_errors(errors, "loading the training images", out / "errors.csv")
    X = torch.cat([X_real] + [f[0] for f in fakes])
    y = np.r_[
        np.zeros(len(kept_real), dtype=np.int64),
        np.ones(sum(len(f[1]) for f in fakes), dtype=np.int64),
    ]
    if len(kept_real) == 0 or y.sum() == 0:
        raise GanscopeError("training needs readable real and fake images")
    if m == "cnn":
        det = detector_for_method(
            m,
            arch=arch.value,
            input=feats,
            antialias=antialias,
            crop=crop,
            # an explicit --blur-prob/--jpeg-prob asks for Wang et al.'s recipe
            augment="blur+jpeg"
            if augment.value == "auto" and (blur_prob is not None or jpeg_prob is not None)
            else augment.value,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            blur_prob=0.1 if blur_prob is None else blur_prob,
            jpeg_prob=0.1 if jpeg_prob is None else jpeg_prob,
            val_fraction=val_fraction,
            patience=patience,
            weights=str(weights) if weights else None,
            seed=seed,
            device=device,
        )
        det.fit(X, y)
    elif m == "kmeans":
        det = detector_for_method(m, features=feats, bins=bins, preset=preset.value, seed=seed)
        partial = np.full_like(y, -1)
        rng = np.random.default_rng(seed)
        for cls in (0, 1):
            idx = np.flatnonzero(y == cls)
            partial[rng.permutation(idx)[:n_labels]] = cls
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            det.fit(X, partial)
        for w in caught:
            _warn(str(w.message))
    else:
        det = detector_for_method(m, features=feats, bins=bins, preset=preset.value, seed=seed)
        det.fit(X, y)
    save_detector(det, out)
    from ganscope.io import write_errors_csv

    # After the model, so that a failed save (a full disk) leaves no folder behind.
    write_errors_csv(out / "errors.csv", errors)  # every skipped file (header only: none)
    n_real, n_fake = int((y == 0).sum()), int(y.sum())
    typer.echo(
        f"trained {m} ({feats}) on {n_real} real + {n_fake} fake images ({hw[0]}x{hw[1]}) -> {out}"
    )
    if m == "cnn":
        val = (
            f"validation AP {det.val_ap_:.3f} (chance {det.val_chance_:.2f})"
            if det.val_ap_ == det.val_ap_  # not nan: there was a validation split
            else "no validation AP"
        )
        typer.echo(
            f"best epoch {det.best_epoch_} of {len(det.history_)} (augment {det.augment_}), "
            f"{val}, calibrated threshold {det.threshold_:.3f} on {det.n_val_} validation images"
        )
        if det.near_chance():
            _warn(
                f"validation AP {det.val_ap_:.3f} is near chance ({det.val_chance_:.2f}): the "
                "CNN learnt little; try --features npr, --augment none or dihedral, or a "
                "spectral --method (e.g. logreg)"
            )


@detector_app.command("eval")
def evaluate(
    model: Annotated[Path, typer.Argument(help="Model folder written by detector train.")],
    real: RealOption = None,
    fake: FakeOption = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the metrics as JSON.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.")] = 64,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap resamples for the 95% intervals.")
    ] = 1000,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
) -> None:
    """Evaluate a model on real and fake folders: AP, ROC-AUC, accuracies, with intervals."""
    from ganscope.detectors import evaluate_detector, load_detector
    from ganscope.io import errors_json, write_json

    if json_path is not None:
        writable_parent(json_path, folder=False)
    positive(batch_size, "--batch-size")
    resolve_device(device)
    det = load_detector(model, device=device)
    data = _labeled(real, fake)
    errors: list[tuple[Path, str]] = []
    result = evaluate_detector(
        det, data, batch_size=batch_size, errors=errors, n_resamples=bootstrap, seed=seed
    )
    _report_errors(errors, "scoring", json_path)
    if result["overall"]["n_real"] == 0 or result["overall"]["n_fake"] == 0:
        raise GanscopeError("no readable real or no readable fake image to evaluate on")
    if json_path is not None:
        write_json(
            json_path,
            {
                "model": str(model),
                **result,
                "errors": errors_json(errors),
            },
        )
    _print_eval_table(result, f"{model}")


def detect(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders.")],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Model folder; default: the detector shipped with ganscope (see MODEL_CARD.md).",
        ),
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write results as JSON.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write results as CSV.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.")] = 64,
    device: DeviceOption = "auto",
) -> None:
    """P(fake) and a real/fake label per image. Unreadable files are reported, never fatal.

    Images are centre-cropped to the model's input size (spectral models: their training size;
    CNNs: their crop); smaller images are reported as errors.
    """
    from ganscope.detectors import iter_predictions, load_detector
    from ganscope.io import (
        errors_csv_path,
        errors_json,
        list_images,
        write_csv,
        write_errors_csv,
        write_json,
    )

    if model is None:
        from ganscope.detectors import default_model_path

        model = default_model_path()
    for p in (json_path, csv_path):
        if p is not None:
            writable_parent(p, folder=False)
    positive(batch_size, "--batch-size")
    resolve_device(device)  # the same refusal for every model type
    det = load_detector(model, device=device)
    files = list_images(paths)
    thr = float(det.threshold_)
    errors: list[tuple[Path, str]] = []
    results = []
    quiet = json_path is not None or csv_path is not None
    for batch_paths, probs in iter_predictions(det, files, batch_size=batch_size, errors=errors):
        for p, s in zip(batch_paths, probs.tolist(), strict=True):
            label = "fake" if s > thr else "real"
            results.append({"path": str(p), "prob_fake": float(s), "label": label})
            if not quiet:
                echo_lossless(f"{s:.4f}\t{label}\t{p}")
    if json_path is not None:
        write_json(
            json_path,
            {
                "model": str(model),
                "threshold": thr,
                "results": results,
                "errors": errors_json(errors),
            },
        )
    if csv_path is not None:
        write_csv(
            csv_path,
            ["path", "prob_fake", "label"],
            ([r["path"], f"{r['prob_fake']:.6g}", r["label"]] for r in results),
        )
        write_errors_csv(errors_csv_path(csv_path), errors)
    n_fake = sum(r["label"] == "fake" for r in results)
    listed = json_path or (errors_csv_path(csv_path) if csv_path else None)
    _report_errors(errors, "detecting", listed, "--json FILE or --csv FILE")
    if quiet:
        typer.echo(
            f"{len(results)} image(s): {n_fake} fake, {len(results) - n_fake} real "
            f"(threshold {thr:.4g}); {len(errors)} error(s)"
        )


def register(app: typer.Typer) -> None:
    """Add the ``detector`` group and the ``detect`` command to the root app."""
    app.add_typer(detector_app, name="detector")
    app.command("detect")(detect)
