"""CLI exit codes: 0 ok, 2 bad input with one line, per DESIGN.md."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ganscope import __version__
from ganscope.cli import main


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"ganscope {__version__}"


def test_help_lists_groups(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "data" in out


def test_builtin_writes_and_is_deterministic(tmp_path, capsys):
    code, _, _ = run(
        ["-q", "data", "builtin", "--out", str(tmp_path / "c"), "--count", "5", "--size", "16"],
        capsys,
    )
    assert code == 0
    assert len(list((tmp_path / "c").glob("*.png"))) == 5


def test_unknown_option_is_usage_error(capsys):
    code, _, err = run(["data", "builtin", "--bogus"], capsys)
    assert code == 2 and "bogus" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    code, _, err = run(["-q", "data", "builtin", "--out", str(ro / "x"), "--count", "2"], capsys)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_unwritable_output_as_file_in_the_way(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    code, _, err = run(
        ["-q", "data", "builtin", "--out", str(blocker / "x"), "--count", "2"], capsys
    )
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_module_entry_point_bad_input_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganscope",
            "data",
            "builtin",
            "--out",
            str(tmp_path),
            "--size",
            "5000",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.strip().startswith("error:")
