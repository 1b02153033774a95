"""epc (TS 23.401) by hand, on both engines, on an EPS of two SGW service areas of two eNBs
each (``Eps(sgw_rows=1, sgw_cols=2, enb_rows=1, enb_cols=2)``, one HeNB site beside);
one-way delays in ms, hops in brackets:

    PGW 1 --2-- CORE 0 --1-- MME 2          MME-SGW 3 [2], MME-eNB 4 [3]
                 |  \\--10-- CN 3            PGW-SGW 4 [2], CN-PGW 12 [2]
                 |--2-- SGW0 4 --1-- eNB 5, eNB 6        eNB5-eNB6 2 [2]
                 \\--2-- SGW1 7 --1-- eNB 8, eNB 9        eNB6-eNB8 6 [4]

MN 0 attaches at eNB 5, moves to eNB 6 at 1 s (an X2 handover, SGW kept) and to eNB 8 at
2 s (an X2 handover with SGW relocation); one flow from CN 3, downlink packets of 1000 B.
The expected sequences are TS 23.401 §5.3.2.1 (attach), §5.5.1.1.2, §5.5.1.1.3 and
§5.5.1.2.2 (S1), message by message; sizes are the formats' (docs/sizes.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hand_runs import engines, one_mn, replay
from tshark import dissect, need_tshark, problems, read_pcap, values

import dmmemu
from dmmemu.engine.signaling import CAUSE_ATTACH, CAUSE_DEREGISTRATION, CAUSE_HANDOVER
from dmmemu.errors import PracticeError
from dmmemu.practices import get_practice
from dmmemu.practices.epc import KIND
from dmmemu.report.pcap import export_pcap
from dmmemu.synthetic import SyntheticTrace
from dmmemu.topology.generators import Eps

TOPOLOGY = Eps(pgws=1, sgw_rows=1, sgw_cols=2, enb_rows=1, enb_cols=2, henb_sites=1,
               henbs_per_site=1, correspondents=1).build()
PGW, MME, CN, SGW0, ENB5, ENB6, SGW1, ENB8 = 1, 2, 3, 4, 5, 6, 7, 8
MS = 1_000_000
S = 1000 * MS
FLOW = 7
SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"

ATTACH = [("Create Session Request (S11)", 275), ("Create Session Request (S5)", 275),
          ("Create Session Response (S5)", 240), ("Create Session Response (S11)", 266),
          ("S1AP Initial Context Setup Request", 252),
          ("S1AP Initial Context Setup Response", 92), ("Modify Bearer Request (S11)", 79),
          ("Modify Bearer Response (S11)", 74)]
X2 = [("X2AP Handover Request", 356), ("X2AP Handover Request Acknowledge", 224),
      ("X2AP SN Status Transfer", 88), ("S1AP Path Switch Request", 120)]
X2_END = [("S1AP Path Switch Request Acknowledge", 108), ("X2AP UE Context Release", 68)]
KEPT = [("Modify Bearer Request (S11)", 79), ("End Marker", 36),
        ("Modify Bearer Response (S11)", 74)]
RELOCATED = [("Create Session Request (S11, relocation)", 301),
             ("Modify Bearer Request (S5)", 100), ("End Marker", 36), ("End Marker", 36),
             ("Modify Bearer Response (S5)", 100), ("Create Session Response (S11)", 266)]
OLD_SGW = [("Delete Session Request (S11)", 70), ("Delete Session Response (S11)", 51)]


def run(engine, packets, params=None, moves=((0, ENB5), (S, ENB6), (2 * S, ENB8))):
    trace = one_mn(TOPOLOGY, list(moves), [(FLOW, CN, 0, 3 * S)], 3 * S)
    tables = get_practice("epc", params or {}).compile(TOPOLOGY)
    return replay(engine, tables, trace, [(t, FLOW, 1000, 1) for t in packets])


def counted(c, cause, sequence):
    """The (kind, bytes) counts of ``cause`` against ``sequence``'s, kind by kind."""
    expected: dict[int, list[int]] = {}
    for name, size in sequence:
        msgs, nbytes = expected.setdefault(KIND[name], [0, 0])
        expected[KIND[name]] = [msgs + 1, nbytes + size]
    got = {k: [int(c.sig_msgs[cause][k]), int(c.sig_bytes[cause][k])]
           for k in range(c.sig_msgs.shape[1]) if c.sig_msgs[cause][k]}
    return got == expected


