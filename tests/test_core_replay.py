"""Hand-checked cases for the compiled replay core (docs/semantics.md).

Topologies are lines ``0 - 1 - 2 - ...`` with 1 us links, so ``H[u][v] = |u - v|`` and
``D[u][v] = 1000 * |u - v|`` ns; node 0 is always the correspondent node (peer).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from dmmemu._core.replay import Replay
from dmmemu.engine.policy import (
    SELECT_AT_ATTACH,
    SELECT_CENTRAL,
    SELECT_PER_FLOW,
    PolicyTables,
    interruption_table,
    native_at_serving,
)
from dmmemu.engine.replay_io import (
    CAUSE_ATTACH,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_REFRESH,
    DEFAULT_TIMELINE_BIN_NS,
    EV_FLOW_END,
    EV_FLOW_START,
    EV_MOVE,
    HO_ATTACH,
    HO_DETACH,
    HO_HANDOVER,
    HO_NOOP,
    PacketBatch,
    RawCounters,
    ReplayInput,
)
from dmmemu.engine.signaling import (
    CAUSE_NAMES,
    ROLE_MN,
    ROLE_POA,
    MessageKind,
    program_table,
    request_reply_program,
)
from dmmemu.errors import PacketRowError
from dmmemu.practices.dmm import connection_manager_classes


def line(n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n)
    hops = np.abs(idx[:, None] - idx[None, :]).astype(np.uint16)
    return hops, hops.astype(np.int64) * 1000


KINDS = (MessageKind("request", "request"), MessageKind("reply", "reply", reply=True))


def request_reply(sender: int, sizes: tuple[int, int]) -> dict:
    """PolicyTables fields of one request/reply pair from ``sender`` to the anchor."""
    return {"message_kinds": KINDS, "legs": program_table(request_reply_program(sender, sizes), 2)}


# Anchors 2 and 3 are the first-hop routers of PoAs 2 and 3 (DMM-like).
NATIVE_2_3 = native_at_serving(np.array([-1, -1, 2, 3], np.int32))


def policy(n: int, **kw) -> PolicyTables:
    base = {
        "select": SELECT_CENTRAL, "central": -1,
        "serving": np.full(n, -1, np.int32), "chain": np.full((1, n), -1, np.int32),
        "segment_bytes": np.array([40, 0], np.int32), "scope": np.ones((n, n), np.uint8),
        "always_registered": False, "buffering": False,
        **request_reply(ROLE_POA, (56, 40)),
        "lifetime_ns": 0, "first_ack_hold_ns": 0,
        "interruption_ns": interruption_table(l2_attach=500, movement_detection=300),
    }
    base.setdefault("native", np.zeros((n, n), np.uint8))
    base.update(kw)
    base["serving"] = np.asarray(base["serving"], np.int32)
    base["chain"] = np.asarray(base["chain"], np.int32).reshape(-1, n)
    base["segment_bytes"] = np.asarray(base["segment_bytes"], np.int32)
    base["scope"] = np.ascontiguousarray(base["scope"], np.uint8)
    return PolicyTables(**base)


def trace(n: int, n_mns: int, flows: list[tuple], moves: list[tuple], flow_ids=None) -> ReplayInput:
    """flows: (mn, peer, start, end, continuity); moves: (t, mn, poa) with row = list index."""
    hops, delay = line(n)
    events = [(t, EV_MOVE, m, p, r) for r, (t, m, p) in enumerate(moves)]
    for f, (_, _, start, end, _) in enumerate(flows):
        events += [(start, EV_FLOW_START, f, 0, f), (end, EV_FLOW_END, f, 0, f)]
    events.sort(key=lambda e: (e[0], e[1], e[4]))
    ev = np.array(events, np.int64).reshape(-1, 5)

    def col(i: int) -> np.ndarray:
        return np.array([fl[i] for fl in flows], np.int64)

    ids = np.arange(len(flows), dtype=np.uint64) if flow_ids is None else np.asarray(flow_ids, np.uint64)
    times = [e[0] for e in events]
    return ReplayInput(
        n_mns=n_mns, hops=hops, delay_ns=delay, flow_ids=ids,
        flow_mn=col(0).astype(np.int32), flow_peer=col(1).astype(np.int32),
        flow_start=col(2), flow_end=col(3), flow_continuity=col(4).astype(np.uint8),
        ev_t=ev[:, 0].copy(), ev_kind=ev[:, 1].astype(np.int8), ev_a=ev[:, 2].astype(np.int32),
        ev_b=ev[:, 3].astype(np.int32), ev_row=ev[:, 4].copy(),
        n_mobility_rows=len(moves), t_begin=min(times), t_end=max(times),
    )


def batch(rows: list[tuple], first_row: int = 0) -> PacketBatch:
    """rows: (t, flow id, size, dir)."""
    a = np.array(rows, np.int64).reshape(-1, 4)
    return PacketBatch(
        t=a[:, 0].copy(), flow=a[:, 1].astype(np.uint64), size=a[:, 2].astype(np.uint16),
        dir=a[:, 3].astype(np.uint8), first_row=first_row,
    )


def run(pol: PolicyTables, rin: ReplayInput, rows: list[tuple], cuts=(),
        timeline_bin_ns: int = DEFAULT_TIMELINE_BIN_NS) -> RawCounters:
    engine = Replay(pol, rin, timeline_bin_ns=timeline_bin_ns)
    bounds = [0, *cuts, len(rows)]
    for lo, hi in itertools.pairwise(bounds):
        engine.feed(batch(rows[lo:hi], first_row=lo))
    return engine.finish()


# --- central anchor (MIPv6-like) on 0 cn - 1 HA - 2 PoA - 3 PoA -----------------------------

CENTRAL_ROWS = [(100, 0, 1000, 1), (900, 0, 1000, 0), (2000, 0, 1000, 1), (5000, 0, 1000, 0),
                (5500, 0, 1000, 1), (7000, 0, 1000, 0), (10000, 0, 1000, 1)]


def central_case():
    pol = policy(4, central=1, serving=[-1, 1, 1, 1])
    rin = trace(4, 1, flows=[(0, 0, 100, 10000, 1)], moves=[(0, 0, 2), (5000, 0, 3)])
    return pol, rin


def test_central_anchor_handover():
    c = run(*central_case(), CENTRAL_ROWS)
    # Attach at 2: nothing registered yet, interruption = l2 + detect.
    assert list(c.ho_kind) == [HO_ATTACH, HO_HANDOVER]
    assert list(c.ho_from) == [-1, 2] and list(c.ho_to) == [2, 3]
    # Handover: the flow's address at 1 re-registers from 3 (rtt 2 * 2 us).
    assert list(c.ho_signaling_ns) == [0, 4000]
    assert list(c.ho_interruption_ns) == [800, 4800]
    assert list(c.ho_msgs) == [0, 2] and list(c.ho_bytes) == [0, 96]
    # t=100 is inside the attach window; 5000, 5500, 7000 inside [5000, 9800).
    assert list(c.ho_lost) == [1, 3]
    assert c.flow_packets[0] == 7 and c.flow_bytes[0] == 7000 and c.flow_lost[0] == 4
    # Delivered: 900 and 2000 at PoA 2 (2 hops, overhead 40 over 1 hop), 10000 at 3 (3 hops).
    assert c.flow_hops_sum[0] == 2 + 2 + 3 and c.flow_direct_hops_sum[0] == 7
    assert c.flow_delay_ns_sum[0] == 7000 and c.flow_direct_delay_ns_sum[0] == 7000
    assert c.flow_overhead_bytes[0] == 120 and c.flow_overhead_byte_hops[0] == 40 + 40 + 80
    assert c.flow_anchor[0] == 1 and c.flow_broken[0] == 0 and c.flow_moves[0] == 1
    assert c.stretch_hist[2, 2] == 2 and c.stretch_hist[3, 3] == 1 and c.stretch_hist.sum() == 3
    # Signaling: FLOW registration from 2 (1 hop), HANDOVER registration from 3 (2 hops).
    assert c.sig_msgs[CAUSE_FLOW].tolist() == [1, 1]
    assert c.sig_bytes[CAUSE_FLOW].tolist() == [56, 40]
    assert c.sig_byte_hops[CAUSE_FLOW].tolist() == [56, 40]
    assert c.sig_byte_hops[CAUSE_HANDOVER].tolist() == [112, 80]
    assert c.sig_msgs[CAUSE_ATTACH].tolist() == [0, 0] and c.sig_msgs[CAUSE_REFRESH].tolist() == [0, 0]
    assert c.anchor_packets.tolist() == [0, 3, 0, 0] and c.anchor_bytes[1] == 3000
    # Each message counts at both its ends (§4): the anchor, and the PoA that sent it.
    assert c.anchor_sig_msgs.tolist() == [0, 4, 2, 2] and c.anchor_sig_bytes[1] == 192
    # Bound 100..5000 and 5000..10000 (closed at the flow end).
    assert c.anchor_binding_ns.tolist() == [0, 9900, 0, 0]
    assert c.anchor_peak_bindings.tolist() == [0, 1, 0, 0]


def test_mn_signals_and_refresh():
    pol = policy(4, central=1, serving=[-1, 1, 1, 1], **request_reply(ROLE_MN, (56, 40)),
                 lifetime_ns=1000)
    rin = trace(4, 1, flows=[(0, 0, 100, 10000, 1)], moves=[(0, 0, 2), (5000, 0, 3)])
    c = run(pol, rin, CENTRAL_ROWS)
    # One more hop on every registration byte*hops.
    assert c.sig_byte_hops[CAUSE_FLOW].tolist() == [56 * 2, 40 * 2]
    assert c.sig_byte_hops[CAUSE_HANDOVER].tolist() == [56 * 3, 40 * 3]
    # Held 4900 ns from 2 -> (4899 // 1000) = 4 refreshes; 5000 ns from 3 -> 4 refreshes.
    assert c.sig_msgs[CAUSE_REFRESH].tolist() == [8, 8]
    assert c.sig_byte_hops[CAUSE_REFRESH].tolist() == [4 * 56 * 2 + 4 * 56 * 3, 4 * 40 * 2 + 4 * 40 * 3]
    assert c.anchor_sig_msgs[1] == 4 + 16


def test_always_registered_home_stays_bound_to_the_end():
    pol = policy(4, central=1, serving=[-1, 1, 1, 1], always_registered=True)
    c = run(pol, central_case()[1], CENTRAL_ROWS)
    # The home address registers at the attach (rtt 2 us), and the flow reuses it.
    assert list(c.ho_signaling_ns) == [2000, 4000] and list(c.ho_interruption_ns) == [2800, 4800]
    assert c.sig_msgs[:, 0].tolist() == [1, 1] + [0] * (len(CAUSE_NAMES) - 2)
    assert list(c.ho_lost) == [3, 3] and c.flow_lost[0] == 6 and c.flow_hops_sum[0] == 3
    # Pinned after the flow ends: bound 0..5000, then 5000..t_end = 10000.
    assert c.anchor_binding_ns[1] == 10000 and c.anchor_peak_bindings[1] == 1


# --- per-flow anchors at the PoAs (DMM-like) on 0 cn - 1 - 2 MAAR - 3 MAAR ---------------------

DMM_ROWS = [(1000, 0, 100, 1), (3000, 0, 100, 0), (3600, 0, 100, 1), (6000, 0, 100, 0),
            (7000, 1, 200, 1), (8000, 1, 200, 0)]


def dmm_case():
    pol = policy(4, select=SELECT_PER_FLOW, serving=[-1, -1, 2, 3], native=NATIVE_2_3,
                 buffering=True, lifetime_ns=1000)
    rin = trace(4, 1, flows=[(0, 0, 1000, 6000, 1), (0, 0, 7000, 8000, 0)],
                moves=[(0, 0, 2), (3500, 0, 3), (3600, 0, 3)])
    return pol, rin


def test_dmm_native_buffering_refresh():
    c = run(*dmm_case(), DMM_ROWS)
    assert list(c.ho_kind) == [HO_ATTACH, HO_HANDOVER, HO_NOOP]
    assert list(c.ho_interruption_ns) == [800, 2800, 0]
    assert list(c.ho_signaling_ns) == [0, 2000, 0]
    assert list(c.ho_delayed) == [0, 2, 0] and c.ho_lost.sum() == 0
    # Flow 0: native at 2 (0-hop segment, still the 40 bytes of segment_bytes[0]), then tunnelled 2 -> 3.
    assert c.flow_packets.tolist() == [4, 2] and c.flow_bytes.tolist() == [400, 400]
    assert c.flow_delayed.tolist() == [2, 0] and c.flow_lost.tolist() == [0, 0]
    assert c.flow_hops_sum.tolist() == [2 + 2 + 3 + 3, 3 + 3]
    assert c.flow_direct_hops_sum.tolist() == [10, 6]
    # Waits: 6300 - 3600 and 6300 - 6000.
    assert c.flow_delay_ns_sum.tolist() == [2000 + 2000 + 5700 + 3300, 6000]
    assert c.flow_direct_delay_ns_sum.tolist() == [10000, 6000]
    assert c.flow_overhead_bytes.tolist() == [160, 80]
    assert c.flow_overhead_byte_hops.tolist() == [80, 0]
    assert c.flow_anchor.tolist() == [2, 3] and c.flow_moves.tolist() == [1, 0]
    assert c.anchor_packets.tolist() == [0, 0, 4, 2] and c.anchor_bytes.tolist() == [0, 0, 400, 400]
    # Only the handover registers (from 3 to 2, 1 hop); held 3500..6000 -> 2 refreshes.
    assert c.sig_msgs[:, 0].tolist() == [0, 1, 0, 2] + [0] * (len(CAUSE_NAMES) - 4)
    assert c.sig_byte_hops[CAUSE_REFRESH].tolist() == [112, 80]
    # Anchor 2 and the PoA 3 that signals to it count every message (§4).
    assert c.anchor_sig_msgs.tolist() == [0, 0, 6, 6] and c.anchor_sig_bytes[2] == 288
    assert c.anchor_binding_ns.tolist() == [0, 0, 2500, 0]
    assert c.anchor_peak_bindings.tolist() == [0, 0, 1, 0]
    assert c.stretch_hist[2, 2] == 2 and c.stretch_hist[3, 3] == 4


def test_dmm_timeline_in_one_us_bins():
    """§11 on the run above with 1 us bins: a flow's run is cut at every bin it delivers in,
    the handover's binding and its refreshes spread over later bins."""
    c = run(*dmm_case(), DMM_ROWS, timeline_bin_ns=1000)
    # t_begin = 0, t_end = 8000: 9 bins of [1000 i, 1000 i + 1000). Flow 0 delivers through
    # anchor 2 at 1000, 3000 (same path, later bin), 3600 (buffered, path 2 -> 3) and 6000
    # (buffered until 6300, counted in bin 6); flow 1 natively through 3 at 7000 and 8000.
    assert c.timeline_packets.shape == (9, 4)
    assert c.timeline_packets[:, 2].tolist() == [0, 1, 0, 2, 0, 0, 1, 0, 0]
    assert c.timeline_packets[:, 3].tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert c.timeline_bytes[:, 2].tolist() == [0, 100, 0, 200, 0, 0, 100, 0, 0]
    assert c.timeline_bytes[:, 3].tolist() == [0, 0, 0, 0, 0, 0, 0, 200, 200]
    # Registration at 3500 (bin 3); held to 6000: refreshes at 4500 and 5500 (bins 4, 5).
    assert c.timeline_sig_msgs[:, 2].tolist() == [0, 0, 0, 2, 2, 2, 0, 0, 0]
    assert c.timeline_sig_msgs[:, 3].tolist() == c.timeline_sig_msgs[:, 2].tolist()  # the sender
    # Bound [3500, 6000): 500 ns of bin 3, all of bins 4 and 5, none of bin 6.
    assert c.timeline_binding_ns[:, 2].tolist() == [0, 0, 0, 500, 1000, 1000, 0, 0, 0]
    # Nodes 0 and 1 anchor nothing; anchor 3 never holds a binding.
    assert not c.timeline_packets[:, :2].any() and not c.timeline_bytes[:, :2].any()
    assert not c.timeline_sig_msgs[:, [0, 1]].any()
    assert not c.timeline_binding_ns[:, [0, 1, 3]].any()
    # Cutting the packets into batches anywhere does not move a packet to another bin.
    for cuts in [(1,), (2, 3), (1, 2, 3, 4, 5)]:
        assert run(*dmm_case(), DMM_ROWS, cuts=cuts, timeline_bin_ns=1000).differences(c) == []


