"""The one HTML layer: escaping, markup cells, inlined images (study and dissect pages use it)."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import torch
from PIL import Image

from ganscope.report.html import (
    Html,
    HtmlReport,
    bar_tag,
    code,
    data_uri_png,
    image_tag,
    png_bytes,
)


def _decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    return np.array(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def test_text_is_escaped_and_markup_is_not():
    page = HtmlReport("a < b")
    page.heading("x & y")
    page.heading(Html(f"Layer {code('blocks.<0>')}"))
    page.table(["name", "bar"], [["<script>", bar_tag(0.5, "7", width=100)], ["f", 0.12345]])
    text = page.render()
    assert "<title>a &lt; b</title>" in text and "<h2>x &amp; y</h2>" in text
    assert "<h2>Layer <code>blocks.&lt;0&gt;</code></h2>" in text
    assert "<td>&lt;script&gt;</td>" in text and "<script>" not in text
    assert '<td><span class="bar" style="width:50px"></span>7</td>' in text
    assert "<td>0.123</td>" in text  # floats: three decimals, as before


def test_bar_is_clipped_to_its_width():
    assert 'width:0px' in bar_tag(-1.0) and 'width:120px' in bar_tag(3.0)


def test_png_bytes_scale_is_nearest_neighbour():
    img = torch.rand(3, 4, 5)
    arr = np.array(Image.open(io.BytesIO(png_bytes(img, scale=3))))
    assert arr.shape == (12, 15, 3)
    assert np.array_equal(arr[::3, ::3], arr[1::3, 2::3])  # each pixel became a 3x3 block
    assert np.abs(arr[::3, ::3] / 255 - img.permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6


def test_data_uri_inlines_png_files_unchanged(tmp_path):
    img = torch.rand(3, 6, 6)
    raw = png_bytes(img)
    (tmp_path / "a.png").write_bytes(raw)
    assert data_uri_png(tmp_path / "a.png") == data_uri_png(raw)
    assert np.array_equal(_decode(data_uri_png(raw)), _decode(data_uri_png(img)))


def test_enlarged_images_are_pixelated_and_page_is_offline(tmp_path):
    page = HtmlReport("figures")
    page.figure(torch.zeros(3, 8, 8), "grid", scale=2)
    page.table(["img"], [[image_tag(torch.ones(3, 2, 2), alt="unit 3")]], css_class="left")
    text = page.render()
    uris = re.findall(r'src="([^"]+)"', text)
    assert [_decode(u).shape for u in uris] == [(16, 16, 3), (2, 2, 3)]
    assert text.count('class="pixelated"') == 1 and '<table class="left">' in text
    assert "<figcaption>grid</figcaption>" in text
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", text)
    saved = page.save(tmp_path / "p.html")
    assert saved.read_text() == text
