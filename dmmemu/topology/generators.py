"""Generators for the reference architectures of the DMM gap analysis (RFC 7429 §4).

Each generator is a frozen dataclass of parameters whose ``build()`` returns a ``Topology``.
PoAs always lie in the plane (``x``, ``y`` in metres) so that the synthetic mobility models
can attach a moving node to its nearest PoA whatever the architecture. Nodes carry the
mobility functions they can host, the areas they belong to (MAP domains, SGW service areas,
L-GW sites) and the PoAs' access attributes (``dmmemu.topology.node_attributes``); pictures
and tables in ``docs/topologies.md``. Delays are modelling choices (parameters), not
measurements.
"""

from __future__ import annotations

import dataclasses
import math
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
             central: bool = False, **attributes: Any) -> int:
        """A new node; ``attributes`` are Node's functions, areas, access, ipv4, nat and
        local_to."""
        node_id = len(self.nodes)
        self.nodes.append(Node(id=node_id, name=name, role=role, x=x, y=y, central=central,
                               **attributes))
        return node_id

    def link(self, a: int, b: int, delay_us: float) -> None:
        self.links.append(Link(a=a, b=b, delay_us=float(delay_us)))

    def core(self, correspondents: int, central_delay_us: float,
             internet_delay_us: float) -> int:
        """The part every reference architecture shares: a core router with the central
        anchor and the correspondents behind it; returns the core's id."""
        core = self.node("core", "router")
        self.link(self.node("central-anchor", "anchor", central=True,
                            functions=CENTRAL_FUNCTIONS), core, central_delay_us)
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
            if f.type == "str":  # a choice, checked by its generator
                continue
            if f.type == "int":
                # An ``_every`` is a period (0 = never); every other count is at least 1.
                check_integer(where, f.name, value, low=0 if f.name.endswith("_every") else 1,
                              high=MAX_GRID)
            elif f.name.endswith("_us"):
                check_number(where, f.name, value, low=0.0)
            else:
                check_number(where, f.name, value, low=0.0, strict=True)
    except ParameterError as exc:
        raise TopologyError(str(exc)) from None


# What the generated nodes can host (RFC 7429 §4's reference architectures): the central
# anchor of the centralised practices, an access router of a WiFi PoA, a distributed gateway.
CENTRAL_FUNCTIONS = ("HA", "LMA", "CMD")
WIFI_AR_FUNCTIONS = ("AR", "MAG")
GATEWAY_FUNCTIONS = ("MAAR", "HA", "LMA")
# A converged 4G/5G core (TS 23.501 §5.17.1's interworking architecture): each SGW site
# hosts a UPF serving the same area, each PGW a UPF that can anchor PDU sessions, and the
# MME's node the AMF and SMF.
CONVERGED_SGW = ("SGW", "UPF")
CONVERGED_PGW = ("PGW", "LMA", "HA", "UPF")
CONVERGED_MME = ("MME", "AMF", "SMF")


