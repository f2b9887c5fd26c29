"""The logic of the browseract GitHub Action (``action.yml`` beside this folder's parent).

The composite action calls it twice:

    python action/run.py install   # with the Python that actions/setup-python set up
    python action/run.py run       # with the Python of the venv that ``install`` made

``install`` creates a private virtual environment under ``$RUNNER_TEMP`` (so the job's own
Python is never touched), installs browseract into it (from the action's own checkout unless
``version`` says otherwise), and puts a ``browseract`` command, and nothing else, on the job's
PATH. ``run`` composes the CLI's simple commands: ``run`` / ``run-template`` (which print the new
task ID alone), ``watch``, ``status -q``, ``output -o FILE`` and ``download -D DIR`` (which prints
the saved paths), and exits with the most severe of their exit codes, in the contract's order.

Inputs arrive as ``INPUT_*`` environment variables, set by ``env:`` in ``action.yml``; nothing
is ever interpolated into shell code, and every command runs without a shell. The API key is
only ever in the environment (``BROWSERACT_API_KEY``), read by browseract itself: this script
never reads, checks or prints it. Stdlib only, runs on Linux, macOS and Windows runners.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The contract's severity order (lifecycle-contract.md), most severe first. A code not in it
# (1 internal error, 2 usage error, 130/143 interrupted, anything unexpected) is more severe
# than all of them: it means the action could not do its job at all.
SEVERITY = (78, 77, 76, 74, 69, 75, 66, 65, 124, 20, 10, 13, 11, 12, 14, 0)
USAGE = 2
IN_PROGRESS = (12, 14)  # paused, and created/running/pausing: not a failure when not waiting
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
_VERSION_RE = re.compile(r"^v?(\d+(?:\.\d+)*(?:(?:a|b|rc|\.post|\.dev)\d+)*)$")
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]")


class ActionError(Exception):
    """A problem with the action's inputs or its environment: an ::error:: and an exit code."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


class _Stopped(BaseException):
    """Ctrl-C or SIGTERM arrived (the runner cancels the job): write the outputs, then exit."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


# When the runner cancels a job it signals the whole process group, so browseract gets the signal
# itself, writes its final records and exits 130 / 143. This script only notes the signal (a
# handler, not SIG_IGN, which children would inherit), lets the running command finish that
# way instead of killing it, then stops.
_SIGNALLED: list[int] = []


def _on_signal(signum: int, frame: object) -> None:
    _SIGNALLED.append(130 if signum == signal.SIGINT else 143)


# --------------------------------------------------------------------------- runner files


def worst(codes: Sequence[int]) -> int:
    """The most severe exit code: outside the order first, then the contract's order; 0 if none."""
    if not codes:
        return 0

    def rank(code: int) -> int:
        return SEVERITY.index(code) if code in SEVERITY else -1

    return min(codes, key=rank)


def set_output(env: Mapping[str, str], name: str, value: str) -> None:
    """Append one step output to $GITHUB_OUTPUT, in the multi-line form with a random delimiter."""
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    with open(path, "a", encoding="utf-8", newline="\n") as fh:
        fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def add_path(env: Mapping[str, str], directory: Path) -> None:
    path = env.get("GITHUB_PATH")
    if path:
        with open(path, "a", encoding="utf-8", newline="\n") as fh:
            fh.write(f"{directory}\n")


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotate(level: str, message: str) -> None:
    """A workflow command (::error:: / ::warning:: / ::notice::); GitHub reads it from stderr too."""
    print(f"::{level} title=browseract action::{_escape(message)}", file=sys.stderr, flush=True)


def say(message: str) -> None:
    print(f"browseract action: {message}", file=sys.stderr, flush=True)


def action_home(env: Mapping[str, str]) -> Path:
    """Where the action keeps its venv and the decoded outputs: $RUNNER_TEMP/browseract-action."""
    return Path(env.get("RUNNER_TEMP") or tempfile.gettempdir()) / "browseract-action"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_scripts(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


# --------------------------------------------------------------------------- install


def requirement(version: str, action_path: Path) -> str:
    """What pip installs: the action's checkout, browseract==X.Y.Z, or any requirement or URL."""
    version = version.strip()
    if not version:
        return str(action_path)
    if version.startswith("-"):
        raise ActionError(f"version {version!r} looks like a pip option; give a version, "
                          "a requirement or a URL")
    match = _VERSION_RE.match(version)
    if match:
        return f"browseract=={match.group(1)}"
    return version


def install(env: Mapping[str, str]) -> int:
    action_path = Path(env.get("GITHUB_ACTION_PATH") or Path(__file__).resolve().parent.parent)
    spec = requirement(env.get("INPUT_VERSION", ""), action_path)
    home = action_home(env)
    venv = home / "venv"
    say(f"installing browseract from {spec} into {venv}")
    # No pip inside the venv (seconds saved): this Python's pip installs into it (--python).
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], check=True)
    python = venv_python(venv)
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
           "--disable-pip-version-check", "--no-input", spec]
    done = subprocess.run(pip)
    if done.returncode != 0:
        raise ActionError(f"could not install browseract from {spec} (pip exited {done.returncode})",
                          code=done.returncode)
    version = subprocess.run([str(python), "-m", "browseract_cli", "--version"],
                             capture_output=True, text=True)
    if version.returncode != 0:
        raise ActionError("browseract was installed but does not start: "
                          f"{version.stderr.strip()[-300:]}", code=1)
    installed = version.stdout.strip()
    say(f"installed {installed}")
    # Only the `browseract` command goes on the job's PATH, never the venv's python or pip.
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = "browseract.exe" if os.name == "nt" else "browseract"
    shutil.copy2(venv_scripts(venv) / script, bin_dir / script)
    add_path(env, bin_dir)
    set_output(env, "python", str(python))
    set_output(env, "version", installed.removeprefix("browseract ").strip())
    return 0


