"""Hand-computed scenarios for anchor chains (K levels, access overrides, the direct path)
and flow classes (local, renumbered on loss), in both engines (docs/semantics.md §1, §7).

The six-node tree and its H/D matrices are those of ``test_scenarios``: CN - CORE - HA,
CORE - AGG, AGG - A, AGG - B (hops and µs in that module's tables).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_scenarios import (
    AGG,
    CN,
    CORE,
    HA,
    MS,
    POA_A,
    POA_B,
    _engines,
    central_policy,
    dmm_policy,
    make_replay,
    run,
)

from dmmemu.engine.flow_classes import FlowClass, class_table, classify, drawn_share
from dmmemu.engine.replay_io import EVENT_FLOW_RENUMBERED
from dmmemu.engine.signaling import (
    CAUSE_ATTACH,
    CAUSE_HANDOVER,
    FLAG_REGISTERED,
    LEG_FLAGS,
    ONCE,
    ROLE_ANCHOR,
    ROLE_LEVEL,
    ROLE_MN,
    ROLE_PREV_LEVEL,
    WHEN_LEVEL_CHANGED,
    Leg,
    check_program,
    program_table,
)
from dmmemu.errors import PracticeError
from dmmemu.practices.dmm import connection_manager_classes


@pytest.fixture(params=_engines())
def engine(request):
    return request.param


def test_three_level_chain_with_nested_bytes_and_a_nat_access(engine) -> None:
    """HA -> CORE (a MAP) -> AGG (an access gateway) -> A; B has no level-2 node.

    Segment bytes [40, 80, 36]: the HA's tunnel, the MAP's tunnel around it (nested: the
    practice writes the sum), the gateway's; A is behind a NAT (+8, a UDP header)."""
    access = np.zeros(6, np.int32)
    access[POA_A] = 8
    policy = central_policy(chain=[[-1, -1, -1, CORE, CORE, -1], [-1, -1, -1, AGG, -1, -1]],
                            segment_bytes=[40, 80, 36], access_bytes=access)
    packets = [(10 * MS, 7, 1000, 1), (10 * MS, 9, 1000, 1)]
    replay = make_replay(2, [(0, 0, POA_A), (0, 1, POA_B)],
                         [(7, 0, CN, 10 * MS, 20 * MS, True), (9, 1, CN, 10 * MS, 20 * MS, True)],
                         packets)
    got = run(engine, policy, replay, packets)
    # Flow 7 at A: CN->HA (2 hops, 12 µs), HA->CORE (1, 2 µs, 40 B), CORE->AGG (1, 5 µs,
    # 80 B), AGG->A (1, 1 µs, 36 + 8 B): 5 hops, 20 µs, 164 B, 40 + 80 + 44 = 164 byte-hops.
    # Flow 9 at B: CN->HA, HA->CORE (40 B), CORE->B (2 hops, 6 µs, 80 B, level 1's bytes):
    # 5 hops, 20 µs, 120 B, 40 + 160 = 200 byte-hops.
    assert got.flow_hops_sum.tolist() == [5, 5]
    assert got.flow_delay_ns_sum.tolist() == [20_000, 20_000]
    assert got.flow_overhead_bytes.tolist() == [164, 120]
    assert got.flow_overhead_byte_hops.tolist() == [164, 200]
    assert got.anchor_packets[HA] == 2
    # Two levels: paths join up to 2 + 2 = 4 shortest paths, so (4 * max H + 1) rows.
    assert got.stretch_hist.shape == (4 * 3 + 1, 3 + 1)
    assert got.stretch_hist[5, 3] == 2


