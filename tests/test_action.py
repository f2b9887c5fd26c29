"""The GitHub Action (action.yml + action/run.py), run locally against the simulator.

Each test runs the action's real shell steps (tests/gha_local.py plays the runner: the
GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY files, bash -eo pipefail) and
asserts what a workflow would see: the step's exit code, each output, the summary and the
annotations. Most tests skip the installation step and use this venv's browseract; one installs
from a copy of the action's checkout, as `uses: OWNER/browseract@v0` does.

The workflow-id / template-id tests need `browseract run` (lifecycle-contract.md): they skip
until the installed app has that command, then switch on by themselves.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from gha_local import ActionRun, LocalRunner, parse_command_file

from browseract_cli.cli import COMMANDS
from browseract_cli.exit_codes import SEVERITY

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))

_spec = importlib.util.spec_from_file_location("action_run", ROOT / "action" / "run.py")
assert _spec and _spec.loader
action_run = importlib.util.module_from_spec(_spec)
sys.modules["action_run"] = action_run  # dataclasses look their module up
_spec.loader.exec_module(action_run)

needs_run = pytest.mark.skipif("run" not in COMMANDS,
                               reason="the installed app has no `run` command yet (lifecycle-contract.md)")

RunAction = Callable[..., ActionRun]

# Tasks that reach their state on the first poll, so no test waits on an interval.
QUICK_TASKS = {
    "t-finished": [{"status": "finished"}],
    "t-failed": [{"status": "failed"}],
    "t-canceled": [{"status": "canceled"}],
    "t-running": [{"status": "running"}],
    "t-paused": [{"status": "paused"}],
}


@pytest.fixture
def quick_sim(make_sim):  # type: ignore[no-untyped-def]
    return make_sim(QUICK_TASKS)


@pytest.fixture
def run_action(tmp_path: Path, captured) -> Iterator[RunAction]:  # type: ignore[no-untyped-def]
    """run_action(sim, inputs, env=..., install=False): the action's steps, as a runner would."""

    def run(sim, inputs: dict[str, str] | None = None, *, env: dict[str, str] | None = None,  # type: ignore[no-untyped-def]
            install: bool = False, action_dir: Path = ROOT) -> ActionRun:
        runner = LocalRunner(action_dir, tmp_path / "workspace", tmp_path / "runner-temp")
        extra = {"BROWSERACT_BASE_URL": sim.url} if sim is not None else {}
        extra.update(env or {})
        if install:
            done = runner.run(inputs, env=extra)
        else:
            done = runner.run(inputs, env=extra, skip=("python", "install"),
                              preset={"install": {"python": sys.executable}})
        captured.texts.extend([done.stdout, done.stderr, json.dumps(done.outputs)])
        assert "Traceback" not in done.stderr, done.stderr
        return done

    yield run


def outputs_of(done: ActionRun) -> dict[str, str]:
    return {k: done.outputs[k] for k in ("task-id", "status", "exit-code", "output-file", "files")}


# --------------------------------------------------------------------------- the metadata


def test_action_yml_validates_against_the_github_actions_schema() -> None:
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-actions", str(ROOT / "action.yml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_declares_the_inputs_and_outputs_users_rely_on() -> None:
    assert set(ACTION["inputs"]) == {
        "workflow-id", "template-id", "task-id", "inputs", "input-file", "region", "wait",
        "timeout", "interval", "download-dir", "version", "python-version"}
    assert set(ACTION["outputs"]) == {"task-id", "status", "exit-code", "output-file", "files"}
    assert ACTION["inputs"]["wait"]["default"] == "true"
    assert ACTION["inputs"]["version"]["default"] == ""  # the action's own checkout
    assert not any("key" in name or "token" in name or "secret" in name for name in ACTION["inputs"])
    assert "BROWSERACT_API_KEY" in ACTION["description"]
    assert ACTION["runs"]["using"] == "composite"


