"""Proxy Mobile IPv6 (RFC 5213): one central LMA, or several LMAs assigned at attach."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dmmemu.engine.policy import (
    SELECT_AT_ATTACH,
    SELECT_CENTRAL,
    SELECT_LEAST_LOADED,
    PolicyTables,
)
from dmmemu.engine.signaling import (
    AT_MOVE,
    CAUSE_ATTACH,
    CAUSE_DEREGISTRATION,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_LOCALIZED,
    CAUSE_LOCALIZED_END,
    CAUSE_REFRESH,
    ROLE_ANCHOR,
    ROLE_PEER_ANCHOR,
    ROLE_PEER_POA,
    ROLE_POA,
    ROLE_PREV_POA,
    ROLE_THIRD,
    WHEN_ANCHOR_IS_THIRD,
    WHEN_ANCHOR_NOT_THIRD,
    WHEN_SAME_POA_SAME_ANCHOR,
    Leg,
    MessageKind,
    request_reply,
)
from dmmemu.errors import PracticeError
from dmmemu.practices.base import (
    Practice,
    anchor_set,
    choice,
    named_anchor,
    selection_code,
)
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import (
    ENCAPSULATIONS,
    IPV6_IN_IPV6_BYTES,
    LRA_BYTES,
    LRA_MAGS_BYTES,
    LRI_BYTES,
    LRI_MAGS_BYTES,
    MESSAGES,
    PBA_BYTES,
    PBA_REDIRECT_BYTES,
    PBU_BYTES,
    PBU_REDIRECT_CAPABLE_BYTES,
)

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
                     candidates=None, function_roles=PMIPV6_FUNCTIONS,
                     **extra) -> PolicyTables:
        """The tables of every PMIPv6 variant; ``extra`` goes to ``Practice._tables``
        (third_node, select_for_new_sessions_only)."""
        return self._tables(
            topology, select=select, central=central, serving=serving,
            always_registered=True, segment_bytes=(self._wire()[2],),
            function_roles=function_roles, message_kinds=self.message_kinds,
            legs=self._legs(), binding_outlives_detach=False,
            detach_release_ns=self._ms(self.bce_delete_delay_ms, "bce_delete_delay_ms"),
            candidates=candidates, **extra,
        )

    def _wire(self) -> tuple[int, int, int]:
        """PBU bytes, PBA bytes and the LMA-MAG tunnel's bytes."""
        return self.pbu_bytes, self.pba_bytes, self.encap_bytes

    def _legs(self) -> list[Leg]:
        sizes = self._wire()[:2]
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


