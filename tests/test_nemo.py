"""``nemo`` by hand on a flat WiFi of two ARs (``FlatWifi(rows=1, cols=2, correspondents=1)``),
the HA at the central anchor; one-way delays in µs, hops in brackets:

    CN 2 --10000-- CORE 0 --2000-- HA 1          CN-HA 12 ms [2], CN-AR 11.1 ms [3]
                     |--1000-- GW0 3 --100-- AR0 4   HA-AR0 3.1 ms [3]
                     |--1000-- GW1 5 --100-- AR1 6   HA-AR1 3.1 ms [3]

MN 0 is a mobile router (a bus): AR0 from 0, AR1 at 1 s. MN 1 is a passenger: at AR0 from 0
on its own, boards (rides behind MN 0) at 0.5 s, its own radio sees AR1 at 1.2 s, and it
gets off at 2 s, where its own latest row says AR1. Its flow runs 0 to 3 s, downlink packets
of 1000 B at 0.25 s (alone), 0.75 s (on board at AR0), 1.003 s (inside the bus's handover),
1.5 s (on board at AR1) and 2.5 s (alone again). Every interruption component is 0, so a
move's interruption is its BU/BA round trip, 2 x 3.1 ms. Both engines (semantics.md §16).
"""

from __future__ import annotations

import numpy as np
import pytest
from hand_runs import engines, mns_trace, replay

from dmmemu.engine.replay_io import HO_ATTACH, HO_HANDOVER, HO_NOOP
from dmmemu.engine.signaling import CAUSE_ATTACH, CAUSE_HANDOVER
from dmmemu.practices import get_practice
from dmmemu.practices.mipv6 import BA, BU
from dmmemu.practices.nemo import BA_MR, BU_MR
from dmmemu.topology.generators import FlatWifi

MS = 1_000_000
US = 1_000
S = 1000 * MS
HA, CN, AR0, AR1 = 1, 2, 4, 6
BUS, PASSENGER, CAR = 0, 1, 2
TOPOLOGY = FlatWifi(rows=1, cols=2, correspondents=1).build()
ZERO = {"link_loss_ms": 0.0, "l2_attach_ms": 0.0, "detection_ms": 0.0, "optimistic_dad": True,
        "ha_dad_ms": 0.0}
MOVES = [(0, BUS, AR0), (0, PASSENGER, AR0), (1 * S, BUS, AR1), (1200 * MS, PASSENGER, AR1)]
NETWORKS = [(500 * MS, PASSENGER, BUS), (2 * S, PASSENGER, -1)]
PACKETS = [250 * MS, 750 * MS, 1003 * MS, 1500 * MS, 2500 * MS]


def run(engine, moves=MOVES, networks=NETWORKS, flows=((7, PASSENGER, CN, 0, 3 * S),),
        packets=PACKETS, practice="nemo"):
    trace = mns_trace(TOPOLOGY, moves, list(flows), 3 * S, networks)
    tables = get_practice(practice, ZERO).compile(TOPOLOGY)
    return replay(engine, tables, trace, [(t, flows[0][0], 1000, 1) for t in packets])


def test_topology_is_the_one_drawn() -> None:
    names = [n.name for n in TOPOLOGY.nodes]
    assert [names[i] for i in (HA, CN, AR0, AR1)] == ["central-anchor", "cn0", "ar0.0", "ar0.1"]
    assert TOPOLOGY.delay_ns[CN, HA] == 12000 * US and TOPOLOGY.hops[CN, HA] == 2
    assert TOPOLOGY.delay_ns[HA, AR0] == TOPOLOGY.delay_ns[HA, AR1] == 3100 * US
    assert TOPOLOGY.hops[HA, AR0] == TOPOLOGY.hops[HA, AR1] == TOPOLOGY.hops[CN, AR0] == 3


