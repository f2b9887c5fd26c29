"""`browseract output` (and the output of `run --wait`): a finished task's ``output.string``, decoded.

Against the real simulator: every format on every shape of output, CSV as RFC 4180 bytes,
``--csv-safe``, text output on and off a terminal, outputs that are hostile or huge (checklist N8;
issue 13 "Inputs and output"), ``-o FILE`` written atomically, and the exit code of every state.
``decode.render`` is also fuzzed directly.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CANARY, Captured, FakeClock, Run
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import fuzz_settings
from typer.testing import CliRunner

from browseract_cli import decode
from browseract_cli import endpoints as ep
from browseract_cli.api import ApiClient
from browseract_cli.cli import app
from browseract_cli.context import AppContext
from browseract_cli.errors import ApiError
from browseract_cli.simulator import SimServer

OBJECT = {"items": [{"title": "A, \"quoted\"", "price": 1.5}, {"price": 2, "tags": ["x", {"y": None}],
                                                               "title": "line\nbreak", "ok": True}]}

CSV_OF_OBJECT = ('title,price,tags,ok\r\n"A, ""quoted""",1.5,,\r\n"line\nbreak",2,"[""x"",{""y"":null}]",true\r\n')


class Sim:
    """A simulator whose workflows finish at once with a given output; tasks made on demand."""

    def __init__(self, server: SimServer, clock: FakeClock, cli: Callable[..., Run]) -> None:
        self.server, self.clock, self.cli = server, clock, cli
        self._n = 0

    def task(self, output: Any = None, *, lifecycle: list[dict[str, Any]] | None = None,
             files: list[dict[str, Any]] | None = None, **spec: Any) -> str:
        """A task run from a new workflow: ``output`` (text, or a value sent as its JSON text)."""
        self._n += 1
        workflow = f"wf-{self._n}"
        spec = {**spec, "lifecycle": lifecycle or [{"status": "finished"}]}
        if output is not None:
            spec["output"] = output
        if files:
            spec["files"] = files
        self.server.add_workflow(workflow, spec)
        with ApiClient(self.server.url, CANARY) as client:
            return ep.run_task(client, {"workflow_id": workflow}).id or ""

    def __call__(self, *args: str, expect: int | None = 0, **kwargs: Any) -> Run:
        return self.cli(*args, expect=expect, base_url=self.server.url, clock=self.clock, **kwargs)


