"""A BrowserAct-compatible API server on loopback, for ``simulate``, ``demo`` and the tests.

It serves ``GET /v2/workflow/get-task-status`` the way the real API does: ``200
{"status": "..."}`` for a known task, and the error envelope ``{"code", "msg", "data", "ts",
"time", "traceId"}`` otherwise:

- missing or malformed ``Authorization: Bearer <key>``, or (when started with an API key) a
  different key: HTTP 401, code ``401`` "Invalid authorization";
- missing or empty ``task_id``: HTTP 400, code ``99001`` "request parameter error";
- unknown task: HTTP 400, code ``10112`` "Task is not exist.";
- any other path: HTTP 404, code ``404``; any other method: HTTP 405, code ``405``.

Stdlib only (``http.server``), HTTP/1.1 keep-alive with ``TCP_NODELAY``, and every answer has a
``Content-Length``.

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

import hmac
import http.client
import json
import math
import os
import secrets
import socket
import socketserver
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "DEMO_TASKS",
    "STATUS_PATH",
    "RequestRecord",
    "SimServer",
    "load_scenario",
    "validate_steps",
]

STATUS_PATH = "/v2/workflow/get-task-status"

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

_MAX_DRAIN = 1 << 20  # request bodies up to 1 MiB are read and dropped; larger ones close
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


def _validate_tasks(tasks: Mapping[str, object]) -> dict[str, list[dict[str, Any]]]:
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


# --------------------------------------------------------------------------- answers


@dataclass
class RequestRecord:
    """One request the simulator received (the key is kept out of ``repr``)."""

    method: str
    path: str
    query: dict[str, list[str]]
    task_id: str | None
    authorization: str | None = field(repr=False)
    client_port: int
    at: float  # the server clock when the request arrived


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    close: bool = False


@dataclass
class _Progress:
    index: int
    started: float
    polls: int = 0


def _reason(status: int) -> str:
    return http.client.responses.get(status, "Unknown")


def _envelope(code: int, msg: str) -> bytes:
    now = time.time()
    doc = {
        "code": code,
        "msg": msg,
        "data": None,
        "ts": int(now * 1000),
        "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
        "traceId": secrets.token_hex(16),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _error(status: int, code: int, msg: str) -> _Answer:
    return _Answer(status, _envelope(code, msg))


def _step_answer(step: Mapping[str, Any]) -> _Answer:
    if "status" in step:
        body = json.dumps({"status": step["status"]}, separators=(",", ":")).encode()
        answer = _Answer(200, body)
    elif "body" in step:
        raw = step["body"]
        answer = _Answer(
            step.get("http", 200),
            raw if isinstance(raw, bytes) else raw.encode("utf-8"),
            content_type=step.get("content_type", "text/html"),
        )
    else:
        status = step["http"]
        answer = _Answer(
            status, _envelope(step.get("code", status), step.get("msg", _reason(status)))
        )
    if "retry_after" in step:
        answer.headers.append(("Retry-After", step["retry_after"]))
    if "location" in step:
        answer.headers.append(("Location", step["location"]))
    answer.delay = float(step.get("delay", 0))
    answer.close = bool(step.get("close", False))
    return answer


# --------------------------------------------------------------------------- HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; HTTP/1.0 would close after every answer
    disable_nagle_algorithm = True  # without it, ~44 ms per answer (Nagle vs delayed ACK)
    server_version = "browseract-simulator"
    sys_version = ""
    server: _HTTPServer

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.server.sim._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sim._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log on stderr."""

    def _drain_body(self) -> None:
        """Read and drop a request body so the next request on this connection parses."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if 0 <= length <= _MAX_DRAIN:
            self.rfile.read(length)
        else:
            self.close_connection = True

    def _serve(self) -> None:
        self._drain_body()
        self._send(self.server.sim._answer(self))

    do_GET = _serve
    do_HEAD = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve
    do_OPTIONS = _serve

    def _send(self, answer: _Answer) -> None:
        if answer.delay > 0:
            time.sleep(answer.delay)
        status = answer.status
        # 1xx, 204 and 304 answers cannot carry a body; a client would read it as the next answer.
        no_body = status < 200 or status in (204, 304)
        self.send_response(status)
        if answer.content_type and not no_body:
            self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers:
            self.send_header(name, value)
        if not (status < 200 or status == 204):
            self.send_header("Content-Length", "0" if no_body else str(len(answer.body)))
        if answer.close or self.close_connection or status < 200:
            self.send_header("Connection", "close")  # also sets self.close_connection
        self.end_headers()
        if not no_body and self.command != "HEAD":
            self.wfile.write(answer.body)
        self.wfile.flush()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests (bad request line, URI too long, unknown method) get an envelope."""
        self.close_connection = True
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = self.protocol_version  # else no status line (HTTP/0.9)
        self._send(_error(code, code, _reason(code)))  # the stdlib message echoes the request


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sim: SimServer

    def __init__(self, address: tuple[str, int], sim: SimServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sim = sim
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can be slow.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up mid-answer is not worth a traceback.

        Anything other than a socket error is a simulator bug: kept in ``SimServer.errors``.
        """
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, OSError):
            self.sim._record_error(exc)


# --------------------------------------------------------------------------- the server


class SimServer:
    """A BrowserAct-compatible loopback server. Binds at construction, serves after start().

    ``requests`` (a snapshot list of :class:`RequestRecord`), ``connections_opened`` and
    ``request_count()`` let tests see what the client did.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        tasks: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        include_demo: bool = True,
    ) -> None:
        self.api_key = api_key
        self.clock = clock
        self._lock = threading.Lock()
        self._tasks: dict[str, list[dict[str, Any]]] = {}
        if include_demo:
            self._tasks.update(_validate_tasks(DEMO_TASKS))
        if tasks:
            self._tasks.update(_validate_tasks(tasks))
        self._progress: dict[str, _Progress] = {}
        self._requests: list[RequestRecord] = []
        self._connections_opened = 0
        self._errors: list[BaseException] = []
        self._open_sockets: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._httpd = _HTTPServer((host, port), self)
        self.host = host
        self.port: int = self._httpd.server_port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"

    # ---- lifecycle of the server

    def start(self) -> SimServer:
        if self._closed:
            raise RuntimeError("the simulator was stopped; create a new one")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.01},  # stop() waits up to this long
                name=f"browseract-simulator:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and every open connection. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._httpd.server_close()
        with self._lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone

    def serve_forever_foreground(self) -> None:
        """Serve in this thread until Ctrl-C (KeyboardInterrupt), then close cleanly."""
        if self._closed or self._thread is not None:
            raise RuntimeError("the simulator is already running or stopped")
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- tasks

    def add_task(self, task_id: str, steps: Iterable[Mapping[str, Any]]) -> None:
        """Add or replace a task (its lifecycle starts again at its next poll)."""
        checked = validate_steps(task_id, steps)
        with self._lock:
            self._tasks[task_id] = checked
            self._progress.pop(task_id, None)

    def reset(self, task_id: str | None = None) -> None:
        """Restart one task's lifecycle (or every task's) at its next poll."""
        with self._lock:
            if task_id is None:
                self._progress.clear()
            else:
                self._progress.pop(task_id, None)

    @property
    def task_ids(self) -> list[str]:
        with self._lock:
            return list(self._tasks)

    # ---- observability

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def connections_opened(self) -> int:
        with self._lock:
            return self._connections_opened

    @property
    def open_connections(self) -> int:
        """TCP connections currently open (accepted and not yet finished)."""
        with self._lock:
            return len(self._open_sockets)

    def request_count(self, task_id: str | None = None) -> int:
        """Requests received in all, or only those for ``task_id``."""
        with self._lock:
            if task_id is None:
                return len(self._requests)
            return sum(1 for r in self._requests if r.task_id == task_id)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised while answering (simulator bugs); normally empty."""
        with self._lock:
            return list(self._errors)

    def _record_error(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)

    def _connection_opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections_opened += 1
            self._open_sockets.add(sock)

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._open_sockets.discard(sock)

    # ---- answering

    def _answer(self, handler: BaseHTTPRequestHandler) -> _Answer:
        target = handler.path
        if not target.startswith("/"):  # absolute form, as sent to a proxy
            parts = urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query_text = target.partition("?")
        query = parse_qs(query_text, keep_blank_values=True)
        task_ids = query.get("task_id") or [None]
        auth_values = handler.headers.get_all("Authorization") or []
        record = RequestRecord(
            method=handler.command,
            path=path,
            query=query,
            task_id=task_ids[0],
            authorization=auth_values[0] if auth_values else None,
            client_port=int(handler.client_address[1]),
            at=self.clock(),
        )
        with self._lock:
            self._requests.append(record)

        if path != STATUS_PATH:
            return _error(404, 404, "Not Found")
        if handler.command != "GET":
            answer = _error(405, 405, "Method Not Allowed")
            answer.headers.append(("Allow", "GET"))
            return answer
        if not self._authorized(auth_values):
            return _error(401, 401, "Invalid authorization")
        task_id = record.task_id
        if not task_id:
            return _error(400, 99001, "request parameter error")
        step = self._advance(task_id)
        if step is None:
            return _error(400, 10112, "Task is not exist.")
        return _step_answer(step)

    def _authorized(self, values: list[str]) -> bool:
        if len(values) != 1:
            return False
        scheme, _, key = values[0].partition(" ")
        if scheme.lower() != "bearer" or key.split() != [key]:
            return False
        if self.api_key is None:
            return True
        return hmac.compare_digest(key.encode("utf-8", "surrogateescape"), self.api_key.encode())

    def _advance(self, task_id: str) -> dict[str, Any] | None:
        """The step that answers this poll of ``task_id`` (None: no such task)."""
        with self._lock:
            steps = self._tasks.get(task_id)
            if steps is None:
                return None
            now = self.clock()
            progress = self._progress.get(task_id)
            if progress is None:
                progress = self._progress[task_id] = _Progress(index=0, started=now)
            last = len(steps) - 1
            while progress.index < last:
                step = steps[progress.index]
                if "seconds" in step:
                    if now - progress.started < step["seconds"]:
                        break
                    # The next step begins when this one ended, not when it was first polled.
                    progress.started += step["seconds"]
                elif progress.polls >= step["polls"]:
                    progress.started = now
                else:
                    break
                progress.index += 1
                progress.polls = 0
            progress.polls += 1
            return steps[progress.index]
