"""The simulated world: the catalog, the tasks and their lifecycles on the injected clock.

Two kinds of tasks live here. *Scripted* tasks (the demo tasks, scenario ``tasks``) follow
their steps, starting at their first poll. *Run* tasks are created by run-task /
run-task-by-template from a workflow or template and move through its lifecycle from the
moment they are created; stop-task and resume-task act on both kinds. All timing uses the
server's clock; wall-clock timestamps are derived from it, so a test's fake clock moves them
too. Every method is called with the world's lock held (server.py holds it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from browseract_cli.models import TERMINAL
from browseract_cli.simulator.scenario import FileSpec, WorkflowSpec

REGIONS: tuple[tuple[str, str], ...] = (
    ("US", "United States"), ("UK", "United Kingdom"), ("DE", "Germany"), ("JP", "Japan"),
    ("FR", "France"), ("CA", "Canada"),
)
FILES_PREFIX = "/files/"
FILE_LIFETIME_MS = 7 * 24 * 3600 * 1000  # files expire a week after the task ended
_STEP_GOALS = ("Open the start page", "Collect the results", "Save the results")


def iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


@dataclass
class Progress:
    """Where a scripted task is in its steps."""

    index: int
    started: float
    polls: int = 0


@dataclass
class Lifecycle:
    """A list of (status, seconds or None) phases, entered at ``started`` (server clock)."""

    phases: list[tuple[str, float | None]]
    started: float
    index: int = 0

    def status(self, now: float) -> str:
        while self.index < len(self.phases) - 1:
            status, seconds = self.phases[self.index]
            if seconds is None or now - self.started < seconds:
                break
            self.started += seconds  # the next phase begins when this one ended
            self.index += 1
        return self.phases[self.index][0]

    def ended_at(self) -> float:
        """When the current (terminal) phase began."""
        return self.started


@dataclass
class SimTask:
    """One task the simulator knows (scripted or run)."""

    id: str
    created: float  # server clock
    workflow_id: str
    spec: WorkflowSpec | None = None  # run tasks
    steps: list[dict[str, Any]] | None = None  # scripted tasks
    inputs: list[tuple[str, str]] = field(default_factory=list)
    profile_id: str | None = None
    progress: Progress | None = None  # scripted tasks, from their first poll
    override: Lifecycle | None = None  # after stop-task / resume-task (and every run task)
    last_status: str | None = None  # scripted: the last status answered

    @property
    def scripted(self) -> bool:
        return self.steps is not None


class World:
    """Catalog, tasks, and the rules the API enforces (10118, 10121, 10127...)."""

    def __init__(self, *, clock: Callable[[], float], wall: Callable[[], float],
                 tasks: Mapping[str, list[dict[str, Any]]], workflows: Mapping[str, WorkflowSpec],
                 templates: Mapping[str, WorkflowSpec], max_running: int) -> None:
        self.clock = clock
        self._clock0, self._wall0 = clock(), wall()
        self.workflows = dict(workflows)
        self.templates = dict(templates)
        self.max_running = max_running
        self.tasks: dict[str, SimTask] = {}
        self.base_url = ""  # set by the server once it listens (for file URLs)
        self._secret = secrets.token_bytes(16)
        for task_id, steps in tasks.items():
            self.add_scripted(task_id, steps)

    # -- time

    def wall_at(self, t: float) -> float:
        return self._wall0 + (t - self._clock0)

    # -- tasks

    def add_scripted(self, task_id: str, steps: list[dict[str, Any]]) -> None:
        self.tasks[task_id] = SimTask(task_id, self.clock(), "demo-scripted", steps=steps)

    def new_id(self) -> str:
        while True:  # 17-digit decimal strings, as real task IDs are
            task_id = str(10**16 + secrets.randbelow(9 * 10**16))
            if task_id not in self.tasks:
                return task_id

    def running_count(self, now: float) -> int:
        return sum(1 for t in self.tasks.values() if not t.scripted and self.status(t, now) not in TERMINAL)

    def start(self, spec: WorkflowSpec, workflow_id: str, inputs: list[tuple[str, str]],
              profile_id: str | None) -> SimTask:
        now = self.clock()
        task = SimTask(self.new_id(), now, workflow_id, spec=spec, inputs=inputs, profile_id=profile_id,
                       override=Lifecycle(list(spec.lifecycle), now))
        self.tasks[task.id] = task
        return task

    def add_bulk(self, count: int, workflow_id: str = "demo-workflow") -> None:
        """``count`` finished tasks of ``workflow_id``, a second apart, for listing at scale."""
        spec = self.workflows[workflow_id]
        now = self.clock()
        for i in range(count):
            created = now - (count - i) * 1.0
            task = SimTask(self.new_id(), created, workflow_id, spec=spec,
                           override=Lifecycle([("finished", None)], created))
            self.tasks[task.id] = task

    # -- lifecycles

    def poll(self, task: SimTask, now: float) -> dict[str, Any] | None:
        """A poll of a task: advances a scripted task's steps; returns the step answering it
        (None for a run task, or a scripted task that stop/resume took over)."""
        if task.override is not None or not task.scripted:
            return None
        step = self._advance(task, now)
        if "status" in step:
            task.last_status = step["status"]
        return step

    def status(self, task: SimTask, now: float) -> str:
        """The task's status now, without counting as a poll (list-tasks, stop, resume)."""
        if task.override is not None:
            return task.override.status(now)
        if task.last_status is not None:
            return task.last_status
        return next((s["status"] for s in task.steps or () if "status" in s), "unknown")

    def _advance(self, task: SimTask, now: float) -> dict[str, Any]:
        steps = task.steps or [{"status": "unknown"}]
        progress = task.progress
        if progress is None:
            progress = task.progress = Progress(index=0, started=now)
        last = len(steps) - 1
        while progress.index < last:
            step = steps[progress.index]
            if "seconds" in step:
                if now - progress.started < step["seconds"]:
                    break
                # The next step begins when this one ended, not when it was first polled.
                progress.started += step["seconds"]
            elif progress.polls >= step["polls"]:
                progress.started = now
            else:
                break
            progress.index += 1
            progress.polls = 0
        progress.polls += 1
        return steps[progress.index]

    def stop(self, task: SimTask, now: float) -> bool:
        """Cancel a task; False when it had already ended (10121)."""
        if self.status(task, now) in TERMINAL:
            return False
        task.override = Lifecycle([("canceled", None)], now)
        return True

    def resume(self, task: SimTask, now: float) -> bool:
        """Resume a paused task; False when it is not paused (10127)."""
        if self.status(task, now) != "paused":
            return False
        after = task.spec.after_resume if task.spec is not None else (("running", 2.0), ("finished", None))
        task.override = Lifecycle(list(after), now)
        return True

    # -- what get-task and list-tasks show

    def task_doc(self, task: SimTask, now: float, status: str, *, full: bool) -> dict[str, Any]:
        """A WorkflowTaskResponse (``full``) or a WorkflowTaskSimpleResponse."""
        doc: dict[str, Any] = {
            "id": task.id,
            "workflow_id": task.workflow_id,
            "status": status,
            "created_at": iso(self.wall_at(task.created)),
            "input_parameters": ";".join(f"{name}={value}" for name, value in task.inputs),
        }
        if task.profile_id:
            doc["profile_id"] = task.profile_id
        terminal = status in TERMINAL
        ended = task.override.ended_at() if task.override is not None and terminal else None
        if status == "running":
            doc["live_url_info"] = {"width": 1280, "height": 800,
                                    "live_url": f"{self.base_url}/live/{task.id}"}
        if ended is not None:
            doc["finished_at"] = iso(self.wall_at(ended))
            doc["credit"] = task.spec.credit if task.spec is not None else 0
        if status == "failed":
            code, message = task.spec.failure if task.spec is not None else (10001, "Navigation timeout")
            doc["task_failure_info"] = {"code": code, "message": message}
        files = self.files_of(task) if status == "finished" else ()
        if status == "finished" and task.spec is not None:
            output = self.output_of(task)
            doc["output"] = {"string": output or "", "files": [self.file_url(task, f) for f in files]}
        if full:
            doc["steps"] = self._steps(task, status)
            doc["log_detail_url"] = f"{self.base_url}/logs/{task.id}"
            if files and ended is not None:
                ended_ms = int(self.wall_at(ended) * 1000)
                doc["download_files"] = [self._file_view(task, f, i, ended_ms) for i, f in enumerate(files)]
                doc["files_expires_at"] = ended_ms + FILE_LIFETIME_MS
        return doc

    def _steps(self, task: SimTask, status: str) -> list[dict[str, Any]]:
        count = {"created": 0, "running": 1, "pausing": 2, "paused": 2, "failed": 2}.get(status, 3)
        steps = []
        for i in range(count):
            last = i == count - 1
            step_status = ("failed" if status == "failed" else "running") if last and status != "finished" \
                else "succeed"
            steps.append({"id": f"{task.id}-{i + 1}", "step": i + 1, "status": step_status,
                          "evaluation_previous_goal": "Success" if i else "Start",
                          "step_goal": _STEP_GOALS[i % len(_STEP_GOALS)],
                          "screenshots_url": f"{self.base_url}/screenshots/{task.id}/{i + 1}.png"})
        return steps

    def output_of(self, task: SimTask) -> str | None:
        spec = task.spec
        if spec is None:
            return None
        if spec.make_output is not None:
            return spec.make_output(dict(task.inputs))
        return spec.output

    def files_of(self, task: SimTask) -> tuple[FileSpec, ...]:
        spec = task.spec
        if spec is None:
            return ()
        if spec.make_files is not None:
            return spec.make_files(dict(task.inputs))
        return spec.files

    # -- files

    def token(self, task_id: str, name: str) -> str:
        return hmac.new(self._secret, f"{task_id}/{name}".encode(), hashlib.sha256).hexdigest()[:32]

    def file_url(self, task: SimTask, spec: FileSpec) -> str:
        from urllib.parse import quote

        return (f"{self.base_url}{FILES_PREFIX}{quote(task.id, safe='')}/{quote(spec.name, safe='')}"
                f"?X-Amz-Expires=604800&X-Amz-Signature={self.token(task.id, spec.name)}")

    def _file_view(self, task: SimTask, spec: FileSpec, index: int, ended_ms: int) -> dict[str, Any]:
        return {"guid": f"{task.id}-f{index + 1}", "fileName": spec.name, "fileSize": spec.length,
                "status": "success", "progress": 100, "downloadUrl": self.file_url(task, spec),
                "downloadStartTime": ended_ms, "downloadCompletedTime": ended_ms,
                "expiresAt": ended_ms + FILE_LIFETIME_MS, "createTime": ended_ms}

    def find_file(self, task_id: str, name: str, token: str) -> FileSpec | None:
        """The file a pre-signed URL points to, if the token is right and the task finished."""
        task = self.tasks.get(task_id)
        if task is None or not hmac.compare_digest(token, self.token(task_id, name)):
            return None
        return next((f for f in self.files_of(task) if f.name == name), None)


def file_bytes(spec: FileSpec, start: int, end: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of a file: its content, or generated bytes.

    Generated files repeat a 256-byte pattern whose value depends on the offset, so a download
    resumed at the wrong offset or missing a piece is caught by comparing with this.
    """
    if spec.content is not None:
        for pos in range(start, end, chunk):
            yield spec.content[pos:min(end, pos + chunk)]
        return
    block = bytes(range(256)) * (chunk // 256)
    pos = start
    while pos < end:
        offset = pos % 256
        take = min(end - pos, chunk)
        data = block[offset:] + block[:offset]
        yield data[:take]
        pos += take
