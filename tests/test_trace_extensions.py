"""networks.parquet and faults.parquet: read, validated, exposed on Trace; networks become
control events of the replay input (semantics.md §16), and faults are named by
``unsupported_inputs`` (no practice of this version replays them).

Every malformed file is written with pyarrow exactly as given, and the TraceError must name
the file, the column, the first offending row and, where there is one, its value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dmmemu.errors import TraceError
from dmmemu.topology.graph import Link, Node, Topology
from dmmemu.trace.reader import Trace, unsupported_inputs
from dmmemu.trace.writer import write_trace

MS = 1_000_000  # ns
U32 = pa.uint32()
I64 = pa.int64()


@pytest.fixture
def trace_dir(tmp_path: Path) -> Path:
    """cn0 — anchor1 — {ar2, ar3}, anchor1 — router4; MNs 0, 1, 2 in mobility.parquet (a
    flow's MN must be one of them), none other."""
    nodes = [Node(id=0, name="cn0", role="cn"), Node(id=1, name="anchor1", role="anchor"),
             Node(id=2, name="ar2", role="poa"), Node(id=3, name="ar3", role="poa"),
             Node(id=4, name="router4", role="router")]
    links = [Link(a=0, b=1, delay_us=1000), Link(a=1, b=2, delay_us=100),
             Link(a=1, b=3, delay_us=100), Link(a=1, b=4, delay_us=10)]
    return write_trace(
        tmp_path / "trace", name="ext", topology=Topology.from_parts(nodes, links),
        mobility={"t": np.array([0, 0, 0, 5 * MS], np.int64),
                  "mn": np.array([0, 1, 2, 1], np.uint32),
                  "poa": np.array([2, 2, 3, 3], np.int32)},
        flows={"flow": np.array([1, 2], np.uint64), "mn": np.array([0, 2], np.uint32),
               "peer": np.array([0, 0], np.uint32), "start": np.array([0, 0], np.int64),
               "end": np.array([10 * MS, 10 * MS], np.int64)},
    )


def put(path: Path, columns: dict[str, list | pa.Array]) -> None:
    """One Parquet file exactly as given (lists take pyarrow's inferred type)."""
    pq.write_table(pa.table({k: v if isinstance(v, pa.Array) else pa.array(v)
                             for k, v in columns.items()}), path)


def refused(trace_dir: Path, file: str, column: str | None, row: int | None,
            *pieces: str, value: object = None) -> TraceError:
    with pytest.raises(TraceError) as err:
        Trace.open(trace_dir)
    e = err.value
    message = str(e)
    assert e.file == str(trace_dir / file), message
    assert (e.column, e.row) == (column, row), message
    if value is not None:
        assert e.value == value, message
    for piece in pieces:
        assert piece in message, (piece, message)
    return e


# ------------------------------------------------------------------ absent, empty, valid
def test_absent_files_are_none(trace_dir: Path) -> None:
    trace = Trace.open(trace_dir)
    assert trace.networks is None and trace.faults is None
    assert unsupported_inputs(trace) == []


def test_networks_are_read_in_file_order(trace_dir: Path) -> None:
    put(trace_dir / "networks.parquet", {
        "t": pa.array([0, 2 * MS, 2 * MS, 7 * MS], I64),
        "mn": pa.array([1, 2, 1, 0], U32),
        "router": pa.array([0, 1, None, 2], U32),  # nested: 2 behind 1 behind 0; then 0 behind 2
    })
    trace = Trace.open(trace_dir)
    assert trace.networks.schema == pl.Schema({"t": pl.Int64, "mn": pl.UInt32,
                                               "router": pl.UInt32})
    assert trace.networks.rows() == [(0, 1, 0), (2 * MS, 2, 1), (2 * MS, 1, None),
                                     (7 * MS, 0, 2)]
    assert trace.faults is None
    assert unsupported_inputs(trace) == []
    assert trace.network_depth == 2  # 2 behind 1 behind 0 at 2 ms
    replay = trace.replay_input()
    n_mob = trace.mobility.height
    assert (replay.n_mobility_rows, replay.n_network_rows) == (n_mob, 4)
    assert replay.mn_router.tolist()[:3] == [1, 1, 1]
    # The rows are MOVE events after the mobility rows, b = the router's MN or -1.
    network = replay.ev_row >= n_mob
    assert list(zip(replay.ev_t[network].tolist(), replay.ev_a[network].tolist(),
                    replay.ev_b[network].tolist(), replay.ev_row[network].tolist())) == [
        (0, 1, 0, n_mob), (2 * MS, 2, 1, n_mob + 1), (2 * MS, 1, -1, n_mob + 2),
        (7 * MS, 0, 2, n_mob + 3)]
    assert set(replay.ev_kind[network].tolist()) == {0}


def test_networks_nested_too_deep_are_refused(trace_dir: Path) -> None:
    # 3 behind 2 behind 1 behind 0, then 0 behind 4: four routers above MN 3.
    put(trace_dir / "mobility.parquet", {"t": pa.array([0] * 5, I64),
                                         "mn": pa.array(range(5), U32),
                                         "poa": pa.array([2] * 5, pa.int32())})
    put(trace_dir / "networks.parquet", {"t": pa.array([0, 1, 2, 3], I64),
                                         "mn": pa.array([1, 2, 3, 0], U32),
                                         "router": pa.array([0, 1, 2, 4], U32)})
    refused(trace_dir, "networks.parquet", "router", 3, "behind 4 mobile routers at once",
            "at most 3 nest", value=4)


def test_networks_accept_other_integer_types_and_all_null_routers(trace_dir: Path) -> None:
    put(trace_dir / "networks.parquet", {"t": pa.array([3], pa.int32()),
                                         "mn": pa.array([2], pa.int64()),
                                         "router": pa.nulls(1)})
    trace = Trace.open(trace_dir)
    assert trace.networks.rows() == [(3, 2, None)]
    assert trace.networks.schema["router"] == pl.UInt32


def test_faults_are_read_with_every_column(trace_dir: Path) -> None:
    put(trace_dir / "faults.parquet", {
        "t": pa.array([1 * MS, 2 * MS, 3 * MS, 4 * MS], I64),
        "node": pa.array([1, None, 1, None], U32),
        "up": [False, False, True, True],
        "a": pa.array([None, 4, None, 1], U32),
        "b": pa.array([None, 1, None, 4], U32),  # the same link, given either way round
        "planned": pa.array([60_000 * MS, None, 0, None], I64),
    })
    trace = Trace.open(trace_dir)
    assert trace.faults.columns == ["t", "node", "up", "a", "b", "planned"]
    assert trace.faults.rows() == [
        (1 * MS, 1, False, None, None, 60_000 * MS), (2 * MS, None, False, 4, 1, None),
        (3 * MS, 1, True, None, None, 0), (4 * MS, None, True, 1, 4, None)]
    (message,) = unsupported_inputs(trace)
    assert message.startswith(f"{trace_dir / 'faults.parquet'}: faults are read and "
                              "validated, but no practice of this version replays them")
    assert "replay without failures" in message
    with pytest.raises(TraceError, match="faults are read and validated"):
        trace.replay_input()


def test_faults_without_optional_columns(trace_dir: Path) -> None:
    put(trace_dir / "faults.parquet", {"t": pa.array([0], I64), "node": pa.array([4], U32),
                                       "up": [False]})
    faults = Trace.open(trace_dir).faults
    assert faults.rows() == [(0, 4, False, None, None, None)]
    assert faults.schema == pl.Schema({"t": pl.Int64, "node": pl.UInt32, "up": pl.Boolean,
                                       "a": pl.UInt32, "b": pl.UInt32, "planned": pl.Int64})


def test_files_without_rows_change_nothing(trace_dir: Path) -> None:
    put(trace_dir / "networks.parquet", {"t": pa.array([], I64), "mn": pa.array([], U32),
                                         "router": pa.array([], U32)})
    put(trace_dir / "faults.parquet", {"t": pa.array([], I64), "node": pa.array([], U32),
                                       "up": pa.array([], pa.bool_())})
    trace = Trace.open(trace_dir)
    assert trace.networks.height == 0 and trace.faults.height == 0
    assert unsupported_inputs(trace) == []


def test_only_faults_are_named_unreplayed(trace_dir: Path) -> None:
    put(trace_dir / "networks.parquet", {"t": pa.array([0], I64), "mn": pa.array([0], U32),
                                         "router": pa.array([1], U32)})
    put(trace_dir / "faults.parquet", {"t": pa.array([0], I64), "node": pa.array([1], U32),
                                       "up": [False]})
    messages = unsupported_inputs(Trace.open(trace_dir))
    assert [m.split(":")[0] for m in messages] == [str(trace_dir / "faults.parquet")]


# ------------------------------------------------------------------ networks.parquet errors
NETWORKS = {"t": pa.array([0, 1, 2], I64), "mn": pa.array([1, 2, 1], U32),
            "router": pa.array([0, 0, None], U32)}


@pytest.mark.parametrize("change, column, row, value, pieces", [
    ({"t": pa.array([0, 2, 1], I64)}, "t", 2, 1, ("sorted by t", "networks.parquet by t")),
    ({"t": pa.array([0, -1, 2], I64)}, "t", 1, -1, (">= 0",)),
    ({"t": pa.array([0.0, 1.0, 2.0])}, "t", None, None, ("double", "integers")),
    ({"mn": pa.array([1, None, 1], U32)}, "mn", 1, None, ("must not be null",)),
    ({"mn": pa.array([1, 3, 1], U32)}, "mn", 1, 3,
     ("MN that mobility.parquet names", "0, 1, 2")),
    ({"mn": pa.array([1, 2, -4], pa.int8())}, "mn", 2, -4, ("does not fit uint32",)),
    ({"router": pa.array([0, 9, None], U32)}, "router", 1, 9, ("mobile router",)),
    ({"router": pa.array([0, 2, None], U32)}, "router", 1, 2, ("behind itself",)),
    ({"router": pa.array([0, -1, None], pa.int32())}, "router", 1, -1, ("does not fit",)),
    ({"router": pa.array(["0", "0", None])}, "router", None, None, ("integers",)),
])
def test_bad_networks(trace_dir: Path, change, column, row, value, pieces) -> None:
    put(trace_dir / "networks.parquet", {**NETWORKS, **change})
    refused(trace_dir, "networks.parquet", column, row, *pieces, value=value)


def test_network_loops_are_refused(trace_dir: Path) -> None:
    # 1 behind 0, 2 behind 1, then 0 behind 2: 0 would ride behind itself.
    put(trace_dir / "networks.parquet", {"t": pa.array([0, 1, 2], I64),
                                         "mn": pa.array([1, 2, 0], U32),
                                         "router": pa.array([0, 1, 2], U32)})
    refused(trace_dir, "networks.parquet", "router", 2, "MN 0 would ride behind itself",
            "0 behind 2 behind 1 behind 0", value=2)


def test_a_swap_in_the_right_order_is_accepted(trace_dir: Path) -> None:
    put(trace_dir / "networks.parquet", {"t": pa.array([0, 5, 5], I64),
                                         "mn": pa.array([1, 1, 0], U32),
                                         "router": pa.array([0, None, 1], U32)})
    assert Trace.open(trace_dir).networks.height == 3


def test_networks_missing_and_unknown_columns(trace_dir: Path) -> None:
    put(trace_dir / "networks.parquet", {"t": NETWORKS["t"], "mn": NETWORKS["mn"]})
    refused(trace_dir, "networks.parquet", "router", None, "missing column")
    put(trace_dir / "networks.parquet", {**NETWORKS, "since": pa.array([0, 0, 0], I64)})
    refused(trace_dir, "networks.parquet", "since", None, "unknown column")


def test_networks_not_parquet(trace_dir: Path) -> None:
    (trace_dir / "networks.parquet").write_bytes(b"")
    refused(trace_dir, "networks.parquet", None, None, "not a readable Parquet file")


# ------------------------------------------------------------------ faults.parquet errors
FAULTS = {"t": pa.array([0, 1, 2, 3], I64), "node": pa.array([1, 1, None, None], U32),
          "up": pa.array([False, True, False, True]),
          "a": pa.array([None, None, 1, 1], U32), "b": pa.array([None, None, 2, 2], U32),
          "planned": pa.array([None, 5, None, None], I64)}


@pytest.mark.parametrize("change, column, row, value, pieces", [
    ({"t": pa.array([0, 1, 0, 3], I64)}, "t", 2, 0, ("sorted by t", "faults.parquet by t")),
    ({"t": pa.array([-5, 1, 2, 3], I64)}, "t", 0, -5, (">= 0",)),
    ({"up": pa.array([False, True, None, True])}, "up", 2, None, ("must not be null",)),
    ({"up": pa.array([0, 1, 0, 1], pa.int8())}, "up", None, None, ("store it as bool",)),
    ({"node": pa.array([1, 7, None, None], U32)}, "node", 1, 7, ("0..4",)),
    ({"node": pa.array([1, 1, None, 0], U32)}, "node", 3, 0, ("not both",)),
    ({"node": pa.array([1, 1, None, None], U32), "a": pa.array([None, None, None, 1], U32),
      "b": pa.array([None, None, None, 2], U32)}, "node", 2, None,
     ("must not be null unless a and b name a link",)),
    ({"b": pa.array([None, None, 2, None], U32)}, "b", 3, None, ("set both, or neither",)),
    ({"a": pa.array([None, None, 1, None], U32)}, "a", 3, None, ("set both, or neither",)),
    ({"b": pa.array([None, None, 9, 9], U32)}, "b", 2, 9, ("id of a node",)),
    ({"a": pa.array([None, None, 0, 0], U32), "b": pa.array([None, None, 2, 2], U32)},
     "b", 2, 2, ("not linked",)),
    ({"planned": pa.array([None, -1, None, None], I64)}, "planned", 1, -1, (">= 0",)),
    ({"planned": pa.array([None, 1.5, None, None])}, "planned", None, None, ("integers",)),
    ({"up": pa.array([True, False, False, True])}, "up", 0, True,
     ("node 1 is already up from the start",)),
    ({"up": pa.array([False, False, False, True])}, "up", 1, False,
     ("node 1 is already down since row 0",)),
    ({"up": pa.array([False, True, False, False])}, "up", 3, False,
     ("link 1-2 is already down since row 2",)),
])
def test_bad_faults(trace_dir: Path, change, column, row, value, pieces) -> None:
    put(trace_dir / "faults.parquet", {**FAULTS, **change})
    refused(trace_dir, "faults.parquet", column, row, *pieces, value=value)


def test_faults_missing_and_unknown_columns(trace_dir: Path) -> None:
    put(trace_dir / "faults.parquet", {"t": FAULTS["t"], "node": FAULTS["node"]})
    refused(trace_dir, "faults.parquet", "up", None, "missing column")
    put(trace_dir / "faults.parquet", {**FAULTS, "link": pa.array([0, 0, 0, 0], U32)})
    refused(trace_dir, "faults.parquet", "link", None, "unknown column")

