"""The request side of a watch: one global request rate (``Pace``) and a few poll threads (``PollPool``).

Both are driven by the watch loop in watcher.py, on its (injectable) clock: the loop asks the
pace when the next request may go, and hands a poll to the pool only when a thread is free.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from browseract_cli.errors import ApiError
from browseract_cli.models import TaskState

Outcome = TaskState | ApiError
# Requests are spaced 2 % more than 1/rate apart: N + 1 requests then span 2 % more than a
# second, so a few milliseconds of jitter on the way to the server never show it N + 1 in one.
SPACING_MARGIN = 1.02


class Pace:
    """At most ``rate`` requests a second, evenly spaced: one every ``1.02/rate`` s (0 = no cap).

    Spacing the requests (rather than counting them per second) means no one-second window,
    wherever it starts, ever holds more than ``rate`` of them. The watch plans its polls with
    ``ready_at``/``sent``; ``sending`` is held around the very moment each request is written to
    its socket (transport.py's send gate), in whichever thread sends it: a thread that was
    held up between the plan and the send (a busy machine) cannot write two requests closer
    together than the spacing. A Retry-After from the API holds every request until it is
    over (``hold``): one task's 429 slows the whole watch.
    """

    def __init__(self, rate: float) -> None:
        self.gap = SPACING_MARGIN / rate if rate > 0 else 0.0
        self._next = float("-inf")
        self._hold = float("-inf")
        self._last = float("-inf")  # when the last request really went out
        self._lock = threading.Lock()

    def ready_at(self) -> float:
        """When the next poll may be started (never sooner than the spacing after the last
        request really went out: a late send moves the plan, so requests never queue up)."""
        return max(self._next, self._last + self.gap, self._hold)

    def sent(self, now: float) -> None:
        self._next = now + self.gap

    def hold(self, until: float) -> None:
        self._hold = max(self._hold, until)

    @contextlib.contextmanager
    def sending(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> Iterator[None]:
        """Around writing one request: waits until one spacing has passed since the last one
        started, and keeps any other request from being written meanwhile."""
        if not self.gap:
            yield
            return
        with self._lock:
            wait = self._last + self.gap - clock()
            if wait > 1e-9:
                sleep(wait)
            self._last = clock()
            yield


class PollPool:
    """Up to ``size`` daemon threads (daemon: Ctrl-C never waits for them) running ``fetch``.

    The watch submits a poll only when a thread is free (``busy < size``), so no poll ever
    waits in a queue: once the pool is closed (the watch ended, Ctrl-C, SIGTERM), only the
    requests already in flight may still finish, and their answers are dropped. The thread
    that became free last takes the next poll, and a thread is started only when every other
    one is busy: a watch that rarely has two polls out at once runs on one thread (its cache
    warm, its connection kept alive), however many tasks it watches.
    """

    def __init__(self, size: int, fetch: Callable[[str], Outcome]) -> None:
        self.size = size
        self.busy = 0
        self._fetch = fetch
        self._results: queue.Queue[tuple[Any, Outcome, float]] = queue.Queue()
        self._idle: list[queue.SimpleQueue[tuple[Any, str, float] | None]] = []  # free threads, last on top
        self._inboxes: list[queue.SimpleQueue[tuple[Any, str, float] | None]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    @property
    def threads(self) -> int:
        return len(self._inboxes)

    def submit(self, task: Any, task_id: str, started: float) -> None:
        with self._lock:
            inbox = self._idle.pop() if self._idle else self._start()
        self.busy += 1
        inbox.put((task, task_id, started))

    def take(self, timeout: float) -> tuple[Any, Outcome, float] | None:
        """One finished poll (task, outcome, when it started), waiting up to ``timeout`` s of
        real time for it (a timed wait stays interruptible); None when none came."""
        try:
            item = self._results.get(timeout=timeout) if timeout > 0 else self._results.get_nowait()
        except queue.Empty:
            return None
        self.busy -= 1
        return item

    def close(self) -> None:
        self._stopped.set()
        with self._lock:
            inboxes = list(self._inboxes)
        for inbox in inboxes:
            inbox.put(None)

    def _start(self) -> queue.SimpleQueue[tuple[Any, str, float] | None]:
        inbox: queue.SimpleQueue[tuple[Any, str, float] | None] = queue.SimpleQueue()
        self._inboxes.append(inbox)
        threading.Thread(target=self._work, args=(inbox,), daemon=True,
                         name=f"poll-{len(self._inboxes) - 1}").start()
        return inbox

    def _work(self, inbox: queue.SimpleQueue[tuple[Any, str, float] | None]) -> None:
        while (job := inbox.get()) is not None and not self._stopped.is_set():
            task, task_id, started = job
            try:
                outcome = self._fetch(task_id)
            except Exception as exc:  # a bug in one poll must not hang the watch
                outcome = ApiError("network", f"poll failed ({type(exc).__name__})", retryable=True)
            if self._stopped.is_set():
                return
            with self._lock:
                self._idle.append(inbox)  # free again before its answer is seen: taken next
            self._results.put((task, outcome, started))
