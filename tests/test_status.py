"""`browseract status` end to end against the simulator: states, output modes, task IDs, errors.

Contract: "Commands", "Exit codes", "Classifying API answers", "Output". Checklist rows C1-C5,
D1-D12, E1-E13, F1, H4, H5, H8.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from browseract_cli.simulator import SimServer

ESC = "\x1b"
JSON_KEYS = {"task_id", "status", "exit_code", "error"}
ERROR_KEYS = {"kind", "http_status", "code", "msg", "trace_id"}
REPO = Path(__file__).resolve().parents[1]


def json_lines(stdout: str) -> list[dict]:
    """Every stdout line parses as one JSON object with exactly the contract's keys."""
    docs = []
    for line in stdout.splitlines():
        doc = json.loads(line)
        assert isinstance(doc, dict)
        assert set(doc) == JSON_KEYS, line
        if doc["error"] is not None:
            assert set(doc["error"]) == ERROR_KEYS, line
        docs.append(doc)
    return docs


def no_escapes(run) -> None:  # type: ignore[no-untyped-def]
    assert ESC not in run.stdout
    assert ESC not in run.stderr
    assert "\x9b" not in run.stdout + run.stderr  # C1 CSI


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_task(make_sim, steps: list[dict], task_id: str = "t1") -> SimServer:  # type: ignore[no-untyped-def]
    return make_sim({task_id: steps})


# --------------------------------------------------------------------------- states


@pytest.mark.parametrize(
    ("state", "code"),
    [("finished", 0), ("failed", 10), ("canceled", 11), ("paused", 12), ("unknown", 13),
     ("created", 14), ("running", 14), ("pausing", 14)],
)
def test_each_state_has_its_exit_code(cli, make_sim, state: str, code: int) -> None:
    sim = one_task(make_sim, [{"status": state}])
    run = cli("status", "t1", expect=code, base_url=sim.url)
    assert run.lines == ["TASK  STATUS", f"t1    {state}"]
    assert run.stderr == ""
    assert [r.task_id for r in sim.requests] == ["t1"]


def test_status_outside_enum_is_13_with_one_warning_line(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"status": "queued"}])
    run = cli("status", "t1", expect=13, base_url=sim.url)
    assert run.lines == ["TASK  STATUS", "t1    queued"]
    warnings = run.stderr.splitlines()
    assert len(warnings) == 1
    assert "warning" in warnings[0] and "'queued'" in warnings[0] and "unknown" in warnings[0]


def test_unrecognised_status_is_sanitised_everywhere(cli, make_sim) -> None:
    raw = "\x1b[2J\x1b]8;;http://evil.example/\x07que\x9bued\x1b[0m"
    sim = one_task(make_sim, [{"status": raw}])
    run = cli("status", "t1", expect=13, base_url=sim.url)
    no_escapes(run)
    assert "queued" in run.stderr and "queued" in run.stdout
    assert len(run.stderr.splitlines()) == 1
    run = cli("status", "--json", "t1", expect=13, base_url=sim.url)
    no_escapes(run)
    assert "\\u001b" not in run.stdout  # removed, not merely escaped by json.dumps
    [doc] = json_lines(run.stdout)
    assert doc["exit_code"] == 13 and "queued" in doc["status"]


def test_huge_status_is_capped(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"status": "q" * 50_000}])
    run = cli("status", "t1", expect=13, base_url=sim.url)
    assert len(run.stdout) < 2000 and len(run.stderr) < 2000


# --------------------------------------------------------------------------- --exit-zero


def test_exit_zero_when_every_lookup_succeeded(cli, make_sim) -> None:
    sim = make_sim({"a": [{"status": "failed"}], "b": [{"status": "running"}]})
    run = cli("status", "--exit-zero", "a", "b", expect=0, base_url=sim.url)
    assert "failed" in run.stdout and "running" in run.stdout


def test_exit_zero_still_fails_when_a_lookup_failed(cli, make_sim) -> None:
    sim = make_sim({"a": [{"status": "finished"}]})
    cli("status", "--exit-zero", "a", "nope", expect=66, base_url=sim.url)
    cli("status", "--exit-zero", "nope", expect=66, base_url=sim.url)
    cli("status", "--exit-zero", "a", expect=0, base_url=sim.url)