@pytest.mark.parametrize("engine", engines())
def test_attach_then_x2_handovers_without_and_with_sgw_relocation(engine) -> None:
    """The attach's bearer setup completes when the Modify Bearer Request reaches the SGW:
    3 + 4 + 4 + 3 + 4 + 4 + 3 = 25 ms after the 50 ms of radio attach. The X2 handovers
    forward the downlink over X2 while the path switches: each interrupts for the radio
    part alone (50 ms); the first keeps SGW0 (9 messages), the second relocates to SGW1
    (14 messages: Create Session there, Modify Bearer to the PGW, End Markers PGW -> SGW0
    -> eNB 6, Delete Session at SGW0)."""
    packets = [70 * MS, 80 * MS, 500 * MS, 1040 * MS, 1060 * MS, 2049 * MS, 2051 * MS]
    c = run(engine, packets)
    assert c.ho_signaling_ns.tolist() == [25 * MS, 0, 0]
    assert c.ho_interruption_ns.tolist() == [75 * MS, 50 * MS, 50 * MS]
    assert c.flow_lost.tolist() == [3]  # 70 ms, 1.04 s and 2.049 s
    # Every path: CN -> PGW [2], PGW -> SGW (36 B, [2]), SGW -> eNB (36 B, [1]): 5 hops, 17
    # ms, 72 B of GTP-U; direct CN -> eNB: 3 hops.
    assert c.flow_hops_sum.tolist() == [4 * 5] and c.flow_direct_hops_sum.tolist() == [4 * 3]
    assert c.flow_delay_ns_sum.tolist() == [4 * 17 * MS]
    assert c.flow_overhead_bytes.tolist() == [4 * 72]
    assert c.flow_overhead_byte_hops.tolist() == [4 * (36 * 2 + 36)]
    assert c.anchor_packets[PGW] == 4
    assert counted(c, CAUSE_ATTACH, ATTACH)
    assert counted(c, CAUSE_HANDOVER, 2 * X2 + KEPT + RELOCATED + OLD_SGW + 2 * X2_END)
    assert c.ho_msgs.tolist() == [8, 9, 14]
    assert c.ho_bytes.tolist() == [1553, 1153, 1924]
    # Messages each node sends or receives: the MME 6 of the attach's, 4 and 6 of the
    # handovers' (Path Switch, Modify Bearer or Create and Delete Session); SGW0 6, 3, and
    # the End Marker through it and the Delete Session; SGW1 the relocation's 4.
    assert c.anchor_sig_msgs[MME] == 6 + 4 + 6
    assert c.anchor_sig_msgs[SGW0] == 6 + 3 + 2 + 2
    assert c.anchor_sig_msgs[SGW1] == 4


@pytest.mark.parametrize("engine", engines())
def test_without_data_forwarding_the_path_switch_interrupts(engine) -> None:
    """Without forwarding the downlink waits for the new path: SGW kept, the Modify Bearer
    Request reaching SGW0 (X2 2 + 2 + 2, Path Switch 4, Modify Bearer 3: 13 ms); relocated,
    the Modify Bearer Request reaching the PGW (6 + 6 + 6 + 4, Create Session 3, 4: 29 ms)."""
    c = run(engine, [1062 * MS, 1064 * MS, 2078 * MS, 2080 * MS], {"data_forwarding": False})
    assert c.ho_signaling_ns.tolist() == [25 * MS, 13 * MS, 29 * MS]
    assert c.ho_interruption_ns.tolist()[1:] == [63 * MS, 79 * MS]
    assert c.flow_lost.tolist() == [2] and c.ho_lost.tolist() == [0, 1, 1]


@pytest.mark.parametrize("engine", engines())
def test_s1_handovers_go_through_the_mme(engine) -> None:
    """handover = s1 (§5.5.1.2.2) with indirect forwarding: Handover Required, Request and
    Acknowledge, a forwarding tunnel at the source SGW, Command, the two Status Transfers,
    Notify, Modify Bearer, the UE context released at the source eNB and the tunnel deleted:
    16 messages with the SGW kept; relocated, also Create Session at the target SGW, its own
    forwarding tunnel, Modify Bearer to the PGW, two End Markers instead of one, Delete
    Session at the old SGW: 27."""
    c = run(engine, [500 * MS], {"handover": "s1"})
    assert c.ho_msgs.tolist() == [8, 16, 27]
    tunnels = c.sig_msgs[CAUSE_HANDOVER][KIND["Create Indirect Data Forwarding Tunnel Request"]]
    assert tunnels == 1 + 2
    assert c.sig_msgs[CAUSE_HANDOVER][KIND["X2AP Handover Request"]] == 0
    direct = run(engine, [500 * MS], {"handover": "s1", "indirect_forwarding": False})
    assert direct.ho_msgs.tolist() == [8, 12, 19]


