"""Every command's --help fits the terminal: prose wraps, option names are never cut, example
blocks stay whole and short, usage names arguments plainly (issue 10 items 6, 15, 23, 27, 28).

The command list is derived from the app, so a new command is checked without editing this file.
"""

from __future__ import annotations

import os
import re
import sys

import pexpect
import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from browseract_cli.cli import app
from browseract_cli.commands import EPILOG_LINE_MAX


def _walk(group: TyperGroup, ctx: typer.Context, prefix: tuple[str, ...]):  # type: ignore[no-untyped-def]
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        yield (*prefix, name), cmd
        if isinstance(cmd, TyperGroup):
            yield from _walk(cmd, ctx, (*prefix, name))


def all_commands() -> list[tuple[tuple[str, ...], object]]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    ctx = typer.Context(root, info_name="browseract")
    return [((), root), *_walk(root, ctx, ())]


COMMANDS = all_commands()
PATHS = [" ".join(path) or "(root)" for path, _ in COMMANDS]


def help_text(monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...], columns: int) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    run = CliRunner().invoke(app, [*path, "--help"], prog_name="browseract")
    assert run.exit_code == 0, run.stdout + run.stderr
    return run.stdout


def verbatim_lines(cmd: object) -> set[str]:
    """The lines of the epilog's no-wrap blocks (examples, tables), as the formatter prints them."""
    epilog = getattr(cmd, "epilog", None) or ""
    lines: set[str] = set()
    for block in epilog.split("\n\n"):
        if block.startswith("\b\n"):
            lines.update(line.rstrip() for line in block[2:].splitlines())
    return lines


def option_names(cmd: object) -> list[str]:
    return [o for p in cmd.params if p.param_type_name == "option" for o in p.opts]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=PATHS)
def test_help_fits_80_columns(monkeypatch, path, cmd) -> None:
    text = help_text(monkeypatch, path, 80)
    too_long = [line for line in text.splitlines() if len(line) > 80]
    assert not too_long, too_long
    assert "\b" not in text


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=PATHS)
def test_help_at_40_columns_wraps_prose_and_keeps_option_names_whole(monkeypatch, path, cmd) -> None:
    text = help_text(monkeypatch, path, 40)
    verbatim = verbatim_lines(cmd)
    for line in text.splitlines():
        assert len(line) <= 40 or line.strip() in {v.strip() for v in verbatim}, line
    for name in option_names(cmd):
        assert re.search(rf"(^|[\s,]){re.escape(name)}([\s,]|$)", text, re.M), name
    assert "…" not in text


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=PATHS)
def test_epilog_follows_the_convention(path, cmd) -> None:
    """commands/__init__.py: prose paragraphs are one line; no-wrap blocks have short lines."""
    epilog = getattr(cmd, "epilog", None) or ""
    for block in filter(None, epilog.split("\n\n")):
        if block.startswith("\b\n"):
            for line in block[2:].splitlines():
                assert len(line) <= EPILOG_LINE_MAX, line
        else:
            assert "\n" not in block, f"prose paragraph pre-wrapped: {block!r}"


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=PATHS)
def test_usage_names_arguments_plainly(monkeypatch, path, cmd) -> None:
    text = help_text(monkeypatch, path, 80)
    assert not re.search(r"[{}]|<(str|int|text|integer|path)>", text), text


@pytest.mark.parametrize(("path", "cmd"), [c for c in COMMANDS if c[0] and not isinstance(c[1], TyperGroup)],
                         ids=[p for p, c in zip(PATHS, COMMANDS, strict=True)
                              if c[0] and not isinstance(c[1], TyperGroup)])
def test_every_command_shows_examples(monkeypatch, path, cmd) -> None:
    text = help_text(monkeypatch, path, 80)
    examples = text.split("Examples:", 1)
    assert len(examples) == 2, f"{' '.join(path)} --help has no examples"
    assert f"browseract {' '.join(path)}" in examples[1] or path == ("demo",)


def test_config_set_help_offers_only_base_url(monkeypatch) -> None:
    text = help_text(monkeypatch, ("config", "set"), 80)
    arguments = text.split("Arguments:", 1)[1].split("Options:", 1)[0]
    assert "base-url" in arguments and "api-key|" not in arguments and "api-key or" not in arguments


@pytest.mark.parametrize("command", ["status", "watch"])
def test_no_task_id_says_what_is_missing(cli, command: str) -> None:
    run = cli(command, expect=2)
    assert "missing TASK_ID" in run.stderr
    assert "Options:" not in run.stdout + run.stderr  # not the whole help
    assert f"browseract {command} --help" in run.stderr


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=PATHS)
def test_zsh_completion_keeps_quotes_in_descriptions(path, cmd) -> None:
    """typer doubles ' for zsh, which only RC_QUOTES reads back: help shown there has none."""
    words = " ".join(("browseract", *path))
    for typed in (f"{words} --", f"{words} "):
        run = CliRunner().invoke(app, [], prog_name="browseract", env={
            "_BROWSERACT_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": typed})
        assert "''" not in run.stdout, run.stdout


@pytest.mark.skipif(os.name != "posix", reason="pty")
@pytest.mark.parametrize("columns", [40, 80])
def test_help_on_a_terminal_is_never_cut(columns: int, tmp_path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "TERM": "xterm-256color", "BROWSERACT_CONFIG_DIR": str(tmp_path / "cfg")}
    child = pexpect.spawn(sys.executable, ["-m", "browseract_cli", "watch", "--help"], env=env,
                          dimensions=(200, columns), timeout=10)
    child.expect(pexpect.EOF)
    child.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before.decode()).replace("\r", "")
    assert "…" not in text and "─" not in text  # no cut names, no panels
    for name in ("--interval", "--timeout", "--not-found-grace", "--max-outage", "--heartbeat"):
        assert re.search(rf"^\s+{name} ", text, re.M), name
    [watch] = [cmd for path, cmd in COMMANDS if path == ("watch",)]
    verbatim = {v.strip() for v in verbatim_lines(watch)}
    assert all(len(line) <= columns or line.strip() in verbatim for line in text.splitlines())
