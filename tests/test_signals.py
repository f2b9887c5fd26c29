"""Real processes: Ctrl-C, SIGTERM, closed pipes, escape bytes and the live table on a pty.

Each test runs `python -m browseract_cli` against a simulator in this process and keeps to a
few seconds; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and ptys")

STOP_WITHIN = 1.0  # seconds from the signal to the exit (contract: "within 1 s")
FLIP = [{"status": s, "polls": 1} for s in ("created", "running") * 15] + [{"status": "finished"}]


@pytest.fixture
def env(tmp_path: Path, sim, canary: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A clean environment for the child: the simulator, the canary key, a private config dir."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "BROWSERACT_BASE_URL": sim.url,
        "BROWSERACT_API_KEY": canary,
        "BROWSERACT_CONFIG_DIR": str(tmp_path / "config"),
        "TERM": "xterm-256color",
        "COLUMNS": "100",
    }


def browseract(*args: str) -> list[str]:
    return [sys.executable, "-m", "browseract_cli", *args]


def start(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(browseract(*args), env=env, stdin=subprocess.DEVNULL, bufsize=0, **kwargs)


def read_line(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> str:
    """One line of the child's stdout, read without buffering past it."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            proc.kill()
            raise AssertionError(f"no complete line within {timeout}s (got {buf!r})")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1)
            if not chunk:
                _, err = proc.communicate(timeout=5)
                raise AssertionError(f"stdout closed early (got {buf!r}); stderr: {err!r}")
            buf += chunk
    return buf.decode()


def stop_and_collect(proc: subprocess.Popen[bytes], sig: int) -> tuple[int, str, str, float]:
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"still running 5 s after signal {sig}") from None
    took = time.monotonic() - sent
    text_out, text_err = out.decode(), err.decode()
    assert proc.args and all("ba_test_canary_" not in str(a) for a in proc.args)  # type: ignore[union-attr]
    assert "ba_test_canary_" not in text_out + text_err
    return proc.returncode, text_out, text_err, took


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def result_events(stdout: str) -> dict[str, dict[str, Any]]:
    docs = [json.loads(line) for line in stdout.splitlines()]
    out: dict[str, dict[str, Any]] = {}
    for doc in docs:
        assert doc["task_id"] not in out, "an event after the task's result"
        if doc["event"] == "result":
            out[doc["task_id"]] = doc
    return out


# --------------------------------------------------------------------------- signals


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_sleep_json(sim, env, sig, code):
    sim.add_task("sleepy-a", [{"status": "running"}])
    sim.add_task("sleepy-b", [{"status": "created"}])
    proc = start(["watch", "--json", "--interval", "30", "sleepy-a", "sleepy-b"], env)
    first = {json.loads(read_line(proc))["task_id"] for _ in range(2)}  # both seen: now asleep
    assert first == {"sleepy-a", "sleepy-b"}
    rc, out, err, took = stop_and_collect(proc, sig)
    assert rc == code, err
    assert took < STOP_WITHIN
    results = result_events(out)
    assert set(results) == {"sleepy-a", "sleepy-b"}
    assert results["sleepy-a"]["status"] == "running" and results["sleepy-b"]["status"] == "created"
    assert {r["exit_code"] for r in results.values()} == {code}
    assert "Traceback" not in err
    assert "the tasks keep running on the server" in err
    assert "browseract watch sleepy-a sleepy-b" in err  # how to resume


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_sleep_plain(sim, env, sig, code):
    sim.add_task("sleepy", [{"status": "running"}])
    proc = start(["watch", "--interval", "30", "sleepy"], env)
    assert " sleepy running " in read_line(proc)
    rc, out, err, took = stop_and_collect(proc, sig)
    assert rc == code and took < STOP_WITHIN
    assert out.splitlines()[-1].endswith(f"sleepy running: exit {code} (elapsed 0s, 1 poll)")
    assert "keeps running on the server" in err and "Resume with: browseract watch sleepy" in err
    assert "Traceback" not in err and "\x1b" not in out + err


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_a_request(sim, env, sig, code):
    sim.add_task("stuck", [{"status": "running", "delay": 5}])
    proc = start(["watch", "--json", "stuck"], env)
    wait_for(lambda: sim.request_count("stuck") >= 1)
    time.sleep(0.1)  # the request is on its way; the answer is 5 s out
    rc, out, err, took = stop_and_collect(proc, sig)
    assert rc == code, err
    assert took < STOP_WITHIN
    results = result_events(out)
    assert results["stuck"]["status"] is None and results["stuck"]["exit_code"] == code
    assert "Traceback" not in err and "keeps running on the server" in err


