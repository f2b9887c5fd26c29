"""The one HTTP client: any method and path, retries, deadlines, caps; never prints.

``ApiClient.request()`` returns the parsed JSON of a 200 answer (or ``EMPTY``) and raises a typed
``ApiError`` otherwise. What each endpoint's answer must look like is endpoints.py's business.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from browseract_cli import __version__
from browseract_cli.classify import MAX_BODY, classify
from browseract_cli.errors import KINDS, ApiError
from browseract_cli.retry import RetryPolicy, may_retry, next_wait, parse_retry_after
from browseract_cli.sanitize import clean, redact
from browseract_cli.settings import is_loopback_host
from browseract_cli.transport import CURRENT, WATCHDOG, adapter_class, bearer, session_class

if TYPE_CHECKING:  # requests is imported lazily: `--help` and `config path` never load it
    import requests

CHUNK = 64 * 1024


class Timeouts(NamedTuple):
    connect_s: float = 5.0
    read_s: float = 10.0
    request_s: float = 20.0  # overall deadline for one request, body included


# Called before each retry wait: (error, seconds until the next attempt).
RetryHook = Callable[[ApiError, float], None]


class Request(NamedTuple):
    """One API request as it goes on the wire (the body already JSON-encoded)."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    body: bytes | None = None
    resource: str | None = None  # what the request is about: "task", "workflow", ... (for errors)


