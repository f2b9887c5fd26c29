"""The `browseract` app: global options, command registration and the process entry point."""

import os
import signal
import sys
from typing import Annotated, NamedTuple

import typer

from browseract_cli import __version__
from browseract_cli.commands import (
    Command,
    Group,
    Terminated,
    app_context,
    broken_pipe_exit,
    epilog,
    help_width,
    markup_mode,
)
from browseract_cli.exit_codes import MEANINGS

EPILOG = epilog(
    ("Exit codes:", *(f"  {int(code):>3}  {text}" for code, text in MEANINGS.items())),
    ("Environment:",
     "  BROWSERACT_API_KEY     API key (or store it: browseract config set-key)",
     "  BROWSERACT_BASE_URL    API base URL (default https://api.browseract.com)",
     "  BROWSERACT_PROFILE     config profile (default \"default\")",
     "  BROWSERACT_CONFIG_DIR  directory of config.toml",
     "  NO_COLOR               no colour or styling when set (non-empty)"),
    "Global options may also follow the command: browseract status ID -v.",
    ("Examples:",
     "  browseract demo                      # try it offline, no key needed",
     "  browseract status 16429034742537847",
     "  browseract watch --timeout 30m $TASK_ID && echo done"),
)


class Entry(NamedTuple):
    """A command of the registry: where it lives, and the line `browseract --help` shows for it."""

    module: str
    attr: str
    summary: str  # the first line of the command's own help (a test keeps them the same)


# Each command's module is imported only when that command runs (or for its own --help), so
# `browseract status` pays for no other command and `browseract --help` lists them all from here;
# a typo is matched against these names (pip's commands_dict does the same).
_C = "browseract_cli.commands."
COMMANDS: dict[str, Entry] = {
    "status": Entry(_C + "status", "status", "Show the current status of one or more tasks."),
    "watch": Entry(_C + "watch", "watch",
                   "Wait until tasks finish (or reach an --until state), then exit with their outcome."),
    "run": Entry(_C + "run", "run",
                 "Start a task from one of your workflows; with --wait, wait and print its output."),
    "run-template": Entry(_C + "run", "run_template",
                          "Start a task from a BrowserAct template; with --wait, wait and print its output."),
    "get": Entry(_C + "tasks", "get",
                 "Show everything about tasks: status, timing, credit, failure, inputs, files, output."),
    "output": Entry(_C + "tasks", "output",
                    "Print the output of a finished task, decoded (BrowserAct returns it as JSON text)."),
    "list": Entry(_C + "tasks", "list_", "List tasks, newest first, with filters; -q prints only their IDs."),
    "stop": Entry(_C + "tasks", "stop", "Stop (cancel) running tasks; a task that already ended counts as stopped."),
    "resume": Entry(_C + "tasks", "resume",
                    "Resume paused tasks (after the human step is done); --wait then waits for the outcome."),
    "download": Entry(_C + "download", "download", "Download every file of finished tasks into DIR/TASK_ID/."),
    "workflows": Entry(_C + "catalog", "workflows_app", "List your workflows, and show the inputs one declares."),
    "templates": Entry(_C + "catalog", "templates_app",
                       "List the workflow templates of BrowserAct, and show the inputs one declares."),
    "regions": Entry(_C + "catalog", "regions",
                     "List the proxy regions a template task can run from (run-template --region)."),
    "config": Entry(_C + "config", "config_app",
                    "Store the API key and settings (TOML file, one table per profile)."),
    "simulate": Entry(_C + "simulate", "simulate",
                      "Serve a BrowserAct-compatible API on loopback, for trying the CLI and testing scripts."),
    "demo": Entry(_C + "simulate", "demo",
                  "Try browseract offline: a local simulator, a real run and a real watch of demo tasks."),
}


# Root options also accepted after the command (`status ID --base-url URL`, `status -v ID`), as
# gh and kubectl users expect; the group moves them in front before parsing (see LazyGroup).
GLOBAL_ANYWHERE = ("--profile", "--base-url", "--no-color", "--verbose", "-v")


