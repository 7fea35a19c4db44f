"""``ganscope data``: datasets ganscope makes itself (the built-in photo corpus, ...)."""

from __future__ import annotations

import typer

data_app = typer.Typer(help="Make the built-in datasets.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``data`` group to the root app."""
    app.add_typer(data_app, name="data")
