"""Listing image folders and streaming them in batches.

A folder of 100,000 images is never loaded whole: :func:`iter_batches` decodes one chunk of
``batch_size`` files at a time (in a small thread pool: Pillow releases the GIL while decoding)
while the caller works on the previous one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganscope.errors import GanscopeError, ImageReadError
from ganscope.io.images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, load_array

BadFile = tuple[Path, str]


def _is_image_name(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def list_images(paths: Sequence[str | Path] | str | Path, *, recursive: bool = True) -> list[Path]:
    """All image files under ``paths`` in a deterministic (sorted) order.

    Files given directly are kept whatever their suffix (so a bad file named by the user is
    reported, not silently dropped); folders are searched for files with an image suffix
    (:data:`IMAGE_EXTENSIONS`), recursively by default, skipping hidden files and folders.

    Raises:
        GanscopeError: a path does not exist, or no image file was found at all.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise GanscopeError(f"not found: {p}")
        if p.is_file():
            found.append(p)
            continue
        if recursive:
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / f for f in files if _is_image_name(Path(f)))
        else:
            found.extend(f for f in p.iterdir() if f.is_file() and _is_image_name(f))
    if not found:
        shown = ", ".join(str(p) for p in paths)
        raise GanscopeError(f"no images found in {shown}")
    # Sort on the string form so that the order does not depend on the file system.
    return sorted(dict.fromkeys(found), key=lambda q: str(q))


@dataclass
class ImageBatch:
    """A batch of images of one size.

    Attributes:
        paths: the files, in the order of ``images``.
        images: float32 tensor ``(B, 3, H, W)`` in [0, 1].
    """

    paths: list[Path]
    images: torch.Tensor

    def __len__(self) -> int:
        return len(self.paths)


@dataclass
class _Decoded:
    path: Path
    array: np.ndarray | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)


def center_crop_array(arr: np.ndarray, h: int, w: int) -> np.ndarray:
    """Centre crop an ``(H, W, C)`` array to ``(h, w, C)``; the top-left rounds down."""
    H, W = arr.shape[:2]
    top, left = (H - h) // 2, (W - w) // 2
    return arr[top : top + h, left : left + w]


def _decode(path: Path, crop: tuple[int, int] | None, min_size: int, max_pixels: int) -> _Decoded:
    try:
        arr = load_array(path, max_pixels=max_pixels)
    except ImageReadError as err:
        return _Decoded(path, error=err.reason)
    except MemoryError:
        return _Decoded(path, error="out of memory while decoding")
    H, W = arr.shape[:2]
    if min_size > H or min_size > W:
        return _Decoded(path, error=f"too small to analyze ({H}x{W} < {min_size}x{min_size})")
    if crop is not None:
        ch, cw = crop
        if ch > H or cw > W:
            return _Decoded(path, error=f"too small for a {ch}x{cw} crop ({H}x{W})")
        arr = center_crop_array(arr, ch, cw)
    return _Decoded(path, array=np.ascontiguousarray(arr))


def _chunks(items: Sequence[Path], n: int) -> Iterator[Sequence[Path]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def iter_batches(
    files: Iterable[str | Path],
    *,
    batch_size: int = 64,
    crop: tuple[int, int] | None = None,
    min_size: int = 8,
    errors: list[BadFile] | None = None,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Iterator[ImageBatch]:
    """Decode ``files`` in order and yield batches of at most ``batch_size`` images.

    Args:
        files: image paths (e.g. from :func:`list_images`).
        batch_size: the most images per batch.
        crop: ``(h, w)``: centre-crop every image to this size (smaller images are bad files).
            ``None``: keep sizes; a batch never mixes sizes, so consecutive images of one size
            are batched together.
        min_size: images with a side shorter than this are reported and skipped.
        errors: bad files are appended here as ``(path, reason)`` and the rest goes on. With
            ``None`` they are skipped silently (pass a list: users want to know).
        workers: decoding threads.
        max_pixels: decompression-bomb guard, see :func:`ganscope.io.load_image`.

    Yields:
        :class:`ImageBatch` objects, in file order.
    """
    file_list = [Path(f) for f in files]
    if batch_size < 1:
        raise GanscopeError(f"batch size must be at least 1, not {batch_size}")
    pool = ThreadPoolExecutor(max_workers=max(1, workers))

    def submit(chunk: Sequence[Path]) -> list[Future[_Decoded]]:
        return [pool.submit(_decode, p, crop, min_size, max_pixels) for p in chunk]

    pending_paths: list[Path] = []
    pending_arrays: list[np.ndarray] = []

    def flush() -> ImageBatch:
        stacked = np.stack(pending_arrays).transpose(0, 3, 1, 2)
        batch = ImageBatch(list(pending_paths), torch.from_numpy(np.ascontiguousarray(stacked)))
        pending_paths.clear()
        pending_arrays.clear()
        return batch

    try:
        chunks = _chunks(file_list, batch_size)
        ahead = submit(next(chunks, []))
        while ahead:
            current, ahead = ahead, submit(next(chunks, []))  # decode the next chunk meanwhile
            for fut in current:
                dec = fut.result()
                if dec.array is None:
                    if errors is not None:
                        errors.append((dec.path, dec.error or "unreadable"))
                    continue
                if pending_arrays and pending_arrays[0].shape != dec.array.shape:
                    yield flush()
                pending_paths.append(dec.path)
                pending_arrays.append(dec.array)
                if len(pending_arrays) == batch_size:
                    yield flush()
        if pending_arrays:
            yield flush()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
