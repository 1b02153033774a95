"""Column checks shared by the readers of every trace file.

Each check raises ``TraceError`` naming the file, the column, the first offending row
(0-based, plus ``offset`` for a part of a file) and its value, in the words of the format
(``docs/traces.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dmmemu.errors import TraceError
from dmmemu.topology.graph import Topology


def arrow_schema(columns: dict[str, np.dtype],
                 optional: dict[str, pa.DataType] | None = None) -> pa.Schema:
    """The Arrow schema of a file's columns (as written, and as read back)."""
    fields = [(name, pa.from_numpy_dtype(dtype)) for name, dtype in columns.items()]
    return pa.schema(fields + list((optional or {}).items()))


# What pyarrow raises on a damaged file: its own errors, I/O errors, and a footer whose
# bytes no longer decode (UnicodeDecodeError, a ValueError).
UNREADABLE = (pa.ArrowException, OSError, ValueError)


def _parquet_file(path: Path, file: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except FileNotFoundError:
        raise TraceError("missing file", file=file) from None
    except UNREADABLE as exc:
        raise TraceError(f"not a readable Parquet file: {exc}", file=file) from None


def _read_table(path: Path, file: str, *, required: dict[str, np.dtype],
                optional: Sequence[str], allow_empty: bool = False) -> pa.Table:
    """A whole small Parquet file, after checking its column names; empty is an error
    unless ``allow_empty``."""
    if not path.is_file():
        raise TraceError("missing file; every trace needs it", file=file)
    with _parquet_file(path, file) as pf:
        _check_names(pf.schema_arrow.names, required, optional, file=file)
        try:
            table = pf.read()
        except UNREADABLE as exc:
            raise TraceError(f"not a readable Parquet file: {exc}", file=file) from None
    if table.num_rows == 0 and not allow_empty:
        raise TraceError("the file has no rows; a trace needs at least one", file=file)
    return table


def _check_names(names: list[str], required: dict[str, np.dtype], optional: Sequence[str],
                 *, file: str) -> None:
    for name in required:
        if name not in names:
            raise TraceError(
                f"missing column; the file needs columns {', '.join(required)}",
                file=file, column=name,
            )
    allowed = [*required, *optional]
    for name in names:
        if name not in allowed:
            raise TraceError(
                f"unknown column; allowed columns are {', '.join(allowed)} (rename or drop it)",
                file=file, column=name,
            )
    seen = set()
    for name in names:
        if name in seen:
            raise TraceError("column appears twice; keep one", file=file, column=name)
        seen.add(name)


def _integer_type(col: pa.ChunkedArray | pa.Array | pa.Field, dtype: np.dtype, *, file: str,
                  column: str) -> None:
    if not pa.types.is_integer(col.type):
        raise TraceError(
            f"has Arrow type {col.type} but must hold integers; store it as "
            f"{pa.from_numpy_dtype(dtype)} (any integer type whose values fit is accepted)",
            file=file, column=column,
        )


def _integers(col: pa.ChunkedArray | pa.Array, dtype: np.dtype, *, file: str, column: str,
              offset: int = 0) -> np.ndarray:
    """A non-null integer column as numpy ``dtype``: zero-copy when the type already matches,
    else cast after checking that every value fits (the first that does not is named)."""
    _integer_type(col, dtype, file=file, column=column)
    arr = _one_chunk(col)
    if arr.null_count:
        _raise_first(_is_null(arr), None, file=file, column=column, offset=offset,
                     message="must not be null; every row needs a value")
    values = _numpy(arr)
    if values.dtype == dtype:
        return values
    info = np.iinfo(dtype)
    _raise_first(
        _outside(values, int(info.min), int(info.max)), values, file=file, column=column,
        offset=offset, message=f"does not fit {dtype} ({info.min}..{info.max})",
    )
    return values.astype(dtype)


def _optional_integers(col: pa.ChunkedArray | pa.Array, dtype: np.dtype, *, file: str,
                       column: str) -> pa.Array:
    """An integer column that may hold nulls, as an Arrow array of exactly ``dtype`` (nulls
    kept), after checking that every value fits; a column of nulls only may have type null."""
    arr = _one_chunk(col)
    target = pa.from_numpy_dtype(dtype)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), target)
    _integer_type(arr, dtype, file=file, column=column)
    valid = _not_null(arr)
    values = _numpy(pc.fill_null(arr, 0))
    info = np.iinfo(dtype)
    _raise_first(
        valid & _outside(values, int(info.min), int(info.max)), values, file=file,
        column=column, message=f"does not fit {dtype} ({info.min}..{info.max})",
    )
    return pa.array(values.astype(dtype), type=target, mask=~valid)


