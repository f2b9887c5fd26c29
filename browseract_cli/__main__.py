"""Run the CLI with ``python -m browseract_cli``."""

from browseract_cli.cli import main

main()
