"""The registered practices: hand-computed runs that pin what each one emulates, and
core/reference agreement through ``dmmemu.run`` on random traces for every practice.

The hand-computed scenario uses ``FlatWifi(rows=1, cols=2, correspondents=1)``:

    ids: 0 core, 1 central-anchor, 2 cn0, 3 gw0.0, 4 ar0.0, 5 gw0.1, 6 ar0.1
    links (µs): central–core 2000, cn0–core 10000, ar–gw 100, gw–core 1000, gw0.0–gw0.1 500

One MN attaches to ar0.0 at 0 s and hands over to ar0.1 at 10 s. Flow 1 (continuity) and
flow 2 (no continuity) run from cn0 between 1 s and 20 s, each with one 1000-byte downlink
packet at 5 s and one at 15 s. The direct path cn0 → ar is 3 hops, 11 100 µs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import dmmemu
from dmmemu.errors import PracticeError
from dmmemu.practices import DMM, PRACTICES, MIPv6, PMIPv6, get_practice
from dmmemu.topology.generators import FlatWifi, Hierarchical
from dmmemu.trace.writer import write_trace

pytest.importorskip("dmmemu._core.replay", reason="the compiled core is not built")

S = 1_000_000_000
ENGINES = ("core", "reference")
CN, CENTRAL, GW0, AR0, GW1, AR1 = 2, 1, 3, 4, 5, 6


@pytest.fixture(scope="module")
def handover_trace(tmp_path_factory) -> Path:
    topology = FlatWifi(rows=1, cols=2, correspondents=1).build()
    return write_trace(
        tmp_path_factory.mktemp("practices") / "handover", name="handover", topology=topology,
        mobility={"t": np.array([0, 10 * S]), "mn": np.array([0, 0]),
                  "poa": np.array([AR0, AR1])},
        flows={"flow": np.array([1, 2]), "mn": np.array([0, 0]), "peer": np.array([CN, CN]),
               "start": np.array([1 * S, 1 * S]), "end": np.array([20 * S, 20 * S]),
               "continuity": np.array([True, False])},
        packets={"t": np.array([5 * S, 5 * S, 15 * S, 15 * S]), "flow": np.array([1, 2, 1, 2]),
                 "size": np.array([1000] * 4), "dir": np.array([1] * 4)},
    )


def summary_row(result) -> dict:
    return result.summary.row(0, named=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_mipv6_central_home_agent(handover_trace, engine):
    r = dmmemu.run(handover_trace, "mipv6", engine=engine)
    s = summary_row(r)
    # Every packet cn0 -> HA (2 hops, 12 000 µs) -> ar (3 hops, 3 100 µs), 40 B IPv6-in-IPv6
    # over the 3 tunnelled hops: stretch 5/3 for all four packets.
    assert s["mean_stretch"] == pytest.approx(5 / 3) and s["p99_stretch"] == pytest.approx(5 / 3)
    assert s["overhead_bytes"] == 4 * 40 and s["overhead_byte_hops"] == 4 * 40 * 3
    assert s["mean_delay_us"] == pytest.approx(15_100)
    assert r.flows["anchor"].to_list() == [CENTRAL, CENTRAL]
    # BU/BA (80/80 B) at the attach and at the handover, from the MN: 3 wired hops + radio.
    assert s["signaling_msgs"] == 4 and s["signaling_bytes"] == 320
    assert s["signaling_byte_hops"] == 320 * 4
    # Interruption: L2 50 ms + movement detection 50 ms + BU/BA round trip 2 × 3 100 µs.
    assert s["handovers"] == 1 and s["mean_interruption_us"] == pytest.approx(106_200)
    assert s["lost_packets"] == 0 and s["broken_flows"] == 0
    anchors = r.anchors.filter(pl.col("anchor") == CENTRAL).row(0, named=True)
    assert anchors["packets"] == 4 and anchors["peak_bindings"] == 1
    assert anchors["mean_bindings"] == pytest.approx(1.0)  # bound 0..20 s of a 20 s trace
    assert s["anchors_used"] == 1 and s["max_anchor_share"] == 1.0


@pytest.mark.parametrize("engine", ENGINES)
def test_pmipv6_central_lma(handover_trace, engine):
    s = summary_row(dmmemu.run(handover_trace, "pmipv6", engine=engine))
    assert s["mean_stretch"] == pytest.approx(5 / 3) and s["overhead_bytes"] == 160
    # PBU/PBA (120/120 B) from the MAG: 3 hops, no radio hop.
    assert s["signaling_msgs"] == 4 and s["signaling_bytes"] == 480
    assert s["signaling_byte_hops"] == 480 * 3
    # L2 50 ms + detection 10 ms + PBU/PBA round trip 6.2 ms.
    assert s["mean_interruption_us"] == pytest.approx(66_200)


@pytest.mark.parametrize("engine", ENGINES)
def test_pmipv6_distributed_lma_nearest_at_attach(handover_trace, engine):
    r = dmmemu.run(handover_trace, "pmipv6-dlma", engine=engine)
    s = summary_row(r)
    # LMA = gw0.0 (nearest to ar0.0 at attach), kept after the move.
    assert r.flows["anchor"].to_list() == [GW0, GW0]
    # Before: cn0 -> gw0.0 -> ar0.0 = 3 hops (tunnel 1 hop); after: gw0.0 -> gw0.1 -> ar0.1
    # through the mesh, 4 hops (tunnel 2 hops).
    assert s["mean_stretch"] == pytest.approx((1 + 4 / 3) / 2)
    assert s["overhead_bytes"] == 160 and s["overhead_byte_hops"] == 2 * 40 * 1 + 2 * 40 * 2
    # Attach PBU/PBA over 1 hop, handover PBU/PBA over 2 hops (ar0.1 -> gw0.1 -> gw0.0).
    assert s["signaling_bytes"] == 480 and s["signaling_byte_hops"] == 240 * 1 + 240 * 2
    # Handover round trip 2 × (100 + 500) µs.
    assert s["mean_interruption_us"] == pytest.approx(61_200)


@pytest.mark.parametrize("engine", ENGINES)
def test_dmm_per_flow_anchoring_and_connection_manager(handover_trace, engine):
    r = dmmemu.run(handover_trace, "dmm", engine=engine)
    s = summary_row(r)
    flows = {row["flow"]: row for row in r.flows.iter_rows(named=True)}
    # Flow 1 is anchored at gw0.0 where it started: native (3 hops, 0 B) before the move,
    # then gw0.0 -> gw0.1 tunnel (40 B over 1 hop) -> ar0.1 native: 4 hops.
    assert flows[1]["anchor"] == GW0 and flows[1]["hops_sum"] == 3 + 4
    assert flows[1]["overhead_bytes"] == 40 and flows[1]["overhead_byte_hops"] == 40
    assert flows[1]["delay_us_sum"] == pytest.approx(11_100 + 11_600)
    # Flow 2 needs no continuity: the local address at each AR, always the direct path.
    assert flows[2]["hops_sum"] == 3 + 3 and flows[2]["overhead_bytes"] == 0
    assert flows[2]["anchor"] == GW0 and not flows[2]["broken"]
    # Only flow 1's address is signalled at the handover: PBU/PBA over 2 hops, round trip
    # 1.2 ms; nothing at the attach.
    assert s["signaling_msgs"] == 2 and s["signaling_byte_hops"] == 240 * 2
    assert s["mean_interruption_us"] == pytest.approx(61_200)
    assert s["mean_stretch"] == pytest.approx((3 * 1 + 4 / 3) / 4)
    assert s["p99_stretch"] == pytest.approx(4 / 3)
    # gw0.0 holds the binding from the move (10 s) until flow 1 ends (20 s).
    gw0 = r.anchors.filter(pl.col("anchor") == GW0).row(0, named=True)
    assert gw0["peak_bindings"] == 1 and gw0["mean_bindings"] == pytest.approx(0.5)
    assert s["anchors_used"] == 2


def test_dmm_without_connection_manager_keeps_every_address(handover_trace):
    s = summary_row(dmmemu.run(handover_trace, DMM(connection_manager=False)))
    assert s["signaling_msgs"] == 2  # one address (gw0.0) used by both flows
    assert s["overhead_bytes"] == 80


def test_practice_parameters_and_errors(handover_trace):
    s = summary_row(dmmemu.run(handover_trace, MIPv6(l2_attach_ms=10, detection_ms=0)))
    assert s["mean_interruption_us"] == pytest.approx(16_200)
    lma = summary_row(dmmemu.run(handover_trace, "pmipv6", params={"lma": "gw0.1"}))
    assert lma["mean_stretch"] != pytest.approx(5 / 3)
    assert get_practice("pmipv6-dlma", {"lmas": ["gw0.0", "gw0.1"]}).lmas == ("gw0.0", "gw0.1")
    with pytest.raises(PracticeError, match="no parameter 'lifetime'"):
        get_practice("mipv6", {"lifetime": 3})
    with pytest.raises(PracticeError, match="unknown practice 'mip'"):
        get_practice("mip")
    with pytest.raises(PracticeError, match="not anchor"):
        dmmemu.run(handover_trace, PMIPv6(lma="ar0.0"))
    with pytest.raises(PracticeError, match=">= 0"):
        MIPv6(lifetime_s=-1)


def test_refresh_follows_the_lifetime(handover_trace):
    # PBU lifetime 4 s: bound 0..10 s refreshes at 4, 8 s; 10..20 s at 14, 18 s.
    r = dmmemu.run(handover_trace, "pmipv6", params={"lifetime_s": 4})
    refresh = r.signaling.filter(pl.col("cause") == "refresh")
    assert refresh["msgs"].sum() == 8 and set(refresh["message"]) == {"PBU", "PBA"}


# ------------------------------------------------------------- random traces, every practice

@st.composite
def random_traces(draw):
    """A small reference topology and a random trace on it (times on a coarse grid, so
    moves, flow edges and packets often coincide)."""
    topology = draw(st.sampled_from([
        FlatWifi(rows=2, cols=2, correspondents=2).build(),
        Hierarchical(area_rows=1, area_cols=2, ar_rows=1, ar_cols=2, correspondents=2).build(),
    ]))
    poas = topology.nodes_with_role("poa").tolist()
    cns = topology.nodes_with_role("cn").tolist()
    n_mns = draw(st.integers(1, 4))
    tick = 50_000_000  # 50 ms: comparable to handover interruptions
    time = st.integers(0, 60).map(lambda k: k * tick)
    mob = sorted((draw(time), draw(st.integers(0, n_mns - 1)), draw(st.sampled_from(poas + [-1])))
                 for _ in range(draw(st.integers(1, 15))))
    n_flows = draw(st.integers(1, 6))
    spans = [sorted((draw(time), draw(time))) for _ in range(n_flows)]
    packets = sorted(
        (draw(st.integers(spans[f][0], spans[f][1])), f, draw(st.integers(20, 1500)),
         draw(st.integers(0, 1)))
        for f in range(n_flows) for _ in range(draw(st.integers(0, 10)))
    )
    return dict(
        topology=topology,
        mobility={"t": np.array([m[0] for m in mob]), "mn": np.array([m[1] for m in mob]),
                  "poa": np.array([m[2] for m in mob])},
        flows={"flow": np.arange(n_flows), "mn": np.array([draw(st.integers(0, n_mns - 1))
                                                           for _ in range(n_flows)]),
               "peer": np.array([draw(st.sampled_from(cns)) for _ in range(n_flows)]),
               "start": np.array([s[0] for s in spans]), "end": np.array([s[1] for s in spans]),
               "continuity": np.array([draw(st.booleans()) for _ in range(n_flows)])},
        packets={"t": np.array([p[0] for p in packets], np.int64),
                 "flow": np.array([p[1] for p in packets], np.uint64),
                 "size": np.array([p[2] for p in packets], np.uint16),
                 "dir": np.array([p[3] for p in packets], np.uint8)},
        params=draw(st.fixed_dictionaries({}, optional={
            "lifetime_s": st.sampled_from([0.1, 0.5, 2.0]), "buffering": st.booleans()})),
    )


@pytest.mark.parametrize("key", list(PRACTICES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=random_traces())
def test_core_equals_reference_for_every_practice(key, data):
    params = data.pop("params")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_trace(Path(tmp) / "t", name="random", **data)
        core = dmmemu.run(path, key, params=params, engine="core")
        reference = dmmemu.run(path, key, params=params, engine="reference")
    assert core.counters.differences(reference.counters) == []
    for name, frame in core.tables().items():
        other = reference.tables()[name]
        if name == "summary":
            frame, other = frame.drop("engine"), other.drop("engine")
        assert_frame_equal(frame, other)
