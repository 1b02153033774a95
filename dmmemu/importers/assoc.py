"""Association logs (WiFi controllers, RADIUS accounting) → a trace: which user was on which
access point when, cleaned by the rules below.

Input: one CSV (any file not ending in ``.parquet``/``.pq``; separator read from the header
line as for drive-test logs; ``-`` and empty mean missing) or Parquet file with one row per
record and the columns named by ``time_col``, ``user_col``, ``ap_col``, optionally
``event_col`` and ``controller_col``; other columns are ignored.

- **Time.** The format is read from the first non-missing value: a number is epoch time,
  in seconds unless the largest value of the file is at least 10¹¹ (year 5138 in seconds,
  1973 in milliseconds), then in milliseconds; anything else is ISO-8601 (``2023-04-01
  10:00:00``, ``T`` or a space, optional fractional seconds, optional ``Z`` or ``±hh:mm``
  offset). A time with an offset is converted to UTC; one without is taken as given. A
  Parquet timestamp column is used as is (converted to UTC when it has a zone).
- **Event** (``event_col``, optional): RADIUS ``Acct-Status-Type`` as text or code
  (RFC 2866 §5.1, RFC 2869 §5.1): ``Start``/``1``, ``Stop``/``2``,
  ``Interim-Update``/``Interim``/``Alive``/``3``, any case, ``_`` or space for ``-``. A
  missing event, and every row without an event column, is an association record (as
  Start). Any other value is an error.
- **Access point**: required on every row except a stop.
- **Users** become MNs numbered from 0 in order of first appearance in the file.

Cleaning rules, in this order; each count is recorded in ``trace.toml`` under
``[params.counts]``:

1. **Duplicates** (``duplicates``): rows equal in every field read (time after parsing,
   user, AP, event, controller) are one record; the first is kept.
2. **Clock skew** (``reordered``): a user's rows are taken in file order; a row earlier
   than the latest earlier row of its user by at most ``max_skew_s`` is re-ordered into
   place (exports merged from several controllers or RADIUS servers interleave slightly);
   by more, it is an error naming the row. Each user's rows are then sorted by time
   (stable, so equal times keep file order).
3. **Sessions.** A start, interim or plain row attaches the user to its AP at its time.
   A stop detaches the user at its time when it names the AP the user is on, or no AP
   (``detaches_stop``); a stop naming another AP is the late stop of a session the user has
   already left by roaming, and a stop while detached does nothing (``ignored_stops``).
4. **Timeout** (``detaches_timeout``): a user with no start, interim or plain row for more
   than ``session_timeout_s`` since the last one is detached at that row's time plus
   ``session_timeout_s`` (an access controller's idle timeout); so is a user whose last row
   is not a stop, at the end of the log.
5. **Repeats** (``collapsed``): a row for the AP the user is already on only refreshes the
   timeout. A row for another AP is a handover (``handovers``, split into
   ``handovers_intra_site`` and ``handovers_inter_site`` by the sites below); a row while
   detached is an attach (``attaches``).

Topology (``dmmemu.topology.generators.SitedAccess``): one ``poa`` node per AP
(``ap:<name>``), in order of first appearance. With ``controller_col``, APs are grouped in
sites, one per controller (``wlc:<name>``), an AP's site being the controller of its first
row that names one (APs seen under several controllers are counted as
``controller_conflicts``); an AP never seen with a controller, and every AP without
``controller_col``, has a site of its own (``gw:<name>``). Each site is an anchor-capable
gateway in front of its APs, on a core router with a central anchor and correspondents.
AP positions come from ``ap_positions``, a CSV with columns ``ap``, ``x``, ``y`` (metres;
every AP of the log must be listed, extra rows are ignored); without it, APs lie on a square
grid of ``grid_spacing_m`` in order of first appearance (row-major, ⌈√n⌉ columns).

Errors are ``TraceError`` naming ``<file>, line <n>`` for CSV (1-based lines, the header is
line 1) or the 0-based row for Parquet, the column and the value.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import polars as pl

from dmmemu.errors import TraceError
from dmmemu.importers.imported_trace import write_imported
from dmmemu.importers.source_rows import (
    LINE,
    MISSING,
    ROW,
    file_sha256,
    in_time_order,
    raise_at_first,
    read_rows,
    require_column,
)
from dmmemu.model_params import NS_PER_S, check_number, seconds_to_ns
from dmmemu.topology.generators import SitedAccess, SitedPoa
from dmmemu.trace.writer import check_trace_target

if TYPE_CHECKING:
    from dmmemu.synthetic.traffic import TrafficModel

GENERATOR = "dmmemu.importers.assoc"
MAX_NS = 2**63 - 1
EPOCH_MS_FROM = 1e11  # largest epoch value at or above which the unit is milliseconds
ISO_AWARE = "%Y-%m-%dT%H:%M:%S%.f%#z"
ISO_NAIVE = "%Y-%m-%dT%H:%M:%S%.f"
PARQUET_SUFFIXES = (".parquet", ".pq")
# RADIUS Acct-Status-Type (RFC 2866 §5.1; Interim-Update: RFC 2869 §5.1) -> event.
EVENTS = {
    "start": "start", "1": "start",
    "stop": "stop", "2": "stop",
    "interim-update": "interim", "interim": "interim", "alive": "interim", "3": "interim",
}


def import_assoc(
    path: str | Path,
    out_dir: str | Path,
    *,
    time_col: str = "time",
    user_col: str = "user",
    ap_col: str = "ap",
    event_col: str | None = None,
    controller_col: str | None = None,
    ap_positions: str | Path | None = None,
    grid_spacing_m: float = 50.0,
    max_skew_s: float = 5.0,
    session_timeout_s: float = 3600.0,
    name: str | None = None,
    access: SitedAccess | None = None,
    traffic: "TrafficModel | None" = None,
    seed: int = 0,
    packets: bool = True,
    overwrite: bool = False,
) -> Path:
    """Import the association log ``path`` (CSV or Parquet) into the trace ``out_dir``.

    The columns are named by ``*_col``; ``access`` sets the delays and correspondents of the
    topology (default ``SitedAccess()``), ``traffic`` the flows laid over the imported
    mobility (default ``TrafficModel()``), drawn from ``seed``; ``packets=False`` leaves
    packets to be synthesised from the flows. Returns the path. The rules are in the module
    docstring.
    """

    where = "import_assoc"
    check_number(where, "max_skew_s", max_skew_s, low=0.0)
    check_number(where, "session_timeout_s", session_timeout_s, low=0.0, strict=True)
    check_number(where, "grid_spacing_m", grid_spacing_m, low=0.0, strict=True)
    access = SitedAccess() if access is None else access
    trace_name = name or Path(out_dir).name
    path = Path(path)
    check_trace_target(out_dir, overwrite=overwrite, inputs=[path] + (
        [Path(ap_positions)] if ap_positions is not None else []))  # before the work
    columns = {"time": time_col, "user": user_col, "ap": ap_col, "event": event_col,
               "controller": controller_col}
    records, time_format, counts = read_assoc(path, columns=columns,
                                              max_skew_ns=seconds_to_ns(max_skew_s, what="max_skew_s"))
    if not records["event"].ne("stop").any():
        raise TraceError("no row associates a user with an access point (only stops, or no "
                         "rows); nothing to import", file=str(path))
    aps = access_points(records, ap_positions=ap_positions, grid_spacing_m=grid_spacing_m)
    events, session_counts = session_events(records, timeout_ns=seconds_to_ns(session_timeout_s, what="session_timeout_s"),
                                            site_of=aps.select("ap", "site"))
    counts.update(session_counts)
    counts.update(users=records["mn"].n_unique(), aps=aps.height,
                  sites=aps["site"].n_unique(),
                  controller_conflicts=int(aps["controllers"].gt(1).sum()))
    topology = access.build(
        [SitedPoa(**row) for row in aps.select(name="poa", site="site", x="x", y="y")
         .iter_rows(named=True)],
        name=trace_name)
    node_of = {node.name: node.id for node in topology.nodes}
    node_of_ap = aps.select("ap", node=pl.col("poa").replace_strict(node_of,
                                                                    return_dtype=pl.Int32))
    mobility = (
        events.join(node_of_ap, on="ap", how="left", maintain_order="left")
        .select("t", "mn", poa=pl.when(pl.col("kind") == "detach")
                .then(pl.lit(-1, pl.Int32)).otherwise("node"))
    )
    digest = file_sha256(path)
    params: dict[str, Any] = {
        "format": "association log",
        "file": path.name,
        "file_sha256": digest,
        "columns": {role: column for role, column in columns.items() if column is not None},
        "time_format": time_format,
        "max_skew_s": float(max_skew_s),
        "session_timeout_s": float(session_timeout_s),
        "counts": counts,
        "topology": dataclasses.asdict(access),
    }
    if ap_positions is not None:
        params["ap_positions"] = Path(ap_positions).name
        params["ap_positions_sha256"] = file_sha256(ap_positions)
    else:
        params["grid_spacing_m"] = float(grid_spacing_m)
    return write_imported(
        out_dir, name=trace_name, topology=topology, mobility=mobility, traffic=traffic,
        seed=seed, generator=GENERATOR, params=params, packets=packets, overwrite=overwrite,
        description=f"association log: {counts['users']} users on {counts['aps']} access "
                    f"points in {counts['sites']} sites, {counts['handovers']} handovers",
        source=f"association log {path.name} (sha256 {digest})",
    )


# -------------------------------------------------------------------- reading and cleaning
def read_assoc(path: str | Path, *, columns: Mapping[str, str | None], max_skew_ns: int
               ) -> tuple[pl.DataFrame, str, dict[str, int]]:
    """The cleaned records of an association log (rules 1 and 2) and the detected time
    format and counts (``rows``, ``duplicates``, ``reordered``).

    ``columns`` maps ``time``, ``user``, ``ap`` and optionally ``event`` and ``controller``
    to the file's column names (None: absent). The records have ``_line`` (CSV) or ``_row``
    (Parquet), ``mn`` (UInt32: users numbered in order of first appearance), ``user``, ``t``
    (Int64 ns), ``ap``, ``event`` (``start``, ``stop`` or ``interim``) and ``controller``
    (String, null when absent), sorted by MN then time (then file order)."""
    file = str(path)
    roles = dict(columns)
    raw = _read_table(path, [column for column in roles.values() if column is not None])
    time_col, user_col, ap_col = roles["time"], roles["user"], roles["ap"]
    event_col = roles.get("event")
    for column in roles.values():
        if column is not None:
            require_column(raw, column, file=file)
    t, time_format = epoch_ns(raw, time_col, file=file)
    text = {role: _text(column) for role, column in roles.items()
            if role != "time" and column is not None}
    event = (text["event"].str.to_lowercase().str.replace_all(r"[_ ]", "-")
             if "event" in text else pl.lit(None, pl.String))
    parsed = raw.with_columns(
        _t=t, _user=text["user"], _ap=text["ap"],
        _event=event.replace_strict(EVENTS, default=None, return_dtype=pl.String),
        _controller=text.get("controller", pl.lit(None, pl.String)),
    )
    checks = [(user_col, pl.col("_user").is_null(), "missing user")]
    if event_col is not None:
        checks.append((event_col, pl.col(event_col).is_not_null() & pl.col("_event").is_null(),
                       "unknown event; expected Start, Stop, Interim-Update (or 1, 2, 3)"))
    checks.append((ap_col, pl.col("_ap").is_null() & pl.col("_event").ne_missing("stop"),
                   "missing access point (only a stop may omit it)"))
    for column, bad, message in checks:
        raise_at_first(parsed, bad, file=file, column=column, message=message)
    where = LINE if LINE in raw.columns else ROW
    records = parsed.select(
        where, _time=pl.col(time_col), user=pl.col("_user"), t=pl.col("_t"), ap=pl.col("_ap"),
        event=pl.col("_event").fill_null("start"), controller=pl.col("_controller"),
    )
    fields = ["user", "t", "ap", "event", "controller"]
    ordered, cleaning = in_time_order(records, fields=fields, by="user",
                                      max_skew_ns=max_skew_ns, file=file, column=time_col,
                                      value_column="_time", skew_keyword="max_skew_s",
                                 skew_option="--max-skew")
    first_seen = pl.col(where).min().over("user")
    new_user = pl.col("user").ne_missing(pl.col("user").shift(1))
    cleaned = (ordered.sort(first_seen, "t", where, maintain_order=True)
               .select(where, (new_user.cum_sum() - 1).cast(pl.UInt32).alias("mn"), *fields))
    return cleaned, time_format, {"rows": raw.height, **cleaning}


def _read_table(path: str | Path, columns: Sequence[str]) -> pl.DataFrame:
    """The ``columns`` (those present) of a CSV (through ``read_rows``) or Parquet file,
    with ``_line`` or ``_row``."""
    file = str(path)
    if Path(path).suffix.lower() not in PARQUET_SUFFIXES:
        return read_rows(path, columns=columns)
    try:
        schema = pl.read_parquet_schema(path)
        present = [column for column in dict.fromkeys(columns) if column in schema]
        if len(present) < len(set(columns)):  # no rows: require_column names what is missing
            return pl.DataFrame(schema=schema).with_row_index(ROW)
        frame = pl.read_parquet(path, columns=present)
    except FileNotFoundError:
        raise TraceError("file not found", file=file) from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TraceError(f"not a readable Parquet file: {reason}", file=file) from None
    return frame.with_row_index(ROW)


def _text(column: str) -> pl.Expr:
    """A column as stripped text, empty and ``-`` as missing (Parquet may hold numbers)."""
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value.is_in(MISSING)).then(None).otherwise(value)


def epoch_ns(frame: pl.DataFrame, column: str, *, file: str) -> tuple[pl.Series, str]:
    """``column`` as epoch nanoseconds (Int64, parsed once) and the format it was read in
    (``epoch-s``, ``epoch-ms``, ``iso-8601``, ``timestamp``), every row checked."""
    dtype = frame.schema[column]
    bad_message = "not a time"
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        fmt, ns = "timestamp", pl.col(column).dt.epoch("ns")  # UTC when zoned
    elif dtype.is_numeric() or dtype == pl.String:
        text = pl.col(column).cast(pl.String).str.strip_chars()
        first = frame.select(text.drop_nulls().first()).item()
        if first is not None and _is_number(first):
            number = text.cast(pl.Float64, strict=False)
            largest = frame.select(number.abs().max()).item() or 0.0
            millis = largest >= EPOCH_MS_FROM
            fmt, unit = ("epoch-ms", "milliseconds") if millis else ("epoch-s", "seconds")
            per_unit = 1_000_000 if millis else NS_PER_S
            whole = text.str.to_integer(strict=False)
            ns = (pl.when(whole.abs() < MAX_NS // per_unit).then(whole * per_unit)
                  .when((number * per_unit).abs() < MAX_NS)
                  .then((number * per_unit).round().cast(pl.Int64)))
            bad_message = (f"not a number of epoch {unit} in range (the first time is a "
                           "number, so every time must be)")
        else:
            iso = text.str.replace(" ", "T", literal=True)
            ns = pl.coalesce(
                iso.str.to_datetime(ISO_AWARE, strict=False, time_unit="ns", time_zone="UTC"),
                iso.str.to_datetime(ISO_NAIVE, strict=False, time_unit="ns", time_zone="UTC"),
            ).dt.epoch("ns")
            fmt = "iso-8601"
            bad_message = "not an ISO-8601 time such as 2023-04-01T10:00:00 or ...+02:00"
    else:
        raise TraceError(f"has type {dtype}; expected epoch numbers, ISO-8601 text or "
                         "timestamps", file=file, column=column)
    timed = frame.with_columns(_ns=ns)
    for bad, message in (
        (pl.col(column).is_null(), "missing time; every row needs one"),
        (pl.col("_ns").is_null(), bad_message),
        (pl.col("_ns") < 0, "before 1970-01-01; trace times start at 0"),
    ):
        raise_at_first(timed, bad, file=file, column=column, message=message)
    return timed["_ns"], fmt


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -------------------------------------------------------------------- sessions
def session_events(records: pl.DataFrame, *, timeout_ns: int, site_of: pl.DataFrame
                   ) -> tuple[pl.DataFrame, dict[str, int]]:
    """Attach, handover and detach events (``t``, ``mn``, ``ap``, ``kind``; ``ap`` null on
    a detach) of cleaned ``records`` (rules 3–5), sorted by time, and their counts.

    Every start/interim/plain row opens a *segment* that runs to the next such row of its
    MN; the segment's first matching stop (same AP or none, within the timeout) ends it,
    else the timeout does when the next segment starts too late or never. Records are
    sorted by MN, so segments are contiguous runs of rows."""
    stop = pl.col("event") == "stop"
    rows = records.with_row_index("pos").with_columns(
        seg=pl.when(~stop).then(pl.col("pos")).forward_fill().over("mn"),
        seg_t=pl.when(~stop).then(pl.col("t")).forward_fill().over("mn"),
        seg_ap=pl.when(~stop).then(pl.col("ap")).forward_fill().over("mn"),
    )
    matching = (stop & pl.col("seg").is_not_null()
                & (pl.col("t") - pl.col("seg_t") <= timeout_ns)
                & (pl.col("ap").is_null() | (pl.col("ap") == pl.col("seg_ap"))))
    # The first matching stop of a segment ends it: a running count of matching stops, less
    # its value at the segment's first row, numbers them within the segment.
    seen = pl.col("matching").cum_sum()
    rows = rows.with_columns(matching=matching.fill_null(False)).with_columns(
        ends=pl.col("matching") & (seen - pl.when(~stop).then(seen).forward_fill() == 1))
    stops = rows.filter("ends").select("seg", stop_t="t")
    segments = (
        rows.filter(~stop).select("mn", "seg", "t", "ap")
        .join(stops, on="seg", how="left", maintain_order="left")
        .join(site_of, on="ap", how="left", maintain_order="left")
    )
    prev_t = pl.col("t").shift(1).over("mn")
    next_t = pl.col("t").shift(-1).over("mn")
    prev_ap = pl.col("ap").shift(1).over("mn")
    open_before = (prev_t.is_not_null() & pl.col("stop_t").shift(1).over("mn").is_null()
                   & (pl.col("t") - prev_t <= timeout_ns))
    segments = segments.with_columns(
        start=pl.when(~open_before).then(pl.lit("attach"))
        .when(pl.col("ap") == prev_ap).then(pl.lit("collapse"))
        .when(pl.col("site") == pl.col("site").shift(1).over("mn")).then(pl.lit("intra"))
        .otherwise(pl.lit("inter")),
        timeout=pl.col("stop_t").is_null()
        & (next_t.is_null() | (next_t - pl.col("t") > timeout_ns)),
    )
    starts = segments.filter(pl.col("start") != "collapse").select(
        "t", "mn", "ap", kind=pl.when(pl.col("start") == "attach").then(pl.lit("attach"))
        .otherwise(pl.lit("handover")), key=2 * pl.col("seg"))
    stop_ends = rows.filter("ends").select(
        "t", "mn", ap=pl.lit(None, pl.String), kind=pl.lit("detach"), key=2 * pl.col("pos"))
    timeout_ends = segments.filter("timeout").select(
        t=pl.col("t") + timeout_ns, mn="mn", ap=pl.lit(None, pl.String),
        kind=pl.lit("detach"), key=2 * pl.col("seg") + 1)
    events = (pl.concat([starts, stop_ends, timeout_ends])
              .sort("t", "mn", "key").select("t", "mn", "ap", "kind"))
    tally = dict(segments.group_by("start").len().iter_rows())
    counts = {
        "attaches": tally.get("attach", 0),
        "handovers": tally.get("intra", 0) + tally.get("inter", 0),
        "handovers_intra_site": tally.get("intra", 0),
        "handovers_inter_site": tally.get("inter", 0),
        "collapsed": tally.get("collapse", 0),
        "detaches_stop": stops.height,
        "detaches_timeout": int(segments["timeout"].sum()),
        "ignored_stops": int(rows["event"].eq("stop").sum()) - stops.height,
    }
    return events, counts


# -------------------------------------------------------------------- topology
def access_points(records: pl.DataFrame, *, ap_positions: str | Path | None,
                  grid_spacing_m: float) -> pl.DataFrame:
    """One row per AP in order of first appearance in the file: ``ap``, node names ``poa``
    and ``site``, position ``x``, ``y``, and ``controllers`` (distinct controllers seen)."""
    where = LINE if LINE in records.columns else ROW
    aps = (
        records.filter(pl.col("ap").is_not_null()).sort(where)
        .group_by("ap", maintain_order=True)
        .agg(controller=pl.col("controller").drop_nulls().first(),
             controllers=pl.col("controller").drop_nulls().n_unique())
        .with_columns(
            poa=pl.format("ap:{}", "ap"),
            site=pl.when(pl.col("controller").is_not_null())
            .then(pl.format("wlc:{}", "controller")).otherwise(pl.format("gw:{}", "ap")),
        )
    )
    if ap_positions is None:
        cols = max(1, math.ceil(math.sqrt(aps.height)))
        index = pl.int_range(pl.len())
        return aps.with_columns(x=(index % cols * grid_spacing_m).cast(pl.Float64),
                                y=(index // cols * grid_spacing_m).cast(pl.Float64))
    placed = aps.join(_positions(ap_positions), on="ap", how="left", maintain_order="left")
    unplaced = placed.filter(pl.col("x").is_null())
    if unplaced.height:
        raise TraceError("the association log names this access point but the positions "
                         "file has no row for it", file=str(ap_positions), column="ap",
                         value=unplaced["ap"][0])
    return placed


def _positions(path: str | Path) -> pl.DataFrame:
    """``ap``, ``x``, ``y`` of the positions CSV, checked."""
    file = str(path)
    raw = read_rows(path)
    for column in ("ap", "x", "y"):
        require_column(raw, column, file=file)
    parsed = raw.with_columns(_x=pl.col("x").cast(pl.Float64, strict=False),
                              _y=pl.col("y").cast(pl.Float64, strict=False))
    raise_at_first(parsed, pl.col("ap").is_null(), file=file, column="ap",
                   message="missing access point name")
    raise_at_first(parsed, pl.col("ap").is_duplicated() & (pl.col(LINE) > pl.col(LINE).min()
                   .over("ap")), file=file, column="ap",
                   message="listed twice; give one position per access point")
    for column in ("x", "y"):
        value = pl.col(f"_{column}")
        raise_at_first(parsed, value.is_null() | ~value.is_finite(), file=file, column=column,
                       message="not a finite number of metres")
    return parsed.select("ap", x="_x", y="_y")
