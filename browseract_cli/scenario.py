"""Simulator tasks: the step format, the built-in demo tasks, and scenario files.

Task lifecycles
---------------

A task is a list of *steps*. Its lifecycle starts at its first poll; each step answers for a
while, then the next one takes over; the last step repeats forever. A step is a table with
exactly one of these keys saying what to answer:

``status = "running"``
    HTTP 200 ``{"status": "running"}``. Any string is allowed, even outside the API's enum.
``http = 503``
    That HTTP status (100-999) with an error envelope: ``code`` and ``msg`` default to the
    HTTP status and its reason phrase; set ``code = 10112`` / ``msg = "..."`` to send a
    business error. ``retry_after = "7"`` adds a ``Retry-After`` header (any text, e.g. an HTTP
    date or garbage; an integer is accepted too); ``location = "https://..."`` adds a
    ``Location`` header (for 3xx).
``body = "<html>..."``
    That raw text as the body, with ``http`` (default 200), ``content_type`` (default
    ``"text/html"``), ``retry_after`` and ``location`` optional. From Python (not from a file)
    ``body`` may also be ``bytes``, e.g. invalid UTF-8.

and at most one key saying how long it lasts:

``polls = N``
    the step answers N requests (an integer >= 1);
``seconds = S``
    the step lasts S seconds of the server's clock, counted from when the step began
    (a number > 0);
*neither*
    the last step lasts forever; any other step counts as ``polls = 1``.

Optional on any step: ``delay = S`` (the server waits S seconds before answering, a number >=
0) and ``close = true`` (answer with ``Connection: close`` and close the connection).

Scenario files
--------------

``browseract simulate --scenario FILE`` loads more tasks; a task with a built-in demo ID
replaces the demo. TOML (a ``.toml`` file)::

    [tasks."task-1"]
    steps = [
        { status = "created", polls = 2 },
        { http = 503, retry_after = "1" },
        { status = "running", seconds = 5 },
        { status = "finished" },
    ]

    [tasks."not-json"]
    steps = [ { body = "<html>captive portal</html>" } ]

or JSON (any other file name)::

    {"tasks": {"task-1": {"steps": [{"status": "created", "polls": 2},
                                    {"http": 503, "retry_after": "1"},
                                    {"status": "finished"}]}}}

Unknown keys, a step without ``status``/``http``/``body``, or a value of the wrong type are
refused with a ``ValueError`` naming the task and the step (``steps[0]`` is the first).

Built-in demo tasks (``DEMO_TASKS``): ``demo-finished``, ``demo-failed``, ``demo-canceled``,
``demo-paused``, ``demo-flaky`` and ``demo-forever``, each a few seconds long.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["DEMO_TASKS", "load_scenario", "validate_steps", "validate_tasks"]

DEMO_TASKS: dict[str, list[dict[str, Any]]] = {
    "demo-finished": [
        {"status": "created", "seconds": 1},
        {"status": "running", "seconds": 3},
        {"status": "finished"},
    ],
    "demo-failed": [
        {"status": "created", "seconds": 1},
        {"status": "running", "seconds": 2},
        {"status": "failed"},
    ],
    "demo-canceled": [
        {"status": "created", "seconds": 1},
        {"status": "running", "seconds": 2},
        {"status": "canceled"},
    ],
    "demo-paused": [
        {"status": "created", "seconds": 1},
        {"status": "running", "seconds": 2},
        {"status": "pausing", "seconds": 1},
        {"status": "paused"},
    ],
    "demo-flaky": [
        {"status": "created", "seconds": 1},
        {"http": 503, "polls": 1},
        {"status": "running", "seconds": 2},
        {"http": 429, "retry_after": "1", "polls": 1},
        {"http": 503, "polls": 1},
        {"status": "running", "seconds": 1},
        {"status": "finished"},
    ],
    "demo-forever": [
        {"status": "created", "seconds": 1},
        {"status": "running"},
    ],
}

_ALLOWED_KEYS = {
    "status": {"status", "polls", "seconds", "delay", "close"},
    "http": {
        "http",
        "code",
        "msg",
        "retry_after",
        "location",
        "polls",
        "seconds",
        "delay",
        "close",
    },
    "body": {
        "body",
        "http",
        "content_type",
        "retry_after",
        "location",
        "polls",
        "seconds",
        "delay",
        "close",
    },
}


# --------------------------------------------------------------------------- validation


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _header_text(where: str, key: str, value: object) -> str:
    if key == "retry_after" and _is_int(value):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key!r} must be a string, not {type(value).__name__}")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{where}: {key!r} must be Latin-1 text (it is an HTTP header)") from None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{where}: {key!r} must not contain control characters")
    return value


def validate_steps(task_id: object, steps: object) -> list[dict[str, Any]]:
    """Check a task's steps and return normalised copies (see the module docstring).

    Normalising fills in ``polls = 1`` for a non-last step without a duration and turns an
    integer ``retry_after`` into text; the result is itself valid input. Raises ``ValueError``
    naming the task and the step.
    """
    if not isinstance(task_id, str) or not task_id:
        raise ValueError(f"task ID must be a non-empty string, not {task_id!r}")
    label = f"task {task_id!r}"
    if isinstance(steps, str | bytes | Mapping) or not isinstance(steps, Iterable):
        raise ValueError(f"{label}: 'steps' must be a non-empty list of steps")
    steps = list(steps)
    if not steps:
        raise ValueError(f"{label}: 'steps' must be a non-empty list of steps")
    result: list[dict[str, Any]] = []
    last = len(steps) - 1
    for index, step in enumerate(steps):
        where = f"{label}, steps[{index}]"
        if not isinstance(step, Mapping):
            raise ValueError(f"{where}: a step must be a table/object, not {type(step).__name__}")
        for key in step:
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be strings, not {key!r}")
        if "status" in step:
            kind = "status"
            if "http" in step or "body" in step:
                raise ValueError(f"{where}: 'status' cannot be combined with 'http' or 'body'")
        elif "body" in step:
            kind = "body"
        elif "http" in step:
            kind = "http"
        else:
            raise ValueError(
                f"{where}: a step needs one of 'status', 'http' or 'body' (has: {sorted(step)})"
            )
        unknown = sorted(set(step) - _ALLOWED_KEYS[kind])
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {unknown} for a {kind!r} step; "
                f"allowed: {sorted(_ALLOWED_KEYS[kind])}"
            )
        out: dict[str, Any] = {}
        if kind == "status":
            if not isinstance(step["status"], str):
                raise ValueError(f"{where}: 'status' must be a string")
            out["status"] = step["status"]
        if "http" in step:
            code = step["http"]
            if not _is_int(code) or not 100 <= code <= 999:
                raise ValueError(f"{where}: 'http' must be an integer HTTP status 100-999")
            out["http"] = code
        if kind == "body":
            body = step["body"]
            if not isinstance(body, str | bytes):
                raise ValueError(f"{where}: 'body' must be a string")
            out["body"] = body
            if "content_type" in step:
                out["content_type"] = _header_text(where, "content_type", step["content_type"])
        if "code" in step:
            if not _is_int(step["code"]):
                raise ValueError(f"{where}: 'code' must be an integer")
            out["code"] = step["code"]
        if "msg" in step:
            if not isinstance(step["msg"], str):
                raise ValueError(f"{where}: 'msg' must be a string")
            out["msg"] = step["msg"]
        for key in ("retry_after", "location"):
            if key in step:
                out[key] = _header_text(where, key, step[key])
        if "polls" in step and "seconds" in step:
            raise ValueError(f"{where}: give 'polls' or 'seconds', not both")
        if "polls" in step:
            if not _is_int(step["polls"]) or step["polls"] < 1:
                raise ValueError(f"{where}: 'polls' must be an integer >= 1")
            out["polls"] = step["polls"]
        elif "seconds" in step:
            if not _is_number(step["seconds"]) or step["seconds"] <= 0:
                raise ValueError(f"{where}: 'seconds' must be a number > 0")
            out["seconds"] = step["seconds"]
        elif index != last:
            out["polls"] = 1
        if "delay" in step:
            if not _is_number(step["delay"]) or step["delay"] < 0:
                raise ValueError(f"{where}: 'delay' must be a number >= 0")
            out["delay"] = step["delay"]
        if "close" in step:
            if not isinstance(step["close"], bool):
                raise ValueError(f"{where}: 'close' must be true or false")
            out["close"] = step["close"]
        result.append(out)
    return result


def validate_tasks(tasks: Mapping[str, object]) -> dict[str, list[dict[str, Any]]]:
    return {task_id: validate_steps(task_id, steps) for task_id, steps in tasks.items()}


def load_scenario(path: str | os.PathLike[str]) -> dict[str, list[dict[str, Any]]]:
    """Read a scenario file (TOML if it ends in ``.toml``, else JSON): ``{task_id: steps}``.

    Any problem (unreadable, not TOML/JSON, wrong shape) is a ``ValueError`` naming the file,
    and the task and step where it applies.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read scenario file {p}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"scenario file {p} is not UTF-8 text") from None
    try:
        if p.suffix.lower() == ".toml":
            data: object = tomllib.loads(text)
        else:
            data = json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"scenario file {p} is not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"scenario file {p} is not valid JSON: {exc}") from None
    except (ValueError, RecursionError):
        raise ValueError(f"scenario file {p} could not be parsed") from None
    if not isinstance(data, dict):
        raise ValueError(f"scenario file {p}: the top level must be a table/object")
    unknown = sorted(set(data) - {"tasks"})
    if unknown:
        raise ValueError(f"scenario file {p}: unknown top-level key(s) {unknown}; expected 'tasks'")
    tasks = data.get("tasks")
    if not isinstance(tasks, dict):
        raise ValueError(f"scenario file {p}: needs a 'tasks' table/object")
    result: dict[str, list[dict[str, Any]]] = {}
    for task_id, spec in tasks.items():
        if not isinstance(spec, dict):
            raise ValueError(f"scenario file {p}: task {task_id!r} must be a table with 'steps'")
        extra = sorted(set(spec) - {"steps"})
        if extra:
            raise ValueError(
                f"scenario file {p}: task {task_id!r}: unknown key(s) {extra}; expected 'steps'"
            )
        if "steps" not in spec:
            raise ValueError(f"scenario file {p}: task {task_id!r} has no 'steps'")
        try:
            result[task_id] = validate_steps(task_id, spec["steps"])
        except ValueError as exc:
            raise ValueError(f"scenario file {p}: {exc}") from None
    return result
