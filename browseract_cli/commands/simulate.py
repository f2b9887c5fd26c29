"""`browseract simulate` and `browseract demo`: thin wrappers over the simulator package."""

from pathlib import Path
from typing import Annotated

import typer

from browseract_cli.commands import command, epilog
from browseract_cli.context import AppContext

SIMULATE_EPILOG = epilog(
    "It serves all twelve endpoints of the v2 API. Built-in workflows: demo-workflow (inputs "
    "keyword, max_items), demo-workflow-fails, demo-workflow-pauses, demo-workflow-forever and "
    "demo-workflow-big-file (a 256 MiB file); template demo-template; scripted tasks "
    "demo-finished, demo-failed, demo-canceled, demo-paused, demo-flaky and demo-forever, each "
    "starting at its first poll. Other task IDs answer 10112.",
    ("Examples:",
     "  browseract simulate                  # then, in another terminal:",
     "  export BROWSERACT_BASE_URL=http://127.0.0.1:8765",
     "  export BROWSERACT_API_KEY=sim-key        # any key, unless --api-key",
     "  browseract run demo-workflow -i keyword=laptops --wait",
     "  browseract simulate --scenario tasks.toml --port 0",
     "  browseract simulate --latency 100ms --bulk-tasks 10000   # at scale"),
)
DEMO_EPILOG = epilog(
    "Needs no API key and no network beyond loopback; takes about 13 seconds and exits 0 whatever "
    "the demo tasks do (Ctrl-C: 130).",
    ("Examples:",
     "  browseract demo",
     "  browseract --no-color demo | less     # the same, as plain lines"),
)
EPILOGS = {"simulate": SIMULATE_EPILOG, "demo": DEMO_EPILOG}


@command
def simulate(
    app: AppContext,
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDRESS", help="Loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        "--port", metavar="PORT", help="Port to listen on, 0-65535 (0 picks a free one).")] = 8765,
    scenario: Annotated[Path | None, typer.Option(
        "--scenario", metavar="FILE", help="TOML or JSON file of scripted tasks, workflows and faults.")] = None,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", metavar="KEY", help="Accept only this test key (default: any key).")] = None,
    latency: Annotated[str, typer.Option(
        "--latency", metavar="DURATION", help="Wait this long before every answer, as a real network does.")] = "0",
    max_running: Annotated[int, typer.Option(
        "--max-running", metavar="N", min=0, help="Tasks in progress before run-task answers 10118.")] = 5,
    bulk_tasks: Annotated[int, typer.Option(
        "--bulk-tasks", metavar="N", min=0, max=1_000_000,
        help="Also hold N finished tasks of demo-workflow, for listing at scale.")] = 0,
) -> int:
    """Serve a BrowserAct-compatible API on loopback, for trying the CLI and testing scripts."""
    from browseract_cli.commands import long_running
    from browseract_cli.errors import UsageError
    from browseract_cli.options import parse_duration
    from browseract_cli.settings import is_loopback_host
    from browseract_cli.simulator import SimServer
    from browseract_cli.simulator.scenario import Scenario, load_scenario

    long_running()
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is out of range: use a port in 0-65535 (0 picks a free one)")
    if not is_loopback_host(host):
        raise UsageError(f"--host must be a loopback address, not {host!r}",
                         hint="the simulator is for this machine only: use 127.0.0.1 or ::1")
    delay = parse_duration(latency, "--latency")
    scn = Scenario()
    if scenario is not None:
        try:
            scn = load_scenario(scenario)
        except (OSError, ValueError) as exc:  # the message already names the file
            raise UsageError(str(exc)) from None
    try:
        server = SimServer(host, port, api_key=api_key, latency=delay, max_running=max_running,
                           bulk_tasks=bulk_tasks, **scn._asdict())
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="pick another port with --port, or --port 0 for a free one") from None
    _print_try_it(app, server.url, api_key)
    server.serve_forever_foreground()
    app.out.info("simulator stopped")
    return 0


