"""Every byte the CLI writes goes through Output: data on stdout, the rest on stderr.

Styling is decided once. Off a terminal (or with --no-color, NO_COLOR, TERM=dumb) rich is never
imported and not one escape byte is written; JSON and -q lines never pass through rich.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import IO, Any, NamedTuple

from browseract_cli.errors import ApiError, BrowseractError, OutputError, UsageError
from browseract_cli.sanitize import clean, clean_together, escape_undecodable, quote_id

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
    lines = text.replace("##[", "##\\[").split("\n")
    return "\n".join("\r".join("\\" + part if part.lstrip().startswith("::") else part
                               for part in line.split("\r")) for line in lines)  # the runner's line ends


class GuardedStream:
    """stdout or stderr, with what a failure to write means decided in one place.

    stdout: a broken pipe propagates (exit 141); being closed, full or failing otherwise raises
    OutputError (exit 74). stderr: every failure is ignored, so a closed, full or unread stderr
    never changes the exit code. Either way, once a stream has failed its descriptor is pointed
    at devnull, so that interpreter shutdown flushes quietly. Text the stream cannot encode is
    written with escapes instead of failing.
    """

    def __init__(self, stream: IO[str] | None, role: str) -> None:
        self._stream = stream
        self._role = role
        self._failure = "it is closed" if stream is None else ""
        self.encoding = getattr(stream, "encoding", None) or "utf-8"
        self.errors = getattr(stream, "errors", None) or "strict"

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str")
        if self._failure:
            if text and self._role == "stdout":
                raise OutputError(f"cannot write to stdout: {self._failure}")
            return len(text)
        try:
            try:
                return self._stream.write(text)  # type: ignore[union-attr]
            except UnicodeEncodeError:
                return self._stream.write(_encodable(text, self.encoding))  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            self._failed(exc)
            return len(text)

    def flush(self) -> None:
        if self._failure:
            return  # what could not be written is lost; the write said so
        try:
            self._stream.flush()  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, BrokenPipeError) and self._role == "stdout":
            raise exc  # the reader went away: exit 141, handled by the caller
        errno = getattr(exc, "errno", None)
        self._failure = os.strerror(errno).lower() if errno else "it is closed"
        try:
            fd = self._stream.fileno()  # type: ignore[union-attr]
            if fd in (1, 2):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, fd)
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        if self._role == "stdout":
            raise OutputError(f"cannot write to stdout: {self._failure}") from None

    def isatty(self) -> bool:
        try:
            return not self._failure and bool(self._stream.isatty())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            return False

    def fileno(self) -> int:
        if self._stream is None:
            raise io.UnsupportedOperation("the stream is closed")
        return self._stream.fileno()

    def __getattr__(self, name: str) -> Any:
        # No `buffer`: click would write bytes there, past the guard. The rest is the stream's
        # (e.g. a test's StringIO.getvalue()).
        if name == "buffer" or name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._stream, name)


def guarded(stream: IO[str] | None, role: str) -> IO[str]:
    if isinstance(stream, GuardedStream):
        return stream  # type: ignore[return-value]
    return GuardedStream(stream, role)  # type: ignore[return-value]


def guard_std_streams() -> None:
    """For the console script: no closed descriptor 0-2 that a later open() could reuse (the
    config file, the socket with the key), and sys.stdout / sys.stderr guarded (GuardedStream)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                devnull = os.open(os.devnull, os.O_RDWR)
                if devnull != fd:
                    os.dup2(devnull, fd)
                    os.close(devnull)
            except OSError:
                pass
    sys.stdout = guarded(sys.stdout, "stdout")  # None (closed at start) stays "closed"
    sys.stderr = guarded(sys.stderr, "stderr")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _encodable(text: str, encoding: str) -> str:
    text = escape_undecodable(text)
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        return text.encode(encoding, "backslashreplace").decode(encoding, "replace")


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
    """A table column. ``styles`` colours by value. On a terminal too narrow for every column,
    columns go in order of ``drop`` (highest first; 0: never), and only ``shrink`` columns (free
    text) are cut with an ellipsis: IDs, states and times are shown whole or not at all."""

    header: str
    key: bool = False  # an ID: never dropped, never cut
    styles: Mapping[str, str] | None = None
    align: str = "left"
    drop: int = 0
    shrink: bool = False


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


def size_text(n: int | None) -> str:
    """Bytes for people, in binary units: ``512 bytes``, ``3.0 KiB``, ``1.5 GiB``."""
    if n is None:
        return "size unknown"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def error_json(err: BrowseractError) -> dict[str, Any]:
    doc = err.to_json()
    doc["msg"], doc["trace_id"] = clean_together([(doc["msg"], 500), (doc["trace_id"], 100)])
    return doc


