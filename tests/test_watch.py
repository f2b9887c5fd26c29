"""`browseract watch`: every exit path, the event stream, output modes and timing.

All in-process against the real simulator, with a fake clock shared by the watch and the
simulator, so waits are instant and the schedule is exact.
"""

from __future__ import annotations

import bisect
import json
import re
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from socket_faults import FaultServer, header_drip, never_answer, respond

from browseract_cli.errors import ApiError
from browseract_cli.models import TaskState
from browseract_cli.simulator import STATUS_PATH
from browseract_cli.watcher import Watch, WatchOptions

START = 1000.0  # FakeClock's start
ISO_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+ ")


def steps(*items: Any) -> list[dict[str, Any]]:
    """Shorthand: "running" -> a status step lasting one poll; (step, n) -> n polls; a dict as is.

    The last item always repeats forever (no duration).
    """
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, tuple):
            what, polls = item
            step = {"status": what} if isinstance(what, str) else dict(what)
            step["polls"] = polls
        elif isinstance(item, str):
            step = {"status": item, "polls": 1}
        else:
            step = dict(item)
            step.setdefault("polls", 1)
        out.append(step)
    out[-1].pop("polls", None)
    return out


def events(stdout: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in stdout.splitlines()]
    for doc in docs:
        assert {"event", "task_id", "at"} <= set(doc), doc
        assert ISO_AT.match(doc["at"]), doc["at"]
    return docs


def results(stdout: str) -> dict[str, dict[str, Any]]:
    """The one `result` per task, checked to be that task's last event."""
    docs = events(stdout)
    per_task: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        per_task.setdefault(doc["task_id"], []).append(doc)
    out = {}
    for task_id, evs in per_task.items():
        kinds = [e["event"] for e in evs]
        assert kinds.count("result") == 1, (task_id, kinds)
        assert kinds[-1] == "result", (task_id, kinds)
        out[task_id] = evs[-1]
    return out


def strip_volatile(doc: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k != "at"}
    for key in ("error",):
        if isinstance(doc.get(key), dict):
            doc[key] = {k: v for k, v in doc[key].items() if k != "trace_id"}
    return doc


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll_times(sim: Any, task_id: str) -> list[float]:
    return [r.at - START for r in sim.requests if r.task_id == task_id]


class FastForward:
    """Real monotonic time, but sleep() skips ahead at once: requests take the time they really
    take (a stalled socket is cut by the real watchdog), waits between polls take none."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, "negative sleep"
        self.skipped += seconds


class Recorder:
    """A reporter that keeps every event: (kind, task_id, details)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.events: list[tuple[str, str, Any]] = []

    def status(self, t, previous, elapsed):  # type: ignore[no-untyped-def]
        self.events.append(("status", t.task_id, t.status))

    def retry(self, t, err, next_in):  # type: ignore[no-untyped-def]
        self.events.append(("retry", t.task_id, (next_in, t.gives_up_in)))

    def notice(self, t, kind, text):  # type: ignore[no-untyped-def]
        self.events.append(("notice", t.task_id, (kind, text)))

    def heartbeat(self, tasks, now):  # type: ignore[no-untyped-def]
        pass

    def result(self, t, elapsed):  # type: ignore[no-untyped-def]
        self.events.append(("result", t.task_id, (t.exit_code, round(elapsed, 6))))

    def tick(self, tasks, now):  # type: ignore[no-untyped-def]
        pass

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]


def make_watch(clock: Any, poll: Any, report: Recorder | None = None, details: Any = None,
               **options: Any) -> Watch:
    """A Watch over ``poll`` on the fake clock (task "t" unless ``task_ids`` says otherwise)."""
    opts = WatchOptions(task_ids=options.pop("task_ids", ["t"]), **options)
    return Watch(opts, poll, report or Recorder(clock), clock=clock, wall=lambda: 1.7e9,
                 sleep=clock.sleep, uniform=lambda a, b: b, details=details)


def stalled() -> ApiError:
    return ApiError("network", "cannot get an answer: no complete answer within the request deadline",
                    retryable=True)


# --------------------------------------------------------------------------- exit paths


@pytest.mark.parametrize(("final", "code"), [("finished", 0), ("failed", 10), ("canceled", 11)])
def test_terminal_states(cli, make_sim, clock, final, code):
    sim = make_sim({"t": steps("created", ("running", 2), final)}, clock=clock)
    run = cli("watch", "--json", "t", expect=code, base_url=sim.url, clock=clock)
    res = results(run.stdout)["t"]
    assert res["status"] == final and res["exit_code"] == code and res["error"] is None
    assert res["polls"] == 4
    assert res["elapsed_s"] == 15.0  # default interval 5 s: polls at 0, 5, 10, 15


def test_until_paused_exits_0(cli, make_sim, clock):
    sim = make_sim({"t": steps("created", "running", "pausing", "paused")}, clock=clock)
    run = cli("watch", "--json", "--until", "paused", "t", expect=0, base_url=sim.url, clock=clock)
    res = results(run.stdout)["t"]
    assert (res["status"], res["exit_code"], res["polls"]) == ("paused", 0, 4)


def test_until_is_case_insensitive_and_repeatable(cli, make_sim, clock):
    sim = make_sim({"t": steps("created", "running", "finished")}, clock=clock)
    run = cli("watch", "--json", "--until", "PAUSED", "--until", "running", "t",
              expect=0, base_url=sim.url, clock=clock)
    assert results(run.stdout)["t"]["status"] == "running"


def test_until_running_but_task_fails_first(cli, make_sim, clock):
    sim = make_sim({"t": steps("created", "failed")}, clock=clock)
    run = cli("watch", "--json", "--until", "running", "t", expect=10, base_url=sim.url, clock=clock)
    assert results(run.stdout)["t"]["status"] == "failed"


def test_timeout_124_and_task_not_canceled(cli, make_sim, clock):
    sim = make_sim({"t": steps("created", "running")}, clock=clock)
    run = cli("watch", "--json", "--timeout", "1m", "t", expect=124, base_url=sim.url, clock=clock)
    res = results(run.stdout)["t"]
    assert (res["status"], res["exit_code"], res["error"]) == ("running", 124, None)
    assert res["elapsed_s"] == 60.0
    assert res["polls"] == 12  # 0, 5, ..., 55
    assert clock.now - START == pytest.approx(60.0)
    # Only status lookups were sent: nothing that could cancel the task.
    assert {(r.method, r.path) for r in sim.requests} == {("GET", STATUS_PATH)}
    assert "it keeps running on the server" in run.stderr


