"""The loopback simulator: answers, lifecycles, scenario files, envelope shape, keep-alive."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
import requests

from browseract_cli.simulator import STATUS_PATH, SimServer
from browseract_cli.simulator.scenario import DEMO_TASKS, load_scenario, validate_steps

KEY = "sim-test-key-0123456789"
ENVELOPE_FIELDS = {"code", "msg", "data", "ts", "time", "traceId"}


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock):
    with SimServer(clock=clock) as server:
        yield server
    assert server.errors == []


def get(
    server: SimServer,
    task_id: str | None,
    *,
    key: str | None = KEY,
    session: requests.Session | None = None,
    path: str = STATUS_PATH,
    method: str = "GET",
) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    params = {"task_id": task_id} if task_id is not None else {}
    return (session or requests).request(
        method,
        server.url + path,
        params=params,
        headers=headers,
        timeout=5,
        allow_redirects=False,
    )


def status_of(server: SimServer, task_id: str, **kw) -> str | int:
    """The status a poll answers, or the HTTP status when it is not a 200 status answer."""
    r = get(server, task_id, **kw)
    if r.status_code == 200 and r.headers["Content-Type"] == "application/json":
        return r.json()["status"]
    return r.status_code


def assert_envelope(r: requests.Response, http_status: int, code: int, msg: str) -> dict:
    assert r.status_code == http_status
    assert r.headers["Content-Type"] == "application/json"
    assert int(r.headers["Content-Length"]) == len(r.content)
    doc = r.json()
    assert set(doc) == ENVELOPE_FIELDS
    assert type(doc["code"]) is int and doc["code"] == code
    assert doc["msg"] == msg
    assert doc["data"] is None
    assert type(doc["ts"]) is int
    assert abs(doc["ts"] - time.time() * 1000) < 60_000  # milliseconds, not seconds
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", doc["time"])
    assert re.fullmatch(r"[0-9a-f]{32}", doc["traceId"])
    return doc


# ---------------------------------------------------------------------------- basic answers


def test_known_task_answers_200_json(sim: SimServer) -> None:
    r = get(sim, "demo-finished")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Content-Length"] == str(len(r.content))
    assert r.json() == {"status": "created"}
    assert sim.url.startswith("http://127.0.0.1:")


def test_every_demo_task_exists(sim: SimServer) -> None:
    assert set(DEMO_TASKS) == {
        "demo-finished",
        "demo-failed",
        "demo-canceled",
        "demo-paused",
        "demo-flaky",
        "demo-forever",
    }
    for task_id in DEMO_TASKS:
        assert status_of(sim, task_id) == "created"


def test_unknown_task_is_10112_envelope(sim: SimServer) -> None:
    first = assert_envelope(get(sim, "no-such-task"), 400, 10112, "Task is not exist.")
    second = assert_envelope(get(sim, "no-such-task"), 400, 10112, "Task is not exist.")
    assert first["traceId"] != second["traceId"]


@pytest.mark.parametrize("task_id", [None, ""])
def test_missing_or_empty_task_id_is_99001(sim: SimServer, task_id: str | None) -> None:
    assert_envelope(get(sim, task_id), 400, 99001, "request parameter error")


def test_other_path_is_404_and_other_method_405(sim: SimServer) -> None:
    assert_envelope(get(sim, "demo-finished", path="/v2/workflow/no-such-endpoint"), 404, 404, "Not Found")
    assert_envelope(get(sim, "demo-finished", path="/"), 404, 404, "Not Found")
    r = get(sim, "demo-finished", method="POST")
    assert_envelope(r, 405, 405, "Method Not Allowed")
    assert r.headers["Allow"] == "GET"


# ---------------------------------------------------------------------------- authorization


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer two words", "Bearer  padded", "key"],
)
def test_missing_or_malformed_authorization_is_401(sim: SimServer, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    r = requests.get(
        sim.url + STATUS_PATH, params={"task_id": "demo-finished"}, headers=headers, timeout=5
    )
    assert_envelope(r, 401, 401, "Invalid authorization")
    assert sim.request_count("demo-finished") == 1


def test_any_key_accepted_without_api_key(sim: SimServer) -> None:
    assert status_of(sim, "demo-finished", key="anything") == "created"


def test_wrong_key_is_401_when_api_key_set(clock: FakeClock) -> None:
    with SimServer(api_key=KEY, clock=clock) as server:
        r = get(server, "demo-finished", key="wrong-key")
        assert_envelope(r, 401, 401, "Invalid authorization")
        assert_envelope(get(server, "demo-finished", key=None), 401, 401, "Invalid authorization")
        assert status_of(server, "demo-finished", key=KEY) == "created"


def test_auth_checked_before_task_lookup(clock: FakeClock) -> None:
    with SimServer(api_key=KEY, clock=clock) as server:
        assert_envelope(get(server, "no-such-task", key="x"), 401, 401, "Invalid authorization")
        # A rejected poll does not start the lifecycle.
        get(server, "demo-finished", key="x")
        clock.advance(100)
        assert status_of(server, "demo-finished") == "created"


# ---------------------------------------------------------------------------- lifecycles


def test_seconds_steps_follow_the_clock(sim: SimServer, clock: FakeClock) -> None:
    clock.advance(50)  # the lifecycle starts at the first poll, not at server start
    assert status_of(sim, "demo-finished") == "created"
    clock.advance(0.99)
    assert status_of(sim, "demo-finished") == "created"
    clock.advance(0.01)
    assert status_of(sim, "demo-finished") == "running"
    clock.advance(2.99)
    assert status_of(sim, "demo-finished") == "running"
    clock.advance(0.01)
    assert status_of(sim, "demo-finished") == "finished"
    clock.advance(1000)
    assert status_of(sim, "demo-finished") == "finished"


def test_seconds_steps_skip_ahead_after_a_long_gap(sim: SimServer, clock: FakeClock) -> None:
    assert status_of(sim, "demo-paused") == "created"
    clock.advance(3.5)  # created 1 s + running 2 s are over; pausing lasts until t = 4
    assert status_of(sim, "demo-paused") == "pausing"
    clock.advance(0.5)
    assert status_of(sim, "demo-paused") == "paused"
    clock.advance(10_000)
    assert status_of(sim, "demo-paused") == "paused"


@pytest.mark.parametrize(
    ("task_id", "end"),
    [("demo-failed", "failed"), ("demo-canceled", "canceled"), ("demo-forever", "running")],
)
def test_demo_endings(sim: SimServer, clock: FakeClock, task_id: str, end: str) -> None:
    assert status_of(sim, task_id) == "created"
    clock.advance(1)
    assert status_of(sim, task_id) == "running"
    clock.advance(10_000)
    assert status_of(sim, task_id) == end


def test_demo_flaky_sequence(sim: SimServer, clock: FakeClock) -> None:
    assert status_of(sim, "demo-flaky") == "created"
    clock.advance(1)
    assert_envelope(get(sim, "demo-flaky"), 503, 503, "Service Unavailable")
    assert status_of(sim, "demo-flaky") == "running"
    clock.advance(2)
    r = get(sim, "demo-flaky")
    assert_envelope(r, 429, 429, "Too Many Requests")
    assert r.headers["Retry-After"] == "1"
    assert status_of(sim, "demo-flaky") == 503
    assert status_of(sim, "demo-flaky") == "running"
    clock.advance(1)
    assert status_of(sim, "demo-flaky") == "finished"


def test_polls_steps_and_retry_after(sim: SimServer) -> None:
    sim.add_task(
        "task-1",
        [
            {"status": "created", "polls": 2},
            {"http": 503, "retry_after": "7"},
            {"status": "finished"},
        ],
    )
    assert status_of(sim, "task-1") == "created"
    assert status_of(sim, "task-1") == "created"
    r = get(sim, "task-1")
    assert_envelope(r, 503, 503, "Service Unavailable")
    assert r.headers["Retry-After"] == "7"
    for _ in range(3):
        assert status_of(sim, "task-1") == "finished"
    assert sim.request_count("task-1") == 6


def test_add_task_restarts_lifecycle_and_overrides_demo(sim: SimServer) -> None:
    assert status_of(sim, "demo-finished") == "created"
    sim.add_task("demo-finished", [{"status": "queued"}])  # outside the enum on purpose
    assert status_of(sim, "demo-finished") == "queued"


def test_reset_restarts_lifecycles(sim: SimServer, clock: FakeClock) -> None:
    assert status_of(sim, "demo-finished") == "created"
    clock.advance(2)
    assert status_of(sim, "demo-finished") == "running"
    sim.reset()
    assert status_of(sim, "demo-finished") == "created"


def test_include_demo_false(clock: FakeClock) -> None:
    with SimServer(clock=clock, include_demo=False, tasks={"t": [{"status": "paused"}]}) as s:
        assert_envelope(get(s, "demo-finished"), 400, 10112, "Task is not exist.")
        assert status_of(s, "t") == "paused"


def test_http_step_with_business_code_and_location(sim: SimServer) -> None:
    sim.add_task(
        "t",
        [
            {"http": 200, "code": 10112, "msg": "odd", "polls": 1},
            {"http": 302, "location": "https://elsewhere.example/"},
        ],
    )
    assert_envelope(get(sim, "t"), 200, 10112, "odd")
    r = get(sim, "t")
    assert_envelope(r, 302, 302, "Found")
    assert r.headers["Location"] == "https://elsewhere.example/"


def test_raw_body_steps(sim: SimServer) -> None:
    sim.add_task(
        "t",
        [
            {"body": "<html>portal</html>", "polls": 1},
            {"body": "{not json", "http": 502, "content_type": "text/plain", "polls": 1},
            {"body": b"\xff\xfe", "content_type": "application/json", "polls": 1},
            {"body": "", "http": 204, "polls": 1},
            {"status": "finished"},
        ],
    )
    with requests.Session() as session:
        r = get(sim, "t", session=session)
        assert (r.status_code, r.headers["Content-Type"], r.text) == (
            200,
            "text/html",
            "<html>portal</html>",
        )
        r = get(sim, "t", session=session)
        assert (r.status_code, r.headers["Content-Type"], r.text) == (
            502,
            "text/plain",
            "{not json",
        )
        r = get(sim, "t", session=session)
        assert r.content == b"\xff\xfe"
        r = get(sim, "t", session=session)
        assert (r.status_code, r.content) == (204, b"")
        # The 204 did not leave stray bytes on the kept-alive connection.
        assert get(sim, "t", session=session).json() == {"status": "finished"}
    assert sim.connections_opened == 1


def test_delay_step_really_waits(sim: SimServer) -> None:
    sim.add_task("slow", [{"status": "running", "delay": 0.2}])
    start = time.monotonic()
    assert status_of(sim, "slow") == "running"
    assert time.monotonic() - start >= 0.2


def test_close_step_closes_the_connection(sim: SimServer) -> None:
    sim.add_task("t", [{"status": "running", "close": True, "polls": 1}, {"status": "finished"}])
    with requests.Session() as session:
        r = get(sim, "t", session=session)
        assert r.headers["Connection"] == "close"
        assert get(sim, "t", session=session).json() == {"status": "finished"}
    assert sim.connections_opened == 2


# ---------------------------------------------------------------------------- transport


def test_keep_alive_uses_one_connection(sim: SimServer) -> None:
    with requests.Session() as session:
        for _ in range(20):
            assert get(sim, "demo-forever", session=session).status_code == 200
    assert sim.connections_opened == 1
    assert sim.request_count() == 20
    assert len({rec.client_port for rec in sim.requests}) == 1


@pytest.mark.parametrize(
    "task_id",
    ["abc&status=x", "abc#frag", "with spaces  ", " ", "naïve-タスク-🚀", "a/b?c=d%2F+e"],
)
def test_task_id_received_exactly(sim: SimServer, task_id: str) -> None:
    assert_envelope(get(sim, task_id), 400, 10112, "Task is not exist.")
    sim.add_task(task_id, [{"status": "running"}])
    assert status_of(sim, task_id) == "running"
    records = sim.requests
    assert [rec.task_id for rec in records] == [task_id, task_id]
    assert records[0].query == {"task_id": [task_id]}
    assert records[0].path == STATUS_PATH


def test_request_records(sim: SimServer) -> None:
    get(sim, "demo-finished")
    get(sim, "x", path="/other")
    rec, other = sim.requests
    assert rec.method == "GET"
    assert rec.authorization == f"Bearer {KEY}"
    assert KEY not in repr(rec)  # the key stays out of assertion messages
    assert isinstance(rec.client_port, int) and rec.client_port > 0
    assert other.path == "/other"
    assert sim.request_count() == 2 and sim.request_count("x") == 1
    sim.clear_requests()
    assert sim.request_count() == 0


def test_malformed_request_gets_envelope(sim: SimServer) -> None:
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        sock.sendall(b"garbage\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["code"] == 400


def test_client_hanging_up_mid_answer_is_quiet(
    sim: SimServer, capfd: pytest.CaptureFixture[str]
) -> None:
    sim.add_task("big", [{"body": "x" * (8 << 20)}])
    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    sock.sendall(
        f"GET {STATUS_PATH}?task_id=big HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {KEY}\r\n\r\n".encode()
    )
    assert sock.recv(100).startswith(b"HTTP/1.1 200")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # RST while the server is still writing
    deadline = time.monotonic() + 2
    while sim.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.open_connections == 0
    assert status_of(sim, "demo-finished") == "created"  # still serving
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_stop_is_idempotent_and_closes(clock: FakeClock) -> None:
    server = SimServer(clock=clock).start()
    with requests.Session() as session:
        assert get(server, "demo-forever", session=session).status_code == 200
        server.stop()
        server.stop()
        with pytest.raises(requests.ConnectionError):
            get(server, "demo-forever", session=session)
    with pytest.raises(RuntimeError):
        server.start()


def test_ipv6_url_has_brackets(clock: FakeClock) -> None:
    try:
        server = SimServer("::1", clock=clock)
    except OSError:
        pytest.skip("no IPv6 loopback")
    with server:
        assert server.url == f"http://[::1]:{server.port}"
        assert status_of(server, "demo-finished") == "created"


# ---------------------------------------------------------------------------- scenario files

TOML_SCENARIO = """
[tasks."task-1"]
steps = [ { status = "created", polls = 2 }, { http = 503, retry_after = "1" }, { status = "finished" } ]

