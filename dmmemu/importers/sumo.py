"""SUMO floating-car data (FCD) → trace: vehicles attach to PoAs placed over the road network.

Eclipse SUMO writes where every vehicle is at every simulation step (``sumo --fcd-output``).
``import_sumo`` turns that into a trace directory: PoAs at given positions, each vehicle an
MN that attaches by the one rule of ``dmmemu.synthetic.attachment``, traffic from
``dmmemu.synthetic.traffic``. Command: ``dmmemu import sumo FCD --spacing M --out DIR`` (also
``python -m dmmemu.importers.sumo``).

Input, as SUMO 1.28 writes it. No file is held whole: XML streams through expat, CSV and
Parquet in batches; only the samples' arrays are kept (28 bytes a sample). gzip is undone.
- **XML** (``fcd.xml``, ``fcd.xml.gz``): ``<fcd-export>`` holding ``<timestep time="…">``
  elements holding ``<vehicle id="…" x="…" y="…" …/>``; ``time`` is seconds, or
  ``[[d:]h:]m:s`` as ``sumo -H`` writes it. Only ``<vehicle>`` elements are vehicles:
  ``<person>`` and ``<container>`` elements are skipped (and counted).
- **CSV / Parquet** (``fcd.csv``, ``fcd.parquet``; ``--output.format``): one row per sample,
  columns named by ``--output.column-header``: ``timestep_time``, ``vehicle_id``,
  ``vehicle_x``, ``vehicle_y`` (``tag``/``auto``, the default), ``time``, ``id``, ``x``,
  ``y`` (``plain``) or ``timestep_time``, ``timestep_vehicle_id``, … (``full``); the CSV
  separator is whatever follows the first header name (SUMO's default is ``;``). A row
  with a time and nothing else is SUMO's record of a timestep without vehicles: skipped.
  SUMO puts persons into the same columns with nothing that reliably marks them (a meso vehicle has an
  edge and no lane too), so every row is imported; run SUMO with ``--person-fcd-output`` to
  keep persons out of the vehicle file.
- Positions must be network coordinates in metres (not ``--fcd-output.geo``).
- Errors name the file, the line (XML, CSV) or 0-based row (Parquet), and the attribute or
  column: a missing or non-numeric value, a sample not later than the vehicle's previous one.

Vehicles become MNs ``0, 1, …`` in order of first appearance (time, then file order);
``mn_names.csv`` (``mn,vehicle``) beside the trace files keeps SUMO's ids (``Trace.open``
ignores it).

Rules (on top of ``dmmemu.synthetic.attachment``)
- The FCD's **step** is the least difference between two successive sample times (given
  explicitly with ``step_s``).
- **Teleports.** Between two successive samples of one vehicle, a *jump* (farther than
  ``max_speed_mps`` × Δt) or a *gap* (Δt > 1.5 steps: the vehicle was missing from at least
  one timestep, which is how SUMO shows a vehicle while it teleports) cuts its track: the
  vehicle detaches one step after the earlier sample (halfway between the two when they are
  less than two steps apart) and attaches afresh, to the nearest PoA in range, at the later
  one. Both are counted in the manifest.
- **Leaving.** A vehicle whose last sample comes before the FCD's last sample time has left
  the simulation: it detaches one step after its last sample. Vehicles still present at the
  last sample time stay attached to the end of the trace.
- **PoAs**: a square grid (``layout="grid"``) or hexagonal cell sites (``"hex"``) of
  ``spacing_m`` centred on the bounds (the network's ``convBoundary`` with ``net``, else the
  bounding box of the samples), or the positions of a CSV (``poa_csv``: header ``x,y`` and
  optionally ``name``). The topology is ``flat_at_positions`` (``--architecture flat``) or
  ``domains_at_positions`` (``hierarchical``: MAP domains), ``dmmemu.topology.generators``.

``trace.toml`` records the FCD's file name and SHA-256, the network's name and bounds (its
header carries a timestamp, so a hash would differ on every ``netgenerate``), the PoA CSV's
name and SHA-256, every parameter, the seed and the counts above.
"""

from __future__ import annotations

import array
import csv
import gzip
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Sequence
from xml.parsers import expat

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from dmmemu.errors import TraceError
from dmmemu.importers.imported_trace import write_imported
from dmmemu.importers.source_rows import LINE, file_sha256, read_rows
from dmmemu.model_params import (
    NS_PER_S,
    ParameterError,
    check_choice,
    check_integer,
    check_number,
    seconds_to_ns,
)
from dmmemu.synthetic.attachment import AttachmentRule, attach_positions
from dmmemu.synthetic.traffic import TrafficModel
from dmmemu.topology.generators import domains_at_positions, flat_at_positions
from dmmemu.topology.graph import MAX_NODES
from dmmemu.trace.writer import check_trace_target

GENERATOR = "dmmemu.importers.sumo"
DEFAULT_STEP_NS = NS_PER_S  # SUMO's default --step-length, for an FCD with one sample time
GAP_STEPS = 1.5  # a vehicle absent for more than this many steps left the road
MAX_POAS = (MAX_NODES - 100) // 2  # an AR and its gateway each (the topology's limit)
MN_NAMES_FILE = "mn_names.csv"
BATCH_ROWS = 1 << 16  # rows per batch of a columnar FCD
FORMATS = ("auto", "xml", "csv", "parquet")

