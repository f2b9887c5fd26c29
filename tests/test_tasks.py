"""`get`, `list`, `stop`, `resume` and `watch`'s failure info, against the simulator.

In-process (the ``cli`` fixture) against the project's simulator, on a fake clock shared by the
CLI and the simulator: a lifecycle moves only when the test (or a ``--wait``) moves the clock.
Answers the simulator would never give (lying page counts, odd task objects) are scripted with
``body`` faults. The last part fuzzes the parsers of get-task and list-tasks answers, directly
and end to end (lifecycle contract: `get`, `list`, `stop`, `resume`, `watch, changed`;
reliability checklist N9, N10; issue 13 "Fuzz every new parser").
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import requests
from conftest import CANARY, FakeClock, Run
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import CONTRACT_CODES, fuzz_settings, json_values, nasty_text
from test_redaction import DISGUISES, insert, key_runs
from typer.testing import CliRunner

from browseract_cli import endpoints as ep
from browseract_cli import taskops
from browseract_cli.cli import app
from browseract_cli.context import AppContext
from browseract_cli.errors import ApiError
from browseract_cli.models import Page, Task
from browseract_cli.render import Output

WORKFLOWS: dict[str, Any] = {
    "wf-report": {
        "name": "Weekly report", "description": "Collects the week's numbers",
        "inputs": ["keyword", {"name": "max_items", "default_enabled": False}],
        "lifecycle": [{"status": "created", "seconds": 1}, {"status": "running", "seconds": 133},
                      {"status": "finished"}],
        "output": {"items": [{"title": "first"}, {"title": "second"}]},
        "files": [{"name": "items.csv", "content": "a,b\r\n1,2\r\n"},
                  {"name": "big.bin", "size": 3 * 1024 * 1024}],
        "credit": 3,
    },
    "wf-fails": {
        "lifecycle": [{"status": "running", "seconds": 2}, {"status": "failed"}],
        "failure": {"code": 10001, "message": "Navigation timeout"},
    },
    "wf-forever": {"lifecycle": [{"status": "running"}]},
    "wf-pauses": {
        "lifecycle": [{"status": "running", "seconds": 2}, {"status": "paused"}],
        "after_resume": [{"status": "running", "seconds": 3}, {"status": "finished"}],
    },
    "wf-pauses-then-fails": {
        "lifecycle": [{"status": "paused"}],
        "after_resume": [{"status": "running", "seconds": 3}, {"status": "failed"}],
    },
}
STATE_CODE = {"finished": 0, "failed": 10, "canceled": 11, "paused": 12, "unknown": 13,
              "created": 14, "running": 14, "pausing": 14}
GET_KEYS = {"task_id", "status", "exit_code", "error", "task"}
LIST_KEYS = {"task_id", "status", "workflow_id", "created_at", "finished_at", "credit", "task"}
ACTION_KEYS = {"task_id", "action", "result", "status", "exit_code", "error"}


# --------------------------------------------------------------------------- helpers


def start(sim: Any, workflow_id: str, **inputs: str) -> str:
    """A task run from a workflow of the simulator (through its API, as any client would)."""
    body = {"workflow_id": workflow_id,
            "input_parameters": [{"name": k, "value": v} for k, v in inputs.items()]}
    answer = requests.post(sim.url + ep.RUN_TASK.path, json=body, timeout=5,
                           headers={"Authorization": f"Bearer {CANARY}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def world(make_sim: Callable[..., Any], clock: FakeClock, tasks: Mapping[str, Any] | None = None,
          **kwargs: Any) -> Any:
    """A simulator without the demo catalog: only these tasks and WORKFLOWS (and kwargs)."""
    kwargs.setdefault("workflows", WORKFLOWS)
    kwargs.setdefault("max_running", 50)
    return make_sim(tasks or {}, clock=clock, include_demo=False, **kwargs)


def fixed(*states: str) -> dict[str, list[dict[str, str]]]:
    """Scripted tasks that stay in one state each, named after it: {"t-failed": [failed]}."""
    return {f"t-{s}": [{"status": s}] for s in states}


def to(sim: Any, op: ep.Operation) -> list[Any]:
    return [r for r in sim.requests if r.path == op.path]


def fields(stdout: str) -> dict[str, str]:
    """The `Name:  value` lines of a record (human output off a terminal)."""
    found = {}
    for line in stdout.splitlines():
        m = re.match(r"^([A-Z][A-Za-z ]*):\s+(.*)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def docs(stdout: str) -> list[dict[str, Any]]:
    """JSON Lines: one object per line, split at LF only (U+0085, U+2028 may be inside strings)."""
    return [json.loads(line) for line in stdout.split("\n") if line]


def item(i: int | str, **extra: Any) -> dict[str, Any]:
    """A list-tasks item."""
    doc = {"id": i if not isinstance(i, int) else f"t{i:04d}", "workflow_id": "wf", "status": "finished",
           "created_at": "2026-12-01T10:00:00Z", "finished_at": "2026-12-01T10:01:05Z", "credit": 1}
    doc.update(extra)
    return doc


def body(doc: Any, polls: int = 1) -> dict[str, Any]:
    """A fault step answering 200 with this JSON document."""
    return {"body": json.dumps(doc), "content_type": "application/json", "polls": polls}


def page(ids: Any, **counts: Any) -> dict[str, Any]:
    return body({"items": [item(i) for i in ids], "page": 1, "limit": 500, **counts})


class Probe(io.StringIO):
    """stdout that notes, at every write, how many list requests the simulator had received."""

    def __init__(self, sim: Any, op: ep.Operation) -> None:
        super().__init__()
        self.sim, self.op = sim, op
        self.writes: list[tuple[int, str]] = []

    def write(self, text: str) -> int:
        if text:
            self.writes.append((self.sim.request_count(path=self.op.path), text))
        return super().write(text)

    def isatty(self) -> bool:
        return False


@pytest.fixture
def probe_cli(monkeypatch: pytest.MonkeyPatch, captured: Any) -> Callable[..., tuple[int, Probe]]:
    """Run browseract with a Probe as its stdout: (exit code, probe)."""

    def run(sim: Any, op: ep.Operation, *args: str, clock: FakeClock | None = None) -> tuple[int, Probe]:
        monkeypatch.setenv("BROWSERACT_BASE_URL", sim.url)
        out, err = Probe(sim, op), io.StringIO()
        obj = AppContext(stdout=out, stderr=err)
        if clock is not None:
            obj.clock, obj.sleep = clock, clock.sleep
        result = CliRunner().invoke(app, list(args), obj=obj, prog_name="browseract")
        captured.texts.extend([out.getvalue(), err.getvalue(), result.stdout, result.stderr])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in err.getvalue()
        return result.exit_code, out

    return run


class InterruptingClock(FakeClock):
    """A fake clock whose ``after``-th sleep is a Ctrl-C."""

    def __init__(self, after: int = 1) -> None:
        super().__init__()
        self.after = after

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.sleeps) >= self.after:
            raise KeyboardInterrupt


# =========================================================================== get


def test_get_a_running_task_shows_its_live_view_and_no_duration(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-report", keyword="laptops", max_items="5")
    clock.advance(2)  # created 1 s, then running
    run = cli("get", task_id, expect=14, base_url=sim.url, clock=clock)
    shown = fields(run.stdout)
    assert shown["Task"] == task_id and shown["Status"] == "running"
    assert shown["Workflow"] == "wf-report"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", shown["Created"])
    assert shown["Live view"] == f"{sim.url}/live/{task_id}"
    assert shown["Log"] == f"{sim.url}/logs/{task_id}"
    assert shown["Inputs"] == "keyword=laptops, max_items=5"
    assert shown["Steps"] == "1 (last: Open the start page)"
    for absent in ("Finished", "Duration", "Credit", "Failure", "Files", "Output"):
        assert absent not in shown, absent
    assert run.stderr == ""


def test_get_a_finished_task_shows_timing_credit_files_and_a_preview(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-report", keyword="laptops")
    clock.advance(200)
    run = cli("get", task_id, base_url=sim.url, clock=clock)
    shown = fields(run.stdout)
    assert shown["Status"] == "finished"
    assert shown["Duration"] == "2m14s"  # created 1 s + running 133 s
    assert shown["Finished"].endswith(" UTC") and shown["Finished"] > shown["Created"]
    assert shown["Credit"] == "3"
    assert "Live view" not in shown and "Failure" not in shown
    assert shown["Steps"] == "3 (last: Save the results)"
    assert shown["Files"] == "2"
    assert shown["Output"] == '{"items":[{"title":"first"},{"title":"second"}]}'
    raw = json.loads(to(sim, ep.GET_TASK)[-1].answer_body)
    expires = {f["fileName"]: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(f["expiresAt"] / 1000))
               for f in raw["download_files"]}
    files = [line for line in run.lines if line.startswith("  ")]
    assert files == [f"  items.csv  (10 bytes, expires {expires['items.csv']})",
                     f"  big.bin  (3.0 MiB, expires {expires['big.bin']})"]
    assert "STEP" not in run.stdout  # the table only with --steps


def test_get_steps_prints_a_table_of_every_step(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-report")
    clock.advance(200)
    run = cli("get", "--steps", task_id, base_url=sim.url, clock=clock)
    table = run.lines[run.lines.index("") + 1:]
    assert re.split(r"\s{2,}", table[0]) == ["STEP", "STATUS", "GOAL", "EVALUATION"]
    assert [re.split(r"\s{2,}", line.strip()) for line in table[1:]] == [
        ["1", "succeed", "Open the start page", "Start"],
        ["2", "succeed", "Collect the results", "Success"],
        ["3", "succeed", "Save the results", "Success"]]


def test_get_a_failed_task_shows_the_failure_and_exits_10(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-fails", url="https://example.com")
    clock.advance(5)
    shown = fields(cli("get", task_id, expect=10, base_url=sim.url, clock=clock).stdout)
    assert shown["Status"] == "failed"
    assert shown["Failure"] == "10001 Navigation timeout"
    assert shown["Duration"] == "2s"
    assert shown["Steps"] == "2 (last: Collect the results)"


def test_get_ignores_finished_at_while_running_and_hides_the_live_view_once_ended(cli, make_sim, clock):
    """finished_at is unreliable while a task runs; a live URL of a task that ended is stale."""
    running = {"id": "t", "workflow_id": "wf", "status": "running", "created_at": "2026-12-01T10:00:00Z",
               "finished_at": "2026-12-01T10:00:05Z", "live_url_info": {"live_url": "https://live.example/t"}}
    ended = {**running, "status": "finished", "finished_at": "2026-12-01T11:02:03Z"}
    sim = world(make_sim, clock, faults={"get-task": [body(running), body(ended)]})
    shown = fields(cli("get", "t", expect=14, base_url=sim.url, clock=clock).stdout)
    assert shown["Live view"] == "https://live.example/t"
    assert "Duration" not in shown and "Finished" not in shown
    shown = fields(cli("get", "t", base_url=sim.url, clock=clock).stdout)
    assert "Live view" not in shown
    assert shown["Finished"] == "2026-12-01 11:02:03 UTC" and shown["Duration"] == "1h02m"


def test_get_a_paused_task_says_how_to_resume_it(cli, make_sim, clock):
    sim = world(make_sim, clock, fixed("paused"))
    run = cli("get", "t-paused", expect=12, base_url=sim.url, clock=clock)
    assert fields(run.stdout)["Status"] == "paused"
    assert "browseract resume t-paused" in run.stderr


@pytest.mark.parametrize(("state", "code"), [*STATE_CODE.items(), ("no-such-state", 13)])
def test_get_exit_code_is_the_state_s(cli, make_sim, clock, state, code):
    sim = world(make_sim, clock, {"t": [{"status": state}]})
    run = cli("get", "--json", "t", expect=code, base_url=sim.url, clock=clock)
    assert docs(run.stdout)[0]["exit_code"] == code
    assert cli("get", "--exit-zero", "t", base_url=sim.url, clock=clock).exit_code == 0


@pytest.mark.parametrize(("states", "code"), [
    (["finished", "paused", "failed"], 10),
    (["paused", "running", "finished"], 12),
    (["running", "canceled", "paused"], 11),
    (["canceled", "unknown", "finished"], 13),
    (["failed", "nope", "finished"], 66),
])
def test_get_several_ids_in_order_most_severe_exit(cli, make_sim, clock, states, code):
    sim = world(make_sim, clock, fixed(*STATE_CODE))
    ids = [f"t-{s}" for s in states]
    run = cli("get", *ids, expect=code, base_url=sim.url, clock=clock)
    shown = [line.split()[-1] for line in run.lines if line.startswith("Task:")]
    assert shown == [i for i in ids if i != "t-nope"]
    if "nope" in states:
        assert "t-nope: task not found" in run.stderr
    run = cli("get", "--json", *ids, expect=code, base_url=sim.url, clock=clock)
    assert [d["task_id"] for d in docs(run.stdout)] == ids
    expected = 0 if "nope" not in states else 66
    cli("get", "--exit-zero", *ids, expect=expected, base_url=sim.url, clock=clock)


def test_get_reads_ids_from_stdin(cli, make_sim, clock):
    sim = world(make_sim, clock, fixed("finished", "failed", "paused"))
    run = cli("get", "--json", "t-failed", "-", input="t-paused\n\n# a comment\r\nt-finished\r\n",
              expect=10, base_url=sim.url, clock=clock)
    assert [d["task_id"] for d in docs(run.stdout)] == ["t-failed", "t-paused", "t-finished"]


def test_get_json_is_the_contract_record_with_the_task_as_received(cli, make_sim, clock):
    sim = world(make_sim, clock)
    first, second = start(sim, "wf-report", keyword="x"), start(sim, "wf-fails")
    clock.advance(200)
    run = cli("get", "--json", first, second, expect=10, base_url=sim.url, clock=clock)
    answers = {r.task_id: json.loads(r.answer_body) for r in to(sim, ep.GET_TASK)}
    got = docs(run.stdout)
    assert [set(d) for d in got] == [GET_KEYS, GET_KEYS]
    assert got[0] == {"task_id": first, "status": "finished", "exit_code": 0, "error": None,
                      "task": answers[first]}
    assert got[1] == {"task_id": second, "status": "failed", "exit_code": 10, "error": None,
                      "task": answers[second]}
    assert run.stderr == ""


def test_get_keeps_numeric_ids_as_received_in_task_and_as_strings_elsewhere(cli, make_sim, clock):
    raw = b'{"id": 16429034742537847123, "workflow_id": 16217357109956214999, "status": "finished"}'
    sim = world(make_sim, clock, faults={"get-task": [{"body": raw, "content_type": "application/json",
                                                       "polls": 2}]})
    run = cli("get", "--json", "16429034742537847123", base_url=sim.url, clock=clock)
    line = run.stdout.strip()
    assert '"task": {"id": 16429034742537847123, "workflow_id": 16217357109956214999' in line
    assert docs(line)[0]["task_id"] == "16429034742537847123"
    shown = fields(cli("get", "16429034742537847123", base_url=sim.url, clock=clock).stdout)
    assert shown["Task"] == "16429034742537847123" and shown["Workflow"] == "16217357109956214999"


def test_get_not_found_is_66_with_the_task_hint(cli, make_sim, clock):
    sim = world(make_sim, clock)
    run = cli("get", "nope", expect=66, base_url=sim.url, clock=clock)
    assert run.stdout == ""
    assert "task not found" in run.stderr and "browseract list" in run.stderr
    run = cli("get", "--json", "nope", expect=66, base_url=sim.url, clock=clock)
    (doc,) = docs(run.stdout)
    assert doc["task"] is None and doc["status"] is None and doc["exit_code"] == 66
    assert doc["error"]["kind"] == "not_found" and doc["error"]["code"] == 10112


def test_get_json_with_a_config_error_still_gives_one_record_per_id(cli, make_sim, clock, monkeypatch):
    sim = world(make_sim, clock)
    monkeypatch.delenv("BROWSERACT_API_KEY")
    run = cli("get", "--json", "a", "b", expect=78, base_url=sim.url, clock=clock)
    got = docs(run.stdout)
    assert [d["task_id"] for d in got] == ["a", "b"]
    for doc in got:
        assert set(doc) == GET_KEYS and doc["exit_code"] == 78 and doc["task"] is None
        assert doc["error"]["kind"] == "config"
    assert "no API key" in run.stderr
    assert sim.requests == []


def test_get_of_a_paused_task_with_a_hostile_id_says_nothing_raw(cli, make_sim, clock):
    hostile = {"id": "t\x1b]0;owned\x07\x9b2J", "status": "paused"}
    sim = world(make_sim, clock, faults={"get-task": [body(hostile)]})
    run = cli("get", "t", expect=12, base_url=sim.url, clock=clock)
    for text in (run.stdout, run.stderr):
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "browseract resume 't]0;owned2J'" in run.stderr  # sanitised, and quoted for the shell


def test_get_sanitises_server_text(cli, make_sim, clock):
    hostile = {"id": "t", "status": "failed", "workflow_id": "wf\x1b[2J",
               "task_failure_info": {"code": 1, "message": "boom\x1b]0;title\x07 [link=https://evil]x[/link]"},
               "input_parameters": "k=\x9b31mv", "download_files": [{"fileName": "../\x1b[31mx", "fileSize": 1}]}
    sim = world(make_sim, clock, faults={"get-task": [body(hostile)]})
    run = cli("get", "t", expect=10, base_url=sim.url, clock=clock)
    assert "\x1b" not in run.stdout and "\x9b" not in run.stdout and "\x07" not in run.stdout
    assert "boom" in fields(run.stdout)["Failure"]


ECHOES = {  # how a server (or a proxy, an echo page) may hand the key back
    "exact": lambda k: k, "cut-short": lambda k: k[:-1], "middle": lambda k: k[10:23],
    **{f"{name}-inside": (lambda c: lambda k: insert(k, c, 7))(char) for name, char in DISGUISES.items()},
}


def strings_of(doc: Any) -> str:
    """Every key and string of a decoded JSON document, as a consumer would read them (the
    disguising characters dropped)."""
    out, stack = [], [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            out.extend(k for k in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    text = "\n".join(out)
    for char in DISGUISES.values():
        text = text.replace(char, "")
    return text


@pytest.mark.parametrize("echo", list(ECHOES))
def test_get_and_list_json_never_show_the_key_the_server_echoes(cli, make_sim, clock, canary, echo):
    """The "task as received" of --json masks the key as the human output does: as an object
    key too, cut short, or with a control or invisible character inside (issue 13, 1 and 2)."""
    key = ECHOES[echo](canary)
    task = {"id": key, "workflow_id": key, "status": "finished", key: key, "log_detail_url": f"https://x/?k={key}",
            "output": {"string": f"token {key}"}, "steps": [{"step_goal": key, key: [key]}]}
    sim = world(make_sim, clock, faults={"get-task": [body(task)], "list-tasks": [body({"items": [task]})]})
    (got,) = docs(cli("get", "--json", "t", base_url=sim.url, clock=clock).stdout)
    assert got["status"] == "finished" and got["task"]["status"] == "finished"
    assert key_runs(strings_of(got), canary) == []
    (listed,) = docs(cli("list", "--json", base_url=sim.url, clock=clock).stdout)
    assert listed["task"]["log_detail_url"].startswith("https://x/?k=")
    assert key_runs(strings_of(listed), canary) == []


# =========================================================================== list


def test_list_sends_limit_always_and_shows_a_table(cli, make_sim, clock):
    sim = world(make_sim, clock)
    done = start(sim, "wf-report")
    clock.advance(200)
    running = start(sim, "wf-forever")
    clock.advance(1)
    run = cli("list", base_url=sim.url, clock=clock)
    (request,) = to(sim, ep.LIST_TASKS)
    assert request.query == {"page": ["1"], "limit": ["20"]}
    rows = [re.split(r"\s{2,}", line.strip()) for line in run.lines]
    assert rows[0] == ["TASK", "STATUS", "WORKFLOW", "CREATED", "DURATION", "CREDIT"]
    assert rows[1][:3] == [running, "running", "wf-forever"] and rows[1][-2:] == ["-", "-"]
    assert rows[2][:3] == [done, "finished", "wf-report"] and rows[2][-2:] == ["2m14s", "3"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[2][3])
    assert run.stderr == ""  # everything was shown


def test_list_filters_are_sent_as_the_contract_says(cli, make_sim, clock):
    sim = world(make_sim, clock)
    before = time.time()
    cli("list", "--status", "FAILED", "--workflow", "wf-fails", "--workflow-name", "Weekly R",
        "--since", "2h", "--until", "2026-12-01", base_url=sim.url, clock=clock)
    after = time.time()
    (request,) = to(sim, ep.LIST_TASKS)
    sent = {k: v[0] for k, v in request.query.items()}
    since = sent.pop("created_at_from")
    assert sent == {"status": "failed", "workflow_id": "wf-fails", "workflow_name": "Weekly R",
                    "created_at_to": "2026-12-01T00:00:00Z", "page": "1", "limit": "20"}

    def iso(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    assert iso(before - 7200) <= since <= iso(after - 7200)


@pytest.mark.parametrize(("when", "sent"), [
    ("2026-12-01", "2026-12-01T00:00:00Z"),  # a date is its midnight UTC
    ("2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z"),
    ("2026-12-01T10:00:00", "2026-12-01T10:00:00Z"),  # no zone: UTC
    ("2026-12-01T12:30:00+02:00", "2026-12-01T10:30:00Z"),
    ("2026-12-01T01:00:00-05:00", "2026-12-01T06:00:00Z"),
    ("2026-11-30T23:59:59.750Z", "2026-11-30T23:59:59Z"),
])
def test_list_since_and_until_dates_are_sent_in_utc(cli, make_sim, clock, when, sent):
    sim = world(make_sim, clock)
    cli("list", "--since", when, "--until", when, base_url=sim.url, clock=clock)
    (request,) = to(sim, ep.LIST_TASKS)
    assert request.query["created_at_from"] == [sent] and request.query["created_at_to"] == [sent]


def test_list_durations_filter_what_the_api_returns(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-report")
    assert cli("list", "-q", "--since", "1h", base_url=sim.url, clock=clock).lines == [task_id]
    assert cli("list", "-q", "--until", "1h", base_url=sim.url, clock=clock).lines == []


@pytest.mark.parametrize("args", [
    ["--status", "done"], ["--status", ""], ["--since", "yesterday"], ["--until", "2026-13-01"],
    ["--since", "1h30"], ["--since", "99999999d"], ["--since", "1" + "0" * 30 + "s"],
    ["--since", "9999-12-31T23:59:59-01:00"], ["--until", "0001-01-01T00:00:00+01:00"], ["--limit", "0"], ["--limit", "501"], ["--page", "0"],
    ["--all", "--limit", "5"], ["--all", "--page", "2"], ["--all", "--limit", "20"],
    ["--json", "-q"], ["--workflow", "a\x01b"],
])
def test_list_bad_options_exit_2_without_a_request(cli, make_sim, clock, args):
    sim = world(make_sim, clock)
    run = cli("list", *args, expect=2, base_url=sim.url, clock=clock)
    assert run.stdout == ""
    assert sim.requests == []
    if args[0] == "--status":
        assert "created, running, pausing, paused, finished, failed, canceled" in run.stderr


def test_list_status_completion_offers_the_states(cli):
    from browseract_cli.options import complete_states

    assert complete_states("pa") == ["pausing", "paused"]
    assert complete_states("") == ["created", "running", "pausing", "paused", "finished", "failed",
                                   "canceled", "unknown"]
    assert complete_states("finished,f") == ["finished,finished", "finished,failed"]
    run = cli("list", "--status", "x", expect=None, env={
        "_BROWSERACT_COMPLETE": "complete_bash", "COMP_WORDS": "browseract list --status ca",
        "COMP_CWORD": "3"})
    assert run.stdout.split() == ["canceled"]


def test_list_limit_and_page(cli, make_sim, clock):
    sim = world(make_sim, clock)
    ids = []
    for _ in range(7):
        ids.append(start(sim, "wf-forever"))
        clock.advance(1)
    newest_first = ids[::-1]
    run = cli("list", "-q", "--limit", "3", "--page", "2", base_url=sim.url, clock=clock)
    assert run.lines == newest_first[3:6]
    assert to(sim, ep.LIST_TASKS)[-1].query == {"page": ["2"], "limit": ["3"]}
    assert run.stderr.strip() == "showing 3 of 7; use --limit N (up to 500), --page N or --all"
    run = cli("list", "-q", "--limit", "3", "--page", "3", base_url=sim.url, clock=clock)
    assert run.lines == newest_first[6:]
    run = cli("list", "-q", "--limit", "500", base_url=sim.url, clock=clock)
    assert run.lines == newest_first and run.stderr == ""


def test_list_json_lines(cli, make_sim, clock):
    sim = world(make_sim, clock)
    done = start(sim, "wf-report")
    clock.advance(200)
    run = cli("list", "--json", base_url=sim.url, clock=clock)
    (answer,) = [json.loads(r.answer_body) for r in to(sim, ep.LIST_TASKS)]
    (doc,) = docs(run.stdout)
    assert set(doc) == LIST_KEYS
    assert doc == {"task_id": done, "status": "finished", "workflow_id": "wf-report",
                   "created_at": answer["items"][0]["created_at"],
                   "finished_at": answer["items"][0]["finished_at"], "credit": 3,
                   "task": answer["items"][0]}


def test_list_ids_are_strings_even_when_the_api_sends_numbers(cli, make_sim, clock):
    raw = (b'{"items": [{"id": 16429034742537847123, "workflow_id": 16217357109956214, "status": "running"}],'
           b' "page": 1, "total_pages": 1, "total_count": 1}')
    step = {"body": raw, "content_type": "application/json", "polls": 3}
    sim = world(make_sim, clock, faults={"list-tasks": [step]})
    (doc,) = docs(cli("list", "--json", base_url=sim.url, clock=clock).stdout)
    assert doc["task_id"] == "16429034742537847123" and doc["workflow_id"] == "16217357109956214"
    assert cli("list", "-q", base_url=sim.url, clock=clock).lines == ["16429034742537847123"]
    assert cli("list", base_url=sim.url, clock=clock).lines[1].startswith("16429034742537847123  running")


def test_an_empty_list_is_0_with_a_note(cli, make_sim, clock):
    sim = world(make_sim, clock)
    start(sim, "wf-report")
    for mode in ([], ["-q"], ["--json"]):
        run = cli("list", "--status", "failed", *mode, base_url=sim.url, clock=clock)
        assert run.stdout == ""
        assert run.stderr.strip() == "no tasks match"


# --------------------------------------------------------------------------- --all


@pytest.mark.parametrize("mode", [[], ["-q"], ["--json"]])
def test_list_all_walks_every_page_printing_as_it_goes(probe_cli, make_sim, clock, mode):
    sim = world(make_sim, clock, workflows={"wf-bulk": {"name": "Bulk"}}, bulk_tasks=2300)
    code, out = probe_cli(sim, ep.LIST_TASKS, "list", "--all", *mode, clock=clock)
    assert code == 0
    requests_ = to(sim, ep.LIST_TASKS)
    assert [r.query for r in requests_] == [{"page": [str(n)], "limit": ["500"]} for n in range(1, 6)]
    assert out.writes[0][0] == 1, "the first line is printed before page 2 is asked for"
    assert [n for n, _ in out.writes] == sorted(n for n, _ in out.writes)
    lines = out.getvalue().splitlines()
    if mode == ["--json"]:
        ids = [json.loads(line)["task_id"] for line in lines]
    elif mode == ["-q"]:
        ids = lines
    else:
        assert lines[0].split() == ["TASK", "STATUS", "WORKFLOW", "CREATED", "DURATION", "CREDIT"]
        ids = [line.split()[0] for line in lines[1:]]
    assert len(ids) == 2300 == len(set(ids))
    assert all(isinstance(i, str) and i.isdigit() for i in ids)


LYING_PAGES = {
    # name: (the pages the API answers, in order; IDs printed; requests made)
    "total_pages too big": ([page(range(500), total_pages=10**6, total_count=10**9),
                             page(range(500, 1000), total_pages=10**6), page([], total_pages=10**6)],
                            range(1000), 3),
    "total_pages zero": ([page(range(500), total_pages=0), page(range(500, 503), total_pages=0)],
                         range(503), 2),
    "total_pages negative": ([page(range(500), total_pages=-3, total_count=-1),
                              page(range(500, 503), total_pages=-3)], range(503), 2),
    "total_pages missing": ([page(range(500)), page(range(500, 503))], range(503), 2),
    "total_pages not a number": ([page(range(500), total_pages="9"), page(range(500, 510), total_pages=None)],
                                 range(510), 2),
    "an empty page before the end": ([page(range(500), total_pages=3, total_count=1500),
                                      page([], total_pages=3), page(range(1000, 1500), total_pages=3)],
                                     range(500), 2),
    "a repeated page": ([page(range(500), total_pages=3), page(range(500), total_pages=3),
                         page(range(1000, 1500), total_pages=3)], range(500), 2),
    "a page repeated forever": ([{**page(range(500)), "polls": 10**6}], range(500), 2),
    "overlapping pages": ([page(range(500), total_pages=3), page(range(250, 750), total_pages=3),
                           page(range(750, 800), total_pages=3)], range(800), 3),
    "a task seen again on a later page": ([page([*range(499), 7], total_pages=2),
                                           page([7, 8, 600], total_pages=2)], [*range(499), 600], 2),
}


@pytest.mark.parametrize("case", list(LYING_PAGES))
def test_list_all_ends_and_never_prints_a_task_twice(cli, make_sim, clock, case):
    """N9: lying total_pages, an empty page before the end, a repeated page: --all ends."""
    pages, expected, count = LYING_PAGES[case]
    sim = world(make_sim, clock, faults={"list-tasks": pages})
    run = cli("list", "--all", "-q", base_url=sim.url, clock=clock)
    assert run.lines == [f"t{i:04d}" for i in expected]
    assert len(to(sim, ep.LIST_TASKS)) == count


def test_list_all_ends_on_a_page_of_items_without_ids_repeated_forever(cli, make_sim, clock):
    anonymous = {"items": [{"status": "finished", "n": i} for i in range(500)]}
    sim = world(make_sim, clock, faults={"list-tasks": [body(anonymous, polls=50)]})
    run = cli("list", "--all", "--json", base_url=sim.url, clock=clock)
    assert len(run.lines) == 500
    assert len(to(sim, ep.LIST_TASKS)) == 2
    assert all(json.loads(line)["task_id"] is None for line in run.lines)
    assert cli("list", "--all", "-q", base_url=sim.url, clock=clock).stdout == ""  # no ID: no line


def test_list_page_past_the_end_says_so(cli, make_sim, clock):
    sim = world(make_sim, clock)
    start(sim, "wf-report")
    run = cli("list", "--page", "3", base_url=sim.url, clock=clock)
    assert run.stdout == ""
    assert run.stderr.strip() == "no tasks on page 3: 1 in all, 1 page of 20"
    run = cli("list", "--page", "9", "--limit", "2", "--status", "failed", base_url=sim.url, clock=clock)
    assert run.stderr.strip() == "no tasks match"


# =========================================================================== stop


def test_stop_a_running_task(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-forever")
    clock.advance(1)
    run = cli("stop", task_id, base_url=sim.url, clock=clock)
    assert run.lines == [f"{task_id}: stop requested"]
    assert sim.task_status(task_id) == "canceled"
    (put,) = to(sim, ep.STOP_TASK)
    assert put.method == "PUT" and put.query == {"task_id": [task_id]}


def test_stop_an_ended_task_is_success_with_its_status_fetched(cli, make_sim, clock):
    """N10: 10121 ("Task has completed.") is success; the state is looked up for the record."""
    sim = world(make_sim, clock, fixed("finished", "failed", "canceled"))
    run = cli("stop", "t-finished", "t-failed", "t-canceled", base_url=sim.url, clock=clock)
    assert run.lines == ["t-finished: had already ended (finished)", "t-failed: had already ended (failed)",
                         "t-canceled: had already ended (canceled)"]
    run = cli("stop", "--json", "t-failed", base_url=sim.url, clock=clock)
    assert docs(run.stdout) == [{"task_id": "t-failed", "action": "stop", "result": "already_terminal",
                                 "status": "failed", "exit_code": 0, "error": None}]
    assert len(to(sim, ep.GET_TASK_STATUS)) == 4


def test_stop_an_ended_task_stays_success_when_the_status_lookup_fails(cli, make_sim, clock):
    sim = world(make_sim, clock, fixed("finished"), faults={"get-task-status": [{"http": 500, "polls": 20}]})
    run = cli("stop", "--json", "t-finished", base_url=sim.url, clock=clock)
    assert docs(run.stdout) == [{"task_id": "t-finished", "action": "stop", "result": "already_terminal",
                                 "status": None, "exit_code": 0, "error": None}]


def test_stop_not_found_is_66(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-forever")
    run = cli("stop", "nope", task_id, expect=66, base_url=sim.url, clock=clock)
    assert run.lines == [f"{task_id}: stop requested"]
    assert "nope: task not found" in run.stderr and "browseract list" in run.stderr
    run = cli("stop", "--json", "nope", expect=66, base_url=sim.url, clock=clock)
    (doc,) = docs(run.stdout)
    assert set(doc) == ACTION_KEYS and doc["result"] is None and doc["exit_code"] == 66
    assert doc["error"]["kind"] == "not_found"


def test_stop_wait_until_canceled(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-forever")
    run = cli("stop", "--wait", "--json", task_id, base_url=sim.url, clock=clock)
    assert docs(run.stdout) == [{"task_id": task_id, "action": "stop", "result": "canceled",
                                 "status": "canceled", "exit_code": 0, "error": None}]
    assert cli("stop", "--wait", task_id, base_url=sim.url, clock=clock).lines == [
        f"{task_id}: had already ended (canceled)"]


def test_stop_wait_timeout_is_124_and_cancels_nothing_more(cli, make_sim, clock):
    # The API accepts the stop but the task keeps running.
    sim = world(make_sim, clock, faults={"stop-task": [{"body": "", "content_type": "application/json"}]})
    task_id = start(sim, "wf-forever")
    run = cli("stop", "--wait", "--timeout", "30s", "--json", task_id, expect=124, base_url=sim.url,
              clock=clock)
    assert docs(run.stdout) == [{"task_id": task_id, "action": "stop", "result": "stop_requested",
                                 "status": "running", "exit_code": 124, "error": None}]
    assert len(to(sim, ep.STOP_TASK)) == 1
    assert sim.task_status(task_id) == "running"
    assert 30 <= clock.now - 1000 < 40


@pytest.mark.parametrize("failure", [{"http": 503}, {"http": 502}, {"http": 500}, {"hangup": True}])
def test_stop_and_resume_retry_a_failed_put(cli, make_sim, clock, failure):
    """N10: stop-task and resume-task are safe to repeat: a 5xx (or a reset) is retried."""
    sim = world(make_sim, clock, fixed("paused"), faults={"stop-task": [failure], "resume-task": [failure]})
    task_id = start(sim, "wf-forever")
    run = cli("stop", "--json", task_id, base_url=sim.url, clock=clock)
    assert docs(run.stdout)[0]["result"] == "stop_requested"
    assert len(to(sim, ep.STOP_TASK)) == 2
    assert sim.task_status(task_id) == "canceled"
    run = cli("resume", "--json", "t-paused", base_url=sim.url, clock=clock)
    assert docs(run.stdout)[0]["result"] == "resumed"
    assert len(to(sim, ep.RESUME_TASK)) == 2


def test_stop_gives_up_after_the_retries_with_69_or_76(cli, make_sim, clock):
    sim = world(make_sim, clock, faults={"stop-task": [{"http": 503, "polls": 100}]})
    task_id = start(sim, "wf-forever")
    run = cli("stop", "--json", task_id, expect=76, base_url=sim.url, clock=clock)
    (doc,) = docs(run.stdout)
    assert doc["result"] is None and doc["error"]["http_status"] == 503
    assert sim.task_status(task_id) == "running"


def test_stop_several_ids_and_stdin(cli, make_sim, clock):
    sim = world(make_sim, clock, fixed("finished"))
    a, b = start(sim, "wf-forever"), start(sim, "wf-forever")
    run = cli("stop", "--json", a, "-", input=f"{b}\nt-finished\n", base_url=sim.url, clock=clock)
    got = docs(run.stdout)
    assert [(d["task_id"], d["result"]) for d in got] == [
        (a, "stop_requested"), (b, "stop_requested"), ("t-finished", "already_terminal")]
    assert all(set(d) == ACTION_KEYS and d["action"] == "stop" for d in got)
    assert sim.task_status(a) == sim.task_status(b) == "canceled"


def test_ctrl_c_during_stop_wait_cancels_nothing_else(cli, make_sim):
    clock = InterruptingClock(after=1)
    sim = world(make_sim, clock, faults={"stop-task": [{"body": "", "content_type": "application/json"}]})
    target, other = start(sim, "wf-forever"), start(sim, "wf-forever")
    run = cli("stop", "--wait", "--json", target, expect=130, base_url=sim.url, clock=clock)
    (doc,) = docs(run.stdout)
    assert doc["exit_code"] == 130 and doc["result"] == "stop_requested"
    assert [r.task_id for r in to(sim, ep.STOP_TASK)] == [target]
    assert to(sim, ep.RESUME_TASK) == []
    assert sim.task_status(other) == "running"


def test_ctrl_c_during_resume_wait_never_stops_the_task(cli, make_sim):
    clock = InterruptingClock(after=1)
    sim = world(make_sim, clock)
    task_id, other = start(sim, "wf-pauses"), start(sim, "wf-forever")
    clock.now += 3
    run = cli("resume", "--wait", task_id, expect=130, base_url=sim.url, clock=clock)
    assert run.lines == [f"{task_id}: resumed (running)"]
    assert "the task keeps running on the server (watching never cancels it)" in run.stderr
    assert to(sim, ep.STOP_TASK) == []
    assert [r.task_id for r in to(sim, ep.RESUME_TASK)] == [task_id]
    assert sim.task_status(task_id) == "running" and sim.task_status(other) == "running"


# =========================================================================== resume


def test_resume_a_paused_task(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-pauses")
    clock.advance(3)
    assert sim.task_status(task_id) == "paused"
    run = cli("resume", task_id, base_url=sim.url, clock=clock)
    assert run.lines == [f"{task_id}: resumed"]
    assert sim.task_status(task_id) == "running"
    run = cli("resume", "--json", task_id, base_url=sim.url, clock=clock)
    assert docs(run.stdout) == [{"task_id": task_id, "action": "resume", "result": "already_running",
                                 "status": "running", "exit_code": 0, "error": None}]


@pytest.mark.parametrize("state", ["created", "running"])
def test_resume_of_a_task_in_progress_is_already_running(cli, make_sim, clock, state):
    sim = world(make_sim, clock, fixed(state))
    run = cli("resume", "--json", f"t-{state}", base_url=sim.url, clock=clock)
    assert docs(run.stdout) == [{"task_id": f"t-{state}", "action": "resume", "result": "already_running",
                                 "status": state, "exit_code": 0, "error": None}]
    assert cli("resume", f"t-{state}", base_url=sim.url, clock=clock).lines == [
        f"t-{state}: was already running ({state})"]


@pytest.mark.parametrize("state", ["finished", "failed", "canceled"])
def test_resume_of_an_ended_task_is_65_naming_the_state(cli, make_sim, clock, state):
    sim = world(make_sim, clock, fixed(state))
    run = cli("resume", f"t-{state}", expect=65, base_url=sim.url, clock=clock)
    assert run.stdout == ""
    assert f"the task is {state}, not paused" in run.stderr
    run = cli("resume", "--json", f"t-{state}", expect=65, base_url=sim.url, clock=clock)
    (doc,) = docs(run.stdout)
    assert set(doc) == ACTION_KEYS
    assert (doc["action"], doc["result"], doc["status"], doc["exit_code"]) == (
        "resume", "not_resumable", state, 65)
    assert doc["error"]["kind"] == "bad_request" and doc["error"]["code"] == 10127
    assert state in doc["error"]["msg"]


def test_resume_not_found_is_66(cli, make_sim, clock):
    sim = world(make_sim, clock)
    run = cli("resume", "--json", "nope", expect=66, base_url=sim.url, clock=clock)
    assert docs(run.stdout)[0]["error"]["kind"] == "not_found"


@pytest.mark.parametrize(("workflow", "final", "code"), [("wf-pauses", "finished", 0),
                                                         ("wf-pauses-then-fails", "failed", 10)])
def test_resume_wait_waits_for_the_outcome(cli, make_sim, clock, workflow, final, code):
    sim = world(make_sim, clock)
    task_id = start(sim, workflow)
    clock.advance(3)
    run = cli("resume", "--wait", "--json", task_id, expect=code, base_url=sim.url, clock=clock)
    assert docs(run.stdout) == [{"task_id": task_id, "action": "resume", "result": "resumed",
                                 "status": final, "exit_code": code, "error": None}]
    assert to(sim, ep.GET_TASK_STATUS), "it waited by polling the status"


def test_resume_wait_timeout_is_124(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-pauses")
    clock.advance(3)
    run = cli("resume", "--wait", "--timeout", "2s", "--interval", "1", "--json", task_id, expect=124,
              base_url=sim.url, clock=clock)
    assert docs(run.stdout) == [{"task_id": task_id, "action": "resume", "result": "resumed",
                                 "status": "running", "exit_code": 124, "error": None}]
    assert sim.task_status(task_id) == "running"


def test_list_paused_q_piped_into_resume(make_sim, clock, captured, tmp_path):
    """`browseract list --status paused -q | browseract resume -`, two real processes."""
    sim = world(make_sim, clock, fixed("paused", "running", "finished"))
    second = start(sim, "wf-pauses-then-fails")
    env = {"BROWSERACT_BASE_URL": sim.url, "BROWSERACT_API_KEY": CANARY, "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path), "BROWSERACT_CONFIG_DIR": str(tmp_path / "config")}
    exe = f"'{sys.executable}' -m browseract_cli"
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {exe} list --status paused -q | {exe} resume --json -"],
                          capture_output=True, text=True, timeout=60, env=env)
    captured.texts.extend([done.stdout, done.stderr])
    assert done.returncode == 0, done.stderr
    got = docs(done.stdout)
    assert sorted((d["task_id"], d["result"]) for d in got) == sorted(
        [("t-paused", "resumed"), (second, "resumed")])
    assert sim.task_status("t-paused") == "running" and sim.task_status(second) == "running"


# =========================================================================== watch, changed


def result_of(stdout: str) -> dict[str, Any]:
    return [d for d in docs(stdout) if d["event"] == "result"][-1]


def test_watch_shows_why_a_task_failed(cli, make_sim, clock):
    sim = world(make_sim, clock)
    task_id = start(sim, "wf-fails")
    run = cli("watch", "--json", task_id, expect=10, base_url=sim.url, clock=clock)
    result = result_of(run.stdout)
    assert result["status"] == "failed" and result["exit_code"] == 10
    assert result["failure"] == {"code": 10001, "message": "Navigation timeout"}
    assert len(to(sim, ep.GET_TASK)) == 1  # looked up once
    other = start(sim, "wf-fails")
    run = cli("watch", other, expect=10, base_url=sim.url, clock=clock)
    assert "failure 10001 Navigation timeout" in run.stdout + run.stderr


@pytest.mark.parametrize(("info", "failure", "shown"), [
    ({"code": 10002}, {"code": 10002, "message": None}, "failure 10002 (no message)"),
    ({"message": "Captcha \x1b[31mwall"}, {"code": None, "message": "Captcha [31mwall"}, "failure Captcha [31mwall"),
    (None, None, None),
])
def test_watch_failure_as_the_task_gives_it(cli, make_sim, clock, info, failure, shown):
    doc = {"id": "t", "status": "failed", **({"task_failure_info": info} if info is not None else {})}
    sim = world(make_sim, clock, {"t": [{"status": "failed"}]}, faults={"get-task": [body(doc, polls=2)]})
    run = cli("watch", "--json", "t", expect=10, base_url=sim.url, clock=clock)
    assert result_of(run.stdout)["failure"] == failure
    run = cli("watch", "t", expect=10, base_url=sim.url, clock=clock)
    assert "\x1b" not in run.stdout + run.stderr
    if shown:
        assert shown in run.stdout
    else:
        assert "failure" not in run.stdout


@pytest.mark.parametrize(("workflow", "code"), [("wf-report", 0), ("wf-forever", 11)])
def test_watch_failure_is_null_for_other_outcomes(cli, make_sim, clock, workflow, code):
    sim = world(make_sim, clock)
    task_id = start(sim, workflow)
    if workflow == "wf-forever":
        requests.put(sim.url + ep.STOP_TASK.path, params={"task_id": task_id}, timeout=5,
                     headers={"Authorization": f"Bearer {CANARY}"}).raise_for_status()
    run = cli("watch", "--json", task_id, expect=code, base_url=sim.url, clock=clock)
    assert result_of(run.stdout)["failure"] is None
    assert to(sim, ep.GET_TASK) == []


@pytest.mark.parametrize("fault", [
    {"http": 503, "polls": 50}, {"http": 400, "code": 10112, "msg": "Task is not exist."},
    {"body": "<html>", "content_type": "text/html"}, {"body": '{"status": 5}', "content_type": "application/json"},
    {"hangup": True, "polls": 50}, {"http": 401},
])
def test_watch_failure_is_null_when_the_lookup_fails_and_the_exit_code_stays_10(cli, make_sim, clock, fault):
    sim = world(make_sim, clock, faults={"get-task": [fault]})
    task_id = start(sim, "wf-fails")
    run = cli("watch", "--json", task_id, expect=10, base_url=sim.url, clock=clock)
    result = result_of(run.stdout)
    assert result["failure"] is None and result["status"] == "failed" and result["error"] is None
    run = cli("watch", task_id, expect=10, base_url=sim.url, clock=clock)
    assert "Traceback" not in run.stderr


# =========================================================================== fuzz

task_fields = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.text(max_size=20), st.integers(-(2**70), 2**70), json_values),
    "workflow_id": st.one_of(st.text(max_size=20), st.integers(0, 2**64), json_values),
    "status": st.one_of(st.sampled_from(list(STATE_CODE)), nasty_text, json_values),
    "created_at": st.one_of(st.sampled_from(["2026-12-01T10:00:00Z", "2026-12-01T10:00:00", "9999-12-31T23:59:59Z",
                                             "0001-01-01T00:00:00+14:00", "", "T", "2026-02-30"]), json_values),
    "finished_at": st.one_of(st.sampled_from(["2026-12-01T11:00:00Z", "2026-12-01T09:00:00Z",
                                              "2026-12-01T11:00:00+01:00"]), json_values),
    "credit": st.one_of(st.integers(-(2**70), 2**70), json_values),
    "profile_id": json_values, "profileId": json_values,
    "task_failure_info": st.one_of(st.fixed_dictionaries({}, optional={"code": json_values, "message": json_values}),
                                   json_values),
    "live_url_info": st.one_of(st.fixed_dictionaries({}, optional={"live_url": json_values}), json_values),
    "live_url": json_values, "log_detail_url": json_values,
    "input_parameters": st.one_of(nasty_text, st.lists(st.one_of(
        st.fixed_dictionaries({}, optional={"name": json_values, "value": json_values}), json_values), max_size=4)),
    "output": st.one_of(st.fixed_dictionaries({}, optional={
        "string": st.one_of(nasty_text, st.just('{"items": [1, {"a": null}]}'), json_values),
        "files": st.one_of(st.lists(st.one_of(st.text(max_size=30), json_values), max_size=3), json_values)}),
        json_values),
    "steps": st.one_of(st.lists(st.one_of(st.fixed_dictionaries({}, optional={
        "step": json_values, "status": json_values, "step_goal": json_values,
        "evaluation_previous_goal": json_values, "screenshots_url": json_values}), json_values), max_size=4),
        json_values),
    "download_files": st.one_of(st.lists(st.one_of(st.fixed_dictionaries({}, optional={
        "fileName": json_values, "fileSize": st.one_of(st.integers(-5, 2**80), json_values),
        "downloadUrl": json_values, "expiresAt": st.one_of(st.integers(-(2**70), 2**70), json_values),
        "status": json_values, "errorMessage": json_values}), json_values), max_size=3), json_values),
    "files_expires_at": json_values,
})
states = st.one_of(st.sampled_from(list(STATE_CODE)), nasty_text, json_values)
# Mostly objects with a string status (what the views must cope with), else anything at all.
answers = st.one_of(st.builds(lambda doc, status: {**doc, "status": status}, task_fields,
                              st.one_of(st.sampled_from(list(STATE_CODE)), nasty_text)),
                    st.builds(lambda doc, task_id: {**doc, "id": task_id, "status": "paused"}, task_fields, nasty_text),
                    task_fields, json_values)


class Answering:
    """A stand-in for ApiClient whose every request answers ``value`` (the decoded body)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.value