class ApiClient:
    """A keep-alive session to one base URL. Thread-safe for concurrent requests."""

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
        self._closed = False
        self._proxies: dict[str, str | None] = {}
        self._verify: bool | str = True
        self._templates: dict[tuple[str, str], Any] = {}  # prepared requests, to copy
        # A 429 or Retry-After seen by one request holds back every request of this client
        # (several IDs share one key: the pool must not hammer it).
        self._pause_until = 0.0
        self._pause_lock = threading.Lock()
        netloc = urlsplit(self.base_url)
        # Loopback (the simulator, tests) is always reached directly: HTTP(S)_PROXY from the
        # environment would otherwise carry local traffic, key included, to the proxy.
        self._direct = is_loopback_host(netloc.hostname or "")
        _mask_in_logs(api_key)
        self._host = clean(f"{netloc.hostname}:{netloc.port or (443 if netloc.scheme == 'https' else 80)}", 120)

    # -- public -----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, resource: str | None = None, retry: bool = True,
                on_retry: RetryHook | None = None, deadline_s: float | None = None) -> Any:
        """One API call: the parsed JSON of its 200 answer (or EMPTY); ApiError otherwise.

        With ``retry`` (the default), a failure is retried per the policy: at most
        ``policy.max_attempts`` attempts within ``policy.budget_s``, and a POST only when it
        certainly never reached the server (retry.may_retry). Without it, one attempt.
        ``deadline_s`` bounds the whole call, retries and waits included (a caller's own time
        limit, such as what is left of `watch --timeout`).
        """
        encoded = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        req = Request(method, path, params, encoded, resource)
        if not retry:
            return self.send_once(req, deadline_s)
        start = self.clock()
        budget = self.policy.budget_s if deadline_s is None else min(self.policy.budget_s, deadline_s)
        retry_number = 0
        while True:
            self._wait_while_paused(start, budget)
            remaining = budget - (self.clock() - start)
            try:
                return self.send_once(req, deadline_s=remaining)
            except ApiError as err:
                wait = next_wait(retry_number, err.retry_after, self.uniform, self.policy)
                if err.http_status == 429 or err.retry_after:
                    self._pause(wait)
                if not may_retry(method, err) or retry_number + 1 >= self.policy.max_attempts:
                    raise
                if self.clock() - start + wait >= budget:
                    raise  # the next attempt could not start within the budget: stop now
                if on_retry is not None:
                    on_retry(err, wait)
                self._debug(f"retry in {wait:.2f}s after: {clean(err.msg, 200)}")
                self.sleep(wait)
                retry_number += 1

    def _pause(self, seconds: float) -> None:
        with self._pause_lock:
            self._pause_until = max(self._pause_until, self.clock() + seconds)

    def _wait_while_paused(self, start: float, budget: float) -> None:
        """Wait out a pause another request asked for (never past this request's budget)."""
        with self._pause_lock:
            until = self._pause_until
        wait = min(until - self.clock(), budget - (self.clock() - start))
        if wait > 0:
            self._debug(f"waiting {wait:.2f}s: the API asked this client to slow down")
            self.sleep(wait)

    def send_once(self, req: Request, deadline_s: float | None = None) -> Any:
        """One attempt (plus, for GET and PUT, one silent retry of a kept-alive connection that
        the server had dropped). Both tries share one deadline: the retry never extends it.
        """
        failures = _transport_failures()
        limit = self.timeouts.request_s if deadline_s is None else min(self.timeouts.request_s, deadline_s)
        end = self.clock() + limit
        for attempt in (1, 2):
            try:
                return self._attempt(req, end - self.clock() if attempt == 2 else limit)
            except _StaleConnection as exc:
                # A POST may have reached the server before it closed the connection: final.
                if attempt == 2 or end - self.clock() <= 0 or req.method == "POST":
                    raise self._transport_error(exc, req) from None
                self._debug("the server had closed the kept-alive connection; reconnecting")
            except failures as exc:
                raise self._transport_error(exc, req) from None
        raise AssertionError("unreachable")

    def redact(self, value: str) -> str:
        """Text with this client's key masked (a server, proxy or echo page may reflect it)."""
        return redact(value, self._key)

    @property
    def pool_size(self) -> int:
        """How many keep-alive connections the client keeps (concurrent requests beyond it
        would each open and drop a connection of their own)."""
        return self._pool_size

    def close(self) -> None:
        """Close the connections; from now on a request fails at once and opens none (a poll
        still queued when a watch stops must not reconnect)."""
        self._closed = True
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _session_or_new(self) -> requests.Session:
        if self._closed:
            raise _ClientClosed()
        if self._session is None:
            session = session_class()()
            adapter = adapter_class()(pool_connections=1, pool_maxsize=self._pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers.update({"User-Agent": f"browseract/{__version__}", "Accept": "application/json"})
            # What requests would read from the environment on every request (about 0.2 ms of
            # CPU each, a third of a poll) is read once here: proxies, NO_PROXY, CA bundle.
            session.trust_env = False
            proxies, self._verify = _environment_settings(self.base_url, self._direct)
            self._proxies = {k: v for k, v in proxies.items() if v is not None}  # None: direct
            self._session = session
        return self._session

    def _attempt(self, req: Request, deadline_s: float | None) -> Any:
        t = self.timeouts
        overall = t.request_s if deadline_s is None else max(0.05, min(t.request_s, deadline_s))
        # Per-recv timeouts cannot stop a server that drips its status line and headers (finding
        # 9), and the deadline check in _read_capped only runs between body reads: a watchdog
        # thread cuts the socket when the overall deadline passes, whatever is being read.
        watch = WATCHDOG.watch(overall)
        CURRENT.watch = watch
        try:
            outcome = self._exchange(req, overall)
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

    def _send(self, req: Request, overall: float) -> Any:
        t = self.timeouts
        url = self.base_url + req.path
        query = f"?{urlencode(req.params, doseq=True)}" if req.params else ""
        size = f" ({len(req.body)} bytes of JSON)" if req.body is not None else ""
        self._debug(f"> {req.method} {url}{clean(query, 200)}{size} (Authorization: Bearer ****)")
        try:
            session = self._session_or_new()
            return session.send(
                self._prepared(session, req, url, query),
                timeout=(min(t.connect_s, overall), min(t.read_s, overall)),
                allow_redirects=False,
                stream=True,
                proxies=dict(self._proxies),  # a copy: requests fills it in
                verify=self._verify,
            )
        except Exception as exc:
            if _is_stale_connection(exc):
                raise _StaleConnection() from None
            raise

    def _prepared(self, session: requests.Session, req: Request, url: str, query: str) -> Any:
        """The request as ``Session.request`` prepares it (session headers, the Bearer auth
        hook, the session's cookies), prepared once per method and path and copied for every
        send after that, with this request's query (already encoded by ``_send``) appended:
        preparing costs about as much as all the rest of a poll's Python, and a watch of 1,000
        tasks asks 1,000 different queries. A request with a body (a create) is prepared
        afresh each time."""
        if req.body is not None:
            import requests

            # auth= also stops ~/.netrc from replacing the header
            return session.prepare_request(requests.Request(
                req.method, url + query, data=req.body, headers={"Content-Type": "application/json"},
                auth=bearer(self._key)))
        key = (req.method, url)
        template = self._templates.get(key)
        if template is None:
            import requests

            template = session.prepare_request(requests.Request(req.method, url, auth=bearer(self._key)))
            template.headers.pop("Cookie", None)  # added at each send, from the jar as it is then
            template._cookies = None
            if len(self._templates) >= 64:
                self._templates.clear()
            self._templates[key] = template
        prepared = template.copy()
        if query:  # the base URL has no query (settings refuses one), nor have the paths
            prepared.url = template.url + query
        if session.cookies:
            prepared.prepare_cookies(session.cookies)
        return prepared

    def _exchange(self, req: Request, overall: float) -> Any:
        deadline = self.clock() + overall
        started = self.clock()
        resp = self._send(req, overall)
        with resp:
            body = self._read_capped(resp, deadline)
            # Redact before any truncation: a cut-off key would no longer match the redaction.
            ctype = redact(resp.headers.get("Content-Type", ""), self._key)
            size = "over 1 MiB" if body is None else f"{len(body)} bytes"
            self._debug(f"< HTTP {resp.status_code} {clean(ctype, 60)} {size} "
                        f"in {1000 * (self.clock() - started):.0f} ms")
            if body is None:
                raise ApiError("server", f"answer body larger than {MAX_BODY // 1024} KiB",
                               http_status=resp.status_code, resource=req.resource)
            outcome = classify(resp.status_code, body, ctype, resource=req.resource)
            if isinstance(outcome, ApiError):
                raise self._answer_error(outcome, resp)
            return _redact_deep(outcome, self._key)

    def _answer_error(self, err: ApiError, resp: Any) -> ApiError:
        err.retry_after = parse_retry_after(resp.headers.get("Retry-After"), self.wall())
        if 300 <= resp.status_code < 400:
            target = _location_host(redact(resp.headers.get("Location", ""), self._key))
            if target:
                err.msg += f" (to host {clean(target, 80)})"
        if err.kind == "auth" and self._key_source:
            err.hint = f"the key from {clean(self._key_source, 200)} was rejected; {KINDS['auth'].hint}"
        # A server (or a proxy, or an echo page) may reflect the Authorization header.
        err.msg = redact(err.msg, self._key)
        if err.trace_id is not None:
            err.trace_id = redact(err.trace_id, self._key)
        return err

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

    def _transport_error(self, exc: BaseException, req: Request) -> ApiError:
        """A transport failure as a network error (69); the text never comes from str(exc).

        ``reached_server`` stays True unless the connection was never made (DNS failure,
        connection refused, connect timeout): only then may a create request be sent again.
        """
        import requests

        retryable = True
        reached = True
        hint = KINDS["network"].hint
        cause = None
        if isinstance(exc, _ClientClosed):
            return ApiError("network", "not sent: the client was closed", retryable=False,
                            resource=req.resource, reached_server=False)
        if isinstance(exc, _DeadlineExceeded):
            what = "no complete answer within the request deadline"
        elif _caused_by(exc, "SSLCertVerificationError", "CertificateError"):
            what = "the server's TLS certificate could not be verified"
            retryable = False  # a bad certificate does not heal in seconds: one attempt only
            reached = False  # verification is part of the handshake: no request was sent
            hint = _TLS_HINT
        elif isinstance(exc, requests.exceptions.SSLError) or _caused_by(exc, "SSLError"):
            what = "TLS handshake failed"  # e.g. EOF during the handshake: may be transient
            hint = _TLS_HINT
            if self._direct and _ssl_reason(exc) in _PLAIN_HTTP_REASONS:
                # The simulator (or another local server) answered TLS with plain HTTP.
                what = "TLS handshake failed: this server speaks plain HTTP: use http://"
                hint = f"use --base-url {self.base_url.replace('https://', 'http://', 1)}"
                retryable = False
        elif _caused_by(exc, "DecodeError", "ContentDecodingError"):
            return ApiError("server", "the answer's compressed body could not be decoded",
                            resource=req.resource)
        elif isinstance(exc, requests.exceptions.ConnectTimeout) or _caused_by(exc, "ConnectTimeoutError"):
            what = "connection timed out"
            reached = False
        elif _caused_by(exc, "ReadTimeout", "ReadTimeoutError", "TimeoutError", "timeout"):
            what = "timed out waiting for the answer"
        elif _caused_by(exc, "NameResolutionError", "gaierror"):
            what = "cannot resolve the host name"
            reached = False
        elif _caused_by(exc, "ConnectionRefusedError"):
            what = "connection refused"
            reached = False
            cause = "refused"
            if self._direct:  # nothing listens on a local port: most likely no simulator
                hint = _LOCAL_REFUSED_HINT
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
                        hint=hint, retryable=retryable, resource=req.resource, reached_server=reached,
                        cause=cause)

    def _debug(self, line: str) -> None:
        if self._log is not None:
            self._log(redact(line, self._key))


