"""`browseract status`: look tasks up once; the exit code says their state."""

from typing import Annotated, NamedTuple

import typer

from browseract_cli.commands import app_context, epilog, note_reading_ids, run_and_exit
from browseract_cli.context import AppContext

EPILOG = epilog(
    ("Examples:",
     "  browseract status 16429034742537847",
     "  browseract status -q $TASK_ID            # just the status word",
     "  browseract status --json id1 id2         # one JSON object per line",
     "  cat ids.txt | browseract status -        # IDs from stdin, one per line",
     "  browseract status --exit-zero $TASK_ID   # exit 0 if every lookup worked"),
    "Exit: 0 finished, 10 failed, 11 canceled, 12 paused, 13 unknown, 14 in progress; with several "
    "tasks, the most severe. browseract --help lists every code.",
)
EPILOGS = {"status": EPILOG}


class StatusOptions(NamedTuple):
    task_ids: list[str]
    mode: str  # "human", "json" or "quiet"
    exit_zero: bool


def status(
    ctx: typer.Context,
    task_ids: Annotated[list[str] | None, typer.Argument(
        metavar="TASK_ID...", help="Task IDs to look up (one or more); a lone - reads them from stdin.",
        show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one object per task.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the status word(s).")] = False,
    exit_zero: Annotated[bool, typer.Option(
        "--exit-zero", help="Exit 0 whenever every lookup succeeded, whatever the states.")] = False,
) -> None:
    """Show the current status of one or more tasks."""
    app_ctx = app_context(ctx)

    def go() -> int:
        from browseract_cli.errors import UsageError
        from browseract_cli.options import collect_task_ids

        if not task_ids:
            raise UsageError("missing TASK_ID", hint="give one or more task IDs, or - to read them "
                                                     "from stdin; see `browseract status --help`")
        if json_ and quiet:
            raise UsageError("--json and --quiet cannot be used together")
        stdin = app_ctx.input_stream() if "-" in task_ids else None
        if stdin is not None:
            note_reading_ids(app_ctx, stdin)
        opts = StatusOptions(collect_task_ids(task_ids, stdin), "json" if json_ else "quiet" if quiet else "human",
                             exit_zero)
        return run_status(opts, app_ctx)

    run_and_exit(app_ctx, go)


def run_status(opts: StatusOptions, app_ctx: AppContext) -> int:
    from browseract_cli.errors import BrowseractError, ConfigError
    from browseract_cli.exit_codes import ExitCode, worst
    from browseract_cli.models import is_known, state_exit_code
    from browseract_cli.render import TaskRow
    from browseract_cli.sanitize import clean

    out = app_ctx.out
    try:
        client = app_ctx.make_client()
    except ConfigError as err:
        if opts.mode != "json":
            raise
        out.error(err)
        rows = [TaskRow(t, None, int(err.exit_code), err) for t in opts.task_ids]
        out.status_rows(rows, "json")
        return int(err.exit_code)
    rows = []
    with client:
        for task_id in opts.task_ids:
            try:
                state = client.get_task_status(task_id)
            except BrowseractError as err:
                out.error(err, task_id if len(opts.task_ids) > 1 else None)
                rows.append(TaskRow(task_id, None, int(err.exit_code), err))
                continue
            if not is_known(state.status):
                out.warn(f"{clean(task_id, 80)}: unrecognised status {clean(state.status, 80)!r}, "
                         "treated as 'unknown' (exit 13)")
            rows.append(TaskRow(task_id, state.status, int(state_exit_code(state.status))))
    # -q keeps the ID<TAB>STATUS form whenever several tasks were asked for (the renderer skips
    # failed lookups itself), so one success among failures is never a bare, ambiguous word.
    shown = rows if opts.mode in ("json", "quiet") else [r for r in rows if r.status is not None]
    if shown:
        out.status_rows(shown, opts.mode)
    if opts.exit_zero and all(r.error is None for r in rows):
        return ExitCode.OK
    return worst(r.exit_code for r in rows)
