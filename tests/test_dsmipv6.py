"""``dsmipv6`` by hand on ``FlatWifi(rows=1, cols=3, correspondents=1, ipv4_every=2,
nat_every=3)``: AR0 gives IPv6 access, AR1 only IPv4, AR2 sits behind a NAT. One-way
delays in µs:

    CN 2 --10000-- CORE 0 --2000-- HA 1 (the central anchor)
                     | 1000 to each gateway, 100 from each gateway to its AR
              GW 3 - AR0 4    GW 5 - AR1 6    GW 7 - AR2 8

One MN: AR0 from 0, AR1 at 10 s, AR2 at 20 s, to the end at 400 s; one flow with a downlink
packet at 5, 15 and 25 s. Every interruption component is 0. Both engines.
"""

from __future__ import annotations

import pytest
from hand_runs import engines, one_mn, replay

from dmmemu.engine.signaling import CAUSE_ATTACH, CAUSE_HANDOVER, CAUSE_REFRESH
from dmmemu.errors import PracticeError
from dmmemu.practices import DSMIPv6, get_practice
from dmmemu.topology.generators import FlatWifi

S = 1_000_000_000
US = 1_000
HA, CN, AR0, AR1, AR2 = 1, 2, 4, 6, 8
TOPOLOGY = FlatWifi(rows=1, cols=3, correspondents=1, ipv4_every=2, nat_every=3).build()
MOVES = [(0, AR0), (10 * S, AR1), (20 * S, AR2)]
PACKETS = [5 * S, 15 * S, 25 * S]
END = 400 * S


def run(engine, **params):
    practice = DSMIPv6(link_loss_ms=0.0, l2_attach_ms=0.0, detection_ms=0.0,
                       optimistic_dad=True, ha_dad_ms=0.0, **params)
    trace = one_mn(TOPOLOGY, MOVES, [(0, CN, 0, END)], END)
    return replay(engine, practice.compile(TOPOLOGY), trace, [(t, 0, 1000, 1) for t in PACKETS])


def test_topology_is_the_one_drawn() -> None:
    access = [(n.ipv4, n.nat) for n in TOPOLOGY.nodes if n.role == "poa"]
    assert access == [(False, False), (True, False), (False, True)]
    assert TOPOLOGY.delay_ns[CN, HA] + TOPOLOGY.delay_ns[HA, AR1] == (12000 + 3100) * US


@pytest.mark.parametrize("engine", engines())
def test_ipv4_and_nated_care_of_addresses(engine) -> None:
    c = run(engine)
    # Through the HA everywhere (15.1 ms); IPv6-in-IPv6 40 B, IPv6-in-IPv4 20 B, UDP 28 B.
    assert c.flow_delay_ns_sum[0] == 3 * 15100 * US
    assert c.flow_overhead_bytes[0] == 40 + 20 + 28
    # The IPv6 BU/BA at AR0, the RFC 5555 BU/BA over UDP/IPv4 at AR1 and AR2.
    assert c.ho_msgs.tolist() == [2, 2, 2]
    assert c.ho_bytes.tolist() == [80 + 80, 92 + 92, 92 + 92]
    kinds = [k.name for k in DSMIPv6.message_kinds]
    bu4, ba4 = kinds.index("BU from IPv4"), kinds.index("BA to IPv4")
    assert c.sig_msgs[CAUSE_ATTACH, :2].tolist() == [1, 1]
    assert c.sig_msgs[CAUSE_HANDOVER, [bu4, ba4]].tolist() == [2, 2]
    # Behind the NAT, keepalives every NATKATIMEOUT (110 s) instead of the 3600 s lifetime:
    # at 130, 240 and 350 s before the binding closes at 400 s.
    assert c.sig_msgs[CAUSE_REFRESH, [bu4, ba4]].tolist() == [3, 3]
    assert c.sig_msgs[CAUSE_REFRESH, :2].tolist() == [0, 0]
    # A BU from the MN to the HA: the radio hop and AR-GW-CORE-HA, 4 hops of 92 B.
    assert c.sig_byte_hops[CAUSE_REFRESH, bu4] == 3 * 92 * 4


@pytest.mark.parametrize("engine", engines())
def test_a_lifetime_shorter_than_the_keepalive_sets_the_period(engine) -> None:
    c = run(engine, lifetime_s=100.0)
    kinds = [k.name for k in DSMIPv6.message_kinds]
    bu4 = kinds.index("BU from IPv4")
    # 380 s at AR2 with a 100 s period: refreshes at 120, 220 and 320 s.
    assert c.sig_msgs[CAUSE_REFRESH, bu4] == 3


def test_parameters_are_checked() -> None:
    with pytest.raises(PracticeError, match="nat_keepalive_s"):
        get_practice("dsmipv6", {"nat_keepalive_s": 0.0})
    tables = get_practice("dsmipv6").compile(TOPOLOGY)
    assert tables.poa_class[[AR0, AR1, AR2]].tolist() == [0, 1, 2]
    assert tables.access_bytes[[AR0, AR1, AR2]].tolist() == [0, -20, -12]
    assert tables.refresh_ns[[AR0, AR1, AR2]].tolist() == [3600 * S, 3600 * S, 110 * S]