def test_sigint_during_requests_of_several_tasks(sim, env):
    for name in ("slow-1", "slow-2", "slow-3"):
        sim.add_task(name, [{"status": "running", "delay": 5}])
    proc = start(["watch", "--json", "slow-1", "slow-2", "slow-3"], env)
    wait_for(lambda: sim.request_count() >= 3)
    time.sleep(0.1)
    rc, out, err, took = stop_and_collect(proc, signal.SIGINT)
    assert rc == 130 and took < STOP_WITHIN
    assert {r["exit_code"] for r in result_events(out).values()} == {130}
    assert len(result_events(out)) == 3


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_polls_of_a_big_watch_at_once(sim, env, sig, code):
    """Issue 13 #12: after the signal only the requests already in flight may finish: no poll
    still queued is sent, no connection is opened, and the exit comes within a second."""
    ids = [f"big-{i:04d}" for i in range(2000)]
    for task_id in ids:
        sim.add_task(task_id, [{"status": "running"}])
    sim.latency = 0.02  # 8 connections: about 400 answers a second
    proc = start(["watch", "--json", "--interval", "30", "--max-rate", "0", *ids], env)
    wait_for(lambda: sim.request_count() >= 200, timeout=20)  # well into the first round
    connections = sim.connections_opened
    sent = time.monotonic()
    rc, out, err, took = stop_and_collect(proc, sig)
    assert rc == code, err
    assert took < STOP_WITHIN
    late = [r for r in sim.requests if r.at >= sent]
    assert len(late) <= 8, f"{len(late)} requests arrived after the signal"  # at most those in flight
    assert sim.connections_opened == connections
    results = result_events(out)
    assert sorted(results) == ids
    assert {r["exit_code"] for r in results.values()} == {code}
    assert "Traceback" not in err


def test_sigint_status_lookup(sim, env):
    sim.add_task("stuck", [{"status": "running", "delay": 5}])
    proc = start(["status", "stuck"], env)
    wait_for(lambda: sim.request_count("stuck") >= 1)
    time.sleep(0.1)
    rc, out, err, took = stop_and_collect(proc, signal.SIGINT)
    assert rc == 130 and took < STOP_WITHIN
    assert "Traceback" not in err


# --------------------------------------------------------------------------- broken pipes


def test_watch_reader_closes_the_pipe(sim, env):
    sim.add_task("flip", FLIP)
    proc = start(["watch", "--json", "--interval", "0.05", "flip"], env)
    json.loads(read_line(proc))
    assert proc.stdout is not None
    proc.stdout.close()  # the reader goes away, as `head -1` does
    try:
        rc = proc.wait(timeout=5)
    finally:
        proc.kill()
    err = proc.stderr.read() if proc.stderr else b""
    assert rc == 141
    assert err == b""


@pytest.mark.parametrize("mode", ["--json", "plain", "-q"])
def test_watch_into_head(sim, env, tmp_path, mode):
    sim.add_task("flip", FLIP)
    sim.add_task("flip2", FLIP)
    err_file, rc_file = tmp_path / "err", tmp_path / "rc"
    # Two tasks every 0.05 s are over the default rate cap (which would say so on stderr).
    args = ["watch", "--interval", "0.05", "--max-rate", "0", "flip", "flip2"] + (
        [] if mode == "plain" else [mode])
    if mode == "-q":  # -q writes only at the end: give it two short tasks so a second line exists
        sim.add_task("flip", [{"status": "finished"}])
        sim.add_task("flip2", [{"status": "running", "polls": 5}, {"status": "finished"}])
    script = ('"$@" 2>"$ERR" | head -1; echo "${PIPESTATUS[0]}" >"$RC"')
    run = subprocess.run(["bash", "-c", script, "bash", *browseract(*args)],
                         env={**env, "ERR": str(err_file), "RC": str(rc_file)},
                         capture_output=True, timeout=10, check=False)
    assert len(run.stdout.splitlines()) == 1
    assert int(rc_file.read_text()) == 141
    assert err_file.read_bytes() == b""


def test_status_json_into_a_closed_pipe(sim, env):
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = start(["status", "--json", "demo-finished", "demo-failed"], env, stdout=write_end)
    finally:
        os.close(write_end)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 141
    assert err == b""


# --------------------------------------------------------------------------- escape bytes


def spawn_pty(args: list[str], env: dict[str, str], cols: int = 100) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "browseract_cli", *args], env=env,
                         dimensions=(30, cols), timeout=5)


