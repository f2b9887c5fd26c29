"""What the simulator answers: one handler per endpoint, in a route table keyed by method and path.

Every handler takes the world (state.py, its lock held), the request and the server clock's
"now", and returns an ``Answer``. The rules are those of the spec and of the real API
(browseract-api.md): the error envelope ``{code, msg, data, ts, time, traceId}`` with
``data: null`` and ``time`` as ``YYYY-MM-DD HH:MM:SS`` (as real answers have them), 99001 for
a missing or malformed parameter (``limit`` outside 1-500 included; ``limit`` defaults to 1),
10112 for an unknown task, 10111 / 10176 for an unknown workflow / template, 10013 for an
unknown region, 10118 above the concurrency cap, 10121 when stopping a task that has ended,
10127 when resuming a task that is not paused.
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from browseract_cli import endpoints as ep
from browseract_cli.models import KNOWN_STATES
from browseract_cli.simulator.state import FILES_PREFIX, REGIONS, SimTask, World, file_bytes

# --------------------------------------------------------------------------- answers


@dataclass
class Incoming:
    """A request as the handlers see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: Mapping[str, str]


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    close: bool = False
    hangup: bool = False  # close the connection without answering at all
    scripted: bool = False  # from a scenario step or fault, not the API's own rules
    stream: Iterable[bytes] | None = None  # a file body, sent chunk by chunk
    length: int | None = None  # Content-Length of ``stream``


def reason(status: int) -> str:
    return http.client.responses.get(status, "Unknown")


