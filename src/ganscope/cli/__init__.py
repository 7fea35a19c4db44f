"""The ``ganscope`` command line: a thin typer app that parses, calls the library and prints.

Exit codes (DESIGN.md): 0 success; 2 bad usage or bad input, with a one-line reason and no
traceback; 1 a bug (the traceback is shown so it can be reported).
"""

from __future__ import annotations

import sys

import typer

from ganscope.cli import data, detector, dissect, gan, spectrum
from ganscope.cli.options import app
from ganscope.errors import GanscopeError

for _module in (data, spectrum, gan, detector, dissect):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``ganscope`` script."""
    try:
        app(args=argv, prog_name="ganscope", standalone_mode=False)
    except GanscopeError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except typer.Exit as ex:
        sys.exit(ex.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as err:  # click's own usage errors carry their exit code
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise
    sys.exit(0)


__all__ = ["app", "main"]