def test_inputs_reach_the_script_through_env_never_through_shell_code() -> None:
    steps = ACTION["runs"]["steps"]
    setup = [s for s in steps if "uses" in s]
    assert [s["uses"].split("@")[0] for s in setup] == ["actions/setup-python"]
    assert setup[0]["with"]["update-environment"] is False  # the job's own Python stays
    for step in (s for s in steps if "run" in s):
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], f"{step['id']}: an expression inside shell code"
        assert "BROWSERACT_API_KEY" not in step["run"] + json.dumps(step.get("env", {}))
        for name, value in step.get("env", {}).items():
            assert value.startswith("${{") and value.endswith("}}"), name
    run_env = next(s for s in steps if s.get("id") == "run")["env"]
    for name in ACTION["inputs"]:
        if name not in ("version", "python-version"):
            assert run_env[f"INPUT_{name.upper().replace('-', '_')}"] == f"${{{{ inputs.{name} }}}}"


def test_the_action_uses_the_contracts_severity_order() -> None:
    assert tuple(int(c) for c in SEVERITY) == action_run.SEVERITY
    assert action_run.worst([0, 10, 124]) == 124
    assert action_run.worst([0, 20]) == 20
    assert action_run.worst([10, 20]) == 20
    assert action_run.worst([0, 74, 10]) == 74
    assert action_run.worst([2, 78]) == 2  # outside the order: the action could not work at all
    assert action_run.worst([]) == 0


@pytest.mark.parametrize(("version", "spec"), [
    ("", "ACTION"), ("  ", "ACTION"), ("0.2.0", "browseract==0.2.0"), ("v0.2.0", "browseract==0.2.0"),
    ("1.0rc1", "browseract==1.0rc1"),
    ("git+https://github.com/OWNER/browseract@v0.2.0", "git+https://github.com/OWNER/browseract@v0.2.0"),
    ("browseract>=0.2,<0.3", "browseract>=0.2,<0.3"),
])
def test_version_input_picks_what_pip_installs(version: str, spec: str) -> None:
    expected = str(ROOT) if spec == "ACTION" else spec
    assert action_run.requirement(version, ROOT) == expected


def test_version_input_that_looks_like_a_pip_option_is_refused() -> None:
    with pytest.raises(action_run.ActionError):
        action_run.requirement("--index-url=https://example.invalid/simple", ROOT)


def test_step_outputs_use_random_delimiters_so_values_cannot_forge_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    forged = "x\nstatus=finished\nEOF\nexit-code=0"
    action_run.set_output({"GITHUB_OUTPUT": str(out)}, "files", forged)
    action_run.set_output({"GITHUB_OUTPUT": str(out)}, "status", "failed")
    assert parse_command_file(out.read_text(encoding="utf-8")) == {"files": forged, "status": "failed"}


# --------------------------------------------------------------------------- watch-only path


def test_installs_from_its_own_checkout_and_watches_a_task(make_sim, run_action, tmp_path: Path) -> None:
    """`uses: ./` end to end: setup-python (stood in), install from the checkout, watch, outputs."""
    sim = make_sim({"t-slow": [{"status": "created", "polls": 1}, {"status": "running", "polls": 2},
                               {"status": "finished"}]})
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", ".hypothesis",
        ".tools", "node_modules"))
    done = run_action(sim, {"task-id": "t-slow", "interval": "0.2", "timeout": "2m"},
                      install=True, action_dir=checkout)
    assert done.exit_code == 0, done.log
    out = outputs_of(done)
    assert out["task-id"] == "t-slow"
    assert out["status"] == "finished"
    assert out["exit-code"] == "0"
    assert out["files"] == ""
    if out["output-file"]:
        assert Path(out["output-file"]).is_file()
    # Installed into a private venv; only `browseract` went on the job's PATH.
    install = next(s for s in done.steps if s.id == "install")
    from browseract_cli import __version__
    assert install.outputs["version"] == __version__
    venv_python = Path(install.outputs["python"])
    assert venv_python.is_file() and (tmp_path / "runner-temp") in venv_python.parents
    assert len(done.path_entries) == 1
    on_path = Path(done.path_entries[0])
    assert sorted(p.name for p in on_path.iterdir()) == ["browseract.exe" if os.name == "nt" else "browseract"]
    version = subprocess.run([str(next(on_path.iterdir())), "--version"], capture_output=True,
                             text=True, timeout=60)
    assert version.stdout == f"browseract {__version__}\n"
    # The watch wrote its step summary table; the log shows each state change.
    assert "### browseract watch" in done.summary and "| `t-slow` | `finished` | 0 | 4 |" in done.summary
    for line in ("t-slow created", "t-slow running (was created", "t-slow finished (was running"):
        assert line in done.stdout
    assert done.env_file == {}