def _access(index: int, ipv4_every: int, nat_every: int) -> dict[str, Any]:
    """The access attributes of the ``index``-th PoA (from 0): IPv4-only every
    ``ipv4_every``-th PoA and behind a NAT every ``nat_every``-th (0: none), counted from the
    last of each period so that the first PoAs keep plain IPv6 access."""
    return {"ipv4": bool(ipv4_every) and index % ipv4_every == ipv4_every - 1,
            "nat": bool(nat_every) and index % nat_every == nat_every - 1}


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
    ipv4_every: int = 0  # every n-th AR gives IPv4-only access (0: none)
    nat_every: int = 0  # every n-th AR sits behind a NAT (0: none)

    def __post_init__(self) -> None:
        _check_fields(self)

    def build(self) -> Topology:
        g = _Builder()
        core = g.core(self.correspondents, self.central_delay_us, self.internet_delay_us)
        self.place(g, core)
        return _topology(g, "flat-wifi", self)

    def place(self, g: _Builder, core: int, *, x0: float = 0.0, first_ar: int = 0) -> int:
        """Its gateways and ARs on ``core``, the grid from x = ``x0``; ``first_ar`` is the
        index of its first AR among the WiFi ARs (the IPv4 and NAT periods count across
        regions); returns the number of ARs placed."""
        gateway: dict[tuple[int, int], int] = {}
        for r in range(self.rows):
            for c in range(self.cols):
                gw = g.node(f"gw{r}.{c}", "anchor", functions=GATEWAY_FUNCTIONS)
                ar = g.node(f"ar{r}.{c}", "poa", x=x0 + c * self.spacing_m,
                            y=r * self.spacing_m, functions=WIFI_AR_FUNCTIONS, access="wifi",
                            **_access(first_ar + r * self.cols + c, self.ipv4_every,
                                      self.nat_every))
                g.link(ar, gw, self.access_delay_us)
                g.link(gw, core, self.backhaul_delay_us)
                gateway[r, c] = gw
        for (r, c), gw in gateway.items():
            for neighbour in ((r, c + 1), (r + 1, c)):
                if neighbour in gateway:
                    g.link(gw, gateway[neighbour], self.mesh_delay_us)
        return self.rows * self.cols


@dataclass(frozen=True, slots=True, kw_only=True)
class Hierarchical:
    """Hierarchical access: ARs grouped in areas, each area behind an aggregation node that can
    host anchor functions (MAP, LMA, SGW), aggregation nodes on the core, a central anchor
    and correspondents behind the core. PoAs form one grid of
    (area_rows·ar_rows) × (area_cols·ar_cols) cells; an area is a block of that grid, and the
    MAP domain ``map-domain-r.c`` of its aggregation node (RFC 5380)."""

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
    ipv4_every: int = 0  # every n-th AR gives IPv4-only access (0: none)
    nat_every: int = 0  # every n-th AR sits behind a NAT (0: none)

    def __post_init__(self) -> None:
        _check_fields(self)

    def build(self) -> Topology:
        g = _Builder()
        core = g.core(self.correspondents, self.central_delay_us, self.internet_delay_us)
        self.place(g, core)
        return _topology(g, "hierarchical", self)

    def place(self, g: _Builder, core: int, *, x0: float = 0.0, first_ar: int = 0,
              ar_prefix: str = "") -> int:
        """Its aggregation nodes and ARs on ``core``, as ``FlatWifi.place`` does (AR names
        start with ``ar_prefix``); returns the number of ARs placed."""
        n_ar = 0
        for ar_r in range(self.area_rows):
            for ar_c in range(self.area_cols):
                domain = (f"map-domain-{ar_r}.{ar_c}",)
                agg = g.node(f"agg{ar_r}.{ar_c}", "anchor", functions=("MAP", "LMA", "SGW"),
                             areas=domain)
                g.link(agg, core, self.aggregation_delay_us)
                for r in range(self.ar_rows):
                    for c in range(self.ar_cols):
                        row = ar_r * self.ar_rows + r
                        col = ar_c * self.ar_cols + c
                        ar = g.node(f"{ar_prefix}ar{row}.{col}", "poa",
                                    x=x0 + col * self.spacing_m, y=row * self.spacing_m,
                                    functions=WIFI_AR_FUNCTIONS, areas=domain, access="wifi",
                                    **_access(first_ar + n_ar, self.ipv4_every,
                                              self.nat_every))
                        n_ar += 1
                        g.link(ar, agg, self.access_delay_us)
        return n_ar


