"""A bias audit of real-vs-fake training and test sets, run before training and evaluation.

A detector learns whatever separates its two piles. When the real images are JPEG photos and the
fakes are PNG files straight out of a generator (or of another size, or of another JPEG quality),
the easiest cue is the container, not the generator: such a detector scores well on its own test
set and fails on anything else (the dataset-bias warnings of Wang et al. 2020, sec. 5, and of
later re-examinations of CNN-detector benchmarks). The audit reads file headers only (format,
size, colour mode, JPEG quantization tables) and warns when a fake source differs from the real
set in any of them.

JPEG quality is estimated from the luminance and chrominance quantization tables that Pillow
exposes: the IJG quality ``q`` whose scaled standard tables (ITU-T T.81 Annex K, scaled as in
libjpeg's ``jpeg_quality_scaling``) are closest in L1 distance. Cameras and other encoders with
their own tables get the nearest IJG equivalent.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), natural (row-major) order.
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
])  # fmt: skip
_STD_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
] + [99] * 32)  # fmt: skip


def _ijg_tables() -> np.ndarray:
    q = np.arange(1, 101)
    scale = np.where(q < 50, 5000 // q, 200 - 2 * q)[:, None]  # libjpeg jpeg_quality_scaling
    luma = np.clip((_STD_LUMA[None] * scale + 50) // 100, 1, 255)
    chroma = np.clip((_STD_CHROMA[None] * scale + 50) // 100, 1, 255)
    return np.stack([luma, chroma], axis=1)  # (100, 2, 64)


_IJG = _ijg_tables()


def estimate_jpeg_quality(quantization: Mapping[int, Sequence[int]]) -> int | None:
    """The IJG quality (1..100) whose standard tables best match ``quantization``.

    Args:
        quantization: Pillow's ``Image.quantization`` (``{table id: 64 values}``).

    Returns:
        The quality, or ``None`` without a usable luminance table.

    Example:
        >>> estimate_jpeg_quality({0: list(_IJG[74, 0]), 1: list(_IJG[74, 1])})
        75
    """
    if not quantization or 0 not in quantization or len(quantization[0]) != 64:
        return None
    luma = np.asarray(quantization[0], dtype=np.int64)
    dist = np.abs(_IJG[:, 0] - luma[None]).sum(axis=1)
    if 1 in quantization and len(quantization[1]) == 64:
        chroma = np.asarray(quantization[1], dtype=np.int64)
        dist = dist + np.abs(_IJG[:, 1] - chroma[None]).sum(axis=1)
    return int(np.argmin(dist)) + 1


@dataclass(frozen=True)
class FileInfo:
    """What the audit reads from one header."""

    path: Path
    format: str
    size: tuple[int, int]  # (H, W)
    mode: str
    jpeg_quality: int | None


def read_file_info(path: str | Path) -> FileInfo | None:
    """Header facts of one image, or ``None`` when it cannot be opened."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                quality = None
                if im.format == "JPEG":
                    quality = estimate_jpeg_quality(getattr(im, "quantization", None) or {})
                w, h = im.size
                return FileInfo(path, im.format or "?", (h, w), im.mode, quality)
    except Exception:  # any unreadable file is the image reader's business, not the audit's
        return None


@dataclass(frozen=True)
class BiasWarning:
    """One difference between the real set and a fake source."""

    source: str
    kind: str  # "format", "size", "jpeg_quality" or "mode"
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class SetSummary:
    """Header statistics of one set of files."""

    n: int
    formats: dict[str, float]  # format -> share of files
    modes: dict[str, float]
    median_size: tuple[float, float]
    sizes: dict[tuple[int, int], float]
    jpeg_qualities: list[int]

    @property
    def jpeg_share(self) -> float:
        return self.formats.get("JPEG", 0.0)

    def describe_formats(self) -> str:
        return ", ".join(
            f"{k} {v:.0%}" for k, v in sorted(self.formats.items(), key=lambda t: -t[1])
        )


def _sample(paths: Sequence[Path], max_files: int) -> list[Path]:
    if len(paths) <= max_files:
        return list(paths)
    idx = np.linspace(0, len(paths) - 1, max_files).round().astype(int)
    return [paths[i] for i in idx]