def test_timeline_refreshes_many_per_bin_and_binding_over_many_bins():
    """Central anchor, lifetime 1 us, bins of 2.5 us: the 4 and 4 refreshes of the two
    registrations and the 9900 ns of binding time fall into 5 bins."""
    pol = policy(4, central=1, serving=[-1, 1, 1, 1], lifetime_ns=1000)
    c = run(pol, central_case()[1], CENTRAL_ROWS, timeline_bin_ns=2500)
    # t_begin = 0, t_end = 10000: bins [0, 2500), [2500, 5000), ..., [10000, 12500).
    # FLOW registration at 100 (bin 0), refreshes at 1100, 2100 (bin 0), 3100, 4100 (bin 1);
    # HANDOVER registration at 5000 (bin 2), refreshes at 6000, 7000 (bin 2), 8000, 9000
    # (bin 3); the close at 10000 (t_end) adds no message to bin 4.
    assert c.timeline_sig_msgs[:, 1].tolist() == [2 * 3, 2 * 2, 2 * 3, 2 * 2, 0]
    # Bound [100, 5000) and [5000, 10000).
    assert c.timeline_binding_ns[:, 1].tolist() == [2400, 2500, 2500, 2500, 0]
    # Delivered at 900, 2000 (bin 0) and 10000 (bin 4, the bin of t_end).
    assert c.timeline_packets[:, 1].tolist() == [2, 0, 0, 0, 1]
    assert c.timeline_sig_msgs.sum(axis=0).tolist() == c.anchor_sig_msgs.tolist()


