"""Hand-computed scenarios that pin docs/semantics.md, run on the reference engine.

Each scenario builds a tiny input by hand and asserts every counter of the run (all the
fields of RawCounters not set below must stay zero / -1). The expected numbers are worked out
in the comments from the topology drawn here, rule by rule (the §s cite semantics.md). The
same scenarios also run on the compiled core when it is built (one suite, two engines).
Scenarios shorter than one 10 s timeline bin expect each anchor's totals in bin 0
(``in_one_bin``); the timeline scenarios use narrower bins and spell every bin out (§11).

Topology (node id: role), one-way link delays in µs:

        CN 0
         | 10
      CORE 1 ---2--- HA 5      (HA 5: the central anchor: HA, LMA)
         | 5
       AGG 2                   (AGG 2: aggregation router, a MAP/SGW)
       1/   \\1
    POA_A 3  POA_B 4           (the PoAs; in the DMM policy each hosts its own anchor)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dmmemu.engine.flow_classes import FlowClass
from dmmemu.engine.policy import (
    SELECT_AT_ATTACH,
    SELECT_CENTRAL,
    SELECT_PER_FLOW,
    PolicyTables,
    interruption_table,
    native_at_serving,
)
from dmmemu.engine.reference import ReferenceReplay
from dmmemu.engine.replay_io import (
    CAUSE_ATTACH,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_REFRESH,
    DEFAULT_TIMELINE_BIN_NS,
    EVENT_FLOW_BROKEN,
    EVENT_FLOW_RENUMBERED,
    HO_ATTACH,
    HO_DETACH,
    HO_HANDOVER,
    HO_NOOP,
    PacketBatch,
    RawCounters,
    ReplayInput,
    control_events,
    events_arrays,
    timeline_bins,
)
from dmmemu.engine.signaling import (
    ROLE_ANCHOR,
    ROLE_MN,
    ROLE_POA,
    MessageKind,
    program_table,
    request_reply_program,
)
from dmmemu.errors import PacketRowError, PracticeError
from dmmemu.practices.dmm import connection_manager_classes

US = 1_000
MS = 1_000_000
S = 1_000_000_000

CN, CORE, AGG, POA_A, POA_B, HA = range(6)

# H[u][v]: hops of the (unique, tree) shortest path.
HOPS = np.array(
    [
        # CN CORE AGG  A  B  HA
        [0, 1, 2, 3, 3, 2],  # CN
        [1, 0, 1, 2, 2, 1],  # CORE
        [2, 1, 0, 1, 1, 2],  # AGG
        [3, 2, 1, 0, 2, 3],  # POA_A
        [3, 2, 1, 2, 0, 3],  # POA_B
        [2, 1, 2, 3, 3, 0],  # HA
    ],
    np.uint16,
)
# D[u][v] in µs (sum of the link delays on that path), ×1000 for ns.
DELAY_NS = np.array(
    [
        [0, 10, 15, 16, 16, 12],
        [10, 0, 5, 6, 6, 2],
        [15, 5, 0, 1, 1, 7],
        [16, 6, 1, 0, 2, 8],
        [16, 6, 1, 2, 0, 8],
        [12, 2, 7, 8, 8, 0],
    ],
    np.int64,
) * US
MAX_HOPS = 3  # stretch_hist has shape (3*3+1, 3+1) = (10, 4)


def _engines() -> list:
    engines = [pytest.param(ReferenceReplay, id="reference")]
    try:
        from dmmemu._core.replay import Replay
    except ImportError:
        engines.append(
            pytest.param(None, id="core", marks=pytest.mark.skip(reason="compiled core not built"))
        )
    else:
        engines.append(pytest.param(Replay, id="core"))
    return engines


@pytest.fixture(params=_engines())
def engine(request):
    return request.param


# ---------------------------------------------------------------------------- input builders


# Fields both scenario policies share; each policy below states only how it differs.
_COMMON = dict(
    chain=[[-1] * 6], segment_bytes=[40, 0], scope=np.ones((6, 6)), buffering=False,
    lifetime_ns=0, first_ack_hold_ns=0,
    message_kinds=(MessageKind("request", "request"), MessageKind("reply", "reply", reply=True)),
    interruption_ns=interruption_table(l2_attach=1 * MS, movement_detection=2 * MS),
)


def central_policy(**changes) -> PolicyTables:
    """MIPv6-like: one central HA at node 5, home address always registered, BU from the MN."""
    return _policy({**_COMMON, "select": SELECT_CENTRAL, "central": HA,
                    "serving": [-1, -1, -1, HA, HA, -1], "always_registered": True,
                    "native": np.zeros((6, 6), np.uint8),
                    "legs": program_table(request_reply_program(ROLE_MN, (80, 56)), 2), **changes})


def dmm_policy(**changes) -> PolicyTables:
    """DMM-like: an anchor at every PoA, each flow anchored where it starts, native at home."""
    return _policy({**_COMMON, "select": SELECT_PER_FLOW, "central": -1,
                    "serving": [-1, -1, -1, POA_A, POA_B, -1], "always_registered": False,
                    "native": native_at_serving(np.array([-1, -1, -1, POA_A, POA_B, -1])),
                    "legs": program_table(request_reply_program(ROLE_POA, (80, 56)), 2), **changes})


def _policy(fields: dict) -> PolicyTables:
    fields["serving"] = np.array(fields["serving"], np.int32)
    fields["chain"] = np.array(fields["chain"], np.int32).reshape(-1, 6)
    fields["segment_bytes"] = np.array(fields["segment_bytes"], np.int32)
    fields["scope"] = np.ascontiguousarray(fields["scope"], np.uint8)
    return PolicyTables(**fields)


def make_replay(
    n_mns: int,
    moves: list[tuple[int, int, int]],
    flows: list[tuple[int, int, int, int, int, bool]],
    packets: list[tuple[int, int, int, int]] = (),
    apps: list[str | None] | None = None,
) -> ReplayInput:
    """moves: (t, mn, poa) in mobility-row order; flows: (id, mn, peer, start, end, continuity)
    in ascending id order; packets: (t, flow id, size, dir), only used for t_end here; apps:
    each flow's app (None: null), for flow classes."""
    app_names = tuple(sorted({a for a in apps or () if a is not None}))
    mob_t = np.array([m[0] for m in moves], np.int64)
    flow_start = np.array([f[3] for f in flows], np.int64)
    flow_end = np.array([f[4] for f in flows], np.int64)
    ev = control_events(
        mob_t,
        np.array([m[1] for m in moves], np.int32),
        np.array([m[2] for m in moves], np.int32),
        flow_start,
        flow_end,
    )
    times = [m[0] for m in moves] + [f[4] for f in flows] + [p[0] for p in packets]
    return ReplayInput(
        n_mns=n_mns,
        hops=HOPS,
        delay_ns=DELAY_NS,
        flow_ids=np.array([f[0] for f in flows], np.uint64),
        flow_mn=np.array([f[1] for f in flows], np.int32),
        flow_peer=np.array([f[2] for f in flows], np.int32),
        flow_start=flow_start,
        flow_end=flow_end,
        flow_continuity=np.array([f[5] for f in flows], np.uint8),
        ev_t=ev[0],
        ev_kind=ev[1],
        ev_a=ev[2],
        ev_b=ev[3],
        ev_row=ev[4],
        n_mobility_rows=len(moves),
        t_begin=min(times + [f[3] for f in flows]),
        t_end=max(times),
        flow_app=None if apps is None else np.array(
            [-1 if a is None else app_names.index(a) for a in apps], np.int32),
        app_names=app_names,
    )


