"""Task states and what each means for the exit code."""

from __future__ import annotations

from browseract_cli.exit_codes import ExitCode

# The TaskStatus enum of the get-task-status spec.
KNOWN_STATES: tuple[str, ...] = (
    "created",
    "running",
    "pausing",
    "paused",
    "finished",
    "failed",
    "canceled",
    "unknown",
)
TERMINAL: frozenset[str] = frozenset({"finished", "failed", "canceled"})

STATE_EXIT: dict[str, ExitCode] = {
    "finished": ExitCode.OK,
    "failed": ExitCode.TASK_FAILED,
    "canceled": ExitCode.TASK_CANCELED,
    "paused": ExitCode.TASK_PAUSED,
    "unknown": ExitCode.TASK_UNKNOWN,
    "created": ExitCode.TASK_IN_PROGRESS,
    "running": ExitCode.TASK_IN_PROGRESS,
    "pausing": ExitCode.TASK_IN_PROGRESS,
}


def state_exit_code(state: str) -> ExitCode:
    """Exit code for a task state; a value outside the enum counts as ``unknown`` (13)."""
    return STATE_EXIT.get(state, ExitCode.TASK_UNKNOWN)


def is_known(state: str) -> bool:
    return state in STATE_EXIT
