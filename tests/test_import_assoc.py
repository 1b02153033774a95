"""Association-log importer: small logs written here (duplicates, skew within and beyond the
limit, start/stop, a stale stop, a timeout), expected mobility rows, topology and counts
checked exactly; CSV and Parquet, ISO-8601 and epoch times; bad inputs name file, line and
column."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import dmmemu
from dmmemu.cli.imports import assoc_command
from dmmemu.errors import TopologyError, TraceError
from dmmemu.importers.assoc import import_assoc
from dmmemu.synthetic.traffic import TrafficModel

S = 1_000_000_000
T0 = int(datetime(2023, 4, 1, 10, 0, 0, tzinfo=timezone.utc).timestamp()) * S
TRAFFIC = TrafficModel(packets=400)  # a few flows: enough for a valid trace, fast to run

LOG = """\
time,user,ap,event,wlc,bytes
2023-04-01T10:00:00,alice,ap1,Start,w1,0
2023-04-01T10:00:00,alice,ap1,Start,w1,0
2023-04-01T10:05:00,alice,ap2,Interim-Update,w1,10
2023-04-01T10:04:58,alice,ap2,Interim-Update,w1,10
2023-04-01T10:06:00,alice,ap1,Stop,w1,20
2023-04-01T10:07:00,alice,ap2,Stop,w1,30
2023-04-01 10:08:00Z,alice,ap3,start,w2,0
2023-04-01T12:00:10+02:00,bob,ap3,Start,w2,0
2023-04-01T10:30:00,bob,ap3,Interim-Update,w2,5
2023-04-01T12:00:00,bob,ap3,Start,w2,0
2023-04-01T12:10:00.000,bob,ap1,1,w1,0
2023-04-01T12:20:00,bob,-,2,-,9
"""
# line 3 duplicates line 2; line 5 is 2 s before line 4 (re-ordered); line 6 stops ap1 while
# alice is on ap2 (ignored); line 7 stops her; line 8 (UTC "Z") starts ap3, then nothing for
# an hour: a timeout; bob's first row (line 9) is 10:00:10 UTC; line 10 collapses; line 11
# comes 1.5 h later (a timeout at 11:30); line 12 is an inter-controller handover (code 1);
# line 13 a stop without an AP (code 2).

EXPECTED = [  # (seconds after T0, mn, poa)
    (0, 0, 7),  # alice attaches to ap1
    (10, 1, 10),  # bob attaches to ap3
    (298, 0, 8),  # alice: ap2 (re-ordered row), same controller
    (420, 0, -1),  # alice: stop on ap2
    (480, 0, 10),  # alice: start on ap3
    (4080, 0, -1),  # alice: timeout an hour after her last row
    (5400, 1, -1),  # bob: timeout an hour after 10:30
    (7200, 1, 10),  # bob: back on ap3
    (7800, 1, 7),  # bob: ap1 on the other controller
    (8400, 1, -1),  # bob: stop without an AP
]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rows(trace_dir: Path) -> list[tuple[float, int, int]]:
    mobility = dmmemu.Trace.open(trace_dir).mobility
    return [((t - T0) / S, mn, poa) for t, mn, poa in mobility.iter_rows()]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("assoc")
    log = _write(tmp, "assoc.csv", LOG)
    return import_assoc(log, tmp / "trace", event_col="event", controller_col="wlc",
                        traffic=TRAFFIC, seed=5)


def test_mobility_rows(imported: Path) -> None:
    assert _rows(imported) == EXPECTED


def test_topology(imported: Path) -> None:
    topology = dmmemu.Trace.open(imported).topology
    assert [(n.id, n.name, n.role, n.x, n.y) for n in topology.nodes[6:]] == [
        (6, "wlc:w1", "anchor", 25.0, 0.0), (7, "ap:ap1", "poa", 0.0, 0.0),
        (8, "ap:ap2", "poa", 50.0, 0.0), (9, "wlc:w2", "anchor", 0.0, 50.0),
        (10, "ap:ap3", "poa", 0.0, 50.0),
    ]
    assert [n.role for n in topology.nodes[:6]] == ["router", "anchor", "cn", "cn", "cn", "cn"]
    serving = topology.serving_anchors()
    assert serving[7] == serving[8] == 6 and serving[10] == 9


def test_manifest_counts(imported: Path) -> None:
    manifest = dmmemu.Trace.open(imported).manifest
    assert manifest["generator"] == "dmmemu.importers.assoc"
    assert manifest["seed"] == 5
    assert manifest["source"].startswith("association log assoc.csv (sha256 ")
    params = manifest["params"]
    assert params["time_format"] == "iso-8601"
    assert params["columns"] == {"time": "time", "user": "user", "ap": "ap", "event": "event",
                                 "controller": "wlc"}
    assert (params["max_skew_s"], params["session_timeout_s"]) == (5.0, 3600.0)
    assert params["counts"] == {
        "rows": 12, "duplicates": 1, "reordered": 1, "attaches": 4, "handovers": 2,
        "handovers_intra_site": 1, "handovers_inter_site": 1, "collapsed": 2,
        "detaches_stop": 2, "detaches_timeout": 2, "ignored_stops": 1, "users": 2, "aps": 3,
        "sites": 2, "controller_conflicts": 0,
    }


def test_runs_with_dmm(imported: Path) -> None:
    result = dmmemu.run(imported, "dmm")
    assert result.summary["handovers"][0] == 2
    assert result.summary["flows"][0] >= 1


def test_without_events_or_controllers(tmp_path: Path) -> None:
    """Every row is an association; each AP has its own gateway; a shorter timeout."""
    log = _write(tmp_path, "plain.csv", "\n".join([
        "when;who;where",
        "2023-04-01T10:00:00;u1;A",
        "2023-04-01T10:01:00;u1;B",
        "2023-04-01T10:01:30;u1;B",
        "2023-04-01T10:05:00;u1;A",
    ]) + "\n")
    out = import_assoc(log, tmp_path / "t", time_col="when", user_col="who", ap_col="where",
                       session_timeout_s=120, traffic=TRAFFIC, packets=False)
    assert _rows(out) == [(0, 0, 7), (60, 0, 9), (210, 0, -1), (300, 0, 7), (420, 0, -1)]
    names = [n.name for n in dmmemu.Trace.open(out).topology.nodes[6:]]
    assert names == ["gw:A", "ap:A", "gw:B", "ap:B"]
    counts = dmmemu.Trace.open(out).manifest["params"]["counts"]
    assert (counts["handovers_inter_site"], counts["collapsed"], counts["detaches_timeout"]) \
        == (1, 1, 2)


@pytest.mark.parametrize(("scale", "fmt"), [(1, "epoch-s"), (1000, "epoch-ms")])
def test_parquet_with_epoch_times(tmp_path: Path, scale: int, fmt: str) -> None:
    t0 = T0 // S
    frame = pl.DataFrame({
        "ts": [t0 * scale, (t0 + 30) * scale, (t0 + 30) * scale, (t0 + 29) * scale],
        "mac": ["aa", "bb", "bb", "aa"],
        "bssid": ["x", "y", "y", "x"],
    })
    path = tmp_path / "log.parquet"
    frame.write_parquet(path)
    out = import_assoc(path, tmp_path / "t", time_col="ts", user_col="mac", ap_col="bssid",
                       traffic=TRAFFIC)
    assert _rows(out) == [(0, 0, 7), (30, 1, 9), (3629, 0, -1), (3630, 1, -1)]
    counts = dmmemu.Trace.open(out).manifest["params"]
    assert counts["time_format"] == fmt
    assert (counts["counts"]["duplicates"], counts["counts"]["collapsed"]) == (1, 1)


def test_ap_positions_file(tmp_path: Path) -> None:
    log = _write(tmp_path, "log.csv", "time,user,ap\n1680343200,u,A\n1680343260,u,B\n")
    positions = _write(tmp_path, "aps.csv", "ap,x,y\nB,10.5,-3\nA,0,0\nC,99,99\n")
    out = import_assoc(log, tmp_path / "t", ap_positions=positions, traffic=TRAFFIC)
    nodes = {n.name: (n.x, n.y) for n in dmmemu.Trace.open(out).topology.nodes}
    assert nodes["ap:A"] == (0.0, 0.0) and nodes["ap:B"] == (10.5, -3.0)
    assert "ap:C" not in nodes
    missing = _write(tmp_path, "few.csv", "ap,x,y\nA,0,0\n")
    with pytest.raises(TraceError) as info:
        import_assoc(log, tmp_path / "u", ap_positions=missing, traffic=TRAFFIC)
    assert (info.value.file, info.value.column, info.value.value) == (str(missing), "ap", "B")
    twice = _write(tmp_path, "twice.csv", "ap,x,y\nA,0,0\nB,1,1\nA,2,2\n")
    with pytest.raises(TraceError) as info:
        import_assoc(log, tmp_path / "u", ap_positions=twice, traffic=TRAFFIC)
    assert (info.value.file, info.value.column) == (f"{twice}, line 4", "ap")


# -------------------------------------------------------------------- bad inputs
HEADER = "time,user,ap,event"
GOOD = "2023-04-01T10:00:00,u,A,Start"


def _lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize(("text", "line", "column", "value"), [
    (_lines("time,ap,event", "2023-04-01T10:00:00,A,Start"), 1, "user", None),
    (_lines(HEADER, GOOD, "yesterday,u,A,Start"), 3, "time", "yesterday"),
    (_lines("time,user,ap", "1680343200,u,A", "1680343201.5,u,A", "soon,u,A"), 4, "time",
     "soon"),
    (_lines(HEADER, GOOD, "2023-04-01T10:00:05,u,A,Accounting-On"), 3, "event",
     "Accounting-On"),
    (_lines(HEADER, GOOD, "2023-04-01T10:00:05,u,-,Interim-Update"), 3, "ap", None),
    (_lines(HEADER, GOOD, "2023-04-01T10:00:05,-,A,Start"), 3, "user", None),
    (_lines(HEADER, GOOD, "2023-04-01T10:01:00,u,A,Start", "2023-04-01T10:00:50,u,A,Start"),
     4, "time", "2023-04-01T10:00:50"),
])
def test_bad_input_names_file_line_and_column(tmp_path: Path, text: str, line: int,
                                              column: str, value: str | None) -> None:
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(TraceError) as info:
        import_assoc(path, tmp_path / "out", event_col="event" if "event" in text else None,
                     traffic=TRAFFIC)
    err = info.value
    assert (err.file, err.column, err.value) == (f"{path}, line {line}", column, value)
    assert str(err).startswith(f"{path}, line {line}, column {column!r}")
    assert not (tmp_path / "out").exists()


def test_skew_within_the_limit_is_reordered(tmp_path: Path) -> None:
    text = _lines(HEADER, GOOD, "2023-04-01T10:01:00,u,B,Start", "2023-04-01T10:00:50,u,C,Start")
    out = import_assoc(_write(tmp_path, "skew.csv", text), tmp_path / "t", event_col="event",
                       max_skew_s=15, traffic=TRAFFIC)
    assert _rows(out) == [(0, 0, 7), (50, 0, 11), (60, 0, 9), (3660, 0, -1)]


def test_parquet_error_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pl.DataFrame({"time": ["2023-04-01T10:00:00", "later"], "user": ["u", "u"],
                  "ap": ["A", "A"]}).write_parquet(path)
    with pytest.raises(TraceError) as info:
        import_assoc(path, tmp_path / "out", traffic=TRAFFIC)
    assert (info.value.file, info.value.row, info.value.column) == (str(path), 1, "time")


# -------------------------------------------------------------------- command line
def test_command(tmp_path: Path) -> None:
    log = _write(tmp_path, "assoc.csv", LOG)
    runner = CliRunner()
    ok = runner.invoke(assoc_command, [
        str(log), "--out", str(tmp_path / "t"), "--event-col", "event", "--controller-col",
        "wlc", "--packets", "300", "--no-packet-file"])
    assert ok.exit_code == 0, ok.output
    assert _rows(tmp_path / "t") == EXPECTED
    bad = _write(tmp_path, "bad.csv", _lines(HEADER, GOOD, "x,u,A,Start"))
    failed = runner.invoke(assoc_command, [str(bad), "--out", str(tmp_path / "u")])
    assert failed.exit_code == 2
    assert len(failed.output.strip().splitlines()) == 1
    assert failed.output.startswith(f"dmmemu: error: {bad}, line 3, column 'time', value 'x'")


# -------------------------------------------------------------------- rules 3-5 against a loop
SITES = {"a": "s0", "b": "s0", "c": "s1"}


def _loop_sessions(records: pl.DataFrame, timeout: int
                   ) -> tuple[list[tuple[int, int, str | None]], dict[str, int]]:
    """Rules 3-5 one row at a time, as the module docstring states them."""
    events: list[tuple[int, int, int, str | None]] = []  # (t, mn, order, ap)
    counts = dict.fromkeys(("attaches", "handovers_intra_site", "handovers_inter_site",
                            "collapsed", "detaches_stop", "detaches_timeout",
                            "ignored_stops"), 0)
    order = 0
    for (mn,), rows in records.group_by("mn", maintain_order=True):
        on, last = None, 0
        for t, ap, event in rows.select("t", "ap", "event").iter_rows():
            if on is not None and t - last > timeout:
                events.append((last + timeout, mn, order, None))
                counts["detaches_timeout"] += 1
                on = None
            order += 1
            if event == "stop":
                if on is not None and ap in (None, on):
                    events.append((t, mn, order, None))
                    counts["detaches_stop"] += 1
                    on = None
                else:
                    counts["ignored_stops"] += 1
                continue
            if on is None:
                counts["attaches"] += 1
                events.append((t, mn, order, ap))
            elif ap == on:
                counts["collapsed"] += 1
            else:
                intra = SITES[ap] == SITES[on]
                counts["handovers_intra_site" if intra else "handovers_inter_site"] += 1
                events.append((t, mn, order, ap))
            on, last = ap, t
        if on is not None:
            events.append((last + timeout, mn, order + 1, None))
            counts["detaches_timeout"] += 1
    return [(t, mn, ap) for t, mn, _, ap in sorted(events)], counts


@st.composite
def _records(draw: st.DrawFn) -> pl.DataFrame:
    rows = []
    for mn in range(draw(st.integers(1, 3))):
        times = sorted(draw(st.lists(st.integers(0, 40), min_size=1, max_size=12)))
        for t in times:
            event = draw(st.sampled_from(["start", "interim", "stop"]))
            ap = draw(st.sampled_from(["a", "b", "c"] + ([None] if event == "stop" else [])))
            rows.append({"mn": mn, "user": f"u{mn}", "t": t, "ap": ap, "event": event})
    return pl.DataFrame(rows, schema={"mn": pl.UInt32, "user": pl.String, "t": pl.Int64,
                                      "ap": pl.String, "event": pl.String}
                        ).with_row_index("_line", offset=2)


@settings(max_examples=150, deadline=None)
@given(records=_records(), timeout=st.integers(1, 15))
def test_session_rules_match_a_row_by_row_loop(records: pl.DataFrame, timeout: int) -> None:
    from dmmemu.importers.assoc import session_events

    sites = pl.DataFrame({"ap": list(SITES), "site": list(SITES.values())})
    events, counts = session_events(records, timeout_ns=timeout, site_of=sites)
    expected, expected_counts = _loop_sessions(records, timeout)
    assert list(events.select("t", "mn", "ap").iter_rows()) == expected
    assert {key: counts[key] for key in expected_counts} == expected_counts


def test_association_logs_placed_as_map_domains(tmp_path: Path) -> None:
    """--architecture hierarchical: each controller's APs form a MAP domain behind it."""
    from dmmemu.topology.generators import SitedAccess, SitedPoa

    topology = SitedAccess(architecture="hierarchical").build(
        [SitedPoa(name="ap1", site="wlc-a", x=0.0, y=0.0),
         SitedPoa(name="ap2", site="wlc-a", x=50.0, y=0.0),
         SitedPoa(name="ap3", site="wlc-b", x=100.0, y=0.0)])
    assert topology.areas == ("map-domain-wlc-a", "map-domain-wlc-b")
    members = [topology.nodes[m].name for m in topology.area_members("map-domain-wlc-a")]
    assert members == ["wlc-a", "ap1", "ap2"]
    assert topology.nodes[topology.node_id("wlc-a")].functions == ("MAP", "LMA")
    assert {topology.nodes[p].access for p in topology.nodes_with_role("poa")} == {"wifi"}
    with pytest.raises(TopologyError, match="architecture must be one of flat, hierarchical"):
        SitedAccess(architecture="mesh")
