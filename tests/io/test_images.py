"""Every Pillow mode ganscope promises to read, and every bad input it promises to refuse."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganscope.errors import ImageReadError
from ganscope.io import iter_batches, list_images, load_image, read_size

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, size=(9, 12, 3), dtype=np.uint8)


def _save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def test_rgb_png_exact(tmp_path):
    p = _save(Image.fromarray(RGB), tmp_path / "a.png")
    x = load_image(p)
    assert x.shape == (3, 9, 12) and x.dtype == torch.float32
    np.testing.assert_array_equal(
        (x.numpy() * 255).round().astype(np.uint8), RGB.transpose(2, 0, 1)
    )


def test_grayscale_repeated_to_three_channels(tmp_path):
    g = RGB[:, :, 0]
    x = load_image(_save(Image.fromarray(g, "L"), tmp_path / "g.png"))
    for c in range(3):
        np.testing.assert_allclose(x[c].numpy(), g / 255.0, atol=1e-7)


def test_rgba_alpha_is_dropped_not_composited(tmp_path):
    rgba = np.dstack([RGB, np.zeros((9, 12), np.uint8)])  # fully transparent
    x = load_image(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    np.testing.assert_allclose(x.numpy(), RGB.transpose(2, 0, 1) / 255.0, atol=1e-7)


def test_la_mode(tmp_path):
    la = Image.fromarray(RGB[:, :, 1], "L").convert("LA")
    x = load_image(_save(la, tmp_path / "la.png"))
    np.testing.assert_allclose(x[2].numpy(), RGB[:, :, 1] / 255.0, atol=1e-7)


def test_16bit_grayscale_full_range(tmp_path):
    v = np.array([[0, 1, 32768, 65535]], dtype=np.uint16).repeat(3, axis=0)
    img = Image.fromarray(v)  # mode I;16
    p = _save(img, tmp_path / "g16.png")
    assert Image.open(p).mode in ("I;16", "I")
    x = load_image(p)
    np.testing.assert_allclose(x[0, 0].numpy(), v[0] / 65535.0, atol=1e-7)


def test_palette_and_gif_first_frame(tmp_path):
    pimg = Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    expect = np.asarray(pimg.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255
    np.testing.assert_allclose(load_image(_save(pimg, tmp_path / "p.png")).numpy(), expect)
    frames = [Image.fromarray(np.full((6, 7, 3), v, np.uint8)) for v in (10, 200)]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:])
    x = load_image(p)
    assert x.shape == (3, 6, 7) and abs(float(x.mean()) * 255 - 10) < 2


def test_cmyk_jpeg(tmp_path):
    cmyk = Image.fromarray(RGB).convert("CMYK")
    x = load_image(_save(cmyk, tmp_path / "c.jpg", quality=95))
    assert x.shape == (3, 9, 12)
    assert float((x - torch.from_numpy(RGB.transpose(2, 0, 1) / 255.0)).abs().mean()) < 0.1


def test_exif_orientation_applied(tmp_path):
    img = Image.fromarray(RGB)  # 12 wide, 9 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    p = tmp_path / "o.jpg"
    img.save(p, exif=exif, quality=95)
    assert read_size(p) == (12, 9)
    assert load_image(p).shape == (3, 12, 9)


def test_odd_sizes_and_formats(tmp_path):
    for ext, kw in ((".bmp", {}), (".tif", {}), (".webp", {"lossless": True})):
        p = _save(Image.fromarray(RGB[:7, :5]), tmp_path / f"x{ext}", **kw)
        x = load_image(p)
        assert x.shape == (3, 7, 5)
        np.testing.assert_allclose(x.numpy(), RGB[:7, :5].transpose(2, 0, 1) / 255, atol=1e-7)


# --- bad input ---------------------------------------------------------------------------------


def _bomb_png(path: Path, w: int = 100_000, h: int = 100_000) -> Path:
    """A tiny PNG whose header claims ``w x h`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def _truncated_png(path: Path) -> Path:
    buf = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def _zero_byte(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _text_as_jpg(path: Path) -> Path:
    path.write_text("hello, not a jpeg")
    return path


@pytest.mark.parametrize(
    "make, name, reason",
    [
        (_zero_byte, "zero.png", "empty file"),
        (_truncated_png, "t.png", "truncated"),
        (_text_as_jpg, "text.jpg", "not an image"),
        (_bomb_png, "bomb.png", "decompression bomb"),
    ],
    ids=["zero-byte", "truncated", "text-as-jpg", "bomb"],
)
def test_bad_files_raise_one_typed_error(tmp_path, make, name, reason):
    p = make(tmp_path / name)
    with pytest.raises(ImageReadError) as info:
        load_image(p)
    assert reason in info.value.reason
    assert info.value.path == p


def test_bomb_limit_is_configurable(tmp_path):
    p = tmp_path / "big.png"
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(p)
    with pytest.raises(ImageReadError, match="decompression bomb"):
        load_image(p, max_pixels=1999)
    assert load_image(p, max_pixels=2000).shape == (3, 40, 50)


def test_batch_reader_reports_bad_files_and_finishes(tmp_path):
    good = []
    for i in range(5):
        good.append(_save(Image.fromarray(RGB[:8, :8]), tmp_path / f"g{i}.png"))
    _zero_byte(tmp_path / "z.png")
    _text_as_jpg(tmp_path / "t.jpg")
    _truncated_png(tmp_path / "tr.png")
    _save(Image.fromarray(RGB[:4, :4]), tmp_path / "small.png")
    files = list_images(tmp_path)
    errors: list = []
    batches = list(iter_batches(files, batch_size=2, errors=errors))
    got = [p for b in batches for p in b.paths]
    assert got == good
    assert [len(b) for b in batches] == [2, 2, 1]
    assert {p.name for p, _ in errors} == {"z.png", "t.jpg", "tr.png", "small.png"}
    assert any("too small" in r for p, r in errors if p.name == "small.png")


def test_batches_never_mix_sizes_and_crop(tmp_path):
    big = RNG.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    sizes = [(8, 8), (8, 8), (10, 12), (10, 12), (8, 8)]
    for i, (h, w) in enumerate(sizes):
        _save(Image.fromarray(big[:h, :w]), tmp_path / f"{i}.png")
    files = list_images(tmp_path)
    shapes = [tuple(b.images.shape) for b in iter_batches(files, batch_size=8)]
    assert shapes == [(2, 3, 8, 8), (2, 3, 10, 12), (1, 3, 8, 8)]
    cropped = list(iter_batches(files, batch_size=8, crop=(8, 8)))
    assert len(cropped) == 1 and cropped[0].images.shape == (5, 3, 8, 8)
    # centre crop of a 10x12 image to 8x8 starts at (1, 2)
    np.testing.assert_allclose(
        cropped[0].images[2].numpy(), big[1:9, 2:10].transpose(2, 0, 1) / 255.0, atol=1e-7
    )


def test_list_images_recursive_and_sorted(tmp_path):
    (tmp_path / "b" / "c").mkdir(parents=True)
    for rel in ("b/c/2.png", "a.JPG", "b/1.webp", "notes.txt", ".hidden.png"):
        (tmp_path / rel).write_bytes(b"x")
    got = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert got == ["a.JPG", "b/1.webp", "b/c/2.png"]
