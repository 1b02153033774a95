"""The ``dmmemu`` command driven in-process, stderr kept apart: shared by CLI test modules."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dmmemu.cli import main


def invoke(*args: str | Path) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``dmmemu ARGS``; an exception other than the exit
    of a user error fails the test."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click 8.2 keeps them apart by default
        runner = CliRunner()
    result = runner.invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.stdout, result.stderr
