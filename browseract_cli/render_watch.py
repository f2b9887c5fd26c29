"""How `watch` reports: JSON Lines events, plain CI lines, quiet final lines, or a live table."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from browseract_cli.errors import ApiError
from browseract_cli.render import STATUS_STYLE, Output, error_json, error_text
from browseract_cli.sanitize import clean
from browseract_cli.watcher import Tracked


def iso(wall: float) -> str:
    """UTC ISO 8601 with milliseconds and a Z."""
    stamp = datetime.fromtimestamp(wall, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def duration(seconds: float) -> str:
    """8s, 1m05s, 2h03m."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def shown_status(t: Tracked) -> str:
    return clean(t.status, 80) if t.status is not None else "-"


class BaseReporter:
    """Shared state; every hook is a no-op unless a mode needs it."""

    def __init__(self, out: Output, wall: Callable[[], float] = time.time) -> None:
        self.out = out
        self.wall = wall
        self.resumable = True  # False for `demo`: its simulator is gone once it stops
        self._hints_shown: set[str] = set()  # one hint per situation, not one per task

    def status(self, t: Tracked, previous: str | None, elapsed: float) -> None: ...
    def retry(self, t: Tracked, err: ApiError, next_in: float) -> None: ...
    def notice(self, t: Tracked, kind: str, text: str) -> None: ...
    def heartbeat(self, tasks: Sequence[Tracked], now: float) -> None: ...
    def result(self, t: Tracked, elapsed: float) -> None: ...
    def tick(self, tasks: Sequence[Tracked], now: float) -> None: ...

    def _error(self, t: Tracked) -> None:
        """The task's error on stderr; its hint only the first time (one hint per situation)."""
        err = t.error
        if err is None:
            return
        hint = err.hint
        if hint in self._hints_shown:
            err.hint = ""  # for this line only
        self._hints_shown.add(hint)
        try:
            self.out.error(err, t.task_id)
        finally:
            err.hint = hint

    def close(self, tasks: Sequence[Tracked], code: int, interrupted: bool) -> None:
        timed_out = [t for t in tasks if t.exit_code == 124]
        if timed_out and not interrupted:
            they = "it keeps" if len(timed_out) == 1 else "they keep"
            self.out.info(f"--timeout expired before {_count(len(timed_out), 'task')} ended; "
                          f"{they} running on the server (watching never cancels a task)")
        if interrupted and self.resumable:
            # Only the tasks the interruption cut short still need watching.
            pending = [t for t in tasks if t.exit_code == code] or list(tasks)
            note = ("the task keeps running on the server (watching never cancels it)" if len(pending) == 1
                    else "the tasks keep running on the server (watching never cancels them)")
            self.out.info(f"watching stopped; {note}. Resume with: "
                          f"browseract watch {' '.join(_shell_quote(t.task_id) for t in pending)}")


def gives_up_text(t: Tracked) -> str:
    """`; gives up in 4m55s` for a retry line, or "" when the watch never gives up on it."""
    return "" if t.gives_up_in is None else f"; gives up in {duration(round(t.gives_up_in))}"


def failure_json(t: Tracked) -> dict[str, Any] | None:
    if t.failure is None:
        return None
    return {"code": t.failure.code, "message": None if t.failure.message is None else clean(t.failure.message, 1000)}


def failure_text(t: Tracked) -> str:
    """`failed: 10001 Navigation timeout`, or "" when the reason is not known."""
    if t.failure is None:
        return ""
    code = f"{t.failure.code} " if t.failure.code is not None else ""
    return f"failure {code}{clean(t.failure.message or '(no message)', 300)}".rstrip()


class JsonReporter(BaseReporter):
    """`--json`: the contract's events, one JSON object per line on stdout.

    With ``hold_results`` (`run --wait`), result records are kept for the caller to write,
    with more fields, once it knows them.
    """

    def __init__(self, out: Output, wall: Callable[[], float] = time.time, *,
                 hold_results: bool = False) -> None:
        super().__init__(out, wall)
        self.held: dict[str, dict[str, Any]] | None = {} if hold_results else None

    def _event(self, event: str, t: Tracked, **fields: Any) -> None:
        self.out.json_line({"event": event, "task_id": t.task_id, "at": iso(self.wall()), **fields})

    def status(self, t: Tracked, previous: str | None, elapsed: float) -> None:
        self._event("status", t, status=clean(t.status, 200), previous=previous and clean(previous, 200),
                    elapsed_s=round(elapsed, 3))

    def retry(self, t: Tracked, err: ApiError, next_in: float) -> None:
        gives_up = None if t.gives_up_in is None else round(t.gives_up_in, 3)
        self._event("retry", t, error=error_json(err), next_poll_in_s=round(next_in, 3),
                    gives_up_in_s=gives_up)

    def notice(self, t: Tracked, kind: str, text: str) -> None:
        self._event("notice", t, notice=kind, msg=text)

    def result(self, t: Tracked, elapsed: float) -> None:
        record = {"event": "result", "task_id": t.task_id, "at": iso(self.wall()),
                  "status": None if t.status is None else clean(t.status, 200), "exit_code": t.exit_code,
                  "error": None if t.error is None else error_json(t.error), "elapsed_s": round(elapsed, 3),
                  "polls": t.polls, "failure": failure_json(t)}
        if self.held is not None:
            self.held[t.task_id] = record
        else:
            self.out.json_line(record)