def test_timeline_event_handled_for_a_later_packet_keeps_its_own_bin():
    """The handover at 5000 is handled when the packet at 6000 arrives (§2): its registration
    counts in bin 5, the packet in bin 6 (bins of 1 us)."""
    rows = [(100, 0, 1000, 1), (900, 0, 1000, 0), (2000, 0, 1000, 1), (6000, 0, 1000, 1),
            (10000, 0, 1000, 1)]
    c = run(*central_case(), rows, timeline_bin_ns=1000)
    # FLOW registration at 100 (bin 0), HANDOVER registration at 5000 (bin 5).
    assert c.timeline_sig_msgs[:, 1].tolist() == [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]
    # Bound [100, 5000) and [5000, 10000); bin 10 starts at t_end.
    assert c.timeline_binding_ns[:, 1].tolist() == [900] + [1000] * 9 + [0]
    # 100 and 6000 are lost in the attach and handover windows; 900, 2000, 10000 delivered.
    assert c.timeline_packets[:, 1].tolist() == [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]


def test_local_flows_follow_the_mn_and_home_is_chosen_at_attach():
    pol = policy(4, select=SELECT_AT_ATTACH, serving=[-1, -1, 2, 3], native=NATIVE_2_3,
                 flow_classes=connection_manager_classes(0))
    rin = trace(4, 1, flows=[(0, 0, 100, 10000, 0), (0, 0, 100, 10000, 1)],
                moves=[(0, 0, 2), (5000, 0, 3)])
    rows = [(1000, 0, 100, 1), (1000, 1, 100, 1), (8000, 0, 100, 1), (8000, 1, 100, 1)]
    c = run(pol, rin, rows)
    # Flow 0 (no continuity) uses the local address: anchor 2, then 3, never tunnelled far.
    # At 8000 it finds serving[3] = 3, not 2: renumbered (§7.3), it resumes one round trip
    # to the peer after the window: 5000 + 2800 + 2 * D[0][3] = 13800, so 8000 is lost.
    # Flow 1 binds the home address at 2 (native there, no signaling), tunnelled 2 -> 3 later.
    assert c.flow_anchor.tolist() == [2, 2]
    assert c.flow_renumbered.tolist() == [1, 0] and c.flow_lost.tolist() == [1, 0]
    assert list(c.ho_lost) == [0, 1]
    assert c.flow_hops_sum.tolist() == [2, 2 + 3]
    assert c.flow_overhead_bytes.tolist() == [40, 80]
    assert c.flow_overhead_byte_hops.tolist() == [0, 40]
    assert c.anchor_packets.tolist() == [0, 0, 3, 0]
    assert c.sig_msgs[:, 0].tolist() == [0, 1] + [0] * (len(CAUSE_NAMES) - 2)
    assert list(c.ho_interruption_ns) == [800, 2800]
    assert c.anchor_binding_ns.tolist() == [0, 0, 5000, 0]
    assert c.flow_broken.tolist() == [0, 0] and c.flow_moves.tolist() == [1, 1]


