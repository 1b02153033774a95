"""Comparing practices: one summary row per practice, and tidy frames for distributions.

``compare`` runs one trace through several practices; ``load_results`` reads what
``dmmemu run`` / ``RunResult.write`` wrote; ``combine_results`` does the same for results in
memory. The distribution helpers (``stretch_cdf``, ``interruption_cdf``, ``anchor_load``)
take a result table holding one or several runs, accept a DataFrame or a LazyFrame and
return the same kind, so a large table scanned from Parquet is reduced before it is read.

A *run* is identified by the columns of ``RUN_KEYS`` present in a table: ``practice`` and
``trace`` always, and ``run`` (a label unique per run, added by ``load_results`` and
``combine_results``) so that two runs of one practice with different parameters stay apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import polars as pl

from dmmemu.errors import PracticeError
from dmmemu.results.store import ResultsError, run_directories

if TYPE_CHECKING:  # pragma: no cover
    from dmmemu.practices import Practice
    from dmmemu.results.tables import RunResult
    from dmmemu.trace.reader import Trace

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

RUN_KEYS = ("run", "practice", "trace")

# Axis titles shared by the HTML report (plotly) and the notebook plots (matplotlib).
AXIS_TITLES = {
    "stretch": "path stretch (×, path hops / direct hops)",
    "stretch_cdf": "share of delivered packets",
    "interruption": "handover interruption (ms)",
    "interruption_cdf": "share of handovers",
    "time": "time from trace start (s)",
    "load": "packets/s through the anchor",
    "overhead": "bytes",
    "signaling": "signaling messages",
}

OTHER_ANCHORS = "other anchors"

# Parquet key-value metadata written by RunResult.write -> column of the ``runs`` table.
_METADATA_COLUMNS = {
    "dmmemu.practice": "practice",
    "dmmemu.trace": "trace",
    "dmmemu.engine": "engine",
    "dmmemu.seed": "seed",
    "dmmemu.version": "dmmemu_version",
    "dmmemu.timeline_bin_s": "timeline_bin_s",
    "dmmemu.params": "params",
}
_METADATA_TYPES = {"seed": pl.Int64, "timeline_bin_s": pl.Float64}


# ------------------------------------------------------------------------- running practices

def compare(
    trace: Trace | str | Path,
    practices: Iterable[Practice | str] | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    engine: str = "core",
    timeline_bin_s: float | None = None,
) -> pl.DataFrame:
    """Run ``trace`` once through each practice and return their summaries, one row each.

    ``practices`` are keys (``"dmm"``) or Practice instances; ``None`` means every registered
    practice. ``params`` apply to the practices given by key (instances carry their own).
    Every practice is built and compiled on the topology before any runs, so a bad parameter
    fails at once. The ``run`` column tells the rows apart: the practice key, ``key#2`` for
    a practice given again (with other parameters). ``timeline_bin_s`` is passed to
    ``dmmemu.run`` (its default when ``None``); it shapes the runs' timeline tables and
    shows in the summary's column of that name.
    """
    from dmmemu.engine.runner import run
    from dmmemu.practices import PRACTICES, get_practice
    from dmmemu.trace.reader import Trace

    opened = trace if isinstance(trace, Trace) else Trace.open(trace)
    chosen = [get_practice(p, params if isinstance(p, str) else None)
              for p in (PRACTICES if practices is None else practices)]
    if not chosen:
        raise PracticeError("compare needs at least one practice")
    for practice in chosen:
        practice.compile(opened.topology)
    options: dict[str, Any] = {} if timeline_bin_s is None else {"timeline_bin_s": timeline_bin_s}
    seen: dict[str, int] = {}
    summaries = []
    for practice in chosen:  # a practice given twice: runs "key" and "key#2", as combine_results
        seen[practice.key] = seen.get(practice.key, 0) + 1
        name = None if seen[practice.key] == 1 else f"{practice.key}#{seen[practice.key]}"
        summaries.append(run(opened, practice, engine=engine, name=name, **options).summary)
    return pl.concat(summaries, how="vertical_relaxed")


def combine_results(results: Iterable[RunResult]) -> dict[str, pl.DataFrame]:
    """The tables of several runs, concatenated per table, with a ``run`` label on every row
    (the run's name, by default its practice key; ``key#2``, ``key#3`` ... when one appears
    again) and a ``runs``
    table of their metadata: the in-memory twin of ``load_results``."""
    parts: dict[str, list[pl.DataFrame]] = {}
    runs = []
    seen: dict[str, int] = {}
    for result in results:
        key = result.meta.label
        seen[key] = seen.get(key, 0) + 1
        label = key if seen[key] == 1 else f"{key}#{seen[key]}"
        metadata = result.meta.as_metadata()
        runs.append({"run": label, **{column: metadata.get(name)
                                      for name, column in _METADATA_COLUMNS.items()}})
        for name, frame in result.tables().items():
            parts.setdefault(name, []).append(frame.with_columns(run=pl.lit(label)))
    if not runs:
        raise ResultsError("no results to combine")
    tables = {name: pl.concat(frames, how="diagonal_relaxed") for name, frames in parts.items()}
    tables["runs"] = _runs_frame(runs)
    return tables


# ------------------------------------------------------------------------- reading results

@overload
def load_results(results_dir: str | Path, *, tables: Iterable[str] | None = ...,
                 lazy: Literal[False] = ...) -> dict[str, pl.DataFrame]: ...


@overload
def load_results(results_dir: str | Path, *, tables: Iterable[str] | None = ...,
                 lazy: Literal[True]) -> dict[str, pl.LazyFrame]: ...


def load_results(
    results_dir: str | Path,
    *,
    tables: Iterable[str] | None = None,
    lazy: bool = False,
) -> dict[str, pl.DataFrame] | dict[str, pl.LazyFrame]:
    """Read a results directory into one frame per table, every run concatenated.

    Only complete runs are read (``dmmemu.results.store.run_directories``: a partial or
    changed run is an error, one left out is a ``ResultsWarning``). Each row gets a ``run``
    column: the run's label (its sub-directory name, or the practice key when
    ``results_dir`` holds one run directly). A ``runs`` table (one row per run) holds the run
    metadata read from the Parquet key-value metadata. ``tables`` limits which tables are
    read (default: every ``*.parquet`` file present); a table absent from every run is
    absent from the result. With ``lazy=True`` the frames are LazyFrames over
    ``pl.scan_parquet``, so large tables (flows, handovers) can be reduced before reading.
    """
    import pyarrow.parquet as pq

    wanted = None if tables is None else set(tables)
    parts: dict[str, list[pl.LazyFrame]] = {}
    files: dict[str, list[Path]] = {}
    run_rows = []
    for run in run_directories(results_dir):
        metadata = _file_metadata(pq, run.path / run.manifest["tables"]["summary"]["file"])
        run_rows.append({"run": run.label, **{column: metadata.get(name)
                                              for name, column in _METADATA_COLUMNS.items()}})
        for name, entry in sorted(run.manifest["tables"].items()):
            if wanted is None or name in wanted:
                parts.setdefault(name, []).append(
                    pl.scan_parquet(run.path / entry["file"]).with_columns(
                        run=pl.lit(run.label)))
                files.setdefault(name, []).append(run.path / entry["file"])
    frames = {name: pl.concat(scans, how="diagonal_relaxed") for name, scans in parts.items()}
    frames["runs"] = _runs_frame(run_rows).lazy()
    if lazy:
        return frames
    return {name: _collected(frame, files.get(name, [])) for name, frame in frames.items()}


# What reading a damaged Parquet file raises: polars' errors, I/O errors, and a panic of
# its decoder (a BaseException, not an Exception).
UNREADABLE_RESULTS = (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError)


def _collected(frame: pl.LazyFrame, files: list[Path]) -> pl.DataFrame:
    """``frame`` read; a file damaged inside its pages (its size and footer intact) is a
    ResultsError naming it (found with pyarrow, which reports rather than panics)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return frame.collect()
    except UNREADABLE_RESULTS as exc:
        for file in files:  # which one
            try:
                pq.read_table(file)
            except (pa.ArrowException, OSError, ValueError) as bad:
                reason = str(bad).strip().splitlines()[0] if str(bad).strip() else ""
                raise ResultsError(f"{file}: damaged, cannot be read ({reason}); run it "
                                   "again") from None
        raise ResultsError(f"{', '.join(map(str, files))}: damaged, cannot be read "
                           f"({type(exc).__name__}); run them again") from None


