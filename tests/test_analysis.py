"""dmmemu.results.analysis: compare on a small synthetic trace; the distribution helpers exact on
hand-made tables, LazyFrame in -> LazyFrame out; reading results directories."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import dmmemu
from dmmemu.errors import DmmemuError, PracticeError
from dmmemu.practices import PMIPv6
from dmmemu.results import analysis
from dmmemu.results.analysis import (
    OTHER_ANCHORS,
    ResultsError,
    anchor_load,
    combine_results,
    compare,
    interruption_cdf,
    load_results,
    runs_from_summary,
    signaling_by_cause,
    stretch_cdf,
)
from dmmemu.synthetic.generator import SyntheticTrace

S = 1_000_000_000  # ns


@pytest.fixture(scope="module")
def trace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return SyntheticTrace(mns=20, packets=20_000, seed=1).generate(
        tmp_path_factory.mktemp("analysis") / "t20")


@pytest.fixture(scope="module")
def trace(trace_dir: Path) -> dmmemu.Trace:
    return dmmemu.Trace.open(trace_dir)


# ------------------------------------------------------------------------- compare

def test_compare_is_the_runs_summaries_one_row_per_practice(trace: dmmemu.Trace) -> None:
    practices = ["mipv6", "dmm", PMIPv6(lifetime_s=3600)]
    table = compare(trace, practices)
    expected = pl.concat([dmmemu.run(trace, p).summary for p in practices],
                         how="vertical_relaxed")
    assert_frame_equal(table, expected)
    assert table["practice"].to_list() == ["mipv6", "dmm", "pmipv6"]
    assert json.loads(table["params"][2])["lifetime_s"] == 3600


def test_compare_defaults_to_every_registered_practice(trace_dir: Path) -> None:
    table = compare(trace_dir)  # a path is opened
    assert table["practice"].to_list() == list(dmmemu.PRACTICES)
    assert table.height == len(dmmemu.PRACTICES)
    assert table["packets"].n_unique() == 1


def test_compare_params_apply_to_keys_only(trace: dmmemu.Trace) -> None:
    table = compare(trace, ["pmipv6", PMIPv6(lifetime_s=30)], params={"lifetime_s": 3600})
    assert [json.loads(p)["lifetime_s"] for p in table["params"]] == [3600, 30]


def test_compare_checks_every_practice_before_running(trace: dmmemu.Trace,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ran = []
    monkeypatch.setattr("dmmemu.engine.runner.run", lambda *a, **k: ran.append(a))
    with pytest.raises(PracticeError, match="no_such_param"):
        compare(trace, ["mipv6", "pmipv6"], params={"no_such_param": 1})
    with pytest.raises(PracticeError, match="nope"):
        compare(trace, ["mipv6", "nope"])
    with pytest.raises(PracticeError, match="at least one"):
        compare(trace, [])
    assert ran == []


def test_compare_passes_the_timeline_bin_to_run(trace: dmmemu.Trace) -> None:
    table = compare(trace, ["dmm", "mipv6"], timeline_bin_s=0.25)
    assert table["timeline_bin_s"].to_list() == [0.25, 0.25]
    default = compare(trace, ["dmm"])
    assert default["timeline_bin_s"].to_list() == [dmmemu.run(trace, "dmm").meta.timeline_bin_s]
    # The bin width changes the timeline table only.
    assert_frame_equal(table.head(1).drop("timeline_bin_s"), default.drop("timeline_bin_s"))


# ------------------------------------------------------------------------- stretch_cdf

def stretch_table() -> pl.DataFrame:
    """Two practices; equal ratios in different cells (2/1, 4/2), an empty cell, and a cell
    with no direct path (stretch undefined)."""
    return pl.DataFrame({
        "path_hops": [2, 4, 4, 3, 5, 3, 0],
        "direct_hops": [1, 2, 3, 3, 3, 3, 0],
        "stretch": [2.0, 2.0, 4 / 3, 1.0, 5 / 3, 1.0, float("nan")],
        "packets": [1, 1, 98, 0, 3, 1, 7],
        "practice": ["a", "a", "a", "a", "b", "b", "b"],
        "trace": "t",
    })


def test_stretch_cdf_exact() -> None:
    expected = pl.DataFrame({
        "practice": ["a", "a", "b", "b"],
        "trace": "t",
        "stretch": [4 / 3, 2.0, 1.0, 5 / 3],
        "packets": [98, 2, 1, 3],
        "cdf": [0.98, 1.0, 0.25, 1.0],
    })
    assert_frame_equal(stretch_cdf(stretch_table()), expected)


def test_stretch_cdf_keeps_runs_of_one_practice_apart() -> None:
    table = pl.concat([stretch_table().with_columns(run=pl.lit("one")),
                       stretch_table().filter(pl.col("practice") == "a")
                       .with_columns(run=pl.lit("two"), packets=pl.col("packets") * 2)])
    steps = stretch_cdf(table)
    assert steps.columns[:3] == ["run", "practice", "trace"]
    two = steps.filter(pl.col("run") == "two")
    assert two["packets"].to_list() == [196, 4]
    assert two["cdf"].to_list() == [0.98, 1.0]


# ------------------------------------------------------------------------- interruption_cdf

def handovers_table() -> pl.DataFrame:
    return pl.DataFrame({
        "kind": ["attach", "handover", "handover", "handover", "handover", "attach"],
        "interruption_us": [0.0, 60_000.0, 66_200.0, 60_000.0, 106_200.0, 0.0],
        "practice": ["p", "p", "p", "p", "q", "q"],
        "trace": "t",
    })


def test_interruption_cdf_exact_and_without_attaches() -> None:
    expected = pl.DataFrame({
        "practice": ["p", "p", "q"],
        "trace": "t",
        "interruption_us": [60_000.0, 66_200.0, 106_200.0],
        "interruption_ms": [60.0, 66.2, 106.2],
        "handovers": pl.Series([2, 1, 1], dtype=pl.Int64),
        "cdf": [2 / 3, 1.0, 1.0],
    })
    assert_frame_equal(interruption_cdf(handovers_table()), expected)


def test_interruption_cdf_of_attaches_only_is_empty() -> None:
    steps = interruption_cdf(handovers_table().filter(pl.col("kind") == "attach"))
    assert steps.is_empty()
    assert "cdf" in steps.columns


# ------------------------------------------------------------------------- anchor_load

def timeline_table() -> pl.DataFrame:
    """Run p: 3 anchors, 2 bins of 0.5 s (anchor 9 never carries anything; bin 2 has no
    anchored packet). Run q: one bin only."""
    half = S // 2
    return pl.DataFrame({
        "t": [0, 0, 0, half, half, half, 0],
        "t_s": [0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.0],
        "anchor": pl.Series([1, 2, 9, 1, 2, 9, 5], dtype=pl.Int32),
        "name": ["a1", "a2", "a9", "a1", "a2", "a9", "a5"],
        "packets": [30, 10, 0, 0, 0, 0, 4],
        "bytes": [0] * 7,
        "signaling_msgs": [0] * 7,
        "mean_bindings": [0.0] * 7,
        "practice": ["p"] * 6 + ["q"],
        "trace": "t",
    })


def test_anchor_load_rates_and_shares() -> None:
    load = anchor_load(timeline_table())
    p = load.filter(pl.col("practice") == "p")
    assert p["anchor"].to_list() == [1, 2, 9, 1, 2, 9]
    assert p["packets_per_s"].to_list() == [60.0, 20.0, 0.0, 0.0, 0.0, 0.0]
    assert p["share"].to_list() == [0.75, 0.25, 0.0, None, None, None]
    # Run q has a single bin: its width comes from the other run.
    q = load.filter(pl.col("practice") == "q")
    assert q["packets_per_s"].to_list() == [8.0]
    assert q["share"].to_list() == [1.0]
    assert load.columns == ["practice", "trace", "t", "t_s", "anchor", "name", "packets",
                            "packets_per_s", "share"]


def test_anchor_load_explicit_bin_and_single_bin_without_one() -> None:
    assert anchor_load(timeline_table(), bin_s=2.0)["packets_per_s"][0] == 15.0
    only_q = timeline_table().filter(pl.col("practice") == "q")
    assert anchor_load(only_q)["packets_per_s"].to_list() == [None]


def test_anchor_load_top_sums_the_others_and_drops_idle_anchors() -> None:
    load = anchor_load(timeline_table().filter(pl.col("practice") == "p"), top=1)
    assert load["anchor"].to_list() == [-1, 1, -1, 1]
    assert load["name"].to_list() == [OTHER_ANCHORS, "a1", OTHER_ANCHORS, "a1"]
    assert load["packets"].to_list() == [10, 30, 0, 0]
    assert load["share"].to_list() == [0.25, 0.75, None, None]
    # With room for every busy anchor there is no "others" row, and a9 (idle) is gone.
    assert anchor_load(timeline_table(), top=5)["anchor"].to_list() == [1, 2, 1, 2, 5]


# ------------------------------------------------------------------------- frame kinds

@pytest.mark.parametrize("helper, table", [
    (stretch_cdf, stretch_table),
    (interruption_cdf, handovers_table),
    (anchor_load, timeline_table),
    (lambda frame: anchor_load(frame, top=1), timeline_table),
    (signaling_by_cause, lambda: pl.DataFrame({
        "message": ["BU", "BA", "BU"], "cause": ["attach", "attach", "handover"],
        "msgs": [2, 2, 5], "bytes": [160, 160, 400], "byte_hops": [1, 2, 3],
        "practice": "m", "trace": "t"})),
    (runs_from_summary, lambda: pl.DataFrame({"practice": ["m"], "trace": ["t"],
                                              "engine": ["core"], "seed": [3]})),
])
def test_lazy_in_lazy_out_same_rows(helper, table) -> None:
    eager = helper(table())
    lazy = helper(table().lazy())
    assert isinstance(eager, pl.DataFrame)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), eager)


def test_signaling_by_cause_sums_message_kinds() -> None:
    table = pl.DataFrame({"message": ["BU", "BA", "BU"], "cause": ["attach", "attach", "flow"],
                          "msgs": [2, 2, 5], "bytes": [160, 160, 400], "byte_hops": [1, 2, 3],
                          "practice": "m", "trace": "t"})
    out = signaling_by_cause(table)
    assert out.select("cause", "msgs", "bytes", "byte_hops").rows() == [
        ("attach", 4, 320, 3), ("flow", 5, 400, 3)]


# ------------------------------------------------------------------------- reading results

@pytest.fixture(scope="module")
def results_dir(trace: dmmemu.Trace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("results")
    for key in ("mipv6", "dmm"):
        dmmemu.run(trace, key).write(root / key)
    return root


def test_load_results_concatenates_runs_with_labels(results_dir: Path,
                                                    trace: dmmemu.Trace) -> None:
    tables = load_results(results_dir)
    expected = {path.stem for path in (results_dir / "dmm").glob("*.parquet")} | {"runs"}
    assert set(tables) == expected
    assert all(isinstance(frame, pl.DataFrame) for frame in tables.values())
    assert tables["summary"]["run"].to_list() == ["dmm", "mipv6"]
    dmm = dmmemu.run(trace, "dmm")
    for name, frame in dmm.tables().items():
        got = tables[name].filter(pl.col("run") == "dmm")
        assert_frame_equal(got, frame, check_dtypes=False)
    runs = tables["runs"]
    assert runs.columns == ["run", "practice", "trace", "engine", "seed", "dmmemu_version",
                            "timeline_bin_s", "params"]
    row = runs.filter(pl.col("run") == "dmm").row(0, named=True)
    assert row["practice"] == "dmm" and row["engine"] == "core" and row["seed"] == 1
    assert row["timeline_bin_s"] == dmm.meta.timeline_bin_s
    assert row["dmmemu_version"] == dmmemu.__version__
    assert json.loads(row["params"]) == json.loads(dmm.summary["params"][0])


def test_load_results_lazy_and_a_subset(results_dir: Path) -> None:
    tables = load_results(results_dir, tables=["summary", "handovers"], lazy=True)
    assert set(tables) == {"summary", "handovers", "runs"}
    assert all(isinstance(frame, pl.LazyFrame) for frame in tables.values())
    steps = interruption_cdf(tables["handovers"])
    assert isinstance(steps, pl.LazyFrame)
    assert set(steps.collect()["run"]) <= {"dmm", "mipv6"}


def test_load_results_one_run_directly(results_dir: Path) -> None:
    tables = load_results(results_dir / "mipv6")
    assert tables["summary"]["run"].to_list() == ["mipv6"]
    assert tables["runs"]["practice"].to_list() == ["mipv6"]


def test_load_results_errors(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="not a directory"):
        load_results(tmp_path / "missing")
    with pytest.raises(ResultsError, match="no results found"):
        load_results(tmp_path)
    (tmp_path / "summary.parquet").write_text("not parquet")
    with pytest.raises(ResultsError, match="tables without manifest.json"):
        load_results(tmp_path)
    assert issubclass(ResultsError, DmmemuError)


def test_combine_results_labels_repeated_practices(trace: dmmemu.Trace) -> None:
    results = [dmmemu.run(trace, "pmipv6"), dmmemu.run(trace, PMIPv6(lifetime_s=3600)),
               dmmemu.run(trace, "dmm")]
    tables = combine_results(results)
    assert tables["summary"]["run"].to_list() == ["pmipv6", "pmipv6#2", "dmm"]
    assert tables["runs"]["run"].to_list() == ["pmipv6", "pmipv6#2", "dmm"]
    assert json.loads(tables["runs"]["params"][1])["lifetime_s"] == 3600
    assert tables["handovers"].height == sum(r.handovers.height for r in results)
    with pytest.raises(ResultsError):
        combine_results([])


def test_run_summary_metrics_are_finite_where_traffic_flowed(trace: dmmemu.Trace) -> None:
    """A guard for the report: the comparison columns it shows exist and are numbers."""
    from dmmemu.report.html import COMPARISON

    table = compare(trace, ["dmm"])
    for column, _, _ in COMPARISON:
        value = table[column][0]
        assert value is not None and not (isinstance(value, float) and math.isnan(value)), column


def test_nothing_heavy_at_import() -> None:
    import subprocess
    import sys

    code = ("import sys, dmmemu.results.analysis, dmmemu.report.html, dmmemu.results.plotting; "
            "print(sorted(m for m in ('plotly', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    assert analysis.RUN_KEYS == ("run", "practice", "trace")
