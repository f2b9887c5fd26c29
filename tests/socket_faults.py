"""A raw-socket HTTP fault server for tests: answers each request with a scripted misbehaviour.

The stdlib ``http.server`` cannot drip bytes, reset a connection mid-body or send a status line
that is not HTTP; this server can (the urllib3 ``test_socketlevel.py`` pattern). It binds
``127.0.0.1`` on a free port, serves from a daemon thread, counts connections and requests, and
stops by itself after ``lifetime_s`` even if a test forgets to stop it. Every loop is bounded by
the stop event, that lifetime, or a byte cap.

    with FaultServer(drip(b'{"status":"running"}', every_s=0.05)) as server:
        ...  # server.url, server.connections, server.request_count

A *fault* is a callable ``(conn, request, server) -> bool`` that writes the answer to ``conn``
and returns whether the connection may serve another request (keep-alive). The factories below
build the common ones. ``FaultServer(*faults)`` answers the n-th request with the n-th fault (the
last one repeats); ``FaultServer(choose=fn)`` asks ``fn(request)`` for the fault each time;
``set_faults(...)`` swaps the script of a running server (fuzzing reuses one server).
``ssl_context=`` serves TLS (a trustme certificate); ``hangup_on_accept=True`` closes every
connection after its first bytes, before any answer (with TLS: an EOF in the handshake).
"""

from __future__ import annotations

import gzip
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MAX_REQUEST_HEAD = 64 * 1024
POLL_S = 0.05  # how often blocked loops look at the stop event
STREAM_CAP = 64 * 1024 * 1024  # no fault ever sends more than this


@dataclass(frozen=True)
class Request:
    """One request as the server read it (head only: the client sends GETs)."""

    index: int  # 0-based, over the server's life
    conn_index: int  # 0-based connection number
    index_on_conn: int  # 0-based request number on its connection
    method: str
    target: str
    headers: dict[str, str] = field(repr=False)  # lower-case names; the last value wins
    raw: bytes = field(repr=False)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


Fault = Callable[[socket.socket, Request, "FaultServer"], bool]