# Column names of a columnar FCD under each --output.column-header style: field -> choices.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "time": ("timestep_time", "time"),
    "id": ("vehicle_id", "id", "timestep_vehicle_id"),
    "x": ("vehicle_x", "x", "timestep_vehicle_x"),
    "y": ("vehicle_y", "y", "timestep_vehicle_y"),
}


# -------------------------------------------------------------------- errors
def _error(message: str, *, file: str | Path, line: int | None = None,
           column: str | None = None, row: int | None = None,
           value: object = None) -> TraceError:
    """A TraceError naming the file (and line, for text formats)."""
    where = str(file) if line is None else f"{file}, line {line}"
    return TraceError(message, file=where, column=column, row=row, value=value)


# -------------------------------------------------------------------- samples
@dataclass(frozen=True, slots=True, kw_only=True)
class FcdSamples:
    """The vehicle positions of one FCD file, in file order, with dense MN ids."""

    t: np.ndarray  # int64 ns
    mn: np.ndarray  # uint32: index into `vehicles`
    x: np.ndarray  # float64 metres
    y: np.ndarray  # float64 metres
    vehicles: tuple[str, ...]  # SUMO vehicle id of each MN, in order of first appearance
    format: str  # "xml", "csv" or "parquet"
    skipped: int = 0  # <person>/<container> elements skipped (XML)

    @property
    def n_samples(self) -> int:
        return int(self.t.size)

    def step_ns(self) -> int:
        """Least positive difference between successive sample times (1 s if only one)."""
        times = np.unique(self.t)
        return int(np.diff(times).min()) if times.size > 1 else DEFAULT_STEP_NS

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the samples."""
        return (float(self.x.min()), float(self.y.min()), float(self.x.max()),
                float(self.y.max()))


class _Collector:
    """Grows the sample arrays and the vehicle table while a reader streams a file, and
    checks that each vehicle's samples come in increasing time."""

    def __init__(self) -> None:
        self.t = array.array("q")
        self.mn = array.array("I")
        self.x = array.array("d")
        self.y = array.array("d")
        self.ids: dict[str, int] = {}
        self.latest: list[int] = []  # last sample time per MN (sample by sample)
        self.latest_batch = np.zeros(0, np.int64)  # the same, batch by batch

    # One sample at a time (XML): the Python loop is the parser's anyway.
    def add(self, t: int, vehicle: str, x: float, y: float) -> int | None:
        """Append a sample; return the vehicle's previous time when ``t`` is not after it."""
        mn = self.ids.get(vehicle)
        if mn is None:
            mn = self.ids[vehicle] = len(self.ids)
            self.latest.append(t)
        else:
            if t <= self.latest[mn]:
                return self.latest[mn]
            self.latest[mn] = t
        self.t.append(t)
        self.mn.append(mn)
        self.x.append(x)
        self.y.append(y)
        return None

    # A batch at a time (CSV, Parquet).
    def add_batch(self, t: np.ndarray, ids: pa.Array, x: np.ndarray, y: np.ndarray,
                  fail: Callable[[int, str, object], TraceError]) -> None:
        """Append a batch; ``fail(i, message, value)`` builds the error for batch row i."""
        encoded = pc.dictionary_encode(ids).combine_chunks() if isinstance(
            ids, pa.ChunkedArray) else pc.dictionary_encode(ids)
        lut = np.empty(len(encoded.dictionary), np.int64)
        for k, vehicle in enumerate(encoded.dictionary.to_pylist()):
            mn = self.ids.get(vehicle)
            if mn is None:
                mn = self.ids[vehicle] = len(self.ids)
            lut[k] = mn
        mn = lut[encoded.indices.to_numpy(zero_copy_only=False)]
        latest = self.latest_batch
        if latest.size < len(self.ids):
            grown = np.full(max(len(self.ids), 2 * latest.size), np.iinfo(np.int64).min)
            grown[:latest.size] = latest
            latest = self.latest_batch = grown
        order = np.argsort(mn, kind="stable")
        ms, ts = mn[order], t[order]
        first = np.r_[True, ms[1:] != ms[:-1]]
        previous = np.where(first, latest[ms], np.r_[0, ts[:-1]])
        bad = ts <= previous
        if bad.any():
            i = int(order[bad].min())  # first offending row in file order
            prev = previous[np.flatnonzero(order == i)[0]]
            raise fail(i, f"vehicle {self.vehicle_name(int(mn[i]))!r} already has a sample at "
                          f"{prev / NS_PER_S:g} s; each vehicle's samples must come in "
                          "increasing time", t[i] / NS_PER_S)
        last_of = np.r_[ms[1:] != ms[:-1], True]
        latest[ms[last_of]] = ts[last_of]
        self.t.frombytes(t.astype(np.int64).tobytes())
        self.mn.frombytes(mn.astype(np.uint32).tobytes())
        self.x.frombytes(x.astype(np.float64).tobytes())
        self.y.frombytes(y.astype(np.float64).tobytes())

    def vehicle_name(self, mn: int) -> str:
        for name, k in self.ids.items():
            if k == mn:
                return name
        return str(mn)

    def samples(self, fmt: str, skipped: int = 0) -> FcdSamples:
        return FcdSamples(
            t=np.frombuffer(self.t, np.int64).copy(),
            mn=np.frombuffer(self.mn, np.uint32).copy(),
            x=np.frombuffer(self.x, np.float64).copy(),
            y=np.frombuffer(self.y, np.float64).copy(),
            vehicles=tuple(self.ids), format=fmt, skipped=skipped,
        )


