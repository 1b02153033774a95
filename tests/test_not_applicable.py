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
from dmmemu.cli._common import print_comparison
from dmmemu.practices import PMIPv6
from dmmemu.report.html import write_report
from dmmemu.results.analysis import combine_results

SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedsMnToMnFlows(PMIPv6):
    """PMIPv6 that only means something where MNs talk to MNs (a stand-in for localized
    routing; the bundled sample has no MN-to-MN flow)."""

    key: ClassVar[str] = "needs-peers"

    def not_applicable(self, trace: Any) -> str | None:
        if "peer_mn" in trace.flows.columns and trace.flows["peer_mn"].null_count() < \
                trace.flows.height:
            return None
        return "the trace has no MN-to-MN flow"


def test_the_summary_says_why_and_keeps_the_figures() -> None:
    result = dmmemu.run(SAMPLE, NeedsMnToMnFlows())
    row = result.summary.row(0, named=True)
    assert row["not_applicable"] == "the trace has no MN-to-MN flow"
    assert row["packets"] == 1_000_000 and row["signaling_msgs"] > 0  # it still ran
    assert dmmemu.run(SAMPLE, "pmipv6").summary["not_applicable"].to_list() == [None]


def test_the_cli_shows_no_figures_for_it_and_one_line_why() -> None:
    runs = [dmmemu.run(SAMPLE, "pmipv6").summary, dmmemu.run(SAMPLE, NeedsMnToMnFlows()).summary]
    out = CliRunner().invoke(_echo_comparison, obj=runs)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert "needs-peers: not applicable on this trace: the trace has no MN-to-MN flow" in lines
    (row,) = [line for line in lines if line.startswith("│ needs-peers")]
    assert "null" in row and "1000000" not in row
    (plain,) = [line for line in lines if line.startswith("│ pmipv6")]
    assert "1000000" in plain


def test_the_report_marks_it_and_leaves_it_out_of_the_charts(tmp_path) -> None:
    results = [dmmemu.run(SAMPLE, "pmipv6"), dmmemu.run(SAMPLE, NeedsMnToMnFlows())]
    page = write_report(combine_results(results), tmp_path / "r.html").read_text()
    assert "not applicable on this trace: the trace has no MN-to-MN flow" in page
    charts = page[page.index('id="chart-stretch"'):page.index('id="gap-table"')]
    assert "needs-peers" not in charts and "pmipv6" in charts


@click.command()
@click.pass_obj
def _echo_comparison(summaries: list[pl.DataFrame]) -> None:
    print_comparison(summaries)
