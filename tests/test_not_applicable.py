"""'Not applicable' is a state, not a zero: a practice that has nothing to act on in a trace
says so in its summary, on the CLI and in the report (docs/results.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import click
import polars as pl
from click.testing import CliRunner

import dmmemu
from dmmemu.cli.comparison import print_comparison
from dmmemu.practices import PMIPv6
from dmmemu.report.html import write_report
from dmmemu.results.analysis import combine_results

SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedsFaults(PMIPv6):
    """PMIPv6 that only means something where anchors fail (a stand-in for a failover
    practice; the bundled sample has no faults)."""

    key: ClassVar[str] = "needs-faults"

    def not_applicable(self, trace: Any) -> str | None:
        if trace.faults is not None and trace.faults.height:
            return None
        return "the trace has no fault"


def test_the_summary_says_why_and_keeps_the_figures() -> None:
    result = dmmemu.run(SAMPLE, NeedsFaults())
    row = result.summary.row(0, named=True)
    assert row["not_applicable"] == "the trace has no fault"
    assert row["packets"] == 1_000_000 and row["signaling_msgs"] > 0  # it still ran
    assert dmmemu.run(SAMPLE, "pmipv6").summary["not_applicable"].to_list() == [None]


def test_the_cli_shows_no_figures_for_it_and_one_line_why() -> None:
    runs = [dmmemu.run(SAMPLE, "pmipv6").summary, dmmemu.run(SAMPLE, NeedsFaults()).summary]
    out = CliRunner().invoke(_echo_comparison, obj=runs)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert "needs-faults: not applicable on this trace: the trace has no fault" in lines
    first = out.output.split("└", 1)[0].splitlines()  # the table with the packets column
    (row,) = [line for line in first if line.strip("│ ").startswith("needs-faults")]
    assert [cell.strip() for cell in row.strip("│").split("┆")[1:]] == [""] * (
        len(row.split("┆")) - 1)  # no figure at all
    (plain,) = [line for line in first if line.strip("│ ").startswith("pmipv6")]
    assert "1,000,000" in plain


def test_the_report_marks_it_and_leaves_it_out_of_the_charts(tmp_path) -> None:
    results = [dmmemu.run(SAMPLE, "pmipv6"), dmmemu.run(SAMPLE, NeedsFaults())]
    page = write_report(combine_results(results), tmp_path / "r.html").read_text()
    assert "not applicable on this trace: the trace has no fault" in page
    charts = page[page.index('id="chart-stretch"'):page.index('id="gap-table"')]
    assert "needs-faults" not in charts and "pmipv6" in charts


@click.command()
@click.pass_obj
def _echo_comparison(summaries: list[pl.DataFrame]) -> None:
    print_comparison(summaries)