class QuietReporter(BaseReporter):
    """`-q`: only the final line(s): the status word, or TASK_ID<TAB>STATUS for several tasks."""

    def __init__(self, out: Output, wall: Callable[[], float], several: bool) -> None:
        super().__init__(out, wall)
        self.several = several

    def result(self, t: Tracked, elapsed: float) -> None:
        if t.error is not None:
            self._error(t)
        word = shown_status(t)
        self.out.line(f"{t.task_id}\t{word}" if self.several else word)


class PlainReporter(BaseReporter):
    """Off a terminal (CI logs): timestamped lines, no redraws, no escape bytes."""

    def _stamp(self) -> str:
        return iso(self.wall())[:19] + "Z"

    def status(self, t: Tracked, previous: str | None, elapsed: float) -> None:
        was = f"was {clean(previous, 80)}, " if previous is not None else ""
        self.out.line(f"{self._stamp()} {clean(t.task_id, 120)} {shown_status(t)} ({was}elapsed {duration(elapsed)})")

    def retry(self, t: Tracked, err: ApiError, next_in: float) -> None:
        self.out.info(f"{self._stamp()} {clean(t.task_id, 120)} missed poll: {error_text(err)}; "
                      f"next poll in {next_in:.1f}s{gives_up_text(t)}")

    def notice(self, t: Tracked, kind: str, text: str) -> None:
        self.out.info(f"{self._stamp()} {clean(t.task_id, 120)} {text}")

    def heartbeat(self, tasks: Sequence[Tracked], now: float) -> None:
        parts = []
        for t in tasks:
            extra = " (waiting for human input)" if t.status == "paused" else ""
            parts.append(f"{clean(t.task_id, 120)} {shown_status(t)} for {duration(now - t.since)}{extra}"
                         if t.status is not None else f"{clean(t.task_id, 120)} not seen yet")
        self.out.info(f"{self._stamp()} still watching: {'; '.join(parts)}")

    def result(self, t: Tracked, elapsed: float) -> None:
        if t.error is not None:
            self._error(t)
        why = f" {failure_text(t)}" if t.failure is not None else ""
        self.out.line(f"{self._stamp()} {clean(t.task_id, 120)} {shown_status(t)}: exit {t.exit_code} "
                      f"(elapsed {duration(elapsed)}, {_count(t.polls, 'poll')}){why}")

    def close(self, tasks: Sequence[Tracked], code: int, interrupted: bool) -> None:
        if len(tasks) > 1:
            self.out.info(summary_line(tasks, code))
        super().close(tasks, code, interrupted)


