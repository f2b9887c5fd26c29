"""Command modules: each parses its options and hands them to a run_* function.

A command is a function ``name(app: AppContext, **options) -> exit code`` decorated with
``@command``: the decorator gives it the app context and the one error -> exit-code mapping
(``run_and_exit``), and shows Typer a ``ctx: typer.Context`` parameter in place of ``app``.
Its options are ``Annotated`` parameters, many of them shared (options.py).
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer

from browseract_cli.context import AppContext
from browseract_cli.errors import BrowseractError
from browseract_cli.exit_codes import ExitCode
from browseract_cli.sanitize import clean


def long_running() -> None:
    """Commands that may run for hours turn the cyclic GC back on (see __main__.py)."""
    import gc

    gc.enable()


def markup_mode() -> str | None:
    """Help is styled by rich only on a terminal; off a terminal rich is never imported."""
    from browseract_cli.render import styling_wanted

    return "rich" if styling_wanted(sys.stdout, no_color="--no-color" in sys.argv) else None


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
