"""Result tables (docs/results.md, semantics.md §9): exact stretch statistics, the columns and
cross-table consistency of a run on a small hand-made trace, and RunResult.write (one
Parquet file per table, run metadata in each, atomic replacement, no temporary leftovers)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

import dmmemu
from dmmemu.errors import OutputError
from dmmemu.practices import PRACTICES, get_practice
from dmmemu.results.tables import TABLES, stretch_stats
from dmmemu.topology.generators import FlatWifi
from dmmemu.trace.reader import Trace
from dmmemu.trace.writer import write_trace

MS = 1_000_000  # ns
SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"
S = 1_000 * MS

# Every column docs/results.md lists, per table (plus `run`, `practice` and `trace` on each).
SUMMARY_COLUMNS = (
    "run", "practice", "trace", "not_applicable", "engine", "flows", "packets", "bytes", "delivered_packets",
    "overhead_bytes", "overhead_byte_hops", "mean_stretch", "p99_stretch", "same_poa_packets",
    "mean_delay_us",
    "mean_direct_delay_us", "handovers", "attaches", "detaches", "signaling_msgs", "signaling_bytes",
    "signaling_byte_hops", "mean_interruption_us", "lost_packets", "delayed_packets",
    "broken_flows", "renumbered_flows", "relocations", "deferred_relocations", "spared_flows",
    "anchors_used", "max_anchor_share", "peak_bindings",
    "timeline_bin_s", "params", "seed",
    "dmmemu_version",
)
FLOWS_COLUMNS = (
    "flow", "mn", "peer", "peer_mn", "continuity", "app", "address_type", "flow_class", "anchor",
    "packets", "bytes", "delivered", "lost",
    "delayed", "overhead_bytes", "overhead_byte_hops", "hops_sum", "direct_hops_sum",
    "delay_us_sum", "direct_delay_us_sum", "stretch", "broken", "renumbered", "moves",
    "run", "practice", "trace",
)
ANCHORS_COLUMNS = (
    "anchor", "name", "packets", "bytes", "share", "peak_bindings", "mean_bindings",
    "signaling_msgs", "signaling_bytes", "run", "practice", "trace",
)
FUNCTIONS_COLUMNS = ("function", "node", "name", "messages", "addresses", "packets", "bytes",
                     "peak_bindings", "mean_bindings", "run", "practice", "trace")
SIGNALING_COLUMNS = ("message", "cause", "msgs", "bytes", "byte_hops", "run", "practice", "trace")
HANDOVERS_COLUMNS = (
    "row", "source", "t", "mn", "kind", "from_poa", "to_poa", "interruption_us", "link_loss_us", "l2_attach_us",
    "movement_detection_us", "dad_us", "signaling_us", "anchor_hold_us", "msgs", "addresses", "bytes", "lost", "delayed", "run", "practice", "trace",
)
TIMELINE_COLUMNS = (
    "t", "t_s", "anchor", "name", "packets", "bytes", "signaling_msgs", "mean_bindings",
    "run", "practice", "trace",
)
STRETCH_COLUMNS = ("path_hops", "direct_hops", "stretch", "packets", "run", "practice", "trace")
EVENTS_COLUMNS = ("t", "kind", "mn", "flow", "anchor", "name", "run", "practice", "trace")
DOCUMENTED = {
    "summary": SUMMARY_COLUMNS, "flows": FLOWS_COLUMNS, "anchors": ANCHORS_COLUMNS,
    "functions": FUNCTIONS_COLUMNS,
    "signaling": SIGNALING_COLUMNS, "handovers": HANDOVERS_COLUMNS,
    "timeline": TIMELINE_COLUMNS, "stretch": STRETCH_COLUMNS, "events": EVENTS_COLUMNS,
}
META_KEYS = ("dmmemu.run", "dmmemu.practice", "dmmemu.params", "dmmemu.trace", "dmmemu.engine",
             "dmmemu.seed", "dmmemu.version", "dmmemu.timeline_bin_s")


# ------------------------------------------------------------------ stretch_stats (§9)
def hist_of(cells: dict[tuple[int, int], int], shape: tuple[int, int] = (10, 4)) -> np.ndarray:
    """A (path hops, direct hops) histogram with the given non-zero cells."""
    hist = np.zeros(shape, np.int64)
    for (hops, direct), count in cells.items():
        hist[hops, direct] = count
    return hist


def test_stretch_99_at_one_and_1_at_five_thirds() -> None:
    mean, p99 = stretch_stats(hist_of({(3, 3): 99, (5, 3): 1}))
    assert mean == pytest.approx((99 + 5 / 3) / 100, rel=1e-15)
    assert mean == pytest.approx(1.00667, abs=1e-5)
    assert p99 == 1.0


def test_stretch_98_and_2_reaches_the_tail() -> None:
    mean, p99 = stretch_stats(hist_of({(3, 3): 98, (5, 3): 2}))
    assert mean == pytest.approx((98 + 2 * 5 / 3) / 100, rel=1e-15)
    assert p99 == 5 / 3


def test_stretch_empty_is_nan() -> None:
    mean, p99 = stretch_stats(np.zeros((10, 4), np.int64))
    assert math.isnan(mean) and math.isnan(p99)


def test_stretch_equal_ratios_in_different_cells_and_exact_threshold() -> None:
    """2/2, 3/3 and 1/1 are one stretch value (1); 6/3 and 4/2 another (2). With 297 packets
    at stretch 1 out of 300 the cumulative share reaches exactly 0.99 at stretch 1."""
    cells = {(1, 1): 100, (2, 2): 100, (3, 3): 97, (6, 3): 2, (4, 2): 1}
    mean, p99 = stretch_stats(hist_of(cells))
    assert mean == pytest.approx((297 + 3 * 2) / 300, rel=1e-15)
    assert p99 == 1.0
    cells[(3, 3)] = 96  # 296 / 299 < 0.99: the 99th percentile is stretch 2
    assert stretch_stats(hist_of(cells))[1] == 2.0


def test_stretch_single_cell_and_order_independent_of_layout() -> None:
    assert stretch_stats(hist_of({(7, 2): 5})) == (3.5, 3.5)
    # Stretch order is not index order: 2/1 (row 2) is larger than 3/3 (row 3).
    assert stretch_stats(hist_of({(2, 1): 1, (3, 3): 99})) == (pytest.approx(1.01), 1.0)
    assert stretch_stats(hist_of({(2, 1): 99, (3, 3): 1})) == (pytest.approx(1.99), 2.0)
    # 2/1 and 4/2 are the same stretch, 2, above 98 packets at 4/3.
    mean, p99 = stretch_stats(hist_of({(2, 1): 1, (4, 2): 1, (4, 3): 98}))
    assert p99 == 2.0
    assert mean == pytest.approx((98 * 4 / 3 + 2 * 2) / 100, rel=1e-15)


# ------------------------------------------------------------------ a small hand-made trace
def build_trace(path: Path) -> Path:
    """FlatWifi 2×2 (four ARs, each behind its gateway anchor, a central anchor, 2 CNs).

    MN 0 attaches at ar0.0, moves to ar0.1 (1 s) and ar1.1 (2 s), detaches at 3.5 s.
    MN 1 attaches only at 0.5 s (its flow starts at 0: detached losses), moves at 1.5 s.
    MN 2 sits at ar0.1 all along. Flows with and without continuity; packets synthesised
    from flows (50 pps) plus an explicit rate on one flow.
    """
    topology = FlatWifi(rows=2, cols=2, correspondents=2).build()
    node = {n.name: n.id for n in topology.nodes}
    mobility = {
        "t": np.array([0, 0, 500 * MS, 1 * S, 1500 * MS, 2 * S, 3500 * MS], np.int64),
        "mn": np.array([0, 2, 1, 0, 1, 0, 0], np.uint32),
        "poa": np.array([node["ar0.0"], node["ar0.1"], node["ar1.0"], node["ar0.1"],
                         node["ar1.1"], node["ar1.1"], -1], np.int32),
    }
    flows = {
        "flow": np.array([10, 11, 12, 13, 14, 15], np.uint64),
        "mn": np.array([0, 0, 1, 1, 2, 0], np.uint32),
        "peer": np.array([node["cn0"], node["cn1"], node["cn0"], node["cn1"], node["cn0"],
                          node["cn1"]], np.uint32),
        "start": np.array([0, 200 * MS, 0, 1600 * MS, 0, 3 * S], np.int64),
        "end": np.array([3 * S, 1900 * MS, 2500 * MS, 2 * S, 4 * S, 4 * S], np.int64),
        "continuity": np.array([True, False, True, False, True, True]),
        "rate_pps": np.array([50.0, 50.0, 40.0, 50.0, 50.0, 100.0]),
    }
    return write_trace(path, name="hand", topology=topology, mobility=mobility, flows=flows,
                       manifest={"seed": 11})


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    return Trace.open(build_trace(tmp_path_factory.mktemp("results") / "hand"))


@pytest.fixture(scope="module")
def results(trace: Trace) -> dict[str, dmmemu.RunResult]:
    return {key: dmmemu.run(trace, key) for key in PRACTICES}


@pytest.fixture(params=list(PRACTICES))
def result(request: pytest.FixtureRequest, results) -> dmmemu.RunResult:
    return results[request.param]


def test_the_trace_exercises_the_interesting_cases(results) -> None:
    """Guards the fixture: handovers, attaches, losses and signaling all occur."""
    for res in results.values():
        s = res.summary.row(0, named=True)
        assert s["handovers"] == 3 and s["attaches"] == 3
        assert s["lost_packets"] > 0 and s["signaling_msgs"] > 0
        assert 0 < s["delivered_packets"] < s["packets"]


def test_tables_have_every_documented_column(result) -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "results.md").read_text()
    for name, columns in DOCUMENTED.items():
        frame = getattr(result, name)
        assert sorted(frame.columns) == sorted(columns), name  # no column missing, none extra
        undocumented = [c for c in columns if f"`{c}`" not in docs]
        assert not undocumented, f"docs/results.md does not name {name} columns {undocumented}"
        assert set(frame["practice"].to_list()) <= {result.meta.practice}
        assert set(frame["run"].to_list()) <= {result.meta.label}
        assert set(frame["trace"].to_list()) <= {"hand"}
    assert result.tables().keys() == set(TABLES) == set(DOCUMENTED)


def test_table_shapes_and_identity(result, trace: Trace) -> None:
    s = result.summary.row(0, named=True)
    assert result.summary.height == 1
    assert s["practice"] == result.meta.practice and s["trace"] == "hand"
    assert s["engine"] == "core" and s["seed"] == 11
    assert s["dmmemu_version"] == dmmemu.__version__
    assert json.loads(s["params"]) == json.loads(json.dumps(result.meta.params, default=str))
    assert result.flows["flow"].to_list() == [10, 11, 12, 13, 14, 15]  # ascending flow
    assert result.flows["mn"].to_list() == [0, 0, 1, 1, 2, 0]
    assert result.flows["continuity"].to_list() == [True, False, True, False, True, True]
    anchors = trace.topology.nodes_with_role("anchor").tolist()
    assert result.anchors["anchor"].to_list() == anchors
    assert result.anchors["name"].to_list() == [trace.topology.nodes[a].name for a in anchors]
    assert s["flows"] == 6


def test_cross_table_consistency(result, trace: Trace) -> None:
    s = result.summary.row(0, named=True)
    flows, anchors = result.flows, result.anchors
    assert s["packets"] == flows["packets"].sum() == trace.packet_count()
    assert s["bytes"] == flows["bytes"].sum()
    assert s["lost_packets"] == flows["lost"].sum()
    assert s["delayed_packets"] == flows["delayed"].sum()
    assert s["delivered_packets"] == flows["delivered"].sum() == s["packets"] - s["lost_packets"]
    assert (flows["delivered"] == flows["packets"] - flows["lost"]).all()
    assert s["overhead_bytes"] == flows["overhead_bytes"].sum()
    assert s["overhead_byte_hops"] == flows["overhead_byte_hops"].sum()
    assert s["broken_flows"] == flows["broken"].sum()
    events = result.events["kind"]
    assert [s["relocations"], s["deferred_relocations"], s["spared_flows"]] == [
        int((events == kind).sum())
        for kind in ("anchor-relocated", "relocation-deferred", "flow-spared")]
    assert s["spared_flows"] == result.events.filter(
        pl.col("kind") == "flow-spared")["flow"].n_unique()  # once per flow
    # Every delivered packet goes through exactly one anchor (the address's, or the serving
    # anchor for a local flow), unless its path is direct (route optimisation): anchor
    # packet counts add up to the delivered packets, or to fewer.
    practice = get_practice(s["practice"])
    direct = any(c.direct or c.route_optimised
                 for c in practice.compile(trace.topology).flow_classes)
    if direct:
        assert 0 < anchors["packets"].sum() < s["delivered_packets"]
    else:
        assert anchors["packets"].sum() == s["delivered_packets"]
    delivered_bytes = anchors["bytes"].sum()
    assert 0 < delivered_bytes <= s["bytes"]
    # Signaling: the summary is the signaling table's total. Each message counts at each of
    # its ends that is a node (§4): every message here has an anchor at one end at least,
    # and DMM's serving-to-anchoring MAAR messages have anchors at both.
    assert s["signaling_msgs"] == result.signaling["msgs"].sum()
    assert s["signaling_bytes"] == result.signaling["bytes"].sum()
    assert s["signaling_byte_hops"] == result.signaling["byte_hops"].sum()
    # How many anchors each message has at its ends: DMM's serving-to-anchoring MAAR
    # messages and RFC 6463's LMA-to-LMA exchange have two; route optimisation's care-of
    # test and BU run between MN and CN, with none (the HA relays the home test, and
    # counts it); every other message one.
    two = pl.col("message").is_in(["proxy PBU", "proxy PBA"]) | pl.lit(
        result.meta.practice == "dmm")
    # The 5G practices: N2 runs between the AMF/SMF node and a gNB, XnAP between two gNBs,
    # no end an anchor; an End Marker from a UPF reaches a gNB or (the PSA's, to an old
    # I-UPF) another UPF.
    fiveg = pl.lit(result.meta.practice.startswith("5g-"))
    none = pl.col("message").is_in(["CoTI", "CoT", "BU to CN", "BA from CN"]) | (
        fiveg & (pl.col("message").str.starts_with("N2 ")
                 | pl.col("message").str.starts_with("XnAP ")))
    either = fiveg & (pl.col("message") == "End Marker")
    ends = result.signaling.with_columns(
        low=pl.when(none).then(0).when(two).then(2).otherwise(1),
        high=pl.when(none).then(0).when(two | either).then(2).otherwise(1))
    for column in ("msgs", "bytes"):
        assert ((ends["low"] * ends[column]).sum() <= anchors[f"signaling_{column}"].sum()
                <= (ends["high"] * ends[column]).sum()), column
    assert (ends.filter(none)["msgs"].sum() > 0) == (result.meta.practice == "mipv6-ro"
                                                     or result.meta.practice.startswith("5g-"))
    # Handovers table: one row per attach, handover or detach.
    ho = result.handovers
    assert ho.height == s["handovers"] + s["attaches"] + s["detaches"]
    assert (ho["kind"] == "handover").sum() == s["handovers"]
    assert (ho["kind"] == "attach").sum() == s["attaches"]
    assert (ho["kind"] == "detach").sum() == s["detaches"] == 1
    assert ho["row"].to_list() == [0, 1, 2, 3, 4, 5, 6]
    assert ho["t"].to_list() == trace.mobility["t"].to_list()[:7]
    assert ho["lost"].sum() <= s["lost_packets"]
    handover_rows = ho.filter(pl.col("kind") == "handover")
    assert s["mean_interruption_us"] == pytest.approx(handover_rows["interruption_us"].mean())
    moves = ho.filter(pl.col("kind") != "detach")
    recomposed = (moves["link_loss_us"] + moves["l2_attach_us"] + moves["movement_detection_us"]
                  + moves["dad_us"] + moves["signaling_us"])
    assert (ho["anchor_hold_us"] <= ho["signaling_us"]).all()
    assert (moves["interruption_us"] - recomposed).abs().max() < 1e-6
    # A detach interrupts nothing; its signaling is the de-registration's.
    detach = ho.filter(pl.col("kind") == "detach").row(0, named=True)
    assert detach["interruption_us"] == 0 and detach["to_poa"] == -1
    # Anchors: shares, anchors used, the busiest share.
    assert anchors["share"].sum() == pytest.approx(1.0)
    assert s["max_anchor_share"] == pytest.approx(anchors["share"].max())
    used = ((anchors["packets"] > 0) | (anchors["peak_bindings"] > 0)).sum()
    assert s["anchors_used"] == used
    assert s["peak_bindings"] == anchors["peak_bindings"].max()
    # Delay and stretch.
    assert s["mean_delay_us"] == pytest.approx(flows["delay_us_sum"].sum()
                                               / s["delivered_packets"])
    assert s["mean_direct_delay_us"] == pytest.approx(flows["direct_delay_us_sum"].sum()
                                                      / s["delivered_packets"])
    assert s["p99_stretch"] >= 1.0
    hops, direct = flows["hops_sum"].sum(), flows["direct_hops_sum"].sum()
    assert s["mean_stretch"] >= 1.0 and hops >= direct


def test_central_practices_anchor_everything_at_the_central_anchor(results, trace) -> None:
    central = trace.topology.central_anchor()
    for key in ("mipv6", "pmipv6"):
        res = results[key]
        s = res.summary.row(0, named=True)
        assert s["anchors_used"] == 1 and s["max_anchor_share"] == 1.0
        bound = res.flows.filter(pl.col("anchor") >= 0)["anchor"].unique().to_list()
        assert bound == [central]
        row = res.anchors.filter(pl.col("anchor") == central).row(0, named=True)
        assert row["packets"] == s["delivered_packets"]


# ------------------------------------------------------------------ RunResult.write
def read_back(directory: Path) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(directory / f"{name}.parquet") for name in TABLES}


def listing(directory: Path) -> list[str]:
    """Every entry, hidden ones included."""
    return sorted(p.name for p in directory.iterdir())


FILES = sorted([*(f"{name}.parquet" for name in TABLES), "manifest.json"])


def test_write_round_trip_and_metadata(results, tmp_path: Path) -> None:
    res = results["dmm"]
    out = res.write(tmp_path / "out" / "dmm")  # parents are created
    assert out == tmp_path / "out" / "dmm"
    assert listing(out) == FILES
    for name, frame in read_back(out).items():
        assert_frame_equal(frame, getattr(res, name))
    for name in TABLES:
        meta = pq.read_metadata(out / f"{name}.parquet").metadata
        decoded = {k.decode(): v.decode() for k, v in meta.items()}
        for key in META_KEYS:
            assert key in decoded, (name, key)
        assert decoded["dmmemu.practice"] == "dmm"
        assert json.loads(decoded["dmmemu.params"]) == json.loads(res.summary["params"][0])
        assert decoded["dmmemu.version"] == dmmemu.__version__
        assert decoded["dmmemu.trace"] == "hand"
        assert decoded["dmmemu.engine"] == "core"
        assert decoded["dmmemu.seed"] == "11"
        compression = pq.ParquetFile(out / f"{name}.parquet").metadata
        if compression.num_row_groups:
            assert compression.row_group(0).column(0).compression == "ZSTD"


def test_write_params_metadata_shows_custom_parameters(trace: Trace, tmp_path: Path) -> None:
    res = dmmemu.run(trace, "pmipv6", params={"lifetime_s": 3600})
    res.write(tmp_path)
    meta = pq.read_metadata(tmp_path / "summary.parquet").metadata
    assert json.loads(meta[b"dmmemu.params"])["lifetime_s"] == 3600


def test_write_again_needs_overwrite_and_replaces_the_whole_run(results, tmp_path: Path) -> None:
    out = tmp_path / "run"
    results["mipv6"].write(out)
    with pytest.raises(OutputError, match="already holds dmmemu results; pass overwrite=True"):
        results["dmm"].write(out)
    assert read_back(out)["summary"]["practice"].to_list() == ["mipv6"]  # untouched
    results["dmm"].write(out, overwrite=True)
    assert listing(out) == FILES and listing(tmp_path) == ["run"]  # no staging left
    for name, frame in read_back(out).items():
        assert_frame_equal(frame, getattr(results["dmm"], name))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["practice"] == manifest["run"] == "dmm"
    assert {n: t["rows"] for n, t in manifest["tables"].items()} == {
        name: getattr(results["dmm"], name).height for name in TABLES}


def test_write_refuses_a_directory_of_other_files_even_with_overwrite(results,
                                                                     tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match="does not hold dmmemu results"):
        results["dmm"].write(tmp_path, overwrite=True)
    assert listing(tmp_path) == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "keep"


def test_failed_write_keeps_the_previous_run_whole_and_names_table_and_practice(
        results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up in the middle of the third table: the earlier run stays as it was,
    byte for byte, no staging directory is left, and the error names the table, the
    practice and the final file (not a temporary name, no errno code)."""
    out = tmp_path / "run"
    results["mipv6"].write(out)
    before = {name: (out / name).read_bytes() for name in FILES}
    real = pq.write_table
    calls: list[str] = []

    def failing(table, where, *args, **kwargs):
        calls.append(str(where))
        if len(calls) < 3:
            return real(table, where, *args, **kwargs)
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OutputError) as caught:
        results["dmm"].write(out, overwrite=True)
    monkeypatch.undo()
    third = TABLES[2]
    assert str(caught.value) == (f"could not write the {third} table of practice 'dmm' "
                                 f"({out / f'{third}.parquet'}): No space left on device; "
                                 "nothing was written")
    assert listing(tmp_path) == ["run"]
    assert {name: (out / name).read_bytes() for name in FILES} == before


