"""The committed completion scripts are what the app generates today."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("generate", ROOT / "completions" / "generate.py")
assert spec and spec.loader
generate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate)


@pytest.mark.parametrize("shell", sorted(generate.FILES))
def test_committed_completion_script_is_fresh(shell: str) -> None:
    committed = (ROOT / "completions" / generate.FILES[shell]).read_text(encoding="utf-8")
    assert committed == generate.generate(shell), (
        f"completions/{generate.FILES[shell]} is stale: run `python completions/generate.py`")
    assert "browseract" in committed


def test_bash_completion_offers_commands_and_config_subcommands() -> None:
    def complete(words: str, cword: int) -> list[str]:
        env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword),
               "_BROWSERACT_COMPLETE": "complete_bash"}
        done = subprocess.run([sys.executable, "-m", "browseract_cli"], env=env,
                              capture_output=True, text=True, timeout=60)
        return done.stdout.split()

    assert {"status", "watch", "config", "simulate", "demo"} <= set(complete("browseract ", 1))
    assert {"set-key", "show", "get", "set", "unset", "path", "doctor"} <= set(
        complete("browseract config ", 2))
    assert "--interval" in complete("browseract watch --int", 2)