# --------------------------------------------------------------------------- run


@dataclass
class Inputs:
    workflow_id: str = ""
    template_id: str = ""
    task_id: str = ""
    inputs: list[str] = field(default_factory=list)
    input_file: str = ""
    region: str = ""
    wait: bool = True
    timeout: str = ""
    interval: str = ""
    download_dir: str = ""


def parse_bool(name: str, value: str, default: bool) -> bool:
    word = value.strip().lower()
    if not word:
        return default
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ActionError(f"input {name} must be true or false, not {value.strip()[:40]!r}")


def parse_input_lines(text: str) -> list[str]:
    """`inputs`: one NAME=VALUE a line; blank lines and lines starting with # are skipped."""
    lines: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, _value = line.partition("=")
        if not sep or not name.strip():
            # The value may be secret: name the line, never quote it.
            raise ActionError(f"inputs, line {number}: expected NAME=VALUE")
        lines.append(line.lstrip())
    return lines


def parse_inputs(env: Mapping[str, str]) -> Inputs:
    def get(name: str) -> str:
        return env.get(f"INPUT_{name}", "").strip()

    got = Inputs(
        workflow_id=get("WORKFLOW_ID"),
        template_id=get("TEMPLATE_ID"),
        task_id=get("TASK_ID"),
        inputs=parse_input_lines(env.get("INPUT_INPUTS", "")),
        input_file=get("INPUT_FILE"),
        region=get("REGION"),
        wait=parse_bool("wait", env.get("INPUT_WAIT", ""), default=True),
        timeout=get("TIMEOUT"),
        interval=get("INTERVAL"),
        download_dir=get("DOWNLOAD_DIR"),
    )
    given = [name for name, value in (("workflow-id", got.workflow_id),
                                      ("template-id", got.template_id),
                                      ("task-id", got.task_id)) if value]
    if len(given) > 1:
        raise ActionError(f"give only one of workflow-id, template-id and task-id (got {', '.join(given)})")
    if got.region and not got.template_id:
        raise ActionError("region applies to template-id only")
    if (got.inputs or got.input_file) and not (got.workflow_id or got.template_id):
        raise ActionError("inputs and input-file need workflow-id or template-id")
    return got


class Cli:
    """Runs `python -m browseract_cli ARGS` with the venv's Python, without a shell."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        # Server text may hold any character: never let a Windows code page turn it into a crash.
        self.env.setdefault("PYTHONUTF8", "1")
        self.env.setdefault("PYTHONIOENCODING", "utf-8")

    def has(self, command: str) -> bool:
        """Whether this browseract has COMMAND (an older `version` may lack output or download)."""
        done = subprocess.run([sys.executable, "-m", "browseract_cli", command, "--help"],
                              env=self.env, stdin=subprocess.DEVNULL, capture_output=True)
        return done.returncode == 0

    def __call__(self, args: list[str], *, capture: bool = False,
                 shown: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        if _SIGNALLED:
            raise _Stopped(_SIGNALLED[0])
        say("$ browseract " + " ".join(shown if shown is not None else args))
        done = subprocess.run([sys.executable, "-m", "browseract_cli", *args], env=self.env,
                              stdin=subprocess.DEVNULL, text=True, encoding="utf-8",
                              errors="replace", stdout=subprocess.PIPE if capture else None)
        if _SIGNALLED:
            raise _Stopped(_SIGNALLED[0])
        return done


def safe_name(task_id: str) -> str:
    return _SAFE_NAME_RE.sub("_", task_id)[:100] or "task"


@dataclass
class Result:
    task_id: str = ""
    status: str = ""
    output_file: str = ""
    files: list[str] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return worst(self.codes)

    def write(self, env: Mapping[str, str]) -> None:
        set_output(env, "task-id", self.task_id)
        set_output(env, "status", self.status)
        set_output(env, "exit-code", str(self.exit_code))
        set_output(env, "output-file", self.output_file)
        set_output(env, "files", "\n".join(self.files))


_STATUS_OF_CODE = {0: "finished", 10: "failed", 11: "canceled"}


def start(cli: Cli, got: Inputs, result: Result) -> bool:
    """run / run-template: the new task's ID alone on stdout. False when nothing was started."""
    if got.workflow_id:
        args, what = ["run", got.workflow_id], f"workflow {got.workflow_id}"
    else:
        args, what = ["run-template", got.template_id], f"template {got.template_id}"
        if got.region:
            args += ["--region", got.region]
    shown = list(args)
    for line in got.inputs:
        args += ["-i", line]
        shown += ["-i", line.partition("=")[0].strip() + "=…"]  # values may be secret
    if got.input_file:
        args += ["--input-file", got.input_file]
        shown += ["--input-file", got.input_file]
    done = cli(args, capture=True, shown=shown)
    lines = [line.strip() for line in (done.stdout or "").splitlines() if line.strip()]
    if done.returncode != 0 or len(lines) != 1:
        code = done.returncode or 1
        result.codes.append(code)
        annotate("error", f"could not start a task from {what} (browseract exited {code})")
        return False
    result.task_id = lines[0]
    set_output(cli.env, "task-id", result.task_id)  # at once: later steps may fail
    say(f"started task {result.task_id}")
    return True


