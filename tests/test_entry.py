"""The process entry point: `python -m browseract_cli`, and the GC switch for long runs."""

from __future__ import annotations

import gc
import os
import subprocess
import sys


def test_python_dash_m_runs_the_cli() -> None:
    env = {k: v for k, v in os.environ.items() if k != "BROWSERACT_API_KEY"}
    done = subprocess.run([sys.executable, "-m", "browseract_cli", "--version"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0
    assert done.stdout.startswith("browseract ")


def test_watch_turns_the_gc_back_on_for_long_runs(cli, make_sim, clock) -> None:
    sim = make_sim({"t": [{"status": "running", "polls": 3}, {"status": "finished"}]}, clock=clock)
    gc.disable()  # as the console script does at start-up
    try:
        cli("watch", "--interval", "1", "t", base_url=sim.url, clock=clock)
        assert gc.isenabled()
    finally:
        gc.enable()


def test_status_leaves_the_gc_as_it_was(cli, sim) -> None:
    gc.disable()
    try:
        cli("status", "demo-forever", expect=14, base_url=sim.url)
        assert not gc.isenabled()
    finally:
        gc.enable()
