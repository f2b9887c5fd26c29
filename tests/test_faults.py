"""The fault matrix (checklist M1): every row of section 3 that concerns one `status` lookup.

Each row runs the real CLI in-process against a real socket (the simulator, or the raw-socket
fault server of ``socket_faults.py`` for the D and F rows that need a misbehaving peer) and
asserts: the exact exit code; no ``Traceback`` on stderr; stdout empty or valid in the requested
mode (``--json`` lines parse with exactly the contract's keys); no escape byte anywhere; a
per-row wall-time bound; with a fake clock, the 30 s budget of one lookup never exceeded by more
than 1 s; zero canary hits (the autouse fixture of conftest.py). The whole matrix runs twice,
plain and with ``-v``; with ``-v`` every HTTP exchange must show the request and response lines
with the key redacted, and without it none.

Rows that do not apply here (kept as comments with the reason):

- B1-B10 (config file and directory): owned by tests/test_config_store.py and
  tests/test_config_cli.py; A rows below touch the file only as a key source.
- C8 (DURATION, --interval): options of `watch`, not `status`.
- F3 (TLS): tests/test_tls.py (needs trustme certificates).
- G1-G3 (time): `status` uses the injected monotonic clock for its budget (the FakeClock rows
  below prove the budget is counted on it); the wall clock only converts HTTP-date Retry-After
  (E6 rows and tests/test_retry.py). Watch intervals, heartbeats and elapsed_s belong to the
  watch tests.
- H1-H8 (signals, pipes, colour, TTY): the signals/terminal tests run in subprocesses and a pty.
  H4 (no escape bytes off a TTY) and H8 (--json is only JSON Lines) are asserted on every row
  here anyway.
- I1-I9 (long watch, several tasks in watch): the watch tests.
- E5/E7/E9 watch variants (I5): the watch tests.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from conftest import CANARY, FakeClock, Run
from socket_faults import (
    FaultServer,
    close_now,
    drip,
    endless_chunked,
    garbage,
    gzip_bomb,
    header_drip,
    keepalive_then_drop,
    never_answer,
    reset_mid_body,
    short_body,
    status_line,
)

from browseract_cli import transport
from browseract_cli.api import ApiClient, Timeouts
from browseract_cli.endpoints import get_task_status
from browseract_cli.errors import KIND_EXIT, ApiError
from browseract_cli.models import TaskState
from browseract_cli.retry import RetryPolicy
from browseract_cli.simulator import SimServer

JSON_KEYS = {"task_id", "status", "exit_code", "error"}
ERROR_KEYS = {"kind", "http_status", "code", "msg", "trace_id"}
KINDS = set(KIND_EXIT)
CONTRACT_CODES = {0, 1, 2, 10, 11, 12, 13, 14, 65, 66, 69, 75, 76, 77, 78, 124, 130, 141, 143}
BUDGET_S = 30.0

# Rows "about time" run in real time with short client timeouts instead of the defaults
# (connect 5 s, read 10 s, request 20 s, budget 30 s): the same code paths, scaled down.
FAST_TIMEOUTS = Timeouts(connect_s=0.3, read_s=0.3, request_s=0.6)
FAST_POLICY = RetryPolicy(budget_s=1.5)
FAST_BOUND = FAST_POLICY.budget_s + 1.0  # the budget may never be exceeded by more than 1 s
REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- the row type


@dataclass
class Ctx:
    """What one row run has to work with (filled by the row's setup)."""

    row: Row
    mode: str
    verbose: bool
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    make_sim: Callable[..., SimServer]
    stack: list[FaultServer] = field(default_factory=list)
    primary: SimServer | FaultServer | None = None
    base_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def sim(self, tasks: dict[str, list[dict[str, Any]]], **kw: Any) -> SimServer:
        server = self.make_sim(tasks, **kw)
        if self.primary is None:
            self.primary, self.base_url = server, server.url
        return server

    def faults(self, *faults: Any, **kw: Any) -> FaultServer:
        server = FaultServer(*faults, **kw).start()
        self.stack.append(server)
        if self.primary is None:
            self.primary, self.base_url = server, server.url
        return server

    def requests(self) -> int:
        if isinstance(self.primary, SimServer):
            return self.primary.request_count()
        if isinstance(self.primary, FaultServer):
            return self.primary.request_count
        return 0

    def write_config(self, profiles: dict[str, dict[str, str]]) -> Path:
        directory = self.tmp / "config"
        directory.mkdir(mode=0o700, exist_ok=True)
        path = directory / "config.toml"
        path.write_bytes(tomli_w.dumps({"profiles": profiles}).encode())
        path.chmod(0o600)
        return path


Setup = Callable[[Ctx], None]
Check = Callable[[Ctx, Run], None]


@dataclass(frozen=True)
class Row:
    id: str
    expect: int
    steps: list[dict[str, Any]] | None = None  # simulator steps for task "t"
    fault: Callable[[], Any] | None = None  # a socket_faults factory call, per run
    setup: Setup | None = None
    check: Check | None = None
    args: tuple[str, ...] = ("t",)
    env: dict[str, str] = field(default_factory=dict)
    requests: int | None = None  # requests the server must have received
    responds: bool = True  # a complete HTTP answer arrives (so -v logs "< HTTP")
    fake_clock: bool = False
    sleeps: tuple[float, ...] | None = None  # the exact waits, with a fake clock
    fast: bool = False  # short client timeouts and budget (rows about real time)
    max_s: float = 5.0
    modes: tuple[str, ...] = ("json", "human")
    stderr_has: tuple[str, ...] = ()
    input: str | None = None


def sim_row(id: str, expect: int, steps: list[dict[str, Any]], **kw: Any) -> Row:
    return Row(id, expect, steps=steps, **kw)


def body(text: str | bytes, http: int = 200, **kw: Any) -> list[dict[str, Any]]:
    return [{"body": text, "http": http, "content_type": kw.pop("content_type", "application/json"), **kw}]


def http(status: int, **kw: Any) -> list[dict[str, Any]]:
    return [{"http": status, **kw}]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http_date(offset_s: float, tz: timezone = UTC) -> str:
    when = datetime.now(UTC) + timedelta(seconds=offset_s)
    return format_datetime(when.astimezone(tz), usegmt=tz is UTC)


# --------------------------------------------------------------------------- setups and checks


def unset_key(ctx: Ctx) -> None:
    ctx.monkeypatch.delenv("BROWSERACT_API_KEY", raising=False)
    ctx.sim({"t": [{"status": "finished"}]})


def key_env(value: str) -> Setup:
    def setup(ctx: Ctx) -> None:
        ctx.monkeypatch.setenv("BROWSERACT_API_KEY", value)
        ctx.sim({"t": [{"status": "finished"}]})

    return setup


def key_file(value: str, env_value: str | None = None) -> Setup:
    def setup(ctx: Ctx) -> None:
        if env_value is None:
            ctx.monkeypatch.delenv("BROWSERACT_API_KEY", raising=False)
        else:
            ctx.monkeypatch.setenv("BROWSERACT_API_KEY", env_value)
        ctx.write_config({"default": {"api_key": value}})
        ctx.sim({"t": [{"status": "finished"}]})

    return setup


def profile_without_key(ctx: Ctx) -> None:
    ctx.monkeypatch.delenv("BROWSERACT_API_KEY", raising=False)
    server = ctx.sim({"t": [{"status": "finished"}]})
    ctx.write_config({"default": {"base_url": server.url}})


def sent_bearer_canary(ctx: Ctx, run: Run) -> None:
    assert isinstance(ctx.primary, SimServer)
    assert [r.authorization for r in ctx.primary.requests] == [f"Bearer {CANARY}"]


def netrc_entry(ctx: Ctx) -> None:
    path = ctx.tmp / "netrc"
    path.write_text("machine 127.0.0.1 login netrc-user password netrc-password\n"
                    "default login other-user password other-password\n")
    path.chmod(0o600)
    ctx.monkeypatch.setenv("NETRC", str(path))
    ctx.sim({"t": [{"status": "finished"}]})


def flag_beats_env_url(ctx: Ctx) -> None:
    chosen = ctx.sim({"t": [{"status": "finished"}]})
    other = ctx.make_sim({"t": [{"status": "finished"}]})
    ctx.monkeypatch.setenv("BROWSERACT_BASE_URL", other.url)
    ctx.base_url = None  # only the flag names the chosen server
    ctx.extra.update(other=other, flag=["--base-url", chosen.url])


def only_chosen_host(ctx: Ctx, run: Run) -> None:
    assert ctx.extra["other"].request_count() == 0
    assert ctx.requests() == 1
    if ctx.verbose:
        assert f"> GET {ctx.primary.url}/" in run.stderr  # type: ignore[union-attr]


def special_ids(ctx: Ctx) -> None:
    ctx.sim({task: [{"status": "finished"}] for task in SPECIAL_IDS})


def sent_exactly(ctx: Ctx, run: Run) -> None:
    assert isinstance(ctx.primary, SimServer)
    records = ctx.primary.requests
    assert sorted(r.task_id for r in records) == sorted(SPECIAL_IDS)  # sent at once, on the pool
    for record in records:
        assert set(record.query) == {"task_id"}, record.query
        assert len(record.query["task_id"]) == 1


SPECIAL_IDS = ("abc&status=finished", "abc#frag", "a/b/../c", "100%25%", "a?b=c", "a+b c",
               "tâche-ü-日本語", " lead", "x" * 256, "'\"<>;`$(x)")


def base_url_only(url_template: str) -> Setup:
    """A base URL built around a fault server that must never see a connection."""

    def setup(ctx: Ctx) -> None:
        server = ctx.faults()
        ctx.base_url = url_template.format(port=server.port)

    return setup


def no_connection(ctx: Ctx, run: Run) -> None:
    assert isinstance(ctx.primary, FaultServer)
    time.sleep(0.05)  # let an (unexpected) accept be counted
    assert ctx.primary.connections == 0


def refused(ctx: Ctx) -> None:
    ctx.base_url = f"http://127.0.0.1:{closed_port()}"


def unresolvable(ctx: Ctx) -> None:
    ctx.base_url = "https://nonexistent.invalid"  # RFC 6761: never resolves, no network needed


def black_hole(ctx: Ctx) -> None:
    """A listener whose backlog is full: the kernel drops further SYNs, so connect() hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    ctx.extra["sockets"] = [listener, filler]
    ctx.base_url = f"http://127.0.0.1:{port}"


def redirect_to_second(status: int, location: str | None = None) -> Setup:
    def setup(ctx: Ctx) -> None:
        second = ctx.make_sim({"t": [{"status": "finished"}]})
        target = location or f"{second.url}/v2/workflow/get-task-status?task_id=t"
        ctx.sim({"t": [{"http": status, "location": target}]})
        ctx.extra["second"] = second

    return setup


def second_untouched(ctx: Ctx, run: Run) -> None:
    assert ctx.extra["second"].request_count() == 0
    assert ctx.extra["second"].connections_opened == 0


def via_proxy(no_proxy: bool) -> Setup:
    """A proxy in the environment while the API is on loopback: loopback is always direct."""
    def setup(ctx: Ctx) -> None:
        ctx.sim({"t": [{"status": "finished"}]})
        proxy = ctx.make_sim({"t": [{"status": "running"}]})  # answers as the origin would
        ctx.monkeypatch.setenv("HTTP_PROXY", f"http://proxy-user:proxy-secret-pw@127.0.0.1:{proxy.port}")
        ctx.monkeypatch.delenv("http_proxy", raising=False)
        if no_proxy:
            ctx.monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        else:
            ctx.monkeypatch.delenv("NO_PROXY", raising=False)
        ctx.monkeypatch.delenv("no_proxy", raising=False)
        ctx.extra["proxy"] = proxy

    return setup


def remote_via_proxy(ctx: Ctx) -> None:
    """A non-loopback API with HTTPS_PROXY set: the connection goes to the proxy (a CONNECT)."""
    proxy = ctx.make_sim({})  # not a real proxy: it refuses the CONNECT, which is enough here
    ctx.monkeypatch.setenv("HTTPS_PROXY", f"http://proxy-user:proxy-secret-pw@127.0.0.1:{proxy.port}")
    for name in ("https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        ctx.monkeypatch.delenv(name, raising=False)
    ctx.base_url = "https://api.browseract.test"  # never resolved here: the proxy would do that
    ctx.extra["proxy"] = proxy


def went_through_proxy(ctx: Ctx, run: Run) -> None:
    proxy = ctx.extra["proxy"]
    assert proxy.connections_opened >= 1
    # Only a CONNECT reaches the proxy: the key travels inside the (TLS) tunnel, never to it.
    assert all(CANARY not in (r.authorization or "") for r in proxy.requests)
    assert "proxy-secret-pw" not in run.stdout + run.stderr


def went_direct(ctx: Ctx, run: Run) -> None:
    assert ctx.requests() == 1
    assert ctx.extra["proxy"].request_count() == 0


def retry_after_date(offset_s: float, tz: timezone = UTC) -> Setup:
    def setup(ctx: Ctx) -> None:
        ctx.sim({"t": [{"http": 429, "retry_after": _http_date(offset_s, tz)}]})

    return setup


def waits_between(low: float, high: float, count: int) -> Check:
    def check(ctx: Ctx, run: Run) -> None:
        sleeps = ctx.extra["clock"].sleeps
        assert len(sleeps) == count, sleeps
        assert all(low <= s <= high for s in sleeps), sleeps

    return check


def names(*parts: str) -> Check:
    def check(ctx: Ctx, run: Run) -> None:
        for part in parts:
            assert part in run.stderr, (part, run.stderr)

    return check


def json_error(**expected: Any) -> Check:
    def check(ctx: Ctx, run: Run) -> None:
        if ctx.mode != "json":
            return
        error = json.loads(run.stdout.splitlines()[0])["error"]
        for key, value in expected.items():
            assert error[key] == value, (key, error)

    return check


def quiet_on_reconnect(ctx: Ctx, run: Run) -> None:
    assert isinstance(ctx.primary, FaultServer)
    assert ctx.primary.connections == 2
    if ctx.verbose:
        assert "reconnecting" in run.stderr
    else:
        assert run.stderr == ""


def both(*checks: Check) -> Check:
    def check(ctx: Ctx, run: Run) -> None:
        for one in checks:
            one(ctx, run)

    return check


def fault_row(id: str, expect: int, make: Callable[[], Any], **kw: Any) -> Row:
    return Row(id, expect, fault=make, **kw)


# --------------------------------------------------------------------------- the rows

ENVELOPE_ESC = "\x1b]0;pwned\x07\x1b[2J[link=https://evil.example]click[/link]\x9b31m"
HUGE = "x" * 100_000

ROWS: list[Row] = [
    # ---- A. Credentials
    Row("A1-env-unset", 78, setup=unset_key, requests=0, stderr_has=("BROWSERACT_API_KEY", "set-key")),
    Row("A1-env-empty", 78, setup=key_env(""), requests=0, stderr_has=("set-key",)),
    Row("A1-env-blank", 78, setup=key_env(" \t "), requests=0),
    Row("A1-profile-without-key", 78, setup=profile_without_key, requests=0),
    Row("A2-empty-env-file-applies", 0, setup=key_file(CANARY, env_value=""), requests=1,
        check=sent_bearer_canary),
    Row("A3-env-surrounding-whitespace", 0, setup=key_env(f"  {CANARY}\n"), requests=1,
        check=sent_bearer_canary),
    Row("A3-file-surrounding-whitespace", 0, setup=key_file(f"\t{CANARY} \n"), requests=1,
        check=sent_bearer_canary),
    *[Row(f"A4-env-{name}", 78, setup=key_env(CANARY + bad), requests=0,
          stderr_has=("BROWSERACT_API_KEY",))
      for name, bad in [("space", " x"), ("tab", "\tx"), ("cr", "\rx"), ("lf", "\nx"),
                        ("esc", "\x1b[2J"), ("del", "\x7f"), ("non-ascii", "é"), ("nbsp", "\xa0x"),
                        ("c1", "\x85x"), ("emoji", "🔑")]],
    Row("A4-file-inner-space", 78, setup=key_file(CANARY + " x"), requests=0,
        stderr_has=("config file",)),
    # A5: no --api-key option on status: a usage error before anything else (and no echo).
    Row("A5-no-api-key-option", 2, steps=[{"status": "finished"}], args=("--api-key", CANARY, "t"),
        requests=0),
    # A6/A7: the env key is used and never printed: every row (the canary check), -v runs.
    Row("A8-env-beats-file", 0, setup=key_file("ba_other_file_key_000000000", env_value=CANARY),
        requests=1, check=sent_bearer_canary),
    Row("A9-flag-beats-env-base-url", 0, setup=flag_beats_env_url, check=only_chosen_host),
    Row("A10-netrc-does-not-replace-bearer", 0, setup=netrc_entry, requests=1,
        check=sent_bearer_canary),
    # ---- C. Input validation
    Row("C1-special-ids-sent-exactly", 0, setup=special_ids, args=SPECIAL_IDS,
        requests=len(SPECIAL_IDS), check=sent_exactly, modes=("json", "human", "quiet")),
    Row("C2-surrogate-escape-arg", 2, steps=[{"status": "finished"}], args=("abc\udcff",), requests=0),
    Row("C3-257-chars", 2, steps=[{"status": "finished"}], args=("x" * 257,), requests=0),
    Row("C3-256-chars-sent", 66, steps=[{"status": "finished"}], args=("y" * 256,), requests=1),
    Row("C4-empty", 2, steps=[{"status": "finished"}], args=("",), requests=0),
    *[Row(f"C4-control-{name}", 2, steps=[{"status": "finished"}], args=(f"a{ch}b",), requests=0)
      for name, ch in [("tab", "\t"), ("newline", "\n"), ("esc", "\x1b"), ("nul-ish", "\x01"),
                       ("c1", "\x9b")]],
    Row("C4-one-bad-among-good", 2, steps=[{"status": "finished"}], args=("t", "t\x1b[2J"), requests=0),
    Row("C4-space-only-is-sent", 66, steps=[{"status": "finished"}], args=(" ",), requests=1),
    Row("C5-stdin-skips-blank-comment-crlf", 0, steps=[{"status": "finished"}], args=("-",),
        input="\n# a comment\r\n   \nt\r\n\n", requests=1),
    Row("C5-stdin-one-bad-line", 2, steps=[{"status": "finished"}], args=("-",),
        input="t\n" + "z" * 300 + "\nt\n", requests=0),
    *[Row(f"C6-{name}", 78, setup=base_url_only(url), requests=0, check=no_connection)
      for name, url in [("userinfo", "http://user:pw@127.0.0.1:{port}"),
                        ("userinfo-host-trick", "https://api.browseract.com@127.0.0.1:{port}"),
                        ("ftp-scheme", "ftp://127.0.0.1:{port}"),
                        ("no-scheme", "127.0.0.1:{port}"),
                        ("http-non-loopback", "http://192.0.2.1:{port}"),
                        ("http-name-non-loopback", "http://example.com:{port}")]],
    *[Row(f"C7-{name}", 78, setup=base_url_only(url), requests=0, check=no_connection)
      for name, url in [("query", "http://127.0.0.1:{port}/?x=1"),
                        ("fragment", "http://127.0.0.1:{port}/#x")]],
    Row("C7-trailing-slash-normalised", 0, setup=lambda ctx: setattr(
        ctx, "base_url", ctx.sim({"t": [{"status": "finished"}]}).url + "/"), requests=1),
    # C8: watch options (not status).
    # ---- D. Response content
    sim_row("D1-html-200", 76, body("<html>captive portal</html>", content_type="text/html"),
            requests=1, stderr_has=("text/html",)),
    sim_row("D2-empty-200", 76, body(""), requests=1),
    sim_row("D2-empty-204", 76, body("", http=204), requests=1),
    *[sim_row(f"D3-{name}", 76, body(text), requests=1)
      for name, text in [("invalid", "{status: running}"), ("truncated", '{"status": "runn'),
                         ("array", "[]"), ("string", '"x"'), ("number", "1"), ("null", "null"),
                         ("true", "true")]],
    sim_row("D4-deep-array", 76, body("[" * 200_000), requests=1),
    sim_row("D4-deep-object", 76, body('{"status":"running","x":' + '{"a":' * 100_000), requests=1),
    sim_row("D5-over-1MiB-with-length", 76, body('{"status":"' + "r" * (1 << 20) + '"}'), requests=1),
    fault_row("D5-endless-chunked", 76, endless_chunked, requests=1),
    fault_row("D6-gzip-bomb", 76, gzip_bomb, requests=1),
    *[sim_row(f"D7-status-{name}", 76, body(text), requests=1)
      for name, text in [("missing", '{"state":"running"}'), ("null", '{"status":null}'),
                         ("number", '{"status":3}'), ("list", '{"status":["running"]}'),
                         ("object", '{"status":{"v":"running"}}'), ("bool", '{"status":true}')]],
    sim_row("D8-200-envelope-10112", 66, body('{"code":10112,"msg":"Task is not exist."}'), requests=1),
    sim_row("D8-200-envelope-401", 77, body('{"code":401,"msg":"Invalid authorization"}'), requests=1),
    sim_row("D8-200-envelope-99002", 77, body('{"code":99002,"msg":"key expired"}'), requests=1),
    sim_row("D8-200-envelope-99001", 65, body('{"code":99001,"msg":"param"}'), requests=1),
    sim_row("D8-200-envelope-unlisted", 76, body('{"code":12345,"msg":"odd","status":"finished"}'),
            requests=1),
    sim_row("D8-500-envelope-10112-final", 66, http(500, code=10112), requests=1),
    sim_row("D8-503-envelope-unlisted-retried", 76, http(503, code=12345), requests=4),
    sim_row("D8-429-envelope-99002-final", 77, http(429, code=99002), requests=1),
    sim_row("D9-code-string", 14, body('{"code":"401","status":"running"}'), requests=1),
    sim_row("D9-code-bool", 76, body('{"code":true,"msg":"x"}'), requests=1),
    sim_row("D9-code-float", 76, body('{"code":1.0,"msg":"x"}'), requests=1),
    sim_row("D9-code-zero-no-status", 76, body('{"code":0,"msg":"ok"}'), requests=1),
    sim_row("D9-code-zero-with-status", 0, body('{"code":0,"status":"finished"}'), requests=1),
    sim_row("D10-queued", 13, [{"status": "queued"}], requests=1, stderr_has=("queued", "unknown")),
    sim_row("D10-unknown", 13, [{"status": "unknown"}], requests=1),
    sim_row("D10-empty-string", 13, [{"status": ""}], requests=1),
    sim_row("D11-escapes-in-status", 13, [{"status": "\x1b]8;;https://evil\x07finished\x1b[0m"}],
            requests=1, modes=("json", "human", "quiet")),
    sim_row("D11-markup-in-status", 13, [{"status": "[link=https://evil.example]finished[/link]"}],
            requests=1, modes=("json", "human", "quiet")),
    sim_row("D11-huge-status", 13, [{"status": HUGE}], requests=1, modes=("json", "human", "quiet")),
    sim_row("D11-escapes-in-envelope", 65, body(json.dumps(
        {"code": 99001, "msg": ENVELOPE_ESC, "traceId": ENVELOPE_ESC + HUGE}), http=400), requests=1),
    sim_row("D11-escapes-in-retried-msg", 76, body(json.dumps(
        {"code": 503, "msg": ENVELOPE_ESC}), http=503), requests=4),
    sim_row("D12-bom", 0, body(b'\xef\xbb\xbf{"status":"finished"}'), requests=1),
    sim_row("D12-invalid-utf8", 76, body(b'{"status":"fin\xffished"}'), requests=1),
    sim_row("D12-nan-accepted", 14, body('{"status":"running","progress":NaN}'), requests=1),
    sim_row("D12-duplicate-keys-last-wins", 0, body('{"status":"failed","status":"finished"}'),
            requests=1),
    sim_row("D12-lone-surrogate", 13, body('{"status":"fin\\ud800ished"}'), requests=1),
    # ---- E. HTTP status
    Row("E1-401-wrong-key", 77, setup=lambda ctx: ctx.sim({"t": [{"status": "finished"}]},
                                                          api_key="some-other-key-0000"),
        requests=1, stderr_has=("set-key",)),
    sim_row("E1-401-bare", 77, body("Unauthorized", http=401, content_type="text/plain"), requests=1),
    sim_row("E2-403", 77, http(403), requests=1),
    sim_row("E2-403-bare", 77, body("", http=403), requests=1),
    sim_row("E3-404-bare", 65, body("<h1>Not Found</h1>", http=404, content_type="text/html"),
            requests=1, stderr_has=("--base-url",)),
    sim_row("E4-400-99001", 65, http(400, code=99001), requests=1),
    sim_row("E4-400-10112", 66, http(400, code=10112), requests=1),
    *[sim_row(f"E4-{status}", 65, http(status), requests=1) for status in (405, 409, 414, 422)],
    sim_row("E5-429-retry-after-7", 75, http(429, retry_after="7"), requests=4, fake_clock=True,
            sleeps=(7.0, 7.0, 7.0)),
    Row("E6-http-date-gmt", 75, setup=retry_after_date(5), requests=4, fake_clock=True,
        check=waits_between(3.0, 5.0, 3)),
    Row("E6-http-date-offset", 75, setup=retry_after_date(5, timezone(timedelta(hours=-7))),
        requests=4, fake_clock=True, check=waits_between(3.0, 5.0, 3)),
    Row("E6-http-date-past", 75, setup=retry_after_date(-3600), requests=4, fake_clock=True,
        sleeps=(0.0, 0.0, 0.0)),
    Row("E6-http-date-far-future", 75, setup=retry_after_date(10 * 365 * 86400), requests=1,
        fake_clock=True, sleeps=()),
    sim_row("E7-429-backoff", 75, http(429), requests=4, fake_clock=True, sleeps=(0.5, 1.0, 2.0)),
    *[sim_row(f"E8-{status}", 76, http(status), requests=4, fake_clock=True,
              sleeps=(0.5, 1.0, 2.0), stderr_has=(f"HTTP {status}",))
      for status in (500, 502, 503, 504)],
    sim_row("E8-names-last-status", 76, [{"http": 503}, {"http": 500}, {"http": 502}, {"http": 504}],
            requests=4, stderr_has=("HTTP 504",)),
    sim_row("E8-recovers", 0, [{"http": 503}, {"http": 502}, {"status": "finished"}], requests=3),
    sim_row("E9-408", 65, http(408), requests=4, fake_clock=True, sleeps=(0.5, 1.0, 2.0)),
    sim_row("E10-99999999", 75, http(429, retry_after="99999999"), requests=1, fake_clock=True,
            sleeps=()),
    sim_row("E10-60", 75, http(429, retry_after="60"), requests=1, fake_clock=True, sleeps=()),
    sim_row("E10-29", 75, http(429, retry_after="29"), requests=2, fake_clock=True, sleeps=(29.0,)),
    *[sim_row(f"E10-{name}", 75, http(429, retry_after=value), requests=4, fake_clock=True,
              sleeps=(0.5, 1.0, 2.0))
      for name, value in [("minus-1", "-1"), ("fraction", "1.5"), ("word", "soon"), ("empty", ""),
                          ("hex", "0x10"), ("plus", "+5"), ("superscript-digit", "³")]],
    sim_row("E10-503-retry-after-40", 76, http(503, retry_after="40"), requests=1, fake_clock=True,
            sleeps=()),
    *[Row(f"E11-{status}", 76, setup=redirect_to_second(status), requests=1, check=second_untouched,
          stderr_has=("redirect",))
      for status in (300, 301, 302, 303, 304, 307, 308)],
    Row("E11-to-other-host-named", 76, setup=redirect_to_second(302, "https://evil.example/steal"),
        requests=1, check=second_untouched, stderr_has=("evil.example",)),
    Row("E11-malformed-location", 76, setup=redirect_to_second(301, "http://[::1/x"), requests=1,
        check=second_untouched),
    *[sim_row(f"E12-{status}", 76, http(status), requests=1) for status in (501, 505, 599)],
    *[sim_row(f"E12-{status}-valid-body", 76, body('{"status":"finished"}', http=status), requests=1)
      for status in (201, 202, 203, 206, 299)],
    fault_row("E12-103-final", 76, lambda: status_line(b"HTTP/1.1 103 Early Hints"), requests=1),
    fault_row("E12-199-final", 76, lambda: status_line(b"HTTP/1.1 199 Odd"), requests=1),
    fault_row("E12-299-line", 76, lambda: status_line(b"HTTP/1.1 299 Odd"), requests=1),
    fault_row("E12-999", 76, lambda: status_line(b"HTTP/1.1 999 Odd"), requests=1),
    sim_row("E13-error-carries-facts", 65,
            body('{"code":99001,"msg":"request parameter error","traceId":"trace-abc-123"}', http=400),
            requests=1,
            stderr_has=("HTTP 400", "code 99001", "request parameter error", "traceId trace-abc-123",
                        "hint:"),
            check=json_error(kind="bad_request", http_status=400, code=99001,
                             msg="request parameter error", trace_id="trace-abc-123")),
    # ---- F. Transport
    Row("F1-refused", 69, setup=refused, responds=False, fake_clock=True, sleeps=(0.5, 1.0, 2.0),
        stderr_has=("connection refused", "127.0.0.1")),
    Row("F2-dns", 69, setup=unresolvable, responds=False, fake_clock=True, sleeps=(0.5, 1.0, 2.0),
        stderr_has=("cannot resolve", "--base-url"), max_s=10.0),
    # F3: tests/test_tls.py.
    Row("F4-connect-timeout", 69, setup=black_hole, responds=False, fast=True, max_s=FAST_BOUND,
        modes=("json",), stderr_has=("timed out",)),
    fault_row("F5-never-answers", 69, never_answer, responds=False, fast=True, max_s=FAST_BOUND,
              modes=("json",), stderr_has=("timed out",)),
    fault_row("F6-body-drip", 69, lambda: drip(every_s=0.02), responds=False, fast=True, max_s=FAST_BOUND,
              modes=("json",), stderr_has=("deadline",)),
    fault_row("F6-header-drip", 69, lambda: header_drip(every_s=0.02), responds=False, fast=True,
              max_s=FAST_BOUND, modes=("json",), stderr_has=("deadline",)),
    # A reset may also hit the status line, which counts as a stale keep-alive connection and
    # is retried at once: the waits, not the request count, show the 4 attempts.
    fault_row("F7-reset-mid-body", 69, reset_mid_body, responds=False, fake_clock=True,
              sleeps=(0.5, 1.0, 2.0)),
    fault_row("F7-short-content-length", 69, short_body, requests=4, responds=False),
    fault_row("F7-garbage-not-http", 69, garbage, requests=4, responds=False),
    fault_row("F7-close-without-answer", 69, close_now, responds=False),
    fault_row("F7-http2-status-line", 69, lambda: status_line(b"HTTP/2.0 200 OK"), responds=False),
    # One lookup at a time, so that the second one reuses the connection the server dropped.
    fault_row("F8-keepalive-dropped-on-reuse", 0, keepalive_then_drop, args=("t1", "t2"),
              requests=3, check=quiet_on_reconnect, modes=("json", "human", "quiet"),
              env={"BROWSERACT_CONCURRENCY": "1"}),
    Row("F9-proxy-honoured", 69, setup=remote_via_proxy, check=went_through_proxy, responds=False,
        stderr_has=("through the proxy",)),
    Row("F9-loopback-never-proxied", 0, setup=via_proxy(no_proxy=False), check=went_direct),
    Row("F9-no-proxy-honoured", 0, setup=via_proxy(no_proxy=True), check=went_direct),
]

VERBOSITY = [pytest.param(False, id="plain"), pytest.param(True, id="verbose")]


# --------------------------------------------------------------------------- the runner


@pytest.fixture
def fast_client(client_limits: Callable[..., None]) -> Callable[[], None]:
    """Make the CLI build its ApiClient with short timeouts and budget (rows about real time)."""
    return lambda: client_limits(FAST_TIMEOUTS, FAST_POLICY)


@pytest.fixture
def ctx_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                make_sim: Callable[..., SimServer]) -> Iterator[Callable[..., Ctx]]:
    made: list[Ctx] = []

    def make(row: Row, mode: str, verbose: bool) -> Ctx:
        ctx = Ctx(row, mode, verbose, tmp_path, monkeypatch, make_sim)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        for server in ctx.stack:
            server.stop()
        for sock in ctx.extra.get("sockets", []):
            sock.close()


MODE_ARGS = {"json": ["--json"], "human": [], "quiet": ["-q"]}


@pytest.mark.parametrize("verbose", VERBOSITY)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_fault_matrix(row: Row, verbose: bool, cli: Callable[..., Run], ctx_factory: Callable[..., Ctx],
                      fast_client: Callable[[], None]) -> None:
    assert row.expect in CONTRACT_CODES
    if row.fast:
        fast_client()
    for mode in row.modes:
        ctx = ctx_factory(row, mode, verbose)
        if row.setup is not None:
            row.setup(ctx)
        elif row.steps is not None:
            ctx.sim({"t": row.steps})
        elif row.fault is not None:
            ctx.faults(row.fault())
        clock = FakeClock() if row.fake_clock else None
        ctx.extra["clock"] = clock
        argv = (["-v"] if verbose else []) + ctx.extra.get("flag", []) + ["status", *MODE_ARGS[mode],
                                                                          *row.args]
        started = time.monotonic()
        run = cli(*argv, expect=row.expect, base_url=ctx.base_url, clock=clock, env=row.env,
                  input=row.input)
        elapsed = time.monotonic() - started
        check_run(ctx, run, elapsed, clock)


def check_run(ctx: Ctx, run: Run, elapsed: float, clock: FakeClock | None) -> None:
    row = ctx.row
    where = f"{row.id} [{ctx.mode}{', -v' if ctx.verbose else ''}]"
    assert elapsed <= row.max_s, f"{where}: took {elapsed:.2f}s > {row.max_s}s"
    if clock is not None:
        assert clock.now - 1000.0 <= BUDGET_S + 1.0, f"{where}: the lookup ran past its budget"
        if row.sleeps is not None:
            assert clock.sleeps == pytest.approx(list(row.sleeps)), f"{where}: {clock.sleeps}"
    assert "Traceback" not in run.stderr
    for text in (run.stdout, run.stderr):
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text, where
        assert CANARY not in text, where
    if row.requests is not None:
        assert ctx.requests() == row.requests, f"{where}: {ctx.requests()} requests"
    if isinstance(ctx.primary, FaultServer):
        assert ctx.primary.errors == [], ctx.primary.errors
    check_stdout(ctx, run)
    for part in row.stderr_has:
        assert part in run.stderr, f"{where}: {part!r} not in stderr:\n{run.stderr}"
    sent = "> GET " in run.stderr
    if not ctx.verbose:
        assert not sent and "< HTTP" not in run.stderr, where
    elif row.requests == 0 or row.expect in (2, 78):
        assert not sent, where
    elif row.expect not in (2, 78):
        assert sent and "Authorization: Bearer ****" in run.stderr, where
        if row.responds:
            assert "< HTTP " in run.stderr, where
    if row.expect >= 65:
        assert "error:" in run.stderr and "hint:" in run.stderr, where
    if row.check is not None:
        row.check(ctx, run)


def check_stdout(ctx: Ctx, run: Run) -> None:
    row = ctx.row
    n_tasks = 1 if row.args == ("-",) else len(row.args)
    if row.expect == 2:
        assert run.stdout == ""
        return
    if ctx.mode == "json":
        docs = [json.loads(line) for line in run.stdout.splitlines()]
        assert len(docs) == n_tasks, run.stdout
        for doc in docs:
            assert set(doc) == JSON_KEYS
            assert doc["status"] is None or isinstance(doc["status"], str)
            assert len(doc["status"] or "") <= 200
            assert doc["exit_code"] in CONTRACT_CODES
            if doc["error"] is None:
                assert doc["status"] is not None
            else:
                assert set(doc["error"]) == ERROR_KEYS
                assert doc["error"]["kind"] in KINDS
                assert int(KIND_EXIT[doc["error"]["kind"]]) == doc["exit_code"]
                assert doc["status"] is None
        if n_tasks == 1:
            assert docs[0]["exit_code"] == row.expect
        return
    lines = run.stdout.splitlines()
    if row.expect >= 65:  # no task outcome to show (one task, or all failed)
        assert run.stdout == ""
    elif ctx.mode == "quiet":
        assert len(lines) == n_tasks
        assert all(len(line) <= 600 for line in lines)
    else:
        assert lines[0].split() == ["TASK", "STATUS"]
        assert len(lines) == n_tasks + 1
        assert all(len(line) <= 600 for line in lines)


# --------------------------------------------------------------------------- rows with a process


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX argv is bytes; Windows argv is text")
@pytest.mark.parametrize("verbose", VERBOSITY)
def test_c2_non_utf8_argv_in_a_real_process(verbose: bool, sim: SimServer, tmp_path: Path) -> None:
    """C2 in a real process: the kernel hands over bytes that are not UTF-8 (surrogate escapes)."""
    import os

    env = {**os.environ, "BROWSERACT_BASE_URL": sim.url, "PYTHONPATH": str(REPO),
           "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}
    argv = [sys.executable.encode(), b"-m", b"browseract_cli"] + ([b"-v"] if verbose else []) + [
        b"status", b"--json", b"task-\xff\xfe"]
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False)
    assert time.monotonic() - started < 20
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == b""
    assert b"Traceback" not in proc.stderr and b"UnicodeEncodeError" not in proc.stderr
    assert CANARY.encode() not in proc.stderr
    assert sim.request_count() == 0


def test_matrix_covers_every_single_lookup_row() -> None:
    """Every checklist row in scope has at least one matrix entry (the rest: module docstring)."""
    in_scope = {f"A{i}" for i in (1, 2, 3, 4, 5, 8, 9, 10)} | {f"C{i}" for i in range(1, 8)} | {
        f"D{i}" for i in range(1, 13)} | {f"E{i}" for i in range(1, 14)} | {
        "F1", "F2", "F4", "F5", "F6", "F7", "F8", "F9"}
    covered = {row.id.split("-")[0] for row in ROWS} | {"C2"}
    assert in_scope <= covered, sorted(in_scope - covered)


# --------------------------------------------------------------------------- the client directly


@pytest.fixture
def short_client() -> Iterator[Callable[..., ApiClient]]:
    """ApiClients with short, explicit timeouts and instant retry sleeps."""
    made: list[ApiClient] = []

    def make(url: str, timeouts: Timeouts, attempts: int = 1, budget_s: float = 5.0) -> ApiClient:
        client = ApiClient(url, CANARY, timeouts=timeouts,
                           policy=RetryPolicy(max_attempts=attempts, budget_s=budget_s),
                           sleep=lambda s: None, uniform=lambda a, b: b)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _lookup(client: ApiClient) -> tuple[TaskState | ApiError, float]:
    started = time.monotonic()
    try:
        outcome: TaskState | ApiError = get_task_status(client, "t")
    except ApiError as exc:
        outcome = exc
    return outcome, time.monotonic() - started


@pytest.mark.parametrize("fault", [header_drip, drip], ids=["headers", "body"])
def test_the_request_deadline_beats_a_long_read_timeout(short_client: Callable[..., ApiClient],
                                                        fault: Callable[..., Any]) -> None:
    """Finding 9: each byte arrives well within the 5 s read timeout; only the 0.5 s overall
    deadline (the watchdog for the header block, the read loop for the body) ends the drip."""
    with FaultServer(fault(every_s=0.02)) as server:
        outcome, elapsed = _lookup(short_client(server.url, Timeouts(5.0, 5.0, 0.5)))
    assert isinstance(outcome, ApiError) and outcome.exit_code == 69, outcome
    assert "deadline" in outcome.msg
    assert elapsed < 0.5 + 1.0


def test_a_slow_answer_that_ends_in_time_is_not_cut(short_client: Callable[..., ApiClient]) -> None:
    with FaultServer(drip(b'{"status":"finished"}', every_s=0.01)) as server:
        outcome, elapsed = _lookup(short_client(server.url, Timeouts(5.0, 5.0, 2.0)))
    assert outcome == TaskState("finished")
    assert 0.2 <= elapsed < 2.0


def test_the_watchdog_is_one_thread_and_forgets_finished_requests(
        short_client: Callable[..., ApiClient], sim: SimServer) -> None:
    sim.add_task("t", [{"status": "running"}])
    client = short_client(sim.url, Timeouts(5.0, 5.0, 20.0))
    for _ in range(200):
        assert get_task_status(client, "t") == TaskState("running")
    watchdogs = [t for t in threading.enumerate() if t.name == "browseract-deadline"]
    assert len(watchdogs) == 1
    assert not transport.WATCHDOG._active  # nothing kept per request
    assert sim.connections_opened == 1  # cutting nothing: the connection was reused throughout


@pytest.mark.parametrize("fault", [
    lambda: endless_chunked(),
    lambda: gzip_bomb(64 * 1024 * 1024),
    # requests reads a redirect's whole body even with allow_redirects=False (resolve_redirects):
    lambda: endless_chunked(status=302, headers=[("Location", "http://127.0.0.1:9/x")]),
], ids=["endless-chunked", "gzip-bomb-64MiB", "redirect-with-endless-body"])
def test_memory_stays_flat_whatever_the_body(short_client: Callable[..., ApiClient],
                                             fault: Callable[[], Any]) -> None:
    """D5/D6: the 1 MiB cap counts decoded bytes while reading; nothing buffers past it."""
    with FaultServer(fault()) as server:
        client = short_client(server.url, Timeouts(2.0, 2.0, 5.0))
        import requests  # noqa: F401  (imported before measuring)
        tracemalloc.start()
        try:
            outcome, elapsed = _lookup(client)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(outcome, ApiError) and outcome.exit_code == 76, outcome
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert elapsed < 5.0


def test_log_records_of_the_http_stack_never_hold_the_key(caplog: pytest.LogCaptureFixture) -> None:
    """A7: urllib3 may log server-controlled text (e.g. a header echoing the key); the filter masks it."""
    import logging

    ApiClient("http://127.0.0.1:9", CANARY)  # registers the key with the filter
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3.connectionpool").warning("Failed to parse headers: %s", f"X-Echo: Bearer {CANARY}")
    assert "Failed to parse headers" in caplog.text
    assert CANARY not in caplog.text
