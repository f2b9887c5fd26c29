"""The generic request path and the twelve operations, against the real simulator.

Retry by method (a create is never sent twice once it may have reached the server), JSON
bodies, answers of every shape (object, bare array, empty), paging, typed views with the
API's quirks, and errors that know their resource.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from conftest import CANARY, FakeClock

from browseract_cli import endpoints as ep
from browseract_cli.api import ApiClient, Timeouts
from browseract_cli.classify import EMPTY, classify
from browseract_cli.errors import ApiError
from browseract_cli.models import Created, Page, Task, Template, Workflow
from browseract_cli.retry import RetryPolicy

RUN_BODY = {"workflow_id": "demo-workflow", "input_parameters": [{"name": "keyword", "value": "x"}]}


def client_for(url: str, **kw: Any) -> ApiClient:
    kw.setdefault("sleep", lambda s: None)
    kw.setdefault("uniform", lambda a, b: b)
    return ApiClient(url, CANARY, **kw)


def posts(sim: Any) -> int:
    return sim.request_count(path=ep.RUN_TASK.path)


# --------------------------------------------------------------------------- no duplicate task


@pytest.mark.parametrize("fault", [
    {"http": 503},  # a 5xx: the server may have created the task before failing
    {"hangup": True},  # the body was read, then the connection reset
    {"pass": True, "delay": 1.0},  # answered, but after the read timeout
    {"body": "<html>oops</html>"},  # a malformed 200
])
def test_a_create_that_may_have_reached_the_server_is_sent_exactly_once(make_sim, fault: dict) -> None:
    sim = make_sim(faults={"run-task": [fault]})
    client = client_for(sim.url, timeouts=Timeouts(1.0, 0.3, 2.0))
    with pytest.raises(ApiError) as caught:
        ep.run_task(client, RUN_BODY)
    assert posts(sim) == 1
    assert caught.value.reached_server
    assert caught.value.kind in ("network", "server")


def test_the_same_answers_are_retried_for_a_get(make_sim) -> None:
    sim = make_sim(faults={"get-task": [{"http": 503}, {"hangup": True}, {"pass": True, "delay": 1.0}]})
    client = client_for(sim.url, timeouts=Timeouts(1.0, 0.3, 2.0))
    assert ep.get_task(client, "demo-finished").status == "created"
    assert sim.request_count(path=ep.GET_TASK.path) == 4


def test_a_429_means_nothing_was_created_and_is_retried(make_sim) -> None:
    sim = make_sim(faults={"run-task": [{"http": 429, "retry_after": "0"}]})
    created = ep.run_task(client_for(sim.url), RUN_BODY)
    assert posts(sim) == 2 and sim.created_tasks() == [created.id]


def test_10118_is_not_retried_and_says_what_to_do(make_sim) -> None:
    sim = make_sim(max_running=0)
    with pytest.raises(ApiError) as caught:
        ep.run_task(client_for(sim.url), RUN_BODY)
    err = caught.value
    assert (err.kind, int(err.exit_code), err.code) == ("rate_limited", 75, 10118)
    assert "--wait-for-slot" in err.hint and posts(sim) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_create_is_retried_when_the_connection_was_refused() -> None:
    seen: list[ApiError] = []
    client = client_for(f"http://127.0.0.1:{_closed_port()}", policy=RetryPolicy(max_attempts=3))
    with pytest.raises(ApiError) as caught:
        client.request("POST", ep.RUN_TASK.path, body=RUN_BODY, on_retry=lambda e, w: seen.append(e))
    assert len(seen) == 2  # three attempts: refused means it never reached a server
    assert not caught.value.reached_server and "refused" in caught.value.msg


def test_a_create_is_retried_after_a_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    seen: list[ApiError] = []
    client = client_for("https://api.browseract.invalid", policy=RetryPolicy(max_attempts=2))
    with pytest.raises(ApiError) as caught:
        client.request("POST", ep.RUN_TASK.path, body=RUN_BODY, on_retry=lambda e, w: seen.append(e))
    assert len(seen) == 1 and not caught.value.reached_server


# --------------------------------------------------------------------------- requests and answers


def test_a_post_sends_json_with_its_content_type(make_sim) -> None:
    sim = make_sim()
    ep.run_task(client_for(sim.url), RUN_BODY)
    [record] = sim.requests
    assert record.json == RUN_BODY
    assert record.user_agent.startswith("browseract/")


def test_answers_of_every_shape_come_back_parsed(make_sim, clock: FakeClock) -> None:
    sim = make_sim(clock=clock)
    client = client_for(sim.url)
    assert isinstance(client.request("GET", ep.GET_REGIONS.path), list)  # a bare array
    created = ep.run_task(client, {"workflow_id": "demo-workflow-forever"})
    assert client.request("PUT", ep.STOP_TASK.path, params={"task_id": created.id}) is EMPTY


def test_classify_is_endpoint_neutral() -> None:
    assert classify(200, b"[1, 2]") == [1, 2]
    assert classify(200, b"") is EMPTY
    assert classify(200, b'"text"') == "text"
    assert isinstance(classify(204, b""), ApiError)  # only 200 is success
    err = classify(400, b'{"code": 10111, "msg": "Workflow is not exist."}', resource="workflow")
    assert isinstance(err, ApiError) and (err.kind, err.title) == ("not_found", "workflow not found")
    assert "workflows list" in err.hint


@pytest.mark.parametrize(("code", "resource", "kind", "exit_code", "title"), [
    (10112, "task", "not_found", 66, "task not found"),
    (10111, "workflow", "not_found", 66, "workflow not found"),
    (10176, "template", "not_found", 66, "template not found"),
    (99001, "task", "bad_request", 65, "request rejected"),
    (10013, "template", "bad_request", 65, "request rejected"),
    (10118, "workflow", "rate_limited", 75, "rate limited"),
    (401, "task", "auth", 77, "API key rejected"),
    (99002, "workflow", "auth", 77, "API key rejected"),
    (10121, "task", "bad_request", 65, "request rejected"),  # the command decides what it means
    (12345, "template", "bad_request", 65, "request rejected"),
])
def test_business_codes_in_one_table(code: int, resource: str, kind: str, exit_code: int, title: str) -> None:
    err = classify(400, f'{{"code": {code}, "msg": "m"}}'.encode(), resource=resource)
    assert isinstance(err, ApiError)
    assert (err.kind, int(err.exit_code), err.title) == (kind, exit_code, title)


def test_a_not_exist_message_with_an_unlisted_code_is_not_found_for_workflows() -> None:
    err = classify(400, b'{"code": 55555, "msg": "Workflow does not exist"}', resource="workflow")
    assert isinstance(err, ApiError) and err.kind == "not_found"
    err = classify(400, b'{"code": 55555, "msg": "Task does not exist"}', resource="task")
    assert isinstance(err, ApiError) and err.kind == "bad_request"  # tasks: only 10112


def test_unknown_ids_are_not_found_errors_naming_their_resource(make_sim) -> None:
    client = client_for(make_sim().url)
    for call, title in ((lambda: ep.get_workflow(client, "nope"), "workflow not found"),
                        (lambda: ep.get_template(client, "nope"), "template not found"),
                        (lambda: ep.get_task(client, "nope"), "task not found"),
                        (lambda: ep.run_task(client, {"workflow_id": "nope"}), "workflow not found")):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.title == title and int(caught.value.exit_code) == 66


# --------------------------------------------------------------------------- paging


def test_paginate_always_sends_limit_and_yields_items_as_pages_arrive(make_sim, clock: FakeClock) -> None:
    sim = make_sim(clock=clock)
    client = client_for(sim.url)
    for _ in range(5):
        ep.run_task(client, {"workflow_id": "demo-workflow"})
        clock.advance(5)
    sim.clear_requests()
    walk = ep.paginate(lambda page, limit: ep.list_tasks(client, page, limit, workflow_id="demo-workflow"),
                       limit=2)
    first = next(walk.items)
    assert sim.request_count() == 1  # the first item came before the second page was asked for
    rest = list(walk.items)
    assert len([first, *rest]) == 5 and walk.totals["total_count"] == 5
    assert [r.query["limit"] for r in sim.requests] == [["2"]] * 3
    assert [r.query["page"] for r in sim.requests] == [["1"], ["2"], ["3"]]


def _fake_pages(pages: list[Page]):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def fetch(page: int, limit: int) -> Page:
        calls.append(page)
        return pages[min(page, len(pages)) - 1]

    return fetch, calls


def _items(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "status": "finished"} for i in ids]


@pytest.mark.parametrize("total_pages", [10**9, 0, -1, None])
def test_paginate_ends_whatever_total_pages_says(total_pages: int | None) -> None:
    fetch, calls = _fake_pages([Page(_items("a", "b"), 1, total_pages, 4), Page(_items("c", "d"), 2, total_pages, 4),
                                Page([], 3, total_pages, 4)])
    walk = ep.paginate(fetch, limit=2)
    assert [i["id"] for i in walk.items] == ["a", "b", "c", "d"]
    assert len(calls) <= 3


def test_paginate_never_yields_a_repeated_page_twice() -> None:
    fetch, calls = _fake_pages([Page(_items("a", "b"), 1, 5, 10)] * 5)
    walk = ep.paginate(fetch, limit=2)
    assert [i["id"] for i in walk.items] == ["a", "b"] and calls == [1, 2]


def test_paginate_stops_at_max_items() -> None:
    fetch, calls = _fake_pages([Page(_items("a", "b"), 1, 3, 6), Page(_items("c", "d"), 2, 3, 6)])
    assert [i["id"] for i in ep.paginate(fetch, limit=2, max_items=3).items] == ["a", "b", "c"]


# --------------------------------------------------------------------------- typed views


def test_task_view_reads_the_quirks() -> None:
    t = Task({"id": 16429034742537847, "status": "finished", "workflow_id": 16217357109956214,
              "input_parameters": "keyword=laptops;max_items=50;empty=", "credit": True,
              "output": {"string": '{"a": 1}', "files": ["https://f/1", "https://f/2"]},
              "download_files": [{"fileName": "a.csv", "fileSize": 10, "downloadUrl": "https://f/1"}],
              "live_url_info": None, "task_failure_info": {"code": 1011, "message": "reCAPTCHA"}})
    assert (t.id, t.workflow_id) == ("16429034742537847", "16217357109956214")  # strings, exact
    assert t.input_parameters == [("keyword", "laptops"), ("max_items", "50"), ("empty", "")]
    assert t.credit is None  # a bool is not a credit
    assert t.output_text == '{"a": 1}' and t.live_url is None
    assert [(f.url, f.name) for f in t.files] == [("https://f/1", "a.csv"), ("https://f/2", None)]
    assert t.failure == (1011, "reCAPTCHA")
    running = Task({"status": "running", "output": {"string": None, "files": None}})
    assert running.output_text is None and running.files == []


def test_created_accepts_profile_id_in_both_spellings() -> None:
    assert Created({"id": "1", "profile_id": "p"}).profile_id == "p"
    assert Created({"id": "1", "profileId": "q"}).profile_id == "q"


def test_workflow_and_template_views() -> None:
    w = Workflow({"id": "w", "create_at": "2026-01-01T00:00:00Z", "publish_at": "2026-01-02T00:00:00Z",
                  "input_parameters": [{"name": "KeyWord", "default_enabled": True}, {"name": "n"}, {}]})
    assert (w.created_at, w.published_at, w.inputs) == ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
                                                       [("KeyWord", True), ("n", False)])
    t = Template({"templateId": 77638424152140851, "recommendDesc": "Scrapes", "detailUrl": "https://d"})
    assert (t.id, t.description, t.detail_url) == ("77638424152140851", "Scrapes", "https://d")


@pytest.mark.parametrize(("answer", "needle"), [
    ({"profile_id": "p"}, "no usable task 'id'"),
    ({"id": None}, "no usable task 'id'"),
    ([], "not a JSON object"),
])
def test_a_create_answer_without_an_id_is_a_bad_answer(make_sim, answer: Any, needle: str) -> None:
    import json

    sim = make_sim(faults={"run-task": [{"body": json.dumps(answer), "content_type": "application/json"}]})
    with pytest.raises(ApiError) as caught:
        ep.run_task(client_for(sim.url), RUN_BODY)
    assert int(caught.value.exit_code) == 76 and needle in caught.value.msg


def test_a_listed_business_code_wins_over_not_exist_wording() -> None:
    """10013 "Proxy region does not exist." on a template run is a bad region (65), not 66."""
    err = classify(400, b'{"code": 10013, "msg": "Proxy region does not exist."}', resource="template")
    assert isinstance(err, ApiError) and (err.kind, int(err.exit_code)) == ("bad_request", 65)