def make_batch(rows: list[tuple[int, int, int, int]], first_row: int = 0) -> PacketBatch:
    """Packet rows (t, flow id, size, dir) as one batch starting at file row ``first_row``."""
    return PacketBatch(
        np.array([r[0] for r in rows], np.int64),
        np.array([r[1] for r in rows], np.uint64),
        np.array([r[2] for r in rows], np.uint16),
        np.array([r[3] for r in rows], np.uint8),
        first_row,
    )


def run(engine_cls, policy, replay, packets, cuts: list[int] = (),
        timeline_bin_ns: int = DEFAULT_TIMELINE_BIN_NS) -> RawCounters:
    """Feed ``packets`` cut into batches before each index of ``cuts``, then finish."""
    bounds = [0, *cuts, len(packets)]
    e = engine_cls(policy, replay, timeline_bin_ns=timeline_bin_ns)
    for lo, hi in zip(bounds, bounds[1:]):
        e.feed(make_batch(packets[lo:hi], lo))
    return e.finish()


def zeros(replay: ReplayInput, timeline_bin_ns: int = DEFAULT_TIMELINE_BIN_NS,
          levels: int = 1) -> RawCounters:
    """Counters of the shapes a run of the scenario policies (one chain level) has."""
    return RawCounters.zeros(replay.n_flows, replay.n_nodes, replay.n_mobility_rows, MAX_HOPS,
                             timeline_bins(replay, timeline_bin_ns), 2, levels)


def in_one_bin(e: RawCounters) -> RawCounters:
    """``e`` with its timeline filled in for a trace shorter than one bin: the only bin holds
    every anchor's totals (§11)."""
    assert e.timeline_packets.shape[0] == 1
    e.timeline_packets[0] = e.anchor_packets
    e.timeline_bytes[0] = e.anchor_bytes
    e.timeline_sig_msgs[0] = e.anchor_sig_msgs
    e.timeline_binding_ns[0] = e.anchor_binding_ns
    return e


def assert_counters(got: RawCounters, expected: RawCounters) -> None:
    diff = got.differences(expected)
    detail = "\n".join(
        f"{name}:\n  got      {getattr(got, name).tolist()}"
        f"\n  expected {getattr(expected, name).tolist()}"
        for name in diff
    )
    assert not diff, "counters differ:\n" + detail


def set_events(e: RawCounters, records: list[tuple[int, int, int, int, int]]) -> None:
    """The expected events (§14): (t, kind, MN, dense flow or -1, anchor)."""
    for name, values in events_arrays(records).items():
        setattr(e, name, values)


MNS = 6  # the column of role_sig_msgs that holds the MNs' own ends (one past the nodes)


def set_roles(e: RawCounters, counts: dict[tuple[int, int], int]) -> None:
    """Messages handled per (role, node) (§4); node MNS is the MN itself."""
    for (role, node), n in counts.items():
        e.role_sig_msgs[role, node] = n


def set_row(e: RawCounters, r: int, kind, frm, to, interruption=0, signaling=0, msgs=0,
            nbytes=0, lost=0, delayed=0, addresses=None) -> None:
    """One handover row; ``addresses`` (the addresses its program signalled for) defaults
    to one per BU/BA pair of an attach or handover: every MN here holds one address."""
    e.ho_kind[r], e.ho_from[r], e.ho_to[r] = kind, frm, to
    e.ho_interruption_ns[r], e.ho_signaling_ns[r] = interruption, signaling
    e.ho_msgs[r], e.ho_bytes[r], e.ho_lost[r], e.ho_delayed[r] = msgs, nbytes, lost, delayed
    if addresses is None:
        addresses = msgs // 2 if kind in (HO_ATTACH, HO_HANDOVER) else 0
    e.ho_addresses[r] = addresses


# ---------------------------------------------------------------------------- scenarios


def test_central_anchor_one_tunnel_segment(engine) -> None:
    """MIPv6 bidirectional tunnel: attach signaling, triangle path through the HA, closing."""
    policy = central_policy()
    packets = [(10 * MS, 7, 1000, 1), (12 * MS, 7, 64, 0), (20 * MS, 7, 1000, 1)]
    replay = make_replay(1, [(0, 0, POA_A)], [(7, 0, CN, 10 * MS, 20 * MS, True)], packets)
    got = run(engine, policy, replay, packets)

    e = zeros(replay)
    # Attach at t=0 to A (§5): always_registered, home = central = HA, no address yet ->
    # address @HA appended (§5.7), pinned (§5.8), needs a binding -> register(x, A, 0, ATTACH)
    # (§5.9): h = H[A][HA] + 1 (MN-originated) = 3 + 1 = 4.
    e.sig_msgs[CAUSE_ATTACH] = [1, 1]
    e.sig_bytes[CAUSE_ATTACH] = [80, 56]
    e.sig_byte_hops[CAUSE_ATTACH] = [80 * 4, 56 * 4]
    e.anchor_sig_msgs[HA] = 2
    e.anchor_sig_bytes[HA] = 136
    e.anchor_peak_bindings[HA] = 1
    # signaling_ns = 2 * D[A][HA] = 16 µs; interruption = 1 ms + 2 ms + 16 µs (§5.10).
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3_016_000, 16_000, 2, 136)
    # Packets at 10, 12 and 20 ms (the one at 20 ms comes before the flow end at 20 ms, §2):
    # the flow binds to the existing home address @HA (§7.3, no registration). Path (§7.5):
    # chain[0][A] = -1 -> one segment (HA -> A, segment_bytes[0] = 40).
    # hops = H[CN][HA] + H[HA][A] = 2 + 3 = 5; delay = 12 + 8 = 20 µs;
    # overhead = 40; overhead byte-hops = 40 * 3 = 120; direct = H[CN][A] = 3, 16 µs.
    e.flow_packets[0] = 3
    e.flow_bytes[0] = 2064
    e.flow_hops_sum[0] = 3 * 5
    e.flow_direct_hops_sum[0] = 3 * 3
    e.flow_delay_ns_sum[0] = 3 * 20_000
    e.flow_direct_delay_ns_sum[0] = 3 * 16_000
    e.flow_overhead_bytes[0] = 3 * 40
    e.flow_overhead_byte_hops[0] = 3 * 120
    e.flow_anchor[0] = HA
    e.anchor_packets[HA] = 3
    e.anchor_bytes[HA] = 2064
    e.stretch_hist[5, 3] = 3
    # The flow ends at 20 ms; the home address stays pinned and bound; the trace closes at
    # t_end = 20 ms (§8): binding time 20 ms, no refresh (lifetime 0).
    e.anchor_binding_ns[HA] = 20 * MS
    # One address created (the home address @HA, §5.7); the BU/BA pair is handled by the MN
    # (its end) and the HA in the anchor role (§4).
    e.anchor_addresses[HA] = 1
    set_roles(e, {(ROLE_MN, MNS): 2, (ROLE_ANCHOR, HA): 2})
    assert_counters(got, in_one_bin(e))


