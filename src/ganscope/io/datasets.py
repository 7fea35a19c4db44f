"""Real/fake dataset layouts.

Two layouts are understood:

1. Flat folders: ``--real DIR --fake DIR [--fake DIR ...]``. A fake source is named after its
   folder (after the folder's parent when the folder itself is called ``1_fake``).
2. CNNDetection-style trees (Wang et al. 2020): any folder that contains ``0_real`` and
   ``1_fake`` folders, possibly nested per generator and per class
   (``test/progan/airplane/1_fake``). Each ``1_fake`` folder is one source named by the path of
   its parent relative to the tree's root (``progan/airplane``; the root's own name when
   ``1_fake`` sits directly in it), and every ``0_real`` folder of a tree given as ``--fake`` joins
   the real set, so ``--real`` may be omitted for such trees at the library level.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ganscope.errors import GanscopeError
from ganscope.io.folders import list_images

REAL_DIR = "0_real"
FAKE_DIR = "1_fake"


@dataclass
class LabeledSet:
    """Image paths with labels: ``real`` (label 0) and fake sources (label 1) by name."""

    real: list[Path] = field(default_factory=list)
    fakes: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def n_fake(self) -> int:
        return sum(len(v) for v in self.fakes.values())

    def all_fake(self) -> list[Path]:
        return [p for v in self.fakes.values() for p in v]


def _find_named_dirs(root: Path, name: str) -> list[Path]:
    out = []
    for cur, dirs, _ in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if Path(cur).name == name:
            out.append(Path(cur))
    return sorted(out, key=str)


def is_cnndetection_tree(root: Path) -> bool:
    """Whether ``root`` contains (at any depth) a ``1_fake`` folder, and is not one itself."""
    return root.is_dir() and root.name != FAKE_DIR and bool(_find_named_dirs(root, FAKE_DIR))


def fake_source_name(folder: Path) -> str:
    """The source name of a flat fake folder: its name, or its parent's if it is ``1_fake``."""
    folder = folder.resolve() if folder.name in ("", ".", "..") else folder
    return folder.parent.name if folder.name == FAKE_DIR else folder.name


def _unique(name: str, taken: dict[str, list[Path]]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name}-{k}" in taken:
        k += 1
    return f"{name}-{k}"


def load_labeled(real: Sequence[str | Path], fake: Sequence[str | Path]) -> LabeledSet:
    """Resolve ``--real`` and ``--fake`` arguments into a :class:`LabeledSet`.

    Raises:
        GanscopeError: a folder is missing or holds no images, or no fake source was given.
    """
    out = LabeledSet()
    real_files: list[Path] = []
    for r in real:
        r = Path(r)
        if not r.exists():
            raise GanscopeError(f"real folder not found: {r}")
        if is_cnndetection_tree(r) or (_find_named_dirs(r, REAL_DIR) and r.name != REAL_DIR):
            dirs = _find_named_dirs(r, REAL_DIR)
            if not dirs:
                raise GanscopeError(f"{r} is a 0_real/1_fake tree without any 0_real folder")
            real_files.extend(list_images(dirs))
        else:
            real_files.extend(list_images([r]))
    for f in fake:
        f = Path(f)
        if not f.exists():
            raise GanscopeError(f"fake folder not found: {f}")
        if is_cnndetection_tree(f):
            for d in _find_named_dirs(f, FAKE_DIR):
                rel = d.parent.relative_to(f)
                name = f.resolve().name if str(rel) == "." else rel.as_posix()
                out.fakes[_unique(name, out.fakes)] = list_images([d])
            reals = _find_named_dirs(f, REAL_DIR)
            if reals:
                real_files.extend(list_images(reals))
        else:
            out.fakes[_unique(fake_source_name(f), out.fakes)] = list_images([f])
    if not out.fakes:
        raise GanscopeError("no fake source given")
    out.real = list(dict.fromkeys(real_files))
    return out