# --------------------------------------------------------------------------- -q and --json


def test_quiet_one_task_prints_only_the_word(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"status": "paused"}])
    run = cli("status", "-q", "t1", expect=12, base_url=sim.url)
    assert run.stdout == "paused\n"
    run = cli("status", "--quiet", "t1", expect=12, base_url=sim.url)
    assert run.stdout == "paused\n"


def test_quiet_several_tasks_prints_id_tab_status(cli, make_sim) -> None:
    sim = make_sim({"a b": [{"status": "finished"}], "c": [{"status": "failed"}]})
    run = cli("status", "-q", "a b", "c", expect=10, base_url=sim.url)
    assert run.stdout == "a b\tfinished\nc\tfailed\n"


def test_quiet_lookup_error_goes_to_stderr_only(cli, make_sim) -> None:
    sim = make_sim({"a": [{"status": "finished"}]})
    run = cli("status", "-q", "a", "nope", expect=66, base_url=sim.url)
    assert run.stdout == "a\tfinished\n"
    assert "nope" in run.stderr and "10112" in run.stderr


def test_json_one_line_per_task_nothing_else(cli, make_sim) -> None:
    sim = make_sim({"a": [{"status": "running"}], "b": [{"status": "queued"}]})
    run = cli("status", "--json", "a", "b", "nope", expect=66, base_url=sim.url)
    a, b, nope = json_lines(run.stdout)
    assert a == {"task_id": "a", "status": "running", "exit_code": 14, "error": None}
    assert b == {"task_id": "b", "status": "queued", "exit_code": 13, "error": None}
    assert nope["task_id"] == "nope" and nope["status"] is None and nope["exit_code"] == 66
    err = nope["error"]
    assert err["kind"] == "not_found" and err["http_status"] == 400 and err["code"] == 10112
    assert err["msg"] == "Task is not exist."
    assert re.fullmatch(r"[0-9a-f]{32}", err["trace_id"])
    assert "warning" in run.stderr  # the unrecognised status warning is on stderr, not stdout


def test_json_and_quiet_together_is_usage_error(cli, sim) -> None:
    cli("status", "--json", "-q", "x", expect=2, base_url=sim.url)
    assert sim.requests == []


def test_json_lines_stay_whole_in_a_narrow_terminal(cli, make_sim) -> None:
    long_id = "task-" + "x" * 200
    sim = make_sim({long_id: [{"status": "finished"}]})
    run = cli("status", "--json", long_id, "nope", expect=66, base_url=sim.url,
              env={"COLUMNS": "20"})
    docs = json_lines(run.stdout)
    assert [d["task_id"] for d in docs] == [long_id, "nope"]
    run = cli("status", "-q", long_id, "nope", expect=66, base_url=sim.url, env={"COLUMNS": "20"})
    assert run.stdout == f"{long_id}\tfinished\n"


def test_human_output_off_a_terminal_is_plain_and_unwrapped(cli, make_sim) -> None:
    long_id = "task-" + "y" * 150
    sim = make_sim({long_id: [{"status": "finished"}], "b": [{"status": "canceled"}]})
    run = cli("status", long_id, "b", expect=11, base_url=sim.url, env={"COLUMNS": "20"})
    no_escapes(run)
    assert len(run.lines) == 3
    assert run.lines[1].startswith(long_id) and run.lines[1].endswith("finished")
    assert run.lines[2].startswith("b ") and run.lines[2].endswith("canceled")


# --------------------------------------------------------------------------- several tasks


@pytest.mark.parametrize(
    ("states", "code"),
    [
        (["finished", "failed"], 10),
        (["finished", "running", "paused"], 12),
        (["running", "canceled"], 11),
        (["canceled", "queued"], 13),
        (["failed", "queued"], 10),
        (["finished", "finished"], 0),
    ],
)
def test_several_tasks_most_severe_state_wins(cli, make_sim, states: list[str], code: int) -> None:
    tasks = {f"t{i}": [{"status": s}] for i, s in enumerate(states)}
    sim = make_sim(tasks)
    cli("status", *tasks, expect=code, base_url=sim.url)
    assert sim.request_count() == len(states)


