"""Entry point of the `browseract` console script and of `python -m browseract_cli`."""

import gc


def main() -> None:
    # A CLI run is short and mostly allocates objects that live until exit (modules, classes):
    # the cyclic GC would only scan them again and again, about 6 ms of every start. Commands
    # that run for long (watch, simulate, demo) switch it back on (commands.long_running()).
    gc.disable()
    from browseract_cli.cli import main as run

    run()


if __name__ == "__main__":
    main()