def _redact_deep(value: Any, key: str) -> Any:
    """The parsed answer with the key masked in every string (iterative: answers may nest deeply)."""
    if isinstance(value, str):
        return redact(value, key)
    if not isinstance(value, dict | list):
        return value
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in list(items):
            if isinstance(v, str):
                masked = redact(v, key)
                if masked != v:
                    node[k] = masked
            elif isinstance(v, dict | list):
                stack.append(v)
    return value


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


_LOCAL_REFUSED_HINT = ("is `browseract simulate` running? Nothing is listening on that port "
                       "(or --base-url is not the right address)")
_TLS_HINT = ("check the system clock, a corporate proxy, or REQUESTS_CA_BUNDLE; "
             "certificate checks are never turned off")


# requests keeps these None entries over the environment's proxies, then drops them: direct.
_NO_PROXY = {"http": None, "https": None, "all": None}


def _environment_settings(url: str, direct: bool) -> tuple[dict[str, str | None], bool | str]:
    """The proxies (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) and CA bundle (REQUESTS_CA_BUNDLE,
    CURL_CA_BUNDLE) requests takes from the environment with ``trust_env`` (its
    ``merge_environment_settings``), for this base URL. ~/.netrc is not read: the key goes
    through auth=, which requests never replaces from netrc anyway."""
    import os

    from requests.utils import get_environ_proxies

    proxies: dict[str, str | None] = dict(_NO_PROXY) if direct else dict(get_environ_proxies(url))
    verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return proxies, verify


