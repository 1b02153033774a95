"""Matplotlib charts of result tables, for notebooks: ``result.plot.stretch_cdf()``.

Each function draws one chart from result tables holding one run or several (as
``dmmemu.results.analysis.load_results`` returns them: one line or bar group per run) on ``ax`` (a
new figure when ``None``) and returns the Axes. ``PlotAccessor`` draws the same charts for
one ``RunResult``. matplotlib is imported on first use, never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from dmmemu.results import analysis
from dmmemu.results.analysis import AXIS_TITLES, OTHER_ANCHORS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from dmmemu.results.tables import RunResult

Frame = pl.DataFrame | pl.LazyFrame


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # an optional dependency: say how to get it
        raise ImportError("dmmemu's plots need matplotlib: pip install matplotlib") from exc
    _, new = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    return new


def _collected(frame: Frame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _labelled(frame: pl.DataFrame) -> pl.DataFrame:
    """A ``label`` column naming each row's run: ``run`` when present, else the practice."""
    if "run" in frame.columns:
        return frame.with_columns(label=pl.col("run"))
    return frame.with_columns(label=pl.col("practice") if "practice" in frame.columns
                              else pl.lit("run"))


def _nothing(ax: Axes, what: str) -> Axes:
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="0.4")
    return ax


def _cdf(steps: pl.DataFrame, x: str, ax: Axes) -> None:
    right = steps[x].max()
    for (label,), part in steps.group_by("label", maintain_order=True):
        xs = [part[x][0], *part[x], right]
        ys = [0.0, *part["cdf"], 1.0]
        ax.step(xs, ys, where="post", label=str(label), linewidth=2)
    ax.set_ylim(0, 1.03)
    ax.yaxis.set_major_formatter(_percent())
    ax.grid(alpha=0.3)
    ax.legend(title="run")


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0)


def _thousands() -> Any:
    from matplotlib.ticker import StrMethodFormatter

    return StrMethodFormatter("{x:,.0f}")


def stretch_cdf(stretch: Frame, *, ax: Axes | None = None) -> Axes:
    """CDF of per-packet path stretch, one step line per run (from the ``stretch`` table)."""
    return _cdf_axes(analysis.stretch_cdf(stretch), "stretch", ax,
                     title="Per-packet path stretch, CDF (1 = shortest path)", axes="stretch",
                     empty="no delivered packets")


def interruption_cdf(handovers: Frame, *, ax: Axes | None = None) -> Axes:
    """CDF of handover interruption in ms, one step line per run (``handovers`` table)."""
    return _cdf_axes(analysis.interruption_cdf(handovers), "interruption_ms", ax,
                     title="Handover interruption, CDF", axes="interruption",
                     empty="no handovers")


def _cdf_axes(frame: Frame, column: str, ax: Axes | None, *, title: str, axes: str,
              empty: str) -> Axes:
    """One CDF chart: titles and units from ``AXIS_TITLES[axes]`` and ``[axes + "_cdf"]``."""
    ax = _axes(ax)
    steps = _labelled(_collected(frame))
    ax.set_title(title)
    ax.set_xlabel(AXIS_TITLES[axes])
    ax.set_ylabel(AXIS_TITLES[f"{axes}_cdf"])
    if steps.is_empty():
        return _nothing(ax, empty)
    _cdf(steps, column, ax)
    return ax