def test_a_chain_node_equal_to_the_anchor_or_the_poa_adds_no_segment(engine) -> None:
    """Level 1 is the HA itself at A (the HA moves to level 1: its segment carries level 1's
    bytes); level 2 is the PoA itself at A (no segment)."""
    policy = central_policy(chain=[[-1, -1, -1, HA, -1, -1], [-1, -1, -1, POA_A, -1, -1]],
                            segment_bytes=[40, 24, 99])
    packets = [(10 * MS, 7, 1000, 1)]
    replay = make_replay(1, [(0, 0, POA_A)], [(7, 0, CN, 10 * MS, 20 * MS, True)], packets)
    got = run(engine, policy, replay, packets)
    # One segment HA->A (3 hops, 8 µs) at level 1: 24 B, 72 byte-hops; 2 + 3 hops in all.
    assert got.flow_overhead_bytes.tolist() == [24]
    assert got.flow_overhead_byte_hops.tolist() == [72]
    assert got.flow_hops_sum.tolist() == [5]
    assert got.flow_delay_ns_sum.tolist() == [20_000]


def test_the_direct_path_carries_option_bytes_and_passes_no_anchor(engine) -> None:
    """A class on the direct path (k = 0; route optimisation's type-2 routing header and home
    address option, 24 + 24 B): CN -> A, 3 hops, 16 µs; the binding at the HA stays."""
    policy = central_policy(direct_bytes=48, flow_classes=(
        FlowClass(name="optimised", apps=("voice",), direct=True), FlowClass(name="rest")))
    packets = [(10 * MS, 7, 1000, 1), (10 * MS, 9, 1000, 1)]
    replay = make_replay(1, [(0, 0, POA_A)], [(7, 0, CN, 10 * MS, 20 * MS, True),
                                              (9, 0, CN, 10 * MS, 20 * MS, True)], packets,
                         apps=["voice", None])
    got = run(engine, policy, replay, packets)
    assert got.flow_hops_sum.tolist() == [3, 5]  # direct; CN->HA->A = 2 + 3
    assert got.flow_direct_hops_sum.tolist() == [3, 3]  # stretch 1 on the direct path
    assert got.flow_delay_ns_sum.tolist() == [16_000, 20_000]
    assert got.flow_overhead_bytes.tolist() == [48, 40]
    assert got.flow_overhead_byte_hops.tolist() == [144, 120]
    assert got.anchor_packets[HA] == 1 and got.anchor_bytes[HA] == 1000  # flow 9 only
    assert got.flow_anchor.tolist() == [HA, HA]  # both addresses are the HA's
    assert got.anchor_peak_bindings[HA] == 1


@pytest.mark.parametrize("on_loss", ["break", "renumber"])
def test_an_address_lost_to_scope_breaks_or_renumbers_by_class(engine, on_loss) -> None:
    """DMM-like anchors at A and B; an address anchored at A cannot follow the MN to B.

    The MN moves A -> B at 10 ms; the handover's components take 3 ms (ready = 13 ms). A
    flow of class "break" loses every later packet; one of class "renumber" (RFC 8653)
    binds a new address at B and resumes at ready + 2·D[CN][B] = 13 ms + 32 µs."""
    scope = np.ones((6, 6), np.uint8)
    scope[POA_A, POA_B] = 0
    policy = dmm_policy(scope=scope, flow_classes=(FlowClass(name="all", on_loss=on_loss),))
    packets = [(5 * MS, 7, 100, 1), (12 * MS, 7, 100, 1), (13 * MS + 20_000, 7, 100, 1),
               (13 * MS + 40_000, 7, 100, 1), (14 * MS, 7, 100, 1)]
    replay = make_replay(1, [(0, 0, POA_A), (10 * MS, 0, POA_B)],
                         [(7, 0, CN, 1 * MS, 20 * MS, True)], packets)
    got = run(engine, policy, replay, packets)
    if on_loss == "break":
        assert (got.flow_broken[0], got.flow_renumbered[0], got.flow_lost[0]) == (1, 0, 4)
        assert got.flow_anchor[0] == POA_A
    else:
        assert (got.flow_broken[0], got.flow_renumbered[0], got.flow_lost[0]) == (0, 1, 2)
        assert got.flow_anchor[0] == POA_B  # the anchor it was bound to last
        assert got.anchor_packets[POA_A] == 1 and got.anchor_packets[POA_B] == 2
        renumbered = got.event_kind == EVENT_FLOW_RENUMBERED
        assert got.event_t[renumbered].tolist() == [12 * MS]
        assert got.event_node[renumbered].tolist() == [POA_B]