# RFC 5844 §4 / RFC 5845: the LMA-MAG tunnel over IPv4 transport, and its wire format.
IPV4_TRANSPORTS = {"ipv4": "ipv6-in-ipv4", "udp": "pmip-udp-ipv4", "gre": "gre-ipv4",
                   "gre-key": "gre-key-ipv4"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PMIPv6IPv4Transport(PMIPv6):
    """PMIPv6 (the parameters of ``pmipv6``) over an IPv4 transport network between MAGs
    and the LMA (RFC 5844). PBU/PBA travel in UDP port 5436 over IPv4 (§4.1: the IPv6
    header becomes IPv4 + UDP, 28 − 40 bytes); with ``ipv4_home_address`` (the default) the
    MN also gets an IPv4 home address, asked for in the PBU and given in the PBA (IPv4 Home
    Address Request and Reply options, §3.1–§3.2, 8 bytes each). ``transport`` is the
    tunnel: ``ipv4`` (IPv6- or IPv4-in-IPv4, 20 B, which every MAG and LMA MUST support,
    §4), ``udp`` (in UDP port 5437 over IPv4, 28 B, §4.2: needed through a NAT), ``gre``
    (GRE over IPv4, 24 B, RFC 5845) or ``gre-key`` (keyed GRE, 28 B, the keys exchanged
    in the PBU and PBA's GRE Key options, RFC 5845 §3.1). Message and tunnel sizes come from
    their formats (``dmmemu/wire``)."""

    key: ClassVar[str] = "pmipv6-v4"
    summary: ClassVar[str] = ("PMIPv6 over IPv4 transport: IPv4, UDP or GRE tunnels, IPv4 "
                              "home addresses (RFC 5844, 5845)")

    transport: str = "ipv4"
    ipv4_home_address: bool = True

    def __post_init__(self) -> None:
        PMIPv6.__post_init__(self)  # slots=True: no zero-argument super()
        choice(self.key, "transport", self.transport, IPV4_TRANSPORTS)
        if self.transport == "gre-key" and not self.ipv4_home_address:
            raise PracticeError(f"{self.key}: transport gre-key carries the GRE key options "
                                "beside the IPv4 home address options; set "
                                "ipv4_home_address = true")

    @property
    def encapsulations(self) -> tuple[str, ...]:
        """The tunnel's wire format per chain level, for pcap export."""
        return (IPV4_TRANSPORTS[self.transport],)

    def _wire(self) -> tuple[int, int, int]:
        suffix = ("-GRE" if self.transport == "gre-key"
                  else "-HoA" if self.ipv4_home_address else "")
        return (MESSAGES[f"PBU-IPv4{suffix}"].bytes, MESSAGES[f"PBA-IPv4{suffix}"].bytes,
                ENCAPSULATIONS[IPV4_TRANSPORTS[self.transport]].bytes)


# RFC 6463: the contacted LMA redirects a new session, or answers it itself.
REDIRECT_PBU, PROXY_PBU, PROXY_PBA, REDIRECT_PBA = range(4, 8)  # after PMIPv6's four kinds
REDIRECT_POLICIES = {"load": SELECT_LEAST_LOADED, "path": SELECT_AT_ATTACH}
# RFC 7429 §3 with runtime assignment: the contacted LMA decides where the session is
# anchored (location management) beside the LMA that holds it.
PMIPV6_RT_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_ANCHOR, ROLE_THIRD),
                       (ROLE_POA, ROLE_PREV_POA))


