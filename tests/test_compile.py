"""``Practice.compile``: the tables both engines read, written out by hand on small
topologies (DESIGN.md "Correctness": what both engines share needs checks of its own).

``FlatWifi(rows=1, cols=2, correspondents=1)``: 0 core, 1 central-anchor, 2 cn0, 3 gw0.0,
4 ar0.0, 5 gw0.1, 6 ar0.1 (ar–gw 100 µs, gw–core 1 000 µs, gw0.0–gw0.1 500 µs).
``Hierarchical(area_rows=1, area_cols=2, ar_rows=1, ar_cols=1, correspondents=1)``:
0 core, 1 central-anchor, 2 cn0, 3 agg0.0, 4 ar0.0, 5 agg0.1, 6 ar0.1.
"""

from __future__ import annotations

import numpy as np
import pytest

from dmmemu.engine.flow_classes import ALL_FLOWS
from dmmemu.engine.policy import SELECT_AT_ATTACH, SELECT_CENTRAL, SELECT_PER_FLOW
from dmmemu.engine.signaling import AT_MOVE as M
from dmmemu.engine.signaling import AT_SIGNALING_START as START
from dmmemu.engine.signaling import FLAG_ENDS as END
from dmmemu.engine.signaling import FLAG_HOLD as HOLD
from dmmemu.engine.signaling import LEG_LEVEL, LEG_VIA, LEG_VIA_BYTES, LEG_WHEN, NO_VIA
from dmmemu.engine.signaling import ROLE_ANCHOR as ANC
from dmmemu.engine.signaling import ROLE_MN as MN
from dmmemu.engine.signaling import ROLE_POA as POA
from dmmemu.engine.signaling import ROLE_PREV_POA as PREV
from dmmemu.engine.signaling import ROLE_SERVING as SRV
from dmmemu.engine.signaling import ROLE_THIRD as CMD
from dmmemu.practices import DMM, MIPv6, PMIPv6, PMIPv6DistributedLMA
from dmmemu.topology.generators import FlatWifi, Hierarchical

MS = 1_000_000
FLAT = FlatWifi(rows=1, cols=2, correspondents=1).build()
HIER = Hierarchical(area_rows=1, area_cols=2, ar_rows=1, ar_cols=1, correspondents=1).build()
ONCE, EACH = 0, 1
# Columns: cause, scope, kind, src, dst, bytes, bytes per address, after, offset, gate, cap,
# flags. Causes: 0 attach, 1 handover, 2 flow, 3 refresh, 4 deregistration.


def pair(cause: int, first: int, sender: int, sizes=(120, 120), flags=END) -> list[list[int]]:
    """A request from ``sender`` to the anchor (leg row ``first``) and its reply."""
    return [[cause, EACH, 0, sender, ANC, sizes[0], 0, START, 0, -1, 0, 0],
            [cause, EACH, 1, ANC, sender, sizes[1], 0, first, 0, -1, 0, flags]]


def timed_legs(tables) -> list[list[int]]:
    """The leg rows without their chain-level columns, which none of these practices uses
    (checked here: every leg is sent at every trigger of its cause)."""
    assert not tables.legs[:, [LEG_LEVEL, LEG_WHEN, LEG_VIA_BYTES]].any()
    assert (tables.legs[:, LEG_VIA] == NO_VIA).all()
    return tables.legs[:, :LEG_LEVEL].tolist()


@pytest.mark.parametrize("topology", [FLAT, HIER], ids=["flat", "hierarchical"])
def test_mipv6(topology):
    t = MIPv6().compile(topology)
    assert (t.select, t.central) == (SELECT_CENTRAL, 1)
    assert t.chain.tolist() == [[-1] * 7]  # one level, used only on a home link
    assert (t.segment_bytes.tolist(), t.lifetime_ns) == ([40, 0], 3600 * 1000 * MS)
    assert not t.access_bytes.any() and t.direct_bytes == 0
    assert [c.name for c in t.flow_classes] == ["all"]
    # BU/BA (80/80) MN <-> HA on attach, handover, flow and refresh; the BA waits for the
    # HA's DAD on a new entry; the de-registration BU/BA (kinds 2, 3) when a binding ends
    # at home, nothing at a detach (no address: the binding outlives it).
    assert timed_legs(t) == [row for cause in range(4)
                               for row in pair(cause, 2 * cause, MN, (80, 80), END | HOLD)] + [
        [4, EACH, 2, MN, ANC, 80, 0, START, 0, -1, 0, 0],
        [4, EACH, 3, ANC, MN, 80, 0, 8, 0, -1, 0, END]]
    assert not t.native.any()  # no home link: never at home
    home = MIPv6(home_link="ar0.0").compile(topology)
    assert np.flatnonzero(home.native).tolist() == [1 * 7 + 4]  # the HA, at ar0.0
    assert home.chain.tolist() == [[-1, -1, -1, -1, 1, -1, -1]]  # native last segment there
    assert t.binding_outlives_detach and t.detach_release_ns == -1
    assert t.interruption_ns.tolist() == [[0, 335 * MS], [651 * MS, 651 * MS],
                                          [396 * MS, 396 * MS], [1000 * MS, 1000 * MS]]
    assert t.first_ack_hold_ns == 1000 * MS and t.mn_signals