class LazyGroup(Group):
    """The root group: builds a command from its module on first use."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def format_commands(self, ctx: typer.Context, formatter) -> None:  # type: ignore[no-untyped-def, override]
        """The command list of `browseract --help`, from the registry: no module is imported."""
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        rows = [(name, _short(entry.summary, limit)) for name, entry in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: typer.Context, cmd_name: str):  # type: ignore[no-untyped-def, override]
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = _load(cmd_name)
        return self.commands.get(cmd_name)

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[no-untyped-def, override]
        # Help is wrapped to the terminal, narrower than click's floor of 50 columns included;
        # subcommands inherit the width from this context.
        extra.setdefault("terminal_width", help_width())
        return super().make_context(info_name, args, parent, **extra)

    def resolve_command(self, ctx: typer.Context, args: list[str]):  # type: ignore[no-untyped-def, override]
        # A typo is matched against the registry, so no command module is imported for it.
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            import difflib

            matches = difflib.get_close_matches(name, list(COMMANDS))
            suggestion = f" Did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""
            ctx.fail(f"No such command {name!r}.{suggestion}")
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if not ctx.resilient_parsing:  # completion sees the words as typed
            args = _hoist_global_options(self, ctx, args)
        return super().parse_args(ctx, args)


def _hoist_global_options(group: LazyGroup, ctx: typer.Context, args: list[str]) -> list[str]:
    """``args`` with the GLOBAL_ANYWHERE options found after the command moved before it.

    Option values stay with their options (``--until --base-url`` keeps ``--base-url`` as the
    value of --until), everything after ``--`` stays put, and an option that the command itself
    defines is left to the command.
    """
    takes_value = {o: not p.is_flag for p in group.params for o in p.opts if o in GLOBAL_ANYWHERE}
    at = 0
    while at < len(args) and args[at].startswith("-"):
        if args[at] == "--":
            return args
        at += 2 if takes_value.get(args[at]) else 1
    if at >= len(args) or args[at] not in COMMANDS:
        return args
    cmd = group.get_command(ctx, args[at])
    own = _option_arity(cmd)
    moved: list[str] = []
    kept: list[str] = []
    rest = args[at + 1:]
    i = 0
    while i < len(rest):
        word = rest[i]
        name, has_value, _ = word.partition("=")
        if word == "--":
            kept.extend(rest[i:])
            break
        if name in takes_value and name not in own:
            if takes_value[name] and not has_value:
                if i + 1 == len(rest):  # no value: leave it for the command's parser to report
                    kept.append(word)
                    break
                moved += rest[i:i + 2]
                i += 2
                continue
            moved.append(word)
        elif own.get(name) and not has_value:  # the command's own option and its value
            kept += rest[i:i + 2]
            i += 2
            continue
        else:
            kept.append(word)
            sub = cmd.get_command(ctx, word) if isinstance(cmd, Group) and not word.startswith("-") else None
            if sub is not None:  # `config get ...`: from here on, the subcommand's options count
                cmd, own = sub, _option_arity(sub)
        i += 1
    return [*args[:at], *moved, args[at], *kept]


def _option_arity(cmd) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """Each option name of ``cmd`` -> whether it takes a value."""
    return {o: not (p.is_flag or p.count) for p in cmd.params if p.param_type_name == "option"
            for o in (*p.opts, *p.secondary_opts)}


def _short(text: str, limit: int) -> str:
    """A summary cut at a word to fit ``limit`` columns, as the help formatter would cut it."""
    if len(text) <= limit:
        return text
    words, shown = text.split(), ""
    for word in words:
        if len(shown) + len(word) + 1 + 3 > limit:
            break
        shown = f"{shown} {word}".strip()
    return shown + "..."


def _load(name: str):  # type: ignore[no-untyped-def]
    import importlib

    module_name, attr, _ = COMMANDS[name]
    module = importlib.import_module(module_name)
    target = getattr(module, attr)
    if isinstance(target, typer.Typer):
        return typer.main.get_command(target)
    single = typer.Typer(rich_markup_mode=markup_mode(), add_completion=False)  # type: ignore[arg-type]
    single.command(name=name, cls=Command, epilog=getattr(module, "EPILOGS", {}).get(name))(target)
    return typer.main.get_command(single)


app = typer.Typer(
    cls=LazyGroup,
    name="browseract",
    help="Check and wait on BrowserAct tasks from terminals, scripts and CI.",
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    rich_markup_mode=markup_mode(),  # type: ignore[arg-type]
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
        help="Config profile to use (env BROWSERACT_PROFILE; default: default).")] = None,
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



def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main() -> None:
    """Console-script entry point: signals, the standard streams and the exit status."""
    from browseract_cli.errors import OutputError
    from browseract_cli.render import Output, guard_std_streams

    code = 1
    try:
        # Until here __main__ ended a Ctrl-C quietly with 130; from now on it is KeyboardInterrupt.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _on_sigterm)
        guard_std_streams()
        app(prog_name="browseract")
    except KeyboardInterrupt:
        code = 130
    except Terminated:
        code = 143
    except BrokenPipeError:
        code = broken_pipe_exit()
    except OutputError as err:  # --version or --help into a closed or full stdout
        Output().error(err)
        code = int(err.exit_code)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = 0
    # The outcome is decided: a late Ctrl-C or SIGTERM must not turn it into a traceback at shutdown.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = broken_pipe_exit() if code == 0 else code
    except OutputError as err:
        if code == 0:
            Output().error(err)
            code = int(err.exit_code)
    except (ValueError, OSError, AttributeError):
        code = 74 if code == 0 else code
    if code in (130, 141, 143):
        # Leave at once: no waiting on worker threads, no "Exception ignored" noise at shutdown.
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os._exit(code)
    sys.exit(code)
