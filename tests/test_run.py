"""`browseract run` and `run-template`, at the command level, against the real simulator.

What a user notices: stdout carries the task ID alone (or, under --wait, only the output), the
request body holds exactly what the options asked for, bad inputs stop before anything is
started, and a start is never sent twice once it may have reached the API (checklist N1, N2, N7;
issue 13 "No duplicate paid task"). The CLI and the simulator share a FakeClock, so waits are
instant; the read-timeout cases are the only ones that wait for real (a fraction of a second).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import CANARY, FakeClock, Run
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import fuzz_settings

from browseract_cli import endpoints as ep
from browseract_cli.api import ApiClient, Timeouts
from browseract_cli.classify import parse_json
from browseract_cli.errors import UsageError
from browseract_cli.exit_codes import ExitCode
from browseract_cli.inputs import MAX_INPUT_FILE
from browseract_cli.models import as_id
from browseract_cli.options import check_task_id
from browseract_cli.retry import RetryPolicy
from browseract_cli.simulator import SimServer

RUN = ep.RUN_TASK.path
RUN_TEMPLATE = ep.RUN_TEMPLATE_TASK.path
ISO_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CONTRACT_CODES = {int(code) for code in ExitCode}
MAY_EXIST = "may have been created"



FIND_IT = "browseract list --workflow demo-workflow --since 10m"

# Workflows of the tests' own, beside the built-in demo catalog.
WORKFLOWS: dict[str, Any] = {
    "wf-case": {"inputs": ["KeyWord", {"name": "max_items", "default_enabled": False}]},
    "wf-cancel": {"lifecycle": [{"status": "running", "seconds": 3}, {"status": "canceled"}]},
    "wf-text": {"output": "plain text, not JSON", "lifecycle": [{"status": "finished"}]},
    "wf-bad-file": {"output": "[]", "lifecycle": [{"status": "finished"}],
                    "files": [{"name": "a.csv", "content": "a\n"}]},
}


@dataclass
class Env:
    """One simulator and the CLI pointed at it, on one fake clock."""

    sim: SimServer
    clock: FakeClock
    cli: Callable[..., Run]

    def __call__(self, *args: str, expect: int | None = 0, **kwargs: Any) -> Run:
        return self.cli(*args, expect=expect, base_url=self.sim.url, clock=self.clock, **kwargs)

    def posts(self, path: str = RUN) -> list[Any]:
        return [r for r in self.sim.requests if r.method == "POST" and r.path == path]

    def body(self, path: str = RUN) -> dict[str, Any]:
        [record] = self.posts(path)
        return record.json

    def api(self) -> ApiClient:
        return ApiClient(self.sim.url, CANARY)


@pytest.fixture
def make_env(cli, make_sim, clock) -> Callable[..., Env]:  # type: ignore[no-untyped-def]
    def make(**kwargs: Any) -> Env:
        kwargs.setdefault("workflows", WORKFLOWS)
        return Env(make_sim(clock=clock, **kwargs), clock, cli)

    return make


@pytest.fixture
def env(make_env) -> Env:  # type: ignore[no-untyped-def]
    return make_env()


def demo_output(keyword: str, count: int = 3) -> dict[str, Any]:
    """What the simulator's demo-workflow returns (scenario._demo_items)."""
    return {"items": [{"rank": i + 1, "title": f"Result {i + 1} for {keyword}", "price": round(19.99 + 10 * i, 2)}
                      for i in range(count)]}


# --------------------------------------------------------------------------- without --wait


@pytest.mark.parametrize("quiet", [False, True])
def test_stdout_is_the_new_task_id_alone(env: Env, quiet: bool) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=laptops", *(["-q"] if quiet else []))
    [task_id] = env.sim.created_tasks()
    assert ran.stdout == task_id + "\n"  # ID=$(browseract run WF) works
    if not quiet:
        assert f"browseract watch {task_id}" in ran.stderr
        assert f"browseract output --wait {task_id}" in ran.stderr


def test_json_created_record_is_exactly_the_contracts(env: Env) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=x", "--json")
    [line] = ran.lines
    record = json.loads(line)
    [task_id] = env.sim.created_tasks()
    assert list(record) == ["event", "task_id", "workflow_id", "template_id", "browser_profile_id", "at",
                            "exit_code", "error"]
    assert ISO_AT.match(record.pop("at"))
    assert record == {"event": "created", "task_id": task_id, "workflow_id": "demo-workflow",
                      "template_id": None, "browser_profile_id": None, "exit_code": 0, "error": None}
    assert isinstance(record["task_id"], str)


def test_json_created_record_of_a_template_run_and_a_browser_profile(env: Env) -> None:
    ran = env("run-template", "demo-template", "-i", "url=https://example.com", "--json")
    record = json.loads(ran.stdout)
    assert (record["workflow_id"], record["template_id"]) == (None, "demo-template")
    ran = env("run", "demo-workflow", "--browser-profile", "prof-7", "--json")
    assert json.loads(ran.stdout)["browser_profile_id"] == "prof-7"
    ran = env("run", "demo-workflow", "--save-browser-data", "--json")
    profile = json.loads(ran.stdout)["browser_profile_id"]
    assert isinstance(profile, str) and profile.startswith("profile-")  # the one the API made


