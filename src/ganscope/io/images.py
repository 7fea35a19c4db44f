"""Reading one image safely into a float tensor in [0, 1].

Every Pillow mode is normalized to a ``(3, H, W)`` float32 tensor:

- ``1``, ``L``, ``LA``, ``I;16*``, ``I``, ``F`` (grayscale): the one channel is repeated three
  times, so ITU-R 601 luma of the result equals the original gray value.
- ``I;16`` and ``I`` (16-bit PNG/TIFF) are divided by 65535 (values above are clipped); ``F`` is
  clipped to [0, 1]. 8-bit modes are divided by 255.
- ``P`` (palette) is expanded through its palette; ``CMYK`` and ``YCbCr`` are converted to RGB by
  Pillow.
- **Alpha is dropped, not composited** (``RGBA``, ``LA``, ``PA``): the colour values a generator or
  camera wrote are kept as they are, because compositing onto a background would add the
  background's spectrum to the image's. Fully transparent pixels therefore show whatever colour
  the file stores for them.
- The EXIF orientation tag is applied, so an image is read the way a viewer shows it.
- Animated GIF/WebP/TIFF: the first frame.

A file that cannot be read raises :class:`ganscope.errors.ImageReadError` with one reason:
zero-byte, truncated, corrupt, not an image, or a decompression bomb (more than ``max_pixels``
pixels, checked from the header before any pixel is decoded).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ganscope.errors import ImageReadError

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
)
"""Suffixes (lower case) that folder readers pick up."""

DEFAULT_MAX_PIXELS: int = 100_000_000
"""Decompression-bomb guard: images with more pixels than this (e.g. 10000 x 10000) are refused."""

_GRAY_16 = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


def _open(path: Path, max_pixels: int) -> Image.Image:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ImageReadError(path, f"cannot read file ({err.strerror or err})") from None
    if size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check below replaces Pillow's warning; its hard error (at twice
            # Pillow's limit) is still caught and reported as a bomb.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as err:
        raise ImageReadError(path, f"decompression bomb refused ({err})") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image (unrecognized format)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageReadError(path, f"corrupt image ({err})") from None
    except MemoryError:
        raise
    except Exception as err:  # a decoder plugin's own failure (struct.error, IndexError, ...)
        raise ImageReadError(path, f"corrupt image ({type(err).__name__}: {err})") from None
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        raise ImageReadError(
            path, f"decompression bomb refused: {w}x{h} = {w * h} pixels > limit {max_pixels}"
        )
    if w == 0 or h == 0:
        img.close()
        raise ImageReadError(path, f"image has zero size ({w}x{h})")
    return img


def read_size(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Return ``(H, W)`` from the file header without decoding pixels.

    The EXIF orientation is honoured (a rotated photo reports its displayed size).

    Raises:
        ImageReadError: the header cannot be read, or the image is a decompression bomb.
    """
    path = Path(path)
    img = _open(path, max_pixels)
    try:
        w, h = img.size
        try:
            orientation = img.getexif().get(0x0112, 1)
        except Exception:  # a broken EXIF block is not worth refusing the image for
            orientation = 1
        if orientation in (5, 6, 7, 8):
            w, h = h, w
        return h, w
    finally:
        img.close()


def pil_to_array(img: Image.Image) -> np.ndarray:
    """Convert a decoded Pillow image to a float32 ``(H, W, 3)`` array in [0, 1] (rules above)."""
    mode = img.mode
    if mode in _GRAY_16:
        arr = np.asarray(img, dtype=np.float32) / 65535.0
        arr = np.clip(arr, 0.0, 1.0)
    elif mode == "F":
        arr = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
    elif mode in ("1", "L", "LA", "La"):
        arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    else:
        if mode == "P" or mode == "PA":
            img = img.convert("RGBA")
        if img.mode != "RGB":
            img = img.convert("RGB")  # RGBA drops alpha; CMYK, YCbCr, LAB are converted
        arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return arr


def load_array(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image as a float32 ``(H, W, 3)`` NumPy array in [0, 1]. See the module docstring."""
    path = Path(path)
    img = _open(path, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
            return pil_to_array(img)
    except ImageReadError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as err:
        msg = str(err)
        reason = "truncated image" if "truncated" in msg.lower() else f"corrupt image ({msg})"
        raise ImageReadError(path, reason) from None
    except MemoryError:
        raise
    except Exception as err:  # hostile bytes can make a decoder plugin fail in its own way
        raise ImageReadError(path, f"corrupt image ({type(err).__name__}: {err})") from None
    finally:
        img.close()


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> torch.Tensor:
    """Read an image as a float32 tensor ``(3, H, W)`` in [0, 1].

    Shape:
        Output: ``(3, H, W)``.

    Raises:
        ImageReadError: zero-byte, truncated, corrupt, non-image file, or decompression bomb.

    Example:
        >>> x = load_image("photo.png")  # doctest: +SKIP
        >>> x.shape, x.dtype
        (torch.Size([3, 512, 512]), torch.float32)
    """
    arr = load_array(path, max_pixels=max_pixels)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
