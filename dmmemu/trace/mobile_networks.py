"""``networks.parquet``: which MN rides behind which mobile router, from when (NEMO, RFC 3963).

Each row says that from time ``t`` the MN ``mn`` rides behind the mobile router ``router``
(itself an MN of the trace), or, with ``router`` null, on its own again. Rows apply in file
order; a router may itself ride behind another router (nested mobile networks, at most
``MAX_NETWORK_DEPTH`` routers above one MN), but no MN may end up behind itself. Read and
validated at open (``docs/traces.md``); replayed by practices with mobile network support
(``nemo``, ``docs/semantics.md`` §16), while the others replay every MN on its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from dmmemu.engine.replay_io import MAX_NETWORK_DEPTH
from dmmemu.errors import TraceError
from dmmemu.trace._columns import (
    _id_list,
    _integers,
    _not_null,
    _optional_integers,
    _other_mn,
    _raise_first,
    _read_table,
    _sorted_times,
    arrow_schema,
)

NETWORK_COLUMNS: dict[str, np.dtype] = {
    "t": np.dtype(np.int64),
    "mn": np.dtype(np.uint32),
    "router": np.dtype(np.uint32),  # null: the MN rides on its own from t
}
NETWORKS_SCHEMA = arrow_schema(NETWORK_COLUMNS)


def read_networks(path: Path, shown: Path, mobile_nodes: np.ndarray) -> tuple[pl.DataFrame, int]:
    """The rows of ``networks.parquet`` in file order, checked against the MNs that
    ``mobility.parquet`` names (``mobile_nodes``, sorted and unique), and the most routers
    above one MN at any time; errors name ``shown``."""
    file = str(shown)
    table = _read_table(path, file, required=NETWORK_COLUMNS, optional=(), allow_empty=True)
    t = _integers(table.column("t"), NETWORK_COLUMNS["t"], file=file, column="t")
    _sorted_times(t, file=file)
    mn = _integers(table.column("mn"), NETWORK_COLUMNS["mn"], file=file, column="mn")
    router = _optional_integers(table.column("router"), NETWORK_COLUMNS["router"], file=file,
                                column="router")
    behind = _not_null(router)
    router_ids = router.fill_null(0).to_numpy()
    known = f"MNs of mobility.parquet: {_id_list(mobile_nodes)}"
    _raise_first(
        ~np.isin(mn, mobile_nodes), mn, file=file, column="mn",
        message=f"must be an MN that mobility.parquet names ({known})",
    )
    _other_mn(router_ids, behind, mn, mobile_nodes, file=file, column="router",
              unknown=f"must be null (the MN rides on its own) or the MN of a mobile router "
              f"that mobility.parquet names ({known})",
              itself="an MN cannot ride behind itself; name another MN, or null to ride alone")
    depth = nesting_depth(mn, np.where(behind, router_ids.astype(np.int64), -1), file=file)
    rows = pl.from_arrow(pa.table([pa.array(t), pa.array(mn), router], schema=NETWORKS_SCHEMA))
    return rows, depth


def nesting_depth(mn: np.ndarray, router: np.ndarray, *, file: str = "networks.parquet") -> int:
    """The most routers one MN rides behind at any time, applying the rows (MN, router or
    -1) in order; a row after which an MN would ride behind itself, or behind more than
    MAX_NETWORK_DEPTH routers, is a TraceError naming ``file``."""
    riding: dict[int, int] = {}  # MN -> the router it rides behind now
    riders: dict[int, set[int]] = {}  # router -> the MNs that ride behind it now
    deepest = 0
    for row, (node, up) in enumerate(zip(mn.tolist(), router.tolist())):
        if node in riding:
            riders[riding.pop(node)].discard(node)
        if up < 0:
            continue
        chain = [node, up]
        while chain[-1] in riding:
            chain.append(riding[chain[-1]])
            if chain[-1] == node:
                raise TraceError(
                    f"MN {node} would ride behind itself ({' behind '.join(map(str, chain))}); "
                    "a mobile router cannot be inside its own mobile network (let the other "
                    "MN ride alone first, in an earlier row)",
                    file=file, column="router", row=row, value=up,
                )
        riding[node] = up
        riders.setdefault(up, set()).add(node)
        # The deepest MN now is in the network of `node`: routers above it, then below it.
        depth = len(chain) - 1 + _height(node, riders)
        if depth > MAX_NETWORK_DEPTH:
            raise TraceError(
                f"an MN would ride behind {depth} mobile routers at once; at most "
                f"{MAX_NETWORK_DEPTH} nest (a network inside a network inside a network)",
                file=file, column="router", row=row, value=up,
            )
        deepest = max(deepest, depth)
    return deepest


def _height(node: int, riders: dict[int, set[int]]) -> int:
    """How many levels of mobile networks ride below ``node`` (0: no rider)."""
    below = riders.get(node)
    return 1 + max(_height(r, riders) for r in below) if below else 0
