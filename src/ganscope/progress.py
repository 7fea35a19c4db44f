"""Progress bars for long work, switched on by the CLI.

Library code reports progress through :func:`progress_bar`; it draws nothing unless the CLI has
called :func:`enable` (and ``--quiet`` was not given), so library users and tests see no output.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

_enabled = False


def enable(on: bool = True) -> None:
    """Turn progress bars on or off for this process."""
    global _enabled
    _enabled = on


def is_enabled() -> bool:
    return _enabled


class _Bar:
    def __init__(self, progress: Any | None, task: Any | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, n: float = 1, **fields: Any) -> None:
        """Advance by ``n`` steps; ``fields`` (e.g. losses) are shown beside the bar."""
        if self._progress is not None:
            info = "  ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items()
            )
            self._progress.update(self._task, advance=n, info=info)

    def set_total(self, total: float | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


@contextlib.contextmanager
def progress_bar(total: float | None, description: str, *, completed: float = 0) -> Iterator[_Bar]:
    """A rich progress bar on stderr when enabled, otherwise a silent stand-in.

    Args:
        total: number of steps, or ``None`` when unknown.
        description: a few words shown left of the bar.
        completed: steps already done (a resumed job starts its bar there).
    """
    if not _enabled:
        yield _Bar(None, None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(file=sys.stderr)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total, completed=completed, info="")
        yield _Bar(progress, task)
