"""One bounded pool for every command that works on several IDs (status, get, stop, resume, download).

``ordered_map(fn, items, workers)`` runs ``fn`` on up to ``workers`` daemon threads, which share
the client's keep-alive connections, and yields the results in the order of ``items``, each as
soon as it and every one before it are done: output streams in the order the IDs were given.
When the consumer stops (Ctrl-C, SIGTERM, a closed pipe), no new item is started; the calls
already in flight finish on their own (daemon threads: the process never waits for them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_WORKERS = 8
MAX_WORKERS = 32
ENV_CONCURRENCY = "BROWSERACT_CONCURRENCY"


def workers_from(env: Mapping[str, str]) -> int:
    """The pool size: BROWSERACT_CONCURRENCY (1-32) or 8."""
    from browseract_cli.errors import ConfigError

    text = env.get(ENV_CONCURRENCY, "").strip()
    if not text:
        return DEFAULT_WORKERS
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_WORKERS:
        raise ConfigError(f"{ENV_CONCURRENCY} must be a whole number from 1 to {MAX_WORKERS}, "
                          f"not {text[:20]!r}")
    return int(text)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int = DEFAULT_WORKERS) -> Iterator[R]:
    """``fn(item)`` for every item, at most ``workers`` at once, yielded in the items' order.

    An exception raised by ``fn`` is raised here, at that item's turn.
    """
    todo = list(items)
    if workers <= 1 or len(todo) <= 1:
        for item in todo:
            yield fn(item)
        return
    results: list[tuple[bool, object]] = [(False, None)] * len(todo)
    done = [threading.Event() for _ in todo]
    stop = threading.Event()
    lock = threading.Lock()
    cursor = iter(range(len(todo)))

    def work() -> None:
        while not stop.is_set():
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            try:
                results[index] = (True, fn(todo[index]))
            except BaseException as exc:  # handed to the consumer, raised in its thread
                results[index] = (False, exc)
            done[index].set()

    threads = [threading.Thread(target=work, daemon=True, name=f"browseract-pool-{i}")
               for i in range(min(workers, len(todo)))]
    for thread in threads:
        thread.start()
    try:
        for index in range(len(todo)):
            while not done[index].wait(0.25):  # a timed wait keeps Ctrl-C responsive
                pass
            ok, value = results[index]
            results[index] = (False, None)  # keep memory flat over long runs
            if not ok:
                # An error (a full disk...): no new item starts, and those in flight finish
                # (and clean up) before it is raised. Ctrl-C and SIGTERM never wait (not here).
                stop.set()
                for thread in threads:
                    thread.join()
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
