"""Exception types: each names what the user must fix."""

from __future__ import annotations


class DmmemuError(Exception):
    """Base of every error dmmemu raises on purpose.

    ``cli`` is the same message in the command line's words (``--overwrite`` where the
    library says ``overwrite=True``), when they differ; the CLI prints ``cli_message``."""

    def __init__(self, *args: object, cli: str | None = None) -> None:
        super().__init__(*args)
        self.cli = cli

    @property
    def cli_message(self) -> str:
        return self.cli if self.cli is not None else str(self)


class TraceError(DmmemuError):
    """A trace file violates the trace format (names file, column, row and value)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
    ) -> None:
        parts = []
        if file is not None:
            parts.append(str(file))
        if column is not None:
            parts.append(f"column {column!r}")
        if row is not None:
            parts.append(f"row {row}")
        if value is not None:
            parts.append(f"value {value!r}")
        where = ", ".join(parts)
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.column = column
        self.row = row
        self.value = value


class TopologyError(DmmemuError):
    """A topology is malformed (unknown node, bad link, unreachable node, missing role)."""


class PracticeError(DmmemuError):
    """A practice key or parameter is invalid, or the practice cannot run on a topology."""


class PacketRowError(DmmemuError):
    """A packet row failed a check inside an engine; the trace layer adds the file name."""

    def __init__(self, column: str, row: int, value: object, reason: str) -> None:
        super().__init__(f"column {column!r}, row {row}, value {value!r}: {reason}")
        self.column = column
        self.row = row
        self.value = value
        self.reason = reason


class OutputError(DmmemuError):
    """An output cannot be written where it was asked for (an input there, earlier results
    not to be replaced, a full disk); nothing was written."""


class DmmemuWarning(UserWarning):
    """Base of dmmemu's warnings: something was left out or cleaned, and said so."""
