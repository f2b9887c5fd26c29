"""The watch loop: poll tasks on a monotonic schedule until each reaches a stop state.

Transport trouble is a missed poll, not the end; all timing goes through injected clock and
sleep so tests run instantly and deterministically. The polls of many tasks are spread evenly
over the interval, at most a few at once (the client's keep-alive connections), and never
faster than one global request rate (--max-rate): the interval stretches when the rate cannot
poll every task that often.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import inspect
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from browseract_cli.errors import ApiError, BrowseractError
from browseract_cli.exit_codes import ExitCode, worst
from browseract_cli.models import TERMINAL, Failure, TaskState, is_known, state_exit_code
from browseract_cli.polling import Pace, PollPool
from browseract_cli.retry import RetryPolicy, backoff_delay
from browseract_cli.transport import CURRENT

# One look at a task's state (a single attempt: the watch itself decides about retries);
# raises ApiError. `watch`, `run --wait`, `output --wait`, `stop --wait` and `resume --wait`
# all watch through the same loop with their own poll. A poll (or Details) that takes a
# ``deadline_s`` keyword is given the seconds left to --timeout (None without one) and must
# give up by then; one that does not is called with the task ID alone.
Poll = Callable[..., TaskState]
# Why a task failed (one get-task, once): (code, message), or None when it cannot be told.
Details = Callable[..., "Failure | None"]

MAX_WORKERS = 8  # polls in flight at once, at most (the client's keep-alive connections)
DEFAULT_MAX_RATE = 20.0  # requests per second over all the tasks of one watch
FIRST_STEP_MAX = 0.5  # the first polls go out at least this often: every task is seen soon
TICK_S = 0.25  # the reporter's tick (the live view's clock) comes at most this often...
WAKE_S = 1.0  # ...and at least this often


def paused_note(task_id: str) -> str:
    import shlex

    from browseract_cli.sanitize import clean

    return ("waiting for human input: once a person has done the step in the BrowserAct app, "
            f"`browseract resume {shlex.quote(clean(task_id, 120))}` continues it")


@dataclass(frozen=True)
class WatchOptions:
    task_ids: Sequence[str]
    interval: float = 5.0
    timeout: float = 0.0  # 0 = no limit
    until: frozenset[str] = frozenset()
    not_found_grace: float = 10.0
    max_outage: float = 300.0  # 0 = no limit
    heartbeat: float = 60.0  # 0 = off
    fail_fast: bool = False
    max_rate: float | None = None  # requests per second, all tasks together; None = 20, 0 = no cap
    workers: int = MAX_WORKERS  # polls in flight at once, at most


@dataclass
class Tracked:
    """What the watch knows about one task."""

    task_id: str
    status: str | None = None
    since: float = 0.0  # monotonic time the current status was first seen
    polls: int = 0
    last_checked: float | None = None  # wall clock of the last answer
    next_due: float = 0.0
    failures: int = 0  # consecutive missed polls
    outage_since: float | None = None
    notified: set[str] = field(default_factory=set)
    exit_code: int | None = None
    error: BrowseractError | None = None
    ended_at: float | None = None
    failure: Failure | None = None  # for a task that ended `failed`, when the lookup worked
    end_with: ApiError | None = None  # when next due, end with this error instead of polling
    gives_up_in: float | None = None  # at a missed poll: seconds until the watch gives up on it, at
    # the earliest (--max-outage or --timeout), if the trouble lasts; None when it never will

    @property
    def done(self) -> bool:
        return self.exit_code is not None


class Reporter(Protocol):
    """Where watch events go (render_watch.py has one per output mode)."""

    def status(self, t: Tracked, previous: str | None, elapsed: float) -> None: ...
    def retry(self, t: Tracked, err: ApiError, next_in: float) -> None: ...
    def notice(self, t: Tracked, kind: str, text: str) -> None: ...
    def heartbeat(self, tasks: Sequence[Tracked], now: float) -> None: ...
    def result(self, t: Tracked, elapsed: float) -> None: ...
    def tick(self, tasks: Sequence[Tracked], now: float) -> None: ...


class Watch:
    def __init__(self, opts: WatchOptions, poll: Poll, report: Reporter, *,
                 clock: Callable[[], float], wall: Callable[[], float],
                 sleep: Callable[[float], None], uniform: Callable[[float, float], float],
                 policy: RetryPolicy = RetryPolicy(), details: Details | None = None) -> None:
        self.opts = opts
        self.poll = poll
        self.details = details
        self.policy = policy
        self.report = report
        self.clock, self.wall, self.sleep, self.uniform = clock, wall, sleep, uniform
        self.tasks = [Tracked(t) for t in dict.fromkeys(opts.task_ids)]
        self.start = clock()
        self._pace = Pace(DEFAULT_MAX_RATE if opts.max_rate is None else opts.max_rate)
        self._send_gate = functools.partial(self._pace.sending, clock, sleep)
        # The time between two polls of one task: --interval, or longer when the rate cap
        # cannot poll every task that often (1,000 tasks at 20 requests a second: 51 s).
        self.cycle = max(opts.interval, len(self.tasks) * self._pace.gap)
        # Spread the first polls evenly over the interval (and so every later round of polls:
        # no herd of requests every interval), but no more than FIRST_STEP_MAX apart, so that a
        # few tasks at a long interval are all seen at once (a burst of a few polls is no herd).
        step = min(opts.interval / max(1, len(self.tasks)), FIRST_STEP_MAX)
        self._waiting: list[tuple[float, int, Tracked]] = []  # a heap: (next_due, order, task)
        for i, t in enumerate(self.tasks):
            t.next_due = self.start + i * step
            self._waiting.append((t.next_due, i, t))
        self._order = itertools.count(len(self.tasks))
        self._left = len(self.tasks)
        self._workers = max(1, min(opts.workers, len(self.tasks)))
        self._pool: PollPool | None = None
        self._last_output = self.start
        self._last_tick: float | None = None
        self._poll_deadline = _takes_deadline(poll)
        self._answered = False  # whether anything has answered a poll yet
        self._refused_noted = False
        self._details_deadline = details is not None and _takes_deadline(details)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        """Watch until every task is done; returns the overall exit code."""
        try:
            while self._left:
                now = self.clock()
                if self._expired(now):
                    self.end_all(ExitCode.WATCH_TIMEOUT)
                    break
                if self._collect(0.0):
                    continue
                t = self._next_waiting()
                if t is not None and self._ready_at(t) <= now and (
                        t.end_with is not None or self._in_flight() < self._workers):
                    self._launch(t, now)
                    continue
                self._idle(now, t)
        finally:
            if self._pool is not None:
                self._pool.close()
        return self.overall()

    def end_all(self, code: int) -> None:
        """Finish every task still being watched with ``code`` (timeout, Ctrl-C, SIGTERM, fail-fast)."""
        for t in self.active():
            self._finish(t, code)

    def _stop_others(self) -> None:
        """--fail-fast: every other task ends with the code of the state it was last seen in."""
        for t in self.active():
            self._finish(t, state_exit_code(t.status) if t.status else ExitCode.TASK_IN_PROGRESS)

    def active(self) -> list[Tracked]:
        return [t for t in self.tasks if not t.done]

    def overall(self) -> int:
        codes = [t.exit_code for t in self.tasks if t.exit_code is not None]
        for special in (ExitCode.TERMINATED, ExitCode.INTERRUPTED):
            if special in codes:
                return special
        return worst(codes)

    def _in_flight(self) -> int:
        return 0 if self._pool is None else self._pool.busy

    def _next_waiting(self) -> Tracked | None:
        """The waiting task due first (tasks that ended meanwhile are dropped from the heap)."""
        while self._waiting:
            due, _, t = self._waiting[0]
            if not t.done and due == t.next_due:
                return t
            heapq.heappop(self._waiting)
        return None

    def _ready_at(self, t: Tracked) -> float:
        if t.end_with is not None:
            return t.next_due  # ending it sends nothing
        return max(t.next_due, self._pace.ready_at())

    def _idle(self, now: float, t: Tracked | None) -> None:
        # The display never takes the time of a poll that is due: while one waits only for a
        # free worker, the reporter ticks just once a second (its timers), else every TICK_S.
        due = t is not None and self._ready_at(t) <= now
        since = None if self._last_tick is None else now - self._last_tick
        if since is None or since >= (WAKE_S if due else TICK_S):
            self.report.tick(self.tasks, now)
            self._last_tick = now
        hb = self.opts.heartbeat
        if hb and now >= self._last_output + hb:  # the same sum as the wake-up time below
            self.report.heartbeat(self.active(), now)
            self._last_output = now
        wake = now + WAKE_S  # wake at least once a second (the live view's timers)
        if t is not None:
            wake = min(wake, self._ready_at(t))
        if hb:
            wake = min(wake, self._last_output + hb)
        if self.opts.timeout:
            wake = min(wake, self.start + self.opts.timeout)
        gap = max(0.0, wake - self.clock())
        if self._in_flight():
            # Wait for an answer (up to the wake time) rather than sleep past it: on a test's
            # fake clock, no time passes while a poll is out, so its schedule stays exact.
            self._collect(gap if gap > 0 else WAKE_S)
        else:
            self.sleep(gap)

    # -- polls ------------------------------------------------------------------------------

    def _launch(self, t: Tracked, now: float) -> None:
        heapq.heappop(self._waiting)
        if t.end_with is not None:
            self._finish(t, t.end_with.exit_code, t.end_with)
            return
        self._pace.sent(now)  # the cadence counts from when a poll starts, not when it ends
        if self._workers == 1:
            self._settle(t, self._fetch(t.task_id), now)
            return
        if self._pool is None:
            self._pool = PollPool(self._workers, self._fetch)
        self._pool.submit(t, t.task_id, now)

    def _collect(self, wait: float) -> bool:
        """Handle the polls that have come back, waiting up to ``wait`` s for the first one."""
        handled = False
        while self._in_flight() and self._left:
            assert self._pool is not None  # noqa: S101 (for the type checker)
            item = self._pool.take(0.0 if handled else min(wait, WAKE_S))
            if item is None:
                break
            self._settle(*item)
            handled = True
        return handled

    def _settle(self, t: Tracked, outcome: TaskState | ApiError, started: float) -> None:
        if t.done:
            return  # it ended while its poll was out (--fail-fast, the end of the watch)
        self._handle(t, outcome, self.clock(), started)
        if not t.done:
            heapq.heappush(self._waiting, (t.next_due, next(self._order), t))
        elif self.opts.fail_fast and t.exit_code != 0:
            self._stop_others()

    def _fetch(self, task_id: str) -> TaskState | ApiError:
        try:
            with self._paced():
                if not self._poll_deadline:
                    return self.poll(task_id)
                left = self._time_left()
                if left is not None and left <= 0:
                    return ApiError("network", "not sent: --timeout expired", retryable=True)
                return self.poll(task_id, deadline_s=left)
        except ApiError as err:
            return err

    @contextlib.contextmanager
    def _paced(self) -> Iterator[None]:
        """Requests made in this thread meanwhile keep to the request rate when they are sent."""
        CURRENT.gate = self._send_gate
        try:
            yield
        finally:
            CURRENT.gate = None

    def _time_left(self) -> float | None:
        """Seconds left to --timeout (None without one): no request may run past it."""
        if not self.opts.timeout:
            return None
        return self.start + self.opts.timeout - self.clock()

    def _expired(self, now: float) -> bool:
        # The same sum as the wake-up time in _idle: `now - start >= timeout` can fall one ulp
        # short of it, and the watch would sleep 0 s forever on an injected clock.
        return bool(self.opts.timeout) and now >= self.start + self.opts.timeout

    def _failure_of(self, task_id: str) -> Failure | None:
        """Why a task failed: one more request, so it keeps to the request rate too."""
        if self.details is None:
            return None
        try:
            with self._paced():
                if self._details_deadline:
                    return self.details(task_id, deadline_s=self._time_left())
                return self.details(task_id)
        finally:
            self._pace.sent(self.clock())  # the next poll is planned after this request too

    def _handle(self, t: Tracked, outcome: TaskState | ApiError, now: float, started: float) -> None:
        t.next_due = started + self.opts.interval
        if isinstance(outcome, ApiError):
            if self._expired(now) and _is_missed_poll(outcome):
                return  # cut short by --timeout: the watch now ends with 124, not a missed poll
            self._handle_error(t, outcome, now)
            return
        t.polls += 1
        t.last_checked = self.wall()
        t.failures, t.outage_since, t.gives_up_in = 0, None, None
        self._answered = True
        status = outcome.status
        if status != t.status:
            previous, t.status, t.since = t.status, status, now
            self.report.status(t, previous, now - self.start)
            self._last_output = now
            if not is_known(status):
                self.report.notice(t, "unrecognised_status",
                                   "status not in this version's list: treated as 'unknown', still watching")
            if status == "paused":
                self.report.notice(t, "paused", paused_note(t.task_id))
        # A value outside the enum counts as `unknown` (contract), so `--until unknown` catches it.
        if status in self.opts.until or (not is_known(status) and "unknown" in self.opts.until):
            self._finish(t, ExitCode.OK)
        elif status in TERMINAL:
            if status == "failed":
                t.failure = self._failure_of(t.task_id)
            self._finish(t, state_exit_code(status), at=now)

    def _handle_error(self, t: Tracked, err: ApiError, now: float) -> None:
        t.polls += 1
        if err.http_status is not None:
            self._answered = True  # something answers there, if badly
        if err.kind == "not_found" and now - self.start < self.opts.not_found_grace:
            if "not_found" not in t.notified:
                t.notified.add("not_found")
                left = self.opts.not_found_grace - (now - self.start)
                self.report.notice(t, "not_found_yet",
                                   f"task not found yet; waiting up to {left:.0f}s more for it to appear")
            return
        if not _is_missed_poll(err):
            self._finish(t, err.exit_code, err)
            return
        t.failures += 1
        if t.outage_since is None:
            t.outage_since = now
        limit = t.outage_since + self.opts.max_outage if self.opts.max_outage else None
        if limit is not None and now >= limit:
            self._finish(t, err.exit_code, err)
            return
        wait = self._retry_wait(t, err, now, limit)
        t.next_due = now + wait
        if err.retry_after is not None:
            self._pace.hold(now + err.retry_after)  # the API asked this client to slow down: all tasks wait
        if err.retry_after is not None and limit is not None and now + err.retry_after > limit:
            # The API asks for a pause that runs past --max-outage: give up when the outage
            # reaches it, without the request it asked not to get (--timeout may come first).
            t.end_with, t.next_due = err, limit
        t.gives_up_in = self._gives_up_in(t, now, limit)
        self._note_refused(t, err)
        self.report.retry(t, err, wait)

    def _gives_up_in(self, t: Tracked, now: float, limit: float | None) -> float | None:
        ends = []
        if limit is not None:  # the first failed poll at or after the limit ends it
            ends.append(limit if t.end_with is not None else max(limit, t.next_due))
        if self.opts.timeout:
            ends.append(self.start + self.opts.timeout)
        return max(0.0, min(ends) - now) if ends else None

    def _note_refused(self, t: Tracked, err: ApiError) -> None:
        """Connection refused before anything ever answered: most likely nothing runs there
        (no simulator started, a wrong port). Said once, plainly; the watch keeps trying."""
        if err.cause != "refused" or self._answered or self._refused_noted:
            return
        self._refused_noted = True
        until = "" if t.gives_up_in is None else f"; gives up in {_span(t.gives_up_in)}"
        self.report.notice(t, "connection_refused",
                           f"{err.msg}, and no poll has succeeded yet: {err.hint}. Still trying{until}")

    def _retry_wait(self, t: Tracked, err: ApiError, now: float, limit: float | None) -> float:
        if err.retry_after is not None:
            return max(self.opts.interval, err.retry_after)  # the server's wish, never faster than --interval
        wait = backoff_delay(t.failures - 1, self.uniform, self.policy)
        if limit is not None:  # one last poll when the outage reaches --max-outage, not a backoff later
            wait = min(wait, limit - now)
        return max(self.opts.interval, wait)

    def _finish(self, t: Tracked, code: int, err: BrowseractError | None = None,
                at: float | None = None) -> None:
        if t.done:
            return
        self._left -= 1
        t.exit_code, t.error = int(code), err
        t.ended_at = self.clock() if at is None else at
        self.report.result(t, t.ended_at - self.start)


def _span(seconds: float) -> str:
    """8s, 4m05s, 2h03m (as the reporters show durations)."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _takes_deadline(fn: Callable[..., object]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "deadline_s" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _is_missed_poll(err: ApiError) -> bool:
    """Transient trouble keeps a watch going; a rejected key, a bad request or a redirect ends it."""
    if err.kind in ("auth", "not_found", "bad_request") and not err.retryable:
        return False
    if err.http_status is not None and 300 <= err.http_status < 400:
        return False
    return err.retryable or err.kind == "server"
