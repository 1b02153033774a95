"""Tabular input of the importers: delimited text or Parquet rows with their line (or row)
numbers kept, so every error can name the file, line and field; and the SHA-256 that ties a
trace to its source file."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Sequence

import polars as pl

from dmmemu.errors import TraceError

MISSING = ("", "-")  # values read as null
LINE = "_line"  # 1-based line of a row in a text file (the header is line 1)
ROW = "_row"  # 0-based row of a row in a Parquet file


def read_rows(path: str | Path, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """A delimited text file as strings with a ``_line`` column (header = line 1): stripped
    values, ``-`` and empty as null, blank lines skipped. The separator is read from the
    header line (tab, else ``;`` without ``,``, else ``,``). With ``columns``, only those are
    cleaned (the others are left as read, for error messages to list)."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            header = handle.readline().decode("utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise TraceError("file not found", file=file) from None
    except IsADirectoryError:
        raise TraceError("is a directory; expected a text file", file=file) from None
    if not header.strip():
        raise TraceError("the first line is empty; expected a header line",
                         file=f"{file}, line 1")
    separator = "\t" if "\t" in header else ";" if ";" in header and "," not in header else ","
    try:
        raw = pl.read_csv(path, separator=separator, infer_schema=False,
                          encoding="utf8-lossy", truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as exc:
        line = _long_line(path, separator)
        if line is not None:
            raise TraceError(f"more fields than the header's {line[1]}",
                             file=f"{file}, line {line[0]}") from None
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TraceError(f"not a readable delimited text file: {reason}", file=file) from None
    names = [name.strip() for name in raw.columns]
    twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if twice is not None:
        raise TraceError("two columns have this name", file=f"{file}, line 1", column=twice)
    raw = raw.rename(dict(zip(raw.columns, names)))
    cleaned = names if columns is None else [name for name in names if name in set(columns)]
    values = pl.col(cleaned).str.strip_chars()
    return (
        raw.with_row_index(LINE, offset=2)
        .filter(~pl.all_horizontal(pl.exclude(LINE).is_null()))
        .with_columns(pl.when(values.is_in(MISSING)).then(None).otherwise(values).name.keep())
    )


def _long_line(path: str | Path, separator: str) -> tuple[int, int] | None:
    """The first line with more fields than the header and the header's field count, found
    row by row: only called after polars has refused the file, to name the line."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=separator)
        width = len(next(reader, []))
        for fields in reader:
            if len(fields) > width:
                return reader.line_num, width
    return None


def require_column(frame: pl.DataFrame, name: str, *, file: str, hint: str = "") -> None:
    """Raise a ``TraceError`` (on the header line of a text file) when ``frame`` lacks the
    column ``name``."""
    if name not in frame.columns:
        found = ", ".join(c for c in frame.columns if c not in (LINE, ROW))
        where = f"{file}, line 1" if LINE in frame.columns else file
        raise TraceError(f"missing column {name} {hint}".rstrip() + f"; the columns are: {found}",
                         file=where, column=name)


def raise_at_first(frame: pl.DataFrame, bad: pl.Expr, *, file: str, column: str,
                   message: str, value_column: str | None = None) -> None:
    """Raise a ``TraceError`` naming the column, the original value (from ``value_column``,
    default ``column``) and the first row of ``frame`` where ``bad`` is true:
    ``file, line n`` when ``frame`` has ``_line`` (text), else the 0-based ``_row``
    (Parquet)."""
    where = LINE if LINE in frame.columns else ROW
    hit = frame.select(where, _value=pl.col(value_column or column),
                       _bad=bad.fill_null(False)).filter("_bad").head(1)
    if hit.height:
        at = int(hit[where][0])
        raise TraceError(message, file=f"{file}, line {at}" if where == LINE else file,
                         row=None if where == LINE else at, column=column,
                         value=hit["_value"][0])


def in_time_order(records: pl.DataFrame, *, fields: Sequence[str], by: str | None,
                  max_skew_ns: int, file: str, column: str, value_column: str,
                  skew_keyword: str, skew_option: str) -> tuple[pl.DataFrame, dict[str, int]]:
    """The cleaning rules every log importer shares, in this order. **Duplicates**: rows
    equal in every one of ``fields`` (the time ``t`` after parsing among them) are one row,
    the first kept. **Clock steps**: taking the rows of each ``by`` group (one drive, one
    user; all rows when None) in file order, a row earlier than the latest earlier row by at
    most ``max_skew_ns`` is put back in its place (a logger's step back, logs merged from
    several sources); by more, it is a ``TraceError`` naming the row (``column``, the raw
    value from ``value_column``), and the hint names the limit's parameter
    (``skew_keyword``, and ``skew_option`` in the CLI's words). Returns the rows
    sorted by group, time and file order (stable: equal times keep file order), and the
    counts ``duplicates`` and ``reordered``."""
    where = LINE if LINE in records.columns else ROW
    unique = records.unique(subset=list(fields), keep="first", maintain_order=True)
    latest = pl.col("t").cum_max().shift(1)
    latest = latest.over(by) if by is not None else latest
    stepped = unique.with_columns(_back=latest - pl.col("t"))
    def hint(name: str) -> str:
        return (f"earlier than an earlier row{' of the same ' + by if by else ''} by more "
                f"than {name} ({max_skew_ns / 1e9:g} s); fix the clock or raise {name}")

    try:
        raise_at_first(stepped, pl.col("_back") > max_skew_ns, file=file, column=column,
                       value_column=value_column, message=hint(skew_keyword))
    except TraceError as exc:
        exc.cli = str(exc).replace(hint(skew_keyword), hint(skew_option))
        raise
    counts = {"duplicates": records.height - unique.height,
              "reordered": int(stepped["_back"].gt(0).sum())}
    keys = ([by] if by is not None else []) + ["t", where]
    return stepped.sort(keys, maintain_order=True).drop("_back"), counts


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a source file, recorded in ``trace.toml`` to tie a trace to its input."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
