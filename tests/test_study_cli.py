"""A CLI that fits a study: every practice at once (`-p all`), one practice run twice under
labels with parameters scoped to each (`-p KEY:LABEL`, `--param SCOPE.KEY=VALUE`), the
label in a `run` column of every table, and the comparison as a terminal table (fitting
the width, best values marked) or as CSV, JSON and markdown."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from cli_invoke import invoke

import dmmemu
from dmmemu.cli.comparison import FIGURES, comparison_frame, render
from dmmemu.cli.run_choice import choose_runs
from dmmemu.errors import PracticeError
from dmmemu.practices import PRACTICES
from dmmemu.results.analysis import load_results
from traces import grid_trace


@pytest.fixture(scope="module")
def trace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return grid_trace(tmp_path_factory.mktemp("study") / "grid")


def test_one_practice_twice_under_labels_with_scoped_parameters(trace_dir: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "o"
    code, stdout, err = invoke(
        "run", trace_dir, "-p", "pmipv6:short", "-p", "pmipv6:long", "-p", "dmm",
        "--param", "short.lifetime_s=5", "--param", "long.lifetime_s=3600",
        "--param", "l2_attach_ms=20", "--out", out, "--no-progress", "--format", "csv")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["dmm", "long", "manifest.json", "short"]
    tables = load_results(out)
    for name in ("summary", "flows", "handovers", "signaling"):
        assert set(tables[name]["run"].unique()) == {"short", "long", "dmm"}, name
    params = {run: json.loads(p) for run, p in tables["summary"].select("run", "params").rows()}
    assert (params["short"]["lifetime_s"], params["long"]["lifetime_s"]) == (5.0, 3600.0)
    assert {params[r]["l2_attach_ms"] for r in params} == {20.0}  # unscoped: every run
    assert tables["runs"]["practice"].to_list() == ["pmipv6", "pmipv6", "dmm"]
    rows = pl.read_csv(io.StringIO(stdout))
    assert rows["run"].to_list() == ["short", "long", "dmm"]
    short, long_ = (rows.filter(pl.col("run") == r)["sig msgs"][0] for r in ("short", "long"))
    assert short > long_  # a shorter lifetime refreshes more often
    # The library's run label is the same thing.
    result = dmmemu.run(trace_dir, "pmipv6", params={"lifetime_s": 5, "l2_attach_ms": 20},
                        name="short")
    assert result.summary["run"].to_list() == ["short"]
    assert result.summary.drop("run").equals(
        tables["summary"].filter(pl.col("run") == "short").drop("run"))


def test_all_runs_every_registered_practice_with_a_parameter_where_it_applies() -> None:
    runs = choose_runs(("all",), {"lifetime_s": 30})
    assert list(runs) == list(PRACTICES)
    with_lifetime = [k for k, p in runs.items() if "lifetime_s" in p.params()]
    assert with_lifetime and all(runs[k].params()["lifetime_s"] == 30 for k in with_lifetime)


@pytest.mark.parametrize("specs, params, message", [
    (("dmm", "dmm"), {}, "a second run labelled 'dmm'; give each run of a practice its own "
                         "label"),
    (("dmm",), {"nosuch": 1}, "--param nosuch: no practice of this run has a parameter"),
    (("dmm",), {"mipv6.lifetime_s": 1}, "'mipv6' is neither a run label nor a practice"),
    (("pmipv6:a",), {"a.lifetime_s": -1}, "run 'a' (pmipv6): "),
    (("nosuch",), {}, "-p nosuch: unknown practice 'nosuch'"),
    (("all:x",), {}, "'all' takes no label"),
    (("dmm:a/b",), {}, "a label names the run's directory"),
    (("dmm:.hidden",), {}, "not hidden"),
])
def test_bad_run_choices_name_the_option(specs, params, message) -> None:
    with pytest.raises(PracticeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        choose_runs(specs, params)


@pytest.fixture(scope="module")
def summaries(trace_dir: Path) -> list[pl.DataFrame]:
    return [dmmemu.run(trace_dir, key).summary for key in ("mipv6", "pmipv6", "dmm")]


def test_the_table_fits_a_narrow_terminal_and_marks_the_best(summaries) -> None:
    text = render(summaries, "table", width=60)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 60
    frame = comparison_frame(summaries)
    stretch = frame["stretch"].to_list()
    best = min(stretch)
    marked = [line for line in lines if "*" in line and "┆" in line]
    assert marked, text
    # Every figure with a best end shows its best value with the mark, in some table.
    header_tables = text.split("└")
    for figure in FIGURES:
        if figure.best is None or frame[figure.header].n_unique() == 1:
            continue
        value = min(frame[figure.header].to_list())
        shown = f"{value:,.{figure.digits}f}*"
        assert any(figure.header in t and shown in t for t in header_tables), figure.header
    assert f"{best:,.3f}*" in text and lines[-1] == "* the best (lowest) of the runs"


def test_csv_json_and_markdown_hold_the_same_figures(summaries) -> None:
    frame = comparison_frame(summaries)
    from_csv = pl.read_csv(io.StringIO(render(summaries, "csv")))
    assert from_csv.columns == frame.columns
    assert from_csv["stretch"].to_list() == pytest.approx(frame["stretch"].to_list())
    from_json = json.loads(render(summaries, "json"))
    assert [row["run"] for row in from_json] == ["mipv6", "pmipv6", "dmm"]
    assert [row["delay ms"] for row in from_json] == pytest.approx(frame["delay ms"].to_list())
    markdown = render(summaries, "markdown").splitlines()
    assert markdown[0].startswith("|") and set(markdown[1]) <= set("|-: ")
    best = min(frame["stretch"].to_list())
    assert f"**{best:,.3f}**" in "\n".join(markdown)
