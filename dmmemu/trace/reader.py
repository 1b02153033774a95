"""Trace: a validated trace directory, turned into what the engines read.

``Trace.open`` checks the whole trace once, in Python and Arrow, so the engines can assume a
well-formed input: every violation raises ``TraceError`` naming the file, column, first
offending row (0-based, in that file) and its value. ``mobility.parquet`` and
``flows.parquet`` are read whole (they are O(MNs + flows)); ``packets.parquet`` is only
inspected through its metadata and statistics at open and then streamed one row group at a
time, so memory never holds the packet file. The checks that need every packet row
(sortedness inside a row group, unknown flows, times outside a flow's span) are the engines'
while they stream; they raise ``PacketRowError``, which ``Trace.packet_error`` turns into a
``TraceError`` naming ``packets.parquet``.

``networks.parquet`` (mobile networks) and ``faults.parquet`` are read and validated too
(``dmmemu.trace.mobile_networks``, ``dmmemu.trace.faults``) and exposed as ``Trace.networks``
and ``Trace.faults``. Practices with mobile network support replay the first (the others
replay every MN on its own); no practice of this version replays faults, and
``unsupported_inputs`` says so for a run to refuse the trace.

Format: ``docs/traces.md``; replay rules: ``docs/semantics.md``.
"""

from __future__ import annotations

