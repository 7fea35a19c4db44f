"""8-bit luma read from files as ``cv2.imread(path, cv2.IMREAD_GRAYSCALE)`` reads it, and the
``durall`` preset from files against Durall et al.'s cv2-based pipeline (opencv-python-headless is a
test-only dependency)."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin
from scipy.interpolate import griddata

from ganscope.cli import main
from ganscope.errors import ImageReadError
from ganscope.io import list_images, load_array, read_size
from ganscope.io.luma import iter_luma_batches, load_luma, luma_from_rgb, read_luma_size
from ganscope.spectrum import durall_features

cv2 = pytest.importorskip("cv2")


def _smooth_rgb(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth colour content: a few low-frequency colour waves plus a ramp (what photos and faces
    mostly are), so luma rounding and chroma handling decide the high-frequency bins."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.zeros((h, w, 3))
    for c in range(3):
        for _ in range(3):
            fy, fx, ph = rng.uniform(0, 3), rng.uniform(0, 3), rng.uniform(0, 2 * np.pi)
            out[..., c] += np.cos(2 * np.pi * (fy * y + fx * x) + ph)
        out[..., c] += rng.uniform(-1, 1) * (x + y)
    out = (out - out.min()) / (out.max() - out.min())
    return np.round(20 + 215 * out).astype(np.uint8)


def _files(folder: Path) -> dict[str, Path]:
    """One file per decoder path of the luma table in ganscope.io.luma."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = _smooth_rgb(40, 56, 0)
    noise = np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    rgba = np.dstack([noise, noise[..., 0]])
    out: dict[str, Path] = {}

    def save(name, img, **kw):
        out[name] = folder / name
        img.save(out[name], **kw)

    for sub in (0, 1, 2):
        save(f"smooth_{sub}.jpg", Image.fromarray(rgb), quality=90, subsampling=sub)
    save("noise.jpg", Image.fromarray(noise), quality=75)
    save("progressive.jpg", Image.fromarray(noise), quality=80, progressive=True)
    save("gray.jpg", Image.fromarray(noise[..., 0]), quality=85)
    save("smooth.png", Image.fromarray(rgb))
    save("noise.png", Image.fromarray(noise))
    save("rgba.png", Image.fromarray(rgba))
    save("palette.png", Image.fromarray(noise).convert("P", palette=Image.Palette.ADAPTIVE))
    save("gray.png", Image.fromarray(noise[..., 0]))
    save("gray_alpha.png", Image.fromarray(noise[..., :2].copy(), "LA"))
    save("gray16.png", Image.fromarray(noise[..., 0].astype(np.uint16) * 257 + 3))
    for gamma in (45455, 97000, 220000):  # significant, not significant, significant
        info = PngImagePlugin.PngInfo()
        info.add(b"gAMA", gamma.to_bytes(4, "big"))
        save(f"gamma{gamma}.png", Image.fromarray(noise), pnginfo=info)
    info = PngImagePlugin.PngInfo()
    info.add(b"sRGB", b"\x00")
    save("srgb.png", Image.fromarray(noise), pnginfo=info)
    save("lossy.webp", Image.fromarray(noise), quality=80)
    save("lossless.webp", Image.fromarray(rgba), lossless=True)
    save("noise.gif", Image.fromarray(noise))
    save("noise.bmp", Image.fromarray(noise))
    save("noise.tif", Image.fromarray(noise))
    for orientation in (3, 6, 8):
        for ext in ("jpg", "png"):
            img = Image.fromarray(noise)
            exif = img.getexif()
            exif[0x0112] = orientation
            save(f"orient{orientation}.{ext}", img, exif=exif)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return _files(tmp_path_factory.mktemp("luma"))


def test_load_luma_equals_cv2_imread_grayscale(files):
    for name, path in files.items():
        expected = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        got = load_luma(path)
        assert got.dtype == np.uint8, name
        np.testing.assert_array_equal(got, expected, err_msg=name)


def test_header_size_equals_decoded_size_and_read_size(files):
    for name, path in files.items():
        assert read_luma_size(path) == load_luma(path).shape == read_size(path), name