def test_failed_first_write_into_new_directory_leaves_nothing(results, tmp_path: Path,
                                                              monkeypatch) -> None:
    def failing(table, where, *args, **kwargs):
        Path(where).write_bytes(b"PAR1")
        raise KeyboardInterrupt  # not an Exception: cleanup must still happen

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(KeyboardInterrupt):
        results["dmm"].write(tmp_path / "fresh")
    monkeypatch.undo()
    assert listing(tmp_path) == []  # complete or absent: absent


# ------------------------------------------------------------------ nothing delivered
@pytest.fixture(scope="module")
def silent_trace(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    """One MN whose only flow ends before it attaches: every packet is lost (detached), no
    handover occurs, and the manifest has no seed."""
    topology = FlatWifi(rows=1, cols=2, correspondents=1).build()
    node = {n.name: n.id for n in topology.nodes}
    path = write_trace(
        tmp_path_factory.mktemp("silent") / "silent", name="silent", topology=topology,
        mobility={"t": np.array([2 * S], np.int64), "mn": np.array([0], np.uint32),
                  "poa": np.array([node["ar0.0"]], np.int32)},
        flows={"flow": np.array([1], np.uint64), "mn": np.array([0], np.uint32),
               "peer": np.array([node["cn0"]], np.uint32),
               "start": np.array([0], np.int64), "end": np.array([1 * S], np.int64)},
    )
    return Trace.open(path)


@pytest.mark.parametrize("key", list(PRACTICES))
def test_nothing_delivered_gives_null_figures_and_writes(silent_trace: Trace, key: str,
                                                        tmp_path: Path) -> None:
    res = dmmemu.run(silent_trace, key)
    s = res.summary.row(0, named=True)
    assert s["packets"] == silent_trace.packet_count() == 51 and s["lost_packets"] == 51
    assert s["delivered_packets"] == 0 and s["handovers"] == 0 and s["attaches"] == 1
    for column in ("mean_stretch", "p99_stretch", "mean_delay_us", "mean_direct_delay_us",
                   "mean_interruption_us", "max_anchor_share"):
        assert s[column] is None, column  # undefined: null, never NaN
    assert s["seed"] is None
    assert res.anchors["packets"].sum() == 0
    assert res.flows["anchor"].to_list() == [-1]  # never sent a packet while attached
    assert res.handovers["kind"].to_list() == ["attach"]
    res.write(tmp_path)
    assert listing(tmp_path) == FILES
    for name, frame in read_back(tmp_path).items():
        assert_frame_equal(frame, getattr(res, name))
    assert pq.read_metadata(tmp_path / "summary.parquet").metadata[b"dmmemu.seed"] == b""


def test_written_files_follow_the_umask(results, tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        results["dmm"].write(tmp_path)
    finally:
        os.umask(mask)
    for name in FILES:
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_timeline_and_stretch_tables_agree_with_the_totals(trace: Trace) -> None:
    """The timeline splits the per-anchor totals by time bin; the stretch table is the
    per-packet distribution behind the summary's mean and p99."""
    result = dmmemu.run(trace, "pmipv6", params={"lifetime_s": 0.5}, timeline_bin_s=0.25)
    s = result.summary.row(0, named=True)
    assert s["timeline_bin_s"] == 0.25
    timeline = result.timeline
    span = trace.t_end - trace.t_begin
    bins = span // 250_000_000 + 1
    assert timeline["t"].n_unique() == bins
    assert timeline["t"].min() == trace.t_begin
    per_anchor = timeline.group_by("anchor").agg(
        pl.col("packets").sum(), pl.col("bytes").sum(), pl.col("signaling_msgs").sum(),
        (pl.col("mean_bindings").sum() * 250_000_000).round(0).alias("binding_ns"))
    joined = result.anchors.join(per_anchor, on="anchor", suffix="_t")
    assert (joined["packets"] == joined["packets_t"]).all()
    assert (joined["bytes"] == joined["bytes_t"]).all()
    assert (joined["signaling_msgs"] == joined["signaling_msgs_t"]).all()
    assert joined.height >= 1
    expected_ns = (joined["mean_bindings"] * max(span, 1)).round(0)
    assert ((joined["binding_ns"] - expected_ns).abs() <= 1).all()
    stretch = result.stretch
    assert stretch["packets"].sum() == s["delivered_packets"]
    mean = (stretch["stretch"] * stretch["packets"]).sum() / stretch["packets"].sum()
    assert mean == pytest.approx(s["mean_stretch"])
    assert ((stretch["path_hops"] / stretch["direct_hops"]) == stretch["stretch"]).all()


def test_a_result_shows_itself_in_one_line_and_as_html(results) -> None:
    """Notebooks: a short repr (not nine DataFrames) and an HTML view of the summary."""
    res = results["dmm"]
    text = repr(res)
    assert "\n" not in text and len(text) < 400
    assert text.startswith("<RunResult 'dmm': dmm on 'hand' (core); ")
    assert f"{res.summary['packets'][0]:,} packets" in text and "flows (6)" in text
    page = res._repr_html_()
    assert page.startswith("<div><p><b>RunResult &#x27;dmm&#x27;") and "<table" in page
    from dmmemu.results.plotting import PlotAccessor

    for name in ("stretch_cdf", "interruption_cdf", "anchor_load", "signaling", "overhead"):
        assert getattr(PlotAccessor, name).__doc__, name


def test_flows_carry_their_kind_and_sum_per_kind() -> None:
    """Issue 11 §3: per RFC 8653 address type (and app, and the practice's flow class), how
    many flows took it, what they cost, how many broke or were renumbered; the groups add up
    to the run's totals. On the sample under dmm's connection manager, non-persistent flows
    take the local address (renumbered, never broken), the others keep theirs."""
    from dmmemu.results import flows_by

    result = dmmemu.run(SAMPLE, "dmm")
    flows, summary = result.flows, result.summary.row(0, named=True)
    assert flows["address_type"].null_count() > 0 and flows["app"].null_count() < flows.height
    by_type = flows_by(flows, "address_type")
    assert by_type["flows"].sum() == flows.height == summary["flows"]
    assert by_type["lost"].sum() == summary["lost_packets"]
    assert by_type["renumbered"].sum() == summary["renumbered_flows"]
    local = flows.filter(pl.col("flow_class") == "asked non-persistent")
    assert local["address_type"].unique().to_list() == ["non-persistent"]
    assert not local["broken"].any()
    renumbered = by_type.filter(pl.col("renumbered") > 0)["address_type"].to_list()
    assert set(renumbered) <= {"non-persistent", None}
    by_class = flows_by(flows, "flow_class")
    assert set(by_class["flow_class"]) <= {c.name for c in
                                           get_practice("dmm").compile(
                                               dmmemu.Trace.open(SAMPLE).topology).flow_classes}
    with pytest.raises(dmmemu.results.analysis.ResultsError, match="column must be"):
        flows_by(flows, "mn")
