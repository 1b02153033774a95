"""Dual-stack Mobile IPv6 (RFC 5555): MIPv6 from IPv4 care-of addresses, through NATs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dmmemu.engine.policy import PolicyTables
from dmmemu.engine.signaling import (
    CAUSE_ATTACH,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_REFRESH,
    ROLE_ANCHOR,
    ROLE_MN,
    Leg,
    MessageKind,
)
from dmmemu.practices.mipv6 import BA, BU, MIPv6
from dmmemu.topology.graph import Topology
from dmmemu.wire.packets import NATKATIMEOUT_S
from dmmemu.wire.sizes import (
    BA_IPV4_COA_BYTES,
    BU_IPV4_COA_BYTES,
    IPV6_IN_IPV4_BYTES,
    IPV6_IN_UDP_IPV4_BYTES,
)

BU4, BA4 = 4, 5  # after MIPv6's four kinds
# PoA classes (PolicyTables.poa_class): the care-of address an MN gets there.
IPV6_ACCESS, IPV4_ACCESS, BEHIND_NAT = 0, 1, 2


@dataclass(frozen=True, slots=True, kw_only=True)
class DSMIPv6(MIPv6):
    """MIPv6 (the parameters of ``mipv6``) where a PoA may give only an IPv4 care-of
    address (``ipv4`` in topology.toml) or one behind a NAT (``nat``; a NAT is IPv4 NAT,
    so such a PoA counts as IPv4 too).

    At an IPv6 PoA everything is ``mipv6``'s. From an IPv4 care-of address the BU travels
    in UDP (port 4191) over IPv4 to the HA's IPv4 address, with the IPv4 Care-of Address
    option in place of the home address option, and the BA comes back the same way with the
    NAT Detection option (RFC 5555 §4.1; 92 bytes each from their formats); the HA detects
    a NAT by comparing the outer IPv4 source with the option's address. Data between HA
    and MN is IPv6-in-IPv4 (20 bytes) from an IPv4 care-of address, IPv6 in UDP over IPv4
    (28 bytes) behind a NAT. Behind a NAT the MN refreshes its binding at least every
    ``nat_keepalive_s`` (NATKATIMEOUT, 110 s), a BU/BA pair that keeps the NAT's mapping
    (the binding's own lifetime, when shorter, sets the period). Simplifications:
    docs/practices.md.
    """

    key: ClassVar[str] = "dsmipv6"
    summary: ClassVar[str] = ("Dual-stack Mobile IPv6: IPv4 care-of addresses, UDP "
                              "encapsulation and keepalives behind NATs (RFC 5555)")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = MIPv6.message_kinds + (
        MessageKind("BU from IPv4", "BU-IPv4CoA"),
        MessageKind("BA to IPv4", "BA-IPv4CoA", reply=True))

    nat_keepalive_s: float = float(NATKATIMEOUT_S)
    bu4_bytes: int = BU_IPV4_COA_BYTES
    ba4_bytes: int = BA_IPV4_COA_BYTES
    ipv4_encap_bytes: int = IPV6_IN_IPV4_BYTES
    udp_encap_bytes: int = IPV6_IN_UDP_IPV4_BYTES

    def __post_init__(self) -> None:
        MIPv6.__post_init__(self)  # slots=True: no zero-argument super()
        self._positive("nat_keepalive_s")

    def _registration_legs(self) -> list[Leg]:
        """The home registration in two variants: IPv6 (``mipv6``'s) and from an IPv4
        care-of address (RFC 5555), each only at its PoAs."""
        legs = []
        for cause in (CAUSE_ATTACH, CAUSE_HANDOVER, CAUSE_FLOW, CAUSE_REFRESH):
            for kinds, sizes, at in (((BU, BA), (self.bu_bytes, self.ba_bytes), (IPV6_ACCESS,)),
                                     ((BU4, BA4), (self.bu4_bytes, self.ba4_bytes),
                                      (IPV4_ACCESS, BEHIND_NAT))):
                first = sum(leg.cause == cause for leg in legs)
                legs += [Leg(cause=cause, kind=kinds[0], src=ROLE_MN, dst=ROLE_ANCHOR,
                             nbytes=sizes[0], at_poa=at),
                         Leg(cause=cause, kind=kinds[1], src=ROLE_ANCHOR, dst=ROLE_MN,
                             nbytes=sizes[1], after=first, ends=True, hold=True, at_poa=at)]
        return legs

    def compile(self, topology: Topology) -> PolicyTables:
        n = topology.n_nodes
        poa_class = np.zeros(n, np.uint8)
        access = np.zeros(n, np.int32)
        lifetime = self._lifetime_ns()
        keepalive = self._ms(self.nat_keepalive_s * 1000, "nat_keepalive_s")
        refresh = np.full(n, lifetime, np.int64)
        for node in topology.nodes:
            if node.role != "poa" or not (node.ipv4 or node.nat):
                continue
            poa_class[node.id] = BEHIND_NAT if node.nat else IPV4_ACCESS
            access[node.id] = (self.udp_encap_bytes if node.nat
                               else self.ipv4_encap_bytes) - self.encap_bytes
            if node.nat:  # the keepalive, unless the binding's refresh comes sooner
                refresh[node.id] = keepalive if lifetime == 0 else min(lifetime, keepalive)
        return self._home_agent_tables(topology, poa_class=poa_class, access_bytes=access,
                                       refresh_ns=refresh)
