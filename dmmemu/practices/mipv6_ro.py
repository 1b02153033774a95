"""Mobile IPv6 with route optimisation (RFC 6275 §5.2, §9.5, §11.7): correspondent bindings
through return routability, on top of the home agent's bidirectional tunnel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dmmemu.engine.flow_classes import FlowClass
from dmmemu.engine.policy import PolicyTables
from dmmemu.engine.signaling import (
    CAUSE_CORRESPONDENT,
    ROLE_ANCHOR,
    ROLE_MN,
    ROLE_PEER,
    WHEN_ALWAYS,
    WHEN_TOKEN_STALE,
    Leg,
    MessageKind,
)
from dmmemu.errors import PracticeError
from dmmemu.practices.base import named_node
from dmmemu.practices.mipv6 import MIPv6
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import (
    BA_BYTES,
    BU_CN_BYTES,
    COT_BYTES,
    COTI_BYTES,
    HOT_BYTES,
    HOTI_BYTES,
    RO_HOME_ADDRESS_BYTES,
    RO_ROUTING_HEADER_BYTES,
)

COTI, COT, HOTI, HOT, BU_CN, BA_CN = range(4, 10)  # after MIPv6's four kinds

# RFC 7429 §3 with route optimisation: a correspondent holds a binding cache entry for the
# MN and routes to its care-of address itself (mobility routing, location management).
MIPV6_RO_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR, ROLE_PEER), (ROLE_ANCHOR, ROLE_PEER),
                      (ROLE_MN,))

ROUTE_OPTIMISED = (FlowClass(name="route-optimised", route_optimised=True),)


@dataclass(frozen=True, slots=True, kw_only=True)
class MIPv6RouteOptimisation(MIPv6):
    """MIPv6 (the parameters of ``mipv6``) whose flows go straight between correspondent and
    care-of address once the correspondent holds a binding for it.

    After the HA's BA (RFC 6275 §11.7.2), and when a flow to a correspondent starts away
    from home, the MN runs return routability with each correspondent it has flows with:
    CoTI/CoT directly and HoTI/HoT through the HA tunnel (+40 bytes on the tunnel part), in
    parallel (§5.2.5), then the BU to the correspondent (96 bytes: home address option, nonce
    indices, authorization data). ``token_reuse``: a home keygen token younger than
    ``max_token_lifetime_s`` (MAX_TOKEN_LIFETIME, 210 s, §12) is reused after a move and
    only the care-of test runs (§5.2.7). ``cn_ack``: the BU asks for a BA (the A bit); the
    RFC lets the MN choose and the correspondent SHOULD NOT answer otherwise (§9.5.4);
    UMIP's default is not to ask. ``rr_refresh_s``: the binding's lifetime is at most
    MAX_RR_BINDING_LIFETIME (420 s, §12), so return routability runs again every 420 s
    while flows use it. Packets carry the type-2 routing header downlink and the home
    address option uplink (24 bytes each) on the direct path; a correspondent that has no
    binding, or does not support route optimisation, uses the HA tunnel.
    Which correspondents support it: ``ro_correspondents`` (names; all of them listed) or,
    when empty, a seeded share ``ro_share`` of the topology's correspondents
    (``ro_seed``). Simplifications: docs/practices.md.
    """

    key: ClassVar[str] = "mipv6-ro"
    summary: ClassVar[str] = ("Mobile IPv6 with route optimisation: return routability and "
                              "correspondent bindings (RFC 6275 §5.2)")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = MIPv6.message_kinds + (
        MessageKind("CoTI", "CoTI"), MessageKind("CoT", "CoT", reply=True),
        MessageKind("HoTI", "HoTI"), MessageKind("HoT", "HoT", reply=True),
        MessageKind("BU to CN", "BU-CN"), MessageKind("BA from CN", "BA", reply=True))

    token_reuse: bool = True
    max_token_lifetime_s: float = 210.0
    rr_refresh_s: float = 420.0
    cn_ack: bool = False
    ro_share: float = 1.0
    ro_seed: int = 0
    ro_correspondents: tuple[str, ...] = ()
    coti_bytes: int = COTI_BYTES
    cot_bytes: int = COT_BYTES
    hoti_bytes: int = HOTI_BYTES
    hot_bytes: int = HOT_BYTES
    bu_cn_bytes: int = BU_CN_BYTES
    ba_cn_bytes: int = BA_BYTES
    ro_option_bytes: int = max(RO_ROUTING_HEADER_BYTES, RO_HOME_ADDRESS_BYTES)

    def __post_init__(self) -> None:
        MIPv6.__post_init__(self)  # slots=True: no zero-argument super()
        if self.ro_share > 1.0:
            raise PracticeError(f"{self.key}: parameter ro_share must be a share in 0..1, "
                                f"got {self.ro_share!r}")
        self._positive("rr_refresh_s")

    def compile(self, topology: Topology) -> PolicyTables:
        capable = self._capable(topology)
        # The BU waits for the HoT when the home test runs; the wait never reaches this cap,
        # which only bounds it: a home test takes two trips over the topology at most.
        cap = 4 * int(topology.delay_ns.max()) + 1
        token = WHEN_TOKEN_STALE if self.token_reuse else WHEN_ALWAYS
        c = CAUSE_CORRESPONDENT
        legs = (
            Leg(cause=c, kind=COTI, src=ROLE_MN, dst=ROLE_PEER, nbytes=self.coti_bytes),
            Leg(cause=c, kind=COT, src=ROLE_PEER, dst=ROLE_MN, nbytes=self.cot_bytes, after=0),
            Leg(cause=c, kind=HOTI, src=ROLE_MN, dst=ROLE_PEER, nbytes=self.hoti_bytes,
                via=ROLE_ANCHOR, via_bytes=self.encap_bytes, when=token),
            Leg(cause=c, kind=HOT, src=ROLE_PEER, dst=ROLE_MN, nbytes=self.hot_bytes, after=2,
                via=ROLE_ANCHOR, via_bytes=self.encap_bytes, when=token),
            Leg(cause=c, kind=BU_CN, src=ROLE_MN, dst=ROLE_PEER, nbytes=self.bu_cn_bytes,
                after=1, gate=3, gate_cap_ns=cap, ends=True),
        ) + ((Leg(cause=c, kind=BA_CN, src=ROLE_PEER, dst=ROLE_MN, nbytes=self.ba_cn_bytes,
                  after=4),) if self.cn_ack else ())
        return self._home_agent_tables(
            topology, extra_legs=legs, function_roles=MIPV6_RO_FUNCTIONS,
            flow_classes=ROUTE_OPTIMISED, direct_bytes=self.ro_option_bytes,
            ro_capable=capable,
            token_lifetime_ns=self._ms(self.max_token_lifetime_s * 1000, "max_token_lifetime_s"),
            correspondent_refresh_ns=self._ms(self.rr_refresh_s * 1000, "rr_refresh_s"))

    def _capable(self, topology: Topology) -> np.ndarray:
        """uint8 (N,): the correspondents that take part in route optimisation."""
        capable = np.zeros(topology.n_nodes, np.uint8)
        if self.ro_correspondents:
            for name in self.ro_correspondents:
                capable[named_node(topology, name, f"{self.key}: ro_correspondents",
                                   role="cn")] = 1
            return capable
        cns = topology.nodes_with_role("cn")
        chosen = np.random.default_rng(self.ro_seed).permutation(cns)[
            :round(self.ro_share * cns.size)]
        capable[chosen] = 1
        return capable
