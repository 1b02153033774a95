"""Drive-test log importer: two small G-NetTrack logs written here, expected mobility rows,
topology and manifest checked exactly; bad inputs name file, line and column."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import dmmemu
from dmmemu.cli.imports import drivelog_command
from dmmemu.errors import TraceError
from dmmemu.importers.drivelog import import_drivelogs
from dmmemu.synthetic.traffic import TrafficModel

S = 1_000_000_000
T0 = int(datetime(2017, 11, 21, 9, 0, 0, tzinfo=timezone.utc).timestamp()) * S
TRAFFIC = TrafficModel(packets=400)  # a few flows: enough for a valid trace, fast to run
R = 6_371_008.8

# Drive A (comma-separated, with NODEHEX): cell 1 -> cell 2 of the same eNB (intra-site),
# -> cell 7 of another eNB (inter-site), a 16 s gap, a row without service, a last row.
# A blank line (line 5) keeps the line numbering.
DRIVE_A = """\
Timestamp,Longitude,Latitude,Speed,Operatorname,CellID,NetworkMode,RSRP,RSRQ,NODEHEX,LACHEX,RAWCELLID
2017.11.21_09.00.00,-8.4700,51.8900,30,Op,1,LTE,-90,-10,1A2B3,7D,27470593
2017.11.21_09.00.01,-8.4702,51.8900,30,Op,1,LTE,-91,-10,1A2B3,7D,27470593

