"""Trace layer: write → open round trip, packet streaming, synthesis (§10), and one test per
malformed input, each checking that the TraceError names file, column and first bad row."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmmemu.engine.replay_io import (
    EV_FLOW_END,
    EV_FLOW_START,
    EV_MOVE,
    PacketBatch,
    ReplayInput,
)
from dmmemu.errors import OutputError, PacketRowError, TraceError
from dmmemu.topology.graph import Link, Node, Topology
from dmmemu.trace.packet_synthesis import synthesise_packets, synthesised_count
from dmmemu.trace.reader import Trace
from dmmemu.trace.writer import write_trace

MS = 1_000_000  # ns


# ------------------------------------------------------------------ fixtures and helpers
@pytest.fixture
def topology() -> Topology:
    """cn0 — anchor1 — {ar2, ar3}, plus router4 between anchor1 and cn5."""
    nodes = [
        Node(id=0, name="cn0", role="cn"),
        Node(id=1, name="anchor1", role="anchor", central=True),
        Node(id=2, name="ar2", role="poa"),
        Node(id=3, name="ar3", role="poa"),
        Node(id=4, name="router4", role="router"),
        Node(id=5, name="cn5", role="cn"),
    ]
    links = [
        Link(a=0, b=1, delay_us=1000.0),
        Link(a=1, b=2, delay_us=100.0),
        Link(a=1, b=3, delay_us=100.0),
        Link(a=1, b=4, delay_us=10.0),
        Link(a=4, b=5, delay_us=10.0),
    ]
    return Topology.from_parts(nodes, links, name="tiny")


def mobility_columns() -> dict[str, np.ndarray]:
    # Row 2 and row 3 share t = 10 ms with a flow start and a flow end.
    return {
        "t": np.array([0, 5 * MS, 10 * MS, 10 * MS, 30 * MS], np.int64),
        "mn": np.array([0, 1, 1, 0, 0], np.uint32),
        "poa": np.array([2, 3, 2, 3, -1], np.int32),
    }


def flow_columns() -> dict[str, np.ndarray]:
    # Ids deliberately out of order in the file: dense order is 4 (row 1), 9 (row 0), 20.
    return {
        "flow": np.array([9, 4, 20], np.uint64),
        "mn": np.array([0, 1, 0], np.uint32),
        "peer": np.array([0, 5, 0], np.uint32),
        "start": np.array([10 * MS, 0, 2 * MS], np.int64),
        "end": np.array([40 * MS, 10 * MS, 10 * MS], np.int64),
    }


def packet_columns() -> dict[str, np.ndarray]:
    """Ten packets of flows 4 and 9, sorted by t."""
    t = np.array([0, 1, 2, 3, 4, 10, 11, 12, 13, 14], np.int64) * MS
    flow = np.array([4, 4, 4, 4, 4, 9, 9, 9, 9, 9], np.uint64)
    return {
        "t": t,
        "flow": flow,
        "size": np.arange(100, 110, dtype=np.uint16),
        "dir": np.array([0, 1] * 5, np.uint8),
    }


@pytest.fixture
def trace_dir(tmp_path: Path, topology: Topology) -> Path:
    return write_trace(
        tmp_path / "trace", name="tiny", topology=topology, mobility=mobility_columns(),
        flows=flow_columns(), manifest={"description": "hand-made", "seed": 7,
                                        "params": {"mns": 2}},
    )


def put(path: Path, columns: dict[str, pa.Array | np.ndarray | list], **kwargs) -> None:
    """Write one Parquet file exactly as given (no casting: tests control every type)."""
    table = pa.table({k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in columns.items()})
    pq.write_table(table, path, **kwargs)


def names(file: str, column: str | None = None, row: int | None = None) -> str:
    """Regex matching the ``file, column 'c', row r`` prefix of a TraceError."""
    pattern = re.escape(file)
    if column is not None:
        pattern += rf".*column '{re.escape(column)}'"
    if row is not None:
        pattern += rf", row {row}\b"
    return pattern


def exact(columns: dict[str, np.ndarray], **types: pa.DataType) -> dict[str, pa.Array]:
    return {k: pa.array(v, type=types.get(k)) for k, v in columns.items()}


# ------------------------------------------------------------------ round trip
def test_round_trip(trace_dir: Path, topology: Topology) -> None:
    trace = Trace.open(trace_dir)
    assert trace.name == "tiny"
    assert trace.manifest == {"name": "tiny", "description": "hand-made", "seed": 7,
                              "params": {"mns": 2}}
    assert trace.topology.n_nodes == 6
    np.testing.assert_array_equal(trace.topology.hops, topology.hops)
    assert trace.mobility.schema == pl.Schema({"t": pl.Int64, "mn": pl.UInt32, "poa": pl.Int32})
    assert trace.mobility["poa"].to_list() == [2, 3, 2, 3, -1]
    assert trace.flows["flow"].to_list() == [4, 9, 20]
    assert trace.flows["continuity"].to_list() == [True] * 3
    assert trace.flows["rate_pps"].to_list() == [50.0] * 3
    assert trace.flows["size"].to_list() == [1000] * 3
    assert trace.n_mns == 2
    assert (trace.t_begin, trace.t_end) == (0, 40 * MS)
    assert not trace.has_packets
    for name in ("mobility.parquet", "flows.parquet"):
        assert pq.ParquetFile(trace_dir / name).metadata.row_group(0).column(0).compression \
            == "ZSTD"


def test_replay_input_arrays(trace_dir: Path) -> None:
    ri = Trace.open(trace_dir).replay_input()
    assert isinstance(ri, ReplayInput)
    dtypes = {
        "hops": np.uint16, "delay_ns": np.int64, "flow_ids": np.uint64, "flow_mn": np.int32,
        "flow_peer": np.int32, "flow_start": np.int64, "flow_end": np.int64,
        "flow_continuity": np.uint8, "ev_t": np.int64, "ev_kind": np.int8, "ev_a": np.int32,
        "ev_b": np.int32, "ev_row": np.int64,
    }
    for name, dtype in dtypes.items():
        arr = getattr(ri, name)
        assert arr.dtype == dtype, name
        assert arr.flags.c_contiguous, name
        assert not arr.flags.writeable, name
    np.testing.assert_array_equal(ri.flow_ids, [4, 9, 20])
    np.testing.assert_array_equal(ri.flow_mn, [1, 0, 0])
    np.testing.assert_array_equal(ri.flow_peer, [5, 0, 0])
    np.testing.assert_array_equal(ri.flow_start, [0, 10 * MS, 2 * MS])
    np.testing.assert_array_equal(ri.flow_end, [10 * MS, 40 * MS, 10 * MS])
    np.testing.assert_array_equal(ri.flow_continuity, [1, 1, 1])
    assert (ri.n_mns, ri.n_mobility_rows, ri.t_begin, ri.t_end) == (2, 5, 0, 40 * MS)
    assert ri.n_nodes == 6 and ri.n_flows == 3


def test_event_order_at_equal_times(trace_dir: Path) -> None:
    """(t, kind, row): at 10 ms moves (rows 2, 3), then the start of dense flow 1, then the
    ends of dense flows 0 and 2."""
    ri = Trace.open(trace_dir).replay_input()
    M, S, E = EV_MOVE, EV_FLOW_START, EV_FLOW_END
    expected = [  # (t, kind, a, b, row)
        (0, M, 0, 2, 0),
        (0, S, 0, 0, 0),
        (2 * MS, S, 2, 0, 2),
        (5 * MS, M, 1, 3, 1),
        (10 * MS, M, 1, 2, 2),
        (10 * MS, M, 0, 3, 3),
        (10 * MS, S, 1, 0, 1),
        (10 * MS, E, 0, 0, 0),
        (10 * MS, E, 2, 0, 2),
        (30 * MS, M, 0, -1, 4),
        (40 * MS, E, 1, 0, 1),
    ]
    got = list(zip(ri.ev_t.tolist(), ri.ev_kind.tolist(), ri.ev_a.tolist(), ri.ev_b.tolist(),
                   ri.ev_row.tolist()))
    assert got == expected


def test_other_integer_types_are_cast(tmp_path: Path, trace_dir: Path) -> None:
    put(trace_dir / "mobility.parquet", exact(mobility_columns(), t=pa.uint32(), mn=pa.int64(),
                                              poa=pa.int8()))
    trace = Trace.open(trace_dir)
    assert trace.mobility.schema == pl.Schema({"t": pl.Int64, "mn": pl.UInt32, "poa": pl.Int32})
    assert trace.mobility["t"].to_list() == mobility_columns()["t"].tolist()


def test_optional_flow_columns(trace_dir: Path) -> None:
    cols = flow_columns()
    put(trace_dir / "flows.parquet", {
        **cols,
        "continuity": pa.array([False, None, True]),
        "app": pa.array(["web", None, "voip"]),
        "rate_pps": pa.array([10, None, 2], pa.int32()),
        "size": pa.array([None, 20, 1500], pa.int64()),
        "peer_mn": pa.array([None, None, None], pa.uint32()),
    })
    flows = Trace.open(trace_dir).flows  # sorted by flow: rows 1, 0, 2 of the file
    assert flows["continuity"].to_list() == [True, False, True]
    assert flows["app"].to_list() == [None, "web", "voip"]
    assert flows["rate_pps"].to_list() == [50.0, 10.0, 2.0]
    assert flows["size"].to_list() == [20, 1000, 1500]
    assert flows["peer_mn"].to_list() == [None, None, None]


# ------------------------------------------------------------------ packet streaming
def test_streaming_row_groups_equals_one_read(tmp_path: Path, topology: Topology) -> None:
    path = write_trace(tmp_path / "p", name="p", topology=topology, mobility=mobility_columns(),
                       flows=flow_columns(), packets=packet_columns(), row_group_rows=3)
    trace = Trace.open(path)
    assert trace.has_packets and trace.packet_count() == 10
    assert pq.ParquetFile(path / "packets.parquet").metadata.num_row_groups == 4
    batches = list(trace.packet_batches())
    assert [b.first_row for b in batches] == [0, 3, 6, 9]
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    whole = pq.read_table(path / "packets.parquet")
    for name, dtype in (("t", np.int64), ("flow", np.uint64), ("size", np.uint16),
                        ("dir", np.uint8)):
        assert all(getattr(b, name).dtype == dtype for b in batches)
        joined = np.concatenate([getattr(b, name) for b in batches])
        np.testing.assert_array_equal(joined, whole.column(name).to_numpy())
        np.testing.assert_array_equal(joined, packet_columns()[name])
    assert trace.t_end == 40 * MS


def test_streaming_progress_and_early_close(tmp_path: Path, topology: Topology) -> None:
    path = write_trace(tmp_path / "p", name="p", topology=topology, mobility=mobility_columns(),
                       flows=flow_columns(), packets=packet_columns(), row_group_rows=2)
    trace = Trace.open(path)
    assert sum(len(b) for b in trace.packet_batches(progress=True)) == 10
    stream = trace.packet_batches()
    first = next(stream)
    stream.close()  # stops the prefetching thread without reading on
    assert first.first_row == 0 and len(first) == 2


def test_writer_groups_chunked_packets(tmp_path: Path, topology: Topology) -> None:
    cols = packet_columns()
    chunks = [{k: v[i:i + 3] for k, v in cols.items()} for i in range(0, 10, 3)]
    chunks[1] = PacketBatch(**chunks[1], first_row=3)
    path = write_trace(tmp_path / "p", name="p", topology=topology, mobility=mobility_columns(),
                       flows=flow_columns(), packets=iter(chunks), row_group_rows=4)
    md = pq.ParquetFile(path / "packets.parquet").metadata
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == [4, 4, 2]
    assert pq.read_table(path / "packets.parquet").column("t").to_pylist() == cols["t"].tolist()


def test_packets_of_other_integer_types(trace_dir: Path) -> None:
    put(trace_dir / "packets.parquet", exact(packet_columns(), t=pa.uint32(), flow=pa.int16(),
                                             size=pa.int32(), dir=pa.int64()),
        row_group_size=4)
    batches = list(Trace.open(trace_dir).packet_batches())
    assert [b.t.dtype for b in batches] == [np.dtype(np.int64)] * 3
    assert [b.flow.dtype for b in batches] == [np.dtype(np.uint64)] * 3
    np.testing.assert_array_equal(np.concatenate([b.size for b in batches]),
                                  packet_columns()["size"])


def test_t_end_without_statistics(trace_dir: Path) -> None:
    cols = packet_columns()
    cols["t"] = cols["t"].copy()
    cols["t"][-1] = 45 * MS  # past every flow: the engines reject it, but t_end includes it
    put(trace_dir / "packets.parquet", cols, row_group_size=4, write_statistics=False)
    trace = Trace.open(trace_dir)
    assert trace.t_end == 45 * MS
    assert trace.packet_count() == 10


def test_packet_error_names_packets_file(trace_dir: Path) -> None:
    put(trace_dir / "packets.parquet", packet_columns())
    trace = Trace.open(trace_dir)
    err = trace.packet_error(PacketRowError("t", 6, 11 * MS, "t is outside its flow's span"))
    assert isinstance(err, TraceError)
    assert re.search(names("packets.parquet", "t", 6), str(err))
    assert "outside its flow's span" in str(err)
    assert (err.column, err.row, err.value) == ("t", 6, 11 * MS)


# ------------------------------------------------------------------ synthesis (§10)
def test_synthesis_hand_checked(trace_dir: Path) -> None:
    """Flow 5 at 3 pps over 1 s: interval ⌊10⁹/3⌋ = 333 333 333 ns, packets at 0, 333 333 333,
    666 666 666, 999 999 999 (k = 0..3). Flow 2 at 4 pps from 333 333 333 to 833 333 333:
    interval 250 ms, packets k = 0, 1, 2. At t = 333 333 333 flow 2 (k 0) precedes flow 5 (k 1).
    Even k: downlink (dir 1) of ``size`` bytes; odd k: uplink (dir 0) of 64 bytes."""
    put(trace_dir / "flows.parquet", {
        "flow": pa.array([5, 2], pa.uint64()), "mn": pa.array([0, 1], pa.uint32()),
        "peer": pa.array([0, 0], pa.uint32()),
        "start": pa.array([0, 333_333_333], pa.int64()),
        "end": pa.array([1_000_000_000, 833_333_333], pa.int64()),
        "rate_pps": pa.array([3.0, 4.0]), "size": pa.array([1200, 300], pa.uint16()),
    })
    trace = Trace.open(trace_dir)
    expected = [  # (t, flow, size, dir)
        (0, 5, 1200, 1),
        (333_333_333, 2, 300, 1),
        (333_333_333, 5, 64, 0),
        (583_333_333, 2, 64, 0),
        (666_666_666, 5, 1200, 1),
        (833_333_333, 2, 300, 1),
        (999_999_999, 5, 64, 0),
    ]
    batches = list(trace.packet_batches())
    got = [row for b in batches for row in zip(b.t.tolist(), b.flow.tolist(), b.size.tolist(),
                                               b.dir.tolist())]
    assert got == expected
    assert trace.packet_count() == 7
    assert batches[0].first_row == 0
    assert trace.t_end == 1_000_000_000
    for b in batches:
        assert (b.t.dtype, b.flow.dtype, b.size.dtype, b.dir.dtype) == (
            np.int64, np.uint64, np.uint16, np.uint8)


def test_synthesis_defaults(trace_dir: Path) -> None:
    """Without rate_pps/size: 50 pps (20 ms apart) and 1000-byte downlink packets."""
    trace = Trace.open(trace_dir)
    packets = [row for b in trace.packet_batches()
               for row in zip(b.t.tolist(), b.flow.tolist(), b.size.tolist())]
    # flow 4: 0..10 ms → k 0; flow 20: 2..10 ms → k 0; flow 9: 10..40 ms → k 0 (10), k 1 (30)
    assert packets == [(0, 4, 1000), (2 * MS, 20, 1000), (10 * MS, 9, 1000), (30 * MS, 9, 64)]
    assert trace.packet_count() == 4


def brute_force(flow_ids, start, end, rate, size) -> list[tuple[int, int, int, int]]:
    rows = []
    for f, s, e, r, z in zip(flow_ids, start, end, rate, size):
        step = int(1e9 // r) if float(r).is_integer() else int(np.floor(1e9 / r))
        k = 0
        while s + k * step <= e:
            rows.append((int(s + k * step), int(f), k, int(z) if k % 2 == 0 else 64))
            k += 1
    rows.sort()
    return [(t, f, z, 1 if k % 2 == 0 else 0) for t, f, k, z in rows]


@pytest.mark.parametrize("window", [1, 7, 100, 10_000])
def test_synthesis_windows_match_brute_force(window: int) -> None:
    rng = np.random.default_rng(3)
    n = 40
    flow_ids = np.sort(rng.choice(10_000, n, replace=False)).astype(np.uint64)
    start = rng.integers(0, 2 * 10**9, n)
    start[:5] = 0  # several flows sharing instants
    end = start + rng.integers(0, 3 * 10**9, n)
    rate = np.where(rng.random(n) < 0.5, rng.integers(1, 40, n), rng.uniform(0.5, 30, n))
    size = rng.integers(20, 1500, n).astype(np.uint16)
    batches = list(synthesise_packets(flow_ids, start, end, rate, size, window_packets=window))
    got = [row for b in batches for row in zip(b.t.tolist(), b.flow.tolist(), b.size.tolist(),
                                               b.dir.tolist())]
    assert got == brute_force(flow_ids, start, end, rate, size)
    assert synthesised_count(start, end, rate) == len(got)
    rows = 0
    for b in batches:
        assert b.first_row == rows and len(b) > 0
        rows += len(b)
    if window == 100:
        assert len(batches) > 2 and max(len(b) for b in batches) < 4 * window


@settings(max_examples=60, deadline=None)
@given(
    flows=st.lists(
        st.tuples(st.integers(0, 3_000), st.integers(0, 3_000), st.integers(1, 2_000)),
        min_size=1, max_size=12,
    ),
    window=st.integers(1, 50),
)
def test_synthesis_property(flows: list[tuple[int, int, int]], window: int) -> None:
    """Any flows, any window size: the rule of §10 exactly, with consecutive first_row."""
    flow_ids = np.arange(len(flows), dtype=np.uint64) * 3 + 1
    start = np.array([f[0] for f in flows], np.int64)
    end = start + np.array([f[1] for f in flows], np.int64)
    rate = np.array([1e9 / f[2] for f in flows])  # intervals of 1..2000 ns
    size = np.full(len(flows), 500, np.uint16)
    batches = list(synthesise_packets(flow_ids, start, end, rate, size, window_packets=window))
    got = [row for b in batches for row in zip(b.t.tolist(), b.flow.tolist(), b.size.tolist(),
                                               b.dir.tolist())]
    assert got == brute_force(flow_ids, start, end, rate, size)
    assert synthesised_count(start, end, rate) == len(got)
    lengths = [len(b) for b in batches]
    assert [b.first_row for b in batches] == [sum(lengths[:i]) for i in range(len(lengths))]


# ------------------------------------------------------------------ writer
def test_writer_refuses_and_replaces(trace_dir: Path, topology: Topology) -> None:
    kwargs = dict(name="tiny2", topology=topology, mobility=mobility_columns(),
                  flows=flow_columns())
    with pytest.raises(OutputError, match="already holds a trace; pass overwrite=True"):
        write_trace(trace_dir, **kwargs)
    write_trace(trace_dir, overwrite=True, packets=packet_columns(), **kwargs)
    trace = Trace.open(trace_dir)
    assert trace.name == "tiny2" and trace.has_packets
    assert sorted(p.name for p in trace_dir.parent.iterdir()) == ["trace"]  # no leftovers


def test_writer_accepts_polars_and_names_final_path(tmp_path: Path, topology: Topology) -> None:
    target = tmp_path / "bad"
    mob = pl.DataFrame(mobility_columns()).with_columns(pl.col("poa").cast(pl.Int64))
    mob = mob.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(1).otherwise(pl.col("poa"))
                           .alias("poa"))
    with pytest.raises(TraceError, match=names(str(target / "mobility.parquet"), "poa", 3)):
        write_trace(target, name="bad", topology=topology, mobility=mob,
                    flows=pl.DataFrame(flow_columns()))
    assert list(tmp_path.iterdir()) == []  # the temporary directory is gone
    write_trace(target, name="ok", topology=topology, mobility=pl.DataFrame(mobility_columns()),
                flows=pl.DataFrame(flow_columns()))
    assert Trace.open(target).flows.height == 3


# ------------------------------------------------------------------ malformed traces
def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=names(str(tmp_path / "nope"))):
        Trace.open(tmp_path / "nope")


@pytest.mark.parametrize("missing", ["trace.toml", "topology.toml", "mobility.parquet",
                                     "flows.parquet"])
def test_missing_file(trace_dir: Path, missing: str) -> None:
    (trace_dir / missing).unlink()
    with pytest.raises(TraceError, match=names(str(trace_dir / missing)) + ".*missing file"):
        Trace.open(trace_dir)


def test_manifest_unknown_key(trace_dir: Path) -> None:
    (trace_dir / "trace.toml").write_text('name = "x"\nlicense = "MIT"\n')
    with pytest.raises(TraceError, match=r"trace\.toml.*unknown key 'license'"):
        Trace.open(trace_dir)


def test_manifest_without_name(trace_dir: Path) -> None:
    (trace_dir / "trace.toml").write_text('description = "x"\n')
    with pytest.raises(TraceError, match=r"trace\.toml.*required key \"name\""):
        Trace.open(trace_dir)


def test_manifest_bad_toml_and_type(trace_dir: Path) -> None:
    (trace_dir / "trace.toml").write_text('name = \n')
    with pytest.raises(TraceError, match=r"trace\.toml: not valid TOML"):
        Trace.open(trace_dir)
    (trace_dir / "trace.toml").write_text('name = "x"\nseed = "7"\n')
    with pytest.raises(TraceError, match=r"trace\.toml.*'seed' must be a TOML int"):
        Trace.open(trace_dir)


def test_missing_column(trace_dir: Path) -> None:
    cols = mobility_columns()
    del cols["poa"]
    put(trace_dir / "mobility.parquet", cols)
    with pytest.raises(TraceError, match=names("mobility.parquet", "poa") + ".*missing column"):
        Trace.open(trace_dir)


def test_unknown_column(trace_dir: Path) -> None:
    put(trace_dir / "flows.parquet", {**flow_columns(), "contnuity": [True] * 3})
    with pytest.raises(TraceError, match=names("flows.parquet", "contnuity") + ".*unknown"):
        Trace.open(trace_dir)


def test_float_column(trace_dir: Path) -> None:
    cols = mobility_columns()
    cols["t"] = cols["t"].astype(np.float64)
    put(trace_dir / "mobility.parquet", cols)
    with pytest.raises(TraceError, match=names("mobility.parquet", "t") + ".*type double"):
        Trace.open(trace_dir)


def test_string_column(trace_dir: Path) -> None:
    put(trace_dir / "flows.parquet", {**flow_columns(), "mn": ["a", "b", "c"]})
    with pytest.raises(TraceError, match=names("flows.parquet", "mn") + ".*type string"):
        Trace.open(trace_dir)


def test_integer_out_of_dtype_range(trace_dir: Path) -> None:
    cols = exact(mobility_columns(), mn=pa.int64())
    cols["mn"] = pa.array([0, 1, 1, -4, 0], pa.int64())
    put(trace_dir / "mobility.parquet", cols)
    with pytest.raises(TraceError, match=names("mobility.parquet", "mn", 3) + ", value -4"):
        Trace.open(trace_dir)


def test_mn_id_too_large(trace_dir: Path) -> None:
    cols = flow_columns()
    cols["mn"] = np.array([0, 2**31, 0], np.uint32)
    put(trace_dir / "flows.parquet", cols)
    with pytest.raises(TraceError, match=names("flows.parquet", "mn", 1)):
        Trace.open(trace_dir)


def test_null(trace_dir: Path) -> None:
    cols = exact(mobility_columns())
    cols["mn"] = pa.array([0, 1, None, 0, 0], pa.uint32())
    put(trace_dir / "mobility.parquet", cols)
    with pytest.raises(TraceError, match=names("mobility.parquet", "mn", 2) + ".*null"):
        Trace.open(trace_dir)


def test_unsorted_mobility(trace_dir: Path) -> None:
    cols = mobility_columns()
    cols["t"] = np.array([0, 5, 10, 9, 30], np.int64) * MS
    put(trace_dir / "mobility.parquet", cols)
    with pytest.raises(TraceError, match=names("mobility.parquet", "t", 3) + ".*sorted"):
        Trace.open(trace_dir)


@pytest.mark.parametrize("name,column", [("mobility.parquet", "t"),
                                         ("flows.parquet", "start"), ("flows.parquet", "end")])
def test_negative_time(trace_dir: Path, name: str, column: str) -> None:
    cols = mobility_columns() if name == "mobility.parquet" else flow_columns()
    cols[column] = cols[column].copy()
    cols[column][0] = -2
    if column == "start":
        cols["start"][:] = -2  # every flow starts at -2 so that no row has end < start first
    put(trace_dir / name, cols)
    with pytest.raises(TraceError, match=names(name, column, 0) + ", value -2.*>= 0"):
        Trace.open(trace_dir)


@pytest.mark.parametrize("bad", [1, 4, 6, 99, -2])  # anchor, router, past the nodes, < -1
def test_poa_not_a_poa(trace_dir: Path, bad: int) -> None:
    cols = mobility_columns()
    cols["poa"] = np.array([2, 3, bad, 3, -1], np.int32)
    put(trace_dir / "mobility.parquet", cols)
    with pytest.raises(TraceError, match=names("mobility.parquet", "poa", 2) + f", value {bad}"):
        Trace.open(trace_dir)


@pytest.mark.parametrize("name", ["mobility.parquet", "flows.parquet"])
def test_empty_file(trace_dir: Path, name: str) -> None:
    cols = mobility_columns() if name == "mobility.parquet" else flow_columns()
    put(trace_dir / name, {k: v[:0] for k, v in cols.items()})
    with pytest.raises(TraceError, match=names(name) + ".*no rows"):
        Trace.open(trace_dir)


def test_duplicate_flow_id(trace_dir: Path) -> None:
    cols = flow_columns()
    cols["flow"] = np.array([9, 4, 9], np.uint64)
    put(trace_dir / "flows.parquet", cols)
    with pytest.raises(TraceError, match=names("flows.parquet", "flow", 2) + ".*unique"):
        Trace.open(trace_dir)


@pytest.mark.parametrize("bad", [1, 2, 4, 6])  # anchor, PoA, router, past the nodes
def test_peer_not_a_cn(trace_dir: Path, bad: int) -> None:
    cols = flow_columns()
    cols["peer"] = np.array([0, bad, 0], np.uint32)
    put(trace_dir / "flows.parquet", cols)
    with pytest.raises(TraceError, match=names("flows.parquet", "peer", 1) + f", value {bad}"):
        Trace.open(trace_dir)


def test_start_after_end(trace_dir: Path) -> None:
    cols = flow_columns()
    cols["end"] = np.array([40 * MS, 10 * MS, MS], np.int64)
    put(trace_dir / "flows.parquet", cols)
    with pytest.raises(TraceError, match=names("flows.parquet", "end", 2) + ".*before it starts"):
        Trace.open(trace_dir)


def test_mn_to_mn_flows_name_the_other_mn(trace_dir: Path) -> None:
    cols = exact(flow_columns())
    cols["peer"] = pa.array([0, None, 0], pa.uint32())
    cols["peer_mn"] = pa.array([None, 0, None], pa.uint32())  # row 1 is MN 1's
    put(trace_dir / "flows.parquet", cols)
    trace = Trace.open(trace_dir)
    row = trace.flows.filter(pl.col("peer").is_null()).row(0, named=True)
    assert (row["mn"], row["peer_mn"]) == (1, 0)
    replay = trace.replay_input()
    two = replay.flow_peer_mn >= 0
    assert replay.flow_peer[two].tolist() == [-1] and replay.flow_peer_mn[two].tolist() == [0]
    assert (replay.flow_peer_mn[~two] == -1).all()


@pytest.mark.parametrize(("peer", "peer_mn", "column", "row", "words"), [
    ([0, 0, 0], [None, 0, None], "peer_mn", 1, "not both"),
    ([0, None, 0], [None, None, None], "peer", 1, "must not be null"),
    ([0, None, 0], [None, 7, None], "peer_mn", 1, "must be an MN that mobility.parquet names"),
])
def test_bad_mn_to_mn_flows_are_refused(trace_dir: Path, peer, peer_mn, column, row,
                                        words) -> None:
    cols = exact(flow_columns())
    cols["peer"] = pa.array(peer, pa.uint32())
    cols["peer_mn"] = pa.array(peer_mn, pa.uint32())
    put(trace_dir / "flows.parquet", cols)
    with pytest.raises(TraceError, match=names("flows.parquet", column, row) + ".*" + words):
        Trace.open(trace_dir)


def test_an_mn_to_mn_flow_needs_another_mn(trace_dir: Path) -> None:
    cols = exact(flow_columns())
    mn = int(cols["mn"][1].as_py())
    cols["peer"] = pa.array([0, None, 0], pa.uint32())
    cols["peer_mn"] = pa.array([None, mn, None], pa.uint32())
    put(trace_dir / "flows.parquet", cols)
    with pytest.raises(TraceError, match=names("flows.parquet", "peer_mn", 1)
                       + ".*another MN"):
        Trace.open(trace_dir)


def test_null_peer(trace_dir: Path) -> None:
    cols = exact(flow_columns())
    cols["peer"] = pa.array([0, 5, None], pa.uint32())
    put(trace_dir / "flows.parquet", cols)
    with pytest.raises(TraceError, match=names("flows.parquet", "peer", 2) + ".*null"):
        Trace.open(trace_dir)


@pytest.mark.parametrize("rate", [0.0, -3.0, float("nan"), float("inf"), 2e9])
def test_bad_rate(trace_dir: Path, rate: float) -> None:
    put(trace_dir / "flows.parquet", {**flow_columns(), "rate_pps": [50.0, rate, 1.0]})
    with pytest.raises(TraceError, match=names("flows.parquet", "rate_pps", 1)):
        Trace.open(trace_dir)


@pytest.mark.parametrize("size", [19, 65536])
def test_bad_flow_size(trace_dir: Path, size: int) -> None:
    put(trace_dir / "flows.parquet", {**flow_columns(),
                                      "size": pa.array([1000, 1000, size], pa.int32())})
    with pytest.raises(TraceError, match=names("flows.parquet", "size", 2) + f", value {size}"):
        Trace.open(trace_dir)


def test_bad_flow_optional_types(trace_dir: Path) -> None:
    put(trace_dir / "flows.parquet", {**flow_columns(), "continuity": [1, 0, 1]})
    with pytest.raises(TraceError, match=names("flows.parquet", "continuity") + ".*bool"):
        Trace.open(trace_dir)
    put(trace_dir / "flows.parquet", {**flow_columns(), "size": [1000.0, 20.0, 30.0]})
    with pytest.raises(TraceError, match=names("flows.parquet", "size") + ".*type double"):
        Trace.open(trace_dir)


# ------------------------------------------------------------------ malformed packets
def packets_with(**changes) -> dict[str, np.ndarray | pa.Array]:
    cols: dict[str, np.ndarray | pa.Array] = dict(packet_columns())
    cols.update(changes)
    return cols


def test_packets_missing_column(trace_dir: Path) -> None:
    cols = packets_with()
    del cols["dir"]
    put(trace_dir / "packets.parquet", cols)
    with pytest.raises(TraceError, match=names("packets.parquet", "dir") + ".*missing column"):
        Trace.open(trace_dir)


def test_packets_float_column(trace_dir: Path) -> None:
    put(trace_dir / "packets.parquet", packets_with(size=np.full(10, 100.0)))
    with pytest.raises(TraceError, match=names("packets.parquet", "size") + ".*type double"):
        Trace.open(trace_dir)


def test_packets_unsorted_across_groups(trace_dir: Path) -> None:
    t = packet_columns()["t"].copy()
    t[5] = 2 * MS  # group 1 (rows 4..7) holds a t below group 0's largest (3 ms)
    put(trace_dir / "packets.parquet", packets_with(t=t), row_group_size=4)
    with pytest.raises(TraceError, match=names("packets.parquet", "t", 5) + ".*sorted"):
        Trace.open(trace_dir)


def test_packets_negative_time(trace_dir: Path) -> None:
    t = packet_columns()["t"].copy()
    t[0] = -1
    put(trace_dir / "packets.parquet", packets_with(t=t), row_group_size=4)
    with pytest.raises(TraceError, match=names("packets.parquet", "t", 0) + ", value -1"):
        Trace.open(trace_dir)


def test_packets_flow_outside_trace_ids(trace_dir: Path) -> None:
    flow = packet_columns()["flow"].copy()
    flow[6] = 21  # flows are 4, 9, 20
    put(trace_dir / "packets.parquet", packets_with(flow=flow), row_group_size=4)
    with pytest.raises(TraceError, match=names("packets.parquet", "flow", 6) + ", value 21"):
        Trace.open(trace_dir)


@pytest.mark.parametrize("column,value", [("dir", 2), ("size", 19)])
def test_packets_value_out_of_range(trace_dir: Path, column: str, value: int) -> None:
    arr = packet_columns()[column].copy()
    arr[9] = value
    put(trace_dir / "packets.parquet", packets_with(**{column: arr}), row_group_size=4)
    with pytest.raises(TraceError, match=names("packets.parquet", column, 9) + f", value {value}"):
        Trace.open(trace_dir)


def test_packets_null_found_while_streaming(trace_dir: Path) -> None:
    size = pa.array([100, 101, 102, 103, 104, 105, None, 107, 108, 109], pa.uint16())
    put(trace_dir / "packets.parquet", packets_with(size=size), row_group_size=4,
        write_statistics=False)
    trace = Trace.open(trace_dir)  # no statistics: nothing to see at open
    stream = trace.packet_batches()
    assert next(stream).first_row == 0
    with pytest.raises(TraceError, match=names("packets.parquet", "size", 6) + ".*null"):
        list(stream)


def test_packets_null_found_at_open_from_statistics(trace_dir: Path) -> None:
    size = pa.array([100, 101, 102, 103, 104, 105, None, 107, 108, 109], pa.uint16())
    put(trace_dir / "packets.parquet", packets_with(size=size), row_group_size=4)
    with pytest.raises(TraceError, match=names("packets.parquet", "size", 6) + ".*null"):
        Trace.open(trace_dir)


def test_packets_cast_overflow_found_while_streaming(trace_dir: Path) -> None:
    size = pa.array([100] * 9 + [70_000], pa.int32())
    put(trace_dir / "packets.parquet", packets_with(size=size), row_group_size=4,
        write_statistics=False)
    trace = Trace.open(trace_dir)
    with pytest.raises(TraceError, match=names("packets.parquet", "size", 9) + ", value 70000"):
        list(trace.packet_batches())


def test_packets_not_parquet(trace_dir: Path) -> None:
    (trace_dir / "packets.parquet").write_bytes(b"not parquet")
    with pytest.raises(TraceError, match=names("packets.parquet") + ".*not a readable Parquet"):
        Trace.open(trace_dir)


# ------------------------------------------------------------------ flow classes' columns
def test_app_and_address_type_reach_the_engines_as_codes(tmp_path: Path, topology) -> None:
    """RFC 8653's address types and the apps become ReplayInput codes (flow classes)."""
    flows = {**flow_columns(), "app": ["web", None, "voice"],
             "address_type": ["non-persistent", "fixed", None]}
    trace = Trace.open(write_trace(tmp_path / "t", name="t", topology=topology,
                                   mobility=mobility_columns(), flows=flows))
    assert trace.flows["address_type"].to_list() == ["fixed", "non-persistent", None]  # by id
    ri = trace.replay_input()
    assert ri.app_names == ("voice", "web")
    assert ri.flow_app.tolist() == [-1, 1, 0]  # flows 4, 9, 20
    assert ri.flow_address_type.tolist() == [0, 2, -1]


def test_unknown_address_type_is_refused_with_its_row(trace_dir: Path) -> None:
    columns = flow_columns()
    put(trace_dir / "flows.parquet", {**exact(columns, mn=pa.uint32(), peer=pa.uint32()),
                                      "address_type": ["fixed", "roaming", None]})
    with pytest.raises(TraceError, match=names(str(trace_dir / "flows.parquet"),
                                                "address_type", 1) + ".*must be one of fixed"):
        Trace.open(trace_dir)
