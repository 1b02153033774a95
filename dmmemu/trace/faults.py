"""``faults.parquet``: nodes and links that go down and come back up, planned or not.

Each row is a node event (``node`` set, ``a`` and ``b`` null) or a link event (``node`` null,
``a`` and ``b`` the two ends of a link of the topology): from time ``t`` that node or link is
down (``up`` false) or up again (``up`` true). Every node and link starts up, and each row
changes the state of its node or link. ``planned`` is the notice, in ns, with which the
event was announced (planned maintenance); null means unannounced. Read and validated at open
(``docs/traces.md``); no practice of this version replays it, so a run refuses a trace that
has rows here (``dmmemu.trace.reader.unsupported_inputs``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from dmmemu.errors import TraceError
from dmmemu.topology.graph import Topology
from dmmemu.trace._columns import (
    _booleans,
    _integers,
    _not_null,
    _optional_integers,
    _raise_first,
    _read_table,
    _sorted_times,
    arrow_schema,
)

FAULT_COLUMNS: dict[str, np.dtype] = {
    "t": np.dtype(np.int64),
    "node": np.dtype(np.uint32),  # null on a link event
    "up": np.dtype(np.bool_),
}
FAULT_OPTIONAL_COLUMNS: dict[str, np.dtype] = {
    "a": np.dtype(np.uint32),  # one end of the link (with b), or null
    "b": np.dtype(np.uint32),
    "planned": np.dtype(np.int64),  # notice in ns, >= 0; null: unannounced
}
FAULTS_SCHEMA = arrow_schema({**FAULT_COLUMNS, **FAULT_OPTIONAL_COLUMNS})


def read_faults(path: Path, shown: Path, topology: Topology) -> pl.DataFrame:
    """The rows of ``faults.parquet`` in file order with every column of ``FAULTS_SCHEMA``
    (absent optional columns are null); errors name ``shown``."""
    file = str(shown)
    table = _read_table(path, file, required=FAULT_COLUMNS, optional=tuple(FAULT_OPTIONAL_COLUMNS),
                        allow_empty=True)
    t = _integers(table.column("t"), FAULT_COLUMNS["t"], file=file, column="t")
    _sorted_times(t, file=file)
    up = _booleans(table.column("up"), file=file, column="up",
                   meaning="true: the node or link is up again from t, false: it is down")
    columns = {"node": _optional_integers(table.column("node"), FAULT_COLUMNS["node"],
                                          file=file, column="node")}
    for name, dtype in FAULT_OPTIONAL_COLUMNS.items():
        columns[name] = (
            _optional_integers(table.column(name), dtype, file=file, column=name)
            if name in table.column_names else pa.nulls(table.num_rows, pa.from_numpy_dtype(dtype))
        )
    has = {name: _not_null(col) for name, col in columns.items()}
    ids = {name: columns[name].fill_null(0).to_numpy() for name in ("node", "a", "b")}
    half = np.flatnonzero(has["a"] != has["b"])
    if half.size:
        row = int(half[0])
        raise TraceError(
            "a and b name the two ends of a link together: set both, or neither for a node "
            "event", file=file, column="b" if has["a"][row] else "a", row=row,
        )
    link = has["a"]
    _raise_first(
        ~has["node"] & ~link, None, file=file, column="node",
        message="must not be null unless a and b name a link; every row takes a node or a "
        "link down or up",
    )
    _raise_first(
        has["node"] & link, ids["node"], file=file, column="node",
        message="a row is a node event (node) or a link event (a, b), not both: set node to "
        "null on a link event, or put the two events on rows of their own",
    )
    n = topology.n_nodes
    for name in ("node", "a", "b"):
        _raise_first(
            has[name] & (ids[name] >= n), ids[name], file=file, column=name,
            message=f"must be the id of a node of the topology (0..{n - 1})",
        )
    ends = np.stack([np.minimum(ids["a"], ids["b"]), np.maximum(ids["a"], ids["b"])],
                    axis=1).astype(np.int64)
    linked = [min(lk.a, lk.b) * n + max(lk.a, lk.b) for lk in topology.links]
    _raise_first(
        link & ~np.isin(ends[:, 0] * n + ends[:, 1], linked), ids["b"], file=file, column="b",
        message="(a, b) must be the two ends of a [[link]] of topology.toml; these two nodes "
        "are not linked",
    )
    planned = columns["planned"]
    notice = planned.fill_null(0).to_numpy()
    _raise_first(
        notice < 0, notice, file=file, column="planned",
        message="the notice is a duration in ns and must be >= 0 (null: unannounced)",
    )
    _check_changes(up, has["node"], ids["node"], ends, file=file)
    return pl.from_arrow(pa.table(
        [pa.array(t), columns["node"], pa.array(up), columns["a"], columns["b"], planned],
        schema=FAULTS_SCHEMA,
    ))


def _check_changes(up: np.ndarray, is_node: np.ndarray, node: np.ndarray, ends: np.ndarray,
                   *, file: str) -> None:
    """Every row changes the state of its node or link; all start up."""
    since: dict[tuple[int, ...], int] = {}  # node or link -> row that took it to its state
    down: set[tuple[int, ...]] = set()
    for row in range(up.size):
        key = (int(node[row]),) if is_node[row] else (int(ends[row, 0]), int(ends[row, 1]))
        if bool(up[row]) != (key in down):
            what = f"node {key[0]}" if len(key) == 1 else f"link {key[0]}-{key[1]}"
            state = "up" if up[row] else "down"
            earlier = (f"since row {since[key]}" if key in since
                       else "from the start (every node and link starts up)")
            raise TraceError(
                f"{what} is already {state} {earlier}; each row must take its node or link "
                "down, or bring it up again",
                file=file, column="up", row=row, value=bool(up[row]),
            )
        (down.discard if up[row] else down.add)(key)
        since[key] = row
