"""What `get`, `output`, `list`, `stop` and `resume` do, apart from parsing their options."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from browseract_cli import endpoints as ep
from browseract_cli.errors import ApiError, BrowseractError, ConfigError
from browseract_cli.exit_codes import ExitCode, worst
from browseract_cli.models import TERMINAL, Task, as_received, state_exit_code
from browseract_cli.render import STATUS_STYLE, Column, Mode, Output, error_json, size_text
from browseract_cli.sanitize import clean

if TYPE_CHECKING:
    from browseract_cli.api import ApiClient
    from browseract_cli.context import AppContext

Lookup = tuple[str, "Task | None", "BrowseractError | None"]


# --------------------------------------------------------------------------- several IDs


def for_each(app: AppContext, ids: Sequence[str], fn: Any, mode: str) -> Iterator[Any]:
    """``fn(client, id)`` for every ID on the pool (results in the IDs' order).

    A configuration error (no key...) in JSON mode still gives one record per ID: ``fn`` is
    then called with ``client=None`` and must turn the error it is given into a result.
    """
    from browseract_cli.pool import ordered_map, workers_from

    workers = workers_from(app.env)
    try:
        client = app.make_client(pool_size=workers)
    except ConfigError as err:
        if mode != Mode.JSON:
            raise
        app.out.error(err)
        yield from (fn(None, task_id, err) for task_id in ids)
        return
    with client:
        yield from ordered_map(lambda task_id: fn(client, task_id, None), ids, workers)


def _lookup(client: ApiClient | None, task_id: str, failed: BrowseractError | None) -> Lookup:
    if failed is not None:
        return task_id, None, failed
    try:
        return task_id, ep.get_task(client, task_id), None  # type: ignore[arg-type]
    except ApiError as err:
        return task_id, None, err


def tasks(app: AppContext, ids: Sequence[str], mode: str) -> Iterator[Lookup]:
    return for_each(app, ids, _lookup, mode)


def task_code(task: Task | None, err: BrowseractError | None) -> int:
    if err is not None or task is None:
        return int(err.exit_code) if err is not None else int(ExitCode.BAD_ANSWER)
    return int(state_exit_code(task.status or "unknown"))


def get_record(task_id: str, task: Task | None, err: BrowseractError | None, code: int) -> dict[str, Any]:
    return as_received({"task_id": task_id, "status": None if task is None else clean(task.status, 200),
                        "exit_code": code, "error": None if err is None else error_json(err),
                        "task": None if task is None else task.raw})


# --------------------------------------------------------------------------- get


def _time(text: str | None) -> str | None:
    """An API timestamp for people: ``2026-12-02 05:10:03 UTC``."""
    if not text:
        return None
    return clean(text.replace("T", " ").removesuffix("Z") + (" UTC" if text.endswith("Z") else ""), 40)


def _seconds_between(start: str | None, end: str | None) -> float | None:
    from datetime import datetime

    try:
        first = datetime.fromisoformat((start or "").replace("Z", "+00:00"))
        last = datetime.fromisoformat((end or "").replace("Z", "+00:00"))
        return max(0.0, (last - first).total_seconds())
    except (ValueError, TypeError):
        return None


def _expiry(ms: int | None) -> str:
    import time

    if ms is None:
        return ""
    try:
        return ", expires " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000))
    except (OverflowError, OSError, ValueError):
        return ""


def show_task(out: Output, task: Task, steps: bool) -> None:
    """Everything a person asks about a task, as aligned details (then steps and files)."""
    from browseract_cli import decode
    from browseract_cli.render_watch import duration

    status = task.status or "unknown"
    terminal = status in TERMINAL
    elapsed = _seconds_between(task.created_at, task.finished_at) if terminal else None
    failure = task.failure
    all_steps = task.steps
    last_goal = next((s.goal for s in reversed(all_steps) if s.goal), None)
    out.record([
        ("Task", task.id), ("Status", status), ("Workflow", task.workflow_id),
        ("Created", _time(task.created_at)), ("Finished", _time(task.finished_at) if terminal else None),
        ("Duration", duration(elapsed) if elapsed is not None else None),
        ("Credit", None if task.credit is None else str(task.credit)),
        ("Failure", None if failure is None else f"{failure.code if failure.code is not None else '?'} "
                                                 f"{failure.message or ''}".strip()),
        ("Live view", task.live_url if status == "running" else None),
        ("Log", task.log_url),
        ("Browser profile", task.profile_id),
        ("Inputs", ", ".join(f"{name}={value}" for name, value in task.input_parameters) or None),
        ("Steps", f"{len(all_steps)}" + (f" (last: {last_goal})" if last_goal else "") if all_steps else None),
        ("Files", str(len(task.files)) if task.files else None),
        ("Output", decode.preview(task.output_text)),
    ], styles=STATUS_STYLE)
    for entry in task.files:
        name = entry.name or (entry.url or "").split("?")[0].rsplit("/", 1)[-1] or "(unnamed)"
        state = "" if entry.url else f", {entry.error or 'not ready'}"
        out.line(f"  {clean(name, 200)}  ({size_text(entry.size)}{_expiry(entry.expires_at)}{clean(state, 200)})")
    if steps and all_steps:
        out.line()
        out.table([Column("STEP", align="right"), Column("STATUS"), Column("GOAL", shrink=True),
                   Column("EVALUATION", drop=1, shrink=True)],
                  [[(None if s.number is None else str(s.number), s.status, s.goal, s.evaluation)
                    for s in all_steps]])
    if status == "paused":
        out.info(f"{clean(task.id or '', 80)!r} waits for a person: once done, "
                 f"`browseract resume {_shell(task.id)}`")


# --------------------------------------------------------------------------- waiting


def wait_until_done(app: AppContext, client: ApiClient, ids: Sequence[str], timeout: float,
                    interval: float, *, until: frozenset[str] = frozenset(), mode: str = Mode.HUMAN,
                    tasks_out: list[Any] | None = None) -> int:
    """Wait as `watch` does (same engine), with progress on stderr; the watch's exit code."""
    from browseract_cli.commands.watch import run_watch
    from browseract_cli.render_watch import BaseReporter
    from browseract_cli.watcher import WatchOptions

    opts = WatchOptions(task_ids=list(ids), interval=interval, timeout=timeout, until=until)
    progress = app.out.progress_view()
    reporter = BaseReporter(progress, app.wall) if mode != Mode.HUMAN else None
    return run_watch(opts, app, Mode.HUMAN, client=client, out=progress, reporter=reporter,
                     tasks_out=tasks_out)


def finished_or_code(out: Output, task: Task) -> tuple[Task | None, int]:
    """(task, 0) for a finished task; else (None, the state's code), saying why on stderr."""
    status = task.status or "unknown"
    shown = clean(task.id or "", 80)
    if status == "finished":
        return task, 0
    if status == "failed":
        failure = task.failure
        why = "" if failure is None else f": {failure.code} {clean(failure.message or '', 500)}"
        out.info(f"task {shown!r} failed{why}")
    elif status == "canceled":
        out.info(f"task {shown!r} was canceled: it has no output")
    elif status == "paused":
        out.info(f"task {shown!r} waits for a person (paused): `browseract resume {_shell(task.id)}`, "
                 "or add --wait")
    else:
        out.info(f"task {shown!r} is {clean(status, 40)}, not finished yet: add --wait to wait for it")
    return None, int(state_exit_code(status))


# --------------------------------------------------------------------------- list


LIST_COLUMNS = [Column("TASK", key=True), Column("STATUS", styles=STATUS_STYLE),
                Column("WORKFLOW", drop=2), Column("CREATED", drop=1),
                Column("DURATION", align="right", drop=3), Column("CREDIT", align="right", drop=4)]


def list_record(item: Mapping[str, Any]) -> dict[str, Any]:
    task = Task(item)
    return as_received({"task_id": task.id, "status": task.status, "workflow_id": task.workflow_id,
                        "created_at": task.created_at, "finished_at": task.finished_at, "credit": task.credit,
                        "task": item})


def _list_row(item: Mapping[str, Any]) -> list[str | None]:
    from browseract_cli.render_watch import duration

    task = Task(item)
    terminal = (task.status or "") in TERMINAL
    elapsed = _seconds_between(task.created_at, task.finished_at) if terminal else None
    created = _time(task.created_at)
    return [task.id, task.status, task.workflow_id, created.removesuffix(" UTC") if created else None,
            duration(elapsed) if elapsed is not None else None,
            None if task.credit is None else str(task.credit)]


def run_list(app: AppContext, filters: Mapping[str, Any], mode: str, *, limit: int, page: int,
             every: bool) -> int:
    with app.make_client() as client:
        walk = ep.paginate(lambda p, n: ep.list_tasks(client, p, n, **filters),
                           limit=ep.MAX_LIMIT if every else limit, first_page=page,
                           max_items=None if every else limit)
        shown = 0

        def pages() -> Iterator[list[list[str | None]]]:
            nonlocal shown
            for items in walk.pages:
                shown += len(items)
                if mode == Mode.JSON:
                    for item in items:
                        app.out.json_line(list_record(item))
                elif mode == Mode.QUIET:
                    app.out.quiet(clean(task_id, 256) for task_id in (Task(item).id for item in items)
                                  if task_id)  # an item without an ID has nothing to print
                else:
                    yield [_list_row(item) for item in items]

        app.out.table(LIST_COLUMNS, pages())
    total = walk.totals["total_count"]
    if shown == 0 and page > 1 and total:  # past the last page: say where the tasks are
        count = -(-total // limit)
        app.out.info(f"no tasks on page {page}: {total} in all, {count} page{'s' if count != 1 else ''} "
                     f"of {limit}")
    elif shown == 0:
        app.out.info("no tasks match")
    elif total is not None and total > shown and not every:
        app.out.info(f"showing {shown} of {total}; use --limit N (up to 500), --page N or --all")
    return ExitCode.OK


# --------------------------------------------------------------------------- stop and resume


def _act(action: str, client: ApiClient | None, task_id: str, failed: BrowseractError | None) -> dict[str, Any]:
    """One stop or resume: the JSON record (``result``, ``status``, ``exit_code``, ``error``)."""
    record: dict[str, Any] = {"task_id": task_id, "action": action, "result": None, "status": None,
                              "exit_code": 0, "error": None}
    try:
        if failed is not None:
            raise failed
        assert client is not None  # noqa: S101 - for_each gives a client when there is no error
        try:
            (ep.stop_task if action == "stop" else ep.resume_task)(client, task_id)
            record["result"] = "stop_requested" if action == "stop" else "resumed"
        except ApiError as err:
            record.update(_meaning(action, client, task_id, err))
    except BrowseractError as err:
        record.update(result=None, exit_code=int(err.exit_code), error=err)
    return record


def _meaning(action: str, client: ApiClient, task_id: str, err: ApiError) -> dict[str, Any]:
    """What 10121 (stop: already ended) and 10127 (resume: not paused) mean; raises otherwise."""
    if action == "stop" and err.code == 10121:
        # The task had ended: that is the success. Its state is only for the record.
        try:
            status: str | None = ep.get_task_status(client, task_id).status
        except ApiError:
            status = None
        return {"result": "already_terminal", "status": status}
    if action == "resume" and err.code == 10127:
        status = ep.get_task_status(client, task_id).status
        if status in ("created", "running"):
            return {"result": "already_running", "status": status}
        problem = ApiError("bad_request", f"the task is {clean(status, 40)}, not paused: it cannot be resumed",
                           http_status=err.http_status, code=err.code, trace_id=err.trace_id,
                           resource="task", hint="only a paused task can be resumed; a canceled, "
                                                 "failed or finished one cannot")
        return {"result": "not_resumable", "status": status, "exit_code": int(problem.exit_code),
                "error": problem}
    raise err


def run_action(app: AppContext, action: str, ids: Sequence[str], mode: str, waiting: Any) -> int:
    records = list(_act_all(app, action, ids, mode, waiting is None))
    if waiting is not None:
        _wait_after(app, action, records, waiting, mode)
    for record in records:
        if waiting is not None or mode != Mode.JSON:
            _report_action(app.out, record, mode)
    return int(worst(r["exit_code"] for r in records))


def _act_all(app: AppContext, action: str, ids: Sequence[str], mode: str, now: bool) -> Iterator[dict[str, Any]]:
    for record in for_each(app, ids, lambda c, t, e: _act(action, c, t, e), mode):
        if now and mode == Mode.JSON:
            _report_action(app.out, record, mode)  # without --wait, each line as soon as it is known
        yield record


def _wait_after(app: AppContext, action: str, records: list[dict[str, Any]], waiting: Any, mode: str) -> None:
    from browseract_cli.watcher import Tracked

    pending = [r for r in records if r["error"] is None and r["status"] not in TERMINAL
               and r["result"] != "already_terminal"]
    if not pending:
        return
    tracked: list[Tracked] = []
    until = TERMINAL if action == "stop" else frozenset()
    with app.make_client() as client:
        wait_until_done(app, client, [r["task_id"] for r in pending], waiting.timeout, waiting.interval,
                        until=frozenset(until), mode=mode, tasks_out=tracked)
    by_id = {t.task_id: t for t in tracked}
    for record in pending:
        # stop waits until any terminal state (each is success); resume until the outcome.
        t = by_id[record["task_id"]]
        record.update(status=t.status, exit_code=int(t.exit_code or 0), error=t.error)
        if action == "stop" and t.status == "canceled":
            record["result"] = "canceled"


_SAID = {"stop_requested": "stop requested", "already_terminal": "had already ended",
         "canceled": "canceled", "resumed": "resumed", "already_running": "was already running",
         "not_resumable": "cannot be resumed"}


def _report_action(out: Output, record: dict[str, Any], mode: str) -> None:
    err = record["error"]
    if mode == Mode.JSON:
        out.json_line({**record, "status": None if record["status"] is None else clean(record["status"], 200),
                       "error": None if err is None else error_json(err)})
        return
    if err is not None:
        out.error(err, record["task_id"])
        return
    state = f" ({clean(record['status'], 40)})" if record["status"] else ""
    out.line(f"{clean(record['task_id'], 256)}: {_SAID.get(record['result'] or '', 'done')}{state}")


def _shell(task_id: str | None) -> str:
    """A server's task ID as a shell word in a suggested command (sanitised, quoted if need be)."""
    import shlex

    return shlex.quote(clean(task_id or "", 120))
