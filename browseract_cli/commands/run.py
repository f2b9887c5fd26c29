"""`run` and `run-template`: start a task (never twice), and with --wait, wait for its result."""

from pathlib import Path
from typing import Annotated

import typer

from browseract_cli.commands import command, epilog
from browseract_cli.context import AppContext
from browseract_cli.options import Json, Quiet, Wait, complete_formats, complete_states

EPILOGS = {
    "run": epilog(
        ("Examples:",
         "  browseract run $WORKFLOW_ID -i keyword=laptops     # prints the task ID",
         "  TASK=$(browseract run $WORKFLOW_ID -i keyword=laptops)",
         "  browseract run $WORKFLOW_ID -i keyword=laptops --wait > result.json",
         "  browseract run $WORKFLOW_ID --input-file inputs.json --wait -D files/",
         "  browseract run $WORKFLOW_ID -i max_items=10 --dry-run   # nothing is sent",
         "  browseract workflows show $WORKFLOW_ID --input-template > inputs.json"),
        "Inputs are checked against the inputs the workflow declares before anything starts (exit 65, "
        "nothing created). A start is never sent twice once it may have reached the API: when that "
        "fails, the task may exist, and the message says how to find it.",
        "Exit: without --wait, 0 started; with --wait, the outcome as `watch` gives it (0 finished, 10 "
        "failed, 11 canceled, 124 --timeout, ...) and 20 when -D could not save every file; 65 bad "
        "input, 66 unknown workflow, 75 the concurrent-task limit of the account (see --wait-for-slot).",
    ),
    "run-template": epilog(
        ("Examples:",
         "  browseract run-template $TEMPLATE_ID -i url=https://example.com",
         "  browseract run-template $TEMPLATE_ID --region UK -i url=... --wait",
         "  browseract templates show $TEMPLATE_ID --input-template > inputs.json",
         "  browseract regions                              # the region codes"),
        "Everything works as in `browseract run`, with a BrowserAct template instead of one of your "
        "workflows, and --region for the country of the proxy.",
    ),
}

Inputs = Annotated[list[str] | None, typer.Option(
    "--input", "-i", metavar="NAME=VALUE", show_default=False,
    help="An input of the task; repeatable. The value is sent as given (no @file).")]
InputFile = Annotated[str | None, typer.Option(
    "--input-file", metavar="FILE", show_default=False,
    help="Inputs from a JSON file (- reads stdin): an object of names and values, or a list of "
         "name/value objects as the API takes them.")]
CallbackUrl = Annotated[str | None, typer.Option(
    "--callback-url", metavar="URL", show_default=False,
    help="BrowserAct POSTs the task to this URL when it ends.")]
StatusCallbackUrl = Annotated[str | None, typer.Option(
    "--status-callback-url", metavar="URL", show_default=False,
    help="BrowserAct POSTs the task to this URL at every status change.")]
