"""The twelve operations of BrowserAct's v2 API: their paths, and one small function each.

Each function builds its request, sends it through ``ApiClient.request`` (retries, deadlines
and error classification live there) and turns the answer into a typed view (models.py), or
raises ``ApiError``: a bad answer (76) when the answer lacks what the operation cannot do
without. Meanings that depend on the command (10121 from stop-task is success, 10127 from
resume-task needs a look at the task) are left to the commands. The simulator serves the same
paths (it imports them from here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from browseract_cli.classify import EMPTY, bad_answer, classify, text
from browseract_cli.errors import ApiError
from browseract_cli.models import (
    Created,
    Page,
    Region,
    Task,
    TaskState,
    Template,
    Workflow,
    as_id,
    as_int,
)

if TYPE_CHECKING:
    from browseract_cli.api import ApiClient, RetryHook

PREFIX = "/v2/workflow/"


class Operation(NamedTuple):
    method: str
    path: str
    operation_id: str  # the spec's operationId
    resource: str | None  # what "not found" refers to


RUN_TASK = Operation("POST", PREFIX + "run-task", "runTask", "workflow")
RUN_TEMPLATE_TASK = Operation("POST", PREFIX + "run-task-by-template", "runTemplateTask", "template")
GET_TASK_STATUS = Operation("GET", PREFIX + "get-task-status", "getTaskStatus", "task")
GET_TASK = Operation("GET", PREFIX + "get-task", "getTask", "task")
LIST_TASKS = Operation("GET", PREFIX + "list-tasks", "pageTasks", "task")
RESUME_TASK = Operation("PUT", PREFIX + "resume-task", "resumeTask", "task")
STOP_TASK = Operation("PUT", PREFIX + "stop-task", "stopTask", "task")
LIST_WORKFLOWS = Operation("GET", PREFIX + "list-workflows", "getWorkflowList", "workflow")
GET_WORKFLOW = Operation("GET", PREFIX + "get-workflow", "getWorkflowConfig", "workflow")
LIST_TEMPLATES = Operation("GET", PREFIX + "list-official-workflow-templates", "getWorkflowTemplates",
                           "template")
GET_TEMPLATE = Operation("GET", PREFIX + "get-official-workflow-template", "getWorkflowTemplateConfig",
                         "template")
GET_REGIONS = Operation("GET", PREFIX + "get-region-list", "getRegionList", "region")

OPERATIONS: tuple[Operation, ...] = (
    RUN_TASK, RUN_TEMPLATE_TASK, GET_TASK_STATUS, GET_TASK, LIST_TASKS, RESUME_TASK, STOP_TASK,
    LIST_WORKFLOWS, GET_WORKFLOW, LIST_TEMPLATES, GET_TEMPLATE, GET_REGIONS,
)
STATUS_PATH = GET_TASK_STATUS.path

MAX_LIMIT = 500  # list endpoints: limit 1-500


def call(client: ApiClient, op: Operation, *, params: Mapping[str, Any] | None = None,
         body: Any = None, retry: bool = True, on_retry: RetryHook | None = None,
         deadline_s: float | None = None) -> Any:
    return client.request(op.method, op.path, params=params, body=body, resource=op.resource,
                          retry=retry, on_retry=on_retry, deadline_s=deadline_s)


def _object(value: Any, op: Operation) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        what = "empty" if value is EMPTY else f"a JSON {_json_type(value)}"
        raise bad_answer(f"{op.operation_id} answer is {what}, not a JSON object", resource=op.resource)
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


# --------------------------------------------------------------------------- tasks


def task_state(value: Any) -> TaskState:
    """A get-task-status answer: an object whose ``status`` is a string."""
    if value is EMPTY:
        raise bad_answer("empty answer body", resource="task")
    if not isinstance(value, dict):
        raise bad_answer(f"answer is not a JSON object (a JSON {_json_type(value)})", resource="task")
    if "status" not in value:
        raise bad_answer("answer has no 'status' field", resource="task")
    status = value["status"]
    if type(status) is not str:
        raise bad_answer(f"answer's 'status' is not a string ({type(status).__name__})", resource="task")
    return TaskState(text(status))


def task_status_outcome(http_status: int, body: bytes, content_type: str = "") -> TaskState | ApiError:
    """The whole classification of one get-task-status answer, pure (for tests and fuzzing)."""
    value = classify(http_status, body, content_type, resource="task")
    if isinstance(value, ApiError):
        return value
    try:
        return task_state(value)
    except ApiError as err:
        err.http_status = http_status
        return err


def get_task_status(client: ApiClient, task_id: str, *, retry: bool = True,
                    on_retry: RetryHook | None = None, deadline_s: float | None = None) -> TaskState:
    return task_state(call(client, GET_TASK_STATUS, params={"task_id": task_id}, retry=retry,
                           on_retry=on_retry, deadline_s=deadline_s))


def _task(value: Any, op: Operation) -> Task:
    doc = _object(value, op)
    if type(doc.get("status")) is not str:
        raise bad_answer(f"{op.operation_id} answer has no string 'status'", resource="task")
    return Task(doc)


def get_task(client: ApiClient, task_id: str, *, retry: bool = True,
             deadline_s: float | None = None) -> Task:
    return _task(call(client, GET_TASK, params={"task_id": task_id}, retry=retry,
                      deadline_s=deadline_s), GET_TASK)


def stop_task(client: ApiClient, task_id: str) -> None:
    """Ask for a stop (200, no body); ApiError with code 10121 when the task had already ended."""
    call(client, STOP_TASK, params={"task_id": task_id})


def resume_task(client: ApiClient, task_id: str) -> None:
    """Resume a paused task (200, no body); ApiError with code 10127 when it was not paused."""
    call(client, RESUME_TASK, params={"task_id": task_id})


def run_task(client: ApiClient, body: Mapping[str, Any]) -> Created:
    return _created(call(client, RUN_TASK, body=body), RUN_TASK)


def run_template_task(client: ApiClient, body: Mapping[str, Any]) -> Created:
    return _created(call(client, RUN_TEMPLATE_TASK, body=body), RUN_TEMPLATE_TASK)


def _created(value: Any, op: Operation) -> Created:
    doc = _object(value, op)
    created = Created(doc)
    if created.id is None:
        raise bad_answer(f"{op.operation_id} answer has no usable task 'id'", resource="task")
    return created


# --------------------------------------------------------------------------- paged lists


def _page(value: Any, op: Operation) -> Page:
    doc = _object(value, op)
    items = doc.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise bad_answer(f"{op.operation_id} answer's 'items' is not a list", resource=op.resource)
    return Page([item for item in items if isinstance(item, dict)], as_int(doc.get("page")),
                as_int(doc.get("total_pages")), as_int(doc.get("total_count")))


def page_params(page: int, limit: int, **filters: Any) -> dict[str, Any]:
    """Query parameters of one page: ``limit`` is always sent (the API's own default is 1)."""
    params = {name: value for name, value in filters.items() if value is not None}
    params.update(page=page, limit=limit)
    return params


def list_tasks(client: ApiClient, page: int = 1, limit: int = 20, **filters: Any) -> Page:
    """One page of list-tasks; filters: status, workflow_id, workflow_name, created_at_from/_to."""
    return _page(call(client, LIST_TASKS, params=page_params(page, limit, **filters)), LIST_TASKS)


def list_workflows(client: ApiClient, page: int = 1, limit: int = 20) -> Page:
    return _page(call(client, LIST_WORKFLOWS, params=page_params(page, limit)), LIST_WORKFLOWS)


def list_templates(client: ApiClient, page: int = 1, limit: int = 20, keyword: str | None = None) -> Page:
    return _page(call(client, LIST_TEMPLATES, params=page_params(page, limit, keyword=keyword)),
                 LIST_TEMPLATES)


class Paged:
    """A paged walk: ``pages`` yields each page's new items as the page arrives (``items`` the
    items one by one); ``totals`` fills in as pages arrive: "total_count", "pages"."""

    def __init__(self, pages: Iterator[list[Mapping[str, Any]]], totals: dict[str, int | None]) -> None:
        self.pages = pages
        self.totals = totals
        self.items: Iterator[Mapping[str, Any]] = (item for page in pages for item in page)


def paginate(fetch: Callable[[int, int], Page], *, limit: int, first_page: int = 1,
             max_items: int | None = None) -> Paged:
    """Walk pages from ``first_page``, handing on each page as it arrives.

    Never loops forever and never yields an item twice, whatever the API's counts say: it stops
    at an empty page, at ``total_pages``, at a page that brought nothing new (a repeated page),
    and after ``max_items`` items. Items are told apart by their ``id`` (or ``templateId``);
    one without a usable ID, by its whole content (so a repeated page of them still ends the walk).
    """
    totals: dict[str, int | None] = {"total_count": None, "pages": 0}

    def walk() -> Iterator[list[Mapping[str, Any]]]:
        seen: set[str] = set()
        count = 0
        page = first_page
        while True:
            result = fetch(page, limit)
            totals["pages"] = (totals["pages"] or 0) + 1
            if result.total_count is not None and result.total_count >= 0:
                totals["total_count"] = result.total_count
            fresh = []
            for item in result.items:
                key = _item_key(item)
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                fresh.append(item)
                count += 1
                if max_items is not None and count >= max_items:
                    break
            if fresh:
                yield fresh
            if max_items is not None and count >= max_items:
                return
            last = result.total_pages if (result.total_pages or 0) > 0 else None  # 0 or less: unknown
            if not fresh or (page >= last if last is not None else len(result.items) < limit):
                return
            page += 1

    return Paged(walk(), totals)


def _item_key(item: Mapping[str, Any]) -> str | None:
    """What tells a listed item apart: its ID, else its content (None if even that fails)."""
    key = as_id(item.get("id")) or as_id(item.get("templateId"))
    if key is not None:
        return "id:" + key
    import json

    try:
        return "content:" + json.dumps(item, sort_keys=True, default=repr)
    except (ValueError, TypeError, RecursionError):
        return None


# --------------------------------------------------------------------------- catalog


def get_workflow(client: ApiClient, workflow_id: str) -> Workflow:
    return Workflow(_object(call(client, GET_WORKFLOW, params={"workflow_id": workflow_id}),
                            GET_WORKFLOW))


def get_template(client: ApiClient, template_id: str) -> Template:
    return Template(_object(call(client, GET_TEMPLATE, params={"workflow_template_id": template_id}),
                            GET_TEMPLATE))


def get_regions(client: ApiClient) -> list[Region]:
    """get-region-list: a bare JSON array of {name, code}."""
    value = call(client, GET_REGIONS)
    if not isinstance(value, list):
        raise bad_answer(f"getRegionList answer is not a JSON array (a JSON {_json_type(value)})",
                         resource="region")
    return [Region(item) for item in value if isinstance(item, dict)]