# --- two-segment chain and an address that dies out of scope -----------------------------------

def test_chain_scope_death_and_detach():
    # 0 cn - 1 HA - 2 MAP - 3 PoA - 4 PoA; the HA's addresses cannot follow the MN to 4.
    scope = np.ones((5, 5), np.uint8)
    scope[1, 4] = 0
    pol = policy(5, central=1, serving=[-1, 1, 1, 1, 1], chain=[[-1, -1, -1, 2, 2]],
                 scope=scope, segment_bytes=[40, 20], interruption_ns=interruption_table())
    rin = trace(5, 1, flows=[(0, 0, 0, 400, 1), (0, 0, 300, 9000, 1)],
                moves=[(0, 0, 3), (100, 0, 4), (600, 0, -1), (700, 0, 4)])
    rows = [(10, 0, 500, 0), (200, 0, 500, 1), (300, 1, 500, 0), (650, 1, 500, 0),
            (800, 1, 500, 1), (9000, 1, 500, 0)]
    c = run(pol, rin, rows)
    assert list(c.ho_kind) == [HO_ATTACH, HO_HANDOVER, HO_DETACH, HO_ATTACH]
    # The handover kills the only address: nothing registers, no interruption. The
    # re-attach at 4 kills flow 1's address too (scope applies after a detach as well).
    assert list(c.ho_msgs) == [0, 0, 0, 0] and list(c.ho_interruption_ns) == [0, 0, 0, 0]
    # Flow 0: delivered at 3 (1 -> 2 -> 3: hops 3, overhead 40 + 20), then broken at 200.
    # Flow 1: delivered at 300 from 4 (1 -> 2 -> 4: hops 4), lost detached at 650, then
    # broken at 800 and 9000.
    assert c.flow_broken.tolist() == [1, 1]
    assert c.flow_lost.tolist() == [1, 3]
    assert c.ho_lost.tolist() == [0, 0, 0, 0]
    assert c.flow_hops_sum.tolist() == [3, 4]
    assert c.flow_overhead_bytes.tolist() == [60, 60]
    assert c.flow_overhead_byte_hops.tolist() == [60, 40 + 40]
    assert c.flow_direct_hops_sum.tolist() == [3, 4]
    # Flow 1 binds a new address at 1 from 4 (3 hops).
    assert c.sig_msgs[:, 0].tolist() == [0, 0, 2] + [0] * (len(CAUSE_NAMES) - 3)
    assert c.sig_byte_hops[CAUSE_FLOW, 0] == 56 * 2 + 56 * 3
    # Bound 10..100 and 300..600.
    assert c.anchor_binding_ns.tolist() == [0, 90 + 300, 0, 0, 0]
    assert c.flow_moves.tolist() == [1, 0]


