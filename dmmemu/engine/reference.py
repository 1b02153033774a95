"""Pure-Python reference replay: the correctness oracle for ``dmmemu._core.replay.Replay``.

This is a slow, literal transcription of ``docs/semantics.md``, rule by rule, meant to be read
side by side with that page (each block cites the section it implements, e.g. ``# §5.7``).
The compiled core is written independently from the same page; tests require both engines to
produce identical ``RawCounters``. Speed is not a goal here, obviousness is: plain Python
ints, lists, dicts and small dataclasses, no numpy in the loop.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from dmmemu.engine.correspondents import correspondent_pairs
from dmmemu.engine.flow_classes import (
    ANCHOR_LOCAL,
    ANCHOR_OFFLOAD,
    CLASS_ANCHOR,
    CLASS_DIRECT,
    CLASS_ON_LOSS,
    ON_LOSS_BREAK,
    ON_LOSS_RENUMBER,
    class_table,
    classify,
    grace_table,
)
from dmmemu.engine.local_routing import local_routing_pairs
from dmmemu.engine.policy import (
    INTERRUPTION_COMPONENTS,
    ON_ATTACH,
    ON_HANDOVER,
    RELOCATE_BY_DISTANCE,
    RELOCATION_NONE,
    RELOCATION_RENEW,
    SELECT_AT_ATTACH,
    SELECT_AT_BOOTSTRAP,
    SELECT_CENTRAL,
    SELECT_HASHED,
    SELECT_LEAST_LOADED,
    SELECT_PER_FLOW,
    PolicyTables,
)
from dmmemu.engine.replay_io import (
    CAUSE_ATTACH,
    CAUSE_DEREGISTRATION,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_NAMES,
    CAUSE_REFRESH,
    DEFAULT_TIMELINE_BIN_NS,
    EV_FLOW_END,
    EV_FLOW_START,
    EV_MOVE,
    EV_PACKET,
    EVENT_ADDRESS_RELEASED,
    EVENT_ANCHOR_RELOCATED,
    EVENT_BINDING_EXPIRED,
    EVENT_FLOW_BROKEN,
    EVENT_FLOW_RENUMBERED,
    EVENT_FLOW_SPARED,
    EVENT_RELOCATION_DEFERRED,
    HO_ATTACH,
    HO_DETACH,
    HO_HANDOVER,
    HO_NOOP,
    MIN_PACKET_BYTES,
    PacketBatch,
    RawCounters,
    ReplayInput,
    events_arrays,
    path_bounds,
    replayed_depth,
    timeline_bins,
    two_ended,
)
from dmmemu.engine.signaling import (
    AT_SIGNALING_START,
    CAUSE_CORRESPONDENT,
    CAUSE_DEPRECATION,
    CAUSE_LOCALIZED,
    CAUSE_LOCALIZED_END,
    CAUSE_RELEASE,
    CAUSE_RELOCATION,
    CAUSE_RETIREMENT,
    FLAG_ENDS,
    FLAG_HOLD,
    FLAG_REGISTERED,
    FLAG_UNREGISTERED,
    LEVEL_ANCHOR_CONDITIONS,
    ONCE,
    PAIR_CONDITIONS,
    ROLE_ANCHOR,
    ROLE_LEVEL,
    ROLE_MN,
    ROLE_NAMES,
    ROLE_PEER,
    ROLE_PEER_ANCHOR,
    ROLE_PEER_POA,
    ROLE_POA,
    ROLE_PREV_ANCHOR,
    ROLE_PREV_LEVEL,
    ROLE_PREV_POA,
    ROLE_SERVING,
    ROLE_THIRD,
    WHEN_ANCHOR_IS_LEVEL,
    WHEN_ANCHOR_IS_THIRD,
    WHEN_ANCHOR_NOT_THIRD,
    WHEN_LEVEL_CHANGED,
    WHEN_LEVEL_CHANGED_ABOVE,
    WHEN_LEVEL_KEPT,
    WHEN_MN_HOST,
    WHEN_MN_ROUTER,
    WHEN_SAME_POA_SAME_ANCHOR,
    WHEN_TOKEN_STALE,
    pair_case,
)
from dmmemu.errors import PacketRowError

# §3: an MN's `until` starts at −∞. Any int64 time is larger than this integer.
MINUS_INFINITY = -(1 << 63) - 1

# §12 timer kinds.
TIMER_EXPIRE = 0  # a binding that outlived a detach reaches the end of its lifetime
TIMER_RELEASE = 1  # a detached MN's addresses die
TIMER_CORRESPONDENT = 2  # §15: a correspondent binding's BU reaches the peer
TIMER_LOCALIZED = 3  # §18: the last acknowledgement of a localized routing arrives
TIMER_DEPRECATED = 4  # §5.5: a deprecated address reaches the end of its lifetime


class ReplayObserver(Protocol):
    """Told what the replay counts, as it counts it (``dmmemu.report.pcap`` writes it as packets).

    ``delivered``: a packet of trace flow ``flow`` at time ``t`` (waiting ``wait`` ns in a
    buffer first), direction ``direction``, ``size`` bytes, on an address at ``anchor``, along
    the §7.5 segments ``(from node, to node, encapsulation bytes, level)`` from its anchor
    (the peer, on the direct path) to the MN's PoA.
    ``message``: one §4 signaling message sent at time ``t``, of message kind ``kind`` (an
    index into the practice's kinds), from node ``src`` to node ``dst`` (−1 for the MN
    itself), ``size`` bytes, about MN ``mn`` at PoA ``poa`` and its address at ``anchor``
    (−1 for a leg run once per trigger), relayed by node ``via`` (−1 none) with ``tunnel``
    bytes more on the part on the MN's side (§15). ``pair`` is (the other MN, its PoA, its
    anchor) of a localized-routing message (§18), None for any other.
    """

    def delivered(self, t: int, wait: int, flow: int, direction: int, size: int,
                  anchor: int, segments: list[tuple[int, int, int, int]]) -> None: ...

    def message(self, t: int, cause: int, kind: int, src: int, dst: int, size: int,
                mn: int, poa: int, anchor: int, via: int, tunnel: int,
                pair: tuple[int, int, int] | None = None) -> None: ...


@dataclass(slots=True)
class Address:
    """§3 Address: an address of one MN, anchored at one anchor node."""

    anchor: int
    mn: int  # the MN it belongs to
    refcount: int = 0  # flows bound to it and not yet ended
    bound: bool = False  # the anchor holds a binding for it
    reg_t: int = 0  # time of the last registration
    reg_poa: int = -1  # PoA of the last registration
    live: bool = True  # still in the MN's list
    expiry: int | None = None  # §12: seq of its pending expiry timer, None if none
    until: int = MINUS_INFINITY  # §5.10: end of its interruption at the MN's last move
    hold: int = 0  # the anchor's hold inside it
    first_bound_t: int | None = None  # its first registration: §4 no hold after, §7.2 grace
    deprecated: int | None = None  # §5.5: seq of its lifetime timer once out of scope
    retired_t: int = MINUS_INFINITY  # §5.5: when a deprecated one retired (its flows'
    # re-establishment starts there, §7.3), or a relocation replaced it (§5 step 9a)
    from_anchor: int = -1  # §5 step 9a: the anchor it is relocated from (prev-anchor role)


@dataclass(slots=True)
class MobileNode:
    """§3 MN: where it is attached, its home anchor, its interruption and its addresses."""

    id: int  # its MN id
    home: int  # anchor of its home address, -1 if none
    poa: int = -1  # -1 = detached; every MN starts detached
    until: int = MINUS_INFINITY  # end of the longest interruption of its addresses
    ready: int = MINUS_INFINITY  # end of the components before signaling at its last move
    window_row: int = -1  # mobility row of that interruption, -1 if none
    moves: int = 0  # handovers so far
    addresses: list[Address] = field(default_factory=list)  # live addresses, creation order
    release: int | None = None  # §12: seq of its pending release timer, None if none
    router: int = -1  # §16: the MN of the mobile router it rides behind, -1 on its own
    own: int = -1  # §16: the PoA of its own latest mobility row
    pending_row: int = -1  # §16: networks row whose move waits for its router to attach


@dataclass(slots=True)
class Flow:
    """§3 Flow: its trace attributes, what it is bound to, and its §7 counters."""

    id: int  # its flow id in the trace
    mn: int
    peer: int  # its cn node, -1 for an MN-to-MN flow
    start: int
    end: int
    cls: int  # its flow class (§1)
    peer_mn: int = -1  # §17: the other MN of an MN-to-MN flow, -1 none
    pair: int = -1  # its correspondent binding (§15), -1 none
    local_pair: int = -1  # its localized-routing pair (§18), -1 none
    addr: Address | None = None  # None while unbound (and for a local flow)
    local: bool = False  # uses the local address of the current PoA
    local_anchor: int = -1  # anchor of its local address at its last packet (§7.3)
    resume: int = MINUS_INFINITY  # its packets before this are lost (renumbered, §7.3)
    broken: bool = False
    ended: bool = False
    spared: bool = False  # §5 step 9a: a deferred relocation would have broken it
    moves_at_start: int = 0
    # counters (RawCounters.flow_*)
    packets: int = 0
    bytes: int = 0
    lost: int = 0
    delayed: int = 0
    overhead_bytes: int = 0
    overhead_byte_hops: int = 0
    hops_sum: int = 0
    direct_hops_sum: int = 0
    delay_ns_sum: int = 0
    direct_delay_ns_sum: int = 0
    anchor: int = -1  # anchor bound when the flow was bound (-1 = never bound)
    moves: int = 0
    renumbered: int = 0

    @property
    def is_bound(self) -> bool:
        return self.addr is not None or self.local


@dataclass(slots=True)
class Anchor:
    """Per-node counters; only nodes used as anchors ever become non-zero."""

    packets: int = 0
    bytes: int = 0
    bindings: int = 0  # current binding count
    peak_bindings: int = 0
    binding_ns: int = 0
    sig_msgs: int = 0
    sig_bytes: int = 0
    addresses: int = 0  # addresses created anchored here (the anchoring function's load)


@dataclass(slots=True)
class Correspondent:
    """§15 the binding of one (MN, peer) pair at the peer."""

    mn: int
    peer: int
    active: int = 0  # its flows bound to an address
    addr: Address | None = None  # the address they use
    bound_poa: int = -1  # PoA of the care-of address the peer holds, -1 none
    pending: int | None = None  # seq of its pending completion timer, None if none
    pending_poa: int = -1
    rr_t: int | None = None  # start of its last return routability, None if none
    token_t: int | None = None  # when its last home keygen token was asked for


@dataclass(slots=True)
class LocalPair:
    """§18 the localized routing between two MNs, ``low`` < ``high``."""

    low: int
    high: int
    active: int = 0  # its flows bound to an address
    case: int = -1  # the case of the localized routing in place, -1 none
    pending: int | None = None  # seq of its pending completion timer, None if none
    pending_case: int = -1


@dataclass(slots=True)
class MobilityRow:
    """§5.10 One row of the handover table (one mobility event)."""

    kind: int = HO_NOOP
    from_poa: int = -1
    to_poa: int = -1
    interruption_ns: int = 0
    signaling_ns: int = 0
    hold_ns: int = 0
    msgs: int = 0
    bytes: int = 0
    lost: int = 0
    delayed: int = 0
    addresses: int = 0  # the addresses an attach's or handover's program signalled for


class ReferenceReplay:
    """Replays one trace under one practice's tables, exactly as docs/semantics.md says.

    Usage: ``feed`` every packet batch in file order, then ``finish`` once for the counters.
    ``timeline_bin_ns`` is the width of a timeline bin (§11). An ``observer`` is told every
    delivered packet and every counted message (``ReplayObserver``); it changes no counter.
    """

    def __init__(self, policy: PolicyTables, replay: ReplayInput, *,
                 timeline_bin_ns: int = DEFAULT_TIMELINE_BIN_NS,
                 observer: ReplayObserver | None = None) -> None:
        self.observer = observer
        # §1 policy tables, as Python ints and bools.
        self.select = int(policy.select)
        self.candidates: list[int] = policy.candidates.tolist()
        self.central = int(policy.central)
        self.serving: list[int] = policy.serving.tolist()
        self.chain: list[list[int]] = policy.chain.tolist()  # [level - 1][poa]
        self.segment_bytes: list[int] = policy.segment_bytes.tolist()  # [level]
        self.access_bytes: list[int] = policy.access_bytes.tolist()  # [poa]
        self.direct_bytes = int(policy.direct_bytes)
        self.levels = policy.levels
        self.scope: list[list[int]] = policy.scope.tolist()
        self.always_registered = bool(policy.always_registered)
        self.native: list[list[int]] = policy.native.tolist()
        self.buffering = bool(policy.buffering)
        # §1 flow classes: per class (anchor, on_loss, direct, route_optimised) codes.
        self.classes: list[list[int]] = class_table(policy.flow_classes).tolist()
        self.grace: list[int] = grace_table(policy.flow_classes).tolist()  # §7.2, -1 none
        # §4 per-PoA variants: each PoA's class (legs may be limited to some), and the refresh
        # period of a binding registered at each PoA.
        self.poa_class: list[int] = policy.poa_class.tolist()
        # §7.3 offload gateways per PoA, §7.5 the chain levels each anchor's addresses skip.
        self.offload: list[list[int]] = policy.offload.tolist()
        self.bypass: list[int] = policy.bypass.tolist()
        self.refresh_ns: list[int] = policy.refresh_ns.tolist()
        # §4 signaling programs: per cause, its legs as dicts with cause-local indices.
        self.n_kinds = len(policy.message_kinds)
        self.programs: list[list[dict[str, int]]] = [[] for _ in CAUSE_NAMES]
        first_row: dict[int, int] = {}
        for i, row in enumerate(policy.legs.tolist()):
            (cause, scope, kind, src, dst, nbytes, per_address, after, offset, gate, cap,
             flags, level, when, via, via_bytes, at_poa, at_prev_poa) = row
            base = first_row.setdefault(cause, i)
            self.programs[cause].append(dict(
                scope=scope, kind=kind, src=src, dst=dst, bytes=nbytes,
                bytes_per_address=per_address, after=after if after < 0 else after - base,
                offset=offset, gate=gate if gate < 0 else gate - base, cap=cap,
                ends=bool(flags & FLAG_ENDS), hold=bool(flags & FLAG_HOLD), level=level,
                when=when, via=via, via_bytes=via_bytes, at_poa=at_poa,
                at_prev_poa=at_prev_poa,
                registered=flags & (FLAG_REGISTERED | FLAG_UNREGISTERED)))
        self.third = int(policy.third_node)
        # §16 mobile networks: replayed or not, which MNs are routers, rows after mobility's.
        self.mobile_networks = bool(policy.mobile_networks)
        self.n_mobility_rows = int(replay.n_mobility_rows)
        self.mn_router: list[int] = ([0] * replay.n_mns if replay.mn_router is None
                                     else replay.mn_router.tolist())
        self.depth = replayed_depth(policy, replay)
        self.two_ended = two_ended(replay)
        self.new_sessions_only = bool(policy.select_for_new_sessions_only)
        self.binding_outlives_detach = bool(policy.binding_outlives_detach)
        self.detach_release_ns = int(policy.detach_release_ns)
        self.deprecated_lifetime_ns = int(policy.deprecated_lifetime_ns)
        self.relocation = int(policy.relocation)  # §5 step 9a
        self.relocation_trigger = int(policy.relocation_trigger)
        self.relocation_gain_ns = int(policy.relocation_gain_ns)
        self.relocation_load = int(policy.relocation_load)
        # §12 timers: a heap of (due, seq, kind, target); seq orders equal due times.
        self.timers: list[tuple[int, int, int, object]] = []
        self.records: list[tuple[int, int, int, int, int]] = []  # §14 events
        self.timer_seq = 0
        # §1 interruption components: [component][ON_ATTACH / ON_HANDOVER] in ns.
        self.components: list[list[int]] = policy.interruption_ns.tolist()
        assert len(self.components) == len(INTERRUPTION_COMPONENTS)
        self.first_ack_hold_ns = int(policy.first_ack_hold_ns)
        # §15 correspondent bindings.
        self.token_lifetime_ns = int(policy.token_lifetime_ns)
        self.refresh_rr_ns = int(policy.correspondent_refresh_ns)

        # §1 topology matrices: H[u][v] hops, D[u][v] one-way delay in ns.
        self.H: list[list[int]] = replay.hops.tolist()
        self.D: list[list[int]] = replay.delay_ns.tolist()
        self.n_nodes = replay.n_nodes
        self.max_hops = int(replay.hops.max()) if replay.hops.size else 0
        self.t_end = int(replay.t_end)

        # §1 replay input: dense flows, in ascending order of the trace's flow id.
        flow_ids: list[int] = replay.flow_ids.tolist()
        self.flow_index: dict[int, int] = {fid: f for f, fid in enumerate(flow_ids)}
        flow_class = classify(policy.flow_classes, replay)
        pairs = correspondent_pairs(replay.flow_mn, replay.flow_peer, flow_class,
                                    class_table(policy.flow_classes), policy.ro_capable,
                                    replay.n_mns)
        peer_mns = ([-1] * len(flow_ids) if replay.flow_peer_mn is None
                    else replay.flow_peer_mn.tolist())
        local = local_routing_pairs(replay.flow_mn, replay.flow_peer_mn, flow_class,
                                    class_table(policy.flow_classes), replay.n_mns,
                                    bool(policy.local_routing))
        self.flows: list[Flow] = [
            Flow(id=fid, mn=mn, peer=peer, start=start, end=end, cls=cls, pair=pair,
                 peer_mn=peer_mn, local_pair=local_pair)
            for fid, mn, peer, start, end, cls, pair, peer_mn, local_pair in zip(
                flow_ids,
                replay.flow_mn.tolist(),
                replay.flow_peer.tolist(),
                replay.flow_start.tolist(),
                replay.flow_end.tolist(),
                flow_class.tolist(),
                pairs.flow_pair.tolist(),
                peer_mns,
                local.flow_pair.tolist(),
            )
        ]
        self.pairs: list[Correspondent] = [
            Correspondent(mn=mn, peer=peer)
            for mn, peer in zip(pairs.pair_mn.tolist(), pairs.pair_peer.tolist())]
        self.pairs_of: list[list[int]] = [[] for _ in range(replay.n_mns)]  # ascending
        for k, pair in enumerate(self.pairs):
            self.pairs_of[pair.mn].append(k)
        # §18 localized routing: its pairs, the cases it takes, the tunnel between two PoAs.
        self.local_routing = int(policy.local_routing)
        self.local_tunnel_bytes = int(policy.local_tunnel_bytes)
        self.local_pairs: list[LocalPair] = [
            LocalPair(low=low, high=high)
            for low, high in zip(local.pair_low.tolist(), local.pair_high.tolist())]
        self.local_pairs_of: list[list[int]] = [[] for _ in range(replay.n_mns)]  # ascending
        for k, pair in enumerate(self.local_pairs):
            self.local_pairs_of[pair.low].append(k)
            self.local_pairs_of[pair.high].append(k)
        # Control events (t, kind, a, b, row), already sorted by (t, kind, row).
        self.events: list[tuple[int, int, int, int, int]] = list(
            zip(
                replay.ev_t.tolist(),
                replay.ev_kind.tolist(),
                replay.ev_a.tolist(),
                replay.ev_b.tolist(),
                replay.ev_row.tolist(),
            )
        )
        self.next_event = 0

        # §3 state: every MN starts detached; home is `central` from the start under CENTRAL.
        home = self.central if self.select == SELECT_CENTRAL else -1
        self.mns: list[MobileNode] = [MobileNode(id=i, home=home) for i in range(replay.n_mns)]

        # Counters that are not per flow.
        self.anchors: list[Anchor] = [Anchor() for _ in range(self.n_nodes)]
        self.rows: list[MobilityRow] = [MobilityRow() for _ in range(replay.n_rows)]
        self.sig_msgs = [[0] * self.n_kinds for _ in CAUSE_NAMES]  # [cause][message kind]
        self.sig_bytes = [[0] * self.n_kinds for _ in CAUSE_NAMES]
        self.role_sig_msgs = [[0] * (self.n_nodes + 1) for _ in ROLE_NAMES]  # [role][node]
        self.sig_byte_hops = [[0] * self.n_kinds for _ in CAUSE_NAMES]
        segments, extra = path_bounds(self.levels, self.depth, self.two_ended)
        self.stretch_hist = [[0] * (self.max_hops + extra + 1)
                             for _ in range(segments * self.max_hops + extra + 1)]

        # §11 timeline: [bin][node] counters; bin i covers [t_begin + i·w, t_begin + (i+1)·w).
        self.n_bins = timeline_bins(replay, timeline_bin_ns)
        self.w = int(timeline_bin_ns)
        self.t_begin = int(replay.t_begin)
        self.timeline_packets = [[0] * self.n_nodes for _ in range(self.n_bins)]
        self.timeline_bytes = [[0] * self.n_nodes for _ in range(self.n_bins)]
        self.timeline_sig_msgs = [[0] * self.n_nodes for _ in range(self.n_bins)]
        self.timeline_binding_ns = [[0] * self.n_nodes for _ in range(self.n_bins)]

        self.last_packet_t: int | None = None  # for "t must not decrease" (§7)
        self.finished = False

    # ------------------------------------------------------------------ public interface

    def feed(self, batch: PacketBatch) -> None:
        """Handle one batch of packet rows, each after the control events due before it."""
        if self.finished:
            raise RuntimeError("feed() after finish()")
        ts = batch.t.tolist()
        flow_ids = batch.flow.tolist()
        sizes = batch.size.tolist()
        dirs = batch.dir.tolist()
        for i in range(len(ts)):
            row = batch.first_row + i
            t, fid, s, d = ts[i], flow_ids[i], sizes[i], dirs[i]
            f = self._check_row(row, t, fid, d, s)  # §7: row checks first
            self._handle_events_before(t, EV_PACKET)  # §2
            self._packet(f, t, s, d)

    def finish(self) -> RawCounters:
        """Handle the remaining control events, close the trace (§8), return the counters."""
        if self.finished:
            raise RuntimeError("finish() called twice")
        self.finished = True
        # §2: after the last packet, the remaining control events are handled, each after
        # the timers due by its time (§12); then the timers due by t_end.
        while self.next_event < len(self.events):
            event = self.events[self.next_event]
            self._fire_timers(event[0])
            self._handle_event(event)
            self.next_event += 1
        self._fire_timers(self.t_end)
        for pair in self.pairs:  # §15 trigger 5
            if pair.active > 0:
                self._rr_refreshes(pair, self.t_end)
        # §8: at t_end, every bound live address of every MN (MN order, list order) is closed.
        for m in self.mns:
            for x in m.addresses:
                if x.bound:
                    self._close(x, self.t_end)
        return self._counters()

    # ------------------------------------------------------------------ §2 event order

    def _handle_events_before(self, t: int, kind: int) -> None:
        """§2: handle every control event with (t_ev, kind_ev) < (t, kind)."""
        while self.next_event < len(self.events):
            event = self.events[self.next_event]
            t_ev, kind_ev = event[0], event[1]
            if not (t_ev, kind_ev) < (t, kind):
                break
            self._fire_timers(t_ev)
            self._handle_event(event)
            self.next_event += 1
        self._fire_timers(t)

    # ------------------------------------------------------------------ §12 timers

    def _schedule(self, due: int, kind: int, target: object) -> int:
        self.timer_seq += 1
        heapq.heappush(self.timers, (due, self.timer_seq, kind, target))
        return self.timer_seq

    def _fire_timers(self, t: int) -> None:
        """§12: every timer due at or before t, in (due, seq) order; stale ones do nothing."""
        while self.timers and self.timers[0][0] <= t:
            due, seq, kind, target = heapq.heappop(self.timers)
            if kind == TIMER_EXPIRE:
                x = target
                if x.expiry == seq:  # still bound, not closed since
                    self._close(x, due)
                    self.records.append((due, EVENT_BINDING_EXPIRED, x.mn, -1, x.anchor))
            elif kind == TIMER_CORRESPONDENT:  # §15 trigger 4
                pair = target
                if pair.pending == seq:
                    pair.bound_poa, pair.pending, pair.pending_poa = pair.pending_poa, None, -1
            elif kind == TIMER_LOCALIZED:  # §18 trigger 4
                local = target
                if local.pending == seq:
                    local.case, local.pending, local.pending_case = local.pending_case, None, -1
            elif kind == TIMER_DEPRECATED:  # §5.5: the end of a deprecated address's lifetime
                x = target
                if x.live and x.deprecated == seq:
                    m = self.mns[x.mn]
                    if x.bound:
                        self._close(x, due)
                    self._retire(m, x, m.poa, -1, due, 0, early=False)
                    self.records.append((due, EVENT_ADDRESS_RELEASED, m.id, -1, x.anchor))
            else:
                m = target
                if m.release == seq:  # still detached since
                    m.release = None
                    for x in list(m.addresses):
                        if x.bound:
                            self._close(x, due)
                        self._leave_list(m, x)
                        self.records.append((due, EVENT_ADDRESS_RELEASED, m.id, -1, x.anchor))

    def _handle_event(self, event: tuple[int, int, int, int, int]) -> None:
        t, kind, a, b, row = event
        if kind == EV_MOVE and row >= self.n_mobility_rows:
            self._network(self.mns[a], b, row, t)
        elif kind == EV_MOVE:
            self._own_row(self.mns[a], b, row, t)
        elif kind == EV_FLOW_START:
            self._flow_start(self.flows[a])
        elif kind == EV_FLOW_END:
            self._flow_end(self.flows[a], t)
        else:
            raise ValueError(f"unknown control event kind {kind}")

    # ------------------------------------------------------------------ §3 predicates

    def _pinned(self, m: MobileNode, x: Address) -> bool:
        """§3: refcount > 0, or always_registered and it is the MN's home address (at the
        home anchor, not deprecated)."""
        return x.refcount > 0 or (self.always_registered and x.anchor == m.home
                                  and x.deprecated is None)

    def _needs_binding(self, x: Address, p: int) -> bool:
        """§3: unless native[anchor][p]."""
        return not self.native[x.anchor][p]

    def _live_address_at(self, m: MobileNode, anchor: int) -> Address | None:
        """§3: one live address per (MN, anchor) at most that is not deprecated (§5.5)."""
        for x in m.addresses:
            if x.anchor == anchor and x.deprecated is None:
                return x
        return None

    def _relocation_target(self, a: int, p: int) -> int:
        """§5 step 9a: where the home address anchored at ``a`` should go, the MN at PoA
        ``p``; -1 for nowhere."""
        if self.relocation_trigger == RELOCATE_BY_DISTANCE:
            b = self.serving[p]
            return b if self.D[a][p] - self.D[b][p] > self.relocation_gain_ns else -1
        if self.anchors[a].bindings < self.relocation_load:
            return -1
        others = [c for c in self.candidates if c != a]
        if not others:
            return -1
        b = min(others, key=lambda c: (self.anchors[c].bindings, c))
        return b if self.anchors[b].bindings < self.anchors[a].bindings else -1

    def _relocate(self, m: MobileNode, p: int, prev: int, t: int, pre: int) -> tuple[int, int]:
        """§5 step 9a: relocate m's home address if the trigger says so. The relocation
        program's messages and bytes."""
        x = self._live_address_at(m, m.home) if m.home >= 0 else None
        if x is None:
            return 0, 0
        a = x.anchor
        b = self._relocation_target(a, p)
        if b < 0 or b == a:
            return 0, 0
        if self.relocation == RELOCATION_RENEW:
            held = [f for f in self.flows if f.mn == m.id and f.addr is x and not f.ended
                    and self.classes[f.cls][CLASS_ON_LOSS] == ON_LOSS_BREAK]
            if held:  # a flow would break: deferred
                self.records.append((t, EVENT_RELOCATION_DEFERRED, m.id, -1, b))
                for f in held:
                    if not f.spared:
                        f.spared = True
                        self.records.append((t, EVENT_FLOW_SPARED, m.id,
                                             self.flow_index[f.id], b))
                return 0, 0
            y = Address(anchor=b, mn=m.id, from_anchor=a, until=t + pre)
            self.anchors[b].addresses += 1
            m.addresses.append(y)
            _, _, msgs, nbytes = self._run_program(CAUSE_RELOCATION, m, p, prev, [y], t,
                                                   x.until - t, set_until=True)
            self._leave_list(m, x)
            x.retired_t = y.until
        else:
            x.anchor, x.from_anchor = b, a
            _, _, msgs, nbytes = self._run_program(CAUSE_RELOCATION, m, p, prev, [x], t,
                                                   x.until - t, set_until=True)
        m.home = b
        self.records.append((t, EVENT_ANCHOR_RELOCATED, m.id, -1, b))
        return msgs, nbytes

    def _retire(self, m: MobileNode, x: Address, poa: int, prev: int, t: int,
                pre: int, early: bool = True) -> tuple[int, int]:
        """§5.5: a deprecated address (unbound by now) dies: the retirement program runs for
        it at ``poa`` when it goes ``early`` (before its lifetime's end) and the practice has
        one, the release program otherwise (none while the MN is detached), and it leaves
        the list. The program's messages and bytes."""
        msgs = nbytes = 0
        cause = (CAUSE_RETIREMENT if early and self.programs[CAUSE_RETIREMENT]
                 else CAUSE_RELEASE)
        if poa >= 0 and self.programs[cause]:
            _, _, msgs, nbytes = self._run_program(cause, m, poa, prev, [x], t, pre)
        self._leave_list(m, x)
        x.retired_t = t
        return msgs, nbytes

    # ------------------------------------------------------------------ §4 bindings, refresh

    def _bin(self, t: int) -> int:
        """§11 bin(t)."""
        return (t - self.t_begin) // self.w

    def _run_program(self, cause: int, m: MobileNode, poa: int, prev: int,
                     addresses: list[Address], t: int, pre: int,
                     set_until: bool = False, peer: int = -1,
                     token_fresh: bool = False,
                     pair: tuple[int, int, int, int] | None = None
                     ) -> tuple[int, int, int, int]:
        """§4 run the signaling program of ``cause`` for MN m at PoA ``poa`` (``prev`` the PoA
        it left) over ``addresses``, triggered at time t, signaling starting at t + pre.

        Counts every message; returns (signaling_ns, hold_ns, messages, bytes), signaling_ns
        measured from t + pre to the arrival of the last leg that ends the program. With
        ``set_until`` (§5.9) each address also gets its own end of the interruption and hold.
        ``peer`` is the node of the peer role and ``token_fresh`` says that the legs sent
        only on a stale token are not (§15); ``self.token_legs_sent`` tells whether one was.
        ``pair`` is (the other MN, its PoA, its anchor, the case the conditions test) of a
        localized-routing program (§18).
        """
        legs = self.programs[cause]
        k = len(addresses)
        sync: list[int] = []  # per leg: its arrival (once), or the latest over the addresses
        arrival: list[list[int]] = []  # per leg run per address: arrival per address
        executed: list[bool] = []
        done = None  # the latest arrival of a leg that ends the program
        done_once = None  # the latest arrival of such a leg run once
        hold_ns = msgs = sent = 0

        def origin(ref: int) -> int:
            """When a leg after ``ref`` can start: the signaling start, the move (0), or
            the arrival of the earlier leg ``ref`` (its latest over the addresses)."""
            if ref >= 0:
                return sync[ref]
            return pre if ref == AT_SIGNALING_START else 0

        def ends_of(leg: dict[str, int], x: Address | None) -> list[int]:
            """[source, destination, relay] nodes of a leg: the MN is −1 (at the PoA), no
            relay is None."""
            nodes: list[int | None] = []
            for role in (leg["src"], leg["dst"], leg["via"]):
                if role < 0:
                    nodes.append(None)
                elif role == ROLE_MN:
                    nodes.append(-1)
                elif role == ROLE_POA:
                    nodes.append(poa)
                elif role == ROLE_PREV_POA:
                    nodes.append(prev)
                elif role == ROLE_ANCHOR:
                    nodes.append(x.anchor)
                elif role == ROLE_SERVING:
                    nodes.append(self.serving[poa])
                elif role == ROLE_THIRD:
                    nodes.append(self.third)
                elif role == ROLE_LEVEL:
                    nodes.append(self.chain[leg["level"] - 1][poa])
                elif role == ROLE_PEER:
                    nodes.append(peer)
                elif role == ROLE_PEER_POA:
                    nodes.append(pair[1])
                elif role == ROLE_PEER_ANCHOR:
                    nodes.append(pair[2])
                elif role == ROLE_PREV_ANCHOR:
                    nodes.append(x.from_anchor)
                else:
                    assert role == ROLE_PREV_LEVEL
                    nodes.append(self.chain[leg["level"] - 1][prev])
            return nodes

        def is_sent(leg: dict[str, int]) -> bool:
            """§4: a leg with a chain level is sent only if the level roles it names exist
            and its condition on the level's node holds (a trigger without a previous PoA
            counts as a change)."""
            if leg["at_poa"] and not (leg["at_poa"] >> self.poa_class[poa]) & 1:
                return False  # a variant for other access (§4)
            if leg["at_prev_poa"] and (
                    prev < 0 or not (leg["at_prev_poa"] >> self.poa_class[prev]) & 1):
                return False  # a variant for a move from other access
            if ROLE_PREV_POA in (leg["src"], leg["dst"]) and prev < 0:
                return False  # a release after a detach: no PoA left just now
            if leg["when"] == WHEN_MN_ROUTER:  # §16: a mobile router's message
                return self.mn_router[m.id] == 1
            if leg["when"] == WHEN_MN_HOST:
                return self.mn_router[m.id] == 0
            if leg["when"] in PAIR_CONDITIONS:  # §18: in one case of the two MNs' places
                return leg["when"] == WHEN_SAME_POA_SAME_ANCHOR + pair[3]
            if leg["level"] == 0:
                return leg["when"] != WHEN_TOKEN_STALE or not token_fresh
            nodes = self.chain[leg["level"] - 1]
            here = nodes[poa]
            before = nodes[prev] if prev >= 0 else -1
            roles = (leg["src"], leg["dst"], leg["via"])
            if (ROLE_LEVEL in roles and here < 0) or (ROLE_PREV_LEVEL in roles and before < 0):
                return False
            if leg["when"] in (WHEN_LEVEL_CHANGED, WHEN_LEVEL_CHANGED_ABOVE):
                return here != before or here < 0  # no node here: nothing hid the move
            if leg["when"] == WHEN_LEVEL_KEPT:
                return here == before and here >= 0
            return leg["when"] != WHEN_TOKEN_STALE or not token_fresh

        def anchor_ok(leg: dict[str, int], x: Address) -> bool:
            """§4: a per-address leg with a condition on the address's registration or its
            anchor."""
            if leg["registered"] and (x.first_bound_t is None) == (
                    leg["registered"] == FLAG_REGISTERED):
                return False
            if leg["when"] == WHEN_ANCHOR_IS_THIRD:
                return x.anchor == self.third
            if leg["when"] == WHEN_ANCHOR_NOT_THIRD:
                return x.anchor != self.third
            if leg["when"] in LEVEL_ANCHOR_CONDITIONS:  # a gateway collocated with the level
                at = prev if ROLE_PREV_LEVEL in (leg["src"], leg["dst"]) else poa
                at_level = x.anchor == self.chain[leg["level"] - 1][at]
                return at_level == (leg["when"] == WHEN_ANCHOR_IS_LEVEL)  # else: above it
            return True

        def count(leg: dict[str, int], x: Address | None, send: int) -> tuple[int, int]:
            src, dst, via = ends_of(leg, x)
            size = leg["bytes"] + leg["bytes_per_address"] * k
            # The parts it travels (one, or two through a relay), each with its extra bytes:
            # a relay's tunnel lies on the MN's side (the first part if no end is the MN).
            if via is None:
                parts = [(src, dst, 0)]
            elif dst == -1:
                parts = [(src, via, 0), (via, dst, leg["via_bytes"])]
            else:
                parts = [(src, via, leg["via_bytes"]), (via, dst, 0)]
            hops = delay = byte_hops = 0
            for a, b, extra in parts:
                part_hops = self.H[poa if a < 0 else a][poa if b < 0 else b] + (a < 0) + (b < 0)
                hops += part_hops
                delay += self.D[poa if a < 0 else a][poa if b < 0 else b]
                byte_hops += (size + extra) * part_hops
            if leg["when"] == WHEN_TOKEN_STALE:
                self.token_legs_sent = True
            self.sig_msgs[cause][leg["kind"]] += 1
            self.sig_bytes[cause][leg["kind"]] += size
            self.sig_byte_hops[cause][leg["kind"]] += byte_hops
            ends = [(leg["src"], src), (leg["dst"], dst)]
            if via is not None:
                ends.append((leg["via"], via))
            for role, node in ends:
                # §4: each end handles the message in its role; the MNs share the last column
                self.role_sig_msgs[role][self.n_nodes if node < 0 else node] += 1
                if node >= 0:  # the load of each node the message leaves or reaches
                    self.anchors[node].sig_msgs += 1
                    self.anchors[node].sig_bytes += size
                    self.timeline_sig_msgs[self._bin(t)][node] += 1  # §11: the trigger's bin
            if self.observer is not None:
                self.observer.message(t + send, cause, leg["kind"], src, dst, size, m.id, poa,
                                      -1 if x is None else x.anchor,
                                      -1 if via is None else via, leg["via_bytes"],
                                      None if pair is None else pair[:3])
            return size, delay

        self.token_legs_sent = False
        for i, leg in enumerate(legs):
            if not is_sent(leg):  # §4: a leg not sent takes no time and is not counted
                ref = leg["after"]
                sync.append(origin(ref))
                arrival.append([sync[-1]] * k if ref < 0 or legs[ref]["scope"] == ONCE
                               else list(arrival[ref]))
                executed.append(False)
                continue
            if leg["scope"] == ONCE:
                ref = leg["after"]
                send = origin(ref) + leg["offset"]
                gate = leg["gate"]
                if gate >= 0 and executed[gate]:
                    send = max(send, min(sync[gate], send + leg["cap"]))
                size, delay = count(leg, None, send)
                sync.append(send + delay)
                arrival.append([])
                executed.append(True)
                msgs += 1
                sent += size
                if leg["ends"]:
                    done_once = sync[i] if done_once is None else max(done_once, sync[i])
            else:
                ref = leg["after"]
                own: list[int] = []
                any_sent = False
                for j, x in enumerate(addresses):
                    if ref < 0:
                        send = origin(ref)
                    elif legs[ref]["scope"] == ONCE:
                        send = sync[ref]
                    else:
                        send = arrival[ref][j]
                    if not anchor_ok(leg, x):  # §4: not for this address: passes its origin
                        own.append(send)
                        continue
                    any_sent = True
                    send += leg["offset"]
                    if leg["hold"] and x.first_bound_t is None:
                        send += self.first_ack_hold_ns
                        hold_ns = max(hold_ns, self.first_ack_hold_ns)
                        if set_until:
                            x.hold += self.first_ack_hold_ns
                    gate = leg["gate"]
                    if gate >= 0 and executed[gate]:
                        g = sync[gate] if legs[gate]["scope"] == ONCE else arrival[gate][j]
                        send = max(send, min(g, send + leg["cap"]))
                    size, delay = count(leg, x, send)
                    own.append(send + delay)
                    if set_until and leg["ends"]:
                        x.until = max(x.until, t + send + delay)
                    msgs += 1
                    sent += size
                arrival.append(own)
                executed.append(any_sent)
                if own:
                    sync.append(max(own))
                else:  # a leg that runs for no address takes no time
                    sync.append(origin(ref))
            if leg["ends"] and executed[i]:
                done = sync[i] if done is None else max(done, sync[i])
        if set_until and done_once is not None:
            for x in addresses:  # an ending leg run once completes every address signalled
                x.until = max(x.until, t + done_once)
        signaling_ns = 0 if done is None else max(done - pre, 0)
        return signaling_ns, hold_ns, msgs, sent

    def _register(self, x: Address, p: int, t: int) -> None:
        """§4 register(x, p, t): the anchor now holds a binding for x."""
        if x.first_bound_t is None:  # §7.2: its grace periods start
            x.first_bound_t = t
        x.bound = True
        x.reg_t = t
        x.reg_poa = p
        x.expiry = None
        a = self.anchors[x.anchor]
        a.bindings += 1
        a.peak_bindings = max(a.peak_bindings, a.bindings)

    def _close(self, x: Address, t: int) -> None:
        """§4 close(x, t), only for a bound address; refreshes are counted lazily here."""
        assert x.bound
        period = self.refresh_ns[x.reg_poa]  # §4: the refresh period where it registered
        if period > 0 and t > x.reg_t:
            n = (t - x.reg_t - 1) // period
        else:
            n = 0
        m = self.mns[x.mn]
        for k in range(1, n + 1):
            # The k-th refresh runs the refresh program at reg_poa, at reg_t + k·lifetime,
            # changing no state (§4, §11).
            self._run_program(CAUSE_REFRESH, m, x.reg_poa, -1, [x],
                              x.reg_t + k * period, 0)
        a = self.anchors[x.anchor]
        a.binding_ns += t - x.reg_t
        # §11: the overlap of [reg_t, t) with every bin it touches.
        if t > x.reg_t:
            for i in range(self._bin(x.reg_t), self._bin(t - 1) + 1):
                bin_start = self.t_begin + i * self.w
                overlap = min(t, bin_start + self.w) - max(x.reg_t, bin_start)
                self.timeline_binding_ns[i][x.anchor] += overlap
        a.bindings -= 1
        x.bound = False
        x.expiry = None

    # ------------------------------------------------------------------ §5 move

    def _own_row(self, m: MobileNode, p: int, r: int, t: int) -> None:
        """§16: a mobility row of MN m moves it, unless it rides behind a router."""
        m.own = p
        if self.mobile_networks and m.router >= 0:
            return  # its row stays a no-op: it moves with its router
        if self._move(m, p, r, t):
            self._follow(m, t)

    def _network(self, m: MobileNode, router: int, r: int, t: int) -> None:
        """§16: networks row r: from t, MN m rides behind ``router`` (-1: on its own)."""
        if not self.mobile_networks or router == m.router:
            return
        m.router = router
        m.pending_row = -1
        if router >= 0 and self.mns[router].poa < 0:
            # Behind a router that is detached: unreachable, and its move waits for the
            # router to attach (its bindings stay as they are meanwhile).
            m.poa = -1
            m.window_row = -1
            m.pending_row = r
            self._follow(m, t)
            return
        target = self.mns[router].poa if router >= 0 else m.own
        if self._move(m, target, r, t, forced=True):
            self._ride(m, self.mns[router] if router >= 0 else None)
            self._follow(m, t)

    def _ride(self, m: MobileNode, router: MobileNode | None) -> None:
        """§16: an MN behind an attached router waits for the router's own interruption."""
        if router is not None and router.until > m.ready:
            m.ready = router.until
            m.until = max(m.until, m.ready)

    def _follow(self, router: MobileNode, t: int) -> None:
        """§16: the MNs riding behind ``router`` (ascending ids) are where it is now."""
        if not self.mobile_networks:
            return
        for m in self.mns:
            if m.router != router.id:
                continue
            if m.pending_row >= 0 and router.poa >= 0:  # its move can happen now
                row, m.pending_row = m.pending_row, -1
                self._move(m, router.poa, row, t, forced=True)
                self._ride(m, router)
            elif router.poa < 0:
                m.poa = -1
                m.window_row = -1
            else:
                if m.poa >= 0:  # the network handed over: its flows did
                    m.moves += 1
                m.poa = router.poa
                m.window_row = router.window_row
                self._ride(m, router)
            self._follow(m, t)

    def _move(self, m: MobileNode, p: int, r: int, t: int, forced: bool = False) -> bool:
        """§5 move event: MN m to PoA p (or -1), row r, time t; ``forced`` (§16): its care-of
        address changes even where its PoA does not. False if nothing moved (§5.1)."""
        row = self.rows[r]
        # §5.1
        if p == m.poa and not (forced and p >= 0):
            row.kind = HO_NOOP
            return False
        old_poa = m.poa
        m.release = None  # §12: a pending release no longer applies
        in_use = [self.pairs[k] for k in self.pairs_of[m.id] if self.pairs[k].active > 0]
        for pair in in_use:  # §15 trigger 1: the refreshes at the PoA it leaves
            self._rr_refreshes(pair, t)
        # §5.2
        local_in_use = [self.local_pairs[k] for k in self.local_pairs_of[m.id]
                        if self.local_pairs[k].active > 0]
        if p == -1:
            for pair in in_use:  # no return routability while detached
                pair.rr_t, pair.pending, pair.pending_poa = None, None, -1
            for local in local_in_use:  # §18 trigger 1: its MAG forgets the routing
                local.case, local.pending, local.pending_case = -1, None, -1
            closed = []
            for x in m.addresses:
                if not x.bound:
                    continue
                if self.binding_outlives_detach:
                    period = self.refresh_ns[x.reg_poa]
                    if period > 0:  # §12: it ends with the period of its last refresh
                        n = (t - x.reg_t - 1) // period if t > x.reg_t else 0
                        x.expiry = self._schedule(x.reg_t + (n + 1) * period,
                                                  TIMER_EXPIRE, x)
                else:
                    self._close(x, t)
                    closed.append(x)
            # §5.3
            row.kind = HO_DETACH
            row.from_poa = old_poa
            row.signaling_ns, _, row.msgs, row.bytes = self._run_program(
                CAUSE_DEREGISTRATION, m, old_poa, old_poa, closed, t, 0)
            if self.detach_release_ns >= 0:
                m.release = self._schedule(t + self.detach_release_ns, TIMER_RELEASE, m)
            m.poa = -1
            m.window_row = -1
            return True
        was_bound = [x for x in m.addresses if x.bound]
        for x in was_bound:
            self._close(x, t)
        # §5.4
        if m.poa == -1:
            kind = HO_ATTACH
        else:
            kind = HO_HANDOVER
            m.moves += 1
        # §5.5: the network releases what the move took out of scope (its own program)
        on = ON_ATTACH if kind == HO_ATTACH else ON_HANDOVER
        pre = sum(component[on] for component in self.components)
        release_msgs = release_bytes = 0
        for x in list(m.addresses):
            if self.scope[x.anchor][p] == 1 or x.deprecated is not None:
                continue
            if self.deprecated_lifetime_ns >= 0:  # deprecated: it lives on for its lifetime
                cause = CAUSE_DEPRECATION
                x.deprecated = self._schedule(t + self.deprecated_lifetime_ns,
                                              TIMER_DEPRECATED, x)
            else:
                cause = CAUSE_RELEASE
            if self.programs[cause]:
                _, _, n, nbytes = self._run_program(cause, m, p, old_poa, [x], t, pre)
                release_msgs += n
                release_bytes += nbytes
            if cause == CAUSE_RELEASE:
                self._leave_list(m, x)  # flows bound to x break when next seen (§6, §7)
        # §5.6 at an attach; with select_for_new_sessions_only, at any move that finds the
        # home address gone (released by step 5), and never while it lives
        new_session = not (self.new_sessions_only and m.home >= 0
                           and self._live_address_at(m, m.home) is not None)
        if (kind == HO_ATTACH or self.new_sessions_only) and new_session:
            if self.select == SELECT_AT_ATTACH:
                m.home = self.serving[p]
            elif self.select == SELECT_AT_BOOTSTRAP and m.home == -1:
                m.home = self.serving[p]
            elif self.select == SELECT_HASHED and m.home == -1:
                m.home = self.candidates[m.id % len(self.candidates)]
            elif self.select == SELECT_LEAST_LOADED:
                # The fewest bindings now; min keeps the first, i.e. the lowest id, on ties.
                m.home = min(self.candidates, key=lambda a: self.anchors[a].bindings)
        # §5.7
        if self.always_registered and m.home >= 0 and self._live_address_at(m, m.home) is None:
            m.addresses.append(Address(anchor=m.home, mn=m.id))
            self.anchors[m.home].addresses += 1
        # §5.8: a deprecated address nothing pins any more is released
        for x in list(m.addresses):
            if self._pinned(m, x):
                continue
            if x.deprecated is None:
                self._leave_list(m, x)
            else:
                n, nbytes = self._retire(m, x, p, old_poa, t, pre)
                release_msgs += n
                release_bytes += nbytes
        # §5.9: every live address waits for the components; the program runs over the
        # addresses that need a binding, extending their own wait; then they register.
        cause = CAUSE_ATTACH if kind == HO_ATTACH else CAUSE_HANDOVER
        for x in m.addresses:
            x.until = t + pre
            x.hold = 0
        signalled = [x for x in m.addresses if self._needs_binding(x, p)]
        signaling_ns, hold_ns, msgs, sent_bytes = self._run_program(
            cause, m, p, old_poa, signalled, t, pre, set_until=True)
        # §5.9: bindings this move ends (their address is native here now) are de-registered.
        released = [x for x in m.addresses
                    if any(x is y for y in was_bound) and not self._needs_binding(x, p)]
        dereg_ns = dereg_hold = dereg_msgs = dereg_bytes = 0
        if released:  # a de-registration of no binding sends nothing
            dereg_ns, dereg_hold, dereg_msgs, dereg_bytes = self._run_program(
                CAUSE_DEREGISTRATION, m, p, old_poa, released, t, pre, set_until=True)
        if dereg_ns > signaling_ns:
            signaling_ns, hold_ns = dereg_ns, dereg_hold
        msgs += dereg_msgs + release_msgs
        sent_bytes += dereg_bytes + release_bytes
        if kind == HO_HANDOVER and self.relocation != RELOCATION_NONE:  # §5 step 9a
            n, nbytes = self._relocate(m, p, old_poa, t, pre)
            msgs += n
            sent_bytes += nbytes
        for x in m.addresses:  # step 9's registrations, at the anchors step 9a left
            if self._needs_binding(x, p):
                self._register(x, p, t)
        # §5.10: the MN's window ends with its longest address wait; the row reports the
        # longest wait of an address with active flows (the first on ties), if there is one.
        m.ready = t + pre
        m.until = max([m.ready] + [x.until for x in m.addresses])
        active = [x for x in m.addresses if x.refcount > 0]
        if active:
            longest = max(active, key=lambda x: x.until)  # max keeps the first on ties
            signaling_ns, hold_ns = longest.until - m.ready, longest.hold
        interruption = pre + signaling_ns
        m.window_row = r
        m.poa = p
        row.kind = kind
        row.from_poa = old_poa
        row.to_poa = p
        row.interruption_ns = interruption
        row.signaling_ns = signaling_ns
        row.hold_ns = hold_ns
        row.msgs = msgs
        row.bytes = sent_bytes
        row.addresses = len(signalled)
        for pair in in_use:  # §15 trigger 1: after the home registration's acknowledgement
            x = pair.addr
            if not x.live or not self._needs_binding(x, p):
                pair.bound_poa = -1
                continue
            rr_msgs, rr_bytes = self._rr(pair, t, x.until)
            row.msgs += rr_msgs
            row.bytes += rr_bytes
        for local in local_in_use:  # §18 trigger 1: set up again, or torn down
            lr_msgs, lr_bytes = self._relocalize(local, m, t)
            row.msgs += lr_msgs
            row.bytes += lr_bytes
        return True

    # ------------------------------------------------------------------ §18 localized routing

    def _local_case(self, m: MobileNode, other: MobileNode) -> int:
        """§18 the case of two attached MNs' places, or −1 where localized routing does not
        take it."""
        case = pair_case(m.poa, m.home, other.poa, other.home)
        return case if (self.local_routing >> case) & 1 else -1

    def _run_local(self, cause: int, m: MobileNode, other: MobileNode, t: int, origin: int,
                   case: int) -> tuple[int, int, int, int]:
        """§18: a localized-routing program for m at its PoA over its home address, with the
        other MN's roles and the conditions testing ``case``."""
        home = self._live_address_at(m, m.home)
        return self._run_program(cause, m, m.poa, -1, [home], t, origin - t,
                                 pair=(other.id, other.poa, other.home, case))

    def _relocalize(self, local: LocalPair, m: MobileNode, t: int) -> tuple[int, int]:
        """§18 trigger 1 after m attached or handed over: the routing set up again, or torn
        down; returns the messages and bytes."""
        old_case = local.case if local.case >= 0 else local.pending_case
        local.case, local.pending, local.pending_case = -1, None, -1
        other = self.mns[local.high if local.low == m.id else local.low]
        if other.poa < 0:
            return 0, 0
        origin = max(m.until, other.until)
        if self._local_case(m, other) >= 0:
            return self._set_up(local, m, other, t, origin)
        if old_case >= 0:
            _, _, msgs, sent = self._run_local(CAUSE_LOCALIZED_END, m, other, t, origin,
                                               old_case)
            return msgs, sent
        return 0, 0

    def _set_up(self, local: LocalPair, m: MobileNode, other: MobileNode, t: int,
                origin: int) -> tuple[int, int]:
        """§18 setup(k, m, t, origin): returns the messages and bytes."""
        case = self._local_case(m, other)
        signaling_ns, _, msgs, sent = self._run_local(CAUSE_LOCALIZED, m, other, t, origin,
                                                      case)
        local.pending_case = case
        local.pending = self._schedule(origin + signaling_ns, TIMER_LOCALIZED, local)
        return msgs, sent

    # ------------------------------------------------------------------ §15 correspondents

    def _rr(self, pair: Correspondent, t: int, origin: int) -> tuple[int, int]:
        """§15 rr(k, t, origin): return routability and the BU for one pair; returns the
        messages and bytes."""
        m = self.mns[pair.mn]
        fresh = pair.token_t is not None and origin - pair.token_t < self.token_lifetime_ns
        signaling_ns, _, msgs, sent = self._run_program(
            CAUSE_CORRESPONDENT, m, m.poa, -1, [pair.addr], t, origin - t, peer=pair.peer,
            token_fresh=fresh)
        if self.token_legs_sent:
            pair.token_t = origin
        pair.rr_t = origin
        pair.pending_poa = m.poa
        pair.pending = self._schedule(origin + signaling_ns, TIMER_CORRESPONDENT, pair)
        return msgs, sent

    def _rr_refreshes(self, pair: Correspondent, t: int) -> None:
        """§15 refreshes(k, t): the full return routabilities every R since rr_t, before t."""
        if pair.rr_t is None or t <= pair.rr_t:
            return
        n = (t - pair.rr_t - 1) // self.refresh_rr_ns
        m = self.mns[pair.mn]
        for i in range(1, n + 1):
            self._run_program(CAUSE_CORRESPONDENT, m, m.poa, -1, [pair.addr],
                              pair.rr_t + i * self.refresh_rr_ns, 0, peer=pair.peer)
        pair.rr_t += n * self.refresh_rr_ns
        if n:
            pair.token_t = pair.rr_t

    def _let_go(self, f: Flow, t: int) -> None:
        """§15 and §18 trigger 3: a flow with a pair lets go of its address."""
        if f.local_pair >= 0:
            local = self.local_pairs[f.local_pair]
            local.active -= 1
            if local.active == 0:
                local.case, local.pending, local.pending_case = -1, None, -1
        if f.pair < 0:
            return
        pair = self.pairs[f.pair]
        pair.active -= 1
        if pair.active == 0:
            self._rr_refreshes(pair, t)
            pair.bound_poa, pair.pending, pair.pending_poa, pair.rr_t = -1, None, -1, None

    @staticmethod
    def _leave_list(m: MobileNode, x: Address) -> None:
        """An address that leaves the MN's list is no longer live (§3)."""
        m.addresses.remove(x)
        x.live = False

    # ------------------------------------------------------------------ §6 flow events

    def _flow_start(self, f: Flow) -> None:
        """§6 start: remember the MN's handover count; addresses are bound lazily (§7)."""
        f.moves_at_start = self.mns[f.mn].moves

    def _flow_end(self, f: Flow, t: int) -> None:
        """§6 end."""
        m = self.mns[f.mn]
        f.ended = True
        f.moves = m.moves - f.moves_at_start
        x = f.addr
        if x is None:
            return
        if not x.live and self.classes[f.cls][CLASS_ON_LOSS] == ON_LOSS_BREAK:
            self._break(f, t)
        self._let_go(f, t)
        self._drop(m, x, t)

    def _drop(self, m: MobileNode, x: Address, t: int) -> None:
        """§6: a flow lets go of address x; x goes when nothing pins it any more."""
        x.refcount -= 1
        if x.refcount == 0 and x.live and not self._pinned(m, x):
            if x.bound:
                self._close(x, t)
            if x.deprecated is None:
                self._leave_list(m, x)
            else:
                self._retire(m, x, m.poa, -1, t, 0)

    # ------------------------------------------------------------------ §7 packet

    def _check_row(self, row: int, t: int, fid: int, d: int, s: int) -> Flow:
        """§7 row checks, in the order of the page; returns the packet's flow."""
        f_index = self.flow_index.get(fid)
        if f_index is None:
            raise PacketRowError("flow", row, fid, "not a flow of the trace")
        if self.last_packet_t is not None and t < self.last_packet_t:
            raise PacketRowError(
                "t", row, t, f"packet times must not decrease (previous {self.last_packet_t})"
            )
        f = self.flows[f_index]
        if not (f.start <= t <= f.end):
            raise PacketRowError(
                "t", row, t, f"outside its flow's [start, end] = [{f.start}, {f.end}]"
            )
        if d not in (0, 1):
            raise PacketRowError("dir", row, d, "must be 0 (up) or 1 (down)")
        if s < MIN_PACKET_BYTES:
            raise PacketRowError("size", row, s, f"smaller than {MIN_PACKET_BYTES} bytes")
        self.last_packet_t = t
        return f

    def _packet(self, f: Flow, t: int, s: int, d: int) -> None:
        """§7 packet at time t of flow f, s bytes, direction d (the row passed its checks)."""
        m = self.mns[f.mn]
        q = self.mns[f.peer_mn] if f.peer_mn >= 0 else None  # §17: the other MN
        f.packets += 1
        f.bytes += s
        # §7.1 detached (either MN, §17)
        if m.poa == -1 or (q is not None and q.poa == -1):
            f.lost += 1
            return
        # §7.2 broken, or renumbered onto a new address by its class
        p = m.poa
        far = f.peer if q is None else q.poa  # where the other end is (§17)
        renumber = graceful = False
        x = f.addr
        if (x is not None and x.live and self.grace[f.cls] >= 0
                and x.first_bound_t is not None and t - x.first_bound_t >= self.grace[f.cls]
                and self._class_anchor(f, m, p) != x.anchor):
            # §7.2 graceful replacement: the grace is over; the flow moves to a new address
            f.addr = None
            self._let_go(f, t)
            self._drop(m, x, t)
            graceful = True
        elif f.addr is not None and not f.addr.live:
            if self.classes[f.cls][CLASS_ON_LOSS] == ON_LOSS_RENUMBER:
                lost_at = max(m.ready, f.addr.retired_t)  # §7.3: re-established from there
                f.addr.refcount -= 1  # the dead address is garbage once no flow holds it
                self._let_go(f, t)
                f.addr = None
                renumber = True
            else:
                self._break(f, t)
        if f.broken:
            f.lost += 1
            return
        # §7.3 bind
        if not f.is_bound:
            self._bind(f, m, p, t)
        if renumber or graceful:
            f.renumbered += 1
            self.records.append((t, EVENT_FLOW_RENUMBERED, f.mn, self.flow_index[f.id],
                                f.addr.anchor))
        if renumber:  # lost until re-established; a graceful move loses nothing
            f.resume = lost_at + 2 * self.D[far][p]
        if f.local:
            # §7.3 renumber: a new local address when the serving anchor changed since the
            # flow's last packet; the flow resumes one round trip after the address is usable.
            if self.serving[p] != f.local_anchor:
                if f.local_anchor >= 0:
                    f.renumbered += 1
                    self.records.append((t, EVENT_FLOW_RENUMBERED, f.mn, self.flow_index[f.id],
                                        self.serving[p]))
                    f.resume = m.ready + 2 * self.D[far][p]
                f.local_anchor = self.serving[p]
        if t < f.resume:
            f.lost += 1
            if m.window_row >= 0:
                self.rows[m.window_row].lost += 1
            return
        # §15: a peer whose binding still holds an old care-of address sends there.
        if f.pair >= 0 and self.pairs[f.pair].bound_poa not in (-1, p) and d == 1:
            f.lost += 1
            if m.window_row >= 0:
                self.rows[m.window_row].lost += 1
            return
        # §7.4 interruption: the flow's own wait (its address's, or the MN's components'), and
        # the other MN's (§17), charged to the row of the end that waits longer (m on ties)
        wait = 0
        wait_end = m.ready if f.addr is None else max(m.ready, f.addr.until)
        window_row = m.window_row
        if q is not None and q.until > wait_end:
            wait_end, window_row = q.until, q.window_row
        if t < wait_end:
            if self.buffering:
                wait = wait_end - t
                f.delayed += 1
                if window_row >= 0:
                    self.rows[window_row].delayed += 1
            else:
                f.lost += 1
                if window_row >= 0:
                    self.rows[window_row].lost += 1
                return
        # §7.5 path: the direct path (k = 0), or through the anchor and its chain
        a = self.serving[p] if f.local else f.addr.anchor
        c = f.peer
        direct = self.classes[f.cls][CLASS_DIRECT] or (
            f.pair >= 0 and self.pairs[f.pair].bound_poa == p)  # §15: the peer's binding
        localized = f.local_pair >= 0 and self.local_pairs[f.local_pair].case >= 0  # §18
        routers = self._routers(m)  # §16: the mobile routers above the MN, nearest first
        far_routers = self._routers(q) if q is not None else []  # §17: the other MN's
        depth = len(routers) + len(far_routers)
        if localized:  # §18: MAG to MAG, or inside one MAG
            segments = [(far, p, self.local_tunnel_bytes if far != p else 0, 0)]
            links = []
            lead = []
            direct = True  # no anchor forwards it
        elif direct:  # from the other end straight to the PoA
            segments = [(far, p, self.direct_bytes, 0)]
            links = [self.direct_bytes] * depth  # the mobile networks' own links
            lead: list[tuple[int, int, int, int]] = []
        else:
            segments, links = self._nested_segments(a, p, routers)
            if q is None:  # from the peer to the anchor, as it is
                lead = [(c, a, 0, 0)]
            else:  # §17: from the other MN's PoA up to its anchor b, then across to a
                b = q.home if q.home >= 0 else self.serving[q.poa]
                lead, far_links = self._nested_segments(b, q.poa, far_routers)
                lead.append((b, a, 0, 0))
                links = links + far_links
        every = lead + segments
        hops = sum(self.H[u][v] for u, v, _, _ in every) + depth
        delay = sum(self.D[u][v] for u, v, _, _ in every) + wait
        overhead = sum(encap for _, _, encap, _ in every) + sum(links)
        overhead_byte_hops = sum(encap * self.H[u][v] for u, v, encap, _ in every) + sum(links)
        direct_hops = self.H[far][p] + depth
        direct_delay = self.D[far][p]
        f.hops_sum += hops
        f.direct_hops_sum += direct_hops
        f.delay_ns_sum += delay
        f.direct_delay_ns_sum += direct_delay
        f.overhead_bytes += overhead
        f.overhead_byte_hops += overhead_byte_hops
        self.stretch_hist[hops][direct_hops] += 1
        if not direct:  # the anchor forwards it (a direct packet passes no anchor)
            self.anchors[a].packets += 1
            self.anchors[a].bytes += s
            self.timeline_packets[self._bin(t)][a] += 1  # §11: the bin of the packet's time
            self.timeline_bytes[self._bin(t)][a] += s
        if self.observer is not None:
            self.observer.delivered(t, wait, f.id, d, s, a, segments)  # its MN's end

    def _routers(self, m: MobileNode) -> list[MobileNode]:
        """§16: the routers m rides behind, its own first, then the one that one rides
        behind, and so on (none when mobile networks are not replayed)."""
        routers = []
        while self.mobile_networks and m.router >= 0:
            m = self.mns[m.router]
            routers.append(m)
        return routers

    def _nested_segments(self, a: int, p: int, routers: list[MobileNode]
                         ) -> tuple[list[tuple[int, int, int, int]], list[int]]:
        """§16 the path from anchor a to PoA p through the home anchors of the routers above
        the MN: each router's tunnel (segment_bytes[0]) nests around the ones inside it, from
        its home anchor down; the routers' own links carry the tunnels that end below them.
        Returns the segments and the bytes on each router link (the top router's first)."""
        tunnel = self.segment_bytes[0]
        segments = []
        u = a
        for i, router in enumerate(routers, start=1):
            assert router.home >= 0, "an attached router has a home anchor"
            if router.home != u:
                segments.append((u, router.home, i * tunnel, 0))
                u = router.home
        d = len(routers)
        segments += [(x, y, encap + d * tunnel, level)
                     for x, y, encap, level in self._chain_segments(u, p)]
        return segments, [i * tunnel for i in range(d, 0, -1)]

    def _chain_segments(self, a: int, p: int) -> list[tuple[int, int, int, int]]:
        """§7.5 the segments (from, to, encapsulation bytes, level) from anchor a down its
        chain to PoA p: a chain node that is absent (-1) or the PoA itself adds nothing, one
        equal to the node the path has reached moves that node to its level, and the last
        segment gets the PoA's access bytes."""
        segments = []
        u, level = a, 0
        for k, nodes in enumerate(self.chain, start=1):
            b = nodes[p]
            if b < 0 or b == p or self.bypass[a] >> (k - 1) & 1:  # §7.5: absent or bypassed
                continue
            if b != u:
                segments.append((u, b, self.segment_bytes[level], level))
                u = b
            level = k
        segments.append((u, p, self.segment_bytes[level] + self.access_bytes[p], level))
        return segments

    def _break(self, f: Flow, t: int) -> None:
        """§7.2, §6: the flow's address is gone; the first time, it is an event (§14)."""
        if not f.broken:
            f.broken = True
            self.records.append((t, EVENT_FLOW_BROKEN, f.mn, self.flow_index[f.id],
                                f.addr.anchor))

    def _class_anchor(self, f: Flow, m: MobileNode, p: int) -> int:
        """§7.3: the anchor f's class binds at, for MN m at p (not a local class)."""
        if self.classes[f.cls][CLASS_ANCHOR] == ANCHOR_OFFLOAD and self.offload[f.cls][p] >= 0:
            return self.offload[f.cls][p]  # §7.3: the class's offload gateway of the PoA
        if self.select == SELECT_CENTRAL:
            return self.central
        if self.select == SELECT_PER_FLOW:
            return self.serving[p]
        if self.select in (SELECT_AT_ATTACH, SELECT_AT_BOOTSTRAP, SELECT_HASHED,
                           SELECT_LEAST_LOADED):
            return m.home
        raise ValueError(f"unknown anchor selection code {self.select}")

    def _bind(self, f: Flow, m: MobileNode, p: int, t: int) -> None:
        """§7.3 bind an unbound flow of MN m, attached at p."""
        if self.classes[f.cls][CLASS_ANCHOR] == ANCHOR_LOCAL:
            f.local = True
            f.anchor = self.serving[p]
            return
        anchor = self._class_anchor(f, m, p)
        if anchor < 0:
            # semantics.md leaves this undefined; refuse rather than index node -1.
            raise ValueError(f"flow of MN at PoA {p} has no anchor (select {self.select})")
        x = self._live_address_at(m, anchor)
        if x is None:
            x = Address(anchor=anchor, mn=m.id)
            self.anchors[anchor].addresses += 1
            m.addresses.append(x)
            if self._needs_binding(x, p):  # the flow's packets are not held for it
                self._run_program(CAUSE_FLOW, m, p, -1, [x], t, 0)
                self._register(x, p, t)
        x.refcount += 1
        f.addr = x
        f.anchor = anchor
        if f.pair >= 0:  # §15 trigger 2
            pair = self.pairs[f.pair]
            pair.active += 1
            pair.addr = x
            if pair.bound_poa != p and pair.pending is None and self._needs_binding(x, p):
                self._rr(pair, t, max(t, x.until))
        if f.local_pair >= 0:  # §18 trigger 2
            local = self.local_pairs[f.local_pair]
            local.active += 1
            other = self.mns[f.peer_mn]
            if local.case < 0 and local.pending is None and self._local_case(m, other) >= 0:
                self._set_up(local, m, other, t, max(t, m.until, other.until))

    # ------------------------------------------------------------------ counters

    def _counters(self) -> RawCounters:
        """Copy the Python counters into RawCounters arrays."""
        out = RawCounters.zeros(len(self.flows), self.n_nodes, len(self.rows), self.max_hops,
                                self.n_bins, self.n_kinds, self.levels, self.depth,
                                self.two_ended)
        flow_fields = {
            "flow_packets": "packets",
            "flow_bytes": "bytes",
            "flow_lost": "lost",
            "flow_delayed": "delayed",
            "flow_overhead_bytes": "overhead_bytes",
            "flow_overhead_byte_hops": "overhead_byte_hops",
            "flow_hops_sum": "hops_sum",
            "flow_direct_hops_sum": "direct_hops_sum",
            "flow_delay_ns_sum": "delay_ns_sum",
            "flow_direct_delay_ns_sum": "direct_delay_ns_sum",
            "flow_anchor": "anchor",
            "flow_broken": "broken",
            "flow_moves": "moves",
            "flow_renumbered": "renumbered",
        }
        node_fields = {
            "anchor_packets": "packets",
            "anchor_bytes": "bytes",
            "anchor_peak_bindings": "peak_bindings",
            "anchor_binding_ns": "binding_ns",
            "anchor_sig_msgs": "sig_msgs",
            "anchor_sig_bytes": "sig_bytes",
            "anchor_addresses": "addresses",
        }
        row_fields = {
            "ho_kind": "kind",
            "ho_from": "from_poa",
            "ho_to": "to_poa",
            "ho_interruption_ns": "interruption_ns",
            "ho_signaling_ns": "signaling_ns",
            "ho_hold_ns": "hold_ns",
            "ho_msgs": "msgs",
            "ho_bytes": "bytes",
            "ho_lost": "lost",
            "ho_delayed": "delayed",
            "ho_addresses": "addresses",
        }
        for records, fields in ((self.flows, flow_fields), (self.anchors, node_fields),
                                (self.rows, row_fields)):
            for out_name, attr in fields.items():
                arr = getattr(out, out_name)
                arr[:] = np.array([int(getattr(rec, attr)) for rec in records], dtype=arr.dtype)
        out.sig_msgs[:] = np.array(self.sig_msgs, dtype=np.int64)
        out.role_sig_msgs[:] = np.array(self.role_sig_msgs, dtype=np.int64)
        out.sig_bytes[:] = np.array(self.sig_bytes, dtype=np.int64)
        out.sig_byte_hops[:] = np.array(self.sig_byte_hops, dtype=np.int64)
        out.stretch_hist[:] = np.array(self.stretch_hist, dtype=np.int64)
        for name, values in events_arrays(self.records).items():
            setattr(out, name, values)
        for name in ("timeline_packets", "timeline_bytes", "timeline_sig_msgs",
                     "timeline_binding_ns"):
            getattr(out, name)[:] = np.array(getattr(self, name), dtype=np.int64).reshape(
                self.n_bins, self.n_nodes)
        return out