@pytest.mark.parametrize(("answer", "task_id", "profile"), [
    ({"id": 16429034742537847123, "profile_id": 77}, "16429034742537847123", "77"),  # beyond 2^53
    ({"id": "t-1", "profileId": "p-2"}, "t-1", "p-2"),  # the demos' spelling
    ({"id": "t-1", "extra": {"nested": [1, 2]}, "code": 0, "msg": "success"}, "t-1", None),
    ({"id": "t-1", "pad": "x" * 900_000}, "t-1", None),  # a huge answer, under the 1 MiB cap
])
def test_an_odd_create_answer_still_yields_the_id_as_a_string(make_env, answer: Any, task_id: str,
                                                              profile: str | None) -> None:
    env = make_env(faults={"run-task": [{"body": json.dumps(answer), "content_type": "application/json"}]})
    assert env("run", "demo-workflow", "--no-validate").stdout == task_id + "\n"
    env.sim.add_fault("run-task", [{"body": json.dumps(answer), "content_type": "application/json"}])
    record = json.loads(env("run", "demo-workflow", "--no-validate", "--json").stdout)
    assert (record["task_id"], record["browser_profile_id"]) == (task_id, profile)
    assert len(env.posts()) == 2


def test_dry_run_prints_the_body_and_starts_nothing(env: Env) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=laptops", "-i", "max_items=50", "--dry-run")
    assert json.loads(ran.stdout) == {"workflow_id": "demo-workflow", "input_parameters": [
        {"name": "keyword", "value": "laptops"}, {"name": "max_items", "value": "50"}]}
    assert len(ran.lines) == 1
    assert env.posts() == [] and env.sim.created_tasks() == []
    assert [r.path for r in env.sim.requests] == [ep.GET_WORKFLOW.path]  # it validated


def test_dry_run_still_validates(env: Env) -> None:
    ran = env("run", "demo-workflow", "-i", "kw=x", "--dry-run", expect=65)
    assert ran.stdout == "" and env.posts() == []


def test_dry_run_without_validation_sends_no_request_at_all(env: Env) -> None:
    ran = env("run-template", "demo-template", "--region", "UK", "-i", "url=u", "--dry-run", "--no-validate")
    assert json.loads(ran.stdout) == {"workflow_template_id": "demo-template",
                                      "input_parameters": [{"name": "url", "value": "u"}], "proxyRegion": "UK"}
    assert env.sim.requests == []


@pytest.mark.parametrize(("options", "extra"), [
    ([], {}),
    (["--save-browser-data"], {"save_browser_data": True}),
    (["--browser-profile", "prof-1"], {"profile_id": "prof-1"}),
    (["--callback-url", "https://hooks.example/done"], {"callback_url": "https://hooks.example/done"}),
    (["--status-callback-url", "http://hooks.example/s?x=1"],
     {"status_change_callback_url": "http://hooks.example/s?x=1"}),
    (["--callback-url", "https://a.example/" + "c" * (2048 - 18), "--status-callback-url", "https://b.example/"],
     {"callback_url": "https://a.example/" + "c" * (2048 - 18), "status_change_callback_url": "https://b.example/"}),
])
def test_the_body_holds_exactly_what_the_options_ask_for(env: Env, options: list[str],
                                                         extra: dict[str, Any]) -> None:
    env("run", "demo-workflow", "-i", "keyword=laptops", "-i", "max_items=10", *options)
    assert env.body() == {"workflow_id": "demo-workflow",
                          "input_parameters": [{"name": "keyword", "value": "laptops"},
                                               {"name": "max_items", "value": "10"}], **extra}


@pytest.mark.parametrize(("options", "extra"), [
    ([], {}),
    (["--region", "UK"], {"proxyRegion": "UK"}),
    (["--callback-url", "https://h.example/", "--status-callback-url", "https://h.example/s"],
     {"callback_url": "https://h.example/", "status_change_callback_url": "https://h.example/s"}),
])
def test_a_template_body_has_proxy_region_only_when_given(env: Env, options: list[str],
                                                         extra: dict[str, Any]) -> None:
    env("run-template", "demo-template", "-i", "url=https://example.com", *options)
    assert env.body(RUN_TEMPLATE) == {"workflow_template_id": "demo-template",
                                      "input_parameters": [{"name": "url", "value": "https://example.com"}],
                                      **extra}


@pytest.mark.parametrize("url", [
    "ftp://files.example/x", "hooks.example/x", "", "javascript:alert(1)", "HTTPS//x",
    "https://a.example/" + "c" * (2049 - 18),  # 2,049 characters
    "https://a.example/a b", "https://a.example/a\tb", "https://a.example/\x1b[2J",
])
@pytest.mark.parametrize("option", ["--callback-url", "--status-callback-url"])
def test_a_bad_callback_url_is_a_usage_error_before_any_request(env: Env, option: str, url: str) -> None:
    ran = env("run", "demo-workflow", option, url, expect=2)
    assert option in ran.stderr and "2048" in ran.stderr
    assert env.sim.requests == []


def test_save_browser_data_and_browser_profile_exclude_each_other(env: Env) -> None:
    env("run", "demo-workflow", "--save-browser-data", "--browser-profile", "p", expect=2)
    assert env.sim.requests == []


@pytest.mark.parametrize("option", [["--interval", "1"], ["--timeout", "1m"], ["--max-outage", "1m"],
                                    ["--until", "paused"], ["--format", "json"], ["-D", "files"]])
def test_wait_options_without_wait_are_a_usage_error(env: Env, option: list[str]) -> None:
    ran = env("run", "demo-workflow", *option, expect=2)
    assert "needs --wait" in ran.stderr and env.sim.requests == []


# --------------------------------------------------------------------------- -i


