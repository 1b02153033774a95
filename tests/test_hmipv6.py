"""``hmipv6`` by hand on ``Hierarchical(area_rows=1, area_cols=2, ar_rows=1, ar_cols=2,
correspondents=1)``: two MAP domains of two ARs, each behind its aggregation node (the MAP).
One-way delays in µs:

    CN 2 --10000-- CORE 0 --2000-- HA 1 (the central anchor)
                     | 2000                    | 2000
               MAP0 3 (agg0.0)           MAP1 6 (agg0.1)
              500 /    \\ 500             500 /    \\ 500
            AR0 4     AR1 5            AR2 7     AR3 8

One MN: AR0 from 0, AR1 at 2 s (inside the domain), AR2 at 4 s (a new domain), to the end
at 6 s; one flow, a downlink packet at 3 s. Every interruption component and the HA's hold
are 0, so the signaling times are the message delays alone. Both engines.
"""

from __future__ import annotations

import numpy as np
import pytest
from hand_runs import engines, one_mn, replay

from dmmemu.engine.signaling import CAUSE_ATTACH, CAUSE_HANDOVER
from dmmemu.errors import PracticeError
from dmmemu.practices import HMIPv6, get_practice
from dmmemu.topology.generators import FlatWifi, Hierarchical

S = 1_000_000_000
US = 1_000
HA, CN, MAP0, AR0, AR1, MAP1, AR2 = 1, 2, 3, 4, 5, 6, 7
TOPOLOGY = Hierarchical(area_rows=1, area_cols=2, ar_rows=1, ar_cols=2, correspondents=1).build()
MOVES = [(0, AR0), (2 * S, AR1), (4 * S, AR2)]
END = 6 * S


def run(engine):
    practice = HMIPv6(link_loss_ms=0.0, l2_attach_ms=0.0, detection_ms=0.0,
                      optimistic_dad=True, ha_dad_ms=0.0)
    trace = one_mn(TOPOLOGY, MOVES, [(0, CN, 0, END)], END)
    return replay(engine, practice.compile(TOPOLOGY), trace, [(3 * S, 0, 1000, 1)])


def test_topology_is_the_one_drawn() -> None:
    names = [TOPOLOGY.nodes[i].name for i in (HA, MAP0, AR1, MAP1, AR2)]
    assert names == ["central-anchor", "agg0.0", "ar0.1", "agg0.1", "ar0.2"]
    assert TOPOLOGY.delay_ns[AR0, HA] == 4500 * US and TOPOLOGY.delay_ns[AR0, MAP0] == 500 * US


@pytest.mark.parametrize("engine", engines())
def test_local_moves_stay_at_the_map(engine) -> None:
    c = run(engine)
    kinds = [k.name for k in HMIPv6.message_kinds]
    # Attach: IKEv2 with MAP0 (4 messages, 4 x 0.5 ms), the local BU/BA (1 ms), then the
    # BU/BA with the HA (2 x 4.5 ms): 8 messages, 12 ms. Inside the domain: the local BU/BA
    # only, 1 ms. A new domain: the same 8 as the attach, plus the local BU to MAP0 (sent
    # after MAP1's BA, it delays nothing).
    assert c.ho_msgs.tolist() == [8, 2, 9]
    assert c.ho_signaling_ns.tolist() == [12000 * US, 1000 * US, 12000 * US]
    handover = dict(zip(kinds, c.sig_msgs[CAUSE_HANDOVER].tolist()))
    assert handover == {"BU": 1, "BA": 1, "BU de-registration": 0, "BA de-registration": 0,
                        "local BU": 3, "local BA": 2, "IKE_SA_INIT": 1,
                        "IKE_SA_INIT response": 1, "IKE_AUTH": 1, "IKE_AUTH response": 1}
    assert c.sig_msgs[CAUSE_ATTACH, kinds.index("IKE_AUTH")] == 1
    # The MAPs' load: MAP0 the attach's 6 and the local BU/BA at AR1 and the previous
    # MAP's local BU; MAP1 the new domain's 6.
    assert c.anchor_sig_msgs[[MAP0, MAP1]].tolist() == [6 + 2 + 1, 6]
    assert c.anchor_sig_msgs[HA] == 2 + 2
    # The packet at 3 s (AR1): CN -> HA 12 ms, HA -> MAP0 4 ms in the HA's tunnel (40 B),
    # MAP0 -> AR1 0.5 ms in the MAP's tunnel around it (80 B); 2 + 2 + 1 hops, direct 3.
    assert c.flow_delay_ns_sum[0] == 16500 * US
    assert c.flow_overhead_bytes[0] == 40 + 80
    assert (c.flow_hops_sum[0], c.flow_direct_hops_sum[0]) == (5, 3)
    assert c.flow_overhead_byte_hops[0] == 40 * 2 + 80 * 1


def test_plain_mipv6_outside_every_domain_and_not_applicable_without_one() -> None:
    flat = FlatWifi(rows=1, cols=2).build()
    tables = get_practice("hmipv6").compile(flat)
    assert (tables.chain == -1).all()

    class Flat:
        topology = flat

    assert "no MAP domain" in get_practice("hmipv6").not_applicable(Flat())
    with pytest.raises(PracticeError, match="never at home"):
        get_practice("hmipv6", {"home_link": "ar0.0"}).compile(TOPOLOGY)


