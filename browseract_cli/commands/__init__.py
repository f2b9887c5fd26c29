"""Command modules: each parses its options and hands them to a run_* function.

A command is a function ``name(app: AppContext, **options) -> exit code`` decorated with
``@command``: the decorator gives it the app context and the one error -> exit-code mapping
(``run_and_exit``), and shows Typer a ``ctx: typer.Context`` parameter in place of ``app``.
Its options are ``Annotated`` parameters, many of them shared (options.py).

Help text, and epilogs (the footer of ``--help``) in particular, follow one convention so that
help reads well at any width, from 40 columns up, and never runs past 80 at 80:

- Build an epilog with :func:`epilog`: each argument is a paragraph, shown in the given order
  with a blank line between paragraphs.
- A prose paragraph is a plain ``str`` on one line. Do not wrap it by hand: the help formatter
  wraps it to the terminal (at most 78 columns), so it never breaks raggedly.
- A block whose lines must stay as written (examples, tables) is a tuple of lines, the first
  usually a title such as ``"Examples:"``. Its lines are never rewrapped, so each must be at most
  ``EPILOG_LINE_MAX`` (76) characters: indented by the formatter, it fits 80 columns. Indent
  example lines by two spaces and keep comments short.
- Every command has an ``Examples:`` block whose lines start with ``browseract <command>``.
- Docstrings and option help are prose too: one sentence, no hand wrapping, no quote marks
  (zsh completion drops them; say is not, not isn't).

tests/test_help_layout.py checks every command of the app against this at 80 and 40 columns.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from browseract_cli.context import AppContext
from browseract_cli.errors import BrowseractError
from browseract_cli.exit_codes import ExitCode
from browseract_cli.sanitize import clean


def long_running() -> None:
    """Commands that may run for hours turn the cyclic GC back on (see __main__.py)."""
    import gc

    gc.enable()


EPILOG_LINE_MAX = 76


def epilog(*paragraphs: str | Sequence[str]) -> str:
    """An epilog from prose paragraphs (``str``) and no-wrap blocks (tuples of lines)."""
    parts = []
    for paragraph in paragraphs:
        if isinstance(paragraph, str):
            parts.append(paragraph)
        else:
            parts.append("\b\n" + "\n".join(paragraph))  # click's marker for "do not rewrap"
    return "\n\n".join(parts)


def markup_mode() -> str | None:
    """Help is plain text, on a terminal too, formatted by the help formatter (not rich).

    rich's help panels cut option names below about 60 columns (``--inter…``), show type
    placeholders (``<str>``) and keep an epilog's line breaks, so they break raggedly; the plain
    formatter wraps descriptions, never cuts a name, and is what a pipe shows anyway. It also
    keeps ``--help`` from importing rich at all.
    """
    return None


def help_width() -> int:
    """The width help is wrapped to: the terminal's (COLUMNS first), at most 78 (80 minus a margin)."""
    import shutil

    return max(20, min(shutil.get_terminal_size().columns, 80) - 2)


class _HelpFormatter(typer.Context.formatter_class):  # type: ignore[misc, name-defined]
    """On a narrow terminal, each option's description goes under its name, at nearly the full
    width, instead of a column a few characters wide beside it. Names are never cut either way."""

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:  # type: ignore[no-untyped-def]
        rows = list(rows)
        first_col = min(max((len(first) for first, _ in rows), default=0), col_max) + col_spacing
        if self.width - first_col - 2 >= 24:
            super().write_dl(rows, col_max, col_spacing)
            return
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}\n")
            if second:
                self.indent()
                self.indent()
                self.write_text(second)
                self.dedent()
                self.dedent()


class HelpContext(typer.Context):
    formatter_class = _HelpFormatter


class Group(TyperGroup):
    """A command group with the project's help layout (see _HelpFormatter)."""

    context_class = HelpContext


class Command(TyperCommand):
    """A command whose usage line names its arguments as written: ``status [OPTIONS] TASK_ID...``
    (typer would print ``{TASK_ID...}``). An optional argument says so in its own metavar."""

    context_class = HelpContext

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(param.make_metavar(ctx))  # type: ignore[call-arg]
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


class Terminated(BaseException):
    """Raised by the SIGTERM handler so that cleanup (finally blocks, result records) runs."""


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = ctx.find_root().obj = AppContext()
    return obj


def command(fn: Callable[..., int]) -> Callable[..., None]:
    """A Typer command from ``fn(app: AppContext, **options) -> exit code`` (see the module doc)."""
    sig = inspect.signature(fn)
    options = list(sig.parameters.values())[1:]
    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)

    def wrapper(ctx: typer.Context, **kwargs: Any) -> None:
        app_ctx = app_context(ctx)
        run_and_exit(app_ctx, lambda: fn(app_ctx, **kwargs))

    wrapper.__name__, wrapper.__qualname__ = fn.__name__, fn.__qualname__
    wrapper.__doc__, wrapper.__module__ = fn.__doc__, fn.__module__
    wrapper.__signature__ = sig.replace(parameters=[ctx_param, *options],  # type: ignore[attr-defined]
                                        return_annotation=None)
    wrapper.__annotations__ = {"ctx": typer.Context, **{p.name: p.annotation for p in options}}
    return wrapper


def run_and_exit(app_ctx: AppContext, fn: Callable[[], int]) -> NoReturn:
    """The one mapping from errors to exit codes, applied to every command."""
    try:
        code = int(fn())
    except BrowseractError as err:
        app_ctx.out.error(err)
        code = int(err.exit_code)
    except KeyboardInterrupt:
        _safe_info(app_ctx, "interrupted")
        code = ExitCode.INTERRUPTED
    except Terminated:
        _safe_info(app_ctx, "terminated")
        code = ExitCode.TERMINATED
    except BrokenPipeError:
        code = broken_pipe_exit()
    except Exception as exc:  # a bug: one sanitised line, never a traceback (it could hold the key)
        _safe_info(app_ctx, f"internal error: {type(exc).__name__} (a bug in browseract; "
                            "please report it with the command you ran)")
        code = ExitCode.INTERNAL
    raise typer.Exit(code)


def broken_pipe_exit() -> int:
    """stdout was closed early: point it at devnull so interpreter shutdown stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return ExitCode.BROKEN_PIPE


def _safe_info(app_ctx: AppContext, text: str) -> None:
    try:
        app_ctx.out.info(clean(text, 300))
    except (OSError, ValueError):
        pass