def _seconds(text: str) -> float:
    """SUMO time: seconds, or ``[[d:]h:]m:s`` (``-H``); ValueError when neither."""
    try:
        return float(text)
    except ValueError:
        parts = text.split(":")
        if len(parts) < 2 or len(parts) > 4:
            raise
        sign = -1.0 if parts[0].startswith("-") else 1.0
        scale = (86400.0, 3600.0, 60.0, 1.0)[4 - len(parts):]
        return sign * sum(abs(float(p)) * s for p, s in zip(parts, scale))


def _time_ns(seconds: float) -> int | None:
    """Nanoseconds of a finite, non-negative time in seconds; None otherwise."""
    if not math.isfinite(seconds) or seconds < 0 or seconds * NS_PER_S >= 2**62:
        return None
    return int(round(seconds * NS_PER_S))


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open_text(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip (SUMO writes ``.gz`` on request)."""
    return gzip.open(path, "rb") if _is_gzip(path) else path.open("rb")


# -------------------------------------------------------------------- XML
class _XmlFcd:
    """Streams an FCD XML file through expat (which, unlike ``ElementTree.iterparse``, knows
    the line of every element, so errors can name it); nothing but the samples is kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.out = _Collector()
        self.time: int | None = None
        self.depth = 0
        self.skipped = 0

    def read(self) -> FcdSamples:
        try:
            with _open_text(self.path) as f:
                self.parser.ParseFile(f)
        except expat.ExpatError as exc:
            raise _error(f"not well-formed XML: {expat.errors.messages[exc.code]}",
                         file=self.path, line=exc.lineno) from None
        except (OSError, EOFError) as exc:
            raise _error(f"cannot read the file: {exc}", file=self.path) from None
        return self.out.samples("xml", self.skipped)

    def _fail(self, message: str, value: object = None) -> TraceError:
        return _error(message, file=self.path, line=self.parser.CurrentLineNumber, value=value)

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if tag == "vehicle" and self.depth == 3 and self.time is not None:
            self._vehicle(attrs)  # the hot path: once per sample
            return
        if self.depth == 1:
            if tag != "fcd-export":
                raise self._fail(f"root element is <{tag}>; a SUMO FCD file has <fcd-export> "
                                 "(write it with sumo --fcd-output)")
            return
        if tag == "timestep":
            if self.depth != 2:
                raise self._fail("<timestep> must be a child of <fcd-export>")
            text = attrs.get("time")
            if text is None:
                raise self._fail("<timestep> attribute 'time' is missing")
            try:
                self.time = _time_ns(_seconds(text))
            except ValueError:
                self.time = None
            if self.time is None:
                raise self._fail("<timestep> attribute 'time' must be seconds >= 0 "
                                 "(or [[d:]h:]m:s)", text)
            return
        if self.depth != 3:
            return  # children of samples (SUMO writes none today): ignored
        if self.time is None:
            raise self._fail(f"<{tag}> outside a <timestep>")
        self.skipped += 1  # <person>, <container>

    def _vehicle(self, attrs: dict[str, str]) -> None:
        try:
            vehicle, x, y = attrs["id"], float(attrs["x"]), float(attrs["y"])
        except (KeyError, ValueError):
            vehicle, x, y = "", math.nan, math.nan
        if not (vehicle and math.isfinite(x) and math.isfinite(y)):
            raise self._bad_vehicle(attrs)
        previous = self.out.add(self.time, vehicle, x, y)  # type: ignore[arg-type]
        if previous is not None:
            raise self._fail(f"<vehicle id={vehicle!r}> already has a sample at "
                             f"{previous / NS_PER_S:g} s; each vehicle's samples must come "
                             "in increasing time", self.time / NS_PER_S)  # type: ignore[operator]

    def _bad_vehicle(self, attrs: dict[str, str]) -> TraceError:
        """The error for a <vehicle> without a usable id, x or y."""
        vehicle = attrs.get("id")
        if not vehicle:
            return self._fail("<vehicle> attribute 'id' is missing or empty")
        for name in ("x", "y"):
            text = attrs.get(name)
            if text is None:
                return self._fail(f"<vehicle id={vehicle!r}> attribute {name!r} is missing "
                                  "(network coordinates in metres)")
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                return self._fail(f"<vehicle id={vehicle!r}> attribute {name!r} must be a "
                                  "finite number (metres)", text)
        raise AssertionError("unreachable: the vehicle's attributes are valid")

    def _end(self, tag: str) -> None:
        self.depth -= 1
        if tag == "timestep" and self.depth == 1:
            self.time = None


# -------------------------------------------------------------------- CSV and Parquet
def _resolve_columns(names: Sequence[str], *, file: Path, line: int | None) -> dict[str, str]:
    """field -> column name, under whichever --output.column-header style wrote the file."""
    found: dict[str, str] = {}
    for field, choices in COLUMN_NAMES.items():
        for choice in choices:
            if choice in names:
                found[field] = choice
                break
        else:
            raise _error(
                f"no column for the vehicle {field}; expected one of {', '.join(choices)} "
                f"(SUMO FCD columns; found {', '.join(names) or 'none'})",
                file=file, line=line, column=choices[0],
            )
    return found


def _numbers(values: pa.Array, *, field: str, seconds: bool,
             fail: Callable[[int, str, object], TraceError]) -> np.ndarray:
    """Float64 of a column (numeric or text); the first null or bad value raises."""
    if values.null_count:
        i = int(np.argmax(pc.is_null(values).to_numpy(zero_copy_only=False)))
        raise fail(i, "value is missing", None)
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        out = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    elif pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        try:
            out = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            out = np.empty(len(values))
            for i, text in enumerate(values.to_pylist()):
                try:
                    out[i] = _seconds(text) if seconds else float(text)
                except ValueError:
                    raise fail(i, _what(field, seconds), text) from None
    else:
        raise fail(0, f"has type {values.type}; expected numbers", None)
    bad = ~np.isfinite(out) | ((out < 0) if seconds else False)
    if bad.any():
        i = int(np.argmax(bad))
        raise fail(i, _what(field, seconds), out[i])
    return out


def _what(field: str, seconds: bool) -> str:
    return ("must be seconds >= 0 (or [[d:]h:]m:s)" if seconds
            else f"{field} must be a finite number (metres)")


def _blank(values: pa.Array) -> np.ndarray:
    """True where a value is null or an empty string."""
    missing = pc.is_null(values)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        missing = pc.or_(missing, pc.fill_null(pc.equal(values, ""), False))
    return missing.to_numpy(zero_copy_only=False)


def _add_table(out: _Collector, batch: pa.RecordBatch, cols: dict[str, str],
               fail_at: Callable[[int, str, str, object], TraceError]) -> None:
    """Convert and append one batch; ``fail_at(i, column, message, value)`` builds the
    error for row i of the batch. SUMO writes a timestep without vehicles as a row with
    only the time: such rows are skipped."""
    ids, xs, ys = (batch.column(cols[field]) for field in ("id", "x", "y"))
    no_id = _blank(ids)
    empty = no_id & _blank(xs) & _blank(ys)
    rows = np.flatnonzero(~empty)
    if empty.any():
        batch = batch.filter(pa.array(~empty))
        ids, xs, ys, no_id = (batch.column(cols["id"]), batch.column(cols["x"]),
                              batch.column(cols["y"]), no_id[rows])
    if no_id.any():
        i = int(np.argmax(no_id))
        raise fail_at(int(rows[i]), cols["id"], "vehicle id is missing or empty", None)

    def fail(column: str) -> Callable[[int, str, object], TraceError]:
        return lambda i, message, value: fail_at(int(rows[i]), column, message, value)

    seconds = _numbers(batch.column(cols["time"]), field="time", seconds=True,
                       fail=fail(cols["time"]))
    t = np.rint(seconds * NS_PER_S)
    too_late = t >= 2**62
    if too_late.any():
        i = int(np.argmax(too_late))
        raise fail(cols["time"])(i, "time does not fit int64 nanoseconds", seconds[i])
    x = _numbers(xs, field="x", seconds=False, fail=fail(cols["x"]))
    y = _numbers(ys, field="y", seconds=False, fail=fail(cols["y"]))
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        ids = ids.cast(pa.string())
    out.add_batch(t.astype(np.int64), ids, x, y, fail(cols["time"]))


def _read_csv(path: Path) -> FcdSamples:
    import pyarrow.csv as pcsv

    with _open_text(path) as f:
        header = f.readline().decode("utf-8", errors="replace").rstrip("\r\n")
    start = next((name for name in ("timestep_time", "time") if header.startswith(name)), None)
    if start is None or len(header) == len(start):
        raise _error("the first line is not a SUMO FCD header (it must start with "
                     "'timestep_time' or 'time' and a separator; SUMO's "
                     "--output.column-header none writes no header, use the default)",
                     file=path, line=1, value=header[:80])
    separator = header[len(start)]
    names = header.split(separator)
    cols = _resolve_columns(names, file=path, line=1)
    out = _Collector()
    source = pa.CompressedInputStream(pa.OSFile(str(path)), "gzip") if _is_gzip(path) \
        else pa.OSFile(str(path))
    reader_options = pcsv.ReadOptions(block_size=1 << 22)
    parse = pcsv.ParseOptions(delimiter=separator, ignore_empty_lines=False)
    convert = pcsv.ConvertOptions(include_columns=list(cols.values()),
                                  column_types={c: pa.string() for c in cols.values()},
                                  strings_can_be_null=False, quoted_strings_can_be_null=False)
    first = 0

    def fail_at(i: int, column: str, message: str, value: object) -> TraceError:
        return _error(message, file=path, line=first + i + 2, column=column, value=value)

    try:
        with source, pcsv.open_csv(source, read_options=reader_options, parse_options=parse,
                                   convert_options=convert) as reader:
            for batch in reader:
                _add_table(out, batch, cols, fail_at)
                first += batch.num_rows
    except pa.ArrowInvalid as exc:
        line = _ragged_line(path, separator, len(names))
        raise _error(f"not a valid CSV FCD: {exc}", file=path, line=line) from None
    return out.samples("csv")


def _ragged_line(path: Path, separator: str, width: int) -> int | None:
    """The first line whose number of fields differs from the header's (an error path:
    Arrow's CSV reader does not say which line it choked on)."""
    with _open_text(path) as raw, io.TextIOWrapper(raw, encoding="utf-8",
                                                   errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=separator)
        for fields in reader:
            if len(fields) != width:
                return reader.line_num
    return None


def _read_parquet(path: Path) -> FcdSamples:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _error(f"not a readable Parquet file: {exc}", file=path) from None
    cols = _resolve_columns(file.schema_arrow.names, file=path, line=None)
    out = _Collector()
    first = 0

    def fail_at(i: int, column: str, message: str, value: object) -> TraceError:
        return _error(message, file=path, column=column, row=first + i, value=value)

    for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=list(cols.values())):
        _add_table(out, batch, cols, fail_at)
        first += batch.num_rows
    return out.samples("parquet")