NoValidate = Annotated[bool, typer.Option(
    "--no-validate", help="Do not check the inputs against the declared ones first.")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Check, then print the request body that would be sent; start nothing.")]
WaitForSlot = Annotated[str | None, typer.Option(
    "--wait-for-slot", metavar="DURATION", show_default=False,
    help="At the concurrent-task limit of the account, keep trying this long before exit 75.")]
Interval = Annotated[str | None, typer.Option(
    "--interval", metavar="SECONDS", show_default=False, help="With --wait: time between polls (default 5).")]
Timeout = Annotated[str | None, typer.Option(
    "--timeout", metavar="DURATION", show_default=False,
    help="With --wait: give up waiting after this long (exit 124; the task keeps running).")]
MaxOutage = Annotated[str | None, typer.Option(
    "--max-outage", metavar="DURATION", show_default=False,
    help="With --wait: give up when polls have failed this long (default 5m).")]
Until = Annotated[list[str] | None, typer.Option(
    "--until", metavar="STATE", autocompletion=complete_states, show_default=False,
    help="With --wait: also stop (exit 0) at this state; repeat it or give a comma list.")]
OutputFormat = Annotated[str | None, typer.Option(
    "--format", metavar="FMT", show_default=False, autocompletion=complete_formats,
    help="With --wait: how to print the output: auto, json, jsonl, csv or raw.")]
DownloadDir = Annotated[Path | None, typer.Option(
    "--download-dir", "-D", metavar="DIR", show_default=False,
    help="With --wait: also download the files of the task into DIR/TASK_ID/.")]


@command
def run(
    app: AppContext,
    workflow_id: Annotated[str, typer.Argument(metavar="WORKFLOW_ID", help="One of your workflows.",
                                               show_default=False)],
    inputs: Inputs = None,
    input_file: InputFile = None,
    save_browser_data: Annotated[bool, typer.Option(
        "--save-browser-data", help="Keep the data of the browser (cookies, logins) in a new profile.")] = False,
    browser_profile: Annotated[str | None, typer.Option(
        "--browser-profile", metavar="ID", show_default=False,
        help="Start with the browser data of this profile (the profile_id of BrowserAct).")] = None,
    callback_url: CallbackUrl = None,
    status_callback_url: StatusCallbackUrl = None,
    no_validate: NoValidate = False,
    dry_run: DryRun = False,
    wait_for_slot: WaitForSlot = None,
    wait: Wait = False,
    interval: Interval = None,
    timeout: Timeout = None,
    max_outage: MaxOutage = None,
    until: Until = None,
    fmt: OutputFormat = None,
    download_dir: DownloadDir = None,
    json_: Json = False,
    quiet: Quiet = False,
) -> int:
    """Start a task from one of your workflows; with --wait, wait and print its output."""
    from browseract_cli import runs
    from browseract_cli.errors import UsageError
    from browseract_cli.options import check_id

    if save_browser_data and browser_profile:
        raise UsageError("--save-browser-data and --browser-profile cannot be used together",
                         hint="--save-browser-data makes a new profile; --browser-profile reuses one")
    target = runs.Target("workflow", check_id(workflow_id, "workflow ID"))
    opts = runs.options(app, inputs, input_file, callback_url, status_callback_url, no_validate, dry_run,
                        wait_for_slot, wait, interval, timeout, max_outage, until, fmt, download_dir,
                        json_, quiet, save_browser_data=save_browser_data, browser_profile=browser_profile)
    return runs.run(app, target, opts)


@command
def run_template(
    app: AppContext,
    template_id: Annotated[str, typer.Argument(metavar="TEMPLATE_ID", help="A BrowserAct template.",
                                               show_default=False)],
    region: Annotated[str | None, typer.Option(
        "--region", metavar="CODE", show_default=False,
        help="Where the proxy of the browser is: a code of `browseract regions`, e.g. US, UK, DE.")] = None,
    inputs: Inputs = None,
    input_file: InputFile = None,
    callback_url: CallbackUrl = None,
    status_callback_url: StatusCallbackUrl = None,
    no_validate: NoValidate = False,
    dry_run: DryRun = False,
    wait_for_slot: WaitForSlot = None,
    wait: Wait = False,
    interval: Interval = None,
    timeout: Timeout = None,
    max_outage: MaxOutage = None,
    until: Until = None,
    fmt: OutputFormat = None,
    download_dir: DownloadDir = None,
    json_: Json = False,
    quiet: Quiet = False,
) -> int:
    """Start a task from a BrowserAct template; with --wait, wait and print its output."""
    from browseract_cli import runs
    from browseract_cli.errors import UsageError
    from browseract_cli.options import check_id

    if region is not None and (not region.strip() or len(region) > 30):
        raise UsageError("--region takes a region code such as US, UK or DE",
                         hint="`browseract regions` lists the codes")
    target = runs.Target("template", check_id(template_id, "template ID"))
    opts = runs.options(app, inputs, input_file, callback_url, status_callback_url, no_validate, dry_run,
                        wait_for_slot, wait, interval, timeout, max_outage, until, fmt, download_dir,
                        json_, quiet, region=region)
    return runs.run(app, target, opts)
