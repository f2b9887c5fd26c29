"""GitHub Actions: annotations and a step-summary table for watched tasks (watch, run --wait).

Only written when ``GITHUB_ACTIONS=true``. Server text never becomes a workflow command (the
annotations go through ``Output.annotation``, every other line is neutralised by Output) nor
Markdown in the summary (every server string is a code span).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from browseract_cli.render import Output, error_text
from browseract_cli.render_watch import shown_status
from browseract_cli.sanitize import clean
from browseract_cli.watcher import Tracked


def github_actions(tasks: Sequence[Tracked], out: Output, env: Mapping[str, str], *,
                   title: str = "browseract watch") -> None:
    """In GitHub Actions: annotations for failed/canceled tasks and a step-summary table."""
    if env.get("GITHUB_ACTIONS") != "true":
        return
    for t in tasks:
        if t.status == "failed" or (t.error is not None and t.exit_code not in (0, None)):
            what = error_text(t.error) if t.error is not None else "the task failed"
            out.annotation(f"::error title=browseract::{_gh_escape(f'{t.task_id}: {what}')}")
        elif t.status == "canceled":
            out.annotation(f"::warning title=browseract::{_gh_escape(f'{t.task_id}: the task was canceled')}")
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    rows = ["| Task | Status | Exit | Polls |", "|---|---|---|---|"]
    for t in tasks:
        rows.append(f"| {_code(t.task_id)} | {_code(shown_status(t))} | {t.exit_code} | {t.polls} |")
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"### {title}\n\n" + "\n".join(rows) + "\n\n")
    except OSError:
        out.warn("could not write the GitHub step summary")


def _gh_escape(text: str) -> str:
    return clean(text, 500).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _code(text: str) -> str:
    """Server text as a Markdown code span: no links, images or HTML, and no table cell breaks."""
    shown = clean(text, 120).replace("|", "\\|").replace("`", "'")
    return f"`{shown or ' '}`"