2017.11.21_09.00.02,-8.4704,51.8902,30,Op,2,LTE,-92,-11,1A2B3,7D,27470594
2017.11.21_09.00.03,-8.4706,51.8902,30,Op,2,LTE,-92,-11,1A2B3,7D,27470594
2017.11.21_09.00.04,-8.4710,51.8910,30,Op,7,LTE,-95,-12,1A2C0,7D,27473927
2017.11.21_09.00.20,-8.4712,51.8912,30,Op,7,LTE,-95,-12,1A2C0,7D,27473927
2017.11.21_09.00.21,-,-,0,Op,-,-,-,-,-,-,-
2017.11.21_09.00.22,-8.4714,51.8914,30,Op,7,LTE,-96,-12,1A2C0,7D,27473927
"""

# Drive B (tab-separated, no NODEHEX: the eNB is RAWCELLID >> 8 for LTE rows), overlapping
# drive A in time: cell 2 of eNB 1A2B3 (as A's), then a 3G cell, which is its own site.
DRIVE_B = "\n".join("\t".join(row) for row in [
    ["Timestamp", "Longitude", "Latitude", "CellID", "NetworkMode", "RAWCELLID"],
    ["2017.11.21_09.00.01", "-8.4704", "51.8904", "2", "LTE", str(0x1A2B3 << 8 | 2)],
    ["2017.11.21_09.00.02", "-8.4704", "51.8904", "2", "LTE", str(0x1A2B3 << 8 | 2)],
    ["2017.11.21_09.00.03", "-8.4800", "51.8950", "12345", "HSPA+", "12345"],
    ["2017.11.21_09.00.04", "-8.4800", "51.8952", "12345", "HSPA+", "12345"],
]) + "\n"

POSITIONS = {  # cell -> its rows' (lon, lat), for the expected projection
    "cell:1A2B3:1": [(-8.4700, 51.8900), (-8.4702, 51.8900)],
    "cell:1A2B3:2": [(-8.4704, 51.8902), (-8.4706, 51.8902), (-8.4704, 51.8904),
                     (-8.4704, 51.8904)],
    "cell:1A2C0:7": [(-8.4710, 51.8910), (-8.4712, 51.8912), (-8.4714, 51.8914)],
    "cell:12345": [(-8.4800, 51.8950), (-8.4800, 51.8952)],
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("drivelog")
    a = _write(tmp, "drive_a.csv", DRIVE_A)
    b = _write(tmp, "drive_b.txt", DRIVE_B)
    out = import_drivelogs([a, b], tmp / "trace", traffic=TRAFFIC, seed=7)
    return out, a, b


def test_mobility_rows(imported: tuple[Path, Path, Path]) -> None:
    trace = dmmemu.Trace.open(imported[0])
    rows = [(t - T0) / S for t in trace.mobility["t"].to_list()]
    got = list(zip(rows, trace.mobility["mn"].to_list(), trace.mobility["poa"].to_list()))
    assert got == [
        (0, 0, 7),  # A attaches to cell 1 of 1A2B3
        (1, 1, 8),  # B attaches to cell 2 of 1A2B3
        (2, 0, 8),  # A: intra-site handover
        (3, 1, 12),  # B: inter-site handover to the 3G cell (its own site)
        (4, 0, 10),  # A: inter-site handover to 1A2C0
        (4, 0, -1),  # A: last row before a 16 s gap
        (4, 1, -1),  # B: end of drive
        (20, 0, 10),  # A: back after the gap (an attach, not a handover)
        (21, 0, -1),  # A: no service
        (22, 0, 10),  # A: service again
        (22, 0, -1),  # A: end of drive
    ]


def test_topology(imported: tuple[Path, Path, Path]) -> None:
    topology = dmmemu.Trace.open(imported[0]).topology
    assert [(n.id, n.name, n.role) for n in topology.nodes] == [
        (0, "core", "router"), (1, "central-anchor", "anchor"), (2, "cn0", "cn"),
        (3, "cn1", "cn"), (4, "cn2", "cn"), (5, "cn3", "cn"),
        (6, "site:1A2B3", "anchor"), (7, "cell:1A2B3:1", "poa"), (8, "cell:1A2B3:2", "poa"),
        (9, "site:1A2C0", "anchor"), (10, "cell:1A2C0:7", "poa"),
        (11, "site:cell-12345", "anchor"), (12, "cell:12345", "poa"),
    ]
    assert topology.nodes[1].central
    links = {(link.a, link.b): link.delay_us for link in topology.links}
    assert links[(7, 6)] == links[(8, 6)] == links[(10, 9)] == links[(12, 11)] == 100.0
    assert links[(6, 0)] == links[(9, 0)] == links[(11, 0)] == 1000.0
    serving = topology.serving_anchors()
    assert serving[7] == serving[8] == 6  # an intra-site handover keeps the anchor
    assert serving[10] == 9 and serving[12] == 11


def test_positions_are_projected_means(imported: tuple[Path, Path, Path]) -> None:
    every = [p for rows in POSITIONS.values() for p in rows]
    lon0 = sum(p[0] for p in every) / len(every)
    lat0 = sum(p[1] for p in every) / len(every)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (R * math.radians(lon - lon0) * math.cos(math.radians(lat0)),
                R * math.radians(lat - lat0))

    topology = dmmemu.Trace.open(imported[0]).topology
    by_name = {n.name: n for n in topology.nodes}
    for cell, rows in POSITIONS.items():
        points = [xy(*p) for p in rows]
        node = by_name[cell]
        assert node.x == pytest.approx(sum(p[0] for p in points) / len(points), abs=0.006)
        assert node.y == pytest.approx(sum(p[1] for p in points) / len(points), abs=0.006)
    site = by_name["site:1A2B3"]
    assert site.x == pytest.approx((by_name["cell:1A2B3:1"].x + by_name["cell:1A2B3:2"].x) / 2)


def test_manifest(imported: tuple[Path, Path, Path]) -> None:
    out, a, b = imported
    manifest = dmmemu.Trace.open(out).manifest
    assert manifest["generator"] == "dmmemu.importers.drivelog"
    assert manifest["seed"] == 7
    assert "drive_a.csv (sha256 " in manifest["source"]
    params = manifest["params"]
    assert params["files"] == ["drive_a.csv", "drive_b.txt"]
    assert len(params["files_sha256"]) == 2 and len(params["files_sha256"][0]) == 64
    assert (params["max_gap_s"], params["max_skew_s"], params["strict"]) == (10.0, 2.0, False)
    assert params["counts"] == {
        "rows": 12, "rows_without_service": 1, "attaches": 4, "handovers_intra_site": 1,
        "handovers_inter_site": 2, "detaches_no_service": 1, "detaches_gap": 1,
        "detaches_end": 2, "drives": 2, "cells": 4, "sites": 3,
        "duplicates": 0, "reordered": 0, "cells_filled": 0,
    }
    assert params["topology"]["correspondents"] == 4
    assert "traffic" in params


def test_runs_with_dmm(imported: tuple[Path, Path, Path]) -> None:
    result = dmmemu.run(imported[0], "dmm")
    assert result.summary["handovers"][0] == 3
    assert result.summary["flows"][0] >= 1


def test_max_gap_changes_detaches(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", DRIVE_A)
    out = import_drivelogs(a, tmp_path / "t", max_gap_s=20.0, traffic=TRAFFIC, packets=False)
    mobility = dmmemu.Trace.open(out).mobility
    assert [(t - T0) // S for t in mobility["t"].to_list()] == [0, 2, 4, 21, 22, 22]
    assert mobility["poa"].to_list() == [7, 8, 10, -1, 10, -1]


# -------------------------------------------------------------------- bad inputs
def _error(tmp_path: Path, text: str) -> TraceError:
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(TraceError) as info:
        import_drivelogs(path, tmp_path / "out", traffic=TRAFFIC)
    assert not (tmp_path / "out").exists()
    return info.value


def _lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


HEADER = "Timestamp,Longitude,Latitude,CellID,NODEHEX"
GOOD = "2017.11.21_09.00.00,-8.47,51.89,1,1A2B3"


@pytest.mark.parametrize(("text", "line", "column", "value"), [
    (_lines("Timestamp,Longitude,CellID,NODEHEX", "2017.11.21_09.00.00,-8.47,1,1A2B3"),
     1, "Latitude", None),
    (_lines("Timestamp,Longitude,Latitude,NODEHEX", "2017.11.21_09.00.00,-8.47,51.89,1A"),
     1, "CellID", None),
    (_lines("Timestamp,Longitude,Latitude,CellID", "2017.11.21_09.00.00,-8.47,51.89,1"),
     1, "NODEHEX", None),
    (_lines(HEADER, GOOD, "21/11/2017 09:00:01,-8.47,51.89,1,1A2B3"),
     3, "Timestamp", "21/11/2017 09:00:01"),
    (_lines(HEADER, GOOD, GOOD, "2017.11.21_09.00.01,-8.47,north,1,1A2B3"),
     4, "Latitude", "north"),
    (_lines(HEADER, GOOD, "2017.11.21_09.00.01,-8.47,95.0,1,1A2B3"), 3, "Latitude", "95.0"),
    (_lines(HEADER, GOOD, "2017.11.21_09.00.01,-8.47,51.89,1,XYZ"), 3, "NODEHEX", "XYZ"),
    (_lines(HEADER, GOOD, "2017.11.21_08.59.57,-8.47,51.89,1,1A2B3"),
     3, "Timestamp", "2017.11.21_08.59.57"),
    (_lines(HEADER, GOOD, "-,-8.47,51.89,1,1A2B3"), 3, "Timestamp", None),
])
def test_bad_input_names_file_line_and_column(tmp_path: Path, text: str, line: int,
                                              column: str, value: str | None) -> None:
    err = _error(tmp_path, text)
    assert err.file == f"{tmp_path / 'bad.csv'}, line {line}"
    assert err.column == column
    assert err.value == value
    assert str(err).startswith(f"{tmp_path / 'bad.csv'}, line {line}, column {column!r}")


def test_no_service_at_all_is_an_error(tmp_path: Path) -> None:
    err = _error(tmp_path, _lines(HEADER, "2017.11.21_09.00.00,-8.47,51.89,-,-"))
    assert "no row has a serving cell" in str(err)


# -------------------------------------------------------------------- command line
def test_command(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", DRIVE_A)
    runner = CliRunner()
    ok = runner.invoke(drivelog_command, [str(a), "--out", str(tmp_path / "t"), "--seed", "3",
                                          "--packets", "300", "--no-packet-file"])
    assert ok.exit_code == 0, ok.output
    manifest = dmmemu.Trace.open(tmp_path / "t").manifest
    assert manifest["seed"] == 3 and manifest["params"]["traffic"]["packets"] == 300
    assert not (tmp_path / "t" / "packets.parquet").exists()
    again = runner.invoke(drivelog_command, [str(a), "--out", str(tmp_path / "t")])
    assert again.exit_code == 2 and "overwrite" in again.output
    bad = _write(tmp_path, "bad.csv", _lines(HEADER, GOOD, "x,-8.47,51.89,1,1A2B3"))
    failed = runner.invoke(drivelog_command, [str(bad), "--out", str(tmp_path / "u")])
    assert failed.exit_code == 2
    assert len(failed.output.strip().splitlines()) == 1
    assert failed.output.startswith(
        f"dmmemu: error: {bad}, line 3, column 'Timestamp', value 'x': not a G-NetTrack")


def test_rows_are_read_with_polars_types(tmp_path: Path) -> None:
    from dmmemu.importers.drivelog import read_drivelog

    rows = read_drivelog(_write(tmp_path, "b.txt", DRIVE_B))
    assert rows.schema == pl.Schema({"_line": pl.UInt32, "_time": pl.String, "t": pl.Int64,
                                     "lon": pl.Float64, "lat": pl.Float64, "site": pl.Int64,
                                     "cell": pl.String, "mode": pl.String})
    assert rows["site"].to_list() == [0x1A2B3, 0x1A2B3, None, None]


# -------------------------------------------------------------------- rules against a loop
def _loop_events(rows: pl.DataFrame, gap: int) -> tuple[list[tuple], dict[str, int]]:
    """The module docstring's rules one row at a time."""
    events: list[tuple] = []
    counts = dict.fromkeys(("attaches", "handovers_intra_site", "handovers_inter_site",
                            "detaches_no_service", "detaches_gap", "detaches_end"), 0)
    for (mn,), drive in rows.group_by("mn", maintain_order=True):
        samples = list(drive.select("t", "site", "cell").iter_rows())
        for i, (t, site, cell) in enumerate(samples):
            prev = samples[i - 1] if i else None
            served_before = prev is not None and t - prev[0] <= gap and prev[2] is not None
            if cell is not None and not served_before:
                counts["attaches"] += 1
                events.append((t, mn, site, cell, "attach"))
            elif cell is not None and (site, cell) != (prev[1], prev[2]):
                same_site = site is not None and site == prev[1]
                counts["handovers_intra_site" if same_site else "handovers_inter_site"] += 1
                events.append((t, mn, site, cell, "handover"))
            elif cell is None and served_before:
                counts["detaches_no_service"] += 1
                events.append((t, mn, site, cell, "detach"))
            nxt = samples[i + 1] if i + 1 < len(samples) else None
            if cell is not None and (nxt is None or nxt[0] - t > gap):
                counts["detaches_end" if nxt is None else "detaches_gap"] += 1
                events.append((t, mn, site, cell, "detach"))
    events.sort(key=lambda e: (e[0], e[1]))  # stable: each MN's events keep their order
    return events, counts