@pytest.mark.parametrize("engine", engines())
def test_pmip_based_s5(engine) -> None:
    """s5 = pmip (TS 23.402): the SGW is a MAG; a PBU/PBA pair (136 - 12 B over IPv4, with
    the GRE key) stands for each S5 GTPv2-C exchange, no End Marker crosses S5, and the S5
    segment is keyed GRE (28 B)."""
    c = run(engine, [500 * MS, 2500 * MS], {"s5": "pmip"})
    assert c.ho_msgs.tolist() == [8, 9, 14 - 2]
    assert c.sig_msgs[CAUSE_ATTACH][KIND["PBU (S5)"]] == 1
    assert c.sig_msgs[CAUSE_HANDOVER][KIND["PBU (S5)"]] == 1
    assert c.flow_overhead_bytes.tolist() == [2 * (28 + 36)]


@pytest.mark.parametrize("engine", engines())
def test_a_detach_releases_the_s1_connection_only(engine) -> None:
    """A detach at 1.5 s: eNB 6 asks the MME to release the UE context, Release Access
    Bearers with SGW0, the UE context released at eNB 6 (5 messages); the PDN connection
    outlives it, so the flow goes on after the MN is back at 2 s (its attach sets the
    bearer up again)."""
    c = run(engine, [500 * MS, 2500 * MS], moves=((0, ENB5), (S, ENB6), (1500 * MS, -1),
                                                  (2 * S, ENB8)))
    assert c.sig_msgs[CAUSE_DEREGISTRATION].sum() == 5
    assert c.sig_msgs[CAUSE_DEREGISTRATION][KIND["S1AP UE Context Release Request"]] == 1
    assert c.flow_broken.tolist() == [0] and c.flow_lost.tolist() == [0]
    assert c.ho_msgs.tolist() == [8, 9, 5, 8]


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(PracticeError, match="handover"):
        get_practice("epc", {"handover": "n2"})
    with pytest.raises(PracticeError, match="transport = ipv4"):
        get_practice("epc", {"s5": "pmip", "transport": "ipv6"})


def test_ipv6_transport_is_56_bytes_a_segment() -> None:
    tables = get_practice("epc", {"transport": "ipv6"}).compile(TOPOLOGY)
    assert tables.segment_bytes.tolist() == [56, 56]


def test_sample_runs_it_beside_the_others_and_moves_to_wlan_over_s2a() -> None:
    """On the composite sample the WiFi ARs lie outside every SGW area: the MNs reach them
    over S2a, and come back to the EPS through a handover attach."""
    result = dmmemu.run(SAMPLE, "epc")
    summary = result.summary.row(0, named=True)
    assert summary["not_applicable"] is None and summary["handovers"] > 0
    sig = result.signaling
    by_kind = dict(zip(sig["message"].to_list(), sig["msgs"].to_list()))
    assert by_kind["Create Session Request (S2a)"] > 0
    assert by_kind["Create Session Request (S11, relocation)"] > 0
    assert by_kind["X2AP Handover Request"] > 0


def test_not_applicable_without_sgw_areas(tmp_path) -> None:
    trace = tmp_path / "wifi"
    SyntheticTrace(topology="flat-wifi", mns=3, packets=2000, duration_s=60.0,
                   seed=1).generate(trace)
    result = dmmemu.run(trace, "epc")
    assert "SGW service area" in result.summary["not_applicable"][0]


def test_pcap_shows_gtpu_on_both_segments_and_an_sgw_relocation(tmp_path) -> None:
    """dmmemu pcap -p epc on a generated EPS trace: GTP-U data captured on the S5 segment
    and on S1-U, the GTPv2-C messages of an SGW relocation, End Markers; tshark dissects
    every packet cleanly; S1AP and X2AP are counted but not written."""
    need_tshark()
    trace = tmp_path / "eps"
    SyntheticTrace(topology="eps", mns=20, packets=20_000, duration_s=600.0,
                   seed=3).generate(trace)
    gtpv2, left_out = set(), {}
    for segment in ("first", "last"):
        out = tmp_path / f"{segment}.pcap"
        summary = export_pcap(trace, "epc", out, segment=segment, limit=4000)
        assert summary.encapsulations.get("gtpu-ipv4", 0) > 0
        packets = dissect(out)
        assert [p for layers in packets for p in problems(layers)] == []
        assert all("gtp" in layers or "gtpv2" in layers for layers in packets)
        gtpv2 |= set(values(packets, "gtpv2.message_type"))
        assert not any(name.startswith(("S1AP", "X2AP")) for name in summary.messages)
        left_out.update(summary.left_out)
    # Create Session (32, 33), Modify Bearer (34, 35), Delete Session (36, 37).
    assert {"32", "33", "34", "35", "36", "37"} <= gtpv2
    assert len(read_pcap(out)) == summary.packets
    # Counted in the sample's span, not written: the attach's and the handovers' S1AP/X2AP.
    assert {"S1AP-InitialContextSetupRequest", "X2AP-HandoverRequest"} <= set(left_out)
