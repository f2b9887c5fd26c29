"""`browseract watch`: wait until tasks are done, through network trouble, then exit with the outcome."""

from typing import Annotated

import typer

from browseract_cli.commands import app_context, epilog, note_reading_ids, run_and_exit
from browseract_cli.context import AppContext

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


def watch(
    ctx: typer.Context,
    task_ids: Annotated[list[str] | None, typer.Argument(
        metavar="TASK_ID...", help="Task IDs to watch (one or more); a lone - reads them from stdin.",
        show_default=False)] = None,
    interval: Annotated[str, typer.Option(
        "--interval", metavar="SECONDS", help="Time between polls of one task (fractions allowed).")] = "5",
    timeout: Annotated[str, typer.Option(
        "--timeout", metavar="DURATION", help="Give up after this long (exit 124); 0 = no limit.")] = "0",
    until: Annotated[list[str] | None, typer.Option(
        "--until", metavar="STATE", help="Also stop (exit 0) at this state; repeat it or give a comma list.",
        show_default=False)] = None,
    not_found_grace: Annotated[str, typer.Option(
        "--not-found-grace", metavar="DURATION",
        help="Treat a task that does not exist as not created yet, for this long.")] = "10s",
    max_outage: Annotated[str, typer.Option(
        "--max-outage", metavar="DURATION",
        help="Give up when polls have failed for this long; 0 = never.")] = "5m",
    heartbeat: Annotated[str, typer.Option(
        "--heartbeat", metavar="DURATION",
        help="Off a terminal, print a still-watching line this often; 0 = off.")] = "60s",
    fail_fast: Annotated[bool, typer.Option(
        "--fail-fast", help="Stop watching all tasks as soon as one ends with a non-zero code.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="JSON Lines events on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final line(s).")] = False,
) -> None:
    """Wait until tasks finish (or reach an --until state), then exit with their outcome."""
    app_ctx = app_context(ctx)

    def go() -> int:
        from browseract_cli.errors import UsageError
        from browseract_cli.models import KNOWN_STATES
        from browseract_cli.options import collect_task_ids, parse_duration
        from browseract_cli.watcher import WatchOptions

        if not task_ids:
            raise UsageError("missing TASK_ID", hint="give one or more task IDs, or - to read them "
                                                     "from stdin; see `browseract watch --help`")
        if json_ and quiet:
            raise UsageError("--json and --quiet cannot be used together")
        # --until takes a comma list as well as repeats: --until paused,finished
        names = [s.strip().lower() for value in until or [] for s in value.split(",")]
        bad = [s for s in names if s not in KNOWN_STATES]
        if bad:
            raise UsageError(f"--until {bad[0][:40]!r} is not a task state",
                             hint=f"use one or more of: {', '.join(KNOWN_STATES)} "
                                  "(--until paused,finished or --until paused --until finished)")
        states = frozenset(names)
        step = parse_duration(interval, "--interval")
        if step <= 0:
            raise UsageError("--interval must be a positive number of seconds")
        stdin = app_ctx.input_stream() if "-" in task_ids else None
        if stdin is not None:
            note_reading_ids(app_ctx, stdin)
        opts = WatchOptions(
            task_ids=collect_task_ids(task_ids, stdin), interval=step,
            timeout=parse_duration(timeout, "--timeout"), until=states,
            not_found_grace=parse_duration(not_found_grace, "--not-found-grace"),
            max_outage=parse_duration(max_outage, "--max-outage"),
            heartbeat=parse_duration(heartbeat, "--heartbeat"), fail_fast=fail_fast)
        return run_watch(opts, app_ctx, "json" if json_ else "quiet" if quiet else "human")

    run_and_exit(app_ctx, go)


def run_watch(opts, app_ctx: AppContext, mode: str, *, tasks_out=None,  # type: ignore[no-untyped-def]
              resumable: bool = True) -> int:
    """Watch and report; returns the exit code. ``tasks_out`` (for `demo`) receives the Tracked
    tasks; ``resumable=False`` (also `demo`) leaves out how to resume watching after Ctrl-C."""
    from browseract_cli.commands import Terminated, long_running
    from browseract_cli.errors import ConfigError
    from browseract_cli.exit_codes import ExitCode
    from browseract_cli.render_watch import github_actions
    from browseract_cli.watcher import Tracked, Watch

    long_running()

    reporter = _reporter(app_ctx, mode, several=len(opts.task_ids) > 1)
    reporter.resumable = resumable
    try:
        client = app_ctx.make_client(pool_size=min(8, len(opts.task_ids)))
    except ConfigError as err:
        app_ctx.out.error(err)
        tasks = [Tracked(t, exit_code=int(err.exit_code), error=err) for t in opts.task_ids]
        for t in tasks:
            reporter.result(t, 0.0)
        reporter.close(tasks, int(err.exit_code), False)
        return int(err.exit_code)
    watch = Watch(opts, client, reporter, clock=app_ctx.clock, wall=app_ctx.wall,
                  sleep=app_ctx.sleep, uniform=app_ctx.uniform)
    if tasks_out is not None:
        tasks_out.extend(watch.tasks)
    interrupted = False
    with client:
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
    github_actions(watch.tasks, app_ctx.out, app_ctx.env)
    return int(code)


def _reporter(app_ctx: AppContext, mode: str, several: bool):  # type: ignore[no-untyped-def]
    from browseract_cli import render_watch

    out = app_ctx.out
    if mode == "json":
        return render_watch.JsonReporter(out, app_ctx.wall)
    if mode == "quiet":
        return render_watch.QuietReporter(out, app_ctx.wall, several)
    if out.styled:
        return render_watch.LiveReporter(out, app_ctx.wall, app_ctx.clock)
    return render_watch.PlainReporter(out, app_ctx.wall)
