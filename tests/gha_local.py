"""Run a composite GitHub Action's steps locally, the way the runner does, without GitHub.

``LocalRunner(action_dir, ...).run(inputs)`` reads ``action.yml``, evaluates the few expressions
a composite action may use here (``inputs.*``, ``steps.*.outputs.*``, ``github.action_path``,
``runner.temp``, ``runner.os``; anything else is an error, so the action cannot silently use
something this harness does not model), and runs each ``shell: bash`` step as the runner does:
``bash --noprofile --norc -eo pipefail FILE``, with fresh ``GITHUB_OUTPUT`` files per step and
shared ``GITHUB_ENV``, ``GITHUB_PATH`` and ``GITHUB_STEP_SUMMARY`` files. ``actions/setup-python``
is stood in for by the running interpreter (it is the one ``uses:`` the harness knows). The first
failing step ends the run, as on GitHub; the action's outputs are then evaluated from the steps'
outputs, as the runner does for composite actions.

``skip`` and ``preset`` leave steps out and give their outputs, so tests can skip the
installation and use the running venv's browseract.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_RUNNER_OS = {"win32": "Windows", "darwin": "macOS"}.get(sys.platform, "Linux")


def parse_command_file(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV syntax: NAME=VALUE lines and NAME<<DELIMITER blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(f"unterminated {name}<<{delimiter} block")
            i += 1  # the delimiter
            values[name] = "\n".join(body)
        else:
            name, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"malformed line in a command file: {line!r}")
            values[name] = value
    return values


@dataclass
class StepRun:
    id: str
    exit_code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class ActionRun:
    exit_code: int
    outputs: dict[str, str]
    steps: list[StepRun] = field(default_factory=list)
    summary: str = ""
    path_entries: list[str] = field(default_factory=list)
    env_file: dict[str, str] = field(default_factory=dict)

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


class LocalRunner:
    def __init__(self, action_dir: Path, workspace: Path, runner_temp: Path,
                 env: Mapping[str, str] | None = None, timeout: float = 180) -> None:
        self.action_dir = Path(action_dir).resolve()
        self.workspace = Path(workspace)
        self.runner_temp = Path(runner_temp)
        self.base_env = dict(os.environ if env is None else env)
        self.timeout = timeout
        self.meta = yaml.safe_load((self.action_dir / "action.yml").read_text(encoding="utf-8"))
        assert self.meta["runs"]["using"] == "composite"

    # ---- expressions

    def _eval(self, expr: str, inputs: Mapping[str, str], steps: Mapping[str, Mapping[str, str]]) -> str:
        parts = expr.split(".")
        if len(parts) == 2 and parts[0] == "inputs":
            return inputs.get(parts[1], "")
        if len(parts) == 4 and parts[0] == "steps" and parts[2] == "outputs":
            return steps.get(parts[1], {}).get(parts[3], "")
        if expr == "github.action_path":
            return str(self.action_dir)
        if expr == "runner.temp":
            return str(self.runner_temp)
        if expr == "runner.os":
            return _RUNNER_OS
        raise NotImplementedError(f"the local runner does not model the expression {expr!r}")

    def _sub(self, text: object, inputs: Mapping[str, str], steps: Mapping[str, Mapping[str, str]]) -> str:
        if isinstance(text, bool):  # YAML true/false reach actions as the strings "true"/"false"
            return "true" if text else "false"
        return _EXPR.sub(lambda m: self._eval(m.group(1), inputs, steps), str(text))

    # ---- running

    def run(self, inputs: Mapping[str, str] | None = None, *, skip: Sequence[str] = (),
            preset: Mapping[str, Mapping[str, str]] | None = None,
            env: Mapping[str, str] | None = None) -> ActionRun:
        declared = self.meta.get("inputs") or {}
        unknown = set(inputs or {}) - set(declared)
        assert not unknown, f"inputs the action does not declare: {sorted(unknown)}"
        values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
        values.update(inputs or {})
        steps_out: dict[str, dict[str, str]] = {k: dict(v) for k, v in (preset or {}).items()}
        self.workspace.mkdir(parents=True, exist_ok=True)
        files = self.runner_temp / "_runner_file_commands"
        files.mkdir(parents=True, exist_ok=True)
        github_env, github_path, summary = (files / "env", files / "path", files / "step_summary")
        for f in (github_env, github_path, summary):
            f.write_text("", encoding="utf-8")
        base = {**self.base_env, **(env or {}),
                "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": _RUNNER_OS,
                "RUNNER_TEMP": str(self.runner_temp), "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_ACTION_PATH": str(self.action_dir), "GITHUB_ENV": str(github_env),
                "GITHUB_PATH": str(github_path), "GITHUB_STEP_SUMMARY": str(summary)}
        result = ActionRun(exit_code=0, outputs={})
        for index, step in enumerate(self.meta["runs"]["steps"]):
            step_id = step.get("id", f"step{index}")
            if step_id in skip:
                continue
            assert "if" not in step, "the local runner does not model step conditions"
            if "uses" in step:
                ran = self._uses(step, step_id, values, steps_out)
            else:
                ran = self._bash(step, step_id, index, values, steps_out, base, github_env,
                                 github_path)
            steps_out[step_id] = ran.outputs
            result.steps.append(ran)
            if ran.exit_code != 0:
                result.exit_code = ran.exit_code
                break
        result.outputs = {name: self._sub(spec["value"], values, steps_out)
                          for name, spec in (self.meta.get("outputs") or {}).items()}
        result.summary = summary.read_text(encoding="utf-8")
        result.path_entries = [p for p in github_path.read_text(encoding="utf-8").splitlines() if p]
        result.env_file = parse_command_file(github_env.read_text(encoding="utf-8"))
        return result

    def _uses(self, step: Mapping[str, object], step_id: str, inputs: Mapping[str, str],
              steps: Mapping[str, Mapping[str, str]]) -> StepRun:
        action = str(step["uses"])
        if not action.startswith("actions/setup-python@"):
            raise NotImplementedError(f"the local runner does not model {action}")
        given = {k: self._sub(v, inputs, steps) for k, v in dict(step.get("with") or {}).items()}  # type: ignore[call-overload]
        assert given.get("update-environment") == "false", "setup-python must leave the job's PATH alone"
        assert given.get("python-version"), "setup-python needs a python-version"
        version = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
        return StepRun(step_id, 0, "", "", {"python-path": sys.executable, "python-version": version})

    def _bash(self, step: Mapping[str, object], step_id: str, index: int, inputs: Mapping[str, str],
              steps: Mapping[str, Mapping[str, str]], base: Mapping[str, str], github_env: Path,
              github_path: Path) -> StepRun:
        assert step.get("shell") == "bash", f"step {step_id}: only shell: bash is modelled"
        bash = shutil.which("bash")
        assert bash, "bash is needed to run the action's steps"
        script = self.runner_temp / f"_step_{index}_{step_id}.sh"
        script.write_text(self._sub(step["run"], inputs, steps), encoding="utf-8", newline="\n")
        output = self.runner_temp / f"_step_{index}_{step_id}.output"
        output.write_text("", encoding="utf-8")
        env = dict(base)
        env.update(parse_command_file(github_env.read_text(encoding="utf-8")))
        env.update({str(k): self._sub(v, inputs, steps)
                    for k, v in dict(step.get("env") or {}).items()})  # type: ignore[call-overload]
        added = [p for p in github_path.read_text(encoding="utf-8").splitlines() if p]
        if added:
            env["PATH"] = os.pathsep.join([*reversed(added), env.get("PATH", "")])
        env["GITHUB_OUTPUT"] = str(output)
        done = subprocess.run([bash, "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=self.workspace, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=self.timeout)
        outputs = parse_command_file(output.read_text(encoding="utf-8"))
        return StepRun(step_id, done.returncode, done.stdout, done.stderr, outputs)
