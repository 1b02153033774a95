"""5g-ssc1, 5g-ssc2 and 5g-ssc3 (TS 23.501 §5.6.9, TS 23.502) by hand, on both engines, on the
converged core of ``Eps(sgw_rows=1, sgw_cols=2, enb_rows=1, enb_cols=2)``: a UPF at each
SGW site serving that area and one at the PGW, the AMF and SMF on the MME's node; one-way
delays in ms, hops in brackets:

    UPF 1 --2-- CORE 0 --1-- AMF/SMF 2       SMF-UPF 3 [2], AMF-gNB 4 [3]
                 |  \\--10-- CN 3             UPF4-UPF7 4 [2], CN-UPF 12 [2]
                 |--2-- UPF4 --1-- gNB 5, gNB 6        gNB5-gNB6 2 [2]
                 \\--2-- UPF7 --1-- gNB 8, gNB 9        gNB6-gNB8 6 [4]

MN 0 attaches at gNB 5 (the nearest UPF, 4, becomes its PSA), moves inside UPF 4's area
and out of it; one flow from CN 3, downlink packets of 1000 B. The expected sequences are
TS 23.502 §4.3.2.2.1 (establishment), §4.9.1.2.2–5 (Xn handovers without a new UPF, with
an I-UPF inserted, re-allocated, removed; each after the XnAP preparation between the
gNBs, TS 38.300 §9.2.3.2.1), §4.3.5.1 with §4.3.4.2 (SSC mode 2's
release) and §4.3.5.2 with §4.3.3.2 (SSC mode 3's PDU Session Modification Command with the
address lifetime, then the new session), message by message; sizes are the formats'
(docs/sizes.md).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hand_runs import engines, one_mn, replay

import dmmemu
from dmmemu.engine.replay_io import EVENT_ADDRESS_RELEASED
from dmmemu.engine.signaling import (
    CAUSE_ATTACH,
    CAUSE_DEPRECATION,
    CAUSE_HANDOVER,
    CAUSE_RELEASE,
    CAUSE_RETIREMENT,
)
from dmmemu.practices import get_practice
from dmmemu.practices.fiveg import KINDS, SSC3_KINDS, n3_upfs
from dmmemu.synthetic import SyntheticTrace
from dmmemu.topology.generators import Eps
from dmmemu.wire.sizes import MESSAGES

TOPOLOGY = Eps(pgws=1, sgw_rows=1, sgw_cols=2, enb_rows=1, enb_cols=2, henb_sites=1,
               henbs_per_site=1, correspondents=1).build()
UPF1, SMF, CN, UPF4, GNB5, GNB6, UPF7, GNB8, GNB9 = 1, 2, 3, 4, 5, 6, 7, 8, 9
MS = 1_000_000
S = 1000 * MS
FLOW = 7
SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"

ESTABLISHMENT = ["N2 UL NAS Transport (PDU Session Establishment Request)",
                 "N4 Session Establishment Request", "N4 Session Establishment Response",
                 "N2 PDU Session Resource Setup Request",
                 "N2 PDU Session Resource Setup Response",
                 "N4 Session Modification Request", "N4 Session Modification Response"]
XN = ["XnAP Handover Request", "XnAP Handover Request Acknowledge", "XnAP SN Status Transfer",
      "N2 Path Switch Request"]
XN_END = ["N2 Path Switch Request Acknowledge", "XnAP UE Context Release"]
MODIFIED = ["N4 Session Modification Request", "End Marker",
            "N4 Session Modification Response"]
INSERTED = ["N4 Session Establishment Request", "N4 Session Establishment Response"]
DELETED = ["N4 Session Deletion Request", "N4 Session Deletion Response"]
RELEASED = DELETED + ["N2 PDU Session Resource Release Command",
                      "N2 PDU Session Resource Release Response",
                      "N2 UL NAS Transport (PDU Session Release Complete)"]
RETIRED = ["N2 UL NAS Transport (PDU Session Release Request)"] + RELEASED  # UE-requested
DEPRECATED = ["N2 DL NAS Transport (PDU Session Modification Command)",
              "N2 UL NAS Transport (PDU Session Modification Complete)"]


def size(name: str) -> int:
    return MESSAGES[SSC3_KINDS.wire(name)].bytes


XN_BYTES = sum(size(name) for name in XN[:3] + XN_END[1:])  # the XnAP messages


def run(engine, key, packets, params=None, moves=((0, GNB5), (S, GNB6), (2 * S, GNB8)),
        continuity=True):
    trace = one_mn(TOPOLOGY, list(moves), [(FLOW, CN, 0, 4 * S)], 4 * S)
    if not continuity:
        trace = dataclasses.replace(trace, flow_continuity=np.zeros(1, np.uint8))
    tables = get_practice(key, params or {}).compile(TOPOLOGY)
    return replay(engine, tables, trace, [(t, FLOW, 1000, 1) for t in packets])


def counted(c, cause, sequence):
    """The (kind, bytes) counts of ``cause`` against ``sequence``'s, kind by kind."""
    expected: dict[int, list[int]] = {}
    for name in sequence:
        msgs, nbytes = expected.setdefault(SSC3_KINDS.index(name), [0, 0])
        expected[SSC3_KINDS.index(name)] = [msgs + 1, nbytes + size(name)]
    got = {k: [int(c.sig_msgs[cause][k]), int(c.sig_bytes[cause][k])]
           for k in range(c.sig_msgs.shape[1]) if c.sig_msgs[cause][k]}
    return got == expected