# --- row errors, batches, flow ids -------------------------------------------------------------

@pytest.mark.parametrize(
    "bad, column, value",
    [
        ((2500, 7, 1000, 0), "flow", 7),  # unknown flow id
        ((1500, 0, 1000, 0), "t", 1500),  # time decreases
        ((2500, 1, 1000, 0), "t", 2500),  # after the end of flow 1
        ((2500, 0, 1000, 2), "dir", 2),
        ((2500, 0, 19, 0), "size", 19),
    ],
)
def test_bad_row(bad, column, value):
    pol = policy(4, central=1, serving=[-1, 1, 1, 1])
    rin = trace(4, 1, flows=[(0, 0, 100, 10000, 1), (0, 0, 100, 2400, 1)],
                moves=[(0, 0, 2), (5000, 0, 3)])
    rows = CENTRAL_ROWS[:3]
    engine = Replay(pol, rin)
    engine.feed(batch(rows[:2], first_row=0))
    with pytest.raises(PacketRowError) as info:
        engine.feed(batch([rows[2], bad, rows[2]], first_row=2))
    assert (info.value.column, info.value.row, info.value.value) == (column, 3, value)
    with pytest.raises(RuntimeError):
        engine.feed(batch([]))
    with pytest.raises(RuntimeError):
        engine.finish()