def pty_output(child: pexpect.spawn) -> bytes:
    child.expect(pexpect.EOF, timeout=8)
    child.close()
    out: bytes = child.before
    assert b"ba_test_canary_" not in out
    return out


@pytest.mark.parametrize(("extra_env", "flags"), [
    ({"NO_COLOR": "1"}, []),
    ({"TERM": "dumb"}, []),
    ({}, ["--no-color"]),
])
@pytest.mark.parametrize("command", ["status", "watch"])
def test_no_escape_bytes_on_a_terminal_when_styling_is_off(sim, env, extra_env, flags, command):
    sim.add_task("quick", [{"status": "created", "polls": 1}, {"status": "running", "polls": 1},
                           {"status": "finished"}])
    args = [*flags, command, "quick"] + (["--interval", "0.05"] if command == "watch" else [])
    child = spawn_pty(args, {**env, **extra_env})
    out = pty_output(child)
    assert child.exitstatus == (0 if command == "watch" else 14), out
    assert b"quick" in out
    assert b"\x1b" not in out


def test_escape_bytes_do_appear_on_a_styled_terminal(sim, env):
    """The counter-check: the pty tests above can see escapes when there are some."""
    child = spawn_pty(["status", "demo-finished"], env)
    assert b"\x1b[" in pty_output(child)


@pytest.mark.parametrize("extra_env", [{}, {"FORCE_COLOR": "1"}, {"NO_COLOR": "1"}])
def test_no_escape_bytes_off_a_terminal(sim, env, extra_env):
    sim.add_task("quick", [{"status": "running", "polls": 1}, {"http": 503, "polls": 1},
                           {"status": "failed"}])
    run = subprocess.run(browseract("watch", "--interval", "0.05", "quick"), env={**env, **extra_env},
                         capture_output=True, timeout=10, check=False, stdin=subprocess.DEVNULL)
    assert run.returncode == 10
    assert b"\x1b" not in run.stdout + run.stderr and b"\r" not in run.stdout + run.stderr
    assert b"missed poll" in run.stderr


def test_json_parses_on_a_20_column_terminal(sim, env):
    long_id = "a-long-task-id-that-is-wider-than-the-terminal-" + "x" * 40
    sim.add_task(long_id, [{"status": "running", "polls": 1}, {"http": 503, "polls": 1},
                           {"status": "finished"}])
    child = spawn_pty(["watch", "--json", "--interval", "0.05", long_id], {**env, "COLUMNS": "20"}, cols=20)
    out = pty_output(child)
    assert child.exitstatus == 0
    lines = [line for line in out.decode().split("\r\n") if line]
    docs = [json.loads(line) for line in lines]
    assert [d["event"] for d in docs] == ["status", "retry", "status", "result"]
    assert all(d["task_id"] == long_id for d in docs)


# --------------------------------------------------------------------------- the live table


def _cursor_restored(out: bytes) -> bool:
    hidden = out.rfind(b"\x1b[?25l")
    return hidden == -1 or out.rfind(b"\x1b[?25h") > hidden


@pytest.mark.parametrize(("how", "code"), [("ctrl-c", 130), ("sigterm", 143)])
def test_live_table_then_interrupt(sim, env, how, code):
    sim.add_task("live-a", [{"status": "created", "polls": 1}, {"status": "running"}])
    sim.add_task("live-b", [{"status": "created"}])
    child = spawn_pty(["watch", "--interval", "0.2", "live-a", "live-b"], env)
    child.expect("IN STATE")  # the live table's header
    child.expect("running")
    sent = time.monotonic()
    if how == "ctrl-c":
        child.sendintr()
    else:
        child.kill(signal.SIGTERM)
    out = child.before + child.after + pty_output(child)
    took = time.monotonic() - sent
    assert child.exitstatus == code, out
    assert took < STOP_WITHIN + 0.5  # pty teardown included
    assert _cursor_restored(out)
    text = out.decode(errors="replace")
    assert "the tasks keep running on the server" in text
    assert "Traceback" not in text


def test_live_table_to_the_end(sim, env):
    sim.add_task("live", [{"status": "created", "polls": 1}, {"status": "running", "polls": 2},
                          {"status": "finished"}])
    child = spawn_pty(["watch", "--interval", "0.1", "live"], env)
    out = pty_output(child)
    assert child.exitstatus == 0
    assert b"\x1b[?25l" in out and _cursor_restored(out)
    text = out.decode(errors="replace")
    assert "finished" in text and "1 task: 1 finished; exit 0" in text