class LiveReporter(PlainReporter):
    """On a terminal: a table redrawn in place below the permanent lines (state changes on
    stdout; missed polls, notices and errors on stderr) and a summary table at the end.

    The table is rebuilt only when something changed or a shown timer ticked over (once a
    second), at most ``1 / MIN_GAP`` times a second, from the watch loop's idle time, and with no
    more rows than the screen has: the display never takes the time of a poll, however many tasks
    there are. Lines wait in ``pending`` for the next redraw, at most about a second even when
    polls leave no idle time.
    """

    MIN_GAP = 0.25  # seconds between two rebuilds of the table
    TIMER_STEP = 1.0  # the table shows whole seconds

    def __init__(self, out: Output, wall: Callable[[], float], clock: Callable[[], float],
                 size: Callable[[], tuple[int, int]] | None = None) -> None:
        super().__init__(out, wall)
        from browseract_cli.live import HIDE_CURSOR, Region, terminal_size

        self.clock = clock
        self.start = clock()
        self.size = size or (lambda: terminal_size(out.stdout))
        self.region = Region(out.stdout)
        self.tasks: Sequence[Tracked] = ()
        self.pending: list[tuple[Any, str]] = []
        self.frame: list[Any] = []
        self.renders = 0  # how many times the table was rebuilt (tests read it)
        self._dirty = True
        self._built_at = -math.inf
        self._drawn_at = -math.inf
        self._built_size: tuple[int, int] | None = None
        out.stdout.write(HIDE_CURSOR)
        out.stdout.flush()

    # -- events: permanent lines, shown at the next redraw ----------------------------------

    def _later(self, stream: Any, *pieces: tuple[str, str]) -> None:
        """A permanent line, as (text, style) pieces: word-wrapped at the next redraw's width."""
        self.pending.append((stream, pieces))
        self._dirty = True  # drawn at the next tick: the watch ticks at least once a second

    def status(self, t: Tracked, previous: str | None, elapsed: float) -> None:
        self._later(self.out.stdout, (f"{time.strftime('%H:%M:%S')} {clean(t.task_id, 256)} ", ""),
                    (shown_status(t), STATUS_STYLE.get(t.status or "", "")),
                    (f"  (was {clean(previous, 80)})" if previous else "", "dim"))

    def retry(self, t: Tracked, err: ApiError, next_in: float) -> None:
        self._later(self.out.stderr, (f"{time.strftime('%H:%M:%S')} {clean(t.task_id, 256)} missed poll: "
                                      f"{error_text(err)}; next in {next_in:.1f}s{gives_up_text(t)}", "yellow"))

    def notice(self, t: Tracked, kind: str, text: str) -> None:
        self._later(self.out.stderr, (f"{time.strftime('%H:%M:%S')} {clean(t.task_id, 256)} {text}", "magenta"))

    def heartbeat(self, tasks: Sequence[Tracked], now: float) -> None:
        pass  # the live table shows time in state

    def result(self, t: Tracked, elapsed: float) -> None:
        if t.failure is not None:
            self._later(self.out.stderr, (f"{clean(t.task_id, 256)} {failure_text(t)}", "red"))
        if t.error is None:
            self._dirty = True
            return
        self._later(self.out.stderr, ("error:", "bold red"), (f" {error_text(t.error, t.task_id)}", ""))
        hint = t.error.hint
        if hint and hint not in self._hints_shown:
            self._hints_shown.add(hint)
            self._later(self.out.stderr, ("hint:", "dim"), (f" {hint}", ""))

    # -- the table --------------------------------------------------------------------------

    def tick(self, tasks: Sequence[Tracked], now: float) -> None:
        self.tasks = tasks
        size = self.size()
        resized = size != self._built_size
        if not resized and now - self._drawn_at < self.MIN_GAP:
            return  # a bounded rate, whatever happens
        changed = resized or self.pending
        if resized or self._dirty or now - self._built_at >= self.TIMER_STEP:
            from browseract_cli.live import live_table

            frame = live_table(tasks, now, self.start, size)
            self._built_at, self._built_size, self._dirty = now, size, False
            self.renders += 1
            changed = changed or frame != self.frame
            self.frame = frame
        if changed:  # only what changed is written: an unchanged table costs no bytes
            self.region.draw(self.frame, size[0], self._permanent(size[0]))
            self._drawn_at = now

    def _permanent(self, width: int) -> list[tuple[Any, str]]:
        from browseract_cli.live import wrap

        lines = [(stream, line) for stream, pieces in self.pending for line in wrap(pieces, width - 1)]
        self.pending = []
        return lines

    def close(self, tasks: Sequence[Tracked], code: int, interrupted: bool) -> None:
        from browseract_cli.live import SHOW_CURSOR, paint, summary_table

        width = self.size()[0]
        try:
            self.region.draw([], width, self._permanent(width))  # the table goes, nothing stays behind
        finally:
            self.out.stdout.write(SHOW_CURSOR)
            self.out.stdout.flush()
        self.out.line(paint(summary_line(tasks, code), "bold"))
        for line in summary_table(tasks, self.clock(), self.start, width):
            self.out.line(line.text)
        BaseReporter.close(self, tasks, code, interrupted)


def summary_line(tasks: Sequence[Tracked], code: int) -> str:
    counts: dict[str, int] = {}
    for t in tasks:
        key = shown_status(t) if t.status is not None else "not seen"
        counts[key] = counts.get(key, 0) + 1
    parts = ", ".join(f"{n} {word}" for word, n in counts.items())
    return f"{_count(len(tasks), 'task')}: {parts}; exit {code}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(clean(text, 256))
