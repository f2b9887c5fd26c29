"""Regenerate the shell completion scripts from the app: python completions/generate.py

The scripts are small: each calls back into `browseract` (typer's completion protocol), so
the commands and options they offer always match the installed version. A test fails when
the committed files differ from what this prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {"bash": "browseract.bash", "zsh": "_browseract", "fish": "browseract.fish"}


def generate(shell: str) -> str:
    # With shell detection off, typer's --show-completion takes the shell as its value.
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "browseract_cli", "--show-completion", shell],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )
    return done.stdout


def main() -> None:
    for shell, name in FILES.items():
        (HERE / name).write_text(generate(shell), encoding="utf-8")
        print(f"wrote completions/{name}")


if __name__ == "__main__":
    main()
