"""Shared CLI options: output checks, device names, choices, lossless printing."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
import torch

from ganscope.cli.options import choice_enum, echo_lossless, resolve_device
from ganscope.errors import GanscopeError
from ganscope.io.paths import writable_parent
from ganscope.settings import positive


def test_writable_parent(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.json").mkdir()
    writable_parent(tmp_path / "new" / "deeper", folder=True)  # may be created
    writable_parent(tmp_path / "new.json", folder=False)
    with pytest.raises(GanscopeError, match="existing file, not a folder"):
        writable_parent(tmp_path / "file", folder=True)
    with pytest.raises(GanscopeError, match="existing folder"):
        writable_parent(tmp_path / "dir.json")  # guessed from the suffix
    with pytest.raises(GanscopeError, match="is a file, not a folder"):
        writable_parent(tmp_path / "file" / "x.json")


def test_resolve_device() -> None:
    assert resolve_device("CPU") == torch.device("cpu")
    for bad in ("gpu", "cuda:x", "cuda:-1"):
        with pytest.raises(GanscopeError, match="auto, cpu, cuda or cuda:N"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:0"):
            with pytest.raises(GanscopeError, match="no CUDA device"):
                resolve_device(name)


def test_choice_enum_and_positive() -> None:
    E = choice_enum("E", ["a-b", "c"])
    assert [e.value for e in E] == ["a-b", "c"] and E("c") == "c"
    positive(None, "--x")
    positive(0, "--x", minimum=0)
    with pytest.raises(GanscopeError, match="--x must be at least 1, not 0"):
        positive(0, "--x")


def test_echo_lossless_writes_the_name_bytes(monkeypatch) -> None:
    raw = io.BytesIO()
    strict = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")  # PYTHONIOENCODING=utf-8
    monkeypatch.setattr(sys, "stdout", strict)
    echo_lossless("0.5\treal\t" + os.fsdecode(b"a\xe9.png"))
    assert raw.getvalue() == b"0.5\treal\ta\xe9.png\n"


def test_config_options_turn_every_field_into_an_option():
    import dataclasses

    import typer
    from typer.testing import CliRunner

    from ganscope.cli.options import config_options
    from ganscope.settings import attribute_help

    @dataclasses.dataclass
    class Toy:
        """A toy config.

        Attributes:
            name: what to call it.
            count, depth: two numbers
                with one help.
            loud: shout.
        """

        name: str
        count: int = 3
        depth: int = 1
        loud: bool = False
        pair: tuple[float, float] = (0.5, 0.9)
        kind: str = "a"

    assert attribute_help(Toy)["depth"] == "two numbers with one help."
    seen = []
    app = typer.Typer()

    @app.command()
    @config_options(
        Toy,
        choices={"kind": ("a", "b")},
        skip=("depth",),
        parsers={
            "pair": (lambda t: tuple(map(float, t.split(","))), lambda p: ",".join(map(str, p)))
        },
    )
    def run(config: Toy, extra: int = 0) -> None:
        seen.append((config, extra))

    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "--name",
            "x",
            "--count",
            "5",
            "--loud",
            "--pair",
            "0,0.99",
            "--kind",
            "b",
            "--extra",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen == [(Toy("x", 5, 1, True, (0.0, 0.99), "b"), 2)]
    assert runner.invoke(app, ["--name", "x", "--kind", "c"]).exit_code == 2
    assert runner.invoke(app, ["--name", "x", "--depth", "2"]).exit_code == 2  # skipped field
    assert runner.invoke(app, ["--count", "2"]).exit_code == 2  # --name is required
    text = runner.invoke(app, ["--help"], terminal_width=200).output
    assert "--depth" not in text and "What to call it." in text and "Two numbers" in text


def test_config_options_parse_required_and_unset_optional_text_values():
    import dataclasses

    import typer
    from typer.testing import CliRunner

    from ganscope.cli.options import config_options

    @dataclasses.dataclass
    class Edit:
        """An edit.

        Attributes:
            units: comma-separated numbers.
            box: an optional pair.
        """

        units: list[int]
        box: tuple[int, int] | None = None

    def numbers(text: str) -> list[int]:
        return [int(t) for t in text.split(",")]

    seen = []
    app = typer.Typer()

    @app.command()
    @config_options(Edit, parsers={"units": (numbers, str), "box": (numbers, str)})
    def run(config: Edit) -> None:
        seen.append(config)

    runner = CliRunner()
    assert runner.invoke(app, ["--units", "1,2"]).exit_code == 0
    assert runner.invoke(app, ["--units", "3", "--box", "4,5"]).exit_code == 0
    assert seen == [Edit([1, 2], None), Edit([3], [4, 5])]  # an unset box is never parsed
    assert runner.invoke(app, []).exit_code == 2  # --units is required
