"""Several IDs at once: one bounded pool, output in the order given, a shared slow-down (issue 11)."""

from __future__ import annotations

import pytest
from conftest import CANARY, FakeClock

from browseract_cli.api import ApiClient
from browseract_cli.endpoints import get_task_status
from browseract_cli.errors import ApiError
from browseract_cli.pool import ordered_map
from browseract_cli.retry import RetryPolicy


def slow_tasks(n: int, delay: float = 0.15) -> dict:
    return {f"t{i}": [{"status": "finished", "delay": delay}] for i in range(n)}


def test_status_of_many_ids_runs_8_at_once_and_prints_in_the_order_given(cli, make_sim) -> None:
    sim = make_sim(slow_tasks(20))
    ids = [f"t{i}" for i in range(20)]
    run = cli("status", "-q", *ids, base_url=sim.url)
    assert run.stdout == "".join(f"{t}\tfinished\n" for t in ids)
    assert sim.max_in_flight == 8
    assert sim.connections_opened <= 8  # the client's keep-alive connections are shared


@pytest.mark.parametrize("command", ["status", "get"])
def test_the_pool_size_is_a_setting(cli, make_sim, command: str) -> None:
    sim = make_sim(slow_tasks(9))
    cli(command, *(f"t{i}" for i in range(9)), base_url=sim.url, env={"BROWSERACT_CONCURRENCY": "3"})
    assert sim.max_in_flight == 3


@pytest.mark.parametrize("value", ["0", "33", "x", "-1"])
def test_a_bad_pool_size_is_a_configuration_error(cli, make_sim, value: str) -> None:
    sim = make_sim(slow_tasks(1))
    run = cli("status", "t0", expect=78, base_url=sim.url, env={"BROWSERACT_CONCURRENCY": value})
    assert "BROWSERACT_CONCURRENCY" in run.stderr and sim.requests == []


def test_a_slow_first_answer_holds_back_the_output_not_the_lookups(cli, make_sim) -> None:
    sim = make_sim({"slow": [{"status": "running", "delay": 0.4}], "fast": [{"status": "finished"}]})
    run = cli("status", "--json", "slow", "fast", expect=14, base_url=sim.url)
    assert [line.split('"')[3] for line in run.lines] == ["slow", "fast"]  # the order given
    arrived = {r.task_id: r.at for r in sim.requests}
    assert arrived["fast"] < arrived["slow"] + 0.4  # asked while the slow answer was still coming


@pytest.mark.parametrize("command", ["get", "stop", "resume"])
def test_multi_id_commands_use_the_pool(cli, make_sim, command: str) -> None:
    sim = make_sim(slow_tasks(10))
    cli(command, *(f"t{i}" for i in range(10)), base_url=sim.url, expect=None)
    assert sim.max_in_flight == 8


def test_a_429_from_one_request_holds_back_the_next_ones(make_sim, clock: FakeClock) -> None:
    sim = make_sim({"a": [{"http": 429, "retry_after": "7"}], "b": [{"status": "finished"}]}, clock=clock)
    client = ApiClient(sim.url, CANARY, clock=clock, sleep=clock.sleep, uniform=lambda lo, hi: hi,
                       policy=RetryPolicy(max_attempts=1))
    with pytest.raises(ApiError):
        get_task_status(client, "a")  # one attempt: it fails, and asks everyone to wait 7 s
    assert clock.sleeps == []
    assert get_task_status(client, "b").status == "finished"
    assert clock.sleeps == [7.0]  # b waited before it was sent
    [b] = [r for r in sim.requests if r.task_id == "b"]
    assert b.at >= 1007.0


def test_ordered_map_yields_in_order_and_raises_at_the_failing_items_turn() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n * n

    got = []
    with pytest.raises(ValueError, match="three"):
        for value in ordered_map(work, range(6), workers=4):
            got.append(value)
    assert got == [0, 1, 4]


def test_download_fetches_a_tasks_files_at_once_and_lists_them_in_order(cli, make_sim, clock, tmp_path) -> None:
    files = [{"name": f"f{i}.bin", "size": 5000 + i} for i in range(6)]
    sim = make_sim(clock=clock, latency=0.15, workflows={"multi": {"lifecycle": [{"status": "finished"}],
                                                                   "files": files}})
    task_id = cli("run", "multi", "--no-validate", base_url=sim.url, clock=clock).stdout.strip()
    run = cli("download", "-q", "-D", str(tmp_path), task_id, base_url=sim.url, clock=clock)
    assert run.lines == [str(tmp_path / task_id / f"f{i}.bin") for i in range(6)]
    assert [(tmp_path / task_id / f"f{i}.bin").stat().st_size for i in range(6)] == [5000 + i for i in range(6)]
    assert sim.max_in_flight == 6
