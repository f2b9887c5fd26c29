"""What a newcomer meets at the prompt (issue 10, and issue 13 items 9a and 16): option values,
base URLs, typos, messages and hints, each checked end to end through the CLI."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from browseract_cli.options import parse_duration

# --------------------------------------------------------------------------- durations (22)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("2.5", 2.5), ("500ms", 0.5), ("30s", 30.0), ("10m", 600.0), ("2h", 7200.0),
    ("1d", 86400.0), ("1h30m", 5400.0), ("2m30s", 150.0), ("1d2h", 93600.0), ("1m30.5s", 90.5),
    ("1h 30m", 5400.0), ("1s500ms", 1.5), ("30M", 1800.0), ("1H30M", 5400.0),
])
def test_durations_accept_units_and_compounds(text: str, seconds: float) -> None:
    assert parse_duration(text, "--timeout") == seconds


@pytest.mark.parametrize("text", ["", "h", "1h30", "30m1h", "1m1m", "1x", "-5", "1e3", "1h-30m", "m30"])
def test_durations_refuse_what_is_ambiguous(cli, text: str) -> None:
    run = cli("watch", "--timeout", text, "t", expect=2)
    assert "invalid duration for --timeout" in run.stderr
    assert "1h30m" in run.stderr  # the hint shows a compound


def test_watch_timeout_takes_a_compound_duration(cli, make_sim, clock) -> None:
    sim = make_sim({"t": [{"status": "running"}]}, clock=clock)
    run = cli("watch", "--json", "--interval", "60", "--timeout", "1h30m", "t", expect=124,
              base_url=sim.url, clock=clock)
    assert '"exit_code": 124' in run.stdout
    assert clock.now - 1000.0 == 5400.0


def test_until_takes_a_comma_list(cli, make_sim, clock) -> None:
    sim = make_sim({"t": [{"status": "created", "polls": 1}, {"status": "paused"}]}, clock=clock)
    run = cli("watch", "-q", "--until", "paused,finished", "t", expect=0, base_url=sim.url, clock=clock)
    assert run.stdout == "paused\n"
    run = cli("watch", "-q", "--until", "finished, PAUSED", "--until", "canceled", "t", expect=0,
              base_url=sim.url, clock=clock)
    assert run.stdout == "paused\n"


@pytest.mark.parametrize("value", ["paused,", "paused,,finished", "paused,bogus"])
def test_until_list_with_an_empty_or_unknown_item_is_usage_error(cli, sim, value: str) -> None:
    run = cli("watch", "--until", value, "t", expect=2)
    assert "is not a task state" in run.stderr
    assert sim.requests == []
