"""``ganscope zoo``: the shipped pretrained generators and their quality numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

zoo_app = typer.Typer(
    help="The shipped pretrained generators (sample one with `gan sample zoo:NAME`).",
    no_args_is_help=True,
)


def _fmt(value: object, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec) if isinstance(value, float) else str(value)


@zoo_app.command("list")
def list_(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of the entries instead.")
    ] = False,
) -> None:
    """Name, family, upsampler, steps and quality (SWD, diversity, precision, recall) of each."""
    from ganscope.zoo import zoo_entries

    rows = [e.summary() for e in zoo_entries()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("the zoo is empty: scripts/make_zoo.py builds it")
        return
    cols = (
        "name",
        "family",
        "upsampler",
        "size",
        "steps",
        "swd",
        "diversity",
        "precision",
        "recall",
        "healthy",
    )
    table = [[_fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for t in table:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)))


@zoo_app.command("path")
def path(name: Annotated[str, typer.Argument(help="Zoo name (with or without zoo:).")]) -> None:
    """Print the folder of a shipped generator (its samples.png and quality.json are there)."""
    from ganscope.zoo import zoo_entry

    typer.echo(str(Path(zoo_entry(name).path)))


def register(app: typer.Typer) -> None:
    """Add the ``zoo`` group to the root app."""
    app.add_typer(zoo_app, name="zoo")
