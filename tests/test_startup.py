"""Start-up stays light: what a command imports, checked deterministically (not timed).

Speed itself is measured by benchmarks/bench.py; this only pins the import graph that keeps it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level modules a browseract run imports, from ``python -X importtime`` (stdout a pipe)."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "browseract_cli", *args],
                          capture_output=True, text=True, timeout=60, env=full_env, stdin=subprocess.DEVNULL)
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("args", [["--help"], ["config", "path"], ["--version"], ["status", "--help"],
                                  ["run", "--help"]])
def test_help_and_config_path_load_neither_requests_nor_rich(args: list[str]) -> None:
    names = imported(*args)
    assert "typer" in names  # the measurement works
    assert not names & {"requests", "urllib3", "rich"}, sorted(names & {"requests", "urllib3", "rich"})


def test_status_off_a_terminal_never_imports_rich(sim) -> None:
    names = imported("status", "demo-forever", env={"BROWSERACT_BASE_URL": sim.url})
    assert "requests" in names and "rich" not in names


def test_root_help_lists_the_commands_without_importing_them() -> None:
    code = ("import sys\nfrom browseract_cli.cli import app\n"
            "try:\n    app(['--help'], prog_name='browseract')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('browseract_cli.commands.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "run-template" in done.stdout  # the list itself is there


def test_the_registry_summaries_are_the_commands_own_first_lines() -> None:
    import typer

    from browseract_cli.cli import COMMANDS, app

    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    for name, entry in COMMANDS.items():
        command = group.get_command(ctx, name)
        first = (command.help or "").strip().splitlines()[0]
        assert first == entry.summary, name
