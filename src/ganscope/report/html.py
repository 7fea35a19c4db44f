"""A self-contained HTML page: inline CSS, every figure inlined as a base64 PNG, no scripts, no
network. It opens offline and can be mailed as one file."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.8em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}
.answer{background:#f6f9ff;border-left:4px solid #3b6fd8;padding:.5em .9em;margin:.8em 0}
.muted{color:#666;font-size:.9em}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def data_uri_png(png: bytes | str | Path) -> str:
    """A ``data:image/png;base64,...`` URI for PNG bytes or a PNG file."""
    data = Path(png).read_bytes() if isinstance(png, str | Path) else png
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


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
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, *, css_class: str | None = None) -> None:
        cls = f' class="{css_class}"' if css_class else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def answer(self, question: str, text: str) -> None:
        """A question of the study and its one-sentence answer, highlighted."""
        self._parts.append(
            f'<div class="answer"><b>{html.escape(question)}</b><br>{html.escape(text)}</div>'
        )

    def figure(
        self, png: bytes | str | Path, caption: str = "", *, width: int | None = None
    ) -> None:
        """Inline a PNG (bytes or a file) as a base64 data URI."""
        style = f' style="width:{width}px"' if width else ""
        alt = html.escape(caption or "figure")
        self._parts.append(
            f'<figure><img src="{data_uri_png(png)}" alt="{alt}"{style}>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str = ""
    ) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
            for row in rows
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._parts.append(
            f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
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