def test_the_n3_upf_of_each_gnb_is_its_areas() -> None:
    upf_of = n3_upfs(TOPOLOGY)
    assert upf_of[[GNB5, GNB6, GNB8, GNB9]].tolist() == [UPF4, UPF4, UPF7, UPF7]
    assert upf_of[11] == UPF4  # the HeNB lies in UPF 4's area too
    assert upf_of[[UPF1, SMF, CN, UPF4]].tolist() == [-1] * 4


@pytest.mark.parametrize("engine", engines())
def test_ssc1_keeps_its_psa_and_inserts_an_i_upf(engine) -> None:
    """The establishment completes when the N4 modification with the gNB's tunnel end
    reaches UPF 4 (UL NAS 4, N4 establishment 3 + 3, N2 setup 4 + 4, N4 modification 3:
    21 ms after the 50 ms radio attach). The Xn handovers forward the downlink while the
    path switches: each interrupts for the radio part alone. Each has the XnAP
    preparation (Handover Request, Acknowledge, SN Status Transfer) and the UE Context
    Release between the gNBs. Inside UPF 4's area (9 messages) the N3 UPF, the PSA, takes
    the new tunnel end and sends the End Marker; out of it (11) UPF 7 is inserted as I-UPF
    (N4 establishment), the PSA points its N9 at it and sends the End Marker to gNB 6."""
    packets = [60 * MS, 80 * MS, 500 * MS, 1040 * MS, 1060 * MS, 2049 * MS, 2051 * MS]
    c = run(engine, "5g-ssc1", packets)
    assert c.ho_signaling_ns.tolist() == [21 * MS, 0, 0]
    assert c.ho_interruption_ns.tolist() == [71 * MS, 50 * MS, 50 * MS]
    assert c.flow_lost.tolist() == [3]  # 60 ms, 1.04 s and 2.049 s
    # In the PSA's area: CN -> UPF 4 [2], UPF 4 -> gNB (44 B, [1]): 3 hops, 13 ms, the
    # direct path's. Out of it: CN -> UPF 4 [2], N9 to UPF 7 (44 B, [2]), N3 (44 B, [1]).
    assert c.flow_hops_sum.tolist() == [3 * 3 + 5]
    assert c.flow_direct_hops_sum.tolist() == [4 * 3]
    assert c.flow_delay_ns_sum.tolist() == [3 * 13 * MS + 17 * MS]
    assert c.flow_overhead_bytes.tolist() == [3 * 44 + 88]
    assert c.flow_overhead_byte_hops.tolist() == [3 * 44 + 44 * 2 + 44]
    assert c.anchor_packets[UPF4] == 4 and c.anchor_packets[UPF7] == 0
    assert counted(c, CAUSE_ATTACH, ESTABLISHMENT)
    assert counted(c, CAUSE_HANDOVER, 2 * XN + MODIFIED + INSERTED + MODIFIED + 2 * XN_END)
    assert c.ho_msgs.tolist() == [7, 9, 11]
    # NGAP over SCTP (docs/sizes.md): UL NAS 132, setup 272/92, path switch 120/128; PFCP
    # establishment 214/98, modification 85/49; the End Marker 36; XnAP 324 + 500 + 84 + 68.
    assert XN_BYTES == 324 + 500 + 84 + 68
    assert c.ho_bytes.tolist() == [132 + 214 + 98 + 272 + 92 + 85 + 49,
                                   XN_BYTES + 120 + 85 + 36 + 49 + 128,
                                   XN_BYTES + 120 + 214 + 98 + 85 + 36 + 49 + 128]
    # The SMF: 7 of the establishment's, 4 and 6 of the handovers'; UPF 4: 4, 3, 3;
    # UPF 7: the insertion's 2.
    assert c.anchor_sig_msgs[SMF] == 7 + 4 + 6
    assert c.anchor_sig_msgs[UPF4] == 4 + 3 + 3
    assert c.anchor_sig_msgs[UPF7] == 2