def test_direct_jpeg_path_is_taken_and_equals_pillows_general_path(files, tmp_path, monkeypatch):
    """The fast JPEG path hands the file to libjpeg as Image.open + draft + load would: it decodes
    every 1- and 3-component JPEG to the same plane, and declines CMYK and truncated files (the
    general path then decodes them or gives its reason)."""
    from ganscope.io import luma

    jpegs = {n: p for n, p in files.items() if n.endswith(".jpg")}
    fast = {n: luma._jpeg_luma_direct(p, 10**9) for n, p in jpegs.items()}
    assert all(v is not None for v in fast.values()), [n for n, v in fast.items() if v is None]
    monkeypatch.setattr(luma, "_jpeg_luma_direct", lambda path, max_pixels: None)
    for name, path in jpegs.items():
        np.testing.assert_array_equal(fast[name], load_luma(path), err_msg=name)
    monkeypatch.undo()

    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(_smooth_rgb(24, 32, 3)).convert("CMYK").save(cmyk, quality=90)
    assert luma._jpeg_luma_direct(cmyk, 10**9) is None
    assert load_luma(cmyk).shape == (24, 32)
    data = jpegs["noise.jpg"].read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    assert luma._jpeg_luma_direct(cut, 10**9) is None
    with pytest.raises(ImageReadError, match="truncated"):
        load_luma(cut)
    assert luma._jpeg_luma_direct(jpegs["noise.jpg"], 40 * 56 - 1) is None  # over max_pixels


def test_fixed_point_rules_by_hand():
    rgb = np.array([[[2, 108, 79], [158, 104, 15], [7, 7, 7]]], dtype=np.uint8)
    # libpng: (9797*158 + 19234*104 + 3737*15) / 32768 = 109.995, truncated to 109, while
    # OpenCV's own rules round it to 110; (2, 108, 79) is 73.0008 for libpng, 73.49 (14-bit) and
    # 73.499 (15-bit) for OpenCV; gray pixels keep their value
    np.testing.assert_array_equal(luma_from_rgb(rgb, "PNG")[0], [73, 109, 7])
    np.testing.assert_array_equal(luma_from_rgb(rgb, "BMP")[0], [73, 110, 7])
    np.testing.assert_array_equal(luma_from_rgb(rgb, "WEBP")[0], [73, 110, 7])


def test_bad_files_get_the_reasons_of_load_image(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_bytes(b"not an image at all")
    cut = tmp_path / "cut.jpg"
    Image.fromarray(_smooth_rgb(32, 32, 3)).save(cut, quality=90)
    cut.write_bytes(cut.read_bytes()[:200])
    for path in (tmp_path / "empty.png", tmp_path / "text.jpg"):
        with pytest.raises(ImageReadError) as ours:
            read_luma_size(path)
        with pytest.raises(ImageReadError) as theirs:
            read_size(path)
        assert ours.value.reason == theirs.value.reason
    for path in tmp_path.iterdir():
        with pytest.raises(ImageReadError) as ours:
            load_luma(path)
        with pytest.raises(ImageReadError) as theirs:
            load_array(path)
        assert ours.value.reason == theirs.value.reason


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_iter_luma_batches_order_crop_and_errors(files, tmp_path, batch_size):
    paths = [files[n] for n in ("noise.jpg", "noise.png", "orient6.jpg", "smooth.png")]
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"junk")
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(small)
    errors: list = []
    batches = list(
        iter_luma_batches(
            [paths[0], bad, small, *paths[1:]],
            batch_size=batch_size,
            crop=(32, 36),
            errors=errors,
            workers=2,
        )
    )
    got = [p for b in batches for p in b.paths]
    assert got == paths
    assert [p for p, _ in errors] == [bad, small]
    assert "too small for a 32x36 crop" in errors[1][1]
    luma = torch.cat([b.luma for b in batches])
    assert luma.dtype == torch.uint8 and luma.shape == (4, 1, 32, 36)
    for i, p in enumerate(paths):
        full = load_luma(p)
        top, left = (full.shape[0] - 32) // 2, (full.shape[1] - 36) // 2
        np.testing.assert_array_equal(luma[i, 0].numpy(), full[top : top + 32, left : left + 36])


