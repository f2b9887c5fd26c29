"""The simulator's twelve endpoints: each success and each documented error, statefully.

These drive the simulator over HTTP with plain requests (as another program would); the
conformance check in conftest.py also validates every answer here against the OpenAPI spec.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from conformance import problems
from conftest import CANARY, FakeClock

from browseract_cli import endpoints as ep
from browseract_cli.simulator import RequestRecord, SimServer

AUTH = {"Authorization": f"Bearer {CANARY}"}


def call(sim: SimServer, op: ep.Operation, *, params: dict[str, Any] | None = None,
         body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.request(op.method, sim.url + op.path, params=params,
                            json=body, headers=headers if headers is not None else AUTH, timeout=5)


def envelope(r: requests.Response, http_status: int, code: int) -> dict[str, Any]:
    assert r.status_code == http_status, r.text
    doc = r.json()
    assert doc["code"] == code and doc["data"] is None and doc["msg"]
    assert re.fullmatch(r"[0-9a-f]{32}", doc["traceId"])
    return doc


def run(sim: SimServer, workflow: str = "demo-workflow", **body: Any) -> str:
    r = call(sim, ep.RUN_TASK, body={"workflow_id": workflow, **body})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def task(sim: SimServer, task_id: str) -> dict[str, Any]:
    r = call(sim, ep.GET_TASK, params={"task_id": task_id})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def world(make_sim, clock: FakeClock) -> SimServer:
    return make_sim(clock=clock)


# --------------------------------------------------------------------------- run-task


def test_run_task_creates_a_task_with_a_17_digit_string_id(world: SimServer) -> None:
    task_id = run(world, input_parameters=[{"name": "keyword", "value": "laptops"}])
    assert re.fullmatch(r"\d{17}", task_id)
    assert world.created_tasks() == [task_id]
    doc = task(world, task_id)
    assert (doc["status"], doc["workflow_id"], doc["input_parameters"]) == (
        "created", "demo-workflow", "keyword=laptops")


def test_run_task_with_save_browser_data_returns_a_profile(world: SimServer) -> None:
    r = call(world, ep.RUN_TASK, body={"workflow_id": "demo-workflow", "save_browser_data": True})
    assert r.json()["profile_id"].startswith("profile-")
    r = call(world, ep.RUN_TASK, body={"workflow_id": "demo-workflow", "profile_id": "p-7"})
    assert r.json()["profile_id"] == "p-7"


@pytest.mark.parametrize("body", [
    {}, {"workflow_id": ""}, {"workflow_id": 5}, {"workflow_id": "demo-workflow", "input_parameters": "x=1"},
    {"workflow_id": "demo-workflow", "input_parameters": [{"name": "a", "value": 1}]},
    {"workflow_id": "demo-workflow", "callback_url": "https://x.example/" + "a" * 2048},
    {"workflow_id": "demo-workflow", "status_change_callback_url": "ftp://x.example/"},
    {"workflow_id": "demo-workflow", "save_browser_data": "yes"},
])
def test_run_task_with_a_bad_body_is_99001_and_creates_nothing(world: SimServer, body: dict) -> None:
    envelope(call(world, ep.RUN_TASK, body=body), 400, 99001)
    assert world.created_tasks() == []


def test_run_task_with_a_body_that_is_not_json_is_99001(world: SimServer) -> None:
    r = requests.post(world.url + ep.RUN_TASK.path, data=b"{oops", headers=AUTH, timeout=5)
    envelope(r, 400, 99001)


def test_run_task_of_an_unknown_workflow_is_10111(world: SimServer) -> None:
    envelope(call(world, ep.RUN_TASK, body={"workflow_id": "nope"}), 400, 10111)


def test_run_task_above_the_concurrency_cap_is_10118(make_sim, clock: FakeClock) -> None:
    sim = make_sim(clock=clock, max_running=2)
    first = run(sim, "demo-workflow-forever")
    run(sim, "demo-workflow-forever")
    doc = envelope(call(sim, ep.RUN_TASK, body={"workflow_id": "demo-workflow"}), 400, 10118)
    assert doc["msg"] == "Running tasks number exceeds."
    call(sim, ep.STOP_TASK, params={"task_id": first})  # a slot frees up
    run(sim)


def test_every_endpoint_wants_the_key(world: SimServer) -> None:
    for op in ep.OPERATIONS:
        envelope(call(world, op, headers={}), 401, 401)


# --------------------------------------------------------------------------- run-task-by-template


def test_run_template_task(world: SimServer) -> None:
    r = call(world, ep.RUN_TEMPLATE_TASK, body={"workflow_template_id": "demo-template", "proxyRegion": "UK",
                                                "input_parameters": [{"name": "url", "value": "https://x"}]})
    assert r.status_code == 200
    assert task(world, r.json()["id"])["workflow_id"] == "demo-template"


@pytest.mark.parametrize(("body", "code"), [
    ({"workflow_template_id": "nope"}, 10176),
    ({"workflow_template_id": "demo-template", "proxyRegion": "GB"}, 10013),
    ({}, 99001),
])
def test_run_template_task_errors(world: SimServer, body: dict, code: int) -> None:
    envelope(call(world, ep.RUN_TEMPLATE_TASK, body=body), 400, code)


# --------------------------------------------------------------------------- get-task and lifecycles


def test_a_run_moves_on_the_clock_and_ends_with_output_files_and_credit(world: SimServer,
                                                                        clock: FakeClock) -> None:
    task_id = run(world, input_parameters=[{"name": "keyword", "value": "laptops"},
                                           {"name": "max_items", "value": "2"}])
    assert task(world, task_id)["status"] == "created"
    clock.advance(1)
    running = task(world, task_id)
    assert running["status"] == "running" and running["live_url_info"]["live_url"]
    assert "output" not in running and "finished_at" not in running
    clock.advance(3)
    done = task(world, task_id)
    assert done["status"] == "finished" and done["credit"] == 1 and done["finished_at"]
    items = json.loads(done["output"]["string"])["items"]
    assert len(items) == 2 and all("laptops" in item["title"] for item in items)
    [file] = done["download_files"]
    assert file["fileName"] == "items.csv" and file["fileSize"] > 0
    assert done["output"]["files"] == [file["downloadUrl"]]
    assert done["log_detail_url"].endswith(task_id)
    assert [s["status"] for s in done["steps"]] == ["succeed"] * 3


def test_a_failed_run_carries_its_failure_info(world: SimServer, clock: FakeClock) -> None:
    task_id = run(world, "demo-workflow-fails")
    clock.advance(5)
    doc = task(world, task_id)
    assert doc["status"] == "failed"
    assert doc["task_failure_info"] == {"code": 10001, "message": "Navigation timeout"}
    assert doc["steps"][-1]["status"] == "failed"


def test_get_task_status_follows_the_same_lifecycle(world: SimServer, clock: FakeClock) -> None:
    task_id = run(world)
    clock.advance(10)
    assert call(world, ep.GET_TASK_STATUS, params={"task_id": task_id}).json() == {"status": "finished"}


def test_scripted_demo_tasks_also_answer_get_task(world: SimServer, clock: FakeClock) -> None:
    assert task(world, "demo-finished")["status"] == "created"
    clock.advance(5)
    doc = task(world, "demo-finished")
    assert doc["status"] == "finished" and doc["id"] == "demo-finished"


@pytest.mark.parametrize("op", [ep.GET_TASK, ep.GET_TASK_STATUS, ep.STOP_TASK, ep.RESUME_TASK])
def test_task_endpoints_answer_10112_and_99001(world: SimServer, op: ep.Operation) -> None:
    envelope(call(world, op, params={"task_id": "no-such-task"}), 400, 10112)
    envelope(call(world, op), 400, 99001)


# --------------------------------------------------------------------------- stop and resume


def test_stop_cancels_a_running_task_and_10121_once_it_has_ended(world: SimServer, clock: FakeClock) -> None:
    task_id = run(world, "demo-workflow-forever")
    clock.advance(2)
    r = call(world, ep.STOP_TASK, params={"task_id": task_id})
    assert (r.status_code, r.content) == (200, b"")
    assert task(world, task_id)["status"] == "canceled"
    doc = envelope(call(world, ep.STOP_TASK, params={"task_id": task_id}), 400, 10121)
    assert doc["msg"] == "Task has completed."


def test_stop_takes_an_optional_biz_code(world: SimServer) -> None:
    task_id = run(world, "demo-workflow-forever")
    assert call(world, ep.STOP_TASK, params={"task_id": task_id, "biz_code": "101"}).status_code == 200


def test_resume_continues_a_paused_task_to_the_end(world: SimServer, clock: FakeClock) -> None:
    task_id = run(world, "demo-workflow-pauses")
    envelope(call(world, ep.RESUME_TASK, params={"task_id": task_id}), 400, 10127)  # not paused yet
    clock.advance(4)
    assert task(world, task_id)["status"] == "paused"
    clock.advance(3600)
    assert task(world, task_id)["status"] == "paused"  # a person takes their time
    r = call(world, ep.RESUME_TASK, params={"task_id": task_id})
    assert (r.status_code, r.content) == (200, b"")
    assert task(world, task_id)["status"] == "running"
    clock.advance(2)
    assert task(world, task_id)["status"] == "finished"
    envelope(call(world, ep.RESUME_TASK, params={"task_id": task_id}), 400, 10127)


def test_stop_and_resume_act_on_scripted_tasks_too(world: SimServer, clock: FakeClock) -> None:
    call(world, ep.GET_TASK_STATUS, params={"task_id": "demo-paused"})
    clock.advance(5)
    assert call(world, ep.GET_TASK_STATUS, params={"task_id": "demo-paused"}).json()["status"] == "paused"
    assert call(world, ep.RESUME_TASK, params={"task_id": "demo-paused"}).status_code == 200
    assert task(world, "demo-paused")["status"] == "running"
    assert call(world, ep.STOP_TASK, params={"task_id": "demo-forever"}).status_code == 200
    assert task(world, "demo-forever")["status"] == "canceled"


# --------------------------------------------------------------------------- list-tasks


def test_list_tasks_limit_defaults_to_1_and_pages(world: SimServer, clock: FakeClock) -> None:
    ids = []
    for _ in range(3):
        ids.append(run(world))
        clock.advance(1)
    page = call(world, ep.LIST_TASKS, params={"workflow_id": "demo-workflow"}).json()
    assert (page["limit"], page["total_count"], page["total_pages"], len(page["items"])) == (1, 3, 3, 1)
    assert page["items"][0]["id"] == ids[-1]  # newest first
    second = call(world, ep.LIST_TASKS, params={"workflow_id": "demo-workflow", "limit": 2, "page": 2}).json()
    assert [t["id"] for t in second["items"]] == [ids[0]]
    assert "steps" not in second["items"][0] and "download_files" not in second["items"][0]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"limit": "x"}, {"page": 0},
                                    {"status": "bogus"}, {"created_at_from": "yesterday"}])
def test_list_tasks_bad_parameters_are_99001(world: SimServer, params: dict) -> None:
    envelope(call(world, ep.LIST_TASKS, params=params), 400, 99001)


def test_list_tasks_filters(world: SimServer, clock: FakeClock) -> None:
    fails = run(world, "demo-workflow-fails")
    clock.advance(600)
    newer = run(world)
    cut = call(world, ep.GET_TASK, params={"task_id": newer}).json()["created_at"]

    def ids(**params: Any) -> set[str]:
        return {t["id"] for t in call(world, ep.LIST_TASKS, params={"limit": 500, **params}).json()["items"]}

    assert ids(status="failed") == {fails}
    assert ids(workflow_name="FAILS") == {fails}  # contains, case-insensitive
    assert ids(workflow_id="demo-workflow") == {newer}
    assert ids(created_at_from=cut) >= {newer} and fails not in ids(created_at_from=cut)
    assert newer not in ids(created_at_to="2000-01-01T00:00:00Z")


# --------------------------------------------------------------------------- catalog


def test_list_workflows_and_get_workflow(world: SimServer) -> None:
    page = call(world, ep.LIST_WORKFLOWS, params={"limit": 500}).json()
    names = {w["id"] for w in page["items"]}
    assert {"demo-workflow", "demo-workflow-fails", "demo-workflow-pauses", "demo-workflow-forever"} <= names
    assert {"create_at", "publish_at"} <= set(page["items"][0])
    doc = call(world, ep.GET_WORKFLOW, params={"workflow_id": "demo-workflow"}).json()
    assert doc["input_parameters"] == [{"name": "keyword", "default_enabled": True},
                                       {"name": "max_items", "default_enabled": False}]
    envelope(call(world, ep.GET_WORKFLOW, params={"workflow_id": "nope"}), 400, 10111)
    envelope(call(world, ep.GET_WORKFLOW), 400, 99001)


def test_templates_list_and_show(world: SimServer) -> None:
    page = call(world, ep.LIST_TEMPLATES, params={"limit": 10, "keyword": "SCRAPE"}).json()
    [item] = page["items"]
    assert set(item) == {"templateId", "name", "recommendDesc", "detailUrl"}
    assert call(world, ep.LIST_TEMPLATES, params={"limit": 10, "keyword": "zzz"}).json()["items"] == []
    doc = call(world, ep.GET_TEMPLATE, params={"workflow_template_id": "demo-template"}).json()
    assert [i["name"] for i in doc["input_parameters"]] == ["url", "max_items"]
    envelope(call(world, ep.GET_TEMPLATE, params={"workflow_template_id": "nope"}), 400, 10176)
    envelope(call(world, ep.GET_TEMPLATE), 400, 99001)


def test_regions_are_a_bare_array_with_uk(world: SimServer) -> None:
    regions = call(world, ep.GET_REGIONS).json()
    assert isinstance(regions, list)
    codes = {r["code"] for r in regions}
    assert {"US", "UK", "DE", "JP"} <= codes and "GB" not in codes


# --------------------------------------------------------------------------- files


def finished_file(sim: SimServer, clock: FakeClock) -> dict[str, Any]:
    task_id = run(sim)
    clock.advance(10)
    return task(sim, task_id)["download_files"][0]


def test_files_are_served_without_a_key_but_only_with_their_token(world: SimServer, clock: FakeClock) -> None:
    file = finished_file(world, clock)
    r = requests.get(file["downloadUrl"], timeout=5)
    assert r.status_code == 200 and len(r.content) == file["fileSize"]
    assert r.content.startswith(b"rank,title,price")
    forged = re.sub(r"Signature=[0-9a-f]+", "Signature=" + "0" * 32, file["downloadUrl"])
    assert requests.get(forged, timeout=5).status_code == 403
    assert requests.get(file["downloadUrl"].split("?")[0], timeout=5).status_code == 403


def test_files_support_range_requests(world: SimServer, clock: FakeClock) -> None:
    file = finished_file(world, clock)
    whole = requests.get(file["downloadUrl"], timeout=5).content
    r = requests.get(file["downloadUrl"], headers={"Range": "bytes=5-"}, timeout=5)
    assert r.status_code == 206 and r.content == whole[5:]
    assert r.headers["Content-Range"] == f"bytes 5-{len(whole) - 1}/{len(whole)}"
    r = requests.get(file["downloadUrl"], headers={"Range": f"bytes={len(whole)}-"}, timeout=5)
    assert r.status_code == 416


def test_generated_files_are_streamed_with_their_size(make_sim, clock: FakeClock) -> None:
    sim = make_sim(clock=clock, workflows={"big": {"files": [{"name": "big.bin", "size": 3_000_000}]}})
    task_id = run(sim, "big")
    clock.advance(10)
    file = task(sim, task_id)["download_files"][0]
    body = requests.get(file["downloadUrl"], timeout=10).content
    assert len(body) == 3_000_000 and body[:4] == b"\x00\x01\x02\x03" and body[256:258] == b"\x00\x01"
    part = requests.get(file["downloadUrl"], headers={"Range": "bytes=1000-1003"}, timeout=5).content
    assert part == body[1000:1004]


# --------------------------------------------------------------------------- faults and the log


def test_a_fault_answers_the_next_requests_then_the_endpoint_recovers(make_sim, clock: FakeClock) -> None:
    sim = make_sim(clock=clock, faults={"run-task": [{"pass": True}, {"http": 503, "polls": 2}]})
    run(sim)
    assert call(sim, ep.RUN_TASK, body={"workflow_id": "demo-workflow"}).status_code == 503
    assert call(sim, ep.RUN_TASK, body={"workflow_id": "demo-workflow"}).status_code == 503
    run(sim)
    assert len(sim.created_tasks()) == 2  # a 503 from a fault created nothing


def test_a_hangup_fault_closes_without_an_answer(make_sim) -> None:
    sim = make_sim(faults={"get-task": [{"hangup": True}]})
    with pytest.raises(requests.ConnectionError):
        call(sim, ep.GET_TASK, params={"task_id": "demo-finished"})
    assert call(sim, ep.GET_TASK, params={"task_id": "demo-finished"}).status_code == 200


def test_unknown_fault_endpoints_are_refused() -> None:
    with pytest.raises(ValueError, match="not an endpoint"):
        SimServer(faults={"run-tasks": [{"http": 503}]})


def test_the_request_log_records_method_path_query_and_body(world: SimServer) -> None:
    run(world, input_parameters=[{"name": "keyword", "value": "x"}])
    call(world, ep.LIST_TASKS, params={"limit": 3})
    post, listing = world.requests
    assert (post.method, post.path, post.json["workflow_id"]) == ("POST", ep.RUN_TASK.path, "demo-workflow")
    assert (listing.method, listing.query) == ("GET", {"limit": ["3"]})
    assert post.answer_status == 200 and listing.answer_status == 200


def test_unknown_methods_are_405_with_allow(world: SimServer) -> None:
    for method in ("TRACE", "DELETE"):
        r = requests.request(method, world.url + ep.GET_TASK.path, headers=AUTH, timeout=5)
        assert r.status_code == 405 and r.headers["Allow"] == "GET"


# --------------------------------------------------------------------------- the conformance check


def _record(path: str, status: int, body: bytes, *, method: str = "GET", agent: str = "x",
            query: dict | None = None, request_body: bytes = b"") -> RequestRecord:
    return RequestRecord(method, path, query or {}, None, None, 1, 0.0, body=request_body, user_agent=agent,
                         answer_status=status, answer_body=body)


@pytest.mark.parametrize(("record", "needle"), [
    (_record(ep.GET_TASK.path, 200, b'{"id": "1", "status": "running"}'), "required"),
    (_record(ep.GET_TASK_STATUS.path, 200, b'{"status": "queued"}'), "is not one of"),
    (_record(ep.GET_TASK.path, 400, b'{"code": "x", "msg": "m"}'), "is not of type"),
    (_record(ep.STOP_TASK.path, 200, b'{"ok": true}', method="PUT"), "a body where the spec has none"),
    (_record(ep.GET_REGIONS.path, 200, b'{"items": []}'), "is not of type 'array'"),
    (_record(ep.LIST_TASKS.path, 200, b'{}', agent="browseract/0", query={"limit": ["0"]}), "minimum"),
    (_record(ep.LIST_TASKS.path, 200, b'{}', agent="browseract/0", query={"size": ["5"]}), "not in the spec"),
    (_record(ep.RUN_TASK.path, 200, b'{"id": "1"}', method="POST", agent="browseract/0",
             request_body=b'{"input_parameters": []}'), "workflow_id"),
    (_record(ep.GET_TASK.path, 200, b'{}', agent="browseract/0"), "required query parameter"),
])
def test_the_conformance_check_finds_what_the_spec_does_not_allow(record: RequestRecord, needle: str) -> None:
    found = problems([record])
    assert found and any(needle in p for p in found), found


def test_the_conformance_check_accepts_the_documented_deviations() -> None:
    envelope_body = b'{"code": 10112, "msg": "Task is not exist.", "data": null, "ts": 1, ' \
                    b'"time": "2025-10-08 09:54:10", "traceId": "ab"}'
    assert problems([_record(ep.GET_TASK.path, 400, envelope_body)]) == []
    assert problems([_record(ep.GET_TASK.path, 400, envelope_body.replace(b"2025-10-08 09", b"Oct 8 09"))])


# --------------------------------------------------------------------------- simulate options


def test_simulate_serves_bulk_tasks_with_latency(tmp_path) -> None:
    import os
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "browseract_cli", "simulate", "--port", "0",
                             "--bulk-tasks", "1200", "--latency", "50ms"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "BROWSERACT_CONFIG_DIR": str(tmp_path)})
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), line
        started = time.monotonic()
        page = requests.get(url + ep.LIST_TASKS.path, params={"limit": 500}, headers=AUTH, timeout=10).json()
        assert time.monotonic() - started >= 0.05  # the latency is there
        assert page["total_count"] == 1200 + 6 and page["total_pages"] == 3 and len(page["items"]) == 500  # + the demo tasks
        assert sum(item["status"] == "finished" for item in page["items"]) == 500 - 6  # after the demos
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.parametrize("args", [["--latency", "soon"], ["--max-running", "-1"], ["--bulk-tasks", "x"]])
def test_simulate_refuses_bad_options(cli, args: list[str]) -> None:
    cli("simulate", "--port", "0", *args, expect=2)


def test_the_big_file_workflow_streams_256_mib(world: SimServer, clock: FakeClock) -> None:
    task_id = run(world, "demo-workflow-big-file")
    clock.advance(2)
    [file] = task(world, task_id)["download_files"]
    assert file["fileSize"] == 256 * 1024 * 1024
    r = requests.get(file["downloadUrl"], headers={"Range": f"bytes={file['fileSize'] - 4}-"}, timeout=5)
    assert r.status_code == 206 and r.content == bytes([252, 253, 254, 255])
