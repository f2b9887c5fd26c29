"""Turn one HTTP answer into its parsed JSON or a typed error: endpoint-neutral, pure.

The contract's "Classifying API answers", rules 2-4 and the generic part of 6: a redirect is a
bad answer; a JSON object with an integer ``code`` other than 0 is the error envelope at any
HTTP status; an error status without an envelope is classified by the status; a 200 answer
must be JSON (or empty). What a valid answer of each endpoint looks like is decided by that
endpoint (endpoints.py), not here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from browseract_cli.errors import ApiError
from browseract_cli.sanitize import clean

MAX_BODY = 1024 * 1024  # 1 MiB
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# Business codes whose meaning does not depend on the endpoint (lifecycle contract). 10121
# (stop of a finished task) and 10127 (resume of a task that is not paused) are decided by the
# command; unlisted codes go by HTTP status.
BUSINESS_KIND: dict[int, str] = {
    401: "auth",
    99002: "auth",
    10112: "not_found",  # task
    10111: "not_found",  # workflow
    10176: "not_found",  # template
    99001: "bad_request",
    10013: "bad_request",  # proxy region does not exist
    10118: "rate_limited",  # the account's concurrent-task limit
}
_NOT_FOUND_RESOURCES = frozenset({"workflow", "template"})


class Empty:
    """The value of a 200 answer without a body (stop-task and resume-task answer so)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EMPTY"

    def __bool__(self) -> bool:
        return False


EMPTY = Empty()


def kind_for_http_status(http_status: int) -> str:
    if http_status in (401, 403):
        return "auth"
    if http_status == 429:
        return "rate_limited"
    if 400 <= http_status < 500:
        return "bad_request"
    return "server"


def classify(http_status: int, body: bytes, content_type: str = "", *,
             resource: str | None = None) -> Any:
    """The parsed JSON of a 200 answer (any JSON value, or EMPTY), else an ApiError.

    Never raises: the error is returned, so the classifier can be fuzzed directly.
    """
    if 300 <= http_status < 400:
        return _error("server", f"unexpected redirect (HTTP {http_status}); redirects are not followed",
                      http_status, resource=resource)
    parsed, ok = parse_json(body)
    if ok and isinstance(parsed, dict):
        code = parsed.get("code")
        if type(code) is int and code != 0:
            return _envelope_error(http_status, code, parsed, resource)
    if http_status >= 400:
        return _error(kind_for_http_status(http_status), f"HTTP {http_status}", http_status,
                      resource=resource)
    if http_status == 200 and ok:
        return parsed
    if http_status == 200 and not body:
        return EMPTY
    return _error("server", _describe_bad_body(http_status, body, content_type, ok), http_status,
                  resource=resource)


def parse_json(body: bytes) -> tuple[Any, bool]:
    """(value, True) for a JSON body of at most MAX_BODY bytes, else (None, False); never raises.

    A UTF-8 BOM is tolerated; lone UTF-16 surrogates in strings become U+FFFD.
    """
    if not body or len(body) > MAX_BODY:
        return None, False
    try:
        doc = json.loads((body[3:] if body.startswith(b"\xef\xbb\xbf") else body).decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None, False
    return doc, True


def parse_json_object(body: bytes) -> dict | None:
    """The body as a JSON object, or None for anything else (never raises)."""
    doc, ok = parse_json(body)
    return doc if ok and isinstance(doc, dict) else None


def text(value: str) -> str:
    """Server text that can be written anywhere: lone surrogates become U+FFFD."""
    # JSON may escape lone UTF-16 surrogates ("\ud800"); no output stream can encode them.
    if value.isascii():  # the usual case: no regex compiled at start-up or here
        return value
    return re.sub("[\ud800-\udfff]", "\ufffd", value)


def _envelope_error(http_status: int, code: int, doc: dict, resource: str | None) -> ApiError:
    # Unlisted business codes go by HTTP status; inside a 2xx that is a bad answer (76).
    msg = doc.get("msg")
    kind = BUSINESS_KIND.get(code) or kind_for_http_status(http_status)
    if (resource in _NOT_FOUND_RESOURCES and code not in BUSINESS_KIND and kind == "bad_request"
            and isinstance(msg, str) and "not exist" in msg.lower()):
        kind = "not_found"  # "Workflow is not exist."-style answers with an unlisted code
    trace = doc.get("traceId")
    return _error(
        kind,
        text(msg) if isinstance(msg, str) and msg else f"error code {code}",
        http_status,
        code=code,
        trace_id=text(trace) if isinstance(trace, str) and trace else None,
        # A business code that decided the outcome (10112, 401...) is final, whatever the status.
        retryable=code not in BUSINESS_KIND and http_status in RETRY_STATUSES,
        resource=resource,
    )


def _error(kind: str, msg: str, http_status: int | None, *, code: int | None = None,
           trace_id: str | None = None, retryable: bool | None = None,
           resource: str | None = None) -> ApiError:
    if retryable is None:
        retryable = http_status in RETRY_STATUSES
    return ApiError(kind, msg, http_status=http_status, code=code, trace_id=trace_id,
                    retryable=retryable, resource=resource)


def _describe_bad_body(http_status: int, body: bytes, content_type: str, ok: bool) -> str:
    ctype = clean(content_type.split(";")[0].strip(), 60) or "no content type"
    if http_status != 200:
        return f"unexpected HTTP {http_status} answer ({ctype})"
    return f"answer is not JSON ({ctype}, {len(body)} bytes)"


def bad_answer(what: str, *, resource: str | None = None, http_status: int | None = 200) -> ApiError:
    """An answer of the wrong shape for its endpoint (76): what endpoints.py raises."""
    return ApiError("server", what, http_status=http_status, resource=resource)
