"""The header pre-pass every folder command starts with: which files can be read, and the common
size they are centre-cropped to (the smallest height and width among them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ganscope.errors import GanscopeError, ImageReadError
from ganscope.io.images import read_size
from ganscope.progress import progress_bar

__all__ = ["CropPlan", "plan_crop"]

BadFile = tuple[Path, str]


@dataclass
class CropPlan:
    """Result of the header pre-pass.

    Attributes:
        size: the common ``(H, W)`` every image is centre-cropped to.
        files: per source, the files that passed the pre-pass, in order.
        n_cropped: how many of them are larger than ``size`` and will be cropped.
        bad: files refused by the pre-pass, ``(path, reason)``.
    """

    size: tuple[int, int]
    files: dict[str, list[Path]]
    n_cropped: int
    bad: list[BadFile] = field(default_factory=list)


def plan_crop(
    sources: Mapping[str, Sequence[Path]],
    *,
    min_size: int = 8,
    read: Callable[[Path], tuple[int, int]] = read_size,
) -> CropPlan:
    """Header-only pre-pass: drop unreadable and too-small files and choose the common size.

    Files that are skipped decide nothing: one stray 1x1 file must not shrink every crop to 1x1.

    Args:
        sources: source name -> files.
        min_size: smaller images are bad files.
        read: ``(H, W)`` of a file from its header (:func:`ganscope.io.read_size`, or
            :func:`ganscope.io.luma.read_luma_size` for what ``load_luma`` returns).

    Raises:
        GanscopeError: no readable image of at least ``min_size`` x ``min_size`` is left.
    """
    bad: list[BadFile] = []
    kept: dict[str, list[Path]] = {}
    sizes: list[tuple[int, int]] = []
    with progress_bar(sum(len(f) for f in sources.values()), "reading sizes") as bar:
        for name, files in sources.items():
            kept[name] = []
            for path in files:
                try:
                    h, w = read(path)
                except ImageReadError as err:
                    bad.append((Path(path), err.reason))
                    continue
                if h < min_size or w < min_size:
                    reason = f"too small to analyze ({h}x{w} < {min_size}x{min_size})"
                    bad.append((Path(path), reason))
                    continue
                kept[name].append(Path(path))
                sizes.append((h, w))
            bar.advance(len(files))
    if not sizes:
        raise GanscopeError(f"no readable image of at least {min_size}x{min_size} was found")
    size = (min(h for h, _ in sizes), min(w for _, w in sizes))
    n_cropped = sum(1 for s in sizes if s != size)
    return CropPlan(size=size, files=kept, n_cropped=n_cropped, bad=bad)
