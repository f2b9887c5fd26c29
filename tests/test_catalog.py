"""`workflows list|show`, `templates list|show` and `regions`, against the simulator.

In-process (the ``cli`` fixture) against the project's simulator with a catalog of its own;
answers it would never give (numeric IDs, odd objects) come from ``body`` faults. The last part
fuzzes the parsers of list-workflows, get-workflow, the template endpoints and get-region-list,
directly and end to end (lifecycle contract: `workflows, templates, regions`; issue 13 "Fuzz
every new parser").
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import CANARY, Run
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import CONTRACT_CODES, fuzz_settings, json_values, nasty_text
from test_redaction import key_runs
from test_tasks import ECHOES, strings_of

from browseract_cli import catalog
from browseract_cli import endpoints as ep
from browseract_cli.errors import ApiError
from browseract_cli.models import Template, Workflow
from browseract_cli.render import Output

WORKFLOWS: dict[str, Any] = {
    "wf-report": {"name": "Weekly report", "description": "Collects the week's numbers",
                  "inputs": ["keyword", {"name": "max_items", "default_enabled": False}, "KeyWord2"]},
    "wf-plain": {"name": "No inputs", "description": ""},
    "16217357109956214": {"name": "Real-looking ID", "description": "Amazon prices", "inputs": ["url"]},
}
TEMPLATES: dict[str, Any] = {
    "tpl-amazon": {"name": "Amazon best sellers", "description": "Scrape Amazon's best sellers",
                   "inputs": ["url", {"name": "max_items", "default_enabled": False}]},
    "tpl-news": {"name": "News headlines", "description": "Collect today's headlines"},
}
WORKFLOW_KEYS = {"workflow_id", "name", "description", "created_at", "published_at"}
TEMPLATE_KEYS = {"template_id", "name", "description", "detail_url"}


def catalog_sim(make_sim: Callable[..., Any], **kwargs: Any) -> Any:
    kwargs.setdefault("workflows", WORKFLOWS)
    kwargs.setdefault("templates", TEMPLATES)
    return make_sim({}, include_demo=False, **kwargs)


def to(sim: Any, op: ep.Operation) -> list[Any]:
    return [r for r in sim.requests if r.path == op.path]


def docs(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.split("\n") if line]


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def fields(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        m = re.match(r"^([A-Z][A-Za-z ]*):\s+(.*)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def body(doc: Any, polls: int = 1) -> dict[str, Any]:
    return {"body": json.dumps(doc) if not isinstance(doc, bytes) else doc,
            "content_type": "application/json", "polls": polls}


# =========================================================================== workflows


def test_workflows_list_table(cli, make_sim):
    sim = catalog_sim(make_sim)
    run = cli("workflows", "list", base_url=sim.url)
    assert [cells(line) for line in run.lines] == [
        ["WORKFLOW", "NAME", "PUBLISHED", "DESCRIPTION"],
        ["wf-report", "Weekly report", "2026-01-05 09:00", "Collects the week's numbers"],
        ["wf-plain", "No inputs", "2026-01-05 09:00", "-"],
        ["16217357109956214", "Real-looking ID", "2026-01-05 09:00", "Amazon prices"]]
    (request,) = to(sim, ep.LIST_WORKFLOWS)
    assert request.query == {"page": ["1"], "limit": ["20"]}
    assert run.stderr == ""


def test_workflows_list_quiet_and_json(cli, make_sim):
    sim = catalog_sim(make_sim)
    assert cli("workflows", "list", "-q", base_url=sim.url).lines == list(WORKFLOWS)
    got = docs(cli("workflows", "list", "--json", base_url=sim.url).stdout)
    assert [set(d) for d in got] == [WORKFLOW_KEYS] * 3
    assert got[0] == {"workflow_id": "wf-report", "name": "Weekly report",
                      "description": "Collects the week's numbers",
                      "created_at": "2026-01-05T09:00:00Z", "published_at": "2026-01-05T09:00:00Z"}
    assert got[2]["workflow_id"] == "16217357109956214"


def test_workflows_list_limit_and_all(cli, make_sim):
    many = {f"wf-{i:04d}": {"name": f"Workflow {i}"} for i in range(1203)}
    sim = catalog_sim(make_sim, workflows=many)
    run = cli("workflows", "list", "-q", "--limit", "2", base_url=sim.url)
    assert run.lines == ["wf-0000", "wf-0001"]
    assert run.stderr.strip() == "showing 2 of 1203; use --limit N (up to 500) or --all"
    run = cli("workflows", "list", "-q", "--all", base_url=sim.url)
    assert run.lines == list(many) and run.stderr == ""
    assert [r.query for r in to(sim, ep.LIST_WORKFLOWS)[1:]] == [
        {"page": [str(n)], "limit": ["500"]} for n in (1, 2, 3)]


@pytest.mark.parametrize("args", [["--all", "--limit", "5"], ["--all", "--limit", "20"], ["--limit", "0"],
                                  ["--limit", "501"], ["--json", "-q"]])
@pytest.mark.parametrize("group", ["workflows", "templates"])
def test_catalog_list_bad_options_exit_2_without_a_request(cli, make_sim, group, args):
    sim = catalog_sim(make_sim)
    run = cli(group, "list", *args, expect=2, base_url=sim.url)
    assert run.stdout == "" and sim.requests == []


def test_workflows_list_all_ends_on_a_repeated_page(cli, make_sim):
    items = [{"id": f"w{i}", "name": "x", "create_at": "2026-01-05T09:00:00Z"} for i in range(500)]
    sim = catalog_sim(make_sim, faults={"list-workflows": [body({"items": items, "total_pages": 10**6},
                                                                polls=10**6)]})
    run = cli("workflows", "list", "--all", "-q", base_url=sim.url)
    assert run.lines == [f"w{i}" for i in range(500)]
    assert len(to(sim, ep.LIST_WORKFLOWS)) == 2


def test_catalog_quiet_prints_no_line_for_an_item_without_an_id(cli, make_sim):
    items = {"items": [{"id": "w1", "name": "a"}, {"name": "no ID"}, {"id": None}, {"id": "w2"}]}
    templates = {"items": [{"templateId": "t1"}, {"name": "no ID"}, {"id": 77638424152140851}]}
    sim = catalog_sim(make_sim, faults={"list-workflows": [body(items)],
                                        "list-official-workflow-templates": [body(templates)]})
    assert cli("workflows", "list", "-q", base_url=sim.url).lines == ["w1", "w2"]
    assert cli("templates", "list", "-q", base_url=sim.url).lines == ["t1", "77638424152140851"]


def test_workflows_show_record(cli, make_sim):
    sim = catalog_sim(make_sim)
    run = cli("workflows", "show", "wf-report", base_url=sim.url)
    shown = fields(run.stdout)
    assert shown == {"Workflow": "wf-report", "Name": "Weekly report", "Description": "Collects the week's numbers",
                     "Published": "2026-01-05T09:00:00Z", "Inputs": "3"}
    assert [line for line in run.lines if line.startswith("  ")] == [
        "  keyword  (enabled by default)", "  max_items", "  KeyWord2  (enabled by default)"]
    assert "browseract run wf-report -i keyword=... -i max_items=... -i KeyWord2=..." in run.stderr
    (request,) = to(sim, ep.GET_WORKFLOW)
    assert request.query == {"workflow_id": ["wf-report"]}
    assert fields(cli("workflows", "show", "wf-plain", base_url=sim.url).stdout)["Inputs"] == "none declared"


def test_workflows_show_json_has_inputs_and_the_object_as_received(cli, make_sim):
    sim = catalog_sim(make_sim)
    (doc,) = docs(cli("workflows", "show", "--json", "wf-report", base_url=sim.url).stdout)
    (answer,) = [json.loads(r.answer_body) for r in to(sim, ep.GET_WORKFLOW)]
    assert doc == {"workflow_id": "wf-report", "name": "Weekly report",
                   "description": "Collects the week's numbers",
                   "inputs": [{"name": "keyword", "default_enabled": True},
                              {"name": "max_items", "default_enabled": False},
                              {"name": "KeyWord2", "default_enabled": True}],
                   "workflow": answer}


@pytest.mark.parametrize(("workflow", "expected"), [
    ("wf-report", {"keyword": "", "max_items": "", "KeyWord2": ""}), ("wf-plain", {})])
def test_workflows_show_input_template(cli, make_sim, workflow, expected):
    sim = catalog_sim(make_sim)
    run = cli("workflows", "show", workflow, "--input-template", base_url=sim.url)
    template = json.loads(run.stdout)
    assert template == expected and list(template) == list(expected)  # declared order
    assert run.stderr == ""


def test_workflows_show_ids_as_strings_when_the_api_sends_numbers(cli, make_sim):
    raw = b'{"id": 16217357109956214999, "name": "n", "input_parameters": [{"name": "url"}]}'
    sim = catalog_sim(make_sim, faults={"get-workflow": [body(raw)]})
    (doc,) = docs(cli("workflows", "show", "--json", "16217357109956214999", base_url=sim.url).stdout)
    assert doc["workflow_id"] == "16217357109956214999"
    assert doc["inputs"] == [{"name": "url", "default_enabled": False}]


@pytest.mark.parametrize(("group", "hint"), [("workflows", "`browseract workflows list` shows the IDs"),
                                             ("templates", "`browseract templates list` shows the IDs")])
def test_unknown_workflow_or_template_is_66_with_the_hint(cli, make_sim, group, hint):
    sim = catalog_sim(make_sim)
    for extra in ([], ["--json"], ["--input-template"]):
        run = cli(group, "show", "nope", *extra, expect=66, base_url=sim.url)
        assert run.stdout == ""
        assert f"{group[:-1]} not found" in run.stderr and hint in run.stderr


@pytest.mark.parametrize("group", ["workflows", "templates"])
def test_a_not_exist_answer_with_another_code_is_66_too(cli, make_sim, group):
    endpoint = "get-workflow" if group == "workflows" else "get-official-workflow-template"
    sim = catalog_sim(make_sim, faults={endpoint: [{"http": 400, "code": 10999, "msg": "Workflow not exist"}]})
    run = cli(group, "show", "gone", expect=66, base_url=sim.url)
    assert "not found" in run.stderr


def test_show_sanitises_server_text_and_the_input_template_keeps_the_names(cli, make_sim):
    names = ["a\x1b]0;title\x07b", "c\x9b31md", "[bold]e", "f\u202eg"]
    doc = {"id": "x", "name": "n\x1b[2J", "description": "[link=https://evil.example]d[/link]",
           "input_parameters": [{"name": n, "default_enabled": True} for n in names]}
    sim = catalog_sim(make_sim, faults={"get-workflow": [body(doc, polls=2)]})
    run = cli("workflows", "show", "x", base_url=sim.url)
    for text in (run.stdout, run.stderr):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", text), repr(text)
    assert "-i a]0;titleb=... -i c31md=... -i [bold]e=..." in run.stderr
    run = cli("workflows", "show", "x", "--input-template", base_url=sim.url)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", run.stdout), repr(run.stdout)
    assert list(json.loads(run.stdout)) == names  # exactly as declared, to match on `run`


@pytest.mark.parametrize("bad", ["", "a\x01b", "x" * 257])
def test_show_of_a_bad_id_is_2_without_a_request(cli, make_sim, bad):
    sim = catalog_sim(make_sim)
    cli("workflows", "show", bad, expect=2, base_url=sim.url)
    cli("templates", "show", bad, expect=2, base_url=sim.url)
    assert sim.requests == []


# =========================================================================== templates


def test_templates_list_table_quiet_and_json(cli, make_sim):
    sim = catalog_sim(make_sim)
    run = cli("templates", "list", base_url=sim.url)
    assert [cells(line) for line in run.lines] == [
        ["TEMPLATE", "NAME", "DESCRIPTION"],
        ["tpl-amazon", "Amazon best sellers", "Scrape Amazon's best sellers"],
        ["tpl-news", "News headlines", "Collect today's headlines"]]
    assert cli("templates", "list", "-q", base_url=sim.url).lines == ["tpl-amazon", "tpl-news"]
    got = docs(cli("templates", "list", "--json", base_url=sim.url).stdout)
    assert [set(d) for d in got] == [TEMPLATE_KEYS] * 2
    assert got[0] == {"template_id": "tpl-amazon", "name": "Amazon best sellers",
                      "description": "Scrape Amazon's best sellers",
                      "detail_url": f"{sim.url}/templates/tpl-amazon"}


def test_templates_list_keyword_is_sent_to_the_api(cli, make_sim):
    sim = catalog_sim(make_sim)
    run = cli("templates", "list", "AMAZON", "-q", base_url=sim.url)
    assert run.lines == ["tpl-amazon"]
    assert to(sim, ep.LIST_TEMPLATES)[-1].query == {"keyword": ["AMAZON"], "page": ["1"], "limit": ["20"]}
    run = cli("templates", "list", "zzz", base_url=sim.url)
    assert run.stdout == "" and run.stderr.strip() == "no templates match 'zzz'"


def test_templates_list_all_and_limit(cli, make_sim):
    many = {f"tpl-{i:04d}": {"name": f"Template {i}"} for i in range(510)}
    sim = catalog_sim(make_sim, templates=many)
    assert cli("templates", "list", "-q", "--all", base_url=sim.url).lines == list(many)
    run = cli("templates", "list", "Template 50", "-q", "--limit", "3", base_url=sim.url)
    assert run.lines == ["tpl-0050", "tpl-0500", "tpl-0501"]
    assert run.stderr.strip() == "showing 3 of 11; use --limit N (up to 500) or --all"


def test_templates_show_record_json_and_input_template(cli, make_sim):
    sim = catalog_sim(make_sim)
    run = cli("templates", "show", "tpl-amazon", base_url=sim.url)
    shown = fields(run.stdout)
    assert shown["Template"] == "tpl-amazon" and shown["Name"] == "Amazon best sellers"
    assert shown["Description"] == "Scrape Amazon's best sellers"
    assert shown["Details"] == f"{sim.url}/templates/tpl-amazon" and shown["Inputs"] == "2"
    assert "browseract run-template tpl-amazon -i url=... -i max_items=..." in run.stderr
    (doc,) = docs(cli("templates", "show", "tpl-amazon", "--json", base_url=sim.url).stdout)
    answer = json.loads(to(sim, ep.GET_TEMPLATE)[-1].answer_body)
    assert doc == {"template_id": "tpl-amazon", "name": "Amazon best sellers",
                   "description": "Scrape Amazon's best sellers",
                   "inputs": [{"name": "url", "default_enabled": True},
                              {"name": "max_items", "default_enabled": False}],
                   "template": answer}
    assert to(sim, ep.GET_TEMPLATE)[-1].query == {"workflow_template_id": ["tpl-amazon"]}
    run = cli("templates", "show", "tpl-amazon", "--input-template", base_url=sim.url)
    assert json.loads(run.stdout) == {"url": "", "max_items": ""}


# =========================================================================== regions


def test_regions(cli, make_sim):
    sim = catalog_sim(make_sim)
    run = cli("regions", base_url=sim.url)
    rows = [cells(line) for line in run.lines]
    assert rows[0] == ["CODE", "NAME"]
    assert ["UK", "United Kingdom"] in rows and ["US", "United States"] in rows
    assert not any(row[0] == "GB" for row in rows)
    codes = cli("regions", "-q", base_url=sim.url).lines
    assert codes == [row[0] for row in rows[1:]] and {"US", "UK", "DE", "JP"} <= set(codes)
    got = docs(cli("regions", "--json", base_url=sim.url).stdout)
    assert {"code": "UK", "name": "United Kingdom"} in got
    assert all(set(d) == {"code", "name"} for d in got) and [d["code"] for d in got] == codes
    assert all(r.query == {} for r in to(sim, ep.GET_REGIONS))


def test_regions_skip_what_is_not_a_region(cli, make_sim):
    raw = [{"code": "UK", "name": "United Kingdom"}, "junk", {"name": "no code"}, {"code": 7}, None]
    sim = catalog_sim(make_sim, faults={"get-region-list": [body(raw, polls=3)]})
    assert cli("regions", "-q", base_url=sim.url).lines == ["UK"]
    got = docs(cli("regions", "--json", base_url=sim.url).stdout)
    assert got == [{"code": "UK", "name": "United Kingdom"}, {"code": None, "name": "no code"},
                   {"code": None, "name": None}]
    assert cli("regions", base_url=sim.url).lines[1].split() == ["UK", "United", "Kingdom"]


@pytest.mark.parametrize("raw", [b'{"items": []}', b"", b"null", b"<html>"])
def test_regions_not_an_array_is_76(cli, make_sim, raw):
    sim = catalog_sim(make_sim, faults={"get-region-list": [{"body": raw, "content_type": "application/json"}]})
    run = cli("regions", expect=76, base_url=sim.url)
    assert run.stdout == ""


@pytest.mark.parametrize("echo", list(ECHOES))
def test_catalog_json_never_shows_the_key_the_server_echoes(cli, make_sim, canary, echo):
    key = ECHOES[echo](canary)
    thing = {"id": key, "templateId": key, "name": key, key: key, "description": f"uses {key}",
             "recommendDesc": key, "detailUrl": key, "input_parameters": [{"name": key}, {"name": "url"}]}
    sim = catalog_sim(make_sim, faults={
        "list-workflows": [body({"items": [thing]})], "get-workflow": [body(thing, polls=2)],
        "list-official-workflow-templates": [body({"items": [thing]})],
        "get-official-workflow-template": [body(thing)], "get-region-list": [body([{"code": key, "name": key}])]})
    for args in (["workflows", "list", "--json"], ["workflows", "show", "w", "--json"],
                 ["workflows", "show", "w", "--input-template"], ["templates", "list", "--json"],
                 ["templates", "show", "t", "--json"], ["regions", "--json"]):
        run = cli(*args, base_url=sim.url)
        assert run.stdout.strip(), args
        for doc in docs(run.stdout) if "--json" in args else [json.loads(run.stdout)]:
            assert key_runs(strings_of(doc), canary) == [], args


# =========================================================================== fuzz

inputs = st.one_of(st.lists(st.one_of(
    st.fixed_dictionaries({}, optional={"name": st.one_of(nasty_text, json_values),
                                        "default_enabled": json_values}), json_values), max_size=5), json_values)
catalog_items = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.text(max_size=20), st.integers(-(2**70), 2**70), json_values),
    "templateId": st.one_of(st.text(max_size=20), st.integers(0, 2**70), json_values),
    "name": st.one_of(nasty_text, json_values), "description": st.one_of(nasty_text, json_values),
    "recommendDesc": st.one_of(nasty_text, json_values), "detailUrl": st.one_of(nasty_text, json_values),
    "create_at": json_values, "publish_at": st.one_of(st.sampled_from(["2026-01-05T09:00:00Z", ""]), json_values),
    "created_at": json_values, "published_at": json_values, "input_parameters": inputs,
})
# Objects that declare inputs with hostile names (what `show` prints in three places).
declaring = st.builds(lambda doc, names: {**doc, "input_parameters": names}, catalog_items,
                      st.lists(st.fixed_dictionaries({"name": nasty_text}, optional={"default_enabled": json_values}),
                               min_size=1, max_size=3))
catalog_pages = st.one_of(st.fixed_dictionaries({}, optional={
    "items": st.one_of(st.lists(st.one_of(catalog_items, json_values), max_size=5), json_values),
    "total_pages": st.one_of(st.integers(-2, 10**9), json_values), "total_count": json_values}), json_values)
region_lists = st.one_of(st.lists(st.one_of(st.fixed_dictionaries({}, optional={
    "code": st.one_of(st.sampled_from(["UK", "US", ""]), nasty_text, json_values),
    "name": st.one_of(nasty_text, json_values)}), json_values), max_size=6), json_values)


class Answering:
    """A stand-in for ApiClient whose every request answers ``value`` (the decoded body)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.value


