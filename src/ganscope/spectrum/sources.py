"""Spectra of whole image folders: one streaming pass that yields per-image features and the mean
and standard deviation per source (what ``ganscope spectrum`` prints, writes and plots), and the
outputs it writes: the streamed per-image CSV, the list of bad files, the JSON summary.

Files are read as 8-bit luma the way Durall et al.'s ``cv2.imread(path, 0)`` reads them
(:func:`ganscope.io.luma.load_luma`: a JPEG's stored Y plane, chroma never decoded), since every
spectral feature is a function of the luma only. The ``durall`` preset therefore reproduces their
published per-image features from files exactly; the ``default`` preset sees the same 8-bit luma
divided by 255.

Mixed sizes rule
    Features of different image sizes are not comparable (the frequency grid changes), so every
    image of every source is centre-cropped to the smallest height and the smallest width found
    in a header-only pre-pass (:func:`ganscope.io.luma.read_luma_size`); a warning says how many
    images were cropped. Images smaller than ``min_size`` (8) on a side, and files whose header
    cannot be read, are reported as bad files and skipped.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
from torch import Tensor

from ganscope import __version__
from ganscope.devices import resolve_device, threads_beside
from ganscope.errors import GanscopeError
from ganscope.io import (
    atomic_path,
    errors_csv_path,
    errors_json,
    fake_source_name,
    list_images,
    open_text,
    write_errors_csv,
    write_json,
)
from ganscope.io.luma import LumaBatch, iter_luma_batches, read_luma_size
from ganscope.io.sizes import CropPlan, plan_crop
from ganscope.progress import progress_bar
from ganscope.spectrum.features import (
    FEATURES,
    FeatureLayout,
    extract_features,
    feature_layout,
)
from ganscope.spectrum.fourier import power_spectrum
from ganscope.spectrum.stats import SpectrumStats

__all__ = [
    "CropPlan",
    "FeatureCsv",
    "SourceSpectra",
    "SpectrumAnalysis",
    "analyze_sources",
    "analyze_to_csv",
    "plan_crop",
    "run_spectrum",
    "source_names",
    "spectrum_report",
    "value_label",
]

log = logging.getLogger(__name__)

BadFile = tuple[Path, str]
#: Called once per batch with the batch's paths and its ``(B, F)`` features (on the CPU).
BatchSink = Callable[[list[Path], Tensor], None]


@dataclass
class SourceSpectra:
    """Statistics of one source.

    Attributes:
        name: source name (folder name).
        features: running mean/std of the per-image feature vectors.
        spectrum: running mean/std of the 2D spectrum (``(H, W)``; the centred log power spectrum
            of the luma for 1D kinds and ``fft2d``, the log-abs DCT for ``dct``), when asked for.
    """

    name: str
    features: SpectrumStats = field(default_factory=SpectrumStats)
    spectrum: SpectrumStats | None = None

    @property
    def count(self) -> int:
        return self.features.count


@dataclass
class SpectrumAnalysis:
    """Everything :func:`analyze_sources` measured.

    Attributes:
        kind, preset, bins: the feature settings.
        size: the common ``(H, W)`` after cropping.
        layout: what each feature value means (frequencies in cycles/pixel).
        sources: per source, in the order given (the first is the reference for differences).
        bad: unreadable or too-small files, ``(path, reason)``, in the order met.
        n_cropped: images centre-cropped to ``size``.
        decode_seconds: time the caller spent waiting for batches (decoded, with features).
        feature_seconds: thread time spent on features, summed over the decoding threads.
    """

    kind: str
    preset: str
    bins: int | None
    size: tuple[int, int]
    layout: FeatureLayout
    sources: dict[str, SourceSpectra]
    bad: list[BadFile]
    n_cropped: int
    decode_seconds: float = 0.0
    feature_seconds: float = 0.0


def _spectrum_2d(images: Tensor, kind: str, feats: Tensor, size: tuple[int, int]) -> Tensor:
    if kind in ("fft2d", "dct"):
        return feats.reshape(-1, *size)  # the features are the 2D spectrum already
    return power_spectrum(images)[:, 0]


def analyze_sources(
    sources: Mapping[str, Sequence[Path]],
    *,
    kind: str = "azimuthal",
    preset: str = "default",
    bins: int | None = None,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    spectra: bool = False,
    on_batch: BatchSink | None = None,
    min_size: int = 8,
    workers: int = 2,
) -> SpectrumAnalysis:
    """Stream every image of every source once: features, per-source mean/std, bad files.

    Images are read as 8-bit luma (:func:`ganscope.io.luma.load_luma`) and handed to
    :func:`~ganscope.spectrum.extract_features` as ``(B, 1, H, W)`` 0..255 values with
    ``white=255``: float64 for the ``durall`` preset (its spectrum is then the one of the integers
    their code transforms), float32 otherwise.

    Args:
        sources: source name -> image files (e.g. from :func:`ganscope.io.list_images`).
        kind, preset, bins: passed to :func:`~ganscope.spectrum.extract_features`.
        batch_size: images decoded and transformed together.
        device: where the transforms run.
        spectra: also accumulate the mean/std 2D spectrum per source (for plots).
        on_batch: receives ``(paths, features)`` per batch, e.g. to stream CSV rows, so that
            features of 100k images are never held in memory.
        min_size: smaller images are bad files.
        workers: decoding threads; each also computes the features of the batch it decoded
            (torch releases the GIL), so on CPU torch should use one intra-op thread per worker
            (its spinning intra-op threads would compete with the workers for the cores).

    Raises:
        GanscopeError: bad settings, or no readable image at all.
    """
    plan = plan_crop(sources, min_size=min_size, read=read_luma_size)
    H, W = plan.size
    try:
        layout = feature_layout(kind, H, W, bins=bins, preset=preset)
        if kind == "azimuthal" and preset == "durall" and layout.length < 1:
            raise ValueError("images too small for the durall preset")
    except ValueError as err:
        raise GanscopeError(str(err)) from None
    if plan.n_cropped:
        total = sum(len(f) for f in plan.files.values())
        log.warning(
            "%d of %d images differ in size; every image is centre-cropped to %dx%d (H x W)",
            plan.n_cropped,
            total,
            H,
            W,
        )
    bad = list(plan.bad)
    result = SpectrumAnalysis(kind, preset, bins, plan.size, layout, {}, bad, plan.n_cropped)
    device = torch.device(device)
    # durall: float64, so that 20 ln|F| of the 0..255 integers is reproduced to rounding
    dtype = torch.float64 if preset == "durall" else torch.float32
    total = sum(len(f) for f in plan.files.values())

    def transform(batch: LumaBatch) -> tuple[Tensor, Tensor | None, float]:
        # runs in a decoding thread: torch releases the GIL, so features use every core
        t = time.perf_counter()
        with torch.no_grad():
            images = batch.luma.to(device, dtype)  # 0..255
            feats = extract_features(images, kind, bins=bins, preset=preset, white=255.0)
            spec = _spectrum_2d(images / 255.0, kind, feats, plan.size) if spectra else None
            return feats.cpu(), spec, time.perf_counter() - t

    with progress_bar(total, "spectra") as bar:
        for name, files in plan.files.items():
            src = SourceSpectra(name, spectrum=SpectrumStats() if spectra else None)
            result.sources[name] = src
            n_bad = len(bad)
            batches = iter_luma_batches(
                files,
                batch_size=batch_size,
                crop=plan.size,
                min_size=min_size,
                errors=bad,
                workers=workers,
                apply=transform,
            )
            t0 = time.perf_counter()
            for batch in batches:
                feats, spec, seconds = batch.result
                result.decode_seconds += time.perf_counter() - t0
                result.feature_seconds += seconds
                src.features.update(feats)
                if spec is not None and src.spectrum is not None:
                    src.spectrum.update(spec)
                if on_batch is not None:
                    on_batch(batch.paths, feats)
                bar.advance(len(batch.paths) + len(bad) - n_bad, source=name)
                n_bad = len(bad)
                t0 = time.perf_counter()
            bar.advance(len(bad) - n_bad, source=name)
            if src.count == 0:
                log.warning("source %s has no readable image left", name)
    return result


def source_names(dirs: Sequence[Path]) -> dict[str, Path]:
    """One source per folder, named after it (``0_real``/``1_fake`` trees by their generator),
    with ``-2``, ``-3``... added to repeated names."""
    names: dict[str, Path] = {}
    for d in dirs:
        base = fake_source_name(d) or str(d)
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names[name] = d
    return names


def run_spectrum(
    dirs: Sequence[Path],
    *,
    kind: str = "azimuthal",
    preset: str = "default",
    bins: int | None = None,
    batch_size: int = 64,
    device: str | torch.device = "auto",
    csv_path: Path | None = None,
    json_path: Path | None = None,
    spectra: bool = False,
    workers: int = 2,
) -> SpectrumAnalysis:
    """``ganscope spectrum``: features of every image of each folder (one source per folder), the
    CSV of every image's features (with ``NAME.errors.csv`` beside it), the JSON summary, and a
    warning naming the first bad files (all of them are in the CSV's and the JSON's error lists).

    Raises:
        GanscopeError: a folder is missing, a setting does not apply to ``kind``, or no image at
            all could be read.
    """
    for d in dirs:
        if not Path(d).exists():
            raise GanscopeError(f"folder not found: {d}")
    try:
        feature_layout(kind, 64, 64, bins=bins, preset=preset)  # checks the settings
    except ValueError as err:
        raise GanscopeError(str(err)) from None
    torch_device = resolve_device(device)
    folders = source_names(dirs)
    sources = {name: list_images([d]) for name, d in folders.items()}
    settings: dict[str, Any] = {"kind": kind, "preset": preset, "bins": bins, "spectra": spectra}
    settings |= {"batch_size": batch_size, "device": torch_device, "workers": workers}
    with threads_beside(workers, torch_device):
        if csv_path is None:
            analysis = analyze_sources(sources, **settings)
        else:
            analysis = analyze_to_csv(sources, csv_path, **settings)
    listed = []
    if csv_path is not None:
        errors_csv = errors_csv_path(csv_path)
        write_errors_csv(errors_csv, analysis.bad)  # written even when empty: no stale list
        listed.append(str(errors_csv))
    if json_path is not None:
        write_json(json_path, spectrum_report(analysis, folders))
        log.info("wrote %s", json_path)
        listed.append(f"{json_path} (errors)")
    if analysis.bad:
        shown = "; ".join(f"{p}: {r}" for p, r in analysis.bad[:3])
        more = f" (and {len(analysis.bad) - 3} more)" if len(analysis.bad) > 3 else ""
        where = f"; every one is listed in {' and '.join(listed)}" if listed else ""
        log.warning("skipped %d bad file(s): %s%s%s", len(analysis.bad), shown, more, where)
    log.debug("waited %.2fs, features %.2fs", analysis.decode_seconds, analysis.feature_seconds)
    return analysis


def value_label(kind: str, preset: str) -> str:
    """What the values of a feature vector are, in words (for tables, plots and the JSON)."""
    return FEATURES[kind]().value_label(preset)


class FeatureCsv:
    """Streams ``path,f0,f1,...`` rows to an open text file, one batch at a time (a
    :data:`BatchSink`); the header is written before the first batch, or by :meth:`header`.

    Values round-trip exactly: 9 significant digits for float32 features, 17 for float64 (the
    ``durall`` preset).
    """

    def __init__(self, fh: TextIO) -> None:
        self.fh = fh
        self.rows = 0
        self.started = False

    def header(self, length: int) -> None:
        self.fh.write(",".join(["path", *(f"f{i}" for i in range(length))]) + "\n")
        self.started = True

    def __call__(self, paths: list[Path], feats: Tensor) -> None:
        if not self.started:
            self.header(feats.shape[1])
        digits = 17 if feats.dtype == torch.float64 else 9
        values = feats.numpy().astype(np.float64).tolist()
        row_fmt = ",".join([f"%.{digits}g"] * feats.shape[1]) + "\n"
        self.fh.write(
            "".join(
                _csv_field(os.fspath(p)) + "," + row_fmt % tuple(v)
                for p, v in zip(paths, values, strict=True)
            )
        )
        self.rows += len(paths)


def _csv_field(text: str) -> str:
    if not any(c in text for c in ',"\r\n'):
        return text
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


def analyze_to_csv(
    sources: Mapping[str, Sequence[Path]], csv_path: str | Path, **settings: Any
) -> SpectrumAnalysis:
    """:func:`analyze_sources` with every readable image's features streamed to ``csv_path``
    (written atomically: a header, then ``path,f0,f1,...`` per image; only the header when no
    image could be read)."""
    with atomic_path(csv_path) as tmp, open_text(tmp) as fh:
        writer = FeatureCsv(fh)
        analysis = analyze_sources(sources, on_batch=writer, **settings)
        if not writer.started:
            writer.header(analysis.layout.length)
        fh.flush()
        os.fsync(fh.fileno())
    log.info("wrote %d rows to %s", writer.rows, csv_path)
    return analysis


def spectrum_report(analysis: SpectrumAnalysis, folders: Mapping[str, Path]) -> dict[str, Any]:
    """The JSON summary of ``ganscope spectrum --json``: settings, frequencies, per-source mean,
    std and difference to the reference (the first source), and every bad file in ``errors``
    (``[{"path", "error"}]``)."""
    ref = next(iter(analysis.sources))
    ref_src = analysis.sources[ref]
    sources = {}
    for name, src in analysis.sources.items():
        entry: dict[str, Any] = {"folder": os.fspath(folders[name]), "n_images": src.count}
        if src.count:
            entry["mean"] = src.features.mean.tolist()
            entry["std"] = src.features.std.tolist()
            if name != ref and ref_src.count:
                entry["difference_to_reference"] = (
                    src.features.mean - ref_src.features.mean
                ).tolist()
        else:
            entry["mean"] = entry["std"] = None
        sources[name] = entry
    return {
        "ganscope_version": __version__,
        "kind": analysis.kind,
        "preset": analysis.preset,
        "bins": analysis.bins,
        "size": list(analysis.size),
        "n_cropped": analysis.n_cropped,
        "values": value_label(analysis.kind, analysis.preset),
        "reference": ref,
        "frequencies": {seg: freqs.tolist() for seg, freqs in analysis.layout.segments} or None,
        "shape2d": list(analysis.layout.shape2d) if analysis.layout.shape2d else None,
        "sources": sources,
        "errors": errors_json(analysis.bad),
    }
