"""`browseract status`: look tasks up once; the exit code says their state."""

from typing import NamedTuple

from browseract_cli.commands import command, epilog
from browseract_cli.context import AppContext
from browseract_cli.options import ExitZero, Json, Quiet, TaskIds

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
    mode: str  # render.Mode
    exit_zero: bool


@command
def status(app: AppContext, task_ids: TaskIds = None, json_: Json = False, quiet: Quiet = False,
           exit_zero: ExitZero = False) -> int:
    """Show the current status of one or more tasks."""
    from browseract_cli.options import read_task_ids
    from browseract_cli.render import output_mode

    mode = output_mode(json_, quiet)
    return run_status(StatusOptions(read_task_ids(app, task_ids, "status"), mode, exit_zero), app)


def run_status(opts: StatusOptions, app_ctx: AppContext) -> int:
    from browseract_cli.endpoints import get_task_status
    from browseract_cli.errors import BrowseractError, ConfigError
    from browseract_cli.exit_codes import ExitCode, worst
    from browseract_cli.models import is_known, state_exit_code
    from browseract_cli.render import Mode, TaskRow
    from browseract_cli.sanitize import clean

    out = app_ctx.out
    try:
        client = app_ctx.make_client()
    except ConfigError as err:
        if opts.mode != Mode.JSON:
            raise
        out.error(err)
        rows = [TaskRow(t, None, int(err.exit_code), err) for t in opts.task_ids]
        out.status_rows(rows, Mode.JSON)
        return int(err.exit_code)
    rows = []
    with client:
        for task_id in opts.task_ids:
            try:
                state = get_task_status(client, task_id)
            except BrowseractError as err:
                out.error(err, task_id)
                rows.append(TaskRow(task_id, None, int(err.exit_code), err))
                continue
            if not is_known(state.status):
                out.warn(f"{clean(task_id, 80)}: unrecognised status {clean(state.status, 80)!r}, "
                         "treated as 'unknown' (exit 13)")
            rows.append(TaskRow(task_id, state.status, int(state_exit_code(state.status))))
    # -q keeps the ID<TAB>STATUS form whenever several tasks were asked for (the renderer skips
    # failed lookups itself), so one success among failures is never a bare, ambiguous word.
    # The table shows a failed lookup as a row of its own among several; a lone one is the
    # error message alone.
    shown = rows if opts.mode in (Mode.JSON, Mode.QUIET) or len(rows) > 1 else \
        [r for r in rows if r.status is not None]
    if shown:
        out.status_rows(shown, opts.mode)
    if opts.exit_zero and all(r.error is None for r in rows):
        return ExitCode.OK
    return worst(r.exit_code for r in rows)