def test_two_segment_chain_and_a_chain_node_equal_to_the_anchor(engine) -> None:
    """chain[0][A] = AGG (a MAP) gives two segments; chain[0][B] = HA (the anchor) gives one."""
    policy = central_policy(chain=[[-1, -1, -1, AGG, HA, -1]], segment_bytes=[40, 36])
    packets = [(10 * MS, 7, 1000, 1), (10 * MS, 9, 1000, 1), (11 * MS, 7, 500, 0)]
    replay = make_replay(
        2,
        [(0, 0, POA_A), (0, 1, POA_B)],
        [(7, 0, CN, 10 * MS, 20 * MS, True), (9, 1, CN, 10 * MS, 20 * MS, True)],
        packets,
    )
    got = run(engine, policy, replay, packets)

    e = zeros(replay)
    # Two attaches, each registering its home address @HA; h = H[A][HA] + 1 = H[B][HA] + 1 = 4;
    # signaling_ns = 2 * 8 µs for both.
    e.sig_msgs[CAUSE_ATTACH] = [2, 2]
    e.sig_bytes[CAUSE_ATTACH] = [160, 112]
    e.sig_byte_hops[CAUSE_ATTACH] = [160 * 4, 112 * 4]
    e.anchor_sig_msgs[HA] = 4
    e.anchor_sig_bytes[HA] = 272
    e.anchor_peak_bindings[HA] = 2
    e.anchor_binding_ns[HA] = 2 * 20 * MS  # both closed at t_end = 20 ms
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3_016_000, 16_000, 2, 136)
    set_row(e, 1, HO_ATTACH, -1, POA_B, 3_016_000, 16_000, 2, 136)
    # Flow 7 (MN 0 at A): a = HA, chain[0][A] = AGG -> (HA -> AGG, 40), (AGG -> A, 36).
    # hops = H[CN][HA] + H[HA][AGG] + H[AGG][A] = 2 + 2 + 1 = 5; delay = 12 + 7 + 1 = 20 µs;
    # overhead = 76; byte-hops = 40*2 + 36*1 = 116. Two packets (1000 + 500 bytes).
    e.flow_packets[0] = 2
    e.flow_bytes[0] = 1500
    e.flow_hops_sum[0] = 10
    e.flow_direct_hops_sum[0] = 6
    e.flow_delay_ns_sum[0] = 40_000
    e.flow_direct_delay_ns_sum[0] = 32_000
    e.flow_overhead_bytes[0] = 152
    e.flow_overhead_byte_hops[0] = 232
    e.flow_anchor[0] = HA
    # Flow 9 (MN 1 at B): chain[0][B] = HA = a -> one segment (HA -> B, segment_bytes[1] = 36).
    # hops = 2 + 3 = 5; delay = 12 + 8 = 20 µs; overhead 36; byte-hops 36*3 = 108.
    e.flow_packets[1] = 1
    e.flow_bytes[1] = 1000
    e.flow_hops_sum[1] = 5
    e.flow_direct_hops_sum[1] = 3
    e.flow_delay_ns_sum[1] = 20_000
    e.flow_direct_delay_ns_sum[1] = 16_000
    e.flow_overhead_bytes[1] = 36
    e.flow_overhead_byte_hops[1] = 108
    e.flow_anchor[1] = HA
    e.anchor_packets[HA] = 3
    e.anchor_bytes[HA] = 2500
    e.stretch_hist[5, 3] = 3
    e.anchor_addresses[HA] = 2  # one home address per MN
    set_roles(e, {(ROLE_MN, MNS): 4, (ROLE_ANCHOR, HA): 4})
    assert_counters(got, in_one_bin(e))


# DMM scenario shared by the loss and buffering tests: MN 0 attaches at A, hands over to B at
# 50 ms; flow 7 [10, 100] ms starts at A, flow 8 [60, 80] ms starts at B.
DMM_MOVES = [(0, 0, POA_A), (50 * MS, 0, POA_B)]
DMM_FLOWS = [(7, 0, CN, 10 * MS, 100 * MS, True), (8, 0, CN, 60 * MS, 80 * MS, True)]
DMM_PACKETS = [
    (10 * MS, 7, 1000, 1),  # at A, native
    (50 * MS, 7, 1000, 1),  # same time as the handover: the move comes first (§2) -> inside
    (52 * MS, 7, 1000, 0),  # inside the interruption (ends at 53.004 ms)
    (54 * MS, 7, 1000, 1),  # after it: tunnel A -> B
    (60 * MS, 8, 1000, 1),  # flow 8 starts at 60 ms (before the packet, §2): native at B
]


def _dmm_common(replay: ReplayInput,
                timeline_bin_ns: int = DEFAULT_TIMELINE_BIN_NS) -> RawCounters:
    """Counters the loss and the buffering variants share (timeline left at zero)."""
    e = zeros(replay, timeline_bin_ns)
    # Attach at A at t=0: PER_FLOW, no home, not always_registered -> no address, nothing
    # registers, signaling_ns = 0, interruption = 1 + 2 ms (§5.9, §5.10).
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3 * MS, 0, 0, 0)
    # First packet of flow 7 at 10 ms: anchor = serving[A] = A; new address @A; it does not
    # need a binding at A (native[A][A]), so no FLOW registration (§7.3).
    # Path: chain[0][A] = -1 -> (A -> A, segment_bytes[0] = 40): hops = H[CN][A] + 0 = 3, delay 16 µs,
    # overhead 40 (the page has no native exception for encapsulation), byte-hops 40 * 0 = 0.
    # Handover to B at 50 ms: address @A (refcount 1) is not bound, so nothing closes;
    # moves = 1; it needs a binding at B (serving[B] = B != A): register(x, B, 50 ms, HANDOVER)
    # with h = H[B][A] + 0 = 2; signaling_ns = 2 * D[B][A] = 4 µs; interruption = 3.004 ms.
    # Both ends of each message count it (§4): the PoA B and the anchor A.
    e.sig_msgs[CAUSE_HANDOVER] = [1, 1]
    e.sig_bytes[CAUSE_HANDOVER] = [80, 56]
    e.sig_byte_hops[CAUSE_HANDOVER] = [160, 112]
    e.anchor_sig_msgs[[POA_A, POA_B]] = 2
    e.anchor_sig_bytes[[POA_A, POA_B]] = 136
    e.anchor_peak_bindings[POA_A] = 1
    # Flow 7 ends at 100 ms: refcount 0, not pinned -> closed: bound 50..100 ms.
    e.anchor_binding_ns[POA_A] = 50 * MS
    # Flow 8's packet at 60 ms: new address @B (serving[B]), native, no registration;
    # hops 3 + 0, delay 16 µs, overhead 40, byte-hops 0. Flow 8 ends at 80 ms: its address is
    # unbound and unpinned and leaves the list. moves = 1 - 1 = 0.
    e.flow_packets[1] = 1
    e.flow_bytes[1] = 1000
    e.flow_hops_sum[1] = 3
    e.flow_direct_hops_sum[1] = 3
    e.flow_delay_ns_sum[1] = 16_000
    e.flow_direct_delay_ns_sum[1] = 16_000
    e.flow_overhead_bytes[1] = 40
    e.flow_anchor[1] = POA_B
    e.anchor_packets[POA_B] = 1
    e.anchor_bytes[POA_B] = 1000
    e.flow_packets[0] = 4
    e.flow_bytes[0] = 4000
    e.flow_anchor[0] = POA_A
    e.flow_moves[0] = 1  # 1 handover during [10, 100] ms
    # Addresses @A (flow 7) and @B (flow 8); the handover's PBU/PBA: B as PoA, A as anchor.
    e.anchor_addresses[POA_A] = 1
    e.anchor_addresses[POA_B] = 1
    set_roles(e, {(ROLE_POA, POA_B): 2, (ROLE_ANCHOR, POA_A): 2})
    return e