@st.composite
def _drives(draw: st.DrawFn) -> pl.DataFrame:
    rows = []
    cells = [(1, "1"), (1, "2"), (2, "1"), (None, "9"), (None, None)]  # (None, None): no service
    for mn in range(draw(st.integers(1, 3))):
        times = sorted(draw(st.lists(st.integers(0, 30), min_size=1, max_size=12)))
        for line, t in enumerate(times, start=2):
            site, cell = draw(st.sampled_from(cells))
            rows.append({"_line": line, "t": t, "site": site, "cell": cell, "mn": mn})
    return pl.DataFrame(rows, schema={"_line": pl.UInt32, "t": pl.Int64, "site": pl.Int64,
                                      "cell": pl.String, "mn": pl.UInt32})


@settings(max_examples=150, deadline=None)
@given(rows=_drives(), gap=st.integers(0, 8))
def test_rules_match_a_row_by_row_loop(rows: pl.DataFrame, gap: int) -> None:
    from dmmemu.importers.drivelog import attachment_events

    events, counts = attachment_events(rows, max_gap_ns=gap)
    expected, expected_counts = _loop_events(rows, gap)
    assert list(events.iter_rows()) == expected
    assert {key: counts[key] for key in expected_counts} == expected_counts


def test_drive_logs_placed_on_the_eps_layout(tmp_path: Path) -> None:
    """--architecture eps: each site is an eNB whose cells are its PoAs, the sites grouped in
    SGW service areas (two per area here), a PGW as the central anchor (docs/topologies.md)."""
    a = _write(tmp_path, "a.csv", DRIVE_A)
    b = _write(tmp_path, "b.txt", DRIVE_B)
    ok = CliRunner().invoke(drivelog_command, [
        str(a), str(b), "--out", str(tmp_path / "eps"), "--architecture", "eps",
        "--sites-per-area", "2", "--packets", "300", "--no-packet-file"])
    assert ok.exit_code == 0, ok.output
    trace = dmmemu.Trace.open(tmp_path / "eps")
    topology = trace.topology
    by_name = {n.name: n for n in topology.nodes}
    # A converged core (docs/topologies.md): the MME's node hosts the AMF and SMF too.
    assert by_name["pgw"].central and by_name["mme"].functions == ("MME", "AMF", "SMF")
    assert [n.name for n in topology.nodes if "SGW" in n.functions] == ["sgw-0", "sgw-1"]
    # Strips (docs/topologies.md): 3 sites, 2 per area -> 2 areas, 2 columns of 2 and 1 by
    # x (west to east: 12345 at -8.480, 1A2C0 at -8.471, 1A2B3 at -8.4705), the first column
    # by y (1A2C0 south of 12345): areas take 1A2C0, 12345 | 1A2B3.
    assert {n.name: n.areas for n in topology.nodes if n.name.startswith("site:")} == {
        "site:1A2C0": ("sgw-area-0",), "site:cell-12345": ("sgw-area-0",),
        "site:1A2B3": ("sgw-area-1",)}
    cells = [topology.nodes[p] for p in topology.nodes_with_role("poa")]
    assert all(c.functions == ("eNB",) and c.access == "cellular" for c in cells)
    serving = topology.serving_anchors()
    assert {topology.nodes[serving[p]].name for p in topology.nodes_with_role("poa")} == {
        "sgw-0", "sgw-1"}  # an inter-eNB move inside an area keeps its SGW
    assert trace.manifest["params"]["topology"]["architecture"] == "eps"
    # The movement is the same whatever the architecture: only the nodes around it differ.
    flat = import_drivelogs([a, b], tmp_path / "flat", traffic=TRAFFIC, seed=7)
    names = {n.id: n.name for n in topology.nodes}
    flat_names = {n.id: n.name for n in dmmemu.Trace.open(flat).topology.nodes}
    moved = [(t, mn, names.get(p)) for t, mn, p in trace.mobility.rows()]
    assert moved == [(t, mn, flat_names.get(p))
                     for t, mn, p in dmmemu.Trace.open(flat).mobility.rows()]