def _file_metadata(pq: Any, path: Path) -> dict[str, str]:
    try:
        raw = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ResultsError(f"{path}: not a readable Parquet file ({exc})") from None
    return {key.decode(): value.decode() for key, value in raw.items()
            if key.startswith(b"dmmemu.")}


def _runs_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema={"run": pl.String, **dict.fromkeys(
        _METADATA_COLUMNS.values(), pl.String)})
    return frame.with_columns(pl.col(column).replace("", None).cast(dtype)
                              for column, dtype in _METADATA_TYPES.items())


def runs_from_summary(summary: FrameT) -> FrameT:
    """The ``runs`` metadata table from summary rows, for tables that came without one."""
    names = summary.collect_schema().names()
    run = pl.col("run") if "run" in names else pl.col("practice")
    columns = [run.alias("run"), *[
        (pl.col(column) if column in names else pl.lit(None)).cast(
            _METADATA_TYPES.get(column, pl.String)).alias(column)
        for column in _METADATA_COLUMNS.values()]]
    return summary.select(columns)


def params_of(runs_row: Mapping[str, Any]) -> dict[str, Any]:
    """A run's practice parameters, decoded from the JSON of its metadata."""
    text = runs_row.get("params")
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"params": text}
    return value if isinstance(value, dict) else {"params": value}


