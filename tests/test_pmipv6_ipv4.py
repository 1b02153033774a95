"""``pmipv6-v4`` by hand on ``FlatWifi(rows=1, cols=2, correspondents=1)``: the LMA (the
central anchor) and the MAGs (the ARs) over IPv4. One-way delays in µs:

    CN 2 --10000-- CORE 0 --2000-- LMA 1 (the central anchor)
                     | 1000 to each gateway, 100 from each gateway to its AR
              GW 3 - AR0 4    GW 5 - AR1 6

One MN: AR0 from 0, AR1 at 1 s, to the end at 2 s; one flow with a downlink packet at
0.5 s and one at 1.5 s. Every interruption component is 0. Both engines.
"""

from __future__ import annotations

import pytest
from hand_runs import engines, one_mn, replay

from dmmemu.engine.signaling import CAUSE_ATTACH, CAUSE_HANDOVER
from dmmemu.errors import PracticeError
from dmmemu.practices import PMIPv6IPv4Transport, get_practice
from dmmemu.topology.generators import FlatWifi

S = 1_000_000_000
LMA, CN, AR0, AR1 = 1, 2, 4, 6
TOPOLOGY = FlatWifi(rows=1, cols=2, correspondents=1).build()


def run(engine, **params):
    practice = PMIPv6IPv4Transport(link_loss_ms=0.0, l2_attach_ms=0.0, detection_ms=0.0,
                                   previous_mag_detection_ms=0.0, **params)
    trace = one_mn(TOPOLOGY, [(0, AR0), (S, AR1)], [(0, CN, 0, 2 * S)], 2 * S)
    return replay(engine, practice.compile(TOPOLOGY), trace,
                  [(S // 2, 0, 1000, 1), (3 * S // 2, 0, 1000, 1)])


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize("transport, tunnel", [("ipv4", 20), ("udp", 28), ("gre", 24),
                                               ("gre-key", 28)])
def test_ipv4_tunnels_and_signaling(engine, transport, tunnel) -> None:
    c = run(engine, transport=transport)
    # The LMA-MAG segment (CORE-GW-AR: 2 hops) carries the tunnel's bytes.
    assert c.flow_overhead_bytes[0] == 2 * tunnel
    assert c.flow_overhead_byte_hops[0] == 2 * tunnel * 3  # LMA-CORE-GW-AR
    # PBU/PBA over UDP/IPv4 with the IPv4 home address options: 128 + 28 - 40 = 116 B, and
    # 8 B more each with the GRE key option; a handover is the new MAG's PBU/PBA and the
    # previous MAG's de-registration.
    size = 116 + 8 * (transport == "gre-key")
    assert c.ho_msgs.tolist() == [2, 4]
    assert c.ho_bytes.tolist() == [2 * size, 4 * size]
    assert c.sig_msgs[CAUSE_ATTACH, :2].tolist() == [1, 1]
    assert c.sig_msgs[CAUSE_HANDOVER].sum() == 4


@pytest.mark.parametrize("engine", engines())
def test_without_an_ipv4_home_address(engine) -> None:
    c = run(engine, ipv4_home_address=False)
    assert c.ho_bytes.tolist() == [2 * 108, 4 * 108]  # PBU + 28 - 40, RFC 5844 §4.1


def test_parameters_are_checked() -> None:
    with pytest.raises(PracticeError, match="transport must be one of"):
        get_practice("pmipv6-v4", {"transport": "ipsec"})
    with pytest.raises(PracticeError, match="ipv4_home_address"):
        get_practice("pmipv6-v4", {"transport": "gre-key", "ipv4_home_address": False})
    assert get_practice("pmipv6-v4", {"transport": "gre"}).encapsulations == ("gre-ipv4",)