def _print_try_it(app: AppContext, url: str, api_key: str | None) -> None:
    out = app.out
    out.line(f"BrowserAct simulator listening on {url}")
    out.info("Try, in another terminal:")
    if api_key:
        # Lines that paste as they are, without the key in the scrollback: the shell reads it
        # unechoed. `read` comes last, so it cannot take a later pasted line for the key.
        out.info(f"  export BROWSERACT_BASE_URL={url}")
        out.info("  read -rs BROWSERACT_API_KEY && export BROWSERACT_API_KEY   # type your --api-key")
        out.info("then: browseract status demo-finished")
    else:
        out.info(f"  export BROWSERACT_BASE_URL={url} BROWSERACT_API_KEY=sim-key")
        out.info("  browseract status demo-finished")
    out.info("Press Ctrl-C to stop.")


@command
def demo(app: AppContext) -> int:
    """Try browseract offline: a local simulator, a real run and a real watch of demo tasks."""
    return run_demo(app)


# What the demo watches, and what each task shows off.
DEMO_WATCH: dict[str, str] = {
    "demo-finished": "runs for a few seconds, then finishes",
    "demo-failed": "runs, then fails",
    "demo-flaky": "finishes, but the API answers 503 and 429 along the way",
    "demo-paused": "stops at paused, waiting for a person (here: --until paused)",
}
DEMO_INTERVAL = 1.0
DEMO_TIMEOUT = 30.0
# Task outcomes the demo explains and still exits 0 for (its point is to show them).
_TASK_OUTCOMES = frozenset({0, 10, 11, 12, 13, 14, 124})


def run_demo(app_ctx: AppContext) -> int:
    """A simulator on a free loopback port; a real `run --wait` and a real `watch` against it, explained.

    Nothing of the user's setup is read or changed: the commands get their own settings (the
    simulator's URL, a random per-run key, an empty temporary config dir) and never use a proxy.
    The simulator shares the app's clock, so tests with a fake clock run the demo instantly.
    """
    import secrets
    import tempfile

    from browseract_cli.errors import ApiError
    from browseract_cli.exit_codes import ExitCode
    from browseract_cli.simulator import SimServer

    out = app_ctx.out  # styling follows the user's terminal, NO_COLOR and --no-color
    key = "demo-" + secrets.token_hex(16)
    try:
        server = SimServer("127.0.0.1", 0, api_key=key, clock=app_ctx.clock, wall=app_ctx.wall)
    except OSError as exc:
        raise ApiError("network", f"cannot start the local simulator on 127.0.0.1: {exc.strerror or exc}",
                       hint="the demo needs a free loopback port") from None
    with server, tempfile.TemporaryDirectory(prefix="browseract-demo-") as scratch:
        env = {"BROWSERACT_BASE_URL": server.url, "BROWSERACT_API_KEY": key,
               "BROWSERACT_CONFIG_DIR": str(Path(scratch, "config"))}
        # The same output (streams and styling) as the user's command, with the demo's settings.
        demo_ctx = AppContext(env=env, stdin=app_ctx.stdin, clock=app_ctx.clock, wall=app_ctx.wall,
                              sleep=app_ctx.sleep, uniform=app_ctx.uniform, out=out)
        demo_ctx.no_color, demo_ctx.verbose = app_ctx.no_color, app_ctx.verbose
        out.line(f"browseract demo: a simulated BrowserAct API is running at {server.url}")
        out.line("(on this machine only: no account, no API key, no network needed).")
        out.line("")
        code = _demo_run(demo_ctx, Path(scratch, "files"))
        if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
            out.info("demo stopped; its simulator is gone, so there is nothing to resume.")
            return code
        tasks, code = _demo_watch(demo_ctx)
    if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
        out.info("demo stopped; its simulator is gone, so there is nothing to resume.")
        return code
    return _demo_explain(out, tasks, code)