def lookup_status(cli: Cli, task_id: str) -> tuple[str, int]:
    done = cli(["status", "-q", task_id], capture=True)
    words = (done.stdout or "").split()
    return (words[0] if words else ""), done.returncode


def fetch_output(cli: Cli, result: Result, home: Path) -> None:
    folder = home / safe_name(result.task_id)
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "output"
    for stale in (raw, folder / "output.json", folder / "output.txt"):
        stale.unlink(missing_ok=True)
    done = cli(["output", result.task_id, "-o", str(raw)])
    result.codes.append(done.returncode)
    if done.returncode != 0 or not raw.is_file() or raw.stat().st_size == 0:
        raw.unlink(missing_ok=True)
        return
    try:
        json.loads(raw.read_text(encoding="utf-8"))
        final = folder / "output.json"
    except (ValueError, UnicodeDecodeError):
        final = folder / "output.txt"
    raw.replace(final)
    result.output_file = str(final)
    say(f"output written to {final}")


def fetch_files(cli: Cli, result: Result, directory: str) -> None:
    done = cli(["download", result.task_id, "-D", directory], capture=True)
    result.codes.append(done.returncode)
    result.files = [line for line in (done.stdout or "").splitlines() if line.strip()]
    for path in result.files:
        say(f"saved {path}")


def run(env: Mapping[str, str]) -> int:
    result = Result()
    try:
        got = parse_inputs(env)
        cli = Cli(env)
        if got.task_id:
            result.task_id = got.task_id
        elif got.workflow_id or got.template_id:
            if not start(cli, got, result):
                return result.exit_code
        else:
            annotate("notice", "no workflow-id, template-id or task-id given: "
                               "browseract is installed and on the PATH, nothing else was done")
            return 0
        watch_code: int | None = None
        if got.wait:
            args = ["watch", result.task_id]
            if got.timeout:
                args += ["--timeout", got.timeout]
            if got.interval:
                args += ["--interval", got.interval]
            watch_code = cli(args).returncode
            result.codes.append(watch_code)
        status, status_code = lookup_status(cli, result.task_id)
        if watch_code is None:
            # Not waiting: the lookup is the outcome, and a task still in progress is fine.
            result.codes.append(0 if status_code in IN_PROGRESS else status_code)
        elif not status:
            status = _STATUS_OF_CODE.get(watch_code, "")
        result.status = status
        if status == "finished":
            if cli.has("output"):
                fetch_output(cli, result, action_home(env))
            else:
                say("this browseract has no `output` command: output-file stays empty")
            if got.download_dir and cli.has("download"):
                fetch_files(cli, result, got.download_dir)
            elif got.download_dir:
                raise ActionError("download-dir needs a browseract with the `download` command "
                                  "(see the version input)")
        elif got.download_dir:
            say(f"no files downloaded: the task is {status or 'in an unknown state'}")
        return result.exit_code
    except ActionError as err:
        annotate("error", str(err))
        result.codes.append(err.code)
        return result.exit_code
    except _Stopped as stop:
        result.codes.append(stop.code)
        return result.exit_code
    finally:
        result.write(env)
        if result.task_id:
            say(f"task {result.task_id}: {result.status or 'status unknown'}; exit {result.exit_code}")
        else:
            say(f"exit {result.exit_code}")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("install", "run"):
        print("usage: run.py install|run", file=sys.stderr)
        return USAGE
    if argv[0] == "run":
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(errors="replace")  # type: ignore[attr-defined]  # paths, IDs: any text
    env = dict(os.environ)
    if argv[0] == "install":
        try:
            return install(env)
        except ActionError as err:
            annotate("error", str(err))
            return err.code
        except subprocess.CalledProcessError as err:
            annotate("error", f"could not create the virtual environment (exit {err.returncode})")
            return err.returncode or 1
    return run(env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
