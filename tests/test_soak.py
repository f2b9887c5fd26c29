"""Long watches: one connection, flat memory, constant file descriptors, quiet logs (M5).

In-process runs use a fake clock shared with the simulator, so waits are instant and the polls
are real HTTP. Memory is measured on a real `browseract watch` process (peak RSS), because the
in-process simulator and pytest's capture keep their own per-request records.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _steps(polls: int) -> list[dict]:
    return [{"status": "running", "polls": polls - 1}, {"status": "finished"}]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_long_watch_uses_one_connection_and_constant_fds(cli, make_sim, clock, caplog) -> None:
    caplog.set_level(logging.WARNING)
    polls = 2_000
    sim = make_sim({"soak": _steps(polls)}, clock=clock)
    fds_before = _fd_count()
    run = cli("watch", "--interval", "1", "--heartbeat", "10m", "soak", base_url=sim.url, clock=clock)
    assert sim.request_count("soak") == polls
    assert sim.connections_opened == 1
    assert abs(_fd_count() - fds_before) <= 2
    # Off a terminal: one line per change plus the final line; a heartbeat every 10 minutes.
    assert len(run.stdout.splitlines()) == 3
    heartbeats = [line for line in run.stderr.splitlines() if "still watching" in line]
    assert len(heartbeats) == (polls - 1) // 600
    assert "\r" not in run.stdout + run.stderr


def test_long_watch_survives_closed_keep_alives(cli, make_sim, clock) -> None:
    """The server drops keep-alive every 100 polls: silent reconnects, one per close."""
    cycles = 20
    steps = [step for _ in range(cycles) for step in
             ({"status": "running", "polls": 99}, {"status": "running", "close": True, "polls": 1})]
    steps.append({"status": "finished"})
    sim = make_sim({"soak": steps}, clock=clock)
    run = cli("watch", "--interval", "1", "soak", base_url=sim.url, clock=clock)
    assert sim.request_count("soak") == cycles * 100 + 1
    assert sim.connections_opened <= 1 + cycles
    assert "missed poll" not in run.stderr  # a dropped idle connection is not a failure


def _peak_rss_kib(sim_url: str, canary: str, task: str | list[str], tmp_path) -> int:  # type: ignore[no-untyped-def]
    env = {**os.environ, "BROWSERACT_BASE_URL": sim_url, "BROWSERACT_API_KEY": canary,
           "BROWSERACT_CONFIG_DIR": str(tmp_path / "cfg")}
    tasks = [task] if isinstance(task, str) else task
    proc = subprocess.Popen(
        [sys.executable, "-m", "browseract_cli", "watch", "--interval", "0.001", "--max-rate", "0",
         "--heartbeat", "0", *tasks],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.returncode == 0, err
    return usage.ru_maxrss  # KiB on Linux


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ elsewhere")
@pytest.mark.parametrize("polls", [3_000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_memory_stays_flat_over_a_long_watch(make_sim, canary, tmp_path, polls: int) -> None:
    sim = make_sim({"short": _steps(100), "long": _steps(polls)})
    short = _peak_rss_kib(sim.url, canary, "short", tmp_path)
    long = _peak_rss_kib(sim.url, canary, "long", tmp_path)
    assert sim.request_count("long") == polls
    assert long - short <= 5 * 1024, f"peak RSS grew {long - short} KiB over {polls} polls"
    assert sim.connections_opened == 2  # one per watch process


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ elsewhere")
def test_memory_stays_flat_over_a_long_watch_of_many_tasks(make_sim, canary, tmp_path) -> None:
    """40 tasks through the pool: 60 polls each cost no more memory than 5 each."""
    few = [f"few-{i:02d}" for i in range(40)]
    many = [f"many-{i:02d}" for i in range(40)]
    sim = make_sim({**{t: _steps(5) for t in few}, **{t: _steps(60) for t in many}})
    short = _peak_rss_kib(sim.url, canary, few, tmp_path)
    long = _peak_rss_kib(sim.url, canary, many, tmp_path)
    assert sim.request_count() == 40 * 5 + 40 * 60
    assert long - short <= 5 * 1024, f"peak RSS grew {long - short} KiB over {40 * 60} polls"
    assert sim.connections_opened <= 2 * 8  # at most the pool's 8 per watch process