def _booleans(col: pa.ChunkedArray | pa.Array, *, file: str, column: str,
              meaning: str) -> np.ndarray:
    """A non-null bool column as numpy; ``meaning`` says what true means, for the message."""
    if not pa.types.is_boolean(col.type):
        raise TraceError(f"has Arrow type {col.type}; store it as bool ({meaning})",
                         file=file, column=column)
    arr = _one_chunk(col)
    if arr.null_count:
        _raise_first(_is_null(arr), None, file=file, column=column,
                     message="must not be null; every row needs a value")
    return arr.to_numpy(zero_copy_only=False)


def _sorted_times(t: np.ndarray, *, file: str, column: str = "t") -> None:
    """Times are >= 0 and do not decrease from one row to the next."""
    _times(t, file=file, column=column)
    _raise_first(
        t[1:] < t[:-1], t[1:], file=file, column=column, offset=1,
        message=f"rows must be sorted by {column}; this row is earlier than the row before "
        f"it (sort {Path(file).name} by {column}, keeping the order of rows with equal "
        f"{column})",
    )


def _one_chunk(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array; a single chunk is taken as it is (no copy)."""
    if isinstance(col, pa.Array):
        return col
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _numpy(arr: pa.Array) -> np.ndarray:
    """A null-free primitive Arrow array as a read-only numpy view (no copy)."""
    return arr.to_numpy(zero_copy_only=True)


def _is_null(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.is_null(arr).to_numpy(zero_copy_only=False)


def _not_null(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.is_valid(arr).to_numpy(zero_copy_only=False)


def _outside(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``values < lo | values > hi``, exact for every integer dtype (bounds that the dtype
    cannot hold are never crossed, so they are not compared)."""
    info = np.iinfo(values.dtype)
    bad = np.zeros(values.shape, dtype=bool)
    if lo > info.min:
        bad |= values < values.dtype.type(lo) if lo <= info.max else True
    if hi < info.max:
        bad |= values > values.dtype.type(hi) if hi >= info.min else True
    return bad


def _times(t: np.ndarray, *, file: str, column: str) -> None:
    _raise_first(
        t < 0, t, file=file, column=column,
        message="times must be int64 nanoseconds >= 0; shift the trace to start at 0 or later",
    )


def _role_mask(topology: Topology, role: str) -> np.ndarray:
    mask = np.zeros(topology.n_nodes, dtype=bool)
    mask[topology.nodes_with_role(role)] = True
    return mask


def _id_list(ids: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    if ids.size > limit:
        shown += f", … ({ids.size} in all)"
    return shown or "none"


def _raise_first(bad: np.ndarray, values: np.ndarray | None, *, file: str, column: str,
                 message: str, offset: int = 0) -> None:
    """Raise for the first True row of ``bad`` (``offset`` + index is its row in the file)."""
    hits = np.flatnonzero(bad)
    if hits.size == 0:
        return
    i = int(hits[0])
    value = values[i].item() if values is not None else None
    raise TraceError(message, file=file, column=column, row=offset + i, value=value)


def _other_mn(values: np.ndarray, used: np.ndarray, own: np.ndarray, mobile_nodes: np.ndarray,
              *, file: str, column: str, unknown: str, itself: str) -> None:
    """Where ``used``, ``values`` name another MN of mobility.parquet (``mobile_nodes``) than
    the row's ``own``: a mobile router, the other end of an MN-to-MN flow."""
    _raise_first(used & ~np.isin(values, mobile_nodes), values, file=file, column=column,
                 message=unknown)
    _raise_first(used & (values == own), values, file=file, column=column, message=itself)

