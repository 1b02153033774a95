"""sipto and lipa (TR 23.829; TS 23.401 §4.3.15, §4.3.16, §5.10.2, §5.10.3) by hand, on both
engines, on test_epc's EPS (two SGW areas of two eNBs; a HeNB site in area 0): one-way
delays in ms, hops in brackets:

    CN 3 --10-- CORE 0 --2-- SGW0 4 --1-- eNB 5, eNB 6      CN-SGW 12 [2], MME-SGW 3 [2]
                  |  \\--2-- SGW1 7 --1-- eNB 8             MME-eNB 4 [3], MME-HeNB 5.2 [3]
                  |--2-- PGW 1, --1-- MME 2                 SGW0 --5-- L-GW 10 --0.2-- HeNB 11
                                                             L-GW 10 --0.1-- LOCAL 12

Web flows (the default offload rule) and voice flows (kept on the PGW) from CN 3, and flows
to the site's local peer 12; downlink packets of 1000 B.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hand_runs import engines, one_mn, replay
from test_epc import CN, ENB5, ENB6, ENB8, MS, PGW, SGW0, SGW1, TOPOLOGY, S

import dmmemu
from dmmemu.engine.signaling import CAUSE_FLOW, CAUSE_RELEASE
from dmmemu.errors import PracticeError
from dmmemu.practices import get_practice
from dmmemu.practices.epc import KIND
from dmmemu.synthetic import SyntheticTrace

LGW, HENB, LOCAL = 10, 11, 12
WEB, VOICE, LIPA_FLOW = 1, 2, 3
SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"


def run(engine, key, moves, flows, packets, params=None):
    trace = one_mn(TOPOLOGY, moves, flows, 3 * S)
    apps = {WEB: 0, VOICE: 1}
    trace = dataclasses.replace(
        trace, app_names=("web", "voice"),
        flow_app=np.array([apps.get(f[0], -1) for f in flows], np.int32))
    tables = get_practice(key, params or {}).compile(TOPOLOGY)
    return replay(engine, tables, trace, [(t, flow, 1000, 1) for t, flow in packets])


def messages(c, cause):
    return {name: int(c.sig_msgs[cause][k]) for name, k in KIND.items() if c.sig_msgs[cause][k]}


@pytest.mark.parametrize("engine", engines())
def test_sipto_above_the_ran_breaks_leaving_the_sgw_area(engine) -> None:
    """The web flow's first packet (0.5 s, at eNB 5) sets up a PDN connection at SGW0, a PGW
    collocated with it: Create Session on S11 alone, E-RAB Setup, Modify Bearer (6
    messages). Its packets go CN -> SGW0 [2] -> eNB 5 (36 B, [1]): 3 hops, the direct path's;
    the voice flow stays on the PGW (5 hops, 72 B). The move to eNB 6 (1 s) keeps it; the
    move to eNB 8 (2 s), outside SGW0's area, releases it (Delete Session with SGW0, E-RAB
    Release at eNB 8: 4 messages) and breaks the web flow."""
    flows = [(WEB, CN, 0, 3 * S), (VOICE, CN, 0, 3 * S)]
    packets = [(500 * MS, WEB), (500 * MS, VOICE), (1500 * MS, WEB), (2500 * MS, WEB),
               (2500 * MS, VOICE)]
    c = run(engine, "sipto", [(0, ENB5), (S, ENB6), (2 * S, ENB8)], flows, packets)
    assert c.flow_anchor.tolist() == [SGW0, PGW]
    assert c.flow_hops_sum.tolist() == [3 + 3, 5 + 5]
    assert c.flow_direct_hops_sum.tolist() == [3 + 3, 3 + 3]
    assert c.flow_overhead_bytes.tolist() == [2 * 36, 2 * 72]
    assert c.flow_delay_ns_sum.tolist() == [2 * 13 * MS, 2 * 17 * MS]
    assert c.flow_broken.tolist() == [1, 0] and c.flow_lost.tolist() == [1, 0]
    assert messages(c, CAUSE_FLOW) == {
        "Create Session Request (S11)": 1, "Create Session Response (S11)": 1,
        "S1AP E-RAB Setup Request": 1, "S1AP E-RAB Setup Response": 1,
        "Modify Bearer Request (S11)": 1, "Modify Bearer Response (S11)": 1}
    assert messages(c, CAUSE_RELEASE) == {
        "Delete Session Request (S11, disconnection)": 1, "Delete Session Response (S11)": 1,
        "S1AP E-RAB Release Command": 1, "S1AP E-RAB Release Response": 1}
    # Two PDN connections at the move to eNB 6: a Modify Bearer Request, an End Marker and
    # a Response for each (§5.5.1.1.2 step 2: one per PDN connection); at the move to eNB 8
    # the release joins the row.
    assert c.ho_msgs.tolist() == [8, 9 + 3, 14 + 4]
    assert c.anchor_packets[SGW0] == 2 and c.anchor_packets[SGW1] == 0


@pytest.mark.parametrize("engine", engines())
def test_sipto_gives_a_new_flow_the_new_area_s_gateway(engine) -> None:
    """A web flow starting at eNB 8 gets SGW1's collocated PGW; with a rule that offloads
    voice alone, it stays on the PGW."""
    flows = [(WEB, CN, 0, 3 * S)]
    c = run(engine, "sipto", [(0, ENB8)], flows, [(500 * MS, WEB)])
    assert c.flow_anchor.tolist() == [SGW1]
    voice_only = run(engine, "sipto", [(0, ENB8)], flows, [(500 * MS, WEB)],
                   {"offload_apps": ("voice",)})
    assert voice_only.flow_anchor.tolist() == [PGW]


@pytest.mark.parametrize("engine", engines())
def test_sipto_at_the_local_network_uses_the_l_gw_at_a_henb(engine) -> None:
    """At HeNB 11 the web flow gets the site's L-GW (§4.3.15a), which reaches its HeNB
    directly: CN -> L-GW [3] -> HeNB (36 B, [1]), the S5 from SGW0 to the L-GW in its setup
    (8 messages); without at_local_network it gets SGW0."""
    flows = [(WEB, CN, 0, 3 * S)]
    c = run(engine, "sipto", [(0, HENB)], flows, [(500 * MS, WEB)])
    assert c.flow_anchor.tolist() == [LGW]
    assert c.flow_hops_sum.tolist() == [TOPOLOGY.hops[CN, LGW] + 1]
    assert c.flow_overhead_bytes.tolist() == [36]
    assert sum(messages(c, CAUSE_FLOW).values()) == 8
    macro = run(engine, "sipto", [(0, HENB)], flows, [(500 * MS, WEB)],
                {"at_local_network": False})
    assert macro.flow_anchor.tolist() == [SGW0]


@pytest.mark.parametrize("engine", engines())
def test_lipa_reaches_the_local_peer_through_the_l_gw_and_breaks_leaving_the_site(engine):
    """A flow to the site's local peer starting at HeNB 11: a PDN connection at the L-GW
    (Create Session MME -> SGW0 -> L-GW and back, E-RAB Setup, Modify Bearer: 8 messages);
    packets LOCAL -> L-GW [1] -> HeNB (36 B, [1]): 2 hops, 0.3 ms. The move to eNB 5 takes
    the MN off the L-GW's HeNBs: the connection is released (Delete Session MME -> SGW0 ->
    L-GW and back, E-RAB Release: 6 messages) and the flow breaks. A second flow to the
    local peer, started at eNB 5, goes through the PGW."""
    flows = [(LIPA_FLOW, LOCAL, 0, 3 * S), (LIPA_FLOW + 1, LOCAL, 1500 * MS, 3 * S)]
    packets = [(500 * MS, LIPA_FLOW), (1600 * MS, LIPA_FLOW), (1600 * MS, LIPA_FLOW + 1)]
    c = run(engine, "lipa", [(0, HENB), (S, ENB5)], flows, packets)
    assert c.flow_anchor.tolist() == [LGW, PGW]
    assert c.flow_hops_sum.tolist()[0] == 2 and c.flow_delay_ns_sum.tolist()[0] == 300_000
    assert c.flow_overhead_bytes.tolist()[0] == 36
    assert c.flow_broken.tolist() == [1, 0]
    assert sum(messages(c, CAUSE_FLOW).values()) == 8
    assert messages(c, CAUSE_RELEASE) == {
        "Delete Session Request (S11, disconnection)": 1, "Delete Session Request (S5)": 1,
        "Delete Session Response (S5)": 1, "Delete Session Response (S11)": 1,
        "S1AP E-RAB Release Command": 1, "S1AP E-RAB Release Response": 1}
    # The second flow: LOCAL -> PGW, PGW -> SGW0 (36 B), SGW0 -> eNB 5 (36 B).
    assert c.flow_hops_sum.tolist()[1] == TOPOLOGY.hops[LOCAL, PGW] + 2 + 1


def test_lipa_is_not_applicable_without_local_peers(tmp_path) -> None:
    trace = tmp_path / "eps"
    SyntheticTrace(topology="flat-wifi", mns=3, packets=2000, duration_s=60.0,
                   seed=1).generate(trace)
    assert "local-network peer" in dmmemu.run(trace, "lipa").summary["not_applicable"][0]
    assert dmmemu.run(SAMPLE, "lipa").summary["not_applicable"][0] is None


def test_offload_share_must_be_a_share() -> None:
    with pytest.raises(PracticeError, match="offload_share"):
        get_practice("sipto", {"offload_share": 0.0})
