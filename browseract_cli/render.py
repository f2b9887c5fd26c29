"""Every byte the CLI writes goes through Output: data on stdout, the rest on stderr.

Styling is decided once. Off a terminal (or with --no-color, NO_COLOR, TERM=dumb) rich is never
imported and not one escape byte is written; JSON and -q lines never pass through rich.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import IO, Any, NamedTuple

from browseract_cli.errors import ApiError, BrowseractError, UsageError
from browseract_cli.sanitize import clean

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


class Mode(StrEnum):
    """How a command writes its data, decided once from --json / -q."""

    HUMAN = "human"
    JSON = "json"
    QUIET = "quiet"


def output_mode(json_: bool = False, quiet: bool = False) -> Mode:
    if json_ and quiet:
        raise UsageError("--json and --quiet cannot be used together")
    return Mode.JSON if json_ else Mode.QUIET if quiet else Mode.HUMAN


class Column(NamedTuple):
    """A table column. ``key`` columns (IDs) are never shortened; ``styles`` colours by value."""

    header: str
    key: bool = False
    styles: Mapping[str, str] | None = None
    align: str = "left"


Cell = str | None  # None shows as "-"


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
    doc = err.to_json()
    doc["msg"] = clean(doc["msg"], 500)
    doc["trace_id"] = None if doc["trace_id"] is None else clean(doc["trace_id"], 100)
    return doc


def error_text(err: BrowseractError, subject: str | None = None) -> str:
    """One line: what went wrong, with HTTP status, business code, msg and traceId when known."""
    head = f"{clean(subject, 80)}: " if subject is not None else ""
    if not isinstance(err, ApiError):
        return f"{head}{err.msg}"
    facts = []
    if err.http_status is not None:
        facts.append(f"HTTP {err.http_status}")
    if err.code is not None:
        facts.append(f"code {err.code}")
    if err.trace_id:
        facts.append(f"traceId {clean(err.trace_id, 100)}")
    tail = f" ({', '.join(facts)})" if facts else ""
    return f"{head}{err.title}: {clean(err.msg, 300)}{tail}"


class Output:
    """The CLI's streams and how to write to them."""

    def __init__(self, stdout: IO[str] | None = None, stderr: IO[str] | None = None, *,
                 no_color: bool = False, env: Mapping[str, str] = os.environ) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.no_color, self.env = no_color, env
        self.styled = styling_wanted(self.stdout, no_color=no_color, env=env)
        self.err_styled = styling_wanted(self.stderr, no_color=no_color, env=env)
        self._console: Any = None

    def progress_view(self) -> Output:
        """An Output whose data lines go to stderr: the progress of a command whose stdout is
        its result (`run --wait`, `output --wait`)."""
        return Output(self.stderr, self.stderr, no_color=self.no_color, env=self.env)

    # -- raw channels ----------------------------------------------------------------------

    def line(self, text: str = "") -> None:
        """A line of data on stdout."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def write(self, text: str) -> None:
        """Data on stdout exactly as given (no newline added)."""
        self.stdout.write(text)
        self.stdout.flush()

    def json_line(self, obj: Mapping[str, Any]) -> None:
        self.line(json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")))

    def info(self, text: str) -> None:
        """A line for people on stderr (progress, notes)."""
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

            self._console = Console(file=self.stdout, highlight=False, soft_wrap=False)
        return self._console

    # -- generic data output ---------------------------------------------------------------

    def quiet(self, values: Iterable[str]) -> None:
        """`-q`: one value per line, for pipes."""
        for value in values:
            self.line(value)

    def table(self, columns: Sequence[Column], batches: Iterable[Sequence[Sequence[Cell]]]) -> None:
        """A table of sanitised cells: rich on a terminal, aligned plain text off it.

        ``batches`` are printed as they arrive (a paged list streams page by page): the column
        widths are those of the first batch, and a longer cell later only pushes its line.
        """
        widths: list[int] | None = None
        for rows in batches:
            shown = [[clean(c, 256) if c is not None else "-" for c in row] for row in rows]
            first = widths is None
            if widths is None:
                widths = [max([len(col.header), *(len(r[i]) for r in shown)]) for i, col in enumerate(columns)]
            if self.styled:
                self._rich_table(columns, shown, widths, header=first)
            else:
                self._plain_table(columns, shown, widths, header=first)

    def _plain_table(self, columns: Sequence[Column], rows: list[list[str]], widths: list[int],
                     header: bool) -> None:
        def fmt(cells: Sequence[str]) -> str:
            parts = [c.rjust(w) if col.align == "right" else c.ljust(w)
                     for c, w, col in zip(cells, widths, columns, strict=True)]
            return "  ".join(parts).rstrip()

        if header:
            self.line(fmt([c.header for c in columns]))
        for row in rows:
            self.line(fmt(row))

    def _rich_table(self, columns: Sequence[Column], rows: list[list[str]], widths: list[int],
                    header: bool) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(show_edge=False, header_style="bold", box=None, pad_edge=False, show_header=header)
        for col, width in zip(columns, widths, strict=True):
            if col.key:  # an ID is never cut: it is what the user copies into the next command
                table.add_column(col.header, min_width=width, no_wrap=True, overflow="fold")
            else:
                table.add_column(col.header, min_width=min(width, len(col.header)), justify=col.align,  # type: ignore[arg-type]
                                 overflow="ellipsis", no_wrap=True)
        for row in rows:
            table.add_row(*(Text(cell, style=(col.styles or {}).get(cell, "") if cell != "-" else "dim")
                            for cell, col in zip(row, columns, strict=True)))
        self.console().print(table)

    def record(self, fields: Sequence[tuple[str, Cell]], styles: Mapping[str, str] | None = None) -> None:
        """Key/value details of one thing, aligned; fields whose value is None are left out."""
        shown = [(name, clean(value, 2000)) for name, value in fields if value is not None]
        if not shown:
            return
        width = max(len(name) for name, _ in shown)
        if not self.styled:
            for name, value in shown:
                self.line(f"{name + ':':<{width + 1}}  {value}")
            return
        from rich.text import Text

        console = self.console()
        for name, value in shown:
            line = Text(f"{name + ':':<{width + 1}}  ", style="bold")
            line.append(value, style=(styles or {}).get(value, ""))
            console.print(line, soft_wrap=True)

    # -- status ----------------------------------------------------------------------------

    def status_rows(self, rows: Sequence[TaskRow], mode: str) -> None:
        """Print `status` results in the given output mode."""
        if mode == Mode.JSON:
            for row in rows:
                self.json_line(row.to_json())
        elif mode == Mode.QUIET:
            # ID<TAB>STATUS whenever several tasks were asked for, so one success among failed
            # lookups is never a bare, ambiguous word.
            words = [(r.task_id, clean(r.status, 80)) for r in rows if r.status is not None]
            self.quiet(word if len(rows) == 1 else f"{task}\t{word}" for task, word in words)
        else:
            columns = [Column("TASK", key=True), Column("STATUS", styles=STATUS_STYLE)]
            self.table(columns, [[(r.task_id, r.status) for r in rows]])
