"""``pmipv6-rt`` by hand on ``FlatWifi(rows=1, cols=2, correspondents=1)``: the MAGs know
the central anchor (LMA 1); the gateways GW0 and GW1 are the other LMAs. One-way delays in
µs:

    CN 2 --10000-- CORE 0 --2000-- LMA 1 (contacted)
                     | 1000 to each gateway; 100 from each gateway to its AR; GW0-GW1 500
              GW0 3 - AR0 4    GW1 5 - AR1 6

One MN: AR0 from 0, AR1 at 1 s, to the end at 2 s; one flow with a downlink packet at 1.5 s.
Every interruption component is 0. Both engines.
"""

from __future__ import annotations

import pytest
from hand_runs import engines, one_mn, replay

from dmmemu.engine.signaling import CAUSE_ATTACH, CAUSE_HANDOVER
from dmmemu.errors import PracticeError
from dmmemu.practices import PMIPv6RuntimeAssignment, get_practice
from dmmemu.topology.generators import FlatWifi

S = 1_000_000_000
US = 1_000
LMA, CN, GW0, AR0, GW1, AR1 = 1, 2, 3, 4, 5, 6
TOPOLOGY = FlatWifi(rows=1, cols=2, correspondents=1).build()
KINDS = [k.name for k in PMIPv6RuntimeAssignment.message_kinds]


def run(engine, **params):
    practice = PMIPv6RuntimeAssignment(link_loss_ms=0.0, l2_attach_ms=0.0, detection_ms=0.0,
                                       previous_mag_detection_ms=0.0, **params)
    trace = one_mn(TOPOLOGY, [(0, AR0), (S, AR1)], [(0, CN, 0, 2 * S)], 2 * S)
    return replay(engine, practice.compile(TOPOLOGY), trace, [(3 * S // 2, 0, 1000, 1)])


@pytest.mark.parametrize("engine", engines())
def test_a_new_session_redirected_to_the_nearest_lma(engine) -> None:
    c = run(engine, redirect_by="path")
    # AR0's nearest LMA is GW0: the PBU (redirect-capable, 128 B) to LMA 1 (AR0-GW0-CORE-
    # LMA, 3.1 ms), LMA 1's proxy PBU/PBA with GW0 (3 ms each way), the PBA with the Redirect
    # option (144 B) back to AR0: 12.2 ms, 4 messages.
    attach = dict(zip(KINDS, c.sig_msgs[CAUSE_ATTACH].tolist()))
    assert {k: v for k, v in attach.items() if v} == {
        "PBU (redirect-capable)": 1, "proxy PBU": 1, "proxy PBA": 1, "PBA with redirect": 1}
    assert c.ho_signaling_ns[0] == (3100 + 3000 + 3000 + 3100) * US
    assert c.ho_bytes[0] == 128 + 120 + 120 + 144
    # The handover stays with GW0 (no redirect at a handover): the new MAG's PBU/PBA with
    # GW0 and the previous MAG's de-registration.
    assert c.sig_msgs[CAUSE_HANDOVER].sum() == 4 and c.ho_msgs[1] == 4
    assert c.anchor_sig_msgs[LMA] == 4  # it relayed the session's start, and no more
    # The packet at 1.5 s goes CN -> GW0 (11 ms) -> AR1 over the mesh (0.6 ms).
    assert c.flow_anchor[0] == GW0 and c.flow_delay_ns_sum[0] == 11600 * US


@pytest.mark.parametrize("engine", engines())
def test_the_contacted_lma_keeps_a_session_it_is_the_choice_for(engine) -> None:
    # By load, every LMA holds nothing at the first attach: the lowest id, LMA 1 itself,
    # keeps the session and answers with a plain PBA (3.1 ms each way).
    c = run(engine, redirect_by="load")
    attach = dict(zip(KINDS, c.sig_msgs[CAUSE_ATTACH].tolist()))
    assert {k: v for k, v in attach.items() if v} == {"PBU (redirect-capable)": 1, "PBA": 1}
    assert c.ho_signaling_ns[0] == 2 * 3100 * US
    assert c.flow_anchor[0] == LMA


def test_parameters_are_checked() -> None:
    with pytest.raises(PracticeError, match="redirect_by must be one of"):
        get_practice("pmipv6-rt", {"redirect_by": "random"})
    tables = get_practice("pmipv6-rt").compile(TOPOLOGY)
    assert tables.third_node == LMA and tables.candidates.tolist() == [LMA, GW0, GW1]
    assert tables.select_for_new_sessions_only