def test_offload_flows_bind_at_the_gateway_of_their_poa_and_break_leaving_it(engine) -> None:
    """An "offload" class (SIPTO's rule, here the voice flows) binds at offload[A] = AGG, the
    chain's level-1 node there: CN -> AGG (2 hops, 15 µs), AGG -> A at level 1 (36 B, 1 hop,
    1 µs). The other flow stays on the HA: CN -> HA -> AGG (40 B) -> A (36 B), 5 hops. The
    MN moves to B at 10 ms, outside AGG's scope: the offload flow breaks, the other goes on."""
    scope = np.ones((6, 6), np.uint8)
    scope[AGG, POA_B] = 0
    offload = np.array([[-1, -1, -1, AGG, AGG, -1], [-1] * 6], np.int32)
    policy = central_policy(
        chain=[[-1, -1, -1, AGG, AGG, -1]], segment_bytes=[40, 36], scope=scope,
        offload=offload, flow_classes=(FlowClass(name="offload", apps=("voice",),
                                                 anchor="offload"), FlowClass(name="rest")))
    packets = [(5 * MS, 7, 100, 1), (5 * MS, 9, 100, 1), (15 * MS, 7, 100, 1),
               (15 * MS, 9, 100, 1)]
    replay = make_replay(1, [(0, 0, POA_A), (10 * MS, 0, POA_B)],
                         [(7, 0, CN, 1 * MS, 20 * MS, True), (9, 0, CN, 1 * MS, 20 * MS, True)],
                         packets, apps=["voice", "web"])
    got = run(engine, policy, replay, packets)
    assert got.flow_anchor.tolist() == [AGG, HA]
    assert got.flow_hops_sum.tolist() == [3, 5 + 5]
    assert got.flow_overhead_bytes.tolist() == [36, 2 * 76]
    assert got.flow_broken.tolist() == [1, 0] and got.flow_lost.tolist() == [1, 0]
    assert got.anchor_packets[AGG] == 1 and got.anchor_packets[HA] == 2
    # The same with the HA's addresses bypassing level 1: HA -> A directly (3 hops, 40 B).
    bypassed = dataclasses.replace(policy, bypass=np.array([0, 0, 0, 0, 0, 1], np.uint8))
    got = run(engine, bypassed, replay, packets)
    assert got.flow_hops_sum.tolist() == [3, 5 + 5]  # CN -> HA -> A: 2 + 3
    assert got.flow_overhead_bytes.tolist() == [36, 2 * 40]


def test_classify_matches_peers_and_a_seeded_share_of_flow_ids() -> None:
    """An offload rule by peer node (LIPA's local-network peers) and by a share of the
    flows drawn per flow id: the same id draws the same wherever it sits, and about the
    share asked of many ids is drawn."""
    classes = (FlowClass(name="local", peers=(HA,)), FlowClass(name="half", share=0.5, seed=3),
               FlowClass(name="rest"))
    flows = [(f, 0, HA if f == 4 else CN, 0, MS, True) for f in range(5)]
    got = classify(classes, make_replay(1, [], flows))
    draws = drawn_share(np.arange(5, dtype=np.uint64), 3)
    assert got.tolist() == [0 if f == 4 else 1 if draws[f] < 0.5 else 2 for f in range(5)]
    many = drawn_share(np.arange(100_000, dtype=np.uint64), 3)
    assert abs(float((many < 0.25).mean()) - 0.25) < 0.01
    assert drawn_share(np.array([7], np.uint64), 3)[0] == many[7]
    assert drawn_share(np.array([7], np.uint64), 4)[0] != many[7]
    with pytest.raises(PracticeError, match="share must be 0 to 1"):
        FlowClass(name="x", share=1.5)