# -------------------------------------------------------------------- cleaning real logs
# A drive with the defects of real G-NetTrack logs: the clock stepping back by a second
# (line 4), a row logged twice (line 6 repeats line 5), a served row that lost its cell id
# (line 8, NetworkMode still LTE), a real loss of service (line 10, no mode) and a gap of
# 15 s before the last row.
DEFECTIVE = """\
Timestamp,Longitude,Latitude,CellID,NetworkMode,NODEHEX
2017.11.21_09.00.00,-8.4700,51.8900,1,LTE,1A2B3
2017.11.21_09.00.02,-8.4702,51.8900,1,LTE,1A2B3
2017.11.21_09.00.01,-8.4701,51.8900,2,LTE,1A2B3
2017.11.21_09.00.03,-8.4703,51.8900,1,LTE,1A2B3
2017.11.21_09.00.03,-8.4703,51.8900,1,LTE,1A2B3
2017.11.21_09.00.04,-8.4704,51.8900,1,LTE,1A2B3
2017.11.21_09.00.05,-8.4705,51.8900,-,LTE,-
2017.11.21_09.00.06,-8.4706,51.8900,1,LTE,1A2B3
2017.11.21_09.00.07,-,-,-,-,-
2017.11.21_09.00.08,-8.4708,51.8900,1,LTE,1A2B3
2017.11.21_09.00.23,-8.4709,51.8900,1,LTE,1A2B3
"""