@pytest.mark.parametrize("topology, serving", [
    (FLAT, [-1, -1, -1, -1, 3, -1, 5]),  # each ar's own gw (100 µs)
    (HIER, [-1, -1, -1, -1, 3, -1, 5]),  # each ar's aggregation node
], ids=["flat", "hierarchical"])
def test_pmipv6_and_distributed_lmas(topology, serving):
    central = PMIPv6().compile(topology)
    assert (central.select, central.central) == (SELECT_CENTRAL, 1)
    detect = 10 * MS  # the previous MAG's detection
    assert timed_legs(central) == [
        *pair(0, 0, POA),                                            # rows 0, 1: attach
        [1, EACH, 0, POA, ANC, 120, 0, START, 0, -1, 0, 0],          # 2: new MAG's PBU
        [1, EACH, 2, PREV, ANC, 120, 0, M, detect, -1, 0, 0],        # 3: previous MAG's
        [1, EACH, 1, ANC, POA, 120, 0, 2, 0, -1, 0, END],            # 4: PBA to the new MAG
        [1, EACH, 3, ANC, PREV, 120, 0, 3, 0, -1, 0, 0],             # 5: PBA to the previous
        *pair(2, 6, POA),                                            # 6, 7: a new address
        *pair(3, 8, POA),                                            # 8, 9: refresh
        [4, EACH, 2, PREV, ANC, 120, 0, M, detect, -1, 0, 0],        # 10: de-registration
        [4, EACH, 3, ANC, PREV, 120, 0, 10, 0, -1, 0, END],          # 11
    ]
    assert not central.binding_outlives_detach and central.detach_release_ns == 10_000 * MS
    distributed = PMIPv6DistributedLMA().compile(topology)
    assert (distributed.select, distributed.central) == (SELECT_AT_ATTACH, -1)
    assert distributed.serving.tolist() == serving
    # Handoff Indicator 4: the PBA (row 4) is gated by the de-registration PBU (row 3).
    unknown = PMIPv6(handoff_state_unknown=True).compile(topology)
    assert unknown.legs[4, :LEG_LEVEL].tolist() == [1, EACH, 1, ANC, POA, 120, 0, 2, 0, 3, 1500 * MS, END]


def test_dmm_with_and_without_cmd():
    plain = DMM().compile(FLAT)
    assert (plain.select, plain.central) == (SELECT_PER_FLOW, -1)
    assert plain.serving.tolist() == [-1, -1, -1, -1, 3, -1, 5]
    assert plain.chain.tolist() == [plain.serving.tolist()]  # the last hop is native
    assert plain.segment_bytes.tolist() == [40, 0]
    # RFC 8653 via the connection manager: an asked address type first, then no continuity
    # -> the local address, renumbered; the rest keep the MAAR where they started.
    assert [(c.anchor, c.continuity, c.address_types, c.grace_ns)
            for c in plain.flow_classes] == [
        ("local", None, ("non-persistent",), None),
        ("policy", None, ("graceful-replacement",), 60 * 10**9),
        ("policy", None, ("fixed", "session-lasting"), None),
        ("local", False, None, None), ("policy", None, None, None)]
    assert DMM(graceful_s=2.5).compile(FLAT).flow_classes[1].grace_ns == 2_500_000_000
    assert DMM(connection_manager=False).compile(FLAT).flow_classes == ALL_FLOWS
    native = np.zeros((7, 7), np.uint8)
    native[3, 4] = native[5, 6] = 1  # gw0.0 at ar0.0, gw0.1 at ar0.1
    assert np.array_equal(plain.native, native)
    assert timed_legs(plain) == [*pair(1, 0, SRV), *pair(2, 2, SRV), *pair(3, 4, SRV)]
    assert plain.third_node == -1
    assert plain.binding_outlives_detach and plain.detach_release_ns == 60_000 * MS
    relay = DMM(cmd="central-anchor").compile(FLAT)
    assert relay.third_node == 1
    assert timed_legs(relay) == [
        [0, ONCE, 0, SRV, CMD, 120, 0, START, 0, -1, 0, 0],
        [0, ONCE, 1, CMD, SRV, 120, 0, 0, 0, -1, 0, END],
        [1, ONCE, 0, SRV, CMD, 120, 0, START, 0, -1, 0, 0],
        [1, EACH, 0, CMD, ANC, 138, 0, 2, 0, -1, 0, 0],  # + Serving MAAR option
        [1, EACH, 1, ANC, CMD, 120, 0, 3, 0, -1, 0, 0],
        [1, ONCE, 1, CMD, SRV, 120, 36, 4, 0, -1, 0, END],  # + a Previous MAAR option each
        [2, EACH, 0, SRV, CMD, 120, 0, START, 0, -1, 0, 0],
        [2, EACH, 1, CMD, SRV, 120, 0, 6, 0, -1, 0, END],
        [3, EACH, 0, SRV, CMD, 120, 0, START, 0, -1, 0, 0],
        [3, EACH, 1, CMD, SRV, 120, 0, 8, 0, -1, 0, END],
    ]
    assert np.array_equal(relay.serving, plain.serving)
