"""Issue 13: a command parses, calls one library function and prints; everything else belongs in
the library, where it is tested without a subprocess. Read with ``ast``: every command function of
``ganscope.cli`` (a public function of a command module) calls at most one
``ganscope`` function that does the work, and holds no loop over data, no arithmetic and no
branch beyond choosing what to print."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ganscope.cli

CLI = Path(ganscope.cli.__file__).parent
MACHINERY = {"__init__.py", "options.py"}  # the root app, option building, error handling
MODULES = sorted(p for p in CLI.glob("*.py") if p.name not in MACHINERY)


def _commands(tree: ast.Module) -> list[ast.FunctionDef]:
    return [
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.args.kwonlyargs + n.args.args
    ]


def _body(fn: ast.FunctionDef) -> list[ast.stmt]:
    body = [s for s in fn.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring (the command's help)
    return body


def _library_names(tree: ast.Module) -> set[str]:
    """Names a module imports from ganscope's library (not from ganscope.cli)."""
    names = set()
    for node in ast.walk(tree):
        module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        if module.startswith("ganscope") and not module.startswith("ganscope.cli"):
            names |= {a.asname or a.name for a in node.names}
    return names


def violations(tree: ast.Module, name: str) -> list[str]:
    """What in a command module's commands is more than parse, call, print."""
    library = _library_names(tree)
    out = []
    for fn in _commands(tree):
        body, where = _body(fn), f"{name}:{fn.name}"
        if len(body) > 5:
            out.append(f"{where}: {len(body)} statements; move the logic to the library")
        for node in (n for s in body for n in ast.walk(s)):
            if isinstance(node, (ast.For, ast.While, ast.comprehension)) and not _echoes_lines(
                node
            ):
                out.append(f"{where}: a loop; the library should return what to print")
            if isinstance(node, (ast.BinOp, ast.Compare)) and not _formats_text(node):
                out.append(f"{where}: arithmetic or a comparison; that is library logic")
        work = {
            c.func.id
            for s in body
            for c in ast.walk(s)
            if isinstance(c, ast.Call)
            and isinstance(c.func, ast.Name)
            and c.func.id in library
            and not c.func.id[:1].isupper()  # building a settings object is parsing
        }
        if len(work) > 3:  # one call that does the work, and what formats its result
            out.append(f"{where} calls {sorted(work)}: one library call should do it")
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_commands_only_parse_call_and_print(path):
    tree = ast.parse(path.read_text())
    assert _commands(tree), f"{path.name} defines no command"
    assert violations(tree, path.name) == []


def _echoes_lines(node: ast.AST) -> bool:
    """``for line in lines: echo(line)``: printing what the library returned, line by line."""
    return (
        isinstance(node, ast.For)
        and len(node.body) == 1
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Call)
    )


def _formats_text(node: ast.AST) -> bool:
    """An f-string's parts or ``"a" + "b"``: text, not computation."""
    return isinstance(node, ast.BinOp) and all(
        isinstance(side, (ast.Constant, ast.JoinedStr)) for side in (node.left, node.right)
    )


def test_the_check_catches_logic_in_a_command():
    """The rule is not vacuous: a command that filters, counts and calls four library
    functions is refused on each count."""
    src = (
        "from ganscope.io import list_images, load_image, save_png, write_json\n"
        "def count(folder, config):\n"
        "    files = [p for p in list_images(folder) if p.suffix == '.png']\n"
        "    for f in files:\n"
        "        save_png(f, load_image(f))\n"
        "        print(f)\n"
        "    print(len(files) * 2)\n"
        "    write_json(folder / 'n.json', len(files))\n"
    )
    found = " ".join(violations(ast.parse(src), "bad.py"))
    for what in ("a loop", "arithmetic", "one library call"):
        assert what in found


def test_cli_stays_under_700_lines():
    """Issue 13's bar: a new command adds a few lines of parsing, never logic."""
    lines = sum(len(p.read_text().splitlines()) for p in CLI.glob("*.py"))
    assert lines < 700, f"cli/ has {lines} lines; move what is not parsing into the library"