def anchor_load(timeline: Frame, *, top: int = 5, ax: Axes | None = None) -> Axes:
    """Packets/s through the ``top`` busiest anchors over time, stacked, the others summed
    (``timeline`` table of one run; with several runs, their loads are added per anchor
    name, so pass one run's rows)."""
    ax = _axes(ax)
    load = _collected(analysis.anchor_load(timeline, top=top))
    ax.set_title("Anchor load over time")
    ax.set_xlabel(AXIS_TITLES["time"])
    ax.set_ylabel(AXIS_TITLES["load"])
    if load.is_empty():
        return _nothing(ax, "no anchored packets")
    wide = (load.group_by("t_s", "name").agg(pl.col("packets_per_s").sum())
            .pivot(on="name", index="t_s", values="packets_per_s").sort("t_s").fill_null(0.0))
    totals = load.group_by("name").agg(pl.col("packets").sum())
    names = (totals.sort(pl.col("name") == OTHER_ANCHORS, "packets", descending=[False, True])
             ["name"].to_list())
    colors = [("0.8" if name == OTHER_ANCHORS else f"C{i}") for i, name in enumerate(names)]
    ax.stackplot(wide["t_s"], *[wide[name] for name in names], labels=names, colors=colors)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(title="anchor", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def signaling(signaling_table: Frame, *, ax: Axes | None = None) -> Axes:
    """Signaling messages per run, stacked by cause (``signaling`` table)."""
    ax = _axes(ax)
    by_cause = _labelled(_collected(analysis.signaling_by_cause(signaling_table)))
    ax.set_title("Mobility signaling messages by cause")
    ax.set_ylabel(AXIS_TITLES["signaling"])
    if by_cause.is_empty():
        return _nothing(ax, "no signaling")
    runs = by_cause["label"].unique(maintain_order=True).to_list()
    bottom = [0] * len(runs)
    for cause in sorted(by_cause["cause"].unique().to_list()):
        counts = dict(by_cause.filter(pl.col("cause") == cause).select("label", "msgs")
                      .iter_rows())
        heights = [counts.get(run, 0) for run in runs]
        ax.bar(runs, heights, bottom=bottom, label=cause)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.yaxis.set_major_formatter(_thousands())
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="cause")
    return ax


def overhead(summary: Frame, *, ax: Axes | None = None) -> Axes:
    """Bytes added to user traffic per run: tunnel encapsulation and mobility signaling
    (``summary`` table)."""
    ax = _axes(ax)
    rows = _labelled(_collected(summary))
    runs = [str(run) for run in rows["label"]]
    width = 0.38
    positions = range(len(runs))
    for offset, column, label, color in ((-width / 2, "overhead_bytes", "tunnel encapsulation",
                                          "#3e4c59"),
                                         (width / 2, "signaling_bytes", "mobility signaling",
                                          "#f0b429")):
        bars = ax.bar([p + offset for p in positions], rows[column].to_list(), width,
                      label=label, color=color)
        ax.bar_label(bars, fmt="{:,.0f}", fontsize="small")
    ax.set_xticks(list(positions), runs)
    ax.set_title("Overhead bytes added to user traffic")
    ax.set_ylabel(AXIS_TITLES["overhead"])
    ax.yaxis.set_major_formatter(_thousands())
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="overhead")
    return ax


class PlotAccessor:
    """The charts of one run (``RunResult.plot``); each method returns matplotlib Axes and
    draws on ``ax`` when given."""

    __slots__ = ("_result",)

    def __init__(self, result: RunResult) -> None:
        self._result = result

    def stretch_cdf(self, *, ax: Axes | None = None) -> Axes:
        """CDF of the per-packet path stretch (path hops / direct hops)."""
        return stretch_cdf(self._result.stretch, ax=ax)

    def interruption_cdf(self, *, ax: Axes | None = None) -> Axes:
        """CDF of the handover interruption, in ms."""
        return interruption_cdf(self._result.handovers, ax=ax)

    def anchor_load(self, *, top: int = 5, ax: Axes | None = None) -> Axes:
        """Packets/s through the ``top`` busiest anchors over time, the others summed."""
        return anchor_load(self._result.timeline, top=top, ax=ax)

    def signaling(self, *, ax: Axes | None = None) -> Axes:
        """Signaling messages, stacked by cause (attach, handover, refresh, ...)."""
        return signaling(self._result.signaling, ax=ax)

    def overhead(self, *, ax: Axes | None = None) -> Axes:
        """Bytes added to the traffic: tunnel encapsulation and mobility signaling."""
        return overhead(self._result.summary, ax=ax)