def test_watches_a_built_in_demo_task_as_the_ci_job_does(sim, run_action) -> None:
    """The same call as the `action` job of ci.yml: demo-failed fails the step with 10."""
    done = run_action(sim, {"task-id": "demo-failed", "interval": "0.5", "timeout": "2m"})
    assert done.exit_code == 10, done.log
    assert outputs_of(done) == {"task-id": "demo-failed", "status": "failed", "exit-code": "10",
                                "output-file": "", "files": ""}
    assert "::error title=browseract::demo-failed: the task failed" in done.stderr
    assert "demo-failed running" in done.stdout and "demo-failed failed (was running" in done.stdout


@pytest.mark.parametrize(("task", "code", "status", "annotation"), [
    ("t-finished", 0, "finished", None),
    ("t-failed", 10, "failed", "::error title=browseract::t-failed: the task failed"),
    ("t-canceled", 11, "canceled", "::warning title=browseract::t-canceled: the task was canceled"),
])
def test_watch_only_exits_with_the_tasks_outcome(quick_sim, run_action, task: str, code: int,
                                                 status: str, annotation: str | None) -> None:
    done = run_action(quick_sim, {"task-id": task})
    assert done.exit_code == code, done.log
    assert outputs_of(done) == {"task-id": task, "status": status, "exit-code": str(code),
                                "output-file": done.outputs["output-file"], "files": ""}
    if code:
        assert done.outputs["output-file"] == ""
    if annotation:
        assert annotation in done.stderr
    assert f"| `{task}` | `{status}` | {code} |" in done.summary


def test_timeout_is_exit_124_with_the_last_status(quick_sim, run_action) -> None:
    done = run_action(quick_sim, {"task-id": "t-running", "timeout": "1s", "interval": "0.2"})
    assert done.exit_code == 124, done.log
    out = outputs_of(done)
    assert (out["status"], out["exit-code"], out["output-file"]) == ("running", "124", "")


@pytest.mark.parametrize(("task", "code", "status"), [
    ("t-running", 0, "running"), ("t-paused", 0, "paused"), ("t-finished", 0, "finished"),
    ("t-failed", 10, "failed"), ("no-such-task", 66, ""),
])
def test_without_waiting_in_progress_is_not_a_failure(quick_sim, run_action, task: str, code: int,
                                                       status: str) -> None:
    done = run_action(quick_sim, {"task-id": task, "wait": "false"})
    assert done.exit_code == code, done.log
    assert (done.outputs["status"], done.outputs["exit-code"]) == (status, str(code))
    assert "### browseract watch" not in done.summary  # nothing was watched
    assert all(r.path != "/v2/workflow/get-task-status" or r.task_id == task for r in quick_sim.requests)


def test_download_dir_with_a_browseract_without_download_is_a_usage_error(quick_sim, run_action,
                                                                          tmp_path: Path) -> None:
    if "download" in COMMANDS:
        pytest.skip("this browseract has `download`")
    done = run_action(quick_sim, {"task-id": "t-finished", "download-dir": "files"})
    assert done.exit_code == 2
    assert "::error title=browseract action::download-dir needs a browseract with" in done.stderr
    assert done.outputs["status"] == "finished" and done.outputs["exit-code"] == "2"