def envelope(code: int, msg: str) -> bytes:
    now = time.time()
    doc = {
        "code": code,
        "msg": msg,
        "data": None,
        "ts": int(now * 1000),
        "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
        "traceId": secrets.token_hex(16),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def error(status: int, code: int, msg: str) -> Answer:
    return Answer(status, envelope(code, msg))


def ok(doc: Any) -> Answer:
    return Answer(200, json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def empty_ok() -> Answer:
    return Answer(200, b"", content_type=None)


PARAM_ERROR = (400, 99001, "request parameter error")
TASK_NOT_FOUND = (400, 10112, "Task is not exist.")
WORKFLOW_NOT_FOUND = (400, 10111, "Workflow is not exist.")
TEMPLATE_NOT_FOUND = (400, 10176, "Workflow template is not exist.")
REGION_NOT_FOUND = (400, 10013, "Proxy region does not exist.")
TOO_MANY_RUNNING = (400, 10118, "Running tasks number exceeds.")
TASK_COMPLETED = (400, 10121, "Task has completed.")
NOT_PAUSED = (400, 10127, "Task resume only use for paused task")


class Refused(Exception):
    """Raised by a handler to answer with an error envelope."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.answer = error(status, code, msg)


def step_answer(step: Mapping[str, Any]) -> Answer:
    """The answer of a scripted step (scenario.py describes the keys)."""
    if "status" in step:
        answer = Answer(200, json.dumps({"status": step["status"]}, separators=(",", ":")).encode())
    elif "body" in step:
        raw = step["body"]
        answer = Answer(step.get("http", 200), raw if isinstance(raw, bytes) else raw.encode("utf-8"),
                        content_type=step.get("content_type", "text/html"))
    elif "http" in step:
        status = step["http"]
        answer = Answer(status, envelope(step.get("code", status), step.get("msg", reason(status))))
    else:  # a fault's hang-up
        answer = Answer(0, hangup=True)
    for key, header in (("retry_after", "Retry-After"), ("location", "Location")):
        if key in step:
            answer.headers.append((header, step[key]))
    answer.delay = float(step.get("delay", 0))
    answer.close = bool(step.get("close", False))
    # Faults and values outside the spec are deliberate: the conformance test leaves them out.
    answer.scripted = not ("status" in step and step["status"] in KNOWN_STATES)
    return answer


# --------------------------------------------------------------------------- parameters


def param(req: Incoming, name: str, *, required: bool = False) -> str | None:
    values = req.query.get(name)
    value = values[0] if values else None
    if required and not value:
        raise Refused(*PARAM_ERROR)
    return value


def int_param(req: Incoming, name: str, default: int, low: int, high: int | None = None) -> int:
    text = param(req, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refused(*PARAM_ERROR) from None
    if value < low or (high is not None and value > high):
        raise Refused(*PARAM_ERROR)
    return value


def time_param(req: Incoming, name: str) -> float | None:
    text = param(req, name)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise Refused(*PARAM_ERROR) from None


def json_body(req: Incoming) -> dict[str, Any]:
    try:
        doc = json.loads(req.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(*PARAM_ERROR) from None
    if not isinstance(doc, dict):
        raise Refused(*PARAM_ERROR)
    return doc


def body_inputs(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    items = doc.get("input_parameters", [])
    if not isinstance(items, list):
        raise Refused(*PARAM_ERROR)
    pairs = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]
                and isinstance(item.get("value", ""), str)):
            raise Refused(*PARAM_ERROR)
        pairs.append((item["name"], item.get("value", "")))
    return pairs


def body_callbacks(doc: Mapping[str, Any]) -> None:
    for name in ("callback_url", "status_change_callback_url"):
        url = doc.get(name)
        if url is None:
            continue
        if not isinstance(url, str) or len(url) > 2048 or not url.startswith(("http://", "https://")):
            raise Refused(*PARAM_ERROR)


def page_of(req: Incoming, items: list[Any]) -> dict[str, Any]:
    limit = int_param(req, "limit", 1, 1, ep.MAX_LIMIT)  # the real API's default is 1
    page = int_param(req, "page", 1, 1)
    total = len(items)
    start = (page - 1) * limit
    return {"page": page, "limit": limit, "items": items[start:start + limit],
            "total_pages": (total + limit - 1) // limit, "total_count": total}


# --------------------------------------------------------------------------- handlers


def _task(world: World, req: Incoming) -> SimTask:
    task = world.tasks.get(param(req, "task_id", required=True) or "")
    if task is None:
        raise Refused(*TASK_NOT_FOUND)
    return task


def get_task_status(world: World, req: Incoming, now: float) -> Answer:
    task = _task(world, req)
    step = world.poll(task, now)
    if step is not None:
        return step_answer(step)
    return ok({"status": world.status(task, now)})


def get_task(world: World, req: Incoming, now: float) -> Answer:
    task = _task(world, req)
    step = world.poll(task, now)
    if step is not None and "status" not in step:
        return step_answer(step)
    status = step["status"] if step is not None else world.status(task, now)
    answer = ok(world.task_doc(task, now, status, full=True))
    answer.scripted = status not in KNOWN_STATES  # a scripted value outside the enum
    if step is not None:  # a scripted step's timing holds for get-task too
        answer.delay, answer.close = float(step.get("delay", 0)), bool(step.get("close", False))
    return answer


def list_tasks(world: World, req: Incoming, now: float) -> Answer:
    status = param(req, "status")
    if status is not None and status not in KNOWN_STATES:
        raise Refused(*PARAM_ERROR)
    workflow_id = param(req, "workflow_id")
    name = (param(req, "workflow_name") or "").lower()
    since, until = time_param(req, "created_at_from"), time_param(req, "created_at_to")
    items = []
    for task in sorted(world.tasks.values(), key=lambda t: (t.created, t.id), reverse=True):
        current = world.status(task, now)
        created = world.wall_at(task.created)
        spec = task.spec
        if ((status is not None and current != status) or current not in KNOWN_STATES
                or (workflow_id is not None and task.workflow_id != workflow_id)
                or (name and (spec is None or name not in spec.name.lower()))
                or (since is not None and created < since) or (until is not None and created > until)):
            continue
        items.append(task)
    doc = page_of(req, items)
    doc["items"] = [world.task_doc(t, now, world.status(t, now), full=False) for t in doc["items"]]
    return ok(doc)


def stop_task(world: World, req: Incoming, now: float) -> Answer:
    task = _task(world, req)
    int_param(req, "biz_code", 0, -(2**31), 2**31 - 1)
    if not world.stop(task, now):
        raise Refused(*TASK_COMPLETED)
    return empty_ok()


def resume_task(world: World, req: Incoming, now: float) -> Answer:
    task = _task(world, req)
    if not world.resume(task, now):
        raise Refused(*NOT_PAUSED)
    return empty_ok()


def _start(world: World, spec: Any, workflow_id: str, doc: Mapping[str, Any], now: float,
           profile_id: str | None = None) -> Answer:
    inputs = body_inputs(doc)
    body_callbacks(doc)
    if world.running_count(now) >= world.max_running:
        raise Refused(*TOO_MANY_RUNNING)
    task = world.start(spec, workflow_id, inputs, profile_id)
    created = {"id": task.id}
    if profile_id:
        created["profile_id"] = profile_id
    return ok(created)


def run_task(world: World, req: Incoming, now: float) -> Answer:
    doc = json_body(req)
    workflow_id = doc.get("workflow_id")
    if not isinstance(workflow_id, str) or not workflow_id:
        raise Refused(*PARAM_ERROR)
    for key, kind in (("save_browser_data", bool), ("open_incognito_mode", bool), ("profile_id", str)):
        if key in doc and not isinstance(doc[key], kind):
            raise Refused(*PARAM_ERROR)
    spec = world.workflows.get(workflow_id)
    if spec is None:
        raise Refused(*WORKFLOW_NOT_FOUND)
    profile = doc.get("profile_id") or (f"profile-{secrets.token_hex(6)}" if doc.get("save_browser_data")
                                        else None)
    return _start(world, spec, workflow_id, doc, now, profile)


def run_template_task(world: World, req: Incoming, now: float) -> Answer:
    doc = json_body(req)
    template_id = doc.get("workflow_template_id")
    if not isinstance(template_id, str) or not template_id:
        raise Refused(*PARAM_ERROR)
    region = doc.get("proxyRegion")
    if region is not None and region not in {code for code, _ in REGIONS}:
        raise Refused(*REGION_NOT_FOUND)
    spec = world.templates.get(template_id)
    if spec is None:
        raise Refused(*TEMPLATE_NOT_FOUND)
    return _start(world, spec, template_id, doc, now)


def _catalog_item(item_id: str, spec: Any) -> dict[str, Any]:
    stamp = "2026-01-05T09:00:00Z"
    return {"id": item_id, "name": spec.name, "description": spec.description, "create_at": stamp,
            "publish_at": stamp}


def _declared(spec: Any) -> list[dict[str, Any]]:
    return [{"name": name, "default_enabled": enabled} for name, enabled in spec.inputs]


def list_workflows(world: World, req: Incoming, now: float) -> Answer:
    return ok(page_of(req, [_catalog_item(i, s) for i, s in world.workflows.items()]))


def get_workflow(world: World, req: Incoming, now: float) -> Answer:
    workflow_id = param(req, "workflow_id", required=True) or ""
    spec = world.workflows.get(workflow_id)
    if spec is None:
        raise Refused(*WORKFLOW_NOT_FOUND)
    return ok({**_catalog_item(workflow_id, spec), "input_parameters": _declared(spec)})


def _template_item(template_id: str, spec: Any, base_url: str) -> dict[str, Any]:
    return {"templateId": template_id, "name": spec.name, "recommendDesc": spec.description,
            "detailUrl": f"{base_url}/templates/{template_id}"}


def list_templates(world: World, req: Incoming, now: float) -> Answer:
    keyword = (param(req, "keyword") or "").lower()
    items = [_template_item(i, s, world.base_url) for i, s in world.templates.items()
             if keyword in s.name.lower() or keyword in s.description.lower()]
    return ok(page_of(req, items))


def get_template(world: World, req: Incoming, now: float) -> Answer:
    template_id = param(req, "workflow_template_id", required=True) or ""
    spec = world.templates.get(template_id)
    if spec is None:
        raise Refused(*TEMPLATE_NOT_FOUND)
    item = _template_item(template_id, spec, world.base_url)
    return ok({"id": template_id, "name": spec.name, "description": spec.description,
               "recommendDesc": item["recommendDesc"], "detailUrl": item["detailUrl"],
               "create_at": "2026-01-05T09:00:00Z", "publish_at": "2026-01-05T09:00:00Z",
               "input_parameters": _declared(spec)})


def get_regions(world: World, req: Incoming, now: float) -> Answer:
    return ok([{"name": name, "code": code} for code, name in REGIONS])


Handler = Callable[[World, Incoming, float], Answer]
ROUTES: dict[tuple[str, str], Handler] = {
    (ep.RUN_TASK.method, ep.RUN_TASK.path): run_task,
    (ep.RUN_TEMPLATE_TASK.method, ep.RUN_TEMPLATE_TASK.path): run_template_task,
    (ep.GET_TASK_STATUS.method, ep.GET_TASK_STATUS.path): get_task_status,
    (ep.GET_TASK.method, ep.GET_TASK.path): get_task,
    (ep.LIST_TASKS.method, ep.LIST_TASKS.path): list_tasks,
    (ep.RESUME_TASK.method, ep.RESUME_TASK.path): resume_task,
    (ep.STOP_TASK.method, ep.STOP_TASK.path): stop_task,
    (ep.LIST_WORKFLOWS.method, ep.LIST_WORKFLOWS.path): list_workflows,
    (ep.GET_WORKFLOW.method, ep.GET_WORKFLOW.path): get_workflow,
    (ep.LIST_TEMPLATES.method, ep.LIST_TEMPLATES.path): list_templates,
    (ep.GET_TEMPLATE.method, ep.GET_TEMPLATE.path): get_template,
    (ep.GET_REGIONS.method, ep.GET_REGIONS.path): get_regions,
}
METHODS: dict[str, str] = {path: method for method, path in ROUTES}


def endpoint_name(path: str) -> str | None:
    """``run-task`` for ``/v2/workflow/run-task`` (the names faults are keyed by); ``files``."""
    if path in METHODS:
        return path.rsplit("/", 1)[1]
    if path.startswith(FILES_PREFIX):
        return "files"
    return None


# --------------------------------------------------------------------------- files


def serve_file(world: World, req: Incoming) -> Answer:
    """A pre-signed file URL: the token in the query, no Authorization needed; Range supported."""
    if req.method not in ("GET", "HEAD"):
        answer = Answer(405, b"Method Not Allowed", content_type="text/plain")
        answer.headers.append(("Allow", "GET, HEAD"))
        return answer
    task_id, _, name = req.path[len(FILES_PREFIX):].partition("/")
    spec = world.find_file(unquote(task_id), unquote(name), param(req, "X-Amz-Signature") or "")
    if spec is None:
        return Answer(403, b"<Error><Code>AccessDenied</Code></Error>", content_type="application/xml")
    size = spec.length
    start, end = 0, size
    status = 200
    headers = [("Accept-Ranges", "bytes")]
    wanted = req.headers.get("Range")
    if wanted:
        parsed = _byte_range(wanted, size)
        if parsed is None:
            return Answer(416, b"", content_type=None, headers=[("Content-Range", f"bytes */{size}")])
        start, end = parsed
        status = 206
        headers.append(("Content-Range", f"bytes {start}-{end - 1}/{size}"))
    return Answer(status, content_type="application/octet-stream", headers=headers,
                  stream=file_bytes(spec, start, end), length=end - start)


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` range as [start, end); None if unsatisfiable."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            start, end = max(0, size - int(last)), size
        else:
            start = int(first)
            end = min(size, int(last) + 1) if last else size
    except ValueError:
        return None
    if start >= size or start >= end or start < 0:
        return None
    return start, end
