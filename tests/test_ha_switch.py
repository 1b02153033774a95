"""``ha-switch`` (RFC 5142; RFC 7429 §4.2.1) by hand on the topology of
test_distributed_home_agents (``FlatWifi(rows=1, cols=2, correspondents=1)``), one-way
delays in µs:

    CN 2 --10000-- CORE 0 --1000-- GW0 3 --100-- AR0 4
                     |              | 500 (mesh)
                     +----1000-- GW1 5 --100-- AR1 6

One MN: at AR0 from 0 (its HA GW0, the nearest at bootstrap), AR1 at 1 s, AR0 at 2 s, to the
end at 3 s; flow A (0 to 3 s) and flow B (1.2 s to 3 s), downlink packets of 1000 B at 0.5,
1.5 and 2.5 s (A) and 1.5 and 2.5 s (B). Every interruption component and the HA's DAD hold
are 0. At AR1, GW1 is 0.5 ms nearer than GW0 (0.1 against 0.6 ms); at AR0, GW0 is. The
switch is RFC 5142 §5.1, §6.1's: Home Agent Switch old HA -> MN, the BU of lifetime 0 and its
BA, IKE_SA_INIT and IKE_AUTH with the new HA (RFC 4877), BU/BA there. Both engines.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hand_runs import engines, one_mn, replay
from test_distributed_home_agents import (  # the same topology, MN, flows and packets
    CN,
    FLOWS,
    GW0,
    GW1,
    MOVES,
    MS,
    PACKETS,
    TOPOLOGY,
    US,
)

from dmmemu.engine.replay_io import (
    EVENT_ANCHOR_RELOCATED,
    EVENT_FLOW_SPARED,
    EVENT_RELOCATION_DEFERRED,
)
from dmmemu.engine.signaling import CAUSE_RELOCATION
from dmmemu.errors import PracticeError
from dmmemu.practices import HomeAgentSwitch, get_practice
from dmmemu.wire.sizes import MESSAGES

# The switch's messages, in order, and their sizes (docs/sizes.md).
SWITCH = ["HAS", "BU", "BA", "IKE-SA-INIT", "IKE-SA-INIT-R", "IKE-AUTH", "IKE-AUTH-R", "BU",
          "BA"]
SWITCH_BYTES = sum(MESSAGES[name].bytes for name in SWITCH)
REGISTRATION_BYTES = MESSAGES["BU"].bytes + MESSAGES["BA"].bytes


def run(engine, continuity=True, **params):
    practice = HomeAgentSwitch(link_loss_ms=0.0, l2_attach_ms=0.0, detection_ms=0.0,
                               optimistic_dad=True, ha_dad_ms=0.0, **params)
    trace = one_mn(TOPOLOGY, MOVES, [(fid, CN, start, end) for fid, start, end in FLOWS],
                   3000 * MS)
    if not continuity:
        trace = dataclasses.replace(trace, flow_continuity=np.zeros(2, np.uint8))
    return replay(engine, practice.compile(TOPOLOGY), trace,
                  [(t, fid, 1000, 1) for t, fid in PACKETS])


def events(c, kind):
    chosen = c.event_kind == kind
    return list(zip(c.event_t[chosen].tolist(), c.event_flow[chosen].tolist(),
                    c.event_node[chosen].tolist()))


def test_sizes_are_the_formats() -> None:
    assert SWITCH_BYTES == 64 + 80 + 80 + 424 + 424 + 352 + 368 + 80 + 80


@pytest.mark.parametrize("engine", engines())
def test_dmm_mode_defers_the_switch_while_a_flow_needs_continuity(engine) -> None:
    """At 1 s GW0 would hand the MN to GW1, but flow A, which needs continuity, uses the
    home address: deferred, A reported once as the flow a switch would have broken. At 2 s
    the MN is back at AR0, whose nearest HA is GW0: nothing to switch. The HA stays GW0:
    A at AR1 goes GW0 -> AR1 over the mesh (11.6 ms)."""
    c = run(engine)
    assert events(c, EVENT_RELOCATION_DEFERRED) == [(1000 * MS, -1, GW1)]
    assert events(c, EVENT_FLOW_SPARED) == [(1000 * MS, 0, GW1)]
    assert events(c, EVENT_ANCHOR_RELOCATED) == []
    assert c.ho_msgs.tolist() == [2, 2, 2]
    assert not c.sig_msgs[CAUSE_RELOCATION].any()
    assert c.flow_delay_ns_sum.tolist() == [(11100 + 11600 + 11100) * US,
                                            (11600 + 11100) * US]
    # At AR1 through GW0 over the mesh: 4 hops against the direct 3, the tunnel on 2.
    assert c.flow_hops_sum.tolist() == [3 + 4 + 3, 4 + 3]
    assert c.flow_overhead_byte_hops.tolist() == [40 * (1 + 2 + 1), 40 * (2 + 1)]


@pytest.mark.parametrize("engine", engines())
def test_dmm_mode_switches_and_renumbers_flows_without_continuity(engine) -> None:
    """Without continuity the switch goes ahead at each move: after the handover's BU/BA
    with GW0 (0.6 + 0.6 ms from AR1), the switch (0.6 x 3 with GW0, 0.1 x 6 with GW1: 2.4
    ms) gives a new home address at GW1, registered 3.6 ms after the move; A is renumbered
    onto it (one round trip to CN 3 after that, long before its next packet) and B binds
    it. At 2 s the same back to GW0. Each packet then takes the direct path's 11.1 ms."""
    c = run(engine, continuity=False)
    assert events(c, EVENT_ANCHOR_RELOCATED) == [(1000 * MS, -1, GW1), (2000 * MS, -1, GW0)]
    assert events(c, EVENT_RELOCATION_DEFERRED) == []
    assert c.ho_msgs.tolist() == [2, 2 + 9, 2 + 9]
    assert c.ho_bytes.tolist() == [REGISTRATION_BYTES, REGISTRATION_BYTES + SWITCH_BYTES,
                                   REGISTRATION_BYTES + SWITCH_BYTES]
    assert c.sig_msgs[CAUSE_RELOCATION].sum() == 2 * 9
    assert c.flow_renumbered.tolist() == [2, 1] and c.flow_lost.tolist() == [0, 0]
    assert c.flow_delay_ns_sum.tolist() == [3 * 11100 * US, 2 * 11100 * US]
    assert c.flow_hops_sum.tolist() == c.flow_direct_hops_sum.tolist() == [9, 6]
    assert c.anchor_addresses[[GW0, GW1]].tolist() == [2, 1]
    # GW0: the attach's BU/BA, the move's BU/BA, its HAS and the BU/BA of lifetime 0, then
    # at 2 s IKEv2 and BU/BA as the new HA; GW1 the same the other way round.
    assert c.anchor_sig_msgs[[GW0, GW1]].tolist() == [2 + 2 + 3 + 6, 6 + 2 + 3]