# ------------------------------------------------------------------------- distributions

def run_keys(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The columns of ``RUN_KEYS`` that ``frame`` has: what tells its runs apart."""
    names = set(frame.collect_schema().names())
    return [key for key in RUN_KEYS if key in names]


def _per_run(expr: pl.Expr, keys: list[str]) -> pl.Expr:
    return expr.over(keys) if keys else expr


def stretch_cdf(stretch: FrameT) -> FrameT:
    """Per run, the distinct stretch values in ascending order with the packets delivered at
    each and ``cdf``, the share of delivered packets with a stretch at most that value.

    Input: the ``stretch`` table (one row per (path hops, direct hops) cell, ``packets``).
    Cells with the same ratio (2/1 and 4/2) are one value; empty cells and undefined
    stretch (no direct path) are left out.
    """
    keys = run_keys(stretch)
    return (
        stretch
        .filter((pl.col("packets") > 0) & pl.col("stretch").is_finite())
        .group_by([*keys, "stretch"])
        .agg(pl.col("packets").sum())
        .sort([*keys, "stretch"])
        .with_columns(cdf=_per_run(
            pl.col("packets").cum_sum() / pl.col("packets").sum(), keys).cast(pl.Float64))
    )


def interruption_cdf(handovers: FrameT) -> FrameT:
    """Per run, the distinct handover interruptions in ascending order (``interruption_us``
    and ``interruption_ms``), the handovers with each, and ``cdf``, the share of handovers
    interrupted at most that long. Attaches (``kind == "attach"``) are not handovers."""
    keys = run_keys(handovers)
    return (
        handovers
        .filter((pl.col("kind") == "handover") & pl.col("interruption_us").is_not_null())
        .group_by([*keys, "interruption_us"])
        .agg(handovers=pl.len().cast(pl.Int64))
        .sort([*keys, "interruption_us"])
        .with_columns(
            interruption_ms=pl.col("interruption_us") / 1000.0,
            cdf=_per_run(pl.col("handovers").cum_sum() / pl.col("handovers").sum(),
                         keys).cast(pl.Float64),
        )
        .select([*keys, "interruption_us", "interruption_ms", "handovers", "cdf"])
    )


def anchor_load(timeline: FrameT, *, bin_s: float | None = None,
                top: int | None = None) -> FrameT:
    """Per run, time bin and anchor: ``packets``, ``packets_per_s`` and ``share`` (the
    anchor's part of the packets anchored in that bin; null in a bin with none).

    ``bin_s`` is the width of the timeline's bins (the runs' ``timeline_bin_s``); by default
    it is the smallest gap between the bin starts ``t`` of a run (every bin has a row for
    each anchor the run used), or of any run when a run has a single bin; rates are null
    when no run has two. The last bin ends with the trace, so its rate may be low. With ``top``, only each run's ``top`` busiest anchors over the whole
    trace keep their own rows; the other anchors that carried packets are summed per bin
    into one row with ``anchor`` −1 and ``name`` "other anchors", and anchors that carried
    none are left out.
    """
    keys = run_keys(timeline)
    if bin_s is not None:
        bin_ns = pl.lit(round(bin_s * 1e9), dtype=pl.Int64)
    else:
        gap = pl.col("t").unique().sort().diff().min()
        bin_ns = pl.coalesce(_per_run(gap, keys), gap)
    frame = timeline.select([*keys, "t", "t_s", "anchor", "name", "packets",
                             bin_ns.alias("bin_ns")])
    if top is not None:
        # Each run's anchors by packets over the whole trace, busiest first, ties by id.
        ranks = (
            frame
            .group_by([*keys, "anchor"])
            .agg(total=pl.col("packets").sum())
            .sort([*keys, "total", "anchor"],
                  descending=[*(False for _ in keys), True, False])
            .select([*keys, "anchor", "total", _per_run(pl.int_range(1, pl.len() + 1), keys)
                     .alias("rank")])
        )
        kept = pl.col("rank") <= top
        frame = (
            frame
            .join(ranks, on=[*keys, "anchor"], how="left")
            .filter(pl.col("total") > 0)
            .with_columns(
                anchor=pl.when(kept).then(pl.col("anchor")).otherwise(-1).cast(pl.Int32),
                name=pl.when(kept).then(pl.col("name")).otherwise(pl.lit(OTHER_ANCHORS)),
            )
            .group_by([*keys, "t", "t_s", "anchor", "name", "bin_ns"])
            .agg(pl.col("packets").sum())
        )
    anchored = pl.col("packets").sum().over([*keys, "t"])
    return (
        frame
        .with_columns(
            packets_per_s=pl.col("packets") / (pl.col("bin_ns").cast(pl.Float64) / 1e9),
            share=pl.when(anchored > 0).then(pl.col("packets") / anchored),
        )
        .drop("bin_ns")
        .sort([*keys, "t", "anchor"])
    )


def flows_by(flows: FrameT, column: str = "address_type") -> FrameT:
    """Per run and value of ``column`` (``address_type``, ``app`` or ``flow_class`` of the
    flows table; null: none given): the ``flows``, their ``packets``, ``lost`` and
    ``overhead_bytes``, the flows ``broken`` and ``renumbered``, and the ``mean_stretch``
    of their delivered packets (hops over direct hops, summed): what each kind of flow
    cost (RFC 8653's address types under a connection manager)."""
    if column not in ("address_type", "app", "flow_class"):
        raise ResultsError(f"flows_by: column must be address_type, app or flow_class, "
                           f"got {column!r}")
    keys = run_keys(flows)
    return (
        flows
        .group_by([*keys, column])
        .agg(flows=pl.len(), packets=pl.col("packets").sum(), lost=pl.col("lost").sum(),
             overhead_bytes=pl.col("overhead_bytes").sum(),
             broken=pl.col("broken").sum(), renumbered=(pl.col("renumbered") > 0).sum(),
             mean_stretch=pl.when(pl.col("direct_hops_sum").sum() > 0)
             .then(pl.col("hops_sum").sum() / pl.col("direct_hops_sum").sum()))
        .sort([*keys, column], nulls_last=True)
    )


def signaling_by_anchors(handovers: FrameT) -> FrameT:
    """Per run and number k of addresses a handover's program signalled for (DMM: the
    previous anchors in use, RFC 8885's P-MAARs), the ``handovers``, and the ``mean_msgs``,
    ``mean_bytes`` and ``mean_signaling_us`` of one handover: signaling as a function of k
    (2k for the fully distributed model, 2k + 2 for the CMD's relay and proxy modes,
    1 + 3k for its locator mode)."""
    keys = run_keys(handovers)
    return (
        handovers
        .filter(pl.col("kind") == "handover")
        .group_by([*keys, "addresses"])
        .agg(handovers=pl.len(), mean_msgs=pl.col("msgs").mean(),
             mean_bytes=pl.col("bytes").mean(), mean_signaling_us=pl.col("signaling_us").mean())
        .sort([*keys, "addresses"])
    )


def signaling_by_cause(signaling: FrameT) -> FrameT:
    """Per run and cause, the signaling ``msgs``, ``bytes`` and ``byte_hops`` summed over the
    message kinds (a tidy frame for stacked bars)."""
    keys = run_keys(signaling)
    return (
        signaling
        .group_by([*keys, "cause"])
        .agg(pl.col("msgs", "bytes", "byte_hops").sum())
        .sort([*keys, "cause"])
    )