@pytest.mark.parametrize("engine", engines())
def test_the_passenger_rides_in_the_bus_tunnel_and_only_the_bus_signals_its_moves(engine):
    c = run(engine)
    # Alone: CN-HA [2] + HA-AR [3] with the passenger's tunnel (40 B on 3 hops). On board:
    # the same anchors (one HA), 80 B (its tunnel inside the bus's) on HA-AR [3], then the
    # bus's own link to the passenger [1] with its 40 B; the direct path is one hop longer.
    # The packet at 1.003 s is inside the bus's BU/BA round trip (1 s + 6.2 ms): lost.
    assert c.flow_packets.tolist() == [5] and c.flow_lost.tolist() == [1]
    assert c.flow_hops_sum.tolist() == [5 + 6 + 6 + 5]
    assert c.flow_direct_hops_sum.tolist() == [3 + 4 + 4 + 3]
    assert c.flow_delay_ns_sum.tolist() == [4 * 15100 * US]
    assert c.flow_overhead_bytes.tolist() == [40 + 120 + 120 + 40]
    assert c.flow_overhead_byte_hops.tolist() == [120 + 280 + 280 + 120]
    # Boarding, the bus's handover and getting off are the passenger's flow's handovers.
    assert c.flow_moves.tolist() == [3]
    # Rows: mobility (bus attach, passenger attach, bus handover, the passenger's own row on
    # board: a no-op), then networks (boarding and getting off: forced handovers in place).
    assert c.ho_kind.tolist() == [HO_ATTACH, HO_ATTACH, HO_HANDOVER, HO_NOOP, HO_HANDOVER,
                                  HO_HANDOVER]
    assert c.ho_from.tolist()[4:] == [AR0, AR1] and c.ho_to.tolist()[4:] == [AR0, AR1]
    assert c.ho_msgs.tolist() == [2, 2, 2, 0, 2, 2]
    assert c.ho_bytes.tolist() == [96 + 80, 80 + 80, 96 + 80, 0, 80 + 80, 80 + 80]
    assert c.ho_interruption_ns.tolist()[2] == 6200 * US
    assert c.ho_lost.tolist() == [0, 0, 1, 0, 0, 0]  # the bus's handover lost it
    # The router's BU carries the R flag and the prefix; the hosts' are plain.
    assert c.sig_msgs[CAUSE_ATTACH, [BU, BA, BU_MR, BA_MR]].tolist() == [1, 1, 1, 1]
    assert c.sig_msgs[CAUSE_HANDOVER, [BU, BA, BU_MR, BA_MR]].tolist() == [2, 2, 1, 1]
    assert c.anchor_packets[HA] == 4


@pytest.mark.parametrize("engine", engines())
def test_without_mobile_network_support_every_mn_moves_on_its_own(engine):
    """mipv6 replays the passenger by its own rows: AR1 at 1.2 s, its own BU/BA, and no
    nested tunnel; the bus's handover does not touch its flow."""
    c = run(engine, practice="mipv6")
    assert c.flow_lost.tolist() == [0]
    assert c.flow_hops_sum.tolist() == [5 * 5] and c.flow_overhead_bytes.tolist() == [5 * 40]
    assert c.ho_kind.tolist() == [HO_ATTACH, HO_ATTACH, HO_HANDOVER, HO_HANDOVER, HO_NOOP,
                                  HO_NOOP]
    assert c.flow_moves.tolist() == [1]


@pytest.mark.parametrize("engine", engines())
def test_a_nested_network_adds_one_tunnel_per_level(engine):
    """A car (MN 2, a router) rides in the bus from 0.5 s and the passenger in the car: two
    routers above it, three tunnels (120 B) on HA-AR0, and the routers' links [2] carry
    80 B and 40 B."""
    moves = [(0, BUS, AR0), (0, PASSENGER, AR0), (0, CAR, AR0)]
    networks = [(500 * MS, CAR, BUS), (500 * MS, PASSENGER, CAR)]
    c = run(engine, moves=moves, networks=networks, packets=[750 * MS])
    assert c.flow_hops_sum.tolist() == [2 + 3 + 2] and c.flow_direct_hops_sum.tolist() == [5]
    assert c.flow_overhead_bytes.tolist() == [120 + 80 + 40]
    assert c.flow_overhead_byte_hops.tolist() == [120 * 3 + 80 + 40]
    # The car and the passenger each register their new care-of address once.
    assert c.ho_kind.tolist()[3:] == [HO_HANDOVER, HO_HANDOVER]
    assert c.ho_bytes.tolist()[3:] == [96 + 80, 80 + 80]  # the car is a router


@pytest.mark.parametrize("engine", engines())
def test_the_bus_out_of_coverage_strands_its_passengers_without_their_signaling(engine):
    """The bus detaches at 1.4 s and attaches at AR0 at 1.8 s: the passenger's packet at
    1.5 s is lost, at 1.9 s delivered; the passenger sends nothing for it."""
    moves = [(0, BUS, AR0), (0, PASSENGER, AR0), (1400 * MS, BUS, -1), (1800 * MS, BUS, AR0)]
    c = run(engine, moves=moves, networks=[(500 * MS, PASSENGER, BUS)],
            packets=[1500 * MS, 1900 * MS])
    assert c.flow_lost.tolist() == [1] and c.flow_packets.tolist() == [2]
    assert c.ho_msgs.tolist() == [2, 2, 0, 2, 2]  # bus: attach, detach (none), attach
    assert c.sig_msgs[:, BU].sum() == 2  # the passenger's attach and its boarding