def error_text(err: BrowseractError, subject: str | None = None) -> str:
    """One line: what went wrong, with HTTP status, business code, msg and traceId when known."""
    head = f"{quote_id(subject, 80)}: " if subject is not None else ""
    if not isinstance(err, ApiError):
        return f"{head}{err.msg}"
    msg, trace_id = clean_together([(err.msg, 300), (err.trace_id or None, 100)])
    facts = []
    if err.http_status is not None and not msg.startswith(f"HTTP {err.http_status}"):
        facts.append(f"HTTP {err.http_status}")
    if err.code is not None:
        facts.append(f"code {err.code}")
    if trace_id is not None:
        facts.append(f"traceId {trace_id}")
    tail = f" ({', '.join(facts)})" if facts else ""
    return f"{head}{err.title}: {msg}{tail}"


SHRINK_MIN = 10  # a free-text column is not cut below this


def fitting(columns: Sequence[Column], widths: Sequence[int], room: int) -> list[int]:
    """The indexes of the columns that fit ``room`` columns: the most droppable go first."""
    keep = list(range(len(columns)))

    def need() -> int:
        return sum(min(widths[i], SHRINK_MIN) if columns[i].shrink else widths[i] for i in keep) + 2 * (len(keep) - 1)

    for i in sorted((i for i, c in enumerate(columns) if c.drop and not c.key), key=lambda i: -columns[i].drop):
        if need() <= room:
            break
        keep.remove(i)
    return keep


def _failed_cell(row: TaskRow) -> str:
    """What a table shows for a task whose lookup failed: ``(task not found)``."""
    err = row.error
    if isinstance(err, ApiError):
        return f"({err.title})"
    return f"({err.kind})" if err is not None else "-"


class Output:
    """The CLI's streams and how to write to them."""

    def __init__(self, stdout: IO[str] | None = None, stderr: IO[str] | None = None, *,
                 no_color: bool = False, env: Mapping[str, str] = os.environ) -> None:
        self.stdout = guarded(stdout if stdout is not None else sys.stdout, "stdout")
        self.stderr = guarded(stderr if stderr is not None else sys.stderr, "stderr")
        self.no_color, self.env = no_color, env
        self.styled = styling_wanted(self.stdout, no_color=no_color, env=env)
        self.err_styled = styling_wanted(self.stderr, no_color=no_color, env=env)
        # Under GitHub Actions a log line that starts with `::` is a workflow command: only
        # annotation() may write one (ci_safe).
        self.github_actions = env.get("GITHUB_ACTIONS") == "true"
        self._console: Any = None

    # -- raw channels ----------------------------------------------------------------------

    def progress_view(self) -> Output:
        """An Output whose data lines go to stderr: the progress of a command whose stdout is
        its result (`run --wait`, `output --wait`)."""
        return Output(self.stderr, self.stderr, no_color=self.no_color, env=self.env)

    def line(self, text: str = "") -> None:
        """A line of data on stdout."""
        if self.github_actions:
            text = ci_safe(text)
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def write(self, text: str) -> None:
        """Data on stdout exactly as given (no newline added)."""
        if self.github_actions:
            text = ci_safe(text)
        self.stdout.write(text)
        self.stdout.flush()

    def json_line(self, obj: Mapping[str, Any]) -> None:
        text = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
        if not text.isascii() and not _is_utf8(text):  # lone surrogates: JSON's own \\uXXXX escapes
            text = json.dumps(obj, ensure_ascii=True, separators=(", ", ": "))
        if self.github_actions:  # a JSON line starts with "{": only the legacy "##[" can be a command
            text = text.replace("##[", "##\\u005b")  # only inside strings: the same JSON value
        self.stdout.write(text + "\n")
        self.stdout.flush()

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

    def progress_line(self, text: str, *, final: bool = False) -> None:
        """A line on stderr that the next one replaces (a terminal only: the caller checks
        ``err_styled``); ``final`` keeps it."""
        self.stderr.write("\r\x1b[2K" + text + ("\n" if final else ""))
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
                keep = fitting(columns, widths, self.console().width)
                self._rich_table([columns[i] for i in keep], [[r[i] for i in keep] for r in shown],
                                 [widths[i] for i in keep], header=first)
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
            # An ID is what the user copies into the next command: never cut (nor a state or time).
            table.add_column(col.header, min_width=min(width, SHRINK_MIN) if col.shrink else width,
                             justify=col.align, overflow="ellipsis" if col.shrink else "fold",  # type: ignore[arg-type]
                             no_wrap=True)
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

    def status_rows(self, rows: Sequence[TaskRow], mode: str, *, several: bool | None = None) -> None:
        """Print `status` results in the given output mode (``several``: whether more tasks than
        these were asked for, when printing them one by one)."""
        several = len(rows) > 1 if several is None else several
        if mode == Mode.JSON:
            for row in rows:
                self.json_line(row.to_json())
        elif mode == Mode.QUIET:
            # ID<TAB>STATUS whenever several tasks were asked for, so one success among failed
            # lookups is never a bare, ambiguous word.
            words = [(r.task_id, clean(r.status, 80)) for r in rows if r.status is not None]
            self.quiet(f"{task}\t{word}" if several else word for task, word in words)
        else:
            columns = [Column("TASK", key=True), Column("STATUS", styles=STATUS_STYLE)]
            self.table(columns, [[(r.task_id, r.status if r.status is not None else _failed_cell(r))
                                  for r in rows]])
