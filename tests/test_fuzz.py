"""Response fuzzing (checklist goal M3): whatever a server answers, the client stays in contract.

Hypothesis builds answers from HTTP status x headers (arbitrary ``Retry-After`` strings, wrong
``Content-Length``, odd encodings, Location) x bodies (random bytes, JSON variants, deep
nesting, control characters, oversize, the request's own Authorization header reflected back).
They go over a real socket (one reusable raw-socket server that answers whatever the current
example says) to the real ``ApiClient``, plus raw-byte answers in the style of OSS-Fuzz's
``projects/requests/fuzz_server.py``, the classifier fuzzed directly, and a smaller number of
full CLI runs. Asserted every time: no uncaught exception, error exit codes always in the
contract's table, zero canary hits, at most 2 s per example.

Profiles (registered here, applied per test so other modules keep their own settings):
``ci`` (default; derandomized, no database, >= 5,000 examples in all) and ``nightly``
(about 20 times more), chosen with ``BROWSERACT_FUZZ_PROFILE=nightly``.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import CANARY, Run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from socket_faults import FaultServer, Request

from browseract_cli.api import ApiClient, Timeouts
from browseract_cli.classify import MAX_BODY, RETRY_STATUSES
from browseract_cli.endpoints import get_task_status
from browseract_cli.endpoints import task_status_outcome as classify
from browseract_cli.errors import KIND_EXIT, ApiError
from browseract_cli.models import TaskState
from browseract_cli.render import TaskRow, error_json, error_text
from browseract_cli.retry import RetryPolicy

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example, HealthCheck.function_scoped_fixture])
settings.register_profile("nightly", settings.get_profile("ci"), derandomize=False)
PROFILE = os.environ.get("BROWSERACT_FUZZ_PROFILE", "ci")
SCALE = {"ci": 1, "nightly": 20}[PROFILE]


def fuzz_settings(examples: int) -> settings:
    return settings(settings.get_profile(PROFILE), max_examples=examples * SCALE)


# Examples per CI run: 2,200 structured + 2,000 raw over the socket, 3,000 classifier, 400 CLI.
SOCKET_EXAMPLES = 2200
RAW_EXAMPLES = 2000
CLASSIFY_EXAMPLES = 3000
CLI_EXAMPLES = 400
PER_EXAMPLE_S = 2.0

# Short deadlines keep every example under PER_EXAMPLE_S even when an answer is pathological
# (1 MiB in 1-byte chunks costs seconds of parsing: the request deadline turns it into 69).
FUZZ_TIMEOUTS = Timeouts(connect_s=1.0, read_s=1.0, request_s=0.8)
FUZZ_POLICY = RetryPolicy(max_attempts=2, budget_s=4.0)
ERROR_CODES = {65, 66, 69, 75, 76, 77}
CONTRACT_CODES = {0, 1, 2, 10, 11, 12, 13, 14, 65, 66, 69, 75, 76, 77, 78, 124, 130, 141, 143}
REFLECT = b"{{AUTH}}"  # replaced by the request's Authorization value when the answer is sent

# --------------------------------------------------------------------------- strategies

NASTY_TEXT = ["\x1b[2J", "\x1b]8;;https://evil.example\x07x\x1b]8;;\x07", "\x1b]0;title\x07",
              "[link=https://evil.example]x[/link]", "[bold red]x", "\u202eevil", "\x9b31m",
              "\x00", "\r\n", "\ud800", "\udfff", "finished\x1b[0m", REFLECT.decode()]
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x9F), max_size=20),
    st.sampled_from(NASTY_TEXT),
    st.lists(st.sampled_from(NASTY_TEXT), max_size=4).map("".join),
    st.integers(0, 200_000).map(lambda n: "s" * n),
)
STATES = ["created", "running", "pausing", "paused", "finished", "failed", "canceled", "unknown"]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                         st.floats(allow_nan=True, allow_infinity=True), nasty_text,
                         st.sampled_from(STATES))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)
codes = st.one_of(st.sampled_from([0, 401, 403, 404, 429, 500, 10112, 99001, 99002, 12345]),
                  st.integers(-(2**63), 2**63), st.sampled_from(["401", True, False, 1.0, None, [401]]))


@st.composite
def json_docs(draw: st.DrawFn) -> bytes:
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["status"] = draw(st.one_of(st.sampled_from(STATES), json_values))
    if draw(st.booleans()):
        doc["code"] = draw(codes)
        doc["msg"] = draw(st.one_of(nasty_text, json_values))
        doc["traceId"] = draw(st.one_of(nasty_text, json_values))
    doc.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data  # a BOM
    return data


def deep(n: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * n + b"]" * n
    if kind == "object":
        return b'{"a":' * n + b"1" + b"}" * n
    return b'{"status":' + b"[" * n  # truncated and deep


bodies = st.one_of(
    json_docs(),
    st.binary(max_size=512),
    st.builds(deep, st.integers(1, 150_000), st.sampled_from(["array", "object", "open"])),
    st.sampled_from([b"", b"null", b"[]", b'"x"', b"1", b"<html>portal</html>", b'{"status":"runn',
                     b'{"status":"running"}', b'{"status":"fin\xffished"}', REFLECT,
                     b'{"code":500,"msg":"' + REFLECT + b'","traceId":"' + REFLECT + b'"}',
                     b'{"status":"' + REFLECT + b'"}']),
    st.integers(0, 2048).map(lambda k: b'{"status":"' + b"x" * (MAX_BODY + k) + b'"}'),
)
statuses = st.one_of(
    st.sampled_from([100, 101, 103, 199, 200, 201, 204, 206, 299, 300, 301, 302, 303, 304, 307, 308,
                     400, 401, 403, 404, 405, 408, 409, 413, 414, 422, 429, 500, 501, 502, 503,
                     504, 505, 599, 999]),
    st.integers(100, 999),
)
header_text = st.one_of(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF),
                                max_size=60),
                        st.text(max_size=20).map(lambda t: t.encode("utf-8", "replace").decode("latin-1")))
retry_after = st.one_of(header_text, st.integers(-10, 10**12).map(str),
                        st.sampled_from(["7", "0", "-1", "1.5", "soon", "", "99999999", "9" * 70,
                                         "Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 31 Dec 9999 23:59:59 GMT",
                                         "Sun Nov  6 08:49:37 1994", "Sunday, 06-Nov-94 08:49:37 GMT",
                                         "Thu, 01 Jan 1970 00:00:00 +9999", "Mon, 32 Foo 2020 99:99:99 XYZ"]))
headers = st.lists(st.one_of(
    st.tuples(st.just("Retry-After"), retry_after),
    st.tuples(st.just("Content-Type"), st.one_of(header_text, st.sampled_from(
        ["application/json", "text/html; charset=utf-8", "application/json; charset=latin-1",
         "Bearer " + REFLECT.decode()]))),
    st.tuples(st.just("Location"), st.one_of(header_text, st.sampled_from(
        ["http://[::1/x", "https://evil.example/", "//evil.example", "http://" + REFLECT.decode() + "/",
         "javascript:alert(1)", "http://user:pw@evil.example/"]))),
    st.tuples(st.just("Content-Length"), st.one_of(st.integers(-5, 2 * MAX_BODY).map(str), header_text,
                                                   st.sampled_from(["²", "1, 2", "0x10", " 5 "]))),
    st.tuples(st.just("Content-Encoding"), st.sampled_from(["gzip", "deflate", "br", "zstd", "identity",
                                                            "gzip, gzip", "x-bogus"])),
    st.tuples(st.just("Transfer-Encoding"), st.sampled_from(["chunked", "gzip", "bogus"])),
    st.tuples(st.just("Connection"), st.sampled_from(["close", "keep-alive", "upgrade"])),
    st.tuples(st.text(alphabet="abcXYZ-_", min_size=1, max_size=12), header_text),
), max_size=5)


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    """One complete HTTP answer as bytes (the server closes after sending it)."""
    status = draw(statuses)
    reason = draw(st.sampled_from(["OK", "", "Whatever", "\x1b[2J"]))
    body = draw(bodies)
    hdrs = draw(headers)
    names = {name.lower() for name, _ in hdrs}
    encoding = next((v for n, v in hdrs if n.lower() == "content-encoding"), None)
    if encoding == "gzip" and draw(st.booleans()):
        body = gzip.compress(body)
    elif encoding == "deflate" and draw(st.booleans()):
        body = zlib.compress(body)
    if "transfer-encoding" in names and draw(st.booleans()):
        size = draw(st.integers(1, 4096))
        body = b"".join(f"{len(body[i:i + size]):x}\r\n".encode() + body[i:i + size] + b"\r\n"
                        for i in range(0, len(body), size)) + b"0\r\n\r\n"
    elif "content-length" not in names and draw(st.booleans()):
        hdrs = [*hdrs, ("Content-Length", str(len(body)))]
    head = f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1") + b"".join(
        f"{name}: {value}\r\n".encode("latin-1", "replace") for name, value in hdrs)
    return head + b"\r\n" + body


raw_answers = st.one_of(
    st.binary(max_size=2048),
    st.builds(lambda line, rest: line + rest,
              st.sampled_from([b"HTTP/1.1 200 OK\r\n", b"HTTP/1.0 200 OK\r\n", b"HTTP/1.1 200\r\n",
                               b"HTTP/2 200\r\n", b"HTTP/1.1 2000 OK\r\n", b"ICY 200 OK\r\n",
                               b"HTTP/1.1 -1 X\r\n", b"HTTP/1.1 099 X\r\n", b"\r\n", b""]),
              st.binary(max_size=1024)),
)


# --------------------------------------------------------------------------- the server


def _reflecting(data: bytes) -> Callable[[Any, Request, FaultServer], bool]:
    def fault(conn: Any, request: Request, server: FaultServer) -> bool:
        payload = data
        if REFLECT in payload:
            payload = payload.replace(REFLECT, (request.authorization or "").encode("latin-1"))
        try:
            conn.sendall(payload)
        except OSError:
            pass  # the client stopped reading (e.g. an oversize answer): fine
        return False

    return fault


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer(lifetime_s=600) as fault_server:
        yield fault_server


@pytest.fixture
def client(server: FaultServer) -> Iterator[ApiClient]:
    lines: list[str] = []
    api_client = ApiClient(server.url, CANARY, timeouts=FUZZ_TIMEOUTS, policy=FUZZ_POLICY,
                           sleep=lambda s: None, uniform=lambda a, b: b, log=lines.append)
    api_client.lines = lines  # type: ignore[attr-defined]
    with api_client:
        yield api_client
    assert not any(CANARY in line for line in lines)


@pytest.fixture
def fuzz_cli_client(client_limits: Callable[..., None]) -> None:
    """The CLI builds its client with the fuzz deadlines (and its own retry sleeps: none)."""
    client_limits(FUZZ_TIMEOUTS, FUZZ_POLICY)


def check_outcome(outcome: TaskState | ApiError) -> None:
    if isinstance(outcome, TaskState):
        assert type(outcome.status) is str and CANARY not in outcome.status
        row = TaskRow("t", outcome.status, 0)
        text = json.dumps(row.to_json())
    else:
        assert outcome.kind in KIND_EXIT
        assert int(outcome.exit_code) in ERROR_CODES
        assert int(KIND_EXIT[outcome.kind]) == int(outcome.exit_code)
        shown = error_text(outcome, "t") + outcome.hint
        assert "\x1b" not in shown and "\x9b" not in shown and "\x07" not in shown
        text = shown + json.dumps(error_json(outcome)) + repr(outcome)
    assert CANARY not in text
    text.encode("utf-8")  # writable to any UTF-8 stream (no lone surrogates)


def lookup(server: FaultServer, client: ApiClient, answer: bytes) -> TaskState | ApiError:
    server.set_faults(_reflecting(answer))
    started = time.monotonic()
    try:
        outcome: TaskState | ApiError = get_task_status(client, "t")
    except ApiError as exc:
        outcome = exc
    elapsed = time.monotonic() - started
    assert elapsed <= PER_EXAMPLE_S, f"{elapsed:.2f}s for one example"
    assert server.errors == []
    return outcome


# --------------------------------------------------------------------------- the tests


@fuzz_settings(SOCKET_EXAMPLES)
@given(answer=answers())
def test_structured_answers_over_a_socket(server: FaultServer, client: ApiClient, answer: bytes) -> None:
    check_outcome(lookup(server, client, answer))


@fuzz_settings(RAW_EXAMPLES)
@given(answer=raw_answers)
def test_raw_byte_answers_over_a_socket(server: FaultServer, client: ApiClient, answer: bytes) -> None:
    check_outcome(lookup(server, client, answer))


@fuzz_settings(CLASSIFY_EXAMPLES)
@given(status=statuses, body=bodies, content_type=header_text)
def test_classifier_directly(status: int, body: bytes, content_type: str) -> None:
    outcome = classify(status, body, content_type)
    if isinstance(outcome, TaskState):
        assert status == 200 and type(outcome.status) is str
        outcome.status.encode("utf-8")
        return
    assert isinstance(outcome, ApiError)
    assert int(outcome.exit_code) in ERROR_CODES and outcome.kind in KIND_EXIT
    if outcome.retryable:
        assert status in RETRY_STATUSES
    if 300 <= status < 400:
        assert outcome.exit_code == 76
    shown = error_text(outcome)
    assert "\x1b" not in shown and "\x9b" not in shown
    json.dumps(error_json(outcome)).encode("utf-8")


@fuzz_settings(CLI_EXAMPLES)
@given(answer=answers(), json_mode=st.booleans(), verbose=st.booleans())
def test_full_cli_runs(server: FaultServer, cli: Callable[..., Run], fuzz_cli_client: None,
                      answer: bytes, json_mode: bool, verbose: bool) -> None:
    server.set_faults(_reflecting(answer))
    argv = (["-v"] if verbose else []) + ["status"] + (["--json"] if json_mode else []) + ["t"]
    started = time.monotonic()
    run = cli(*argv, expect=None, base_url=server.url)
    assert time.monotonic() - started <= PER_EXAMPLE_S
    assert run.exit_code in CONTRACT_CODES and run.exit_code not in (1, 2, 78)
    assert "Traceback" not in run.stderr
    for text in (run.stdout, run.stderr):
        assert CANARY not in text
        assert "\x1b" not in text and "\x9b" not in text
    if json_mode:
        docs = [json.loads(line) for line in run.stdout.splitlines()]
        assert len(docs) == 1 and docs[0]["exit_code"] == run.exit_code
        assert set(docs[0]) == {"task_id", "status", "exit_code", "error"}
    assert server.errors == []


def test_example_counts_meet_the_goal() -> None:
    assert SOCKET_EXAMPLES + RAW_EXAMPLES + CLASSIFY_EXAMPLES + CLI_EXAMPLES >= 5000
    assert RAW_EXAMPLES >= 2000
