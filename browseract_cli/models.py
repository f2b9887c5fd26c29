"""Task states, what each means for the exit code, and typed views of the API's answers.

The views read the JSON leniently and in one place, with the API's quirks handled here
(browseract-api.md §3 and §10): IDs may come as numbers (they are always strings here),
``profile_id`` / ``profileId``, ``create_at`` / ``publish_at`` on workflows and templates,
camelCase template and file fields, ``input_parameters`` as a ``;``-joined string in task
answers, ``output.string`` holding JSON text, members that are null while a task runs. A field
of the wrong type reads as missing (None); only what an endpoint cannot do without is checked
by endpoints.py. Each view keeps the object as received in ``raw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from browseract_cli.exit_codes import ExitCode

# The TaskStatus enum of the spec.
KNOWN_STATES: tuple[str, ...] = (
    "created",
    "running",
    "pausing",
    "paused",
    "finished",
    "failed",
    "canceled",
    "unknown",
)
TERMINAL: frozenset[str] = frozenset({"finished", "failed", "canceled"})
IN_PROGRESS: frozenset[str] = frozenset({"created", "running", "pausing"})

STATE_EXIT: dict[str, ExitCode] = {
    "finished": ExitCode.OK,
    "failed": ExitCode.TASK_FAILED,
    "canceled": ExitCode.TASK_CANCELED,
    "paused": ExitCode.TASK_PAUSED,
    "unknown": ExitCode.TASK_UNKNOWN,
    "created": ExitCode.TASK_IN_PROGRESS,
    "running": ExitCode.TASK_IN_PROGRESS,
    "pausing": ExitCode.TASK_IN_PROGRESS,
}


def state_exit_code(state: str) -> ExitCode:
    """Exit code for a task state; a value outside the enum counts as ``unknown`` (13)."""
    return STATE_EXIT.get(state, ExitCode.TASK_UNKNOWN)


def is_known(state: str) -> bool:
    return state in STATE_EXIT


class TaskState(NamedTuple):
    """A get-task-status answer: the status exactly as the server sent it (unsanitised)."""

    status: str

    @property
    def recognised(self) -> bool:
        return is_known(self.status)


# --------------------------------------------------------------------------- field readers


def as_id(value: object) -> str | None:
    """An ID as a string: real IDs are 17-digit numbers, beyond a float's 2^53."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_input_parameters(value: object) -> list[tuple[str, str]]:
    """``keyword=laptops;max_items=50`` (the task answers' form), or a list of {name, value}."""
    if isinstance(value, str):
        pairs = []
        for part in value.split(";"):
            if part:
                name, _, val = part.partition("=")
                pairs.append((name, val))
        return pairs
    pairs = []
    for item in as_list(value):
        item = as_obj(item)
        name = as_str(item.get("name"))
        if name is not None:
            raw = item.get("value")
            pairs.append((name, raw if isinstance(raw, str) else "" if raw is None else str(raw)))
    return pairs


def as_received(value: Any) -> Any:
    """An answer for a --json "as received" field: every string in it, object keys included, with
    the API key masked as clean() masks it in text (any 12-character run of it, even with control
    or invisible characters inside), and nothing else changed. Masks in place (iteratively:
    answers may nest deeply) and returns the value.

    api.py masks only exact copies of the key, and only in string values: a server that echoes
    the key as an object key, cut short, or with a NUL inside would reach stdout through --json.
    """
    from browseract_cli import sanitize

    if not sanitize._SECRETS:
        return value
    if isinstance(value, str):
        return _masked_text(value)
    stack = [value] if isinstance(value, dict | list) else []
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(isinstance(k, str) and _masked_text(k) != k for k in node):
                pairs = [(_masked_text(k) if isinstance(k, str) else k, v) for k, v in node.items()]
                node.clear()
                node.update(pairs)
            entries = list(node.items())
        else:
            entries = list(enumerate(node))
        for key, item in entries:
            if isinstance(item, str):
                masked = _masked_text(item)
                if masked != item:
                    node[key] = masked
            elif isinstance(item, dict | list):
                stack.append(item)
    return value


def _masked_text(text: str) -> str:
    from browseract_cli import sanitize

    # Runs are found as clean() finds them, but with control characters skipped as well (clean()
    # drops them first), so that "ba_te\x00st..." is the key too; the rest is kept as it came.
    # A C-speed look for any 12-character window of a key comes first: most text has none.
    skeleton = text.translate(_hidden())
    if not any(w in skeleton for _, windows in sanitize._SECRETS.values() for w in windows):
        return text
    if skeleton == text:
        spans = sanitize._secret_spans(text)
    else:
        keep = [i for i, c in enumerate(text) if ord(c) not in _hidden()]
        spans = [(keep[start], keep[end - 1] + 1) for start, end in sanitize._secret_spans(skeleton)]
    return sanitize._mask(text, spans) if spans else text


_HIDDEN: dict[int, None] = {}


def _hidden() -> dict[int, None]:
    """str.translate table dropping what does not break a run of the key: C0, DEL, C1 and the
    invisible characters sanitize skips."""
    if not _HIDDEN:
        from browseract_cli import sanitize

        _HIDDEN.update(dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)]))
        _HIDDEN.update(dict.fromkeys(cp for lo, hi in sanitize._IGNORABLE for cp in range(lo, hi + 1)))
    return _HIDDEN


# --------------------------------------------------------------------------- views