def test_classify_takes_the_first_match_on_continuity_and_app() -> None:
    classes = (FlowClass(name="voice", apps=("voice",), direct=True),
               FlowClass(name="elastic", continuity=False, anchor="local"),
               FlowClass(name="rest", on_loss="renumber"))
    replay = make_replay(1, [], [(f, 0, CN, 0, MS, cont) for f, cont in
                                 enumerate([True, False, False, True])],
                         apps=["voice", "voice", "web", None])
    assert classify(classes, replay).tolist() == [0, 0, 1, 2]
    assert class_table(classes).tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]


def test_classify_matches_the_address_type_a_flow_asks_for() -> None:
    """DMM's connection manager (RFC 8653): an asked type wins over the continuity column."""
    replay = make_replay(1, [], [(f, 0, CN, 0, MS, cont) for f, cont in
                                 enumerate([True, False, False, True])])
    replay = dataclasses.replace(replay, flow_address_type=np.array([2, 1, -1, -1], np.int8))
    # non-persistent -> local; session-lasting -> kept; no type: by continuity.
    assert classify(connection_manager_classes(0), replay).tolist() == [0, 2, 3, 4]
    with pytest.raises(PracticeError, match="address_types must be among"):
        FlowClass(name="x", address_types=("roaming",))


def test_a_class_list_must_end_with_a_class_for_every_flow() -> None:
    with pytest.raises(PracticeError, match="must match every flow"):
        central_policy(flow_classes=(FlowClass(name="voice", apps=("voice",)),))
    with pytest.raises(PracticeError, match="on_loss must be one of"):
        FlowClass(name="x", on_loss="keep")


def test_access_bytes_may_lower_a_segment_but_not_below_zero() -> None:
    access = np.zeros(6, np.int32)
    access[POA_A] = -20  # IPv4 transport: a 20 B outer header instead of 40
    assert central_policy(access_bytes=access.copy(),
                          segment_bytes=[40, 40]).access_bytes[POA_A] == -20
    # Only the segment into the PoA gets the override: a native last segment (0 B, leaving
    # level 1, the HA itself as the home link's router) cannot lose 20 B...
    home_link = [[-1] * 6]
    home_link[0][POA_A] = HA
    with pytest.raises(PracticeError, match="0 to 4096 bytes"):
        central_policy(access_bytes=access, chain=home_link)
    # ...while a 0 B segment the PoA's path never ends on is no obstacle (semantics.md §7.5).
    assert central_policy(access_bytes=access).access_bytes[POA_A] == -20
    with pytest.raises(PracticeError, match="0 to 4 levels"):
        central_policy(chain=[[-1] * 6] * 5, segment_bytes=[40] * 6)


def hierarchical_program() -> np.ndarray:
    """HMIPv6-like (RFC 5380 §4, modelled): at a handover the MN sends a local BU to the MAP
    at chain level 1 and gets its BA; only when the MAP changed (a new RCoA) does it also
    send a BU to the HA, after the local BA. Attach: a BU/BA with the HA."""
    return program_table([
        Leg(cause=CAUSE_ATTACH, kind=0, src=ROLE_MN, dst=ROLE_ANCHOR, nbytes=80),
        Leg(cause=CAUSE_ATTACH, kind=1, src=ROLE_ANCHOR, dst=ROLE_MN, nbytes=56, after=0,
            ends=True),
        Leg(cause=CAUSE_HANDOVER, kind=0, src=ROLE_MN, dst=ROLE_LEVEL, nbytes=80, level=1),
        Leg(cause=CAUSE_HANDOVER, kind=1, src=ROLE_LEVEL, dst=ROLE_MN, nbytes=56, level=1,
            after=0, ends=True),
        Leg(cause=CAUSE_HANDOVER, kind=0, src=ROLE_MN, dst=ROLE_ANCHOR, nbytes=80, level=1,
            when=WHEN_LEVEL_CHANGED, after=1),
        Leg(cause=CAUSE_HANDOVER, kind=1, src=ROLE_ANCHOR, dst=ROLE_MN, nbytes=56, after=2,
            level=1, when=WHEN_LEVEL_CHANGED, ends=True),
    ], 2)