def check_shown(text: str) -> None:
    assert CANARY not in text
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    text.encode("utf-8")


def plain() -> tuple[Output, io.StringIO]:
    stdout = io.StringIO()
    return Output(stdout, io.StringIO(), env={}), stdout


@fuzz_settings(150)
@given(value=catalog_pages, kind=st.sampled_from(["workflow", "template"]))
def test_fuzz_catalog_pages_directly(value: Any, kind: str) -> None:
    client = Answering(value)
    try:
        page = (ep.list_workflows if kind == "workflow" else ep.list_templates)(client, 1, 20)  # type: ignore[arg-type]
    except ApiError as err:
        assert err.exit_code == 76
        return
    for entry in page.items:
        record = catalog.list_record(kind, entry)
        key = f"{kind}_id"
        assert record[key] is None or type(record[key]) is str
        json.dumps(record, ensure_ascii=False)
        out, stdout = plain()
        out.table([catalog.Column("ID", key=True)] * len(catalog._row(kind, entry)), [[catalog._row(kind, entry)]])
        check_shown(stdout.getvalue())


@fuzz_settings(150)
@given(value=st.one_of(declaring, catalog_items, json_values), kind=st.sampled_from(["workflow", "template"]))
def test_fuzz_get_workflow_and_template_directly(value: Any, kind: str) -> None:
    client = Answering(value)
    try:
        view = (ep.get_workflow if kind == "workflow" else ep.get_template)(client, "x")  # type: ignore[arg-type]
    except ApiError as err:
        assert err.exit_code == 76
        return
    assert isinstance(view, Workflow if kind == "workflow" else Template)
    assert view.id is None or type(view.id) is str
    for name, enabled in view.inputs:
        assert type(name) is str and name and type(enabled) is bool
    for text in (view.name, view.description, view.created_at, view.published_at):
        assert text is None or type(text) is str


