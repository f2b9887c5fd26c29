"""What `run` and `run-template` do: check the inputs, start the task once, and under --wait
wait for it (the watch engine), then print its output and download its files."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from browseract_cli import endpoints as ep
from browseract_cli.errors import ApiError, BrowseractError, ConfigError, LocalIOError, UsageError
from browseract_cli.exit_codes import ExitCode, worst
from browseract_cli.models import Created
from browseract_cli.render import Mode, error_json, output_mode
from browseract_cli.sanitize import clean

if TYPE_CHECKING:
    from browseract_cli.api import ApiClient
    from browseract_cli.context import AppContext

MAX_CALLBACK = 2048
SLOT_RETRY_MAX = 10.0  # --wait-for-slot tries again at most every 10 s


class Target(NamedTuple):
    kind: str  # "workflow" or "template"
    id: str

    @property
    def label(self) -> str:
        return f"{self.kind} {clean(self.id, 80)!r}"


class Waiting(NamedTuple):
    interval: float
    timeout: float
    max_outage: float
    until: frozenset[str]
    fmt: str
    download_dir: Path | None


class RunOptions(NamedTuple):
    inputs: list[tuple[str, str]]
    validate: bool
    dry_run: bool
    wait_for_slot: float  # 0: no waiting at the concurrency limit
    waiting: Waiting | None
    mode: str
    extra: dict[str, Any]  # body fields: profile, callbacks, region


def options(app: AppContext, inputs: list[str] | None, input_file: str | None, callback_url: str | None,
            status_callback_url: str | None, no_validate: bool, dry_run: bool, wait_for_slot: str | None,
            wait: bool, interval: str | None, timeout: str | None, max_outage: str | None,
            until: list[str] | None, fmt: str | None, download_dir: Path | None, json_: bool, quiet: bool,
            *, save_browser_data: bool = False, browser_profile: str | None = None,
            region: str | None = None) -> RunOptions:
    """The options of run / run-template, checked (UsageError 2, InputError 65 for the file)."""
    from browseract_cli import inputs as inp
    from browseract_cli.options import parse_duration

    mode = output_mode(json_, quiet)
    wait_only = {"--interval": interval, "--timeout": timeout, "--max-outage": max_outage,
                 "--until": until, "--format": fmt, "--download-dir": download_dir}
    given = [name for name, value in wait_only.items() if value is not None]
    if given and not wait:
        raise UsageError(f"{given[0]} needs --wait", hint="add --wait, or leave it out")
    extra: dict[str, Any] = {}
    if save_browser_data:
        extra["save_browser_data"] = True
    if browser_profile:
        extra["profile_id"] = browser_profile
    for field, option, url in (("callback_url", "--callback-url", callback_url),
                               ("status_change_callback_url", "--status-callback-url", status_callback_url)):
        if url is not None:
            extra[field] = _check_callback(url, option)
    if region is not None:
        extra["proxyRegion"] = region.strip()
    pairs = inp.parse_pairs(inputs or [])
    if input_file is not None:
        try:
            from_file = inp.read_input_file(input_file, app.input_stream())
        except BrowseractError as err:  # 65: a failure to start, reported as every other one is
            _failed_to_start(app, mode, err)
            raise
        pairs = inp.merge(from_file, pairs)
    if download_dir is not None:
        try:
            _check_folder(download_dir)
        except BrowseractError as err:
            _failed_to_start(app, mode, err)
            raise
    return RunOptions(pairs, not no_validate, dry_run,
                      parse_duration(wait_for_slot, "--wait-for-slot") if wait_for_slot else 0.0,
                      _waiting(interval, timeout, max_outage, until, fmt, download_dir) if wait else None,
                      mode, extra)


def _waiting(interval: str | None, timeout: str | None, max_outage: str | None, until: list[str] | None,
             fmt: str | None, download_dir: Path | None) -> Waiting:
    from browseract_cli.commands.watch import parse_interval, parse_states
    from browseract_cli.options import check_format, parse_duration

    return Waiting(parse_interval(interval or "5"), parse_duration(timeout or "0", "--timeout"),
                   parse_duration(max_outage or "5m", "--max-outage"), parse_states(until),
                   check_format(fmt or "auto"), download_dir)


def _check_folder(path: Path) -> None:
    """-D DIR, checked before a paid task is started rather than after waiting for it: 74 when
    DIR, or the nearest of its parents that exists, is not a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            if not candidate.is_dir():
                raise LocalIOError(f"-D {clean(str(path), 300)}: {clean(str(candidate), 300)} is not a folder",
                                   hint="give a folder (it is created if missing)")
            return


