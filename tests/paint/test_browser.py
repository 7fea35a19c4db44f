"""End to end in headless Chromium: load → brush → remove → undo, with the real server.

Uses Debian's ``chromium`` through Playwright's Python client (``.ci/run`` installs it); nothing
downloads a browser. Skipped, with the reason, where either is missing.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import torch

from ganscope.paint import Edit, create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium executable (apt-get install chromium)"
    ),
]

# The <img>'s pixels, read back through a canvas (what the page shows, not what was sent).
READ_IMAGE = """() => {
  const img = document.getElementById('image');
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < d.length; i++) s += String.fromCharCode(d[i]);
  return [c.width, c.height, btoa(s)];
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(painter):
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        create_app(painter, generator_name="tiny"), host="127.0.0.1", port=port, log_level="error"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the GAN Paint server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def _shown(page) -> torch.Tensor:
    w, h, data = page.evaluate(READ_IMAGE)
    rgba = torch.frombuffer(bytearray(base64.b64decode(data)), dtype=torch.uint8)
    return rgba.view(h, w, 4)[..., :3]


def _expected(painter, seed, edits) -> torch.Tensor:
    return (painter.render(seed, edits).permute(1, 2, 0) * 255).round().to(torch.uint8)


def _wait_renders(page, n: int) -> None:
    page.wait_for_function(
        f"Number(document.body.dataset.renders || 0) >= {n} && document.body.dataset.busy === '0'",
        timeout=30_000,
    )


def test_load_brush_remove_undo(server, painter, tmp_path: Path):
    sync_api = pytest.importorskip("playwright.sync_api")
    calls: list[dict] = []
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            page = context.new_page()
            page.on(
                "request",
                lambda req: (
                    calls.append(
                        {
                            "path": req.url.split(server)[-1],
                            "method": req.method,
                            "body": req.post_data,
                        }
                    )
                    if "/api/" in req.url
                    else None
                ),
            )
            page.goto(server + "/")
            _wait_renders(page, 1)  # load
            assert page.locator("#status").inner_text().startswith("seed 0")
            original = _shown(page)
            assert torch.equal(original, _expected(painter, 0, []))
            assert {"path": "/api/concepts", "method": "GET", "body": None} in calls

            # Brush: remove tree along a horizontal stroke through the middle.
            # tree is the concept the page starts with; switching concepts re-renders.
            assert page.is_checked('input[name="concept"][value="tree"]')
            page.check('input[name="concept"][value="grass"]')
            _wait_renders(page, 2)
            page.check('input[name="concept"][value="tree"]')
            _wait_renders(page, 3)
            page.check('input[name="mode"][value="remove"]')
            box = page.locator("#paint").bounding_box()
            y = box["y"] + box["height"] * 0.5
            page.mouse.move(box["x"] + box["width"] * 0.2, y)
            page.mouse.down()
            for f in (0.3, 0.4, 0.5, 0.6):
                page.mouse.move(box["x"] + box["width"] * f, y)
            page.mouse.up()
            _wait_renders(page, 4)

            edit_calls = [json.loads(c["body"]) for c in calls if c["path"] == "/api/edit"]
            # Each refresh asks for the edited image and the unedited one (shown as "before").
            assert edit_calls[-2:] == [edit_calls[-2], {"seed": 0, "edits": []}]
            sent = edit_calls[-2]
            assert sent["seed"] == 0 and len(sent["edits"]) == 1
            stroke = sent["edits"][0]
            assert (stroke["concept"], stroke["mode"], stroke["strength"]) == ("tree", "remove", 1)
            mask = torch.tensor(stroke["mask"])
            assert mask.shape == (32, 32) and 0 < mask.sum() < 32 * 32
            rows = mask.nonzero()[:, 0]
            assert rows.min() >= 12 and rows.max() <= 19  # around the middle row (16)
            edited = _shown(page)
            want = _expected(painter, 0, [Edit("tree", "remove", mask.float(), 1.0)])
            assert torch.equal(edited, want)
            assert not torch.equal(edited, original)
            assert page.locator("#edit-count").inner_text() == "1"
            segment_bodies = [json.loads(c["body"]) for c in calls if c["path"] == "/api/segment"]
            assert any(len(b["edits"]) == 1 for b in segment_bodies)
            mask_bodies = [json.loads(c["body"]) for c in calls if c["path"] == "/api/mask"]
            # The before/after masks of the chosen concept.
            assert [(b["concept"], len(b["edits"])) for b in mask_bodies[-2:]] == [
                ("tree", 0),
                ("tree", 1),
            ]
            shot = tmp_path / "paint.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 1000 and shot.read_bytes()[:4] == b"\x89PNG"

            # Undo: back to the original image, and the next request carries no edits.
            page.click("#undo")
            _wait_renders(page, 5)
            assert json.loads([c for c in calls if c["path"] == "/api/edit"][-1]["body"]) == {
                "seed": 0,
                "edits": [],
            }
            assert torch.equal(_shown(page), original)
            assert page.locator("#undo").is_disabled()
        finally:
            context.close()
    assert all(c["method"] in ("GET", "POST") for c in calls)
