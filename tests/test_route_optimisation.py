"""``mipv6-ro`` by hand, on the topology of INET's Mobile IPv6 showcase (inet-framework/inet,
showcases/mobility/mipv6: CN–backbone 1 ms, backbone–HA 5 ms, backbone–foreign AR 8 ms,
HA–home AR about 0): once the correspondent binding is in place the CN reaches the MN in
9 ms instead of 19 ms through the HA tunnel, and the first handover with one correspondent
sends 7 messages (HA BU/BA, HoTI/HoT, CoTI/CoT, BU to the CN). Both engines.

      CN 0 --1 ms-- BACKBONE 1 --5 ms-- HA 2 --0-- HOME 3
                      |      \\
                     8 ms    8 ms
                      |        \\
                 FOREIGN 4   FOREIGN2 5

Every interruption component is 0 (no link-loss detection, L2 attach, movement detection,
DAD or HA hold), so the times below are the message delays alone; the MN's radio hop adds a
hop and no delay (semantics.md §4).
"""

from __future__ import annotations

import pytest
from hand_runs import engines, one_mn, replay

from dmmemu.engine.signaling import CAUSE_CORRESPONDENT, CAUSE_HANDOVER
from dmmemu.errors import PracticeError
from dmmemu.practices import MIPv6RouteOptimisation, get_practice
from dmmemu.topology.graph import Link, Node, Topology

MS = 1_000_000
CN, BACKBONE, HA, HOME, FOREIGN, FOREIGN2 = range(6)
T1, T2, END = 1000 * MS, 2000 * MS, 10_000 * MS


def showcase() -> Topology:
    roles = ["cn", "router", "anchor", "poa", "poa", "poa"]
    names = ["cn", "backbone", "ha", "home", "foreign", "foreign2"]
    nodes = [Node(id=i, name=n, role=r, central=n == "ha") for i, (n, r) in
             enumerate(zip(names, roles))]
    links = [Link(a=CN, b=BACKBONE, delay_us=1000.0), Link(a=BACKBONE, b=HA, delay_us=5000.0),
             Link(a=HA, b=HOME, delay_us=0.0), Link(a=BACKBONE, b=FOREIGN, delay_us=8000.0),
             Link(a=BACKBONE, b=FOREIGN2, delay_us=8000.0)]
    return Topology.from_parts(nodes, links, name="inet-mipv6-showcase")


def practice(**changes) -> MIPv6RouteOptimisation:
    return MIPv6RouteOptimisation(link_loss_ms=0.0, l2_attach_ms=0.0, detection_ms=0.0,
                                  optimistic_dad=True, ha_dad_ms=0.0, home_link="home",
                                  **changes)


# One MN: at home from 0, to FOREIGN at T1, to FOREIGN2 at T2; one flow to the CN.
MOVES = [(0, 0, HOME), (T1, 0, FOREIGN), (T2, 0, FOREIGN2)]
PACKETS = [
    (500 * MS, 0, 100, 1),     # at home: native, 6 ms
    (T1 + 50 * MS, 0, 100, 1),   # HA's BA at T1+26 ms, BU at the CN at T1+73 ms: tunnel
    (T1 + 100 * MS, 0, 100, 1),  # direct: 9 ms
    (T2 + 30 * MS, 0, 100, 1),   # the CN still holds FOREIGN's address: lost
    (T2 + 30 * MS, 0, 100, 0),   # uplink goes through the HA meanwhile: 19 ms
    (T2 + 60 * MS, 0, 100, 1),   # BU at the CN at T2+53 ms: direct
]


def run(engine, ro: MIPv6RouteOptimisation):
    topology = showcase()
    trace = one_mn(topology, [(t, poa) for t, _, poa in MOVES], [(0, CN, 0, END)], END)
    return replay(engine, ro.compile(topology), trace, PACKETS)


