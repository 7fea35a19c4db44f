"""Stage cache of a study folder, keyed by what each stage reads.

Each finished stage leaves ``stages/<name>.json``: its result, the time it took, and a **key**, a
SHA-256 of the stage's name, the settings it reads, ganscope's version and the keys of the stages
whose outputs it reads. A rerun reuses a stage whose key is unchanged and recomputes one whose key
moved, so changing one setting re-runs the stages that read it and those downstream of them, and
nothing else (the scheme of build systems such as DVC or Bazel: a stage is identified by its
inputs, not by its name). A setting no stage reads changes no key: adding a profile field does not
invalidate an existing study folder.

A stage may also write files (its ``outputs``: generator runs, sampled images, saved detectors).
They are removed before the stage is recomputed under another key, so a GAN run never resumes
from a checkpoint trained with other settings; an interrupted stage with the *same* key keeps them
(GAN training resumes from its checkpoints).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ganscope import __version__
from ganscope.errors import GanscopeError
from ganscope.io.writers import write_json

log = logging.getLogger("ganscope")


def stage_key(name: str, settings: Mapping[str, Any], after: Mapping[str, str]) -> str:
    """The cache key of stage ``name``: a hash of the settings it reads, ganscope's version and
    the keys of its upstream stages (``after``: stage name -> key)."""
    blob = json.dumps(
        {"stage": name, "version": __version__, "settings": settings, "after": dict(after)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class StageCache:
    """Results of the stages of one study folder (``root/stages/<name>.json``).

    Attributes:
        keys: stage name -> key of every stage run (or reused) through this cache so far.
        computed: names of the stages computed (not reused) through this cache, in order.
        seconds: stage name -> seconds the stage took when it was computed.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.stages = self.root / "stages"
        self.stages.mkdir(parents=True, exist_ok=True)
        self.keys: dict[str, str] = {}
        self.computed: list[str] = []
        self.seconds: dict[str, float] = {}

    def _path(self, name: str) -> Path:
        return self.stages / f"{name}.json"

    def _record(self, name: str) -> dict[str, Any] | None:
        path = self._path(name)
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # unreadable: recompute
        # A folder of an older ganscope stored the bare result: no key, so recomputed.
        return record if isinstance(record, dict) and "key" in record else None

    def _clear(self, outputs: Iterable[Path]) -> None:
        root = self.root.resolve()
        for path in outputs:
            path = Path(path)
            if not path.resolve().is_relative_to(root):
                raise GanscopeError(f"stage output {path} lies outside the study folder {root}")
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def run(
        self,
        name: str,
        fn: Callable[[], Any],
        *,
        settings: Mapping[str, Any] | None = None,
        after: Iterable[str] = (),
        outputs: Iterable[Path] = (),
    ) -> Any:
        """Return the cached result of stage ``name`` if its key is unchanged, else compute it.

        Args:
            name: the stage's name (its file in ``stages/``).
            fn: computes the result (JSON-serializable).
            settings: every setting ``fn`` reads (JSON-serializable).
            after: names of the stages (run before through this cache) whose outputs ``fn``
                reads.
            outputs: files and folders ``fn`` writes, inside the study folder; removed before a
                recomputation under a new key.
        """
        settings = json.loads(json.dumps(dict(settings or {}), default=str))
        key = stage_key(name, settings, {a: self.keys[a] for a in after})
        self.keys[name] = key
        record = self._record(name)
        if record is not None and record["key"] == key and record.get("complete"):
            log.debug("stage %s: cached", name)
            return record["result"]
        if record is None or record["key"] != key:
            # Another key (or none): what the stage wrote before belongs to other settings.
            self._clear(outputs)
        write_json(self._path(name), {"key": key, "settings": settings, "complete": False})
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        write_json(
            self._path(name),
            {"key": key, "settings": settings, "complete": True, "seconds": seconds,
             "result": result},
        )  # fmt: skip
        self.computed.append(name)
        self.seconds[name] = seconds
        # Read back, so that a computed and a cached result are the same JSON values.
        return json.loads(self._path(name).read_text(encoding="utf-8"))["result"]

    def timings(self) -> dict[str, float]:
        """Seconds of every stage run through this cache, as it took when it was computed."""
        out = {}
        for name in self.keys:
            record = self._record(name)
            if record is not None and "seconds" in record:
                out[name] = float(record["seconds"])
        return out