# -- the durall preset from files against Durall et al.'s cv2 pipeline ----------------------------


def _azimuthal_average_published(image: np.ndarray) -> np.ndarray:
    """radialProfile.azimuthalAverage as published (github.com/cc-hpc-itwm/DeepFakeDetection)."""
    y, x = np.indices(image.shape)
    center = np.array([(x.max() - x.min()) / 2.0, (y.max() - y.min()) / 2.0])
    r = np.hypot(x - center[0], y - center[1])
    ind = np.argsort(r.flat)
    r_int = r.flat[ind].astype(int)
    i_sorted = image.flat[ind]
    rind = np.where(r_int[1:] - r_int[:-1])[0]
    nr = rind[1:] - rind[:-1]
    csim = np.cumsum(i_sorted, dtype=float)
    return (csim[rind[1:]] - csim[rind[:-1]]) / nr


def _durall_from_file(path: Path, N: int) -> np.ndarray:
    """Their per-file loop: cv2.imread(path, 0), fft2, fftshift, += 1e-8, 20 log|.|, azimuthal
    average, griddata cubic to N points, divided by the first value."""
    img = cv2.imread(str(path), 0)
    fshift = np.fft.fftshift(np.fft.fft2(img))
    fshift += 1e-8
    psd1D = _azimuthal_average_published(20 * np.log(np.abs(fshift)))
    points = np.linspace(0, N, num=psd1D.size)
    interpolated = griddata(points, psd1D, np.linspace(0, N, num=N), method="cubic")
    return interpolated / interpolated[0]


def _smooth_folder(folder: Path, n: int = 4) -> None:
    folder.mkdir()
    for i in range(n):
        rgb = _smooth_rgb(64, 64, 10 + i)
        Image.fromarray(rgb).save(folder / f"face{i}.jpg", quality=85)
        Image.fromarray(rgb).save(folder / f"face{i}.png")
    # a flat band gives exactly zero coefficients, where + 1e-8 must meet an exact zero
    flat = np.full((64, 64, 3), 128, np.uint8)
    flat[:, 32:] = 90
    Image.fromarray(flat).save(folder / "flat.png")


@pytest.mark.parametrize("bins", [None, 30])
def test_durall_preset_from_files_equals_the_cv2_pipeline(tmp_path, bins):
    folder = tmp_path / "faces"
    _smooth_folder(folder)
    out = tmp_path / "d.csv"
    argv = ["-q", "spectrum", str(folder), "--preset", "durall", "--csv", str(out)]
    if bins is not None:
        argv += ["--bins", str(bins)]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    assert len(rows) == 9
    for row in rows:
        got = np.array(row[1:], dtype=np.float64)
        expected = _durall_from_file(Path(row[0]), bins or len(got))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, err_msg=row[0])


def test_float_rgb_luma_is_not_what_their_code_sees(tmp_path):
    # the old path (luma computed from decoded float RGB) misses the JPEG's own Y plane by far
    # more than the 1e-9 above: this is what the file-exact reading fixes
    folder = tmp_path / "faces"
    _smooth_folder(folder, n=2)
    path = folder / "face0.jpg"
    expected = _durall_from_file(path, 40)
    x = torch.from_numpy(load_array(path).transpose(2, 0, 1).copy())[None].double()
    old = durall_features(x, bins=40)[0].numpy()
    assert np.abs(old - expected).max() > 1e-4
    luma = torch.from_numpy(load_luma(path).astype(np.float64))[None, None]
    np.testing.assert_allclose(
        durall_features(luma, bins=40, white=255.0)[0].numpy(), expected, rtol=0, atol=1e-9
    )


def test_list_images_and_luma_agree_on_a_folder(files):
    folder = Path(next(iter(files.values()))).parent
    assert set(list_images([folder])) >= set(files.values())
