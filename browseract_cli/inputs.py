"""The inputs of `run` and `run-template`: -i NAME=VALUE, --input-file, and their validation.

An input file holds a JSON object ``{"name": value}`` (a value that is not a string is sent as
its JSON text: ``10`` -> ``"10"``, ``true`` -> ``"true"``) or the API's own list of
``{"name": ..., "value": ...}``. ``-i`` wins over the file for the same name. Every value is
sent as a string, exactly as given. Names are checked against the workflow's (or template's)
declared inputs before anything is started.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from typing import IO, Any

from browseract_cli.errors import InputError, UsageError
from browseract_cli.sanitize import clean

MAX_INPUT_FILE = 1024 * 1024  # 1 MiB: far more than any set of inputs


def parse_pairs(values: Iterable[str]) -> list[tuple[str, str]]:
    """``-i NAME=VALUE`` options: split at the first ``=``; VALUE as given (empty allowed)."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for value in values:
        name, sep, text = value.partition("=")
        if not sep:
            raise UsageError(f"-i {clean(value, 60)!r} has no '='", hint="write -i NAME=VALUE")
        if not name:
            raise UsageError(f"-i {clean(value, 60)!r} has an empty name", hint="write -i NAME=VALUE")
        if name in seen:
            raise UsageError(f"input {clean(name, 60)!r} is given twice with -i")
        if not (_is_text(name) and _is_text(text)):  # bytes of argv that are not UTF-8
            raise UsageError(f"-i {clean(name, 60)!r}: not valid UTF-8 text", hint="give the input as UTF-8")
        seen.add(name)
        pairs.append((name, text))
    return pairs


def _is_text(text: str) -> bool:
    """Whether ``text`` can be sent as JSON text: no surrogates (argv's undecodable bytes, or a
    lone UTF-16 surrogate that a JSON file escaped as ``"\\ud800"``)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_input_file(path: str, stdin: IO[str]) -> list[tuple[str, str]]:
    """The inputs of ``--input-file PATH`` (``-``: stdin); InputError (65) naming the file and,
    where the problem has one, its position (line and column)."""
    shown = "stdin" if path == "-" else clean(path, 200)
    raw = _read(path, stdin, shown)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        prefix = raw[:exc.start].decode("utf-8", "replace").removeprefix("\ufeff")
        raise InputError(f"input file {shown} is not UTF-8 text (byte {exc.start}, "
                         f"{_line_column(prefix, len(prefix))})") from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"input file {shown} is not valid JSON: {exc.msg} "
                         f"(line {exc.lineno}, column {exc.colno})") from None
    except _Duplicate as dup:
        raise InputError(f"input file {shown} names input {clean(dup.name, 60)!r} twice") from None
    except _Constant as constant:
        where = _constant_at(text)
        raise InputError(f"input file {shown} holds {constant}, which JSON does not allow"
                         + (f" ({_line_column(text, where)})" if where is not None else "")) from None
    except ValueError:  # an integer of more digits than Python converts
        raise InputError(f"input file {shown} holds a number too long to read") from None
    except RecursionError:
        doc = None  # deeper than the parser goes: _too_deep says where
    deep = _too_deep(text)
    if deep is not None:
        raise InputError(f"input file {shown} is nested more than {MAX_DEPTH} levels deep "
                         f"({_line_column(text, deep)})")
    if doc is None and text.strip() != "null":
        raise InputError(f"input file {shown} is nested too deeply")  # (not reached: kept for safety)
    return _pairs_of(doc, shown)


MAX_DEPTH = 100  # inputs are names and values: a value nested deeper is a mistake, not data
# JSON strings (skipped whole) and the tokens the scans look for; possessive, so never quadratic.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*+"|([\[{])|([\]}])|(-?Infinity|NaN)')


def _too_deep(text: str) -> int | None:
    """The offset where the nesting first goes deeper than MAX_DEPTH, or None (scanned only when
    there are enough brackets for it; after a parse, or a parse that recursed too deep, so the
    scanned part is valid JSON)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None  # the usual case: nothing to scan
    depth = 0
    for match in _TOKENS.finditer(text):
        if match.group(1):
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif match.group(2):
            depth -= 1
    return None


