"""A finished task's results, written out: its decoded output, and its files.

Shared by `output`, `download` and `run --wait` (which prints the output and, with ``-D``,
downloads the files as `download` does).
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from browseract_cli import decode
from browseract_cli.errors import LocalIOError
from browseract_cli.exit_codes import ExitCode
from browseract_cli.models import Task
from browseract_cli.render import Mode, Output
from browseract_cli.sanitize import clean

# --------------------------------------------------------------------------- output


def output_value(task: Task) -> Any:
    """The decoded output for JSON records: a JSON value, the text when not JSON, or None."""
    text = task.output_text
    if not text:
        return None
    value = decode.parse(text)
    return value if decode.is_json(value) else decode.writable(text)


def write_output(out: Output, task: Task, fmt: str, path: Path | None = None, *,
                 csv_safe: bool = False) -> int:
    """Print (or write to ``path``) a finished task's output in ``fmt``; 0, or raises (76, 74)."""
    text = task.output_text
    if not text:
        files = len(task.files)
        note = ""
        if files:  # a command to copy: the server's ID sanitised and quoted for the shell
            quoted = shlex.quote(clean(task.id or "", 300))
            note = f"; it has {files} file{'s' if files != 1 else ''}: `browseract download {quoted}`"
        out.info(f"task {clean(task.id or '', 80)!r} finished without output{note}")
        return ExitCode.OK
    # A terminal, whatever the colour settings: NO_COLOR or TERM=dumb turn colour off, not the
    # protection from escape sequences in the output.
    terminal = path is None and out.stdout.isatty()
    rendered = decode.render(text, fmt, terminal=terminal, csv_safe=csv_safe)
    if path is not None:
        atomic_write(path, rendered)
        out.info(f"output written to {clean(str(path), 300)}")
    elif terminal and fmt == "auto":
        out.line(clean_text(rendered).rstrip("\n"))  # a terminal gets no escape sequences
    elif terminal and fmt == "raw":
        out.write(clean_text(rendered))  # nothing added, only control characters dropped
    else:
        out.write(rendered)
    return ExitCode.OK


def clean_text(text: str) -> str:
    """Text for a terminal: line breaks and tabs kept, every other control character dropped."""
    return "\n".join("\t".join(clean(part, len(part) + 1) for part in line.split("\t"))
                     for line in text.split("\n"))


def atomic_write(path: Path, text: str) -> None:
    """``path`` replaced all at once (a temporary file beside it, then renamed); 74 on failure."""
    folder = path.parent if str(path.parent) else Path(".")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # a normal file, as the shell's `>` would make it
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise LocalIOError(f"cannot write {clean(str(path), 300)}: {exc.strerror or type(exc).__name__}",
                           hint="check the folder exists and can be written") from None
    finally:
        if tmp is not None:  # whatever went wrong (Ctrl-C included), no temporary file stays
            try:
                os.unlink(tmp)
            except OSError:
                pass


# --------------------------------------------------------------------------- files


class TaskFiles(NamedTuple):
    downloaded: int
    skipped: int
    failed: int
    exit_code: int


def download_task(out: Output, transfer: Any, task: Task, root: Path, mode: str, *,
                  summary: bool = True) -> TaskFiles:
    """Every file of a finished task into ``root/TASK_ID/``, reported in ``mode`` (with a
    summary per task unless ``summary`` is false: `run --json` folds it into its result)."""
    from browseract_cli.downloads import FileRefused, FileResult, plan, task_folder
    from browseract_cli.pool import ordered_map

    task_id = task.id or ""
    planned = plan(task.files)
    if not planned:
        out.info(f"task {clean(task_id, 80)!r} has no files")
        return _summary(out, task_id, [], mode if summary else "")
    try:
        folder = task_folder(root, task_id)
    except FileRefused as refused:
        results = [FileResult(name, None, None, "failed", str(refused)) for _, name in planned]
        for result in results:
            _report_file(out, task_id, result, mode)
        return _summary(out, task_id, results, mode if summary else "")
    results = []
    fetched = ordered_map(lambda item: transfer.fetch(item[0], folder, item[1]), planned,
                          getattr(transfer, "workers", 1))
    for _, name in planned:
        try:
            result = next(fetched)  # several at once; reported in the task's order
        except LocalIOError as err:  # the disk is full: no other file will fare better
            if mode == Mode.JSON:  # the records still say which file and task it was (74)
                from browseract_cli.render import error_json

                results.append(FileResult(name, None, None, "failed", None))
                out.json_line({"event": "file", "task_id": task_id, "name": name, "path": None,
                               "bytes": None, "result": "failed", "error": error_json(err)})
                _summary(out, task_id, results, mode if summary else "", code=ExitCode.IO_ERROR)
            raise
        _report_file(out, task_id, result, mode)
        results.append(result)
    return _summary(out, task_id, results, mode if summary else "")


def _report_file(out: Output, task_id: str, result: Any, mode: str) -> None:
    if mode == Mode.JSON:
        out.json_line({"event": "file", "task_id": task_id, "name": result.name,
                       "path": None if result.path is None else str(result.path),
                       "bytes": result.bytes, "result": result.result, "error": result.error})
    elif result.result == "failed":
        out.warn(f"{clean(task_id, 80)}: {clean(result.name, 200)}: {clean(result.error or 'failed', 400)}")
    else:
        out.line(str(result.path))


def _summary(out: Output, task_id: str, results: Sequence[Any], mode: str,
             code: ExitCode | None = None) -> TaskFiles:
    counts = {kind: sum(1 for r in results if r.result == kind) for kind in ("downloaded", "skipped", "failed")}
    if code is None:
        code = ExitCode.FILES_INCOMPLETE if counts["failed"] else ExitCode.OK
    if mode == Mode.JSON:
        out.json_line({"event": "result", "task_id": task_id, **counts, "exit_code": int(code)})
    elif results and mode == Mode.HUMAN:
        out.info(f"{clean(task_id, 80)}: {counts['downloaded']} downloaded, {counts['skipped']} skipped, "
                 f"{counts['failed']} failed")
    return TaskFiles(counts["downloaded"], counts["skipped"], counts["failed"], int(code))
