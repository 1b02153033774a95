"""Synthetic traces: random-waypoint MNs over a grid of PoAs, heavy-tailed flows, packets.

``SyntheticTrace`` holds every parameter of the model (all recorded in ``trace.toml``);
``generate(out_dir)`` writes a complete trace through ``dmmemu.trace_writer.write_trace``.

Model
- **Topology**: a registered generator (``dmmemu.reference_topologies``) and its parameters.
  MNs move over the bounding box of the PoA grid; correspondents are the ``cn`` nodes.
- **Presence**: MNs are attached from time 0, except a ``late_fraction`` of them whose first
  attach is at a uniformly random step; an ``early_fraction`` (drawn independently) detach
  (``poa`` −1) at a uniformly random step after they attach and do not come back.
- **Mobility**: random waypoint from a uniform start in the box (destination uniform in the
  box, speed uniform in ``[speed_min_mps, speed_max_mps]``, then a pause uniform in
  ``[0, pause_max_s]``), position sampled every ``step_s``. An MN attaches to the nearest
  PoA and changes only when another PoA is nearer by more than ``hysteresis_m``. A mobility
  row is written only on a change.
- **Flows**: per MN, a Poisson process of flow arrivals over the time the MN is attached.
  The application is drawn from ``apps`` by ``share``; the peer by Zipf popularity
  (exponent ``zipf_exponent``; the ``cn`` with the lowest id is the most popular); the flow's
  downlink bytes from the application's size law (lognormal or Pareto). Downlink packets of
  ``down_bytes`` (the last one carries the remainder) leave every ``⌊10⁹/rate_pps⌋`` ns from
  the start; one uplink packet of ``up_bytes`` follows every ``up_every`` downlink packets,
  half an interval later. A flow's duration follows from its size and rate; flows are
  clipped where their MN detaches (1 ns before) or at the end of the trace.
- **Calibration**: the arrival rate is set so that the trace holds ``packets`` packets.
  Arrivals are drawn as one Poisson process on (attached time × rate level): the flows below
  a level λ are exactly a Poisson process of rate λ per attached MN-second, and λ is the
  level of the flow during which the cumulative packet count reaches ``packets``. That one
  flow is cut short at the packet that reaches it (as flows are clipped at the end of the
  trace), so the count is exact even when a heavy-tailed flow straddles the target.
- **Packets** are closed-form per flow, so they are generated window by window in time
  (each window vectorised over the flows active in it, about one row group each) and
  written in row groups as they come. Attachment is computed for blocks of MNs over all
  steps, so memory is O(one block + mobility rows + flows + one window), never O(packets).

Randomness follows SPEC 7: one root ``numpy.random.SeedSequence(seed)`` spawned into one
stream per part of the model (presence, motion, traffic), so the mobility of a seed does not
change when only the traffic parameters do. The same seed and parameters give byte-identical
files.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import polars as pl

from .errors import DmmemuError
from .packet_synthesis import window_bounds
from .reference_topologies import TOPOLOGY_GENERATORS, build_generated
from .replay_io import MIN_PACKET_BYTES
from .topology import Topology

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GENERATOR = "dmmemu.synthetic"
NS_PER_S = 1_000_000_000
MAX_PACKET_BYTES = 65535
MIN_RATE_PPS = 1e-3  # keeps every packet time of a flow far inside int64
MAX_RATE_PPS = 1e6  # an interval of at least 1 µs: uplink packets never tie with downlink
MAX_UP_EVERY = 10_000
MAX_FLOW_BYTES = 2**50  # cap on a drawn size (Pareto tails); far beyond any trace's clip
MAX_SEED = 2**63 - 1  # a TOML integer
DIR_UP = 0
DIR_DOWN = 1
FLOW_BATCH = 8192  # flows drawn per batch while calibrating the arrival rate
WINDOW_PACKETS = 1_000_000  # packets generated per time window (about one row group)
ROW_GROUP_ROWS = 1_000_000
MOBILITY_BLOCK_CELLS = 1_000_000  # MN × step positions held at once while attaching


class SyntheticError(DmmemuError, ValueError):
    """A parameter of the synthetic trace generator is invalid."""


# -------------------------------------------------------------------- validation helpers
def _integer(where: str, name: str, value: Any, *, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SyntheticError(f"{where}: {name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise SyntheticError(f"{where}: {name} must be in {low}..{high}, got {value}")


def _number(where: str, name: str, value: Any, *, low: float, high: float = math.inf,
            strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SyntheticError(f"{where}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < low or value > high or (strict and value == low):
        bound = f"> {low}" if strict else f">= {low}"
        if high != math.inf:
            bound += f" and <= {high}"
        raise SyntheticError(f"{where}: {name} must be finite and {bound}, got {value!r}")


def _known_keys(where: str, params: Mapping[str, Any], cls: type) -> None:
    allowed = {f.name for f in dataclasses.fields(cls)}
    for key in params:
        if key not in allowed:
            raise SyntheticError(f"{where}: unknown parameter {key!r}; parameters: "
                                 f"{', '.join(sorted(allowed))}")


# -------------------------------------------------------------------- flow size laws
class LogNormalSize:
    """Lognormal bytes: ``scale`` is the median, ``shape`` the σ of the log."""

    @staticmethod
    def sample(scale: float, shape: float, normal: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        return scale * np.exp(shape * normal)

    @staticmethod
    def cdf(scale: float, shape: float, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        z = np.log(np.maximum(x, 1e-300) / scale) / (shape * math.sqrt(2.0))
        return np.where(x > 0, 0.5 * (1.0 + _float_erf(z)), 0.0)


class ParetoSize:
    """Pareto (type I) bytes: ``scale`` is the minimum, ``shape`` the tail index α."""

    @staticmethod
    def sample(scale: float, shape: float, normal: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        return scale * (1.0 - uniform) ** (-1.0 / shape)

    @staticmethod
    def cdf(scale: float, shape: float, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.where(x > scale, 1.0 - (scale / np.maximum(x, scale)) ** shape, 0.0)


SIZE_LAWS: dict[str, type] = {"lognormal": LogNormalSize, "pareto": ParetoSize}

_erf = np.frompyfunc(math.erf, 1, 1)


def _float_erf(z: np.ndarray) -> np.ndarray:
    return np.asarray(_erf(z), dtype=np.float64)


# -------------------------------------------------------------------- applications
@dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    """One kind of flow: its share of flows, whether it needs session continuity, its size
    law (downlink bytes) and its packet pattern."""

    share: float  # relative weight among the applications (normalised)
    continuity: bool  # recorded in flows.parquet: the flow needs its address kept
    size_law: str  # a key of SIZE_LAWS
    size_scale: float  # bytes: lognormal median, Pareto minimum
    size_shape: float  # lognormal σ, Pareto tail index α
    rate_pps: float  # downlink packets per second while the flow lasts
    down_bytes: int = 1400  # IP bytes of a downlink packet (the last carries the remainder)
    up_every: int = 2  # one uplink packet after every `up_every` downlink packets
    up_bytes: int = 52  # IP bytes of an uplink packet (a TCP ack with timestamps: 20 + 32)

    def __post_init__(self) -> None:
        where = "Application"
        _number(where, "share", self.share, low=0.0)
        if not isinstance(self.continuity, (bool, np.bool_)):
            raise SyntheticError(f"{where}: continuity must be true or false, "
                                 f"got {self.continuity!r}")
        if self.size_law not in SIZE_LAWS:
            raise SyntheticError(f"{where}: size_law {self.size_law!r} is unknown; known: "
                                 f"{', '.join(SIZE_LAWS)}")
        _number(where, "size_scale", self.size_scale, low=1.0)
        _number(where, "size_shape", self.size_shape, low=0.0, strict=True)
        _number(where, "rate_pps", self.rate_pps, low=MIN_RATE_PPS, high=MAX_RATE_PPS)
        for name in ("down_bytes", "up_bytes"):
            _integer(where, name, getattr(self, name), low=MIN_PACKET_BYTES,
                     high=MAX_PACKET_BYTES)
        _integer(where, "up_every", self.up_every, low=1, high=MAX_UP_EVERY)

    def sample_bytes(self, normal: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """Flow sizes (int64 bytes, ≥ 1) from standard normal and uniform variates."""
        law = SIZE_LAWS[self.size_law]
        size = law.sample(self.size_scale, self.size_shape, normal, uniform)
        return np.ceil(np.clip(size, 1.0, float(MAX_FLOW_BYTES))).astype(np.int64)

    def size_cdf(self, x: np.ndarray) -> np.ndarray:
        """P(size ≤ x) of the size law before rounding up to whole bytes."""
        law = SIZE_LAWS[self.size_law]
        return np.asarray(law.cdf(self.size_scale, self.size_shape, x), dtype=np.float64)

    def interval_ns(self) -> int:
        """Time between two downlink packets: ⌊10⁹ / rate_pps⌋ ns."""
        return int(math.floor(NS_PER_S / float(self.rate_pps)))

    @classmethod
    def from_params(cls, params: Mapping[str, Any], where: str = "Application") -> "Application":
        _known_keys(where, params, cls)
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

# Topology parameters used when none are given: an 8 × 8 grid of ARs 150 m apart (about five
# MNs per AR at the default 300 MNs) and 16 correspondents for the Zipf popularity to act on.
DEFAULT_TOPOLOGY_PARAMS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "flat-wifi": MappingProxyType(
        {"rows": 8, "cols": 8, "spacing_m": 150.0, "correspondents": 16}),
    "hierarchical": MappingProxyType(
        {"area_rows": 2, "area_cols": 2, "ar_rows": 4, "ar_cols": 4, "spacing_m": 150.0,
         "correspondents": 16}),
})


# -------------------------------------------------------------------- the generator
@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticTrace:
    """Parameters of a synthetic trace; ``generate`` writes it, ``realise`` draws it in
    memory (without packets, which are streamed)."""

    mns: int = 300  # mobile nodes, ids 0..mns-1
    packets: int = 1_000_000  # target total; the arrival rate is calibrated to reach it
    seed: int | None = 0  # root of every random stream (None: fresh entropy, recorded)
    duration_s: float = 1800.0
    name: str | None = None  # trace name (default: the output directory's name)
    description: str | None = None  # default: a one-line summary of the model
    topology: str = "flat-wifi"  # a key of TOPOLOGY_GENERATORS
    topology_params: Mapping[str, Any] | None = None  # None: DEFAULT_TOPOLOGY_PARAMS
    speed_min_mps: float = 0.5
    speed_max_mps: float = 15.0
    pause_max_s: float = 60.0
    step_s: float = 1.0  # position sampling period
    hysteresis_m: float = 10.0
    late_fraction: float = 0.1  # MNs whose first attach is at a random time
    early_fraction: float = 0.1  # MNs that detach for good at a random time
    zipf_exponent: float = 1.0  # correspondent popularity ∝ rank^-s (0: uniform)
    apps: Mapping[str, Application] = field(default_factory=lambda: DEFAULT_APPS)

    def __post_init__(self) -> None:
        where = "SyntheticTrace"
        _integer(where, "mns", self.mns, low=1, high=2**31 - 2)
        _integer(where, "packets", self.packets, low=1, high=2**62)
        if self.seed is None:
            entropy = np.random.SeedSequence().entropy
            object.__setattr__(self, "seed", int(entropy) % (MAX_SEED + 1))
        _integer(where, "seed", self.seed, low=0, high=MAX_SEED)
        _number(where, "duration_s", self.duration_s, low=0.0, strict=True)
        _number(where, "step_s", self.step_s, low=1e-6)
        if self.duration_s < 2 * self.step_s:
            raise SyntheticError(f"{where}: duration_s ({self.duration_s}) must be at least "
                                 f"two steps (step_s = {self.step_s})")
        if self.duration_s * NS_PER_S > 2**62:
            raise SyntheticError(f"{where}: duration_s {self.duration_s} does not fit int64 ns")
        for name in ("name", "description"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise SyntheticError(f"{where}: {name} must be a string, got {value!r}")
        if self.name is not None and not self.name.strip():
            raise SyntheticError(f"{where}: name is empty; give the trace a name or omit it")
        if self.topology not in TOPOLOGY_GENERATORS:
            raise SyntheticError(f"{where}: topology {self.topology!r} is unknown; known: "
                                 f"{', '.join(sorted(TOPOLOGY_GENERATORS))}")
        topology_params = self.topology_params
        if topology_params is None:
            topology_params = DEFAULT_TOPOLOGY_PARAMS.get(self.topology, {})
        if not isinstance(topology_params, Mapping):
            raise SyntheticError(f"{where}: topology_params must be a mapping of generator "
                                 f"parameters, got {topology_params!r}")
        generator = TOPOLOGY_GENERATORS[self.topology]
        _known_keys(f"{where}: topology_params of {self.topology!r}", topology_params,
                    generator)
        try:
            generator(**topology_params)  # validates the values without building
        except TypeError as exc:
            raise SyntheticError(f"{where}: topology_params: {exc}") from None
        object.__setattr__(self, "topology_params", MappingProxyType(dict(topology_params)))
        _number(where, "speed_min_mps", self.speed_min_mps, low=0.0, strict=True)
        _number(where, "speed_max_mps", self.speed_max_mps, low=self.speed_min_mps)
        _number(where, "pause_max_s", self.pause_max_s, low=0.0)
        _number(where, "hysteresis_m", self.hysteresis_m, low=0.0)
        _number(where, "late_fraction", self.late_fraction, low=0.0, high=1.0)
        _number(where, "early_fraction", self.early_fraction, low=0.0, high=1.0)
        _number(where, "zipf_exponent", self.zipf_exponent, low=0.0)
        if not isinstance(self.apps, Mapping) or not self.apps:
            raise SyntheticError(f"{where}: apps must be a non-empty mapping of name to "
                                 "Application")
        for key, app in self.apps.items():
            if not isinstance(key, str) or not key:
                raise SyntheticError(f"{where}: application names must be non-empty strings, "
                                     f"got {key!r}")
            if not isinstance(app, Application):
                raise SyntheticError(f"{where}: apps[{key!r}] must be an Application, got "
                                     f"{type(app).__name__}")
        if sum(app.share for app in self.apps.values()) <= 0:
            raise SyntheticError(f"{where}: the application shares sum to 0; give at least "
                                 "one a positive share")
        object.__setattr__(self, "apps", MappingProxyType(dict(self.apps)))

    # ---------------------------------------------------------------- parameters
    def params(self) -> dict[str, Any]:
        """Every model parameter as TOML-ready values (``[params]`` of trace.toml); the
        seed, name and description are manifest keys of their own."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in ("seed", "name", "description"):
                continue
            value = getattr(self, f.name)
            if f.name == "topology_params":
                value = dict(value)
            elif f.name == "apps":
                value = {key: dataclasses.asdict(app) for key, app in value.items()}
            out[f.name] = value
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "SyntheticTrace":
        """Build from TOML-style values (``apps`` as tables); unknown keys are an error."""
        params = dict(params)
        _known_keys("SyntheticTrace", params, cls)
        if "apps" in params:
            apps = params["apps"]
            if not isinstance(apps, Mapping):
                raise SyntheticError("SyntheticTrace: apps must be a table of applications")
            params["apps"] = {
                key: app if isinstance(app, Application)
                else Application.from_params(app, where=f"SyntheticTrace: apps.{key}")
                for key, app in apps.items()
            }
        return cls(**params)

    @classmethod
    def from_manifest(cls, path: str | Path) -> "SyntheticTrace":
        """The generator that wrote a trace, from its ``trace.toml`` (file or directory)."""
        path = Path(path)
        if path.is_dir():
            path = path / "trace.toml"
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data.get("generator") != GENERATOR:
            raise SyntheticError(f"{path}: generator is {data.get('generator')!r}, not "
                                 f"{GENERATOR!r}")
        return cls.from_params({**data.get("params", {}), "seed": data["seed"],
                                "name": data["name"],
                                "description": data.get("description")})

    def with_(self, **changes: Any) -> "SyntheticTrace":
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ---------------------------------------------------------------- generation
    def build_topology(self) -> Topology:
        return build_generated(self.topology, dict(self.topology_params),
                               source=f"SyntheticTrace.topology {self.topology!r}")

    def realise(self) -> "Realisation":
        """Draw topology, mobility and flows (packets are streamed by the result)."""
        topology = self.build_topology()
        poas = topology.nodes_with_role("poa")
        cns = topology.nodes_with_role("cn")
        if poas.size == 0 or cns.size == 0:
            raise SyntheticError(f"topology {self.topology!r} needs at least one 'poa' and "
                                 "one 'cn' node")
        if any(topology.nodes[p].x is None or topology.nodes[p].y is None for p in poas):
            raise SyntheticError(f"topology {self.topology!r}: every PoA needs x and y")
        xy = np.array([[topology.nodes[p].x, topology.nodes[p].y] for p in poas], np.float64)
        presence_ss, motion_ss, traffic_ss = np.random.SeedSequence(self.seed).spawn(3)
        step_ns = max(1, int(round(self.step_s * NS_PER_S)))
        duration_ns = int(round(self.duration_s * NS_PER_S))
        n_steps = duration_ns // step_ns + 1  # sampling instants 0, step, ..., ≤ duration
        arrive, leave = self._presence(np.random.default_rng(presence_ss), n_steps)
        mobility = self._mobility(np.random.default_rng(motion_ss), xy, poas, arrive, leave,
                                  n_steps, step_ns)
        window_start = arrive * step_ns
        window_end = np.where(leave < n_steps, leave * step_ns - 1, duration_ns)
        flows, flow_bytes, level, streams = self._flows(
            np.random.default_rng(traffic_ss), window_start, window_end, cns)
        return Realisation(topology=topology, mobility=mobility, flows=flows,
                           flow_bytes=flow_bytes, flow_rate_per_mn_s=level,
                           duration_ns=duration_ns, streams=streams)

    def generate(self, out_dir: str | Path, *, overwrite: bool = False,
                 progress: bool = False) -> Path:
        """Write the trace directory ``out_dir`` (atomically) and return its path."""
        from .trace_writer import write_trace

        out_dir = Path(out_dir)
        name = self.name if self.name is not None else out_dir.resolve().name
        real = self.realise()
        chunks: Iterator[dict[str, np.ndarray]] = real.packet_chunks()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=real.n_packets, unit="pkt", unit_scale=True, desc=name)
            chunks = _counting(chunks, bar)
        manifest = {
            "description": self.description if self.description is not None
            else self._describe(real),
            "generator": GENERATOR,
            "seed": int(self.seed),  # type: ignore[arg-type]
            "params": self.params(),
        }
        try:
            return write_trace(out_dir, name=name, topology=real.topology,
                               mobility=real.mobility, flows=real.flows, packets=chunks,
                               manifest=manifest, row_group_rows=ROW_GROUP_ROWS,
                               overwrite=overwrite)
        finally:
            if bar is not None:
                bar.close()

    def _describe(self, real: "Realisation") -> str:
        return (
            f"Synthetic: {self.mns} MNs in random waypoint ({self.speed_min_mps:g}-"
            f"{self.speed_max_mps:g} m/s, pauses up to {self.pause_max_s:g} s) over "
            f"{self.topology!r} for {self.duration_s:g} s; {real.flows.height} flows "
            f"(Poisson, {real.flow_rate_per_mn_s * 3600:.3g} per MN-hour), "
            f"{real.n_packets} packets."
        )

    # ---------------------------------------------------------------- presence
    def _presence(self, rng: np.random.Generator, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """First attached step and detach step (``n_steps``: never) of every MN."""
        n = self.mns
        last = n_steps - 1
        arrive = np.zeros(n, dtype=np.int64)
        leave = np.full(n, n_steps, dtype=np.int64)
        late = rng.permutation(n)[: int(round(self.late_fraction * n))]
        arrive[late] = rng.integers(1, last, size=late.size)  # last ≥ 2: two steps at least
        early = np.sort(rng.permutation(n)[: int(round(self.early_fraction * n))])
        leave[early] = rng.integers(arrive[early] + 1, last, endpoint=True)
        return arrive, leave

    # ---------------------------------------------------------------- mobility
    def _mobility(self, rng: np.random.Generator, xy: np.ndarray, poas: np.ndarray,
                  arrive: np.ndarray, leave: np.ndarray, n_steps: int,
                  step_ns: int) -> pl.DataFrame:
        knot_t, knot_x, knot_y = self._waypoints(rng, xy, (n_steps - 1) * step_ns / NS_PER_S)
        times = np.arange(n_steps, dtype=np.float64) * (step_ns / NS_PER_S)
        block = max(1, MOBILITY_BLOCK_CELLS // n_steps)
        rows_k, rows_mn, rows_poa = [], [], []
        for lo in range(0, self.mns, block):
            hi = min(self.mns, lo + block)
            state = _attachments(
                times, knot_t[:, lo:hi], knot_x[:, lo:hi], knot_y[:, lo:hi], xy,
                arrive[lo:hi], self.hysteresis_m,
            )
            steps = np.arange(n_steps)[:, None]
            state[(steps < arrive[lo:hi]) | (steps >= leave[lo:hi])] = -1
            previous = np.vstack([np.full((1, hi - lo), -1, np.int32), state[:-1]])
            k, i = np.nonzero(state != previous)  # row-major: by step, then MN
            rows_k.append(k)
            rows_mn.append(i + lo)
            rows_poa.append(state[k, i])
        k = np.concatenate(rows_k)
        mn = np.concatenate(rows_mn)
        poa = np.concatenate(rows_poa)
        order = np.lexsort((mn, k))
        node = np.where(poa[order] >= 0, poas[np.maximum(poa[order], 0)], -1)
        return pl.DataFrame({
            "t": k[order].astype(np.int64) * step_ns,
            "mn": mn[order].astype(np.uint32),
            "poa": node.astype(np.int32),
        })

    def _waypoints(self, rng: np.random.Generator, xy: np.ndarray,
                   horizon_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Random-waypoint knots (time s, x, y), one column per MN, until ``horizon_s``.

        Position is piecewise linear between knots: each leg adds an arrival knot and a
        departure knot (after the pause) at the destination."""
        n = self.mns
        lo = xy.min(axis=0)
        span = xy.max(axis=0) - lo
        pos = lo + span * rng.random((n, 2))
        t = np.zeros(n)
        knots_t, knots_x, knots_y = [t], [pos[:, 0]], [pos[:, 1]]
        still = bool(np.all(span == 0))  # one PoA, or all on one point: nowhere to go
        while t.min() <= horizon_s and not still:
            dest = lo + span * rng.random((n, 2))
            speed = rng.uniform(self.speed_min_mps, self.speed_max_mps, size=n)
            pause = rng.uniform(0.0, self.pause_max_s, size=n)
            arrival = t + np.hypot(*(dest - pos).T) / speed
            t = arrival + pause
            pos = dest
            knots_t += [arrival, t]
            knots_x += [dest[:, 0], dest[:, 0]]
            knots_y += [dest[:, 1], dest[:, 1]]
        if still:
            knots_t.append(np.full(n, horizon_s + 1.0))
            knots_x.append(pos[:, 0])
            knots_y.append(pos[:, 1])
        return np.vstack(knots_t), np.vstack(knots_x), np.vstack(knots_y)

    # ---------------------------------------------------------------- traffic
    def _flows(self, rng: np.random.Generator, window_start: np.ndarray,
               window_end: np.ndarray, cns: np.ndarray
               ) -> tuple[pl.DataFrame, np.ndarray, float, "_Streams"]:
        names = list(self.apps)
        apps = [self.apps[key] for key in names]
        shares = np.array([app.share for app in apps], np.float64)
        shares /= shares.sum()
        ranks = np.arange(1, cns.size + 1, dtype=np.float64)
        popularity = ranks ** -self.zipf_exponent
        popularity /= popularity.sum()
        width = window_end - window_start + 1  # ns instants at which a flow may start
        cum = np.cumsum(width)
        total_ns = int(cum[-1])
        if total_ns >= 2**62:
            raise SyntheticError("SyntheticTrace: mns × duration is too large (attached time "
                                 "must stay below 2^62 ns)")
        table = _AppTable(apps)
        parts: list[dict[str, np.ndarray]] = []
        level = 0.0  # rate level (flows per attached MN-second) reached so far
        packets = 0
        while True:
            gaps = rng.standard_exponential(FLOW_BATCH)
            where = rng.integers(0, total_ns, size=FLOW_BATCH)
            app = rng.choice(len(apps), size=FLOW_BATCH, p=shares)
            peer = cns[rng.choice(cns.size, size=FLOW_BATCH, p=popularity)]
            normal = rng.standard_normal(FLOW_BATCH)
            uniform = rng.random(FLOW_BATCH)
            mn = np.searchsorted(cum, where, side="right")
            start = window_start[mn] + (where - (cum[mn] - width[mn]))
            size = table.sample_bytes(app, normal, uniform)
            plan = table.plan(app, size, start, window_end[mn])
            levels = level + np.cumsum(gaps) / (total_ns / NS_PER_S)
            counted = packets + np.cumsum(plan["count"])
            batch = {"mn": mn, "peer": peer, "start": start, "app": app, "size": size,
                     "level": levels, **plan}
            if counted[-1] < self.packets:
                parts.append(batch)
                level, packets = float(levels[-1]), int(counted[-1])
                continue
            last = int(np.searchsorted(counted, self.packets))  # counted[last] ≥ target
            batch = {key: value[: last + 1] for key, value in batch.items()}
            below = packets if last == 0 else int(counted[last - 1])
            if counted[last] > self.packets:  # the budget runs out inside this flow
                cut = table.cut_time(int(batch["app"][last]), int(batch["start"][last]),
                                     self.packets - below)
                one = slice(last, last + 1)
                short = table.plan(batch["app"][one], batch["size"][one],
                                   batch["start"][one], np.array([cut], np.int64))
                for key, value in short.items():
                    batch[key][last] = value[0]
            parts.append(batch)
            break
        drawn = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        level = float(drawn["level"][-1])
        order = np.lexsort((drawn["mn"], drawn["start"]))  # flow ids in start order
        drawn = {key: value[order] for key, value in drawn.items()}
        n_flows = order.size
        flow_ids = np.arange(n_flows, dtype=np.uint64)
        continuity = np.array([app.continuity for app in apps], dtype=bool)
        flows = pl.DataFrame({
            "flow": flow_ids,
            "mn": drawn["mn"].astype(np.uint32),
            "peer": drawn["peer"].astype(np.uint32),
            "start": drawn["start"].astype(np.int64),
            "end": drawn["end"].astype(np.int64),
            "continuity": continuity[drawn["app"]],
            "app": pl.Series("app", np.array(names, dtype=object)[drawn["app"]],
                             dtype=pl.String),
        })
        streams = _Streams.build(flow_ids, drawn, table)
        return flows, drawn["size"], level, streams


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
class Realisation:
    """One draw of a ``SyntheticTrace``: topology, mobility and flows in memory, packets as a
    stream of windows (``packet_chunks``)."""

    topology: Topology
    mobility: pl.DataFrame  # t int64, mn uint32, poa int32
    flows: pl.DataFrame  # flow, mn, peer, start, end, continuity, app
    flow_bytes: np.ndarray  # int64 downlink bytes drawn for each flow (flows' order)
    flow_rate_per_mn_s: float  # calibrated Poisson arrival rate per attached MN
    duration_ns: int
    streams: _Streams = field(repr=False)

    @property
    def n_packets(self) -> int:
        return int(self.streams.count.sum())

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
            k_lo = np.maximum((lower - s.t0[active]) // s.period[active] + 1, 0)
            k_hi = np.minimum((upper - s.t0[active]) // s.period[active], s.count[active] - 1)
            n = np.maximum(k_hi - k_lo + 1, 0)
            lower = upper
            total = int(n.sum())
            if total == 0:
                continue
            idx = np.repeat(active, n)  # stream of each packet, streams ascending
            k = np.arange(total, dtype=np.int64) + np.repeat(k_lo - (np.cumsum(n) - n), n)
            t = s.t0[idx] + k * s.period[idx]
            order = np.argsort(t, kind="stable")  # ties keep (flow id, direction) order
            idx = idx[order]
            k = k[order]
            yield {
                "t": t[order],
                "flow": s.flow[idx],
                "size": np.where(k == s.special[idx], s.special_size[idx], s.size[idx]),
                "dir": s.dir[idx],
            }


# -------------------------------------------------------------------- attachment
def _attachments(times: np.ndarray, knot_t: np.ndarray, knot_x: np.ndarray,
                 knot_y: np.ndarray, xy: np.ndarray, arrive: np.ndarray,
                 hysteresis_m: float) -> np.ndarray:
    """PoA index (into ``xy``) of each MN at each step, shape (steps, MNs), int32.

    An MN takes the nearest PoA at its first attached step, then keeps its PoA until another
    is nearer by more than ``hysteresis_m``."""
    n_mns = knot_t.shape[1]
    n_steps = times.size
    # One np.interp over all MNs: MN i's knots and sample times are shifted by i·offset.
    offset = float(knot_t.max()) + float(times.max()) + 1.0
    shift = np.arange(n_mns, dtype=np.float64) * offset
    xp = (knot_t + shift).T.ravel()
    at = (times[:, None] + shift).T.ravel()
    x = np.interp(at, xp, knot_x.T.ravel()).reshape(n_mns, n_steps).T
    y = np.interp(at, xp, knot_y.T.ravel()).reshape(n_mns, n_steps).T
    nearest = np.empty((n_steps, n_mns), np.int32)
    near_d = np.empty((n_steps, n_mns), np.float64)
    rows = max(1, 2_000_000 // max(1, n_mns * xy.shape[0]))
    for lo in range(0, n_steps, rows):
        hi = min(n_steps, lo + rows)
        d2 = (x[lo:hi, :, None] - xy[:, 0]) ** 2 + (y[lo:hi, :, None] - xy[:, 1]) ** 2
        nearest[lo:hi] = np.argmin(d2, axis=2)
        near_d[lo:hi] = np.sqrt(np.take_along_axis(d2, nearest[lo:hi, :, None], 2)[..., 0])
    state = np.empty((n_steps, n_mns), np.int32)
    current = nearest[0].copy()
    px, py = xy[:, 0], xy[:, 1]
    for k in range(n_steps):
        here = nearest[k]
        if k:
            d = np.hypot(x[k] - px[current], y[k] - py[current])
            current = np.where(d - near_d[k] > hysteresis_m, here, current)
        current = np.where(arrive == k, here, current)
        state[k] = current
    return state


def _counting(chunks: Iterator[dict[str, np.ndarray]], bar: Any
              ) -> Iterator[dict[str, np.ndarray]]:
    for chunk in chunks:
        yield chunk
        bar.update(len(chunk["t"]))