def test_native_at_anchor_then_handover_loses_packets_in_interruption(engine) -> None:
    policy = dmm_policy()
    replay = make_replay(1, DMM_MOVES, DMM_FLOWS, DMM_PACKETS)
    got = run(engine, policy, replay, DMM_PACKETS)

    e = _dmm_common(replay)
    # until = 50 ms + 3.004 ms: packets at 50 and 52 ms are lost in window row 1 (§7.4).
    set_row(e, 1, HO_HANDOVER, POA_A, POA_B, 3_004_000, 4_000, 2, 136, lost=2)
    e.flow_lost[0] = 2
    # Delivered: 10 ms native at A (hops 3, 16 µs, overhead 40, byte-hops 0) and 54 ms through
    # (A -> B, 40): hops = H[CN][A] + H[A][B] = 3 + 2 = 5, delay = 16 + 2 = 18 µs,
    # byte-hops = 40 * 2 = 80; direct H[CN][B] = 3, 16 µs.
    e.flow_hops_sum[0] = 3 + 5
    e.flow_direct_hops_sum[0] = 6
    e.flow_delay_ns_sum[0] = 16_000 + 18_000
    e.flow_direct_delay_ns_sum[0] = 32_000
    e.flow_overhead_bytes[0] = 80
    e.flow_overhead_byte_hops[0] = 80
    e.anchor_packets[POA_A] = 2
    e.anchor_bytes[POA_A] = 2000
    e.stretch_hist[3, 3] = 2  # flow 7 at A, flow 8 at B
    e.stretch_hist[5, 3] = 1
    assert_counters(got, in_one_bin(e))


def test_buffering_delays_instead_of_losing(engine) -> None:
    policy = dmm_policy(buffering=True)
    replay = make_replay(1, DMM_MOVES, DMM_FLOWS, DMM_PACKETS)
    got = run(engine, policy, replay, DMM_PACKETS)
    assert_counters(got, in_one_bin(_buffering_counters(replay)))


def _buffering_counters(replay: ReplayInput,
                        timeline_bin_ns: int = DEFAULT_TIMELINE_BIN_NS) -> RawCounters:
    """The buffering run's counters, timeline left at zero."""
    e = _dmm_common(replay, timeline_bin_ns)
    # until = 53_004_000 ns. Packet at 50 ms waits 3_004_000 ns, at 52 ms 1_004_000 ns
    # (§7.4); both then take the tunnel path A -> B (hops 5, 18 µs + wait).
    set_row(e, 1, HO_HANDOVER, POA_A, POA_B, 3_004_000, 4_000, 2, 136, delayed=2)
    e.flow_delayed[0] = 2
    e.flow_hops_sum[0] = 3 + 5 + 5 + 5
    e.flow_direct_hops_sum[0] = 12
    e.flow_delay_ns_sum[0] = 16_000 + (18_000 + 3_004_000) + (18_000 + 1_004_000) + 18_000
    e.flow_direct_delay_ns_sum[0] = 64_000
    e.flow_overhead_bytes[0] = 160
    e.flow_overhead_byte_hops[0] = 0 + 80 + 80 + 80
    e.anchor_packets[POA_A] = 4
    e.anchor_bytes[POA_A] = 4000
    e.stretch_hist[3, 3] = 2
    e.stretch_hist[5, 3] = 3
    return e


def test_timeline_packets_on_bin_edges_and_a_binding_across_bins(engine) -> None:
    """The buffering run on 1 ms bins (§11): every packet time is a bin edge, and the two
    buffered packets count in the bins they were sent in, not in the bin they leave in."""
    policy = dmm_policy(buffering=True)
    replay = make_replay(1, DMM_MOVES, DMM_FLOWS, DMM_PACKETS)
    got = run(engine, policy, replay, DMM_PACKETS, timeline_bin_ns=1 * MS)

    e = _buffering_counters(replay, 1 * MS)
    # t_begin = 0, t_end = 100 ms: 100 // 1 + 1 = 101 bins; bin i = [i, i + 1) ms.
    # Packets (1000 bytes each) at A: 10 ms (bin 10); 50 and 52 ms, both buffered until
    # 53.004 ms (bins 50 and 52, not 53); 54 ms (bin 54). At B: 60 ms (bin 60).
    for i in (10, 50, 52, 54):
        e.timeline_packets[i, POA_A] = 1
    e.timeline_packets[60, POA_B] = 1
    e.timeline_bytes[:] = 1000 * e.timeline_packets
    # The handover registration at 50 ms: 2 messages @A in bin 50.
    e.timeline_sig_msgs[50, [POA_A, POA_B]] = 2
    # @A bound [50, 100) ms: 1 ms in each of bins 50..99; bin 100 (t_end = 100 ms) gets
    # nothing.
    e.timeline_binding_ns[50:100, POA_A] = 1 * MS
    assert_counters(got, e)


def test_timeline_bin_must_be_positive_and_fit(engine) -> None:
    """§11: a bin that is not a whole number of ns > 0, or more than 50 million (bin, node)
    cells, is refused by the constructor; so is a control event before t_begin."""
    policy = dmm_policy()
    replay = make_replay(1, DMM_MOVES, DMM_FLOWS, DMM_PACKETS)
    for bad in (0, -10 * MS, 1.5, True):
        with pytest.raises(PracticeError, match="timeline_bin_ns"):
            engine(policy, replay, timeline_bin_ns=bad)
    # 100 ms in 12 ns bins: 8_333_334 bins x 6 nodes > 50 million; 13 ns bins would fit.
    with pytest.raises(PracticeError, match="at least 13 ns"):
        engine(policy, replay, timeline_bin_ns=12)
    early = dataclasses.replace(replay, t_begin=1)
    with pytest.raises(ValueError, match="t_begin"):
        engine(policy, early)


