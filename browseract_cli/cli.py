"""The `browseract` app: global options, command registration and the process entry point."""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated

import typer

from browseract_cli import __version__
from browseract_cli.commands import Terminated, app_context, broken_pipe_exit
from browseract_cli.commands import config as config_cmd
from browseract_cli.commands import simulate as simulate_cmd
from browseract_cli.commands import status as status_cmd
from browseract_cli.commands import watch as watch_cmd
from browseract_cli.exit_codes import MEANINGS
from browseract_cli.render import styling_wanted

EPILOG = (
    "\b\nExit codes:\n"
    + "\n".join(f"  {int(code):>3}  {text}" for code, text in MEANINGS.items())
    + "\n\n\b\nEnvironment:\n"
    "  BROWSERACT_API_KEY     API key (or store it: browseract config set-key)\n"
    "  BROWSERACT_BASE_URL    API base URL (default https://api.browseract.com)\n"
    "  BROWSERACT_PROFILE     config profile (default \"default\")\n"
    "  BROWSERACT_CONFIG_DIR  directory of config.toml\n"
    "  NO_COLOR               no colour or styling when set (non-empty)\n"
    "\n\b\nExamples:\n"
    "  browseract demo                      # try it offline, no key needed\n"
    "  browseract status 16429034742537847\n"
    "  browseract watch --timeout 30m $TASK_ID && echo done\n"
)


def _markup_mode() -> str | None:
    # Help is styled by rich only on a terminal; off a terminal rich is never imported.
    return "rich" if styling_wanted(sys.stdout, no_color="--no-color" in sys.argv) else None


app = typer.Typer(
    name="browseract",
    help="Check and wait on BrowserAct tasks from terminals, scripts and CI.",
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    rich_markup_mode=_markup_mode(),  # type: ignore[arg-type]
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"browseract {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option(
        "--profile", metavar="NAME",
        help="Config profile to use (env BROWSERACT_PROFILE; default \"default\").")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", metavar="URL",
        help="API base URL (env BROWSERACT_BASE_URL; default https://api.browseract.com).")] = None,
    no_color: Annotated[bool, typer.Option(
        "--no-color", help="No colour or styling (NO_COLOR has the same effect).")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Log each HTTP request and response line to stderr, key redacted.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Check and wait on BrowserAct tasks from terminals, scripts and CI."""
    app_ctx = app_context(ctx)
    app_ctx.profile_flag = profile or None
    app_ctx.base_url_flag = base_url or None
    app_ctx.no_color = app_ctx.no_color or no_color
    app_ctx.verbose = app_ctx.verbose or verbose


app.command(no_args_is_help=True, epilog=status_cmd.EPILOG)(status_cmd.status)
app.command(no_args_is_help=True, epilog=watch_cmd.EPILOG)(watch_cmd.watch)
app.add_typer(config_cmd.config_app, name="config")
app.command(epilog=simulate_cmd.SIMULATE_EPILOG)(simulate_cmd.simulate)
app.command(epilog=simulate_cmd.DEMO_EPILOG)(simulate_cmd.demo)


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main() -> None:
    """Console-script entry point: signals, broken pipes and the exit status."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(prog_name="browseract")
    except KeyboardInterrupt:
        code = 130
    except Terminated:
        code = 143
    except BrokenPipeError:
        code = broken_pipe_exit()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = 0
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        code = broken_pipe_exit() if code == 0 else code
    if code in (130, 141, 143):
        # Leave at once: no waiting on worker threads, no "Exception ignored" noise at shutdown.
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)
    sys.exit(code)
