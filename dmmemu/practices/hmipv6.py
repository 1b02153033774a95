"""Hierarchical Mobile IPv6 (RFC 5380): a MAP in each domain hides moves inside it from
the home agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dmmemu.engine.flow_classes import ALL_FLOWS, FlowClass
from dmmemu.engine.policy import PolicyTables
from dmmemu.engine.signaling import (
    AT_SIGNALING_START,
    CAUSE_ATTACH,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_REFRESH,
    ONCE,
    ROLE_ANCHOR,
    ROLE_LEVEL,
    ROLE_MN,
    ROLE_PREV_LEVEL,
    WHEN_ANCHOR_NOT_LEVEL,
    WHEN_LEVEL_CHANGED_ABOVE,
    Leg,
    MessageKind,
)
from dmmemu.practices.base import area_hosts, named_anchor
from dmmemu.practices.mipv6 import BA, BU, MIPv6
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import (
    IKE_AUTH_REQUEST_BYTES,
    IKE_AUTH_RESPONSE_BYTES,
    IKE_SA_INIT_BYTES,
    LOCAL_BU_BYTES,
)

LBU, LBA, SA_INIT, SA_INIT_R, AUTH, AUTH_R = range(4, 10)  # after MIPv6's four kinds
MAP_DOMAIN_PREFIX = "map-domain-"

# RFC 7429 §3: the HA anchors the home address; the MAP too holds a binding (RCoA to LCoA)
# and routes to it (mobility routing, location management); the MN updates both.
HMIPV6_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR, ROLE_LEVEL), (ROLE_ANCHOR, ROLE_LEVEL),
                    (ROLE_MN,))


def map_of_poa(topology: Topology) -> np.ndarray:
    """int32 (N,): the MAP of each PoA's MAP domain (an area named ``map-domain-…`` and the
    member that can host the MAP function), -1 outside every domain."""
    return area_hosts(topology, MAP_DOMAIN_PREFIX, "MAP")


@dataclass(frozen=True, slots=True, kw_only=True)
class HMIPv6(MIPv6):
    """MIPv6 (the parameters of ``mipv6``, without a home link) with a MAP in each MAP
    domain of the topology (areas ``map-domain-…``, the member hosting the MAP function).

    A move inside a domain sends a local BU/BA to the MAP only (RFC 5380 §4, the A and M
    flags). Entering a domain (an attach included), the MN obtains a regional care-of
    address (RCoA) from the new MAP through IKEv2 (IKE_SA_INIT and IKE_AUTH, the RCoA in a
    configuration payload: RFC 5380 §10 with RFC 4877, not DAD), sends the local BU and
    waits for the MAP's BA, then registers the RCoA with the HA (BU/BA, which it MUST),
    and sends a local BU to its previous MAP (which it SHOULD). Outside every domain it is
    plain ``mipv6``. Packets on the home address go HA -> MAP in the HA's tunnel to the
    RCoA (40 B) and MAP -> LCoA inside the MAP's tunnel (80 B, nested). Refreshes renew
    both bindings (local BU/BA and BU/BA), without IKEv2.

    Flows of the apps in ``rcoa_apps``, and flows that need no session continuity when
    ``rcoa_without_continuity``, use the RCoA itself (an address on the MAP's link: the MAP
    tunnels packets to it to the LCoA, RFC 5380 §3, §6.2): anchored at the MAP, no HA, the
    MAP's tunnel alone (40 B) to the LCoA; they break when the MN leaves the domain.
    Outside every domain they use the home address. The local BU/BA of a move updates the
    one binding RCoA -> LCoA that both paths use. Not modelled yet: MAP
    selection other than by the topology's domains (docs/practices.md).
    """

    key: ClassVar[str] = "hmipv6"
    summary: ClassVar[str] = ("Hierarchical Mobile IPv6: a MAP per domain hides local moves "
                              "from the home agent (RFC 5380)")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = MIPv6.message_kinds + (
        MessageKind("local BU", "LBU"), MessageKind("local BA", "BA", reply=True),
        MessageKind("IKE_SA_INIT", "IKE-SA-INIT"),
        MessageKind("IKE_SA_INIT response", "IKE-SA-INIT-R", reply=True),
        MessageKind("IKE_AUTH", "IKE-AUTH"), MessageKind("IKE_AUTH response", "IKE-AUTH-R",
                                                         reply=True))

    rcoa_apps: tuple[str, ...] = ()
    rcoa_without_continuity: bool = False
    lbu_bytes: int = LOCAL_BU_BYTES
    ike_sa_init_bytes: int = IKE_SA_INIT_BYTES
    ike_auth_bytes: int = IKE_AUTH_REQUEST_BYTES
    ike_auth_reply_bytes: int = IKE_AUTH_RESPONSE_BYTES

    def not_applicable(self, trace: Any) -> str | None:
        if (map_of_poa(trace.topology) >= 0).any():
            return None
        return "the topology has no MAP domain (no area map-domain-… with a MAP)"

    def _registration_legs(self) -> list[Leg]:
        """Per cause, legs indexed in its own list: IKEv2 with a new MAP, the local BU/BA,
        the HA's BU/BA when the MAP changed (or there is none), the previous MAP's local BU.
        A refresh or a new address renews the bindings without IKEv2.

        The HA's part and IKEv2 are the home address's (``WHEN_LEVEL_CHANGED_ABOVE``: not
        for an RCoA the MAP anchors). A move's local BU/BA is sent once and completes every
        address (one binding RCoA -> LCoA serves both paths); a refresh's and a new
        address's are the home address's alone (``WHEN_ANCHOR_NOT_LEVEL``): an RCoA address
        adds no signaling of its own."""
        legs: list[Leg] = []
        changed = {"level": 1, "when": WHEN_LEVEL_CHANGED_ABOVE}
        for cause in (CAUSE_ATTACH, CAUSE_HANDOVER, CAUSE_FLOW, CAUSE_REFRESH):
            moving = cause in (CAUSE_ATTACH, CAUSE_HANDOVER)
            local = ({"scope": ONCE} if moving else {"when": WHEN_ANCHOR_NOT_LEVEL})
            own: list[Leg] = []
            if cause in (CAUSE_ATTACH, CAUSE_HANDOVER):
                for kind, src, dst, size in (
                        (SA_INIT, ROLE_MN, ROLE_LEVEL, self.ike_sa_init_bytes),
                        (SA_INIT_R, ROLE_LEVEL, ROLE_MN, self.ike_sa_init_bytes),
                        (AUTH, ROLE_MN, ROLE_LEVEL, self.ike_auth_bytes),
                        (AUTH_R, ROLE_LEVEL, ROLE_MN, self.ike_auth_reply_bytes)):
                    own.append(Leg(cause=cause, kind=kind, src=src, dst=dst, nbytes=size,
                                   after=len(own) - 1 if own else AT_SIGNALING_START,
                                   **changed))
            first = len(own)
            own += [
                Leg(cause=cause, kind=LBU, src=ROLE_MN, dst=ROLE_LEVEL, nbytes=self.lbu_bytes,
                    level=1, after=first - 1 if first else AT_SIGNALING_START, **local),
                Leg(cause=cause, kind=LBA, src=ROLE_LEVEL, dst=ROLE_MN, nbytes=self.ba_bytes,
                    level=1, after=first, ends=True, **local),
                Leg(cause=cause, kind=BU, src=ROLE_MN, dst=ROLE_ANCHOR, nbytes=self.bu_bytes,
                    after=first + 1, **changed),
                Leg(cause=cause, kind=BA, src=ROLE_ANCHOR, dst=ROLE_MN, nbytes=self.ba_bytes,
                    after=first + 2, ends=True, hold=True, **changed),
            ]
            if cause == CAUSE_HANDOVER:
                own.append(Leg(cause=cause, kind=LBU, src=ROLE_MN, dst=ROLE_PREV_LEVEL,
                               nbytes=self.lbu_bytes, after=first + 1, **changed))
            legs += own
        return legs

    def compile(self, topology: Topology) -> PolicyTables:
        maps = map_of_poa(topology)
        n = topology.n_nodes
        classes: tuple[FlowClass, ...] = ()
        rules = [FlowClass(name="rcoa " + ",".join(self.rcoa_apps), anchor="offload",
                           apps=tuple(self.rcoa_apps))] if self.rcoa_apps else []
        if self.rcoa_without_continuity:
            rules.append(FlowClass(name="rcoa without continuity", anchor="offload",
                                   continuity=False))
        scope = np.ones((n, n), np.uint8)
        bypass = np.zeros(n, np.uint8)
        # A MAP that is the HA itself anchors the home address: its flows use that.
        rcoa_maps = np.where(maps == named_anchor(topology, self.home_agent, self.key), -1,
                             maps)
        if rules:
            classes = (*rules, ALL_FLOWS[-1])
            for node in np.unique(rcoa_maps[rcoa_maps >= 0]):
                scope[node] = maps == node  # an RCoA follows the MN inside its domain only
                bypass[node] = 1  # its path: the MAP's own tunnel, not the nested one
        offload = np.full((len(classes) or 1, n), -1, np.int32)
        offload[:len(rules)] = rcoa_maps
        return self._home_agent_tables(
            topology, map_chain=np.ascontiguousarray(maps.reshape(1, -1)),
            function_roles=HMIPV6_FUNCTIONS, scope=scope, bypass=bypass, offload=offload,
            **({"flow_classes": classes} if classes else {}))
