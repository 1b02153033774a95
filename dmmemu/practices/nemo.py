"""NEMO basic support (RFC 3963): mobile routers carry their networks, one MR–HA tunnel."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from dmmemu.engine.policy import PolicyTables
from dmmemu.engine.signaling import WHEN_MN_HOST, WHEN_MN_ROUTER, Leg, MessageKind
from dmmemu.practices.mipv6 import MIPv6
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import BA_MOBILE_ROUTER_BYTES, BU_MOBILE_ROUTER_BYTES

# Indices into NEMO.message_kinds after MIPv6's four (BU, BA and their de-registrations).
BU_MR, BA_MR, DEREG_BU_MR, DEREG_BA_MR = range(4, 8)


@dataclass(frozen=True, slots=True, kw_only=True)
class NEMO(MIPv6):
    """MIPv6 (the parameters of ``mipv6``) where MNs ride behind mobile routers as
    ``networks.parquet`` says (semantics.md §16).

    A mobile router is an MN that some row of networks.parquet names as a router. It
    registers like a host but its BU carries the R flag and, in explicit mode, a Mobile
    Network Prefix option (RFC 3963 §4.1, §4.3, §6.1.1: 96 bytes), and the HA's BA the R
    flag (§4.2: 80 bytes); it sends them on every attach, handover and refresh, and only it
    signals the network's moves. The HA tunnels the prefix's packets to the router's care-of
    address (§5.5), and there is no route optimisation. An MN behind a router keeps its own
    home address and binding (a visiting mobile node): its care-of address lies in the
    router's prefix, so it signals only when it joins, leaves or switches routers, and its
    packets travel in its own tunnel inside the router's, one tunnel (``encap_bytes``) more
    per level of nesting. Hosts (MNs that are never a router) send the plain BU/BA.
    """

    key: ClassVar[str] = "nemo"
    summary: ClassVar[str] = ("NEMO basic support: mobile routers carry their networks, "
                              "nested MR–HA tunnels (RFC 3963)")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = MIPv6.message_kinds + (
        MessageKind("BU mobile router", "BU-MR"),
        MessageKind("BA mobile router", "BA-MR", reply=True),
        MessageKind("BU mobile router de-registration", "BU-MR", deregistration=True),
        MessageKind("BA mobile router de-registration", "BA-MR", reply=True,
                    deregistration=True))

    mr_bu_bytes: int = BU_MOBILE_ROUTER_BYTES
    mr_ba_bytes: int = BA_MOBILE_ROUTER_BYTES

    def compile(self, topology: Topology) -> PolicyTables:
        return self._home_agent_tables(topology, mobile_networks=True)

    def not_applicable(self, trace: Any) -> str | None:
        networks = trace.networks
        if networks is None or networks["router"].null_count == networks.height:
            return "the trace has no mobile router (networks.parquet names none)"
        return None

    def _registration_legs(self) -> list[Leg]:
        """A host's BU/BA, and a mobile router's in its own format."""
        host = MIPv6._registration_legs(self)
        router = dataclasses.replace(self, bu_bytes=self.mr_bu_bytes, ba_bytes=self.mr_ba_bytes)
        return _by_mn(host, MIPv6._registration_legs(router), (BU_MR, BA_MR))

    def _deregistration_legs(self) -> list[Leg]:
        host = MIPv6._deregistration_legs(self)
        router = dataclasses.replace(self, bu_bytes=self.mr_bu_bytes, ba_bytes=self.mr_ba_bytes)
        return _by_mn(host, MIPv6._deregistration_legs(router), (DEREG_BU_MR, DEREG_BA_MR))


def _by_mn(host: list[Leg], router: list[Leg], router_kinds: tuple[int, int]) -> list[Leg]:
    """One program for hosts and one for routers: each leg sent only for its kind of MN,
    the router's of kinds ``router_kinds`` (request, reply) after the host's in each cause."""
    hosts_in: dict[int, int] = {}
    for leg in host:
        hosts_in[leg.cause] = hosts_in.get(leg.cause, 0) + 1
    kinds = {leg.kind: kind for leg, kind in zip(host[:2], router_kinds)}
    legs = [dataclasses.replace(leg, when=WHEN_MN_HOST) for leg in host]
    for leg in router:
        offset = hosts_in.get(leg.cause, 0)
        legs.append(dataclasses.replace(
            leg, when=WHEN_MN_ROUTER, kind=kinds[leg.kind],
            after=leg.after + offset if leg.after >= 0 else leg.after))
    return legs