class View:
    """A typed view over one JSON object of an answer (kept as received in ``raw``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.raw)!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.raw == self.raw  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


class Failure(NamedTuple):
    code: int | None
    message: str | None


class FileEntry(NamedTuple):
    """One file a task produced: a ``download_files`` entry or an ``output.files`` URL."""

    url: str | None
    name: str | None  # fileName; None for output.files URLs
    size: int | None  # fileSize in bytes, when known
    expires_at: int | None  # epoch milliseconds
    status: str | None
    error: str | None


class Step(NamedTuple):
    number: int | None
    status: str | None
    goal: str | None
    evaluation: str | None
    screenshot_url: str | None


class Task(View):
    """A get-task answer, or a list-tasks item (which lacks steps, files and the log URL)."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return as_id(self.raw.get("id"))

    @property
    def status(self) -> str | None:
        return as_str(self.raw.get("status"))

    @property
    def workflow_id(self) -> str | None:
        return as_id(self.raw.get("workflow_id"))

    @property
    def created_at(self) -> str | None:
        return as_str(self.raw.get("created_at"))

    @property
    def finished_at(self) -> str | None:
        """Only trustworthy in a terminal state (a running task may already carry one)."""
        return as_str(self.raw.get("finished_at"))

    @property
    def credit(self) -> int | None:
        return as_int(self.raw.get("credit"))

    @property
    def profile_id(self) -> str | None:
        return as_id(self.raw.get("profile_id", self.raw.get("profileId")))

    @property
    def failure(self) -> Failure | None:
        info = self.raw.get("task_failure_info")
        if not isinstance(info, Mapping):
            return None
        return Failure(as_int(info.get("code")), as_str(info.get("message")))

    @property
    def live_url(self) -> str | None:
        return as_str(as_obj(self.raw.get("live_url_info")).get("live_url")) or as_str(
            self.raw.get("live_url"))

    @property
    def log_url(self) -> str | None:
        return as_str(self.raw.get("log_detail_url"))

    @property
    def input_parameters(self) -> list[tuple[str, str]]:
        return parse_input_parameters(self.raw.get("input_parameters"))

    @property
    def output_text(self) -> str | None:
        """``output.string``: often itself a JSON document; None when absent or null."""
        return as_str(as_obj(self.raw.get("output")).get("string"))

    @property
    def files_expires_at(self) -> int | None:
        return as_int(self.raw.get("files_expires_at"))

    @property
    def steps(self) -> list[Step]:
        steps = []
        for item in as_list(self.raw.get("steps")):
            item = as_obj(item)
            steps.append(Step(as_int(item.get("step")), as_str(item.get("status")),
                              as_str(item.get("step_goal")), as_str(item.get("evaluation_previous_goal")),
                              as_str(item.get("screenshots_url"))))
        return steps

    @property
    def files(self) -> list[FileEntry]:
        """``download_files`` entries, then ``output.files`` URLs not already among them."""
        files: list[FileEntry] = []
        seen: set[str] = set()
        for item in as_list(self.raw.get("download_files")):
            item = as_obj(item)
            if not item:
                continue
            url = as_str(item.get("downloadUrl")) or None
            files.append(FileEntry(url, as_str(item.get("fileName")) or None, as_int(item.get("fileSize")),
                                   as_int(item.get("expiresAt")), as_str(item.get("status")),
                                   as_str(item.get("errorMessage")) or None))
            if url:
                seen.add(url)
        for url in as_list(as_obj(self.raw.get("output")).get("files")):
            if isinstance(url, str) and url and url not in seen:
                seen.add(url)
                files.append(FileEntry(url, None, None, None, None, None))
        return files


class Created(View):
    """A run-task / run-task-by-template answer."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return as_id(self.raw.get("id"))

    @property
    def profile_id(self) -> str | None:
        # The spec says profile_id; BrowserAct's own demos show profileId.
        return as_id(self.raw.get("profile_id")) or as_id(self.raw.get("profileId"))


class Workflow(View):
    """A list-workflows item or a get-workflow answer."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return as_id(self.raw.get("id"))

    @property
    def name(self) -> str | None:
        return as_str(self.raw.get("name"))

    @property
    def description(self) -> str | None:
        return as_str(self.raw.get("description"))

    @property
    def created_at(self) -> str | None:
        return as_str(self.raw.get("create_at", self.raw.get("created_at")))

    @property
    def published_at(self) -> str | None:
        return as_str(self.raw.get("publish_at", self.raw.get("published_at")))

    @property
    def inputs(self) -> list[tuple[str, bool]]:
        """The declared inputs: (name, enabled by default)."""
        inputs = []
        for item in as_list(self.raw.get("input_parameters")):
            item = as_obj(item)
            name = as_str(item.get("name"))
            if name:
                inputs.append((name, item.get("default_enabled") is True))
        return inputs


class Template(Workflow):
    """A list-official-workflow-templates item (camelCase) or a get-official-workflow-template answer."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return as_id(self.raw.get("templateId")) or as_id(self.raw.get("id"))

    @property
    def recommend_desc(self) -> str | None:
        return as_str(self.raw.get("recommendDesc"))

    @property
    def description(self) -> str | None:
        return as_str(self.raw.get("recommendDesc")) or as_str(self.raw.get("description"))

    @property
    def detail_url(self) -> str | None:
        return as_str(self.raw.get("detailUrl"))


class Region(View):
    __slots__ = ()

    @property
    def code(self) -> str | None:
        return as_str(self.raw.get("code"))

    @property
    def name(self) -> str | None:
        return as_str(self.raw.get("name"))


class Page(NamedTuple):
    """One page of a list endpoint: the items as received, and the counts when the API gave them."""

    items: list[Mapping[str, Any]]
    page: int | None
    total_pages: int | None
    total_count: int | None