@pytest.mark.parametrize("engine", engines())
def test_rfc5142_mode_keeps_the_home_address(engine) -> None:
    """The RFC's own switch (a new HA on the home link): the home address and its flows
    stay, flows that need continuity too; their packets go through the new HA from the
    switch on. The interruption of A's address is the handover's BU/BA and the switch
    (1.2 + 2.4 ms)."""
    c = run(engine, mode="rfc5142")
    assert events(c, EVENT_ANCHOR_RELOCATED) == [(1000 * MS, -1, GW1), (2000 * MS, -1, GW0)]
    assert c.ho_msgs.tolist() == [2, 11, 11]
    assert c.ho_signaling_ns.tolist() == [200 * US, 3600 * US, 3600 * US]
    assert c.ho_interruption_ns.tolist() == [200 * US, 3600 * US, 3600 * US]
    assert c.flow_renumbered.tolist() == [0, 0] and c.flow_broken.tolist() == [0, 0]
    assert c.flow_delay_ns_sum.tolist() == [3 * 11100 * US, 2 * 11100 * US]
    assert c.anchor_packets[[GW0, GW1]].tolist() == [3, 2]
    assert c.anchor_addresses[[GW0, GW1]].tolist() == [1, 0]  # one address, moved
    # Every packet through the HA of its PoA: the direct path's hops (stretch 1), the HA's
    # IPv6-in-IPv6 tunnel (40 B) on the one hop to the AR.
    assert c.flow_hops_sum.tolist() == c.flow_direct_hops_sum.tolist() == [9, 6]
    assert c.flow_overhead_bytes.tolist() == c.flow_overhead_byte_hops.tolist() == [120, 80]


@pytest.mark.parametrize("engine", engines())
def test_the_gain_threshold_and_the_load_trigger(engine) -> None:
    """A gain of 0.5 ms is not more than 0.5 ms: no switch. By load, the MN's own binding is
    not counted: alone, it never overloads its HA."""
    for params in ({"gain_ms": 0.5}, {"trigger": "load", "load_bindings": 1}):
        c = run(engine, continuity=False, **params)
        assert events(c, EVENT_ANCHOR_RELOCATED) == [] and c.ho_msgs.tolist() == [2, 2, 2]
    c = run(engine, continuity=False, gain_ms=0.4)
    assert len(events(c, EVENT_ANCHOR_RELOCATED)) == 2


def test_bad_parameters_are_refused() -> None:
    for params, message in (({"mode": "x"}, "mode must be one of"),
                            ({"trigger": "y"}, "trigger must be one of"),
                            ({"per_flow": True}, "per_flow home addresses have none"),
                            ({"load_bindings": 0}, "load_bindings must be")):
        with pytest.raises(PracticeError, match=message):
            get_practice("ha-switch", params).compile(TOPOLOGY)
    with pytest.raises(PracticeError, match="load_bindings must be a whole number from 0"):
        get_practice("ha-switch", {"load_bindings": 1.5})
    # A count, not a size in bytes: a city's HA holds far more than 65,535 bindings.
    assert get_practice("ha-switch", {"load_bindings": 100_000}).compile(
        TOPOLOGY).relocation_load == 100_000


def test_the_sample_reports_switches_done_deferred_and_the_flows_spared() -> None:
    """On the bundled sample's HAs: switches by distance in both modes; only the DMM use,
    which must not break a flow that needs continuity, defers some and names the flows it
    spared; the RFC's own mode keeps the address and defers nothing."""
    from pathlib import Path

    import dmmemu

    sample = Path(__file__).resolve().parents[1] / "traces" / "sample"
    dmm = dmmemu.run(sample, "ha-switch").summary.row(0, named=True)
    kept = dmmemu.run(sample, "ha-switch", params={"mode": "rfc5142"}).summary.row(
        0, named=True)
    assert dmm["relocations"] > 0 and dmm["deferred_relocations"] > 0
    assert 0 < dmm["spared_flows"] and dmm["broken_flows"] == 0
    assert kept["relocations"] > dmm["relocations"] and kept["deferred_relocations"] == 0
    assert kept["spared_flows"] == 0 and kept["renumbered_flows"] == 0