def test_pcap_of_every_message_and_the_nested_tunnel(tmp_path) -> None:
    """The hand trace written as a trace directory and exported: tshark dissects every
    message (IKEv2, local BU/BA, BU/BA) and the data packet cleanly, in the MAP's nested
    tunnel on the segment to the AR."""
    from tshark import dissect, need_tshark, problems, protocols

    from dmmemu.report.pcap import export_pcap
    from dmmemu.trace.writer import write_trace

    need_tshark()
    path = write_trace(
        tmp_path / "hmip", name="hmip", topology=TOPOLOGY,
        mobility={"t": np.array([m[0] for m in MOVES]), "mn": np.zeros(3, np.int64),
                  "poa": np.array([m[1] for m in MOVES])},
        flows={"flow": np.array([0]), "mn": np.array([0]), "peer": np.array([CN]),
               "start": np.array([0]), "end": np.array([END]), "continuity": np.array([True])},
        packets={"t": np.array([3 * S]), "flow": np.array([0]), "size": np.array([1000]),
                 "dir": np.array([1])})
    summary = export_pcap(path, "hmipv6", tmp_path / "hmip.pcap", segment="last", limit=100,
                          params={"ha_dad_ms": 0.0, "link_loss_ms": 0.0, "l2_attach_ms": 0.0,
                                  "detection_ms": 0.0, "optimistic_dad": True})
    assert summary.messages == {"IKE-SA-INIT": 2, "IKE-SA-INIT-R": 2, "IKE-AUTH": 2,
                                "IKE-AUTH-R": 2, "LBU": 4, "BA": 3 + 2, "BU": 2}
    assert summary.encapsulations == {"nested-ipv6-in-ipv6": 1}
    packets = dissect(summary.path)
    assert len(packets) == summary.packets == 19 + 1
    for layers in packets:
        assert problems(layers) == [], protocols(layers)
    assert sum("isakmp" in protocols(layers) for layers in packets) == 8


def run_rcoa(engine):
    """Flow 0 needs no continuity and uses the RCoA (``rcoa_without_continuity``), flow 1
    the home address; a packet of each at 3 s (AR1, MAP0's domain) and at 5 s (AR2,
    MAP1's)."""
    import dataclasses

    practice = HMIPv6(link_loss_ms=0.0, l2_attach_ms=0.0, detection_ms=0.0,
                      optimistic_dad=True, ha_dad_ms=0.0, rcoa_without_continuity=True)
    trace = one_mn(TOPOLOGY, MOVES, [(0, CN, 0, END), (1, CN, 0, END)], END)
    trace = dataclasses.replace(trace, flow_continuity=np.array([0, 1], np.uint8))
    return replay(engine, practice.compile(TOPOLOGY), trace,
                  [(3 * S, 0, 1000, 1), (3 * S, 1, 1000, 1), (5 * S, 0, 1000, 1),
                   (5 * S, 1, 1000, 1)])


@pytest.mark.parametrize("engine", engines())
def test_flows_on_the_rcoa_skip_the_ha_and_break_leaving_the_domain(engine) -> None:
    """RFC 5380 §3, §6.2: the MAP tunnels packets to the RCoA to the LCoA; a session on
    the RCoA is routed by the MAP alone. At 3 s flow 0 goes
    CN -> MAP0 (12 ms, 2 hops) -> AR1 (0.5 ms) in the MAP's tunnel alone (40 B), the
    direct path itself (3 hops: stretch 1); flow 1 still takes the HA (16.5 ms, 40 + 80
    B). At 4 s the MN leaves MAP0's domain: the RCoA dies, flow 0 breaks and its packet at
    5 s is lost, flow 1 goes on through MAP1. The RCoA adds no message: the moves send the
    8, 2 and 9 of the home address alone, the local BU/BA once."""
    c = run_rcoa(engine)
    assert c.ho_msgs.tolist() == [8, 2, 9]
    assert c.ho_signaling_ns.tolist() == [12000 * US, 1000 * US, 12000 * US]
    assert int(c.sig_msgs.sum()) == 8 + 2 + 9
    assert c.flow_delay_ns_sum.tolist() == [12500 * US, 2 * 16500 * US]
    assert c.flow_overhead_bytes.tolist() == [40, 2 * (40 + 80)]
    assert c.flow_overhead_byte_hops.tolist() == [40 * 1, 2 * (40 * 2 + 80 * 1)]
    assert (c.flow_hops_sum.tolist(), c.flow_direct_hops_sum.tolist()) == ([3, 10], [3, 6])
    assert c.flow_lost.tolist() == [1, 0] and c.flow_broken.tolist() == [1, 0]
    assert c.anchor_packets[[HA, MAP0, MAP1]].tolist() == [2, 1, 0]
    assert c.anchor_peak_bindings[[HA, MAP0]].tolist() == [1, 1]  # the RCoA at MAP0


def test_rcoa_rules_name_their_flows() -> None:
    tables = HMIPv6(rcoa_apps=("video",), rcoa_without_continuity=True).compile(TOPOLOGY)
    names = [c.name for c in tables.flow_classes]
    assert names == ["rcoa video", "rcoa without continuity", "all"]
    assert tables.offload[0, [AR0, AR1, AR2]].tolist() == [MAP0, MAP0, MAP1]
    assert tables.scope[MAP0, [AR0, AR1, AR2]].tolist() == [1, 1, 0]
    assert tables.scope[HA].all() and tables.bypass[[HA, MAP0, MAP1]].tolist() == [0, 1, 1]
    assert HMIPv6().compile(TOPOLOGY).flow_classes == (tables.flow_classes[-1],)
