"""`get`, `output`, `list`, `stop` and `resume`: everything about tasks that already exist."""

from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer

from browseract_cli.commands import command, epilog
from browseract_cli.context import AppContext
from browseract_cli.options import (
    ExitZero,
    Format,
    Interval,
    Json,
    Quiet,
    TaskIds,
    Timeout,
    Wait,
    complete_states,
)

EPILOGS = {
    "get": epilog(
        ("Examples:",
         "  browseract get $TASK_ID                 # status, timing, credit, files",
         "  browseract get --steps $TASK_ID         # and every step of the run",
         "  browseract get --json id1 id2 | jq .task.credit",
         "  browseract list --status failed -q | browseract get -"),
        "Exit: as `status`: 0 finished, 10 failed, 11 canceled, 12 paused, 13 unknown, 14 in "
        "progress; with several tasks, the most severe. --exit-zero: 0 whenever every lookup worked.",
    ),
    "output": epilog(
        ("Examples:",
         "  browseract output $TASK_ID                   # pretty JSON on a terminal",
         "  browseract output $TASK_ID > result.json     # the exact text in a pipe",
         "  browseract output --format csv -o items.csv $TASK_ID",
         "  browseract output --format jsonl $TASK_ID | jq -c .title",
         "  browseract output --wait --timeout 30m $TASK_ID"),
        "Formats: auto (pretty JSON on a terminal, the exact text elsewhere), json (compact, one "
        "line), jsonl (one value per line from the array of the output), csv (from an array of "
        "objects; --csv-safe neutralises cells a spreadsheet would run as formulas), raw (the "
        "exact text).",
        "Exit: 0 printed (or a finished task without output), 10 failed, 11 canceled, 12 paused, "
        "14 still in progress (without --wait), 124 --timeout, 66 not found, 76 the output is not "
        "JSON of the shape --format needs, 74 -o FILE could not be written.",
    ),
    "list": epilog(
        ("Examples:",
         "  browseract list                               # the 20 newest tasks",
         "  browseract list --status failed --since 24h",
         "  browseract list --workflow $WORKFLOW_ID --all -q > ids.txt",
         "  browseract list --status paused -q | browseract resume -",
         "  browseract list --since 2026-12-01 --json | jq -r .task_id"),
        "WHEN is a duration before now (2h, 7d, 1h30m) or an ISO 8601 date or date-time; a date "
        "means its midnight UTC. Exit 0 whenever the lookups worked, whatever the states.",
    ),
    "stop": epilog(
        ("Examples:",
         "  browseract stop $TASK_ID",
         "  browseract stop --wait --timeout 1m $TASK_ID",
         "  browseract list --status running -q | browseract stop -"),
        "A task that had already ended counts as stopped. A canceled task cannot be resumed. Exit 0 "
        "when every task was stopped or had ended, 66 not found, 124 --wait --timeout expired.",
    ),
    "resume": epilog(
        ("Examples:",
         "  browseract resume $TASK_ID                 # after the human step is done",
         "  browseract resume --wait $TASK_ID          # then wait for the outcome",
         "  browseract list --status paused -q | browseract resume -"),
        "Only a paused task can be resumed; one that is already running counts as resumed. Exit 0 "
        "resumed, 65 not paused (finished, failed, canceled), 66 not found; with --wait, the "
        "outcome as `watch` gives it.",
    ),
}

SinceWhen = Annotated[str | None, typer.Option(
    "--since", metavar="WHEN", help="Only tasks created at or after WHEN.", show_default=False)]
# --limit and --page default to None so that `--all --limit 20` is refused like `--all --limit 5`.
ListLimit = Annotated[int | None, typer.Option(
    "--limit", metavar="N", min=1, max=500, show_default=False, help="How many to show (1-500, default 20).")]
UntilWhen = Annotated[str | None, typer.Option(
    "--until", metavar="WHEN", help="Only tasks created at or before WHEN.", show_default=False)]


# --------------------------------------------------------------------------- get


@command
def get(app: AppContext, task_ids: TaskIds = None,
        steps: Annotated[bool, typer.Option("--steps", help="Also show every step of the run.")] = False,
        json_: Json = False, exit_zero: ExitZero = False) -> int:
    """Show everything about tasks: status, timing, credit, failure, inputs, files, output."""
    from browseract_cli.options import read_task_ids
    from browseract_cli.render import output_mode

    return run_get(app, read_task_ids(app, task_ids, "get"), output_mode(json_), steps, exit_zero)


def run_get(app: AppContext, ids: list[str], mode: str, steps: bool, exit_zero: bool) -> int:
    from browseract_cli import taskops
    from browseract_cli.exit_codes import ExitCode, worst
    from browseract_cli.render import Mode

    codes, ok = [], True
    for task_id, task, err in taskops.tasks(app, ids, mode):
        code = taskops.task_code(task, err)
        ok = ok and err is None
        codes.append(code)
        if mode == Mode.JSON:
            app.out.json_line(taskops.get_record(task_id, task, err, code))
        elif err is not None:
            app.out.error(err, task_id if len(ids) > 1 else None)
        else:
            if len(codes) > 1:
                app.out.line()
            taskops.show_task(app.out, task, steps)
    return ExitCode.OK if exit_zero and ok else worst(codes)


# --------------------------------------------------------------------------- output


