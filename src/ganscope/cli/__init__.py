"""The ``ganscope`` command line: a thin typer app that parses, calls the library and prints.

Exit codes (DESIGN.md): 0 success; 2 bad usage or bad input, with a one-line reason and no
traceback; 1 a bug (the traceback is shown so it can be reported).
"""

from __future__ import annotations

import os
import sys

import typer

try:  # typer >= 0.20 carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions

from ganscope.cli import (
    antialias,
    data,
    detector,
    dissect,
    gan,
    paint,
    seeing,
    spectrum,
    study,
    zoo,
)
from ganscope.cli.options import app, echo_lossless
from ganscope.errors import GanscopeError

for _module in (data, spectrum, gan, detector, dissect, study, paint, seeing, zoo, antialias):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``ganscope`` script.

    A usage error (click's) and a :class:`GanscopeError` from the library become one line on
    stderr and exit 2; anything else is a bug and keeps its traceback (exit 1).
    """
    try:
        code = app(args=argv, prog_name="ganscope", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as err:
        err.show()
        sys.exit(2)
    except click_exceptions.UsageError as err:
        # One line, as for every other bad input (click's own form is four lines).
        hint = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        message = err.format_message().replace("Value error, ", "")  # pydantic's prefix
        echo_lossless(f"error: {message}{hint}", err=True)
        sys.exit(2)
    except click_exceptions.ClickException as err:
        echo_lossless(f"error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except GanscopeError as err:
        echo_lossless(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`ganscope detect DIR | head`): stop quietly, as click would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
