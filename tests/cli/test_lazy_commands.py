"""``ganscope CMD`` imports only the module of CMD; the table that says which is checked here."""

import contextlib
import json
import subprocess
import sys

import typer

from ganscope.cli import COMMANDS, load_commands, main


def test_command_table_matches_what_each_module_registers():
    import importlib

    for module in set(COMMANDS.values()):
        probe = typer.Typer()
        importlib.import_module(f"ganscope.cli.{module}").register(probe)
        names = {c.name for c in probe.registered_commands} | {
            g.name for g in probe.registered_groups
        }
        assert names == {c for c, m in COMMANDS.items() if m == module}, module
    app = load_commands()
    every = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert every == set(COMMANDS)


def test_running_a_command_imports_only_its_module():
    code = (
        "import sys\n"
        "from ganscope.cli import main\n"
        "try:\n"
        "    main(['-q', 'data', 'builtin', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('ganscope.cli.')))\n"
        "print('ganscope.detectors' in sys.modules, 'matplotlib' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[-2] == "['ganscope.cli.data', 'ganscope.cli.options']"
    assert out[-1] == "False False"


def test_root_help_lists_every_command(capsys):
    with contextlib.suppress(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in COMMANDS:
        assert name in text, name


def _tree(*modules: str) -> dict[str, list[str]]:
    code = (
        "import json, sys, typer\n"
        "from ganscope.cli import load_commands\n"
        "cmd = typer.main.get_command(load_commands(*sys.argv[1:]))\n"
        "print(json.dumps({n: sorted(getattr(c, 'commands', {})) for n, c in "
        "cmd.commands.items()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.splitlines()[-1])


def test_a_command_loaded_alone_has_all_its_subcommands():
    """A module must not add subcommands to another module's group (``data scenes`` once lived
    in cli/dissect.py, so ``ganscope data scenes`` alone did not find it)."""
    full = _tree()
    for module in sorted(set(COMMANDS.values())):
        alone = _tree(module)
        assert alone == {c: full[c] for c in alone}, module
