"""MN-to-MN flows (semantics.md §17) by hand, on both engines, on a flat WiFi of two ARs
(``FlatWifi(rows=1, cols=2, correspondents=1)``); one-way delays in µs, hops in brackets:

    CORE 0 --2000-- HA 1               HA-AR0 3.1 ms [3], HA-AR1 3.1 ms [3]
      |--1000-- GW0 3 --100-- AR0 4    AR0-AR1 0.7 ms [3] over the gateways' mesh (500)
      |--1000-- GW1 5 --100-- AR1 6

MN 0 at AR0 from 0; MN 1 at AR1 from 0, at AR0 from 1 s, detached from 1.8 s. One flow of
MN 0 to MN 1, 0 to 2 s, downlink packets of 1000 B at 0.5 s (two ARs apart), 1.003 s (inside
MN 1's handover), 1.5 s (both at AR0) and 1.9 s (MN 1 detached). Every interruption
component is 0: a move's interruption is its BU/BA (PBU/PBA) round trip.
"""

from __future__ import annotations

import pytest
from hand_runs import engines, mns_trace, replay

from dmmemu.practices import get_practice
from dmmemu.results.tables import stretch_stats
from dmmemu.topology.generators import FlatWifi

MS = 1_000_000
US = 1_000
S = 1000 * MS
HA, GW0, AR0, GW1, AR1 = 1, 3, 4, 5, 6
TOPOLOGY = FlatWifi(rows=1, cols=2, correspondents=1).build()
ZERO = {"link_loss_ms": 0.0, "l2_attach_ms": 0.0, "detection_ms": 0.0}
MIP_ZERO = {**ZERO, "optimistic_dad": True, "ha_dad_ms": 0.0}
MOVES = [(0, 0, AR0), (0, 1, AR1), (1 * S, 1, AR0), (1800 * MS, 1, -1)]
FLOWS = [(5, 0, -1, 0, 2 * S, 1)]  # (id, MN, peer, start, end, the other MN)
PACKETS = [500 * MS, 1003 * MS, 1500 * MS, 1900 * MS]


def run(engine, practice: str, params: dict):
    trace = mns_trace(TOPOLOGY, MOVES, FLOWS, 2 * S)
    tables = get_practice(practice, params).compile(TOPOLOGY)
    return replay(engine, tables, trace, [(t, 5, 1000, 1) for t in PACKETS])


def test_topology_is_the_one_drawn() -> None:
    assert TOPOLOGY.delay_ns[HA, AR0] == TOPOLOGY.delay_ns[HA, AR1] == 3100 * US
    assert TOPOLOGY.hops[AR0, AR1] == 3 and TOPOLOGY.delay_ns[AR0, AR1] == 700 * US
    assert TOPOLOGY.hops[GW0, GW1] == 1 and TOPOLOGY.delay_ns[GW0, GW1] == 500 * US


@pytest.mark.parametrize("engine", engines())
def test_both_home_addresses_at_one_home_agent(engine) -> None:
    c = run(engine, "mipv6", MIP_ZERO)
    # 0.5 s: AR1 -> HA (40 B on [3]) -> HA -> AR0 (40 B on [3]): 6 hops, 6.2 ms, direct
    # AR0-AR1 [3]. 1.003 s: inside MN 1's BU/BA (1 s + 6.2 ms at AR0): lost, on MN 1's row.
    # 1.5 s: both at AR0: 6 hops, direct 0 (no stretch). 1.9 s: MN 1 detached: lost.
    assert c.flow_packets.tolist() == [4] and c.flow_lost.tolist() == [2]
    assert c.flow_hops_sum.tolist() == [6 + 6] and c.flow_direct_hops_sum.tolist() == [3]
    assert c.flow_delay_ns_sum.tolist() == [2 * 6200 * US]
    assert c.flow_direct_delay_ns_sum.tolist() == [700 * US]
    assert c.flow_overhead_bytes.tolist() == [80 + 80]
    assert c.flow_overhead_byte_hops.tolist() == [240 + 240]
    assert c.ho_lost.tolist() == [0, 0, 1, 0]  # MN 1's handover
    assert c.stretch_hist[6, 0] == 1 and c.stretch_hist[6, 3] == 1
    assert stretch_stats(c.stretch_hist) == (2.0, 2.0)  # the same-PoA packet left out
    assert c.anchor_packets[HA] == 2


@pytest.mark.parametrize("engine", engines())
def test_each_mn_at_its_own_lma(engine) -> None:
    """pmipv6-dlma: MN 0's LMA is GW0 (nearest AR0), MN 1's GW1 (nearest AR1): AR1 -> GW1
    (40 B, [1]) -> GW0 ([1], 0.5 ms) -> AR0 (40 B, [1]). From 1 s MN 1 is at AR0 and keeps
    GW1: AR0 -> GW1 is [2], 0.6 ms. Its PBU/PBA with GW1 takes 1.2 ms, so the packet at
    1.003 s is delivered; only the one while it is detached is lost."""
    c = run(engine, "pmipv6-dlma", ZERO)
    assert c.flow_lost.tolist() == [1]
    assert c.flow_hops_sum.tolist() == [3 + 4 + 4]
    assert c.flow_delay_ns_sum.tolist() == [(700 + 1200 + 1200) * US]
    assert c.flow_overhead_bytes.tolist() == [3 * 80]
    assert c.flow_overhead_byte_hops.tolist() == [80 + 120 + 120]
    assert c.stretch_hist[3, 3] == 1 and c.stretch_hist[4, 0] == 2
    assert c.anchor_packets[GW0] == 3 and c.anchor_packets[GW1] == 0  # at the flow's MN's


def test_pcap_of_an_mn_to_mn_flow(tmp_path) -> None:
    """pcap export writes an MN-to-MN flow's packets, between the two MNs' addresses, in
    its MN's tunnel; tshark dissects them cleanly."""
    import numpy as np
    from tshark import dissect, need_tshark, problems, protocols

    from dmmemu.report.pcap import export_pcap
    from dmmemu.trace.writer import write_trace

    need_tshark()
    path = write_trace(
        tmp_path / "m2m", name="m2m", topology=TOPOLOGY,
        mobility={"t": np.array([m[0] for m in MOVES]), "mn": np.array([m[1] for m in MOVES]),
                  "poa": np.array([m[2] for m in MOVES])},
        flows={"flow": np.array([5]), "mn": np.array([0]),
               "peer": np.array([None], dtype=object), "peer_mn": np.array([1]),
               "start": np.array([0]), "end": np.array([2 * S])},
        packets={"t": np.array(PACKETS), "flow": np.array([5] * 4),
                 "size": np.array([1000] * 4), "dir": np.array([1, 0, 1, 1])})
    summary = export_pcap(path, "mipv6", tmp_path / "m2m.pcap", limit=100, params=MIP_ZERO)
    assert summary.data_packets == 2 and summary.encapsulations == {"ipv6-in-ipv6": 2}
    packets = dissect(summary.path)
    for layers in packets:
        assert problems(layers) == [], protocols(layers)
