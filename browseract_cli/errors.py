"""Typed errors: everything that ends a command with a non-task exit code."""

from __future__ import annotations

from typing import Any

from browseract_cli.exit_codes import ExitCode


class BrowseractError(Exception):
    """An error the user sees: one message, one hint, one exit code; never a traceback."""

    exit_code: ExitCode = ExitCode.INTERNAL
    kind: str = "internal"

    def __init__(self, msg: str, *, hint: str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.hint = hint


class UsageError(BrowseractError):
    exit_code = ExitCode.USAGE
    kind = "usage"


class ConfigError(BrowseractError):
    exit_code = ExitCode.CONFIG
    kind = "config"

    def to_json(self) -> dict[str, Any]:
        return {"kind": "config", "http_status": None, "code": None, "msg": self.msg, "trace_id": None}


class OutputError(BrowseractError):
    """stdout cannot be written (closed, disk full...) for a reason other than a broken pipe."""

    exit_code = ExitCode.IO_ERROR
    kind = "io"


# ApiError kind -> exit code (contract "Exit codes"; JSON ERROR.kind values).
KIND_EXIT: dict[str, ExitCode] = {
    "auth": ExitCode.AUTH,
    "not_found": ExitCode.NOT_FOUND,
    "bad_request": ExitCode.BAD_REQUEST,
    "rate_limited": ExitCode.RATE_LIMITED,
    "server": ExitCode.BAD_ANSWER,
    "network": ExitCode.UNREACHABLE,
    "config": ExitCode.CONFIG,
}


class ApiError(BrowseractError):
    """What the API (or the way to it) answered, classified per the contract.

    ``msg`` and ``trace_id`` may hold server text: sanitise before display.
    """

    def __init__(
        self,
        kind: str,
        msg: str,
        *,
        http_status: int | None = None,
        code: int | None = None,
        trace_id: str | None = None,
        hint: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(msg, hint=hint)
        self.kind = kind
        self.exit_code = KIND_EXIT[kind]
        self.http_status = http_status
        self.code = code
        self.trace_id = trace_id
        self.retryable = retryable
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "http_status": self.http_status,
            "code": self.code,
            "msg": self.msg,
            "trace_id": self.trace_id,
        }

    def __repr__(self) -> str:
        return (
            f"ApiError(kind={self.kind!r}, http_status={self.http_status!r}, code={self.code!r})"
        )
