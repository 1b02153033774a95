"""``mipv6-dha`` by hand on a flat WiFi of two ARs, each behind a gateway that can be an HA
(``FlatWifi(rows=1, cols=2, correspondents=1)``), one-way delays in µs:

    CN 2 --10000-- CORE 0 --1000-- GW0 3 --100-- AR0 4
                     |              | 500 (mesh)
                     +----1000-- GW1 5 --100-- AR1 6

One MN: at AR0 from 0, AR1 at 1 s, AR0 at 2 s, to the end at 3 s; flow A (0 to 3 s) and flow
B (1.2 s to 3 s), downlink packets at 0.5, 1.5 and 2.5 s (A) and 1.5 and 2.5 s (B). Every
interruption component is 0. Both engines.
"""

from __future__ import annotations

import pytest
from hand_runs import engines, one_mn, replay

from dmmemu.engine.signaling import CAUSE_FLOW, CAUSE_HANDOVER
from dmmemu.errors import PracticeError
from dmmemu.practices import MIPv6DistributedHA, get_practice
from dmmemu.topology.generators import FlatWifi

MS = 1_000_000
US = 1_000
CN, GW0, AR0, GW1, AR1 = 2, 3, 4, 5, 6
TOPOLOGY = FlatWifi(rows=1, cols=2, correspondents=1).build()
MOVES = [(0, AR0), (1000 * MS, AR1), (2000 * MS, AR0)]
FLOWS = [(0, 0, 3000 * MS), (1, 1200 * MS, 3000 * MS)]  # (id, start, end)
PACKETS = [(500 * MS, 0), (1500 * MS, 0), (1500 * MS, 1), (2500 * MS, 0), (2500 * MS, 1)]


def run(engine, **params):
    practice = MIPv6DistributedHA(link_loss_ms=0.0, l2_attach_ms=0.0, detection_ms=0.0,
                                  optimistic_dad=True, ha_dad_ms=0.0, **params)
    trace = one_mn(TOPOLOGY, MOVES, [(fid, CN, start, end) for fid, start, end in FLOWS],
                   3000 * MS)
    return replay(engine, practice.compile(TOPOLOGY), trace,
                  [(t, fid, 1000, 1) for t, fid in PACKETS])


def test_topology_is_the_one_drawn() -> None:
    names = [n.name for n in TOPOLOGY.nodes]
    assert [names[i] for i in (CN, GW0, AR0, GW1, AR1)] == ["cn0", "gw0.0", "ar0.0", "gw0.1",
                                                            "ar0.1"]
    assert TOPOLOGY.delay_ns[CN, GW0] == 11000 * US and TOPOLOGY.delay_ns[GW0, AR1] == 600 * US


@pytest.mark.parametrize("engine", engines())
def test_the_ha_nearest_the_first_poa_is_kept(engine) -> None:
    c = run(engine)
    # HA GW0 (nearest AR0) for the whole trace: CN-GW0 11.0 ms, then 0.1 ms to AR0 (3 hops,
    # direct 3) or 0.6 ms to AR1 over the mesh (4 hops, direct 3).
    assert c.flow_delay_ns_sum.tolist() == [(11100 + 11600 + 11100) * US,
                                            (11600 + 11100) * US]
    assert c.flow_hops_sum.tolist() == [3 + 4 + 3, 4 + 3]
    assert c.anchor_packets[[GW0, GW1]].tolist() == [5, 0]
    assert c.ho_msgs.tolist() == [2, 2, 2]  # one BU/BA with GW0 at every attach and move


@pytest.mark.parametrize("engine", engines())
def test_per_flow_home_addresses_at_the_ha_where_each_flow_starts(engine) -> None:
    c = run(engine, per_flow=True)
    # A: a home address at GW0 (AR0 at its first packet); B: at GW1 (AR1 at 1.5 s).
    assert c.flow_anchor.tolist() == [GW0, GW1]
    assert c.flow_delay_ns_sum.tolist() == [(11100 + 11600 + 11100) * US,
                                            (11100 + 11600) * US]
    assert c.anchor_packets[[GW0, GW1]].tolist() == [3, 2]
    # No address at the attach; at 1 s A's HA; at 2 s both HAs, one BU/BA each.
    assert c.ho_msgs.tolist() == [0, 2, 4]
    assert c.sig_msgs[CAUSE_FLOW, :2].tolist() == [2, 2]  # each new home address
    assert c.sig_msgs[CAUSE_HANDOVER, :2].tolist() == [3, 3]
    assert c.anchor_addresses[[GW0, GW1]].tolist() == [1, 1]


def test_home_agents_and_selection() -> None:
    tables = get_practice("mipv6-dha").compile(TOPOLOGY)
    assert tables.candidates.tolist() == [GW0, GW1]  # HA-capable, not the central anchor
    assert tables.serving[[AR0, AR1]].tolist() == [GW0, GW1]
    only = get_practice("mipv6-dha", {"home_agents": ("gw0.1",)}).compile(TOPOLOGY)
    assert only.serving[[AR0, AR1]].tolist() == [GW1, GW1]
    with pytest.raises(PracticeError, match="selection must be one of"):
        get_practice("mipv6-dha", {"selection": "per-flow"}).compile(TOPOLOGY)
    with pytest.raises(PracticeError, match="never at home"):
        get_practice("mipv6-dha", {"home_link": "ar0.0"}).compile(TOPOLOGY)
