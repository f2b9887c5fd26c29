"""The one HTTP client: talks to get-task-status, returns TaskState or raises ApiError, never prints."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from browseract_cli import __version__
from browseract_cli.classify import HINTS, MAX_BODY, TaskState, classify
from browseract_cli.errors import ApiError
from browseract_cli.retry import RetryPolicy, next_wait, parse_retry_after
from browseract_cli.sanitize import clean, redact

if TYPE_CHECKING:  # requests is imported lazily: `--help` and `config path` never load it
    import requests

STATUS_PATH = "/v2/workflow/get-task-status"
CHUNK = 64 * 1024


class Timeouts(NamedTuple):
    connect_s: float = 5.0
    read_s: float = 10.0
    request_s: float = 20.0  # overall deadline for one request, body included


# Called before each retry wait: (error, seconds until the next attempt).
RetryHook = Callable[[ApiError, float], None]


class ApiClient:
    """A keep-alive session to one base URL. Thread-safe for concurrent lookups."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeouts: Timeouts = Timeouts(),
        policy: RetryPolicy = RetryPolicy(),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        uniform: Callable[[float, float], float] = random.uniform,
        log: Callable[[str], None] | None = None,
        pool_size: int = 4,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.timeouts = timeouts
        self.policy = policy
        self.clock, self.wall, self.sleep, self.uniform = clock, wall, sleep, uniform
        self._log = log
        self._pool_size = pool_size
        self._session: requests.Session | None = None
        netloc = urlsplit(self.base_url)
        self._host = clean(f"{netloc.hostname}:{netloc.port or (443 if netloc.scheme == 'https' else 80)}", 120)

    # -- public -----------------------------------------------------------------------------

    def get_task_status(self, task_id: str, on_retry: RetryHook | None = None) -> TaskState:
        """One lookup with retries: at most ``policy.max_attempts`` attempts within ``budget_s``."""
        start = self.clock()
        retry_number = 0
        while True:
            remaining = self.policy.budget_s - (self.clock() - start)
            try:
                return self.fetch_once(task_id, deadline_s=remaining)
            except ApiError as err:
                if not err.retryable or retry_number + 1 >= self.policy.max_attempts:
                    raise
                wait = next_wait(retry_number, err.retry_after, self.uniform, self.policy)
                if self.clock() - start + wait >= self.policy.budget_s:
                    raise  # the next attempt could not start within the budget: stop now
                if on_retry is not None:
                    on_retry(err, wait)
                self._debug(f"retry in {wait:.2f}s after: {clean(err.msg, 200)}")
                self.sleep(wait)
                retry_number += 1

    def fetch_once(self, task_id: str, deadline_s: float | None = None) -> TaskState:
        """One attempt (plus one silent retry of a keep-alive connection the server dropped).

        Both tries share one deadline: a stale-connection retry never extends the attempt.
        """
        failures = _transport_failures()
        limit = self.timeouts.request_s if deadline_s is None else min(self.timeouts.request_s, deadline_s)
        end = self.clock() + limit
        for attempt in (1, 2):
            try:
                return self._attempt(task_id, end - self.clock() if attempt == 2 else limit)
            except _StaleConnection as exc:
                if attempt == 2 or end - self.clock() <= 0:
                    raise self._transport_error(exc) from None
                self._debug("the server had closed the kept-alive connection; reconnecting")
            except failures as exc:
                raise self._transport_error(exc) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _session_or_new(self) -> requests.Session:
        if self._session is None:
            session = _session_class()()
            adapter = _adapter_class()(pool_connections=1, pool_maxsize=self._pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers.update({"User-Agent": f"browseract/{__version__}", "Accept": "application/json"})
            self._session = session
        return self._session

    def _attempt(self, task_id: str, deadline_s: float | None) -> TaskState:
        t = self.timeouts
        overall = t.request_s if deadline_s is None else max(0.05, min(t.request_s, deadline_s))
        # Per-recv timeouts cannot stop a server that drips its status line and headers (finding
        # 9), and the deadline check in _read_capped only runs between body reads: a watchdog
        # thread cuts the socket when the overall deadline passes, whatever is being read.
        watch = _WATCHDOG.watch(overall)
        _CURRENT.watch = watch
        try:
            outcome = self._exchange(task_id, overall)
        except Exception:
            if watch.fired:
                raise _DeadlineExceeded() from None
            raise
        finally:
            _CURRENT.watch = None
            watch.cancel()
        if watch.fired:  # the cut can look like a short answer (EOF ends the header block)
            raise _DeadlineExceeded()
        return outcome

    def _exchange(self, task_id: str, overall: float) -> TaskState:
        t = self.timeouts
        deadline = self.clock() + overall
        session = self._session_or_new()
        url = self.base_url + STATUS_PATH
        self._debug(f"> GET {url}?task_id={clean(task_id, 80)} (Authorization: Bearer ****)")
        started = self.clock()
        try:
            resp = session.get(
                url,
                params={"task_id": task_id},
                auth=_bearer(self._key),  # auth= also stops ~/.netrc from replacing the header
                timeout=(min(t.connect_s, overall), min(t.read_s, overall)),
                allow_redirects=False,
                stream=True,
            )
        except Exception as exc:
            if _is_stale_connection(exc):
                raise _StaleConnection() from None
            raise
        with resp:
            body = self._read_capped(resp, deadline)
            # Redact before any truncation: a cut-off key would no longer match the redaction.
            ctype = redact(resp.headers.get("Content-Type", ""), self._key)
            size = "over 1 MiB" if body is None else f"{len(body)} bytes"
            self._debug(f"< HTTP {resp.status_code} {clean(ctype, 60)} {size} "
                        f"in {1000 * (self.clock() - started):.0f} ms")
            if body is None:
                raise ApiError("server", f"answer body larger than {MAX_BODY // 1024} KiB",
                               http_status=resp.status_code, hint=HINTS["server"])
            outcome = classify(resp.status_code, body, ctype)
            if isinstance(outcome, ApiError):
                outcome.retry_after = parse_retry_after(resp.headers.get("Retry-After"), self.wall())
                if 300 <= resp.status_code < 400:
                    target = _location_host(redact(resp.headers.get("Location", ""), self._key))
                    if target:
                        outcome.msg += f" (to host {clean(target, 80)})"
                # A server (or a proxy, or an echo page) may reflect the Authorization header.
                outcome.msg = redact(outcome.msg, self._key)
                if outcome.trace_id is not None:
                    outcome.trace_id = redact(outcome.trace_id, self._key)
                raise outcome
            if self._key in outcome.status:
                return TaskState(redact(outcome.status, self._key))
            return outcome

    def _read_capped(self, resp: Any, deadline: float) -> bytes | None:
        """The decoded body, or None past MAX_BODY; checks the overall deadline between reads."""
        length = resp.headers.get("Content-Length", "")
        if length.isascii() and length.isdigit() and int(length) > MAX_BODY:
            return None
        parts: list[bytes] = []
        size = 0
        while True:
            if self.clock() > deadline:
                raise _DeadlineExceeded()
            chunk = resp.raw.read1(CHUNK, decode_content=True)
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > MAX_BODY:
                return None
            parts.append(chunk)

    def _transport_error(self, exc: BaseException) -> ApiError:
        """A transport failure as a network error (69); the text never comes from str(exc)."""
        import requests

        retryable = True
        hint = HINTS["network"]
        if isinstance(exc, _DeadlineExceeded):
            what = "no complete answer within the request deadline"
        elif _caused_by(exc, "SSLCertVerificationError", "CertificateError"):
            what = "the server's TLS certificate could not be verified"
            retryable = False  # a bad certificate does not heal in seconds: one attempt only
            hint = _TLS_HINT
        elif isinstance(exc, requests.exceptions.SSLError) or _caused_by(exc, "SSLError"):
            what = "TLS handshake failed"  # e.g. EOF during the handshake: may be transient
            hint = _TLS_HINT
        elif _caused_by(exc, "DecodeError", "ContentDecodingError"):
            return ApiError("server", "the answer's compressed body could not be decoded",
                            hint=HINTS["server"])
        elif isinstance(exc, requests.exceptions.ConnectTimeout) or _caused_by(exc, "ConnectTimeoutError"):
            what = "connection timed out"
        elif _caused_by(exc, "ReadTimeout", "ReadTimeoutError", "TimeoutError", "timeout"):
            what = "timed out waiting for the answer"
        elif _caused_by(exc, "NameResolutionError", "gaierror"):
            what = "cannot resolve the host name"
        elif _caused_by(exc, "ConnectionRefusedError"):
            what = "connection refused"
        elif isinstance(exc, _StaleConnection) or _caused_by(
                exc, "ProtocolError", "IncompleteRead", "ChunkedEncodingError", "RemoteDisconnected",
                "ConnectionResetError", "BrokenPipeError", "InvalidChunkLength"):
            what = "connection broken before the answer was complete"
        elif isinstance(exc, requests.exceptions.ConnectionError):
            what = "connection failed"
        else:
            what = f"request failed ({type(exc).__name__})"
        return ApiError("network", f"cannot get an answer from {self._host}: {what}",
                        hint=hint, retryable=retryable)

    def _debug(self, line: str) -> None:
        if self._log is not None:
            self._log(redact(line, self._key))


_TLS_HINT = ("check the system clock, a corporate proxy, or REQUESTS_CA_BUNDLE; "
             "certificate checks are never turned off")


def _location_host(location: str) -> str | None:
    try:
        return urlsplit(location).hostname
    except ValueError:  # e.g. an unbalanced '[' in a malformed Location
        return None


class _DeadlineExceeded(Exception):
    pass


class _Watch:
    """One request's deadline: the sockets to cut when it passes (see _Watchdog)."""

    __slots__ = ("deadline", "fired", "_done", "_socks", "_owned", "_lock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._done = False
        self._socks: list[Any] = []
        self._owned: list[socket.socket] = []  # duplicates made by arm(): closed by cancel()
        self._lock = threading.Lock()

    def arm(self, sock: Any, *, duplicate: bool = False) -> None:
        """A socket the request uses (called in the requesting thread).

        ``duplicate`` keeps a dup() of a plain socket that TLS wrapping is about to detach, so
        that a stalled handshake can be cut too (shutdown acts on the connection, not the fd).
        """
        if duplicate:
            try:
                sock = sock.dup()
            except OSError:
                return
        with self._lock:
            if self._done:
                if duplicate:
                    sock.close()
                return
            self._socks.append(sock)
            if duplicate:
                self._owned.append(sock)
            fired = self.fired
        if fired:
            _cut(sock)

    def fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            socks = list(self._socks)
        for sock in socks:
            _cut(sock)

    def cancel(self) -> None:
        with self._lock:
            self._done = True
            self._socks = []
            owned, self._owned = self._owned, []
        for sock in owned:
            sock.close()
        _WATCHDOG.discard(self)


class _Watchdog:
    """A single daemon thread that shuts down the socket of any request past its deadline.

    Real monotonic time on purpose: an injected test clock must not make real sockets hang.
    Shutting the socket down (not closing it) wakes the blocked recv() in the requesting
    thread with EOF; that thread then reports _DeadlineExceeded and urllib3 discards the
    connection.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: set[_Watch] = set()
        self._thread: threading.Thread | None = None
        self._wakes_at: float | None = None  # the thread sleeps until then (None: until notified)

    def watch(self, seconds: float) -> _Watch:
        entry = _Watch(time.monotonic() + seconds)
        with self._cond:
            self._active.add(entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="browseract-deadline",
                                                daemon=True)
                self._wakes_at = None
                self._thread.start()
            if self._wakes_at is None or entry.deadline < self._wakes_at:
                self._cond.notify()  # only when this deadline comes first: polls stay cheap
        return entry

    def discard(self, entry: _Watch) -> None:
        with self._cond:
            self._active.discard(entry)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [w for w in self._active if w.deadline <= now]
                self._active.difference_update(due)
                pending = min((w.deadline for w in self._active), default=None)
                if not due:
                    self._wakes_at = pending
                    self._cond.wait(None if pending is None else pending - now)
                    self._wakes_at = None
            for entry in due:
                entry.fire()


_WATCHDOG = _Watchdog()
_CURRENT = threading.local()  # the _Watch of the request running in this thread


def _cut(sock: Any) -> None:
    """Shut a socket down from another thread (TLS sockets too: at the file descriptor)."""
    raw = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)
    if isinstance(raw, socket.socket):
        try:
            socket.socket.shutdown(raw, socket.SHUT_RDWR)
        except OSError:
            pass


_SESSION: list[type] = []


def _session_class() -> type[requests.Session]:
    """A requests Session that never looks at redirects, not even to describe them.

    With ``allow_redirects=False`` requests still runs one step of ``resolve_redirects`` for
    a 3xx with a Location: it reads the whole body into memory (no 1 MiB cap, gzip inflated),
    parses the Location (a malformed one raises ValueError) and re-derives auth from netrc.
    With no redirect target none of that happens; _exchange reports the 3xx itself (76).
    """
    if not _SESSION:
        import requests

        class NoRedirectSession(requests.Session):
            def get_redirect_target(self, resp: Any) -> None:
                return None

        _SESSION.append(NoRedirectSession)
    return _SESSION[0]


_ADAPTER: list[type] = []


def _adapter_class() -> type:
    """requests' HTTPAdapter whose connections hand their socket to the current _Watch.

    Built on first use (lazy import). The pools are swapped for subclasses whose connection
    class arms the watch in getresponse(), where the status line and headers are read, and for
    TLS also right after the TCP connect, so that a stalled handshake is cut too. Proxies over
    HTTP(S) get the same pools (SOCKS proxies keep urllib3's, without the watchdog).
    """
    if _ADAPTER:
        return _ADAPTER[0]
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.poolmanager import ProxyManager

    class WatchedHTTPConnection(HTTPConnection):
        def getresponse(self) -> Any:  # type: ignore[override]
            _arm(getattr(self, "sock", None))
            return super().getresponse()

    class WatchedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> Any:
            sock = super()._new_conn()  # connected, not yet wrapped: cover the TLS handshake
            _arm(sock, duplicate=True)
            return sock

        def getresponse(self) -> Any:  # type: ignore[override]
            _arm(getattr(self, "sock", None))
            return super().getresponse()

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    pools = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}

    class WatchedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(pools)

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if type(manager) is ProxyManager:
                manager.pool_classes_by_scheme = dict(pools)
            return manager

    _ADAPTER.append(WatchedAdapter)
    return WatchedAdapter


def _arm(sock: Any, *, duplicate: bool = False) -> None:
    watch = getattr(_CURRENT, "watch", None)
    if watch is not None and sock is not None:
        watch.arm(sock, duplicate=duplicate)


class _StaleConnection(Exception):
    """A kept-alive connection that the server had closed: safe to retry at once."""


_AUTH_CLASSES: dict[str, type] = {}


def _bearer(key: str) -> Any:
    """A requests AuthBase that sets the Bearer header (class built on first use: lazy import)."""
    cls = _AUTH_CLASSES.get("bearer")
    if cls is None:
        from requests.auth import AuthBase

        class BearerAuth(AuthBase):
            def __init__(self, key: str) -> None:
                self._key = key

            def __call__(self, r: Any) -> Any:
                r.headers["Authorization"] = "Bearer " + self._key
                return r

            def __repr__(self) -> str:
                return "BearerAuth(****)"

        cls = _AUTH_CLASSES["bearer"] = BearerAuth
    return cls(key)


def _transport_failures() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the transport failed" (requests wraps only some urllib3 ones)."""
    import http.client

    import requests
    import urllib3.exceptions

    return (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
            OSError, _DeadlineExceeded)


def _caused_by(exc: BaseException, *names: str) -> bool:
    """Whether any exception in the cause/context chain (or urllib3's .reason) has one of these names."""
    seen = 0
    stack: list[BaseException | None] = [exc]
    while stack and seen < 20:
        cur = stack.pop()
        if cur is None:
            continue
        seen += 1
        if type(cur).__name__ in names or any(type(a).__name__ in names for a in getattr(cur, "args", ())
                                              if isinstance(a, BaseException)):
            return True
        reason = getattr(cur, "reason", None)  # urllib3's wrapped error; ssl's is a str
        stack.extend([cur.__cause__, cur.__context__, reason if isinstance(reason, BaseException) else None])
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
    return False


def _is_stale_connection(exc: BaseException) -> bool:
    return _caused_by(exc, "RemoteDisconnected", "ConnectionResetError", "BrokenPipeError") and not \
        _caused_by(exc, "NewConnectionError", "ConnectTimeoutError")
