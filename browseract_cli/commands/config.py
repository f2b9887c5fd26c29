"""`browseract config`: store the API key safely, show and change settings, check the setup."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from browseract_cli.commands import Command, Group, app_context, epilog, markup_mode, run_and_exit
from browseract_cli.context import AppContext

config_app = typer.Typer(
    name="config",
    cls=Group,
    add_completion=False,
    rich_markup_mode=markup_mode(),  # type: ignore[arg-type]
    help="Store the API key and settings (TOML file, one table per profile).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=epilog((
        "Examples:",
        "  browseract config set-key                 # hidden prompt",
        "  printf '%s' \"$KEY\" | browseract config set-key --stdin",
        "  browseract config set base-url http://127.0.0.1:8765",
        "  browseract --profile staging config show",
        "  browseract config doctor",
    )),
)

EXAMPLES = {
    "set-key": ("  browseract config set-key                  # hidden prompt on a terminal",
                "  printf '%s' \"$KEY\" | browseract config set-key --stdin",
                "  browseract config set-key --verify         # ask the API before storing",
                "  browseract --profile staging config set-key"),
    "show": ("  browseract config show",
             "  browseract config show --json | jq -r '.[\"base-url\"].value'",
             "  browseract config show --profile staging"),
    "get": ("  browseract config get base-url",
            "  browseract config get api-key              # masked"),
    "set": ("  browseract config set base-url https://api.browseract.com",
            "  browseract config set base-url http://127.0.0.1:8765   # the simulator",
            "  browseract --profile staging config set base-url URL"),
    "unset": ("  browseract config unset base-url           # back to the default",
              "  browseract config unset api-key"),
    "path": ("  browseract config path",
             "  chmod 600 \"$(browseract config path)\""),
    "doctor": ("  browseract config doctor",
               "  browseract config doctor --profile staging",
               "  BROWSERACT_API_KEY=... browseract config doctor"),
}


def _command(name: str):  # type: ignore[no-untyped-def]
    """Register a config subcommand with its examples and the project's usage line."""
    return config_app.command(name, cls=Command, epilog=epilog(("Examples:", *EXAMPLES[name])))


class Name(StrEnum):
    api_key = "api-key"
    base_url = "base-url"


FILE_KEY = {Name.api_key: "api_key", Name.base_url: "base_url"}

NameArg = Annotated[Name, typer.Argument(metavar="NAME", help="api-key or base-url.", show_default=False)]
# `config set` stores base-url only (the key goes through set-key), so its help offers only that;
# `config set api-key ...` still gets the pointer to set-key rather than "invalid choice".
SetNameArg = Annotated[str, typer.Argument(
    metavar="NAME", help="The setting to store: base-url.", show_default=False,
    autocompletion=lambda: ["base-url"])]


@_command("set-key")
def config_set_key(
    ctx: typer.Context,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the key from stdin even on a terminal.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Check the key with the API before storing it.")] = False,
) -> None:
    """Store the API key for the active profile (hidden prompt, or stdin)."""
    app_ctx = app_context(ctx)
    run_and_exit(app_ctx, lambda: run_set_key(app_ctx, force_stdin=stdin, verify=verify))