_READERS: dict[str, Callable[[Path], FcdSamples]] = {
    "xml": lambda path: _XmlFcd(path).read(),
    "csv": _read_csv,
    "parquet": _read_parquet,
}


def detect_format(path: Path) -> str:
    """``parquet`` (magic bytes), ``xml`` (first character ``<``) or ``csv``; gzip is
    looked through."""
    with path.open("rb") as f:
        if f.read(4) == b"PAR1":
            return "parquet"
    with _open_text(path) as f:
        head = f.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "xml" if head.startswith(b"<") else "csv"


def read_fcd(path: str | Path, *, fcd_format: str = "auto") -> FcdSamples:
    """Read a SUMO FCD file (XML, CSV or Parquet; see the module docstring)."""
    path = Path(path)
    check_choice("read_fcd", "fcd_format", fcd_format, dict.fromkeys(FORMATS))
    if not path.is_file():
        raise _error("file not found (a SUMO --fcd-output file)", file=path)
    fmt = detect_format(path) if fcd_format == "auto" else fcd_format
    samples = _READERS[fmt](path)
    if samples.n_samples == 0:
        raise _error("the FCD holds no vehicle sample", file=path)
    return samples


# -------------------------------------------------------------------- PoA positions
def net_bounds(path: str | Path) -> tuple[float, float, float, float]:
    """``convBoundary`` (xmin, ymin, xmax, ymax) of a SUMO network; reads only up to its
    ``<location>`` element, so a city-sized network is not parsed."""
    path = Path(path)
    if not path.is_file():
        raise _error("file not found (a SUMO .net.xml network)", file=path)
    parser = expat.ParserCreate()
    found: list[tuple[float, ...]] = []

    class Done(Exception):
        pass

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag != "location":
            return
        text = attrs.get("convBoundary")
        line = parser.CurrentLineNumber
        if text is None:
            raise _error("<location> attribute 'convBoundary' is missing", file=path,
                         line=line)
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            values = ()
        if len(values) != 4 or not all(map(math.isfinite, values)) \
                or values[2] < values[0] or values[3] < values[1]:
            raise _error("<location> attribute 'convBoundary' must be xmin,ymin,xmax,ymax",
                         file=path, line=line, value=text)
        found.append(values)
        raise Done

    parser.StartElementHandler = start
    try:
        with _open_text(path) as f:
            parser.ParseFile(f)
    except Done:
        pass
    except expat.ExpatError as exc:
        raise _error(f"not well-formed XML: {expat.errors.messages[exc.code]}", file=path,
                     line=exc.lineno) from None
    if not found:
        raise _error("no <location convBoundary=...> element; is this a SUMO network "
                     "(.net.xml)?", file=path)
    xmin, ymin, xmax, ymax = found[0]
    return xmin, ymin, xmax, ymax


