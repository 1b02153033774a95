"""The comparison table ``dmmemu run`` and ``dmmemu demo`` print: one row per run, the
figures a reader compares first, with units in the headers and delays in ms.

As text it fits the terminal (the columns are split into several tables that each repeat
the run column when one would be too wide) and marks the best value of each figure with
``*``; as markdown the best is in bold; as CSV or JSON the figures are plain numbers, for
papers and scripts. A run that had nothing to act on shows no figures, not a perfect score.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import Iterable

import click
import polars as pl

FORMATS = ("table", "csv", "json", "markdown")


@dataclass(frozen=True, slots=True)
class Figure:
    """A summary column as the table shows it: header (with unit), scale, which end is best
    (``min``, ``max`` or None: no better or worse) and the digits after the point."""

    column: str
    header: str
    scale: float = 1.0
    best: str | None = "min"
    digits: int = 0


FIGURES = (
    Figure("packets", "packets", best=None),
    Figure("mean_stretch", "stretch", digits=3),
    Figure("p99_stretch", "p99 stretch", digits=3),
    Figure("mean_delay_us", "delay ms", scale=1e-3, digits=2),
    Figure("overhead_bytes", "overhead MB", scale=1e-6, digits=2),
    Figure("handovers", "handovers", best=None),
    Figure("signaling_msgs", "sig msgs"),
    Figure("signaling_bytes", "sig kB", scale=1e-3, digits=1),
    Figure("mean_interruption_us", "interrupt ms", scale=1e-3, digits=1),
    Figure("lost_packets", "lost"),
    Figure("broken_flows", "broken"),
    Figure("renumbered_flows", "renumbered"),
    Figure("anchors_used", "anchors", best=None),
    Figure("max_anchor_share", "max share", digits=3),
)


def comparison_frame(summaries: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """The figures of each run, scaled to the headers' units; null for a run that was not
    applicable (its reason in ``not applicable``)."""
    summary = pl.concat(list(summaries), how="diagonal_relaxed")
    run = pl.col("run") if "run" in summary.columns else pl.col("practice")
    applicable = pl.col("not_applicable").is_null()
    return summary.select(run.alias("run"), *(
        pl.when(applicable).then(pl.col(f.column) if f.scale == 1 and not f.digits
                                 else pl.col(f.column).cast(pl.Float64) * f.scale)
        .otherwise(None).alias(f.header) for f in FIGURES),
        pl.col("not_applicable").alias("not applicable"))


def _best(frame: pl.DataFrame, figure: Figure) -> set[int]:
    """Rows holding the best value of a figure, when there is a choice (two runs or more
    with a value, not all equal)."""
    values = frame[figure.header]
    known = values.drop_nulls()
    if figure.best is None or known.len() < 2 or known.n_unique() == 1:
        return set()
    target = known.min() if figure.best == "min" else known.max()
    return {i for i, v in enumerate(values) if v is not None and v == target}


def _cells(frame: pl.DataFrame, marker: tuple[str, str]) -> pl.DataFrame:
    """The figures as text, the best of each column wrapped in ``marker``."""
    columns = {"run": frame["run"].to_list()}
    for figure in FIGURES:
        best = _best(frame, figure)
        columns[figure.header] = [
            "" if v is None else
            (marker[0] if i in best else "") + f"{v:,.{figure.digits}f}"
            + (marker[1] if i in best else "")
            for i, v in enumerate(frame[figure.header].to_list())]
    return pl.DataFrame(columns)


def _text_tables(cells: pl.DataFrame, width: int) -> list[pl.DataFrame]:
    """Groups of columns, each with the run column first, that fit ``width`` characters."""
    def wide(name: str) -> int:
        return max(len(name), *(len(v) for v in cells[name].to_list())) + 3

    groups: list[list[str]] = [[]]
    used = wide("run") + 1
    for name in cells.columns[1:]:
        if groups[-1] and used + wide(name) > width:
            groups.append([])
            used = wide("run") + 1
        groups[-1].append(name)
        used += wide(name)
    return [cells.select("run", *group) for group in groups]


def render(summaries: Iterable[pl.DataFrame], fmt: str = "table",
           width: int | None = None) -> str:
    """The comparison in ``fmt`` (one of ``FORMATS``); text fits ``width`` columns (default:
    the terminal's)."""
    frame = comparison_frame(summaries)
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "json":
        return json.dumps(frame.to_dicts(), indent=2) + "\n"
    reasons = [f"{run}: not applicable on this trace: {why}"
               for run, why in frame.select("run", "not applicable").iter_rows() if why]
    if fmt == "markdown":
        cells = _cells(frame, ("**", "**"))
        with pl.Config(tbl_formatting="ASCII_MARKDOWN", tbl_rows=-1, tbl_cols=-1,
                       tbl_width_chars=10_000, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True, tbl_cell_alignment="RIGHT"):
            return "\n".join([str(cells), *reasons]) + "\n"
    width = width or shutil.get_terminal_size((120, 24)).columns
    cells = _cells(frame, ("", "*"))
    parts = []
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=10_000,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                   tbl_cell_alignment="RIGHT"):
        parts = [str(part) for part in _text_tables(cells, width)]
    note = "* the best (lowest) of the runs"
    return "\n".join([*parts, note, *reasons]) + "\n"


def print_comparison(summaries: Iterable[pl.DataFrame], fmt: str = "table") -> None:
    """Print the comparison on stdout."""
    click.echo(render(summaries, fmt), nl=False)
