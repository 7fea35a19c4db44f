"""The root typer app and the options shared by every subcommand (device, verbosity).

**Help at any width.** Help is rendered by click's plain formatter (``rich_markup_mode=None``), not
by rich: rich draws a box at 80 columns in a pipe or CI and cuts long words with "…", which hid
most of ``--upsample``'s choices. click wraps at the terminal width and never drops a word, and
every option with a fixed set of values is an Enum or a click Choice whose values are listed.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any

import typer

from ganscope import __version__, progress
from ganscope.devices import resolve_device as resolve_device  # re-exported for the commands
from ganscope.io.paths import echo_lossless as echo_lossless
from ganscope.settings import attribute_help

app = typer.Typer(
    name="ganscope",
    no_args_is_help=True,
    add_completion=False,
    help="Look into generated images and into the generators that make them.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
Opt = typer.Option


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ganscope {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, Opt("--version", callback=_version_callback, is_eager=True, help="Print the version.")
    ] = False,
    quiet: Annotated[bool, Opt("--quiet", "-q", help="No progress bars, warnings only.")] = False,
    verbose: Annotated[bool, Opt("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", force=True)
    progress.enable(not quiet)


DEVICE_HELP = "auto (cuda if available, else cpu), cpu, cuda or cuda:N."
DeviceOption = Annotated[str, Opt("--device", metavar="DEVICE", help=DEVICE_HELP)]


def config_options(
    cls: type,
    *,
    skip: Iterable[str] = (),
    choices: Mapping[str, Iterable[str]] | None = None,
    parsers: Mapping[str, tuple[Callable[[str], Any], Callable[[Any], str]]] | None = None,
    help: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command one option per field of the dataclass ``cls`` (``--field-name``, help from
    the ``Attributes:`` docstring, the field's default) and pass it ``config=cls(...)``: a new
    setting is a new field, documented once, and every command built on ``cls`` offers it.

    Args:
        skip: fields the command does not offer (they keep their defaults).
        choices: field -> its valid values (e.g. a registry): an Enum option listing them.
        parsers: field -> ``(parse, format)`` for values typed as text (``--betas 0,0.9``); an
            unset optional value stays ``None``.
        help: field -> help text, where not the docstring's.
    """
    choices, parsers, skipped = dict(choices or {}), dict(parsers or {}), set(skip)

    def wrap(command: Callable[..., None]) -> Callable[..., None]:
        hints, docs = typing.get_type_hints(cls), {**attribute_help(cls), **(help or {})}
        own = typing.get_type_hints(command, localns={cls.__name__: cls}, include_extras=True)
        params = [
            p.replace(annotation=own[p.name])
            for p in inspect.signature(command).parameters.values()
            if p.name != "config"
        ]
        names: list[str] = []
        for f in dataclasses.fields(cls):
            if f.name in skipped or f.default_factory is not dataclasses.MISSING:
                continue
            flag, typ, default = "--" + f.name.replace("_", "-"), hints[f.name], f.default
            if typ is bool:
                flag = f"{flag}/--no-{flag[2:]}"
            if f.name in choices:
                typ = choice_enum(f.name.title().replace("_", ""), choices[f.name])
            if f.name in parsers:
                typ = str
                if default not in (None, dataclasses.MISSING):
                    default = parsers[f.name][1](default)
            text = docs.get(f.name, "").replace("``", "")
            if not re.match(r"[\w+-]+: ", text):  # "cnn: ..." names what the option is for
                text = text[:1].upper() + text[1:]
            option = typer.Option(flag, help=text, show_default=True)
            default = inspect.Parameter.empty if default is dataclasses.MISSING else default
            params.append(
                inspect.Parameter(
                    f.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=default,
                    annotation=Annotated[typ, option],
                )
            )
            names.append(f.name)

        @functools.wraps(command)
        def run(**kwargs: Any) -> None:
            settings = {n: kwargs.pop(n) for n in names}
            for n, v in settings.items():
                if n in parsers and v is not None:  # None: an optional value left unset
                    settings[n] = parsers[n][0](v)
                elif isinstance(v, StrEnum):
                    settings[n] = v.value
            return command(config=cls(**settings), **kwargs)

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return wrap


def choice_enum(name: str, values: Iterable[str]) -> type[StrEnum]:
    """A ``StrEnum`` of ``values`` (e.g. the names in a registry), for a typer option: click
    then refuses a typo with one line naming every valid value, and ``--help`` lists them."""
    return StrEnum(name, {v: v for v in values})  # type: ignore[return-value]