def test_a_defective_log_is_cleaned_by_the_documented_rules(tmp_path: Path) -> None:
    """Hand-derived: in time order the drive is on cell 1 at 0 s, cell 2 at 1 s (the row that
    stepped back), cell 1 again at 2 s; the duplicate adds nothing, the row of 5 s keeps
    cell 1, 7 s has no service (a detach), 8 s attaches again, the gap after 8 s detaches
    it there and 23 s attaches it for its last row."""
    log = _write(tmp_path, "defective.csv", DEFECTIVE)
    runner = CliRunner()
    out = runner.invoke(drivelog_command, [str(log), "--out", str(tmp_path / "t"),
                                           "--packets", "300", "--no-packet-file"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[-1] == (
        "cleaned 11 rows: 1 duplicates, 1 reordered, 1 cells filled (rules: the importer's "
        "documentation)")
    trace = dmmemu.Trace.open(tmp_path / "t")
    poa = {n.name: n.id for n in trace.topology.nodes}
    one, two = poa["cell:1A2B3:1"], poa["cell:1A2B3:2"]
    rows = [((t - T0) / S, p) for t, p in zip(trace.mobility["t"], trace.mobility["poa"])]
    assert rows == [(0, one), (1, two), (2, one), (7, -1), (8, one), (8, -1), (23, one),
                    (23, -1)]
    counts = trace.manifest["params"]["counts"]
    assert counts == {
        "rows": 11, "rows_without_service": 1, "attaches": 3, "handovers_intra_site": 2,
        "handovers_inter_site": 0, "detaches_no_service": 1, "detaches_gap": 1,
        "detaches_end": 1, "drives": 1, "cells": 2, "sites": 1,
        "duplicates": 1, "reordered": 1, "cells_filled": 1}


def test_strict_keeps_the_refusal_and_a_large_step_back_is_an_error(tmp_path: Path) -> None:
    log = _write(tmp_path, "defective.csv", DEFECTIVE)
    with pytest.raises(TraceError) as strict:
        import_drivelogs(log, tmp_path / "s", strict=True, traffic=TRAFFIC)
    assert str(strict.value) == (
        f"{log}, line 4, column 'Timestamp', value '2017.11.21_09.00.01': earlier than the row "
        "before it; rows must be in time order (one drive per file; --strict)")
    with pytest.raises(TraceError, match="line 4.*by more than max_skew_s \\(0.5 s\\); fix the "
                       "clock or raise max_skew_s"):
        import_drivelogs(log, tmp_path / "s", max_skew_s=0.5, traffic=TRAFFIC)
    out = CliRunner().invoke(drivelog_command, [str(log), "--out", str(tmp_path / "s"),
                                                "--max-skew", "0.5"])
    assert out.exit_code == 2
    assert out.output.endswith("by more than --max-skew (0.5 s); fix the clock or raise "
                               "--max-skew\n")
    assert not (tmp_path / "s").exists()
