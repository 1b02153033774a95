"""The HTML report: one self-contained page comparing the runs of a results directory.

``write_report`` reads the tables (``dmmemu.results.analysis.load_results``, lazily: the large
tables are reduced before they are read), draws the charts with plotly, inlines
plotly.js once in the page head (the page needs no network to be viewed) and writes the
page atomically. ``report_command`` is the ``dmmemu report`` command.

Sections: the comparison table; stretch and interruption CDFs per run; tunnel overhead and
signaling bars; anchor load over time; the gap table (not computed yet: a placeholder);
the run metadata.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from dmmemu import __version__
from dmmemu.results.analysis import (
    AXIS_TITLES,
    OTHER_ANCHORS,
    UNREADABLE_RESULTS,
    ResultsError,
    anchor_load,
    interruption_cdf,
    load_results,
    params_of,
    runs_from_summary,
    signaling_by_cause,
    stretch_cdf,
)

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

# Tables the report reads; flows (the largest) is not among them.
REPORT_TABLES = ("summary", "signaling", "handovers", "timeline", "stretch")

# The id of every chart's div, in page order (the browser test looks for each).
CHART_IDS = ("chart-stretch", "chart-interruption", "chart-overhead", "chart-signaling",
             "chart-anchor-load")

# Anchors drawn by name in the anchor-load chart; the rest are summed as "other anchors".
TOP_ANCHORS = 5

_US_PER_MS = 1000.0


def _count(value: Any) -> str:
    return f"{value:,}"


def _number(value: Any) -> str:
    return f"{value:,.3g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _ms(value: Any) -> str:
    return _number(value / _US_PER_MS)


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}"


# Comparison table: summary column, header (with unit), formatter.
COMPARISON: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("packets", "packets", _count),
    ("mean_stretch", "mean stretch (×)", _number),
    ("p99_stretch", "p99 stretch (×)", _number),
    ("mean_delay_us", "mean delay (ms)", _ms),
    ("overhead_bytes", "tunnel overhead (bytes)", _count),
    ("handovers", "handovers", _count),
    ("signaling_msgs", "signaling (messages)", _count),
    ("signaling_bytes", "signaling (bytes)", _count),
    ("mean_interruption_us", "mean interruption (ms)", _ms),
    ("lost_packets", "lost packets", _count),
    ("broken_flows", "broken flows", _count),
    ("renumbered_flows", "renumbered flows", _count),
    ("anchors_used", "anchors used", _count),
    ("max_anchor_share", "busiest anchor share (%)", _percent),
)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1f2933; background: #fff; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #d9e2ec; }
p.lede, p.note { color: #52606d; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: right;
         vertical-align: top; }
th { background: #f5f7fa; font-weight: 600; }
th:first-child, td:first-child { text-align: left; white-space: nowrap; }
th.text, td.text { text-align: left; }
td.params { max-width: 560px; line-height: 1.6; }
td.params code { font-size: 0.9em; background: #f5f7fa; padding: 1px 4px; margin-right: 6px;
                 white-space: nowrap; }
.chart { margin: 0.5em 0 1em; }
.missing, .not-applicable { color: #9f580a; }
"""

_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "font": {"size": 13},
    "margin": {"l": 70, "r": 30, "t": 60, "b": 60},
    "legend": {"title": {"text": "run"}},
}

_CONFIG = {"displaylogo": False, "responsive": True}

_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


# ------------------------------------------------------------------------- public API

