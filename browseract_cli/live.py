"""Terminal pieces of the live watch view: tables fitted to the width, and a redrawable region.

Only used on a terminal. No rich here (cell widths come from rich.cells, imported lazily), so a
frame costs a few string joins: the view redraws at most a few times a second and only what fits
on the screen, whatever the number of tasks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from browseract_cli.watcher import Tracked

GAP = 2  # spaces between columns
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
        "magenta": "35", "cyan": "36"}


class Cell(NamedTuple):
    text: str
    style: str = ""
    extra: str = ""  # shown dim after the text, only when the table still fits with it


class Line(NamedTuple):
    """One line as written (escapes included) and its width in terminal cells."""

    text: str
    cells: int


def cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def paint(text: str, style: str) -> str:
    """``text`` in a style such as "bold green" (the names of render.STATUS_STYLE)."""
    codes = [_SGR[word] for word in style.split() if word in _SGR]
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if codes and text else text


def wrap(segments: Sequence[tuple[str, str]], width: int) -> list[str]:
    """Styled text, given as (text, style) pieces, broken at spaces into lines of at most
    ``width`` cells; a word longer than a line is split."""
    width = max(1, width)
    lines: list[list[tuple[str, str]]] = [[]]
    used = 0

    def new_line() -> None:
        nonlocal used
        while lines[-1] and not lines[-1][-1][0].strip():
            lines[-1].pop()
        lines.append([])
        used = 0

    for text, style in segments:
        for n, word in enumerate(text.split(" ")):
            if n and used:
                if used + 1 > width:
                    new_line()
                else:
                    lines[-1].append((" ", style))
                    used += 1
            size = cells(word)
            if used and used + size > width:
                new_line()
            while size > width:
                lines[-1].append((word[:width], style))
                new_line()
                word = word[width:]
                size = cells(word)
            if word:
                lines[-1].append((word, style))
                used += size
    return [_join(line) for line in lines]


def _join(pieces: Sequence[tuple[str, str]]) -> str:
    """Pieces painted, neighbours of one style in one run."""
    runs: list[list[str]] = []
    for text, style in pieces:
        if runs and runs[-1][1] == style:
            runs[-1][0] += text
        else:
            runs.append([text, style])
    return "".join(paint(text, style) for text, style in runs)


def terminal_size(stream: IO[str], env: Mapping[str, str] = os.environ) -> tuple[int, int]:
    """(columns, lines) of the terminal behind ``stream``, asked afresh on every call (the window
    may be resized at any time); COLUMNS / LINES, then 80x24, when it cannot be asked."""
    try:
        size = os.get_terminal_size(stream.fileno())
        if size.columns > 0 and size.lines > 0:
            return size.columns, size.lines
    except (AttributeError, OSError, ValueError):
        pass

    def number(name: str, default: int) -> int:
        value = env.get(name, "")
        return int(value) if value.isdigit() and int(value) > 0 else default

    return number("COLUMNS", 80), number("LINES", 24)


def fit_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], width: int,
              drop: Sequence[str]) -> list[Line] | None:
    """The table as lines of at most ``width`` cells, or None when even the narrowest form does not fit.

    The first column is never cut: when the table is too wide, the columns named in ``drop`` go,
    in that order, and a cell's ``extra`` text is shown only if the table still fits with it.
    """
    shown = list(range(len(headers)))
    for name in [None, *drop]:
        if name is not None:
            shown.remove(headers.index(name))
        for with_extra in (True, False):
            widths = {i: max([cells(headers[i])] + [_cell_width(r[i], with_extra) for r in rows])
                      for i in shown}
            if sum(widths.values()) + GAP * (len(shown) - 1) <= width:
                header = [Cell(headers[i]) for i in shown]
                lines = [_line(header, [widths[i] for i in shown], False, "bold")]
                lines += [_line([r[i] for i in shown], [widths[i] for i in shown], with_extra)
                          for r in rows]
                return lines
    return None


def _cell_width(cell: Cell, with_extra: bool) -> int:
    return cells(cell.text) + (cells(cell.extra) + 1 if with_extra and cell.extra else 0)


def _line(row: Sequence[Cell], widths: Sequence[int], with_extra: bool, style: str = "") -> Line:
    parts = []
    used = 0
    for n, (cell, w) in enumerate(zip(row, widths, strict=True)):
        text = paint(cell.text, cell.style or style)
        size = cells(cell.text)
        if with_extra and cell.extra:
            text += " " + paint(cell.extra, "dim")
            size += 1 + cells(cell.extra)
        last = n == len(row) - 1
        parts.append(text + ("" if last else " " * (w - size + GAP)))  # no trailing blanks
        used += size if last else w + GAP
    return Line("".join(parts), used)


def plain_lines(rows: Sequence[Sequence[Cell]]) -> list[Line]:
    """The fallback when no table fits: one line per row, cells separated by a space (lines may
    wrap at the terminal's edge, but nothing is cut)."""
    out = []
    for row in rows:
        shown = [c for c in row if c.text]
        out.append(Line(" ".join(paint(c.text, c.style) for c in shown),
                        sum(cells(c.text) for c in shown) + len(shown) - 1))
    return out


def rows_taken(lines: Sequence[Line], width: int) -> int:
    """Terminal rows that ``lines`` occupy at ``width`` columns, long lines wrapped."""
    return sum(max(1, math.ceil(line.cells / max(1, width))) for line in lines)


class Region:
    """Lines at the bottom of the terminal that are redrawn in place.

    After a draw the cursor waits at the start of the line below the region, so a ``^C`` echoed
    by the terminal lands there instead of wrapping the last line. To erase, the cursor goes up
    as many rows as the region takes *now*: when the window was narrowed, a terminal that
    reflows (tmux, VTE, iTerm2, kitty...) has wrapped the old lines onto more rows, and moving up
    only by the old count would leave copies of the table behind.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lines: list[Line] = []

    def erase(self, width: int) -> str:
        """The bytes that erase the region (and forget it), ending at its first row.

        Row by row (erase-line, cursor-down), not with erase-display: a terminal that sees the
        whole screen erased (tmux's scroll-on-clear, when the region starts at the top row)
        keeps a copy in its scrollback. The cursor moves never scroll the screen.
        """
        rows = rows_taken(self.lines, width) if self.lines else 0
        self.lines = []
        if not rows:
            return "\r\x1b[2K"  # the line the cursor waits on (a ^C echo, say)
        return f"\r\x1b[{rows}A" + "\x1b[2K\x1b[B" * rows + f"\x1b[2K\x1b[{rows}A"

    def draw(self, lines: Sequence[Line], width: int,
             above: Sequence[tuple[IO[str], str]] = ()) -> None:
        """Replace the region with ``lines``, first printing the permanent lines ``above`` (each
        with its stream: state changes on stdout, errors and notices on stderr)."""
        self.stream.write(self.erase(width))
        for stream, text in above:
            if stream is not self.stream:
                self.stream.flush()
            stream.write(text + "\n")
            stream.flush()
        try:
            self.stream.write("".join(line.text + "\n" for line in lines))  # one write: all or nothing
        finally:
            self.lines = list(lines)
        self.stream.flush()


# --------------------------------------------------------------------------- the watch tables

LIVE_COLUMNS = ("TASK", "STATUS", "IN STATE", "ELAPSED", "LAST CHECKED")
LIVE_DROP = ("LAST CHECKED", "IN STATE", "ELAPSED")  # the least useful first; TASK and STATUS stay
SUMMARY_COLUMNS = ("TASK", "STATUS", "EXIT", "ELAPSED", "POLLS")
SUMMARY_DROP = ("POLLS", "ELAPSED")


def live_table(tasks: Sequence[Tracked], now: float, start: float, size: tuple[int, int]) -> list[Line]:
    """The live table for a terminal of ``size`` (columns, lines): at most one row less than the
    screen has (the cursor waits on the last), the rest counted in a last line.

    When not every task fits, those that need attention (paused, failing polls, ended badly,
    unknown states) come first, then the most recently changed.
    """
    width, height = size[0] - 1, size[1] - 1  # never the last column: no wrap at the edge
    if height < 3 and len(tasks) + 1 > height:  # no room for a table: just the counts
        text = _cut(f"{len(tasks)} tasks: {_counts(tasks)}", width)
        return [Line(paint(text, "dim"), cells(text))] if height > 0 else []
    shown = list(tasks)
    hidden: list[Tracked] = []
    if len(shown) + 1 > height:
        shown = sorted(shown, key=_priority)
        keep = max(0, height - 2)  # the header and the "and N more" line
        shown, hidden = shown[:keep], shown[keep:]
    lines = fit_table(LIVE_COLUMNS, [_live_row(t, now, start) for t in shown], width, LIVE_DROP)
    if lines is None:  # not even TASK and STATUS fit side by side
        lines = _within(plain_lines([_live_row(t, now, start)[:2] for t in shown]), width, height - 1)
        hidden = [t for t in tasks if t not in shown[: len(lines)]] if len(lines) < len(shown) else hidden
    if hidden:
        more = f"… and {len(hidden)} more: {_counts(hidden)}"
        lines.append(Line(paint(_cut(more, width), "dim"), min(cells(more), width)))
    return lines[: max(0, height)]


def summary_table(tasks: Sequence[Tracked], now: float, start: float, width: int) -> list[Line]:
    """The end-of-watch table, every task, fitted to ``width`` like the live one."""
    from browseract_cli.render import STATUS_STYLE
    from browseract_cli.render_watch import duration, shown_status
    from browseract_cli.sanitize import clean

    rows = [[Cell(clean(t.task_id, 256)), Cell(shown_status(t), STATUS_STYLE.get(t.status or "", "")),
             Cell(str(t.exit_code)), Cell(duration((t.ended_at or now) - start)), Cell(str(t.polls))]
            for t in tasks]
    lines = fit_table(SUMMARY_COLUMNS, rows, width - 1, SUMMARY_DROP)
    if lines is None:
        lines = plain_lines([[r[0], r[1], Cell(f"exit {r[2].text}")] for r in rows])
    return lines


def _live_row(t: Tracked, now: float, start: float) -> list[Cell]:
    import time

    from browseract_cli.render import STATUS_STYLE
    from browseract_cli.render_watch import duration, shown_status
    from browseract_cli.sanitize import clean

    end = t.ended_at if t.ended_at is not None else now
    checked = time.strftime("%H:%M:%S", time.localtime(t.last_checked)) if t.last_checked else "-"
    return [Cell(clean(t.task_id, 256)),
            Cell(shown_status(t), STATUS_STYLE.get(t.status or "", ""),
                 "(needs a person)" if t.status == "paused" else ""),
            Cell(duration(end - t.since) if t.status else "-"),
            Cell(duration(end - start)),
            Cell(checked)]


def _priority(t: Tracked) -> tuple[int, float]:
    from browseract_cli.models import is_known

    attention = (t.status == "paused" or t.failures > 0 or t.exit_code not in (None, 0)
                 or t.status == "unknown" or (t.status is not None and not is_known(t.status)))
    changed = max(t.since if t.status is not None else -math.inf, t.ended_at or -math.inf)
    return (0 if attention else 1, -changed)


def _counts(tasks: Sequence[Tracked]) -> str:
    from browseract_cli.render_watch import shown_status

    counts: dict[str, int] = {}
    for t in tasks:
        word = shown_status(t) if t.status is not None else "not seen yet"
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n} {word}" for word, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _within(lines: list[Line], width: int, rows: int) -> list[Line]:
    """As many of ``lines`` as fit in ``rows`` terminal rows (wrapped lines take several)."""
    kept: list[Line] = []
    for line in lines:
        if rows_taken([*kept, line], width + 1) > rows:
            break
        kept.append(line)
    return kept


def _cut(text: str, width: int) -> str:
    return text if cells(text) <= width else text[: max(0, width - 1)] + "…"