@pytest.mark.parametrize("engine", engines())
def test_ssc1_re_allocates_and_removes_the_i_upf(engine) -> None:
    """Away from the PSA: gNB 8 -> gNB 9 keeps UPF 7 as I-UPF (its N4 modification and End
    Marker, with the XnAP messages 9); gNB 9 -> gNB 6, back in the PSA's area, removes it:
    the PSA takes gNB 6's tunnel end, its End Marker goes through UPF 7 to gNB 9, and UPF 7's
    session is deleted (12 messages)."""
    moves = ((0, GNB5), (S, GNB8), (2 * S, GNB9), (3 * S, GNB6))
    c = run(engine, "5g-ssc1", [500 * MS, 3500 * MS], moves=moves)
    assert c.ho_msgs.tolist() == [7, 11, 9, 12]
    removal = c.sig_msgs[CAUSE_HANDOVER]
    assert removal[KINDS.index("N4 Session Deletion Request")] == 1
    assert removal[KINDS.index("End Marker")] == 1 + 1 + 2
    assert c.anchor_sig_msgs[UPF7] == 2 + 3 + 2 + 2  # inserted, kept, the markers, deleted
    assert c.flow_hops_sum.tolist() == [3 + 3] and c.flow_lost.tolist() == [0]


@pytest.mark.parametrize("engine", engines())
def test_ssc1_without_data_forwarding_waits_for_the_new_path(engine) -> None:
    """Without forwarding the downlink waits for the N4 modification that switches it, after
    the XnAP preparation (three messages between the gNBs: 3 x 2 ms from gNB 5 to gNB 6,
    3 x 6 ms from gNB 6 to gNB 8): in the area, at UPF 4 (6, Path Switch 4, N4 3: 13 ms);
    out of it, at the PSA after UPF 7's establishment (18, 4, 3 + 3, 3: 31 ms)."""
    c = run(engine, "5g-ssc1", [1062 * MS, 1064 * MS, 2080 * MS, 2082 * MS],
            {"data_forwarding": False})
    assert c.ho_signaling_ns.tolist() == [21 * MS, 13 * MS, 31 * MS]
    assert c.flow_lost.tolist() == [2] and c.ho_lost.tolist() == [0, 1, 1]


@pytest.mark.parametrize("engine", engines())
def test_ssc2_releases_the_session_leaving_its_area(engine) -> None:
    """SSC mode 2: the PSA is UPF 4, the UPF of gNB 5's area. Inside it the handover is
    SSC1's (9 messages). The move to gNB 8 releases the session (N4 deletion at UPF 4, N2
    release with cause #39 and the UE's Release Complete: 5 messages) and the UE establishes
    a new one at UPF 7 (the Xn handover's 6 messages and the establishment's 7: 18 in the
    row); its N4 modification
    reaches UPF 7 18 (XnAP) + 4 + 4 + 6 + 8 + 3 = 43 ms after the radio part. The flow
    needs continuity: it breaks."""
    c = run(engine, "5g-ssc2", [500 * MS, 1500 * MS, 2500 * MS, 3500 * MS])
    assert c.ho_msgs.tolist() == [7, 9, 18]
    assert c.ho_signaling_ns.tolist() == [21 * MS, 0, 43 * MS]
    assert counted(c, CAUSE_RELEASE, RELEASED)
    assert counted(c, CAUSE_HANDOVER, 2 * XN + MODIFIED + 2 * XN_END + ESTABLISHMENT)
    assert c.flow_broken.tolist() == [1] and c.flow_lost.tolist() == [2]
    assert c.anchor_sig_msgs[UPF7] == 4  # the new session's establishment and modification


