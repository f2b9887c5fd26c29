"""`browseract demo`: a simulator on loopback and a real watch, with no key and no user setup."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pexpect
import pytest

import browseract_cli.simulator as simulator_module

START = 1000.0  # FakeClock's start
DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens there: any proxied request would fail


@pytest.fixture
def hostile_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key, a refused base URL, a corrupt config file and proxies: the demo must not care."""
    monkeypatch.delenv("BROWSERACT_API_KEY")
    monkeypatch.setenv("BROWSERACT_BASE_URL", "http://10.0.0.1:1")  # refused by the scheme check
    monkeypatch.setenv("BROWSERACT_PROFILE", "no-such-profile")
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, DEAD_PROXY)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    config_dir = Path(os.environ["BROWSERACT_CONFIG_DIR"])
    config_dir.mkdir(mode=0o700)
    config = config_dir / "config.toml"
    config.write_bytes(b"this is [not toml\x00")
    config.chmod(0o600)
    return config


def test_demo_runs_and_explains(cli, clock, hostile_setup: Path):
    before = hostile_setup.read_bytes()
    run = cli("demo", clock=clock, expect=0)
    out = run.stdout
    # The intro: what runs and what is watched.
    assert "simulated BrowserAct API is running at http://127.0.0.1:" in out
    assert ("browseract watch --interval 1 --until paused \\\n"
            "      demo-finished demo-failed demo-flaky demo-paused") in out
    # The real watch (plain lines off a terminal), including the transient errors on stderr.
    assert re.search(r"^\S+Z demo-failed failed \(was running", out, re.M)
    assert re.search(r"^\S+Z demo-paused paused \(was pausing", out, re.M)
    assert "demo-flaky missed poll" in run.stderr and "HTTP 503" in run.stderr and "HTTP 429" in run.stderr
    assert "waiting for human input" in run.stderr
    # The explanation, with each task's outcome and the overall code.
    assert re.search(r"^  demo-finished\s+finished\s+exit 0\b", out, re.M)
    assert re.search(r"^  demo-failed\s+failed\s+exit 10\b", out, re.M)
    assert re.search(r"^  demo-flaky\s+finished\s+exit 0\b", out, re.M)
    assert re.search(r"^  demo-paused\s+paused\s+exit 0\b", out, re.M)
    assert "would exit 10 (task failed)" in out and "here demo-failed" in out
    assert "124 --timeout expired" in out and "The demo itself exits 0" in out
    # Nothing of the user's setup was read, used or changed.
    assert hostile_setup.read_bytes() == before
    assert sorted(p.name for p in hostile_setup.parent.iterdir()) == ["config.toml"]
    assert "config" not in run.stderr.lower().replace("config set-key", "")
    # Quick: the fake clock shows how long it takes for real.
    assert clock.now - START <= 15.0
    assert "\x1b" not in out + run.stderr and "\r" not in out


def test_demo_ignores_global_flags_pointing_elsewhere(cli, clock, hostile_setup: Path):
    run = cli("--profile", "other", "--base-url", "https://api.example.invalid", "--no-color", "-v", "demo",
              clock=clock, expect=0)
    assert "api.example.invalid" not in run.stdout + run.stderr
    assert "> GET http://127.0.0.1:" in run.stderr  # -v still logs the demo's own requests
    assert "Bearer ****" in run.stderr


def test_demo_key_is_random_per_run_and_never_shown(cli, clock, monkeypatch, canary):
    keys: list[str | None] = []
    real_init = simulator_module.SimServer.__init__

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        keys.append(kwargs.get("api_key"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(simulator_module.SimServer, "__init__", spy)
    runs = [cli("demo", clock=clock, expect=0) for _ in range(2)]
    assert len(keys) == 2 and keys[0] != keys[1] and canary not in keys
    for run, key in zip(runs, keys, strict=True):
        assert key and key not in run.stdout + run.stderr


def test_demo_interrupted_exits_130(cli, clock):
    calls = 0

    def sleep(seconds: float) -> None:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    clock_sleep = clock.sleep
    clock.sleep = sleep  # type: ignore[method-assign]
    try:
        run = cli("demo", clock=clock, expect=130)
    finally:
        clock.sleep = clock_sleep  # type: ignore[method-assign]
    assert "nothing to resume" in run.stderr
    assert "The demo itself exits 0" not in run.stdout


def test_demo_help(cli):
    run = cli("demo", "--help", expect=0)
    assert "no API key" in run.stdout


@pytest.mark.skipif(os.name != "posix", reason="pty")
def test_demo_for_real_on_a_terminal(tmp_path: Path):
    """The whole demo as a user runs it: a real clock, a pty (live table), no key, proxies set."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "BROWSERACT_CONFIG_DIR": str(tmp_path / "nowhere"),
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "ALL_PROXY": DEAD_PROXY,
    }
    started = time.monotonic()
    child = pexpect.spawn(sys.executable, ["-m", "browseract_cli", "demo"], env=env,
                          dimensions=(40, 100), timeout=35)
    child.expect(pexpect.EOF)
    child.close()
    took = time.monotonic() - started
    out = child.before.decode(errors="replace")
    assert child.exitstatus == 0, out
    assert took < 20.0  # "finishes within about 30 s"; it takes about 8
    assert "IN STATE" in out  # the live table was shown
    assert "would exit 10" in out and "The demo itself exits 0" in out
    hidden = child.before.rfind(b"\x1b[?25l")
    assert hidden == -1 or child.before.rfind(b"\x1b[?25h") > hidden
    assert "Traceback" not in out
    assert not (tmp_path / "nowhere").exists()  # no config written anywhere
