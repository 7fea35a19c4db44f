"""The GAN Paint web app: one plain HTML page and a small JSON API (Starlette, served by uvicorn).

API (all bodies JSON; ``S`` is the generator's image side):

- ``GET /api/concepts`` → ``{"concepts": [...], "size": S, "generator": name}``
- ``POST /api/edit`` ``{"seed": int, "edits": [{"concept", "mode": "add"|"remove",
  "mask": S×S 0/1 | "box": [x0, y0, x1, y1], "strength": float in [0, 1]}]}`` → ``image/png``
- ``POST /api/segment`` (same body) → ``{"fractions": {concept: fraction of pixels}}``
- ``POST /api/mask`` (same body plus ``"concept"``) → ``image/png``: the segmenter's mask of the
  concept (magenta where present, transparent elsewhere), shown before/after

A bad request gets a 4xx status and ``{"error": "<one line>"}``; no response carries a
traceback. Edits run one at a time (the generator's hooks are shared state) in a worker thread.
The page and its script are served from the package; nothing is fetched from the internet.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import torch
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ganscope.errors import GanscopeError
from ganscope.paint.editing import Painter, parse_edits, parse_seed, png_bytes
from ganscope.paint.session import PaintSession, PaintSettings, open_painter

log = logging.getLogger("ganscope")

__all__ = [
    "MAX_BODY_BYTES",
    "STATIC_DIR",
    "create_app",
    "is_loopback",
    "serve",
    "serve_painter",
    "url",
]

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Largest request body accepted (a 128x128 mask history of 256 strokes fits).
MAX_BODY_BYTES = 16 * 1024 * 1024


class _BadRequestError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:500]


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": _one_line(reason)}, status_code=status)


async def _read_json(request: Request) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise _BadRequestError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BadRequestError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise _BadRequestError(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _BadRequestError(400, "the request body must be a JSON object")
    return body


#: Mask overlay colour (magenta): distinct from every scene colour, so the mask reads as a mask.
MASK_RGB = (255, 0, 200)


def create_app(painter: Painter, *, generator_name: str = "generator") -> Starlette:
    """The Starlette app serving ``painter``.

    Args:
        painter: renders and segments edited samples.
        generator_name: shown on the page and in ``/api/concepts``.
    """
    lock = threading.Lock()
    known = {"seed", "edits"}

    def parse(body: dict[str, Any], extra: frozenset[str] = frozenset()) -> tuple[int, list]:
        unknown = set(body) - known - extra
        if unknown:
            raise GanscopeError(f"unknown field(s) {', '.join(sorted(unknown))}")
        if "seed" not in body:
            raise GanscopeError("missing 'seed'")
        seed = parse_seed(body["seed"])
        edits = parse_edits(body.get("edits", []), painter.concepts, painter.size)
        return seed, edits

    def render_png(body: dict[str, Any]) -> bytes:
        seed, edits = parse(body)
        with lock:
            return png_bytes(painter.render(seed, edits))

    def segment(body: dict[str, Any]) -> dict[str, Any]:
        seed, edits = parse(body)
        with lock:
            image = painter.render(seed, edits)
            fr = painter.fractions(image[None])
        return {"fractions": {c: round(v[0], 6) for c, v in fr.items()}}

    def mask_png(body: dict[str, Any]) -> bytes:
        seed, edits = parse(body, frozenset({"concept"}))
        concept = body.get("concept")
        labels = list(painter.labeler.labels)
        if concept not in labels:
            raise GanscopeError(f"unknown concept {concept!r}; known: {', '.join(labels)}")
        with lock:
            image = painter.render(seed, edits)
            m = painter.segment(image[None])[0, labels.index(concept)].float()
        rgb = torch.tensor(MASK_RGB, dtype=torch.float32) / 255
        rgba = torch.cat([rgb[:, None, None].expand(3, *m.shape), m[None]])  # (4, S, S)
        return _rgba_png(rgba)

    def api(
        fn: Callable[[dict[str, Any]], Any], kind: str
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                body = await _read_json(request)
                result = await run_in_threadpool(fn, body)
            except _BadRequestError as err:
                return _error(err.status, err.reason)
            except GanscopeError as err:
                return _error(400, str(err))
            if kind == "png":
                return Response(
                    result, media_type="image/png", headers={"Cache-Control": "no-store"}
                )
            return JSONResponse(result)

        return endpoint

    async def concepts(_request: Request) -> Response:
        return JSONResponse(
            {"concepts": painter.concepts, "size": painter.size, "generator": generator_name}
        )

    async def index(_request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, exc.detail or "error")

    async def server_error(_request: Request, exc: Exception) -> Response:
        # A bug: logged with its traceback on the server, never sent to the client.
        log.error("GAN Paint request failed", exc_info=exc)
        return _error(500, "internal error (see the server log)")

    routes = [
        Route("/", index),
        Route("/api/concepts", concepts, methods=["GET"]),
        Route("/api/edit", api(render_png, "png"), methods=["POST"]),
        Route("/api/segment", api(segment, "json"), methods=["POST"]),
        Route("/api/mask", api(mask_png, "png"), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, 500: server_error},
    )


def _rgba_png(rgba: torch.Tensor) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    arr = (rgba.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr), mode="RGBA").save(buf, format="PNG")
    return buf.getvalue()


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url(host: str, port: int) -> str:
    """The address to open in a browser (an IPv6 host in brackets)."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def serve(session: PaintSession, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the app of ``session`` with uvicorn until interrupted (``ganscope paint``).

    Any non-loopback ``host`` lets the network run the generator: that is logged as a warning.
    A port that cannot be bound is a one-line :class:`GanscopeError`.
    """
    import uvicorn

    if not 0 < port < 65536:
        raise GanscopeError(f"--port must be in 1..65535, not {port}")
    if not is_loopback(host):
        log.warning(
            "serving on %s: anyone who can reach this address can run the generator "
            "(the default 127.0.0.1 serves only this machine)",
            host,
        )
    app = create_app(session.painter, generator_name=session.name)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except OSError as err:
        raise GanscopeError(f"cannot serve on {host}:{port}: {err.strerror or err}") from None


def serve_painter(
    generator: str | Path,
    settings: PaintSettings,
    *,
    device: torch.device | str = "cpu",
    echo: Callable[[str], None],
) -> None:
    """``ganscope paint``: open ``generator`` for painting (:func:`open_painter`), ``echo`` what
    is served and where to open it, then :func:`serve` it until interrupted."""
    session = open_painter(
        generator,
        segmenter=settings.segmenter,
        units=settings.units,
        seed=settings.seed,
        device=device,
    )
    p = session.painter
    echo(
        f"GAN Paint: {session.name} ({p.size}x{p.size}), concepts "
        f"{', '.join(p.concepts)}; units from {session.units_source}"
    )
    echo(f"open {url(settings.host, settings.port)}  (Ctrl+C stops)")
    serve(session, host=settings.host, port=settings.port)