def plain_output() -> tuple[Output, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Output(out, err, env={}), out, err


def check_shown(text: str) -> None:
    assert CANARY not in text
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    text.encode("utf-8")


@fuzz_settings(150)
@given(value=answers, steps=st.booleans())
def test_fuzz_get_task_answers_directly(value: Any, steps: bool) -> None:
    try:
        task = ep.get_task(Answering(value), "t")  # type: ignore[arg-type]
    except ApiError as err:
        assert err.exit_code == 76
        return
    assert type(task.status) is str
    for ident in (task.id, task.workflow_id, task.profile_id):
        assert ident is None or type(ident) is str
    out, stdout, stderr = plain_output()
    taskops.show_task(out, task, steps)
    check_shown(stdout.getvalue() + stderr.getvalue())
    code = taskops.task_code(task, None)
    assert code in {0, 10, 11, 12, 13, 14}
    record = taskops.get_record("t", task, None, code)
    assert record["task"] is value
    json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")


pages = st.one_of(
    st.fixed_dictionaries({}, optional={
        "items": st.one_of(st.lists(st.one_of(task_fields, json_values), max_size=6), json_values),
        "page": json_values, "total_pages": st.one_of(st.integers(-3, 10**9), json_values),
        "total_count": st.one_of(st.integers(-3, 10**12), json_values)}),
    json_values)


@fuzz_settings(150)
@given(value=pages)
def test_fuzz_list_pages_directly(value: Any) -> None:
    try:
        result = ep.list_tasks(Answering(value), 1, 20)  # type: ignore[arg-type]
    except ApiError as err:
        assert err.exit_code == 76
        return
    for entry in result.items:
        record = taskops.list_record(entry)
        assert record["task_id"] is None or type(record["task_id"]) is str
        assert record["workflow_id"] is None or type(record["workflow_id"]) is str
        json.dumps(record, ensure_ascii=False)
        row = taskops._list_row(entry)
        out, stdout, _ = plain_output()
        out.table(taskops.LIST_COLUMNS, [[row]])
        check_shown(stdout.getvalue())


def scripted_pages(draw: st.DrawFn) -> list[Page]:
    ids = st.one_of(st.integers(0, 30).map(str), st.integers(0, 30), st.none(),
                    st.sampled_from([True, 1.5, "", [], {}, {"id": 1}]))
    return [Page([{"id": i} if i is not None else {"x": draw(st.integers(0, 3))}
                  for i in draw(st.lists(ids, max_size=8))],
                 None, draw(st.one_of(st.none(), st.integers(-2, 50))), draw(st.one_of(st.none(), st.integers(-2, 99))))
            for _ in range(draw(st.integers(0, 8)))]


@fuzz_settings(150)
@given(data=st.data(), limit=st.integers(1, 8), max_items=st.one_of(st.none(), st.integers(1, 20)),
       first=st.integers(1, 3), repeat=st.booleans())
def test_fuzz_paginate_always_ends_and_never_yields_an_item_twice(data, limit, max_items, first, repeat):
    script = scripted_pages(data.draw)
    fetched: list[int] = []

    def fetch(number: int, n: int) -> Page:
        fetched.append(number)
        assert n == limit and len(fetched) < 100, "paginate keeps asking"
        index = number - first
        if repeat and script and index >= len(script):
            return script[-1]  # a server that repeats its last page forever
        return script[index] if index < len(script) else Page([], None, None, None)

    walk = ep.paginate(fetch, limit=limit, first_page=first, max_items=max_items)
    seen: list[Any] = []
    for batch in walk.pages:
        assert batch, "an empty batch"
        seen.extend(batch)
    keys = [json.dumps(entry, sort_keys=True, default=str) for entry in seen]
    assert len(keys) == len(set(keys)), "an item twice"
    ids = [Task(entry).id for entry in seen if Task(entry).id is not None]
    assert len(ids) == len(set(ids))
    if max_items is not None:
        assert len(seen) <= max_items
    assert fetched == list(range(first, first + len(fetched)))


@pytest.fixture(scope="module")
def fuzz_sim() -> Iterator[Any]:
    from browseract_cli.simulator import SimServer

    with SimServer("127.0.0.1", 0, api_key=CANARY, include_demo=False) as server:
        yield server


def fuzz_body(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> bytes:
    value = draw(strategy)
    return json.dumps(value, allow_nan=True, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("command", [["get"], ["get", "--json"], ["get", "--steps"], ["list"], ["list", "--json"],
                                     ["list", "-q"], ["list", "--all", "-q"], ["stop", "--json"], ["resume"]],
                         ids=" ".join)
@fuzz_settings(30)
@given(data=st.data())
def test_fuzz_answers_end_to_end(fuzz_sim: Any, cli: Callable[..., Run], data: Any, command: list[str]) -> None:
    name = command[0]
    endpoint = {"get": "get-task", "list": "list-tasks", "stop": "stop-task", "resume": "resume-task"}[name]
    strategy = answers if name == "get" else pages if name == "list" else json_values
    payload = fuzz_body(data.draw, strategy)
    fuzz_sim.add_fault(endpoint, [{"body": payload, "content_type": "application/json", "polls": 3}])
    fuzz_sim.add_fault("get-task-status", [{"body": fuzz_body(data.draw, st.one_of(
        st.fixed_dictionaries({"status": states}), json_values)),
        "content_type": "application/json", "polls": 3}])
    args = command if name == "list" else [*command, "1642903474253784"]
    run = cli(*args, expect=None, base_url=fuzz_sim.url)
    assert run.exit_code in CONTRACT_CODES and run.exit_code not in (1, 2, 78), run.stderr
    check_shown(run.stderr if "--json" in command else run.stdout + run.stderr)
    assert "\x1b" not in run.stdout and CANARY not in run.stdout
    if "--json" in command:
        for doc in docs(run.stdout):
            assert doc["task_id"] is None or type(doc["task_id"]) is str
            if "workflow_id" in doc:
                assert doc["workflow_id"] is None or type(doc["workflow_id"]) is str
            assert doc.get("exit_code", 0) in CONTRACT_CODES
    assert fuzz_sim.errors == []
