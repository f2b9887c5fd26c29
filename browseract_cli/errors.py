"""Typed errors: everything that ends a command with a non-task exit code.

The error kinds of the contract live in one table (``KINDS``): each kind's exit code, the title
shown before its message, and a hint of what to do. Titles and hints of ``not_found`` and
``bad_request`` depend on the resource the request was about (task, workflow, template...).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from browseract_cli.exit_codes import ExitCode


class BrowseractError(Exception):
    """An error the user sees: one message, one hint, one exit code; never a traceback."""

    exit_code: ExitCode = ExitCode.INTERNAL
    kind: str = "internal"

    def __init__(self, msg: str, *, hint: str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.hint = hint

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "http_status": None, "code": None, "msg": self.msg, "trace_id": None}


class UsageError(BrowseractError):
    exit_code = ExitCode.USAGE
    kind = "usage"


class ConfigError(BrowseractError):
    exit_code = ExitCode.CONFIG
    kind = "config"


class LocalIOError(BrowseractError):
    """A local file, folder or stdout could not be written (74)."""

    exit_code = ExitCode.IO_ERROR
    kind = "io"


class OutputError(LocalIOError):
    """stdout cannot be written (closed, disk full...) for a reason other than a broken pipe."""


class InputError(BrowseractError):
    """Input the user gave (an input file, an input name) that the request cannot carry (65)."""

    exit_code = ExitCode.BAD_REQUEST
    kind = "bad_request"


class Kind(NamedTuple):
    exit_code: ExitCode
    title: str
    hint: str


# kind -> exit code, title and hint (contract "Exit codes"; JSON ERROR.kind values).
KINDS: dict[str, Kind] = {
    "auth": Kind(ExitCode.AUTH, "API key rejected",
                 "check the key with `browseract config doctor`; store a new one with "
                 "`browseract config set-key`"),
    "not_found": Kind(ExitCode.NOT_FOUND, "not found", "check the ID"),
    "bad_request": Kind(ExitCode.BAD_REQUEST, "request rejected",
                        "check the arguments and --base-url; `browseract config doctor` tests the setup"),
    "rate_limited": Kind(ExitCode.RATE_LIMITED, "rate limited",
                         "too many requests: wait a little, or poll less often (`watch --interval`)"),
    "server": Kind(ExitCode.BAD_ANSWER, "bad answer from the API",
                   "the API had trouble answering; try again later and quote the traceId to "
                   "BrowserAct support"),
    "network": Kind(ExitCode.UNREACHABLE, "network error",
                    "check your network and --base-url; `browseract config doctor` tests the connection"),
    "config": Kind(ExitCode.CONFIG, "configuration error", ""),
}
KIND_EXIT: dict[str, ExitCode] = {name: kind.exit_code for name, kind in KINDS.items()}

# What "not found" means, and what to do about it, for each resource.
NOT_FOUND: dict[str, tuple[str, str]] = {
    "task": ("task not found",
             "check the task ID (`browseract list` shows recent tasks); a task just started may "
             "take a moment to appear (`watch --not-found-grace`)"),
    "workflow": ("workflow not found", "`browseract workflows list` shows the IDs of your workflows"),
    "template": ("template not found", "`browseract templates list` shows the IDs of the templates"),
}
BAD_REQUEST_HINTS: dict[str, str] = {
    "task": "check the task ID and --base-url; `browseract config doctor` tests the setup",
    "region": "`browseract regions` lists the region codes",
}
CONCURRENCY_HINT = (
    "the account already runs as many tasks as its plan allows (free plans 1 at a time, paid "
    "plans up to 20): wait for one to end, or add --wait-for-slot 10m to wait for a free slot"
)


def title_for(kind: str, resource: str | None) -> str:
    if kind == "not_found" and resource in NOT_FOUND:
        return NOT_FOUND[resource][0]
    return KINDS[kind].title if kind in KINDS else "error"


def hint_for(kind: str, resource: str | None, code: int | None = None) -> str:
    if code == 10118:
        return CONCURRENCY_HINT
    if kind == "not_found" and resource in NOT_FOUND:
        return NOT_FOUND[resource][1]
    if kind == "bad_request" and resource in BAD_REQUEST_HINTS:
        return BAD_REQUEST_HINTS[resource]
    return KINDS[kind].hint


class ApiError(BrowseractError):
    """What the API (or the way to it) answered, classified per the contract.

    ``msg`` and ``trace_id`` may hold server text: sanitise before display. ``reached_server``
    is False only when the request certainly never left this machine (DNS failure, connection
    refused, connect timeout): the one case in which a create request may be sent again.
    """

    def __init__(
        self,
        kind: str,
        msg: str,
        *,
        http_status: int | None = None,
        code: int | None = None,
        trace_id: str | None = None,
        hint: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        resource: str | None = None,
        reached_server: bool = True,
        cause: str | None = None,
    ) -> None:
        super().__init__(msg, hint=hint_for(kind, resource, code) if hint is None else hint)
        self.kind = kind
        self.exit_code = KIND_EXIT[kind]
        self.http_status = http_status
        self.code = code
        self.trace_id = trace_id
        self.retryable = retryable
        self.retry_after = retry_after
        self.resource = resource
        self.reached_server = reached_server
        self.cause = cause  # a transport failure's kind, when it matters to a caller: "refused"

    @property
    def title(self) -> str:
        return title_for(self.kind, self.resource)

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