@pytest.mark.parametrize(("value", "needle"), [("keyword", "has no '='"), ("=laptops", "empty name"),
                                               ("=", "empty name")])
def test_an_input_without_a_name_is_a_usage_error(env: Env, value: str, needle: str) -> None:
    ran = env("run", "demo-workflow", "-i", value, expect=2)
    assert needle in ran.stderr and "NAME=VALUE" in ran.stderr
    assert env.sim.requests == []


def test_an_input_given_twice_is_a_usage_error(env: Env) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=a", "-i", "keyword=b", expect=2)
    assert "twice" in ran.stderr and env.sim.requests == []


def test_a_value_is_sent_exactly_as_given(env: Env) -> None:
    env("run", "demo-workflow", "-i", "keyword=a=b==c", "-i", "max_items=@/etc/passwd")
    assert env.body()["input_parameters"] == [{"name": "keyword", "value": "a=b==c"},
                                              {"name": "max_items", "value": "@/etc/passwd"}]
    env.sim.clear_requests()
    env("run", "demo-workflow", "-i", "keyword=", "-i", "max_items= 7 ")
    assert env.body()["input_parameters"] == [{"name": "keyword", "value": ""},
                                              {"name": "max_items", "value": " 7 "}]


def test_a_value_that_is_not_text_is_refused_by_name(env: Env) -> None:
    # A non-UTF-8 byte in argv arrives as a surrogate escape; it cannot be sent as JSON text.
    ran = env("run", "demo-workflow", "-i", "keyword=caf\udce9", expect=2)
    assert "keyword" in ran.stderr and "UTF-8" in ran.stderr
    assert env.sim.requests == []


# --------------------------------------------------------------------------- --input-file


def test_an_input_file_object_sends_every_value_as_a_string(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps({"keyword": "laptops", "max_items": 10, "flag": True, "none": None,
                                "ratio": 3.5, "nested": {"a": [1, "é"]}}), encoding="utf-8")
    env("run", "demo-workflow", "--input-file", str(path), "--no-validate")
    assert env.body()["input_parameters"] == [
        {"name": "keyword", "value": "laptops"}, {"name": "max_items", "value": "10"},
        {"name": "flag", "value": "true"}, {"name": "none", "value": "null"},
        {"name": "ratio", "value": "3.5"}, {"name": "nested", "value": '{"a":[1,"é"]}'}]


def test_an_input_file_in_the_apis_own_list_form(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([{"name": "keyword", "value": "x"},
                                                   {"name": "max_items", "value": 5}]).encode())  # with a BOM
    env("run", "demo-workflow", "--input-file", str(path))
    assert env.body()["input_parameters"] == [{"name": "keyword", "value": "x"},
                                              {"name": "max_items", "value": "5"}]


def test_an_input_file_from_stdin_and_dash_i_wins(env: Env) -> None:
    env("run", "demo-workflow", "--input-file", "-", "-i", "max_items=99", "-i", "extra=1", "--no-validate",
        input=json.dumps({"max_items": 1, "keyword": "k"}))
    assert env.body()["input_parameters"] == [{"name": "max_items", "value": "99"},  # the file's place
                                              {"name": "keyword", "value": "k"}, {"name": "extra", "value": "1"}]


def test_an_input_file_at_the_size_cap_is_accepted(env: Env, tmp_path: Path) -> None:
    head = b'{"keyword": "'
    path = tmp_path / "big.json"
    path.write_bytes(head + b"x" * (MAX_INPUT_FILE - len(head) - 2) + b'"}')
    assert path.stat().st_size == MAX_INPUT_FILE
    ran = env("run", "demo-workflow", "--input-file", str(path), "--dry-run", "--no-validate")
    assert len(json.loads(ran.stdout)["input_parameters"][0]["value"]) == MAX_INPUT_FILE - len(head) - 2