def _location_host(location: str) -> str | None:
    try:
        return urlsplit(location).hostname
    except ValueError:  # e.g. an unbalanced '[' in a malformed Location
        return None


class _DeadlineExceeded(Exception):
    pass


class _ClientClosed(Exception):
    """A request after close(): refused before any connection is made."""


class _StaleConnection(Exception):
    """A kept-alive connection that the server had closed: safe to retry at once."""


def _transport_failures() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the transport failed" (requests wraps only some urllib3 ones)."""
    import http.client

    import requests
    import urllib3.exceptions

    return (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
            OSError, _DeadlineExceeded, _ClientClosed)


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


# OpenSSL's reasons when the other side answered the handshake with something that is not TLS.
_PLAIN_HTTP_REASONS = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE",
                                 "PACKET_LENGTH_TOO_LONG"})


def _ssl_reason(exc: BaseException) -> str | None:
    """The ``reason`` of an ssl.SSLError in the exception's chain (e.g. WRONG_VERSION_NUMBER)."""
    import ssl

    seen, stack = 0, [exc]
    while stack and seen < 20:
        cur = stack.pop()
        seen += 1
        if isinstance(cur, ssl.SSLError) and isinstance(getattr(cur, "reason", None), str):
            return cur.reason
        reason = getattr(cur, "reason", None)
        stack.extend(e for e in (cur.__cause__, cur.__context__, reason, *getattr(cur, "args", ()))
                     if isinstance(e, BaseException))
    return None


def _is_stale_connection(exc: BaseException) -> bool:
    return _caused_by(exc, "RemoteDisconnected", "ConnectionResetError", "BrokenPipeError") and not \
        _caused_by(exc, "NewConnectionError", "ConnectTimeoutError")
