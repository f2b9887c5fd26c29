"""``output.string`` decoded: BrowserAct returns a task's result as text that is usually JSON.

Formats (lifecycle contract, `output`): ``auto`` (pretty JSON on a terminal, else the exact
text), ``json`` (compact, one line), ``jsonl`` (one value per line, from a top-level array or
the one array inside an object), ``csv`` (RFC 4180, from an array of objects: a header of the
keys in first-seen order, nested values as compact JSON), ``raw`` (the exact text). A format
that needs JSON of a shape the output does not have is a bad answer (76). JSON here is strict
(RFC 8259): NaN and Infinity are not JSON, nor is a number no double holds (``1e400``, which
would be printed back as ``Infinity``); duplicate keys keep the last value.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

from browseract_cli.errors import ApiError

FORMATS = ("auto", "json", "jsonl", "csv", "raw")
_NOT_JSON = object()
_SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _finite(text: str) -> float:
    """A JSON number as a float; one no double holds (1e400) is refused: it would print as
    ``Infinity``, which is not JSON."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse(text: str) -> Any:
    """The output as JSON, or ``_NOT_JSON`` (never raises)."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _why_not_json(text: str) -> str:
    """What is wrong with output that parse() refused (the message of the 76)."""
    try:
        json.loads(text)
    except RecursionError:
        return "is nested too deeply to read"
    except json.JSONDecodeError:
        return "is not JSON"
    except ValueError:  # an integer of more digits than Python converts
        return "holds a number too long to read"
    try:
        json.loads(text, parse_float=_finite)
    except ValueError:
        return "holds a number out of range for JSON"
    return "holds NaN or Infinity, which are not JSON"


def is_json(value: Any) -> bool:
    return value is not _NOT_JSON


def writable(text: str) -> str:
    """Lone UTF-16 surrogates (JSON allows "\\ud800") cannot be written as UTF-8: U+FFFD."""
    if text.isascii():
        return text
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def bad_shape(what: str) -> ApiError:
    return ApiError("server", f"the task's output {what}", http_status=None, resource="task",
                    hint="`browseract output ID --format raw` prints it as it is")


def render(text: str, fmt: str, *, terminal: bool, csv_safe: bool = False) -> str:
    """The text to write for ``fmt``; ApiError (76) when the output does not fit the format.

    Always writable as UTF-8: a lone surrogate, in the text or escaped in its JSON, is U+FFFD.
    """
    return writable(_render(text, fmt, terminal=terminal, csv_safe=csv_safe))


PRETTY_GROWTH = 16  # auto on a terminal: indented JSON up to 16 times the text (+ 64 KiB), else as is


def _render(text: str, fmt: str, *, terminal: bool, csv_safe: bool) -> str:
    text = writable(text)
    if fmt == "raw":
        return text
    if fmt == "auto":
        value = parse(text) if terminal else _NOT_JSON
        if is_json(value) and isinstance(value, dict | list):
            pretty = _pretty(value, PRETTY_GROWTH * len(text) + 65536)
            if pretty is not None:
                return pretty + "\n"
        return text if text.endswith("\n") else text + "\n"
    value = parse(text)
    if not is_json(value):
        raise bad_shape(_why_not_json(text))
    try:
        if fmt == "json":
            return _compact(value) + "\n"
        rows = _array_of(value)
        if fmt == "jsonl":
            return "".join(_compact(item) + "\n" for item in rows)
        return _csv(rows, csv_safe)
    except RecursionError:
        raise bad_shape("is nested too deeply to print") from None


def _pretty(value: Any, limit: int) -> str | None:
    """``value`` indented by 2, or None when that would be longer than ``limit`` characters:
    deep nesting grows quadratically when indented (1 MiB of it would take a minute and
    gigabytes), and a terminal is better served by the text as it is."""
    parts: list[str] = []
    size = 0
    try:
        for part in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(value):
            size += len(part)
            if size > limit:
                return None
            parts.append(part)
    except (ValueError, RecursionError):
        return None
    return "".join(parts)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _array_of(value: Any) -> list[Any]:
    """A top-level array, or the one array inside an object such as ``{"items": [...]}``."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        arrays = [v for v in value.values() if isinstance(v, list)]
        if len(arrays) == 1:
            return arrays[0]
        raise bad_shape(f"is an object with {len(arrays) or 'no'} arrays, not exactly one")
    raise bad_shape("is not an array, nor an object holding one")


def _csv(rows: list[Any], safe: bool) -> str:
    if not all(isinstance(row, dict) for row in rows):
        raise bad_shape("is not an array of objects")
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(name, safe) for name in header])
    for row in rows:
        writer.writerow([_cell(_as_text(row.get(name, "")), safe) for name in header])
    return buffer.getvalue()


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return _compact(value)


def _cell(text: str, safe: bool) -> str:
    """With ``--csv-safe``, a cell a spreadsheet would run as a formula starts with a quote."""
    if safe and text.startswith(_SPREADSHEET_TRIGGERS):
        return "'" + text
    return text


def preview(text: str | None, width: int = 160) -> str | None:
    """A one-line glimpse of the output for `get`."""
    if not text:
        return None
    value = parse(text)
    try:
        shown = _compact(value) if is_json(value) else " ".join(text.split())
    except RecursionError:
        shown = " ".join(text.split())
    return shown if len(shown) <= width else shown[: width - 1] + "…"
