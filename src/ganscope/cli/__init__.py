"""The ``ganscope`` command line: a thin typer app that parses, calls the library and prints.

Exit codes (DESIGN.md): 0 success; 2 bad usage or bad input, with a one-line reason and no
traceback; 1 a bug (the traceback is shown so it can be reported).
"""

from __future__ import annotations

import sys

import typer

from ganscope.cli import data, detector, dissect, gan, spectrum, study
from ganscope.cli.options import app
from ganscope.errors import GanscopeError

for _module in (data, spectrum, gan, detector, dissect, study):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``ganscope`` script.

    click handles usage errors itself (exit 2); a :class:`GanscopeError` from the library becomes
    one line on stderr and exit 2; anything else is a bug and keeps its traceback (exit 1).
    """
    try:
        app(args=argv, prog_name="ganscope", standalone_mode=True)
    except GanscopeError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


__all__ = ["app", "main"]
