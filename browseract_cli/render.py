"""Every byte the CLI writes goes through Output: data on stdout, the rest on stderr.

Styling is decided once. Off a terminal (or with --no-color, NO_COLOR, TERM=dumb) rich is never
imported and not one escape byte is written; JSON and -q lines never pass through rich.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any, NamedTuple

from browseract_cli.errors import ApiError, BrowseractError
from browseract_cli.sanitize import clean, clean_together

STATUS_STYLE = {
    "finished": "bold green",
    "failed": "bold red",
    "canceled": "yellow",
    "paused": "bold magenta",
    "pausing": "magenta",
    "running": "cyan",
    "created": "blue",
}


def styling_wanted(stream: IO[str], *, no_color: bool, env: Mapping[str, str] = os.environ) -> bool:
    """Colour and tables only on a terminal, and never with --no-color, NO_COLOR or TERM=dumb.

    NO_COLOR counts when set to any non-empty value (no-color.org); FORCE_COLOR is not honoured.
    """
    if no_color or env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def ci_safe(text: str) -> str:
    """Text that GitHub's runner cannot take for a workflow command: a line that starts with
    `::` (after whitespace) gets a backslash in front, and the legacy `##[` (read anywhere in a
    line) becomes `##\\[`."""
    if "::" not in text and "##[" not in text:
        return text
    lines = text.replace("##[", "##\\[").splitlines(keepends=True)
    return "".join("\\" + line if line.lstrip().startswith("::") else line for line in lines)


class TaskRow(NamedTuple):
    """One task's outcome, as every output mode needs it."""

    task_id: str
    status: str | None
    exit_code: int
    error: BrowseractError | None = None

    def to_json(self) -> dict[str, Any]:
        err = self.error
        return {
            "task_id": self.task_id,
            "status": None if self.status is None else clean(self.status, 200),
            "exit_code": self.exit_code,
            "error": None if err is None else error_json(err),
        }


def error_json(err: BrowseractError) -> dict[str, Any]:
    if isinstance(err, ApiError):
        doc = err.to_json()
        doc["msg"], doc["trace_id"] = clean_together([(doc["msg"], 500), (doc["trace_id"], 100)])
        return doc
    return {"kind": err.kind, "http_status": None, "code": None, "msg": err.msg, "trace_id": None}


def error_text(err: BrowseractError, task_id: str | None = None) -> str:
    """One line: what went wrong, with HTTP status, business code, msg and traceId when known."""
    subject = f"{clean(task_id, 80)}: " if task_id is not None else ""
    if not isinstance(err, ApiError):
        return f"{subject}{err.msg}"
    msg, trace_id = clean_together([(err.msg, 300), (err.trace_id or None, 100)])
    facts = []
    if err.http_status is not None:
        facts.append(f"HTTP {err.http_status}")
    if err.code is not None:
        facts.append(f"code {err.code}")
    if trace_id is not None:
        facts.append(f"traceId {trace_id}")
    tail = f" ({', '.join(facts)})" if facts else ""
    return f"{subject}{_KIND_TITLE.get(err.kind, 'error')}: {msg}{tail}"


_KIND_TITLE = {
    "auth": "API key rejected",
    "not_found": "task not found",
    "bad_request": "request rejected",
    "rate_limited": "rate limited",
    "server": "bad answer from the API",
    "network": "network error",
    "config": "configuration error",
}


class Output:
    """The CLI's streams and how to write to them."""

    def __init__(self, stdout: IO[str] | None = None, stderr: IO[str] | None = None, *,
                 no_color: bool = False, env: Mapping[str, str] = os.environ) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.styled = styling_wanted(self.stdout, no_color=no_color, env=env)
        self.err_styled = styling_wanted(self.stderr, no_color=no_color, env=env)
        # Under GitHub Actions a log line that starts with `::` is a workflow command: only
        # annotation() may write one (ci_safe).
        self.github_actions = env.get("GITHUB_ACTIONS") == "true"
        self._console: Any = None

    # -- raw channels ----------------------------------------------------------------------

    def line(self, text: str = "") -> None:
        """A line of data on stdout."""
        if self.github_actions:
            text = ci_safe(text)
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def json_line(self, obj: Mapping[str, Any]) -> None:
        text = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
        if self.github_actions:
            text = text.replace("##[", "##\\u005b")  # only inside strings: the same JSON value
        self.line(text)

    def info(self, text: str) -> None:
        """A line for people on stderr (progress, notes)."""
        if self.github_actions:
            text = ci_safe(text)
        self._stderr_line(text)

    def annotation(self, command: str) -> None:
        """A GitHub Actions workflow command of browseract's own (``::error ...::text``)."""
        self._stderr_line(command)

    def _stderr_line(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def warn(self, text: str) -> None:
        self.info(self._tag("warning:", "33") + " " + text)

    def error(self, err: BrowseractError, task_id: str | None = None) -> None:
        self.info(self._tag("error:", "1;31") + " " + error_text(err, task_id))
        if err.hint:
            self.info(self._tag("hint:", "2") + " " + err.hint)

    def _tag(self, word: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{word}\x1b[0m" if self.err_styled else word

    # -- rich, on a terminal only ----------------------------------------------------------

    def console(self) -> Any:
        """A rich Console on stdout; only ever called when ``styled`` is true."""
        if self._console is None:
            from rich.console import Console

            # emoji=False: a server message ":skull:" stays text.
            self._console = Console(file=self.stdout, highlight=False, soft_wrap=False, emoji=False)
        return self._console

    # -- status ----------------------------------------------------------------------------

    def status_rows(self, rows: Sequence[TaskRow], mode: str) -> None:
        """Print `status` results: mode is "json", "quiet" or "human"."""
        if mode == "json":
            for row in rows:
                self.json_line(row.to_json())
        elif mode == "quiet":
            for row in rows:
                if row.status is None:
                    continue
                word = clean(row.status, 80)
                self.line(word if len(rows) == 1 else f"{row.task_id}\t{word}")
        elif self.styled:
            self._status_table(rows)
        else:
            self._status_plain(rows)

    def _status_plain(self, rows: Sequence[TaskRow]) -> None:
        shown = [(clean(r.task_id, 256), clean(r.status, 80) if r.status is not None else "-") for r in rows]
        width = max(len("TASK"), *(len(t) for t, _ in shown))
        self.line(f"{'TASK':<{width}}  STATUS")
        for task, status in shown:
            self.line(f"{task:<{width}}  {status}")

    def _status_table(self, rows: Sequence[TaskRow]) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(show_edge=False, header_style="bold", box=None, pad_edge=False)
        table.add_column("TASK", overflow="fold")
        table.add_column("STATUS")
        for row in rows:
            status = row.status
            cell = Text(clean(status, 80), style=STATUS_STYLE.get(status, "")) if status else Text("-", style="dim")
            table.add_row(Text(clean(row.task_id, 256)), cell)
        self.console().print(table)