class FaultServer:
    """A loopback TCP server that answers each request with a scripted fault."""

    def __init__(self, *faults: Fault, choose: Callable[[Request], Fault] | None = None,
                 ssl_context: ssl.SSLContext | None = None, lifetime_s: float = 60.0,
                 backlog: int = 64, hangup_on_accept: bool = False) -> None:
        self._lock = threading.Lock()
        self._faults: Sequence[Fault] = faults
        self._choose = choose
        if not faults and choose is None:
            self._faults = (respond(),)
        self.ssl_context = ssl_context
        self.hangup_on_accept = hangup_on_accept  # close before answering anything (TLS: EOF)
        self.lifetime_s = lifetime_s
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(backlog)
        self._sock.settimeout(POLL_S)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}"
        self._connections = 0
        self._requests: list[Request] = []
        self._errors: list[BaseException] = []
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._deadline = 0.0
        self._accept_thread: threading.Thread | None = None

    # ---- lifecycle

    def start(self) -> FaultServer:
        if self._accept_thread is None:
            self._deadline = time.monotonic() + self.lifetime_s
            self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                                   name=f"fault-server:{self.port}")
            self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut every open connection and wait (bounded) for the threads."""
        self._stop.set()
        _shutdown(self._sock)  # wakes a blocked accept() at once (Linux)
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            _shutdown(conn)
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_faults(self, *faults: Fault, choose: Callable[[Request], Fault] | None = None) -> None:
        with self._lock:
            self._faults = faults or (respond(),)
            self._choose = choose

    # ---- observability

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected (non-socket) exceptions raised by faults: bugs in the test server."""
        with self._lock:
            return list(self._errors)

    def reset_counts(self) -> None:
        with self._lock:
            self._connections = 0
            self._requests.clear()

    def stopping(self) -> bool:
        """True once the server must stop: faults poll this in their loops."""
        return self._stop.is_set() or time.monotonic() > self._deadline

    def wait_stop(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the server is stopping."""
        return self._stop.wait(seconds) or time.monotonic() > self._deadline

    # ---- serving

    def _accept_loop(self) -> None:
        while not self.stopping():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                index = self._connections
                self._connections += 1
                self._open.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(target=self._serve_connection, args=(conn, index), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve_connection(self, conn: socket.socket, conn_index: int) -> None:
        raw_conn = conn
        try:
            if self.hangup_on_accept:
                conn.settimeout(0.5)
                conn.recv(65536)  # take what was sent (a TLS hello): close with FIN, not RST
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                conn.settimeout(5)
                try:
                    conn = self.ssl_context.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # the client refused the certificate (or hung up): nothing to serve
                with self._lock:  # wrap_socket detached the plain socket: track the TLS one
                    self._open.discard(raw_conn)
                    self._open.add(conn)
                raw_conn = conn
            conn.settimeout(POLL_S)
            buffer = b""
            for index_on_conn in range(10_000):
                head, buffer = self._read_head(conn, buffer)
                if head is None:
                    return
                request = self._record(head, conn_index, index_on_conn)
                if not self._pick(request)(conn, request, self):
                    return
        except OSError:
            pass  # the client went away: not an error of the server
        except Exception as exc:  # a bug in a fault: keep it for the test to see
            with self._lock:
                self._errors.append(exc)
        finally:
            with self._lock:
                self._open.discard(raw_conn)
            try:
                conn.close()
            except OSError:
                pass

    def _read_head(self, conn: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            if self.stopping() or len(buffer) > MAX_REQUEST_HEAD:
                return None, b""
            try:
                data = conn.recv(65536)
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            if not data:
                return None, b""
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        return head, rest

    def _record(self, head: bytes, conn_index: int, index_on_conn: int) -> Request:
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.rpartition(" ")[0]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        with self._lock:
            request = Request(len(self._requests), conn_index, index_on_conn, method, target,
                              headers, head)
            self._requests.append(request)
        return request

    def _pick(self, request: Request) -> Fault:
        with self._lock:
            choose, faults = self._choose, self._faults
        if choose is not None:
            return choose(request)
        return faults[min(request.index, len(faults) - 1)]


# --------------------------------------------------------------------------- helpers


def _shutdown(conn: socket.socket) -> None:
    try:
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
    except OSError:
        pass


def _head(status: int | bytes, headers: Sequence[tuple[str, str]], reason: str | None = None) -> bytes:
    if isinstance(status, bytes):
        line = status
    else:
        line = f"HTTP/1.1 {status} {reason if reason is not None else 'Whatever'}".encode()
    lines = [line] + [f"{k}: {v}".encode("latin-1") for k, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _send(conn: socket.socket, data: bytes) -> None:
    conn.sendall(data)


def _hard_reset(conn: socket.socket) -> None:
    """Close with RST instead of FIN (SO_LINGER on, timeout 0)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


# --------------------------------------------------------------------------- fault factories


def respond(status: int = 200, body: bytes | str = b'{"status":"finished"}', *,
            headers: Sequence[tuple[str, str]] = (), content_type: str | None = "application/json",
            reason: str | None = "OK", close: bool = False,
            content_length: bool = True) -> Fault:
    """A well-formed answer (keep-alive unless ``close``)."""
    data = body.encode() if isinstance(body, str) else body

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        hdrs = list(headers)
        if content_type is not None:
            hdrs.append(("Content-Type", content_type))
        if content_length:
            hdrs.append(("Content-Length", str(len(data))))
        if close or not content_length:
            hdrs.append(("Connection", "close"))
        _send(conn, _head(status, hdrs, reason) + data)
        return not (close or not content_length)

    return fault


def envelope(status: int, code: int, msg: str = "error", trace_id: str = "trace-1", **kw) -> Fault:  # type: ignore[no-untyped-def]
    import json

    body = json.dumps({"code": code, "msg": msg, "data": None, "traceId": trace_id}).encode()
    return respond(status, body, **kw)


def raw(data: bytes, *, close: bool = True) -> Fault:
    """These exact bytes as the answer, then (by default) close."""

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        if data:
            _send(conn, data)
        return not close

    return fault


def garbage(data: bytes = b"\x00\xffSSH-2.0-nope \x1b[2J\r\n\r\nnot http at all\r\n") -> Fault:
    """Bytes that are not HTTP, then close."""
    return raw(data)


def status_line(line: bytes, body: bytes = b'{"status":"finished"}',
                headers: Sequence[tuple[str, str]] = ()) -> Fault:
    """An arbitrary status line (``HTTP/1.1 103 Early Hints``, ``HTTP/1.1 999 X``), then close."""

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        hdrs = [*headers, ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))), ("Connection", "close")]
        _send(conn, _head(line, hdrs) + body)
        return False

    return fault


