"""The built-in real corpus: random crops of the colour photographs that ship inside scikit-image
and scikit-learn.

This is a handful of photographs (an astronaut, a cat, a coffee cup, a rocket, two motorcycle
stereo views, a Hubble deep field, a Chinese temple and a flower), not a dataset: it exists so that
every ganscope command runs offline on a fresh machine. Crops are cut **without resampling**, so
each crop keeps its camera's spectrum (a resize would low-pass it and hide exactly what spectral
detectors look at). Four of the photos were stored as JPEG by their packages and carry an 8x8
block grid in their spectra; the manifest says which.

For research, point ganscope at a real dataset instead (``--real DIR``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ganscope.errors import GanscopeError
from ganscope.io.paths import writable_parent


@dataclass(frozen=True)
class Photo:
    """One bundled photograph."""

    name: str
    package: str  # "skimage" or "sklearn"
    filename: str

    @property
    def path(self) -> Path:
        if self.package == "skimage":
            import skimage.data

            return Path(os.path.dirname(skimage.data.__file__)) / self.filename
        import sklearn.datasets

        return Path(os.path.dirname(sklearn.datasets.__file__)) / "images" / self.filename

    @property
    def is_jpeg(self) -> bool:
        return self.filename.lower().endswith((".jpg", ".jpeg"))


PHOTOS: tuple[Photo, ...] = (
    Photo("astronaut", "skimage", "astronaut.png"),
    Photo("chelsea", "skimage", "chelsea.png"),
    Photo("coffee", "skimage", "coffee.png"),
    Photo("motorcycle_left", "skimage", "motorcycle_left.png"),
    Photo("motorcycle_right", "skimage", "motorcycle_right.png"),
    Photo("rocket", "skimage", "rocket.jpg"),
    Photo("hubble_deep_field", "skimage", "hubble_deep_field.jpg"),
    Photo("china", "sklearn", "china.jpg"),
    Photo("flower", "sklearn", "flower.jpg"),
)
"""The colour photographs of the corpus (synthetic test cards and grayscale images excluded)."""

log = logging.getLogger(__name__)

SPLITS = ("all", "train", "test")
TEST_FRACTION = 0.25
"""The right-most quarter of every photo's width is reserved for the ``test`` split."""


@dataclass(frozen=True)
class BuiltinSettings:
    """The keyword arguments of :func:`write_builtin` as one value (``ganscope data builtin``):
    ``write_builtin(out, **dataclasses.asdict(settings))``. Checked by :func:`plan_crops`.

    Attributes:
        size: side of the square crops, in pixels.
        count: number of crops.
        seed: random seed; the same seed gives the same output.
        split: all, or train / test: disjoint regions of every photo (test = right quarter).
    """

    size: int = 32
    count: int = 1000
    seed: int = 0
    split: str = "all"


@dataclass(frozen=True)
class Crop:
    """Where one corpus image was cut: photo name, top-left corner and side length."""

    photo: str
    top: int
    left: int
    size: int


def _load_photo(photo: Photo) -> np.ndarray:
    if not photo.path.exists():
        raise GanscopeError(f"bundled photo missing: {photo.path} (is {photo.package} installed?)")
    with Image.open(photo.path) as img:
        return np.asarray(img.convert("RGB"))


def _region(width: int, split: str) -> tuple[int, int]:
    """Column range ``[x0, x1)`` a split may use; train and test never overlap."""
    cut = round(width * (1.0 - TEST_FRACTION))
    return {"all": (0, width), "train": (0, cut), "test": (cut, width)}[split]


def plan_crops(
    *, size: int, count: int, seed: int, split: str = "all", photos: tuple[Photo, ...] = PHOTOS
) -> list[Crop]:
    """Draw ``count`` crop positions: a photo uniformly (so the large Hubble field does not
    dominate the corpus), then an offset uniformly. Same arguments, same crops."""
    if split not in SPLITS:
        raise GanscopeError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    if size < 8:
        raise GanscopeError(f"crop size must be at least 8, not {size}")
    if count < 1:
        raise GanscopeError(f"count must be at least 1, not {count}")
    usable: list[tuple[Photo, int, int, int]] = []  # photo, x0, n_top, n_left
    for photo in photos:
        with Image.open(photo.path) as img:
            w, h = img.size
        x0, x1 = _region(w, split)
        n_top, n_left = h - size + 1, (x1 - x0) - size + 1
        if n_top > 0 and n_left > 0:
            usable.append((photo, x0, n_top, n_left))
    if not usable:
        raise GanscopeError(f"no bundled photo is large enough for {size}x{size} crops ({split})")
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(usable), size=count)
    u = rng.random((count, 2))
    crops = []
    for k, (ut, ul) in zip(which, u, strict=True):
        photo, x0, nt, nl = usable[k]
        crops.append(Crop(photo.name, int(ut * nt), x0 + int(ul * nl), size))
    return crops


def iter_builtin(
    *, size: int, count: int, seed: int, split: str = "all"
) -> list[tuple[Crop, np.ndarray]]:
    """The corpus in memory: ``(crop, uint8 array (size, size, 3))`` pairs."""
    crops = plan_crops(size=size, count=count, seed=seed, split=split)
    by_name = {p.name: p for p in PHOTOS}
    cache: dict[str, np.ndarray] = {}
    out = []
    for c in crops:
        if c.photo not in cache:
            cache[c.photo] = _load_photo(by_name[c.photo])
        arr = cache[c.photo][c.top : c.top + c.size, c.left : c.left + c.size]
        out.append((c, np.ascontiguousarray(arr)))
    return out


def write_builtin(
    out: str | Path, *, size: int = 32, count: int = 1000, seed: int = 0, split: str = "all"
) -> list[Path]:
    """Write the corpus as PNGs ``builtin_000000.png, ...`` plus ``manifest.csv`` (file, source
    photo, offset, whether the source was a JPEG) and ``config.json``. The same arguments give the
    same bytes. ``out`` is checked before the first crop is cut. Returns the image paths."""
    from ganscope import __version__, progress
    from ganscope.io.writers import save_png, write_csv, write_json

    out = Path(out)
    writable_parent(out, folder=True)
    items = iter_builtin(size=size, count=count, seed=seed, split=split)
    by_name = {p.name: p for p in PHOTOS}
    paths = []
    rows = []
    with progress.progress_bar(len(items), "writing crops") as bar:
        for i, (crop, arr) in enumerate(items):
            p = out / f"builtin_{i:06d}.png"
            save_png(p, arr)
            paths.append(p)
            rows.append(
                [p.name, crop.photo, crop.top, crop.left, crop.size, by_name[crop.photo].is_jpeg]
            )
            bar.advance()
    write_csv(out / "manifest.csv", ["file", "photo", "top", "left", "size", "source_jpeg"], rows)
    write_json(
        out / "config.json",
        {
            "command": "data builtin",
            "size": size,
            "count": count,
            "seed": seed,
            "split": split,
            "test_fraction": TEST_FRACTION,
            "photos": [p.name for p in PHOTOS],
            "ganscope_version": __version__,
        },
    )
    log.info("wrote %d crops of %dx%d to %s", len(paths), size, size, out)
    return paths