def test_refresh_counted_lazily_at_close(engine) -> None:
    """(t - reg_t - 1) // lifetime refreshes: 250 s -> 4, 240 s -> 3 (not 4), 150 s -> 2;
    on a timeline of 100 s bins the refreshes land in later bins than their registrations."""
    policy = central_policy(lifetime_ns=60 * S)
    moves = [
        (0, 0, POA_A),  # row 0: MN 0 attaches at A
        (10 * S, 1, POA_B),  # row 1: MN 1 attaches at B
        (100 * S, 2, POA_A),  # row 2: MN 2 attaches at A
        (250 * S, 0, -1),  # row 3: MN 0 detaches: binding held 250 s -> 4 refreshes
        (250 * S, 1, -1),  # row 4: MN 1 detaches: held 240 s -> (240 s - 1) // 60 s = 3
    ]  # MN 2 is closed at t_end = 250 s (§8): held 150 s -> 2 refreshes
    replay = make_replay(3, moves, [])
    got = run(engine, policy, replay, [], timeline_bin_ns=100 * S)

    e = zeros(replay, 100 * S)
    # Three ATTACH registrations @HA, h = H[A|B][HA] + 1 = 4 each.
    e.sig_msgs[CAUSE_ATTACH] = [3, 3]
    e.sig_bytes[CAUSE_ATTACH] = [240, 168]
    e.sig_byte_hops[CAUSE_ATTACH] = [240 * 4, 168 * 4]
    # 4 + 3 + 2 = 9 refreshes, each a register at reg_poa (h = 4) without state change.
    e.sig_msgs[CAUSE_REFRESH] = [9, 9]
    e.sig_bytes[CAUSE_REFRESH] = [720, 504]
    e.sig_byte_hops[CAUSE_REFRESH] = [720 * 4, 504 * 4]
    e.anchor_sig_msgs[HA] = 2 * (3 + 9)
    e.anchor_sig_bytes[HA] = 136 * (3 + 9)
    e.anchor_peak_bindings[HA] = 3  # all three bound during [100, 250) s
    e.anchor_binding_ns[HA] = (250 + 240 + 150) * S
    for r, poa in ((0, POA_A), (1, POA_B), (2, POA_A)):
        set_row(e, r, HO_ATTACH, -1, poa, 3_016_000, 16_000, 2, 136)
    # A detach records its kind and the PoA it left, and its de-registration (none here).
    set_row(e, 3, HO_DETACH, POA_A, -1)
    set_row(e, 4, HO_DETACH, POA_B, -1)
    # Timeline (§11): t_begin = 0, t_end = 250 s, bins of 100 s -> 250 // 100 + 1 = 3 bins,
    # [0, 100), [100, 200), [200, 300) s. The k-th refresh is at reg_t + k * 60 s:
    #   MN 0 (reg 0 s):   60, 120, 180, 240 s -> bins 0, 1, 1, 2; bound [0, 250) s
    #   MN 1 (reg 10 s):  70, 130, 190 s     -> bins 0, 1, 1;    bound [10, 250) s
    #   MN 2 (reg 100 s): 160, 220 s         -> bins 1, 2;       bound [100, 250) s
    # Registrations at 0 and 10 s are in bin 0, the one at 100 s (a bin edge) in bin 1.
    # Messages (2 each): bin 0: 2 registrations + 2 refreshes; bin 1: 1 + 5; bin 2: 0 + 2.
    e.timeline_sig_msgs[:, HA] = [2 * 4, 2 * 6, 2 * 2]
    # Binding time: bin 0: 100 + 90 s; bin 1: 100 + 100 + 100 s; bin 2: 50 + 50 + 50 s.
    e.timeline_binding_ns[:, HA] = [190 * S, 300 * S, 150 * S]
    e.anchor_addresses[HA] = 3  # one home address per MN; refreshes create none
    set_roles(e, {(ROLE_MN, MNS): 24, (ROLE_ANCHOR, HA): 24})
    assert_counters(got, e)


def test_scope_zero_breaks_flows(engine) -> None:
    """scope[A][B] = 0: the address anchored at A dies on the move to B (SIPTO-like)."""
    scope = np.ones((6, 6))
    scope[POA_A, POA_B] = 0
    policy = dmm_policy(scope=scope)
    flows = [
        (7, 0, CN, 10 * MS, 100 * MS, True),  # packets before and after the move: lost after
        (8, 0, CN, 60 * MS, 100 * MS, True),  # starts at B: new address @B
        (9, 0, CN, 10 * MS, 70 * MS, True),  # no packet after the move: broken at its end (§6)
    ]
    packets = [(10 * MS, 7, 1000, 1), (20 * MS, 9, 1000, 1), (60 * MS, 7, 1000, 1),
               (60 * MS, 8, 1000, 1)]
    replay = make_replay(1, DMM_MOVES, flows, packets)
    got = run(engine, policy, replay, packets)

    e = zeros(replay)
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3 * MS, 0, 0, 0)
    # Handover at 50 ms: address @A (refcount 2, unbound: native) dies (§5.5); nothing is
    # left to register: signaling 0, interruption 3 ms; moves = 1. No signaling at all.
    set_row(e, 1, HO_HANDOVER, POA_A, POA_B, 3 * MS, 0, 0, 0)
    # Flow 7: delivered natively at A at 10 ms; at 60 ms it is bound to a dead address ->
    # broken, lost (§7.2, not a window loss). Flow 9 (dense 2): delivered at 20 ms; at its end
    # (70 ms) its address is not live -> broken (§6).
    for f, fid_packets, lost in ((0, 2, 1), (2, 1, 0)):
        e.flow_packets[f] = fid_packets
        e.flow_bytes[f] = 1000 * fid_packets
        e.flow_lost[f] = lost
        e.flow_broken[f] = 1
        e.flow_hops_sum[f] = 3
        e.flow_direct_hops_sum[f] = 3
        e.flow_delay_ns_sum[f] = 16_000
        e.flow_direct_delay_ns_sum[f] = 16_000
        e.flow_overhead_bytes[f] = 40
        e.flow_anchor[f] = POA_A
        e.flow_moves[f] = 1
    # Events: flow 7 (dense 0) found broken at its packet at 60 ms, flow 9 (dense 2) at its end.
    set_events(e, [(60 * MS, EVENT_FLOW_BROKEN, 0, 0, POA_A),
                   (70 * MS, EVENT_FLOW_BROKEN, 0, 2, POA_A)])
    # Flow 8 (dense 1): binds to a new native address @B at 60 ms; moves 0.
    e.flow_packets[1] = 1
    e.flow_bytes[1] = 1000
    e.flow_hops_sum[1] = 3
    e.flow_direct_hops_sum[1] = 3
    e.flow_delay_ns_sum[1] = 16_000
    e.flow_direct_delay_ns_sum[1] = 16_000
    e.flow_overhead_bytes[1] = 40
    e.flow_anchor[1] = POA_B
    e.anchor_packets[POA_A] = 2
    e.anchor_bytes[POA_A] = 2000
    e.anchor_packets[POA_B] = 1
    e.anchor_bytes[POA_B] = 1000
    e.stretch_hist[3, 3] = 3
    # Flows 7 and 9 share the address @A; flow 8 creates one @B. No signaling.
    e.anchor_addresses[POA_A] = 1
    e.anchor_addresses[POA_B] = 1
    assert_counters(got, in_one_bin(e))


