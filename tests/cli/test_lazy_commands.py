"""``ganscope CMD`` imports only the module of CMD; the table that says which is checked here."""

import contextlib
import json
import subprocess
import sys

import typer

from ganscope.cli import COMMANDS, load_commands, main


def test_command_table_names_every_command_each_module_defines():
    """A module's top-level command (a typer group, or a public function of its own that no
    group holds) is in ``COMMANDS``: a command cannot be written and then never registered."""
    import importlib
    import inspect

    modules = {target.split(":")[0] for target in COMMANDS.values()}
    for module in modules:
        mod = importlib.import_module(f"ganscope.cli.{module}")
        groups = {n: v for n, v in vars(mod).items() if isinstance(v, typer.Typer)}
        in_groups = {c.callback for g in groups.values() for c in g.registered_commands}
        functions = {
            n
            for n, v in vars(mod).items()
            if inspect.isfunction(v) and v.__module__ == mod.__name__ and not n.startswith("_")
            and v not in in_groups and getattr(v, "__wrapped__", None) not in in_groups
        }  # fmt: skip
        listed = {t.split(":")[1] for t in COMMANDS.values() if t.startswith(module + ":")}
        assert set(groups) | functions == listed, module
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
    out = subprocess.run(
        [sys.executable, "-c", code, *modules], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.splitlines()[-1])


def test_a_command_loaded_alone_has_all_its_subcommands():
    """A module must not add subcommands to another module's group (``data scenes`` once lived
    in cli/dissect.py, so ``ganscope data scenes`` alone did not find it)."""
    full = _tree()
    for module in sorted({t.split(":")[0] for t in COMMANDS.values()}):
        alone = _tree(module)
        assert alone == {c: full[c] for c in alone}, module


def test_a_missing_choice_option_is_one_line(tmp_path, capsys):
    """click lists the choices one per line; ganscope prints them on the error's one line."""
    try:
        main(["detector", "train", "--real", str(tmp_path), "--fake", str(tmp_path),
              "--out", str(tmp_path / "m")])  # fmt: skip
    except SystemExit as e:
        assert e.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Choose from: logreg, svm-linear" in err
