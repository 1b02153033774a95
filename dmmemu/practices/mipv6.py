"""Mobile IPv6 with a bidirectional tunnel through one home agent (RFC 6275)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dmmemu.engine.policy import SELECT_CENTRAL, PolicyTables
from dmmemu.practices.base import Practice, named_anchor
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import BA_BYTES, BU_HA_BYTES, IPV6_IN_IPV6_BYTES


@dataclass(frozen=True, slots=True, kw_only=True)
class MIPv6(Practice):
    """Central HA anchors the home address; every move sends BU/BA between MN and HA.

    ``lifetime_s``: RFC 6275 fixes no default home-registration lifetime; 420 s equals
    MAX_RR_BINDING_LIFETIME (§12) so home and correspondent bindings refresh alike.
    ``detection_ms``: router-advertisement-based movement detection, modelled as 50 ms
    (RFC 6275 §7.5 allows MinRtrAdvInterval 30 ms, MaxRtrAdvInterval 70 ms).
    """

    key: ClassVar[str] = "mipv6"
    summary: ClassVar[str] = "Mobile IPv6, bidirectional tunnel via one central home agent (RFC 6275)"
    messages: ClassVar[tuple[str, str]] = ("BU", "BA")

    detection_ms: float = 50.0
    lifetime_s: float = 420.0
    home_agent: str | None = None
    bu_bytes: int = BU_HA_BYTES
    ba_bytes: int = BA_BYTES
    encap_bytes: int = IPV6_IN_IPV6_BYTES

    def compile(self, topology: Topology) -> PolicyTables:
        ha = named_anchor(topology, self.home_agent, self.key)
        serving = topology.serving_anchors()
        return self._tables(
            topology, select=SELECT_CENTRAL, central=ha, serving=serving,
            always_registered=True, native_at_home=False, local_non_continuity=False,
            mn_originated=True, encap1=self.encap_bytes, encap2=0,
            req_bytes=self.bu_bytes, ack_bytes=self.ba_bytes,
        )
