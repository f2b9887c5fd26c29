"""classify(): contract rules 2-6 of "Classifying API answers", table-driven and pure.

Checklist rows D1-D12, E1-E4, E8, E9, E11, E12.
"""

from __future__ import annotations

import json

import pytest

from browseract_cli.classify import MAX_BODY, parse_json_object
from browseract_cli.endpoints import task_status_outcome as classify
from browseract_cli.errors import ApiError
from browseract_cli.models import TaskState

JSON = "application/json"


def env(code: object, msg: str = "m", trace: object = "tr-1", **extra: object) -> bytes:
    doc = {"code": code, "msg": msg, "data": None, "ts": 1, "time": "t", "traceId": trace}
    doc.update(extra)
    return json.dumps(doc).encode()


def status_body(value: object) -> bytes:
    return json.dumps({"status": value}).encode()


# (id, http status, body, expected): expected is a status string (TaskState) or an exit code.
CASES: list[tuple[str, int, bytes, str | int]] = [
    # rule 2: any 3xx is a bad answer, whatever the body
    ("301", 301, b"", 76),
    ("302-valid-body", 302, status_body("finished"), 76),
    ("303", 303, b"<html>moved</html>", 76),
    ("304", 304, b"", 76),
    ("307", 307, env(10112), 76),
    ("308", 308, status_body("running"), 76),
    # rule 3: an integer code other than 0 is the envelope, at any HTTP status
    ("env-401-at-401", 401, env(401), 77),
    ("env-99002-at-403", 403, env(99002), 77),
    ("env-401-at-200", 200, env(401), 77),
    ("env-99002-at-200", 200, env(99002), 77),
    ("env-99002-at-500", 500, env(99002), 77),
    ("env-10112-at-400", 400, env(10112), 66),
    ("env-10112-at-200", 200, env(10112), 66),
    ("env-10112-at-404", 404, env(10112), 66),
    ("env-10112-at-503", 503, env(10112), 66),
    ("env-99001-at-400", 400, env(99001), 65),
    ("env-99001-at-200", 200, env(99001), 65),
    ("env-99001-at-502", 502, env(99001), 65),
    ("env-other-at-401", 401, env(12345), 77),
    ("env-other-at-403", 403, env(12345), 77),
    ("env-other-at-429", 429, env(12345), 75),
    ("env-404-at-404", 404, env(404), 65),
    ("env-other-at-409", 409, env(12345), 65),
    ("env-other-at-500", 500, env(12345), 76),
    ("env-503-at-503", 503, env(503), 76),
    ("env-other-at-200", 200, env(12345), 76),
    ("env-other-at-201", 201, env(12345), 76),
    ("env-negative-at-200", 200, env(-1), 76),
    ("env-wins-over-status", 200, env(10112, status="finished"), 66),
    ("env-huge-code", 200, env(10**30), 76),
    # rule 3 does not apply: code not an integer, or 0 (rules 4-6 decide)
    ("code-true-with-status", 200, env(True, status="running"), "running"),
    ("code-false-with-status", 200, env(False, status="running"), "running"),
    ("code-str-401-with-status", 200, env("401", status="failed"), "failed"),
    ("code-float-401-with-status", 200, env(401.0, status="paused"), "paused"),
    ("code-float-1-with-status", 200, env(1.0, status="paused"), "paused"),
    ("code-null-with-status", 200, env(None, status="running"), "running"),
    ("code-zero-with-status", 200, env(0, status="finished"), "finished"),
    ("code-true-no-status", 200, env(True), 76),
    ("code-str-no-status", 200, env("401"), 76),
    ("code-zero-no-status", 200, env(0), 76),
    ("code-str-401-at-401", 401, env("401"), 77),
    ("code-true-at-400", 400, env(True), 65),
    ("code-float-at-500", 500, env(10112.0), 76),
    ("code-str-10112-at-400", 400, env("10112"), 65),
    # rule 4: a non-envelope error status
    ("bare-401", 401, b"", 77),
    ("bare-403-html", 403, b"<html>Forbidden</html>", 77),
    ("bare-429", 429, b"slow down", 75),
    ("bare-400", 400, b"", 65),
    ("bare-404", 404, b"Not Found", 65),
    ("bare-405", 405, b"", 65),
    ("bare-408", 408, b"", 65),
    ("bare-414", 414, b"", 65),
    ("bare-422-json-list", 422, b"[1, 2]", 65),
    ("bare-499", 499, b"", 65),
    ("bare-500", 500, b"", 76),
    ("bare-502-html", 502, b"<html>Bad Gateway</html>", 76),
    ("bare-503", 503, b"", 76),
    ("bare-504", 504, b"", 76),
    ("bare-599", 599, b"", 76),
    ("bare-999", 999, b"", 76),
    ("status-at-500", 500, status_body("finished"), 76),
    ("status-at-404", 404, status_body("finished"), 65),
    # rule 5: HTTP 200 with a string status
    ("finished", 200, status_body("finished"), "finished"),
    ("failed", 200, status_body("failed"), "failed"),
    ("unknown", 200, status_body("unknown"), "unknown"),
    ("outside-enum", 200, status_body("queued"), "queued"),
    ("empty-string-status", 200, status_body(""), ""),
    ("status-with-extras", 200, json.dumps({"status": "running", "id": 1, "data": {"x": [1]}}).encode(),
     "running"),
    ("status-with-escapes", 200, status_body("\x1b[31mred"), "\x1b[31mred"),
    ("bom", 200, b"\xef\xbb\xbf" + status_body("finished"), "finished"),
    ("whitespace-around", 200, b" \r\n\t" + status_body("paused") + b"\n\n", "paused"),
    ("duplicate-keys-last-wins", 200, b'{"status": "running", "status": "finished"}', "finished"),
    ("duplicate-code-last-wins", 200, b'{"code": 10112, "code": 0, "status": "running"}', "running"),
    ("duplicate-code-last-is-envelope", 200, b'{"code": 0, "code": 10112, "status": "running"}', 66),
    ("nan-elsewhere", 200, b'{"status": "running", "progress": NaN}', "running"),
    ("nan-code", 200, b'{"code": NaN, "status": "running"}', "running"),
    ("infinity-code", 200, b'{"code": Infinity, "status": "failed"}', "failed"),
    ("unicode-escape", 200, b'{"status": "fini\\u0073hed"}', "finished"),
    # rule 6: anything else at 200 (or another 2xx/1xx) is a bad answer
    ("html", 200, b"<!doctype html><html><body>captive portal</body></html>", 76),
    ("empty", 200, b"", 76),
    ("whitespace-only", 200, b"   \n", 76),
    ("truncated", 200, b'{"status": "runn', 76),
    ("trailing-garbage", 200, status_body("finished") + b"x", 76),
    ("two-objects", 200, status_body("finished") + status_body("failed"), 76),
    ("array", 200, b'[{"status": "finished"}]', 76),
    ("string", 200, b'"finished"', 76),
    ("number", 200, b"1", 76),
    ("null", 200, b"null", 76),
    ("true", 200, b"true", 76),
    ("no-status", 200, b'{"state": "finished"}', 76),
    ("status-null", 200, status_body(None), 76),
    ("status-int", 200, status_body(3), 76),
    ("status-float", 200, status_body(1.5), 76),
    ("status-bool", 200, status_body(True), 76),
    ("status-list", 200, status_body(["finished"]), 76),
    ("status-object", 200, status_body({"value": "finished"}), 76),
    ("status-nan", 200, b'{"status": NaN}', 76),
    ("status-case", 200, b'{"Status": "finished"}', 76),
    ("invalid-utf8", 200, b'{"status": "fin\xffished"}', 76),
    ("utf16", 200, status_body("finished").decode().encode("utf-16"), 76),
    ("lone-surrogate-escape", 200, b'{"status": "q\\ud800x"}', "q\ufffdx"),
    ("surrogate-pair-escape", 200, b'{"status": "\\ud83d\\ude00"}', "\U0001f600"),
    ("deep-array", 200, b"[" * 200_000 + b"]" * 200_000, 76),
    ("deep-object", 200, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 76),
    ("deep-inside-valid", 200, b'{"status": "running", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 76),
    ("over-1MiB", 200, b'{"status": "finished", "pad": "' + b"x" * MAX_BODY + b'"}', 76),
    ("201", 201, status_body("finished"), 76),
    ("202", 202, status_body("running"), 76),
    ("204", 204, b"", 76),
    ("299", 299, status_body("finished"), 76),
    ("101", 101, status_body("finished"), 76),
]


@pytest.mark.parametrize(("http", "body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(http: int, body: bytes, expected: str | int) -> None:
    outcome = classify(http, body, JSON)
    if isinstance(expected, str):
        assert isinstance(outcome, TaskState), outcome
        assert outcome.status == expected
    else:
        assert isinstance(outcome, ApiError), outcome
        assert int(outcome.exit_code) == expected
        assert outcome.http_status == http
        assert outcome.msg  # always something to show


def test_at_most_1_mib_is_still_parsed() -> None:
    head, tail = b'{"status": "finished", "pad": "', b'"}'
    body = head + b"x" * (MAX_BODY - len(head) - len(tail)) + tail
    assert len(body) == MAX_BODY
    assert classify(200, body, JSON) == TaskState("finished")
    assert isinstance(classify(200, body[:-2] + b'x"}', JSON), ApiError)


def test_envelope_carries_code_msg_and_trace_id() -> None:
    err = classify(400, env(10112, msg="Task is not exist.", trace="abc123"), JSON)
    assert isinstance(err, ApiError)
    assert (err.kind, err.http_status, err.code, err.msg, err.trace_id) == (
        "not_found", 400, 10112, "Task is not exist.", "abc123")
    assert err.hint
    assert err.to_json() == {"kind": "not_found", "http_status": 400, "code": 10112,
                             "msg": "Task is not exist.", "trace_id": "abc123"}


def test_lone_surrogates_in_envelope_text_are_replaced() -> None:
    err = classify(400, b'{"code": 10112, "msg": "m\\udfffm", "traceId": "t\\ud800"}', JSON)
    assert isinstance(err, ApiError)
    assert (err.msg, err.trace_id) == ("m\ufffdm", "t\ufffd")
    err.msg.encode("utf-8")  # writable to any UTF-8 stream


@pytest.mark.parametrize(("msg", "trace"), [("", ""), (None, None), (5, 7), ([1], {"a": 1})])
def test_envelope_with_odd_msg_or_trace_id_still_classifies(msg: object, trace: object) -> None:
    body = json.dumps({"code": 99001, "msg": msg, "traceId": trace}).encode()
    err = classify(400, body, JSON)
    assert isinstance(err, ApiError) and err.kind == "bad_request" and err.code == 99001
    assert isinstance(err.msg, str) and err.msg
    assert err.trace_id is None


@pytest.mark.parametrize(
    ("kind", "http", "body"),
    [("auth", 401, b""), ("not_found", 400, env(10112)), ("bad_request", 400, env(99001)),
     ("rate_limited", 429, b""), ("server", 503, b""), ("server", 200, b"<html>"),
     ("server", 302, b"")],
)
def test_error_kinds_are_the_json_error_kinds(kind: str, http: int, body: bytes) -> None:
    err = classify(http, body, JSON)
    assert isinstance(err, ApiError) and err.kind == kind


@pytest.mark.parametrize(
    ("http", "body", "retryable"),
    [(408, b"", True), (429, b"", True), (500, b"", True), (502, b"", True), (503, b"", True),
     (504, b"", True), (503, env(503), True), (429, env(12345), True),
     (501, b"", False), (505, b"", False), (599, b"", False), (400, b"", False), (401, b"", False),
     (403, b"", False), (404, b"", False), (302, b"", False), (200, b"<html>", False),
     (200, b"", False), (200, env(12345), False),
     # a business code that decides the outcome is final, whatever the HTTP status
     (503, env(10112), False), (429, env(401), False), (500, env(99001), False)],
)
def test_what_is_retried(http: int, body: bytes, retryable: bool) -> None:
    err = classify(http, body, JSON)
    assert isinstance(err, ApiError)
    assert err.retryable is retryable


def test_bad_body_message_names_http_status_and_content_type_not_the_body() -> None:
    err = classify(200, b"<html>SECRET portal page</html>", "text/html; charset=utf-8")
    assert isinstance(err, ApiError)
    assert "text/html" in err.msg and "SECRET" not in err.msg
    err = classify(502, b"<html>SECRET</html>", "text/html")
    assert isinstance(err, ApiError) and "502" in err.msg and "SECRET" not in err.msg


def test_redirect_message_says_redirect() -> None:
    err = classify(302, b"", "")
    assert isinstance(err, ApiError) and "redirect" in err.msg


def test_content_type_does_not_decide() -> None:
    # A valid body is a valid body whatever the header says; an HTML header does not rescue JSON errors.
    assert classify(200, status_body("failed"), "text/html") == TaskState("failed")
    assert classify(200, status_body("failed"), "") == TaskState("failed")
    assert isinstance(classify(200, b"oops", JSON), ApiError)


@pytest.mark.parametrize("body", [b"", b"[]", b"1", b"\xff\xfe", b"[" * 100_000, b'{"a": 1',
                                  b"x" * (MAX_BODY + 1)])
def test_parse_json_object_never_raises(body: bytes) -> None:
    assert parse_json_object(body) is None


def test_parse_json_object_accepts_objects() -> None:
    assert parse_json_object(b'\xef\xbb\xbf{"a": 1, "a": 2}') == {"a": 2}
