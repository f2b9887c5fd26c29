"""The retry policy (checklist section 2, goal M4), with injected clock, sleep and random.

Nothing here really sleeps: the clock is a FakeClock, sleep advances it, and ``uniform`` is
fixed (at the maximum, like ``random`` fixed at 1, unless a test says otherwise). The client's
``send_once`` is replaced by a script of answers, so these are unit tests of the loop; the
classification of real answers over a socket is in test_faults.py and test_fuzz.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from conftest import CANARY, FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from browseract_cli import api
from browseract_cli.api import ApiClient, Timeouts
from browseract_cli.classify import RETRY_STATUSES
from browseract_cli.endpoints import STATUS_PATH, get_task_status
from browseract_cli.endpoints import task_status_outcome as classify
from browseract_cli.errors import ApiError
from browseract_cli.models import TaskState
from browseract_cli.retry import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    RETRY_AFTER_MAX,
    RetryPolicy,
    backoff_delay,
    next_wait,
    parse_retry_after,
)

MAX = lambda a, b: b  # noqa: E731  (random fixed at 1: uniform returns its upper bound)
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp()
BUDGET = RetryPolicy().budget_s
REQ = api.Request("GET", STATUS_PATH, {"task_id": "t"}, resource="task")


def err(kind: str = "server", *, retryable: bool = True, retry_after: float | None = None,
        http_status: int | None = 503) -> ApiError:
    return ApiError(kind, "scripted", http_status=http_status, retryable=retryable,
                    retry_after=retry_after)


class ScriptedClient(ApiClient):
    """An ApiClient whose attempts follow a script: (answer, seconds the attempt takes)."""

    def __init__(self, script: Sequence[tuple[ApiError | TaskState, float]], clock: FakeClock,
                 uniform: Callable[[float, float], float] = MAX, **kw: Any) -> None:
        super().__init__("https://api.example", CANARY, clock=clock, sleep=clock.sleep,
                         uniform=uniform, wall=lambda: NOW, **kw)
        self.script = list(script)
        self.fake = clock
        self.deadlines: list[float] = []

    def send_once(self, req: api.Request, deadline_s: float | None = None) -> object:
        assert deadline_s is not None and deadline_s > 0
        self.deadlines.append(deadline_s)
        answer, took = self.script[min(len(self.deadlines) - 1, len(self.script) - 1)]
        self.fake.advance(min(took, deadline_s))  # the real attempt enforces its deadline
        if isinstance(answer, ApiError):
            raise answer
        return {"status": answer.status}  # the JSON of a get-task-status answer


def run(script: Sequence[tuple[ApiError | TaskState, float]], **kw: Any) -> tuple[ScriptedClient,
                                                                                  ApiError | TaskState]:
    clock = FakeClock()
    client = ScriptedClient(script, clock, **kw)
    try:
        outcome: ApiError | TaskState = get_task_status(client, "t")
    except ApiError as exc:
        outcome = exc
    return client, outcome


# --------------------------------------------------------------------------- what retries


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_retry_statuses_are_retryable(status: int) -> None:
    assert RETRY_STATUSES == {408, 429, 500, 502, 503, 504}
    for body in (b"", b"<html>busy</html>", json.dumps({"code": status, "msg": "x"}).encode(),
                 json.dumps({"code": 12345, "msg": "x"}).encode()):
        outcome = classify(status, body, "text/html")
        assert isinstance(outcome, ApiError) and outcome.retryable, (status, body)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 414, 422, 501, 505, 599, 999,
                                    300, 301, 302, 303, 304, 307, 308, 201, 204, 299, 100, 103])
def test_other_statuses_never_retry(status: int) -> None:
    for body in (b"", b"<html/>", b'{"status":"finished"}', b'{"code":12345,"msg":"x"}'):
        outcome = classify(status, body, "application/json")
        assert isinstance(outcome, ApiError) and not outcome.retryable, (status, body)


@pytest.mark.parametrize("code", [401, 99002, 10112, 99001])
@pytest.mark.parametrize("status", [200, 400, 429, 500, 503])
def test_business_codes_are_final_at_any_status(code: int, status: int) -> None:
    outcome = classify(status, json.dumps({"code": code, "msg": "m", "traceId": "tr"}).encode())
    assert isinstance(outcome, ApiError) and not outcome.retryable
    assert outcome.exit_code == {401: 77, 99002: 77, 10112: 66, 99001: 65}[code]


@pytest.mark.parametrize("body", [b"", b"<html>", b"[]", b"null", b'{"status":1}', b"[" * 100_000,
                                  b'{"status":"fin', b"\xff\xfe"])
def test_bad_bodies_never_retry(body: bytes) -> None:
    outcome = classify(200, body, "text/html")
    assert isinstance(outcome, ApiError) and not outcome.retryable and outcome.exit_code == 76


def _transport(exc: BaseException) -> ApiError:
    return ApiClient("https://api.example", CANARY)._transport_error(exc, REQ)


def test_transport_failures_are_retryable() -> None:
    import ssl

    import requests
    import urllib3.exceptions

    retryable = [
        requests.exceptions.ConnectionError("refused"),
        requests.exceptions.ConnectTimeout("slow"),
        requests.exceptions.ReadTimeout("slow"),
        requests.exceptions.ChunkedEncodingError("cut"),
        urllib3.exceptions.ProtocolError("reset", ConnectionResetError()),
        ConnectionRefusedError(),
        socket.gaierror(-2, "Name or service not known"),
        TimeoutError(),
        api._DeadlineExceeded(),
        api._StaleConnection(),
        requests.exceptions.SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")),
    ]
    for exc in retryable:
        outcome = _transport(exc)
        assert outcome.exit_code == 69 and outcome.retryable, exc
        assert outcome.kind == "network"


def test_certificate_failures_and_decode_errors_do_not_retry() -> None:
    import ssl

    import requests

    cert = ssl.SSLCertVerificationError(1, f"certificate verify failed {CANARY}")
    cert.reason = "CERTIFICATE_VERIFY_FAILED"  # a str attribute, as ssl sets it
    wrapped = requests.exceptions.SSLError(cert)
    outcome = _transport(wrapped)
    assert outcome.exit_code == 69 and not outcome.retryable
    assert "REQUESTS_CA_BUNDLE" in outcome.hint
    decode = requests.exceptions.ContentDecodingError("bad gzip")
    outcome = _transport(decode)
    assert outcome.exit_code == 76 and not outcome.retryable


def test_transport_messages_never_quote_the_exception() -> None:
    """str(exc) of requests/urllib3 can hold the URL, headers or the key: never shown."""
    import requests

    for exc in (requests.exceptions.ConnectionError(f"Bearer {CANARY}"),
                requests.exceptions.InvalidHeader(f"Invalid header value b'Bearer {CANARY}\\n'"),
                ValueError(CANARY), UnicodeEncodeError("latin-1", CANARY, 0, 1, "x")):
        outcome = _transport(exc)
        assert CANARY not in outcome.msg + outcome.hint + repr(outcome)
        assert outcome.exit_code == 69


# --------------------------------------------------------------------------- the loop


@pytest.mark.parametrize("kind", ["server", "rate_limited", "network", "bad_request"])
def test_retryable_answers_use_at_most_4_attempts(kind: str) -> None:
    client, outcome = run([(err(kind), 0.01)])
    assert isinstance(outcome, ApiError) and outcome.kind == kind
    assert len(client.deadlines) == 4
    assert client.fake.sleeps == [0.5, 1.0, 2.0]


def test_final_answers_end_at_once() -> None:
    for final in (err("auth", retryable=False), err("not_found", retryable=False),
                  err("server", retryable=False)):
        client, outcome = run([(final, 0.01)])
        assert outcome is final and len(client.deadlines) == 1 and client.fake.sleeps == []


def test_success_after_failures_stops_retrying() -> None:
    client, outcome = run([(err(), 0.1), (err(), 0.1), (TaskState("running"), 0.1)])
    assert outcome == TaskState("running")
    assert len(client.deadlines) == 3 and client.fake.sleeps == [0.5, 1.0]


def test_exact_backoff_schedule_with_random_at_max() -> None:
    calls: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        calls.append((a, b))
        return b

    schedule = [backoff_delay(n, uniform) for n in range(10)]
    assert schedule == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0, 20.0]
    assert calls == [(0.0, x) for x in schedule]  # full jitter: uniform(0, ceiling)
    assert (BACKOFF_BASE, BACKOFF_CAP) == (0.5, 20.0)
    assert backoff_delay(10_000, MAX) == 20.0  # no overflow for huge retry numbers
    assert backoff_delay(3, lambda a, b: -1.0) == 0.0  # never negative


def test_the_loop_waits_the_exact_schedule_when_budget_and_attempts_allow() -> None:
    client, _ = run([(err(), 0.0)], policy=RetryPolicy(max_attempts=10, budget_s=1000))
    assert client.fake.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0]


def test_jitter_at_zero_still_stops_after_4_attempts() -> None:
    client, _ = run([(err(), 0.0)], uniform=lambda a, b: a)
    assert len(client.deadlines) == 4 and client.fake.sleeps == [0.0, 0.0, 0.0]


def test_retry_after_replaces_backoff_and_is_reported_to_the_hook() -> None:
    seen: list[tuple[str, float]] = []
    clock = FakeClock()
    client = ScriptedClient([(err("rate_limited", retry_after=7.0), 0.0)], clock)
    with pytest.raises(ApiError):
        get_task_status(client, "t", on_retry=lambda e, wait: seen.append((e.kind, wait)))
    assert clock.sleeps == [7.0, 7.0, 7.0]
    assert seen == [("rate_limited", 7.0)] * 3
    assert next_wait(0, 0.0, MAX) == 0.0 and next_wait(2, None, MAX) == 2.0


def test_a_wait_that_would_cross_the_budget_stops_now() -> None:
    client, outcome = run([(err("rate_limited", retry_after=29.0), 0.0)])
    assert client.fake.sleeps == [29.0] and len(client.deadlines) == 2
    client, outcome = run([(err("rate_limited", retry_after=60.0), 0.0)])
    assert client.fake.sleeps == [] and len(client.deadlines) == 1
    assert isinstance(outcome, ApiError) and outcome.kind == "rate_limited"


def test_slow_attempts_share_the_30s_budget() -> None:
    client, _ = run([(err("network"), 12.0)])  # each attempt uses up to 12 s
    assert client.fake.now - 1000.0 <= BUDGET
    assert client.deadlines[0] == BUDGET
    for deadline, slept_before in zip(client.deadlines[1:], client.fake.sleeps, strict=False):
        assert deadline <= BUDGET - slept_before


def test_each_attempt_is_told_the_remaining_budget() -> None:
    client, _ = run([(err(), 5.0)])
    # attempt 1 at 0 s (5 s), wait 0.5, attempt 2 at 5.5 s, wait 1, attempt 3 at 11.5 s, ...
    assert client.deadlines == pytest.approx([30.0, 24.5, 18.5, 11.5])


# --------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), ("0", 0.0), ("  7 ", 7.0), ("60", 60.0), ("61", 60.0), ("99999999", 60.0),
    ("9" * 64, 60.0), ("9" * 65, None), ("-1", None), ("1.5", None), ("soon", None), ("", None),
    (" ", None), (None, None), ("+5", None), ("0x10", None), ("7s", None), ("³", None),
    ("١٢", None), ("NaN", None), ("inf", None), ("1e3", None), ("7, 8", None),
])
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def _date(offset: float, tz: timezone = UTC) -> str:
    when = datetime.fromtimestamp(NOW + offset, tz)
    return format_datetime(when, usegmt=tz is UTC)


@pytest.mark.parametrize("tz", [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7)),
                                timezone(timedelta(hours=5, minutes=30))],
                         ids=["GMT", "+0200", "-0700", "+0530"])
@pytest.mark.parametrize(("offset", "expected"), [(10, 10.0), (0, 0.0), (-3600, 0.0),
                                                  (59, 59.0), (61, 60.0), (86400 * 365, 60.0)])
def test_retry_after_http_dates_in_several_zones(tz: timezone, offset: float, expected: float) -> None:
    text = _date(offset, tz)
    assert parse_retry_after(text, NOW) == pytest.approx(expected), text


def test_retry_after_obsolete_date_formats_are_gmt() -> None:
    when = datetime.fromtimestamp(NOW + 20, UTC)
    rfc850 = when.strftime("%A, %d-%b-%y %H:%M:%S GMT")
    asctime = when.strftime("%a %b %e %H:%M:%S %Y")
    assert parse_retry_after(rfc850, NOW) == pytest.approx(20.0)
    assert parse_retry_after(asctime, NOW) == pytest.approx(20.0)


def test_retry_after_date_with_a_skewed_wall_clock_is_clamped() -> None:
    text = _date(30)
    assert parse_retry_after(text, NOW + 3 * 3600) == 0.0  # our clock is hours ahead
    assert parse_retry_after(text, NOW - 3 * 3600) == RETRY_AFTER_MAX  # hours behind
    assert RETRY_AFTER_MAX == 60.0


@pytest.mark.parametrize("value", ["Wed, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT",
                                   "Fri, 32 Jan 2026 00:00:00 GMT", "Thu, 01 Jan 1970 00:00:00 +9999",
                                   "Sun, 06 Nov 1994 08:49:37 ABC", "Sun, 06 Nov", "GMT", ","])
def test_retry_after_odd_dates_never_crash(value: str) -> None:
    result = parse_retry_after(value, NOW)
    assert result is None or 0.0 <= result <= RETRY_AFTER_MAX


@settings(max_examples=1500, derandomize=True, database=None, deadline=None)
@given(st.one_of(st.text(max_size=80), st.from_regex(r"\A[+-]?\d{1,20}(\.\d+)?\Z"),
                 st.builds(_date, st.floats(-1e10, 1e10, allow_nan=False)),
                 st.text(alphabet="0123456789 ,:+-GMTMonJanDec", max_size=40)),
       st.floats(0, 4e9, allow_nan=False))
def test_retry_after_never_raises_and_is_clamped(value: str, now: float) -> None:
    result = parse_retry_after(value, now)
    assert result is None or 0.0 <= result <= RETRY_AFTER_MAX


# --------------------------------------------------------------------------- properties


answers = st.one_of(
    st.builds(err, st.sampled_from(["server", "rate_limited", "network", "bad_request"]),
              retryable=st.just(True),
              retry_after=st.none() | st.floats(0, RETRY_AFTER_MAX, allow_nan=False)),
    st.builds(err, st.sampled_from(["auth", "not_found", "server"]), retryable=st.just(False)),
    st.builds(TaskState, st.sampled_from(["running", "finished"])),
)


@settings(max_examples=1500, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(answers, st.floats(0, 40, allow_nan=False)), min_size=1, max_size=8),
       st.floats(0, 1))
def test_a_lookup_never_exceeds_4_attempts_or_its_budget(
        script: list[tuple[ApiError | TaskState, float]], jitter: float) -> None:
    client, outcome = run(script, uniform=lambda a, b: a + (b - a) * jitter)
    attempts = len(client.deadlines)
    assert 1 <= attempts <= 4
    assert sum(client.fake.sleeps) <= BUDGET
    assert client.fake.now - 1000.0 <= BUDGET + 0.05  # each attempt ends by its deadline
    assert all(s >= 0 for s in client.fake.sleeps)
    last, _ = script[min(attempts - 1, len(script) - 1)]
    # the outcome is the last answer, unchanged (a status is rebuilt from the answer's JSON)
    assert outcome is last if isinstance(last, ApiError) else outcome == last
    for index in range(attempts - 1):  # every retry was allowed
        answer, _ = script[min(index, len(script) - 1)]
        assert isinstance(answer, ApiError) and answer.retryable


# --------------------------------------------------------------------------- one attempt


class StaleThenClock(ApiClient):
    def __init__(self, clock: FakeClock, outcomes: list[BaseException | TaskState], took: float) -> None:
        super().__init__("https://api.example", CANARY, clock=clock, sleep=clock.sleep,
                         uniform=MAX, timeouts=Timeouts(5, 10, 20))
        self.fake, self.outcomes, self.took = clock, outcomes, took
        self.deadlines: list[float | None] = []

    def _attempt(self, req: api.Request, deadline_s: float | None) -> TaskState:
        self.deadlines.append(deadline_s)
        self.fake.advance(self.took)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def test_a_stale_connection_is_retried_once_within_the_same_deadline() -> None:
    client = StaleThenClock(FakeClock(), [api._StaleConnection(), TaskState("running")], took=3.0)
    assert client.send_once(REQ, deadline_s=12.0) == TaskState("running")
    assert client.deadlines == [12.0, 9.0]  # the second try gets what is left, not a fresh 12 s


def test_a_stale_connection_twice_is_a_retryable_network_error() -> None:
    client = StaleThenClock(FakeClock(), [api._StaleConnection(), api._StaleConnection()], took=0.1)
    with pytest.raises(ApiError) as caught:
        client.send_once(REQ, deadline_s=5.0)
    assert caught.value.exit_code == 69 and caught.value.retryable


def test_no_stale_retry_once_the_deadline_is_spent() -> None:
    client = StaleThenClock(FakeClock(), [api._StaleConnection(), TaskState("running")], took=6.0)
    with pytest.raises(ApiError):
        client.send_once(REQ, deadline_s=5.0)
    assert client.deadlines == [5.0]


def test_send_once_without_a_budget_is_capped_by_the_request_deadline() -> None:
    client = StaleThenClock(FakeClock(), [TaskState("x")], took=0.0)
    client.send_once(REQ)
    assert client.deadlines == [20.0]
