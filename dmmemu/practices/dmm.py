"""Full distributed mobility management: per-flow anchoring at the access (RFC 7429 §5,
RFC 8885 signaling, RFC 8653 address types)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dmmemu.engine.policy import SELECT_PER_FLOW, PolicyTables
from dmmemu.practices.base import Practice, anchor_set
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import IPV6_IN_IPV6_BYTES, PBA_BYTES, PBU_BYTES


@dataclass(frozen=True, slots=True, kw_only=True)
class DMM(Practice):
    """An anchor at (or next to) every AR. Each flow is anchored at the anchor serving the PoA
    where it sends its first packet and is delivered natively while the MN stays there. After a move, only
    addresses still used by active flows are kept reachable, by a tunnel from their anchor to
    the anchor now serving the MN (PBU/PBA from the serving to each anchoring MAAR, as in
    RFC 8885); the last hop is native. With ``connection_manager``, flows that need no
    continuity use the current local address (RFC 8653) and take a new one after a move.
    """

    key: ClassVar[str] = "dmm"
    summary: ClassVar[str] = (
        "Distributed mobility management: each flow anchored at the AR where it starts sending")
    messages: ClassVar[tuple[str, str]] = ("PBU", "PBA")

    anchors: tuple[str, ...] = ()
    connection_manager: bool = True
    pbu_bytes: int = PBU_BYTES
    pba_bytes: int = PBA_BYTES
    encap_bytes: int = IPV6_IN_IPV6_BYTES

    def compile(self, topology: Topology) -> PolicyTables:
        serving = topology.serving_anchors(anchor_set(topology, self.anchors, self.key))
        return self._tables(
            topology, select=SELECT_PER_FLOW, central=-1, serving=serving, second=serving,
            always_registered=False, native_at_home=True,
            local_non_continuity=self.connection_manager, mn_originated=False,
            encap1=self.encap_bytes, encap2=0, req_bytes=self.pbu_bytes,
            ack_bytes=self.pba_bytes,
        )
