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
    """Look every task up (on the pool: several at once, results in the order given)."""
    from browseract_cli.errors import ConfigError
    from browseract_cli.exit_codes import ExitCode, worst
    from browseract_cli.pool import ordered_map, workers_from
    from browseract_cli.render import Mode, TaskRow

    out = app_ctx.out
    several = len(opts.task_ids) > 1
    workers = workers_from(app_ctx.env)
    try:
        client = app_ctx.make_client(pool_size=workers)
    except ConfigError as err:
        if opts.mode != Mode.JSON:
            raise
        out.error(err)
        rows = [TaskRow(t, None, int(err.exit_code), err) for t in opts.task_ids]
        out.status_rows(rows, Mode.JSON)
        return int(err.exit_code)
    rows: list[TaskRow] = []
    with client:
        for row in ordered_map(lambda task_id: _lookup(client, task_id), opts.task_ids, workers):
            _say(app_ctx, row)
            rows.append(row)
            if opts.mode in (Mode.JSON, Mode.QUIET):  # lines stream as soon as they are in order
                out.status_rows([row], opts.mode, several=several)
    # The table shows a failed lookup as a row of its own among several; a lone one is the
    # error message alone.
    shown = rows if several else [r for r in rows if r.status is not None]
    if opts.mode == Mode.HUMAN and shown:
        out.status_rows(shown, opts.mode)
    if opts.exit_zero and all(r.error is None for r in rows):
        return ExitCode.OK
    return worst(r.exit_code for r in rows)


def _lookup(client, task_id: str):  # type: ignore[no-untyped-def]
    """One task's row; never raises an API error (it is the row's)."""
    from browseract_cli.endpoints import get_task_status
    from browseract_cli.errors import BrowseractError
    from browseract_cli.models import state_exit_code
    from browseract_cli.render import TaskRow

    try:
        state = get_task_status(client, task_id)
    except BrowseractError as err:
        return TaskRow(task_id, None, int(err.exit_code), err)
    return TaskRow(task_id, state.status, int(state_exit_code(state.status)))


def _say(app_ctx: AppContext, row) -> None:  # type: ignore[no-untyped-def]
    """What a lookup has to tell on stderr: its error, or a status this version does not know."""
    from browseract_cli.models import is_known
    from browseract_cli.sanitize import clean, quote_id

    if row.error is not None:
        app_ctx.out.error(row.error, row.task_id)
    elif not is_known(row.status):
        app_ctx.out.warn(f"{quote_id(row.task_id, 80)}: unrecognised status {clean(row.status, 80)!r}, "
                         "treated as 'unknown' (exit 13)")
