"""Traffic: flows for the MNs of a mobility trace, and their packets.

``TrafficModel`` holds every parameter; ``realise(mobility, topology, t_end=, seed=)`` draws
the flows and streams their packets; ``write_with_traffic`` writes a whole trace. Importers
(mobility from elsewhere) and the synthetic generator share it, so a flow means the same
thing whatever moved the MNs.

Model
- **When flows may start**: only while the MN is attached. Its *attached windows* come from
  the mobility rows: from a row with a PoA after a detached state (an MN starts detached) to
  1 ns before its next detach (−1), or to ``t_end``. A flow is clipped at the end of the
  window it starts in, so it ends before its MN leaves.
- **Arrivals** (registry ``ARRIVALS``): ``poisson``, a Poisson process over attached time;
  ``onoff``, each MN alternates exponential on and off periods (means ``on_mean_s``,
  ``off_mean_s``; the first period is on with probability on / (on + off), so the process is
  stationary from 0) and flows arrive as a Poisson process during on periods only. The
  on/off state does not depend on attachment; arrivals need both.
- **Rate**: with ``packets`` given, the rate is calibrated so that the trace holds exactly
  that many packets. Arrivals are drawn as one Poisson process on (attached time × rate
  level): the points below a level λ are exactly a Poisson process of rate λ per attached
  MN-second (thinned to the on periods for ``onoff``), and λ is the level of the flow during
  which the cumulative packet count reaches ``packets``; that flow is cut short at the packet
  that reaches it. Without ``packets``, λ is set from ``flows_per_mn_hour``, the long-run
  average (for ``onoff`` the rate while on is higher by (on + off) / on).
- **Flow**: the application is drawn from ``apps`` by ``share`` (it sets ``continuity``:
  voice and video calls need their address kept, web fetches do not); the peer among the
  topology's ``cn`` nodes that are not local to a site by Zipf popularity (exponent
  ``zipf_exponent``; the ``cn`` with the lowest id is the most popular), and with
  probability ``local_peer_share`` one of the site's own correspondents for a flow started
  at a PoA of a site (``local_peers``); with probability ``mn_peer_share`` another MN
  instead (``mn_peers``: an MN-to-MN flow, ``peer`` null and ``peer_mn`` set); the address type the application asks for, if any; the downlink bytes from the application's size law
  (``SIZE_LAWS``: lognormal, Pareto, or an empirical CDF file).
- **Packets** (written to ``packets.parquet``): downlink packets of ``down_bytes`` (the last
  one carries the remainder, at least 20 bytes) leave every ``⌊10⁹/rate_pps⌋`` ns from the
  start; one uplink packet of ``up_bytes`` follows every ``up_every`` downlink packets, half
  an interval later. A flow's duration follows from its size and rate. Packets are
  closed-form per flow, so they are generated window by window in time (each window
  vectorised over the flows active in it, about one row group each): memory is
  O(flows + one window), never O(packets). Without ``packets.parquet``
  (``write_with_traffic(packets=False)``) the flows keep ``rate_pps`` and ``size`` (the
  application's downlink packet size) and the engines synthesise packets with the rule of
  ``dmmemu.trace.packet_synthesis`` instead.

Randomness: ``seed`` is a root ``numpy.random.SeedSequence`` (or an int for one), spawned
into one stream for the flows, one for the on/off periods, one for the local peers and one
for the MN peers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import polars as pl

from dmmemu.engine.flow_classes import ADDRESS_TYPES
from dmmemu.engine.replay_io import MIN_PACKET_BYTES
from dmmemu.model_params import (
    NS_PER_S,
    ParameterError,
    check_choice,
    check_integer,
    check_known_keys,
    check_number,
    toml_values,
)
from dmmemu.topology.graph import Topology
from dmmemu.trace.packet_synthesis import window_bounds

MAX_PACKET_BYTES = 65535
MIN_RATE_PPS = 1e-3  # keeps every packet time of a flow far inside int64
MAX_RATE_PPS = 1e6  # an interval of at least 1 µs: uplink packets never tie with downlink
MAX_UP_EVERY = 10_000
MAX_FLOW_BYTES = 2**50  # cap on a drawn size (Pareto tails); far beyond any trace's clip
DIR_UP = 0
DIR_DOWN = 1
FLOW_BATCH = 8192  # flows drawn per batch while calibrating the arrival rate
WINDOW_PACKETS = 1_000_000  # packets generated per time window (about one row group)
ROW_GROUP_ROWS = 1_000_000
ONOFF_CELLS = 4_000_000  # MN × on/off periods drawn at once
SIZE_COLUMN = "size"
SHARE_COLUMN = "cumulative_share"


class SizeCdfError(ParameterError):
    """An empirical size-CDF file is unreadable or invalid (names file, line or row, field)."""

    def __init__(self, file: str | Path, where: str | None, field_name: str | None,
                 message: str) -> None:
        parts = [str(file)] + [p for p in (where, None if field_name is None
                                           else f"field {field_name!r}") if p]
        super().__init__(f"{', '.join(parts)}: {message}")
        self.file = str(file)
        self.where = where
        self.field = field_name


# -------------------------------------------------------------------- flow size laws
@dataclass(frozen=True, slots=True, kw_only=True)
class LogNormalSize:
    """Lognormal bytes: ``scale`` is the median, ``shape`` the σ of the log."""

    scale: float
    shape: float

    def sample(self, normal: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        return self.scale * np.exp(self.shape * normal)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        z = np.log(np.maximum(x, 1e-300) / self.scale) / (self.shape * math.sqrt(2.0))
        return np.where(x > 0, 0.5 * (1.0 + _erf(z)), 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParetoSize:
    """Pareto (type I) bytes: ``scale`` is the minimum, ``shape`` the tail index α."""

    scale: float
    shape: float

    def sample(self, normal: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        return self.scale * (1.0 - uniform) ** (-1.0 / self.shape)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.where(x > self.scale, 1.0 - (self.scale / np.maximum(x, self.scale))
                        ** self.shape, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmpiricalSize:
    """Bytes from an empirical CDF: knots (size, cumulative share), linear in between.

    ``P(size ≤ sizes[0]) = shares[0]`` (an atom at the first size when that share is > 0);
    sampling inverts the CDF: ``u`` uniform becomes ``np.interp(u, shares, sizes)``."""

    sizes: np.ndarray  # float64, strictly increasing, > 0
    shares: np.ndarray  # float64, non-decreasing in [0, 1], the last exactly 1

    def sample(self, normal: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        return np.interp(uniform, self.shares, self.sizes)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(x, dtype=np.float64), self.sizes, self.shares,
                         left=0.0, right=1.0)

    @classmethod
    def read(cls, path: str | Path) -> "EmpiricalSize":
        """Read a CSV (header ``size,cumulative_share``; lines are named 1-based, the header
        being line 1) or Parquet file (those two columns; rows named 0-based)."""
        path = Path(path)
        if not path.is_file():
            raise SizeCdfError(path, None, None, "no such file; give a CSV or Parquet file "
                               f"with columns {SIZE_COLUMN!r} and {SHARE_COLUMN!r}")
        if path.suffix.lower() in (".parquet", ".pq"):
            sizes, shares, names = _read_cdf_parquet(path)
        else:
            sizes, shares, names = _read_cdf_csv(path)
        _check_cdf(path, sizes, shares, names)
        shares = shares.copy()
        shares[-1] = 1.0
        return cls(sizes=sizes, shares=shares)


def _read_cdf_csv(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The CDF of a CSV file, read as every importer reads its rows (``read_rows``: the
    separator from the header, blank lines skipped, lines numbered from the header's 1)."""
    import polars as pl

    from dmmemu.errors import TraceError
    from dmmemu.importers.source_rows import LINE, read_rows

    try:
        rows = read_rows(path)
    except TraceError as exc:
        located, prefix = exc.file or "", f"{path}, "
        where = located[len(prefix):] if located.startswith(prefix) else None
        raise SizeCdfError(path, where, None, str(exc)[len(located) + 2:] if located
                           else str(exc)) from None
    header = [name for name in rows.columns if name != LINE]
    for name in (SIZE_COLUMN, SHARE_COLUMN):
        if name not in header:
            raise SizeCdfError(path, "line 1", name, f"missing column; the header must name "
                               f"{SIZE_COLUMN!r} and {SHARE_COLUMN!r}, found {header}")
    values = rows.select(LINE, *(pl.col(name).alias(f"_{name}") for name in
                                 (SIZE_COLUMN, SHARE_COLUMN)),
                         *(pl.col(name).cast(pl.Float64, strict=False)
                           for name in (SIZE_COLUMN, SHARE_COLUMN)))
    for row in values.iter_rows(named=True):
        for name in (SIZE_COLUMN, SHARE_COLUMN):
            if row[name] is None:
                raise SizeCdfError(path, f"line {row[LINE]}", name,
                                   f"{row['_' + name] or ''!r} is not a number")
    return (values[SIZE_COLUMN].to_numpy().astype(np.float64),
            values[SHARE_COLUMN].to_numpy().astype(np.float64),
            [f"line {line}" for line in values[LINE].to_list()])


