"""Options shared by several commands (declared once), and the parsing of IDs and durations.

This module is imported by the command modules at start-up: it must stay cheap (typer is
already loaded by then; nothing here compiles a regex at import).
"""

import math
import re
from collections.abc import Iterable
from typing import IO, Annotated

import typer

from browseract_cli.errors import UsageError
from browseract_cli.sanitize import clean, has_control

# --------------------------------------------------------------------------- shared aliases

TaskIds = Annotated[list[str], typer.Argument(
    metavar="TASK_ID...", help="Task IDs; a single '-' reads them from stdin, one per line.",
    show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one object per line.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the essential value(s), for pipes.")]
ExitZero = Annotated[bool, typer.Option(
    "--exit-zero", help="Exit 0 whenever every lookup succeeded, whatever the states.")]
Limit = Annotated[int, typer.Option(
    "--limit", metavar="N", min=1, max=500, help="How many to show (1-500).")]
Page = Annotated[int, typer.Option("--page", metavar="N", min=1, help="Which page to show (from 1).")]
All = Annotated[bool, typer.Option("--all", help="Walk every page (500 a page), printing as it goes.")]
Wait = Annotated[bool, typer.Option("--wait", help="Wait until the task is done, as `watch` does.")]
Timeout = Annotated[str, typer.Option(
    "--timeout", metavar="DURATION", help="Give up waiting after this long (exit 124); 0 = no limit.")]
Interval = Annotated[str, typer.Option(
    "--interval", metavar="SECONDS", help="Time between polls of one task (fractions allowed).")]
MaxOutage = Annotated[str, typer.Option(
    "--max-outage", metavar="DURATION", help="Give up when polls have failed for this long; 0 = never.")]

MAX_TASK_ID = 256
_UNIT = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def check_task_id(task_id: str) -> str:
    """A task ID as the contract allows it: 1-256 characters, no control characters."""
    shown = clean(task_id, 40)
    if not task_id:
        raise UsageError("invalid task ID: it is empty")
    if len(task_id) > MAX_TASK_ID:
        raise UsageError(f"invalid task ID {shown!r}…: longer than {MAX_TASK_ID} characters")
    if has_control(task_id):
        raise UsageError(f"invalid task ID {shown!r}: it contains control characters")
    try:
        task_id.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("invalid task ID: it is not valid UTF-8 text") from None
    return task_id


def read_task_ids(args: Iterable[str], stdin: IO[str]) -> list[str]:
    """The task IDs of a command: arguments, with a lone ``-`` replaced by stdin's lines."""
    args = list(args)
    return collect_task_ids(args, stdin if "-" in args else None)


def collect_task_ids(args: Iterable[str], stdin_lines: Iterable[str] | None) -> list[str]:
    """The task IDs to look up: arguments, with a lone ``-`` replaced by stdin lines.

    Every ID is validated before any request is sent.
    """
    ids: list[str] = []
    for arg in args:
        if arg == "-":
            if stdin_lines is None:
                raise UsageError("'-' reads task IDs from stdin, but stdin is not available")
            for line in stdin_lines:
                line = line.rstrip("\r\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                ids.append(line)
        else:
            ids.append(arg)
    if not ids:
        raise UsageError("no task IDs given", hint="pass one or more task IDs, or '-' to read them from stdin")
    return [check_task_id(i) for i in ids]


def parse_duration(text: str, option: str) -> float:
    """Seconds from ``90``, ``2.5``, ``30s``, ``10m``, ``2h``; a UsageError for anything else."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?\s*$", text, re.IGNORECASE)
    if not match:
        raise UsageError(f"invalid duration for {option}: {text[:40]!r}",
                         hint="use seconds (90, 2.5) or a unit: 30s, 10m, 2h")
    value = float(match.group(1)) * _UNIT[(match.group(2) or "").lower() or None]
    if not math.isfinite(value):
        raise UsageError(f"invalid duration for {option}: {text[:40]!r}")
    return value