def test_no_key_is_exit_78_and_the_outputs_are_still_set(quick_sim, run_action) -> None:
    done = run_action(quick_sim, {"task-id": "t-finished"}, env={"BROWSERACT_API_KEY": ""})
    assert done.exit_code == 78
    assert outputs_of(done) == {"task-id": "t-finished", "status": "", "exit-code": "78",
                                "output-file": "", "files": ""}
    assert quick_sim.request_count() == 0


def test_the_key_is_never_echoed(quick_sim, run_action, canary: str) -> None:
    """Outputs, log, summary and every runner file stay free of the key (conftest checks files)."""
    done = run_action(quick_sim, {"task-id": "t-failed"})
    assert done.exit_code == 10
    for text in (done.log, done.summary, json.dumps(done.outputs)):
        assert canary not in text


def test_hostile_input_values_are_data_not_shell_code(quick_sim, run_action, tmp_path: Path) -> None:
    hostile = "x'; touch pwned-1; echo '$(touch pwned-2)`touch pwned-3`"
    done = run_action(quick_sim, {"task-id": hostile, "wait": "false", "timeout": "$(touch pwned-4)"})
    assert done.exit_code == 66  # the ID went to the API as given, and it does not exist
    assert done.outputs["task-id"] == hostile
    assert not list(tmp_path.rglob("pwned-*"))
    assert [r.task_id for r in quick_sim.requests] == [hostile]


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals to a process group")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_canceled_job_still_gets_the_outputs_and_the_watch_ends_cleanly(
        quick_sim, tmp_path: Path, sig: int, code: int, captured) -> None:  # type: ignore[no-untyped-def]
    """The runner cancels a job by signalling the step's process group: outputs, then 130/143."""
    out = tmp_path / "github_output"
    summary = tmp_path / "summary"
    env = {**os.environ, "BROWSERACT_BASE_URL": quick_sim.url, "GITHUB_ACTIONS": "true",
           "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary),
           "RUNNER_TEMP": str(tmp_path), "INPUT_TASK_ID": "t-running", "INPUT_INTERVAL": "0.1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "action" / "run.py"), "run"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while quick_sim.request_count("t-running") < 2:  # the watch is polling
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        os.killpg(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    captured.texts.extend([stdout, stderr])
    assert proc.returncode == code, stderr
    outputs = parse_command_file(out.read_text(encoding="utf-8"))
    assert (outputs["task-id"], outputs["exit-code"]) == ("t-running", str(code))
    assert "| `t-running` | `running` |" in summary.read_text(encoding="utf-8")  # watch's own records
    assert "Traceback" not in stderr and "status -q" not in stderr  # stopped: no further command


@pytest.mark.parametrize(("inputs", "message"), [
    ({"task-id": "a", "workflow-id": "b"}, "give only one of workflow-id, template-id and task-id"),
    ({"task-id": "a", "region": "US"}, "region applies to template-id only"),
    ({"task-id": "a", "inputs": "k=v"}, "inputs and input-file need workflow-id or template-id"),
    ({"task-id": "a", "wait": "maybe"}, "input wait must be true or false"),
    ({"workflow-id": "w", "inputs": "keyword=ok\nsecret-value-without-equals"}, "inputs, line 2: expected NAME=VALUE"),
    ({"workflow-id": "w", "inputs": "=value"}, "inputs, line 1: expected NAME=VALUE"),
])
def test_bad_inputs_are_exit_2_before_any_request(quick_sim, run_action, inputs: dict[str, str],
                                                  message: str) -> None:
    done = run_action(quick_sim, inputs)
    assert done.exit_code == 2
    assert f"::error title=browseract action::{message}" in done.stderr
    assert "secret-value-without-equals" not in done.log
    assert done.outputs["exit-code"] == "2" and done.outputs["task-id"] == ""
    assert quick_sim.request_count() == 0


def test_without_a_task_the_action_only_installs(quick_sim, run_action) -> None:
    done = run_action(quick_sim, {})
    assert done.exit_code == 0
    assert "::notice title=browseract action::no workflow-id, template-id or task-id given" in done.stderr
    assert done.outputs["exit-code"] == "0" and quick_sim.request_count() == 0


def test_a_workflow_id_without_the_run_command_fails_clearly(quick_sim, run_action) -> None:
    if "run" in COMMANDS:
        pytest.skip("this browseract has `run`")
    done = run_action(quick_sim, {"workflow-id": "demo-workflow"})
    assert done.exit_code == 2
    assert "::error title=browseract action::could not start a task from workflow demo-workflow" in done.stderr
    assert done.outputs["task-id"] == "" and done.outputs["exit-code"] == "2"


# --------------------------------------------------------------------------- composition (scripted CLI)
# How the action composes run / watch / status / output / download, today, with a scripted
# stand-in for the CLI (tests/fake_cli): the arguments each command gets, and how their exit
# codes and output become the step's outputs. The real commands are exercised further below.

FAKE_CLI = ROOT / "tests" / "fake_cli"
GOOD = {"run": {"stdout": "T-1\n"}, "run-template": {"stdout": "T-2\n"}, "watch": {},
        "status": {"stdout": "finished\n"}, "output": {"output": '{"items": [1, 2]}\n'},
        "download": {"stdout": "files/T-1/a.csv\nfiles/T-1/b (2).csv\n"}}


@pytest.fixture
def scripted(run_action, tmp_path: Path):  # type: ignore[no-untyped-def]
    """scripted(inputs, **changes) -> (ActionRun, calls): the action over the scripted CLI."""

    def run(inputs: dict[str, str], **changes: dict[str, object]) -> tuple[ActionRun, list[list[str]]]:
        script = {**GOOD, **changes}
        script = {k: v for k, v in script.items() if v is not None}
        log = tmp_path / "calls.jsonl"
        log.unlink(missing_ok=True)
        env = {"PYTHONPATH": str(FAKE_CLI), "FAKE_BROWSERACT": json.dumps(script),
               "FAKE_BROWSERACT_LOG": str(log)}
        done = run_action(None, inputs, env=env)
        calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
        return done, [c for c in calls if c[1:] != ["--help"]]

    return run


def test_composes_run_watch_status_output_and_download(scripted, tmp_path: Path) -> None:
    done, calls = scripted({"workflow-id": "WF 1", "inputs": "keyword=trail shoes\n# note\n\n  max_items=2\nq=a=b",
                            "input-file": "in.json", "timeout": "45m", "interval": "2",
                            "download-dir": "files"})
    assert done.exit_code == 0, done.log
    output = done.outputs["output-file"]
    assert calls == [
        ["run", "WF 1", "-i", "keyword=trail shoes", "-i", "max_items=2", "-i", "q=a=b",
         "--input-file", "in.json"],
        ["watch", "T-1", "--timeout", "45m", "--interval", "2"],
        ["status", "-q", "T-1"],
        ["output", "T-1", "-o", str(Path(output).with_name("output"))],
        ["download", "T-1", "-D", "files"],
    ]
    assert outputs_of(done) == {"task-id": "T-1", "status": "finished", "exit-code": "0",
                                "output-file": output, "files": "files/T-1/a.csv\nfiles/T-1/b (2).csv"}
    assert Path(output) == tmp_path / "runner-temp" / "browseract-action" / "T-1" / "output.json"
    assert json.loads(Path(output).read_text(encoding="utf-8")) == {"items": [1, 2]}
    # The log names the inputs, never their values.
    assert "-i keyword=… -i max_items=… -i q=…" in done.stderr and "trail shoes" not in done.log


def test_template_with_region(scripted) -> None:
    done, calls = scripted({"template-id": "TPL", "region": "UK", "inputs": "url=https://x.test"})
    assert done.exit_code == 0, done.log
    assert calls[0] == ["run-template", "TPL", "--region", "UK", "-i", "url=https://x.test"]
    assert calls[1] == ["watch", "T-2"] and done.outputs["task-id"] == "T-2"


def test_text_output_is_output_txt(scripted) -> None:
    done, _ = scripted({"workflow-id": "WF"}, output={"output": "plain words\n"})
    assert Path(done.outputs["output-file"]).name == "output.txt"


def test_empty_output_leaves_output_file_empty(scripted) -> None:
    done, _ = scripted({"workflow-id": "WF"}, output={"output": ""})
    assert done.exit_code == 0 and done.outputs["output-file"] == ""


def test_a_task_that_could_not_be_started_stops_there(scripted) -> None:
    done, calls = scripted({"workflow-id": "WF", "download-dir": "files"}, run={"exit": 65})
    assert done.exit_code == 65
    assert [c[0] for c in calls] == ["run"]
    assert outputs_of(done) == {"task-id": "", "status": "", "exit-code": "65", "output-file": "", "files": ""}
    assert "::error title=browseract action::could not start a task from workflow WF (browseract exited 65)" in done.stderr


def test_run_printing_anything_but_one_id_is_an_error(scripted) -> None:
    done, calls = scripted({"workflow-id": "WF"}, run={"stdout": "T-1\nnoise\n"})
    assert done.exit_code == 1 and [c[0] for c in calls] == ["run"]


@pytest.mark.parametrize(("changes", "code"), [
    ({"download": {"stdout": "files/T-1/a.csv\n", "exit": 20}}, 20),
    ({"download": {"exit": 74}, "output": {"exit": 76}}, 76),
    ({"output": {"exit": 74}, "download": {"exit": 20}}, 74),
])
def test_the_step_exits_with_the_most_severe_code(scripted, changes: dict, code: int) -> None:
    done, calls = scripted({"workflow-id": "WF", "download-dir": "files"}, **changes)
    assert done.exit_code == code
    assert done.outputs["exit-code"] == str(code)
    assert [c[0] for c in calls] == ["run", "watch", "status", "output", "download"]
    if code == 20:
        assert done.outputs["files"] == "files/T-1/a.csv"  # the files that were saved


@pytest.mark.parametrize(("watch", "status", "code"), [
    (10, "failed", 10), (11, "canceled", 11), (124, "running", 124), (77, "", 77),
])
def test_no_output_or_download_unless_the_task_finished(scripted, watch: int, status: str, code: int) -> None:
    done, calls = scripted({"workflow-id": "WF", "download-dir": "files"}, watch={"exit": watch},
                           status={"stdout": f"{status}\n" if status else "", "exit": 77 if not status else watch})
    assert done.exit_code == code
    assert [c[0] for c in calls] == ["run", "watch", "status"]
    assert (done.outputs["status"], done.outputs["output-file"], done.outputs["files"]) == (status, "", "")
    if status != "failed" and status:
        assert f"no files downloaded: the task is {status}" in done.stderr


def test_not_waiting_starts_and_looks_up_only(scripted) -> None:
    done, calls = scripted({"workflow-id": "WF", "wait": "false", "download-dir": "files"},
                           status={"stdout": "created\n", "exit": 14})
    assert done.exit_code == 0
    assert [c[0] for c in calls] == ["run", "status"]
    assert (done.outputs["task-id"], done.outputs["status"]) == ("T-1", "created")


def test_an_older_browseract_without_output_still_watches(scripted) -> None:
    done, calls = scripted({"workflow-id": "WF"}, output=None, download=None)
    assert done.exit_code == 0
    assert [c[0] for c in calls] == ["run", "watch", "status"]
    assert "no `output` command" in done.stderr and done.outputs["output-file"] == ""


# --------------------------------------------------------------------------- start a task (run)


@needs_run
def test_runs_a_workflow_waits_and_hands_over_output_and_files(sim, run_action, tmp_path: Path) -> None:
    done = run_action(sim, {"workflow-id": "demo-workflow", "inputs": "keyword=trail shoes\nmax_items=2\n",
                            "interval": "0.5", "timeout": "2m", "download-dir": "downloads"})
    assert done.exit_code == 0, done.log
    out = outputs_of(done)
    task_id = out["task-id"]
    assert task_id and "\n" not in task_id
    assert (out["status"], out["exit-code"]) == ("finished", "0")
    output = Path(out["output-file"])
    assert output.name == "output.json"
    items = json.loads(output.read_text(encoding="utf-8"))["items"]
    assert len(items) == 2 and all("trail shoes" in json.dumps(item) for item in items)
    files = out["files"].splitlines()
    assert len(files) == 1 and files[0].endswith(".csv")
    saved = Path(files[0]) if Path(files[0]).is_absolute() else tmp_path / "workspace" / files[0]
    assert saved.is_file() and saved.stat().st_size > 0
    assert (tmp_path / "workspace" / "downloads" / task_id) in saved.parents
    assert f"`{task_id}` | `finished` | 0 |" in done.summary


@needs_run
def test_inputs_from_a_file_and_lines_together(sim, run_action, tmp_path: Path) -> None:
    (tmp_path / "workspace").mkdir(exist_ok=True)
    (tmp_path / "workspace" / "inputs.json").write_text('{"keyword": "from file", "max_items": 5}',
                                                        encoding="utf-8")
    done = run_action(sim, {"workflow-id": "demo-workflow", "input-file": "inputs.json",
                            "inputs": "max_items=1", "interval": "0.5", "timeout": "2m"})
    assert done.exit_code == 0, done.log
    items = json.loads(Path(done.outputs["output-file"]).read_text(encoding="utf-8"))["items"]
    assert len(items) == 1 and "from file" in json.dumps(items[0])  # -i wins over the file


@needs_run
def test_hostile_input_values_reach_the_task_verbatim(sim, run_action, tmp_path: Path) -> None:
    hostile = "$(touch pwned) `touch pwned2` \"; touch pwned3; '"
    done = run_action(sim, {"workflow-id": "demo-workflow", "inputs": f"keyword={hostile}\nmax_items=1",
                            "interval": "0.5", "timeout": "2m"})
    assert done.exit_code == 0, done.log
    assert not list(tmp_path.rglob("pwned*"))
    items = json.loads(Path(done.outputs["output-file"]).read_text(encoding="utf-8"))["items"]
    assert hostile in json.dumps(items[0], ensure_ascii=False) or json.dumps(hostile)[1:-1] in json.dumps(items[0])
    assert "touch pwned" not in done.log  # input values are not echoed


@needs_run
def test_runs_a_template_in_a_region(sim, run_action) -> None:
    done = run_action(sim, {"template-id": "demo-template", "region": "US",
                            "inputs": "url=https://example.com\nmax_items=1",
                            "interval": "0.5", "timeout": "2m"})
    assert done.exit_code == 0, done.log
    assert done.outputs["status"] == "finished" and done.outputs["task-id"]


@needs_run
def test_a_failing_workflow_fails_the_step_with_10(sim, run_action) -> None:
    done = run_action(sim, {"workflow-id": "demo-workflow-fails", "inputs": "url=https://example.com",
                            "interval": "0.5", "timeout": "2m", "download-dir": "downloads"})
    assert done.exit_code == 10, done.log
    out = outputs_of(done)
    assert out["task-id"] and (out["status"], out["exit-code"]) == ("failed", "10")
    assert (out["output-file"], out["files"]) == ("", "")
    assert "::error" in done.stderr


@needs_run
def test_an_undeclared_input_is_65_and_nothing_starts(sim, run_action) -> None:
    done = run_action(sim, {"workflow-id": "demo-workflow", "inputs": "no_such_input=1"})
    assert done.exit_code == 65, done.log
    assert (done.outputs["task-id"], done.outputs["exit-code"]) == ("", "65")
    assert not [r for r in sim.requests if r.method == "POST"]


@needs_run
def test_without_waiting_the_new_task_id_is_the_result(sim, run_action) -> None:
    done = run_action(sim, {"workflow-id": "demo-workflow", "wait": "false"})
    assert done.exit_code == 0, done.log
    assert done.outputs["task-id"] and done.outputs["status"] in ("created", "running")
    assert done.outputs["output-file"] == ""