@dataclass(frozen=True, slots=True, kw_only=True)
class Eps:
    """A 3GPP EPS layout (TS 23.401; RFC 7429 §4's 3GPP figures): eNBs grouped in SGW
    service areas (``sgw-area-r.c``), each area behind its SGW; SGWs, PGWs and an MME on the
    core, the first PGW the central anchor, correspondents behind the core. HeNB sites
    (``lgw-site-k``) each have an L-GW (LIPA/SIPTO at the local network, TS 23.401 §4.3.16)
    in front of their HeNBs, its S5 path to the SGW of the area the site lies in, and
    correspondents local to the site. eNBs form one grid of (sgw_rows·enb_rows) ×
    (sgw_cols·enb_cols) cells; site k sits in area k (row by row, wrapping), its HeNBs a
    quarter cell apart from that area's first cell."""

    pgws: int = 1
    sgw_rows: int = 2
    sgw_cols: int = 2
    enb_rows: int = 3
    enb_cols: int = 3
    henb_sites: int = 2
    henbs_per_site: int = 2
    local_correspondents: int = 1  # per HeNB site
    spacing_m: float = 500.0
    correspondents: int = 4
    enb_delay_us: float = 1000.0  # eNB - its SGW (S1-U)
    sgw_delay_us: float = 2000.0  # SGW - core
    pgw_delay_us: float = 2000.0  # PGW - core (S5 to every SGW through the core)
    mme_delay_us: float = 1000.0  # MME - core
    henb_delay_us: float = 200.0  # HeNB - its site's L-GW
    lgw_delay_us: float = 5000.0  # L-GW - the SGW of its area (S5 over the site's backhaul)
    local_delay_us: float = 100.0  # local correspondent - L-GW
    internet_delay_us: float = 10000.0  # correspondent - core

    def __post_init__(self) -> None:
        _check_fields(self)

    def build(self) -> Topology:
        g = _Builder()
        core = g.node("core", "router")
        self.place_gateways(g, core, central=True)
        for i in range(self.correspondents):
            g.link(g.node(f"cn{i}", "cn"), core, self.internet_delay_us)
        self.place(g, core)
        return _topology(g, "eps", self)

    def place_gateways(self, g: _Builder, core: int, *, central: bool) -> None:
        """The PGWs (the first the central anchor if ``central``) and the MME on ``core``."""
        for i in range(self.pgws):
            pgw = g.node(f"pgw{i}", "anchor", central=central and i == 0,
                         functions=CONVERGED_PGW)
            g.link(pgw, core, self.pgw_delay_us)
        g.link(g.node("mme", "router", functions=CONVERGED_MME), core, self.mme_delay_us)

    def place(self, g: _Builder, core: int, *, x0: float = 0.0) -> None:
        """The SGW areas with their eNBs and the HeNB sites on ``core``, the eNB grid from
        x = ``x0``."""
        areas: list[tuple[str, int, tuple[float, float]]] = []
        for a_r in range(self.sgw_rows):
            for a_c in range(self.sgw_cols):
                area = f"sgw-area-{a_r}.{a_c}"
                sgw = g.node(f"sgw{a_r}.{a_c}", "anchor", functions=CONVERGED_SGW, areas=(area,))
                g.link(sgw, core, self.sgw_delay_us)
                first = (x0 + a_c * self.enb_cols * self.spacing_m,
                         a_r * self.enb_rows * self.spacing_m)
                areas.append((area, sgw, first))
                for r in range(self.enb_rows):
                    for c in range(self.enb_cols):
                        row, col = a_r * self.enb_rows + r, a_c * self.enb_cols + c
                        enb = g.node(f"enb{row}.{col}", "poa", x=x0 + col * self.spacing_m,
                                     y=row * self.spacing_m, functions=("eNB",),
                                     areas=(area,), access="cellular")
                        g.link(enb, sgw, self.enb_delay_us)
        for k in range(self.henb_sites):
            site = f"lgw-site-{k}"
            area, sgw, (xa, ya) = areas[k % len(areas)]
            lgw = g.node(f"lgw{k}", "anchor", functions=("L-GW",), areas=(site, area))
            g.link(lgw, sgw, self.lgw_delay_us)
            for j in range(self.henbs_per_site):
                henb = g.node(f"henb{k}.{j}", "poa", x=xa + (j + 1) * self.spacing_m / 4,
                              y=ya + self.spacing_m / 4, functions=("HeNB",),
                              areas=(site, area), access="cellular")
                g.link(henb, lgw, self.henb_delay_us)
            for j in range(self.local_correspondents):
                g.link(g.node(f"local{k}.{j}", "cn", local_to=site), lgw, self.local_delay_us)


