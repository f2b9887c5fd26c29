"""`browseract watch`: wait until tasks are done, through network trouble, then exit with the outcome."""

import contextlib
from collections.abc import Mapping
from typing import Annotated

import typer

from browseract_cli.commands import command, epilog
from browseract_cli.context import AppContext
from browseract_cli.options import Interval, MaxOutage, Timeout

EPILOG = epilog(
    "DURATION: seconds (90, 2.5) or numbers with units d, h, m, s, ms, largest first (30s, 10m, "
    "1h30m, 1d); 0 = no limit (--timeout, --max-outage) or off (--heartbeat). Watching never "
    "cancels a task.",
    ("Examples:",
     "  browseract watch $TASK_ID                  # live table on a terminal",
     "  browseract watch --timeout 30m $TASK_ID || echo \"exit $?\"",
     "  browseract watch --until paused $TASK_ID   # wait for the human-input step",
     "  browseract watch --json id1 id2 | jq -c 'select(.event==\"result\")'",
     "  browseract watch -q --fail-fast - < ids.txt"),
    "Exit: 0 finished (or an --until state), 10 failed, 11 canceled, 124 timeout, 66 not found "
    "after --not-found-grace, 77 key rejected, 69/75/76 outage longer than --max-outage, 130 "
    "Ctrl-C, 143 SIGTERM; with several tasks, the most severe.",
)
EPILOGS = {"watch": EPILOG}
ENV_MAX_RATE = "BROWSERACT_MAX_RATE"


