"""The architecture rules of STYLE.md, enforced."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "guardian"
IO_LIBRARIES = ("web3", "safe_eth", "ape", "ledgereth", "ledgerblue", "click", "requests", "urllib", "socket", "subprocess", "http")
HEAVY = ("web3", "safe_eth", "ape", "ledgereth", "eth_account")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((SRC / "domain").glob("*.py")), ids=lambda p: p.name)
def test_domain_imports_no_io_library(path):
    offending = {m for m in imported_modules(path) if m.split(".")[0] in IO_LIBRARIES}
    assert not offending, f"{path.name} imports I/O libraries: {offending}"


def _modules_after(argv: list[str]) -> set[str]:
    code = (
        "import sys, io, contextlib\n"
        "from guardian.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r}, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(' '.join(sorted(m for m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_help_imports_nothing_heavy():
    loaded = _modules_after(["--help"])
    assert "guardian.cli" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, f"`guardian --help` imports {heavy}"


def test_every_command_has_help():
    from click.testing import CliRunner

    from guardian.cli import COMMANDS, main

    import click

    runner = CliRunner()

    def check(path: list[str], command) -> None:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
        assert command.help or command.short_help, f"{' '.join(path)} has no docstring"
        if isinstance(command, click.Group):  # subcommands too (e.g. `timelock list`)
            for sub in command.list_commands(None):
                check([*path, sub], command.get_command(None, sub))

    for name, (_, _, summary) in COMMANDS.items():
        assert summary.strip(), f"{name} has no summary"
        check([name], main.get_command(None, name))