@dataclass(frozen=True, slots=True, kw_only=True)
class Composite:
    """The reference architectures side by side on one core, so that every practice finds
    what it acts on in one trace: a ``flat-wifi`` region, a ``hierarchical`` region (MAP
    domains, its ARs named ``hier-ar…``) and an ``eps`` region (SGW areas, a PGW that is not
    the central anchor, an MME, HeNB sites with local correspondents), left to right with a
    gap of one WiFi spacing, and one central anchor (HA, LMA, CMD). The IPv4 and NAT
    periods count over the WiFi ARs of both WiFi regions. Every other delay is its region's
    generator default."""

    flat_rows: int = 4
    flat_cols: int = 4
    area_rows: int = 2  # MAP domains of the hierarchical region
    area_cols: int = 2
    ar_rows: int = 2  # ARs per MAP domain
    ar_cols: int = 2
    sgw_rows: int = 1  # SGW service areas of the EPS region
    sgw_cols: int = 2
    enb_rows: int = 2  # eNBs per SGW area
    enb_cols: int = 2
    henb_sites: int = 2
    henbs_per_site: int = 2
    local_correspondents: int = 1  # per HeNB site
    wifi_spacing_m: float = 150.0
    cell_spacing_m: float = 300.0
    correspondents: int = 16
    ipv4_every: int = 5  # every n-th WiFi AR gives IPv4-only access (0: none)
    nat_every: int = 7  # every n-th WiFi AR sits behind a NAT (0: none)

    def __post_init__(self) -> None:
        _check_fields(self)

    def regions(self) -> tuple[FlatWifi, Hierarchical, Eps]:
        """The three regions' own generators, with this one's sizes."""
        wifi = {"spacing_m": self.wifi_spacing_m, "correspondents": self.correspondents,
                "ipv4_every": self.ipv4_every, "nat_every": self.nat_every}
        return (FlatWifi(rows=self.flat_rows, cols=self.flat_cols, **wifi),
                Hierarchical(area_rows=self.area_rows, area_cols=self.area_cols,
                             ar_rows=self.ar_rows, ar_cols=self.ar_cols, **wifi),
                Eps(pgws=1, sgw_rows=self.sgw_rows, sgw_cols=self.sgw_cols,
                    enb_rows=self.enb_rows, enb_cols=self.enb_cols,
                    henb_sites=self.henb_sites, henbs_per_site=self.henbs_per_site,
                    local_correspondents=self.local_correspondents,
                    spacing_m=self.cell_spacing_m, correspondents=self.correspondents))

    def build(self) -> Topology:
        flat, hierarchical, eps = self.regions()
        g = _Builder()
        core = g.core(self.correspondents, flat.central_delay_us, flat.internet_delay_us)
        placed = flat.place(g, core)
        x0 = self.flat_cols * self.wifi_spacing_m
        placed += hierarchical.place(g, core, x0=x0, first_ar=placed, ar_prefix="hier-")
        x0 += self.area_cols * self.ar_cols * self.wifi_spacing_m
        eps.place_gateways(g, core, central=False)
        eps.place(g, core, x0=x0)
        return _topology(g, "composite", self)


def _topology(g: _Builder, key: str, params: object) -> Topology:
    values = dataclasses.asdict(params)  # type: ignore[call-overload]
    return Topology.from_parts(g.nodes, g.links, name=key, source=f"generator {key!r}",
                               generator=key, params=values)