def test_several_tasks_lookup_errors_outrank_states(cli, make_sim) -> None:
    sim = make_sim({"ok": [{"status": "finished"}], "bad": [{"status": "failed"}],
                    "rej": [{"http": 400, "code": 99001, "msg": "request parameter error"}]})
    cli("status", "ok", "bad", "nope", expect=66, base_url=sim.url)
    cli("status", "ok", "bad", "rej", expect=65, base_url=sim.url)
    cli("status", "rej", "nope", expect=66, base_url=sim.url)
    run = cli("status", "--json", "ok", "bad", "nope", expect=66, base_url=sim.url)
    assert [d["exit_code"] for d in json_lines(run.stdout)] == [0, 10, 66]
    # every task is looked up, even after a failure
    assert {"ok", "bad", "nope"} <= {r.task_id for r in sim.requests}


def test_error_for_one_of_several_tasks_names_the_task(cli, make_sim) -> None:
    sim = make_sim({"ok": [{"status": "finished"}]})
    run = cli("status", "ok", "missing-one", expect=66, base_url=sim.url)
    assert "missing-one: task not found" in run.stderr
    # issue 10 #30: the failed lookup is a row of its own, with what went wrong
    assert run.lines == ["TASK         STATUS", "ok           finished", "missing-one  (task not found)"]


def test_ids_in_messages_are_quoted_when_spaces_or_escapes_would_hide_them(cli, make_sim) -> None:
    sim = make_sim({})
    run = cli("status", " ", expect=66, base_url=sim.url)
    assert "error: ' ': task not found" in run.stderr
    run = cli("status", "a b", "x", expect=66, base_url=sim.url)
    assert "error: 'a b': task not found" in run.stderr and "error: x: task not found" in run.stderr


# --------------------------------------------------------------------------- stdin


def test_dash_reads_ids_from_stdin(cli, make_sim) -> None:
    sim = make_sim({"a": [{"status": "finished"}], "b": [{"status": "running"}]})
    run = cli("status", "-q", "-", expect=14, base_url=sim.url,
              input="# a comment\n\na\n   \n  # indented comment\nb\n")
    assert run.stdout == "a\tfinished\nb\trunning\n"  # in the order given
    assert sorted(r.task_id for r in sim.requests) == ["a", "b"]  # looked up at once, on the pool


def test_dash_mixed_with_arguments(cli, make_sim) -> None:
    sim = make_sim({"a": [{"status": "finished"}], "b": [{"status": "finished"}]})
    run = cli("status", "-q", "a", "-", expect=0, base_url=sim.url, input="b\n")
    assert run.stdout == "a\tfinished\nb\tfinished\n"  # arguments first, then stdin, in order
    assert sorted(r.task_id for r in sim.requests) == ["a", "b"]  # sent on the pool, any order


def test_dash_with_only_comments_is_usage_error(cli, sim) -> None:
    cli("status", "-", expect=2, base_url=sim.url, input="# nothing\n\n")
    assert sim.requests == []


def test_crlf_lines_from_real_stdin_are_stripped(make_sim, captured, canary: str) -> None:
    # In-process, the test runner's stdin translates CRLF already; a real process does not.
    sim = make_sim({"a": [{"status": "finished"}], "b": [{"status": "failed"}]})
    env = {k: v for k, v in os.environ.items()}
    env.update(BROWSERACT_BASE_URL=sim.url, BROWSERACT_API_KEY=canary, NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-m", "browseract_cli", "status", "-q", "-"],
        input=b"# ids\r\na\r\n\r\nb\r\n", capture_output=True, env=env, cwd=REPO, timeout=60,
    )
    out, err = proc.stdout.decode(), proc.stderr.decode()
    captured.texts.extend([out, err])
    assert proc.returncode == 10, err
    assert out.replace(os.linesep, "\n") == "a\tfinished\nb\tfailed\n"  # CRLF on Windows
    assert sorted(r.task_id for r in sim.requests) == ["a", "b"]


# --------------------------------------------------------------------------- task IDs


