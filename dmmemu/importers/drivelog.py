"""Cellular drive-test logs (G-NetTrack style) → a trace whose handovers are the serving-cell
changes the phone recorded.

Input: one delimited text file per drive (one drive = one MN, numbered from 0 in the order
the files are given), with a header line. The separator is read from the header line: tab
(G-NetTrack's own ``.txt`` logs) if it holds one, else ``;`` if it holds ``;`` and no ``,``,
else ``,``. Values are stripped; ``-`` and empty mean missing. Columns (G-NetTrack names,
case-sensitive; any other column is ignored):

- ``Timestamp`` (required): local time ``YYYY.MM.DD_hh.mm.ss`` with optional fractional
  seconds (``2017.11.21_09.04.31``). There is no zone in the log, so the wall-clock time is
  taken as given (read as if it were UTC) and kept absolute: drives recorded at the same
  time overlap in the trace as they did on the road.
- ``Longitude``, ``Latitude`` (required columns; a value may be missing): decimal degrees.
- ``CellID`` or ``RAWCELLID`` (at least one): the serving cell. ``CellID`` (the cell within
  its site) is used when present, else ``RAWCELLID`` (an integer).
- ``NODEHEX`` (the eNB/gNB id in hex, ``0x`` optional) or ``RAWCELLID``: the site. A row's
  site is its ``NODEHEX``; without one, for an LTE row (``NetworkMode`` starting with
  ``LTE``, or missing, or no such column) it is ``RAWCELLID >> 8``, since the 28-bit E-UTRAN
  cell identity of a macro eNB is its 20-bit eNB id followed by an 8-bit cell id (3GPP
  TS 36.413 §9.2.1.38); for other technologies the raw identity does not split at a fixed
  bit, so the cell is its own site.

Cleaning (per drive; real logs have these defects), in this order, each count recorded in
``trace.toml`` under ``[params.counts]`` and printed by ``dmmemu import drivelog``:

1. **Duplicates** (``duplicates``): rows equal in every value read (time, position, site,
   cell) are one row, the first kept.
2. **Steps back** (``reordered``): a row earlier than the latest earlier row by at most
   ``max_skew_s`` (default 2 s: the logger's clock stepping back by a second) is put back in
   time order, stably (equal times keep file order); by more, it is an error naming the
   line (a clock change, or two logs in one file).
3. **Missing cell ids** (``cells_filled``): a row without a serving cell that still shows
   service (a ``NetworkMode`` that does not start with ``NO``, as ``LTE`` or ``HSPA+``
   do), between two rows on the same cell (and site) no more than ``max_gap_s`` apart, is
   a logging glitch, not a loss of service: it takes that cell. Other rows without a cell
   (no mode either, or ``NO SERVICE``) are no service (below).

``strict=True`` (``--strict``) applies none of them: any row earlier than the one before it
is an error, and every row without a cell is no service.

Rules (per drive, cleaned rows in order):

- A **PoA** is one cell: the pair (site, cell). A **site** is one eNB/gNB.
- A row without a serving cell (no service) detaches the MN at its time.
- Consecutive rows with the same cell are one attachment; the first row of an attachment
  attaches the MN at its time (the drive's first row with service, the first row after a
  gap or after rows without service).
- A change of cell between consecutive rows is a **handover** at the time of the first row
  on the new cell: **intra-site** when both cells have the same known site, else
  **inter-site**. The counts are recorded in ``trace.toml`` under ``[params.counts]``.
- A **gap** of more than ``max_gap_s`` between consecutive rows detaches the MN at the time
  of the last row before the gap (rows are samples about a second apart: the last row is the
  last evidence of service, and holding it across the gap would invent coverage); a change of
  cell across a gap is an attach, not a handover. The end of a drive detaches the MN at its
  last row.

Topology (``dmmemu.topology.generators.SitedAccess``): one ``poa`` node per cell, its site
as an anchor-capable gateway (role ``anchor``) in front of its cells, sites on a core router,
a central anchor and correspondents behind the core; distributed practices thus anchor per
site, and an intra-site handover keeps the anchor. Nodes follow the first appearance of
their cells in the data (files in order, rows in order). Sites are named ``site:<eNB id in
hex>`` and cells ``cell:<eNB id in hex>:<cell>``; a cell that is its own site is
``cell:<cell>`` behind ``site:cell-<cell>``. A cell is placed at the mean position of its
rows with a position (no such row: no position), a site at the mean of its placed cells.
Positions are projected to metres with a local equirectangular projection around the
centroid (λ₀, φ₀) of every row with a position, over all drives:
``x = R·(λ − λ₀)·cos φ₀``, ``y = R·(φ − φ₀)`` (radians, R the mean Earth radius), good to
well under 1 % over the tens of kilometres of a drive; rounded to 1 cm.

Errors are ``TraceError`` naming ``<file>, line <n>`` (1-based, the header is line 1),
the column and the value. Rows are one per line (no quoted line breaks); blank lines are
skipped and keep the numbering.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import polars as pl

from dmmemu.errors import TraceError
from dmmemu.importers.imported_trace import write_imported
from dmmemu.importers.source_rows import (
    LINE,
    file_sha256,
    in_time_order,
    raise_at_first,
    read_rows,
    require_column,
)
from dmmemu.model_params import check_number, seconds_to_ns
from dmmemu.topology.generators import SitedAccess, SitedPoa
from dmmemu.trace.writer import check_trace_target

if TYPE_CHECKING:
    from dmmemu.synthetic.traffic import TrafficModel

GENERATOR = "dmmemu.importers.drivelog"
TIMESTAMP_FORMAT = "%Y.%m.%d_%H.%M.%S%.f"  # G-NetTrack: 2017.11.21_09.04.31
EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
# The columns read; any other column of a log (RSRP, Speed, ...) is ignored.
COLUMNS = ("Timestamp", "Longitude", "Latitude", "CellID", "RAWCELLID", "NODEHEX",
           "NetworkMode")


def import_drivelogs(
    paths: Sequence[str | Path] | str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    max_gap_s: float = 10.0,
    max_skew_s: float = 2.0,
    strict: bool = False,
    access: SitedAccess | None = None,
    traffic: "TrafficModel | None" = None,
    seed: int = 0,
    packets: bool = True,
    overwrite: bool = False,
) -> Path:
    """Import drive-test logs (one file per drive, one MN each) into the trace ``out_dir``.

    ``access`` sets the delays and correspondents of the topology (default
    ``SitedAccess()``), ``traffic`` the flows laid over the imported mobility (default
    ``TrafficModel()``), drawn from ``seed``; ``packets=False`` leaves packets to be
    synthesised from the flows. ``max_skew_s`` and ``strict`` set the cleaning rules, as the
    module docstring says with the others. Returns the path.
    """

    files = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not files:
        raise TraceError("no drive-test log given; pass one file per drive")
    check_number("import_drivelogs", "max_gap_s", max_gap_s, low=0.0)
    check_number("import_drivelogs", "max_skew_s", max_skew_s, low=0.0)
    check_trace_target(out_dir, overwrite=overwrite, inputs=files)  # before the work
    access = SitedAccess() if access is None else access
    trace_name = name or Path(out_dir).name
    max_gap_ns = seconds_to_ns(max_gap_s, what="max_gap_s")
    drives, cleaning = [], {"duplicates": 0, "reordered": 0, "cells_filled": 0}
    for mn, path in enumerate(files):
        read = read_drivelog(path)
        cleaned, counted = clean_drive(read, file=str(path), max_gap_ns=max_gap_ns,
                                       max_skew_ns=seconds_to_ns(max_skew_s, what="max_skew_s"),
                                       strict=strict)
        drives.append(cleaned.with_columns(mn=pl.lit(mn, pl.UInt32)))
        cleaning = {key: cleaning[key] + counted[key] for key in cleaning}
    rows = pl.concat(drives)
    events, counts = attachment_events(rows, max_gap_ns=max_gap_ns)
    counts["rows"] += cleaning["duplicates"]  # the rows read, before rule 1
    counts.update(cleaning)
    if not counts["attaches"]:
        raise TraceError("no row has a serving cell (CellID/RAWCELLID); nothing to import",
                         file=", ".join(map(str, files)))
    cells, origin = placed_cells(rows)
    topology = access.build(
        [SitedPoa(**row) for row in cells.select(name="poa_name", site="site_name", x="x",
                                                  y="y").iter_rows(named=True)],
        name=trace_name)
    node_of = {node.name: node.id for node in topology.nodes}
    poa = cells.select("site", "cell",
                       poa=pl.col("poa_name").replace_strict(node_of, return_dtype=pl.Int32))
    mobility = (
        events.join(poa, on=["site", "cell"], how="left", nulls_equal=True,
                    maintain_order="left")
        .select("t", "mn", poa=pl.when(pl.col("kind") == "detach")
                .then(pl.lit(-1, pl.Int32)).otherwise("poa"))
    )
    counts.update(drives=len(files), cells=cells.height,
                  sites=cells["site_name"].n_unique())
    digests = [file_sha256(path) for path in files]
    params: dict[str, Any] = {
        "format": "G-NetTrack drive-test log",
        "files": [path.name for path in files],
        "files_sha256": digests,
        "max_gap_s": float(max_gap_s),
        "max_skew_s": float(max_skew_s),
        "strict": bool(strict),
        "projection": "equirectangular",
        **origin,
        "counts": counts,
        "topology": dataclasses.asdict(access),
    }
    return write_imported(
        out_dir, name=trace_name, topology=topology, mobility=mobility, traffic=traffic,
        seed=seed, generator=GENERATOR, params=params, packets=packets, overwrite=overwrite,
        description=f"{len(files)} drive(s): {counts['handovers_intra_site']} intra-site "
                    f"and {counts['handovers_inter_site']} inter-site handovers over "
                    f"{counts['cells']} cells in {counts['sites']} sites",
        source="drive-test logs " + ", ".join(
            f"{path.name} (sha256 {digest})" for path, digest in zip(files, digests)),
    )


# -------------------------------------------------------------------- reading
def read_drivelog(path: str | Path) -> pl.DataFrame:
    """The rows of one drive-test log: ``_line`` (UInt32), ``t`` (Int64 ns), ``lon``, ``lat``
    (Float64, null when missing), ``site`` (Int64 eNB/gNB id, null when the cell is its own
    site) and ``cell`` (String, null without service). Raises ``TraceError`` at the first
    invalid value. ``_time`` keeps the raw timestamp, for errors, and ``mode`` the
    ``NetworkMode`` (null when missing)."""
    file = str(path)
    raw = read_rows(path, columns=COLUMNS)
    columns = set(raw.columns)
    required = ["Timestamp", "Longitude", "Latitude"]
    for name in required:
        require_column(raw, name, file=file)
    if not columns & {"CellID", "RAWCELLID"}:
        require_column(raw, "CellID", file=file, hint="(or RAWCELLID) for the serving cell")
    if not columns & {"NODEHEX", "RAWCELLID"}:
        require_column(raw, "NODEHEX", file=file, hint="(or RAWCELLID) for the eNB/gNB")
    t = pl.col("Timestamp").str.to_datetime(TIMESTAMP_FORMAT, strict=False,
                                            time_unit="ns").dt.epoch("ns")
    raw_id = (pl.col("RAWCELLID").str.to_integer(base=10, strict=False)
              if "RAWCELLID" in columns else pl.lit(None, pl.Int64))
    node = (pl.col("NODEHEX").str.strip_prefix("0x").str.strip_prefix("0X")
            .str.to_integer(base=16, strict=False)
            if "NODEHEX" in columns else pl.lit(None, pl.Int64))
    parsed = raw.with_columns(
        _t=t, _lon=pl.col("Longitude").cast(pl.Float64, strict=False),
        _lat=pl.col("Latitude").cast(pl.Float64, strict=False), _raw=raw_id, _node=node,
    )
    checks = [
        ("Timestamp", pl.col("Timestamp").is_null(), "missing timestamp; every row needs one"),
        ("Timestamp", pl.col("_t").is_null(),
         "not a G-NetTrack timestamp; expected YYYY.MM.DD_hh.mm.ss such as 2017.11.21_09.04.31"),
        ("Timestamp", pl.col("_t") < 0, "before 1970-01-01; trace times start at 0"),
    ]
    for column, value, limit in (("Longitude", "_lon", 180.0), ("Latitude", "_lat", 90.0)):
        checks.append((column, pl.col(column).is_not_null()
                       & ~pl.col(value).is_between(-limit, limit).fill_null(False),
                       f"not a number of degrees in [-{limit:g}, {limit:g}]"))
    if "RAWCELLID" in columns:
        checks.append(("RAWCELLID", pl.col("RAWCELLID").is_not_null()
                       & ~(pl.col("_raw") >= 0).fill_null(False),
                       "not a non-negative decimal integer"))
    if "NODEHEX" in columns:
        checks.append(("NODEHEX", pl.col("NODEHEX").is_not_null()
                       & ~(pl.col("_node") >= 0).fill_null(False),
                       "not a hexadecimal eNB/gNB id"))
    for column, bad, message in checks:
        raise_at_first(parsed, bad, file=file, column=column, message=message)
    lte = (pl.col("NetworkMode").is_null()
           | pl.col("NetworkMode").str.to_uppercase().str.starts_with("LTE")
           if "NetworkMode" in columns else pl.lit(True))
    cell = (pl.col("CellID") if "CellID" in columns else pl.col("_raw").cast(pl.String))
    return parsed.select(
        LINE, _time=pl.col("Timestamp"), t=pl.col("_t"), lon=pl.col("_lon"), lat=pl.col("_lat"),
        site=pl.coalesce(pl.col("_node"), pl.when(lte).then(pl.col("_raw") // 256)),
        cell=cell, mode=pl.col("NetworkMode") if "NetworkMode" in columns
        else pl.lit(None, pl.String),
    ).with_columns(site=pl.when(pl.col("cell").is_not_null()).then(pl.col("site")))


def clean_drive(rows: pl.DataFrame, *, file: str, max_skew_ns: int, max_gap_ns: int,
                strict: bool) -> tuple[pl.DataFrame, dict[str, int]]:
    """One drive's ``read_drivelog`` rows cleaned by the module's rules 1-3 (none with
    ``strict``), in time order, and the counts of each rule."""
    if strict:
        raise_at_first(rows, pl.col("t") < pl.col("t").shift(1), file=file, column="Timestamp",
                       value_column="_time", message="earlier than the row before it; rows "
                       "must be in time order (one drive per file; --strict)")
        return rows, {"duplicates": 0, "reordered": 0, "cells_filled": 0}
    rows, counts = in_time_order(rows, fields=["t", "lon", "lat", "site", "cell"], by=None,
                                 max_skew_ns=max_skew_ns, file=file, column="Timestamp",
                                 value_column="_time", skew_keyword="max_skew_s",
                                 skew_option="--max-skew")
    served = rows["cell"].is_not_null().to_numpy()
    shows_service = rows.select(pl.col("mode").is_not_null()
                                & ~pl.col("mode").str.to_uppercase().str.starts_with("NO")
                                ).to_series().to_numpy()
    index = np.arange(rows.height)
    before = np.maximum.accumulate(np.where(served, index, -1))  # last served row so far
    after = np.minimum.accumulate(np.where(served, index, rows.height)[::-1])[::-1]
    inside = ~served & shows_service & (before >= 0) & (after < rows.height)
    lo, hi = before[inside], after[inside]
    cell = rows["cell"].to_numpy()
    site = rows["site"].fill_null(-1).to_numpy()
    t = rows["t"].to_numpy()
    glitch = (cell[lo] == cell[hi]) & (site[lo] == site[hi]) & (t[hi] - t[lo] <= max_gap_ns)
    filled = np.flatnonzero(inside)[glitch]
    source = lo[glitch]
    counts["cells_filled"] = int(filled.size)
    if filled.size:
        take = np.arange(rows.height)
        take[filled] = source
        rows = rows.with_columns(cell=rows["cell"].gather(take), site=rows["site"].gather(take))
    return rows, counts


# -------------------------------------------------------------------- attachments
def attachment_events(rows: pl.DataFrame, *, max_gap_ns: int
                      ) -> tuple[pl.DataFrame, dict[str, int]]:
    """Attach, handover and detach events (``t``, ``mn``, ``site``, ``cell``, ``kind``) of
    ``rows`` (cleaned ``read_drivelog`` rows with ``mn``, each MN's in time order), sorted by
    time, and the counts of each kind of event."""
    prev_t = pl.col("t").shift(1).over("mn")
    next_t = pl.col("t").shift(-1).over("mn")
    prev_cell = pl.col("cell").shift(1).over("mn")
    prev_site = pl.col("site").shift(1).over("mn")
    gap_before = prev_t.is_null() | (pl.col("t") - prev_t > max_gap_ns)
    served = pl.col("cell").is_not_null()
    was_served = prev_cell.is_not_null() & ~gap_before
    same_cell = (pl.col("cell") == prev_cell) & pl.col("site").eq_missing(prev_site)
    kinds = rows.sort("mn", maintain_order=True).with_columns(
        kind=pl.when(served & ~was_served).then(pl.lit("attach"))
        .when(served & ~same_cell & (pl.col("site") == prev_site).fill_null(False))
        .then(pl.lit("intra"))
        .when(served & ~same_cell).then(pl.lit("inter"))
        .when(~served & was_served).then(pl.lit("no_service")),
        tail=pl.when(served & next_t.is_null()).then(pl.lit("end"))
        .when(served & (next_t - pl.col("t") > max_gap_ns)).then(pl.lit("gap")),
    )
    at_row = kinds.filter(pl.col("kind").is_not_null()).select(
        "t", "mn", LINE, "site", "cell", "kind", phase=pl.lit(0, pl.UInt8))
    after_row = kinds.filter(pl.col("tail").is_not_null()).select(
        "t", "mn", LINE, "site", "cell", kind=pl.col("tail"), phase=pl.lit(1, pl.UInt8))
    events = pl.concat([at_row, after_row]).sort("t", "mn", LINE, "phase")
    tally = dict(events.group_by("kind").len().iter_rows())
    counts = {
        "rows": rows.height,
        "rows_without_service": int(rows["cell"].null_count()),
        "attaches": tally.get("attach", 0),
        "handovers_intra_site": tally.get("intra", 0),
        "handovers_inter_site": tally.get("inter", 0),
        "detaches_no_service": tally.get("no_service", 0),
        "detaches_gap": tally.get("gap", 0),
        "detaches_end": tally.get("end", 0),
    }
    kind = pl.col("kind")
    events = events.with_columns(
        kind=pl.when(kind.is_in(["no_service", "gap", "end"])).then(pl.lit("detach"))
        .when(kind == "attach").then(kind).otherwise(pl.lit("handover")),
    ).select("t", "mn", "site", "cell", "kind")
    return events, counts


# -------------------------------------------------------------------- topology
def placed_cells(rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, float]]:
    """One row per cell in order of first appearance: ``site``, ``cell``, their node names
    ``site_name`` and ``poa_name``, and the mean projected position ``x``, ``y`` of its rows;
    and the projection's origin (``origin_lon``, ``origin_lat``; none without positions)."""
    placed = rows.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null())
    origin: dict[str, float] = {}
    xy = {"x": pl.lit(None, pl.Float64), "y": pl.lit(None, pl.Float64)}
    if placed.height:
        origin = {"origin_lon": float(placed["lon"].mean()),
                  "origin_lat": float(placed["lat"].mean())}
        lon0 = math.radians(origin["origin_lon"])
        lat0 = math.radians(origin["origin_lat"])
        xy = {"x": EARTH_RADIUS_M * (pl.col("lon").radians() - lon0) * math.cos(lat0),
              "y": EARTH_RADIUS_M * (pl.col("lat").radians() - lat0)}
    cells = (
        rows.filter(pl.col("cell").is_not_null()).sort("mn", LINE)
        .with_columns(**xy)
        .group_by("site", "cell", maintain_order=True)
        .agg(pl.col("x").mean().round(2), pl.col("y").mean().round(2))
    )
    # Node names for the few distinct cells (hex formatting has no polars expression).
    hexes = [None if s is None else f"{s:X}" for s in cells["site"].to_list()]
    cell_ids = cells["cell"].to_list()
    return cells.with_columns(
        site_name=pl.Series([f"site:{h}" if h is not None else f"site:cell-{c}"
                             for h, c in zip(hexes, cell_ids)], dtype=pl.String),
        poa_name=pl.Series([f"cell:{h}:{c}" if h is not None else f"cell:{c}"
                            for h, c in zip(hexes, cell_ids)], dtype=pl.String),
    ), origin
