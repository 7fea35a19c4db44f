"""The shipped pretrained zoo: generators trained once, offline, on the built-in corpus.

Each entry is a folder ``assets/zoo/<name>/`` in the format of a training run's ``generator/``
folder (``model.safetensors`` + ``config.json``, weights stored in float16), plus:

- ``quality.json``: :class:`ganscope.generators.QualityReport` of 500 samples against held-out
  built-in crops, each number beside its real-vs-real value;
- ``samples.png``: 64 samples on seeds 0–63;
- ``config.json["zoo"]``: name, family, upsampler, steps and how the training data was made.

``scripts/make_zoo.py`` rebuilds every entry (resumable; ``--device cuda`` when a GPU is at hand).
This module is only the catalogue: it reads folders and JSON and imports no model code, so the
generator loader can resolve ``zoo:NAME`` through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganscope.errors import GanscopeError

__all__ = [
    "ZOO_DIR",
    "ZOO_PREFIX",
    "ZooEntry",
    "resolve_generator",
    "zoo_entries",
    "zoo_entry",
    "zoo_json",
    "zoo_table",
]

ZOO_DIR = Path(__file__).resolve().parent.parent / "assets" / "zoo"
"""Where the shipped generators live (inside the installed package)."""

ZOO_PREFIX = "zoo:"
"""``zoo:NAME`` names a shipped generator wherever a run folder is accepted."""


@dataclass
class ZooEntry:
    """One shipped generator.

    Attributes:
        name: the zoo name (``zoo:<name>``).
        family: registered generator family.
        upsampler: registered upsampler of its 2x blocks.
        size: image side.
        steps: training steps.
        path: its folder.
        quality: its quality numbers (``quality.json``; empty if missing).
        extra: anything else ``config.json["zoo"]`` records (spectral fix, data recipe).
    """

    name: str
    family: str
    upsampler: str
    size: int
    steps: int
    path: Path
    quality: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The ``zoo list --json`` row."""
        q = self.quality
        return {
            "name": self.name,
            "family": self.family,
            "upsampler": self.upsampler,
            "size": self.size,
            "steps": self.steps,
            "swd": q.get("swd"),
            "diversity": q.get("diversity"),
            "near_duplicates": q.get("near_duplicates"),
            "nn_ratio": q.get("nn_ratio"),
            "precision": q.get("precision"),
            "recall": q.get("recall"),
            "healthy": q.get("healthy"),
            **{k: v for k, v in self.extra.items() if k in ("variant", "spectral_fix")},
        }


def _read_entry(folder: Path) -> ZooEntry | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    meta = config.get("zoo", {})
    settings = config.get("settings", {})
    quality: dict[str, Any] = {}
    qpath = folder / "quality.json"
    if qpath.exists():
        try:
            quality = json.loads(qpath.read_text(encoding="utf-8"))
        except ValueError:
            quality = {}
    return ZooEntry(
        name=folder.name,
        family=config.get("family", "dcgan"),
        upsampler=settings.get("upsample", "?"),
        size=int(settings.get("size", 0)),
        steps=int(config.get("step", 0)),
        path=folder,
        quality=quality,
        extra=meta,
    )


def zoo_entries(root: Path | None = None) -> list[ZooEntry]:
    """Every shipped generator, sorted by name (an empty list if none is shipped)."""
    root = ZOO_DIR if root is None else root
    if not root.is_dir():
        return []
    found = (_read_entry(p) for p in sorted(root.iterdir()) if (p / "model.safetensors").exists())
    return [e for e in found if e is not None]


def zoo_entry(name: str, root: Path | None = None) -> ZooEntry:
    """The shipped generator ``name`` (with or without the ``zoo:`` prefix).

    Raises:
        GanscopeError: no such entry (the message lists the shipped names).
    """
    name = name.removeprefix(ZOO_PREFIX)
    entries = {e.name: e for e in zoo_entries(root)}
    if name not in entries:
        shipped = ", ".join(entries) or "none shipped"
        raise GanscopeError(f"no zoo generator {name!r}; the zoo has: {shipped}")
    return entries[name]


def zoo_json(entries: list[ZooEntry]) -> str:
    """``ganscope zoo list --json``: ``[{"name", "family", "upsampler", "size", ...}]``."""
    return json.dumps([e.summary() for e in entries], indent=2)


def zoo_table(entries: list[ZooEntry]) -> str:
    """Name, family, upsampler, size, steps and quality of each entry, as aligned text."""
    if not entries:
        return "the zoo is empty: scripts/make_zoo.py builds it"
    cols = ("name", "family", "upsampler", "size", "steps", "swd", "diversity", "precision",
            "recall", "healthy")  # fmt: skip

    def fmt(v: object) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    rows = [[fmt(e.summary().get(c)) for c in cols] for e in entries]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
        for r in [list(cols), *rows]
    )


def resolve_generator(spec: str | Path) -> Path:
    """``zoo:NAME`` → the entry's folder (unless a folder of that name exists); anything else is
    returned as a path."""
    text = str(spec)
    if text.startswith(ZOO_PREFIX) and not Path(text).exists():
        return zoo_entry(text).path
    return Path(spec)
