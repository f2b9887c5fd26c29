"""Turn one HTTP answer into a task state or a typed error: contract rules 2-6, pure."""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from browseract_cli.errors import ApiError
from browseract_cli.models import is_known
from browseract_cli.sanitize import clean

MAX_BODY = 1024 * 1024  # 1 MiB
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_BUSINESS_KIND = {401: "auth", 99002: "auth", 10112: "not_found", 99001: "bad_request"}

HINTS = {
    "auth": "check the key: `browseract config doctor`; store a new one with `browseract config set-key`",
    "not_found": "check the task ID; a task just started may take a moment to appear (`watch --not-found-grace`)",
    "bad_request": "check the task ID and --base-url; `browseract config doctor` tests the setup",
    "rate_limited": "too many requests: wait a little, or poll less often (`watch --interval`)",
    "server": "the API had trouble answering; try again later and quote the traceId to BrowserAct support",
    "network": "check your network and --base-url; `browseract config doctor` tests the connection",
}


class TaskState(NamedTuple):
    """A successful lookup: the status exactly as the server sent it (unsanitised)."""

    status: str

    @property
    def recognised(self) -> bool:
        return is_known(self.status)


def kind_for_http_status(http_status: int) -> str:
    if http_status in (401, 403):
        return "auth"
    if http_status == 429:
        return "rate_limited"
    if 400 <= http_status < 500:
        return "bad_request"
    return "server"


def classify(http_status: int, body: bytes, content_type: str = "") -> TaskState | ApiError:
    """Rules 2-6 of the contract's "Classifying API answers" for a complete answer."""
    if 300 <= http_status < 400:
        return _error("server", f"unexpected redirect (HTTP {http_status}); redirects are not followed", http_status)
    doc = parse_json_object(body)
    if doc is not None:
        code = doc.get("code")
        if type(code) is int and code != 0:
            return _envelope_error(http_status, code, doc)
    if http_status >= 400:
        return _error(kind_for_http_status(http_status), f"HTTP {http_status}", http_status)
    if http_status == 200 and doc is not None and type(doc.get("status")) is str:
        return TaskState(_text(doc["status"]))
    return _error("server", _describe_bad_body(http_status, body, content_type, doc), http_status)


def parse_json_object(body: bytes) -> dict | None:
    """The body as a JSON object, or None for anything else (never raises)."""
    if not body or len(body) > MAX_BODY:
        return None
    try:
        doc = json.loads((body[3:] if body.startswith(b"\xef\xbb\xbf") else body).decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def _text(value: str) -> str:
    """Server text that can be written anywhere: lone surrogates become U+FFFD."""
    # JSON may escape lone UTF-16 surrogates ("\ud800"); no output stream can encode them.
    if value.isascii():  # the usual case: no regex compiled at start-up or here
        return value
    return re.sub("[\ud800-\udfff]", "\ufffd", value)


def _envelope_error(http_status: int, code: int, doc: dict) -> ApiError:
    # Unlisted business codes go by HTTP status; inside a 2xx that is a bad answer (76).
    kind = _BUSINESS_KIND.get(code) or kind_for_http_status(http_status)
    msg = doc.get("msg")
    trace = doc.get("traceId")
    return _error(
        kind,
        _text(msg) if isinstance(msg, str) and msg else f"error code {code}",
        http_status,
        code=code,
        trace_id=_text(trace) if isinstance(trace, str) and trace else None,
        # A business code that decided the outcome (10112, 401...) is final, whatever the status.
        retryable=code not in _BUSINESS_KIND and http_status in RETRY_STATUSES,
    )


def _error(kind: str, msg: str, http_status: int | None, *, code: int | None = None,
           trace_id: str | None = None, retryable: bool | None = None) -> ApiError:
    if retryable is None:
        retryable = http_status in RETRY_STATUSES
    return ApiError(kind, msg, http_status=http_status, code=code, trace_id=trace_id,
                    hint=HINTS[kind], retryable=retryable)


def _describe_bad_body(http_status: int, body: bytes, content_type: str, doc: dict | None) -> str:
    ctype = clean(content_type.split(";")[0].strip(), 60) or "no content type"
    if http_status != 200:
        return f"unexpected HTTP {http_status} answer ({ctype})"
    if not body:
        return "empty answer body"
    if doc is None:
        return f"answer is not a JSON object ({ctype}, {len(body)} bytes)"
    if "status" not in doc:
        return "answer has no 'status' field"
    return f"answer's 'status' is not a string ({type(doc['status']).__name__})"
