"""Mobile IPv6 with a bidirectional tunnel through one home agent (RFC 6275)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dmmemu.engine.policy import SELECT_CENTRAL, PolicyTables
from dmmemu.engine.signaling import (
    CAUSE_DEREGISTRATION,
    ROLE_ANCHOR,
    ROLE_MN,
    Leg,
    MessageKind,
    request_reply,
    request_reply_program,
)
from dmmemu.errors import PracticeError
from dmmemu.practices.base import Practice, named_anchor, named_node
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import BA_BYTES, BU_HA_BYTES, IPV6_IN_IPV6_BYTES

BU, BA, DEREG_BU, DEREG_BA = range(4)  # indices into MIPv6.message_kinds


# RFC 7429 §3: the HA anchors the home address, intercepts and tunnels its packets and holds
# the binding cache (AF, MR, LM); the MN itself sends the binding updates (LU).
MIPV6_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_MN,))


@dataclass(frozen=True, slots=True, kw_only=True)
class MIPv6(Practice):
    """Central HA anchors the home address; every move sends BU/BA between MN and HA.

    ``lifetime_s``: RFC 6275 fixes no default home-registration lifetime (MAX_RR_BINDING_LIFETIME
    bounds correspondent bindings, not this one); 3600 s is INET's
    MIPv6_MAX_HA_BINDING_LIFETIME (UMIP's default is the field's largest, 262,140 s).
    ``detection_ms``: movement detection by router solicitation and advertisement; 396 ms as
    INET's MIPv6 showcase measures it (RFC 4861 §6.3.7 delays the first RS by a random 0 to
    MAX_RTR_SOLICITATION_DELAY = 1 s; RFC 6275 §7.5 allows RAs every 30–70 ms).
    ``dad_ms``: duplicate address detection of the new care-of address, RetransTimer 1 s ×
    DupAddrDetectTransmits 1 (RFC 4862 §5.1; its random 0–1 s delay before the first probe is
    left out); ``optimistic_dad`` makes it 0 (RFC 4429: the address is usable at once).
    ``ha_dad_ms``: the HA defends the home address by DAD on the home link before its first
    BA for a new binding cache entry (RFC 6275 §10.3.1); INET holds that BA 1.000 s.

    Signaling (RFC 6275 §11.7.1, §10.3.1): the MN sends a BU to the HA and the HA answers with
    a BA, on every attach, handover and refresh. A detached MN sends nothing: its binding
    stays at the HA until the lifetime of its last BU runs out, and its home address is
    permanent (never lost). ``home_link`` names the PoA of the home link: there the MN is at
    home, its packets go natively and it holds no binding; returning home it de-registers
    with a BU of lifetime 0 and the HA's BA (§11.5.4, §10.3.2), and its first move away is a
    new binding cache entry (the HA's DAD hold again).
    """

    key: ClassVar[str] = "mipv6"
    summary: ClassVar[str] = "Mobile IPv6, bidirectional tunnel via one central home agent (RFC 6275)"
    message_kinds: ClassVar[tuple[MessageKind, ...]] = (
        MessageKind("BU", "BU"), MessageKind("BA", "BA", reply=True),
        MessageKind("BU de-registration", "BU", deregistration=True),
        MessageKind("BA de-registration", "BA", reply=True, deregistration=True))

    detection_ms: float = 396.0
    lifetime_s: float = 3600.0
    dad_ms: float = 1000.0
    optimistic_dad: bool = False
    ha_dad_ms: float = 1000.0
    home_agent: str | None = None
    home_link: str | None = None
    bu_bytes: int = BU_HA_BYTES
    ba_bytes: int = BA_BYTES
    encap_bytes: int = IPV6_IN_IPV6_BYTES

    def compile(self, topology: Topology) -> PolicyTables:
        return self._home_agent_tables(topology)

    def _registration_legs(self) -> list[Leg]:
        """The home registration: BU/BA on every attach, handover, new address and refresh."""
        return request_reply_program(ROLE_MN, (self.bu_bytes, self.ba_bytes), hold=True,
                                     kinds=(BU, BA))

    def _deregistration_legs(self) -> list[Leg]:
        """Returning home: the BU of lifetime 0 and the HA's BA (RFC 6275 §11.5.4)."""
        return request_reply(CAUSE_DEREGISTRATION, (DEREG_BU, DEREG_BA), ROLE_MN,
                             (self.bu_bytes, self.ba_bytes))

    def _home_agent_tables(self, topology: Topology, *, extra_legs: tuple[Leg, ...] = (),
                           function_roles: tuple[tuple[int, ...], ...] = MIPV6_FUNCTIONS,
                           home_agents: dict[str, Any] | None = None,
                           map_chain: np.ndarray | None = None,
                           **policy_fields: Any) -> PolicyTables:
        """The home registration's tables, with ``extra_legs`` (of the causes after the
        home registration's) and other PolicyTables fields (``Practice._tables``).
        ``home_agents`` replaces the one central HA by several: its select, serving,
        candidates and always_registered. ``map_chain`` (1, N) puts a MAP below the HA at
        each PoA (HMIPv6): the HA's tunnel to the MAP, the MAP's around it to the PoA."""
        ha = named_anchor(topology, self.home_agent, self.key) if home_agents is None else -1
        choice = home_agents or {"select": SELECT_CENTRAL, "serving": topology.serving_anchors(),
                                 "always_registered": True}
        n = topology.n_nodes
        native = np.zeros((n, n), np.uint8)
        chain = np.full((1, n), -1, np.int32) if map_chain is None else map_chain
        segments = (self.encap_bytes, 0) if map_chain is None else (
            self.encap_bytes, 2 * self.encap_bytes)  # RFC 5380 §6.2: nested at the MAP
        if self.home_link is not None:
            if home_agents is not None or map_chain is not None:
                raise PracticeError(f"{self.key}: home_link is the link of one home agent "
                                    "without a MAP; with several home agents or with MAPs "
                                    "the MN is never at home")
            home = named_node(topology, self.home_link, f"{self.key}: home_link", role="poa")
            native[ha, home] = 1
            chain[0, home] = ha  # the HA is the home link's router: the last segment is native
        legs = self._registration_legs() + self._deregistration_legs()
        return self._tables(
            topology, central=ha, chain=chain, native=native, **choice,
            segment_bytes=segments, function_roles=function_roles,
            message_kinds=self.message_kinds, legs=legs + list(extra_legs),
            binding_outlives_detach=True, detach_release_ns=-1,
            dad_ms=0.0 if self.optimistic_dad else self.dad_ms, first_ack_hold_ms=self.ha_dad_ms,
            **policy_fields,
        )
