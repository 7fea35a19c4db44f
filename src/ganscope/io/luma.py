"""Reading an image file as 8-bit luma exactly the way ``cv2.imread(path, cv2.IMREAD_GRAYSCALE)``
does, and streaming folders of such luma planes in batches.

Durall et al. (2020, "Unmasking DeepFakes with simple features", code
``cc-hpc-itwm/DeepFakeDetection``) read every image with ``cv2.imread(path, 0)``. OpenCV does not
compute one luma formula for every format; each decoder makes the 8-bit gray plane its own way,
and the feature depends on those integers (quantization noise lives in the highest frequency
bins). :func:`load_luma` reproduces them, checked against opencv-python-headless in the tests:

===================== ==========================================================================
file                  8-bit gray plane
===================== ==========================================================================
JPEG (YCbCr or gray)  libjpeg's own gray decode: the stored Y plane, chroma never decoded
                      (Pillow's ``Image.draft("L", size)`` asks libjpeg for ``JCS_GRAYSCALE``
                      exactly as OpenCV does)
PNG, colour           libpng's ``png_set_rgb_to_gray(png, 1, 0.299, 0.587)``: 15-bit weights
                      9797, 19234, 3737 (libpng truncates ``0.299 * 32768``), the sum truncated
                      ``>> 15``; with a significant ``gAMA`` or an ``sRGB`` chunk the weights
                      apply to linearized values through libpng's 8-bit gamma tables
WebP, GIF             ``cvtColor(BGR2GRAY)``: weights 9798, 19235, 3735, rounded ``>> 15``
BMP, TIFF, PPM, ...   OpenCV's ``icvCvt_BGR2Gray``: weights 4899, 9617, 1868, rounded ``>> 14``
gray files            the gray values; 16-bit gray keeps the high byte (``png_set_strip_16``)
===================== ==========================================================================

Alpha is dropped, palettes are expanded, and the EXIF orientation is applied (as OpenCV does by
default). Not exact (within one grey level): 16-bit colour PNGs (Pillow hands them over as 8-bit),
CMYK JPEGs, colour TIFFs with alpha, and float images.

Failures raise :class:`ganscope.errors.ImageReadError` with the same reasons as
:func:`ganscope.io.load_image`.
"""

from __future__ import annotations

import struct
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganscope.errors import GanscopeError, ImageReadError
from ganscope.io.images import DEFAULT_MAX_PIXELS, _open, read_size

__all__ = ["LumaBatch", "iter_luma_batches", "load_luma", "luma_from_rgb", "read_luma_size"]

BadFile = tuple[Path, str]

# (weights for R, G, B, shift, rounding term) per conversion
_LIBPNG = ((9797, 19234, 3737), 15, 0)  # png_set_rgb_to_gray_fixed truncates 0.299 * 32768
_CVTCOLOR = ((9798, 19235, 3735), 15, 1 << 14)
_ICVCVT = ((4899, 9617, 1868), 14, 1 << 13)
_RULES = {"PNG": _LIBPNG, "WEBP": _CVTCOLOR, "GIF": _CVTCOLOR}

