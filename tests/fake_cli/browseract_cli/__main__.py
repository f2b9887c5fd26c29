"""A scripted stand-in for `python -m browseract_cli`, for the action's composition tests.

tests/test_action.py puts tests/fake_cli first on PYTHONPATH and sets FAKE_BROWSERACT to a JSON
object: command name -> {"stdout": text, "exit": code, "output": text (written to -o FILE)}.
Every call is appended to the file named by FAKE_BROWSERACT_LOG, one JSON argv list a line.
`COMMAND --help` exits 0 for the commands the script names, 2 for the others, as the real app
does for commands it does not have.
"""

import json
import os
import sys


def main() -> int:
    args = sys.argv[1:]
    script = json.loads(os.environ["FAKE_BROWSERACT"])
    with open(os.environ["FAKE_BROWSERACT_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(args) + "\n")
    command = args[0] if args else ""
    if args[1:] == ["--help"]:
        return 0 if command in script else 2
    if command not in script:
        print(f"No such command '{command}'.", file=sys.stderr)
        return 2
    step = script[command]
    if "output" in step and "-o" in args:
        with open(args[args.index("-o") + 1], "w", encoding="utf-8") as fh:
            fh.write(step["output"])
    sys.stdout.write(step.get("stdout", ""))
    return int(step.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
