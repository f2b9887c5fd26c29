"""What `workflows`, `templates` and `regions` do: list, show, and the input template."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from browseract_cli import endpoints as ep
from browseract_cli.exit_codes import ExitCode
from browseract_cli.models import Template, Workflow, as_received
from browseract_cli.render import Column, Mode
from browseract_cli.sanitize import clean

if TYPE_CHECKING:
    from browseract_cli.context import AppContext


def _view(kind: str, item: Mapping[str, Any]) -> Workflow:
    return Workflow(item) if kind == "workflow" else Template(item)


def list_record(kind: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON line of one workflow or template (the API's spellings put right)."""
    if kind == "workflow":
        w = Workflow(item)
        return as_received({"workflow_id": w.id, "name": w.name, "description": w.description,
                            "created_at": w.created_at, "published_at": w.published_at})
    t = Template(item)
    return as_received({"template_id": t.id, "name": t.name, "description": t.description,
                        "detail_url": t.detail_url})


def _row(kind: str, item: Mapping[str, Any]) -> list[str | None]:
    view = _view(kind, item)
    description = clean(view.description or "", 60) or None
    if kind == "workflow":
        published = view.published_at
        return [view.id, view.name, published.replace("T", " ").removesuffix("Z")[:16] if published else None,
                description]
    return [view.id, view.name, description]


def run_list(app: AppContext, kind: str, mode: str, limit: int | None, every: bool,
             keyword: str | None = None) -> int:
    if every and limit is not None:
        from browseract_cli.errors import UsageError

        raise UsageError("--all walks every page: it takes no --limit")
    limit = limit or 20
    with app.make_client() as client:
        if kind == "workflow":
            def fetch(page: int, n: int) -> Any:
                return ep.list_workflows(client, page, n)
            columns = [Column("WORKFLOW", key=True), Column("NAME", shrink=True), Column("PUBLISHED", drop=2),
                       Column("DESCRIPTION", drop=1, shrink=True)]
        else:
            def fetch(page: int, n: int) -> Any:
                return ep.list_templates(client, page, n, keyword=keyword or None)
            columns = [Column("TEMPLATE", key=True), Column("NAME", shrink=True),
                       Column("DESCRIPTION", drop=1, shrink=True)]
        walk = ep.paginate(fetch, limit=ep.MAX_LIMIT if every else limit, max_items=None if every else limit)
        shown = 0

        def pages() -> Iterator[list[list[str | None]]]:
            nonlocal shown
            for items in walk.pages:
                shown += len(items)
                if mode == Mode.JSON:
                    for item in items:
                        app.out.json_line(list_record(kind, item))
                elif mode == Mode.QUIET:
                    app.out.quiet(clean(item_id, 256) for item_id in (_view(kind, item).id for item in items)
                                  if item_id)  # an item without an ID has nothing to print
                else:
                    yield [_row(kind, item) for item in items]

        app.out.table(columns, pages())
    total = walk.totals["total_count"]
    if shown == 0:
        app.out.info(f"no {kind}s" + (f" match {clean(keyword, 60)!r}" if keyword else ""))
    elif total is not None and total > shown and not every:
        app.out.info(f"showing {shown} of {total}; use --limit N (up to 500) or --all")
    return ExitCode.OK


def run_show(app: AppContext, kind: str, item_id: str, input_template: bool, as_json: bool) -> int:
    with app.make_client() as client:
        view = ep.get_workflow(client, item_id) if kind == "workflow" else ep.get_template(client, item_id)
    inputs = view.inputs
    if input_template:
        text = json.dumps(as_received({name: "" for name, _ in inputs}), indent=2, ensure_ascii=False)
        # The names exactly as declared, but no C1 control byte raw on a terminal: JSON escapes.
        app.out.line(re.sub("[\x80-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text))
        return ExitCode.OK
    if as_json:
        app.out.json_line(as_received({
            f"{kind}_id": view.id or item_id, "name": view.name, "description": view.description,
            "inputs": [{"name": name, "default_enabled": enabled} for name, enabled in inputs], kind: view.raw}))
        return ExitCode.OK
    fields = [(kind.capitalize(), view.id or item_id), ("Name", view.name), ("Description", view.description)]
    if isinstance(view, Template):
        fields.append(("Details", view.detail_url))
    fields += [("Published", view.published_at), ("Inputs", str(len(inputs)) if inputs else "none declared")]
    app.out.record(fields)
    for name, enabled in inputs:
        app.out.line(f"  {clean(name, 200)}" + ("  (enabled by default)" if enabled else ""))
    run = "run" if kind == "workflow" else "run-template"
    example = " ".join(f"-i {clean(name, 80)}=..." for name, _ in inputs[:3])
    app.out.info(f"start it: browseract {run} {item_id} {example}".rstrip())
    return ExitCode.OK


def run_regions(app: AppContext, mode: str) -> int:
    with app.make_client() as client:
        regions = ep.get_regions(client)
    if mode == Mode.JSON:
        for region in regions:
            app.out.json_line(as_received({"code": region.code, "name": region.name}))
    elif mode == Mode.QUIET:
        app.out.quiet(clean(r.code or "", 40) for r in regions if r.code)
    else:
        app.out.table([Column("CODE", key=True), Column("NAME", shrink=True)], [[(r.code, r.name) for r in regions]])
    return ExitCode.OK