def test_check_order_unknown_flow_before_time():
    engine = Replay(*central_case())
    engine.feed(batch(CENTRAL_ROWS[:3]))
    with pytest.raises(PacketRowError) as info:
        engine.feed(batch([(0, 9, 1, 9)], first_row=40))
    assert (info.value.column, info.value.row) == ("flow", 40)


def test_time_decreases_across_batches():
    engine = Replay(*central_case())
    engine.feed(batch(CENTRAL_ROWS[:3]))
    with pytest.raises(PacketRowError) as info:
        engine.feed(batch([(1999, 0, 1000, 0)], first_row=3))
    assert (info.value.column, info.value.row, info.value.value) == ("t", 3, 1999)


def test_batches_and_sparse_ids_give_the_same_counters():
    pol, rin = central_case()
    whole = run(pol, rin, CENTRAL_ROWS)
    for cuts in [(1,), (3, 4), (0, 0, 7), (1, 2, 3, 4, 5, 6)]:
        assert run(pol, rin, CENTRAL_ROWS, cuts=cuts).differences(whole) == []
    sparse = trace(4, 1, flows=[(0, 0, 100, 10000, 1)], moves=[(0, 0, 2), (5000, 0, 3)],
                   flow_ids=[2**63 + 5])
    rows = [(t, 2**63 + 5, s, d) for t, _, s, d in CENTRAL_ROWS]
    a = np.array(rows, dtype=object)
    b = PacketBatch(t=a[:, 0].astype(np.int64), flow=a[:, 1].astype(np.uint64),
                    size=a[:, 2].astype(np.uint16), dir=a[:, 3].astype(np.uint8), first_row=0)
    engine = Replay(pol, sparse)
    engine.feed(b)
    assert engine.finish().differences(whole) == []