_PNG_FP_1 = 100_000
_PNG_GAMMA_THRESHOLD = 5_000  # png_gamma_significant: |gamma - 1| > 0.05
_PNG_GAMMA_SRGB_INVERSE = 45_455
_GRAY_16 = {"I;16", "I;16L", "I;16B", "I;16N"}
# EXIF orientation -> numpy transform of an (H, W) array (what ImageOps.exif_transpose does)
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.T[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _png_gamma_fixed(info: dict) -> int | None:
    """The file gamma libpng would use, in PNG fixed point (x 100000), or ``None``."""
    if "srgb" in info:
        return _PNG_GAMMA_SRGB_INVERSE  # an sRGB chunk sets the gamma to 1/2.2 (45455)
    gamma = info.get("gamma")
    return None if gamma is None else round(float(gamma) * _PNG_FP_1)


def _png_gamma_tables(gamma: int) -> tuple[np.ndarray, np.ndarray]:
    """libpng's ``gamma_to_1`` and ``gamma_from_1`` 8-bit tables (png_gamma_8bit_correct)."""
    v = np.arange(256, dtype=np.float64) / 255.0
    reciprocal = np.floor(1e10 / gamma + 0.5)  # png_reciprocal, fixed point
    to_1 = np.floor(255.0 * v ** (reciprocal * 1e-5) + 0.5).astype(np.int64)
    from_1 = np.floor(255.0 * v ** (gamma * 1e-5) + 0.5).astype(np.int64)
    return to_1, from_1


def luma_from_rgb(rgb: np.ndarray, fmt: str = "", *, gamma: int | None = None) -> np.ndarray:
    """8-bit luma of an 8-bit RGB array the way OpenCV's decoder for ``fmt`` makes it.

    Args:
        rgb: ``(H, W, 3)`` (or more channels; the first three are R, G, B) uint8.
        fmt: Pillow's format name (``"PNG"``, ``"WEBP"``, ``"BMP"``, ...); the table in the module
            docstring says which fixed-point conversion each gets.
        gamma: PNG only: the file gamma in fixed point (``gAMA`` x 100000).

    Returns:
        ``(H, W)`` uint8.
    """
    a = np.asarray(rgb)
    r, g, b = (a[..., i].astype(np.int32) for i in range(3))
    (wr, wg, wb), shift, rounding = _RULES.get(fmt.upper(), _ICVCVT)
    if fmt.upper() == "PNG" and gamma is not None and abs(gamma - _PNG_FP_1) > _PNG_GAMMA_THRESHOLD:
        # libpng linearizes through gamma_to_1, weighs, rounds, and re-encodes through
        # gamma_from_1; pixels with r == g == b keep their value (png_do_rgb_to_gray)
        to_1, from_1 = _png_gamma_tables(gamma)
        w = (wr * to_1[r] + wg * to_1[g] + wb * to_1[b] + (1 << 14)) >> 15
        out = np.where((r == g) & (g == b), r, from_1[w])
    else:
        out = (wr * r + wg * g + wb * b + rounding) >> shift
    return out.astype(np.uint8)


def _gray_plane(img: Image.Image, fmt: str) -> np.ndarray:
    mode = img.mode
    if mode == "L":
        return np.asarray(img)
    if mode in ("LA", "La"):
        return np.asarray(img)[..., 0]
    if mode == "1":
        return np.asarray(img.convert("L"))
    if mode in _GRAY_16 or mode == "I":
        # 16-bit gray: OpenCV keeps the high byte (png_set_strip_16 / a shift by 8)
        return (np.clip(np.asarray(img, dtype=np.int64), 0, 65535) >> 8).astype(np.uint8)
    if mode == "F":
        return np.round(np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0) * 255).astype(np.uint8)
    if mode not in ("RGB", "RGBA", "RGBX", "RGBa"):
        img = img.convert("RGB")  # palettes are expanded; CMYK, YCbCr, LAB converted (not exact)
    gamma = _png_gamma_fixed(img.info) if fmt == "PNG" else None
    return luma_from_rgb(np.asarray(img), fmt, gamma=gamma)