TOPOLOGY_GENERATORS: dict[str, type] = {"flat-wifi": FlatWifi, "hierarchical": Hierarchical,
                                         "eps": Eps, "composite": Composite}


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
SITED_ARCHITECTURES = ("flat", "hierarchical", "eps")


def _strip_areas(centres: Mapping[str, tuple[float | None, float | None]],
                 per_area: int, prefix: str = "sgw-area-") -> dict[str, str]:
    """Site -> ``<prefix>k``: placed sites sorted by x into ⌈√areas⌉ columns, each column
    sorted by y and cut into areas of ``per_area`` sites; unplaced sites last."""
    placed = [s for s, (x, _) in centres.items() if x is not None]
    n_areas = max(1, math.ceil(len(placed) / per_area))
    columns = max(1, math.ceil(math.sqrt(n_areas)))
    by_x = sorted(placed, key=lambda s: (centres[s][0], centres[s][1], s))
    per_column = math.ceil(len(by_x) / columns) if by_x else 0
    ordered: list[str] = []
    for c in range(columns):
        column = by_x[c * per_column:(c + 1) * per_column]
        ordered += sorted(column, key=lambda s: (centres[s][1], centres[s][0], s))
    ordered += [s for s in centres if s not in set(placed)]
    return {site: f"{prefix}{i // per_area}" for i, site in enumerate(ordered)}