@pytest.fixture
def sim(make_sim, clock: FakeClock, cli) -> Sim:  # type: ignore[no-untyped-def]
    return Sim(make_sim(clock=clock), clock, cli)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(("fmt", "expected"), [
    ("auto", json.dumps(OBJECT) + "\n"),  # off a terminal: the exact text, and a newline
    ("raw", json.dumps(OBJECT)),
    ("json", json.dumps(OBJECT, separators=(",", ":"), ensure_ascii=False) + "\n"),
    ("jsonl", "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in OBJECT["items"])),
])
def test_an_object_with_one_array_in_every_format(sim: Sim, fmt: str, expected: str) -> None:
    task_id = sim.task(OBJECT)
    ran = sim("output", task_id, "--format", fmt)
    assert ran.stdout == expected and ran.stderr == ""


def test_csv_is_rfc_4180_bytes_with_first_seen_keys_and_nested_values_as_json(sim: Sim, tmp_path: Path) -> None:
    task_id = sim.task(OBJECT)
    out = tmp_path / "out.csv"
    sim("output", task_id, "--format", "csv", "-o", str(out))
    assert out.read_bytes() == CSV_OF_OBJECT.encode()
    assert list(csv.reader(io.StringIO(CSV_OF_OBJECT, newline=""))) == [
        ["title", "price", "tags", "ok"], ['A, "quoted"', "1.5", "", ""],
        ["line\nbreak", "2", '["x",{"y":null}]', "true"]]


def test_a_bare_array(sim: Sim) -> None:
    task_id = sim.task([{"b": 1}, {"a": "é", "b": 2}])
    assert sim("output", task_id, "--format", "jsonl").stdout == '{"b":1}\n{"a":"é","b":2}\n'
    assert sim("output", task_id, "--format", "csv").stdout == "b,a\n1,\n2,é\n"
    mixed = sim.task([1, "two", None, [3]])
    assert sim("output", mixed, "--format", "jsonl").stdout == '1\n"two"\nnull\n[3]\n'
    ran = sim("output", mixed, "--format", "csv", expect=76)
    assert "not an array of objects" in ran.stderr and ran.stdout == ""


def test_an_empty_array(sim: Sim) -> None:
    task_id = sim.task({"items": []})
    assert sim("output", task_id, "--format", "jsonl").stdout == ""
    assert sim("output", task_id, "--format", "csv").stdout == "\n"  # an empty header line


@pytest.mark.parametrize("value", [42, "a string", True, None])
def test_a_scalar(sim: Sim, value: Any) -> None:
    task_id = sim.task(json.dumps(value))
    assert sim("output", task_id, "--format", "json").stdout == json.dumps(value) + "\n"
    for fmt in ("jsonl", "csv"):
        ran = sim("output", task_id, "--format", fmt, expect=76)
        assert "not an array, nor an object holding one" in ran.stderr and ran.stdout == ""


@pytest.mark.parametrize(("output", "needle"), [
    ({"a": [1], "b": [2]}, "an object with 2 arrays, not exactly one"),
    ({"a": 1}, "an object with no arrays"),
])
def test_jsonl_and_csv_need_exactly_one_array(sim: Sim, output: Any, needle: str) -> None:
    task_id = sim.task(output)
    for fmt in ("jsonl", "csv"):
        ran = sim("output", task_id, "--format", fmt, expect=76)
        assert needle in ran.stderr and "--format raw" in ran.stderr and ran.stdout == ""


def test_text_output(sim: Sim) -> None:
    task_id = sim.task("Done: 3 items")
    assert sim("output", task_id).stdout == "Done: 3 items\n"  # auto adds the newline off a terminal
    assert sim("output", task_id, "--format", "raw").stdout == "Done: 3 items"
    with_newline = sim.task("two\nlines\n")
    assert sim("output", with_newline).stdout == "two\nlines\n"  # not a second one
    for fmt in ("json", "jsonl", "csv"):
        ran = sim("output", task_id, "--format", fmt, expect=76)
        assert "is not JSON" in ran.stderr and ran.stdout == ""


def test_text_off_a_terminal_is_written_exactly(sim: Sim, tmp_path: Path) -> None:
    text = "tab\there \x1b[31mred\x1b[0m\r\n\u202eend"
    task_id = sim.task(text)
    out = tmp_path / "raw.txt"
    sim("output", task_id, "--format", "raw", "-o", str(out))
    assert out.read_bytes() == text.encode()


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_safe_neutralises_formula_cells(sim: Sim, tmp_path: Path, trigger: str) -> None:
    task_id = sim.task([{f"{trigger}head": f"{trigger}SUM(A1)", "plain": "x=1", "n": -5}])
    plain, safe = tmp_path / "plain.csv", tmp_path / "safe.csv"
    sim("output", task_id, "--format", "csv", "-o", str(plain))
    sim("output", task_id, "--format", "csv", "--csv-safe", "-o", str(safe))
    assert csv_rows(plain) == [[f"{trigger}head", "plain", "n"], [f"{trigger}SUM(A1)", "x=1", "-5"]]  # data first
    rows = csv_rows(safe)
    assert rows == [[f"'{trigger}head", "plain", "n"], [f"'{trigger}SUM(A1)", "x=1", "'-5"]]


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, strict=True))


def test_an_unknown_format_is_a_usage_error(sim: Sim) -> None:
    task_id = sim.task("x")
    sim("output", task_id, "--format", "yaml", expect=2)


# --------------------------------------------------------------------------- hostile output (N8)


@pytest.mark.parametrize(("text", "needle"), [
    ('{"a": NaN}', "NaN"),
    ("[Infinity]", "Infinity"),
    ('{"a": -Infinity}', "Infinity"),
    # valid grammar, but no double holds it: not printable as JSON
    ("[1e400]", "out of range"),
    ("[" + "1" * 5000 + "]", "a number too long to read"),  # more digits than Python converts
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[" * 50_000, "nested too deeply"),
    ('{"a": 1', "is not JSON"),
])
def test_output_that_is_not_json_we_can_print(sim: Sim, text: str, needle: str) -> None:
    task_id = sim.task(text)
    for fmt in ("json", "jsonl", "csv"):
        ran = sim("output", task_id, "--format", fmt, expect=76)
        assert needle in ran.stderr and ran.stdout == ""
    assert sim("output", task_id, "--format", "raw").stdout == text
    assert sim("output", task_id).stdout == text + "\n"


def test_duplicate_keys_keep_the_last_value(sim: Sim) -> None:
    task_id = sim.task('{"a": 1, "a": [2]}')
    assert sim("output", task_id, "--format", "json").stdout == '{"a":[2]}\n'
    assert sim("output", task_id, "--format", "jsonl").stdout == "2\n"


def test_a_lone_surrogate_is_written_as_u_fffd(sim: Sim, tmp_path: Path) -> None:
    task_id = sim.task('[{"a": "x\\ud800y", "\\udfff": 1}]')
    assert sim("output", task_id, "--format", "json").stdout == '[{"a":"x\ufffdy","\ufffd":1}]\n'
    assert sim("output", task_id, "--format", "jsonl").stdout == '{"a":"x\ufffdy","\ufffd":1}\n'
    assert sim("output", task_id, "--format", "csv").stdout == "a,\ufffd\nx\ufffdy,1\n"
    for fmt in ("json", "jsonl", "csv"):
        out = tmp_path / f"out.{fmt}"
        sim("output", task_id, "--format", fmt, "-o", str(out))
        assert "\ufffd" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "out.csv", "out.json", "out.jsonl"]