@fuzz_settings(150)
@given(value=region_lists)
def test_fuzz_regions_directly(value: Any) -> None:
    try:
        regions = ep.get_regions(Answering(value))  # type: ignore[arg-type]
    except ApiError as err:
        assert err.exit_code == 76
        return
    for region in regions:
        assert region.code is None or type(region.code) is str
        assert region.name is None or type(region.name) is str


@pytest.fixture(scope="module")
def fuzz_sim() -> Iterator[Any]:
    from browseract_cli.simulator import SimServer

    with SimServer("127.0.0.1", 0, api_key=CANARY, include_demo=False) as server:
        yield server


COMMANDS = {  # argv: (endpoint, strategy of its answer)
    "workflows list": ("list-workflows", catalog_pages), "workflows list --json": ("list-workflows", catalog_pages),
    "workflows list --all -q": ("list-workflows", catalog_pages),
    "workflows show x": ("get-workflow", declaring), "workflows show x --json": ("get-workflow", declaring),
    "workflows show x --input-template": ("get-workflow", declaring),
    "templates list": ("list-official-workflow-templates", catalog_pages),
    "templates list kw --json": ("list-official-workflow-templates", catalog_pages),
    "templates show x": ("get-official-workflow-template", declaring),
    "templates show x --json": ("get-official-workflow-template", declaring),
    "regions": ("get-region-list", region_lists), "regions --json": ("get-region-list", region_lists),
    "regions -q": ("get-region-list", region_lists),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@fuzz_settings(20)
@given(data=st.data())
def test_fuzz_catalog_answers_end_to_end(fuzz_sim: Any, cli: Callable[..., Run], data: Any, command: str) -> None:
    endpoint, strategy = COMMANDS[command]
    value = data.draw(st.one_of(strategy, json_values))
    payload = json.dumps(value, allow_nan=True, ensure_ascii=data.draw(st.booleans())).encode("utf-8", "surrogatepass")
    fuzz_sim.add_fault(endpoint, [{"body": payload, "content_type": "application/json", "polls": 3}])
    run = cli(*command.split(), expect=None, base_url=fuzz_sim.url)
    assert run.exit_code in CONTRACT_CODES and run.exit_code in (0, 76), run.stderr
    json_mode = "--json" in command or "--input-template" in command
    check_shown(run.stderr if json_mode else run.stdout + run.stderr)
    assert "\x1b" not in run.stdout and CANARY not in run.stdout
    if "--json" in command and run.exit_code == 0:
        for doc in docs(run.stdout):
            for key in ("workflow_id", "template_id", "code"):
                if key in doc:
                    assert doc[key] is None or type(doc[key]) is str
    if "--input-template" in command and run.exit_code == 0:
        template = json.loads(run.stdout)
        assert all(type(k) is str and v == "" for k, v in template.items())
        assert not re.search("[\x80-\x9f]", run.stdout)
    assert fuzz_sim.errors == []
