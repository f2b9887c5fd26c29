"""The simulator's HTTP side: sockets, the request log, faults, latency, and SimServer itself.

``SimServer`` serves all twelve endpoints of BrowserAct's v2 API on loopback, statefully, with
the rules of routes.py over the world of state.py: HTTP/1.1 keep-alive with ``TCP_NODELAY``,
every answer with a ``Content-Length``, 401 for a missing or malformed ``Authorization: Bearer
<key>`` (or, when started with an API key, a different key), 404 for any other path and 405
(with ``Allow``) for any other method. Files of finished tasks are served from pre-signed-style
URLs on the same port. Stdlib only (``http.server``).
"""

from __future__ import annotations

import contextlib
import hmac
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from browseract_cli.simulator import routes
from browseract_cli.simulator.routes import Answer, Incoming, Refused, error, reason
from browseract_cli.simulator.scenario import (
    DEMO_TASKS,
    DEMO_TEMPLATES,
    DEMO_WORKFLOWS,
    WorkflowSpec,
    validate_faults,
    validate_steps,
    validate_tasks,
    validate_workflows,
)
from browseract_cli.simulator.state import FILES_PREFIX, World

__all__ = ["RequestRecord", "SimServer"]

_MAX_BODY = 1 << 20  # request bodies up to 1 MiB are read; larger ones close the connection


