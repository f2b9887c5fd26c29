"""Issue 13, findings 17-19: server text that another program (GitHub Actions, Markdown, a
terminal's emoji) could read as something else.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

GHA = {"GITHUB_ACTIONS": "true"}
COMMANDS = ["::stop-commands::tok", "  ::add-mask::x", "::error::forged", "\u3000::warning::ws"]


def one_task(make_sim, status: str):  # type: ignore[no-untyped-def]
    body = json.dumps({"status": status})
    return make_sim({"evil": [{"body": body, "content_type": "application/json"}]})


def command_lines(text: str) -> list[str]:
    """Lines GitHub's runner would take as a workflow command: `::` after leading whitespace,
    or the legacy `##[` anywhere in the line."""
    return [line for line in text.split("\n") if line.lstrip().startswith("::") or "##[" in line]


# --------------------------------------------------------------------------- finding 17


@pytest.mark.parametrize("status", COMMANDS)
def test_quiet_status_word_cannot_be_a_workflow_command_under_github_actions(cli, make_sim, status) -> None:
    sim = one_task(make_sim, status)
    run = cli("status", "-q", "evil", expect=13, base_url=sim.url, env=GHA)
    assert command_lines(run.stdout + run.stderr) == []
    assert status.strip("\u3000 ") in run.stdout  # neutralised, not dropped


@pytest.mark.parametrize("mode", [["-q"], [], ["--json"]], ids=["quiet", "plain", "json"])
def test_watch_lines_cannot_be_workflow_commands_under_github_actions(cli, make_sim, clock, mode) -> None:
    sim = make_sim({"evil": [{"body": json.dumps({"status": "::stop-commands::tok"}),
                              "content_type": "application/json"}]}, clock=clock)
    run = cli("watch", *mode, "--until", "unknown", "--interval", "1", "evil", base_url=sim.url,
              clock=clock, env=GHA)
    assert command_lines(run.stdout + run.stderr) == []
    assert "stop-commands" in run.stdout


def test_legacy_command_prefix_inside_json_is_escaped_and_json_still_round_trips(cli, make_sim) -> None:
    sim = one_task(make_sim, "x ##[add-mask]secret")
    run = cli("status", "--json", "evil", expect=13, base_url=sim.url, env=GHA)
    assert command_lines(run.stdout) == []
    assert json.loads(run.stdout)["status"] == "x ##[add-mask]secret"


@pytest.mark.parametrize("status", ["a\u2028::x", "a\u0085::x", "::x\u2029::y"])
def test_json_lines_stay_valid_json_under_github_actions(cli, make_sim, status) -> None:
    sim = one_task(make_sim, status)
    run = cli("status", "--json", "evil", expect=13, base_url=sim.url, env=GHA)
    assert json.loads(run.stdout)["status"] == status.replace("\u0085", "")  # C1 control dropped


def test_the_tools_own_annotations_are_still_workflow_commands(cli, make_sim, clock) -> None:
    sim = make_sim({"bad": [{"status": "failed"}], "odd": [{"status": "::error::forged"}]}, clock=clock)
    run = cli("watch", "--until", "unknown", "--interval", "1", "bad", "odd", expect=10,
              base_url=sim.url, clock=clock, env=GHA)
    assert [line for line in run.stderr.splitlines() if line.startswith("::")] == [
        "::error title=browseract::bad: the task failed"]


def test_without_github_actions_the_word_is_printed_as_sent(cli, make_sim) -> None:
    sim = one_task(make_sim, "::stop-commands::tok")
    run = cli("status", "-q", "evil", expect=13, base_url=sim.url)
    assert run.stdout == "::stop-commands::tok\n"


# --------------------------------------------------------------------------- finding 18


HOSTILE_MARKDOWN = "![x](https://e.x/p.png)<img src=x>[a](https://e.x)**b**"


def test_step_summary_puts_the_server_status_in_a_code_span(cli, make_sim, clock, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    sim = make_sim({"md": [{"body": json.dumps({"status": HOSTILE_MARKDOWN + " `t` | p"}),
                            "content_type": "application/json"}]}, clock=clock)
    cli("watch", "--until", "unknown", "--interval", "1", "md", base_url=sim.url, clock=clock,
        env={**GHA, "GITHUB_STEP_SUMMARY": str(summary)})
    rows = [line for line in summary.read_text().splitlines() if line.startswith("| `md`")]
    [row] = rows
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
    assert len(cells) == 4  # the pipe in the status did not add a column
    status_cell = cells[1]
    assert re.fullmatch(r"`[^`]*`", status_cell), status_cell
    assert "![x]" in status_cell and "<img" in status_cell  # shown literally, inside the span
    outside = re.sub(r"`[^`]*`", "", row)
    assert not re.search(r"[<>\[\]!*]", outside), outside


# --------------------------------------------------------------------------- finding 19


@pytest.mark.skipif(os.name != "posix", reason="a pty")
def test_emoji_codes_in_server_text_are_not_turned_into_emoji_on_a_terminal(sim, tmp_path: Path,
                                                                             canary: str) -> None:
    import pexpect

    sim.add_task("skull", [{"http": 400, "code": 99001, "msg": "bad :skull: request"}])
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "BROWSERACT_BASE_URL": sim.url, "BROWSERACT_API_KEY": canary,
           "BROWSERACT_CONFIG_DIR": str(tmp_path / "config"), "TERM": "xterm-256color", "COLUMNS": "120"}
    child = pexpect.spawn(sys.executable, ["-m", "browseract_cli", "watch", "--interval", "0.1", "skull"],
                          env=env, dimensions=(30, 120), timeout=8)
    child.expect(pexpect.EOF)
    child.close()
    out: bytes = child.before
    assert child.exitstatus == 65, out
    assert b":skull:" in out
    assert "\N{SKULL}".encode() not in out
    assert b"ba_test_canary_" not in out