def test_a_deep_but_parsable_output_in_run_wait_json(sim: Sim) -> None:
    deep = "[" * 900 + "]" * 900
    sim.server.add_workflow("wf-deep", {"output": deep, "lifecycle": [{"status": "finished"}]})
    ran = sim("run", "wf-deep", "--wait", "--json")
    result = json.loads(ran.lines[-1])
    assert result["event"] == "result" and result["exit_code"] == 0
    assert json.dumps(result["output"], separators=(",", ":")) == deep or result["output"] == deep


@pytest.mark.parametrize("text", ['{"a": NaN}', "[1e400]", "[-1e999]"])
def test_run_wait_json_output_is_always_valid_json(sim: Sim, text: str) -> None:
    sim.server.add_workflow("wf-odd", {"output": text, "lifecycle": [{"status": "finished"}]})
    ran = sim("run", "wf-odd", "--wait", "--json")
    result = json.loads(ran.lines[-1], parse_constant=lambda name: pytest.fail(f"{name} in a JSON line"))
    assert result["output"] == text  # not JSON we can reproduce: the text as it is


def test_a_large_output_under_the_answer_cap(sim: Sim, tmp_path: Path) -> None:
    items = [{"i": i, "s": "x" * 90} for i in range(7_000)]  # about 800 KiB of output.string
    task_id = sim.task({"items": items})
    started = time.monotonic()
    for fmt in ("auto", "json", "jsonl", "csv", "raw"):
        sim("output", task_id, "--format", fmt, "-o", str(tmp_path / f"o.{fmt}"))
    assert time.monotonic() - started < 10
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 7_000
    assert (tmp_path / "o.csv").read_bytes().count(b"\r\n") == 7_001


def test_an_output_of_the_1_mib_cap_is_a_documented_bad_answer(sim: Sim) -> None:
    # The get-task answer around an output.string of 1 MiB is over the client's 1 MiB body cap.
    task_id = sim.task({"items": [{"s": "x" * (1 << 20)}]})
    ran = sim("output", task_id, expect=76)
    assert "larger than 1024 KiB" in ran.stderr and ran.stdout == ""


# --------------------------------------------------------------------------- on a terminal


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def on_a_terminal(server: SimServer, clock: FakeClock, captured: Captured, *args: str,
                  env: dict[str, str] | None = None) -> tuple[int, str]:
    """The CLI with a terminal as stdout (CliRunner's own stdout never is one)."""
    stdout, stderr = FakeTerminal(), io.StringIO()
    merged = {**os.environ, "BROWSERACT_BASE_URL": server.url, **(env or {})}
    obj = AppContext(env=merged, stdout=stdout, stderr=stderr, clock=clock, sleep=clock.sleep)
    result = CliRunner().invoke(app, list(args), obj=obj, prog_name="browseract", env=env)
    captured.texts.extend([stdout.getvalue(), stderr.getvalue()])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, stdout.getvalue()


def test_auto_on_a_terminal_pretty_prints_json(sim: Sim, captured: Captured) -> None:
    task_id = sim.task({"items": [{"a": 1}]})
    code, shown = on_a_terminal(sim.server, sim.clock, captured, "output", task_id)
    assert code == 0 and shown == json.dumps({"items": [{"a": 1}]}, indent=2) + "\n"