def close_now() -> Fault:
    """Read the request, then close without a byte of answer."""
    return raw(b"")


def never_answer() -> Fault:
    """Read the request and say nothing until the client hangs up or the server stops."""

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        while not server.stopping():
            try:
                if not conn.recv(4096):
                    return False
            except (TimeoutError, ssl.SSLWantReadError):
                continue
        return False

    return fault


def drip(body: bytes = b'{"status":"finished"}' + b" " * 4000, every_s: float = 0.05,
         status: int = 200) -> Fault:
    """Headers at once (with the right Content-Length), then the body 1 byte per ``every_s``."""

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        _send(conn, _head(status, hdrs, "OK"))
        for i in range(len(body)):
            if server.wait_stop(every_s):
                return False
            _send(conn, body[i:i + 1])
        return True

    return fault


def header_drip(every_s: float = 0.05, header_bytes: int = 4000) -> Fault:
    """The status line and headers 1 byte per ``every_s`` (an endless-looking header block)."""

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * header_bytes
        for i in range(len(head)):
            if server.wait_stop(every_s):
                return False
            _send(conn, head[i:i + 1])
        _send(conn, b"\r\nContent-Length: 2\r\n\r\n{}")
        return False

    return fault


def reset_mid_body(declared: int = 1000, sent: int = 100) -> Fault:
    """Headers promising ``declared`` bytes, ``sent`` of them, then a TCP reset (SO_LINGER 0)."""

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        hdrs = [("Content-Type", "application/json"), ("Content-Length", str(declared))]
        _send(conn, _head(200, hdrs, "OK") + b'{"status":"' + b"r" * max(0, sent - 11))
        time.sleep(0.02)  # let the client start reading the body
        _hard_reset(conn)
        return False

    return fault


def short_body(declared: int = 1000, body: bytes = b'{"status":"finished"}') -> Fault:
    """A ``Content-Length`` larger than the body, then a clean close (FIN)."""

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        hdrs = [("Content-Type", "application/json"), ("Content-Length", str(declared))]
        _send(conn, _head(200, hdrs, "OK") + body)
        return False

    return fault


def endless_chunked(chunk: bytes = b'{"status":"' + b"x" * 16_000, *, status: int = 200,
                    headers: Sequence[tuple[str, str]] = ()) -> Fault:
    """A chunked answer that never ends (bounded by the client hanging up, stop or STREAM_CAP)."""

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        hdrs = [*headers, ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
        _send(conn, _head(status, hdrs, "OK"))
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sent = 0
        while sent < STREAM_CAP and not server.stopping():
            _send(conn, frame)
            sent += len(frame)
        return False

    return fault


def gzip_bomb(inflated: int = 8 * 1024 * 1024) -> Fault:
    """A small gzip body (Content-Encoding: gzip) that inflates to ``inflated`` bytes."""
    body = gzip.compress(b'{"status":"' + b" " * inflated + b'"}', compresslevel=9)
    return respond(200, body, headers=[("Content-Encoding", "gzip")])


def keepalive_then_drop() -> Fault:
    """Answer the first request on a connection; read the next one and close without answering.

    The client sees the kept-alive connection die on reuse (``RemoteDisconnected``).
    """
    ok = respond(200, b'{"status":"finished"}')

    def fault(conn: socket.socket, request: Request, server: FaultServer) -> bool:
        if request.index_on_conn == 0:
            return ok(conn, request, server)
        return False

    return fault
