"""A procedural scene world with exact per-pixel labels.

GAN Dissection (Bau et al., ICLR 2019) labels units with a 336-class scene parser trained on ADE20K,
which we cannot download. ganscope instead brings a small world of its own: outdoor scenes with sky,
clouds, a sun, grass, water, trees (foliage and trunks) and houses (walls, roofs, doors, windows),
rendered with their label maps. A GAN trained on these scenes can then be dissected against exact
concepts (through :mod:`ganscope.dissect.segmenter`, which learns to segment the renders).

Every scene is a pure function of its seed: scene ``s`` is the same image at any ``count`` and in
any batch, so files are named by their seed (``scene000042.png``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganscope.errors import GanscopeError
from ganscope.io.locks import locks_output
from ganscope.progress import progress_bar

__all__ = [
    "SCENE_LABELS",
    "SCENE_OBJECTS",
    "SCENE_PALETTE",
    "SceneBatch",
    "colorize_labels",
    "render_scenes",
    "write_scenes",
]

#: The concept names of the scene world; a label map holds indices into this list.
SCENE_LABELS: tuple[str, ...] = (
    "sky",
    "cloud",
    "sun",
    "grass",
    "water",
    "tree",
    "trunk",
    "house",
    "roof",
    "door",
    "window",
)

#: A display colour (0-255 RGB) per label, used for mask PNG palettes and report overlays.
SCENE_PALETTE: tuple[tuple[int, int, int], ...] = (
    (120, 170, 230),  # sky
    (245, 245, 245),  # cloud
    (250, 210, 40),  # sun
    (70, 160, 60),  # grass
    (40, 90, 170),  # water
    (20, 100, 30),  # tree
    (110, 70, 40),  # trunk
    (200, 170, 130),  # house
    (170, 40, 40),  # roof
    (90, 50, 20),  # door
    (150, 200, 230),  # window
)

_L = {name: i for i, name in enumerate(SCENE_LABELS)}

#: Objects that ``render_scenes(..., without=...)`` can leave out, and the labels each one paints.
SCENE_OBJECTS: dict[str, tuple[str, ...]] = {
    "sun": ("sun",),
    "cloud": ("cloud",),
    "water": ("water",),
    "house": ("house", "roof", "door", "window"),
    "tree": ("tree", "trunk"),
}

# Slots of random numbers per scene: every scene draws exactly _N_PARAMS uniforms from its own
# generator, so a scene never depends on the other scenes in the batch.
_N_CLOUDS, _N_HOUSES, _N_TREES = 3, 2, 3
_N_PARAMS = 128


@dataclass(frozen=True)
class SceneBatch:
    """Rendered scenes.

    Attributes:
        images: ``(N, 3, H, W)`` float32 in [0, 1].
        labels: ``(N, H, W)`` int64, indices into :data:`SCENE_LABELS`.
        seeds: the seed of each scene.
    """

    images: Tensor
    labels: Tensor
    seeds: list[int]


class _Params:
    """Hands out columns of the per-scene uniform table in a fixed order."""

    def __init__(self, u: Tensor) -> None:
        self._u = u
        self._i = 0

    def uniform(self, lo: float, hi: float) -> Tensor:
        col = self._u[:, self._i]
        self._i += 1
        return lo + (hi - lo) * col

    def coin(self, p: float) -> Tensor:
        return self.uniform(0.0, 1.0) < p

    def color(self, rgb: tuple[int, int, int], jitter: float) -> Tensor:
        base = torch.tensor(rgb, dtype=torch.float32) / 255.0
        shift = torch.stack([self.uniform(-jitter, jitter) for _ in range(3)], dim=1)  # (N, 3)
        return (base[None] + shift).clamp(0, 1)


def _paint(img: Tensor, lab: Tensor, mask: Tensor, color: Tensor, label: int) -> None:
    """In place: pixels in ``mask`` (N, H, W) take ``color`` (N, 3) and ``label``."""
    m = mask[:, None]  # (N, 1, H, W)
    img.copy_(torch.where(m, color[:, :, None, None], img))
    lab.masked_fill_(mask, label)


def render_scenes(
    seeds: Sequence[int],
    *,
    size: int = 64,
    noise: float = 0.02,
    without: Collection[str] = (),
) -> SceneBatch:
    """Render outdoor scenes and their exact label maps, one per seed.

    The renderer is vectorised over the batch: each scene's random parameters come from a
    ``torch.Generator`` seeded with its own seed, and every shape is painted for all scenes at once
    with coordinate-grid masks. Objects are painted back to front (sky, sun, clouds, ground,
    water, houses, trees), so the label map is what the image shows.

    Args:
        seeds: one seed per scene.
        size: image height and width in pixels (shapes are defined in relative units, so any
            size from 16 up gives the same scene).
        noise: standard deviation of per-pixel Gaussian texture noise (also seeded per scene).
        without: objects of :data:`SCENE_OBJECTS` never painted (a world with a class removed,
            for "Seeing what a GAN cannot generate", Bau et al. 2019). Every scene still draws
            the same random numbers, so the rest of scene ``s`` is unchanged.

    Returns:
        A :class:`SceneBatch`.

    Example:
        >>> batch = render_scenes([0, 1], size=32)
        >>> batch.images.shape, batch.labels.shape
        (torch.Size([2, 3, 32, 32]), torch.Size([2, 32, 32]))
    """
    seeds = [int(s) for s in seeds]
    n = len(seeds)
    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    unknown = sorted(set(without) - set(SCENE_OBJECTS))
    if unknown:
        raise GanscopeError(
            f"cannot remove {', '.join(unknown)}; removable objects: {', '.join(SCENE_OBJECTS)}"
        )
    keep = {name: name not in without for name in SCENE_OBJECTS}
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    u = (
        torch.stack([torch.rand(_N_PARAMS, generator=g) for g in gens])
        if n
        else torch.zeros(0, _N_PARAMS)
    )
    p = _Params(u)

    # Pixel-centre coordinates in [0, 1], shape (1, H, W), broadcast against (N, 1, 1) parameters.
    c = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    y = c[None, :, None].expand(1, size, size)
    x = c[None, None, :].expand(1, size, size)

    def col(t: Tensor) -> Tensor:
        return t[:, None, None]

    img = torch.zeros(n, 3, size, size)
    lab = torch.zeros(n, size, size, dtype=torch.int64)

    # Sky: a vertical gradient from a deeper top colour to a paler horizon.
    horizon = p.uniform(0.42, 0.62)
    sky_top = p.color((80, 140, 220), 0.08)
    sky_low = (sky_top + 0.25).clamp(0, 1)
    t = y.expand(n, size, size) / col(horizon).clamp(min=1e-3)
    t = t.clamp(0, 1)[:, None]
    img.copy_(sky_top[:, :, None, None] * (1 - t) + sky_low[:, :, None, None] * t)
    lab.fill_(_L["sky"])

    # Sun.
    has_sun = p.coin(0.5) & keep["sun"]
    sun_x, sun_y, sun_r = p.uniform(0.1, 0.9), p.uniform(0.06, 0.22), p.uniform(0.04, 0.075)
    sun = ((x - col(sun_x)) ** 2 + (y - col(sun_y)) ** 2 < col(sun_r) ** 2) & col(has_sun)
    _paint(img, lab, sun & (y < col(horizon)), p.color(SCENE_PALETTE[_L["sun"]], 0.05), _L["sun"])

    # Clouds: three overlapping ellipses each.
    for _ in range(_N_CLOUDS):
        has = p.coin(0.55) & keep["cloud"]
        cx, cy = p.uniform(0.0, 1.0), p.uniform(0.06, 0.3)
        rx, ry = p.uniform(0.05, 0.1), p.uniform(0.025, 0.045)
        cloud = torch.zeros(n, size, size, dtype=torch.bool)
        for dx, dy, s in ((-1.0, 0.3, 0.8), (0.0, 0.0, 1.0), (1.0, 0.3, 0.8)):
            ex = (x - col(cx + dx * rx)) / col(rx * s)
            ey = (y - col(cy + dy * ry)) / col(ry * s * 1.2)
            cloud |= ex**2 + ey**2 < 1
        cloud &= col(has) & (y < col(horizon))
        _paint(img, lab, cloud, p.color(SCENE_PALETTE[_L["cloud"]], 0.04), _L["cloud"])

    # Ground.
    ground = y >= col(horizon)
    _paint(img, lab, ground, p.color((80, 165, 65), 0.08), _L["grass"])
    shade = ((y - col(horizon)) * 0.35).clamp(min=0)[:, None]  # nearer grass is darker
    img.sub_(torch.where(ground[:, None], shade, torch.zeros(())))

    # Water: a lake, an ellipse below the horizon.
    has_lake = p.coin(0.5) & keep["water"]
    lx, ly = p.uniform(0.15, 0.85), p.uniform(0.08, 0.3)
    lrx, lry = p.uniform(0.15, 0.35), p.uniform(0.05, 0.1)
    lake = ((x - col(lx)) / col(lrx)) ** 2 + ((y - col(horizon + ly)) / col(lry)) ** 2 < 1
    lake &= ground & col(has_lake)
    _paint(img, lab, lake, p.color(SCENE_PALETTE[_L["water"]], 0.06), _L["water"])

    # Houses: wall, roof (a triangle), a door in the middle, two windows.
    for _ in range(_N_HOUSES):
        has = p.coin(0.6) & keep["house"]
        x0, w = p.uniform(0.03, 0.72), p.uniform(0.18, 0.28)
        hh = p.uniform(0.13, 0.22)
        base = horizon + p.uniform(0.04, 0.2)
        rh = p.uniform(0.07, 0.13)
        x1, top = x0 + w, base - hh
        wall = (x >= col(x0)) & (x < col(x1)) & (y >= col(top)) & (y < col(base)) & col(has)
        # Roof: |x - mid| / half_width + (top - y) / rh < 1, above the wall top.
        mid, half = x0 + w / 2, w / 2 + 0.025
        roof = (torch.abs(x - col(mid)) / col(half) + (col(top) - y) / col(rh) < 1) & (y < col(top))
        roof &= col(has)
        _paint(img, lab, wall, p.color(SCENE_PALETTE[_L["house"]], 0.1), _L["house"])
        _paint(img, lab, roof, p.color(SCENE_PALETTE[_L["roof"]], 0.1), _L["roof"])
        door_w, door_h = 0.2 * w, 0.5 * hh
        door = (torch.abs(x - col(mid)) < col(door_w / 2)) & (y >= col(base - door_h)) & wall
        _paint(img, lab, door, p.color(SCENE_PALETTE[_L["door"]], 0.06), _L["door"])
        win = 0.2 * w
        wy = top + 0.2 * hh
        for fx in (0.22, 0.78):
            has_win = p.coin(0.85)
            wx = x0 + fx * w
            window = (torch.abs(x - col(wx)) < col(win / 2)) & (y >= col(wy)) & (y < col(wy + win))
            _paint(
                img,
                lab,
                window & wall & col(has_win),
                p.color(SCENE_PALETTE[_L["window"]], 0.05),
                _L["window"],
            )

    # Trees: a trunk and a round crown, in front of the houses.
    for _ in range(_N_TREES):
        has = p.coin(0.6) & keep["tree"]
        tx = p.uniform(0.05, 0.95)
        base = horizon + p.uniform(0.03, 0.33)
        tw, th = p.uniform(0.025, 0.045), p.uniform(0.07, 0.14)
        r = p.uniform(0.06, 0.11)
        top = base - th
        trunk = (
            (torch.abs(x - col(tx)) < col(tw / 2)) & (y >= col(top)) & (y < col(base)) & col(has)
        )
        crown_y = top - 0.6 * r
        crown = ((x - col(tx)) ** 2 + ((y - col(crown_y)) / 1.15) ** 2 < col(r) ** 2) & col(has)
        _paint(img, lab, trunk, p.color(SCENE_PALETTE[_L["trunk"]], 0.06), _L["trunk"])
        _paint(img, lab, crown, p.color(SCENE_PALETTE[_L["tree"]], 0.08), _L["tree"])

    if noise > 0 and n:
        tex = torch.stack([torch.randn(3, size, size, generator=g) for g in gens])
        img.add_(noise * tex)
    return SceneBatch(images=img.clamp_(0, 1), labels=lab, seeds=seeds)


def colorize_labels(
    labels: Tensor, palette: Sequence[tuple[int, int, int]] = SCENE_PALETTE
) -> Tensor:
    """Map a label map ``(..., H, W)`` int to display colours ``(..., 3, H, W)`` in [0, 1]."""
    pal = torch.tensor(palette, dtype=torch.float32, device=labels.device) / 255.0
    rgb = pal[labels.clamp(0, len(palette) - 1)]  # (..., H, W, 3)
    return rgb.movedim(-1, -3)


@dataclass(frozen=True)
class SceneSettings:
    """Settings of ``ganscope data scenes`` (:func:`write_scenes`).

    Attributes:
        count: number of scenes.
        seed: first seed; scenes are seed..seed+count-1.
        size: image height and width in pixels.
    """

    count: int = 1000
    seed: int = 0
    size: int = 64


def scenes_summary(info: dict[str, Any], settings: SceneSettings, out: str | Path) -> str:
    """The line ``ganscope data scenes`` prints for :func:`write_scenes`'s ``labels.json``."""
    n, size = settings.count, settings.size
    return f"wrote {n} scenes ({size}x{size}, {len(info['labels'])} labels) to {out}"