import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dmmemu.engine.flow_classes import ADDRESS_TYPES
from dmmemu.engine.replay_io import (
    MIN_PACKET_BYTES,
    PacketBatch,
    ReplayInput,
    control_events,
)
from dmmemu.errors import PacketRowError, TraceError
from dmmemu.topology.graph import Topology
from dmmemu.trace._columns import (
    UNREADABLE,
    _check_names,
    _id_list,
    _integer_type,
    _integers,
    _is_null,
    _not_null,
    _numpy,
    _one_chunk,
    _optional_integers,
    _other_mn,
    _outside,
    _parquet_file,
    _raise_first,
    _read_table,
    _role_mask,
    _sorted_times,
    _times,
    arrow_schema,
)
from dmmemu.trace.faults import read_faults
from dmmemu.trace.mobile_networks import read_networks
from dmmemu.trace.packet_synthesis import (
    DEFAULT_RATE_PPS,
    DEFAULT_SIZE,
    MAX_RATE_PPS,
    synthesise_packets,
    synthesised_count,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TRACE_TOML = "trace.toml"
TOPOLOGY_TOML = "topology.toml"
MOBILITY_FILE = "mobility.parquet"
FLOWS_FILE = "flows.parquet"
PACKETS_FILE = "packets.parquet"
FAULTS_FILE = "faults.parquet"
NETWORKS_FILE = "networks.parquet"

# trace.toml: key -> accepted Python type (from tomllib).
MANIFEST_KEYS: dict[str, type] = {
    "name": str,
    "description": str,
    "source": str,
    "licence": str,
    "generator": str,
    "seed": int,
    "params": dict,
}

# Exact column types; integer columns of another integer type are cast when every value fits.
MOBILITY_COLUMNS: dict[str, np.dtype] = {
    "t": np.dtype(np.int64),
    "mn": np.dtype(np.uint32),
    "poa": np.dtype(np.int32),
}
FLOW_COLUMNS: dict[str, np.dtype] = {
    "flow": np.dtype(np.uint64),
    "mn": np.dtype(np.uint32),
    "peer": np.dtype(np.uint32),
    "start": np.dtype(np.int64),
    "end": np.dtype(np.int64),
}
# Optional flow columns and their types (``peer_mn``: the other MN of an MN-to-MN flow, whose
# ``peer`` is null).
FLOW_OPTIONAL_TYPES: dict[str, pa.DataType] = {
    "peer_mn": pa.uint32(), "continuity": pa.bool_(), "app": pa.string(),
    "rate_pps": pa.float64(), "size": pa.uint16(), "address_type": pa.string(),
}
FLOW_OPTIONAL_COLUMNS = tuple(FLOW_OPTIONAL_TYPES)
PACKET_COLUMNS: dict[str, np.dtype] = {
    "t": np.dtype(np.int64),
    "flow": np.dtype(np.uint64),
    "size": np.dtype(np.uint16),
    "dir": np.dtype(np.uint8),
}



# Schema of Trace.flows (optional columns filled with their defaults).
FLOWS_SCHEMA = arrow_schema(FLOW_COLUMNS, FLOW_OPTIONAL_TYPES)

# The engines hold MN and node ids as int32 and allocate per-MN arrays of n_mns entries
# (the largest id + 1): ids beyond SPARSE_MN_IDS must be at most SPARSE_ID_FACTOR times as
# many as the MNs, so that an absurd id is an error, not an allocation of gigabytes.
MAX_MN_ID = int(np.iinfo(np.int32).max) - 1
SPARSE_MN_IDS = 1 << 20
SPARSE_ID_FACTOR = 64
MAX_PACKET_BYTES = 65535
MAX_SEED = 2**63 - 1  # the seed column of every result table is an Int64


def is_trace_directory(path: Path) -> bool:
    """A directory that holds a trace (its trace.toml): an input, never an output's place."""
    return (Path(path) / TRACE_TOML).is_file()


TRACE_FILES = (TRACE_TOML, TOPOLOGY_TOML, MOBILITY_FILE, FLOWS_FILE, PACKETS_FILE,
               NETWORKS_FILE, FAULTS_FILE)
PARQUET_TAIL = 8  # footer length (uint32, little-endian) and the magic b"PAR1"


def trace_identity(path: Path) -> dict[str, dict[str, Any]]:
    """What tells a trace's content apart without reading it whole: per file present, its
    size and the SHA-256 of its Parquet footer (row counts, statistics of every row group),
    or of the whole file for the small TOML files. A result records it (its manifest)."""
    identity: dict[str, dict[str, Any]] = {}
    for name in TRACE_FILES:
        file = Path(path) / name
        if not file.is_file():
            continue
        if name.endswith(".parquet"):
            identity[name] = {"bytes": file.stat().st_size,
                              "footer_sha256": parquet_footer_sha256(file)}
        else:
            identity[name] = {"bytes": file.stat().st_size,
                              "sha256": hashlib.sha256(file.read_bytes()).hexdigest()}
    return identity


def parquet_footer_sha256(file: Path) -> str:
    """The SHA-256 of a Parquet file's footer (its metadata: schema, row groups, statistics)
    and tail, read without the rest: what changes when the file is rewritten or damaged
    there. A file too short for a footer is hashed whole."""
    size = file.stat().st_size
    with open(file, "rb") as handle:
        if size < 2 * PARQUET_TAIL:
            return hashlib.sha256(handle.read()).hexdigest()
        handle.seek(size - PARQUET_TAIL)
        footer = int.from_bytes(handle.read(4), "little") + PARQUET_TAIL
        handle.seek(max(0, size - footer))
        return hashlib.sha256(handle.read()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class PacketFileInfo:
    """What ``Trace.open`` learnt about ``packets.parquet`` from its footer alone."""

    path: Path
    n_rows: int
    group_rows: tuple[int, ...]  # rows of each row group, in file order
    t_max: int | None  # largest packet time (None for an empty file)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Trace:
    """A validated trace directory; build it with ``Trace.open``.

    ``mobility`` has columns ``t`` (Int64), ``mn`` (UInt32), ``poa`` (Int32) in file order;
    ``flows`` has the columns of ``FLOWS_SCHEMA``, sorted by ``flow``, with the optional
    columns filled with their defaults (``continuity`` true, ``app`` null, ``rate_pps`` 50,
    ``size`` 1000). ``networks`` (``t``, ``mn``, ``router``) and ``faults`` (``t``, ``node``,
    ``up``, ``a``, ``b``, ``planned``) hold those files' rows in file order, None when the
    file is absent (``unsupported_inputs``). Two traces are equal only when they are the same
    object.
    """

    path: Path
    manifest: dict[str, Any] = field(repr=False)
    topology: Topology = field(repr=False)
    mobility: pl.DataFrame = field(repr=False)
    flows: pl.DataFrame = field(repr=False)
    n_mns: int
    t_begin: int
    t_end: int
    packet_file: PacketFileInfo | None = field(default=None, repr=False)
    networks: pl.DataFrame | None = field(default=None, repr=False)
    faults: pl.DataFrame | None = field(default=None, repr=False)
    network_depth: int = 0  # the most mobile routers above one MN at any time

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | Path) -> "Trace":
        """Read and validate the trace directory at ``path``."""
        return _load(Path(path))

    # ---------------------------------------------------------------- queries
    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def has_packets(self) -> bool:
        """True when the trace has ``packets.parquet``; else packets are synthesised (§10)."""
        return self.packet_file is not None

    def packet_count(self) -> int:
        """Exact number of packets the stream will yield (file metadata or the §10 rule)."""
        if self.packet_file is not None:
            return self.packet_file.n_rows
        return synthesised_count(
            self.flows["start"].to_numpy(), self.flows["end"].to_numpy(),
            self.flows["rate_pps"].to_numpy(),
        )

    # ---------------------------------------------------------------- engine input
    def replay_input(self) -> ReplayInput:
        """The trace as dense, read-only, C-contiguous arrays (``dmmemu.engine.replay_io``);
        refused while the trace holds inputs no practice replays (``unsupported_inputs``)."""
        refused = unsupported_inputs(self)
        if refused:
            raise TraceError("; ".join(refused))
        mob = self.mobility
        flows = self.flows
        n_rows = mob.height
        start = _column(flows, "start", np.int64)
        end = _column(flows, "end", np.int64)
        # Flow classes match on app names (dmmemu.engine.flow_classes): codes, -1 for null.
        apps = flows["app"]
        app_names = tuple(sorted(apps.drop_nulls().unique().to_list()))
        app_codes = (apps.replace_strict(dict(zip(app_names, range(len(app_names)))),
                                         default=-1, return_dtype=pl.Int32)
                     .fill_null(-1).to_numpy())
        address_type = (flows["address_type"].replace_strict(
            dict(zip(ADDRESS_TYPES, range(len(ADDRESS_TYPES)))), default=-1,
            return_dtype=pl.Int8).fill_null(-1).to_numpy())
        networks = self.networks if self.networks is not None else pl.DataFrame(
            schema={"t": pl.Int64, "mn": pl.UInt32, "router": pl.UInt32})
        net_mn = _column(networks, "mn", np.int32)
        net_router = _ids_or_none(networks["router"])
        mn_router = np.zeros(self.n_mns, np.uint8)
        mn_router[net_router[net_router >= 0]] = 1
        ev_t, ev_kind, ev_a, ev_b, ev_row = control_events(
            _column(mob, "t", np.int64), _column(mob, "mn", np.int32),
            _column(mob, "poa", np.int32), start, end,
            networks=(_column(networks, "t", np.int64), net_mn, net_router),
        )
        return ReplayInput(
            n_mns=self.n_mns,
            hops=_frozen(self.topology.hops, np.uint16),
            delay_ns=_frozen(self.topology.delay_ns, np.int64),
            flow_ids=_frozen(_column(flows, "flow", np.uint64), np.uint64),
            flow_mn=_frozen(_column(flows, "mn", np.int32), np.int32),
            flow_peer=_frozen(_ids_or_none(flows["peer"]), np.int32),
            flow_peer_mn=_frozen(_ids_or_none(flows["peer_mn"]), np.int32),
            flow_start=_frozen(start, np.int64),
            flow_end=_frozen(end, np.int64),
            flow_continuity=_frozen(_column(flows, "continuity", np.uint8), np.uint8),
            ev_t=_frozen(ev_t, np.int64),
            ev_kind=_frozen(ev_kind, np.int8),
            ev_a=_frozen(ev_a, np.int32),
            ev_b=_frozen(ev_b, np.int32),
            ev_row=_frozen(ev_row, np.int64),
            n_mobility_rows=n_rows,
            t_begin=self.t_begin,
            t_end=self.t_end,
            flow_app=_frozen(app_codes, np.int32),
            app_names=app_names,
            flow_address_type=_frozen(address_type, np.int8),
            n_network_rows=networks.height,
            mn_router=_frozen(mn_router, np.uint8),
            network_depth=self.network_depth,
        )

    def packet_batches(self, progress: bool = False) -> Iterator[PacketBatch]:
        """Stream the packets in file order, one row group per batch (or synthesise them).

        One background thread decodes (or synthesises) the next batch while the caller works
        on the current one, so at most two batches are in memory. Row checks that need every
        row are the engines' (see ``packet_error``). ``progress`` shows a tqdm bar.
        """
        if self.packet_file is None:
            batches = synthesise_packets(
                self.flows["flow"].to_numpy(), self.flows["start"].to_numpy(),
                self.flows["end"].to_numpy(), self.flows["rate_pps"].to_numpy(),
                self.flows["size"].to_numpy(),
            )
        else:
            batches = _read_groups(self.packet_file)
        batches = _prefetch(batches)
        if not progress:
            yield from batches
            return
        from tqdm.auto import tqdm

        with closing(batches), tqdm(
            total=self.packet_count(), unit="pkt", unit_scale=True, desc=self.name
        ) as bar:
            for batch in batches:
                yield batch
                bar.update(len(batch))

    def packet_error(self, err: PacketRowError) -> TraceError:
        """The ``TraceError`` for a packet row an engine rejected (names packets.parquet)."""
        if self.packet_file is not None:
            file = str(self.packet_file.path)
        else:
            file = f"{self.path / FLOWS_FILE} (packets synthesised from flows)"
        return TraceError(err.reason, file=file, column=err.column, row=err.row, value=err.value)


def _load(path: Path, *, shown: Path | None = None, topology: Topology | None = None) -> Trace:
    """Open the trace at ``path``; errors name files under ``shown`` (the writer validates a
    temporary directory under the name it is about to get). A given ``topology`` is used
    instead of reading topology.toml again."""
    shown = path if shown is None else shown
    if not path.is_dir():
        raise TraceError(
            "not a trace directory; a trace is a directory holding trace.toml, "
            "topology.toml, mobility.parquet and flows.parquet",
            file=str(shown),
        )
    manifest = _read_manifest(path / TRACE_TOML, shown / TRACE_TOML)
    if topology is None:
        if not (path / TOPOLOGY_TOML).is_file():
            raise TraceError(
                "missing file; every trace needs the topology its node ids refer to",
                file=str(shown / TOPOLOGY_TOML),
            )
        topology = Topology.from_toml(path / TOPOLOGY_TOML)
    mobility = _read_mobility(path / MOBILITY_FILE, shown / MOBILITY_FILE, topology)
    flows = _read_flows(path / FLOWS_FILE, shown / FLOWS_FILE, topology,
                        np.unique(mobility["mn"].to_numpy()))
    packet_file = None
    if (path / PACKETS_FILE).exists():
        packet_file = _inspect_packets(
            path / PACKETS_FILE, shown / PACKETS_FILE, flows["flow"].to_numpy()
        )
    networks = faults = None
    network_depth = 0
    if (path / NETWORKS_FILE).exists():
        networks, network_depth = read_networks(path / NETWORKS_FILE, shown / NETWORKS_FILE,
                                                np.unique(mobility["mn"].to_numpy()))
    if (path / FAULTS_FILE).exists():
        faults = read_faults(path / FAULTS_FILE, shown / FAULTS_FILE, topology)
    n_mns = max(int(mobility["mn"].max()), int(flows["mn"].max())) + 1
    # Packets lie inside their flows' spans (the engines check it), so they start no earlier.
    t_begin = min(int(mobility["t"][0]), int(flows["start"].min()))
    t_end = max(int(mobility["t"][-1]), int(flows["end"].max()))
    if packet_file is not None and packet_file.t_max is not None:
        t_end = max(t_end, packet_file.t_max)
    if networks is not None and networks.height:  # its rows are control events (§16)
        t_begin = min(t_begin, int(networks["t"][0]))
        t_end = max(t_end, int(networks["t"][-1]))
    return Trace(
        path=path, manifest=manifest, topology=topology, mobility=mobility, flows=flows,
        n_mns=n_mns, t_begin=t_begin, t_end=t_end, packet_file=packet_file,
        networks=networks, faults=faults, network_depth=network_depth,
    )


# Inputs that are read and validated but that no practice of this version replays: file ->
# (the Trace attribute, what they describe, the engine v2 mechanism that will replay them,
# what replaying without them means).
UNREPLAYED_INPUTS = {
    FAULTS_FILE: ("faults", "faults", "replay without failures"),
}


def unsupported_inputs(trace: Trace) -> list[str]:
    """One message per input of ``trace`` that no practice of this version replays (empty
    when there is none): a run must refuse such a trace rather than show a picture without
    its faults or mobile networks. A file with no rows changes nothing and is not named."""
    messages = []
    for file, (attribute, what, without) in UNREPLAYED_INPUTS.items():
        rows: pl.DataFrame | None = getattr(trace, attribute)
        if rows is not None and rows.height:
            messages.append(
                f"{trace.path / file}: {what} are read and validated, but no practice of this "
                f"version replays them yet; remove {file} (or move it aside) to {without}"
            )
    return messages


# -------------------------------------------------------------------- trace.toml
def _read_manifest(path: Path, shown: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TraceError(
            'missing file; every trace needs a trace.toml with at least name = "..."',
            file=str(shown),
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TraceError(f"not valid TOML: {exc}", file=str(shown)) from None
    for key, value in data.items():
        expected = MANIFEST_KEYS.get(key)
        if expected is None:
            raise TraceError(
                f"unknown key {key!r}; allowed keys are {', '.join(MANIFEST_KEYS)} "
                "(put free-form settings under [params])",
                file=str(shown),
            )
        if isinstance(value, bool) or not isinstance(value, expected):
            kind = "a table" if expected is dict else f"a TOML {expected.__name__}"
            raise TraceError(
                f"key {key!r} must be {kind}, found {type(value).__name__} {value!r}",
                file=str(shown),
            )
    if "name" not in data:
        raise TraceError('required key "name" is missing; add name = "<trace name>"',
                         file=str(shown))
    if not data["name"].strip():
        raise TraceError('key "name" is empty; give the trace a name', file=str(shown))
    if "seed" in data and not 0 <= data["seed"] <= MAX_SEED:
        raise TraceError(f"key 'seed' must be 0 to {MAX_SEED} (a 64-bit seed), found "
                         f"{data['seed']}", file=str(shown))
    return data


# -------------------------------------------------------------------- mobility.parquet
def _read_mobility(path: Path, shown: Path, topology: Topology) -> pl.DataFrame:
    file = str(shown)
    table = _read_table(path, file, required=MOBILITY_COLUMNS, optional=())
    t = _integers(table.column("t"), MOBILITY_COLUMNS["t"], file=file, column="t")
    mn = _integers(table.column("mn"), MOBILITY_COLUMNS["mn"], file=file, column="mn")
    poa = _integers(table.column("poa"), MOBILITY_COLUMNS["poa"], file=file, column="poa")
    _sorted_times(t, file=file)
    _mn_ids(mn, file=file)
    is_poa = _role_mask(topology, "poa")
    known = (poa >= 0) & (poa < topology.n_nodes)
    bad = (poa != -1) & ~(known & is_poa[np.where(known, poa, 0)])
    _raise_first(
        bad, poa, file=file, column="poa",
        message=f"must be -1 (detached) or the id of a node with role 'poa' "
        f"(PoAs of this topology: {_id_list(topology.nodes_with_role('poa'))})",
    )
    return pl.DataFrame({"t": t, "mn": mn, "poa": poa})


# -------------------------------------------------------------------- flows.parquet
def _read_flows(path: Path, shown: Path, topology: Topology,
                mobile_nodes: np.ndarray) -> pl.DataFrame:
    file = str(shown)
    table = _read_table(path, file, required=FLOW_COLUMNS, optional=FLOW_OPTIONAL_COLUMNS)
    n = table.num_rows
    flow = _integers(table.column("flow"), FLOW_COLUMNS["flow"], file=file, column="flow")
    order = np.argsort(flow, kind="stable")
    repeat = np.zeros(n, dtype=bool)
    repeat[order[1:]] = flow[order[1:]] == flow[order[:-1]]
    _raise_first(
        repeat, flow, file=file, column="flow",
        message="flow ids must be unique; an earlier row has the same id (give every flow "
        "its own id)",
    )
    mn = _integers(table.column("mn"), FLOW_COLUMNS["mn"], file=file, column="mn")
    _raise_first(
        ~np.isin(mn, mobile_nodes), mn, file=file, column="mn",
        message="must be an MN that mobility.parquet names: an MN that never attaches could "
        "only lose its flows' packets",
    )
    peer, peer_mn = _flow_peers(table, mn, topology, mobile_nodes, file=file)
    start = _integers(table.column("start"), FLOW_COLUMNS["start"], file=file, column="start")
    _times(start, file=file, column="start")
    end = _integers(table.column("end"), FLOW_COLUMNS["end"], file=file, column="end")
    _times(end, file=file, column="end")
    _raise_first(
        end < start, end, file=file, column="end",
        message="a flow must not end before it starts (end >= start)",
    )
    continuity = _continuity(table, file=file)
    app = _strings(table, "app", file=file)
    rate = _rate(table, file=file)
    size = _flow_size(table, file=file)
    address_type = _address_type(table, file=file)
    flows = pa.table(
        [pa.array(flow), pa.array(mn), peer, pa.array(start), pa.array(end), peer_mn,
         pa.array(continuity), app, pa.array(rate), pa.array(size), address_type],
        schema=FLOWS_SCHEMA,
    )
    return pl.from_arrow(flows).sort("flow")


def _flow_peers(table: pa.Table, mn: np.ndarray, topology: Topology, mobile_nodes: np.ndarray,
                *, file: str) -> tuple[pa.Array, pa.Array]:
    """``peer`` (a correspondent node) and ``peer_mn`` (the other MN of an MN-to-MN flow):
    exactly one of them per row, as Arrow arrays with nulls."""
    n = table.num_rows
    peer = _optional_integers(table.column("peer"), FLOW_COLUMNS["peer"], file=file,
                              column="peer")
    if "peer_mn" in table.column_names:
        peer_mn = _optional_integers(table.column("peer_mn"), np.dtype(np.uint32), file=file,
                                     column="peer_mn")
    else:
        peer_mn = pa.nulls(n, pa.uint32())
    to_cn, to_mn = _not_null(peer), _not_null(peer_mn)
    _raise_first(
        to_cn & to_mn, _filled(peer_mn), file=file, column="peer_mn",
        message="a flow goes either to a correspondent node ('peer') or to another MN "
        "('peer_mn', with 'peer' null), not both",
    )
    _raise_first(
        ~to_cn & ~to_mn, None, file=file, column="peer",
        message="must not be null; every flow needs a correspondent node in 'peer', or the "
        "other MN in 'peer_mn' (an MN-to-MN flow)",
    )
    peers = _filled(peer)
    is_cn = _role_mask(topology, "cn")
    known = peers < topology.n_nodes
    _raise_first(
        to_cn & ~(known & is_cn[np.where(known, peers, 0)]), peers, file=file, column="peer",
        message=f"must be the id of a node with role 'cn' (correspondent nodes of this "
        f"topology: {_id_list(topology.nodes_with_role('cn'))})",
    )
    _other_mn(_filled(peer_mn), to_mn, mn, mobile_nodes, file=file, column="peer_mn",
              unknown=f"must be an MN that mobility.parquet names (MNs of mobility.parquet: "
              f"{_id_list(mobile_nodes)}): the other end of an MN-to-MN flow moves too",
              itself="an MN-to-MN flow needs another MN than the flow's own 'mn'")
    return peer, peer_mn


def _ids_or_none(ids: pl.Series) -> np.ndarray:
    """A nullable id column (UInt32) as the engines' int32, null as -1."""
    return ids.cast(pl.Int32).fill_null(-1).to_numpy()


def _filled(arr: pa.Array) -> np.ndarray:
    """An integer Arrow array's values with nulls as 0 (masks say which rows count)."""
    return arr.fill_null(0).to_numpy(zero_copy_only=False)


def _continuity(table: pa.Table, *, file: str) -> np.ndarray:
    """``continuity`` as bool; absent or null means true (the flow needs its address kept)."""
    if "continuity" not in table.column_names:
        return np.ones(table.num_rows, dtype=bool)
    col = table.column("continuity")
    if not pa.types.is_boolean(col.type):
        raise TraceError(
            f"has Arrow type {col.type}; store it as bool (true: the flow needs session "
            "continuity)",
            file=file, column="continuity",
        )
    return pc.fill_null(col, True).to_numpy()


def _strings(table: pa.Table, column: str, *, file: str) -> pa.Array:
    """An optional string column as one string array (null where absent or unknown)."""
    if column not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    col = table.column(column)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
            or pa.types.is_null(col.type)):
        raise TraceError(f"has Arrow type {col.type}; store it as string", file=file,
                         column=column)
    return col.cast(pa.string()).combine_chunks()


def _address_type(table: pa.Table, *, file: str) -> pa.Array:
    """``address_type`` (RFC 8653), null where the flow asks for none."""
    col = _strings(table, "address_type", file=file)
    known = pc.or_(pc.is_null(col), pc.is_in(col, value_set=pa.array(ADDRESS_TYPES)))
    if not pc.all(known).as_py():  # only then are the values turned into Python strings
        _raise_first(~known.to_numpy(zero_copy_only=False),
                     np.asarray(pc.fill_null(col, "").to_pylist()), file=file,
                     column="address_type",
                     message=f"must be one of {', '.join(ADDRESS_TYPES)} (RFC 8653), or null")
    return col


def _rate(table: pa.Table, *, file: str) -> np.ndarray:
    """``rate_pps`` as float64; absent or null means 50 packets/s."""
    if "rate_pps" not in table.column_names:
        return np.full(table.num_rows, DEFAULT_RATE_PPS)
    col = table.column("rate_pps")
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        raise TraceError(
            f"has Arrow type {col.type}; store it as a number (packets per second)",
            file=file, column="rate_pps",
        )
    rate = pc.fill_null(col.cast(pa.float64()), DEFAULT_RATE_PPS).to_numpy()
    _raise_first(
        ~(np.isfinite(rate) & (rate > 0) & (rate <= MAX_RATE_PPS)), rate, file=file,
        column="rate_pps",
        message=f"must be a finite rate in (0, {MAX_RATE_PPS:.0e}] packets per second",
    )
    return rate


def _flow_size(table: pa.Table, *, file: str) -> np.ndarray:
    """``size`` (bytes of the synthesised downlink packets) as uint16; null means 1000."""
    if "size" not in table.column_names:
        return np.full(table.num_rows, DEFAULT_SIZE, dtype=np.uint16)
    col = table.column("size")
    _integer_type(col, np.dtype(np.uint16), file=file, column="size")
    if col.type != pa.uint64():  # int64 holds every other integer type and the default
        col = col.cast(pa.int64())
    size = _numpy(_one_chunk(pc.fill_null(col, DEFAULT_SIZE)))
    _raise_first(
        _outside(size, MIN_PACKET_BYTES, MAX_PACKET_BYTES), size, file=file, column="size",
        message=f"must be an IP packet size in bytes, {MIN_PACKET_BYTES}..{MAX_PACKET_BYTES}",
    )
    return size.astype(np.uint16)


# -------------------------------------------------------------------- packets.parquet
def _inspect_packets(path: Path, shown: Path, flow_ids: np.ndarray) -> PacketFileInfo:
    """Check ``packets.parquet`` from its footer: schema, and row-group statistics of
    t (≥ 0, sorted across groups), flow (within the trace's ids), size and dir (ranges).

    Statistics only reveal that a group holds a bad row; that group's column is then read to
    name the first such row.
    """
    with _parquet_file(path, str(shown)) as pf:
        return _inspect_footer(pf, path, str(shown), flow_ids)


def _inspect_footer(pf: pq.ParquetFile, path: Path, file: str,
                    flow_ids: np.ndarray) -> PacketFileInfo:
    _check_names(pf.schema_arrow.names, PACKET_COLUMNS, (), file=file)
    for name, dtype in PACKET_COLUMNS.items():
        _integer_type(pf.schema_arrow.field(name), dtype, file=file, column=name)
    md = pf.metadata
    group_rows = tuple(md.row_group(i).num_rows for i in range(md.num_row_groups))
    offsets = np.concatenate([[0], np.cumsum(group_rows, dtype=np.int64)])
    index = {md.row_group(0).column(j).path_in_schema: j
             for j in range(md.num_columns)} if md.num_row_groups else {}
    flow_lo, flow_hi = (int(flow_ids[0]), int(flow_ids[-1]))
    limits = {  # column -> (lowest, highest, what the user must fix)
        "t": (0, int(np.iinfo(np.int64).max),
              "times must be int64 nanoseconds >= 0; shift the trace to start at 0 or later"),
        "flow": (flow_lo, flow_hi,
                 f"every packet must belong to a flow of flows.parquet (ids {flow_lo}.."
                 f"{flow_hi}); this flow id is not there"),
        "size": (MIN_PACKET_BYTES, MAX_PACKET_BYTES,
                 f"must be an IP packet size in bytes, {MIN_PACKET_BYTES}..{MAX_PACKET_BYTES}"),
        "dir": (0, 1, "must be 0 (uplink) or 1 (downlink)"),
    }
    t_max: int | None = None  # largest t of the groups so far (where statistics say)
    for g, rows in enumerate(group_rows):
        if rows == 0:
            continue
        first_row = int(offsets[g])
        stats = {name: _min_max(md.row_group(g).column(index[name])) for name in PACKET_COLUMNS}
        for name, (lo, hi, message) in limits.items():
            low, high, nulls = stats[name]
            if nulls:
                values = _group_column(pf, g, name)
                _raise_first(_is_null(values), None, file=file, column=name,
                             offset=first_row, message="must not be null; every row needs a value")
            if low is not None and (low < lo or high > hi):
                values = _numpy(_group_column(pf, g, name))
                _raise_first(_outside(values, lo, hi), values, file=file, column=name,
                             offset=first_row, message=message)
            if name == "t" and low is not None and t_max is not None and low < t_max:
                values = _numpy(_group_column(pf, g, "t"))
                before = np.array([t_max], dtype=values.dtype)
                running = np.maximum.accumulate(np.concatenate([before, values]))[:-1]
                _raise_first(
                    values < running, values, file=file, column="t", offset=first_row,
                    message="rows must be sorted by t; this row is earlier than a row before "
                    "it (sort packets.parquet by t)",
                )
        t_high = stats["t"][1]
        if t_high is not None:
            t_max = t_high if t_max is None else max(t_max, t_high)
    last = max((g for g, rows in enumerate(group_rows) if rows), default=None)
    if last is not None and _min_max(md.row_group(last).column(index["t"]))[0] is None:
        values = _numpy(pc.drop_null(_group_column(pf, last, "t")))
        if values.size:
            t_max = max(t_max or 0, int(values.max()))
    return PacketFileInfo(path=path, n_rows=md.num_rows, group_rows=group_rows, t_max=t_max)


def _min_max(chunk: pq.ColumnChunkMetaData) -> tuple[int | None, int | None, bool]:
    """(min, max, has nulls) from a column chunk's statistics; None where unknown."""
    stats = chunk.statistics
    if stats is None:
        return None, None, False
    nulls = bool(stats.has_null_count and stats.null_count > 0)
    if not stats.has_min_max:
        return None, None, nulls
    return int(stats.min), int(stats.max), nulls


def _group_column(pf: pq.ParquetFile, group: int, name: str) -> pa.Array:
    return _one_chunk(pf.read_row_group(group, columns=[name]).column(name))


def _read_groups(info: PacketFileInfo) -> Iterator[PacketBatch]:
    """``packets.parquet`` one row group at a time (``read_row_group`` holds one decoded group,
    where ``iter_batches`` keeps far more in flight)."""
    pf = _parquet_file(info.path, str(info.path))
    try:
        if pf.metadata.num_rows != info.n_rows:
            raise TraceError("the file changed since the trace was opened; open it again",
                             file=str(info.path))
        first_row = 0
        for group, rows in enumerate(info.group_rows):
            if rows:
                yield _decode_group(pf, info.path, group, first_row)
            first_row += rows
    finally:
        pf.close()


def _prefetch(batches: Iterator[PacketBatch]) -> Iterator[PacketBatch]:
    """Produce batch i+1 in one worker thread while the caller works on batch i.

    Parquet decoding and numpy release the GIL, so this overlaps them with the engine; the
    worker runs ahead by one batch only, so memory holds two batches at most.
    """
    end = object()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dmmemu-packets")
    try:
        pending = pool.submit(next, batches, end)
        while True:
            batch = pending.result()
            if batch is end:
                return
            pending = pool.submit(next, batches, end)
            yield batch
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _decode_group(pf: pq.ParquetFile, path: Path, group: int, first_row: int) -> PacketBatch:
    """One row group as a PacketBatch: zero-copy where the file's types are the exact ones."""
    try:
        table = pf.read_row_group(group, columns=list(PACKET_COLUMNS))
    except UNREADABLE as exc:
        raise TraceError(f"cannot decode row group {group} (rows from {first_row}): {exc}",
                         file=str(path)) from None
    arrays = {
        name: _integers(table.column(name), dtype, file=str(path), column=name,
                        offset=first_row)
        for name, dtype in PACKET_COLUMNS.items()
    }
    return PacketBatch(first_row=first_row, **arrays)


# -------------------------------------------------------------------- shared checks
def _mn_ids(mn: np.ndarray, *, file: str) -> None:
    _raise_first(
        mn > MAX_MN_ID, mn, file=file, column="mn",
        message=f"MN ids must be at most {MAX_MN_ID}: the engines hold one entry per MN id, so "
        "number MNs densely from 0",
    )
    if mn.size and int(mn.max()) >= SPARSE_MN_IDS:
        distinct = np.unique(mn).size
        if int(mn.max()) >= SPARSE_ID_FACTOR * distinct:
            _raise_first(
                mn == mn.max(), mn, file=file, column="mn",
                message=f"MN ids are too sparse: {distinct} MNs numbered up to {int(mn.max())}, "
                "and the engines hold one entry per MN id up to the largest; number MNs "
                "densely from 0",
            )


def _column(df: pl.DataFrame, name: str, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(df[name].to_numpy(), dtype=dtype)


def _frozen(arr: np.ndarray, dtype: type) -> np.ndarray:
    """A read-only C-contiguous array of exactly ``dtype`` (copies only when needed)."""
    out = np.ascontiguousarray(arr, dtype=dtype)
    out.setflags(write=False)
    return out
