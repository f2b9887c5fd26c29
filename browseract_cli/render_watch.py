"""How `watch` reports: JSON Lines events, plain CI lines, quiet final lines, or a live table."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
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

    def status(self, t: Tracked, previous: str | None, elapsed: float) -> None: ...
    def retry(self, t: Tracked, err: ApiError, next_in: float) -> None: ...
    def notice(self, t: Tracked, kind: str, text: str) -> None: ...
    def heartbeat(self, tasks: Sequence[Tracked], now: float) -> None: ...
    def result(self, t: Tracked, elapsed: float) -> None: ...
    def tick(self, tasks: Sequence[Tracked], now: float) -> None: ...

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
            self.out.error(t.error, t.task_id)
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
            self.out.error(t.error, t.task_id)
        why = f" {failure_text(t)}" if t.failure is not None else ""
        self.out.line(f"{self._stamp()} {clean(t.task_id, 120)} {shown_status(t)}: exit {t.exit_code} "
                      f"(elapsed {duration(elapsed)}, {_count(t.polls, 'poll')}){why}")

    def close(self, tasks: Sequence[Tracked], code: int, interrupted: bool) -> None:
        if len(tasks) > 1:
            self.out.info(summary_line(tasks, code))
        super().close(tasks, code, interrupted)


class LiveReporter(PlainReporter):
    """On a terminal: a live rich table updating in place, state changes as permanent lines."""

    def __init__(self, out: Output, wall: Callable[[], float], clock: Callable[[], float]) -> None:
        super().__init__(out, wall)
        from rich.live import Live

        self.clock = clock
        self.tasks: Sequence[Tracked] = ()
        self.start = clock()
        self.live = Live(_LiveTable(self), console=out.console(), refresh_per_second=4, transient=True,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def _print(self, text: Any) -> None:
        self.live.console.print(text)

    def status(self, t: Tracked, previous: str | None, elapsed: float) -> None:
        from rich.text import Text

        line = Text(f"{time.strftime('%H:%M:%S')} ")
        line.append(clean(t.task_id, 120))
        line.append(" ")
        line.append(shown_status(t), style=STATUS_STYLE.get(t.status or "", ""))
        line.append(f"  (was {clean(previous, 80)})" if previous else "", style="dim")
        self._print(line)

    def retry(self, t: Tracked, err: ApiError, next_in: float) -> None:
        from rich.text import Text

        self._print(Text(f"{time.strftime('%H:%M:%S')} {clean(t.task_id, 120)} missed poll: "
                         f"{error_text(err)}; next in {next_in:.1f}s", style="yellow"))

    def notice(self, t: Tracked, kind: str, text: str) -> None:
        from rich.text import Text

        self._print(Text(f"{time.strftime('%H:%M:%S')} {clean(t.task_id, 120)} {text}", style="magenta"))

    def heartbeat(self, tasks: Sequence[Tracked], now: float) -> None:
        pass  # the live table shows time in state

    def tick(self, tasks: Sequence[Tracked], now: float) -> None:
        self.tasks = tasks
        self.live.refresh()

    def result(self, t: Tracked, elapsed: float) -> None:
        if t.error is not None:
            self.live.console.print(f"error: {error_text(t.error, t.task_id)}", markup=False, style="red")
        if t.failure is not None:
            self.live.console.print(f"{clean(t.task_id, 120)} {failure_text(t)}", markup=False, style="red")

    def close(self, tasks: Sequence[Tracked], code: int, interrupted: bool) -> None:
        self.live.stop()  # restores the cursor
        from rich.table import Table
        from rich.text import Text

        # The summary goes on its own line: as the table's title it would wrap at the table's width.
        self.out.console().print(Text(summary_line(tasks, code), style="bold"))
        table = Table(box=None, header_style="bold")
        for column in ("TASK", "STATUS", "EXIT", "ELAPSED", "POLLS"):
            table.add_column(column)
        for t in tasks:
            table.add_row(Text(clean(t.task_id, 120)),
                          Text(shown_status(t), style=STATUS_STYLE.get(t.status or "", "")),
                          str(t.exit_code), duration((t.ended_at or self.clock()) - self.start), str(t.polls))
        self.out.console().print(table)
        BaseReporter.close(self, tasks, code, interrupted)


class _LiveTable:
    """Re-rendered by rich on every refresh, so the timers move between polls."""

    def __init__(self, reporter: LiveReporter) -> None:
        self.r = reporter

    def __rich__(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        now = self.r.clock()
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("TASK", "STATUS", "IN STATE", "ELAPSED", "LAST CHECKED"):
            table.add_column(column)
        for t in self.r.tasks:
            state = Text(shown_status(t), style=STATUS_STYLE.get(t.status or "", ""))
            if t.status == "paused":
                state.append(" (needs a person)", style="dim")
            checked = time.strftime("%H:%M:%S", time.localtime(t.last_checked)) if t.last_checked else "-"
            end = t.ended_at if t.ended_at is not None else now
            table.add_row(Text(clean(t.task_id, 80)), state,
                          duration(end - t.since) if t.status else "-",
                          duration(end - self.r.start), checked)
        return table


def summary_line(tasks: Sequence[Tracked], code: int) -> str:
    counts: dict[str, int] = {}
    for t in tasks:
        key = shown_status(t) if t.status is not None else "not seen"
        counts[key] = counts.get(key, 0) + 1
    parts = ", ".join(f"{n} {word}" for word, n in counts.items())
    return f"{_count(len(tasks), 'task')}: {parts}; exit {code}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def github_actions(tasks: Sequence[Tracked], out: Output, env: Mapping[str, str]) -> None:
    """In GitHub Actions: annotations for failed/canceled tasks and a step-summary table."""
    if env.get("GITHUB_ACTIONS") != "true":
        return
    for t in tasks:
        if t.status == "failed" or (t.error is not None and t.exit_code not in (0, None)):
            what = error_text(t.error) if t.error is not None else "the task failed"
            out.annotation(f"::error title=browseract::{_gh_escape(f'{t.task_id}: {what}')}")
        elif t.status == "canceled":
            out.annotation(f"::warning title=browseract::{_gh_escape(f'{t.task_id}: the task was canceled')}")
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    rows = ["| Task | Status | Exit | Polls |", "|---|---|---|---|"]
    for t in tasks:
        rows.append(f"| {_code(t.task_id)} | {_code(shown_status(t))} | {t.exit_code} | {t.polls} |")
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("### browseract watch\n\n" + "\n".join(rows) + "\n\n")
    except OSError:
        out.warn("could not write the GitHub step summary")


def _gh_escape(text: str) -> str:
    return clean(text, 500).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _code(text: str) -> str:
    """Server text as a Markdown code span: no links, images or HTML, and no table cell breaks."""
    shown = clean(text, 120).replace("|", "\\|").replace("`", "'")
    return f"`{shown or ' '}`"


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(clean(text, 256))
