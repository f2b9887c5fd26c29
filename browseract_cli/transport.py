"""requests plumbing for api.py: no-redirect session, Bearer auth, the deadline watchdog, and
the send gate (a caller's hook around the moment a request is written to the socket).

requests and urllib3 are imported only inside the factories, on first use.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests


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
        WATCHDOG.discard(self)


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


WATCHDOG = _Watchdog()
# Per thread: ``watch``, the _Watch of the request running in this thread; ``gate``, when set,
# a callable returning a context manager entered around writing the request to the socket
# (after connecting): the watch's request rate is kept at the moment requests really go out.
CURRENT = threading.local()


def _send_gate() -> Any:
    gate = getattr(CURRENT, "gate", None)
    return contextlib.nullcontext() if gate is None else gate()


def _cut(sock: Any) -> None:
    """Shut a socket down from another thread (TLS sockets too: at the file descriptor)."""
    raw = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)
    if isinstance(raw, socket.socket):
        try:
            socket.socket.shutdown(raw, socket.SHUT_RDWR)
        except OSError:
            pass


_SESSION: list[type] = []


def session_class() -> type[requests.Session]:
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


def adapter_class() -> type:
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
        def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            with _send_gate():
                super().request(*args, **kwargs)

        def getresponse(self) -> Any:  # type: ignore[override]
            _arm(getattr(self, "sock", None))
            return super().getresponse()

    class WatchedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> Any:
            sock = super()._new_conn()  # connected, not yet wrapped: cover the TLS handshake
            _arm(sock, duplicate=True)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            with _send_gate():
                super().request(*args, **kwargs)

        def getresponse(self) -> Any:  # type: ignore[override]
            _arm(getattr(self, "sock", None))
            return super().getresponse()

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

        def _validate_conn(self, conn: Any) -> None:
            super()._validate_conn(conn)
            if conn.is_closed:  # connect here, as HTTPS does, so the send gate covers only the send
                conn.connect()

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
    watch = getattr(CURRENT, "watch", None)
    if watch is not None and sock is not None:
        watch.arm(sock, duplicate=duplicate)


_AUTH_CLASSES: dict[str, type] = {}


def bearer(key: str) -> Any:
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