@pytest.mark.parametrize(
    "bad",
    ["", "x" * 257, "a\tb", "a\x1b[31mb", "a\nb", "a\rb", "a\x7fb", "a\x85b", "\x9b"],
    ids=["empty", "257-chars", "tab", "esc", "newline", "cr", "del", "c1-nel", "c1-csi"],
)
def test_invalid_task_id_is_usage_error_and_nothing_is_sent(cli, sim, bad: str) -> None:
    run = cli("status", "demo-finished", bad, expect=2, base_url=sim.url)
    assert sim.requests == []
    assert "task ID" in run.stderr
    no_escapes(run)
    assert run.stdout == ""


@pytest.mark.parametrize("bad_line", ["a\x1bb", "a\tb", "a\x00b", "z" * 257])
def test_one_bad_stdin_line_stops_everything(cli, sim, bad_line: str) -> None:
    run = cli("status", "-", expect=2, base_url=sim.url, input=f"demo-finished\n{bad_line}\nx\n")
    assert sim.requests == []
    no_escapes(run)


def test_task_id_of_256_chars_is_sent(cli, sim) -> None:
    cli("status", "z" * 256, expect=66, base_url=sim.url)
    assert [r.task_id for r in sim.requests] == ["z" * 256]


@pytest.mark.parametrize(
    "task_id",
    ["a&b=c", "#frag", "a/b/../c", "100%", "50%25", "what?x=1", "a+b", "has space",
     " leading", "trailing ", "задача-é-漢字", "emoji-\U0001f600", "=", "\\", "'\"<>"],
)
def test_task_id_reaches_the_server_exactly(cli, make_sim, task_id: str) -> None:
    sim = make_sim({task_id: [{"status": "finished"}]})
    run = cli("status", "-q", task_id, expect=0, base_url=sim.url)
    assert run.stdout == "finished\n"
    [req] = sim.requests
    assert req.task_id == task_id
    assert req.query == {"task_id": [task_id]}
    assert req.path == "/v2/workflow/get-task-status"


def test_whitespace_only_task_id_is_sent(cli, sim) -> None:
    cli("status", "   ", expect=66, base_url=sim.url)
    assert [r.task_id for r in sim.requests] == ["   "]


# --------------------------------------------------------------------------- key problems


