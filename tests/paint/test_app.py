"""The JSON API through Starlette's TestClient: contract, determinism, 4xx on every bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from starlette.testclient import TestClient

from ganscope.paint import Edit, box_to_mask, create_app
from ganscope.paint.app import MAX_BODY_BYTES, STATIC_DIR


@pytest.fixture
def client(painter):
    return TestClient(create_app(painter, generator_name="tiny"), raise_server_exceptions=False)


def _png(resp) -> torch.Tensor:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"
    arr = torch.from_numpy(np.array(Image.open(io.BytesIO(resp.content))))
    return arr


def test_concepts(client):
    r = client.get("/api/concepts")
    assert r.status_code == 200
    assert r.json() == {"concepts": ["tree", "grass"], "size": 32, "generator": "tiny"}


def test_edit_returns_the_painters_image(client, painter):
    body = {
        "seed": 5,
        "edits": [{"concept": "tree", "mode": "remove", "box": [4, 4, 20, 20], "strength": 1}],
    }
    got = _png(client.post("/api/edit", json=body))
    assert got.shape == (32, 32, 3)
    want = painter.render(5, [Edit("tree", "remove", box_to_mask([4, 4, 20, 20], 32), 1.0)])
    want8 = (want.permute(1, 2, 0) * 255).round().to(torch.uint8)
    assert torch.equal(got, want8)
    plain = _png(client.post("/api/edit", json={"seed": 5, "edits": []}))
    assert not torch.equal(plain, got)
    # Deterministic: the same request gives the same bytes.
    assert (
        client.post("/api/edit", json=body).content == client.post("/api/edit", json=body).content
    )


def test_edit_with_a_brushed_mask(client, painter):
    mask = [[1 if 3 <= x < 9 and 10 <= y < 30 else 0 for x in range(32)] for y in range(32)]
    body = {
        "seed": 1,
        "edits": [{"concept": "grass", "mode": "add", "mask": mask, "strength": 0.5}],
    }
    got = _png(client.post("/api/edit", json=body))
    want = painter.render(1, [Edit("grass", "add", torch.tensor(mask).float(), 0.5)])
    assert torch.equal(got, (want.permute(1, 2, 0) * 255).round().to(torch.uint8))


def test_segment_fractions(client, painter):
    body = {"seed": 3, "edits": [{"concept": "tree", "mode": "add", "box": [0, 0, 32, 32]}]}
    r = client.post("/api/segment", json=body)
    assert r.status_code == 200
    fr = r.json()["fractions"]
    assert set(fr) == {"tree", "grass"}
    image = painter.render(3, [Edit("tree", "add", torch.ones(32, 32), 1.0)])
    want = painter.fractions(image[None])
    for c in fr:
        assert fr[c] == pytest.approx(want[c][0], abs=1e-6)
        assert 0 <= fr[c] <= 1


def test_mask_png_is_the_segmentation(client, painter):
    r = client.post("/api/mask", json={"seed": 2, "edits": [], "concept": "grass"})
    rgba = _png_rgba(r)
    k = list(painter.labeler.labels).index("grass")
    seg = painter.segment(painter.render(2)[None])[0, k]
    assert torch.equal(torch.from_numpy(rgba[..., 3] > 0), seg)


def _png_rgba(resp):
    import numpy as np

    assert resp.status_code == 200, resp.text
    img = Image.open(io.BytesIO(resp.content))
    assert img.mode == "RGBA"
    return np.asarray(img)


BAD = [
    ("/api/edit", b"{not json", 400, "not valid JSON"),
    ("/api/edit", b"[1, 2]", 400, "JSON object"),
    ("/api/edit", json.dumps({"edits": []}).encode(), 400, "missing 'seed'"),
    ("/api/edit", json.dumps({"seed": -1}).encode(), 400, "'seed' must be in"),
    ("/api/edit", json.dumps({"seed": 1.5}).encode(), 400, "must be an integer"),
    ("/api/edit", json.dumps({"seed": True}).encode(), 400, "must be an integer"),
    ("/api/edit", json.dumps({"seed": 2**70}).encode(), 400, "'seed' must be in"),
    ("/api/edit", json.dumps({"seed": 1, "extra": 2}).encode(), 400, "unknown field"),
    ("/api/edit", json.dumps({"seed": 1, "edits": {}}).encode(), 400, "must be a list"),
    (
        "/api/segment",
        json.dumps(
            {"seed": 1, "edits": [{"concept": "sky", "mode": "add", "box": [0, 0, 1, 1]}]}
        ).encode(),
        400,
        "unknown concept 'sky'",
    ),
    (
        "/api/edit",
        json.dumps(
            {"seed": 1, "edits": [{"concept": "tree", "mode": "add", "mask": [[1]]}]}
        ).encode(),
        400,
        "32x32",
    ),
    (
        "/api/edit",
        b'{"seed": 1, "edits": [{"concept": "tree", "mode": "add", "box": [0, 0, NaN, 1]}]}',
        400,
        "finite",
    ),
    ("/api/mask", json.dumps({"seed": 1, "concept": "ufo"}).encode(), 400, "unknown concept"),
    ("/api/edit", b"[" * 100_000 + b"]" * 100_000, 400, ""),
    ("/api/edit", b"", 400, "not valid JSON"),
]


@pytest.mark.parametrize(("path", "data", "status", "match"), BAD)
def test_bad_requests_get_4xx_with_one_line(client, path, data, status, match):
    r = client.post(path, content=data, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert match in err
    assert "\n" not in err and "Traceback" not in r.text


def test_oversized_body_is_413(client):
    r = client.post("/api/edit", content=b" " * (MAX_BODY_BYTES + 1))
    assert r.status_code == 413
    assert "larger than" in r.json()["error"]


def test_wrong_method_and_path(client):
    r = client.get("/api/edit")
    assert r.status_code == 405 and "error" in r.json()
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "error" in r.json()
    assert client.get("/static/../app.py").status_code == 404


def test_page_and_assets_are_local(client):
    r = client.get("/")
    assert r.status_code == 200 and "GAN Paint" in r.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    # Nothing is fetched from the internet at run time.
    for f in Path(STATIC_DIR).iterdir():
        text = f.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, f.name


def test_url_brackets_ipv6_and_serve_refuses_a_bad_port():
    from ganscope.errors import GanscopeError
    from ganscope.paint.app import serve, url

    assert url("127.0.0.1", 8765) == "http://127.0.0.1:8765/"
    assert url("::1", 9000) == "http://[::1]:9000/"
    with pytest.raises(GanscopeError, match=r"--port must be in 1\.\.65535"):
        serve(None, port=0)  # type: ignore[arg-type]  # refused before the session is read