@pytest.mark.parametrize("env", [{}, {"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_text_on_a_terminal_never_carries_escape_sequences(sim: Sim, captured: Captured,
                                                           env: dict[str, str]) -> None:
    task_id = sim.task("ok \x1b]0;title\x07\x1b[2Jdone\x9b31m\n\ttab")
    for fmt in ("auto", "raw"):
        code, shown = on_a_terminal(sim.server, sim.clock, captured, "output", task_id, "--format", fmt, env=env)
        assert code == 0
        assert "\x1b" not in shown and "\x9b" not in shown and "\x07" not in shown
        assert "ok" in shown and "done" in shown and "\n\ttab" in shown


def test_raw_on_a_terminal_adds_nothing(sim: Sim, captured: Captured) -> None:
    task_id = sim.task("no newline")
    code, shown = on_a_terminal(sim.server, sim.clock, captured, "output", task_id, "--format", "raw")
    assert (code, shown) == (0, "no newline")
    task_id = sim.task("two\n\n")
    code, shown = on_a_terminal(sim.server, sim.clock, captured, "output", task_id, "--format", "raw")
    assert (code, shown) == (0, "two\n\n")


def test_pretty_printing_that_would_explode_is_shown_as_it_is() -> None:
    # Deep nesting grows quadratically when indented: 1 MiB would become ~1 GB (half a MiB here).
    chunk = "[" * 900 + "]" * 900
    text = "[" + ",".join([chunk] * 300) + "]"
    started = time.monotonic()
    shown = decode.render(text, "auto", terminal=True)
    assert time.monotonic() - started < 5
    assert shown == text + "\n"
    assert decode.render('{"a": [1, 2]}', "auto", terminal=True) == '{\n  "a": [\n    1,\n    2\n  ]\n}\n'


# --------------------------------------------------------------------------- -o FILE


def test_o_file_is_written_atomically_and_stdout_stays_empty(sim: Sim, tmp_path: Path) -> None:
    task_id = sim.task(OBJECT)
    out = tmp_path / "result.json"
    out.write_text("old content that is longer than the new one" * 100)
    ran = sim("output", task_id, "--format", "json", "-o", str(out))
    assert ran.stdout == "" and f"output written to {out}" in ran.stderr
    assert json.loads(out.read_text()) == OBJECT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "result.json"]  # no temporary file left
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def test_o_relative_file_in_the_current_directory(sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    task_id = sim.task("text")
    sim("output", task_id, "-o", "out.txt")
    assert (tmp_path / "out.txt").read_text() == "text\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("where", ["a directory", "under a file", "missing folder"])
def test_o_file_that_cannot_be_written_is_74_and_leaves_nothing(sim: Sim, tmp_path: Path, where: str) -> None:
    target = {"a directory": tmp_path, "under a file": tmp_path / "file.txt" / "out.json",
              "missing folder": tmp_path / "missing" / "out.json"}[where]
    (tmp_path / "file.txt").write_text("x")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    task_id = sim.task(OBJECT)
    ran = sim("output", task_id, "-o", str(target), expect=74)
    assert "cannot write" in ran.stderr and ran.stdout == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_o_file_is_not_touched_when_the_output_does_not_fit(sim: Sim, tmp_path: Path) -> None:
    task_id = sim.task("not json")
    out = tmp_path / "out.json"
    sim("output", task_id, "--format", "json", "-o", str(out), expect=76)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["home"]


# --------------------------------------------------------------------------- states and exit codes


def test_finished_without_output_is_0_with_a_note(sim: Sim) -> None:
    task_id = sim.task("", files=[{"name": "a.csv", "content": "x"}, {"name": "b.csv", "content": "y"}])
    ran = sim("output", task_id)
    assert ran.stdout == ""
    assert "finished without output" in ran.stderr and "2 files" in ran.stderr
    assert f"browseract download {task_id}" in ran.stderr
    bare = sim.task("")
    ran = sim("output", bare, "--format", "csv")
    assert ran.stdout == "" and "finished without output" in ran.stderr and "file" not in ran.stderr


def test_the_note_never_carries_the_servers_escape_sequences(make_sim, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    doc = {"id": "x\u001b[2J$(reboot)", "status": "finished", "output": {"string": "", "files": ["https://f/a"]}}
    server = make_sim(clock=clock, faults={"get-task": [{"body": json.dumps(doc), "content_type": "application/json"}]})
    ran = cli("output", "t-1", base_url=server.url, clock=clock)
    assert "\x1b" not in ran.stderr
    assert "`browseract download 'x[2J$(reboot)'`" in ran.stderr  # quoted: safe to copy


def test_finished_with_no_output_field_at_all_is_0_with_a_note(sim: Sim) -> None:
    sim.server.add_task("scripted-finished", [{"status": "finished"}])
    ran = sim("output", "scripted-finished")
    assert ran.stdout == "" and "finished without output" in ran.stderr


@pytest.mark.parametrize(("status", "code", "needle"), [
    ("failed", 10, "failed: 10001 Navigation timeout"),
    ("canceled", 11, "canceled"),
    ("paused", 12, "browseract resume"),
    ("pausing", 14, "add --wait"),
    ("running", 14, "add --wait"),
    ("created", 14, "add --wait"),
])
def test_a_task_that_did_not_finish(sim: Sim, status: str, code: int, needle: str) -> None:
    task_id = sim.task("never shown", lifecycle=[{"status": status}])
    ran = sim("output", task_id, expect=code)
    assert ran.stdout == "" and needle in ran.stderr


def test_wait_then_output(sim: Sim) -> None:
    task_id = sim.task({"items": [1]}, lifecycle=[{"status": "created", "seconds": 2},
                                                  {"status": "running", "seconds": 10}, {"status": "finished"}])
    ran = sim("output", task_id, "--wait", "--interval", "3", "--format", "jsonl")
    assert ran.stdout == "1\n"
    assert f"{task_id} finished" in ran.stderr  # the progress of the wait went to stderr
    assert sum(sim.clock.sleeps) >= 12


def test_wait_on_a_task_that_fails_is_10(sim: Sim) -> None:
    task_id = sim.task("x", lifecycle=[{"status": "running", "seconds": 3}, {"status": "failed"}])
    ran = sim("output", task_id, "--wait", expect=10)
    assert ran.stdout == "" and "Navigation timeout" in ran.stderr


def test_wait_timeout_is_124(sim: Sim) -> None:
    task_id = sim.task("x", lifecycle=[{"status": "running"}])
    ran = sim("output", task_id, "--wait", "--timeout", "20", expect=124)
    assert ran.stdout == "" and sim.server.task_status(task_id) == "running"
    assert sim.server.request_count(path=ep.STOP_TASK.path) == 0


def test_timeout_without_wait_is_a_usage_error(sim: Sim) -> None:
    task_id = sim.task("x")
    sim("output", task_id, "--timeout", "20", expect=2)


def test_not_found_is_66(sim: Sim) -> None:
    ran = sim("output", "no-such-task", expect=66)
    assert "task not found" in ran.stderr and ran.stdout == ""


def test_dash_reads_the_task_id_from_stdin(sim: Sim) -> None:
    task_id = sim.task("from stdin")
    assert sim("output", "-", input=f"{task_id}\n").stdout == "from stdin\n"
    ran = sim("output", "-", input=f"{task_id}\n{task_id}\n", expect=2)
    assert "one task ID" in ran.stderr


# --------------------------------------------------------------------------- fuzz decode.render

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(allow_nan=False),
                      st.text(max_size=12), st.sampled_from(["=1+1", "@SUM", "-2", "\ud800", "\x1b[2J", ""]))
json_values = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=12)
texts = st.one_of(
    json_values.map(lambda v: json.dumps(v)),
    json_values.map(lambda v: json.dumps({"items": v if isinstance(v, list) else [v]}, ensure_ascii=False)),
    st.lists(st.dictionaries(st.text(max_size=4), json_values, max_size=3), max_size=4).map(json.dumps),
    st.text(max_size=60),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.sampled_from(['{"a": NaN}', "[1e400]", '{"a":1,"a":2}', '"\\ud800"', "\ud800", "\x00", "1" * 5000]),
)


@fuzz_settings(500)
@given(text=texts, fmt=st.sampled_from(decode.FORMATS), terminal=st.booleans(), csv_safe=st.booleans())
def test_fuzz_render(text: str, fmt: str, terminal: bool, csv_safe: bool) -> None:
    try:
        shown = decode.render(text, fmt, terminal=terminal, csv_safe=csv_safe)
    except ApiError as err:
        assert int(err.exit_code) == 76 and fmt in ("json", "jsonl", "csv")
        return
    shown.encode("utf-8")  # always writable
    if fmt == "raw":
        assert shown == decode.writable(text)
    elif fmt == "auto" and not terminal:
        assert shown.rstrip("\n") == decode.writable(text).rstrip("\n") and shown.endswith("\n")
    elif fmt == "json":
        assert shown.endswith("\n") and "\n" not in shown[:-1]
        json.loads(shown, parse_constant=lambda name: pytest.fail(name))
    elif fmt == "jsonl":
        assert shown == "" or shown.endswith("\n")
        for line in shown.split("\n")[:-1]:  # (not splitlines: U+2028 or U+0085 may be in a string)
            json.loads(line, parse_constant=lambda name: pytest.fail(name))
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(shown, newline=""), strict=True))
        assert len({len(row) for row in rows[1:]} | {len(rows[0])}) == 1  # every row as wide as the header
        if csv_safe:
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