def test_missing_key_is_78_and_nothing_is_sent(cli, sim, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    run = cli("status", "demo-finished", expect=78, base_url=sim.url)
    assert "set-key" in run.stderr and "BROWSERACT_API_KEY" in run.stderr
    assert run.stdout == ""
    assert sim.requests == []


def test_empty_or_blank_key_env_counts_as_unset(cli, sim) -> None:
    cli("status", "demo-finished", expect=78, base_url=sim.url, env={"BROWSERACT_API_KEY": ""})
    cli("status", "demo-finished", expect=78, base_url=sim.url, env={"BROWSERACT_API_KEY": "  "})
    assert sim.requests == []


def test_missing_key_in_json_mode_is_a_config_record(cli, sim, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    run = cli("status", "--json", "a", "b", expect=78, base_url=sim.url)
    docs = json_lines(run.stdout)
    assert [d["task_id"] for d in docs] == ["a", "b"]
    for doc in docs:
        assert doc["exit_code"] == 78 and doc["status"] is None
        assert doc["error"]["kind"] == "config"
    assert sim.requests == []


@pytest.mark.parametrize(
    "key",
    ["ba_SECRETpart1 SECRETpart2", "ba_SECRETpart1\tSECRETpart2", "ba_SECRETpart1\x07SECRETpart2",
     "ba_SECRETpart1\x1b[31mSECRETpart2", "ba_SECRETpart1éSECRETpart2", "ba_SECRETpart1\u00a0SECRETpart2"],
    ids=["space", "tab", "bel", "esc", "non-ascii", "nbsp"],
)
def test_malformed_key_in_env_is_78_without_echo(cli, sim, key: str) -> None:
    run = cli("status", "demo-finished", expect=78, base_url=sim.url, env={"BROWSERACT_API_KEY": key})
    assert "SECRETpart" not in run.stdout + run.stderr
    assert "BROWSERACT_API_KEY" in run.stderr
    no_escapes(run)
    assert sim.requests == []


def test_key_with_surrounding_whitespace_is_stripped(cli, sim, canary: str) -> None:
    cli("status", "demo-forever", expect=14, base_url=sim.url,
        env={"BROWSERACT_API_KEY": f"  {canary}\n"})
    [req] = sim.requests
    assert req.authorization == f"Bearer {canary}"


def test_wrong_key_is_77_at_once_with_a_set_key_hint(cli, sim) -> None:
    run = cli("status", "demo-finished", expect=77, base_url=sim.url,
              env={"BROWSERACT_API_KEY": "ba_wrong_key_0123456789"})
    assert "set-key" in run.stderr
    assert "HTTP 401" in run.stderr and "code 401" in run.stderr
    assert "ba_wrong_key_0123456789" not in run.stderr
    assert len(sim.requests) == 1  # 401 is never retried
    run = cli("status", "--json", "demo-finished", expect=77, base_url=sim.url,
              env={"BROWSERACT_API_KEY": "ba_wrong_key_0123456789"})
    [doc] = json_lines(run.stdout)
    assert doc["error"]["kind"] == "auth" and doc["error"]["http_status"] == 401


def test_rejected_key_hint_names_its_source(cli, sim, canary: str, isolate_env: Path,
                                            monkeypatch) -> None:
    run = cli("status", "demo-finished", "demo-failed", expect=77, base_url=sim.url,
              env={"BROWSERACT_API_KEY": "ba_wrong_key_0123456789"})
    hints = [line for line in run.stderr.splitlines() if line.startswith("hint:")]
    assert len(hints) == 2
    assert all("the key from env BROWSERACT_API_KEY was rejected" in h for h in hints)
    monkeypatch.delenv("BROWSERACT_API_KEY")
    cfg = isolate_env / "config"
    cfg.mkdir(mode=0o700)
    (cfg / "config.toml").write_text('[profiles.default]\napi_key = "ba_file_wrong_0123456"\n')
    os.chmod(cfg / "config.toml", 0o600)
    run = cli("status", "demo-finished", expect=77, base_url=sim.url)
    assert f"the key from file {cfg / 'config.toml'}" in run.stderr
    assert "ba_file_wrong_0123456" not in run.stderr


def test_watch_names_the_rejected_keys_source(cli, make_sim) -> None:
    sim = make_sim({"t": [{"http": 401, "code": 401, "msg": "Invalid authorization"}]})
    run = cli("watch", "t", expect=77, base_url=sim.url)
    assert "the key from env BROWSERACT_API_KEY was rejected" in run.stderr


def test_403_is_77_without_retry(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 403}])
    cli("status", "t1", expect=77, base_url=sim.url)
    assert sim.request_count() == 1


# --------------------------------------------------------------------------- API errors


def test_unknown_task_is_66_with_code_msg_and_trace_id(cli, sim) -> None:
    run = cli("status", "no-such-task", expect=66, base_url=sim.url)
    assert run.stdout == ""
    assert "10112" in run.stderr and "Task is not exist." in run.stderr
    assert re.search(r"traceId [0-9a-f]{32}", run.stderr)
    assert "HTTP 400" in run.stderr
    assert "hint:" in run.stderr
    assert sim.request_count() == 1


def test_99001_envelope_is_65(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 400, "code": 99001, "msg": "request parameter error"}])
    run = cli("status", "t1", expect=65, base_url=sim.url)
    assert "99001" in run.stderr and "request parameter error" in run.stderr
    assert sim.request_count() == 1


def test_bare_404_step_is_65(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 404}])
    cli("status", "t1", expect=65, base_url=sim.url)
    sim = one_task(make_sim, [{"body": "Not Found", "http": 404, "content_type": "text/plain"}])
    run = cli("status", "t1", expect=65, base_url=sim.url)
    assert "404" in run.stderr
    assert sim.request_count() == 1


def test_wrong_path_prefix_in_base_url_is_65(cli, sim) -> None:
    run = cli("status", "demo-finished", expect=65, base_url=sim.url + "/api")
    assert "404" in run.stderr
    [req] = sim.requests
    assert req.path == "/api/v2/workflow/get-task-status"


@pytest.mark.parametrize(("http", "code"), [(405, 65), (409, 65), (414, 65), (422, 65)])
def test_other_4xx_is_65_without_retry(cli, make_sim, http: int, code: int) -> None:
    sim = one_task(make_sim, [{"http": http}])
    cli("status", "t1", expect=code, base_url=sim.url)
    assert sim.request_count() == 1