def test_scope_applies_after_a_detach_too(engine) -> None:
    """§5.5: an address kept through a detach dies when the MN re-attaches at a PoA outside
    its anchor's scope; its flow breaks at its next packet."""
    scope = np.ones((6, 6))
    scope[POA_A, POA_B] = 0
    policy = dmm_policy(scope=scope)
    moves = [(0, 0, POA_A), (20 * MS, 0, -1), (30 * MS, 0, POA_B)]
    packets = [(10 * MS, 7, 1000, 1), (40 * MS, 7, 1000, 1)]
    replay = make_replay(1, moves, [(7, 0, CN, 10 * MS, 50 * MS, True)], packets)
    got = run(engine, policy, replay, packets)

    e = zeros(replay)
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3 * MS, 0, 0, 0)
    set_row(e, 1, HO_DETACH, POA_A, -1)
    # Attach at B at 30 ms: address @A is out of scope and dies; nothing registers.
    set_row(e, 2, HO_ATTACH, -1, POA_B, 3 * MS, 0, 0, 0)
    # 10 ms native at A (hops 3, 16 µs, 40 B, 0 byte-hops); 40 ms: the address is dead,
    # the packet is lost and the flow broken.
    e.flow_packets[0] = 2
    e.flow_bytes[0] = 2000
    e.flow_lost[0] = 1
    e.flow_broken[0] = 1
    set_events(e, [(40 * MS, EVENT_FLOW_BROKEN, 0, 0, POA_A)])  # found at its packet
    e.flow_hops_sum[0] = 3
    e.flow_direct_hops_sum[0] = 3
    e.flow_delay_ns_sum[0] = 16_000
    e.flow_direct_delay_ns_sum[0] = 16_000
    e.flow_overhead_bytes[0] = 40
    e.flow_anchor[0] = POA_A
    e.anchor_packets[POA_A] = 1
    e.anchor_bytes[POA_A] = 1000
    e.stretch_hist[3, 3] = 1
    e.anchor_addresses[POA_A] = 1  # flow 7's, the only one
    assert_counters(got, in_one_bin(e))


def register_at_b(e: RawCounters) -> None:
    """The handover row and signaling of one address @A registered at B at 50 ms: one
    request and reply (80 + 56 B) over h = H[B][A] = 2, RTT 4 µs; interruption 3.004 ms."""
    set_row(e, 1, HO_HANDOVER, POA_A, POA_B, 3_004_000, 4_000, 2, 136)
    e.sig_msgs[CAUSE_HANDOVER] = [1, 1]
    e.sig_bytes[CAUSE_HANDOVER] = [80, 56]
    e.sig_byte_hops[CAUSE_HANDOVER] = [160, 112]
    e.anchor_sig_msgs[[POA_A, POA_B]] = 2
    e.anchor_sig_bytes[[POA_A, POA_B]] = 136


def test_graceful_flow_keeps_its_address_for_the_grace_then_moves_without_loss(engine) -> None:
    """§7.2 graceful replacement (RFC 8653's graceful-replacement address): the flow keeps
    its address @A through the handover, for 20 ms after its first binding, then moves to
    a new address at the serving anchor with no packet lost; the old binding ends then."""
    graceful = FlowClass(name="graceful", on_loss="renumber", grace_ns=20 * MS)
    policy = dmm_policy(flow_classes=(graceful,))
    flows = [(7, 0, CN, 10 * MS, 100 * MS, True)]
    packets = [
        (10 * MS, 7, 1000, 1),  # at A: new address @A, native
        (54 * MS, 7, 1000, 1),  # after the handover at 50 ms: tunnel A -> B
        (60 * MS, 7, 1000, 1),  # 10 ms into the grace (from the binding at 50 ms): via A
        (75 * MS, 7, 1000, 1),  # grace over at 70 ms: a new address @B, native, not lost
        (90 * MS, 7, 1000, 1),  # native at B
    ]
    replay = make_replay(1, DMM_MOVES, flows, packets)
    got = run(engine, policy, replay, packets)

    e = zeros(replay)
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3 * MS, 0, 0, 0)
    # The handover registers @A at B (h = H[B][A] = 2, RTT 4 µs), as in the DMM scenarios;
    # that registration at 50 ms starts the grace.
    register_at_b(e)
    set_roles(e, {(ROLE_POA, POA_B): 2, (ROLE_ANCHOR, POA_A): 2})
    e.anchor_peak_bindings[POA_A] = 1
    # At 75 ms the flow lets go of @A (refcount 0: closed, bound 50..75 ms) and binds a new
    # address @B = serving[B], native there: no signaling, no loss (both valid at once).
    e.anchor_binding_ns[POA_A] = 25 * MS
    e.flow_renumbered[0] = 1
    set_events(e, [(75 * MS, EVENT_FLOW_RENUMBERED, 0, 0, POA_B)])
    e.anchor_addresses[[POA_A, POA_B]] = 1
    # Paths: native at A and at B (hops 3, 16 µs, overhead 40, byte-hops 0) for the packets
    # at 10, 75 and 90 ms; through (A -> B, 40) at 54 and 60 ms: hops 3 + 2, 18 µs,
    # byte-hops 80. The flow's reported anchor is the one it bound last (§7.3).
    e.flow_packets[0] = 5
    e.flow_bytes[0] = 5000
    e.flow_hops_sum[0] = 3 * 3 + 2 * 5
    e.flow_direct_hops_sum[0] = 5 * 3
    e.flow_delay_ns_sum[0] = 3 * 16_000 + 2 * 18_000
    e.flow_direct_delay_ns_sum[0] = 5 * 16_000
    e.flow_overhead_bytes[0] = 5 * 40
    e.flow_overhead_byte_hops[0] = 2 * 80
    e.flow_anchor[0] = POA_B
    e.flow_moves[0] = 1
    e.anchor_packets[POA_A] = 3
    e.anchor_bytes[POA_A] = 3000
    e.anchor_packets[POA_B] = 2
    e.anchor_bytes[POA_B] = 2000
    e.stretch_hist[3, 3] = 3
    e.stretch_hist[5, 3] = 2
    assert_counters(got, in_one_bin(e))


