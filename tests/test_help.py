"""Help and docs stay true: every command has help with examples, the README covers them all."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from browseract_cli.cli import COMMANDS
from browseract_cli.exit_codes import MEANINGS, SEVERITY, ExitCode

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIG_SUBCOMMANDS = ["set-key", "show", "get", "set", "unset", "path", "doctor"]


def test_root_help_lists_every_command_and_the_exit_code_table(cli) -> None:
    run = cli("--help")
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", run.stdout, re.M), name
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s+\S", run.stdout, re.M), f"exit code {int(code)}"
    assert "\x1b" not in run.stdout


def test_short_help_flag_and_no_args_show_help(cli) -> None:
    assert "Usage: browseract" in cli("-h").stdout
    no_args = cli(expect=None)
    assert "Usage: browseract" in no_args.stdout + no_args.stderr


@pytest.mark.parametrize("command", [*COMMANDS, *(f"config {c}" for c in CONFIG_SUBCOMMANDS)])
def test_every_command_has_help(cli, command: str) -> None:
    run = cli(*command.split(), "--help")
    assert f"Usage: browseract {command}" in run.stdout
    assert len(run.stdout.splitlines()) > 4


@pytest.mark.parametrize("command", ["status", "watch", "config", "simulate"])
def test_main_commands_show_examples(cli, command: str) -> None:
    assert "Examples:" in cli(command, "--help").stdout


def test_version(cli) -> None:
    from browseract_cli import __version__

    assert cli("--version").stdout == f"browseract {__version__}\n"


def test_readme_documents_every_command_option_and_exit_code() -> None:
    for name in COMMANDS:
        assert f"browseract {name}" in README, name
    for sub in CONFIG_SUBCOMMANDS:
        assert f"config {sub}" in README, sub
    for option in ["--interval", "--timeout", "--until", "--not-found-grace", "--max-outage",
                   "--heartbeat", "--fail-fast", "--json", "--exit-zero", "--profile", "--base-url",
                   "--no-color", "--verbose", "--scenario", "--api-key", "--stdin", "--verify"]:
        assert option in README, option
    table = re.findall(r"^\| (\d+) \| (.+) \|$", README, re.M)
    assert [int(code) for code, _ in table] == [int(c) for c in MEANINGS]
    order = ", ".join(str(int(c)) for c in SEVERITY)
    assert order in README
    for variable in ["BROWSERACT_API_KEY", "BROWSERACT_BASE_URL", "BROWSERACT_PROFILE",
                     "BROWSERACT_CONFIG_DIR", "NO_COLOR"]:
        assert variable in README


def test_readme_quick_start_runs_demo_and_the_ci_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "browseract demo" in README
    assert ".venv/bin/python -m pytest" in README and ".venv/bin/python -m pytest" in ci
    assert "pip install -q -e '.[test]'" in README and "-e '.[test]'" in ci


def test_changelog_follows_keep_a_changelog() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    from browseract_cli import __version__

    assert "## [Unreleased]" in changelog
    assert f"## [{__version__}]" in changelog
    assert changelog.index("## [Unreleased]") < changelog.index(f"## [{__version__}]")


def test_python_floor_matches_pyproject() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11"
    assert sys.version_info >= (3, 11)