def _lattice(width: float, height: float, dx: float, dy: float) -> tuple[int, int]:
    """(rows, cols) of a lattice of pitch (dx, dy) covering width × height; refuses more
    than MAX_POAS before anything is built."""
    cols = max(1, math.ceil(width / dx - 1e-9))
    rows = max(1, math.ceil(height / dy - 1e-9))
    if rows * cols > MAX_POAS:
        raise ParameterError(f"import_sumo: a spacing of {dx:g} m gives {rows} x {cols} PoAs, "
                             f"more than {MAX_POAS} (the topology's path matrices grow as the "
                             "cube of its nodes); choose a larger spacing_m")
    return rows, cols


def grid_positions(bounds: Sequence[float], spacing_m: float
                   ) -> tuple[np.ndarray, list[str]]:
    """A square grid of ``spacing_m`` centred on ``bounds``, one PoA per cell centre:
    ``ar{row}.{col}`` row by row from the lowest y (as ``FlatWifi``)."""
    xmin, ymin, xmax, ymax = bounds
    rows, cols = _lattice(xmax - xmin, ymax - ymin, spacing_m, spacing_m)
    x0 = (xmin + xmax) / 2 - (cols - 1) / 2 * spacing_m
    y0 = (ymin + ymax) / 2 - (rows - 1) / 2 * spacing_m
    xy = [(x0 + c * spacing_m, y0 + r * spacing_m) for r in range(rows) for c in range(cols)]
    names = [f"ar{r}.{c}" for r in range(rows) for c in range(cols)]
    return np.array(xy, np.float64), names