def test_429_always_is_75_after_exactly_4_attempts(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 429}])
    run = cli("status", "t1", expect=75, base_url=sim.url)
    assert sim.request_count() == 4
    assert "429" in run.stderr


def test_429_with_retry_after_is_75_after_4_attempts(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 429, "retry_after": "1"}])
    cli("status", "t1", expect=75, base_url=sim.url)
    assert sim.request_count() == 4


@pytest.mark.parametrize("http", [500, 502, 503, 504])
def test_retried_5xx_always_is_76_after_4_attempts(cli, make_sim, http: int) -> None:
    sim = one_task(make_sim, [{"http": http}])
    run = cli("status", "t1", expect=76, base_url=sim.url)
    assert sim.request_count() == 4
    assert f"HTTP {http}" in run.stderr


@pytest.mark.parametrize("http", [501, 505, 599])
def test_other_5xx_is_76_without_retry(cli, make_sim, http: int) -> None:
    sim = one_task(make_sim, [{"http": http}])
    cli("status", "t1", expect=76, base_url=sim.url)
    assert sim.request_count() == 1


def test_500_then_200_succeeds(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 500}, {"http": 503, "retry_after": "0"}, {"status": "finished"}])
    run = cli("status", "t1", expect=0, base_url=sim.url)
    assert sim.request_count() == 3
    assert run.lines == ["TASK  STATUS", "t1    finished"]
    assert run.stderr == ""  # retries are silent without -v


def test_408_exhausted_is_65(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 408}])
    cli("status", "t1", expect=65, base_url=sim.url)
    assert sim.request_count() == 4


@pytest.mark.parametrize("http", [301, 302, 303, 307, 308])
def test_redirect_is_76_and_never_followed(cli, make_sim, http: int) -> None:
    other = make_sim({"t1": [{"status": "finished"}]})
    sim = one_task(make_sim, [{"http": http, "location": f"http://127.0.0.1:{other.port}/x"}])
    run = cli("status", "t1", expect=76, base_url=sim.url)
    assert other.requests == []
    assert sim.request_count() == 1
    assert "redirect" in run.stderr and "127.0.0.1" in run.stderr


def test_redirect_with_valid_body_is_still_76(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"body": '{"status": "finished"}', "http": 302,
                               "content_type": "application/json", "location": "/elsewhere"}])
    cli("status", "t1", expect=76, base_url=sim.url)


BAD_BODIES = {
    "html": ("<html><body>captive portal</body></html>", "text/html"),
    "empty": ("", "application/json"),
    "truncated": ('{"status": "runn', "application/json"),
    "array": ('["finished"]', "application/json"),
    "string": ('"finished"', "application/json"),
    "number": ("1", "application/json"),
    "null": ("null", "application/json"),
    "no-status": ('{"state": "finished"}', "application/json"),
    "status-null": ('{"status": null}', "application/json"),
    "status-number": ('{"status": 3}', "application/json"),
    "status-list": ('{"status": ["finished"]}', "application/json"),
    "status-bool": ('{"status": true}', "application/json"),
    "status-object": ('{"status": {"value": "finished"}}', "application/json"),
    "deep-array": ("[" * 100_000 + "]" * 100_000, "application/json"),
    "deep-object": ('{"a":' * 50_000 + "1" + "}" * 50_000, "application/json"),
    "huge": ('{"status": "finished", "pad": "' + "x" * (1024 * 1024 + 10) + '"}', "application/json"),
    "code-zero-no-status": ('{"code": 0, "msg": "ok"}', "application/json"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_200_body_is_76_no_traceback_no_retry(cli, make_sim, name: str) -> None:
    body, ctype = BAD_BODIES[name]
    sim = one_task(make_sim, [{"body": body, "content_type": ctype}])
    run = cli("status", "t1", expect=76, base_url=sim.url)
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert 0 < len(run.stderr) < 2000
    assert sim.request_count() == 1  # 200 is not a retry status
    run = cli("status", "--json", "t1", expect=76, base_url=sim.url)
    [doc] = json_lines(run.stdout)
    assert doc["error"]["kind"] == "server" and doc["error"]["http_status"] == 200


def test_invalid_utf8_body_is_76(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"body": b'{"status": "fin\xffished"}', "content_type": "application/json"}])
    cli("status", "t1", expect=76, base_url=sim.url)


