"""The root typer app and the options shared by every subcommand (seed, device, verbosity)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import torch
import typer

from ganscope import __version__, progress
from ganscope.errors import GanscopeError

app = typer.Typer(
    name="ganscope",
    help="Look into generated images and into the generators that make them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

log = logging.getLogger("ganscope")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ganscope {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars, warnings only.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", force=True)
    progress.enable(not quiet)


SeedOption = Annotated[
    int, typer.Option("--seed", help="Random seed; the same seed gives the same output.")
]
DeviceOption = Annotated[
    str, typer.Option("--device", help="auto (cuda if available, else cpu), cpu or cuda.")
]


def resolve_device(name: str) -> torch.device:
    """Map ``--device auto|cpu|cuda`` to a torch device; ``cuda`` without a GPU is bad usage."""
    name = name.lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GanscopeError("--device cuda was asked for, but no CUDA device is available")
        return torch.device(name)
    raise GanscopeError(f"--device must be auto, cpu or cuda, not {name!r}")


def require_dirs(paths: list[Path], what: str = "folder") -> None:
    """Exit 2 (through :class:`GanscopeError`) when a path does not exist."""
    for p in paths:
        if not p.exists():
            raise GanscopeError(f"{what} not found: {p}")


def writable_parent(path: Path) -> None:
    """Fail early, with one line, when an output file cannot be created."""
    parent = path.parent if path.suffix else path
    probe = parent
    while not probe.exists():
        probe = probe.parent
    import os

    if not os.access(probe, os.W_OK):
        raise GanscopeError(f"cannot write to {path}: {probe} is not writable")