def run_set_key(app_ctx: AppContext, *, force_stdin: bool, verify: bool) -> int:
    from browseract_cli import config_store
    from browseract_cli.errors import UsageError
    from browseract_cli.sanitize import mask_key
    from browseract_cli.settings import check_api_key, check_base_url

    stream = app_ctx.input_stream()
    if stream is None:  # stdin closed (`<&-`): nothing was given
        raw, source = "", "stdin"
    elif not force_stdin and _isatty(stream):
        raw, source = _prompt_hidden(app_ctx), "the prompt"
    else:
        raw, source = stream.read(64 * 1024), "stdin"
    key = check_api_key(raw, source)
    if not key:
        raise UsageError(f"no API key was given on {source}",
                         hint="paste the key from the BrowserAct dashboard (Integrations > API keys)")
    settings = app_ctx.settings(validate=False)
    if verify:
        # Validated like every other use: the key never travels to a refused (e.g. http://) URL.
        url_setting = settings.base_url
        url = check_base_url(url_setting.value or config_store.DEFAULT_BASE_URL,
                             url_setting.detail or url_setting.source)
        code = _live_check(app_ctx, url, key)
        if code:
            app_ctx.out.info("the key was not stored")
            return code
    _warn_about_directory(app_ctx, settings.path)
    config_store.update(settings.path, settings.profile.value or config_store.DEFAULT_PROFILE, "api_key", key)
    app_ctx.out.info(f"API key {mask_key(key)} stored in {config_store.show_path(settings.path)} "
                     f"(profile {settings.profile.value!r})")
    if app_ctx.env.get("BROWSERACT_API_KEY", "").strip():
        app_ctx.out.warn("BROWSERACT_API_KEY is set and overrides the stored key while it is set")
    return 0


