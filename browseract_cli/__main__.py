"""Entry point of the `browseract` console script and of `python -m browseract_cli`."""

import gc
import os
import signal


def _interrupted_while_starting(signum: int, frame: object) -> None:
    os._exit(130)  # nothing has been written yet: no cleanup to run, no traceback to show


def main() -> None:
    # Ctrl-C while typer and rich are imported (~0.1 s) would end in a KeyboardInterrupt
    # traceback; until cli.main() installs its own handling, it just exits 130.
    signal.signal(signal.SIGINT, _interrupted_while_starting)
    # A CLI run is short and mostly allocates objects that live until exit (modules, classes):
    # the cyclic GC would only scan them again and again, about 6 ms of every start. Commands
    # that run for long (watch, simulate, demo) switch it back on (commands.long_running()).
    gc.disable()
    from browseract_cli.cli import main as run

    run()


if __name__ == "__main__":
    main()