def test_every_poll_is_bounded_by_the_time_left_to_timeout(clock):
    """Issue 13 #9: a poll gets what is left of --timeout as its deadline, so a server that
    accepts and then stalls cannot hold the watch past it."""
    deadlines: list[float | None] = []

    def poll(task_id: str, deadline_s: float | None = None) -> TaskState:
        deadlines.append(deadline_s)
        if len(deadlines) < 3:
            clock.advance(0.3)  # answers after 0.3 s
            return TaskState("running")
        assert deadline_s is not None
        clock.advance(deadline_s)  # stalls: the request is cut at its deadline
        raise stalled()

    report = Recorder(clock)
    watch = make_watch(clock, poll, report, interval=0.5, timeout=2.0)
    assert watch.run() == 124
    assert deadlines == pytest.approx([2.0, 1.5, 1.0])  # polls at 0, 0.5 and 1.0
    assert clock.now - START == pytest.approx(2.0)  # exit at the timeout, not a deadline later
    # The poll cut short by --timeout is the timeout, not a missed poll to retry.
    assert report.kinds() == ["status", "result"] and report.events[-1][2][0] == 124


@pytest.mark.parametrize("start", [1010.051, 1000.1, 3.3])
def test_timeout_and_heartbeat_end_on_time_whatever_the_clock_reads(start):
    """`now - start >= timeout` can be one ulp short of `start + timeout` (the wake-up time):
    the watch then slept 0 s forever. Both use the same sum now."""
    from conftest import FakeClock

    class Bounded(FakeClock):
        def sleep(self, seconds: float) -> None:
            assert len(self.sleeps) < 10_000, "the watch is spinning"
            super().sleep(seconds)

    clock = Bounded(start)
    watch = make_watch(clock, lambda task_id: TaskState("running"), interval=5.0, timeout=60.0,
                       heartbeat=0.3, task_ids=["a", "b"])
    assert watch.run() == 124
    assert clock.now == pytest.approx(start + 60.0)


def test_without_timeout_polls_get_no_deadline_and_old_polls_still_work(clock):
    seen: list[object] = []

    def poll(task_id: str, deadline_s: float | None = None) -> TaskState:
        seen.append(deadline_s)
        return TaskState("finished")

    assert make_watch(clock, poll).run() == 0 and seen == [None]

    def old_poll(task_id: str) -> TaskState:  # `run --wait` style: no deadline parameter
        seen.append(task_id)
        return TaskState("finished")

    assert make_watch(clock, old_poll, timeout=10.0).run() == 0 and seen[-1] == "t"


def test_the_failure_lookup_is_bounded_by_the_timeout_too(clock):
    asked: list[float | None] = []

    def poll(task_id: str, deadline_s: float | None = None) -> TaskState:
        clock.advance(1.0)
        return TaskState("failed")

    def details(task_id: str, deadline_s: float | None = None) -> None:
        asked.append(deadline_s)

    assert make_watch(clock, poll, timeout=5.0, details=details).run() == 10
    assert asked == [pytest.approx(4.0)]


@pytest.mark.parametrize("stall", [never_answer, lambda: header_drip(every_s=0.05)],
                         ids=["silent", "dripped-headers"])
def test_timeout_ends_a_watch_whose_server_stalls(cli, stall):
    """End to end over a real socket: the stalled poll is cut when --timeout expires (it took
    10 s for a silent server and 20 s for dripped headers before)."""
    clock = FastForward()
    with FaultServer(respond(body=b'{"status":"running"}'), stall(), lifetime_s=30) as server:
        run = cli("watch", "--json", "--interval", "0.2", "--timeout", "1", "t", expect=124,
                  base_url=server.url, clock=clock)
    docs = events(run.stdout)
    assert [d["event"] for d in docs] == ["status", "result"]
    res = docs[-1]
    assert (res["status"], res["exit_code"], res["error"], res["polls"]) == ("running", 124, None, 1)
    assert 1.0 <= res["elapsed_s"] < 2.0  # within a second of --timeout


def test_timeout_human_output(cli, make_sim, clock):
    sim = make_sim({"t": steps("running")}, clock=clock)
    run = cli("watch", "--timeout", "30s", "--heartbeat", "0", "t", expect=124, base_url=sim.url, clock=clock)
    assert run.lines[-1].endswith("t running: exit 124 (elapsed 30s, 6 polls)")
    assert "never cancels" in run.stderr


@pytest.mark.parametrize(("failure", "code", "kind"), [
    ({"http": 503}, 76, "server"),
    ({"http": 502}, 76, "server"),
    ({"http": 429}, 75, "rate_limited"),
    ({"http": 429, "retry_after": "7"}, 75, "rate_limited"),
])
def test_outage_longer_than_max_outage(cli, make_sim, clock, failure, code, kind):
    sim = make_sim({"t": steps("running", failure)}, clock=clock)
    run = cli("watch", "--json", "--max-outage", "30s", "t", expect=code, base_url=sim.url, clock=clock)
    docs = events(run.stdout)
    res = results(run.stdout)["t"]
    assert res["exit_code"] == code
    assert res["status"] == "running"  # the last status seen
    assert res["error"]["kind"] == kind and res["error"]["http_status"] == failure["http"]
    retries = [d for d in docs if d["event"] == "retry"]
    assert retries and all(d["error"]["kind"] == kind for d in retries)
    # The outage began at the first failed poll (t=5); it ends once it has lasted 30 s.
    assert 30.0 <= res["elapsed_s"] - 5.0 < 30.0 + 8.0
    assert all(d["next_poll_in_s"] >= 5.0 for d in retries)  # never faster than --interval