@pytest.mark.parametrize("engine", engines())
def test_ssc2_flows_without_continuity_are_re_established_on_the_new_address(engine) -> None:
    """A flow that needs no continuity takes the new session's address: renumbered, lost
    until the new session is up (2 s + 50 + 43 ms = 2.093 s; its re-establishment, one round
    trip to CN 3 after the radio part, would allow 2.076 s), then carried by UPF 7 on the
    direct path."""
    c = run(engine, "5g-ssc2", [500 * MS, 2076 * MS, 2092 * MS, 2093 * MS, 2500 * MS],
            continuity=False)
    assert c.flow_broken.tolist() == [0] and c.flow_renumbered.tolist() == [1]
    assert c.flow_lost.tolist() == [2]
    assert c.anchor_packets[UPF4] == 1 and c.anchor_packets[UPF7] == 2
    assert c.flow_hops_sum.tolist() == [3 * 3] == c.flow_direct_hops_sum.tolist()


def test_ssc3_kinds_extend_the_other_modes() -> None:
    """The kinds the modes share keep their indices, so one count table reads them all."""
    assert SSC3_KINDS.rows[:len(KINDS.rows)] == KINDS.rows


@pytest.mark.parametrize("engine", engines())
def test_ssc3_makes_the_new_session_before_it_releases_the_old(engine) -> None:
    """SSC mode 3 with a 1 s address lifetime. Inside UPF 4's area the handover is SSC1's.
    The move to gNB 8 keeps the session through the Xn handover with UPF 7 inserted as
    I-UPF (SSC1's 11 messages), the SMF's Modification Command with the address lifetime and
    the UE's Complete (2, the deprecation's), then the UE's new session at UPF 7 (the
    establishment's 7) after the Path Switch Acknowledge. The row's interruption is the
    flow's, on the kept session: the radio part alone (the downlink is forwarded). The flow
    stays on the old session (CN -> UPF 4 -> UPF 7 -> gNB 8, 5 hops) until the lifetime
    ends at 3 s: the SMF releases it (5 messages, outside any handover row) and the flow,
    which needs continuity, breaks."""
    c = run(engine, "5g-ssc3", [500 * MS, 2500 * MS, 2900 * MS, 3100 * MS],
            {"address_lifetime_s": 1.0})
    assert c.ho_msgs.tolist() == [7, 9, 2 + 11 + 7]
    assert c.ho_signaling_ns.tolist() == [21 * MS, 0, 0]
    assert c.ho_interruption_ns.tolist() == [71 * MS, 50 * MS, 50 * MS]
    assert counted(c, CAUSE_ATTACH, ESTABLISHMENT)
    assert counted(c, CAUSE_DEPRECATION, DEPRECATED)
    assert counted(c, CAUSE_HANDOVER,
                   2 * XN + 2 * MODIFIED + INSERTED + 2 * XN_END + ESTABLISHMENT)
    assert counted(c, CAUSE_RELEASE, RELEASED)
    assert c.flow_broken.tolist() == [1] and c.flow_lost.tolist() == [1]  # at 3.1 s
    assert c.flow_hops_sum.tolist() == [3 + 5 + 5]
    assert c.anchor_packets[UPF4] == 3 and c.anchor_packets[UPF7] == 0
    released = c.event_t[c.event_kind == EVENT_ADDRESS_RELEASED].tolist()
    assert released == [3 * S]
    # UPF 7: the I-UPF's establishment (2) and the new session's establishment and
    # modification (4); UPF 4: 4 + 3 (attach, in-area move), the PSA's modification and
    # End Marker (3), its deletion (2).
    assert c.anchor_sig_msgs[UPF7] == 2 + 4
    assert c.anchor_sig_msgs[UPF4] == 4 + 3 + 3 + 2


@pytest.mark.parametrize("engine", engines())
def test_ssc3_renumbers_flows_without_continuity_at_the_lifetimes_end(engine) -> None:
    """A flow that needs no continuity stays on the old session while it lives, then is
    re-established on the new one from the lifetime's end: lost for one round trip to CN 3
    (2 x 13 ms, until 3.026 s), then on the direct path through UPF 7."""
    c = run(engine, "5g-ssc3",
            [500 * MS, 2500 * MS, 3010 * MS, 3025 * MS, 3026 * MS, 3500 * MS],
            {"address_lifetime_s": 1.0}, continuity=False)
    assert c.flow_broken.tolist() == [0] and c.flow_renumbered.tolist() == [1]
    assert c.flow_lost.tolist() == [2]
    assert c.anchor_packets[UPF4] == 2 and c.anchor_packets[UPF7] == 2
    assert c.flow_hops_sum.tolist() == [3 + 5 + 3 + 3]