@pytest.mark.parametrize("map_at_b", [AGG, CORE], ids=["same-map", "new-map"])
def test_a_move_signals_only_the_levels_whose_node_changed(engine, map_at_b) -> None:
    """A -> B at 10 ms; A's MAP is AGG. Same MAP at B: the local BU/BA only, B <-> AGG
    (D = 1 µs each way): 2 messages, signaling 2 µs. A new MAP (CORE) at B: the local BU/BA
    B <-> CORE (6 µs each way), then the BU/BA to the HA (B <-> HA, 8 µs each way): 4
    messages, 28 µs. Interruption = 3 ms of components + the signaling."""
    policy = central_policy(chain=[[-1, -1, -1, AGG, map_at_b, -1]],
                            segment_bytes=[40, 40], legs=hierarchical_program())
    packets = [(20 * MS, 7, 100, 1)]
    replay = make_replay(1, [(0, 0, POA_A), (10 * MS, 0, POA_B)],
                         [(7, 0, CN, 1 * MS, 30 * MS, True)], packets)
    got = run(engine, policy, replay, packets)
    messages, signaling = (2, 2_000) if map_at_b == AGG else (4, 28_000)
    assert got.ho_msgs.tolist() == [2, messages]
    assert got.ho_signaling_ns[1] == signaling
    assert got.ho_interruption_ns[1] == 3 * MS + signaling
    assert got.sig_msgs[CAUSE_HANDOVER].tolist() == [messages // 2, messages // 2]
    assert got.anchor_sig_msgs[map_at_b] == 2  # the MAP at B handled the local BU and BA
    assert got.anchor_sig_msgs[HA] == 2 + (messages - 2)  # attach, and the HA BU/BA if sent
    assert got.sig_byte_hops[CAUSE_HANDOVER].tolist() == (
        [80 * 2, 56 * 2] if map_at_b == AGG else [80 * (3 + 4), 56 * (3 + 4)])


def test_a_registration_condition_needs_a_leg_run_per_address() -> None:
    """semantics.md §4: a leg sent for registered (or unregistered) addresses only must
    run per address; the flag and its opposite together are no condition and are refused
    too (a raw table can carry both)."""
    with pytest.raises(PracticeError, match="depend on its address's registration"):
        program_table([Leg(cause=CAUSE_HANDOVER, kind=0, src=ROLE_MN, dst=ROLE_LEVEL,
                           nbytes=80, level=1, scope=ONCE, registered=True)], 1)
    table = program_table([Leg(cause=CAUSE_HANDOVER, kind=0, src=ROLE_MN, dst=ROLE_ANCHOR,
                               nbytes=80, registered=False)], 1)
    table[0, LEG_FLAGS] |= FLAG_REGISTERED
    with pytest.raises(PracticeError, match="one way"):
        check_program(table, 1)


def test_level_roles_need_a_level_and_a_previous_poa() -> None:
    with pytest.raises(PracticeError, match="needs a chain level"):
        program_table([Leg(cause=CAUSE_HANDOVER, kind=0, src=ROLE_MN, dst=ROLE_LEVEL,
                           nbytes=80)], 1)
    with pytest.raises(PracticeError, match="has no previous PoA"):
        program_table([Leg(cause=CAUSE_ATTACH, kind=0, src=ROLE_MN, dst=ROLE_PREV_LEVEL,
                           nbytes=80, level=1)], 1)
    with pytest.raises(PracticeError, match="chain has 1 levels"):
        central_policy(legs=program_table([Leg(cause=CAUSE_ATTACH, kind=0, src=ROLE_MN,
                                               dst=ROLE_LEVEL, nbytes=80, level=2)], 2))
