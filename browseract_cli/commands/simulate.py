"""`browseract simulate` and `browseract demo`: thin wrappers over simulator.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from browseract_cli.commands import app_context, run_and_exit

SIMULATE_EPILOG = (
    "\b\nBuilt-in tasks: demo-finished, demo-failed, demo-canceled, demo-paused, demo-flaky,\n"
    "demo-forever. Each starts its lifecycle at its first poll; other IDs answer 10112.\n"
    "\n\b\nExamples:\n"
    "  browseract simulate                        # then, in another terminal:\n"
    "  export BROWSERACT_BASE_URL=http://127.0.0.1:8765 BROWSERACT_API_KEY=sim-key\n"
    "  browseract status demo-finished\n"
    "  browseract simulate --scenario tasks.toml --api-key sim-key"
)
DEMO_EPILOG = "Needs no API key and no network beyond loopback; takes about 15 seconds."


def simulate(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0 picks a free one).")] = 8765,
    scenario: Annotated[Path | None, typer.Option(
        "--scenario", metavar="FILE", help="TOML or JSON file of scripted tasks.")] = None,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", metavar="KEY", help="Accept only this test key (default: any key).")] = None,
) -> None:
    """Serve a BrowserAct-compatible API on loopback, for trying the CLI and testing scripts."""
    app_ctx = app_context(ctx)

    def go() -> int:
        import ipaddress

        from browseract_cli.errors import UsageError
        from browseract_cli.simulator import SimServer, load_scenario

        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise UsageError(f"--host must be a loopback address, not {host!r}",
                             hint="the simulator is for this machine only: use 127.0.0.1 or ::1")
        tasks = {}
        if scenario is not None:
            try:
                tasks = load_scenario(scenario)
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot use scenario file {scenario}: {exc}") from None
        try:
            server = SimServer(host, port, api_key=api_key, tasks=tasks)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                             hint="pick another port with --port, or --port 0 for a free one") from None
        out = app_ctx.out
        out.line(f"BrowserAct simulator listening on {server.url}")
        out.info("Try, in another terminal:")
        out.info(f"  export BROWSERACT_BASE_URL={server.url} BROWSERACT_API_KEY={api_key and '<your --api-key>' or 'sim-key'}")
        out.info("  browseract status demo-finished")
        out.info("Press Ctrl-C to stop.")
        server.serve_forever_foreground()
        out.info("simulator stopped")
        return 0

    run_and_exit(app_ctx, go)


def demo(ctx: typer.Context) -> None:
    """Try browseract offline: a local simulator and a real watch of demo tasks."""
    app_ctx = app_context(ctx)
    run_and_exit(app_ctx, lambda: 0)
