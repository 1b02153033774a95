"""What every ``dmmemu`` sub-command shares: one-line user errors, ``--param`` parsing, the
bundled sample.

User errors (bad traces, unknown practices, bad parameters) print one line without a
traceback and exit with status 2.
"""

from __future__ import annotations

import functools
import sys
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import click

from dmmemu.atomic_output import os_error_text
from dmmemu.errors import DmmemuError, DmmemuWarning

EXIT_USAGE = 2

def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn dmmemu's own errors into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DmmemuError, OSError) as exc:  # OSError: an output path the user named
            click.echo(f"dmmemu: error: {error_text(exc)}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


def in_option_words(exc: DmmemuError, where: str, options: dict[str, str]) -> DmmemuError:
    """``exc`` with its CLI text naming the option where its message names a keyword of
    ``where`` (``SyntheticTrace: duration_s must be …`` is ``--duration must be …``)."""
    text = str(exc)
    for keyword, option in options.items():
        prefix = f"{where}: {keyword} "
        if text.startswith(prefix):
            exc.cli = f"{option} {text[len(prefix):]}"
    return exc


def error_text(exc: DmmemuError | OSError) -> str:
    """The one line a user reads: dmmemu's message in the CLI's words, or the path and
    reason of a system error (no errno code)."""
    return exc.cli_message if isinstance(exc, DmmemuError) else os_error_text(exc)


class UserErrorGroup(click.Group):
    """Every sub-command's user errors (dmmemu's own, and a path the user named that the system
    refuses) end as one line and exit status 2, wherever they are raised."""

    def invoke(self, ctx: click.Context) -> Any:
        previous = warnings.showwarning

        def show(message, category, *args: Any, **kwargs: Any) -> None:
            if issubclass(category, DmmemuWarning):  # said to the user, in one line
                click.echo(f"dmmemu: warning: {message}", err=True)
            else:
                previous(message, category, *args, **kwargs)

        warnings.showwarning = show
        for caught in getattr(self, "startup_warnings", ()):
            show(caught.message, caught.category)
        try:
            return super().invoke(ctx)
        except (DmmemuError, OSError) as exc:
            click.echo(f"dmmemu: error: {error_text(exc)}", err=True)
            ctx.exit(EXIT_USAGE)
        finally:
            warnings.showwarning = previous


def sample_trace_path() -> Path:
    """The bundled sample trace: ``traces/sample`` of a source checkout, else the installed copy."""
    checkout = Path(__file__).resolve().parents[2] / "traces" / "sample"
    for local in (Path("traces") / "sample", checkout):
        if (local / "trace.toml").is_file():
            return local
    return Path(str(resources.files("dmmemu") / "traces" / "sample"))


def parse_params(pairs: tuple[str, ...], option: str = "--param") -> dict[str, Any]:
    """``--param key=value`` pairs; values are read as TOML scalars (numbers, true/false,
    quoted strings, arrays), anything else as a plain string."""
    from dmmemu.topology.graph import tomllib

    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint=option)
        try:
            params[key.strip()] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            params[key.strip()] = text
    return params