def test_bom_and_duplicate_keys_are_tolerated(cli, make_sim) -> None:
    sim = make_sim({
        "bom": [{"body": b'\xef\xbb\xbf{"status": "failed"}', "content_type": "application/json"}],
        "dup": [{"body": '{"status": "running", "status": "canceled"}', "content_type": "application/json"}],
    })
    run = cli("status", "-q", "bom", "dup", expect=10, base_url=sim.url)
    assert run.stdout == "bom\tfailed\ndup\tcanceled\n"


def test_html_200_names_status_and_content_type(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"body": "<html>portal</html>", "content_type": "text/html; charset=utf-8"}])
    run = cli("status", "t1", expect=76, base_url=sim.url)
    assert "HTTP 200" in run.stderr and "text/html" in run.stderr
    assert "portal" not in run.stderr  # an excerpt only with -v


@pytest.mark.parametrize(
    ("code", "expect"),
    [(12345, 76), (10112, 66), (99001, 65), (401, 77), (99002, 77)],
)
def test_envelope_at_http_200_goes_by_business_code(cli, make_sim, code: int, expect: int) -> None:
    sim = one_task(make_sim, [{"http": 200, "code": code, "msg": "business says no"}])
    run = cli("status", "t1", expect=expect, base_url=sim.url)
    assert f"code {code}" in run.stderr and "business says no" in run.stderr
    assert sim.request_count() == 1


def test_envelope_with_status_field_is_still_an_error(cli, make_sim) -> None:
    body = json.dumps({"code": 10112, "msg": "gone", "status": "finished", "traceId": "tr-1"})
    sim = one_task(make_sim, [{"body": body, "content_type": "application/json"}])
    run = cli("status", "--json", "t1", expect=66, base_url=sim.url)
    [doc] = json_lines(run.stdout)
    assert doc["status"] is None
    assert doc["error"] == {"kind": "not_found", "http_status": 200, "code": 10112, "msg": "gone",
                            "trace_id": "tr-1"}


def test_connection_refused_is_69(cli) -> None:
    port = closed_port()
    run = cli("status", "t1", expect=69, base_url=f"http://127.0.0.1:{port}")
    assert "refused" in run.stderr and f"127.0.0.1:{port}" in run.stderr
    assert run.stdout == ""
    run = cli("status", "--json", "t1", expect=69, base_url=f"http://127.0.0.1:{port}")
    [doc] = json_lines(run.stdout)
    assert doc["error"]["kind"] == "network" and doc["error"]["http_status"] is None


def test_verbose_logs_requests_to_stderr_with_the_key_redacted(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 503}, {"status": "finished"}])
    run = cli("-v", "status", "-q", "t1", expect=0, base_url=sim.url)
    assert run.stdout == "finished\n"  # the log is not data
    assert "> GET" in run.stderr and "< HTTP 503" in run.stderr and "< HTTP 200" in run.stderr
    assert "Bearer ****" in run.stderr
    run = cli("-v", "status", "t1", expect=77, base_url=sim.url,
              env={"BROWSERACT_API_KEY": "ba_wrong_key_0123456789"})
    assert "ba_wrong_key_0123456789" not in run.stderr


# --------------------------------------------------------------------------- hostile server text


def test_escape_sequences_in_msg_and_trace_id_are_removed(cli, make_sim) -> None:
    body = json.dumps({
        "code": 10112,
        "msg": "\x1b[2J\x1b[1;31mTask\x1b[0m is \x1b]8;;http://evil.example/\x07not\x1b]8;;\x07 exist",
        "traceId": "\x1b[31mtrace\x9b1m-42\x07",
        "data": None,
    })
    sim = one_task(make_sim, [{"body": body, "http": 400, "content_type": "application/json"}])
    run = cli("status", "t1", expect=66, base_url=sim.url)
    no_escapes(run)
    assert "\x07" not in run.stderr
    assert "exist (HTTP 400, code 10112, traceId " in run.stderr
    assert "trace1m-42" in run.stderr
    run = cli("status", "--json", "t1", expect=66, base_url=sim.url)
    no_escapes(run)
    [doc] = json_lines(run.stdout)
    assert ESC not in doc["error"]["msg"] and ESC not in doc["error"]["trace_id"]
    assert "\x07" not in doc["error"]["msg"]


