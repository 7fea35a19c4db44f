"""``ganscope zoo``: the shipped pretrained generators and their quality numbers."""

from __future__ import annotations

from typing import Annotated

import typer

from ganscope.zoo import zoo_entries, zoo_entry, zoo_json, zoo_table

zoo_app = typer.Typer(
    help="The shipped pretrained generators (sample one with `gan sample zoo:NAME`).",
    no_args_is_help=True,
)


@zoo_app.command("list")
def list_(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of the entries instead.")
    ] = False,
) -> None:
    """Name, family, upsampler, steps and quality (SWD, diversity, precision, recall) of each."""
    entries = zoo_entries()
    typer.echo(zoo_json(entries) if as_json else zoo_table(entries))


@zoo_app.command("path")
def path(name: Annotated[str, typer.Argument(help="Zoo name (with or without zoo:).")]) -> None:
    """Print the folder of a shipped generator (its samples.png and quality.json are there)."""
    typer.echo(str(zoo_entry(name).path))
