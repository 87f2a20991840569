"""Docs that cannot drift: every module, function and command that README.md, CONTRIBUTING.md and docs/ name
exists.

- `pkg.module.name` in backticks, starting with one of the parts (`services.reviews.decide`, `onelicense.clock`),
  imports as onelicense.<…> and has the attribute, or is an audit action the code writes (`review.auto_decide`);
- a path in backticks ending in .py, .yaml, .j2, .md, .sh or .toml (`services/reviews.py`) is a file of the repository (a bare
  file name must exist somewhere in it);
- `onelicense <command> [<subcommand>]` is a command the CLI has."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import typer
from typer.main import get_command

from onelicense.cli import app

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
PARTS = ("onelicense", "cli", "web", "flows", "services", "store", "forms", "review", "licenses", "demo", "templates")
DOTTED = re.compile(rf"`((?:{'|'.join(PARTS)})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?`")
PATH = re.compile(r"`([A-Za-z0-9_./-]+\.(?:py|yaml|j2|md|sh|toml))`")
# in inline code or at the start of a line (code blocks): `onelicense users create …`, not prose "onelicense installed"
COMMAND = re.compile(r"(?:`|^\s*(?:\$ )?)onelicense((?: [a-z][a-z0-9-]*){1,2})", re.M)
SKIP_TREES = {".git", ".venv", ".venv-newest", ".tools", "data", "node_modules"}


FENCED = re.compile(r"^```.*?^```", re.S | re.M)
# in diagrams (fenced blocks) the names stand bare: services.applications.submit, flows.fan_out.fan_out
BARE = re.compile(rf"(?<![\w./`-])((?:{'|'.join(PARTS)})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?![\w/*])")


def _mentions(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return sorted(
        {(doc.name, m.group(1)) for doc in DOCS if doc.is_file() for m in pattern.finditer(doc.read_text())}
    )


def _in_diagrams() -> list[tuple[str, str]]:
    return sorted(
        {
            (doc.name, m.group(1))
            for doc in DOCS
            if doc.is_file()
            for block in FENCED.findall(doc.read_text())
            for m in BARE.finditer(block)
            if not m.group(1).endswith((".py", ".yaml", ".md", ".j2"))
        }
    )


_SOURCE = "\n".join(p.read_text() for part in PARTS for p in (REPO / part).rglob("*.py"))


def _audit_action(name: str) -> bool:
    """`review.auto_decide`, `license.revoke`: an audit event's action, written by the code as that string."""
    return f'"{name}"' in _SOURCE or f'f"{name.split(".")[0]}.{{' in _SOURCE


def _resolves(name: str) -> bool:
    dotted = name if name.startswith("onelicense") else f"onelicense.{name}"
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


_FILES = {p.relative_to(REPO).as_posix() for p in REPO.rglob("*") if p.is_file() and not SKIP_TREES & set(p.parts)}
_NAMES = {path.rsplit("/", 1)[-1] for path in _FILES}


@pytest.mark.parametrize(("doc", "name"), sorted(set(_mentions(DOTTED)) | set(_in_diagrams())))
def test_every_python_name_the_docs_give_exists(doc: str, name: str) -> None:
    assert _resolves(name) or _audit_action(name), f"{doc}: `{name}` does not exist"


@pytest.mark.parametrize(("doc", "path"), _mentions(PATH))
def test_every_file_the_docs_name_exists(doc: str, path: str) -> None:
    path = path.removeprefix("./")
    if "/" in path:
        assert path in _FILES or any(f.endswith("/" + path) for f in _FILES), f"{doc}: `{path}` does not exist"
    else:
        assert path in _NAMES, f"{doc}: `{path}` is no file of the repository"


def _commands() -> dict[str, set[str]]:
    """Each command of the CLI with its subcommands (empty for a plain command)."""
    root = get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    return {name: set(getattr(command, "commands", {})) for name, command in root.commands.items()}


@pytest.mark.parametrize(("doc", "command"), _mentions(COMMAND))
def test_every_command_the_docs_give_exists(doc: str, command: str) -> None:
    first, *rest = command.split()
    commands = _commands()
    assert first in commands, f"{doc}: `onelicense {first}` is no command"
    if commands[first] and rest:  # a group: the next word is its subcommand
        assert rest[0] in commands[first], f"{doc}: `onelicense {first} {rest[0]}` is no command"