@dataclass(frozen=True, slots=True, kw_only=True)
class PMIPv6RuntimeAssignment(PMIPv6):
    """PMIPv6 (the parameters of ``pmipv6``) with runtime LMA assignment (RFC 6463). The
    MAGs know one LMA (``lma``, the central anchor by default); on a PBU that establishes a
    new mobility session (Handoff Indicator 1, an MN with no live session: never at a
    re-registration or a handover) it may redirect the session to another LMA of ``lmas``
    (all non-central anchors by default) chosen by ``redirect_by``: ``load`` (the LMA
    holding the fewest bindings, which its Load Information tells, §4.3) or ``path`` (the
    LMA nearest the MAG). The MAG's PBU carries the Redirect-Capability option (§4.1); a
    redirecting LMA first runs its own PBU/PBA exchange with the target LMA, then answers
    the MAG with a PBA carrying the Redirect option (§4.2), and the MAG sends no fresh PBU;
    when the contacted LMA is the one chosen it answers with a plain PBA. Later PBUs of
    the session go to its LMA. Redirects are the ``proxy PBU`` messages of the signaling
    table; the load of each LMA over time is the timeline table."""

    key: ClassVar[str] = "pmipv6-rt"
    summary: ClassVar[str] = ("PMIPv6 with runtime LMA assignment: new sessions redirected "
                              "by load or path length (RFC 6463)")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = PMIPv6.message_kinds + (
        MessageKind("PBU (redirect-capable)", "PBU-Redirect"),
        MessageKind("proxy PBU", "PBU"), MessageKind("proxy PBA", "PBA", reply=True),
        MessageKind("PBA with redirect", "PBA-Redirect", reply=True))

    lmas: tuple[str, ...] = ()
    redirect_by: str = "load"
    redirect_pbu_bytes: int = PBU_REDIRECT_CAPABLE_BYTES
    redirect_pba_bytes: int = PBA_REDIRECT_BYTES

    def __post_init__(self) -> None:
        PMIPv6.__post_init__(self)  # slots=True: no zero-argument super()
        choice(self.key, "redirect_by", self.redirect_by, REDIRECT_POLICIES)

    def _legs(self) -> list[Leg]:
        """PMIPv6's programs, the attach's through the contacted LMA (the third node)."""
        c = CAUSE_ATTACH
        attach = [
            Leg(cause=c, kind=REDIRECT_PBU, src=ROLE_POA, dst=ROLE_THIRD,
                nbytes=self.redirect_pbu_bytes),
            Leg(cause=c, kind=PROXY_PBU, src=ROLE_THIRD, dst=ROLE_ANCHOR, nbytes=self.pbu_bytes,
                after=0, when=WHEN_ANCHOR_NOT_THIRD),
            Leg(cause=c, kind=PROXY_PBA, src=ROLE_ANCHOR, dst=ROLE_THIRD, nbytes=self.pba_bytes,
                after=1, when=WHEN_ANCHOR_NOT_THIRD),
            Leg(cause=c, kind=REDIRECT_PBA, src=ROLE_THIRD, dst=ROLE_POA,
                nbytes=self.redirect_pba_bytes, after=2, ends=True,
                when=WHEN_ANCHOR_NOT_THIRD),
            Leg(cause=c, kind=PBA, src=ROLE_THIRD, dst=ROLE_POA, nbytes=self.pba_bytes,
                after=0, ends=True, when=WHEN_ANCHOR_IS_THIRD),
        ]
        return [leg for leg in PMIPv6._legs(self) if leg.cause != c] + attach

    def compile(self, topology: Topology) -> PolicyTables:
        contacted = named_anchor(topology, self.lma, self.key)
        others = anchor_set(topology, self.lmas, self.key)
        candidates = np.array(sorted({contacted, *others.tolist()}), np.int32)
        return self._pmip_tables(
            topology, REDIRECT_POLICIES[self.redirect_by], -1,
            topology.serving_anchors(candidates), candidates=candidates,
            function_roles=PMIPV6_RT_FUNCTIONS, third_node=contacted,
            select_for_new_sessions_only=True)


# RFC 6705: localized routing between MAGs for the MN-to-MN flows of one PMIPv6 domain.
# Message kinds after PMIPv6's four: the exchange about two MNs on one MAG, the one that
# also names the other MAG, and the one that ends a routing (lifetime 0).
LRI, LRA, LRI_MAGS, LRA_MAGS, LRI_END, LRA_END = range(4, 10)
# The cases of the two MNs' places (semantics.md §18), by RFC 6705's names for them.
LOCALIZED_CASES = {"same-mag-same-lma": 0, "other-mags-same-lma": 1, "same-mag-other-lmas": 2}


def _exchanges(program: list[Leg], cause: int, when: int, initiator: int,
               responders: tuple[int, ...], kinds: tuple[int, int],
               sizes: tuple[int, int]) -> None:
    """Append to ``program`` (the legs of ``cause`` so far) one request from ``initiator``
    to each responder, in parallel, and each one's reply; the routing is in place (or gone)
    when every reply has arrived."""
    first = len(program)
    program += [Leg(cause=cause, kind=kinds[0], src=initiator, dst=responder,
                    nbytes=sizes[0], when=when) for responder in responders]
    program += [Leg(cause=cause, kind=kinds[1], src=responder, dst=initiator, nbytes=sizes[1],
                    after=first + i, when=when, ends=True)
                for i, responder in enumerate(responders)]