[tasks."demo-finished"]
steps = [ { status = "failed" } ]

[[tasks."arrays".steps]]
body = "<html/>"
seconds = 2.5

[[tasks."arrays".steps]]
status = "running"
"""


def test_toml_scenario(tmp_path, clock: FakeClock) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML_SCENARIO, encoding="utf-8")
    tasks = load_scenario(path).tasks
    assert tasks["task-1"] == [
        {"status": "created", "polls": 2},
        {"http": 503, "retry_after": "1", "polls": 1},
        {"status": "finished"},
    ]
    with SimServer(clock=clock, tasks=tasks) as server:
        assert [status_of(server, "task-1") for _ in range(5)] == [
            "created",
            "created",
            503,
            "finished",
            "finished",
        ]
        assert status_of(server, "demo-finished") == "failed"  # scenario overrides the demo
        assert status_of(server, "arrays") == 200 and get(server, "arrays").text == "<html/>"
        clock.advance(2.5)
        assert status_of(server, "arrays") == "running"
        assert status_of(server, "demo-failed") == "created"  # other demos stay


def test_json_scenario(tmp_path, clock: FakeClock) -> None:
    doc = {
        "tasks": {
            "task-1": {
                "steps": [
                    {"status": "running", "seconds": 1},
                    {"http": 429, "retry_after": 3, "polls": 1},
                    {"status": "finished"},
                ]
            }
        }
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    tasks = load_scenario(path).tasks
    assert tasks["task-1"][1]["retry_after"] == "3"
    with SimServer(clock=clock, tasks=tasks) as server:
        assert status_of(server, "task-1") == "running"
        clock.advance(1)
        assert get(server, "task-1").headers["Retry-After"] == "3"
        assert status_of(server, "task-1") == "finished"


@pytest.mark.parametrize(
    ("steps", "needle"),
    [
        ([{"status": "created"}, {"stauts": "running"}], "steps[1]"),
        ([{"status": "created"}, {"polls": 3}], "steps[1]"),
        ([{"status": "created"}, {"status": 5}], "steps[1]"),
        ([{"status": "created"}, {"http": "503"}], "steps[1]"),
        ([{"status": "created"}, {"http": True}], "steps[1]"),
        ([{"status": "created"}, {"status": "x", "polls": 0}], "steps[1]"),
        ([{"status": "created"}, {"status": "x", "polls": 1.5}], "steps[1]"),
        ([{"status": "created"}, {"status": "x", "seconds": -1}], "steps[1]"),
        ([{"status": "created"}, {"status": "x", "polls": 1, "seconds": 1}], "steps[1]"),
        ([{"status": "created"}, {"status": "x", "http": 503}], "steps[1]"),
        ([{"status": "created"}, {"status": "x", "code": 1}], "steps[1]"),
        ([{"status": "created"}, {"http": 503, "retry_after": "1\r\nX: y"}], "steps[1]"),
        ([{"status": "created"}, {"http": 503, "delay": "1"}], "steps[1]"),
        ([{"status": "created"}, "running"], "steps[1]"),
        ([], "non-empty"),
    ],
)
def test_invalid_steps_raise_value_error(tmp_path, steps: list, needle: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"tasks": {"task-x": {"steps": steps}}}), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "task-x" in message and needle in message and str(path) in message
    with pytest.raises(ValueError, match="task-x"):
        validate_steps("task-x", steps)
    with pytest.raises(ValueError, match="task-x"):
        SimServer(tasks={"task-x": steps})


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bad.toml", '[tasks."t"]\nsteps = [ { status = ', "not valid TOML"),
        ("bad.json", '{"tasks": ', "not valid JSON"),
        ("top.json", '{"tasks": {}, "extra": 1}', "extra"),
        ("notasks.toml", "x = 1", "x"),
        ("list.json", "[]", "top level"),
        ("task.toml", '[tasks."t"]\nstep = []', "'t'"),
        ("nosteps.toml", '[tasks."t"]', "'t'"),
    ],
)
def test_invalid_scenario_files(tmp_path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(needle)):
        load_scenario(path)


def test_missing_scenario_file_is_value_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_scenario(tmp_path / "nope.toml")


def test_validate_steps_normalises_idempotently() -> None:
    steps = [{"status": "created"}, {"http": 429, "retry_after": 2}, {"status": "finished"}]
    once = validate_steps("t", steps)
    assert once == [
        {"status": "created", "polls": 1},
        {"http": 429, "retry_after": "2", "polls": 1},
        {"status": "finished"},
    ]
    assert validate_steps("t", once) == once
    for task_id, demo in DEMO_TASKS.items():
        assert validate_steps(task_id, demo) == demo  # the demos are already normal form