def summarize(paths: Sequence[str | Path], *, max_files: int = 2000) -> SetSummary:
    """Header statistics of (an evenly spaced sample of at most ``max_files`` of) ``paths``."""
    infos = [
        i for i in (read_file_info(p) for p in _sample([Path(p) for p in paths], max_files)) if i
    ]
    n = len(infos)
    if n == 0:
        return SetSummary(0, {}, {}, (0.0, 0.0), {}, [])
    fmt = Counter(i.format for i in infos)
    mode = Counter(i.mode for i in infos)
    size = Counter(i.size for i in infos)
    hs = np.array([i.size[0] for i in infos])
    ws = np.array([i.size[1] for i in infos])
    return SetSummary(
        n=n,
        formats={k: v / n for k, v in fmt.items()},
        modes={k: v / n for k, v in mode.items()},
        median_size=(float(np.median(hs)), float(np.median(ws))),
        sizes={k: v / n for k, v in size.items()},
        jpeg_qualities=[i.jpeg_quality for i in infos if i.jpeg_quality is not None],
    )


def compare_sets(
    real: SetSummary,
    fake: SetSummary,
    source: str,
    *,
    share_tolerance: float = 0.2,
    size_tolerance: float = 0.1,
    quality_tolerance: float = 5.0,
) -> list[BiasWarning]:
    """Warnings for the differences between a real and a fake set summary.

    Args:
        share_tolerance: largest tolerated difference in the share of a format or colour mode.
        size_tolerance: largest tolerated relative difference of the median height or width.
        quality_tolerance: largest tolerated difference of the median JPEG quality.
    """
    out: list[BiasWarning] = []
    if real.n == 0 or fake.n == 0:
        return out
    formats = set(real.formats) | set(fake.formats)
    if any(abs(real.formats.get(f, 0) - fake.formats.get(f, 0)) > share_tolerance for f in formats):
        out.append(
            BiasWarning(
                source,
                "format",
                (
                    f"file formats differ: real {real.describe_formats()} vs {source} "
                    f"{fake.describe_formats()}; a detector can learn the container (e.g. JPEG "
                    "compression traces) instead of the generator"
                ),
            )
        )
    modes = set(real.modes) | set(fake.modes)
    if any(abs(real.modes.get(m, 0) - fake.modes.get(m, 0)) > share_tolerance for m in modes):
        out.append(
            BiasWarning(
                source,
                "mode",
                (
                    f"colour modes differ: real {sorted(real.modes)} "
                    f"vs {source} {sorted(fake.modes)}"
                ),
            )
        )
    (rh, rw), (fh, fw) = real.median_size, fake.median_size
    if abs(rh - fh) > size_tolerance * max(rh, fh) or abs(rw - fw) > size_tolerance * max(rw, fw):
        out.append(
            BiasWarning(
                source,
                "size",
                (
                    f"image sizes differ: real median {rh:.0f}x{rw:.0f} "
                    f"vs {source} median {fh:.0f}x{fw:.0f}; "
                    "resizing and cropping leave size-specific traces"
                ),
            )
        )
    if real.jpeg_qualities and fake.jpeg_qualities:
        rq, fq = float(np.median(real.jpeg_qualities)), float(np.median(fake.jpeg_qualities))
        if abs(rq - fq) > quality_tolerance:
            out.append(
                BiasWarning(
                    source,
                    "jpeg_quality",
                    (
                        f"JPEG qualities differ: real median q={rq:.0f} "
                        f"vs {source} median q={fq:.0f}; "
                        "the detector can learn the quantization tables"
                    ),
                )
            )
    return out


def audit_bias(
    real: Sequence[str | Path],
    fakes: Mapping[str, Sequence[str | Path]] | Sequence[str | Path],
    *,
    max_files: int = 2000,
) -> list[BiasWarning]:
    """Warn where the real files and a fake source differ in format, size, mode or JPEG quality.

    Args:
        real: real image paths.
        fakes: fake image paths, or ``{source name: paths}``.
        max_files: header reads per set (an evenly spaced sample of larger sets).

    Returns:
        The warnings (empty when nothing stands out). Only headers are read: fast on big sets.

    Example:
        >>> for w in audit_bias(real_paths, {"progan": fake_paths}):  # doctest: +SKIP
        ...     print("warning:", w)
    """
    sources = dict(fakes) if isinstance(fakes, Mapping) else {"fake": list(fakes)}
    real_summary = summarize(real, max_files=max_files)
    out: list[BiasWarning] = []
    for name, paths in sources.items():
        out.extend(compare_sets(real_summary, summarize(paths, max_files=max_files), name))
    return out
