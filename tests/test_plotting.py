"""RunResult.plot and dmmemu.results.plotting: each chart returns matplotlib Axes with titled, unit-
labelled axes and one series per run; charts draw on a given Axes; empty data says so."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest

import dmmemu
from dmmemu.results import plotting
from dmmemu.results.analysis import AXIS_TITLES, combine_results
from dmmemu.synthetic.generator import SyntheticTrace

matplotlib = pytest.importorskip("matplotlib", reason="the plots need matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

KINDS = ("stretch_cdf", "interruption_cdf", "anchor_load", "signaling", "overhead")


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> dmmemu.Trace:
    path = SyntheticTrace(mns=20, packets=20_000, seed=1).generate(
        tmp_path_factory.mktemp("plotting") / "t20")
    return dmmemu.Trace.open(path)


@pytest.fixture(scope="module")
def result(trace: dmmemu.Trace) -> dmmemu.RunResult:
    return dmmemu.run(trace, "pmipv6-dlma")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("kind", KINDS)
def test_each_plot_returns_labelled_axes(result: dmmemu.RunResult, kind: str,
                                         tmp_path: Path) -> None:
    ax = getattr(result.plot, kind)()
    assert isinstance(ax, Axes)
    assert ax.get_title()
    assert ax.get_ylabel()
    assert ax.has_data()
    ax.figure.savefig(tmp_path / f"{kind}.png")
    assert (tmp_path / f"{kind}.png").stat().st_size > 5_000


def test_axis_titles_carry_units(result: dmmemu.RunResult) -> None:
    assert result.plot.stretch_cdf().get_xlabel() == AXIS_TITLES["stretch"]
    assert "(ms)" in result.plot.interruption_cdf().get_xlabel()
    load = result.plot.anchor_load()
    assert "(s)" in load.get_xlabel() and "packets/s" in load.get_ylabel()
    assert result.plot.overhead().get_ylabel() == "bytes"
    assert result.plot.signaling().get_ylabel() == "signaling messages"


def test_plots_draw_on_the_given_axes(result: dmmemu.RunResult) -> None:
    fig, axes = plt.subplots(len(KINDS))
    for ax, kind in zip(axes, KINDS):
        assert getattr(result.plot, kind)(ax=ax) is ax
    assert len(fig.axes) == len(KINDS)


def test_cdf_steps_end_at_one_and_start_at_zero(result: dmmemu.RunResult) -> None:
    (line,) = result.plot.stretch_cdf().get_lines()
    ys = line.get_ydata()
    assert ys[0] == 0.0 and ys[-1] == 1.0 and all(a <= b for a, b in pairwise(ys))


def test_anchor_load_stacks_the_busiest_anchors(result: dmmemu.RunResult) -> None:
    ax = result.plot.anchor_load(top=2)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert len(labels) == 3 and labels[-1] == "other anchors"


def test_module_functions_draw_one_series_per_run(trace: dmmemu.Trace) -> None:
    tables = combine_results([dmmemu.run(trace, key) for key in ("mipv6", "pmipv6", "dmm")])
    ax = plotting.stretch_cdf(tables["stretch"].lazy())
    assert [line.get_label() for line in ax.get_lines()] == ["dmm", "mipv6", "pmipv6"]
    ax = plotting.interruption_cdf(tables["handovers"])
    assert len(ax.get_lines()) == 3
    ax = plotting.overhead(tables["summary"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["mipv6", "pmipv6", "dmm"]
    ax = plotting.signaling(tables["signaling"])
    assert ax.has_data()


def test_empty_tables_say_so(result: dmmemu.RunResult) -> None:
    no_handovers = result.handovers.filter(pl.col("kind") == "attach")
    ax = plotting.interruption_cdf(no_handovers)
    assert [t.get_text() for t in ax.texts] == ["no handovers"]
    assert not ax.get_lines()
