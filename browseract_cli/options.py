"""Options shared by several commands (declared once), and the parsing of IDs and durations.

This module is imported by the command modules at start-up: it must stay cheap (typer is
already loaded by then; nothing here compiles a regex at import).
"""

import math
import re
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Annotated

import typer

from browseract_cli.errors import UsageError
from browseract_cli.sanitize import clean, has_control

if TYPE_CHECKING:
    from browseract_cli.context import AppContext

# --------------------------------------------------------------------------- shared aliases

TaskIds = Annotated[list[str] | None, typer.Argument(
    metavar="TASK_ID...", help="Task IDs (one or more); a lone - reads them from stdin, one per line.",
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
_UNIT = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_UNIT_ORDER = ("d", "h", "m", "s", "ms")  # a compound lists its units in this order
# One "<number><unit>" group; `ms` before `m` so that 500ms is not 500 minutes and an s.
# Compiled on first use (re caches it): `status` never parses a duration.
_DURATION_PART = r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|[dhms]|)\s*"


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


def read_task_ids(app: "AppContext", args: list[str] | None, command: str) -> list[str]:
    """The task IDs of a command: arguments, with a lone ``-`` replaced by stdin's lines."""
    if not args:
        raise UsageError("missing TASK_ID", hint="give one or more task IDs, or - to read them "
                                                 f"from stdin; see `browseract {command} --help`")
    stdin = app.input_stream() if "-" in args else None
    if stdin is not None:
        _note_reading(app, stdin)
    return collect_task_ids(args, stdin)


def _note_reading(app: "AppContext", stdin: IO[str]) -> None:
    """`status -` typed at a terminal would wait silently: say what it waits for."""
    try:
        interactive = bool(stdin.isatty())
    except (AttributeError, ValueError, OSError):
        interactive = False
    if interactive:
        import os

        end = "Ctrl-Z then Enter" if os.name == "nt" else "Ctrl-D"
        app.out.info(f"reading task IDs from stdin, one per line; end with {end}")


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
    """Seconds from ``90``, ``2.5``, ``500ms``, ``30s``, ``10m``, ``2h``, ``1d`` or a compound of
    units from largest to smallest (``1h30m``, ``2m30s``, ``1d2h``); a UsageError otherwise.

    Units are case-insensitive, so ``M`` is minutes too (there is no month unit). A bare number is
    seconds, but only on its own: ``1h30`` is refused as ambiguous, and so is a unit given twice
    or out of order (``1m1m``, ``30m1h``), which is more likely a typo than a wish.
    """
    parts = re.findall(_DURATION_PART, text.strip(), re.IGNORECASE) if text.strip() else []
    if not parts or re.sub(_DURATION_PART, "", text, flags=re.IGNORECASE).strip():
        raise _bad_duration(text, option)
    if len(parts) == 1 and not parts[0][1]:
        value = float(parts[0][0])
    else:
        units = [unit.lower() for _, unit in parts]
        ranks = [_UNIT_ORDER.index(u) if u in _UNIT_ORDER else -1 for u in units]
        if -1 in ranks or ranks != sorted(set(ranks)):
            raise _bad_duration(text, option)
        value = sum(float(number) * _UNIT[unit] for number, unit in zip(
            (n for n, _ in parts), units, strict=True))
    if not math.isfinite(value):
        raise _bad_duration(text, option)
    return value


def _bad_duration(text: str, option: str) -> UsageError:
    return UsageError(f"invalid duration for {option}: {text[:40]!r}",
                      hint="use seconds (90, 2.5) or units d, h, m, s, ms: 30s, 10m, 1h30m, 1d")


# --------------------------------------------------------------------------- values with completion

TASK_STATES = ("created", "running", "pausing", "paused", "finished", "failed", "canceled", "unknown")
OUTPUT_FORMATS = ("auto", "json", "jsonl", "csv", "raw")


def complete_states(incomplete: str) -> list[str]:
    """Shell completion of a state option (a comma list completes its last item)."""
    head, _, last = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    return [prefix + s for s in TASK_STATES if s.startswith(last.lower())]


def complete_formats(incomplete: str) -> list[str]:
    return [f for f in OUTPUT_FORMATS if f.startswith(incomplete.lower())]


StatesHelp = ", ".join(TASK_STATES)
Format = Annotated[str, typer.Option(
    "--format", metavar="FMT", autocompletion=complete_formats,
    help="How to print the output: auto, json, jsonl, csv or raw.")]


def check_format(value: str) -> str:
    fmt = value.strip().lower()
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"--format {value[:20]!r} is not a format", hint=f"use one of: {', '.join(OUTPUT_FORMATS)}")
    return fmt


def check_state(value: str, option: str) -> str:
    state = value.strip().lower()
    if state not in TASK_STATES:
        raise UsageError(f"{option} {value[:40]!r} is not a task state", hint=f"use one of: {StatesHelp}")
    return state


def check_id(value: str, what: str) -> str:
    """A workflow or template ID: the task-ID rules (1-256 characters, no control characters)."""
    try:
        return check_task_id(value)
    except UsageError as err:
        raise UsageError(err.msg.replace("task ID", what), hint=err.hint) from None


def parse_when(text: str, option: str, now_wall: float) -> str:
    """``--since`` / ``--until``: a DURATION before now (``2h``, ``7d``), or an ISO 8601 date or
    date-time (a date alone is its midnight UTC; a time without a zone is UTC); as UTC ISO 8601."""
    from datetime import UTC, datetime, timedelta

    value = text.strip()
    try:
        seconds = parse_duration(value, option)
    except UsageError:
        seconds = None
    if seconds is not None:
        when = datetime.fromtimestamp(now_wall, UTC) - timedelta(seconds=seconds)
    else:
        try:
            when = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
        except ValueError:
            raise UsageError(f"invalid time for {option}: {value[:40]!r}",
                             hint="use a duration before now (2h, 7d) or an ISO 8601 date or time "
                                  "(2026-12-01, 2026-12-01T10:00:00Z)") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