def _read_cdf_parquet(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise SizeCdfError(path, None, None, f"cannot read as Parquet: {exc}") from None
    out = []
    for name in (SIZE_COLUMN, SHARE_COLUMN):
        if name not in table.column_names:
            raise SizeCdfError(path, None, name, f"missing column; columns are "
                               f"{table.column_names}")
        column = table.column(name)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise SizeCdfError(path, None, name, f"must be numeric, found {column.type}")
        nulls = np.asarray(column.is_null().to_numpy(zero_copy_only=False))
        if nulls.any():
            raise SizeCdfError(path, f"row {int(np.argmax(nulls))}", name, "missing value")
        out.append(np.asarray(column.to_numpy(), dtype=np.float64))
    return out[0], out[1], [f"row {i}" for i in range(table.num_rows)]


def _check_cdf(path: Path, sizes: np.ndarray, shares: np.ndarray, names: list[str]) -> None:
    """Finite sizes > 0 strictly increasing; shares in [0, 1], non-decreasing, ending at 1."""
    if sizes.size == 0:
        raise SizeCdfError(path, None, None, "no rows; give at least one (size, "
                           "cumulative_share) row, the last with share 1")

    def first(bad: np.ndarray, name: str, values: np.ndarray, message: str) -> None:
        if bad.any():
            i = int(np.argmax(bad))
            raise SizeCdfError(path, names[i], name, f"value {float(values[i])!r}: {message}")

    first(~np.isfinite(sizes) | (sizes <= 0), SIZE_COLUMN, sizes,
          "sizes must be finite numbers of bytes > 0")
    first(~np.isfinite(shares) | (shares < 0) | (shares > 1), SHARE_COLUMN, shares,
          "cumulative shares must be in [0, 1]")
    first(np.r_[False, sizes[1:] <= sizes[:-1]], SIZE_COLUMN, sizes,
          "sizes must be strictly increasing (the rows are the knots of a CDF)")
    first(np.r_[False, shares[1:] < shares[:-1]], SHARE_COLUMN, shares,
          "cumulative shares must not decrease (a CDF is monotone)")
    if abs(shares[-1] - 1.0) > 1e-6:
        raise SizeCdfError(path, names[-1], SHARE_COLUMN, f"value {shares[-1]!r}: the last "
                           "cumulative share must be 1")


def _lognormal(app: "Application", where: str) -> LogNormalSize:
    return LogNormalSize(scale=app.size_scale, shape=app.size_shape)  # type: ignore[arg-type]


def _pareto(app: "Application", where: str) -> ParetoSize:
    return ParetoSize(scale=app.size_scale, shape=app.size_shape)  # type: ignore[arg-type]


def _empirical(app: "Application", where: str) -> EmpiricalSize:
    return EmpiricalSize.read(app.size_file)  # type: ignore[arg-type]


# Name → (builder from an Application's size_* fields, the fields that law uses).
SIZE_LAWS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "lognormal": (_lognormal, ("size_scale", "size_shape")),
    "pareto": (_pareto, ("size_scale", "size_shape")),
    "empirical": (_empirical, ("size_file",)),
}

