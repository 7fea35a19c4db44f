"""Stage cache of a study folder: each finished stage leaves ``stages/<name>.json``; a rerun
loads it instead of recomputing, so an interrupted study continues where it stopped."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganscope.errors import GanscopeError
from ganscope.io.writers import write_json

log = logging.getLogger("ganscope")


class StageCache:
    """Results of the stages of one study, keyed by stage name.

    The study's settings are written to ``study_settings.json`` on the first run; a rerun with
    different settings into the same folder is refused (mixing them would corrupt the results).
    """

    def __init__(self, root: str | Path, settings: dict[str, Any]) -> None:
        self.root = Path(root)
        self.stages = self.root / "stages"
        self.stages.mkdir(parents=True, exist_ok=True)
        path = self.root / "study_settings.json"
        settings = json.loads(json.dumps(settings))  # normalize tuples, numbers
        if path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved != settings:
                changed = sorted(
                    k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k)
                )
                raise GanscopeError(
                    f"{self.root} holds a study with other settings ({', '.join(changed)}); "
                    "use another --out folder"
                )
            self.resumed = any(self.stages.glob("*.json"))
        else:
            write_json(path, settings)
            self.resumed = False

    def _path(self, name: str) -> Path:
        return self.stages / f"{name}.json"

    def done(self, name: str) -> bool:
        return self._path(name).exists()

    def load(self, name: str) -> Any:
        return json.loads(self._path(name).read_text(encoding="utf-8"))

    def save(self, name: str, result: Any) -> None:
        write_json(self._path(name), result)

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """Return the cached result of stage ``name`` or compute, save and return it."""
        if self.done(name):
            log.debug("stage %s: cached", name)
            return self.load(name)
        result = fn()
        self.save(name, result)
        return result