def test_outage_exit_code_follows_the_last_failure(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", ({"http": 503}, 3), {"http": 429})}, clock=clock)
    run = cli("watch", "--json", "--max-outage", "40", "t", expect=75, base_url=sim.url, clock=clock)
    kinds = [d["error"]["kind"] for d in events(run.stdout) if d["event"] == "retry"]
    assert kinds[:3] == ["server"] * 3 and set(kinds[3:]) == {"rate_limited"}


def test_outage_connection_refused_69(cli, clock):
    url = f"http://127.0.0.1:{closed_port()}"
    run = cli("watch", "--json", "--max-outage", "20s", "t", expect=69, base_url=url, clock=clock)
    res = results(run.stdout)["t"]
    assert res["status"] is None and res["error"]["kind"] == "network"
    assert "refused" in res["error"]["msg"]
    assert res["elapsed_s"] >= 20.0


def test_refused_before_anything_answered_asks_whether_the_simulator_runs(cli, clock):
    """Issue 10 #7: nothing listens on a loopback port: said once, plainly, with the hint; every
    retry says how long until the watch gives up; the outage budget itself is kept."""
    url = f"http://127.0.0.1:{closed_port()}"
    run = cli("watch", "--json", "--max-outage", "20s", "t", expect=69, base_url=url, clock=clock)
    docs = events(run.stdout)
    notices = [d for d in docs if d["event"] == "notice"]
    assert len(notices) == 1 and notices[0]["notice"] == "connection_refused"
    assert "connection refused" in notices[0]["msg"]
    assert "is `browseract simulate` running?" in notices[0]["msg"]
    assert "gives up in 20s" in notices[0]["msg"]
    retries = [d for d in docs if d["event"] == "retry"]
    assert [d["gives_up_in_s"] for d in retries] == [20.0, 15.0, 10.0, 5.0]
    assert results(run.stdout)["t"]["elapsed_s"] == 20.0  # the budget is kept


def test_refused_plain_lines_say_when_the_watch_gives_up(cli, clock):
    url = f"http://127.0.0.1:{closed_port()}"
    run = cli("watch", "t", expect=69, base_url=url, clock=clock)  # the default --max-outage 5m
    lines = run.stderr.splitlines()
    assert sum("is `browseract simulate` running?" in line for line in lines) == 2  # notice, final hint
    missed = [line for line in lines if "missed poll" in line]
    assert missed[0].endswith("next poll in 5.0s; gives up in 5m00s")
    assert missed[1].endswith("next poll in 5.0s; gives up in 4m55s")
    assert clock.now - START == 300.0


def test_status_gives_the_same_hint_for_a_refused_loopback_port(cli):
    run = cli("status", "t", expect=69, base_url=f"http://127.0.0.1:{closed_port()}")
    assert "connection refused" in run.stderr and "is `browseract simulate` running?" in run.stderr


def test_refused_after_an_answer_is_an_ordinary_missed_poll(clock):
    answers: list[Any] = [TaskState("running"),
                          ApiError("network", "cannot get an answer from 127.0.0.1:1: connection refused",
                                   retryable=True, cause="refused", reached_server=False),
                          TaskState("finished")]

    def poll(task_id: str) -> TaskState:
        answer = answers.pop(0)
        if isinstance(answer, ApiError):
            raise answer
        return answer

    report = Recorder(clock)
    assert make_watch(clock, poll, report, max_outage=60.0).run() == 0
    assert report.kinds() == ["status", "retry", "status", "result"]  # no notice: it had answered
    assert report.events[1][2] == (5.0, 60.0)


@pytest.mark.parametrize(("args", "gives_up"), [
    (["--max-outage", "0"], None),
    (["--max-outage", "0", "--timeout", "40"], 35.0),
    (["--max-outage", "1m", "--timeout", "40"], 35.0),
    (["--max-outage", "20", "--timeout", "40"], 20.0),
])
def test_gives_up_in_counts_the_outage_limit_and_the_timeout(cli, make_sim, clock, args, gives_up):
    sim = make_sim({"t": steps("running", {"http": 503}, "finished")}, clock=clock)
    run = cli("watch", "--json", *args, "t", expect=0, base_url=sim.url, clock=clock)
    retry = next(d for d in events(run.stdout) if d["event"] == "retry")
    assert retry["gives_up_in_s"] == gives_up


def test_outage_shorter_than_max_outage_is_survived(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", ({"http": 503}, 4), "finished")}, clock=clock)
    run = cli("watch", "--json", "--max-outage", "1m", "t", expect=0, base_url=sim.url, clock=clock)
    docs = events(run.stdout)
    assert [d["event"] for d in docs] == ["status"] + ["retry"] * 4 + ["status", "result"]


def test_max_outage_0_never_gives_up(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", {"http": 503})}, clock=clock)
    run = cli("watch", "--json", "--max-outage", "0", "--timeout", "10m", "t",
              expect=124, base_url=sim.url, clock=clock)
    res = results(run.stdout)["t"]
    assert res["exit_code"] == 124 and res["elapsed_s"] == 600.0


@pytest.mark.parametrize("http", [401, 403])
def test_key_rejected_mid_watch_ends_at_once(cli, make_sim, clock, http):
    sim = make_sim({"t": steps(("running", 2), {"http": http})}, clock=clock)
    run = cli("watch", "--json", "t", expect=77, base_url=sim.url, clock=clock)
    docs = events(run.stdout)
    assert [d["event"] for d in docs] == ["status", "result"]  # no retry at all
    res = docs[-1]
    assert res["error"]["kind"] == "auth" and res["error"]["http_status"] == http
    assert res["polls"] == 3 and res["elapsed_s"] == 10.0
    assert sim.request_count("t") == 3


def test_not_found_after_grace_66(cli, sim, clock):
    run = cli("watch", "--json", "no-such-task", expect=66, base_url=sim.url, clock=clock)
    docs = events(run.stdout)
    assert [d["event"] for d in docs] == ["notice", "result"]
    assert docs[0]["notice"] == "not_found_yet"
    res = docs[-1]
    assert res["error"]["kind"] == "not_found" and res["error"]["code"] == 10112
    assert res["status"] is None
    assert res["elapsed_s"] == 10.0 and res["polls"] == 3  # default grace 10 s: polls at 0, 5, 10


def test_not_found_grace_0_is_immediate(cli, sim, clock):
    cli("watch", "--not-found-grace", "0", "no-such-task", expect=66, base_url=sim.url, clock=clock)
    assert sim.request_count("no-such-task") == 1


def test_not_found_then_appears_within_grace(cli, make_sim, clock):
    missing = {"http": 400, "code": 10112, "msg": "Task is not exist."}
    sim = make_sim({"t": steps((missing, 2), "running", "finished")}, clock=clock)
    run = cli("watch", "--json", "t", expect=0, base_url=sim.url, clock=clock)
    docs = [strip_volatile(d) for d in events(run.stdout)]
    assert [d["event"] for d in docs] == ["notice", "status", "status", "result"]
    assert docs[0]["notice"] == "not_found_yet" and "not found yet" in docs[0]["msg"]
    assert docs[1]["status"] == "running" and docs[1]["previous"] is None


def test_paused_keeps_waiting_for_a_person(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", "paused")}, clock=clock)
    run = cli("watch", "--json", "--timeout", "2m", "t", expect=124, base_url=sim.url, clock=clock)
    docs = events(run.stdout)
    notices = [d for d in docs if d["event"] == "notice"]
    assert len(notices) == 1 and notices[0]["notice"] == "paused"
    assert "human input" in notices[0]["msg"]
    res = docs[-1]
    assert (res["status"], res["exit_code"]) == ("paused", 124)
    assert res["polls"] == 24  # kept polling all along


def test_paused_plain_output_and_heartbeats_say_human_input(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", "paused")}, clock=clock)
    run = cli("watch", "--timeout", "2m", "--heartbeat", "30s", "t", expect=124, base_url=sim.url, clock=clock)
    assert "waiting for human input" in run.stderr
    beats = [line for line in run.stderr.splitlines() if "still watching" in line]
    assert beats and all("waiting for human input" in line for line in beats)


def test_status_outside_enum_is_not_terminal(cli, make_sim, clock):
    sim = make_sim({"t": steps(("queued", 3), "finished")}, clock=clock)
    run = cli("watch", "--json", "t", expect=0, base_url=sim.url, clock=clock)
    docs = events(run.stdout)
    assert [d["event"] for d in docs] == ["status", "notice", "status", "result"]
    assert docs[0]["status"] == "queued" and docs[1]["notice"] == "unrecognised_status"


def test_status_outside_enum_until_timeout(cli, make_sim, clock):
    sim = make_sim({"t": steps("queued")}, clock=clock)
    run = cli("watch", "-q", "--timeout", "20", "t", expect=124, base_url=sim.url, clock=clock)
    assert run.stdout == "queued\n"


def test_until_unknown_catches_a_status_outside_enum(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", "queued")}, clock=clock)
    run = cli("watch", "--json", "--until", "unknown", "t", expect=0, base_url=sim.url, clock=clock)
    assert results(run.stdout)["t"]["status"] == "queued"


def test_status_unknown_is_not_terminal(cli, make_sim, clock):
    sim = make_sim({"t": steps(("unknown", 2), "canceled")}, clock=clock)
    run = cli("watch", "--json", "t", expect=11, base_url=sim.url, clock=clock)
    assert results(run.stdout)["t"]["polls"] == 3


def test_malformed_200_is_a_missed_poll(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", {"body": "<html>portal</html>"}, "finished")}, clock=clock)
    run = cli("watch", "--json", "t", expect=0, base_url=sim.url, clock=clock)
    assert [d["event"] for d in events(run.stdout)] == ["status", "retry", "status", "result"]


def test_redirect_ends_the_watch_76(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", {"http": 302, "location": "https://elsewhere.example/x"})},
                   clock=clock)
    run = cli("watch", "--json", "t", expect=76, base_url=sim.url, clock=clock)
    assert [d["event"] for d in events(run.stdout)] == ["status", "result"]


def test_no_key_78_still_one_result_per_task(cli, sim, clock, monkeypatch):
    monkeypatch.delenv("BROWSERACT_API_KEY")
    run = cli("watch", "--json", "a", "b", expect=78, base_url=sim.url, clock=clock)
    res = results(run.stdout)
    assert set(res) == {"a", "b"} and all(r["error"]["kind"] == "config" for r in res.values())
    assert sim.requests == []


def test_unexpected_error_is_exit_1_with_results(cli, make_sim, clock, monkeypatch):
    from browseract_cli.watcher import Watch

    def boom(self, *args):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail")

    monkeypatch.setattr(Watch, "_handle", boom)
    sim = make_sim({"t": steps("running")}, clock=clock)
    run = cli("watch", "--json", "t", "u", expect=1, base_url=sim.url, clock=clock)
    res = results(run.stdout)
    assert {r["exit_code"] for r in res.values()} == {1}
    assert "internal error" in run.stderr and "secret detail" not in run.stderr


# --------------------------------------------------------------------------- several tasks


@pytest.mark.parametrize(("finals", "code"), [
    (["finished", "finished"], 0),
    (["finished", "failed", "canceled"], 10),
    (["finished", "canceled"], 11),
    (["failed", "canceled", "404"], 66),
    (["failed", "401", "404"], 77),
    (["canceled", "forever"], 124),
])
def test_several_tasks_most_severe_wins(cli, make_sim, clock, finals, code):
    tasks = {}
    ids = []
    for i, final in enumerate(finals):
        task_id = f"t{i}-{final}"
        ids.append(task_id)
        if final == "404":
            continue  # unknown to the simulator: 10112
        if final == "401":
            tasks[task_id] = steps("running", {"http": 401})
        elif final == "forever":
            tasks[task_id] = steps("running")
        else:
            tasks[task_id] = steps(("running", i + 1), final)
    sim = make_sim(tasks, clock=clock)
    run = cli("watch", "--json", "--timeout", "2m", *ids, expect=code, base_url=sim.url, clock=clock)
    res = results(run.stdout)
    assert set(res) == set(ids)
    expected = {"finished": 0, "failed": 10, "canceled": 11, "404": 66, "401": 77, "forever": 124}
    assert {tid: r["exit_code"] for tid, r in res.items()} == {
        tid: expected[tid.split("-", 1)[1]] for tid in ids}


def test_fail_fast_stops_the_others(cli, make_sim, clock):
    sim = make_sim({"bad": steps(("running", 2), "failed"), "slow": steps("created", "running")},
                   clock=clock)
    run = cli("watch", "--json", "--fail-fast", "bad", "slow", expect=10, base_url=sim.url, clock=clock)
    res = results(run.stdout)
    assert res["bad"]["exit_code"] == 10
    assert res["slow"]["status"] == "running" and res["slow"]["exit_code"] == 14
    assert res["bad"]["elapsed_s"] == 10.0
    assert clock.now - START == pytest.approx(10.051)  # the failure lookup keeps to the rate cap
    assert max(poll_times(sim, "slow")) <= 10.0  # no poll after the failure
    # Without --fail-fast the other task is watched on, here until the timeout.
    sim.reset()
    run = cli("watch", "--json", "--timeout", "1m", "bad", "slow", expect=124, base_url=sim.url, clock=clock)
    assert results(run.stdout)["slow"]["exit_code"] == 124


def test_task_ids_from_stdin(cli, make_sim, clock):
    sim = make_sim({"a": steps("finished"), "b": steps("running", "finished")}, clock=clock)
    run = cli("watch", "-q", "-", input="# my tasks\n\na\r\n  \nb\n", expect=0, base_url=sim.url, clock=clock)
    assert sorted(run.lines) == ["a\tfinished", "b\tfinished"]


def test_duplicate_ids_are_watched_once(cli, make_sim, clock):
    sim = make_sim({"a": steps("finished")}, clock=clock)
    run = cli("watch", "--json", "a", "a", expect=0, base_url=sim.url, clock=clock)
    assert len(events(run.stdout)) == 2
    assert sim.request_count("a") == 1


# --------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize("args", [
    ["--interval", "0"],
    ["--interval", "-1"],
    ["--interval", "0.0"],
    ["--interval", "abc"],
    ["--timeout", "abc"],
    ["--timeout", "-5"],
    ["--timeout", "10x"],
    ["--timeout", "nan"],
    ["--timeout", "inf"],
    ["--max-outage", "nan"],
    ["--max-outage", "1e3"],
    ["--heartbeat", "inf"],
    ["--not-found-grace", "10x"],
    ["--until", "bogus"],
    ["--until", "finished", "--until", "done"],
    ["--json", "-q"],
    ["--no-such-option"],
])
def test_bad_options_exit_2_without_a_request(cli, sim, clock, args):
    run = cli("watch", *args, "demo-finished", expect=2, base_url=sim.url, clock=clock)
    assert sim.requests == []
    assert run.stdout == ""


@pytest.mark.parametrize("stdin", ["", "# only comments\n\n", "ok\nbad\x1bid\n"])
def test_bad_stdin_exit_2_without_a_request(cli, sim, clock, stdin):
    cli("watch", "-", input=stdin, expect=2, base_url=sim.url, clock=clock)
    assert sim.requests == []


def test_fractional_interval_and_units(cli, make_sim, clock):
    sim = make_sim({"t": steps(("running", 3), "finished")}, clock=clock)
    cli("watch", "--interval", "0.25", "--timeout", "1m", "--max-outage", "2h", "--heartbeat", "30s",
        "--not-found-grace", "1.5", "t", expect=0, base_url=sim.url, clock=clock)
    assert poll_times(sim, "t") == [0.0, 0.25, 0.5, 0.75]


# --------------------------------------------------------------------------- output modes


def test_json_event_sequence_exact(cli, make_sim, clock):
    sim = make_sim({"t": steps("created", ("running", 2), {"http": 503}, "finished")}, clock=clock)
    run = cli("watch", "--json", "t", expect=0, base_url=sim.url, clock=clock)
    assert run.stderr == ""  # JSON mode: nothing but events, and those on stdout
    docs = [strip_volatile(d) for d in events(run.stdout)]
    assert docs == [
        {"event": "status", "task_id": "t", "status": "created", "previous": None, "elapsed_s": 0.0},
        {"event": "status", "task_id": "t", "status": "running", "previous": "created", "elapsed_s": 5.0},
        {"event": "retry", "task_id": "t", "next_poll_in_s": 5.0, "gives_up_in_s": 300.0,
         "error": {"kind": "server", "http_status": 503, "code": 503, "msg": "Service Unavailable"}},
        {"event": "status", "task_id": "t", "status": "finished", "previous": "running", "elapsed_s": 20.0},
        {"event": "result", "task_id": "t", "status": "finished", "exit_code": 0, "error": None,
         "elapsed_s": 20.0, "polls": 5, "failure": None},
    ]


def test_json_several_tasks_one_result_each_last(cli, make_sim, clock):
    sim = make_sim({f"t{i}": steps(*(["running"] * i), "finished") for i in range(5)}, clock=clock)
    run = cli("watch", "--json", *(f"t{i}" for i in range(5)), expect=0, base_url=sim.url, clock=clock)
    res = results(run.stdout)
    assert sorted(res) == [f"t{i}" for i in range(5)]
    assert [res[f"t{i}"]["polls"] for i in range(5)] == [1, 2, 3, 4, 5]


def test_json_lines_are_whole_at_narrow_width(cli, make_sim, clock):
    sim = make_sim({"a-rather-long-task-id-" + "x" * 60: steps("running", "finished")}, clock=clock)
    run = cli("watch", "--json", "a-rather-long-task-id-" + "x" * 60, expect=0, base_url=sim.url, clock=clock,
              env={"COLUMNS": "20"})
    assert len(run.lines) == 3
    events(run.stdout)


def test_plain_lines_off_a_terminal(cli, make_sim, clock):
    sim = make_sim({"t": steps("created", {"http": 503}, "running", "finished")}, clock=clock)
    run = cli("watch", "t", expect=0, base_url=sim.url, clock=clock)
    for text in (run.stdout, run.stderr):
        assert "\r" not in text and "\x1b" not in text
    assert len(run.lines) == 4  # three changes and the final line
    assert all(PLAIN_LINE.match(line) for line in run.lines), run.lines
    assert run.lines[0].endswith(" t created (elapsed 0s)")
    assert run.lines[1].endswith(" t running (was created, elapsed 10s)")
    assert run.lines[2].endswith(" t finished (was running, elapsed 15s)")
    assert run.lines[3].endswith(" t finished: exit 0 (elapsed 15s, 4 polls)")
    missed = [line for line in run.stderr.splitlines() if "missed poll" in line]
    assert len(missed) == 1 and PLAIN_LINE.match(missed[0]) and "HTTP 503" in missed[0]
    assert "next poll in 5.0s" in missed[0]


def test_plain_output_never_has_escapes_even_with_hostile_status(cli, make_sim, clock):
    evil = "\x1b]0;pwned\x07[link=https://evil]click[/link]\x1b[2J"
    sim = make_sim({"t": steps(evil, "finished")}, clock=clock)
    run = cli("watch", "t", expect=0, base_url=sim.url, clock=clock)
    assert "\x1b" not in run.stdout + run.stderr and "\x07" not in run.stdout + run.stderr


@pytest.mark.parametrize(("seconds", "expected"), [("10", 5), ("25s", 2), ("0", 0)])
def test_heartbeat_lines_while_nothing_changes(cli, make_sim, clock, seconds, expected):
    sim = make_sim({"t": steps("created", "running")}, clock=clock)
    run = cli("watch", "--heartbeat", seconds, "--timeout", "1m", "t", expect=124, base_url=sim.url, clock=clock)
    beats = [line for line in run.stderr.splitlines() if "still watching" in line]
    assert len(beats) == expected
    assert all(PLAIN_LINE.match(line) and "t running for" in line for line in beats)
    assert len(run.lines) == 3  # two changes and the final line: heartbeats are not data


def test_heartbeat_counts_from_the_last_change(cli, make_sim, clock):
    # Changes at 0, 5, 30: with --heartbeat 20 the only beats are at 25 (5 + 20) and 50 (30 + 20).
    sim = make_sim({"t": steps("created", ("running", 5), "pausing")}, clock=clock)
    run = cli("watch", "--heartbeat", "20", "--timeout", "1m", "t", expect=124, base_url=sim.url, clock=clock)
    beats = [line for line in run.stderr.splitlines() if "still watching" in line]
    assert len(beats) == 2


def test_no_heartbeat_in_json_or_quiet(cli, make_sim, clock):
    sim = make_sim({"t": steps("running")}, clock=clock)
    for mode in ("--json", "-q"):
        sim.reset()
        run = cli("watch", mode, "--heartbeat", "5", "--timeout", "1m", "t", expect=124,
                  base_url=sim.url, clock=clock)
        assert "still watching" not in run.stdout + run.stderr


def test_quiet_one_task_prints_the_word(cli, make_sim, clock):
    sim = make_sim({"t": steps("created", "running", "failed")}, clock=clock)
    run = cli("watch", "-q", "t", expect=10, base_url=sim.url, clock=clock)
    assert run.stdout == "failed\n"
    assert run.stderr == ""


def test_quiet_several_tasks_prints_id_tab_status(cli, make_sim, clock):
    sim = make_sim({"a": steps("running", "finished"), "b": steps("canceled")}, clock=clock)
    run = cli("watch", "--quiet", "a", "b", expect=11, base_url=sim.url, clock=clock)
    assert sorted(run.lines) == ["a\tfinished", "b\tcanceled"]


def test_quiet_error_goes_to_stderr(cli, sim, clock):
    run = cli("watch", "-q", "--not-found-grace", "0", "nope", expect=66, base_url=sim.url, clock=clock)
    assert run.stdout == "-\n"
    assert "task not found" in run.stderr and "10112" in run.stderr


# --------------------------------------------------------------------------- timing


@pytest.mark.parametrize(("retry_after", "expected_wait"), [("17", 17.0), ("2", 5.0), ("600", 60.0)])
def test_retry_after_honoured(cli, make_sim, clock, retry_after, expected_wait):
    sim = make_sim({"t": steps("running", {"http": 429, "retry_after": retry_after}, "finished")},
                   clock=clock)
    run = cli("watch", "--json", "t", expect=0, base_url=sim.url, clock=clock)
    retry = next(d for d in events(run.stdout) if d["event"] == "retry")
    assert retry["next_poll_in_s"] == expected_wait
    assert poll_times(sim, "t") == [0.0, 5.0, 5.0 + expected_wait]


FAR_FUTURE = "Fri, 31 Dec 2100 23:59:59 GMT"


@pytest.mark.parametrize("retry_after", ["60", "600", "99999999", FAR_FUTURE])
def test_retry_after_longer_than_max_outage_ends_at_the_outage_limit(cli, make_sim, clock, retry_after):
    """Issue 13 #10: the Retry-After wait is cut at --max-outage (it waited a full 60 s), and no
    request is sent before the API's pause is over: the watch gives up at the limit with 75."""
    sim = make_sim({"t": steps("running", {"http": 429, "retry_after": retry_after})}, clock=clock)
    run = cli("watch", "--json", "--max-outage", "3s", "t", expect=75, base_url=sim.url, clock=clock)
    docs = events(run.stdout)
    assert [d["event"] for d in docs] == ["status", "retry", "result"]
    assert docs[1]["next_poll_in_s"] == 60.0  # what the API asked for (capped at 60 s)
    res = docs[-1]
    assert res["error"]["kind"] == "rate_limited" and res["error"]["http_status"] == 429
    assert res["elapsed_s"] == 8.0  # the 429 came at 5 s; the outage limit is 3 s later
    assert poll_times(sim, "t") == [0.0, 5.0]  # nothing sent inside the API's pause
    assert clock.now - START == 8.0


def test_retry_after_longer_than_the_timeout_ends_at_the_timeout(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", {"http": 429, "retry_after": "60"})}, clock=clock)
    run = cli("watch", "--json", "--timeout", "9", "t", expect=124, base_url=sim.url, clock=clock)
    res = results(run.stdout)["t"]
    assert (res["exit_code"], res["elapsed_s"]) == (124, 9.0)
    assert poll_times(sim, "t") == [0.0, 5.0]


def test_retry_after_within_max_outage_is_waited_for(cli, make_sim, clock):
    sim = make_sim({"t": steps("running", {"http": 429, "retry_after": "20"}, "finished")}, clock=clock)
    cli("watch", "--json", "--max-outage", "30s", "t", expect=0, base_url=sim.url, clock=clock)
    assert poll_times(sim, "t") == [0.0, 5.0, 25.0]


def test_backoff_never_polls_faster_than_interval(cli, make_sim, clock):
    sim = make_sim({"t": steps(({"http": 503}, 6), "finished")}, clock=clock)
    cli("watch", "--interval", "2", "t", expect=0, base_url=sim.url, clock=clock)
    times = poll_times(sim, "t")
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(gap >= 2.0 for gap in gaps)
    assert max(gaps) <= 20.0  # the backoff cap


def test_interval_one_poll_per_task_per_interval_spread_over_it(cli, make_sim, clock):
    """Ten tasks at --interval 2: each is polled every 2 s, and the polls are spread evenly over
    the interval (one every 0.2 s), not sent as a herd of ten every 2 s (issue 11)."""
    ids = [f"task-{i}" for i in range(10)]
    sim = make_sim({tid: steps(("running", 6), "finished") for tid in ids}, clock=clock)
    run = cli("watch", "--json", "--interval", "2", *ids, expect=0, base_url=sim.url, clock=clock)
    assert len(results(run.stdout)) == 10
    for k, tid in enumerate(ids):
        assert poll_times(sim, tid) == pytest.approx([0.2 * k + 2.0 * n for n in range(7)]), tid
    assert Counter(r.task_id for r in sim.requests) == dict.fromkeys(ids, 7)
    arrivals = sorted(r.at for r in sim.requests)
    assert [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)] == pytest.approx([0.2] * 69)
    assert clock.now - START == pytest.approx(12.0 + 1.8)


def test_idle_sleeps_are_bounded_and_never_negative(cli, make_sim, clock):
    sim = make_sim({"t": steps(("running", 3), "finished")}, clock=clock)
    cli("watch", "--interval", "10", "t", expect=0, base_url=sim.url, clock=clock)
    assert clock.sleeps and all(0 <= s <= 1.0 for s in clock.sleeps)  # wakes at least once a second


# --------------------------------------------------------------------------- CI and connections


def test_github_actions_summary_and_annotations(cli, make_sim, clock, tmp_path: Path):
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    sim = make_sim({"ok": steps("finished"), "bad": steps("running", "failed"),
                    "gone": steps("canceled")}, clock=clock)
    run = cli("watch", "ok", "bad", "gone", expect=10, base_url=sim.url, clock=clock,
              env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")  # appended, not replaced
    assert "| Task | Status | Exit | Polls |" in text
    assert "| `ok` | `finished` | 0 | 1 |" in text  # server text in code spans (issue 13, #18)
    assert "| `bad` | `failed` | 10 | 2 |" in text
    assert "| `gone` | `canceled` | 11 | 1 |" in text
    errors = [line for line in run.stderr.splitlines() if line.startswith("::error")]
    warnings = [line for line in run.stderr.splitlines() if line.startswith("::warning")]
    assert len(errors) == 1 and "bad" in errors[0]
    assert len(warnings) == 1 and "gone" in warnings[0]
    assert not any(line.startswith("::") for line in run.stdout.splitlines())


def test_no_github_output_outside_actions(cli, make_sim, clock, tmp_path: Path):
    summary = tmp_path / "step-summary.md"
    sim = make_sim({"bad": steps("failed")}, clock=clock)
    run = cli("watch", "bad", expect=10, base_url=sim.url, clock=clock,
              env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert not summary.exists() and "::error" not in run.stderr


def test_connection_reused_over_a_long_watch_fake_clock(cli, make_sim, clock):
    sim = make_sim({"t": steps(("running", 49), "finished")}, clock=clock)
    run = cli("watch", "--json", "t", expect=0, base_url=sim.url, clock=clock)
    assert results(run.stdout)["t"]["polls"] == 50
    assert sim.request_count("t") == 50
    assert sim.connections_opened <= 2


def test_connection_reused_over_a_long_watch_real_clock(cli, make_sim):
    sim = make_sim({"t": steps(("running", 49), "finished")})
    cli("watch", "-q", "--interval", "0.001", "--max-rate", "0", "t", expect=0, base_url=sim.url)
    assert sim.request_count("t") == 50
    assert sim.connections_opened <= 2


def test_several_tasks_share_a_small_pool(cli, make_sim, clock):
    ids = [f"t{i}" for i in range(12)]
    sim = make_sim({tid: steps(("running", 10), "finished") for tid in ids}, clock=clock)
    cli("watch", "-q", "--interval", "1", *ids, expect=0, base_url=sim.url, clock=clock)
    assert sim.request_count() == 12 * 11
    assert sim.connections_opened <= 8


# --------------------------------------------------------------------------- many tasks (issue 11)


def busiest_second(sim: Any) -> int:
    """The most requests the simulator received in any one-second window (server clock)."""
    times = sorted(r.at for r in sim.requests)
    return max(bisect.bisect_left(times, t + 1.0 - 1e-6) - i for i, t in enumerate(times))


def gaps_of(sim: Any, task_id: str) -> list[float]:
    times = poll_times(sim, task_id)
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_a_few_tasks_at_a_long_interval_are_all_seen_at_once(cli, make_sim, clock):
    """Spreading never holds back a first look for long: first polls at most 0.5 s apart."""
    sim = make_sim({"a": steps("running"), "b": steps("running")}, clock=clock)
    cli("watch", "-q", "--interval", "30", "--timeout", "61", "a", "b", expect=124,
        base_url=sim.url, clock=clock)
    assert poll_times(sim, "a") == [0.0, 30.0, 60.0]
    assert poll_times(sim, "b") == [0.5, 30.5, 60.5]


def test_a_thousand_tasks_stay_under_the_default_rate_cap(cli, make_sim, clock):
    """1,000 tasks at --interval 5 would be 200 requests a second: the watch sends at most 20,
    evenly (one every 51 ms), and each task is polled at the same steady pace (every 51 s),
    over few connections."""
    ids = [f"t{i:04d}" for i in range(1000)]
    sim = make_sim({tid: steps("running") for tid in ids}, clock=clock)
    run = cli("watch", "--json", "--timeout", "60", *ids, expect=124, base_url=sim.url, clock=clock)
    assert busiest_second(sim) == 20
    assert sim.request_count() == pytest.approx(60 / 0.051, abs=2)
    polled = Counter(r.task_id for r in sim.requests)
    assert set(polled) == set(ids) and set(polled.values()) == {1, 2}  # every task, none twice early
    assert all(gap == pytest.approx(51.0) for tid in ids for gap in gaps_of(sim, tid))
    assert sim.connections_opened <= 8
    assert "1000 tasks at --max-rate 20" in run.stderr and "about every 51s" in run.stderr
    assert len(results(run.stdout)) == 1000


@pytest.mark.parametrize(("args", "env", "cap"), [
    (["--max-rate", "50"], {}, 50),
    ([], {"BROWSERACT_MAX_RATE": "10"}, 10),
    (["--max-rate", "7.5"], {"BROWSERACT_MAX_RATE": "10"}, 8),  # the flag wins; 7.5 a second on average
    ([], {"BROWSERACT_MAX_RATE": ""}, 20),  # empty counts as unset
])
def test_the_rate_cap_is_settable(cli, make_sim, clock, args, env, cap):
    ids = [f"t{i}" for i in range(100)]
    sim = make_sim({tid: steps("running") for tid in ids}, clock=clock)
    cli("watch", "-q", "--interval", "1", "--timeout", "5", *args, *ids, expect=124,
        base_url=sim.url, clock=clock, env=env)
    assert busiest_second(sim) == cap


def test_within_the_cap_each_task_keeps_its_interval(cli, make_sim, clock):
    ids = [f"t{i}" for i in range(40)]  # 8 requests a second at --interval 5
    sim = make_sim({tid: steps("running") for tid in ids}, clock=clock)
    run = cli("watch", "-q", "--timeout", "60", *ids, expect=124, base_url=sim.url, clock=clock)
    assert {round(gap, 9) for tid in ids for gap in gaps_of(sim, tid)} == {5.0}
    assert busiest_second(sim) == 8
    assert "--max-rate" not in run.stderr  # nothing to say: every task is polled every 5 s


def test_max_rate_0_means_no_cap(cli, make_sim, clock):
    ids = [f"t{i}" for i in range(100)]
    sim = make_sim({tid: steps("running") for tid in ids}, clock=clock)
    cli("watch", "-q", "--interval", "1", "--timeout", "2", "--max-rate", "0", *ids, expect=124,
        base_url=sim.url, clock=clock)
    assert busiest_second(sim) == 100


@pytest.mark.parametrize("value", ["-1", "abc", "nan", "inf", ""])
def test_bad_max_rate_is_a_usage_error(cli, sim, clock, value):
    run = cli("watch", "--max-rate", value, "demo-finished", expect=2, base_url=sim.url, clock=clock)
    assert "--max-rate" in run.stderr and sim.requests == []


def test_bad_max_rate_variable_is_a_config_error(cli, sim, clock):
    run = cli("watch", "--json", "a", "b", expect=78, base_url=sim.url, clock=clock,
              env={"BROWSERACT_MAX_RATE": "fast"})
    assert "BROWSERACT_MAX_RATE" in run.stderr and sim.requests == []
    assert {r["exit_code"] for r in results(run.stdout).values()} == {78}


def test_retry_after_from_one_task_holds_every_task(cli, make_sim, clock):
    """A 429 with Retry-After slows the whole watch, not just the task that got it."""
    sim = make_sim({"a": steps("running", {"http": 429, "retry_after": "20"}, "running"),
                    "b": steps("running"), "c": steps("running")}, clock=clock)
    cli("watch", "-q", "--timeout", "40", "a", "b", "c", expect=124, base_url=sim.url, clock=clock)
    times = sorted(r.at - START for r in sim.requests)
    assert not [t for t in times if 5.0 < t < 25.0]  # nothing inside the API's pause
    assert poll_times(sim, "a")[:2] == [0.0, 5.0] and 25.0 <= poll_times(sim, "a")[2] < 25.2


def test_at_most_eight_polls_in_flight_and_no_thread_left_behind():
    """The pool's size is the limit of concurrent polls (the client's connections); its
    threads end with the watch. A real clock: the polls wait for each other, not for time."""
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    eight = threading.Event()

    def poll(task_id: str) -> TaskState:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            if state["now"] == 8:
                eight.set()
        eight.wait(5)  # held until eight are out at once: a smaller pool would time out here
        with lock:
            state["now"] -= 1
        return TaskState("finished")

    before = {t.ident for t in threading.enumerate()}
    opts = WatchOptions(task_ids=[f"t{i}" for i in range(40)], interval=0.01, max_rate=0)
    watch = Watch(opts, poll, Recorder(time.monotonic), clock=time.monotonic, wall=time.time,
                  sleep=time.sleep, uniform=lambda a, b: b)
    assert watch.run() == 0
    assert eight.is_set() and state["most"] == 8
    pollers = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("poll-")]
    assert len(pollers) <= 8
    for thread in pollers:
        thread.join(5)
    assert not any(t.is_alive() for t in pollers)


def test_a_closed_client_sends_nothing_and_opens_no_connection(sim, canary):
    """A poll still queued when a watch stops must not reconnect on a closed session (#13 #12)."""
    from browseract_cli.api import ApiClient
    from browseract_cli.endpoints import get_task_status

    client = ApiClient(sim.url, canary)
    assert get_task_status(client, "demo-forever", retry=False).status in ("created", "running")
    client.close()
    with pytest.raises(ApiError) as caught:
        get_task_status(client, "demo-forever")
    assert caught.value.kind == "network" and not caught.value.reached_server
    assert sim.request_count() == 1 and sim.connections_opened == 1


def test_prepared_polls_still_send_back_the_cookies_the_api_sets(canary):
    """Polls reuse one prepared request per method and path (CPU), each with its own task's
    query: a cookie the API sets later (a load balancer's, say) is still sent with the next
    requests, as requests' Session does, and every ID reaches the server exactly as given."""
    from urllib.parse import parse_qs, urlsplit

    from browseract_cli.api import ApiClient
    from browseract_cli.endpoints import get_task_status

    ids = ["t", "a b&task_id=x", "é/ü?#%41"]
    sticky = respond(body=b'{"status":"running"}', headers=[("Set-Cookie", "lb=node-2; Path=/")])
    with FaultServer(respond(body=b'{"status":"running"}'), sticky,
                     respond(body=b'{"status":"running"}')) as server, ApiClient(server.url, canary) as client:
        for task_id in ids:
            assert get_task_status(client, task_id, retry=False).status == "running"
        cookies = [r.headers.get("cookie") for r in server.requests]
        queries = [parse_qs(urlsplit(r.target).query) for r in server.requests]
        paths = {urlsplit(r.target).path for r in server.requests}
    assert cookies == [None, None, "lb=node-2"]
    assert queries == [{"task_id": [task_id]} for task_id in ids]
    assert paths == {"/v2/workflow/get-task-status"}
    assert all(r.authorization == f"Bearer {canary}" for r in server.requests)


def test_fake_clock_sanity(clock):
    clock.sleep(1.5)
    assert clock() == START + 1.5