@dataclass(frozen=True, slots=True, kw_only=True)
class PMIPv6LocalizedRouting(PMIPv6DistributedLMA):
    """PMIPv6 with distributed LMAs (the parameters of ``pmipv6-dlma``) and localized
    routing (RFC 6705): flows between two MNs of the domain (``peer_mn``) leave the LMAs
    once the routing is set up, forwarded inside their MAG or through a MAG–MAG tunnel
    (``tunnel_bytes``: IPv6-in-IPv6, 40 B, by default).

    ``cases`` are the places of the two MNs it takes, RFC 6705's three: the same MAG and
    LMA (the LMA sends one LRI to the MAG, which answers with an LRA), other MAGs and the
    same LMA (the LMA sends one to each MAG, naming the other MAG), the same MAG and other
    LMAs (the MAG sends one to each LMA). The first packet of a pair's flows sets it up
    (the LMA, or the MAG, sees traffic between two of its MNs, RFC 7156 §4); a handover of
    either MN sets it up again at the new MAG; a place it does not take (other MAGs and
    other LMAs) tears it down with LRIs of lifetime 0 from whoever set it up. LRI and LRA
    sizes come from their formats (152 B, 176 B with the MAG IPv6 Address option).
    """

    key: ClassVar[str] = "pmipv6-lr"
    summary: ClassVar[str] = ("PMIPv6 with localized routing: MN-to-MN flows inside a MAG or "
                              "MAG to MAG (RFC 6705)")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = PMIPv6.message_kinds + (
        MessageKind("LRI", "LRI"), MessageKind("LRA", "LRA", reply=True),
        MessageKind("LRI (two MAGs)", "LRI-MAGs"),
        MessageKind("LRA (two MAGs)", "LRA-MAGs", reply=True),
        MessageKind("LRI lifetime 0", "LRI", deregistration=True),
        MessageKind("LRA lifetime 0", "LRA", reply=True, deregistration=True))

    cases: tuple[str, ...] = tuple(LOCALIZED_CASES)
    tunnel_bytes: int = IPV6_IN_IPV6_BYTES

    def __post_init__(self) -> None:
        PMIPv6DistributedLMA.__post_init__(self)  # slots=True: no zero-argument super()
        if not self.cases:
            raise PracticeError(f"{self.key}: cases must name at least one of "
                                f"{', '.join(LOCALIZED_CASES)}")
        for case in self.cases:
            choice(self.key, "cases", case, LOCALIZED_CASES)

    def _legs(self) -> list[Leg]:
        one, two = (LRI_BYTES, LRA_BYTES), (LRI_MAGS_BYTES, LRA_MAGS_BYTES)
        setup, end = CAUSE_LOCALIZED, CAUSE_LOCALIZED_END
        same, other_mags, other_lmas = (WHEN_SAME_POA_SAME_ANCHOR + case
                                        for case in LOCALIZED_CASES.values())
        mags = (ROLE_POA, ROLE_PEER_POA)
        lmas = (ROLE_ANCHOR, ROLE_PEER_ANCHOR)
        set_up: list[Leg] = []
        _exchanges(set_up, setup, same, ROLE_ANCHOR, (ROLE_POA,), (LRI, LRA), one)
        _exchanges(set_up, setup, other_mags, ROLE_ANCHOR, mags, (LRI_MAGS, LRA_MAGS), two)
        _exchanges(set_up, setup, other_lmas, ROLE_POA, lmas, (LRI, LRA), one)
        # Torn down after one MN left: the MAG where the routing was is the other MN's.
        torn_down: list[Leg] = []
        ending = (LRI_END, LRA_END)
        for lma_set_up in (same, other_mags):
            _exchanges(torn_down, end, lma_set_up, ROLE_ANCHOR, (ROLE_PEER_POA,), ending, one)
        _exchanges(torn_down, end, other_lmas, ROLE_PEER_POA, lmas, ending, one)
        return PMIPv6DistributedLMA._legs(self) + set_up + torn_down

    def compile(self, topology: Topology) -> PolicyTables:
        tables = PMIPv6DistributedLMA.compile(self, topology)
        mask = sum(1 << LOCALIZED_CASES[case] for case in set(self.cases))
        return dataclasses.replace(tables, local_routing=mask,
                                   local_tunnel_bytes=self.tunnel_bytes)