def test_local_flow_without_continuity_follows_mn_without_signaling(engine) -> None:
    policy = dmm_policy(flow_classes=connection_manager_classes(0))
    flows = [
        (7, 0, CN, 10 * MS, 100 * MS, False),  # no continuity -> local address
        (8, 0, CN, 10 * MS, 100 * MS, True),  # continuity -> address @A, registered at B
    ]
    packets = [(10 * MS, 7, 1000, 1), (10 * MS, 8, 1000, 1), (60 * MS, 7, 1000, 1)]
    replay = make_replay(1, DMM_MOVES, flows, packets)
    got = run(engine, policy, replay, packets)

    e = zeros(replay)
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3 * MS, 0, 0, 0)
    # Only flow 8's address @A registers at the handover (h = H[B][A] = 2, RTT 4 µs); the
    # local flow holds no address and causes no signaling.
    register_at_b(e)
    e.anchor_peak_bindings[POA_A] = 1
    e.anchor_binding_ns[POA_A] = 50 * MS  # 50 ms (handover) .. 100 ms (flow 8 ends)
    # Flow 7's packet at 60 ms finds serving[B] = B, not the A of its last packet: it is
    # renumbered (§7.3) and resumes at until + 2 * D[CN][B] = 53.004 + 0.032 ms, before 60 ms.
    e.flow_renumbered[0] = 1
    set_events(e, [(60 * MS, EVENT_FLOW_RENUMBERED, 0, 0, POA_B)])
    # Flow 7: local; reported anchor = serving[A] at binding. At 10 ms: a = serving[A] = A,
    # (A -> A, 40): hops 3, 16 µs, overhead 40, byte-hops 0. At 60 ms (after the 53.004 ms
    # window) at B: a = serving[B] = B: hops 3, 16 µs, overhead 40. Never broken.
    e.flow_packets[0] = 2
    e.flow_bytes[0] = 2000
    e.flow_hops_sum[0] = 6
    e.flow_direct_hops_sum[0] = 6
    e.flow_delay_ns_sum[0] = 32_000
    e.flow_direct_delay_ns_sum[0] = 32_000
    e.flow_overhead_bytes[0] = 80
    e.flow_anchor[0] = POA_A
    e.flow_moves[0] = 1
    # Flow 8: one native packet at A.
    e.flow_packets[1] = 1
    e.flow_bytes[1] = 1000
    e.flow_hops_sum[1] = 3
    e.flow_direct_hops_sum[1] = 3
    e.flow_delay_ns_sum[1] = 16_000
    e.flow_direct_delay_ns_sum[1] = 16_000
    e.flow_overhead_bytes[1] = 40
    e.flow_anchor[1] = POA_A
    e.flow_moves[1] = 1
    e.anchor_packets[POA_A] = 2
    e.anchor_bytes[POA_A] = 2000
    e.anchor_packets[POA_B] = 1
    e.anchor_bytes[POA_B] = 1000
    e.stretch_hist[3, 3] = 3
    # A local flow creates no address of the MN's list: only flow 8's @A. The PBU/PBA pair at
    # the handover: B as the PoA, A as the anchor.
    e.anchor_addresses[POA_A] = 1
    set_roles(e, {(ROLE_POA, POA_B): 2, (ROLE_ANCHOR, POA_A): 2})
    assert_counters(got, in_one_bin(e))


def test_detach_loses_packets_and_noop_changes_nothing(engine) -> None:
    policy = central_policy()
    moves = [
        (0, 0, POA_A),  # row 0: attach at A
        (30 * MS, 0, -1),  # row 1: detach
        (40 * MS, 0, POA_B),  # row 2: attach again, at B (an attach, not a handover)
        (41 * MS, 0, POA_B),  # row 3: same PoA -> NOOP (must not restart the window)
    ]
    packets = [(10 * MS, 7, 1000, 1), (35 * MS, 7, 1000, 1), (40 * MS, 7, 1000, 1),
               (44 * MS, 7, 1000, 1)]
    replay = make_replay(1, moves, [(7, 0, CN, 10 * MS, 60 * MS, True)], packets)
    got = run(engine, policy, replay, packets)

    e = zeros(replay)
    # Attach at A: home address @HA registered (h = 4), window until 3.016 ms.
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3_016_000, 16_000, 2, 136)
    # Detach at 30 ms: the binding (0..30 ms) closes; the address stays in the list (§5.3).
    set_row(e, 1, HO_DETACH, POA_A, -1)
    # Attach at B at 40 ms: register the home address again (h = H[B][HA] + 1 = 4); window
    # until 43.016 ms. moves stays 0 (attach).
    set_row(e, 2, HO_ATTACH, -1, POA_B, 3_016_000, 16_000, 2, 136, lost=1)
    set_row(e, 3, HO_NOOP, -1, -1)
    e.sig_msgs[CAUSE_ATTACH] = [2, 2]
    e.sig_bytes[CAUSE_ATTACH] = [160, 112]
    e.sig_byte_hops[CAUSE_ATTACH] = [160 * 4, 112 * 4]
    e.anchor_sig_msgs[HA] = 4
    e.anchor_sig_bytes[HA] = 272
    e.anchor_peak_bindings[HA] = 1
    e.anchor_binding_ns[HA] = 30 * MS + 20 * MS  # 0..30 ms, then 40 ms..t_end = 60 ms
    # Packets: 10 ms delivered at A (hops 2 + 3 = 5, 12 + 8 = 20 µs, 40 B, 40*3 byte-hops);
    # 35 ms lost: detached (§7.1, no window row); 40 ms lost in row 2's window;
    # 44 ms delivered at B (HA -> B: hops 5, 20 µs, 40 B, 120 byte-hops; direct 3, 16 µs).
    e.flow_packets[0] = 4
    e.flow_bytes[0] = 4000
    e.flow_lost[0] = 2
    e.flow_hops_sum[0] = 10
    e.flow_direct_hops_sum[0] = 6
    e.flow_delay_ns_sum[0] = 40_000
    e.flow_direct_delay_ns_sum[0] = 32_000
    e.flow_overhead_bytes[0] = 80
    e.flow_overhead_byte_hops[0] = 240
    e.flow_anchor[0] = HA
    e.anchor_packets[HA] = 2
    e.anchor_bytes[HA] = 2000
    e.stretch_hist[5, 3] = 2
    e.anchor_addresses[HA] = 1  # the home address, kept through the detach
    set_roles(e, {(ROLE_MN, MNS): 4, (ROLE_ANCHOR, HA): 4})
    assert_counters(got, in_one_bin(e))


def test_home_anchor_chosen_at_attach(engine) -> None:
    """AT_ATTACH (distributed LMAs): home = serving[PoA] at each attach, kept on handover."""
    policy = central_policy(
        select=SELECT_AT_ATTACH, central=-1, serving=[-1, -1, -1, HA, AGG, -1],
        legs=program_table(request_reply_program(ROLE_POA, (80, 56)), 2),
    )
    moves = [
        (0, 0, POA_B),  # row 0: attach at B -> home = serving[B] = AGG
        (10 * MS, 0, POA_A),  # row 1: handover to A, home stays AGG
        (20 * MS, 0, -1),  # row 2: detach
        (30 * MS, 0, POA_A),  # row 3: attach at A -> home = serving[A] = HA
        (40 * MS, 0, POA_A),  # row 4: NOOP (sets t_end = 40 ms)
    ]
    replay = make_replay(1, moves, [])
    got = run(engine, policy, replay, [])

    e = zeros(replay)
    # Row 0: address @AGG appended and registered at B: h = H[B][AGG] = 1, RTT 2 * 1 µs.
    set_row(e, 0, HO_ATTACH, -1, POA_B, 3_002_000, 2_000, 2, 136)
    # Row 1: close (0..10 ms), register again at A: h = H[A][AGG] = 1, RTT 2 µs.
    set_row(e, 1, HO_HANDOVER, POA_B, POA_A, 3_002_000, 2_000, 2, 136)
    # Row 2: close (10..20 ms).
    set_row(e, 2, HO_DETACH, POA_A, -1)
    # Row 3: home = HA; no live address @HA -> appended (§5.7); the old address @AGG is no
    # longer pinned and leaves (§5.8); register @HA at A: h = H[A][HA] = 3, RTT 16 µs.
    set_row(e, 3, HO_ATTACH, -1, POA_A, 3_016_000, 16_000, 2, 136)
    set_row(e, 4, HO_NOOP, -1, -1)
    e.sig_msgs[CAUSE_ATTACH] = [2, 2]
    e.sig_bytes[CAUSE_ATTACH] = [160, 112]
    e.sig_byte_hops[CAUSE_ATTACH] = [80 * 1 + 80 * 3, 56 * 1 + 56 * 3]
    e.sig_msgs[CAUSE_HANDOVER] = [1, 1]
    e.sig_bytes[CAUSE_HANDOVER] = [80, 56]
    e.sig_byte_hops[CAUSE_HANDOVER] = [80, 56]
    e.anchor_sig_msgs[AGG] = 4
    e.anchor_sig_bytes[AGG] = 272
    e.anchor_peak_bindings[AGG] = 1
    e.anchor_binding_ns[AGG] = 20 * MS
    e.anchor_sig_msgs[HA] = 2
    e.anchor_sig_bytes[HA] = 136
    e.anchor_peak_bindings[HA] = 1
    e.anchor_binding_ns[HA] = 10 * MS  # 30 ms .. t_end = 40 ms (§8)
    # The MAG end of each pair counts it too: B at row 0, A at rows 1 and 3.
    e.anchor_sig_msgs[POA_B], e.anchor_sig_msgs[POA_A] = 2, 4
    e.anchor_sig_bytes[POA_B], e.anchor_sig_bytes[POA_A] = 136, 272
    # Addresses @AGG (row 0) and @HA (row 3). Roles: B as PoA at row 0, A at rows 1 and 3;
    # AGG as the anchor at rows 0 and 1, HA at row 3.
    e.anchor_addresses[AGG] = 1
    e.anchor_addresses[HA] = 1
    set_roles(e, {(ROLE_POA, POA_B): 2, (ROLE_POA, POA_A): 4, (ROLE_ANCHOR, AGG): 4,
                  (ROLE_ANCHOR, HA): 2})
    assert_counters(got, in_one_bin(e))