@dataclass
class RequestRecord:
    """One request the simulator received, and its answer (the key is kept out of ``repr``)."""

    method: str
    path: str
    query: dict[str, list[str]]
    task_id: str | None
    authorization: str | None = field(repr=False)
    client_port: int
    at: float  # the server clock when the request arrived
    body: bytes = b""
    user_agent: str | None = None
    answer_status: int | None = None
    answer_body: bytes | None = field(default=None, repr=False)  # None for file bodies
    scripted: bool = False  # answered by a scenario step or fault, not the API's rules

    @property
    def json(self) -> Any:
        """The request body parsed as JSON (None when there is none)."""
        import json

        return json.loads(self.body) if self.body else None


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

    def _read_body(self) -> bytes:
        """The request body (so the next request on this connection parses), up to 1 MiB."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return b""
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if 0 <= length <= _MAX_BODY:
            return self.rfile.read(length)
        self.close_connection = True
        return b""

    def _serve(self) -> None:
        with self.server.sim._answering():
            self._serve_one()

    def _serve_one(self) -> None:
        body = self._read_body()
        answer = self.server.sim._answer(self, body)
        if answer.hangup:
            if answer.delay > 0:
                time.sleep(answer.delay)
            self.close_connection = True  # no answer at all: the client sees the connection close
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(answer)

    do_GET = _serve
    do_HEAD = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve
    do_OPTIONS = _serve
    do_TRACE = _serve
    do_CONNECT = _serve

    def _send(self, answer: Answer) -> None:
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
        length = answer.length if answer.stream is not None else len(answer.body)
        if not (status < 200 or status == 204):
            self.send_header("Content-Length", "0" if no_body else str(length))
        if answer.close or self.close_connection or status < 200:
            self.send_header("Connection", "close")  # also sets self.close_connection
        self.end_headers()
        if not no_body and self.command != "HEAD":
            if answer.stream is not None:
                for chunk in answer.stream:
                    self.wfile.write(chunk)
            else:
                self.wfile.write(answer.body)
        self.wfile.flush()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests (bad request line, URI too long, unknown method) get an envelope."""
        self.close_connection = True
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = self.protocol_version  # else no status line (HTTP/0.9)
        if code == 501:  # a method http.server has no do_ handler for: not allowed, as any other
            answer = error(405, 405, reason(405))
            answer.headers.append(("Allow", "GET, PUT, POST"))
            self._send(answer)
            return
        self._send(error(code, code, reason(code)))  # the stdlib message echoes the request


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

    ``tasks`` are scripted tasks (scenario.py), ``workflows`` / ``templates`` what run-task /
    run-task-by-template can start (with the demo catalog unless ``include_demo`` is false),
    ``faults`` scripted answers per endpoint, ``max_running`` the concurrency cap (10118),
    ``latency`` seconds added to every answer, ``bulk_tasks`` that many finished tasks for
    listing at scale. ``requests`` (a snapshot list of :class:`RequestRecord`),
    ``connections_opened`` and ``request_count()`` let tests see what the client did.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        tasks: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
        workflows: Mapping[str, WorkflowSpec | Mapping[str, Any]] | None = None,
        templates: Mapping[str, WorkflowSpec | Mapping[str, Any]] | None = None,
        faults: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        include_demo: bool = True,
        max_running: int = 5,
        latency: float = 0.0,
        bulk_tasks: int = 0,
    ) -> None:
        self.api_key = api_key
        self.clock = clock
        self.latency = latency
        self._lock = threading.Lock()
        scripted = validate_tasks(DEMO_TASKS) if include_demo else {}
        scripted.update(validate_tasks(tasks or {}))
        catalog = dict(DEMO_WORKFLOWS) if include_demo else {}
        catalog.update(validate_workflows(workflows or {}))
        template_catalog = dict(DEMO_TEMPLATES) if include_demo else {}
        template_catalog.update(validate_workflows(templates or {}, "template"))
        self._faults = validate_faults(faults or {})
        self._fault_used: dict[str, int] = {}
        self.world = World(clock=clock, wall=wall, tasks=scripted, workflows=catalog,
                           templates=template_catalog, max_running=max_running)
        if bulk_tasks:
            self.world.add_bulk(bulk_tasks, next(iter(catalog)) if catalog else "demo-workflow")
        self._requests: list[RequestRecord] = []
        self._connections_opened = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._errors: list[BaseException] = []
        self._open_sockets: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._httpd = _HTTPServer((host, port), self)
        self.host = host
        self.port: int = self._httpd.server_port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self.world.base_url = self.url

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

    # ---- tasks, workflows, faults

    def add_task(self, task_id: str, steps: Iterable[Mapping[str, Any]]) -> None:
        """Add or replace a scripted task (its lifecycle starts again at its next poll)."""
        checked = validate_steps(task_id, steps)
        with self._lock:
            self.world.add_scripted(task_id, checked)

    def add_workflow(self, workflow_id: str, spec: WorkflowSpec | Mapping[str, Any]) -> None:
        checked = validate_workflows({workflow_id: spec})
        with self._lock:
            self.world.workflows.update(checked)

    def add_fault(self, endpoint: str, steps: Iterable[Mapping[str, Any]]) -> None:
        """Answer the next requests to ``endpoint`` (``run-task``...) with these steps."""
        checked = validate_faults({endpoint: steps})
        with self._lock:
            self._faults.update(checked)
            self._fault_used.pop(endpoint, None)

    def reset(self, task_id: str | None = None) -> None:
        """Restart one scripted task's lifecycle (or every one's) at its next poll."""
        with self._lock:
            for task in self.world.tasks.values():
                if task.scripted and (task_id is None or task.id == task_id):
                    task.progress, task.override, task.last_status = None, None, None

    @property
    def task_ids(self) -> list[str]:
        with self._lock:
            return list(self.world.tasks)

    def created_tasks(self) -> list[str]:
        """IDs of the tasks run-task / run-task-by-template created, oldest first."""
        with self._lock:
            return [t.id for t in self.world.tasks.values() if not t.scripted]

    def task_status(self, task_id: str) -> str:
        """A task's status now, without counting as a poll."""
        with self._lock:
            return self.world.status(self.world.tasks[task_id], self.clock())

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
    def max_in_flight(self) -> int:
        """The most requests ever being answered at the same moment (a client's concurrency)."""
        with self._lock:
            return self._max_in_flight

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    @property
    def open_connections(self) -> int:
        """TCP connections currently open (accepted and not yet finished)."""
        with self._lock:
            return len(self._open_sockets)

    def request_count(self, task_id: str | None = None, *, path: str | None = None) -> int:
        """Requests received in all, or only those for ``task_id`` (and/or to ``path``)."""
        with self._lock:
            return sum(1 for r in self._requests
                       if (task_id is None or r.task_id == task_id) and (path is None or r.path == path))

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

    def _answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> Answer:
        target = handler.path
        if not target.startswith("/"):  # absolute form, as sent to a proxy
            parts = urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query_text = target.partition("?")
        query = parse_qs(query_text, keep_blank_values=True)
        auth_values = handler.headers.get_all("Authorization") or []
        record = RequestRecord(
            method=handler.command, path=path, query=query, task_id=(query.get("task_id") or [None])[0],
            authorization=auth_values[0] if auth_values else None,
            client_port=int(handler.client_address[1]), at=self.clock(), body=body,
            user_agent=handler.headers.get("User-Agent"),
        )
        with self._lock:
            self._requests.append(record)
        req = Incoming(handler.command, path, query, body, handler.headers)  # type: ignore[arg-type]
        answer = self._route(req, auth_values)
        if self.latency > 0:
            answer.delay += self.latency
        record.answer_status, record.scripted = answer.status, answer.scripted
        record.answer_body = None if answer.stream is not None else answer.body
        return answer

    def _route(self, req: Incoming, auth_values: list[str]) -> Answer:
        name = routes.endpoint_name(req.path)
        fault = self._next_fault(name) if name is not None else None
        if fault is not None and not fault.get("pass"):
            return routes.step_answer(fault)
        answer = self._route_normally(req, auth_values)
        if fault is not None:  # a "pass" fault: the normal answer, maybe late
            answer.delay += float(fault.get("delay", 0))
        return answer

    def _route_normally(self, req: Incoming, auth_values: list[str]) -> Answer:
        if req.path.startswith(FILES_PREFIX):  # pre-signed: no Authorization needed
            with self._lock:
                return routes.serve_file(self.world, req)
        method = routes.METHODS.get(req.path)
        if method is None:
            return error(404, 404, "Not Found")
        if req.method != method:
            answer = error(405, 405, "Method Not Allowed")
            answer.headers.append(("Allow", method))
            return answer
        if not self._authorized(auth_values):
            return error(401, 401, "Invalid authorization")
        try:
            with self._lock:
                return routes.ROUTES[(method, req.path)](self.world, req, self.clock())
        except Refused as refused:
            return refused.answer

    def _next_fault(self, name: str) -> dict[str, Any] | None:
        """The fault step that answers this request to an endpoint, or None once they are used up."""
        with self._lock:
            steps = self._faults.get(name)
            if not steps:
                return None
            used = self._fault_used.get(name, 0)
            self._fault_used[name] = used + 1
            for step in steps:
                if used < step["polls"]:
                    return step
                used -= step["polls"]
        return None

    def _authorized(self, values: list[str]) -> bool:
        if len(values) != 1:
            return False
        scheme, _, key = values[0].partition(" ")
        if scheme.lower() != "bearer" or key.split() != [key]:
            return False
        if self.api_key is None:
            return True
        return hmac.compare_digest(key.encode("utf-8", "surrogateescape"), self.api_key.encode())