MALFORMED: dict[str, tuple[bytes, str]] = {
    "not-json": (b'{"keyword": "x",\n "max_items": }', "not valid JSON: Expecting value (line 2, column 15)"),
    "empty": (b"", "(line 1, column 1)"),
    "trailing": (b'{"a": "1"} {"b": "2"}', "(line 1, column 12)"),
    "nan": (b'{"keyword": "x",\n "max_items": NaN}', "holds NaN, which JSON does not allow (line 2, column 15)"),
    "infinity": (b'[{"name": "a", "value": -Infinity}]', "holds -Infinity, which JSON does not allow (line 1, column 25)"),
    "deep": (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested more than"),
    "deep-unclosed": (b"[" * 200_000, "nested more than"),
    "not-utf8": (b'{"keyword": "caf\xe9"}', "not UTF-8 text (byte 16, line 1, column 17)"),
    "not-utf8-line-3": (b'{\n "a": "\xc3\xa9",\n "b": "\xff"}', "(byte 21, line 3, column 8)"),
    "deep-in-a-value": (b'{"a": "[[[[", "b": ' + b"[" * 101 + b"]" * 101 + b"}",
                        "nested more than 100 levels deep (line 1, column 119)"),  # the {} is a level
    "long-number": (b'{"a": ' + b"1" * 5000 + b"}", "a number too long to read"),
    "utf16": ('{"keyword": "x"}'.encode("utf-16"), "not UTF-8 text (byte 0"),
    "surrogate": (b'{"keyword": "\\ud800"}', "input 'keyword' holds a lone UTF-16 surrogate"),
    "duplicate": (b'{"keyword": "a",\n "keyword": "b"}', "names input 'keyword' twice"),
    "duplicate-list": (b'[{"name": "n", "value": "1"}, {"name": "n", "value": "2"}]',
                       "names input 'n' twice (item 1)"),
    "string": (b'"keyword=x"', 'must hold a JSON object {"name": value}'),
    "number": (b"42", 'must hold a JSON object {"name": value}'),
    "null": (b"null", 'must hold a JSON object {"name": value}'),
    "list-of-numbers": (b"[1, 2]", 'item 0 is not {"name": ..., "value": ...}'),
    "list-no-value": (b'[{"name": "n"}]', "item 0 is not"),
    "list-extra-key": (b'[{"name": "n", "value": "1", "x": 1}]', "item 0 is not"),
    "list-name-not-text": (b'[{"name": 1, "value": "1"}]', "item 0 is not"),
    "empty-name": (b'{"": "x"}', "input 0 has an empty name"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_input_file_is_65_naming_the_file_and_nothing_is_sent(env: Env, tmp_path: Path,
                                                                          case: str) -> None:
    content, needle = MALFORMED[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(content)
    ran = env("run", "demo-workflow", "--input-file", str(path), expect=65)
    assert f"input file {path}" in ran.stderr
    assert needle in ran.stderr
    assert env.sim.requests == []  # read before the client is even made: no lookup, no POST
    assert "Traceback" not in ran.stderr and ran.stdout == ""


def test_a_malformed_input_file_on_stdin_is_named_stdin(env: Env) -> None:
    ran = env("run", "demo-workflow", "--input-file", "-", input='{"keyword": ', expect=65)
    assert "input file stdin is not valid JSON" in ran.stderr and env.sim.requests == []


@pytest.mark.parametrize("size", [MAX_INPUT_FILE + 1, 100 * 1024 * 1024])
def test_an_input_file_over_1_mib_is_65_and_not_read_whole(env: Env, tmp_path: Path, size: int) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.write(b'{"keyword": "')
        fh.truncate(size)  # sparse: 100 MiB on disk costs nothing, and only 1 MiB + 1 is read
    ran = env("run", "demo-workflow", "--input-file", str(path), expect=65)
    path.unlink()  # (the canary check would read all 100 MiB of it)
    assert f"input file {path} is larger than 1024 KiB" in ran.stderr and env.sim.requests == []


def test_an_input_file_that_cannot_be_read_is_65(env: Env, tmp_path: Path) -> None:
    ran = env("run", "demo-workflow", "--input-file", str(tmp_path / "missing.json"), expect=65)
    assert "cannot read input file" in ran.stderr and "No such file" in ran.stderr
    ran = env("run", "demo-workflow", "--input-file", str(tmp_path), expect=65)
    assert "cannot read input file" in ran.stderr
    assert env.sim.requests == []


def test_json_mode_reports_a_malformed_input_file_as_one_result_line(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    ran = env("run", "demo-workflow", "--input-file", str(path), "--json", expect=65)
    [record] = [json.loads(line) for line in ran.lines]
    assert (record["event"], record["task_id"], record["status"], record["exit_code"]) == ("result", None, None, 65)
    assert record["error"]["kind"] == "bad_request" and "not valid JSON" in record["error"]["msg"]


# --------------------------------------------------------------------------- validation


def test_an_undeclared_input_is_65_with_a_case_insensitive_did_you_mean(env: Env) -> None:
    ran = env("run", "wf-case", "-i", "keyword=laptops", expect=65)
    assert "has no input named 'keyword'" in ran.stderr
    assert "did you mean 'KeyWord'?" in ran.stderr and "Declared inputs: KeyWord, max_items" in ran.stderr
    assert env.posts() == [] and env.sim.created_tasks() == []


@pytest.mark.parametrize(("given", "hint"), [("KeyWrd", "did you mean 'KeyWord'?"),
                                             ("MAX_ITEMS", "did you mean 'max_items'?"),
                                             ("zzz", "declared inputs: KeyWord, max_items")])
def test_the_suggestion_for_an_undeclared_input(env: Env, given: str, hint: str) -> None:
    ran = env("run", "wf-case", "-i", f"{given}=1", expect=65)
    assert hint in ran.stderr and env.posts() == []


def test_an_undeclared_input_from_a_file_is_65_too(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_text('{"KeyWord": "x", "maxitems": 3}')
    ran = env("run", "wf-case", "--input-file", str(path), expect=65)
    assert "'maxitems'" in ran.stderr and "did you mean 'max_items'?" in ran.stderr and env.posts() == []


def test_declared_inputs_not_given_are_listed_in_one_line(env: Env) -> None:
    ran = env("run", "wf-case")
    [note] = [line for line in ran.stderr.splitlines() if "defaults apply" in line]
    assert note.endswith(": KeyWord, max_items")
    ran = env("run", "wf-case", "-i", "KeyWord=x", "-i", "max_items=2")
    assert "defaults apply" not in ran.stderr


def test_no_validate_skips_the_lookup(env: Env) -> None:
    env("run", "wf-case", "-i", "keyword=x", "--no-validate")
    assert [r.path for r in env.sim.requests] == [RUN]
    assert env.body()["input_parameters"] == [{"name": "keyword", "value": "x"}]


def test_a_template_is_validated_against_its_own_inputs(env: Env) -> None:
    ran = env("run-template", "demo-template", "-i", "keyword=x", expect=65)
    assert "template 'demo-template' has no input named 'keyword'" in ran.stderr
    assert [r.path for r in env.sim.requests] == [ep.GET_TEMPLATE.path]


@pytest.mark.parametrize("validate", [True, False])
def test_an_unknown_workflow_or_template_is_66(env: Env, validate: bool) -> None:
    flags = [] if validate else ["--no-validate"]
    ran = env("run", "no-such-workflow", *flags, expect=66)
    assert "workflow not found" in ran.stderr and MAY_EXIST not in ran.stderr
    ran = env("run-template", "no-such-template", *flags, expect=66)
    assert "template not found" in ran.stderr and MAY_EXIST not in ran.stderr
    assert env.sim.created_tasks() == []


@pytest.mark.parametrize("validate", [True, False])
def test_a_bad_region_is_65_and_says_where_the_codes_are(env: Env, validate: bool) -> None:
    flags = [] if validate else ["--no-validate"]
    ran = env("run-template", "demo-template", "--region", "XX", "-i", "url=u", *flags, expect=65)
    assert "10013" in ran.stderr and "browseract regions" in ran.stderr
    assert MAY_EXIST not in ran.stderr and env.sim.created_tasks() == []


def test_a_bad_region_in_json_mode(env: Env) -> None:
    ran = env("run-template", "demo-template", "--region", "XX", "--json", "--no-validate", expect=65)
    [record] = [json.loads(line) for line in ran.lines]
    assert record["exit_code"] == 65 and record["error"]["code"] == 10013 and record["task_id"] is None


# --------------------------------------------------------------------------- never twice (N1)

SHORT = Timeouts(connect_s=1.0, read_s=0.3, request_s=2.0)


@pytest.mark.parametrize(("fault", "code"), [
    ({"http": 503}, 76),  # a 5xx: the server may have created the task before failing
    ({"http": 500, "code": 500, "msg": "Internal error"}, 76),
    ({"hangup": True}, 69),  # the body was read, then the connection closed without an answer
    ({"pass": True, "delay": 1.0}, 69),  # answered, but after the read timeout
    ({"body": "<html>oops</html>"}, 76),  # a malformed 200
    ({"body": '{"profile_id": "p"}', "content_type": "application/json"}, 76),  # no id
    ({"body": '{"id": null}', "content_type": "application/json"}, 76),
    ({"body": '{"id": ""}', "content_type": "application/json"}, 76),
    ({"body": '{"id": true}', "content_type": "application/json"}, 76),
    pytest.param({"body": '{"id": "a\\nb"}', "content_type": "application/json"}, 76),  # not a task ID
    pytest.param({"body": json.dumps({"id": "x" * 300}), "content_type": "application/json"}, 76),
    ({"body": "[]", "content_type": "application/json"}, 76),
    ({"body": "", "content_type": "application/json"}, 76),
    ({"body": json.dumps({"id": "1", "pad": "x" * (1 << 20)}), "content_type": "application/json"}, 76),  # huge
])
@pytest.mark.parametrize("validate", [True, False])  # with validation the POST rides a kept-alive connection
def test_a_create_that_may_have_reached_the_api_is_sent_once(make_env, client_limits, fault: dict, code: int,
                                                            validate: bool) -> None:
    client_limits(SHORT, RetryPolicy())
    env = make_env(faults={"run-task": [fault]})
    ran = env("run", "demo-workflow", "-i", "keyword=x", *([] if validate else ["--no-validate"]), expect=code)
    assert len(env.posts()) == 1
    assert MAY_EXIST in ran.stderr and FIND_IT in ran.stderr
    assert ran.stdout == ""


def test_commands_suggested_on_stderr_are_quoted_for_the_shell(make_env) -> None:
    env = make_env(faults={"run-task": [{"body": '{"id": "t 1$(x)"}', "content_type": "application/json"},
                                        {"http": 503}]})
    env.sim.add_workflow("wf; rm -rf ~", {})
    ran = env("run", "wf; rm -rf ~")
    assert ran.stdout == "t 1$(x)\n"  # stdout: the ID itself, for ID=$(browseract run WF)
    assert "browseract watch 't 1$(x)'" in ran.stderr and "browseract output --wait 't 1$(x)'" in ran.stderr
    ran = env("run", "wf; rm -rf ~", expect=76)
    assert "`browseract list --workflow 'wf; rm -rf ~' --since 10m`" in ran.stderr


def test_a_template_create_that_may_have_reached_the_api_says_how_to_find_it(make_env) -> None:
    env = make_env(faults={"run-task-by-template": [{"http": 502}]})
    ran = env("run-template", "demo-template", "-i", "url=u", expect=76)
    assert len(env.posts(RUN_TEMPLATE)) == 1
    assert MAY_EXIST in ran.stderr and "browseract list --since 10m" in ran.stderr


def test_json_mode_failure_to_create_is_one_result_line(make_env) -> None:
    env = make_env(faults={"run-task": [{"http": 503}]})
    ran = env("run", "demo-workflow", "--json", "--no-validate", expect=76)
    [record] = [json.loads(line) for line in ran.lines]
    assert ISO_AT.match(record.pop("at"))
    error = record.pop("error")
    assert record == {"event": "result", "task_id": None, "status": None, "exit_code": 76}
    assert (error["kind"], error["http_status"]) == ("server", 503)
    assert MAY_EXIST in ran.stderr and len(env.posts()) == 1


def test_json_mode_validation_failure_is_one_result_line(env: Env) -> None:
    ran = env("run", "wf-case", "-i", "keyword=x", "--json", expect=65)
    [record] = [json.loads(line) for line in ran.lines]
    assert (record["task_id"], record["exit_code"], record["error"]["kind"]) == (None, 65, "bad_request")
    assert env.posts() == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_is_retried_because_no_post_reached_anything(cli, clock: FakeClock) -> None:
    ran = cli("-v", "run", "demo-workflow", "--no-validate", expect=69,
              base_url=f"http://127.0.0.1:{_closed_port()}", clock=clock)
    attempts = [line for line in ran.stderr.splitlines() if line.startswith("> POST")]
    assert len(attempts) == 4  # the policy's max_attempts
    assert ran.stderr.count("retry in") == 3 and "connection refused" in ran.stderr
    assert MAY_EXIST not in ran.stderr
    assert clock.sleeps == [0.5, 1.0, 2.0]  # backoff, on the injected clock


def test_a_429_means_not_created_and_is_retried_then_created_once(make_env) -> None:
    env = make_env(faults={"run-task": [{"http": 429, "retry_after": "3"}]})
    ran = env("run", "demo-workflow", "-i", "keyword=x")
    assert len(env.posts()) == 2 and ran.stdout == env.sim.created_tasks()[0] + "\n"
    assert len(env.sim.created_tasks()) == 1
    assert env.clock.sleeps == [3.0]  # Retry-After honoured


def test_the_concurrency_limit_is_75_with_its_hint_and_one_post(make_env) -> None:
    env = make_env(max_running=0)
    ran = env("run", "demo-workflow", "-i", "keyword=x", expect=75)
    assert "Running tasks number exceeds." in ran.stderr and "--wait-for-slot" in ran.stderr
    assert MAY_EXIST not in ran.stderr and len(env.posts()) == 1


def test_wait_for_slot_tries_again_until_a_slot_frees(make_env) -> None:
    env = make_env(max_running=1)
    blocker = env("run", "demo-workflow-forever").stdout.strip()
    sleep = env.clock.sleep

    def sleep_then_free_a_slot(seconds: float) -> None:
        sleep(seconds)
        if len(env.clock.sleeps) == 3:
            with env.api() as client:
                ep.stop_task(client, blocker)

    env.clock.sleep = sleep_then_free_a_slot  # type: ignore[method-assign]
    ran = env("run", "demo-workflow", "-i", "keyword=x", "--wait-for-slot", "10m")
    assert env.clock.sleeps == [2.0, 4.0, 8.0]
    assert len(env.posts()) == 1 + 4  # the blocker, then 3 refused tries and the one that worked
    created = env.sim.created_tasks()
    assert len(created) == 2 and ran.stdout == created[1] + "\n"
    assert ran.stderr.count("trying again in") == 3


def test_wait_for_slot_gives_up_after_its_duration_with_75(make_env) -> None:
    env = make_env(max_running=0)
    ran = env("run", "demo-workflow", "-i", "keyword=x", "--wait-for-slot", "1m", expect=75)
    assert sum(env.clock.sleeps) == pytest.approx(60.0)
    assert max(env.clock.sleeps) <= 10.0 and env.clock.sleeps[:4] == [2.0, 4.0, 8.0, 10.0]
    assert len(env.posts()) == len(env.clock.sleeps) + 1 and env.sim.created_tasks() == []
    assert "no slot became free within --wait-for-slot" in ran.stderr
    assert "add --wait-for-slot" not in ran.stderr  # it was given


def test_wait_for_slot_does_not_retry_other_failures(make_env) -> None:
    env = make_env(faults={"run-task": [{"http": 503}]})
    ran = env("run", "demo-workflow", "--wait-for-slot", "10m", "--no-validate", expect=76)
    assert len(env.posts()) == 1 and env.clock.sleeps == [] and MAY_EXIST in ran.stderr


# --------------------------------------------------------------------------- --wait


@pytest.mark.parametrize(("fmt", "expected"), [
    ("auto", json.dumps(demo_output("k")) + "\n"),
    ("raw", json.dumps(demo_output("k"))),
    ("json", json.dumps(demo_output("k"), separators=(",", ":")) + "\n"),
    ("jsonl", "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in demo_output("k")["items"])),
    ("csv", "rank,title,price\n1,Result 1 for k,19.99\n2,Result 2 for k,29.99\n3,Result 3 for k,39.99\n"),
])
def test_wait_puts_only_the_output_on_stdout(env: Env, fmt: str, expected: str) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=k", "--wait", "--format", fmt)
    [task_id] = env.sim.created_tasks()
    assert ran.stdout == expected  # (the runner shows CSV's CRLF as LF; test_output checks the bytes)
    assert f"{task_id} finished" in ran.stderr  # progress on stderr
    assert f"started task {task_id}" in ran.stderr


def test_wait_quiet_prints_only_the_output(env: Env) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=k", "--wait", "-q", "--format", "json")
    assert json.loads(ran.stdout) == demo_output("k")
    assert "finished" not in ran.stderr


@pytest.mark.parametrize("quiet", [False, True])
def test_wait_on_a_failed_task_leaves_stdout_empty_and_shows_why(env: Env, quiet: bool) -> None:
    ran = env("run", "demo-workflow-fails", "-i", "url=https://x", "--wait", *(["-q"] if quiet else []), expect=10)
    assert ran.stdout == ""
    assert "10001" in ran.stderr and "Navigation timeout" in ran.stderr


def test_wait_on_a_canceled_task_is_11(env: Env) -> None:
    ran = env("run", "wf-cancel", "--wait", expect=11)
    assert ran.stdout == "" and "canceled" in ran.stderr


def test_wait_timeout_is_124_and_the_task_keeps_running(env: Env) -> None:
    ran = env("run", "demo-workflow-forever", "--wait", "--timeout", "30s", expect=124)
    [task_id] = env.sim.created_tasks()
    assert ran.stdout == ""
    assert env.sim.task_status(task_id) == "running"
    assert env.sim.request_count(path=ep.STOP_TASK.path) == 0  # never canceled
    assert "keeps running" in ran.stderr


def test_wait_with_a_format_the_output_does_not_fit_is_76(env: Env) -> None:
    ran = env("run", "wf-text", "--wait", "--format", "json", expect=76)
    assert ran.stdout == "" and "is not JSON" in ran.stderr and "--format raw" in ran.stderr


def test_wait_and_download(env: Env, tmp_path: Path) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=k", "--wait", "-D", str(tmp_path / "dl"))
    [task_id] = env.sim.created_tasks()
    saved = tmp_path / "dl" / task_id / "items.csv"
    assert saved.read_bytes().startswith(b"rank,title,price\r\n1,")
    assert ran.stdout == json.dumps(demo_output("k")) + "\n"  # the paths go to stderr
    assert str(saved) in ran.stderr


def test_wait_and_a_file_that_fails_is_the_worse_of_the_two(make_env, tmp_path: Path) -> None:
    env = make_env(faults={"files": [{"http": 403, "polls": 10}]})
    ran = env("run", "wf-bad-file", "--wait", "-D", str(tmp_path), expect=20)
    assert ran.stdout == "[]\n"  # the output was still printed
    [task_id] = env.sim.created_tasks()
    assert not (tmp_path / task_id / "a.csv").exists()
    assert not list((tmp_path / task_id).glob("*.part"))


@pytest.mark.parametrize("json_mode", [False, True])
@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_wait_download_into_something_that_is_not_a_folder_is_74_before_starting(env: Env, tmp_path: Path,
                                                                                 where: str, json_mode: bool) -> None:
    (tmp_path / "file.txt").write_text("x")
    target = tmp_path / "file.txt" if where == "a file" else tmp_path / "file.txt" / "sub"
    ran = env("run", "demo-workflow", "--wait", "-D", str(target), *(["--json"] if json_mode else []), expect=74)
    assert "is not a folder" in ran.stderr and env.sim.requests == []  # nothing started, nothing spent
    if json_mode:
        [record] = [json.loads(line) for line in ran.lines]
        assert (record["task_id"], record["exit_code"], record["error"]["kind"]) == (None, 74, "io")


def _events(stdout: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in stdout.splitlines()]
    for doc in docs:
        assert ISO_AT.match(doc["at"]), doc
        assert isinstance(doc["task_id"], str)
    return docs


def test_wait_json_event_sequence(env: Env) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=k", "--wait", "--json", "--interval", "2")
    docs = _events(ran.stdout)
    [task_id] = env.sim.created_tasks()
    assert [d["event"] for d in docs] == ["created", "status", "status", "status", "result"]
    assert [d.get("status") for d in docs[1:4]] == ["created", "running", "finished"]
    assert {d["task_id"] for d in docs} == {task_id}
    result = docs[-1]
    assert result["status"] == "finished" and result["exit_code"] == 0 and result["error"] is None
    assert result["output"] == demo_output("k")
    assert result["failure"] is None and result["credit"] == 1
    assert "files" not in result
    assert ran.stderr.count("\n") <= 1  # only the note about inputs not given


def test_wait_json_with_downloads_has_file_events_and_counts(env: Env, tmp_path: Path) -> None:
    ran = env("run", "demo-workflow", "-i", "keyword=k", "-i", "max_items=1", "--wait", "--json", "-D", str(tmp_path))
    docs = [json.loads(line) for line in ran.lines]
    kinds = [d["event"] for d in docs]
    assert kinds[0] == "created" and kinds[-2:] == ["file", "result"] and kinds.count("result") == 1
    file_event = docs[-2]
    assert (file_event["name"], file_event["result"], file_event["error"]) == ("items.csv", "downloaded", None)
    assert Path(file_event["path"]).is_file()
    assert docs[-1]["files"] == {"downloaded": 1, "skipped": 0, "failed": 0} and docs[-1]["exit_code"] == 0


def test_wait_json_of_a_failed_task(env: Env) -> None:
    ran = env("run", "demo-workflow-fails", "--wait", "--json", expect=10)
    result = _events(ran.stdout)[-1]
    assert (result["event"], result["status"], result["exit_code"]) == ("result", "failed", 10)
    assert result["failure"] == {"code": 10001, "message": "Navigation timeout"}
    assert result["output"] is None


@pytest.mark.parametrize("json_mode", [False, True])
def test_wait_when_the_finished_task_cannot_be_read_says_why(make_env, json_mode: bool) -> None:
    env = make_env(faults={"get-task": [{"http": 400, "code": 99001, "msg": "request parameter error"}]})
    ran = env("run", "wf-text", "--wait", *(["--json"] if json_mode else []), expect=65)
    assert "request parameter error" in ran.stderr
    if json_mode:
        result = _events(ran.stdout)[-1]
        assert (result["event"], result["status"], result["exit_code"]) == ("result", "finished", 65)
        assert result["error"]["code"] == 99001 and result["output"] is None
    else:
        assert ran.stdout == ""


def test_wait_json_timeout_has_one_final_result(env: Env) -> None:
    ran = env("run", "demo-workflow-forever", "--wait", "--json", "--timeout", "12", expect=124)
    docs = _events(ran.stdout)
    assert [d["event"] for d in docs].count("result") == 1 and docs[-1]["event"] == "result"
    assert (docs[-1]["exit_code"], docs[-1]["output"], docs[-1]["failure"]) == (124, None, None)


def test_wait_until_paused_is_0_without_output(env: Env) -> None:
    ran = env("run", "demo-workflow-pauses", "--wait", "--until", "paused")
    assert ran.stdout == ""
    assert "reached paused: it has no output yet" in ran.stderr
    ran = env("run", "demo-workflow-pauses", "--wait", "--until", "paused", "--json")
    result = _events(ran.stdout)[-1]
    assert (result["status"], result["exit_code"], result["output"]) == ("paused", 0, None)


def test_wait_through_pause_resume_and_finish(env: Env) -> None:
    """The task pauses; a person (here: the test, through the API) resumes it; the run ends 0."""
    sleep = env.clock.sleep
    resumed: list[str] = []

    def sleep_and_maybe_resume(seconds: float) -> None:
        sleep(seconds)
        seen_paused = [r.task_id for r in env.sim.requests
                       if r.path == ep.GET_TASK_STATUS.path and b'"paused"' in (r.answer_body or b"")]
        if seen_paused and not resumed:
            with env.api() as client:
                ep.resume_task(client, seen_paused[0])
            resumed.append(seen_paused[0])

    env.clock.sleep = sleep_and_maybe_resume  # type: ignore[method-assign]
    ran = env("run", "demo-workflow-pauses", "--wait", "--interval", "1")
    [task_id] = env.sim.created_tasks()
    assert resumed == [task_id]
    assert ran.stdout == '{"approved": true}\n'
    assert "paused" in ran.stderr and f"{task_id} finished" in ran.stderr


def test_wait_through_pause_resumed_by_a_second_cli_call(env: Env) -> None:
    ran = env("run", "demo-workflow-pauses", "--wait", "--until", "paused", "-q")
    [task_id] = env.sim.created_tasks()
    env("resume", task_id)
    ran = env("output", task_id, "--wait")
    assert ran.stdout == '{"approved": true}\n'


# --------------------------------------------------------------------------- fuzz (N2)

_MISSING = object()
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                      st.floats(allow_nan=False), st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)
ids = st.one_of(st.text(max_size=30), st.integers(-(2**70), 2**70),
                st.sampled_from(["16429034742537847", "", " ", "x" * 257, "a\nb", "\x1b[2J", "\u202eab"]),
                json_value)
create_doc = st.builds(
    lambda base, the_id, profile, code: {**base, **({} if the_id is _MISSING else {"id": the_id}),
                                         **profile, **({} if code is _MISSING else {"code": code})},
    st.dictionaries(st.text(max_size=10), json_value, max_size=4),
    st.one_of(st.just(_MISSING), ids),
    st.one_of(st.just({}), st.fixed_dictionaries({"profile_id": ids}), st.fixed_dictionaries({"profileId": ids})),
    st.one_of(st.just(_MISSING), st.sampled_from([0, 200, 10118, 10111, 99001, 500, 401, True, "0"])),
)
create_body = st.one_of(
    create_doc.map(lambda doc: json.dumps(doc).encode()),
    st.binary(max_size=64),
    st.sampled_from([b"", b"{", b"null", b"[]", b'"16429034742537847"', b"16429034742537847",
                     b'{"id": NaN}', b'{"id": "1"}{"id": "2"}', b'\xef\xbb\xbf{"id": "bom"}',
                     b'{"id": "\\ud800"}', b'{"id": "x\\u0000y"}', b'{"id": "\\u001b[2J"}']),
)


def expected_id(status: int, body: bytes) -> str | None:
    """The ID a create answer certainly carries: a 200 with a JSON object, no error code, and an
    ID usable as a task ID (what `browseract status ID` would accept)."""
    doc, ok = parse_json(body)
    if status != 200 or not ok or not isinstance(doc, dict):
        return None
    code = doc.get("code")
    if type(code) is int and code != 0:
        return None
    task_id = as_id(doc.get("id"))
    try:
        return None if task_id is None else check_task_id(task_id)
    except UsageError:
        return None


@fuzz_settings(150)
@given(body=create_body, status=st.sampled_from([200, 200, 200, 201, 400, 500, 503]),
       ctype=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/html", ""]))
def test_fuzz_the_create_answer(env: Env, body: bytes, status: int, ctype: str) -> None:
    env.sim.clear_requests()
    env.sim.add_fault("run-task", [{"body": body, "http": status, "content_type": ctype}])
    ran = env("run", "demo-workflow", "--no-validate", "--json", expect=None)
    assert ran.exit_code in CONTRACT_CODES and ran.exit_code != 1, ran.stderr
    assert len(env.posts()) == 1  # never sent twice, whatever came back
    [record] = [json.loads(line) for line in ran.lines]
    expected = expected_id(status, body)
    if expected is not None:
        assert (ran.exit_code, record["task_id"]) == (0, expected), (body, ran.stderr)
    if ran.exit_code == 0:
        assert record["event"] == "created" and record["task_id"] == expected
    else:
        assert (record["event"], record["task_id"]) == ("result", None)
        if ran.exit_code in (69, 76):
            assert MAY_EXIST in ran.stderr  # the task may exist: the user is told how to find it