def load_luma(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as the 8-bit gray plane ``cv2.imread(path, cv2.IMREAD_GRAYSCALE)`` gives.

    Args:
        path: the image file.
        max_pixels: decompression-bomb guard, see :func:`ganscope.io.load_image`.

    Returns:
        ``(H, W)`` uint8, EXIF orientation applied.

    Raises:
        ImageReadError: zero-byte, truncated, corrupt, non-image file, or decompression bomb.

    Example:
        >>> load_luma("face.jpg").dtype  # doctest: +SKIP
        dtype('uint8')
    """
    path = Path(path)
    gray = _jpeg_luma_direct(path, max_pixels)
    if gray is not None:
        return gray
    img = _open(path, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            fmt = (img.format or "").upper()
            if fmt == "JPEG" and img.mode in ("RGB", "L"):
                # libjpeg decodes the Y component only (JCS_GRAYSCALE), as OpenCV asks it to
                img.draft("L", img.size)
            try:
                orientation = int(img.getexif().get(0x0112, 1))
            except Exception:  # a broken EXIF block is not worth refusing the image for
                orientation = 1
            img.seek(0)
            img.load()
            gray = _gray_plane(img, fmt)
    except ImageReadError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as err:
        msg = str(err)
        reason = "truncated image" if "truncated" in msg.lower() else f"corrupt image ({msg})"
        raise ImageReadError(path, reason) from None
    finally:
        img.close()
    if orientation in _ORIENT:
        gray = _ORIENT[orientation](gray)
    return np.ascontiguousarray(gray)


def _jpeg_luma_direct(path: Path, max_pixels: int) -> np.ndarray | None:
    """The common case of :func:`load_luma` without ``Image.open``'s Python marker parsing: a
    JPEG of 1 or 3 components is handed whole to Pillow's libjpeg decoder with the arguments
    ``Image.open`` + ``draft("L", size)`` + ``load`` would give it (raw mode ``L``, scale 1), so
    the plane is the same, about twice as fast. ``None`` (take the general path, which also finds
    the reason a file is bad) for anything else: other formats, CMYK, a decoder error, truncation,
    sizes over ``max_pixels``, or a Pillow without these internals."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if data[:3] != b"\xff\xd8\xff":
            return None
        head = _jpeg_header(data)
        if head is None:
            return None
        h, w, orientation, components = head
        if components not in (1, 3) or not 0 < w * h <= max_pixels:
            return None
        img = Image.new("L", (w, h))
        decoder = Image._getdecoder("L", "jpeg", ("L", ""), (1, 0))
        decoder.setimage(img.im, (0, 0, w, h))
        consumed, code = decoder.decode(data)
        decoder.cleanup()
        if consumed >= 0 or code < 0:  # wants more data (truncated) or failed
            return None
        gray = np.asarray(img)
    except Exception:  # any surprise: the general path decides
        return None
    if orientation in _ORIENT:
        gray = _ORIENT[orientation](gray)
    return np.ascontiguousarray(gray)


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _exif_orientation(tiff: bytes) -> int:
    """The orientation tag (0x0112) of IFD0 of a TIFF-structured EXIF block; 1 if absent."""
    if tiff[:2] == b"II":
        e = "<"
    elif tiff[:2] == b"MM":
        e = ">"
    else:
        raise ValueError("bad EXIF byte order")
    (ifd,) = struct.unpack_from(e + "I", tiff, 4)
    (n,) = struct.unpack_from(e + "H", tiff, ifd)
    for i in range(n):
        tag, typ, _count = struct.unpack_from(e + "HHI", tiff, ifd + 2 + 12 * i)
        if tag == 0x0112 and typ == 3:
            return struct.unpack_from(e + "H", tiff, ifd + 2 + 12 * i + 8)[0]
    return 1


def _jpeg_header(data: bytes) -> tuple[int, int, int, int] | None:
    """``(H, W, orientation, components)`` from the markers up to the first frame header,
    ``None`` if unsure."""
    pos, orientation, n = 2, 1, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if marker in _SOF:
            if pos + 10 > n:
                return None
            h, w = struct.unpack_from(">HH", data, pos + 5)
            return h, w, orientation, data[pos + 9]
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            orientation = _exif_orientation(data[pos + 10 : pos + 2 + length])
        if marker in (0xD9, 0xDA):  # end of image or scan before any frame header
            return None
        pos += 2 + length
    return None


def _png_header(data: bytes) -> tuple[int, int, int] | None:
    """``(H, W, orientation)`` from IHDR and an ``eXIf`` chunk before IDAT, ``None`` if unsure."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack_from(">II", data, 16)
    pos, orientation = 33, 1
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IDAT":
            return h, w, orientation
        if kind == b"eXIf":
            orientation = _exif_orientation(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return None  # metadata beyond what was read: let Pillow decide


def read_luma_size(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """``(H, W)`` of the plane :func:`load_luma` returns, from the file header.

    The same answer as :func:`ganscope.io.read_size` (EXIF orientation honoured), several times
    faster for JPEG and PNG: the markers before the first frame (JPEG) or the chunks before the
    first IDAT (PNG) are parsed directly. Anything unusual, other formats, and every file that
    would be refused go through :func:`~ganscope.io.read_size`, so bad files get its reasons.

    Raises:
        ImageReadError: the header cannot be read, or the image is a decompression bomb.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(65536)
        head = None
        if data[:3] == b"\xff\xd8\xff":
            head = _jpeg_header(data)
        elif data[:8] == _PNG_SIGNATURE:
            head = _png_header(data)
    except (OSError, ValueError, struct.error):
        head = None
    if head is None:
        return read_size(path, max_pixels=max_pixels)
    h, w, orientation = head[:3]
    if w == 0 or h == 0 or w * h > max_pixels:
        return read_size(path, max_pixels=max_pixels)  # refused there, with its reason
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


@dataclass
class LumaBatch:
    """A batch of 8-bit luma planes of one size.

    Attributes:
        paths: the files, in the order of ``luma``.
        luma: uint8 tensor ``(B, 1, H, W)``.
        result: what :func:`iter_luma_batches`' ``apply`` returned for this batch (computed in the
            decoding thread), or None.
    """

    paths: list[Path]
    luma: torch.Tensor
    result: Any = None

    def __len__(self) -> int:
        return len(self.paths)


def _decode_chunk(
    paths: Sequence[Path], crop: tuple[int, int] | None, min_size: int, max_pixels: int
) -> list[tuple[Path, np.ndarray | None, str | None]]:
    out: list[tuple[Path, np.ndarray | None, str | None]] = []
    for path in paths:
        try:
            arr = load_luma(path, max_pixels=max_pixels)
        except ImageReadError as err:
            out.append((path, None, err.reason))
            continue
        except MemoryError:
            out.append((path, None, "out of memory while decoding"))
            continue
        H, W = arr.shape
        if min_size > H or min_size > W:
            out.append((path, None, f"too small to analyze ({H}x{W} < {min_size}x{min_size})"))
            continue
        if crop is not None:
            ch, cw = crop
            if ch > H or cw > W:
                out.append((path, None, f"too small for a {ch}x{cw} crop ({H}x{W})"))
                continue
            top, left = (H - ch) // 2, (W - cw) // 2  # as center_crop_array
            arr = arr[top : top + ch, left : left + cw]
        out.append((path, arr, None))
    return out


def _decode_batches(
    paths: Sequence[Path],
    crop: tuple[int, int] | None,
    min_size: int,
    max_pixels: int,
    apply: Callable[[LumaBatch], Any] | None,
) -> list[LumaBatch | BadFile]:
    """One worker task: decode a run of files, group the good ones into batches of one size (in
    file order) and run ``apply`` on each; bad files stay in place as ``(path, reason)``."""
    out: list[LumaBatch | BadFile] = []
    group: list[tuple[Path, np.ndarray]] = []

    def close() -> None:
        if group:
            luma = torch.from_numpy(np.stack([a for _, a in group])[:, None])  # (B, 1, H, W)
            batch = LumaBatch([p for p, _ in group], luma)
            if apply is not None:
                batch.result = apply(batch)
            out.append(batch)
            group.clear()

    for path, arr, reason in _decode_chunk(paths, crop, min_size, max_pixels):
        if arr is None:
            out.append((path, reason or "unreadable"))
            continue
        if group and group[0][1].shape != arr.shape:
            close()
        group.append((path, arr))
    close()
    return out


def iter_luma_batches(
    files: Iterable[str | Path],
    *,
    batch_size: int = 64,
    crop: tuple[int, int] | None = None,
    min_size: int = 8,
    errors: list[BadFile] | None = None,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    apply: Callable[[LumaBatch], Any] | None = None,
) -> Iterator[LumaBatch]:
    """Decode ``files`` with :func:`load_luma` in order and yield batches of 8-bit luma.

    The luma twin of :func:`ganscope.io.iter_batches` (same arguments, same bad-file rules). Each
    worker thread decodes the files of one batch (Pillow releases the GIL while it decodes) and
    then runs ``apply(batch)`` on it, stored in ``batch.result``: work such as torch's FFTs, which
    also release the GIL, then runs on every core beside the decoding instead of after it in the
    caller's thread. ``workers + 1`` batches are in flight while the caller works on the previous
    one.

    Yields:
        :class:`LumaBatch` objects, in file order, of at most ``batch_size`` images; a batch never
        mixes sizes (nor does it span two runs of ``batch_size`` files: bad files and size changes
        make batches smaller).
    """
    file_list = [Path(f) for f in files]
    if batch_size < 1:
        raise GanscopeError(f"batch size must be at least 1, not {batch_size}")
    workers = max(1, workers)
    runs = [file_list[i : i + batch_size] for i in range(0, len(file_list), batch_size)]
    pool = ThreadPoolExecutor(max_workers=workers)
    in_flight: deque[Future] = deque()
    try:
        for run in runs:
            in_flight.append(
                pool.submit(_decode_batches, run, crop, min_size, max_pixels, apply)
            )
            if len(in_flight) > workers:
                yield from _settle(in_flight.popleft(), errors)
        while in_flight:
            yield from _settle(in_flight.popleft(), errors)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _settle(fut: Future, errors: list[BadFile] | None) -> Iterator[LumaBatch]:
    for item in fut.result():
        if isinstance(item, LumaBatch):
            yield item
        elif errors is not None:
            errors.append(item)
