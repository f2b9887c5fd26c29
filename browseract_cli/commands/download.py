"""`browseract download`: every file of finished tasks, into DIR/TASK_ID/, safely."""

from pathlib import Path
from typing import Annotated

import typer

from browseract_cli.commands import command, epilog
from browseract_cli.context import AppContext
from browseract_cli.options import Interval, Json, Quiet, TaskIds, Timeout, Wait

EPILOGS = {"download": epilog(
    ("Examples:",
     "  browseract download $TASK_ID                 # into ./TASK_ID/",
     "  browseract download -D files/ id1 id2        # files/id1/, files/id2/",
     "  browseract download --wait -D out/ $TASK_ID  # once the task has finished",
     "  browseract list --status finished -q | browseract download -D out/ -"),
    "Files are fetched from their pre-signed URLs without the API key, streamed to NAME.part and "
    "renamed when complete; a file already there with the right size is skipped (--overwrite "
    "fetches it again). Names are made safe: nothing is ever written outside DIR/TASK_ID/. stdout "
    "lists the saved and skipped paths.",
    "Exit: 0 every file saved or skipped (or the task has none), 20 some file could not be "
    "downloaded, 74 a file or folder could not be written, 14 not finished yet (12 paused) unless "
    "--wait, 124 --wait --timeout, 66 not found.",
)}


@command
def download(
    app: AppContext,
    task_ids: TaskIds = None,
    directory: Annotated[Path, typer.Option(
        "--download-dir", "-D", metavar="DIR", help="Where to save: DIR/TASK_ID/NAME.")] = Path("."),
    wait: Wait = False,
    timeout: Timeout = "0",
    interval: Interval = "5",
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Download files again even when they are already there.")] = False,
    json_: Json = False,
    quiet: Quiet = False,
) -> int:
    """Download every file of finished tasks into DIR/TASK_ID/."""
    from browseract_cli.commands.tasks import _wait_options
    from browseract_cli.options import parse_duration, read_task_ids
    from browseract_cli.render import output_mode

    mode = output_mode(json_, quiet)
    waiting = _wait_options(app, wait, timeout, interval, parse_duration)
    return run_download(app, read_task_ids(app, task_ids, "download"), directory, mode, waiting, overwrite)


def run_download(app: AppContext, ids: list[str], root: Path, mode: str, waiting, overwrite: bool) -> int:  # type: ignore[no-untyped-def]
    from browseract_cli import taskops
    from browseract_cli.downloads import Transfer
    from browseract_cli.endpoints import get_task
    from browseract_cli.errors import ApiError
    from browseract_cli.exit_codes import worst
    from browseract_cli.results import download_task

    codes = []
    progress, progress_end = _progress_bar(app) if mode == "human" else (None, None)
    from browseract_cli.pool import workers_from

    transfer = Transfer(overwrite=overwrite, clock=app.clock, progress=progress, progress_end=progress_end,
                        pool_size=workers_from(app.env))
    try:
        with app.make_client() as client:
            waited: dict = {}
            if waiting is not None:
                code, waited = _wait(app, client, ids, waiting)
                if code in (130, 143):  # Ctrl-C or SIGTERM while waiting: stop, fetch nothing
                    return code
                codes.append(code)
            for task_id in ids:
                tracked = waited.get(task_id)
                if tracked is not None and (tracked.error is not None or tracked.status not in _ENDED):
                    # Not found, or still running at --timeout: the wait has said so already.
                    codes.append(_nothing(app, mode, task_id, int(tracked.exit_code or 14)))
                    continue
                try:
                    task = get_task(client, task_id)  # fresh: pre-signed URLs expire
                except ApiError as err:
                    app.out.error(err, task_id)
                    codes.append(_nothing(app, mode, task_id, int(err.exit_code)))
                    continue
                finished, code = taskops.finished_or_code(app.out, task)
                if finished is None:
                    codes.append(_nothing(app, mode, task_id, code))
                    continue
                codes.append(download_task(app.out, transfer, finished, root, mode).exit_code)
    finally:
        transfer.close()
    return int(worst(codes))


def _nothing(app: AppContext, mode: str, task_id: str, code: int) -> int:
    """A task whose files were not fetched (not found, not finished): --json still gets its
    result record, as every task does."""
    if mode == "json":
        app.out.json_line({"event": "result", "task_id": task_id, "downloaded": 0, "skipped": 0,
                           "failed": 0, "exit_code": code})
    return code


_ENDED = frozenset({"finished", "failed", "canceled"})


def _wait(app: AppContext, client, ids: list[str], waiting):  # type: ignore[no-untyped-def]
    """(the wait's code for the command, the tracked task of each ID)."""
    from browseract_cli import taskops

    tracked: list = []
    code = taskops.wait_until_done(app, client, ids, waiting.timeout, waiting.interval,
                                   until=_ENDED, tasks_out=tracked)
    return (code if code in (124, 130, 143) or code >= 65 else 0), {t.task_id: t for t in tracked}


def _progress_bar(app: AppContext):  # type: ignore[no-untyped-def]
    """(draw, end): a one-line progress display on a terminal (stderr); (None, None) elsewhere.
    ``end`` finishes a line left open (a file that failed, or whose size was not known), so
    the next line (a path, a warning) starts on a line of its own."""
    if not app.out.err_styled:
        return None, None
    import time

    from browseract_cli.live import terminal_size
    from browseract_cli.render import size_text
    from browseract_cli.sanitize import clean

    state: dict = {"last": 0.0, "open": None}  # open: the newest (name, done, total) not ended

    def text(name: str, done: int, total: int | None) -> str:
        """One line that fits the terminal as it is now (a wrapped line could not be redrawn):
        the bar shrinks, then goes, then the sizes; the name is cut last."""
        room = terminal_size(app.out.stderr)[0] - 1
        name = clean(name, 30)
        if not total:
            return f"{name} {size_text(done)}"[:room]
        percent = f" {100 * done // total:3d}%"
        sizes = f" {size_text(done)} of {size_text(total)}"
        width = min(24, room - len(name) - len(percent) - len(sizes) - 3)
        if width >= 8:
            filled = int(width * min(done, total) / total)
            return f"{name} [{'#' * filled}{'-' * (width - filled)}]{percent}{sizes}"
        if len(name) + len(percent) + len(sizes) <= room:
            return name + percent + sizes
        return (name[:max(1, room - len(percent))] + percent)[:room]

    def show(name: str, done: int, total: int | None) -> None:
        final = bool(total and done >= total)
        state["open"] = None if final else (name, done, total)
        now = time.monotonic()
        if now - state["last"] < 0.1 and not final:
            return
        state["last"] = now
        app.out.progress_line(text(name, done, total), final=final)

    def end() -> None:
        if state["open"] is not None:
            app.out.progress_line(text(*state["open"]), final=True)
            state["open"] = None

    return show, end
