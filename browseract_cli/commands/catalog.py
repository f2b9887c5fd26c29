"""`workflows`, `templates` and `regions`: what can be run, with which inputs, and where."""

from typing import Annotated

import typer

from browseract_cli.commands import Command, Group, command, epilog, markup_mode
from browseract_cli.context import AppContext
from browseract_cli.options import All, Json, Quiet

InputTemplate = Annotated[bool, typer.Option(
    "--input-template", help="Print a JSON object of every declared input, to fill in for run --input-file.")]
# None by default so that `--all --limit 20` is refused like `--all --limit 5` (as `list` does).
Limit = Annotated[int | None, typer.Option(
    "--limit", metavar="N", min=1, max=500, show_default=False, help="How many to show (1-500, default 20).")]
ShowJson = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


def _group(name: str, help_text: str, examples: tuple[str, ...]) -> typer.Typer:
    return typer.Typer(name=name, cls=Group, add_completion=False, rich_markup_mode=markup_mode(),  # type: ignore[arg-type]
                       help=help_text, no_args_is_help=True,
                       context_settings={"help_option_names": ["-h", "--help"]},
                       epilog=epilog(("Examples:", *examples)))


workflows_app = _group("workflows", "List your workflows, and show the inputs one declares.", (
    "  browseract workflows list",
    "  browseract workflows show $WORKFLOW_ID",
    "  browseract workflows show $WORKFLOW_ID --input-template > inputs.json"))
templates_app = _group("templates", "List the workflow templates of BrowserAct, and show the inputs one declares.", (
    "  browseract templates list amazon",
    "  browseract templates show $TEMPLATE_ID --input-template > inputs.json"))

EPILOGS = {"regions": epilog(
    ("Examples:",
     "  browseract regions",
     "  browseract regions -q | grep -x UK"),
    "The codes are what run-template --region takes; the United Kingdom is UK, not GB.",
)}


# --------------------------------------------------------------------------- workflows


@workflows_app.command("list", cls=Command, epilog=epilog(("Examples:",
                       "  browseract workflows list",
                       "  browseract workflows list --all -q",
                       "  browseract workflows list --json | jq -r .name")))
@command
def workflows_list(app: AppContext, limit: Limit = None, all_: All = False, json_: Json = False,
                   quiet: Quiet = False) -> int:
    """List your workflows (the ones you can run)."""
    from browseract_cli import catalog
    from browseract_cli.render import output_mode

    return catalog.run_list(app, "workflow", output_mode(json_, quiet), limit, all_)


@workflows_app.command("show", cls=Command, epilog=epilog(("Examples:",
                       "  browseract workflows show $WORKFLOW_ID",
                       "  browseract workflows show $WORKFLOW_ID --input-template > inputs.json",
                       "  browseract run $WORKFLOW_ID --input-file inputs.json")))
@command
def workflows_show(app: AppContext,
                   workflow_id: Annotated[str, typer.Argument(metavar="WORKFLOW_ID", show_default=False,
                                                              help="The workflow.")],
                   input_template: InputTemplate = False, json_: ShowJson = False) -> int:
    """Show a workflow: its name, description and declared inputs."""
    from browseract_cli import catalog
    from browseract_cli.options import check_id

    return catalog.run_show(app, "workflow", check_id(workflow_id, "workflow ID"), input_template, json_)


# --------------------------------------------------------------------------- templates


@templates_app.command("list", cls=Command, epilog=epilog(("Examples:",
                       "  browseract templates list",
                       "  browseract templates list amazon --limit 5",
                       "  browseract templates list --all -q")))
@command
def templates_list(app: AppContext,
                   keyword: Annotated[str | None, typer.Argument(
                       metavar="[KEYWORD]", show_default=False,
                       help="Only templates whose name or description matches it.")] = None,
                   limit: Limit = None, all_: All = False, json_: Json = False, quiet: Quiet = False) -> int:
    """List the workflow templates of BrowserAct, optionally matching a keyword."""
    from browseract_cli import catalog
    from browseract_cli.render import output_mode

    return catalog.run_list(app, "template", output_mode(json_, quiet), limit, all_, keyword)


@templates_app.command("show", cls=Command, epilog=epilog(("Examples:",
                       "  browseract templates show $TEMPLATE_ID",
                       "  browseract templates show $TEMPLATE_ID --input-template > inputs.json")))
@command
def templates_show(app: AppContext,
                   template_id: Annotated[str, typer.Argument(metavar="TEMPLATE_ID", show_default=False,
                                                              help="The template.")],
                   input_template: InputTemplate = False, json_: ShowJson = False) -> int:
    """Show a template: its name, description and declared inputs."""
    from browseract_cli import catalog
    from browseract_cli.options import check_id

    return catalog.run_show(app, "template", check_id(template_id, "template ID"), input_template, json_)


# --------------------------------------------------------------------------- regions


@command
def regions(app: AppContext, json_: Json = False, quiet: Quiet = False) -> int:
    """List the proxy regions a template task can run from (run-template --region)."""
    from browseract_cli import catalog
    from browseract_cli.render import output_mode

    return catalog.run_regions(app, output_mode(json_, quiet))
