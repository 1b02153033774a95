"""Generators for the reference architectures of the DMM gap analysis (RFC 7429 §3).

Each generator is a frozen dataclass of parameters whose ``build()`` returns a ``Topology``.
PoAs always lie on a grid (``x``, ``y`` in metres) so that the synthetic mobility models can
attach a moving node to its nearest PoA whatever the architecture. Delays are modelling
choices (parameters), not measurements.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from dmmemu.errors import TopologyError
from dmmemu.model_params import ParameterError, check_integer, check_number
from dmmemu.topology.graph import Link, Node, Topology


class _Builder:
    """Collects nodes and links with dense ids."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.links: list[Link] = []

    def node(self, name: str, role: str, x: float | None = None, y: float | None = None,
             central: bool = False) -> int:
        node_id = len(self.nodes)
        self.nodes.append(Node(id=node_id, name=name, role=role, x=x, y=y, central=central))
        return node_id

    def link(self, a: int, b: int, delay_us: float) -> None:
        self.links.append(Link(a=a, b=b, delay_us=float(delay_us)))

    def core(self, correspondents: int, central_delay_us: float,
             internet_delay_us: float) -> int:
        """The part every reference architecture shares: a core router with the central
        anchor and the correspondents behind it; returns the core's id."""
        core = self.node("core", "router")
        self.link(self.node("central-anchor", "anchor", central=True), core, central_delay_us)
        for i in range(correspondents):
            self.link(self.node(f"cn{i}", "cn"), core, internet_delay_us)
        return core


def _check_fields(obj: object) -> None:
    """Every parameter of a generator: counts are whole numbers >= 1, lengths and delays
    finite numbers (> 0 for a spacing, >= 0 for a delay); a TopologyError names the field."""
    where = type(obj).__name__
    try:
        for f in dataclasses.fields(obj):  # type: ignore[arg-type]
            value = getattr(obj, f.name)
            if f.type == "int":
                check_integer(where, f.name, value, low=1, high=MAX_GRID)
            elif f.name.endswith("_us"):
                check_number(where, f.name, value, low=0.0)
            else:
                check_number(where, f.name, value, low=0.0, strict=True)
    except ParameterError as exc:
        raise TopologyError(str(exc)) from None


