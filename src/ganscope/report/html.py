"""A self-contained HTML page: inline CSS, every figure inlined as a base64 PNG, no scripts, no
network. It opens offline and can be mailed as one file.

The one HTML layer of ganscope: the study's report and the dissection reports both build their
pages with :class:`HtmlReport`. Text is escaped; markup built here (:func:`image_tag`,
:func:`bar_tag`, :func:`code`) is an :class:`Html` string and is inserted as is, so a table cell
or a heading can hold an image, a bar or code.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganscope.io.writers import to_uint8

__all__ = [
    "Html",
    "HtmlReport",
    "PngLike",
    "bar_tag",
    "code",
    "data_uri_png",
    "image_tag",
    "png_bytes",
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.8em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
table.left th,table.left td{text-align:left;vertical-align:middle}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}
img.pixelated{image-rendering:pixelated;vertical-align:middle}
.bar{background:#4a7bd0;height:12px;display:inline-block;vertical-align:middle;margin-right:.3em}
.answer{background:#f6f9ff;border-left:4px solid #3b6fd8;padding:.5em .9em;margin:.8em 0}
.muted{color:#666;font-size:.9em}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
"""

#: What a figure or an image cell can be: PNG bytes, a PNG file, or an image ``(3, H, W)`` /
#: ``(H, W)`` in [0, 1] (a tensor or an array).
PngLike = bytes | str | Path | torch.Tensor | np.ndarray


class Html(str):
    """Markup built by this module: inserted into the page as is (plain ``str`` is escaped)."""


def _text(value: Any) -> str:
    if isinstance(value, Html):
        return value
    return html.escape(_fmt(value))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def png_bytes(
    image: torch.Tensor | np.ndarray, *, scale: int = 1, optimize: bool = False
) -> bytes:
    """An image ``(3, H, W)`` (or ``(H, W)``) in [0, 1] → PNG file bytes, enlarged ``scale``
    times by nearest neighbour (so a 32-pixel sample stays sharp on screen). ``optimize`` makes
    smaller files more slowly (pages; not the paint app's live edits)."""
    img = Image.fromarray(to_uint8(image))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=optimize)
    return buf.getvalue()


def data_uri_png(png: PngLike, *, scale: int = 1) -> str:
    """A ``data:image/png;base64,...`` URI for PNG bytes, a PNG file or an image in [0, 1]
    (``scale`` enlarges an image; PNG bytes and files are inlined unchanged)."""
    if isinstance(png, torch.Tensor | np.ndarray):
        data = png_bytes(png, scale=scale, optimize=True)
    else:
        data = Path(png).read_bytes() if isinstance(png, str | Path) else png
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def image_tag(png: PngLike, *, alt: str = "", scale: int = 1, width: int | None = None) -> Html:
    """An inline ``<img>`` (for a table cell); images enlarged by ``scale`` stay pixelated."""
    enlarged = scale > 1 and isinstance(png, torch.Tensor | np.ndarray)
    cls = ' class="pixelated"' if enlarged else ""
    style = f' style="width:{width}px"' if width else ""
    uri = data_uri_png(png, scale=scale)
    return Html(f'<img src="{uri}" alt="{html.escape(alt)}"{cls}{style}>')


def bar_tag(fraction: float, label: str = "", *, width: int = 120) -> Html:
    """A horizontal bar ``fraction`` (0..1) of ``width`` pixels long, then ``label`` (a count in
    a table)."""
    px = round(width * min(max(fraction, 0.0), 1.0))
    return Html(f'<span class="bar" style="width:{px}px"></span>{html.escape(label)}')


def code(text: str) -> Html:
    """``text`` set as code (a layer or a file name)."""
    return Html(f"<code>{html.escape(text)}</code>")


class HtmlReport:
    """Build a page section by section, then :meth:`render` it.

    Example:
        >>> r = HtmlReport("Study")
        >>> r.heading("Spectra")
        >>> r.paragraph("Bed of nails leaves the strongest replicas.")
        >>> "<h2>Spectra</h2>" in r.render()
        True
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._parts: list[str] = []

    def heading(self, text: str, level: int = 2) -> None:
        self._parts.append(f"<h{level}>{_text(text)}</h{level}>")

    def paragraph(self, text: str, *, css_class: str | None = None) -> None:
        cls = f' class="{css_class}"' if css_class else ""
        self._parts.append(f"<p{cls}>{_text(text)}</p>")

    def answer(self, question: str, text: str) -> None:
        """A question of the study and its one-sentence answer, highlighted."""
        self._parts.append(
            f'<div class="answer"><b>{html.escape(question)}</b><br>{html.escape(text)}</div>'
        )

    def figure(
        self, png: PngLike, caption: str = "", *, width: int | None = None, scale: int = 1
    ) -> None:
        """Inline a PNG (bytes or a file) or an image in [0, 1] (enlarged ``scale`` times) as a
        base64 data URI, with its caption below."""
        img = image_tag(png, alt=caption or "figure", scale=scale, width=width)
        self._parts.append(f"<figure>{img}<figcaption>{html.escape(caption)}</figcaption></figure>")

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        caption: str = "",
        css_class: str | None = None,
    ) -> None:
        """A table; floats get three decimals, :class:`Html` cells (images, bars) go in as is.
        ``css_class="left"`` aligns every column left (for tables of images)."""
        head = "".join(f"<th>{_text(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{_text(v)}</td>" for v in row) + "</tr>" for row in rows
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        cls = f' class="{css_class}"' if css_class else ""
        self._parts.append(
            f"<table{cls}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def preformatted(self, text: str) -> None:
        self._parts.append(f"<pre>{html.escape(text)}</pre>")

    def render(self) -> str:
        body = "\n".join(self._parts)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>"
            f"<body><h1>{html.escape(self.title)}</h1>\n{body}\n</body></html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write the page atomically."""
        from ganscope.io.writers import write_text

        write_text(path, self.render())
        return Path(path)