_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _erf(z: np.ndarray) -> np.ndarray:
    return np.asarray(_erf_scalar(z), dtype=np.float64)


# -------------------------------------------------------------------- applications
@dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    """One kind of flow: its share of flows, whether it needs session continuity, its size
    law (downlink bytes) and its packet pattern. A relative ``size_file`` is read from the
    working directory, once, when the application is built."""

    share: float  # relative weight among the applications (normalised)
    continuity: bool  # recorded in flows.parquet: the flow needs its address kept
    size_law: str  # a key of SIZE_LAWS
    size_scale: float | None = None  # bytes: lognormal median, Pareto minimum
    size_shape: float | None = None  # lognormal σ, Pareto tail index α
    size_file: str | None = None  # empirical: CSV or Parquet (size, cumulative_share)
    rate_pps: float  # downlink packets per second while the flow lasts
    down_bytes: int = 1400  # IP bytes of a downlink packet (the last carries the remainder)
    up_every: int = 2  # one uplink packet after every `up_every` downlink packets
    up_bytes: int = 52  # IP bytes of an uplink packet (a TCP ack with timestamps: 20 + 32)
    address_type: str | None = None  # the RFC 8653 address type it asks for (None: none)
    law: Any = field(init=False, repr=False, compare=False)  # the size law, built once

    def __post_init__(self) -> None:
        where = "Application"
        check_number(where, "share", self.share, low=0.0)
        if not isinstance(self.continuity, (bool, np.bool_)):
            raise ParameterError(f"{where}: continuity must be true or false, "
                                 f"got {self.continuity!r}")
        check_choice(where, "size_law", self.size_law, SIZE_LAWS)
        build, used = SIZE_LAWS[self.size_law]
        for name in ("size_scale", "size_shape", "size_file"):
            given = getattr(self, name) is not None
            if given != (name in used):
                raise ParameterError(
                    f"{where}: size_law {self.size_law!r} takes {' and '.join(used)}; "
                    f"{name} {'must not be given' if given else 'is missing'}")
        if "size_scale" in used:
            check_number(where, "size_scale", self.size_scale, low=1.0)
            check_number(where, "size_shape", self.size_shape, low=0.0, strict=True)
        if self.size_file is not None and not isinstance(self.size_file, str):
            raise ParameterError(f"{where}: size_file must be a path string, got "
                                 f"{self.size_file!r}")
        check_number(where, "rate_pps", self.rate_pps, low=MIN_RATE_PPS, high=MAX_RATE_PPS)
        for name in ("down_bytes", "up_bytes"):
            check_integer(where, name, getattr(self, name), low=MIN_PACKET_BYTES,
                          high=MAX_PACKET_BYTES)
        check_integer(where, "up_every", self.up_every, low=1, high=MAX_UP_EVERY)
        if self.address_type is not None:
            check_choice(where, "address_type", self.address_type, ADDRESS_TYPES)
        object.__setattr__(self, "law", build(self, where))

    def sample_bytes(self, normal: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """Flow sizes (int64 bytes, ≥ 1) from standard normal and uniform variates."""
        size = self.law.sample(normal, uniform)
        return np.ceil(np.clip(size, 1.0, float(MAX_FLOW_BYTES))).astype(np.int64)

    def size_cdf(self, x: np.ndarray) -> np.ndarray:
        """P(size ≤ x) of the size law before rounding up to whole bytes."""
        return np.asarray(self.law.cdf(x), dtype=np.float64)

    def interval_ns(self) -> int:
        """Time between two downlink packets: ⌊10⁹ / rate_pps⌋ ns."""
        return int(math.floor(NS_PER_S / float(self.rate_pps)))

    def params(self) -> dict[str, Any]:
        return toml_values(self)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], where: str = "Application") -> "Application":
        check_known_keys(where, params, cls)
        required = [f.name for f in dataclasses.fields(cls) if f.init
                    and f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
        missing = [name for name in required if name not in params]
        if missing:
            raise ParameterError(f"{where}: an application needs {', '.join(missing)} too")
        return cls(**params)


# Flow mix after typical traffic-mix figures: many short web transfers without continuity,
# streaming video, voice calls (G.711, 20 ms packets: 160 B payload + 40 B IP/UDP/RTP, both
# ways) and a few bulk transfers with very heavy tails.
DEFAULT_APPS: Mapping[str, Application] = MappingProxyType({
    "web": Application(share=0.60, continuity=False, size_law="lognormal",
                       size_scale=50_000.0, size_shape=1.3, rate_pps=200.0),
    "video": Application(share=0.25, continuity=True, size_law="pareto",
                         size_scale=1_000_000.0, size_shape=1.5, rate_pps=250.0, up_every=4),
    "voice": Application(share=0.10, continuity=True, size_law="lognormal",
                         size_scale=300_000.0, size_shape=1.0, rate_pps=50.0, down_bytes=200,
                         up_every=1, up_bytes=200),
    "bulk": Application(share=0.05, continuity=True, size_law="pareto",
                        size_scale=1_000_000.0, size_shape=1.3, rate_pps=800.0),
})


# -------------------------------------------------------------------- arrival processes
class PoissonArrivals:
    """Flows arrive as a Poisson process over attached time: every point is kept."""

    on_fraction = 1.0

    def __init__(self, model: "TrafficModel", rng: np.random.Generator, n_mns: int,
                 t_end: int) -> None:
        pass

    def keep(self, mn: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.ones(mn.size, dtype=bool)


class OnOffArrivals:
    """Each MN alternates exponential on and off periods; flows arrive only while on."""

    def __init__(self, model: "TrafficModel", rng: np.random.Generator, n_mns: int,
                 t_end: int) -> None:
        on_ns, off_ns = model.on_mean_s * NS_PER_S, model.off_mean_s * NS_PER_S
        self.on_fraction = on_ns / (on_ns + off_ns)
        self.first_on = rng.random(n_mns) < self.on_fraction
        # Switch times per MN (CSR): periods are drawn in rounds until every MN passes t_end.
        per_round = int(min(2 * t_end / (on_ns + off_ns) + 8,
                            max(8, ONOFF_CELLS // max(n_mns, 1))))
        clock = np.zeros(n_mns)
        on = self.first_on.copy()
        parts: list[np.ndarray] = []
        while (clock <= t_end).any():
            scale = np.where(on[:, None] ^ (np.arange(per_round) % 2 == 1), on_ns, off_ns)
            times = clock[:, None] + np.cumsum(rng.exponential(scale), axis=1)
            parts.append(times)
            clock = times[:, -1]
            on = on ^ (per_round % 2 == 1)
        switches = np.hstack(parts)
        below = switches <= t_end
        self.count = below.sum(axis=1)  # rows are increasing: the first `count` are ≤ t_end
        self.offset = np.r_[0, np.cumsum(self.count)[:-1]].astype(np.int64)
        self.switch = np.ceil(switches[below]).astype(np.int64)  # row-major: by MN, in time

    def keep(self, mn: np.ndarray, t: np.ndarray) -> np.ndarray:
        """True where MN ``mn`` is on at ``t`` (a switch at t takes effect at t)."""
        lo = self.offset[mn]
        hi = lo + self.count[mn]
        while (active := lo < hi).any():  # lo: first switch of the MN later than t
            mid = (lo + hi) // 2
            later = self.switch[np.minimum(mid, self.switch.size - 1)] > t
            hi = np.where(active & later, mid, hi)
            lo = np.where(active & ~later, mid + 1, lo)
        passed = lo - self.offset[mn]
        return self.first_on[mn] ^ (passed % 2 == 1)


ARRIVALS: dict[str, type] = {"poisson": PoissonArrivals, "onoff": OnOffArrivals}


# -------------------------------------------------------------------- the model
@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficModel:
    """Flows per MN: arrivals, peers, applications (see the module docstring)."""

    arrivals: str = "poisson"  # a key of ARRIVALS
    on_mean_s: float = 60.0  # onoff: mean on period
    off_mean_s: float = 120.0  # onoff: mean off period
    packets: int | None = None  # calibrate the rate to exactly this many packets
    flows_per_mn_hour: float = 60.0  # the rate when `packets` is not given (long-run mean)
    zipf_exponent: float = 1.0  # correspondent popularity ∝ rank^-s (0: uniform)
    local_peer_share: float = 0.0  # flows started at a local site that go to its own peers
    mn_peer_share: float = 0.0  # flows that go to another MN (MN-to-MN flows)
    apps: Mapping[str, Application] = field(default_factory=lambda: DEFAULT_APPS)

    def __post_init__(self) -> None:
        where = "TrafficModel"
        check_choice(where, "arrivals", self.arrivals, ARRIVALS)
        check_number(where, "on_mean_s", self.on_mean_s, low=1e-6)
        check_number(where, "off_mean_s", self.off_mean_s, low=0.0)
        if self.packets is not None:
            check_integer(where, "packets", self.packets, low=1, high=2**62)
        check_number(where, "flows_per_mn_hour", self.flows_per_mn_hour, low=0.0, strict=True)
        check_number(where, "zipf_exponent", self.zipf_exponent, low=0.0)
        check_number(where, "local_peer_share", self.local_peer_share, low=0.0, high=1.0)
        check_number(where, "mn_peer_share", self.mn_peer_share, low=0.0, high=1.0)
        if not isinstance(self.apps, Mapping) or not self.apps:
            raise ParameterError(f"{where}: apps must be a non-empty mapping of name to "
                                 "Application")
        for key, app in self.apps.items():
            if not isinstance(key, str) or not key:
                raise ParameterError(f"{where}: application names must be non-empty strings, "
                                     f"got {key!r}")
            if not isinstance(app, Application):
                raise ParameterError(f"{where}: apps[{key!r}] must be an Application, got "
                                     f"{type(app).__name__}")
        if sum(app.share for app in self.apps.values()) <= 0:
            raise ParameterError(f"{where}: the application shares sum to 0; give at least "
                                 "one a positive share")
        object.__setattr__(self, "apps", MappingProxyType(dict(self.apps)))

    # ---------------------------------------------------------------- parameters
    def params(self) -> dict[str, Any]:
        """TOML-ready values (``apps`` as tables)."""
        out = toml_values(self)
        out["apps"] = {key: app.params() for key, app in self.apps.items()}
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any],
                    where: str = "TrafficModel") -> "TrafficModel":
        """Build from TOML-style values; unknown keys are an error naming the key."""
        check_known_keys(where, params, cls)
        params = dict(params)
        if "apps" in params:
            apps = params["apps"]
            if not isinstance(apps, Mapping):
                raise ParameterError(f"{where}: apps must be a table of applications")
            params["apps"] = {
                key: app if isinstance(app, Application)
                else Application.from_params(app, where=f"{where}: apps.{key}")
                for key, app in apps.items()
            }
        return cls(**params)

    def with_(self, **changes: Any) -> "TrafficModel":
        return dataclasses.replace(self, **changes)

    def describe(self, realisation: "TrafficRealisation") -> str:
        kind = ("Poisson" if self.arrivals == "poisson"
                else f"on/off {self.on_mean_s:g}/{self.off_mean_s:g} s")
        return (f"{realisation.flows.height} flows ({kind}, "
                f"{realisation.flow_rate_per_mn_s * 3600:.3g} per MN-hour), "
                f"{realisation.n_packets} packets")

    # ---------------------------------------------------------------- realisation
    def realise(self, mobility: pl.DataFrame | pl.LazyFrame, topology: Topology, *,
                t_end: int, seed: int | np.random.SeedSequence | None
                ) -> "TrafficRealisation":
        """Draw the flows of the MNs of ``mobility`` (rows ``t``, ``mn``, ``poa``) until
        ``t_end`` (ns); packets are streamed by the result."""
        if isinstance(mobility, pl.LazyFrame):
            mobility = mobility.collect()
        # Correspondents local to a site are reached only by flows started there.
        cns = np.array([c for c in topology.nodes_with_role("cn")
                        if not topology.nodes[c].local_to], np.int32)
        if cns.size == 0:
            raise ParameterError("TrafficModel: the topology has no 'cn' node (that is not "
                                 "local to a site) to be a peer")
        if isinstance(t_end, bool) or not isinstance(t_end, (int, np.integer)) or t_end < 0:
            raise ParameterError(f"TrafficModel: t_end must be an int >= 0 (ns), got {t_end!r}")
        root = seed if isinstance(seed, np.random.SeedSequence) \
            else np.random.SeedSequence(seed)
        # spawn(2) and spawn(3) gave the first ones
        flows_ss, onoff_ss, local_ss, mn_peer_ss = root.spawn(4)
        w_mn, w_start, w_end = attached_windows(mobility, int(t_end))
        n_mns = int(mobility["mn"].max()) + 1 if mobility.height else 0
        arrivals = ARRIVALS[self.arrivals](self, np.random.default_rng(onoff_ss), n_mns,
                                           int(t_end))
        drawn = _draw_flows(self, np.random.default_rng(flows_ss), w_mn, w_start, w_end, cns,
                            arrivals)
        flows = drawn.flows
        if self.local_peer_share > 0:
            flows = flows.with_columns(peer=local_peers(
                flows, mobility, topology, self.local_peer_share,
                np.random.default_rng(local_ss)))
        if self.mn_peer_share > 0:
            local = [c for c in topology.nodes_with_role("cn") if topology.nodes[c].local_to]
            flows = mn_peers(flows, mobility, self.mn_peer_share, local,
                             np.random.default_rng(mn_peer_ss))
        return dataclasses.replace(drawn, flows=flows)


# How far back mn_peers looks for the other MN: the latest attaching mobility rows.
RECENT_ROWS = 64


def mn_peers(flows: pl.DataFrame, mobility: pl.DataFrame, share: float, local: list[int],
             rng: np.random.Generator) -> pl.DataFrame:
    """The flows with a ``share`` of them (not those to a site's own correspondents) sent to
    another MN: the MN of one of the ``RECENT_ROWS`` latest mobility rows before the flow
    starts that attach an MN (uniformly), so the other end is one that was attached a
    moment ago; ``peer`` becomes null and ``peer_mn`` names it (none found: unchanged)."""
    rows = mobility.filter(pl.col("poa") >= 0).sort("t", maintain_order=True)
    t_rows, mn_rows = rows["t"].to_numpy(), rows["mn"].to_numpy().astype(np.int64)
    chosen = rng.random(flows.height) < share  # one draw per flow, kept or not
    where = rng.random(flows.height)
    chosen &= ~flows["peer"].is_in(local).to_numpy()
    last = np.searchsorted(t_rows, flows["start"].to_numpy(), side="right") - 1
    pick = last - (where * np.clip(last + 1, 1, RECENT_ROWS)).astype(np.int64)
    own = flows["mn"].to_numpy().astype(np.int64)
    other = np.where(pick >= 0, mn_rows[np.maximum(pick, 0)], -1)
    chosen &= (pick >= 0) & (other != own)
    to_mn = pl.Series(chosen)
    return flows.with_columns(
        peer=pl.when(to_mn).then(None).otherwise(pl.col("peer")),
        peer_mn=pl.when(to_mn).then(pl.Series(np.maximum(other, 0), dtype=pl.UInt32))
        .otherwise(None))


def local_peers(flows: pl.DataFrame, mobility: pl.DataFrame, topology: Topology, share: float,
                rng: np.random.Generator) -> pl.Series:
    """The flows' peers, where a ``share`` of the flows that start while their MN is at a
    PoA of a site (an area some correspondent is ``local_to``) go to one of that site's
    correspondents instead (uniformly; a PoA in several such sites takes the first)."""
    local = topology.local_peers()
    site_peers = np.full(topology.n_nodes, -1, np.int64)  # per PoA: index into `sites`
    sites = sorted(local)
    for p in topology.nodes_with_role("poa"):
        for area in topology.nodes[p].areas:
            if area in local:
                site_peers[p] = sites.index(area)
                break
    at = (flows.select("flow", "mn", "start").with_row_index("row").sort("start")
          .join_asof(mobility.select("t", "mn", "poa").sort("t"), left_on="start",
                     right_on="t", by="mn", strategy="backward", check_sortedness=False)
          .sort("row")["poa"].fill_null(-1).to_numpy())
    site = np.where(at >= 0, site_peers[np.maximum(at, 0)], -1)
    chosen = rng.random(flows.height) < share  # one draw per flow, kept or not
    pick = rng.random(flows.height)
    peer = flows["peer"].to_numpy().copy()
    for k, name in enumerate(sites):  # per site, not per flow
        moved = chosen & (site == k)
        candidates = np.array(local[name], np.int64)
        peer[moved] = candidates[(pick[moved] * candidates.size).astype(np.int64)]
    return pl.Series("peer", peer, pl.UInt32)


def attached_windows(mobility: pl.DataFrame, t_end: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mn, first ns, last ns) of every attached stretch, sorted by (mn, start): from a row
    with a PoA after a detached state to 1 ns before the next detach, or ``t_end``."""
    mob = mobility.select("t", "mn", "poa").with_row_index("_row")
    mob = mob.sort("mn", "t", "_row")
    t = mob["t"].to_numpy().astype(np.int64)
    mn = mob["mn"].to_numpy().astype(np.int64)
    attached = mob["poa"].to_numpy() >= 0
    first = np.r_[True, mn[1:] != mn[:-1]]
    before = np.r_[False, attached[:-1]] & ~first
    change = np.flatnonzero(attached != before)  # alternately: attach, detach (per MN)
    is_start = attached[change]
    starts = change[is_start]
    nxt = np.searchsorted(change, starts, side="right")  # the change after each attach
    has_end = nxt < change.size
    nxt_row = change[np.minimum(nxt, change.size - 1)]
    closes = has_end & (mn[nxt_row] == mn[starts])
    end = np.where(closes, t[nxt_row] - 1, t_end)
    start = t[starts]
    end = np.minimum(end, t_end)
    keep = end >= start
    return mn[starts][keep], start[keep], end[keep]


# -------------------------------------------------------------------- drawing flows
def _draw_flows(model: TrafficModel, rng: np.random.Generator, w_mn: np.ndarray,
                w_start: np.ndarray, w_end: np.ndarray, cns: np.ndarray,
                arrivals: PoissonArrivals | OnOffArrivals) -> "TrafficRealisation":
    names = list(model.apps)
    apps = [model.apps[key] for key in names]
    shares = np.array([app.share for app in apps], np.float64)
    shares /= shares.sum()
    ranks = np.arange(1, cns.size + 1, dtype=np.float64)
    popularity = ranks ** -model.zipf_exponent
    popularity /= popularity.sum()
    width = w_end - w_start + 1  # ns instants at which a flow may start
    cum = np.cumsum(width)
    total_ns = int(cum[-1]) if cum.size else 0
    if total_ns == 0:
        raise ParameterError("TrafficModel: no MN is ever attached before t_end; flows need "
                             "attached time")
    if total_ns >= 2**62:
        raise ParameterError("TrafficModel: MNs × duration is too large (attached time "
                             "must stay below 2^62 ns)")
    total_s = total_ns / NS_PER_S
    target = model.packets
    rate_cap = (model.flows_per_mn_hour / 3600.0 / arrivals.on_fraction
                if target is None else math.inf)
    table = _AppTable(apps)
    parts: list[dict[str, np.ndarray]] = []
    level = 0.0  # rate level (flows per attached MN-second while on) reached so far
    packets = 0
    while True:
        gaps = rng.standard_exponential(FLOW_BATCH)
        where = rng.integers(0, total_ns, size=FLOW_BATCH)
        app = rng.choice(len(apps), size=FLOW_BATCH, p=shares)
        peer = cns[rng.choice(cns.size, size=FLOW_BATCH, p=popularity)]
        normal = rng.standard_normal(FLOW_BATCH)
        uniform = rng.random(FLOW_BATCH)
        levels = level + np.cumsum(gaps) / total_s
        w = np.searchsorted(cum, where, side="right")
        start = w_start[w] + (where - (cum[w] - width[w]))
        keep = arrivals.keep(w_mn[w], start) & (levels <= rate_cap)
        batch_level = float(levels[-1])
        w, start, app, peer = w[keep], start[keep], app[keep], peer[keep]
        normal, uniform, levels = normal[keep], uniform[keep], levels[keep]
        size = table.sample_bytes(app, normal, uniform)
        plan = table.plan(app, size, start, w_end[w])
        counted = packets + np.cumsum(plan["count"])
        batch = {"mn": w_mn[w], "peer": peer, "start": start, "app": app, "size": size,
                 "level": levels, **plan}
        if target is None:
            parts.append(batch)
            level = batch_level
            if level > rate_cap:
                break
            continue
        if counted.size == 0 or counted[-1] < target:
            parts.append(batch)
            level = batch_level
            packets = int(counted[-1]) if counted.size else packets
            continue
        last = int(np.searchsorted(counted, target))  # counted[last] ≥ target
        batch = {key: value[: last + 1] for key, value in batch.items()}
        below = packets if last == 0 else int(counted[last - 1])
        if counted[last] > target:  # the budget runs out inside this flow
            cut = table.cut_time(int(batch["app"][last]), int(batch["start"][last]),
                                 target - below)
            one = slice(last, last + 1)
            short = table.plan(batch["app"][one], batch["size"][one], batch["start"][one],
                               np.array([cut], np.int64))
            for key, value in short.items():
                batch[key][last] = value[0]
        parts.append(batch)
        level = float(batch["level"][-1])
        break
    drawn = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    if target is None:
        level = rate_cap
    order = np.lexsort((drawn["mn"], drawn["start"]))  # flow ids in start order
    drawn = {key: value[order] for key, value in drawn.items()}
    n_flows = order.size
    flow_ids = np.arange(n_flows, dtype=np.uint64)
    code = drawn["app"]
    flows = pl.DataFrame({
        "flow": flow_ids,
        "mn": drawn["mn"].astype(np.uint32),
        "peer": drawn["peer"].astype(np.uint32),
        "start": drawn["start"].astype(np.int64),
        "end": drawn["end"].astype(np.int64),
        "continuity": np.array([app.continuity for app in apps], dtype=bool)[code],
        "app": pl.Series("app", np.array(names, dtype=object)[code], dtype=pl.String),
        "rate_pps": np.array([float(app.rate_pps) for app in apps])[code],
        "size": pl.Series("size", table.down_bytes[code].astype(np.uint16), dtype=pl.UInt16),
    })
    if any(app.address_type is not None for app in apps):  # else no flow asks: no column
        flows = flows.with_columns(address_type=pl.Series(
            "address_type", np.array([app.address_type for app in apps], dtype=object)[code],
            dtype=pl.String))
    return TrafficRealisation(flows=flows, flow_bytes=drawn["size"],
                              flow_rate_per_mn_s=level * arrivals.on_fraction,
                              streams=_Streams.build(flow_ids, drawn, table))


# -------------------------------------------------------------------- per-flow packet plan
class _AppTable:
    """The applications as arrays indexed by application code."""

    def __init__(self, apps: Sequence[Application]) -> None:
        self.apps = list(apps)
        self.interval = np.array([app.interval_ns() for app in apps], np.int64)
        self.down_bytes = np.array([app.down_bytes for app in apps], np.int64)
        self.up_every = np.array([app.up_every for app in apps], np.int64)
        self.up_bytes = np.array([app.up_bytes for app in apps], np.int64)

    def sample_bytes(self, app: np.ndarray, normal: np.ndarray,
                     uniform: np.ndarray) -> np.ndarray:
        size = np.empty(app.size, np.int64)
        for code, spec in enumerate(self.apps):
            mask = app == code
            size[mask] = spec.sample_bytes(normal[mask], uniform[mask])
        return size

    def cut_time(self, app: int, start: int, packets: int) -> int:
        """Time of the ``packets``-th packet (≥ 1) of a flow of ``app`` starting at ``start``,
        were it never to end (the flow's sizes and clip limit only lower its count)."""
        ivl = int(self.interval[app])
        up_period = int(self.up_every[app]) * ivl
        up0 = start + up_period - ivl + ivl // 2
        lo, hi = start, start + (packets - 1) * ivl  # `packets` downlink ones by then
        while lo < hi:  # the smallest t with at least `packets` packets in [start, t]
            mid = (lo + hi) // 2
            sent = (mid - start) // ivl + 1 + ((mid - up0) // up_period + 1 if mid >= up0 else 0)
            if sent >= packets:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def plan(self, app: np.ndarray, size: np.ndarray, start: np.ndarray,
             limit: np.ndarray) -> dict[str, np.ndarray]:
        """Packet streams of flows starting at ``start`` and clipped at ``limit`` (≥ start).

        Downlink packet j is at ``start + j·ivl``; uplink packet i at
        ``up0 + i·up_every·ivl`` with ``up0 = start + (up_every − 1)·ivl + ivl//2``. A flow
        ends at its last packet, or at ``limit`` when it is clipped there."""
        ivl = self.interval[app]
        every = self.up_every[app]
        n_down = (size + self.down_bytes[app] - 1) // self.down_bytes[app]
        n_up = n_down // every
        up0 = start + (every - 1) * ivl + ivl // 2
        up_period = every * ivl
        down = np.minimum(n_down, (limit - start) // ivl + 1)
        up = np.where(limit >= up0, np.minimum(n_up, (limit - up0) // up_period + 1), 0)
        clipped = (down < n_down) | (up < n_up)
        last = np.maximum(start + (down - 1) * ivl,
                          np.where(up > 0, up0 + (up - 1) * up_period, start))
        return {"n_down": n_down, "down": down, "up": up, "count": down + up,
                "end": np.where(clipped, limit, last)}


@dataclass(frozen=True, slots=True)
class _Streams:
    """Every flow as two arithmetic packet sequences (downlink, uplink), ordered by
    (flow id, direction); sequences without packets are dropped."""

    t0: np.ndarray  # int64 first packet time
    period: np.ndarray  # int64
    count: np.ndarray  # int64 packets (after clipping), ≥ 1
    flow: np.ndarray  # uint64
    dir: np.ndarray  # uint8
    size: np.ndarray  # uint16 bytes of every packet but the special one
    special: np.ndarray  # int64 index of the packet that carries `special_size`, -1: none
    special_size: np.ndarray  # uint16

    @classmethod
    def build(cls, flow_ids: np.ndarray, drawn: Mapping[str, np.ndarray],
              table: _AppTable) -> "_Streams":
        app = drawn["app"]
        start = drawn["start"]
        ivl = table.interval[app]
        every = table.up_every[app]
        down_bytes = table.down_bytes[app]
        rest = drawn["size"] - (drawn["n_down"] - 1) * down_bytes
        n = flow_ids.size
        streams = cls(
            t0=_interleave(start, start + (every - 1) * ivl + ivl // 2),
            period=_interleave(ivl, every * ivl),
            count=_interleave(drawn["down"], drawn["up"]),
            flow=_interleave(flow_ids, flow_ids),
            dir=_interleave(np.full(n, DIR_DOWN, np.uint8), np.full(n, DIR_UP, np.uint8)),
            size=_interleave(down_bytes, table.up_bytes[app]).astype(np.uint16),
            special=_interleave(drawn["n_down"] - 1, np.full(n, -1, np.int64)),
            special_size=_interleave(np.maximum(rest, MIN_PACKET_BYTES),
                                     np.zeros(n, np.int64)).astype(np.uint16),
        )
        keep = streams.count > 0
        return cls(*(getattr(streams, f.name)[keep] for f in dataclasses.fields(cls)))

    @property
    def last(self) -> np.ndarray:
        return self.t0 + (self.count - 1) * self.period


def _interleave(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a[0], b[0], a[1], b[1], …`` (one array of twice the length)."""
    return np.stack([a, b], axis=1).reshape(2 * len(a))


# -------------------------------------------------------------------- realisation
@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficRealisation:
    """One draw of a ``TrafficModel``: flows in memory, packets as a stream of windows."""

    flows: pl.DataFrame  # flow, mn, peer, start, end, continuity, app, rate_pps, size
    flow_bytes: np.ndarray  # int64 downlink bytes drawn for each flow (flows' order)
    flow_rate_per_mn_s: float  # long-run flow arrivals per attached MN-second
    streams: _Streams = field(repr=False)

    @property
    def n_packets(self) -> int:
        return int(self.streams.count.sum())

    @property
    def packets(self) -> Iterator[dict[str, np.ndarray]]:
        """A fresh stream of the packets (see ``packet_chunks``)."""
        return self.packet_chunks()

    def packet_chunks(self, window_packets: int = WINDOW_PACKETS
                      ) -> Iterator[dict[str, np.ndarray]]:
        """Packets sorted by (t, flow id, direction), in windows of about
        ``window_packets`` rows (dicts of numpy arrays with the packet columns)."""
        s = self.streams
        if s.count.size == 0:
            return
        last = s.last
        lower = np.int64(-1)  # windows are (lower, upper]
        for upper in window_bounds(s.t0, last, s.count, window_packets):
            active = np.flatnonzero((s.t0 <= upper) & (last > lower))
            yield from _window(s, active, lower, upper)
            lower = upper


def _window(s: _Streams, active: np.ndarray, lower: np.int64, upper: np.int64
            ) -> Iterator[dict[str, np.ndarray]]:
    """The packets with ``lower < t ≤ upper`` of the ``active`` streams, by (t, stream).

    Streams are in (flow id, direction) order, so sorting on (t, stream index) gives the
    file's order. Where the window is narrow enough, one int64 key per packet,
    ``(t − lower − 1) << bits | rank`` (rank of the stream among the active ones), makes
    that a plain sort of unique integers; otherwise a stable sort on t."""
    k_lo = np.maximum((lower - s.t0[active]) // s.period[active] + 1, 0)
    k_hi = np.minimum((upper - s.t0[active]) // s.period[active], s.count[active] - 1)
    n = np.maximum(k_hi - k_lo + 1, 0)
    total = int(n.sum())
    if total == 0:
        return
    m = int(active.size)
    bits = max(m - 1, 1).bit_length()
    rank = np.repeat(np.arange(m, dtype=np.int64), n)
    k = np.arange(total, dtype=np.int64) + np.repeat(k_lo - (np.cumsum(n) - n), n)
    t0 = s.t0[active]
    period = s.period[active]
    t = t0[rank] + k * period[rank]
    if int(upper) - int(lower) < 2 ** (63 - bits):
        key = ((t - (lower + 1)) << bits) | rank
        key.sort()
        rank = key & ((1 << bits) - 1)
        t = (key >> bits) + (lower + 1)
        k = (t - t0[rank]) // period[rank]
    else:
        order = np.argsort(t, kind="stable")
        t, rank, k = t[order], rank[order], k[order]
    idx = active[rank]
    yield {
        "t": t,
        "flow": s.flow[idx],
        "size": np.where(k == s.special[idx], s.special_size[idx], s.size[idx]),
        "dir": s.dir[idx],
    }


# -------------------------------------------------------------------- writing
def write_realisation(path: str | Path, *, name: str, topology: Topology,
                      mobility: pl.DataFrame, realisation: TrafficRealisation,
                      manifest: Mapping[str, Any], packets: bool = True,
                      overwrite: bool = False, progress: bool = False,
                      networks: pl.DataFrame | None = None) -> Path:
    """Write a trace from mobility rows and drawn traffic (``packets.parquet`` only with
    ``packets``, ``networks.parquet`` with ``networks``); a progress bar counts packets when
    asked."""
    from dmmemu.trace.writer import write_trace

    chunks: Iterator[dict[str, np.ndarray]] | None = None
    bar = None
    if packets:
        chunks = realisation.packet_chunks()
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=realisation.n_packets, unit="pkt", unit_scale=True, desc=name)
            chunks = _counting(chunks, bar)
    try:
        return write_trace(path, name=name, topology=topology, mobility=mobility,
                           flows=realisation.flows, packets=chunks, manifest=manifest,
                           row_group_rows=ROW_GROUP_ROWS, overwrite=overwrite,
                           networks=networks)
    finally:
        if bar is not None:
            bar.close()


def write_with_traffic(path: str | Path, *, name: str, topology: Topology,
                       mobility: pl.DataFrame | pl.LazyFrame, traffic: TrafficModel, seed: int,
                       manifest: Mapping[str, Any], packets: bool = True,
                       overwrite: bool = False, t_end: int | None = None,
                       progress: bool = False) -> Path:
    """Draw ``traffic`` for ``mobility`` and write the trace ``path``; returns it.

    ``t_end`` (ns) defaults to the last mobility row's time. The manifest gets the seed and
    the traffic parameters (``[params.traffic]``) added to the caller's keys (``source``,
    ``generator``, ``params``, …). With ``packets=False`` no ``packets.parquet`` is written
    and the engines synthesise packets from the flows' ``rate_pps`` and ``size``.
    """
    check_integer("write_with_traffic", "seed", seed, low=0, high=2**63 - 1)
    if isinstance(mobility, pl.LazyFrame):
        mobility = mobility.collect()
    if t_end is None:
        t_end = int(mobility["t"].max()) if mobility.height else 0
    fields = dict(manifest)
    if "seed" in fields and fields["seed"] != seed:
        raise ParameterError(f"write_with_traffic: manifest seed {fields['seed']!r} differs "
                             f"from seed={seed!r}; give it once")
    params = dict(fields.get("params") or {})
    if "traffic" in params:
        raise ParameterError("write_with_traffic: the manifest's params already hold "
                             "'traffic'; the traffic parameters are recorded there")
    params["traffic"] = traffic.params()
    fields.update(seed=int(seed), params=params)
    real = traffic.realise(mobility, topology, t_end=int(t_end), seed=seed)
    return write_realisation(path, name=name, topology=topology, mobility=mobility,
                             realisation=real, manifest=fields, packets=packets,
                             overwrite=overwrite, progress=progress)


def _counting(chunks: Iterator[dict[str, np.ndarray]], bar: Any
              ) -> Iterator[dict[str, np.ndarray]]:
    for chunk in chunks:
        yield chunk
        bar.update(len(chunk["t"]))