def write_report(
    results: str | Path | Mapping[str, pl.DataFrame | pl.LazyFrame],
    out_html: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """Write the HTML report of ``results`` (a results directory, or tables by name as
    ``load_results`` and ``combine_results`` return them) to ``out_html``, atomically, and
    return its path. Raises ``ResultsError`` when there is no summary to report on."""
    from dmmemu.atomic_output import write_atomically

    if isinstance(results, (str, Path)):
        source = str(results)
        tables = load_results(results, tables=REPORT_TABLES, lazy=True)
    else:
        source = None
        tables = {name: frame.lazy() for name, frame in results.items()}
    if "summary" not in tables:
        raise ResultsError("no summary table: nothing to report on")
    tables = {name: _with_run(frame) for name, frame in tables.items()}
    try:
        summary = tables["summary"].collect()
    except UNREADABLE_RESULTS as exc:
        raise ResultsError(f"{source or 'results'}: the summary table cannot be read "
                           f"({type(exc).__name__}: {exc})") from None
    if summary.is_empty():
        raise ResultsError("the summary table is empty: nothing to report on")
    if "run" not in summary.columns:
        raise ResultsError("the summary table has neither a 'run' nor a 'practice' column")
    if summary["run"].n_unique() != summary.height:
        raise ResultsError(
            "two runs share a label: give each summary row its own 'run' "
            "(dmmemu.results.analysis.combine_results does)")
    try:
        runs = tables["runs"].collect() if "runs" in tables else runs_from_summary(summary)
        page = _page(tables, summary, runs, title=title or _default_title(summary),
                     source=source)
    except (*UNREADABLE_RESULTS, KeyError) as exc:
        # Tables that exist but were not written by dmmemu (or were cut short).
        raise ResultsError(f"{source or 'results'}: a table is missing a column dmmemu writes "
                           f"or cannot be read ({type(exc).__name__}: {exc})") from None
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return out


# ------------------------------------------------------------------------- page

def _with_run(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Every table labelled by ``run`` (tables without one: the practice names the run)."""
    names = frame.collect_schema().names()
    if "run" in names or "practice" not in names:
        return frame
    return frame.with_columns(run=pl.col("practice"))


def _default_title(summary: pl.DataFrame) -> str:
    traces = summary["trace"].unique(maintain_order=True).to_list() if "trace" in summary else []
    return f"dmmemu report: {', '.join(map(str, traces))}" if traces else "dmmemu report"


def _page(tables: Mapping[str, pl.LazyFrame], summary: pl.DataFrame, runs: pl.DataFrame, *,
          title: str, source: str | None) -> str:
    import plotly.offline

    order = summary["run"].to_list()
    colors = _run_colors(order)
    if "not_applicable" in summary.columns:  # charts leave out what did nothing
        charted = summary.filter(pl.col("not_applicable").is_null())["run"].to_list()
    else:
        charted = order
    sections = [
        _section("Comparison", _comparison_table(summary, order),
                 "One row per run. Interruption, loss and signaling are modelled from the "
                 "practices' timers and the topology's link delays, not measured."),
        _section("Path stretch", _chart("chart-stretch", _stretch_figure, tables.get("stretch"),
                                        charted, colors, "stretch")),
        _section("Handover interruption",
                 _chart("chart-interruption", _interruption_figure, tables.get("handovers"),
                        charted, colors, "handovers")),
        _section("Overhead", _chart("chart-overhead", _overhead_figure, tables["summary"],
                                    charted, colors, "summary")),
        _section("Signaling", _chart("chart-signaling", _signaling_figure,
                                     tables.get("signaling"), charted, colors, "signaling")),
        _section("Anchor load over time",
                 _chart("chart-anchor-load",
                        functools.partial(_anchor_load_figure, bin_s=_bin_width(summary)),
                        tables.get("timeline"), charted, colors, "timeline"),
                 f"Packets per second through each run's {TOP_ANCHORS} busiest anchors "
                 f"(stacked), the other anchors summed."),
        _section("Gap table",
                 '<p class="note" id="gap-table">Not computed yet: dmmemu does not produce the '
                 "gap table (which requirement each practice leaves unmet) so far. It will "
                 "appear here once it does.</p>"),
        _section("Run metadata", _metadata_table(runs, order)),
    ]
    origin = f" from <code>{html.escape(source)}</code>" if source else ""
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>',
        "</head>",
        "<body><main>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="lede">{len(order)} run(s){origin}; written by dmmemu {__version__}.</p>',
        *sections,
        "</main></body>",
        "</html>",
    ])


def _bin_width(summary: pl.DataFrame) -> float | None:
    """The timeline bin width of every run, when they share one (else inferred per run)."""
    if "timeline_bin_s" not in summary.columns:
        return None
    widths = summary["timeline_bin_s"]
    if widths.null_count() or widths.n_unique() != 1:
        return None
    return float(widths[0])


def _section(heading: str, body: str, note: str | None = None) -> str:
    lede = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return f"<section>\n<h2>{html.escape(heading)}</h2>\n{lede}\n{body}\n</section>"


def _run_colors(order: list[str]) -> dict[str, str]:
    import plotly.colors

    palette = plotly.colors.qualitative.Plotly
    return {run: palette[i % len(palette)] for i, run in enumerate(order)}


def _chart(div_id: str, draw: Callable[..., go.Figure | None], table: pl.LazyFrame | None,
           order: list[str], colors: dict[str, str], table_name: str) -> str:
    """The chart's div and script, or a note saying why there is no chart."""
    if table is None:
        return f'<p class="missing">No <code>{table_name}</code> table in these results.</p>'
    figure = draw(table, order, colors)
    if figure is None:
        return f'<p class="missing">Nothing to draw: the <code>{table_name}</code> table ' \
               "has no rows for it.</p>"
    markup = figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                            config=_CONFIG)
    return f'<div class="chart">{markup}</div>'


def _cdf_figure(steps: pl.DataFrame, x: str, order: list[str], colors: dict[str, str], *,
                title: str, x_title: str, y_title: str, hover: str) -> go.Figure:
    """Step lines, one per run, from 0 at the run's smallest value to 1, carried to the
    largest value of any run so every line ends at the right edge."""
    import plotly.graph_objects as go

    figure = go.Figure()
    right = steps[x].max()
    for i, run in enumerate(r for r in order if r in set(steps["run"])):
        part = steps.filter(pl.col("run") == run)
        xs = [part[x][0], *part[x], right]
        ys = [0.0, *part["cdf"], 1.0]
        figure.add_trace(go.Scatter(
            x=xs, y=ys, name=run, mode="lines", line={"shape": "hv", "width": 2.5,
                                                       "color": colors[run],
                                                       "dash": _DASHES[i % len(_DASHES)]},
            hovertemplate=f"{run}<br>{hover}<extra></extra>"))
    left = steps[x].min()
    pad = 0.03 * (right - left) if right > left else 0.05 * max(abs(right), 1.0)
    figure.update_layout(**_LAYOUT, title={"text": title}, height=440)
    figure.update_xaxes(title={"text": x_title}, range=[left - pad, right + pad])
    figure.update_yaxes(title={"text": y_title}, range=[0, 1.03], tickformat=".0%")
    return figure


def _stretch_figure(stretch: pl.LazyFrame, order: list[str],
                    colors: dict[str, str]) -> go.Figure | None:
    steps = stretch_cdf(stretch).collect()
    if steps.is_empty():
        return None
    return _cdf_figure(
        steps, "stretch", order, colors,
        title="Per-packet path stretch, CDF (1 = shortest path)",
        x_title=AXIS_TITLES["stretch"], y_title=AXIS_TITLES["stretch_cdf"],
        hover="stretch ≤ %{x:.3f}×: %{y:.1%} of packets")


def _interruption_figure(handovers: pl.LazyFrame, order: list[str],
                         colors: dict[str, str]) -> go.Figure | None:
    steps = interruption_cdf(handovers).collect()
    if steps.is_empty():
        return None
    return _cdf_figure(
        steps, "interruption_ms", order, colors,
        title="Handover interruption, CDF (L2 attach + detection + signaling)",
        x_title=AXIS_TITLES["interruption"], y_title=AXIS_TITLES["interruption_cdf"],
        hover="interruption ≤ %{x:.1f} ms: %{y:.1%} of handovers")


def _overhead_figure(summary: pl.LazyFrame, order: list[str],
                     colors: dict[str, str]) -> go.Figure:
    import plotly.graph_objects as go

    rows = {row["run"]: row for row in summary.collect().iter_rows(named=True)}
    figure = go.Figure()
    for column, label, color in (("overhead_bytes", "tunnel encapsulation", "#3e4c59"),
                                 ("signaling_bytes", "mobility signaling", "#f0b429")):
        values = [rows[run][column] for run in order]
        shares = [rows[run][column] / rows[run]["bytes"] if rows[run]["bytes"] else 0.0
                  for run in order]
        figure.add_trace(go.Bar(
            x=order, y=values, name=label, marker_color=color, customdata=shares,
            texttemplate="%{y:.3s}", textposition="outside",
            hovertemplate=f"%{{x}}<br>{label}: %{{y:,}} bytes "
                          f"(%{{customdata:.2%}} of user bytes)<extra></extra>"))
    figure.update_layout(**{**_LAYOUT, "legend": {"title": {"text": "overhead"}}},
                         title={"text": "Overhead bytes added to user traffic, per run"},
                         barmode="group", height=440)
    figure.update_xaxes(title={"text": "run"})
    figure.update_yaxes(title={"text": AXIS_TITLES["overhead"]},
                        **_scale_for([rows[run][c] for run in order
                                      for c in ("overhead_bytes", "signaling_bytes")]))
    return figure


# Bars whose values span this factor or more get a log axis, so that the small ones (DMM's
# signaling beside MIPv6's) stay visible.
LOG_AXIS_SPAN = 100.0


def _scale_for(values: list[Any]) -> dict[str, Any]:
    """The y axis type for bars of ``values``: log when the positive ones span
    ``LOG_AXIS_SPAN`` or more, else linear from zero."""
    positive = [float(v) for v in values if v is not None and v > 0]
    if positive and max(positive) >= LOG_AXIS_SPAN * min(positive):
        return {"type": "log"}
    return {"rangemode": "tozero"}


def _signaling_figure(signaling: pl.LazyFrame, order: list[str],
                      colors: dict[str, str]) -> go.Figure:
    import plotly.colors
    import plotly.graph_objects as go

    by_cause = signaling_by_cause(signaling).collect()
    figure = go.Figure()
    palette = plotly.colors.qualitative.Set2
    causes = by_cause["cause"].unique(maintain_order=True).sort().to_list()
    for i, cause in enumerate(causes):
        counts = dict(by_cause.filter(pl.col("cause") == cause)
                      .select("run", "msgs").iter_rows())
        figure.add_trace(go.Bar(
            x=order, y=[counts.get(run, 0) for run in order], name=cause,
            marker_color=palette[i % len(palette)],
            hovertemplate=f"%{{x}}<br>{cause}: %{{y:,}} messages<extra></extra>"))
    if not causes:  # no signaling at all: still one (empty) bar per run, so the axis shows
        figure.add_trace(go.Bar(x=order, y=[0] * len(order), name="none", showlegend=False))
    totals = dict(by_cause.group_by("run").agg(pl.col("msgs").sum()).iter_rows())
    heights = [totals.get(run, 0) for run in order]
    figure.add_trace(go.Scatter(  # each run's total above its bar, however small the bar
        x=order, y=heights, mode="text", text=[f"{h:,}" for h in heights],
        textposition="top center", showlegend=False, hoverinfo="skip"))
    figure.update_layout(**{**_LAYOUT, "legend": {"title": {"text": "cause"}}},
                         title={"text": "Mobility signaling messages by cause, per run"},
                         barmode="stack", height=440)
    figure.update_xaxes(title={"text": "run"})
    figure.update_yaxes(title={"text": AXIS_TITLES["signaling"]}, **_scale_for(heights))
    return figure


def _anchor_load_figure(timeline: pl.LazyFrame, order: list[str], colors: dict[str, str],
                        bin_s: float | None = None) -> go.Figure | None:
    """One panel per run (shared time axis), each a stacked area of its busiest anchors,
    with its own legend beside it. ``bin_s``: the timeline's bin width when known."""
    import plotly.colors
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    load = anchor_load(timeline, bin_s=bin_s, top=TOP_ANCHORS).collect()
    shown = [run for run in order if run in set(load["run"])]
    if not shown:
        return None
    panel_px = 230
    figure = make_subplots(rows=len(shown), cols=1, shared_xaxes=True,
                           vertical_spacing=min(0.08, 0.35 / len(shown)),
                           subplot_titles=[f"{run}: packets/s per anchor" for run in shown])
    palette = plotly.colors.qualitative.Safe
    # One y range for every panel, so the panels compare at a glance.
    peak = load.group_by("run", "t").agg(pl.col("packets_per_s").sum())["packets_per_s"].max()
    y_range = [0, 1.05 * peak] if peak else None
    legends: dict[str, Any] = {}
    for row, run in enumerate(shown, start=1):
        part = load.filter(pl.col("run") == run)
        totals = (part.group_by("anchor", "name").agg(pl.col("packets").sum())
                  .sort(pl.col("anchor") == -1, "packets", descending=[False, True]))
        legend = "legend" if row == 1 else f"legend{row}"
        for i, (anchor, name) in enumerate(totals.select("anchor", "name").iter_rows()):
            series = part.filter(pl.col("anchor") == anchor).sort("t")
            color = "#bcccdc" if name == OTHER_ANCHORS else palette[i % len(palette)]
            figure.add_trace(go.Scatter(
                x=series["t_s"], y=series["packets_per_s"], name=name, legend=legend,
                mode="lines", stackgroup=run, line={"width": 0.8, "color": color},
                hovertemplate=f"{run} · {name}<br>t = %{{x:.1f}} s: "
                              f"%{{y:,.0f}} packets/s<extra></extra>"),
                row=row, col=1)
        figure.update_yaxes(title={"text": "packets/s"}, rangemode="tozero", range=y_range,
                            row=row, col=1)
        domain = figure.layout[f"yaxis{'' if row == 1 else row}"].domain
        legends[legend] = {"y": domain[1], "yanchor": "top", "x": 1.02, "xanchor": "left",
                           "title": {"text": run}, "font": {"size": 11}}
    figure.update_xaxes(title={"text": AXIS_TITLES["time"]}, row=len(shown), col=1)
    figure.update_layout(**{key: value for key, value in _LAYOUT.items() if key != "legend"},
                         **legends, height=panel_px * len(shown) + 120,
                         title={"text": f"Anchor load over time ({AXIS_TITLES['load']})"})
    figure.update_layout(margin={"r": 170})
    return figure


def _comparison_table(summary: pl.DataFrame, order: list[str]) -> str:
    rows = {row["run"]: row for row in summary.iter_rows(named=True)}
    identity = [("run", "run")]
    if any(rows[run].get("practice") != run for run in order):
        identity.append(("practice", "practice"))
    if "trace" in summary.columns and summary["trace"].n_unique() > 1:
        identity.append(("trace", "trace"))
    columns = [(name, header, fmt) for name, header, fmt in COMPARISON if name in summary.columns]
    head = "".join(f"<th>{html.escape(header)}</th>"
                   for header in [h for _, h in identity] + [h for _, h, _ in columns])
    body = []
    for run in order:
        row = rows[run]
        cells = [f'<td class="text">{html.escape(str(row[name]))}</td>' for name, _ in identity]
        reason = row.get("not_applicable")
        if reason:  # nothing to act on: no figures, not a perfect score
            cells.append(f'<td class="text not-applicable" colspan="{len(columns)}">not '
                         f"applicable on this trace: {html.escape(str(reason))}</td>")
        else:
            cells += [f"<td>{_cell(row[name], fmt)}</td>" for name, _, fmt in columns]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table id="comparison"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _cell(value: Any, fmt: Callable[[Any], str]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return html.escape(fmt(value))


def _metadata_table(runs: pl.DataFrame, order: list[str]) -> str:
    by_run = {row["run"]: row for row in runs.iter_rows(named=True)}
    head = "".join(f'<th class="text">{h}</th>' for h in (
        "run", "practice", "trace", "engine", "seed", "dmmemu version", "timeline bin (s)",
        "practice parameters"))
    body = []
    for run in [r for r in order if r in by_run] + [r for r in by_run if r not in order]:
        row = by_run[run]
        params = params_of(row)
        listing = " ".join(
            f"<code>{html.escape(key)} = {html.escape(json.dumps(value))}</code>"
            for key, value in sorted(params.items())) or "–"
        cells = [row["run"], row.get("practice"), row.get("trace"), row.get("engine"),
                 row.get("seed"), row.get("dmmemu_version"),
                 None if row.get("timeline_bin_s") is None else f"{row['timeline_bin_s']:g}"]
        body.append("<tr>" + "".join(
            f'<td class="text">{html.escape("–" if v is None else str(v))}</td>'
            for v in cells) + f'<td class="text params">{listing}</td></tr>')
    return (f'<table id="metadata"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
