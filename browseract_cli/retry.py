"""Retry policy: backoff with full jitter, Retry-After parsing, per-lookup budget, what may be retried."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from browseract_cli.errors import ApiError

BACKOFF_BASE = 0.5  # seconds; the first retry waits up to this long
BACKOFF_CAP = 20.0  # seconds; the AWS SDK "standard" cap
RETRY_AFTER_MAX = 60.0  # contract: Retry-After is honoured up to 60 s


class RetryPolicy(NamedTuple):
    max_attempts: int = 4
    budget_s: float = 30.0
    base_s: float = BACKOFF_BASE
    cap_s: float = BACKOFF_CAP


def backoff_delay(retry_number: int, uniform: Callable[[float, float], float],
                  policy: RetryPolicy = RetryPolicy()) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**n)) for the n-th retry (n from 0)."""
    ceiling = min(policy.cap_s, policy.base_s * (2 ** min(retry_number, 32)))
    return max(0.0, uniform(0.0, ceiling))


def parse_retry_after(value: str | None, now_wall: float) -> float | None:
    """Seconds to wait per a Retry-After header, clamped to [0, 60]; None when absent or invalid."""
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.isascii() and text.isdigit():
        seconds = float(int(text))
    else:
        from datetime import UTC
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # asctime() dates and "-0000" carry no zone: HTTP dates are GMT
            when = when.replace(tzinfo=UTC)
        try:
            seconds = when.timestamp() - now_wall
        except (OverflowError, OSError, ValueError):
            return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)


def next_wait(retry_number: int, retry_after: float | None,
              uniform: Callable[[float, float], float], policy: RetryPolicy = RetryPolicy()) -> float:
    """How long to wait before the next attempt: Retry-After when given, else backoff."""
    if retry_after is not None:
        return retry_after
    return backoff_delay(retry_number, uniform, policy)


def may_retry(method: str, err: ApiError) -> bool:
    """Whether a failed request may be sent again.

    GET and PUT (lookups, stop, resume) are safe to repeat: every retryable error is retried.
    A POST creates a task and spends credits, and the API has no idempotency key: it is sent
    again only when it certainly never reached the server (DNS failure, connection refused,
    connect timeout), or after a 429, which means nothing was created.
    """
    if not err.retryable:
        return False
    if method != "POST":
        return True
    return not err.reached_server or err.http_status == 429