def domains_at_positions(xy: Sequence[Sequence[float]], *, names: Sequence[str],
                         domain_size: int = 9, correspondents: int = 4,
                         name: str = "domains-at-positions") -> Topology:
    """Hierarchical WiFi over ARs at given positions (imported PoAs): the ARs grouped by
    position into MAP domains of ``domain_size`` (the strips of ``SitedAccess``'s SGW areas),
    an aggregation node ``aggk`` per domain, as ``SitedAccess(architecture="hierarchical")``
    builds them."""
    if isinstance(domain_size, bool) or not isinstance(domain_size, int) or domain_size < 1:
        raise TopologyError(f"{name}: domain_size must be an integer >= 1, got {domain_size!r}")
    centres = {str(label): (float(x), float(y)) for label, (x, y) in zip(names, xy)}
    if len(centres) != len(names) or len(names) != len(xy):
        raise TopologyError(f"{name}: {len(names)} names for {len(xy)} PoA positions, or a "
                            "name used twice; give every PoA its own name")
    domain = _strip_areas(centres, domain_size, prefix="agg")
    poas = [SitedPoa(name=label, site=domain[label], x=x, y=y)
            for label, (x, y) in centres.items()]
    return SitedAccess(architecture="hierarchical", correspondents=correspondents).build(
        poas, name=name)


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
    A gateway is placed at the mean position of its placed PoAs.

    ``architecture`` places the sites on a reference architecture (docs/topologies.md):
    ``flat`` (the gateway of each site is a distributed anchor: MAAR, HA, LMA),
    ``hierarchical`` (each site is a MAP domain ``map-domain-<site>`` behind its gateway,
    the MAP; WiFi access: association logs, APs under their controller) or ``eps`` (each
    site is an eNB whose cells are its PoAs, sites grouped by position into SGW service areas
    of ``sites_per_area``, an SGW per area, a PGW as the central anchor and an MME; drive
    logs). Areas take sites in strips: sites sorted by x into ⌈√(areas)⌉ columns, each
    column by y into areas of ``sites_per_area``; sites without a position come last."""

    architecture: str = "flat"
    sites_per_area: int = 4  # eps: eNB sites per SGW service area
    correspondents: int = 4
    access_delay_us: float = 100.0  # PoA - its site gateway
    backhaul_delay_us: float = 1000.0  # site gateway - core
    central_delay_us: float = 2000.0  # central anchor - core
    internet_delay_us: float = 10000.0  # correspondent - core

    def __post_init__(self) -> None:
        if self.architecture not in SITED_ARCHITECTURES:
            raise TopologyError(f"SitedAccess: architecture must be one of "
                                f"{', '.join(SITED_ARCHITECTURES)}, got {self.architecture!r}")
        _check_fields(self)

    def build(self, poas: Sequence[SitedPoa], name: str = "sited-access") -> Topology:
        """Nodes: core, central anchor, correspondents, then per site in order of first
        appearance in ``poas`` its gateway (named after the site) followed by its PoAs."""
        if not poas:
            raise TopologyError("SitedAccess: no PoA to build a topology from")
        names = [poa.name for poa in poas] + list(dict.fromkeys(poa.site for poa in poas))
        fixed = {"core", "central-anchor", "pgw", "mme",
                 *(f"cn{i}" for i in range(self.correspondents)),
                 *(f"sgw-{k}" for k in range(len(names)))}  # eps: an SGW per area at most
        seen: set[str] = set()
        for node_name in names:
            if node_name in seen or node_name in fixed:
                raise TopologyError(f"SitedAccess: node name {node_name!r} is used twice; "
                                    "PoA and site names must be distinct")
            seen.add(node_name)
        by_site: dict[str, list[SitedPoa]] = {}
        for poa in poas:
            by_site.setdefault(poa.site, []).append(poa)
        centres = {}
        for site, members in by_site.items():
            placed = [(p.x, p.y) for p in members if p.x is not None and p.y is not None]
            centres[site] = ((sum(p[0] for p in placed) / len(placed),
                              sum(p[1] for p in placed) / len(placed)) if placed
                             else (None, None))
        g = _Builder()
        if self.architecture == "eps":
            core = self._eps_core(g)
            area_of = _strip_areas(centres, self.sites_per_area)
            sgw_of = {}
            for area in dict.fromkeys(area_of.values()):
                sgw_of[area] = g.node(area.replace("sgw-area", "sgw"), "anchor",
                                      functions=CONVERGED_SGW, areas=(area,))
                g.link(sgw_of[area], core, self.backhaul_delay_us)
        else:
            core = g.core(self.correspondents, self.central_delay_us, self.internet_delay_us)
        for site, members in by_site.items():
            x, y = centres[site]
            if self.architecture == "eps":
                areas, poa_kind = (area_of[site],), {"functions": ("eNB",), "access": "cellular"}
                gw = g.node(site, "router", x=x, y=y, areas=areas)  # the eNB, its cells below
                g.link(gw, sgw_of[area_of[site]], self.backhaul_delay_us)
            else:
                hierarchical = self.architecture == "hierarchical"
                areas = (f"map-domain-{site}",) if hierarchical else ()
                poa_kind = {"functions": WIFI_AR_FUNCTIONS, "access": "wifi"} if hierarchical \
                    else {}
                gw = g.node(site, "anchor", x=x, y=y, areas=areas,
                            functions=("MAP", "LMA") if hierarchical else GATEWAY_FUNCTIONS)
                g.link(gw, core, self.backhaul_delay_us)
            for poa in members:
                g.link(g.node(poa.name, "poa", x=poa.x, y=poa.y, areas=areas, **poa_kind), gw,
                       self.access_delay_us)
        return Topology.from_parts(g.nodes, g.links, name=name, source=f"SitedAccess {name!r}")

    def _eps_core(self, g: _Builder) -> int:
        """Core router, the PGW (central anchor), the MME and the correspondents."""
        core = g.node("core", "router")
        g.link(g.node("pgw", "anchor", central=True, functions=CONVERGED_PGW), core,
               self.central_delay_us)
        g.link(g.node("mme", "router", functions=CONVERGED_MME), core, self.central_delay_us)
        for i in range(self.correspondents):
            g.link(g.node(f"cn{i}", "cn"), core, self.internet_delay_us)
        return core


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
        gw = g.node(f"gw-{label}", "anchor", functions=GATEWAY_FUNCTIONS)
        ar = g.node(label, "poa", x=x, y=y, functions=WIFI_AR_FUNCTIONS, access="wifi")
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
