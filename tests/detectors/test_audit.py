"""The bias audit: container differences between real and fake sets are reported."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ganscope.detectors import audit_bias, estimate_jpeg_quality


def _write(folder, n, *, fmt="PNG", size=(32, 32), quality=90, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        arr = (rng.random((*size, 3)) * 255).astype(np.uint8)
        p = folder / f"{i:03d}.{'jpg' if fmt == 'JPEG' else 'png'}"
        kw = {"quality": quality} if fmt == "JPEG" else {}
        Image.fromarray(arr).save(p, format=fmt, **kw)
        paths.append(p)
    return paths


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 90, 95, 100])
def test_estimate_jpeg_quality_recovers_pillow_quality(quality):
    buf = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buf, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert estimate_jpeg_quality(im.quantization) == quality


def test_estimate_jpeg_quality_without_tables():
    assert estimate_jpeg_quality({}) is None


def test_audit_fires_on_jpeg_vs_png(tmp_path):
    real = _write(tmp_path / "real", 6, fmt="JPEG")
    fake = _write(tmp_path / "fake", 6, fmt="PNG", seed=1)
    warnings = audit_bias(real, {"gan": fake})
    kinds = {w.kind for w in warnings}
    assert "format" in kinds
    msg = next(str(w) for w in warnings if w.kind == "format")
    assert "JPEG" in msg and "PNG" in msg and "gan" in msg


def test_audit_quiet_on_matching_sets(tmp_path):
    real = _write(tmp_path / "real", 5)
    fake = _write(tmp_path / "fake", 5, seed=1)
    assert audit_bias(real, {"gan": fake}) == []


def test_audit_fires_on_size_and_quality(tmp_path):
    real = _write(tmp_path / "real", 5, fmt="JPEG", quality=95, size=(64, 64))
    fake = _write(tmp_path / "fake", 5, fmt="JPEG", quality=75, size=(32, 32), seed=1)
    kinds = {w.kind for w in audit_bias(real, fake)}
    assert kinds == {"size", "jpeg_quality"}


def test_audit_ignores_unreadable_files(tmp_path):
    real = _write(tmp_path / "real", 3)
    bad = tmp_path / "real" / "bad.png"
    bad.write_bytes(b"junk")
    fake = _write(tmp_path / "fake", 3, seed=1)
    assert audit_bias([*real, bad], {"gan": fake}) == []