@pytest.mark.parametrize("engine", engines())
def test_ssc3_releases_the_old_session_when_its_last_flow_ends(engine) -> None:
    """The old session goes as soon as nothing holds it: its flow ends at 1.5 s, long
    before the 60 s default lifetime, and the UE releases it then (§4.3.4.2 UE-requested:
    its Release Request, then the network's release, 6 messages), outside any handover row;
    no timer fires later. A flow that starts after the move uses the new
    session at UPF 7; the next move (gNB 8 -> gNB 9, inside UPF 7's area) is SSC1's."""
    c = two_flows(engine, [(500 * MS, FLOW, 1000, 1), (1100 * MS, FLOW, 1000, 1),
                           (1300 * MS, FLOW + 1, 1000, 1)])
    assert c.ho_msgs.tolist() == [7, 20, 9]
    assert counted(c, CAUSE_RETIREMENT, RETIRED)
    assert not c.sig_msgs[CAUSE_RELEASE].any()
    assert not (c.event_kind == EVENT_ADDRESS_RELEASED).any()
    assert c.flow_anchor.tolist() == [UPF4, UPF7]
    assert c.flow_hops_sum.tolist() == [3 + 5, 3]


@pytest.mark.parametrize("engine", engines())
def test_ssc3_releases_a_session_no_flow_holds_at_the_move(engine) -> None:
    """Flows bind their session at their first packet (semantics.md §7.3): with none
    before the move, nothing holds the old session when the move takes it out of its area,
    and the UE releases it in the handover's row at once (docs/practices.md: its path
    switch, which the UE would get before it moves its traffic, is not counted): the
    deprecation's 2, the UE-requested release's 6, the XnAP messages, the Path Switch
    Request and Acknowledge and the new session's 7."""
    c = two_flows(engine, [(1100 * MS, FLOW, 1000, 1), (1300 * MS, FLOW + 1, 1000, 1)])
    assert c.ho_msgs.tolist() == [7, 2 + 6 + 6 + 7, 9]
    assert counted(c, CAUSE_RETIREMENT, RETIRED)
    assert c.flow_anchor.tolist() == [UPF7, UPF7]


def two_flows(engine, packets):
    """5g-ssc3 on MN 0 moving gNB 5 -> gNB 8 (1 s) -> gNB 9 (2 s), flow 7 from 0 to 1.5 s
    and flow 8 from 1.2 to 3 s."""
    moves = [(0, GNB5), (S, GNB8), (2 * S, GNB9)]
    flows = [(FLOW, CN, 0, 1500 * MS), (FLOW + 1, CN, 1200 * MS, 3 * S)]
    tables = get_practice("5g-ssc3").compile(TOPOLOGY)
    return replay(engine, tables, one_mn(TOPOLOGY, moves, flows, 3 * S), packets)


@pytest.mark.parametrize("key", ["5g-ssc1", "5g-ssc2", "5g-ssc3"])
def test_sample_runs_them_beside_the_others(key) -> None:
    """On the composite sample's converged core: PoAs outside every UPF area (WiFi ARs)
    are served over N3 by the nearest UPF; sessions are established, switched and (SSC
    mode 2) released."""
    result = dmmemu.run(SAMPLE, key)
    summary = result.summary.row(0, named=True)
    assert summary["not_applicable"] is None and summary["handovers"] > 0
    sig = result.signaling
    by_kind = dict(zip(sig["message"].to_list(), sig["msgs"].to_list()))
    assert by_kind["N2 Path Switch Request"] > 0
    assert by_kind["N4 Session Establishment Request"] > 0
    if key != "5g-ssc1":
        assert by_kind["N2 PDU Session Resource Release Command"] > 0
        assert summary["broken_flows"] > 0
    if key == "5g-ssc3":
        assert by_kind["N2 DL NAS Transport (PDU Session Modification Command)"] > 0


def test_not_applicable_without_upfs(tmp_path) -> None:
    trace = tmp_path / "wifi"
    SyntheticTrace(topology="flat-wifi", mns=3, packets=2000, duration_s=60.0,
                   seed=1).generate(trace)
    result = dmmemu.run(trace, "5g-ssc1")
    assert "UPF" in result.summary["not_applicable"][0]
