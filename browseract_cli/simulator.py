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

The tasks it serves, and the scenario file format, are described in ``scenario.py``.
"""

from __future__ import annotations

import hmac
import http.client
import json
import secrets
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from browseract_cli.scenario import DEMO_TASKS, validate_steps, validate_tasks

__all__ = ["STATUS_PATH", "RequestRecord", "SimServer"]

STATUS_PATH = "/v2/workflow/get-task-status"

_MAX_DRAIN = 1 << 20  # request bodies up to 1 MiB are read and dropped; larger ones close

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
            self._tasks.update(validate_tasks(DEMO_TASKS))
        if tasks:
            self._tasks.update(validate_tasks(tasks))
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
