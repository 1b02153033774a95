"""Proxy Mobile IPv6 (RFC 5213): one central LMA, or several LMAs assigned at attach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dmmemu.engine.policy import SELECT_AT_ATTACH, SELECT_CENTRAL, PolicyTables
from dmmemu.practices.base import Practice, anchor_set, named_anchor
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import IPV6_IN_IPV6_BYTES, PBA_BYTES, PBU_BYTES


@dataclass(frozen=True, slots=True, kw_only=True)
class PMIPv6(Practice):
    """The MAG at the PoA registers the MN with the LMA (PBU/PBA); LMA–MAG IPv6-in-IPv6 tunnel.

    ``lifetime_s``: the PBU lifetime is an implementation choice (40 s, 60 s and 3600 s are
    all seen); 60 s by default. ``detection_ms``: the MAG learns of the attach from a layer-2
    trigger, modelled as 10 ms.
    """

    key: ClassVar[str] = "pmipv6"
    summary: ClassVar[str] = "Proxy Mobile IPv6, MAG-LMA tunnel via one central LMA (RFC 5213)"
    messages: ClassVar[tuple[str, str]] = ("PBU", "PBA")

    lma: str | None = None
    pbu_bytes: int = PBU_BYTES
    pba_bytes: int = PBA_BYTES
    encap_bytes: int = IPV6_IN_IPV6_BYTES

    def compile(self, topology: Topology) -> PolicyTables:
        lma = named_anchor(topology, self.lma, self.key)
        return self._pmip_tables(topology, SELECT_CENTRAL, lma, topology.serving_anchors())

    def _pmip_tables(self, topology: Topology, select: int, central: int, serving) -> PolicyTables:
        return self._tables(
            topology, select=select, central=central, serving=serving,
            always_registered=True, native_at_home=False, local_non_continuity=False,
            mn_originated=False, encap1=self.encap_bytes, encap2=0,
            req_bytes=self.pbu_bytes, ack_bytes=self.pba_bytes,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PMIPv6DistributedLMA(PMIPv6):
    """Several LMAs; each MN is assigned the LMA nearest its PoA when it attaches, and keeps
    it while it moves. After a detach it may get another; flows that started under the old
    LMA keep their address there, so an MN may use several LMAs at once."""

    key: ClassVar[str] = "pmipv6-dlma"
    summary: ClassVar[str] = "PMIPv6 with distributed LMAs, nearest LMA assigned per MN at attach"

    lmas: tuple[str, ...] = ()

    def compile(self, topology: Topology) -> PolicyTables:
        anchors = anchor_set(topology, self.lmas, self.key)
        serving = topology.serving_anchors(anchors)
        return self._pmip_tables(topology, SELECT_AT_ATTACH, -1, serving)