def _check_callback(url: str, option: str) -> str:
    if not url.startswith(("http://", "https://")) or len(url) > MAX_CALLBACK or any(
            ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UsageError(f"{option} must be an http:// or https:// URL of at most {MAX_CALLBACK} "
                         "characters, without spaces")
    return url


# --------------------------------------------------------------------------- the run


def run(app: AppContext, target: Target, opts: RunOptions, *, resumable: bool = True) -> int:
    """Start the task (and under --wait, see it through); the exit code. ``resumable=False``
    (`demo`) leaves out how to resume watching after Ctrl-C."""
    try:
        client = app.make_client()
    except ConfigError as err:
        _failed_to_start(app, opts.mode, err)
        raise
    with client:
        try:
            body = _prepare(app, client, target, opts)
            if opts.dry_run:
                app.out.json_line(body)
                return ExitCode.OK
            created = _create(app, client, target, body, opts.wait_for_slot)
        except BrowseractError as err:
            _failed_to_start(app, opts.mode, err)
            raise
        _announce(app, target, created, opts)
        if opts.waiting is None:
            return ExitCode.OK
        return _wait_for_result(app, client, created.id or "", opts, resumable)


def _failed_to_start(app: AppContext, mode: str, err: BrowseractError) -> None:
    """--json: a start that failed is one result line with no task (usage errors excepted)."""
    if mode == Mode.JSON:
        from browseract_cli.render_watch import iso

        app.out.json_line({"event": "result", "task_id": None, "at": iso(app.wall()), "status": None,
                           "exit_code": int(err.exit_code), "error": error_json(err)})


def _prepare(app: AppContext, client: ApiClient, target: Target, opts: RunOptions) -> dict[str, Any]:
    from browseract_cli.inputs import body_inputs, check_declared

    if opts.validate:
        found = ep.get_workflow(client, target.id) if target.kind == "workflow" else ep.get_template(client, target.id)
        declared = [name for name, _ in found.inputs]
        not_given = check_declared(opts.inputs, declared, target.label)
        if not_given:
            app.out.info(f"inputs not given, the {target.kind}'s defaults apply: "
                         f"{', '.join(clean(n, 60) for n in not_given)}")
    key = "workflow_id" if target.kind == "workflow" else "workflow_template_id"
    return {key: target.id, "input_parameters": body_inputs(opts.inputs), **opts.extra}


def _create(app: AppContext, client: ApiClient, target: Target, body: dict[str, Any],
            wait_for_slot: float) -> Created:
    """The one create request (see retry.may_retry); 10118 is tried again only under --wait-for-slot."""
    start = ep.run_task if target.kind == "workflow" else ep.run_template_task
    give_up = app.clock() + wait_for_slot
    tries = 0
    while True:
        try:
            return _usable(start(client, body), target)
        except ApiError as err:
            if err.code == 10013:  # "Proxy region does not exist.": about --region, with its hint
                raise ApiError("bad_request", err.msg, http_status=err.http_status, code=err.code,
                               trace_id=err.trace_id, resource="region") from None
            left = give_up - app.clock()
            if err.code == 10118 and left > 0:
                delay = min(SLOT_RETRY_MAX, 2.0 * 2 ** tries, left)
                app.out.info(f"the account runs as many tasks as its plan allows; trying again in "
                             f"{delay:.0f}s (--wait-for-slot: {left:.0f}s left)")
                app.sleep(delay)
                tries += 1
                continue
            if err.code == 10118 and wait_for_slot > 0:
                err.hint = (f"no slot became free within --wait-for-slot ({wait_for_slot:g}s): the "
                            "account still runs as many tasks as its plan allows; wait for one to end "
                            "(`browseract list --status running`), or allow longer")
            if err.reached_server and err.kind in ("network", "server"):
                where = f" --workflow {shlex.quote(target.id)}" if target.kind == "workflow" else ""
                err.hint = (f"the task may have been created before this failure: look with "
                            f"`browseract list{where} --since 10m` before starting it again "
                            "(a start is never sent twice by browseract)")
            raise


def _usable(created: Created, target: Target) -> Created:
    """The answer, if its ID is one a task ID can be (what `status`, `watch`... accept); else a
    bad answer (76): printing it would hand scripts an ID no command takes (or control bytes)."""
    from browseract_cli.classify import bad_answer
    from browseract_cli.options import check_task_id

    try:
        check_task_id(created.id or "")
    except UsageError as bad:
        what = "run-task" if target.kind == "workflow" else "run-task-by-template"
        raise bad_answer(f"{what} answered with an unusable task 'id' ({bad.msg})", resource="task") from None
    return created


def _announce(app: AppContext, target: Target, created: Created, opts: RunOptions) -> None:
    from browseract_cli.render_watch import iso

    task_id = created.id or ""
    if opts.mode == Mode.JSON:
        app.out.json_line({"event": "created", "task_id": task_id,
                           "workflow_id": target.id if target.kind == "workflow" else None,
                           "template_id": target.id if target.kind == "template" else None,
                           "browser_profile_id": created.profile_id, "at": iso(app.wall()),
                           "exit_code": 0, "error": None})
        return
    if opts.waiting is None:
        app.out.line(task_id)  # alone on stdout: ID=$(browseract run WF) works
    if opts.mode == Mode.HUMAN:
        profile = f"; browser profile {clean(created.profile_id, 80)}" if created.profile_id else ""
        app.out.info(f"started task {clean(task_id, 300)} from {target.label}{profile}")
        if opts.waiting is None:  # commands to copy: the server's ID quoted for the shell
            quoted = shlex.quote(clean(task_id, 300))
            app.out.info(f"follow it: browseract watch {quoted}; its result: browseract output --wait {quoted}")


# --------------------------------------------------------------------------- --wait


def _wait_for_result(app: AppContext, client: ApiClient, task_id: str, opts: RunOptions,
                     resumable: bool) -> int:
    from browseract_cli.commands.watch import run_watch
    from browseract_cli.render_watch import BaseReporter, JsonReporter
    from browseract_cli.watcher import Tracked, WatchOptions

    waiting = opts.waiting
    assert waiting is not None  # noqa: S101 - only called under --wait
    progress = app.out.progress_view()
    reporter: Any = None
    if opts.mode == Mode.JSON:
        reporter = JsonReporter(app.out, app.wall, hold_results=True)
    elif opts.mode == Mode.QUIET:
        reporter = BaseReporter(progress, app.wall)
    tracked: list[Tracked] = []
    watch_opts = WatchOptions(task_ids=[task_id], interval=waiting.interval, timeout=waiting.timeout,
                              until=waiting.until, max_outage=waiting.max_outage)
    code = run_watch(watch_opts, app, Mode.HUMAN, client=client, out=progress, reporter=reporter,
                     tasks_out=tracked, resumable=resumable)
    t = tracked[0]
    task, codes, files, error = None, [code], None, None
    if t.status == "finished" and t.exit_code == 0:
        task, extra_codes, files, error = _collect(app, client, task_id, waiting, opts.mode)
        codes += extra_codes
    elif t.status == "failed" and opts.mode == Mode.QUIET and t.failure is not None:
        from browseract_cli.render_watch import failure_text

        app.out.info(f"{task_id}: {failure_text(t)}")
    elif t.exit_code == 0 and t.status != "finished" and opts.mode != Mode.JSON:
        app.out.info(f"task {task_id} reached {clean(t.status or '', 40)}: it has no output yet")
    final = int(worst(codes))
    if opts.mode == Mode.JSON:
        _final_record(app, reporter, t, task, files, final, error)
    return final


def _collect(app: AppContext, client: ApiClient, task_id: str, waiting: Waiting, mode: str):  # type: ignore[no-untyped-def]
    """The finished task's output (printed unless --json) and files (-D); its extra exit codes,
    and the error that stopped it from getting the task (for the --json record)."""
    from browseract_cli.results import download_task, write_output

    codes: list[int] = []
    try:
        task = ep.get_task(client, task_id)
    except ApiError as err:
        app.out.error(err, task_id)
        return None, [int(err.exit_code)], None, err
    if mode != Mode.JSON:
        try:
            codes.append(write_output(app.out, task, waiting.fmt))
        except ApiError as err:  # the output is not of the shape --format needs (76)
            app.out.error(err, task_id)
            codes.append(int(err.exit_code))
    files = None
    if waiting.download_dir is not None:
        from browseract_cli.downloads import Transfer

        transfer = Transfer(clock=app.clock)
        try:
            files = download_task(app.out.progress_view() if mode != Mode.JSON else app.out, transfer,
                                  task, waiting.download_dir, mode, summary=mode != Mode.JSON)
        finally:
            transfer.close()
        codes.append(files.exit_code)
    return task, codes, files, None


def _final_record(app: AppContext, reporter: Any, t: Any, task: Any, files: Any, code: int,
                  error: BrowseractError | None) -> None:
    from browseract_cli.render_watch import failure_json
    from browseract_cli.results import output_value

    record = dict(reporter.held.get(t.task_id) or {})
    failure = failure_json(t)
    if failure is None and task is not None and task.failure is not None:
        failure = {"code": task.failure.code, "message": task.failure.message}
    record.update(exit_code=code, output=None if task is None else output_value(task), failure=failure,
                  credit=None if task is None else task.credit)
    if error is not None and record.get("error") is None:  # the task finished, then get-task failed
        record["error"] = error_json(error)
    if files is not None:
        record["files"] = {"downloaded": files.downloaded, "skipped": files.skipped, "failed": files.failed}
    app.out.json_line(record)
