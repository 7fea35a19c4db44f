"""The ``ganscope`` command line: a thin typer app that parses, calls the library and prints.

Exit codes (DESIGN.md): 0 success; 2 bad usage or bad input, with a one-line reason and no
traceback; 1 a bug (the traceback is shown so it can be reported).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

try:  # typer >= 0.20 carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions

from ganscope.cli.options import app as _root_app
from ganscope.cli.options import echo_lossless
from ganscope.errors import GanscopeError

COMMANDS: dict[str, str] = {
    "data": "data:data_app",
    "spectrum": "spectrum:spectrum",
    "gan": "gan:gan_app",
    "zoo": "zoo:zoo_app",
    "detector": "detector:detector_app",
    "detect": "detector:detect",
    "dissect": "dissect:dissect",
    "intervene": "dissect:intervene",
    "scenes-demo": "dissect:scenes_demo",
    "study": "study:study",
    "paint": "paint:paint",
    "seeing": "seeing:seeing_app",
    "antialias": "antialias:antialias_app",
}
"""Top-level command -> ``module:name`` in ``ganscope.cli``: a typer group (``gan``) or a command
function (``detect``). This table is the one registration: ``main`` imports only the module of
the command it runs (``ganscope spectrum`` imports neither the detectors nor the generators);
``--help`` and unknown commands load them all. A test checks that no module defines a command
this table leaves out."""

_registered: set[str] = set()


def load_commands(*modules: str) -> typer.Typer:
    """Register the commands of ``modules`` (all of them when none is named) on the root app and
    return it (``CliRunner().invoke(load_commands(), args)`` tests the whole CLI)."""
    for command, target in COMMANDS.items():
        module, name = target.split(":")
        if (not modules or module in modules) and command not in _registered:
            obj = getattr(importlib.import_module(f"ganscope.cli.{module}"), name)
            if isinstance(obj, typer.Typer):
                _root_app.add_typer(obj, name=command)
            else:
                _root_app.command(command)(obj)
            _registered.add(command)
    return _root_app


def _command_of(argv: list[str]) -> str | None:
    words = [a for a in argv if not a.startswith("-") or a in ("--help", "-h")]
    return words[0] if words and not words[0].startswith("-") else None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``ganscope`` script.

    A usage error (click's) and a :class:`GanscopeError` from the library become one line on
    stderr and exit 2; anything else is a bug and keeps its traceback (exit 1).
    """
    args = sys.argv[1:] if argv is None else argv
    command = _command_of(args)
    load_commands(*([COMMANDS[command].split(":")[0]] if command in COMMANDS else []))
    try:
        code = _root_app(args=args, prog_name="ganscope", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as err:
        err.show()
        sys.exit(2)
    except click_exceptions.UsageError as err:
        # One line, as for every other bad input (click wraps choices and adds "Value error, ").
        hint = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        message = " ".join(err.format_message().replace("Value error, ", "").split())
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


__all__ = ["COMMANDS", "load_commands", "main"]