@pytest.mark.parametrize("engine", engines())
def test_boarding_a_detached_bus_waits_for_it_to_attach(engine):
    """The passenger boards at 0.5 s while the bus is out of coverage (from 0.3 s); its
    registration runs when the bus attaches at 0.8 s, reported on its networks row."""
    moves = [(0, BUS, AR0), (0, PASSENGER, AR0), (300 * MS, BUS, -1), (800 * MS, BUS, AR1)]
    c = run(engine, moves=moves, networks=[(500 * MS, PASSENGER, BUS)],
            packets=[600 * MS, 900 * MS])
    assert c.flow_lost.tolist() == [1]  # at 0.6 s: behind the detached bus
    assert c.ho_kind.tolist()[4] == HO_ATTACH and c.ho_to.tolist()[4] == AR1
    assert c.ho_msgs.tolist()[4] == 2
    assert c.flow_hops_sum.tolist() == [6]


def test_not_applicable_without_a_mobile_router(tmp_path) -> None:
    import dmmemu
    from dmmemu.trace.writer import write_trace

    path = write_trace(
        tmp_path / "t", name="t", topology=TOPOLOGY,
        mobility={"t": np.array([0]), "mn": np.array([0]), "poa": np.array([AR0])},
        flows={"flow": np.array([0]), "mn": np.array([0]), "peer": np.array([CN]),
               "start": np.array([0]), "end": np.array([S])})
    assert dmmemu.run(path, "nemo").summary["not_applicable"].to_list() == [
        "the trace has no mobile router (networks.parquet names none)"]


def test_pcap_of_the_router_messages_and_the_nested_tunnels(tmp_path) -> None:
    """The hand trace as a trace directory, exported: tshark dissects the router's BU with
    the R flag and the prefix, the BA with the R flag, and the data packets in one, two and
    three tunnels."""
    from tshark import check_fields, dissect, need_tshark, problems, protocols, values

    from dmmemu.report.pcap import export_pcap
    from dmmemu.trace.writer import write_trace

    need_tshark()
    moves = [(0, BUS, AR0), (0, PASSENGER, AR0), (0, CAR, AR0)]
    path = write_trace(
        tmp_path / "nemo", name="nemo", topology=TOPOLOGY,
        mobility={"t": np.array([m[0] for m in moves]), "mn": np.array([m[1] for m in moves]),
                  "poa": np.array([m[2] for m in moves])},
        flows={"flow": np.array([7]), "mn": np.array([PASSENGER]), "peer": np.array([CN]),
               "start": np.array([0]), "end": np.array([3 * S])},
        packets={"t": np.array([250, 750, 1250]) * MS, "flow": np.array([7, 7, 7]),
                 "size": np.array([1000] * 3), "dir": np.array([1, 1, 1])},
        networks={"t": np.array([500, 500, 1000]) * MS, "mn": np.array([CAR, PASSENGER,
                                                                          PASSENGER]),
                  "router": np.array([BUS, CAR, BUS])})
    summary = export_pcap(path, "nemo", tmp_path / "nemo.pcap", segment="last", limit=100,
                          params=ZERO)
    assert summary.encapsulations == {"ipv6-in-ipv6": 1, "nested3-ipv6-in-ipv6": 1,
                                      "nested-ipv6-in-ipv6": 1}
    assert summary.messages == {"BU-MR": 2 + 1, "BA-MR": 2 + 1, "BU": 1 + 2, "BA": 1 + 2}
    packets = dissect(summary.path)
    for layers in packets:
        assert problems(layers) == [], protocols(layers)
    router_bu = [layers for layers in packets if values(layers, "mip6.nemo.bu.r_flag") == ["1"]]
    assert len(router_bu) == 3
    assert sum(values(layers, "mip6.nemo.ba.r_flag") == ["1"] for layers in packets) == 3
    check_fields(router_bu[0], {"mip6.nemo.bu.r_flag": "1", "mip6.nemo.mnp.pfl": "64"})
    data = [layers for layers in packets if "udp" in protocols(layers)]
    assert sorted(protocols(layers).count("ipv6") for layers in data) == [2, 3, 4]
    # Downlink: the user packet inside every tunnel comes from the correspondent.
    from ipaddress import IPv6Address

    from dmmemu.report.pcap import node_ipv6
    cn = str(IPv6Address(node_ipv6(CN)))
    assert [values(layers, "ipv6.src")[-1] for layers in data] == [cn] * 3