@command
def watch(
    app: AppContext,
    task_ids: Annotated[list[str] | None, typer.Argument(
        metavar="TASK_ID...", help="Task IDs to watch (one or more); a lone - reads them from stdin.",
        show_default=False)] = None,
    interval: Interval = "5",
    timeout: Timeout = "0",
    until: Annotated[list[str] | None, typer.Option(
        "--until", metavar="STATE", help="Also stop (exit 0) at this state; repeat it or give a comma list.",
        show_default=False)] = None,
    not_found_grace: Annotated[str, typer.Option(
        "--not-found-grace", metavar="DURATION",
        help="Treat a task that does not exist as not created yet, for this long.")] = "10s",
    max_outage: MaxOutage = "5m",
    heartbeat: Annotated[str, typer.Option(
        "--heartbeat", metavar="DURATION",
        help="Off a terminal, print a still-watching line this often; 0 = off.")] = "60s",
    fail_fast: Annotated[bool, typer.Option(
        "--fail-fast", help="Stop watching all tasks as soon as one ends with a non-zero code.")] = False,
    max_rate: Annotated[str | None, typer.Option(
        "--max-rate", metavar="N", show_default=False,
        help=f"Send at most N requests per second over all tasks (default 20, or {ENV_MAX_RATE}); "
             "0 = no cap.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="JSON Lines events on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final line(s).")] = False,
) -> int:
    """Wait until tasks finish (or reach an --until state), then exit with their outcome."""
    from browseract_cli.options import parse_duration, read_task_ids
    from browseract_cli.render import output_mode
    from browseract_cli.watcher import WatchOptions

    mode = output_mode(json_, quiet)
    opts = WatchOptions(
        task_ids=read_task_ids(app, task_ids, "watch"), interval=parse_interval(interval),
        timeout=parse_duration(timeout, "--timeout"), until=parse_states(until),
        not_found_grace=parse_duration(not_found_grace, "--not-found-grace"),
        max_outage=parse_duration(max_outage, "--max-outage"),
        heartbeat=parse_duration(heartbeat, "--heartbeat"), fail_fast=fail_fast,
        max_rate=None if max_rate is None else parse_rate(max_rate, "--max-rate"))
    return run_watch(opts, app, mode)


def parse_interval(text: str) -> float:
    from browseract_cli.errors import UsageError
    from browseract_cli.options import parse_duration

    step = parse_duration(text, "--interval")
    if step <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    return step


def parse_rate(text: str, source: str) -> float:
    """A request rate: requests per second, fractions allowed, 0 = no cap (a flag's mistake
    is a usage error, 2; the environment variable's a configuration error, 78)."""
    import math

    from browseract_cli.errors import ConfigError, UsageError

    try:
        rate = float(text.strip())
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate < 0:
        error = UsageError if source.startswith("--") else ConfigError
        raise error(f"{source} must be a number of requests per second (0 = no cap), not {text[:40]!r}")
    return rate


def max_rate_from(env: Mapping[str, str]) -> float:
    """The request rate from BROWSERACT_MAX_RATE (empty counts as unset), else the default 20."""
    from browseract_cli.watcher import DEFAULT_MAX_RATE

    text = env.get(ENV_MAX_RATE, "")
    return parse_rate(text, ENV_MAX_RATE) if text.strip() else DEFAULT_MAX_RATE


def parse_states(values: list[str] | None, option: str = "--until") -> frozenset[str]:
    """Task states given to an option: repeated, or as a comma list (--until paused,finished)."""
    from browseract_cli.errors import UsageError
    from browseract_cli.models import KNOWN_STATES

    names = [s.strip().lower() for value in values or [] for s in value.split(",")]
    bad = [s for s in names if s not in KNOWN_STATES]
    if bad:
        raise UsageError(f"{option} {bad[0][:40]!r} is not a task state",
                         hint=f"use one or more of: {', '.join(KNOWN_STATES)} "
                              f"({option} paused,finished or {option} paused {option} finished)")
    return frozenset(names)


def run_watch(opts, app_ctx: AppContext, mode: str, *, tasks_out=None, client=None,  # type: ignore[no-untyped-def]
              out=None, reporter=None, resumable: bool = True) -> int:
    """Watch and report; returns the exit code.

    ``client`` reuses a caller's client (kept open); ``out`` reports somewhere else than the
    app's output (`run --wait` keeps progress on stderr); ``reporter`` replaces the mode's own;
    ``tasks_out`` receives the Tracked tasks (what `demo`, `run --wait`... show afterwards);
    ``resumable=False`` (`demo`) leaves out how to resume watching after Ctrl-C.
    """
    from dataclasses import replace

    from browseract_cli.ci import github_actions
    from browseract_cli.commands import Terminated, long_running
    from browseract_cli.endpoints import get_task_status
    from browseract_cli.errors import ApiError, ConfigError
    from browseract_cli.exit_codes import ExitCode
    from browseract_cli.watcher import Tracked, Watch

    long_running()
    out = out or app_ctx.out
    reporter = reporter or _reporter(app_ctx, out, mode, several=len(opts.task_ids) > 1)
    reporter.resumable = resumable
    owned = client is None
    try:
        opts = _with_limits(opts, app_ctx.env)
        if client is None:
            client = app_ctx.make_client(pool_size=min(opts.workers, len(opts.task_ids)))
        opts = replace(opts, workers=max(1, min(opts.workers, client.pool_size)))
    except ConfigError as err:
        app_ctx.out.error(err)
        tasks = [Tracked(t, exit_code=int(err.exit_code), error=err) for t in opts.task_ids]
        for t in tasks:
            reporter.result(t, 0.0)
        reporter.close(tasks, int(err.exit_code), False)
        return int(err.exit_code)

    def poll(task_id: str, deadline_s: float | None = None):  # type: ignore[no-untyped-def]
        return get_task_status(client, task_id, retry=False, deadline_s=deadline_s)

    def details(task_id: str, deadline_s: float | None = None):  # type: ignore[no-untyped-def]
        from browseract_cli.endpoints import get_task

        if deadline_s is not None and deadline_s <= 0:
            return None  # --timeout has expired: no more requests
        try:
            return get_task(client, task_id, deadline_s=deadline_s).failure
        except ApiError:
            return None  # the reason stays unknown; the exit code is the same

    watch = Watch(opts, poll, reporter, clock=app_ctx.clock, wall=app_ctx.wall, sleep=app_ctx.sleep,
                  uniform=app_ctx.uniform, policy=client.policy, details=details)
    if tasks_out is not None:
        tasks_out.extend(watch.tasks)
    if watch.cycle > 1.1 * opts.interval:  # more than 10 % slower than asked: say so
        out.info(f"{len(watch.tasks)} tasks at --max-rate {opts.max_rate:g} (requests per second): "
                 f"each is polled about every {watch.cycle:.3g}s, not every {opts.interval:g}s; "
                 f"a higher --max-rate (or {ENV_MAX_RATE}) polls them more often")
    interrupted = False
    with client if owned else contextlib.nullcontext(), _frozen_heap():
        try:
            code = watch.run()
        except (KeyboardInterrupt, Terminated) as stop:
            interrupted = True
            code = ExitCode.INTERRUPTED if isinstance(stop, KeyboardInterrupt) else ExitCode.TERMINATED
            watch.end_all(code)
        except BrokenPipeError:
            raise  # stdout is gone: nothing more can be shown (141)
        except BaseException:
            # A bug: still one result per task, and the live display stopped (cursor shown again).
            try:
                watch.end_all(ExitCode.INTERNAL)
            finally:
                reporter.close(watch.tasks, int(ExitCode.INTERNAL), False)
            raise
    reporter.close(watch.tasks, int(code), interrupted)
    github_actions(watch.tasks, out, app_ctx.env)
    return int(code)


@contextlib.contextmanager
def _frozen_heap():  # type: ignore[no-untyped-def]
    """What exists when watching starts (modules, the tasks) lives until it ends: the cyclic GC
    need not scan it again at every collection (a fifth of a poll's CPU with 1,000 tasks)."""
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _with_limits(opts, env: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """The options with the request rate and the pool size settled (flag > env > default)."""
    from dataclasses import replace

    from browseract_cli.pool import workers_from

    rate = max_rate_from(env) if opts.max_rate is None else opts.max_rate
    return replace(opts, max_rate=rate, workers=min(opts.workers, workers_from(env)))


def _reporter(app_ctx: AppContext, out, mode: str, several: bool):  # type: ignore[no-untyped-def]
    from browseract_cli import render_watch

    if mode == "json":
        return render_watch.JsonReporter(out, app_ctx.wall)
    if mode == "quiet":
        return render_watch.QuietReporter(out, app_ctx.wall, several)
    if out.styled:
        return render_watch.LiveReporter(out, app_ctx.wall, app_ctx.clock)
    return render_watch.PlainReporter(out, app_ctx.wall)
