"""ruff with the bandit rules (S) is part of the suite: S113 catches a request without timeout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean_including_bandit_rules() -> None:
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_package_never_imports_click() -> None:
    offenders = [p.name for p in (ROOT / "browseract_cli").rglob("*.py")
                 if any(line.startswith(("import click", "from click"))
                        for line in p.read_text(encoding="utf-8").splitlines())]
    assert offenders == []
