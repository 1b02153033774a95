"""Synthetic traces: a topology, a mobility model, an attachment rule and a traffic model.

``SyntheticTrace`` composes the parts, each a module of its own, and records every parameter
in ``trace.toml``; ``generate(out_dir)`` writes a complete trace through
``dmmemu.trace.writer.write_trace``.

- **Topology**: a registered generator (``dmmemu.topology.generators``) and its parameters.
  MNs move over the bounding box of the PoA grid; correspondents are the ``cn`` nodes.
- **Presence**: MNs are attached from time 0, except a ``late_fraction`` of them whose first
  attach is at a uniformly random step; an ``early_fraction`` (drawn independently) detach
  (``poa`` −1) at a uniformly random step after they attach and do not come back. Coverage
  holes (``dmmemu.synthetic.coverage_holes``, ``holes_per_mn_hour``) detach an attached MN
  for a lognormal while (median ``hole_median_s``) in the middle of the trace; they are cut
  in after the traffic is drawn, so flows run through them.
- **Mobility**: a model of ``dmmemu.synthetic.mobility_models`` (``mobility`` and
  ``mobility_params``), positions sampled every ``step_s``.
- **Attachment**: ``dmmemu.synthetic.attachment`` turns positions into PoA changes with
  ``attachment`` (nearest PoA, hysteresis, time-to-trigger, range); only changes are rows.
- **Mobile networks**: ``dmmemu.synthetic.mobile_networks`` (``networks``) makes some MNs
  mobile routers and lets others ride behind them for a while: their rows on board become
  the router's, and the rides become ``networks.parquet``; off by default.
- **Traffic**: ``dmmemu.synthetic.traffic`` draws flows over the attached time and streams their
  packets; ``packets`` is the exact packet count the arrival rate is calibrated to (None:
  the traffic model's ``flows_per_mn_hour`` sets the rate).

Randomness follows SPEC 7: one root ``numpy.random.SeedSequence(seed)`` spawned into one
stream per part of the model (presence, motion, traffic, coverage holes, mobile networks), so
the mobility of a seed does not
change when only the traffic parameters do. The same seed and parameters give byte-identical
files.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

import numpy as np
import polars as pl

from dmmemu.model_params import (
    NS_PER_S,
    ParameterError,
    check_choice,
    check_integer,
    check_known_keys,
    check_number,
)
from dmmemu.synthetic.attachment import BLOCK_SAMPLES, AttachmentRule, attach_positions
from dmmemu.synthetic.coverage_holes import apply_holes, draw_holes
from dmmemu.synthetic.mobile_networks import MobileNetworkModel
from dmmemu.synthetic.mobility_models import MOBILITY_MODELS, Area, build_mobility
from dmmemu.synthetic.traffic import TrafficModel, TrafficRealisation, write_realisation
from dmmemu.topology.generators import TOPOLOGY_GENERATORS, build_generated
from dmmemu.topology.graph import Topology
from dmmemu.trace.writer import check_trace_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GENERATOR = "dmmemu.synthetic"
MAX_SEED = 2**63 - 1  # a TOML integer
# What a synthetic trace can mean: a country's MNs at most (the generator draws each one's
# movement in memory), and no MN sending more than a gigabit link carries.
MAX_MNS = 10_000_000
MAX_PPS_PER_MN = 100_000

SyntheticError = ParameterError  # the name callers of earlier versions catch

# Topology parameters used when none are given: an 8 × 8 grid of ARs 150 m apart (about five
# MNs per AR at the default 300 MNs) and 16 correspondents for the Zipf popularity to act on.
DEFAULT_TOPOLOGY_PARAMS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "flat-wifi": MappingProxyType(
        {"rows": 8, "cols": 8, "spacing_m": 150.0, "correspondents": 16}),
    "hierarchical": MappingProxyType(
        {"area_rows": 2, "area_cols": 2, "ar_rows": 4, "ar_cols": 4, "spacing_m": 150.0,
         "correspondents": 16}),
})


def _file_named_by(manifest: Path, name: str, outside: bool, *, what: str) -> str:
    """The path of a file a trace.toml names: inside the trace's directory (relative names
    from there), or anywhere when ``outside``."""
    home = manifest.parent.resolve()
    resolved = (home / name).resolve()
    if not outside and home not in resolved.parents:
        raise ParameterError(f"{manifest}: {what} {name!r} is outside the trace directory; "
                             "dmmemu reads only files inside it unless told to "
                             "(from_manifest(..., files_outside=True))")
    return str(resolved)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticTrace:
    """Parameters of a synthetic trace; ``generate`` writes it, ``realise`` draws it in
    memory (without packets, which are streamed)."""

    mns: int = 300  # mobile nodes, ids 0..mns-1
    packets: int | None = 1_000_000  # exact total; None: the traffic model's rate
    seed: int | None = 0  # root of every random stream (None: fresh entropy, recorded)
    duration_s: float = 1800.0
    name: str | None = None  # trace name (default: the output directory's name)
    description: str | None = None  # default: a one-line summary of the model
    topology: str = "flat-wifi"  # a key of TOPOLOGY_GENERATORS
    topology_params: Mapping[str, Any] | None = None  # None: DEFAULT_TOPOLOGY_PARAMS
    mobility: str = "random-waypoint"  # a key of MOBILITY_MODELS
    mobility_params: Mapping[str, Any] | None = field(default=None, compare=False)  # or defaults
    step_s: float = 1.0  # position sampling period
    late_fraction: float = 0.1  # MNs whose first attach is at a random time
    early_fraction: float = 0.1  # MNs that detach for good at a random time
    holes_per_mn_hour: float = 0.0  # coverage holes per attached MN-hour (0: none)
    hole_median_s: float = 10.0  # their median duration (PMIPv6's BCE hold is 10 s)
    hole_sigma: float = 1.0  # lognormal shape of their durations
    attachment: AttachmentRule = field(default_factory=AttachmentRule)
    traffic: TrafficModel = field(default_factory=TrafficModel)  # held without a target
    networks: MobileNetworkModel = field(default_factory=MobileNetworkModel)  # none by default
    motion: Any = field(init=False, repr=False)  # the built model: compared, and recorded

    def __post_init__(self) -> None:
        where = "SyntheticTrace"
        check_integer(where, "mns", self.mns, low=1, high=MAX_MNS)
        if self.packets is not None:
            check_integer(where, "packets", self.packets, low=1, high=2**62)
        if self.seed is None:
            entropy = np.random.SeedSequence().entropy
            object.__setattr__(self, "seed", int(entropy) % (MAX_SEED + 1))
        check_integer(where, "seed", self.seed, low=0, high=MAX_SEED)
        check_number(where, "duration_s", self.duration_s, low=0.0, strict=True)
        check_number(where, "step_s", self.step_s, low=1e-6)
        if self.duration_s < 2 * self.step_s:
            raise ParameterError(f"{where}: duration_s ({self.duration_s}) must be at least "
                                 f"two steps (step_s = {self.step_s})")
        if self.packets is not None and (
                self.packets > MAX_PPS_PER_MN * self.mns * self.duration_s):
            raise ParameterError(
                f"{where}: packets {self.packets} over {self.mns} MNs and {self.duration_s:g} s "
                f"is {self.packets / self.mns / self.duration_s:.3g} packets/s per MN, more "
                f"than the {MAX_PPS_PER_MN:,} a gigabit link carries (1250-byte packets); "
                "give more MNs, a longer duration or fewer packets")
        if self.duration_s * NS_PER_S > 2**62:
            raise ParameterError(f"{where}: duration_s {self.duration_s} does not fit int64 ns")
        for name in ("name", "description"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ParameterError(f"{where}: {name} must be a string, got {value!r}")
        if self.name is not None and not self.name.strip():
            raise ParameterError(f"{where}: name is empty; give the trace a name or omit it")
        self._check_topology(where)
        check_choice(where, "mobility", self.mobility, MOBILITY_MODELS)
        motion = build_mobility(self.mobility, self.mobility_params or {},
                                where=f"{where}: mobility_params of")
        object.__setattr__(self, "motion", motion)
        if self.mobility_params is not None:
            object.__setattr__(self, "mobility_params",
                               MappingProxyType(dict(self.mobility_params)))
        check_number(where, "late_fraction", self.late_fraction, low=0.0, high=1.0)
        check_number(where, "early_fraction", self.early_fraction, low=0.0, high=1.0)
        check_number(where, "holes_per_mn_hour", self.holes_per_mn_hour, low=0.0,
                     high=3600.0)
        check_number(where, "hole_median_s", self.hole_median_s, low=0.0, strict=True)
        check_number(where, "hole_sigma", self.hole_sigma, low=0.0, high=5.0)
        if not isinstance(self.attachment, AttachmentRule):
            raise ParameterError(f"{where}: attachment must be an AttachmentRule, got "
                                 f"{type(self.attachment).__name__}")
        if not isinstance(self.networks, MobileNetworkModel):
            raise ParameterError(f"{where}: networks must be a MobileNetworkModel, got "
                                 f"{type(self.networks).__name__}")
        if not isinstance(self.traffic, TrafficModel):
            raise ParameterError(f"{where}: traffic must be a TrafficModel, got "
                                 f"{type(self.traffic).__name__}")
        if self.traffic.packets is not None and self.traffic.packets != self.packets:
            raise ParameterError(f"{where}: packets is {self.packets!r} but traffic.packets is "
                                 f"{self.traffic.packets!r}; give the target once, as packets")
        object.__setattr__(self, "traffic", self.traffic.with_(packets=None))  # see `packets`

    def _check_topology(self, where: str) -> None:
        check_choice(where, "topology", self.topology, TOPOLOGY_GENERATORS)
        topology_params = self.topology_params
        if topology_params is None:
            topology_params = DEFAULT_TOPOLOGY_PARAMS.get(self.topology, {})
        if not isinstance(topology_params, Mapping):
            raise ParameterError(f"{where}: topology_params must be a mapping of generator "
                                 f"parameters, got {topology_params!r}")
        generator = TOPOLOGY_GENERATORS[self.topology]
        check_known_keys(f"{where}: topology_params of {self.topology!r}", topology_params,
                         generator)
        try:
            generator(**topology_params)  # validates the values without building
        except TypeError as exc:
            raise ParameterError(f"{where}: topology_params: {exc}") from None
        object.__setattr__(self, "topology_params", MappingProxyType(dict(topology_params)))

    # ---------------------------------------------------------------- parameters
    def params(self) -> dict[str, Any]:
        """Every model parameter as TOML-ready values (``[params]`` of trace.toml); the
        seed, name and description are manifest keys of their own."""
        out: dict[str, Any] = {
            "mns": self.mns, "duration_s": self.duration_s, "topology": self.topology,
            "topology_params": dict(self.topology_params or {}), "mobility": self.mobility,
            "mobility_params": self.motion.params(), "step_s": self.step_s,
            "late_fraction": self.late_fraction, "early_fraction": self.early_fraction,
            "holes_per_mn_hour": self.holes_per_mn_hour, "hole_median_s": self.hole_median_s,
            "hole_sigma": self.hole_sigma,
            "attachment": self.attachment.params(), "traffic": self.traffic.params(),
        }
        if self.packets is not None:
            out["packets"] = self.packets
        if self.networks.enabled:  # recorded only when drawn: older traces read the same
            out["networks"] = self.networks.params()
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "SyntheticTrace":
        """Build from TOML-style values (``attachment`` and ``traffic`` as tables); unknown
        keys are an error naming the key."""
        check_known_keys("SyntheticTrace", params, cls)
        params = dict(params)
        if isinstance(params.get("attachment"), Mapping):
            params["attachment"] = AttachmentRule.from_params(
                params["attachment"], where="SyntheticTrace: attachment")
        if isinstance(params.get("networks"), Mapping):
            params["networks"] = MobileNetworkModel.from_params(
                params["networks"], where="SyntheticTrace: networks")
        if isinstance(params.get("traffic"), Mapping):
            params["traffic"] = TrafficModel.from_params(params["traffic"],
                                                         where="SyntheticTrace: traffic")
        return cls(**params)

    @classmethod
    def from_manifest(cls, path: str | Path, *, files_outside: bool = False
                      ) -> "SyntheticTrace":
        """The generator that wrote a trace, from its ``trace.toml`` (file or directory).

        The files its parameters name (an empirical size CDF) are read only from inside the
        trace's directory (a relative name is taken from there) unless ``files_outside``:
        a trace.toml from elsewhere cannot make dmmemu read any other file."""
        path = Path(path)
        if path.is_dir():
            path = path / "trace.toml"
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data.get("generator") != GENERATOR:
            raise ParameterError(f"{path}: generator is {data.get('generator')!r}, not "
                                 f"{GENERATOR!r}")
        params = {"packets": None, **data.get("params", {})}  # no packets: calibrated by rate
        apps = params.get("traffic", {}).get("apps", {}) if isinstance(
            params.get("traffic"), dict) else {}
        for name, app in (apps.items() if isinstance(apps, dict) else ()):
            if isinstance(app, dict) and isinstance(app.get("size_file"), str):
                app["size_file"] = _file_named_by(path, app["size_file"], files_outside,
                                                  what=f"application {name!r}'s size_file")
        return cls.from_params({**params, "seed": data["seed"],
                                "name": data["name"],
                                "description": data.get("description")})

    def with_(self, **changes: Any) -> "SyntheticTrace":
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ---------------------------------------------------------------- generation
    def build_topology(self) -> Topology:
        return build_generated(self.topology, dict(self.topology_params or {}),
                               source=f"SyntheticTrace.topology {self.topology!r}")

    def realise(self) -> "Realisation":
        """Draw topology, mobility and flows (packets are streamed by the result)."""
        topology = self.build_topology()
        poas = topology.nodes_with_role("poa")
        if poas.size == 0 or topology.nodes_with_role("cn").size == 0:
            raise ParameterError(f"topology {self.topology!r} needs at least one 'poa' and "
                                 "one 'cn' node")
        if any(topology.nodes[p].x is None or topology.nodes[p].y is None for p in poas):
            raise ParameterError(f"topology {self.topology!r}: every PoA needs x and y")
        xy = np.array([[topology.nodes[p].x, topology.nodes[p].y] for p in poas], np.float64)
        # A fourth stream for the holes and a fifth for the mobile networks: the first ones
        # are what spawn(3) and spawn(4) gave before.
        presence_ss, motion_ss, traffic_ss, holes_ss, networks_ss = np.random.SeedSequence(
            self.seed).spawn(5)
        step_ns = max(1, int(round(self.step_s * NS_PER_S)))
        duration_ns = int(round(self.duration_s * NS_PER_S))
        n_steps = duration_ns // step_ns + 1  # sampling instants 0, step, ..., ≤ duration
        arrive, leave = self._presence(np.random.default_rng(presence_ss), n_steps)
        mobility = self._mobility(np.random.default_rng(motion_ss), xy, poas,
                                  arrive * step_ns,
                                  np.where(leave < n_steps, leave * step_ns, -1),
                                  duration_ns, step_ns)
        traffic = self.traffic.with_(packets=self.packets).realise(
            mobility, topology, t_end=duration_ns, seed=traffic_ss)
        # Holes are cut in after the traffic is drawn: sessions do not know the coverage
        # ahead, so a flow may run through a hole (its packets there are lost, and its
        # address may not survive it).
        holes = draw_holes(np.random.default_rng(holes_ss), arrive * step_ns,
                           np.where(leave < n_steps, leave * step_ns, -1), duration_ns,
                           self.holes_per_mn_hour, self.hole_median_s, self.hole_sigma)
        mobility = apply_holes(mobility, holes, duration_ns)
        # Riders take their router's rows, holes included, while on board.
        mobility, networks = self.networks.draw(np.random.default_rng(networks_ss), mobility,
                                                self.mns, duration_ns)
        return Realisation(topology=topology, mobility=mobility, traffic=traffic,
                           duration_ns=duration_ns, networks=networks)

    def generate(self, out_dir: str | Path, *, overwrite: bool = False,
                 progress: bool = False) -> Path:
        """Write the trace directory ``out_dir`` (atomically) and return its path."""
        out_dir = Path(out_dir)
        name = self.name if self.name is not None else out_dir.resolve().name
        check_trace_target(out_dir, overwrite=overwrite)  # before the work
        real = self.realise()
        manifest = {
            "description": self.description if self.description is not None
            else self._describe(real),
            "source": "synthetic: drawn by dmmemu.synthetic.generator.SyntheticTrace",
            "generator": GENERATOR,
            "seed": int(self.seed),  # type: ignore[arg-type]
            "params": self.params(),
        }
        return write_realisation(out_dir, name=name, topology=real.topology,
                                 mobility=real.mobility, realisation=real.traffic,
                                 manifest=manifest, overwrite=overwrite, progress=progress,
                                 networks=real.networks)

    def _describe(self, real: "Realisation") -> str:
        traffic = self.traffic.with_(packets=self.packets)
        return (f"Synthetic: {self.mns} MNs in {self.motion.describe()} over "
                f"{self.topology!r} for {self.duration_s:g} s; "
                f"{traffic.describe(real.traffic)}.")

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
                  arrive_t: np.ndarray, leave_t: np.ndarray, duration_ns: int,
                  step_ns: int) -> pl.DataFrame:
        """Mobility rows: the model's positions from each MN's arrival, attached in blocks
        of whole MNs (about ``BLOCK_SAMPLES`` samples), detached at its leave time."""
        area = Area.of_points(xy)
        parts: list[pl.DataFrame] = []
        pending: list[tuple[np.ndarray, ...]] = []
        held = 0
        blocks = self.motion.positions(rng, self.mns, duration_ns, step_ns, area)
        for t, mn, x, y in blocks:
            keep = t >= arrive_t[mn]
            pending.append((t[keep], mn[keep], x[keep], y[keep]))
            held += int(keep.sum())
            if held >= BLOCK_SAMPLES:
                parts.append(self._attach(pending, poas, xy, leave_t))
                pending, held = [], 0
        if pending:
            parts.append(self._attach(pending, poas, xy, leave_t))
        return pl.concat(parts).sort("t", "mn", maintain_order=True)

    def _attach(self, pending: list[tuple[np.ndarray, ...]], poas: np.ndarray,
                xy: np.ndarray, leave_t: np.ndarray) -> pl.DataFrame:
        t, mn, x, y = (np.concatenate(column) for column in zip(*pending))
        return attach_positions(t, mn, x, y, poa_ids=poas, poa_xy=xy, rule=self.attachment,
                                leave_t=leave_t)


@dataclass(frozen=True, slots=True, kw_only=True)
class Realisation:
    """One draw of a ``SyntheticTrace``: topology, mobility and flows in memory, packets as a
    stream of windows (``packet_chunks``)."""

    topology: Topology
    mobility: pl.DataFrame  # t int64, mn uint32, poa int32
    traffic: TrafficRealisation
    duration_ns: int
    networks: pl.DataFrame | None = None  # t, mn, router: who rides behind which router

    @property
    def flows(self) -> pl.DataFrame:
        return self.traffic.flows

    @property
    def flow_bytes(self) -> np.ndarray:
        return self.traffic.flow_bytes

    @property
    def flow_rate_per_mn_s(self) -> float:
        return self.traffic.flow_rate_per_mn_s

    @property
    def n_packets(self) -> int:
        return self.traffic.n_packets

    def packet_chunks(self, window_packets: int | None = None
                      ) -> Iterator[dict[str, np.ndarray]]:
        if window_packets is None:
            return self.traffic.packet_chunks()
        return self.traffic.packet_chunks(window_packets)