@command
def output(
    app: AppContext,
    task_id: Annotated[str, typer.Argument(metavar="TASK_ID", help="The task; - reads it from stdin.",
                                           show_default=False)],
    fmt: Format = "auto",
    to: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", help="Write the output to FILE (atomically) instead of stdout.",
        show_default=False)] = None,
    csv_safe: Annotated[bool, typer.Option(
        "--csv-safe", help="With --format csv, start cells that begin with = + - @ with a quote.")] = False,
    wait: Wait = False,
    timeout: Timeout = "0",
    interval: Interval = "5",
) -> int:
    """Print the output of a finished task, decoded (BrowserAct returns it as JSON text)."""
    from browseract_cli.options import check_format, parse_duration, read_task_ids
    from browseract_cli.results import write_output

    ids = read_task_ids(app, [task_id], "output")
    if len(ids) != 1:
        from browseract_cli.errors import UsageError

        raise UsageError("output takes one task ID", hint="run it once per task")
    fmt = check_format(fmt)
    waiting = _wait_options(app, wait, timeout, interval, parse_duration)
    task, code = _finished_task(app, ids[0], waiting)
    if task is None:
        return code
    return write_output(app.out, task, fmt, to, csv_safe=csv_safe)


class Waiting(NamedTuple):
    timeout: float
    interval: float


def _wait_options(app: AppContext, wait: bool, timeout: str, interval: str, parse: Any) -> Waiting | None:
    from browseract_cli.commands.watch import parse_interval
    from browseract_cli.errors import UsageError

    if not wait:
        if timeout != "0" or interval != "5":
            raise UsageError("--timeout and --interval need --wait")
        return None
    return Waiting(parse(timeout, "--timeout"), parse_interval(interval))


def _finished_task(app: AppContext, task_id: str, waiting: Waiting | None):  # type: ignore[no-untyped-def]
    """(the task, 0) once it finished; (None, exit code) when it did not (or not yet)."""
    from browseract_cli import taskops
    from browseract_cli.endpoints import get_task

    with app.make_client() as client:
        task = get_task(client, task_id)
        if task.status not in ("finished", "failed", "canceled") and waiting is not None:
            code = taskops.wait_until_done(app, client, [task_id], waiting.timeout, waiting.interval)
            if code in (124, 130, 143) or code >= 65:
                return None, code
            task = get_task(client, task_id)
    return taskops.finished_or_code(app.out, task)


# --------------------------------------------------------------------------- list


@command
def list_(
    app: AppContext,
    status: Annotated[str | None, typer.Option(
        "--status", metavar="STATE", autocompletion=complete_states, show_default=False,
        help="Only tasks in this state: created, running, pausing, paused, finished, failed, "
             "canceled or unknown.")] = None,
    workflow: Annotated[str | None, typer.Option(
        "--workflow", metavar="ID", help="Only tasks of this workflow.", show_default=False)] = None,
    workflow_name: Annotated[str | None, typer.Option(
        "--workflow-name", metavar="TEXT", help="Only tasks of workflows whose name contains TEXT.",
        show_default=False)] = None,
    since: SinceWhen = None,
    until: UntilWhen = None,
    limit: ListLimit = None,
    page: Annotated[int | None, typer.Option("--page", metavar="N", min=1, show_default=False,
                                             help="Which page of --limit tasks (default 1).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every matching task, 500 a page, printed as they come.")] = False,
    json_: Json = False,
    quiet: Quiet = False,
) -> int:
    """List tasks, newest first, with filters; -q prints only their IDs."""
    from browseract_cli import taskops
    from browseract_cli.errors import UsageError
    from browseract_cli.options import check_id, check_state
    from browseract_cli.render import output_mode

    mode = output_mode(json_, quiet)
    if all_ and (limit is not None or page is not None):  # given at all, even as the default
        raise UsageError("--all walks every page: it takes neither --limit nor --page")
    filters = {
        "status": None if status is None else check_state(status, "--status"),
        "workflow_id": None if workflow is None else check_id(workflow, "workflow ID"),
        "workflow_name": workflow_name or None,
        "created_at_from": None if since is None else _when(since, "--since", app.wall()),
        "created_at_to": None if until is None else _when(until, "--until", app.wall()),
    }
    return taskops.run_list(app, filters, mode, limit=limit or 20, page=page or 1, every=all_)


def _when(text: str, option: str, now: float) -> str:
    """parse_when, with a time outside what a date can hold (99999999d, year 9999 at -01:00) a usage error."""
    from browseract_cli.errors import UsageError
    from browseract_cli.options import parse_when

    try:
        return parse_when(text, option, now)
    except (OverflowError, ValueError):
        raise UsageError(f"invalid time for {option}: {text.strip()[:40]!r} is out of range",
                         hint="use a duration before now (2h, 7d) or an ISO 8601 date or time "
                              "(2026-12-01, 2026-12-01T10:00:00Z)") from None


# --------------------------------------------------------------------------- stop and resume


@command
def stop(app: AppContext, task_ids: TaskIds = None, wait: Wait = False, timeout: Timeout = "0",
         json_: Json = False) -> int:
    """Stop (cancel) running tasks; a task that already ended counts as stopped."""
    from browseract_cli import taskops
    from browseract_cli.options import parse_duration, read_task_ids
    from browseract_cli.render import output_mode

    waiting = _wait_options(app, wait, timeout, "5", parse_duration)
    return taskops.run_action(app, "stop", read_task_ids(app, task_ids, "stop"), output_mode(json_), waiting)


@command
def resume(app: AppContext, task_ids: TaskIds = None, wait: Wait = False, timeout: Timeout = "0",
           interval: Interval = "5", json_: Json = False) -> int:
    """Resume paused tasks (after the human step is done); --wait then waits for the outcome."""
    from browseract_cli import taskops
    from browseract_cli.options import parse_duration, read_task_ids
    from browseract_cli.render import output_mode

    waiting = _wait_options(app, wait, timeout, interval, parse_duration)
    return taskops.run_action(app, "resume", read_task_ids(app, task_ids, "resume"), output_mode(json_),
                              waiting)