def test_flow_registration_and_release(engine) -> None:
    """Central anchor without a home registration: each flow's address registers (FLOW) and
    is released at the flow's end; the next flow registers a new one."""
    policy = central_policy(always_registered=False)
    flows = [(7, 0, CN, 10 * MS, 20 * MS, True), (9, 0, CN, 30 * MS, 40 * MS, True)]
    # The packet at 20 ms comes before flow 7's end at 20 ms (§2), so its address is still live.
    packets = [(10 * MS, 7, 1000, 1), (20 * MS, 7, 500, 0), (30 * MS, 9, 1000, 1)]
    replay = make_replay(1, [(0, 0, POA_A)], flows, packets)
    got = run(engine, policy, replay, packets)

    e = zeros(replay)
    # Attach: home = HA but not always_registered -> no address, signaling 0.
    set_row(e, 0, HO_ATTACH, -1, POA_A, 3 * MS, 0, 0, 0)
    # 10 ms: new address @HA, register(x, A, 10 ms, FLOW): h = 3 + 1 = 4; packets delivered
    # (hops 5, 20 µs, 40 B, 120 byte-hops each). 20 ms: flow 7 ends, refcount 0, not pinned ->
    # closed (10 ms) and released. Same for flow 9 over 30..40 ms (one packet).
    e.sig_msgs[CAUSE_FLOW] = [2, 2]
    e.sig_bytes[CAUSE_FLOW] = [160, 112]
    e.sig_byte_hops[CAUSE_FLOW] = [160 * 4, 112 * 4]
    e.anchor_sig_msgs[HA] = 4
    e.anchor_sig_bytes[HA] = 272
    e.anchor_peak_bindings[HA] = 1
    e.anchor_binding_ns[HA] = 20 * MS
    for f, n, nbytes in ((0, 2, 1500), (1, 1, 1000)):
        e.flow_packets[f] = n
        e.flow_bytes[f] = nbytes
        e.flow_hops_sum[f] = 5 * n
        e.flow_direct_hops_sum[f] = 3 * n
        e.flow_delay_ns_sum[f] = 20_000 * n
        e.flow_direct_delay_ns_sum[f] = 16_000 * n
        e.flow_overhead_bytes[f] = 40 * n
        e.flow_overhead_byte_hops[f] = 120 * n
        e.flow_anchor[f] = HA
    e.anchor_packets[HA] = 3
    e.anchor_bytes[HA] = 2500
    e.stretch_hist[5, 3] = 3
    e.anchor_addresses[HA] = 2  # one per flow: flow 7's is released before flow 9 binds
    set_roles(e, {(ROLE_MN, MNS): 4, (ROLE_ANCHOR, HA): 4})
    assert_counters(got, in_one_bin(e))


# ---------------------------------------------------------------------------- row checks

ERR_FLOWS = [(7, 0, CN, 10 * MS, 20 * MS, True), (9, 0, CN, 10 * MS, 30 * MS, True)]


@pytest.mark.parametrize(
    ("rows", "column", "bad_index", "value"),
    [
        # (rows of one batch starting at file row 100, column, index of the bad row, value)
        ([(10 * MS, 7, 100, 1), (11 * MS, 8, 100, 1)], "flow", 1, 8),
        ([(12 * MS, 7, 100, 1), (11 * MS, 9, 100, 1)], "t", 1, 11 * MS),  # decreasing
        ([(9 * MS, 7, 100, 1)], "t", 0, 9 * MS),  # before the flow's start
        ([(10 * MS, 7, 100, 1), (21 * MS, 7, 100, 1)], "t", 1, 21 * MS),  # after its end
        ([(10 * MS, 7, 100, 2)], "dir", 0, 2),
        ([(10 * MS, 7, 20, 1), (10 * MS, 7, 19, 0)], "size", 1, 19),
        # several problems in one row: the first check of §7 wins
        ([(10 * MS, 8, 19, 2)], "flow", 0, 8),
        ([(25 * MS, 7, 19, 2)], "t", 0, 25 * MS),
        ([(10 * MS, 7, 19, 2)], "dir", 0, 2),
    ],
)
def test_bad_packet_row_raises(engine, rows, column, bad_index, value) -> None:
    replay = make_replay(1, [(0, 0, POA_A)], ERR_FLOWS, rows)
    e = engine(central_policy(), replay)
    with pytest.raises(PacketRowError) as info:
        e.feed(make_batch(rows, first_row=100))
    assert (info.value.column, info.value.row, info.value.value) == (column, 100 + bad_index, value)


def test_decreasing_time_across_batches_raises(engine) -> None:
    rows = [(12 * MS, 7, 100, 1), (11 * MS, 9, 100, 1)]
    replay = make_replay(1, [(0, 0, POA_A)], ERR_FLOWS, rows)
    e = engine(central_policy(), replay)
    e.feed(make_batch(rows[:1], first_row=0))
    with pytest.raises(PacketRowError) as info:
        e.feed(make_batch(rows[1:], first_row=1))
    assert (info.value.column, info.value.row) == ("t", 1)


# ---------------------------------------------------------------------------- batching


@pytest.mark.parametrize("buffering", [False, True])
def test_batches_equal_one_batch(engine, buffering) -> None:
    """Any cut of the packet stream into batches (including empty ones) gives the same run."""
    policy = dmm_policy(buffering=buffering)
    replay = make_replay(1, DMM_MOVES, DMM_FLOWS, DMM_PACKETS)
    whole = run(engine, policy, replay, DMM_PACKETS)
    n = len(DMM_PACKETS)
    for cuts in ([1], [2, 3], list(range(1, n)), [0, 2, 2, n]):
        assert whole.differences(run(engine, policy, replay, DMM_PACKETS, cuts)) == []