def _constant_at(text: str) -> int | None:
    """The offset of the first NaN / Infinity outside a string (the one json.loads refused)."""
    for match in _TOKENS.finditer(text):
        if match.group(3):
            return match.start()
    return None


def _line_column(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _read(path: str, stdin: IO[str], shown: str) -> bytes:
    try:
        if path == "-":
            buffer = getattr(stdin, "buffer", None)
            raw = buffer.read(MAX_INPUT_FILE + 1) if buffer is not None else \
                stdin.read(MAX_INPUT_FILE + 1).encode("utf-8", "surrogateescape")
        else:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_INPUT_FILE + 1)
    except OSError as exc:
        raise InputError(f"cannot read input file {shown}: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_INPUT_FILE:
        raise InputError(f"input file {shown} is larger than {MAX_INPUT_FILE // 1024} KiB")
    return raw


class _Duplicate(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name, value in pairs:
        if name in doc:
            raise _Duplicate(name)
        doc[name] = value
    return doc


class _Constant(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, JSON has no such values."""


def _no_constant(name: str) -> Any:
    raise _Constant(name)


def as_value(value: Any) -> str:
    """What the API receives: strings as they are, anything else as its JSON text."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _pairs_of(doc: Any, shown: str) -> list[tuple[str, str]]:
    if isinstance(doc, dict):
        pairs = [(name, as_value(value)) for name, value in doc.items()]
    elif isinstance(doc, list):
        pairs = []
        for index, item in enumerate(doc):
            if not (isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item
                    and not set(item) - {"name", "value"}):
                raise InputError(f"input file {shown}: item {index} is not {{\"name\": ..., \"value\": ...}}")
            pairs.append((item["name"], as_value(item["value"])))
    else:
        raise InputError(f"input file {shown} must hold a JSON object {{\"name\": value}} or a list "
                         "of {\"name\", \"value\"}")
    names = [name for name, _ in pairs]
    for index, (name, value) in enumerate(pairs):
        if not name:
            raise InputError(f"input file {shown}: input {index} has an empty name")
        if not (_is_text(name) and _is_text(value)):
            raise InputError(f"input file {shown}: input {clean(name, 60)!r} holds a lone UTF-16 "
                             "surrogate (such as \\ud800), which is not text")
        if name in names[:index]:  # (an object's duplicate keys were refused while parsing)
            raise InputError(f"input file {shown} names input {clean(name, 60)!r} twice (item {index})")
    return pairs


def merge(from_file: Sequence[tuple[str, str]], from_options: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """File inputs, then -i inputs; -i wins for the same name (keeping the file's position)."""
    given = dict(from_options)
    merged = [(name, given.pop(name, value)) for name, value in from_file]
    return merged + list(given.items())


def check_declared(pairs: Sequence[tuple[str, str]], declared: Sequence[str], what: str) -> list[str]:
    """InputError (65) for a name ``what`` does not declare; returns the declared names not given."""
    names = {name for name, _ in pairs}
    for name in names:
        if name not in declared:
            raise InputError(f"{what} has no input named {clean(name, 60)!r}",
                             hint=_suggestion(name, declared))
    return [name for name in declared if name not in names]


def _suggestion(name: str, declared: Sequence[str]) -> str:
    listed = ", ".join(declared) if declared else "(none)"
    folded = {d.lower(): d for d in declared}
    close = folded.get(name.lower()) or next(iter(difflib.get_close_matches(name, declared, 1, 0.6)), None) \
        or next(iter(difflib.get_close_matches(name.lower(), list(folded), 1, 0.6)), None)
    if close is not None:
        close = folded.get(close, close)
        return f"did you mean {close!r}? Declared inputs: {listed}"
    return f"declared inputs: {listed}"


def body_inputs(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]