# Nodes per side of a generated grid: all-pairs paths cost O(nodes^3), so a bigger grid is a
# mistake rather than a study (Topology.from_parts refuses too many nodes in any case).
MAX_GRID = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class FlatWifi:
    """Flat access: an anchor-capable gateway (D-GW/MAAR) in front of every AR, all gateways
    on one core router, grid neighbours meshed, plus a central anchor (HA/LMA) and
    correspondents behind the core."""

    rows: int = 4
    cols: int = 4
    spacing_m: float = 150.0
    correspondents: int = 4
    access_delay_us: float = 100.0  # AR - its gateway
    backhaul_delay_us: float = 1000.0  # gateway - core
    mesh_delay_us: float = 500.0  # gateway - grid-neighbour gateway
    central_delay_us: float = 2000.0  # central anchor - core
    internet_delay_us: float = 10000.0  # correspondent - core

    def __post_init__(self) -> None:
        _check_fields(self)

    def build(self) -> Topology:
        g = _Builder()
        core = g.core(self.correspondents, self.central_delay_us, self.internet_delay_us)
        gateway: dict[tuple[int, int], int] = {}
        for r in range(self.rows):
            for c in range(self.cols):
                gw = g.node(f"gw{r}.{c}", "anchor")
                ar = g.node(f"ar{r}.{c}", "poa", x=c * self.spacing_m, y=r * self.spacing_m)
                g.link(ar, gw, self.access_delay_us)
                g.link(gw, core, self.backhaul_delay_us)
                gateway[r, c] = gw
        for (r, c), gw in gateway.items():
            for neighbour in ((r, c + 1), (r + 1, c)):
                if neighbour in gateway:
                    g.link(gw, gateway[neighbour], self.mesh_delay_us)
        return _topology(g, "flat-wifi", self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hierarchical:
    """Hierarchical access: ARs grouped in areas, each area behind an aggregation node that can
    host anchor functions (MAP, LMA, SGW), aggregation nodes on the core, a central anchor
    and correspondents behind the core. PoAs form one grid of
    (area_rows·ar_rows) × (area_cols·ar_cols) cells; an area is a block of that grid."""

    area_rows: int = 2
    area_cols: int = 2
    ar_rows: int = 3
    ar_cols: int = 3
    spacing_m: float = 150.0
    correspondents: int = 4
    access_delay_us: float = 500.0  # AR - aggregation
    aggregation_delay_us: float = 2000.0  # aggregation - core
    central_delay_us: float = 2000.0
    internet_delay_us: float = 10000.0

    def __post_init__(self) -> None:
        _check_fields(self)

    def build(self) -> Topology:
        g = _Builder()
        core = g.core(self.correspondents, self.central_delay_us, self.internet_delay_us)
        for ar_r in range(self.area_rows):
            for ar_c in range(self.area_cols):
                agg = g.node(f"agg{ar_r}.{ar_c}", "anchor")
                g.link(agg, core, self.aggregation_delay_us)
                for r in range(self.ar_rows):
                    for c in range(self.ar_cols):
                        row = ar_r * self.ar_rows + r
                        col = ar_c * self.ar_cols + c
                        ar = g.node(f"ar{row}.{col}", "poa", x=col * self.spacing_m,
                                    y=row * self.spacing_m)
                        g.link(ar, agg, self.access_delay_us)
        return _topology(g, "hierarchical", self)


def _topology(g: _Builder, key: str, params: object) -> Topology:
    values = dataclasses.asdict(params)  # type: ignore[call-overload]
    return Topology.from_parts(g.nodes, g.links, name=key, source=f"generator {key!r}",
                               generator=key, params=values)


TOPOLOGY_GENERATORS: dict[str, type] = {"flat-wifi": FlatWifi, "hierarchical": Hierarchical}


def build_generated(name: str, params: Mapping[str, Any], source: str = "<params>") -> Topology:
    """Build a registered generator from TOML-style parameters; unknown keys are an error."""
    try:
        cls = TOPOLOGY_GENERATORS[name]
    except KeyError:
        raise TopologyError(
            f"{source}: unknown topology generator {name!r}; known: "
            f"{', '.join(sorted(TOPOLOGY_GENERATORS))}"
        ) from None
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = set(params) - allowed
    if unknown:
        raise TopologyError(
            f"{source}: generator {name!r} has no parameter {sorted(unknown)[0]!r}; "
            f"parameters: {', '.join(sorted(allowed))}"
        )
    return cls(**params).build()


# -------------------------------------------------------------------- observed access
@dataclass(frozen=True, slots=True, kw_only=True)
class SitedPoa:
    """A PoA seen in imported data (a cell, an AP) and the site whose gateway serves it."""

    name: str
    site: str
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SitedAccess:
    """Observed access: PoAs grouped in sites (cells of one eNB/gNB, APs of one controller),
    an anchor-capable gateway per site in front of its PoAs (so distributed practices anchor
    per site and a change of PoA inside a site keeps the anchor), gateways on one core
    router, a central anchor and correspondents behind the core. The PoAs come from the
    data, so they are the argument of ``build``; the parameters are the modelling choices.
    A gateway is placed at the mean position of its placed PoAs."""

    correspondents: int = 4
    access_delay_us: float = 100.0  # PoA - its site gateway
    backhaul_delay_us: float = 1000.0  # site gateway - core
    central_delay_us: float = 2000.0  # central anchor - core
    internet_delay_us: float = 10000.0  # correspondent - core

    def __post_init__(self) -> None:
        _check_fields(self)

    def build(self, poas: Sequence[SitedPoa], name: str = "sited-access") -> Topology:
        """Nodes: core, central anchor, correspondents, then per site in order of first
        appearance in ``poas`` its gateway (named after the site) followed by its PoAs."""
        if not poas:
            raise TopologyError("SitedAccess: no PoA to build a topology from")
        names = [poa.name for poa in poas] + list(dict.fromkeys(poa.site for poa in poas))
        fixed = {"core", "central-anchor", *(f"cn{i}" for i in range(self.correspondents))}
        seen: set[str] = set()
        for node_name in names:
            if node_name in seen or node_name in fixed:
                raise TopologyError(f"SitedAccess: node name {node_name!r} is used twice; "
                                    "PoA and site names must be distinct")
            seen.add(node_name)
        g = _Builder()
        core = g.core(self.correspondents, self.central_delay_us, self.internet_delay_us)
        by_site: dict[str, list[SitedPoa]] = {}
        for poa in poas:
            by_site.setdefault(poa.site, []).append(poa)
        for site, members in by_site.items():
            placed = [(p.x, p.y) for p in members if p.x is not None and p.y is not None]
            x = sum(p[0] for p in placed) / len(placed) if placed else None
            y = sum(p[1] for p in placed) / len(placed) if placed else None
            gw = g.node(site, "anchor", x=x, y=y)
            g.link(gw, core, self.backhaul_delay_us)
            for poa in members:
                g.link(g.node(poa.name, "poa", x=poa.x, y=poa.y), gw, self.access_delay_us)
        return Topology.from_parts(g.nodes, g.links, name=name, source=f"SitedAccess {name!r}")


# -------------------------------------------------------------------- flat access at given positions
def flat_at_positions(
    xy: Sequence[Sequence[float]],
    *,
    names: Sequence[str] | None = None,
    correspondents: int = 4,
    access_delay_us: float = 100.0,  # AR - its gateway
    backhaul_delay_us: float = 1000.0,  # gateway - core
    mesh_delay_us: float = 500.0,  # gateway - neighbouring gateway
    central_delay_us: float = 2000.0,  # central anchor - core
    internet_delay_us: float = 10000.0,  # correspondent - core
    mesh_ratio: float = 1.25,
    name: str = "flat-at-positions",
) -> Topology:
    """``FlatWifi`` with its ARs at given positions (imported PoAs, road-side units).

    Node order and links are FlatWifi's: core, central anchor, correspondents, then per PoA
    (in the order of ``xy``) its gateway followed by the AR. Without a grid, "neighbours"
    are geometric: the gateways of PoAs i and j are meshed when their distance is at most
    ``mesh_ratio`` × the larger of the two PoAs' nearest-neighbour distances, so the PoAs
    of a square grid mesh with their four grid neighbours (as in FlatWifi), those of a
    hexagonal lattice with six, and every PoA with at least its nearest one. PoAs are named
    ``names[i]`` (default ``ar{i}``), gateways ``gw-<PoA name>``.
    """
    import numpy as np

    points = np.asarray(xy, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise TopologyError(f"{name}: xy must be a non-empty list of (x, y) positions, "
                            f"got shape {points.shape}")
    if not np.isfinite(points).all():
        raise TopologyError(f"{name}: PoA positions must be finite metres")
    if isinstance(correspondents, bool) or not isinstance(correspondents, int) \
            or correspondents < 1:
        raise TopologyError(f"{name}: correspondents must be an integer >= 1, "
                            f"got {correspondents!r}")
    n = points.shape[0]
    labels = [f"ar{i}" for i in range(n)] if names is None else [str(s) for s in names]
    if len(labels) != n:
        raise TopologyError(f"{name}: {len(labels)} names for {n} PoA positions")
    reserved = {"core", "central-anchor", *(f"cn{i}" for i in range(correspondents))}
    seen: set[str] = set()
    for label in labels + [f"gw-{label}" for label in labels]:
        if not label or label in seen or label in reserved:
            raise TopologyError(f"{name}: node name {label!r} is empty or used twice; give "
                                "every PoA its own name")
        seen.add(label)
    delays = {"access_delay_us": access_delay_us, "backhaul_delay_us": backhaul_delay_us,
              "mesh_delay_us": mesh_delay_us, "central_delay_us": central_delay_us,
              "internet_delay_us": internet_delay_us, "mesh_ratio": mesh_ratio}
    for key, value in delays.items():
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                and np.isfinite(value) and value >= 0):
            raise TopologyError(f"{name}: {key} must be a finite number >= 0, got {value!r}")
    g = _Builder()
    core = g.core(correspondents, central_delay_us, internet_delay_us)
    gateways = []
    for label, (x, y) in zip(labels, points.tolist()):
        gw = g.node(f"gw-{label}", "anchor")
        ar = g.node(label, "poa", x=x, y=y)
        g.link(ar, gw, access_delay_us)
        g.link(gw, core, backhaul_delay_us)
        gateways.append(gw)
    if n > 1:
        d = np.hypot(points[:, None, 0] - points[None, :, 0],
                     points[:, None, 1] - points[None, :, 1])
        np.fill_diagonal(d, np.inf)
        nearest = d.min(axis=1)
        reach = mesh_ratio * np.maximum(nearest[:, None], nearest[None, :])
        for i, j in zip(*np.nonzero(np.triu(d <= reach * (1 + 1e-9), k=1))):
            g.link(gateways[int(i)], gateways[int(j)], mesh_delay_us)
    params = {"correspondents": correspondents, **{k: float(v) for k, v in delays.items()}}
    return Topology.from_parts(g.nodes, g.links, name=name, source=f"generator {name!r}",
                               generator="flat-at-positions", params=params)
