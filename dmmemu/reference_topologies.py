"""Generators for the reference architectures of the DMM gap analysis (RFC 7429 §3).

Each generator is a frozen dataclass of parameters whose ``build()`` returns a ``Topology``.
PoAs always lie on a grid (``x``, ``y`` in metres) so that the synthetic mobility models can
attach a moving node to its nearest PoA whatever the architecture. Delays are modelling
choices (parameters), not measurements.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import TopologyError
from .topology import Link, Node, Topology


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


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value <= 0:
            raise TopologyError(f"{type(obj).__name__}: {name} must be > 0, got {value!r}")


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
        _positive(self, "rows", "cols", "spacing_m", "correspondents")

    def build(self) -> Topology:
        g = _Builder()
        core = g.node("core", "router")
        central = g.node("central-anchor", "anchor", central=True)
        g.link(central, core, self.central_delay_us)
        for i in range(self.correspondents):
            g.link(g.node(f"cn{i}", "cn"), core, self.internet_delay_us)
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
        _positive(self, "area_rows", "area_cols", "ar_rows", "ar_cols", "spacing_m",
                  "correspondents")

    def build(self) -> Topology:
        g = _Builder()
        core = g.node("core", "router")
        central = g.node("central-anchor", "anchor", central=True)
        g.link(central, core, self.central_delay_us)
        for i in range(self.correspondents):
            g.link(g.node(f"cn{i}", "cn"), core, self.internet_delay_us)
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
