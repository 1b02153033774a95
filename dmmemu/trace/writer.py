"""write_trace: one function that writes a complete, valid trace directory atomically.

Generators, importers and tests all write traces through it, so every trace on disk has the
exact Arrow types of the format, zstd compression and row-group statistics (which
``Trace.open`` uses to check ``packets.parquet`` without reading it). The directory is built
as a hidden sibling, validated with the same code as ``Trace.open``, and only then renamed
into place: a reader never sees a half-written trace.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping, Union

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import tomli_w

from dmmemu.atomic_output import check_target, move_into_place, staging_directory
from dmmemu.engine.replay_io import PacketBatch
from dmmemu.errors import TraceError
from dmmemu.topology.graph import Topology
from dmmemu.trace.mobile_networks import NETWORKS_SCHEMA
from dmmemu.trace.reader import (
    FLOW_COLUMNS,
    FLOW_OPTIONAL_TYPES,
    FLOWS_FILE,
    MANIFEST_KEYS,
    MOBILITY_COLUMNS,
    MOBILITY_FILE,
    NETWORKS_FILE,
    PACKET_COLUMNS,
    PACKETS_FILE,
    TOPOLOGY_TOML,
    TRACE_TOML,
    _load,
    arrow_schema,
    is_trace_directory,
)

Columns = Union[pl.DataFrame, Mapping[str, Any]]
PacketChunk = Union[pl.DataFrame, Mapping[str, Any], PacketBatch]

MOBILITY_SCHEMA = arrow_schema(MOBILITY_COLUMNS)
FLOWS_WRITE_SCHEMA = arrow_schema(FLOW_COLUMNS, FLOW_OPTIONAL_TYPES)
FLOWS_REQUIRED = tuple(FLOW_COLUMNS)
PACKETS_SCHEMA = arrow_schema(PACKET_COLUMNS)
COMPRESSION = "zstd"


def write_trace(
    path: str | Path,
    *,
    name: str,
    topology: Topology,
    mobility: Columns,
    flows: Columns,
    packets: Columns | Iterable[PacketChunk] | None = None,
    networks: Columns | None = None,
    manifest: Mapping[str, Any] | None = None,
    row_group_rows: int = 1_000_000,
    overwrite: bool = False,
) -> Path:
    """Write the trace directory ``path`` and return it.

    ``mobility``, ``flows`` and ``packets`` are polars DataFrames or dicts of numpy arrays
    with the format's columns (any numeric dtype whose values fit is cast); ``packets`` may
    also be an iterable of such chunks (or ``PacketBatch``), written as they come, so a
    generator never holds all its packets. ``networks`` (``t``, ``mn``, ``router``; a null
    router, or -1 in an integer array, rides alone) becomes networks.parquet, the mobile
    routers each MN rides behind. ``manifest`` holds the optional trace.toml keys
    (``description``, ``source``, ``licence``, ``generator``, ``seed``, ``params``).
    An existing trace is replaced only with ``overwrite=True``, and no other non-empty
    directory ever (``check_trace_target``). Raises ``TraceError`` (naming the final path)
    when the content is not a valid trace.
    """
    path = Path(path)
    if row_group_rows < 1:
        raise ValueError(f"row_group_rows must be >= 1, got {row_group_rows}")
    replace = check_trace_target(path, overwrite=overwrite)
    fields = _manifest(name, manifest, file=str(path / TRACE_TOML))
    tmp = staging_directory(path)
    try:
        (tmp / TRACE_TOML).write_text(tomli_w.dumps(_toml_ready(fields)), encoding="utf-8")
        topology.to_toml(tmp / TOPOLOGY_TOML)
        _write_table(
            _table(mobility, MOBILITY_SCHEMA, MOBILITY_SCHEMA.names, str(path / MOBILITY_FILE)),
            tmp / MOBILITY_FILE, row_group_rows,
        )
        _write_table(
            _table(flows, FLOWS_WRITE_SCHEMA, FLOWS_REQUIRED, str(path / FLOWS_FILE)),
            tmp / FLOWS_FILE, row_group_rows,
        )
        if packets is not None:
            _write_packets(packets, tmp / PACKETS_FILE, row_group_rows, str(path / PACKETS_FILE))
        if networks is not None:
            _write_table(_network_table(networks, str(path / NETWORKS_FILE)),
                         tmp / NETWORKS_FILE, row_group_rows)
        _load(tmp, shown=path, topology=topology)
        move_into_place(tmp, path, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def check_trace_target(path: str | Path, *, overwrite: bool,
                       inputs: Iterable[str | Path] = ()) -> bool:
    """Whether a trace may be written at ``path`` (True: an existing trace is replaced, with
    ``overwrite``); raises ``OutputError`` for a file, a directory that is not a trace, the
    ``inputs`` the trace is made from, or a trace without ``overwrite``. Generators and
    importers call it before their work, ``write_trace`` again before the rename."""
    return check_target(Path(path), overwrite=overwrite, owned=is_trace_directory,
                        what="a trace", inputs=[Path(p) for p in inputs])


# -------------------------------------------------------------------- trace.toml
def _toml_ready(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and tuples as lists, for tomli-w."""
    if isinstance(value, Mapping):
        return {str(k): _toml_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_toml_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value

def _manifest(name: str, manifest: Mapping[str, Any] | None, *, file: str) -> dict[str, Any]:
    fields = dict(manifest or {})
    if "name" in fields and fields["name"] != name:
        raise TraceError(
            f"manifest name {fields['name']!r} differs from name={name!r}; give it once",
            file=file,
        )
    fields["name"] = name
    for key in fields:
        if key not in MANIFEST_KEYS:
            raise TraceError(
                f"unknown manifest key {key!r}; allowed keys are {', '.join(MANIFEST_KEYS)} "
                "(put free-form settings under 'params')",
                file=file,
            )
    # name first, then the format's order, then [params] last (a table must follow keys).
    return {key: fields[key] for key in MANIFEST_KEYS if key in fields}


# -------------------------------------------------------------------- Parquet
def _network_table(data: Columns, file: str) -> pa.Table:
    """networks.parquet's rows; -1 in an integer ``router`` column means null (alone)."""
    if isinstance(data, Mapping) and not isinstance(data.get("router"), (pa.Array,
                                                                         pa.ChunkedArray)):
        router = np.asarray(data["router"])
        if router.dtype.kind == "i":
            data = {**data, "router": pa.array(router, mask=router < 0).cast(pa.int64())}
    return _table(data, NETWORKS_SCHEMA, NETWORKS_SCHEMA.names, file)


def _table(data: Columns | PacketBatch, schema: pa.Schema, required: Iterable[str],
           file: str) -> pa.Table:
    """The columns of ``data`` present in ``schema``, cast to its exact types."""
    if isinstance(data, PacketBatch):
        data = {"t": data.t, "flow": data.flow, "size": data.size, "dir": data.dir}
    if isinstance(data, pl.DataFrame):
        columns = dict(zip(data.columns, data.to_arrow().columns))
    elif isinstance(data, Mapping):
        columns = {
            key: value if isinstance(value, (pa.Array, pa.ChunkedArray)) else pa.array(value)
            for key, value in data.items()
        }
    else:
        raise TypeError(
            f"{file}: expected a polars DataFrame or a dict of arrays, got {type(data).__name__}"
        )
    for key in columns:
        if key not in schema.names:
            raise TraceError(
                f"unknown column; allowed columns are {', '.join(schema.names)}",
                file=file, column=key,
            )
    for key in required:
        if key not in columns:
            raise TraceError("missing column", file=file, column=key)
    arrays, fields = [], []
    for spec in schema:
        if spec.name not in columns:
            continue
        try:
            arrays.append(columns[spec.name].cast(spec.type, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise TraceError(
                f"cannot be stored as {spec.type}: {exc}", file=file, column=spec.name
            ) from None
        fields.append(spec)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _write_table(table: pa.Table, path: Path, row_group_rows: int) -> None:
    pq.write_table(table, path, compression=COMPRESSION, row_group_size=row_group_rows)


def _write_packets(packets: Columns | Iterable[PacketChunk], path: Path, row_group_rows: int,
                   file: str) -> None:
    """Write packets in row groups of exactly ``row_group_rows`` (the last may be shorter)."""
    if isinstance(packets, (pl.DataFrame, Mapping, PacketBatch)):
        packets = [packets]
    with pq.ParquetWriter(path, PACKETS_SCHEMA, compression=COMPRESSION) as writer:
        pending: list[pa.Table] = []
        held = 0
        for chunk in packets:
            table = _table(chunk, PACKETS_SCHEMA, PACKETS_SCHEMA.names, file)
            pending.append(table)
            held += table.num_rows
            if held >= row_group_rows:
                whole = pa.concat_tables(pending)
                cut = held - held % row_group_rows
                writer.write_table(whole.slice(0, cut), row_group_size=row_group_rows)
                pending, held = [whole.slice(cut)], held - cut
        if held:
            writer.write_table(pa.concat_tables(pending), row_group_size=row_group_rows)
