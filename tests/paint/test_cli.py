"""``ganscope paint``: opening a run folder (with or without shipped units), bad usage, the host
warning."""

from __future__ import annotations

import json
import logging

import pytest

from ganscope.checkpoint import save_checkpoint
from ganscope.cli import main
from ganscope.paint import PAINT_UNITS_FILE, generator_folder, is_loopback, open_painter

from .conftest import tiny_generator, tiny_units


@pytest.fixture
def run(tmp_path):
    G = tiny_generator()
    folder = tmp_path / "run" / "generator"
    save_checkpoint(
        folder,
        G.state_dict(),
        {"class": type(G).__name__, "family": "dcgan", "settings": G.settings()},
    )
    return tmp_path / "run"


def _exit(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    captured = capsys.readouterr()
    return exc.value.code, captured.err, captured.out


def test_open_painter_reads_shipped_units(run):
    tiny_units().save(run / "generator" / PAINT_UNITS_FILE)
    assert generator_folder(run) == run / "generator"
    session = open_painter(run)
    assert session.painter.concepts == ["tree", "grass"]
    assert session.units_source.endswith(PAINT_UNITS_FILE)
    assert session.name == "run"
    assert session.painter.size == 32


def test_open_painter_searches_units_when_none_ship(run, caplog):
    with caplog.at_level(logging.WARNING, logger="ganscope"):
        session = open_painter(run, search_samples=8, search_steps=0)
    assert "no paint_units.json" in caplog.text
    assert session.units_source == "searched at start-up"
    assert session.painter.concepts  # some concept of the scene segmenter has units


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["paint", "/nonexistent/run"], "no trained generator"),
        (["paint", "zoo:nope"], "zoo"),
        (["paint", "RUN", "--port", "0"], "--port"),
        (["paint", "RUN", "--units", "/nonexistent.json"], "units file not found"),
        (["paint", "RUN", "--segmenter", "nope"], "--segmenter must be"),
    ],
)
def test_bad_usage_is_one_line_exit_2(run, capsys, argv, match):
    argv = [str(run) if a == "RUN" else a for a in argv]
    code, err, _ = _exit(argv, capsys)
    assert code == 2
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_serve_painter_says_what_it_serves_then_serves(run, monkeypatch):
    from ganscope.paint import PaintSettings, app

    tiny_units().save(run / "generator" / PAINT_UNITS_FILE)
    served, lines = [], []
    monkeypatch.setattr(app, "serve", lambda session, **kw: served.append((session, kw)))
    settings = PaintSettings(port=9000, host="::1")
    app.serve_painter(run, settings, echo=lines.append)
    assert lines == [
        f"GAN Paint: run (32x32), concepts tree, grass; units from "
        f"{run / 'generator' / PAINT_UNITS_FILE}",
        "open http://[::1]:9000/  (Ctrl+C stops)",
    ]
    ((session, kw),) = served
    assert kw == {"host": "::1", "port": 9000} and session.painter.concepts == ["tree", "grass"]


@pytest.mark.parametrize("port", [0, 65536])
def test_paint_settings_refuse_a_bad_port(port):
    from ganscope.errors import GanscopeError
    from ganscope.paint import PaintSettings

    with pytest.raises(GanscopeError, match=r"--port must be in 1\.\.65535"):
        PaintSettings(port=port)


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.1.2.3") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("example.org")


def test_help_lists_the_options(capsys):
    code, _, out = _exit(["paint", "--help"], capsys)
    assert code == 0
    for option in ("--port", "--host", "--segmenter", "--units", "zoo:NAME", "127.0.0.1"):
        assert option in out


def _find_units_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "find_paint_units.py"
    spec = importlib.util.spec_from_file_location("find_paint_units", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_find_paint_units_script_is_reproducible(run, capsys):
    script = _find_units_script()
    argv = [str(run), "--samples", "8", "--steps", "2", "--concepts", "sky,grass"]
    assert script.main(argv) == 0
    path = run / "generator" / PAINT_UNITS_FILE
    first = json.loads(path.read_text())
    assert script.main(argv) == 0
    second = json.loads(path.read_text())
    for d in (first, second):
        d["settings"].pop("seconds")
    assert first == second  # the same command writes the same units
    assert "wrote" in capsys.readouterr().out
    session = open_painter(run)  # and the painter picks them up
    assert session.units_source == str(path)
    assert script.main(["/nonexistent"]) == 2
