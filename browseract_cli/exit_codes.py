"""Exit codes of the CLI contract and the severity order for several tasks."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1  # a bug in browseract, never a task outcome
    USAGE = 2  # unknown option, bad argument, invalid task ID
    TASK_FAILED = 10
    TASK_CANCELED = 11
    TASK_PAUSED = 12
    TASK_UNKNOWN = 13
    TASK_IN_PROGRESS = 14
    FILES_INCOMPLETE = 20  # some of a task's files could not be downloaded
    BAD_REQUEST = 65  # sysexits EX_DATAERR
    NOT_FOUND = 66  # sysexits EX_NOINPUT
    UNREACHABLE = 69  # sysexits EX_UNAVAILABLE
    IO_ERROR = 74  # sysexits EX_IOERR: a local file, directory or stdout could not be written
    RATE_LIMITED = 75  # sysexits EX_TEMPFAIL
    BAD_ANSWER = 76  # sysexits EX_PROTOCOL
    AUTH = 77  # sysexits EX_NOPERM
    CONFIG = 78  # sysexits EX_CONFIG
    WATCH_TIMEOUT = 124  # what timeout(1) returns
    INTERRUPTED = 130  # 128 + 2 SIGINT
    BROKEN_PIPE = 141  # 128 + 13 SIGPIPE
    TERMINATED = 143  # 128 + 15 SIGTERM


# Most severe first (lifecycle contract, "Exit codes").
SEVERITY: tuple[ExitCode, ...] = tuple(
    ExitCode(c) for c in (78, 77, 76, 74, 69, 75, 66, 65, 124, 20, 10, 13, 11, 12, 14, 0)
)
_RANK = {code: i for i, code in enumerate(SEVERITY)}

# One line per code, shown in `browseract --help` and kept in step with the README by a test.
MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "task finished (watch --until: reached a requested state)",
    ExitCode.INTERNAL: "internal error (a bug in browseract)",
    ExitCode.USAGE: "usage error: bad option, argument or task ID",
    ExitCode.TASK_FAILED: "task failed",
    ExitCode.TASK_CANCELED: "task canceled",
    ExitCode.TASK_PAUSED: "task paused, waiting for human input (status only)",
    ExitCode.TASK_UNKNOWN: "task status unknown or not recognised",
    ExitCode.TASK_IN_PROGRESS: "task still in progress: created, running, pausing (status only)",
    ExitCode.FILES_INCOMPLETE: "some of a task's files could not be downloaded",
    ExitCode.BAD_REQUEST: "API rejected the request as invalid",
    ExitCode.NOT_FOUND: "task, workflow or template does not exist",
    ExitCode.UNREACHABLE: "API could not be reached, after retries",
    ExitCode.IO_ERROR: "local I/O error: a file, folder or stdout could not be written",
    ExitCode.RATE_LIMITED: "rate limited, retries ran out",
    ExitCode.BAD_ANSWER: "API answered badly (5xx, redirect, bad body), after retries",
    ExitCode.AUTH: "API key rejected",
    ExitCode.CONFIG: "configuration error: no key, corrupt config, refused base URL",
    ExitCode.WATCH_TIMEOUT: "watch --timeout expired (the task is not canceled)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.BROKEN_PIPE: "stdout closed early (broken pipe)",
    ExitCode.TERMINATED: "terminated (SIGTERM)",
}


def worst(codes: Iterable[int]) -> ExitCode:
    """The most severe of several per-task codes; codes outside the order (1, 2, 130...) win."""
    best: ExitCode = ExitCode.OK
    for raw in codes:
        code = ExitCode(raw)
        if code not in _RANK:
            return code
        if _RANK[code] < _RANK[best]:
            best = code
    return best
