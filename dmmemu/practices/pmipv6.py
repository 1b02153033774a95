"""Proxy Mobile IPv6 (RFC 5213): one central LMA, or several LMAs assigned at attach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dmmemu.engine.policy import (
    SELECT_CENTRAL,
    PolicyTables,
)
from dmmemu.engine.signaling import (
    AT_MOVE,
    CAUSE_ATTACH,
    CAUSE_DEREGISTRATION,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_REFRESH,
    ROLE_ANCHOR,
    ROLE_POA,
    ROLE_PREV_POA,
    Leg,
    MessageKind,
    request_reply,
)
from dmmemu.practices.base import Practice, anchor_set, named_anchor, selection_code
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import IPV6_IN_IPV6_BYTES, PBA_BYTES, PBU_BYTES

PBU, PBA, DEREG_PBU, DEREG_PBA = range(4)  # indices into PMIPv6.message_kinds

# RFC 5213 §9.1 (defaults also in the PMIPV6-MIB, RFC 6475).
MIN_DELAY_BEFORE_BCE_DELETE_MS = 10_000.0
MAX_DELAY_BEFORE_NEW_BCE_ASSIGN_MS = 1_500.0


# RFC 7429 §3: the LMA anchors the home network prefix, forwards its packets and holds the
# binding cache (AF, MR, LM); the MAGs send the location updates for the MN (LU), the new one
# its PBU and the previous one its de-registration.
PMIPV6_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_POA, ROLE_PREV_POA))


@dataclass(frozen=True, slots=True, kw_only=True)
class PMIPv6(Practice):
    """The MAG at the PoA registers the MN with the LMA (PBU/PBA); LMA–MAG IPv6-in-IPv6 tunnel.

    ``lifetime_s``: the PBU lifetime is an implementation choice (40 s, 60 s and 3600 s are
    all seen); 60 s by default. ``detection_ms``: the MAG learns of the attach from a layer-2
    trigger, modelled as 10 ms.

    A handover is 4 messages: the new MAG's PBU/PBA (Handoff Indicator 3, between MAGs) and
    the previous MAG's de-registration PBU (lifetime 0) / PBA, which it SHOULD send when it
    detects the MN left (RFC 5213 §6.9.1.4), ``previous_mag_detection_ms`` after the move
    (a layer-2 trigger as at the new MAG: 10 ms). A detach sends the de-registration alone.
    After a de-registration the LMA keeps the entry for ``bce_delete_delay_ms``
    (MinDelayBeforeBCEDelete, 10 s, §5.3.5): an MN that attaches again within it keeps its
    prefix; later, the prefix is gone and flows on it break. ``handoff_state_unknown``: the
    new MAG cannot tell a handover from a new attachment (Handoff Indicator 4), so the LMA
    waits for the previous MAG's de-registration, up to ``new_bce_wait_ms``
    (MaxDelayBeforeNewBCEAssign, 1.5 s, §5.4.1) before its PBA.
    """

    key: ClassVar[str] = "pmipv6"
    summary: ClassVar[str] = "Proxy Mobile IPv6, MAG-LMA tunnel via one central LMA (RFC 5213)"
    message_kinds: ClassVar[tuple[MessageKind, ...]] = (
        MessageKind("PBU", "PBU"), MessageKind("PBA", "PBA", reply=True),
        MessageKind("PBU de-registration", "PBU", deregistration=True),
        MessageKind("PBA de-registration", "PBA", reply=True, deregistration=True))

    lma: str | None = None
    pbu_bytes: int = PBU_BYTES
    pba_bytes: int = PBA_BYTES
    encap_bytes: int = IPV6_IN_IPV6_BYTES
    previous_mag_detection_ms: float = 10.0
    bce_delete_delay_ms: float = MIN_DELAY_BEFORE_BCE_DELETE_MS
    handoff_state_unknown: bool = False
    new_bce_wait_ms: float = MAX_DELAY_BEFORE_NEW_BCE_ASSIGN_MS

    def compile(self, topology: Topology) -> PolicyTables:
        lma = named_anchor(topology, self.lma, self.key)
        return self._pmip_tables(topology, SELECT_CENTRAL, lma, topology.serving_anchors())

    def _pmip_tables(self, topology: Topology, select: int, central: int, serving,
                     candidates=None) -> PolicyTables:
        return self._tables(
            topology, select=select, central=central, serving=serving,
            always_registered=True, segment_bytes=(self.encap_bytes,),
            function_roles=PMIPV6_FUNCTIONS, message_kinds=self.message_kinds,
            legs=self._legs(), binding_outlives_detach=False,
            detach_release_ns=self._ms(self.bce_delete_delay_ms, "bce_delete_delay_ms"),
            candidates=candidates,
        )

    def _legs(self) -> list[Leg]:
        sizes = (self.pbu_bytes, self.pba_bytes)
        detect = self._ms(self.previous_mag_detection_ms, "previous_mag_detection_ms")
        wait = (self._ms(self.new_bce_wait_ms, "new_bce_wait_ms") if self.handoff_state_unknown
                else 0)
        handover = [
            Leg(cause=CAUSE_HANDOVER, kind=PBU, src=ROLE_POA, dst=ROLE_ANCHOR, nbytes=sizes[0]),
            Leg(cause=CAUSE_HANDOVER, kind=DEREG_PBU, src=ROLE_PREV_POA, dst=ROLE_ANCHOR,
                nbytes=sizes[0], after=AT_MOVE, offset_ns=detect),
            Leg(cause=CAUSE_HANDOVER, kind=PBA, src=ROLE_ANCHOR, dst=ROLE_POA, nbytes=sizes[1],
                after=0, gate=1 if wait else -1, gate_cap_ns=wait, ends=True),
            Leg(cause=CAUSE_HANDOVER, kind=DEREG_PBA, src=ROLE_ANCHOR, dst=ROLE_PREV_POA,
                nbytes=sizes[1], after=1),
        ]
        deregistration = [
            Leg(cause=CAUSE_DEREGISTRATION, kind=DEREG_PBU, src=ROLE_PREV_POA, dst=ROLE_ANCHOR,
                nbytes=sizes[0], after=AT_MOVE, offset_ns=detect),
            Leg(cause=CAUSE_DEREGISTRATION, kind=DEREG_PBA, src=ROLE_ANCHOR, dst=ROLE_PREV_POA,
                nbytes=sizes[1], after=0, ends=True),
        ]
        others = [leg for cause in (CAUSE_ATTACH, CAUSE_FLOW, CAUSE_REFRESH)
                  for leg in request_reply(cause, (PBU, PBA), ROLE_POA, sizes)]
        return others + handover + deregistration


@dataclass(frozen=True, slots=True, kw_only=True)
class PMIPv6DistributedLMA(PMIPv6):
    """Several LMAs; each MN is assigned an LMA when it attaches, and keeps it while it moves.
    ``selection`` (the engine's policies, semantics.md §5.6): ``nearest-at-attach`` (the
    default: the LMA nearest its PoA at each attach; after a detach it may get another, and
    flows that started under the old LMA keep their address there, so an MN may use several
    LMAs at once), ``nearest-at-bootstrap`` (nearest at its first attach, then kept),
    ``hashed`` (by MN id over the LMAs, ascending) or ``least-loaded`` (the LMA holding the
    fewest bindings at each attach, ties to the lowest id)."""

    key: ClassVar[str] = "pmipv6-dlma"
    summary: ClassVar[str] = "PMIPv6 with distributed LMAs, nearest LMA assigned per MN at attach"

    lmas: tuple[str, ...] = ()
    selection: str = "nearest-at-attach"

    def compile(self, topology: Topology) -> PolicyTables:
        anchors = anchor_set(topology, self.lmas, self.key)
        serving = topology.serving_anchors(anchors)
        return self._pmip_tables(topology, selection_code(self.key, self.selection), -1,
                                 serving, candidates=anchors)
