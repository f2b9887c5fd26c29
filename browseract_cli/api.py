"""The one HTTP client: talks to get-task-status, returns TaskState or raises ApiError, never prints."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from browseract_cli import __version__
from browseract_cli.classify import HINTS, MAX_BODY, TaskState, classify
from browseract_cli.errors import ApiError
from browseract_cli.retry import RetryPolicy, next_wait, parse_retry_after
from browseract_cli.sanitize import clean, redact
from browseract_cli.settings import is_loopback_host
from browseract_cli.transport import CURRENT, WATCHDOG, adapter_class, bearer, session_class

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
        key_source: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.timeouts = timeouts
        self.policy = policy
        self.clock, self.wall, self.sleep, self.uniform = clock, wall, sleep, uniform
        self._log = log
        self._key_source = key_source  # e.g. "env BROWSERACT_API_KEY": named when the key is rejected
        self._pool_size = pool_size
        self._session: requests.Session | None = None
        netloc = urlsplit(self.base_url)
        # Loopback (the simulator, tests) is always reached directly: HTTP(S)_PROXY from the
        # environment would otherwise carry local traffic, key included, to the proxy.
        self._direct = is_loopback_host(netloc.hostname or "")
        _mask_in_logs(api_key)
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
            session = session_class()()
            adapter = adapter_class()(pool_connections=1, pool_maxsize=self._pool_size, max_retries=0)
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
        watch = WATCHDOG.watch(overall)
        CURRENT.watch = watch
        try:
            outcome = self._exchange(task_id, overall)
        except Exception:
            if watch.fired:
                raise _DeadlineExceeded() from None
            raise
        finally:
            CURRENT.watch = None
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
                auth=bearer(self._key),  # auth= also stops ~/.netrc from replacing the header
                timeout=(min(t.connect_s, overall), min(t.read_s, overall)),
                allow_redirects=False,
                stream=True,
                proxies=dict(_NO_PROXY) if self._direct else None,  # a copy: requests fills it in
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
                if outcome.kind == "auth" and self._key_source:
                    outcome.hint = (f"the key from {clean(self._key_source, 200)} was rejected; "
                                    f"{HINTS['auth']}")
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
        elif isinstance(exc, requests.exceptions.ProxyError) or _caused_by(exc, "ProxyError"):
            what = "cannot connect through the proxy (HTTPS_PROXY / HTTP_PROXY)"
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


class _RedactKeys:
    """A logging filter that masks API keys in records (of urllib3 and requests, for embedders
    and log capture; the CLI itself never configures logging)."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            try:
                text = record.getMessage()
            except Exception:  # a record that cannot format: let logging report it as usual
                return True
            if any(secret in text for secret in self.secrets):
                for secret in self.secrets:
                    text = redact(text, secret)
                record.msg, record.args = text, None
        return True


_KEY_FILTER = _RedactKeys()


def _mask_in_logs(key: str) -> None:
    from browseract_cli.sanitize import register_secret

    register_secret(key)  # from now on every displayed server string has the key masked
    if not _KEY_FILTER.secrets:  # first client: attach the filter to the HTTP stack's loggers
        for name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.response",
                     "urllib3.poolmanager", "urllib3.util.retry", "requests"):
            logging.getLogger(name).addFilter(_KEY_FILTER)
    _KEY_FILTER.secrets.add(key)


_TLS_HINT = ("check the system clock, a corporate proxy, or REQUESTS_CA_BUNDLE; "
             "certificate checks are never turned off")


# requests keeps these None entries over the environment's proxies, then drops them: direct.
_NO_PROXY = {"http": None, "https": None, "all": None}


def _location_host(location: str) -> str | None:
    try:
        return urlsplit(location).hostname
    except ValueError:  # e.g. an unbalanced '[' in a malformed Location
        return None


class _DeadlineExceeded(Exception):
    pass


class _StaleConnection(Exception):
    """A kept-alive connection that the server had closed: safe to retry at once."""


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