@pytest.mark.parametrize("engine", engines())
def test_inet_showcase_delays_and_the_first_handover(engine) -> None:
    c = run(engine, practice())
    topology = showcase()
    # INET's figures: 9 ms direct, 19 ms through the tunnel (CN-HA 6 ms + HA-FOREIGN 13 ms).
    assert topology.delay_ns[CN, FOREIGN] == 9 * MS
    assert topology.delay_ns[CN, HA] + topology.delay_ns[HA, FOREIGN] == 19 * MS
    # Delivered: home 6, tunnel 19, direct 9, (lost), uplink tunnel 19, direct 9.
    assert (c.flow_packets[0], c.flow_lost[0]) == (6, 1)
    assert c.flow_delay_ns_sum[0] == (6 + 19 + 9 + 19 + 9) * MS
    assert c.flow_direct_delay_ns_sum[0] == (6 + 9 + 9 + 9 + 9) * MS
    # Tunnel 40 B twice, routing header / home address option 24 B twice, native at home.
    assert c.flow_overhead_bytes[0] == 2 * 40 + 2 * 24
    # Hops: home 3 (CN-backbone-HA-home), tunnel 2 + 2, direct 2.
    assert c.flow_hops_sum[0] == 3 + 4 + 2 + 4 + 2
    assert c.anchor_packets[HA] == 3  # home, and the two through the tunnel
    # The first handover: HA BU/BA, then CoTI/CoT and HoTI/HoT, then the BU to the CN.
    assert c.ho_msgs.tolist() == [0, 7, 5]
    assert c.ho_bytes[1] == 80 + 80 + 56 + 64 + 56 + 64 + 96
    # The second reuses the home keygen token (1 s old, < 210 s): no HoTI/HoT.
    assert c.ho_bytes[2] == 80 + 80 + 56 + 64 + 96
    assert c.ho_lost.tolist() == [0, 0, 1]  # the CN's packet to the old care-of address
    kinds = [k.name for k in MIPv6RouteOptimisation.message_kinds]
    by_kind = dict(zip(kinds, c.sig_msgs[CAUSE_CORRESPONDENT].tolist()))
    assert by_kind == {"BU": 0, "BA": 0, "BU de-registration": 0, "BA de-registration": 0,
                       "CoTI": 2, "CoT": 2, "HoTI": 1, "HoT": 1, "BU to CN": 2,
                       "BA from CN": 0}
    assert c.sig_msgs[CAUSE_HANDOVER, :2].tolist() == [2, 2]
    # Byte·hops of the relayed HoTI: 96 B over the tunnel (radio + FOREIGN-backbone-HA: 3
    # hops), 56 B from the HA to the CN (2 hops).
    hoti = kinds.index("HoTI")
    assert c.sig_byte_hops[CAUSE_CORRESPONDENT, hoti] == 96 * 3 + 56 * 2
    # The HA relays the HoTI and the HoT; the CN handles 8 messages of return routability.
    assert c.anchor_sig_msgs[CN] == 8
    assert c.anchor_sig_msgs[HA] == 2 + 2 + 2


@pytest.mark.parametrize("engine", engines())
def test_without_token_reuse_and_with_the_cn_acknowledging(engine) -> None:
    c = run(engine, practice(token_reuse=False, cn_ack=True))
    assert c.ho_msgs.tolist() == [0, 8, 8]  # full return routability, and the CN's BA
    # The home test makes the second binding late: the BU reaches the CN at T2 + 26 + 38 +
    # 9 ms = T2+73 ms, so the packet at T2+60 ms still goes to FOREIGN and is lost too (the
    # BA, sent after the binding is in place, delays nothing).
    assert (c.flow_packets[0], c.flow_lost[0]) == (6, 2)
    assert c.flow_delay_ns_sum[0] == (6 + 19 + 9 + 19) * MS


@pytest.mark.parametrize("engine", engines())
def test_a_correspondent_without_route_optimisation_stays_on_the_tunnel(engine) -> None:
    c = run(engine, practice(ro_share=0.0))
    assert c.ho_msgs.tolist() == [0, 2, 2]
    assert (c.flow_packets[0], c.flow_lost[0]) == (6, 0)
    assert c.flow_delay_ns_sum[0] == (6 + 19 * 5) * MS
    assert not c.sig_msgs[CAUSE_CORRESPONDENT].any()


@pytest.mark.parametrize("engine", engines())
def test_return_routability_again_every_refresh_period(engine) -> None:
    # A 1 s refresh (instead of 420 s): from the RR at T2+26 ms to the flow's end at 10 s,
    # 7 full return routabilities (2.026 + k s < 10 s for k = 1..7), 5 messages each.
    c = run(engine, practice(rr_refresh_s=1.0))
    kinds = [k.name for k in MIPv6RouteOptimisation.message_kinds]
    by_kind = dict(zip(kinds, c.sig_msgs[CAUSE_CORRESPONDENT].tolist()))
    assert by_kind["HoTI"] == 1 + 7 and by_kind["CoTI"] == 2 + 7 and by_kind["BU to CN"] == 2 + 7
    assert c.ho_msgs.tolist() == [0, 7, 5]  # refreshes are not part of a handover


def test_parameters_are_checked() -> None:
    with pytest.raises(PracticeError, match="ro_share"):
        get_practice("mipv6-ro", {"ro_share": 1.5})
    with pytest.raises(PracticeError, match="rr_refresh_s"):
        get_practice("mipv6-ro", {"rr_refresh_s": 0.0})
    with pytest.raises(PracticeError, match="not-a-node"):
        practice(ro_correspondents=("not-a-node",)).compile(showcase())
    tables = practice(ro_correspondents=("cn",)).compile(showcase())
    assert tables.ro_capable.tolist() == [1, 0, 0, 0, 0, 0]
