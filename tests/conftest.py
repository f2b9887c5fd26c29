"""Shared fixtures: an isolated environment, the canary key, the simulator and a CLI runner."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import conformance
import pytest
from typer.testing import CliRunner

from browseract_cli import sanitize
from browseract_cli.cli import app
from browseract_cli.context import AppContext
from browseract_cli.simulator import SimServer

# The canary rule: every test runs with this recognisable key; it must never show up anywhere.
CANARY = f"ba_test_canary_{uuid.uuid4().hex}"


class FakeClock:
    """A monotonic clock whose sleep() advances time instantly."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, "negative sleep"
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Run:
    """What one CLI invocation did."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


@dataclass
class Captured:
    texts: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def canary() -> str:
    return CANARY


@pytest.fixture(autouse=True)
def isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets its own config dir and HOME, no stray BROWSERACT_* settings, and the canary key."""
    for name in list(os.environ):
        if name.startswith(("BROWSERACT_", "GITHUB_")) or name in ("NO_COLOR", "FORCE_COLOR", "NETRC"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("BROWSERACT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("BROWSERACT_API_KEY", CANARY)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "xterm-256color")
    return tmp_path


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    """Each test stands for one CLI process: keys registered for masking do not carry over."""
    yield
    sanitize.forget_secrets()


@pytest.fixture
def captured() -> Captured:
    return Captured()


@pytest.fixture(autouse=True)
def canary_check(request: pytest.FixtureRequest, captured: Captured, caplog: pytest.LogCaptureFixture,
                 capfd: pytest.CaptureFixture[str], tmp_path: Path) -> Iterator[None]:
    """After every test: the canary key is in no output, log record or file but config.toml."""
    caplog.set_level(logging.DEBUG)
    yield
    out, err = capfd.readouterr()
    channels = {"stdout (fd)": out, "stderr (fd)": err, "log records": caplog.text}
    channels.update({f"cli output #{i}": t for i, t in enumerate(captured.texts)})
    for name, text in channels.items():
        assert CANARY not in text, f"the API key leaked into {name}"
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "config.toml":
            assert CANARY.encode() not in path.read_bytes(), f"the API key leaked into {path}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def assert_conformant(server: SimServer) -> None:
    """Every answer the simulator gave and every request the CLI sent matches the spec."""
    found = conformance.problems(server.requests)
    assert not found, "not as the OpenAPI spec says:\n" + "\n".join(found[:20])


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """The project's simulator on 127.0.0.1, accepting only the canary key."""
    with SimServer("127.0.0.1", 0, api_key=CANARY) as server:
        yield server
    assert_conformant(server)


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimServer]]:
    """A factory for simulators with their own tasks or clock."""
    servers: list[SimServer] = []

    def make(tasks: dict | None = None, **kwargs) -> SimServer:  # type: ignore[no-untyped-def]
        kwargs.setdefault("api_key", CANARY)
        server = SimServer("127.0.0.1", 0, tasks=tasks or {}, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
    for server in servers:
        assert_conformant(server)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fail any DNS lookup or connection attempt; returns the list of attempts (should stay [])."""
    import socket

    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.fixture
def client_limits(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """client_limits(timeouts, policy): the CLI builds its ApiClient with these instead."""

    def apply(timeouts: object, policy: object) -> None:
        original = AppContext.make_client

        def make_client(self: AppContext, pool_size: int = 4, **kwargs):  # type: ignore[no-untyped-def]
            kwargs.setdefault("timeouts", timeouts)
            kwargs.setdefault("policy", policy)
            return original(self, pool_size, **kwargs)

        monkeypatch.setattr(AppContext, "make_client", make_client)

    return apply


@pytest.fixture
def cli(captured: Captured, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run browseract in-process: cli("status", "x", expect=14, base_url=sim.url, clock=clock).

    Fails with stdout and stderr when the exit code is not the expected one.
    """

    def run(*args: str, expect: int | None = 0, input: str | None = None,
            base_url: str | None = None, clock: FakeClock | None = None,
            env: dict[str, str] | None = None, uniform: Callable[[float, float], float] | None = None) -> Run:
        if base_url is not None:
            monkeypatch.setenv("BROWSERACT_BASE_URL", base_url)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        obj = AppContext()
        if clock is not None:
            obj.clock, obj.sleep = clock, clock.sleep
        obj.uniform = uniform or (lambda a, b: b)  # deterministic: the full backoff
        if clock is None:
            obj.sleep = _capped_sleep
        result = CliRunner().invoke(app, list(args), input=input, obj=obj, prog_name="browseract")
        ran = Run(result.exit_code, result.stdout, result.stderr, result.exception)
        captured.texts.extend([ran.stdout, ran.stderr])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"uncaught exception: {result.exception!r}\n{ran.stderr}")
        if expect is not None and ran.exit_code != expect:
            raise AssertionError(
                f"browseract {' '.join(args)} exited {ran.exit_code}, expected {expect}\n"
                f"--- stdout ---\n{ran.stdout}\n--- stderr ---\n{ran.stderr}")
        assert "Traceback" not in ran.stderr
        return ran

    return run


def _capped_sleep(seconds: float) -> None:
    """Tests without a fake clock never really wait for backoff: retries happen at once."""
    del seconds