def _demo_run(app: AppContext, files: Path) -> int:
    """Part 1: start demo-workflow with inputs, wait, print the decoded output, download the file."""
    from browseract_cli import runs
    from browseract_cli.render import Mode

    out = app.out
    out.line("1. Start a task and wait for its result, as this command does:")
    out.line("  browseract run demo-workflow -i keyword=laptops -i max_items=3 \\")
    out.line(f"      --wait --interval {DEMO_INTERVAL:g} -D \"$(mktemp -d)\"")
    out.line("Progress goes to stderr; stdout gets only the task's output, decoded from the")
    out.line("JSON text BrowserAct returns (pretty here, exact in a pipe):")
    out.line("")
    waiting = runs.Waiting(DEMO_INTERVAL, DEMO_TIMEOUT, 300.0, frozenset(), "auto", files)
    opts = runs.RunOptions([("keyword", "laptops"), ("max_items", "3")], True, False, 0.0, waiting,
                           Mode.HUMAN, {})
    code = runs.run(app, runs.Target("workflow", "demo-workflow"), opts, resumable=False)
    saved = sorted(p for p in files.rglob("*") if p.is_file())
    out.line("")
    if saved:
        out.line("Its file was downloaded (to a temporary folder, removed at the end):")
        out.line(f"  {saved[0]}")
        for line in saved[0].read_text(encoding="utf-8", errors="replace").splitlines()[:4]:
            out.line(f"  {line}")
    out.line(f"`run --wait` exited {code}: 0 because the task finished (10 if it had failed).")
    out.line("")
    return code


def _demo_watch(app: AppContext) -> tuple[list, int]:  # type: ignore[type-arg]
    """Part 2: a real watch of four demo tasks with different endings."""
    from browseract_cli.commands.watch import run_watch
    from browseract_cli.watcher import Tracked, WatchOptions

    out = app.out
    ids = list(DEMO_WATCH)
    width = max(map(len, ids))
    out.line("2. Watch tasks until they are done, as this command does:")
    out.line(f"  browseract watch --interval {DEMO_INTERVAL:g} --until paused \\")
    out.line(f"      {' '.join(ids)}")
    for task_id, what in DEMO_WATCH.items():
        out.line(f"  {task_id:<{width}}  {what}")
    out.line("Each state change is printed as it happens; a failed poll is retried, not fatal.")
    out.line("")
    tasks: list[Tracked] = []
    opts = WatchOptions(task_ids=ids, interval=DEMO_INTERVAL, timeout=DEMO_TIMEOUT, until=frozenset({"paused"}))
    code = run_watch(opts, app, "human", tasks_out=tasks, resumable=False)
    return tasks, code


def _demo_explain(out, tasks: list, code: int) -> int:  # type: ignore[no-untyped-def, type-arg]
    from browseract_cli.exit_codes import MEANINGS

    width = max(map(len, DEMO_WATCH))
    out.line("")
    out.line("What happened:")
    for t in tasks:
        note = ""
        if t.task_id == "demo-flaky" and t.exit_code == 0:
            note = "503/429 answers: missed polls, not the end"
        elif t.status == "paused" and t.exit_code == 0:
            note = "reached --until paused (else: waits on)"
        elif t.failure is not None:
            note = f"why: {t.failure.code} {t.failure.message}"
        out.line(f"  {t.task_id:<{width}}  {t.status or 'not seen':<8}  exit {t.exit_code:<3}  {note}".rstrip())
    out.line("")
    culprits = [t.task_id for t in tasks if t.exit_code == code]
    meaning = MEANINGS.get(code, "")  # type: ignore[call-overload]
    out.line(f"So the watch above would exit {code} ({meaning})" + (":" if code and culprits else "."))
    if code and culprits:
        out.line(f"with several tasks the most severe outcome wins (here {', '.join(culprits)}).")
    out.line("Exit codes of watch: 0 finished (or an --until state reached), 10 failed,")
    out.line("11 canceled, 124 --timeout expired (the task is not canceled), 66 not found,")
    out.line("77 API key rejected, 69/75/76 API unreachable, rate limited or answering")
    out.line("badly for longer than --max-outage, 130 Ctrl-C (`browseract --help` has all).")
    out.line('In a script: browseract run "$WORKFLOW_ID" --wait > result.json && next-step')
    if code not in _TASK_OUTCOMES:
        out.info("the demo could not complete: the local simulator did not answer as expected")
        return code
    out.line("")
    out.line("The demo itself exits 0. Next: `browseract simulate` keeps a simulator running;")
    out.line("with a real key: `browseract config set-key`, then `browseract workflows list`.")
    return 0