def hex_positions(bounds: Sequence[float], spacing_m: float
                  ) -> tuple[np.ndarray, list[str]]:
    """Cell sites on a hexagonal lattice (inter-site distance ``spacing_m``, rows
    ``spacing_m·√3/2`` apart, odd rows shifted half a spacing) centred on ``bounds``:
    ``site{row}.{col}``."""
    xmin, ymin, xmax, ymax = bounds
    pitch = spacing_m * math.sqrt(3) / 2
    rows, cols = _lattice(xmax - xmin, ymax - ymin, spacing_m, pitch)
    shift = spacing_m / 2 * (rows // 2) / rows  # the mean offset of the shifted rows
    x0 = (xmin + xmax) / 2 - (cols - 1) / 2 * spacing_m - shift
    y0 = (ymin + ymax) / 2 - (rows - 1) / 2 * pitch
    xy = [(x0 + c * spacing_m + (spacing_m / 2 if r % 2 else 0.0), y0 + r * pitch)
          for r in range(rows) for c in range(cols)]
    names = [f"site{r}.{c}" for r in range(rows) for c in range(cols)]
    return np.array(xy, np.float64), names


LAYOUTS: dict[str, Callable[[Sequence[float], float], tuple[np.ndarray, list[str]]]] = {
    "grid": grid_positions,
    "hex": hex_positions,
}


def read_poa_csv(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """PoA positions from a CSV with a header naming ``x``, ``y`` and optionally ``name``
    (any order; default names ``ar{i}``), read by ``source_rows.read_rows`` (blank lines
    skipped, lines numbered from the header's 1)."""
    path = Path(path)
    if not path.is_file():
        raise _error("file not found (a CSV of PoA positions: x,y[,name])", file=path)
    rows = read_rows(path)
    header = [column for column in rows.columns if column != LINE]
    allowed = ("x", "y", "name")
    for column in header:
        if column not in allowed:
            raise _error("unknown column; the columns are x, y and optionally name",
                         file=path, line=1, column=column)
    for column in ("x", "y"):
        if column not in header:
            raise _error("missing column (header x,y[,name])", file=path, line=1,
                         column=column)
    xy: list[tuple[float, float]] = []
    names: list[str] = []
    seen: dict[tuple[float, float], int] = {}
    for row in rows.iter_rows(named=True):
        line = row[LINE]
        pos = []
        for column in ("x", "y"):
            text = row[column]
            try:
                value = float(text) if text is not None else math.nan
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise _error("must be a finite number (metres, network coordinates)",
                             file=path, line=line, column=column, value=text)
            pos.append(value)
        point = (pos[0], pos[1])
        if point in seen:
            raise _error(f"same position as the PoA on line {seen[point]}", file=path,
                         line=line, column="x", value=row["x"])
        seen[point] = line
        label = row["name"] if "name" in row else f"ar{len(xy)}"
        if not label:
            raise _error("name is empty", file=path, line=line, column="name")
        if label in names:
            raise _error("name is used by an earlier PoA", file=path, line=line,
                         column="name", value=label)
        xy.append(point)
        names.append(label)
    if not xy:
        raise _error("no PoA: the file has a header and no positions", file=path)
    return np.array(xy, np.float64), names


# -------------------------------------------------------------------- tracks
@dataclass(frozen=True, slots=True, kw_only=True)
class Tracks:
    """Samples sorted by (MN, time) and cut into segments at teleports; each segment is
    attached as if it were an MN of its own, then mapped back to its vehicle."""

    t: np.ndarray  # int64 ns
    segment: np.ndarray  # int64 segment id per sample (dense, by vehicle then time)
    x: np.ndarray
    y: np.ndarray
    segment_mn: np.ndarray  # MN of each segment
    segment_leave: np.ndarray  # int64 detach time of each segment (-1: stays to the end)
    jumps: int  # cuts where the vehicle moved faster than max_speed_mps
    gaps: int  # cuts where the vehicle was missing from the output
    leaves: int  # vehicles that left the simulation before its end


def tracks(samples: FcdSamples, *, step_ns: int, max_speed_mps: float) -> Tracks:
    """Cut every vehicle's track at teleports and give each piece its detach time."""
    order = np.lexsort((samples.t, samples.mn))
    t, mn = samples.t[order], samples.mn[order].astype(np.int64)
    x, y = samples.x[order], samples.y[order]
    same = mn[1:] == mn[:-1]
    dt = t[1:] - t[:-1]
    dist = np.hypot(x[1:] - x[:-1], y[1:] - y[:-1])
    jump = same & (dist > max_speed_mps * dt / NS_PER_S)
    gap = same & ~jump & (dt > GAP_STEPS * step_ns)
    starts = np.r_[True, ~same | jump | gap]
    segment = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:] - 1, t.size - 1]
    cut = np.r_[(jump | gap)[first[1:] - 1], False]  # segment ends at a teleport
    leave = np.full(first.size, -1, np.int64)
    nxt = np.minimum(last + 1, t.size - 1)
    leave[cut] = t[last[cut]] + np.minimum(step_ns, (t[nxt[cut]] - t[last[cut]]) // 2)
    t_end = int(t.max())
    gone = ~cut & (t[last] < t_end)
    leave[gone] = t[last[gone]] + step_ns
    return Tracks(t=t, segment=segment, x=x, y=y, segment_mn=mn[first],
                  segment_leave=leave, jumps=int(jump.sum()), gaps=int(gap.sum()),
                  leaves=int(gone.sum()))


def attach_tracks(tr: Tracks, *, poa_ids: np.ndarray, poa_xy: np.ndarray,
                  rule: AttachmentRule) -> pl.DataFrame:
    """Mobility rows of the vehicles (``t``, ``mn``, ``poa``; sorted by t, then MN)."""
    rows = attach_positions(tr.t, tr.segment, tr.x, tr.y, poa_ids=poa_ids, poa_xy=poa_xy,
                            rule=rule, leave_t=tr.segment_leave)
    mn = tr.segment_mn[rows["mn"].to_numpy()]
    t = rows["t"].to_numpy()
    order = np.lexsort((mn, t))
    return pl.DataFrame({
        "t": pl.Series("t", t[order], dtype=pl.Int64),
        "mn": pl.Series("mn", mn[order].astype(np.uint32), dtype=pl.UInt32),
        "poa": pl.Series("poa", rows["poa"].to_numpy()[order], dtype=pl.Int32),
    })


# -------------------------------------------------------------------- the importer
def _poas(samples: FcdSamples, *, net: Path | None, spacing_m: float | None, layout: str,
          poa_csv: Path | None) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """PoA positions, names and the parameters that placed them (for the manifest)."""
    if (spacing_m is None) == (poa_csv is None):
        raise ParameterError("import_sumo: give exactly one of spacing_m (--spacing: PoAs on "
                             "a layout over the network) and poa_csv (--poas: PoAs at listed "
                             "positions)")
    if poa_csv is not None and net is not None:
        raise ParameterError("import_sumo: net (--net) only bounds a layout of spacing_m; "
                             "PoAs from poa_csv do not use it (leave it out)")
    params: dict[str, Any] = {}
    if poa_csv is not None:
        xy, names = read_poa_csv(poa_csv)
        params.update(poas="csv", poa_csv=poa_csv.name, poa_csv_sha256=file_sha256(poa_csv))
    else:
        check_number("import_sumo", "spacing_m", spacing_m, low=0.0, strict=True)
        check_choice("import_sumo", "layout", layout, LAYOUTS)
        bounds = net_bounds(net) if net is not None else samples.bounds()
        xy, names = LAYOUTS[layout](bounds, float(spacing_m))  # type: ignore[arg-type]
        if net is not None:
            params.update(net=net.name)
        params.update(poas=layout, spacing_m=float(spacing_m),  # type: ignore[arg-type]
                      bounds=[float(b) for b in bounds],
                      bounds_from="net convBoundary" if net is not None else "fcd samples")
    if len(names) > MAX_POAS:  # (layouts refuse before building)
        raise ParameterError(f"import_sumo: {poa_csv} lists {len(names)} PoAs, more than "
                             f"{MAX_POAS} (the topology's path matrices grow as the cube of "
                             "its nodes)")
    return xy, names, params


def import_sumo(
    fcd_path: str | Path,
    out_dir: str | Path,
    *,
    net: str | Path | None = None,
    spacing_m: float | None = None,
    layout: str = "grid",
    poa_csv: str | Path | None = None,
    rule: AttachmentRule | None = None,
    max_speed_mps: float = 70.0,
    step_s: float | None = None,
    correspondents: int = 4,
    traffic: TrafficModel | None = None,
    seed: int = 0,
    packet_file: bool = True,
    name: str | None = None,
    description: str | None = None,
    fcd_format: str = "auto",
    overwrite: bool = False,
    architecture: str = "flat",
    domain_size: int = 9,
) -> Path:
    """Write the trace directory ``out_dir`` from the SUMO FCD ``fcd_path``; return it.

    PoAs: ``spacing_m`` (with ``layout`` "grid" or "hex", over ``net``'s convBoundary or the
    samples' bounding box) or ``poa_csv``, exactly one. ``rule`` is the attachment rule
    (default: ``AttachmentRule()``: nearest PoA at any range, 10 m hysteresis);
    ``max_speed_mps`` and ``step_s`` (default: detected) drive teleport detection.
    ``traffic`` (default ``TrafficModel()``) draws flows while vehicles are attached, from
    ``seed``; ``packet_file=False`` leaves packets to the replay's synthesis rule.
    ``architecture`` "flat" puts a gateway in front of every AR (``flat_at_positions``),
    "hierarchical" groups the ARs by position into MAP domains of ``domain_size``
    (``domains_at_positions``). Raises
    ``TraceError`` for a bad input file, ``ParameterError`` for a bad parameter.
    """
    fcd_path = Path(fcd_path)
    net = Path(net) if net is not None else None
    poa_csv = Path(poa_csv) if poa_csv is not None else None
    rule = AttachmentRule() if rule is None else rule
    traffic = TrafficModel() if traffic is None else traffic
    where = "import_sumo"
    check_number(where, "max_speed_mps", max_speed_mps, low=0.0, strict=True)
    if step_s is not None:
        check_number(where, "step_s", step_s, low=1e-9)
    check_integer(where, "correspondents", correspondents, low=1, high=1 << 16)
    check_integer(where, "seed", seed, low=0, high=2**63 - 1)
    check_choice(where, "architecture", architecture, ("flat", "hierarchical"))
    check_integer(where, "domain_size", domain_size, low=1, high=MAX_POAS)
    if not isinstance(rule, AttachmentRule):
        raise ParameterError(f"{where}: rule must be an AttachmentRule, got {rule!r}")
    out_dir = Path(out_dir)
    check_trace_target(out_dir, overwrite=overwrite,
                       inputs=[p for p in (fcd_path, net) if p is not None])

    samples = read_fcd(fcd_path, fcd_format=fcd_format)
    xy, names, poa_params = _poas(samples, net=net, spacing_m=spacing_m, layout=layout,
                                  poa_csv=poa_csv)
    if architecture == "flat":
        topology = flat_at_positions(xy, names=names, correspondents=correspondents,
                                     name="sumo-" + poa_params["poas"])
    else:
        topology = domains_at_positions(xy, names=names, domain_size=domain_size,
                                        correspondents=correspondents,
                                        name="sumo-" + poa_params["poas"])
    step_ns = samples.step_ns() if step_s is None else seconds_to_ns(step_s, what="step_s", low_ns=1)
    tr = tracks(samples, step_ns=step_ns, max_speed_mps=max_speed_mps)
    poa_ids = topology.nodes_with_role("poa")
    mobility = attach_tracks(tr, poa_ids=poa_ids, poa_xy=xy, rule=rule)
    if mobility.height == 0:
        raise _error(f"no vehicle ever came within range_m = {rule.range_m:g} m of a PoA; "
                     "nothing to import (raise the range or place PoAs along the roads)",
                     file=fcd_path)
    counts = _mobility_counts(mobility)
    trace_name = name if name is not None else out_dir.resolve().name
    params: dict[str, Any] = {
        "fcd": fcd_path.name, "fcd_sha256": file_sha256(fcd_path), "fcd_format": samples.format,
        **poa_params,
        **rule.params(),
        "max_speed_mps": float(max_speed_mps),
        "step_s": step_ns / NS_PER_S,
        "step_from": "fcd" if step_s is None else "given",
        "correspondents": correspondents,
        "architecture": architecture,
        **({"domain_size": domain_size} if architecture == "hierarchical" else {}),
        "packet_file": packet_file,
        "mn_names": MN_NAMES_FILE,
        "vehicles": len(samples.vehicles), "samples": samples.n_samples,
        "skipped_persons": samples.skipped, "teleport_jumps": tr.jumps,
        "teleport_gaps": tr.gaps, "vehicles_left": tr.leaves,
        **counts,
        "topology": dict(topology.params or {}),
    }
    summary = (f"{len(samples.vehicles)} vehicles of SUMO FCD {fcd_path.name} over "
               f"{len(names)} PoAs ({poa_params['poas']}"
               + (f", {float(spacing_m):g} m" if spacing_m is not None else "") + "); "
               f"{counts['handovers']} handovers, {tr.jumps + tr.gaps} teleports.")
    path = write_imported(
        out_dir, name=trace_name, topology=topology, mobility=mobility, traffic=traffic,
        seed=seed, generator=GENERATOR, params=params, packets=packet_file,
        overwrite=overwrite, t_end=int(samples.t.max()),
        description=description if description is not None else summary,
        source=f"SUMO floating-car data {fcd_path.name} (sha256 {params['fcd_sha256']})",
    )
    write_mn_names(path / MN_NAMES_FILE, samples.vehicles)
    return path


def _mobility_counts(mobility: pl.DataFrame) -> dict[str, int]:
    previous = pl.col("poa").shift(1).over("mn")
    counts = mobility.select(
        attaches=((pl.col("poa") >= 0) & (previous.is_null() | (previous < 0))).sum(),
        handovers=((pl.col("poa") >= 0) & (previous >= 0)).sum(),
        detaches=(pl.col("poa") < 0).sum(),
    ).row(0, named=True)
    return {"mobility_rows": mobility.height, **{k: int(v) for k, v in counts.items()}}


def write_mn_names(path: Path, vehicles: Sequence[str]) -> None:
    """``mn,vehicle``: the SUMO id of every MN."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["mn", "vehicle"])
        writer.writerows(enumerate(vehicles))