@_command("show")
def config_show(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Show each effective setting, where it comes from; the key is masked."""
    app_ctx = app_context(ctx)
    run_and_exit(app_ctx, lambda: run_show(app_ctx, json_))


def run_show(app_ctx: AppContext, as_json: bool) -> int:
    from browseract_cli.config_store import show_path
    from browseract_cli.sanitize import clean, escape_undecodable, mask_key

    settings = app_ctx.settings(validate=False)
    entries = [
        ("profile", settings.profile.value, settings.profile),
        ("api-key", mask_key(settings.api_key.value) if settings.api_key.value else None, settings.api_key),
        ("base-url", settings.base_url.value, settings.base_url),
    ]
    if as_json:
        doc = {name: {"value": value if value is None else escape_undecodable(value), "source": s.source,
                      "detail": s.detail} for name, value, s in entries}
        doc["config_file"] = {"value": escape_undecodable(str(settings.path)), "exists": settings.path.exists()}
        app_ctx.out.json_line(doc)
        return 0
    rows = [("SETTING", "VALUE", "FROM")]
    for name, value, s in entries:
        rows.append((name, clean(value, 200) if value else "(not set)", _shown_source(s, settings.profile)))
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    for name, value, source in rows:
        app_ctx.out.line(f"{name:<{width[0]}}  {value:<{width[1]}}  {source}")
    exists = "" if settings.path.exists() else "  (does not exist yet)"
    app_ctx.out.line(f"{'file':<{width[0]}}  {show_path(settings.path)}{exists}")
    return 0


def _shown_source(s, profile) -> str:  # type: ignore[no-untyped-def]
    """Where a setting comes from, in a few words: the config file's path is on its own row."""
    if s.source == "file":
        return f"file [profiles.{profile.value or 'default'}]"
    if s.source == "unset":
        return "-"
    return f"{s.source} {s.detail}".strip()


@_command("get")
def config_get(ctx: typer.Context, name: NameArg) -> None:
    """Print one effective setting (the key masked)."""
    app_ctx = app_context(ctx)

    def go() -> int:
        from browseract_cli.sanitize import mask_key

        settings = app_ctx.settings()
        if name is Name.api_key:
            app_ctx.out.line(mask_key(settings.key_or_raise()))
        else:
            app_ctx.out.line(settings.base_url.value or "")
        return 0

    run_and_exit(app_ctx, go)


@_command("set")
def config_set(
    ctx: typer.Context,
    name: SetNameArg,
    value: Annotated[str, typer.Argument(metavar="VALUE", help="The new value.", show_default=False)],
) -> None:
    """Store a setting in the active profile (base-url; the key goes through set-key)."""
    app_ctx = app_context(ctx)

    def go() -> int:
        from browseract_cli import config_store
        from browseract_cli.errors import UsageError
        from browseract_cli.settings import check_base_url

        if name == Name.api_key:
            raise UsageError("the API key is not taken on the command line, where other users can see it",
                             hint="run `browseract config set-key` (hidden prompt, or the key on stdin)")
        if name != Name.base_url:
            raise UsageError(f"unknown setting {name[:40]!r}: config set stores base-url",
                             hint="the API key is stored with `browseract config set-key`")
        url = check_base_url(value, "the command line")
        settings = app_ctx.settings(validate=False)
        _warn_about_directory(app_ctx, settings.path)
        config_store.update(settings.path, settings.profile.value or "default", FILE_KEY[Name.base_url], url)
        app_ctx.out.info(f"base-url = {url} stored in {config_store.show_path(settings.path)} "
                         f"(profile {settings.profile.value!r})")
        return 0

    run_and_exit(app_ctx, go)


@_command("unset")
def config_unset(ctx: typer.Context, name: NameArg) -> None:
    """Remove a setting from the active profile."""
    app_ctx = app_context(ctx)

    def go() -> int:
        from browseract_cli import config_store

        settings = app_ctx.settings(validate=False)
        profile = settings.profile.value or "default"
        table = config_store.load(settings.path).get("profiles", {}).get(profile, {})
        if FILE_KEY[name] not in table:  # nothing to remove: say so, and create no file for it
            if settings.path.parent.is_dir():  # still clear what a killed writer left (the key?)
                config_store.update(settings.path, profile, FILE_KEY[name], None)
            app_ctx.out.info(f"{name.value} is not set in profile {profile!r} of "
                             f"{config_store.show_path(settings.path)}: nothing to remove")
            return 0
        _warn_about_directory(app_ctx, settings.path)
        config_store.update(settings.path, profile, FILE_KEY[name], None)
        app_ctx.out.info(f"{name.value} removed from profile {profile!r} in "
                         f"{config_store.show_path(settings.path)}")
        return 0

    run_and_exit(app_ctx, go)


@_command("path")
def config_path(ctx: typer.Context) -> None:
    """Print the path of the config file (whether or not it exists yet)."""
    app_ctx = app_context(ctx)

    def go() -> int:
        from browseract_cli.config_store import config_path as path_of
        from browseract_cli.sanitize import escape_undecodable

        app_ctx.out.line(escape_undecodable(str(path_of(app_ctx.env))))
        return 0

    run_and_exit(app_ctx, go)


@_command("doctor")
def config_doctor(ctx: typer.Context) -> None:
    """Check the key, the config file, the base URL, and that the API accepts the key."""
    app_ctx = app_context(ctx)
    run_and_exit(app_ctx, lambda: run_doctor(app_ctx))


def run_doctor(app_ctx: AppContext) -> int:
    from browseract_cli import config_store
    from browseract_cli.errors import ConfigError
    from browseract_cli.exit_codes import ExitCode, worst
    from browseract_cli.sanitize import mask_key
    from browseract_cli.settings import check_api_key, check_base_url

    out = app_ctx.out
    codes: list[int] = []

    def report(ok: bool | None, text: str, code: int = 0) -> None:
        out.line(f"{'ok  ' if ok else 'warn' if ok is None else 'FAIL'}  {text}")
        codes.append(code)

    path = config_store.config_path(app_ctx.env)
    try:
        config_store.load(path)
        report(True, f"config file {config_store.show_path(path)}" + ("" if path.exists() else " (does not exist yet)"))
    except ConfigError as err:
        report(False, f"{err.msg}", ExitCode.CONFIG)
    for warning in config_store.permission_warnings(path):
        report(None, warning)
    try:
        settings = app_ctx.settings(validate=False, note_profile=False)
    except ConfigError as err:
        report(False, err.msg, ExitCode.CONFIG)
        return worst(codes)
    unknown = settings.unknown_profile()
    if unknown:
        report(None, unknown)
    key_setting, url_setting = settings.api_key, settings.base_url
    key = url = None
    try:
        key = check_api_key(key_setting.value or "", key_setting.detail or key_setting.source)
        if key:
            report(True, f"API key {mask_key(key)} from {key_setting.source} ({key_setting.detail})")
        else:
            report(False, "no API key: set BROWSERACT_API_KEY or run `browseract config set-key`",
                   ExitCode.CONFIG)
    except ConfigError as err:
        report(False, err.msg, ExitCode.CONFIG)
    try:
        url = check_base_url(url_setting.value or "", url_setting.source)
        report(True, f"base URL {url} from {url_setting.source}")
    except ConfigError as err:
        report(False, err.msg, ExitCode.CONFIG)
    if key and url:
        codes.append(_live_check(app_ctx, url, key, report, hints=_doctor_hints(settings)))
    return worst(codes)


# Hints for what the live check finds, right for the command that shows them: never "run
# `browseract config doctor`" from doctor itself, nor "store it with set-key" from set-key.
_SET_KEY_HINTS = {
    "auth": "copy the key again from the BrowserAct dashboard (Integrations > API keys); "
            "a cut-off or old key is the usual cause",
}


def _doctor_hints(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    key, url = settings.api_key, settings.base_url
    if key.source == "env":
        fix_key = (f"set {key.detail} to a valid key, or unset it and store one with "
                   "`browseract config set-key`")
    else:
        fix_key = "store a valid key with `browseract config set-key`"
    url_from = f"from {url.origin}" if url.source != "default" else "the default"
    return {
        "auth": f"the key from {key.origin} was rejected; {fix_key}",
        "network": f"check your network, proxy settings and the base URL ({url_from})",
        "bad_request": f"the base URL ({url_from}) may not point at the BrowserAct API: check it, "
                       "or set another with --base-url, BROWSERACT_BASE_URL or `config set base-url`",
    }


def _live_check(app_ctx: AppContext, url: str, key: str, report=None, *,  # type: ignore[no-untyped-def]
                hints: dict[str, str] | None = None) -> int:
    """Ask about a task that cannot exist: 10112 means the key was accepted, 401 rejected.

    ``hints`` replaces the generic hint by error kind; without ``report`` (set-key --verify) the
    set-key hints apply.
    """
    if hints is None:
        hints = _SET_KEY_HINTS if report is None else {}
    import secrets

    from browseract_cli.api import ApiClient
    from browseract_cli.endpoints import get_task_status
    from browseract_cli.errors import ApiError
    from browseract_cli.render import error_text

    def say(ok: bool | None, text: str, code: int = 0) -> None:
        if report is not None:
            report(ok, text, code)
        elif not ok:
            app_ctx.out.info(text)

    probe = f"browseract-doctor-{secrets.token_hex(8)}"
    log = app_ctx.out.info if app_ctx.verbose else None
    with ApiClient(url, key, clock=app_ctx.clock, wall=app_ctx.wall, sleep=app_ctx.sleep,
                   uniform=app_ctx.uniform, log=log) as client:
        try:
            get_task_status(client, probe)
        except ApiError as err:
            if err.kind == "not_found":
                say(True, "the API accepted the key (asked about a task that cannot exist: code 10112)")
                return 0
            say(False, error_text(err), int(err.exit_code))
            hint = hints.get(err.kind, err.hint)
            if hint:
                say(None, f"hint: {hint}")
            return int(err.exit_code)
    say(True, "the API accepted the key")
    return 0


def _warn_about_directory(app_ctx: AppContext, path: Path) -> None:
    """Before a write: say so when others could replace the file or hold its lock."""
    from browseract_cli.config_store import directory_warnings

    for warning in directory_warnings(path.parent):
        app_ctx.out.warn(warning)


def _prompt_hidden(app_ctx: AppContext) -> str:
    """The key typed at a hidden prompt on the terminal. getpass turns echo off and, in a
    finally block, back on, whatever happens. Ctrl-D is empty input (exit 2); Ctrl-C and SIGINT
    propagate as KeyboardInterrupt (exit 130)."""
    import getpass

    try:
        return getpass.getpass("BrowserAct API key: ")
    except (EOFError, KeyboardInterrupt) as stop:
        if _isatty(app_ctx.out.stderr):
            app_ctx.out.info("")  # the message that follows starts on its own line
        if isinstance(stop, KeyboardInterrupt):
            raise
        return ""
    except UnicodeDecodeError:
        return "\ufffd"  # not text: refused by check_api_key like any non-ASCII key (78)


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False
