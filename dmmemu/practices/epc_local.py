"""SIPTO and LIPA (TR 23.829, TS 23.401 §4.3.15, §4.3.16): some PDN connections of the EPS
at a gateway near the UE, given up when the UE leaves that gateway's area."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dmmemu.engine.flow_classes import ALL_FLOWS, MAX_CLASSES, FlowClass
from dmmemu.errors import PracticeError
from dmmemu.practices.base import area_hosts
from dmmemu.practices.epc import EPC, SGW_AREA_PREFIX
from dmmemu.topology.graph import Topology

LGW_SITE_PREFIX = "lgw-site-"
BYPASS_SGW = 1  # bit of chain level 1: an L-GW reaches its HeNBs directly, not via the SGW


def site_gateways(topology: Topology) -> np.ndarray:
    """int32 (N,): the L-GW of each HeNB's site (an area ``lgw-site-…`` and its member
    hosting the L-GW function), -1 elsewhere."""
    return area_hosts(topology, LGW_SITE_PREFIX, "L-GW")


@dataclass(frozen=True, slots=True, kw_only=True)
class _LocalGateways(EPC):
    """The EPS of ``epc`` (its parameters) with PDN connections at local gateways: each flow
    of the practice's offload classes gets one, from the gateway of the PoA where it starts,
    when the UE has none there yet (UE-requested PDN connectivity, TS 23.401 §5.10.2), and
    keeps it while the UE stays in that gateway's area. A move out of the area releases the
    connection (MME-initiated PDN disconnection, §5.10.3, with ESM cause "reactivation
    requested", TS 24.301 #39): its flows break; the UE's next offload flows get the new
    area's gateway."""

    def _gateways(self, topology: Topology) -> tuple[list[tuple[FlowClass, np.ndarray]],
                                                     np.ndarray]:
        """The offload classes, each with its gateway per PoA (-1: the class's flows there
        stay on the PGW), and the gateways' scope (uint8 (N, N) rows)."""
        raise NotImplementedError

    def _local_gateways(self, topology: Topology) -> dict[str, Any]:
        offload, scope = self._gateways(topology)
        classes = tuple(c for c, _ in offload) + ALL_FLOWS
        rows = np.full((len(classes), topology.n_nodes), -1, np.int32)
        for i, (_, gateway) in enumerate(offload):
            rows[i] = gateway
        lgws = site_gateways(topology)
        bypass = np.zeros(topology.n_nodes, np.uint8)
        bypass[lgws[lgws >= 0]] = BYPASS_SGW
        return {"flow_classes": classes, "offload": rows, "scope": scope, "bypass": bypass}


def _area_scope(area_of: np.ndarray, scope: np.ndarray) -> None:
    """Limit the addresses of each gateway of ``area_of`` (the gateway of each PoA's area,
    -1 outside) to the PoAs of its area."""
    for node in np.unique(area_of[area_of >= 0]):
        scope[node] = 0
        scope[node, area_of == node] = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SIPTO(_LocalGateways):
    """Selected IP traffic offload (TR 23.829; TS 23.401 §4.3.15): the flows of the offload
    rule (apps ``offload_apps``, all apps if empty, and of those a share ``offload_share``
    drawn per flow id with ``offload_seed``) get a PDN connection at a gateway close to the
    UE when they start: above the RAN, a PGW collocated with the SGW of the eNB's area
    (TS 23.401 §4.3.15.1: its S5 is internal), at a HeNB site the local network's L-GW
    (``at_local_network``, §4.3.15a, the stand-alone gateway reaching its HeNBs directly).
    Leaving that area releases the connection: those flows break. The other flows stay on
    the PGW. The default rule offloads Internet traffic (TR 23.829 §5.1): the trace
    generator's web, video and bulk apps, not voice (IMS) nor telemetry."""

    key: ClassVar[str] = "sipto"
    summary: ClassVar[str] = ("SIPTO: selected flows at a gateway near the UE, broken when it "
                              "leaves the gateway's area (TR 23.829)")

    offload_apps: tuple[str, ...] = ("web", "video", "bulk")
    offload_share: float = 1.0
    offload_seed: int = 0
    at_local_network: bool = True

    def __post_init__(self) -> None:
        EPC.__post_init__(self)  # slots=True: no zero-argument super()
        if not 0.0 < self.offload_share <= 1.0:
            raise PracticeError(f"{self.key}: parameter offload_share must be above 0 and at "
                                f"most 1, got {self.offload_share!r}")

    def _gateways(self, topology: Topology) -> tuple[list[tuple[FlowClass, np.ndarray]],
                                                     np.ndarray]:
        sgws = area_hosts(topology, SGW_AREA_PREFIX, "SGW")
        gateway = sgws.copy()
        scope = np.ones((topology.n_nodes, topology.n_nodes), np.uint8)
        _area_scope(sgws, scope)  # a PGW at the SGW serves its whole area, HeNBs too
        if self.at_local_network:
            lgws = site_gateways(topology)
            gateway[lgws >= 0] = lgws[lgws >= 0]
            _area_scope(lgws, scope)
        rule = FlowClass(name="offload", anchor="offload",
                         apps=self.offload_apps or None,
                         share=None if self.offload_share == 1.0 else self.offload_share,
                         seed=self.offload_seed)
        return [(rule, gateway)], scope


@dataclass(frozen=True, slots=True, kw_only=True)
class LIPA(_LocalGateways):
    """Local IP access (TR 23.829, TR 23.859; TS 23.401 §4.3.16): flows to a peer of a
    HeNB site's local network (a correspondent local to the site, ``local_to``) that start
    at a HeNB of that site get a PDN connection at the site's L-GW, which reaches its HeNBs
    directly; mobility holds only between the HeNBs of that L-GW, and leaving them
    releases the connection: the LIPA flows break. A flow to a local peer that starts
    elsewhere goes through the PGW (remote access to the local network). On a trace with
    no flow to a local-network peer the practice is not applicable."""

    key: ClassVar[str] = "lipa"
    summary: ClassVar[str] = ("LIPA: flows to the local network through the HeNB site's L-GW, "
                              "broken leaving its HeNBs (TR 23.829)")

    def not_applicable(self, trace: Any) -> str | None:
        local = {n for peers in trace.topology.local_peers().values() for n in peers}
        if trace.flows["peer"].is_in(sorted(local)).any():
            return None
        return "no flow goes to a local-network peer (a correspondent local to a HeNB site)"

    def _gateways(self, topology: Topology) -> tuple[list[tuple[FlowClass, np.ndarray]],
                                                     np.ndarray]:
        lgws = site_gateways(topology)
        scope = np.ones((topology.n_nodes, topology.n_nodes), np.uint8)
        _area_scope(lgws, scope)
        sites = topology.local_peers()
        if len(sites) >= MAX_CLASSES:
            raise PracticeError(f"{self.key}: {len(sites)} HeNB sites with local peers; a "
                                f"flow class per site allows {MAX_CLASSES - 1} at most")
        classes = []
        for site, peers in sorted(sites.items()):
            members = topology.area_members(site)
            gateway = np.full(topology.n_nodes, -1, np.int32)
            poas = [int(m) for m in members if topology.role_of(int(m)) == "poa"]
            gateway[poas] = lgws[poas]
            classes.append((FlowClass(name=f"lipa {site}", anchor="offload",
                                      peers=tuple(peers)), gateway))
        return classes, scope