@locks_output
def write_scenes(
    out: str | Path,
    *,
    count: int,
    seed: int = 0,
    size: int = 64,
    batch_size: int = 256,
    without: Collection[str] = (),
) -> dict[str, Any]:
    """Render scenes ``seed .. seed + count - 1`` into a folder.

    Layout: ``out/images/sceneSSSSSS.png`` (RGB), ``out/masks/sceneSSSSSS.png`` (palette PNG whose
    pixel values are label indices, displayed in :data:`SCENE_PALETTE` colours), ``out/labels.json``
    (label names, palette, per-label pixel fractions) and ``out/config.json``. Train a GAN on
    ``out/images`` (the masks folder would otherwise be read as images). ``without`` leaves
    objects out (see :func:`render_scenes`).

    Returns:
        The ``labels.json`` content.
    """
    from PIL import Image

    from ganscope import __version__
    from ganscope.io import atomic_path, save_png, write_json

    if count < 1:
        raise GanscopeError(f"--count must be at least 1, got {count}")
    if size < 16:
        raise GanscopeError(f"--size must be at least 16, got {size}")
    out = Path(out)
    flat_palette = [v for rgb in SCENE_PALETTE for v in rgb]
    pixels = torch.zeros(len(SCENE_LABELS), dtype=torch.float64)
    seeds = list(range(seed, seed + count))
    with progress_bar(count, "rendering scenes") as bar:
        for start in range(0, count, batch_size):
            batch = render_scenes(seeds[start : start + batch_size], size=size, without=without)
            pixels += torch.bincount(batch.labels.flatten(), minlength=len(SCENE_LABELS)).double()
            for s, image, label in zip(batch.seeds, batch.images, batch.labels, strict=True):
                name = f"scene{s:06d}.png"
                save_png(out / "images" / name, image)
                mask = Image.fromarray(label.to(torch.uint8).numpy(), mode="P")
                mask.putpalette(flat_palette)
                with atomic_path(out / "masks" / name, suffix=".png") as tmp:
                    mask.save(tmp, format="PNG")
            bar.advance(len(batch.seeds))
    info = {
        "labels": list(SCENE_LABELS),
        "palette": [list(c) for c in SCENE_PALETTE],
        "pixel_fraction": dict(zip(SCENE_LABELS, (pixels / pixels.sum()).tolist(), strict=True)),
        "images": "images",
        "masks": "masks",
    }
    write_json(out / "labels.json", info)
    write_json(
        out / "config.json",
        {
            "command": "data scenes",
            "count": count,
            "seed": seed,
            "size": size,
            "without": sorted(without),
            "ganscope_version": __version__,
        },
    )
    return info