def test_rich_markup_in_server_text_is_shown_literally(cli, make_sim) -> None:
    sim = make_sim({
        "m": [{"http": 400, "code": 10112, "msg": "[link=http://evil.example]click[/link] [bold red]x"}],
        "s": [{"status": "[blink]queued[/blink]"}],
    })
    run = cli("status", "m", "s", expect=66, base_url=sim.url)
    assert "[link=http://evil.example]click[/link] [bold red]x" in run.stderr
    assert "[blink]queued[/blink]" in run.stdout


@pytest.mark.parametrize("mode", [(), ("--json",), ("-q",)], ids=["human", "json", "quiet"])
def test_lone_surrogate_escapes_from_the_server_do_not_crash(cli, make_sim, mode) -> None:
    sim = make_sim({
        "s": [{"body": '{"status": "q\\ud800x"}', "content_type": "application/json"}],
        "m": [{"body": '{"code": 10112, "msg": "m\\udfffm", "traceId": "t\\ud800"}', "http": 400,
               "content_type": "application/json"}],
    })
    run = cli("status", *mode, "s", expect=13, base_url=sim.url)
    assert "q\ufffdx" in run.stdout
    run = cli("status", *mode, "m", expect=66, base_url=sim.url)
    assert "m\ufffdm" in run.stderr and "t\ufffd" in run.stderr


def test_huge_msg_is_capped(cli, make_sim) -> None:
    sim = one_task(make_sim, [{"http": 400, "code": 10112, "msg": "m" * 100_000}])
    run = cli("status", "t1", expect=66, base_url=sim.url)
    assert len(run.stderr) < 3000
    run = cli("status", "--json", "t1", expect=66, base_url=sim.url)
    assert len(run.stdout) < 3000


def test_markup_in_rich_table_on_a_terminal_is_not_interpreted() -> None:
    import io

    from browseract_cli.render import Output, TaskRow

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    Output(out, io.StringIO(), env={"TERM": "xterm-256color"}).status_rows(
        [TaskRow("[bold]id[/bold]", "[link=http://evil.example]queued[/link]", 13)], "human")
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    assert "[bold]id[/bold]" in text
    assert "[link=http://evil.example]queued[/link]" in text
    assert "\x1b]8;" not in out.getvalue()  # no hyperlink escape


# --------------------------------------------------------------------------- base URL


def test_plain_http_to_a_remote_host_is_78_and_no_connection(cli, no_network) -> None:
    run = cli("status", "t1", expect=78, base_url="http://example.com")
    assert "example.com" in run.stderr and "https" in run.stderr
    run = cli("--base-url", "ftp://example.com", "status", "t1", expect=78)
    run = cli("--base-url", "http://10.0.0.1:8765", "status", "t1", expect=78)
    assert no_network == []


@pytest.mark.parametrize("userinfo", ["user:hunter2SECRETpw@", "hunter2SECRETpw@", ":hunter2SECRETpw@"])
def test_base_url_with_user_info_is_78(cli, sim, userinfo: str) -> None:
    run = cli("status", "demo-finished", expect=78, base_url=f"http://{userinfo}127.0.0.1:{sim.port}")
    assert "hunter2SECRETpw" not in run.stdout + run.stderr
    assert "user info" in run.stderr
    assert sim.requests == []


def test_base_url_flag_overrides_env(cli, sim) -> None:
    run = cli("--base-url", sim.url, "status", "-q", "demo-forever", expect=14,
              base_url="http://example.com")
    assert run.stdout == "created\n"
    assert sim.request_count() == 1


def test_loopback_http_with_trailing_slash_works(cli, sim) -> None:
    cli("status", "demo-forever", expect=14, base_url=sim.url + "/")
    [req] = sim.requests
    assert req.path == "/v2/workflow/get-task-status"


def test_status_with_no_arguments_is_usage(cli) -> None:
    run = cli("status", expect=2)
    assert "TASK_ID" in run.stdout + run.stderr