def test_events_after_the_last_packet_and_finish_once():
    pol, rin = central_case()
    engine = Replay(pol, rin)
    c = engine.finish()  # no packets: attach, flow start/end, handover all still happen
    assert list(c.ho_kind) == [HO_ATTACH, HO_HANDOVER]
    assert c.flow_packets.sum() == 0 and c.flow_anchor[0] == -1 and c.flow_moves[0] == 1
    with pytest.raises(RuntimeError):
        engine.finish()


def test_rejects_bad_inputs():
    pol, rin = central_case()
    with pytest.raises(ValueError):
        Replay(policy(5, central=1, serving=[-1, 1, 1, 1, 1]), rin)
    unsorted = dataclasses.replace(rin, ev_t=rin.ev_t[::-1].copy(), ev_kind=rin.ev_kind[::-1].copy(),
                                   ev_a=rin.ev_a[::-1].copy(), ev_b=rin.ev_b[::-1].copy(),
                                   ev_row=rin.ev_row[::-1].copy())
    with pytest.raises(ValueError, match="sorted"):
        Replay(pol, unsorted)
    no_end = dataclasses.replace(rin, flow_end=rin.flow_end - 1)  # end event no longer at the end
    with pytest.raises(ValueError, match="flow end"):
        Replay(pol, no_end)
    not_a_poa = policy(4, central=1, serving=[-1, 1, -1, 1])
    with pytest.raises(ValueError, match="PoA"):
        Replay(not_a_poa, rin)
    engine = Replay(pol, rin)
    with pytest.raises(ValueError):
        engine.feed(PacketBatch(t=np.zeros(1, np.int32), flow=np.zeros(1, np.uint64),
                                size=np.full(1, 100, np.uint16), dir=np.zeros(1, np.uint8),
                                first_row=0))
    engine.finish()
    with pytest.raises(RuntimeError):
        engine.feed(batch(CENTRAL_ROWS))


@pytest.mark.parametrize(
    "ids, unknown",
    [
        ([0, 5, 2**64 - 1], [1, 4, 6, 2**64 - 2]),
        ([1, 2, 3], [0, 4]),
        ([7, 2**40, 2**40 + 1], [0, 8, 2**40 - 1, 2**40 + 2]),
    ],
)
def test_sparse_id_lookup(ids, unknown):
    rin = trace(4, 1, flows=[(0, 0, 100, 10000, 1)] * 3, moves=[(0, 0, 2)], flow_ids=ids)
    pol = central_case()[0]

    def one_packet(flow_id: int, t: int) -> PacketBatch:
        return PacketBatch(t=np.array([t], np.int64), flow=np.array([flow_id], np.uint64),
                           size=np.array([100], np.uint16), dir=np.zeros(1, np.uint8),
                           first_row=t)

    engine = Replay(pol, rin)
    for k, flow_id in enumerate(ids):
        engine.feed(one_packet(flow_id, 1000 + k))
    assert engine.finish().flow_packets.tolist() == [1, 1, 1]
    for flow_id in unknown:
        with pytest.raises(PacketRowError) as info:
            Replay(pol, rin).feed(one_packet(flow_id, 1000))
        assert (info.value.column, info.value.row, info.value.value) == ("flow", 1000, flow_id)
