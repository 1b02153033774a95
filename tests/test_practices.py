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
from dmmemu.practices import (
    DMM,
    PRACTICES,
    MIPv6,
    PMIPv6,
    PMIPv6DistributedLMA,
    get_practice,
)
from dmmemu.topology.generators import Eps, FlatWifi, Hierarchical
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
    # Handover interruption: link-loss detection 335 ms + L2 651 ms + RS/RA 396 ms + DAD of
    # the new care-of address 1 s + BU/BA round trip 2 × 3 100 µs; the HA's 1 s hold before
    # its first BA was paid at the attach (a new binding cache entry), not again.
    assert s["handovers"] == 1 and s["mean_interruption_us"] == pytest.approx(2_388_200)
    rows = {row["kind"]: row for row in r.handovers.iter_rows(named=True)}
    assert rows["attach"]["link_loss_us"] == 0 and rows["handover"]["link_loss_us"] == 335_000
    assert rows["attach"]["anchor_hold_us"] == 1_000_000
    assert rows["attach"]["signaling_us"] == pytest.approx(1_006_200)
    assert rows["attach"]["interruption_us"] == pytest.approx(
        651_000 + 396_000 + 1_000_000 + 1_006_200)
    assert rows["handover"]["anchor_hold_us"] == 0
    assert rows["handover"]["dad_us"] == 1_000_000
    assert s["lost_packets"] == 0 and s["broken_flows"] == 0
    anchors = r.anchors.filter(pl.col("anchor") == CENTRAL).row(0, named=True)
    assert anchors["packets"] == 4 and anchors["peak_bindings"] == 1
    assert anchors["mean_bindings"] == pytest.approx(1.0)  # bound 0..20 s of a 20 s trace
    assert s["anchors_used"] == 1 and s["max_anchor_share"] == 1.0


@pytest.mark.parametrize("engine", ENGINES)
def test_pmipv6_central_lma(handover_trace, engine):
    s = summary_row(dmmemu.run(handover_trace, "pmipv6", engine=engine))
    assert s["mean_stretch"] == pytest.approx(5 / 3) and s["overhead_bytes"] == 160
    # PBU/PBA (120/120 B) from the MAG at the attach; at the handover the new MAG's PBU/PBA
    # and the previous MAG's de-registration PBU/PBA (RFC 5213 §6.9.1.4): 3 hops each way.
    assert s["signaling_msgs"] == 6 and s["signaling_bytes"] == 720
    assert s["signaling_byte_hops"] == 720 * 3
    sig = {(row["message"], row["cause"]): row["msgs"]
           for row in dmmemu.run(handover_trace, "pmipv6", engine=engine).signaling.iter_rows(
               named=True)}
    assert sig == {("PBU", "attach"): 1, ("PBA", "attach"): 1, ("PBU", "handover"): 1,
                   ("PBA", "handover"): 1, ("PBU de-registration", "handover"): 1,
                   ("PBA de-registration", "handover"): 1}
    # Link-loss detection 335 ms + L2 651 ms + detection 10 ms + PBU/PBA round trip 6.2 ms;
    # no DAD (the prefix stays the MN's), no hold at the LMA.
    assert s["mean_interruption_us"] == pytest.approx(1_002_200)


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
    # Attach PBU/PBA over 1 hop, handover PBU/PBA over 2 hops (ar0.1 -> gw0.1 -> gw0.0), the
    # previous MAG's de-registration over 1 (ar0.0 -> gw0.0).
    assert s["signaling_bytes"] == 720
    assert s["signaling_byte_hops"] == 240 * 1 + 240 * 2 + 240 * 1
    # 335 + 651 + 10 ms, and the handover round trip 2 × (100 + 500) µs.
    assert s["mean_interruption_us"] == pytest.approx(997_200)


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
    # Flow 2 took the new local address at ar0.1: renumbered once; its packet at 15 s comes
    # long after the re-establishment (10 s + 997 ms + one round trip to cn0).
    assert flows[2]["renumbered"] == 1 and flows[1]["renumbered"] == 0
    assert s["renumbered_flows"] == 1 and s["lost_packets"] == 0
    # Only flow 1's address is signalled at the handover, by the serving MAAR gw0.1 to the
    # anchoring MAAR gw0.0: PBU/PBA over 1 hop, round trip 2 × 500 µs; nothing at the attach.
    assert s["signaling_msgs"] == 2 and s["signaling_byte_hops"] == 240 * 1
    assert s["mean_interruption_us"] == pytest.approx(997_000)
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
    s = summary_row(dmmemu.run(handover_trace, MIPv6(link_loss_ms=0, l2_attach_ms=10,
                                                     detection_ms=0, optimistic_dad=True)))
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
        Eps(sgw_rows=1, sgw_cols=2, enb_rows=1, enb_cols=2, henb_sites=1, henbs_per_site=2,
            correspondents=1).build(),
    ]))
    poas = topology.nodes_with_role("poa").tolist()
    cns = topology.nodes_with_role("cn").tolist()
    n_mns = draw(st.integers(1, 4))
    tick = 50_000_000  # 50 ms: comparable to handover interruptions
    time = st.integers(0, 60).map(lambda k: k * tick)
    mob = sorted((draw(time), draw(st.integers(0, n_mns - 1)), draw(st.sampled_from(poas + [-1])))
                 for _ in range(draw(st.integers(1, 15))))
    moving = sorted({m[1] for m in mob})  # a flow's MN is one of mobility.parquet's
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
        flows={"flow": np.arange(n_flows), "mn": np.array([draw(st.sampled_from(moving))
                                                           for _ in range(n_flows)]),
               "peer": np.array([draw(st.sampled_from(cns)) for _ in range(n_flows)]),
               "start": np.array([s[0] for s in spans]), "end": np.array([s[1] for s in spans]),
               "continuity": np.array([draw(st.booleans()) for _ in range(n_flows)]),
               "app": [draw(st.sampled_from(["web", "voice", None])) for _ in range(n_flows)],
               "address_type": [draw(st.sampled_from([None, "graceful-replacement",
                                                      "non-persistent"]))
                                for _ in range(n_flows)]},
        packets={"t": np.array([p[0] for p in packets], np.int64),
                 "flow": np.array([p[1] for p in packets], np.uint64),
                 "size": np.array([p[2] for p in packets], np.uint16),
                 "dir": np.array([p[3] for p in packets], np.uint8)},
        # Each practice takes the parameters it has: hmipv6's RCoA flows among them.
        params=draw(st.fixed_dictionaries({}, optional={
            "lifetime_s": st.sampled_from([0.1, 0.5, 2.0]), "buffering": st.booleans(),
            "rcoa_apps": st.sampled_from([("web",), ("web", "voice")]),
            "rcoa_without_continuity": st.booleans(),
            "graceful_s": st.sampled_from([0.0, 0.3, 2.0]),
            "data_forwarding": st.booleans(),
            "address_lifetime_s": st.sampled_from([0.0, 0.02, 60.0]),
            "mode": st.sampled_from(["dmm", "rfc5142"]),
            "trigger": st.sampled_from(["distance", "load"]),
            "load_bindings": st.sampled_from([1, 2])})),
    )


@pytest.mark.parametrize("key", list(PRACTICES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=random_traces())
def test_core_equals_reference_for_every_practice(key, data):
    fields = get_practice(key).params()
    params = {k: v for k, v in data.pop("params").items() if k in fields}
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


def inet_pmipv6_trace(root: Path) -> Path:
    """INET's PMIPv6 showcase, as its network is described: cn–core ≈ 0, core–LMA 5 ms,
    core–AR1 and core–AR2 ≈ 0 (1 µs here), pings from the CN every 50 ms, PBU lifetime
    3600 s; the MN hands over from AR1 to AR2 at 10 s, as a ping leaves."""
    from dmmemu.topology.graph import Link, Node, Topology

    names = [("cn", "cn"), ("core", "router"), ("lma", "anchor"), ("ar1", "poa"),
             ("ar2", "poa")]
    nodes = [Node(id=i, name=name, role=role) for i, (name, role) in enumerate(names)]
    links = [Link(a=0, b=1, delay_us=1), Link(a=1, b=2, delay_us=5000),
             Link(a=1, b=3, delay_us=1), Link(a=1, b=4, delay_us=1)]
    topology = Topology.from_parts(name="inet-pmipv6", nodes=nodes, links=links)
    return ping_trace(root, topology, [(0, 3), (10 * S, 4)], end_s=20)


def ping_trace(root: Path, topology, moves: list[tuple[int, int]], *, end_s: int) -> Path:
    """One MN making ``moves`` (time, PoA) and one flow of 104-byte pings from the cn (node
    0) every 50 ms, from 1 s to ``end_s``."""
    pings = np.arange(1 * S, end_s * S, 50_000_000, dtype=np.int64)
    return write_trace(
        root / topology.name, name=topology.name, topology=topology,
        mobility={"t": np.array([t for t, _ in moves]), "mn": np.zeros(len(moves), np.int32),
                  "poa": np.array([p for _, p in moves])},
        flows={"flow": np.array([1]), "mn": np.array([0]), "peer": np.array([0]),
               "start": np.array([1 * S]), "end": np.array([end_s * S])},
        packets={"t": pings, "flow": np.ones(pings.size, np.uint64),
                 "size": np.full(pings.size, 104), "dir": np.ones(pings.size, np.uint8)},
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_inet_pmipv6_showcase_interruption(tmp_path, engine):
    """INET's PMIPv6 showcase decomposes its handover as link-loss detection 0.335 s +
    802.11 attach 0.651 s + the PBU/PBA exchange 0.010 s (2 × 5 ms core–LMA) = 0.996 s; at one
    ping every 50 ms that is 20 lost pings. The MAG's own detection is inside INET's attach
    figure, so it is 0 here."""
    result = dmmemu.run(inet_pmipv6_trace(tmp_path), PMIPv6(lifetime_s=3600, detection_ms=0),
                        engine=engine)
    handover = result.handovers.filter(pl.col("kind") == "handover").row(0, named=True)
    assert handover["link_loss_us"] == 335_000 and handover["l2_attach_us"] == 651_000
    assert handover["signaling_us"] == pytest.approx(10_002)  # 2 × (ar2–core 1 µs + 5 ms)
    assert handover["interruption_us"] == pytest.approx(996_002)
    assert handover["lost"] == 20 and summary_row(result)["lost_packets"] == 20
    # The handover is 4 messages (RFC 5213 §6.9.1.4): the new MAG's PBU/PBA and the previous
    # MAG's de-registration PBU/PBA, which reaches the LMA first and delays nothing.
    assert handover["msgs"] == 4 and handover["bytes"] == 4 * 120


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("previous_mag_ms, signaling_us", [
    (10, 10_002),  # the de-registration arrives first: no wait
    (1200, 1205_001 + 5_001 - 996_000),  # waited for: PBA sent when it arrives
    (3000, 1500_000 + 10_002),  # MaxDelayBeforeNewBCEAssign (1.5 s) runs out first
])
def test_pmipv6_handoff_state_unknown_waits_for_the_deregistration(tmp_path, engine,
                                                                   previous_mag_ms,
                                                                   signaling_us):
    """Handoff Indicator 4 (RFC 5213 §5.4.1, §9.1): the LMA holds its PBA for the previous
    MAG's de-registration, at most 1.5 s. On the INET topology the new PBU leaves at
    335 + 651 + 10 = 996 ms and reaches the LMA 5.001 ms later; the previous MAG's
    de-registration leaves ``previous_mag_ms`` after the move and takes 5.001 ms too."""
    practice = PMIPv6(lifetime_s=3600, handoff_state_unknown=True,
                      previous_mag_detection_ms=previous_mag_ms)
    result = dmmemu.run(inet_pmipv6_trace(tmp_path), practice, engine=engine)
    handover = result.handovers.filter(pl.col("kind") == "handover").row(0, named=True)
    assert handover["signaling_us"] == pytest.approx(signaling_us)
    assert handover["interruption_us"] == pytest.approx(996_000 + signaling_us)


@pytest.fixture(scope="module")
def coverage_hole_trace(tmp_path_factory) -> Path:
    """Two MNs at ar0.0 from 0 s, both detached at 10 s: MN 0 for 15 s (back at ar0.1 at
    25 s), MN 1 for 5 s (back at 15 s). Flow 1 (MN 0) and flow 2 (MN 1) run 1..40 s with a
    downlink packet at 5 s and at 30 s."""
    topology = FlatWifi(rows=1, cols=2, correspondents=1).build()
    return write_trace(
        tmp_path_factory.mktemp("holes") / "holes", name="holes", topology=topology,
        mobility={"t": np.array([0, 0, 10 * S, 10 * S, 15 * S, 25 * S]),
                  "mn": np.array([0, 1, 0, 1, 1, 0]),
                  "poa": np.array([AR0, AR0, -1, -1, AR0, AR1])},
        flows={"flow": np.array([1, 2]), "mn": np.array([0, 1]), "peer": np.array([CN, CN]),
               "start": np.array([1 * S, 1 * S]), "end": np.array([40 * S, 40 * S])},
        packets={"t": np.array([5 * S, 5 * S, 30 * S, 30 * S]), "flow": np.array([1, 2, 1, 2]),
                 "size": np.array([1000] * 4), "dir": np.array([1] * 4)},
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_pmipv6_prefix_lost_after_min_delay_before_bce_delete(coverage_hole_trace, engine):
    """RFC 5213 §5.3.5: after the de-registration the LMA keeps the entry 10 s. MN 1, back
    within it, keeps its prefix and flow 2 goes on; MN 0, detached 15 s, loses it: flow 1
    is broken and its packet at 30 s lost. Each detach sends the de-registration PBU/PBA."""
    r = dmmemu.run(coverage_hole_trace, "pmipv6", engine=engine)
    flows = {row["flow"]: row for row in r.flows.iter_rows(named=True)}
    assert flows[1]["broken"] and flows[1]["lost"] == 1 and flows[1]["delivered"] == 1
    assert not flows[2]["broken"] and flows[2]["delivered"] == 2
    s = summary_row(r)
    assert s["broken_flows"] == 1 and s["detaches"] == 2
    detaches = r.handovers.filter(pl.col("kind") == "detach")
    assert detaches["msgs"].to_list() == [2, 2] and detaches["from_poa"].to_list() == [AR0, AR0]
    # From ar0.0 to the central LMA: 3 hops, 3 100 µs each way, after the 10 ms detection.
    assert detaches["signaling_us"].to_list() == [pytest.approx(10_000 + 6_200)] * 2
    sig = r.signaling.filter(pl.col("cause") == "deregistration")
    assert sorted(sig["message"].to_list()) == ["PBA de-registration", "PBU de-registration"]
    assert sig["msgs"].to_list() == [2, 2]
    # The events say when: MN 0's prefix released 10 s after its detach, flow 1 found broken
    # at its next packet.
    events = r.events.select("t", "kind", "mn", "flow", "anchor").rows()
    assert events == [(20 * S, "address-released", 0, None, CENTRAL),
                      (30 * S, "flow-broken", 0, 1, CENTRAL)]
    # Kept 20 s instead, the entry outlives MN 0's hole too.
    kept = dmmemu.run(coverage_hole_trace, PMIPv6(bce_delete_delay_ms=20_000), engine=engine)
    assert summary_row(kept)["broken_flows"] == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_mipv6_binding_outlives_a_detach_until_its_lifetime(coverage_hole_trace, engine):
    """A detached MN cannot de-register: its home binding lasts until the lifetime of its last
    BU runs out; the home address is permanent, so no flow breaks. Lifetime 4 s: MN 0's
    binding (BU at 0 s, refreshes at 4 and 8 s) expires at 12 s, then lasts 25..40 s; MN 1's
    also expires at 12 s, before it is back at 15 s, then lasts 15..40 s."""
    r = dmmemu.run(coverage_hole_trace, MIPv6(lifetime_s=4), engine=engine)
    s = summary_row(r)
    assert s["broken_flows"] == 0 and s["detaches"] == 2
    ha = r.anchors.filter(pl.col("anchor") == CENTRAL).row(0, named=True)
    assert ha["mean_bindings"] == pytest.approx((12 + 15 + 12 + 25) / 40)
    # Refreshes: 2 before each expiry, then (15 s - 1 ns) // 4 s = 3 and (25 s - 1 ns) // 4 s = 6.
    refresh = r.signaling.filter(pl.col("cause") == "refresh")
    assert refresh["msgs"].to_list() == [2 + 2 + 3 + 6] * 2
    assert r.events.select("t", "kind", "mn").rows() == [(12 * S, "binding-expired", 0),
                                                         (12 * S, "binding-expired", 1)]
    # The HA's hold is paid once per MN: the entry was new at the first attach only.
    attaches = r.handovers.filter(pl.col("kind") == "attach")
    assert attaches["anchor_hold_us"].to_list() == [1_000_000, 1_000_000, 0, 0]


@pytest.fixture(scope="module")
def three_maar_trace(tmp_path_factory) -> Path:
    """``FlatWifi(rows=1, cols=3)``: 0 core, 1 central-anchor, 2 cn0, 3 gw0.0, 4 ar0.0,
    5 gw0.1, 6 ar0.1, 7 gw0.2, 8 ar0.2. One MN attaches at ar0.0 at 0 s, hands over to ar0.1
    at 10 s and to ar0.2 at 20 s; flow 1 (continuity) sends at 1 s (anchored at gw0.0),
    flow 2 (continuity) at 11 s (anchored at gw0.1); both send again at 25 s."""
    topology = FlatWifi(rows=1, cols=3, correspondents=1).build()
    return write_trace(
        tmp_path_factory.mktemp("maars") / "maars", name="maars", topology=topology,
        mobility={"t": np.array([0, 10 * S, 20 * S]), "mn": np.array([0, 0, 0]),
                  "poa": np.array([4, 6, 8])},
        flows={"flow": np.array([1, 2]), "mn": np.array([0, 0]), "peer": np.array([CN, CN]),
               "start": np.array([1 * S, 11 * S]), "end": np.array([30 * S, 30 * S])},
        packets={"t": np.array([1 * S, 11 * S, 11 * S, 25 * S, 25 * S]),
                 "flow": np.array([1, 1, 2, 1, 2]), "size": np.array([1000] * 5),
                 "dir": np.array([1] * 5)},
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_dmm_cmd_relay_mode(three_maar_trace, engine):
    """RFC 8885 §3.1, §3.3 (relay mode), CMD at the central anchor (3 000 µs from every gw):
    the attach registers with the CMD (2 messages, 2 × 3 ms); a handover with k previous
    MAARs is 2k + 2 messages with latency 2·D(S, CMD) + 2·maxᵢ D(CMD, Pᵢ) = 12 ms, the CMD's
    PBUs carrying a Serving MAAR option (+18 B) and its PBA one Previous MAAR option (+36 B)
    per previous MAAR."""
    r = dmmemu.run(three_maar_trace, DMM(cmd="central-anchor"), engine=engine)
    rows = r.handovers.sort("row")
    assert rows["msgs"].to_list() == [2, 2 * 1 + 2, 2 * 2 + 2]
    assert rows["signaling_us"].to_list() == [pytest.approx(v) for v in (6_000, 12_000, 12_000)]
    assert rows["bytes"].to_list() == [240, 120 + 138 + 120 + 156,
                                       120 + 2 * 138 + 2 * 120 + (120 + 2 * 36)]
    # Every message has the CMD at one end.
    cmd = r.anchors.filter(pl.col("anchor") == CENTRAL).row(0, named=True)
    assert cmd["signaling_msgs"] == 2 + 4 + 6
    assert summary_row(r)["signaling_msgs"] == 12


@pytest.mark.parametrize("engine", ENGINES)
def test_dmm_fully_distributed_signals_from_the_serving_maar(three_maar_trace, engine):
    """Without a CMD the serving MAAR signals each anchoring MAAR (2k messages): at 20 s gw0.2
    sends to gw0.1 (500 µs) and gw0.0 (1 000 µs, over gw0.1) in parallel: 2 × 1 ms."""
    r = dmmemu.run(three_maar_trace, "dmm", engine=engine)
    rows = r.handovers.sort("row")
    assert rows["msgs"].to_list() == [0, 2, 4]
    assert rows["signaling_us"].to_list() == [0, pytest.approx(1_000), pytest.approx(2_000)]


@pytest.mark.parametrize("engine", ENGINES)
def test_renumbered_flow_pays_its_re_establishment(tmp_path, engine):
    """A flow without continuity under DMM's connection manager pings every 50 ms from 9 s to
    12 s; the MN hands over at 10 s. No address needs signaling, so the interruption is
    335 + 651 + 10 ms: the new local address is usable at 10.996 s, and the flow resumes one
    round trip to cn0 later (2 × 11.1 ms): the 20 pings of the interruption and the one at
    11.000 s are lost."""
    topology = FlatWifi(rows=1, cols=2, correspondents=1).build()
    pings = np.arange(9 * S, 12 * S, 50_000_000, dtype=np.int64)
    trace = write_trace(
        tmp_path / "renumber", name="renumber", topology=topology,
        mobility={"t": np.array([0, 10 * S]), "mn": np.array([0, 0]), "poa": np.array([AR0, AR1])},
        flows={"flow": np.array([3]), "mn": np.array([0]), "peer": np.array([CN]),
               "start": np.array([9 * S]), "end": np.array([12 * S]),
               "continuity": np.array([False])},
        packets={"t": pings, "flow": np.full(pings.size, 3, np.uint64),
                 "size": np.full(pings.size, 100), "dir": np.ones(pings.size, np.uint8)},
    )
    r = dmmemu.run(trace, "dmm", engine=engine)
    flow = r.flows.row(0, named=True)
    assert flow["renumbered"] == 1 and flow["lost"] == 21 and not flow["broken"]
    # Renumbered at its first packet at ar0.1 (at the move), onto gw0.1.
    assert r.events.select("t", "kind", "flow", "anchor").rows() == [
        (10 * S, "flow-renumbered", 3, GW1)]
    handover = r.handovers.filter(pl.col("kind") == "handover").row(0, named=True)
    assert handover["interruption_us"] == pytest.approx(996_000) and handover["lost"] == 21


def test_interruption_components_are_bounded(handover_trace):
    """An L2 attach of 11 days is no handover: refused before anything runs, not replayed."""
    with pytest.raises(PracticeError, match="more than the 3600 s a handover may take"):
        dmmemu.run(handover_trace, PMIPv6(l2_attach_ms=11 * 86_400_000))
    assert summary_row(dmmemu.run(handover_trace, PMIPv6(l2_attach_ms=3_000_000)))["handovers"] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_graceful_replacement_moves_the_flow_when_the_grace_ends(tmp_path, engine):
    """RFC 8653's graceful-replacement address under DMM (semantics.md §7.2): a flow pings
    every 50 ms from 9 s to 20 s; the MN hands over at 10 s, where gw0.0 registers the
    flow's address at ar0.1. With graceful_s = 2 the flow keeps it, through the tunnel,
    until 12 s, then moves to gw0.1's address at its next ping, losing nothing more than a
    session-lasting flow does in the handover: its tunnel bytes stop at 12 s."""
    topology = FlatWifi(rows=1, cols=2, correspondents=1).build()
    pings = np.arange(9 * S, 20 * S, 50_000_000, dtype=np.int64)

    def flow_asking(address_type: str) -> dict:
        path = write_trace(
            tmp_path / address_type, name=address_type, topology=topology,
            mobility={"t": np.array([0, 10 * S]), "mn": np.array([0, 0]),
                      "poa": np.array([AR0, AR1])},
            flows={"flow": np.array([3]), "mn": np.array([0]), "peer": np.array([CN]),
                   "start": np.array([9 * S]), "end": np.array([20 * S]),
                   "address_type": [address_type]},
            packets={"t": pings, "flow": np.full(pings.size, 3, np.uint64),
                     "size": np.full(pings.size, 100), "dir": np.ones(pings.size, np.uint8)})
        r = dmmemu.run(path, DMM(graceful_s=2.0), engine=engine)
        return {"flow": r.flows.row(0, named=True),
                "events": r.events.select("t", "kind", "flow", "anchor").rows()}

    graceful, lasting = flow_asking("graceful-replacement"), flow_asking("session-lasting")
    lost = lasting["flow"]["lost"]
    assert lost > 0 and graceful["flow"]["lost"] == lost  # the handover's, nothing more
    assert not graceful["flow"]["broken"] and graceful["flow"]["renumbered"] == 1
    assert graceful["events"] == [(12 * S, "flow-renumbered", 3, GW1)]
    assert lasting["events"] == [] and lasting["flow"]["renumbered"] == 0
    # 40 B of tunnel per ping delivered at ar0.1 through gw0.0: the 200 pings of [10, 20) s
    # for the session-lasting flow, the 40 of [10, 12) s for the graceful one, less the lost.
    assert lasting["flow"]["overhead_bytes"] == 40 * (200 - lost)
    assert graceful["flow"]["overhead_bytes"] == 40 * (40 - lost)


@pytest.mark.parametrize("engine", ENGINES)
def test_interruption_applies_per_address(tmp_path, engine):
    """semantics.md §5.10: beyond the components (335 + 651 + 10 ms), a flow waits only for
    its own address's signaling. The MN hands over from ar0.0 to ar0.1 at 10 s under DMM;
    flow 1 (anchored at gw0.0 since 5 s) waits for gw0.1's PBU/PBA with gw0.0 (2 × 500 µs),
    to 10.997 s; flow 3 starts at 10.5 s on a new address at gw0.1, native there, and waits
    only to 10.996 s. At 10.9965 s flow 1's packet is lost and flow 3's delivered."""
    topology = FlatWifi(rows=1, cols=2, correspondents=1).build()
    between = 10 * S + 996_500_000
    trace = write_trace(
        tmp_path / "per-address", name="per-address", topology=topology,
        mobility={"t": np.array([0, 10 * S]), "mn": np.array([0, 0]), "poa": np.array([AR0, AR1])},
        flows={"flow": np.array([1, 3]), "mn": np.array([0, 0]), "peer": np.array([CN, CN]),
               "start": np.array([1 * S, 10 * S + S // 2]), "end": np.array([20 * S, 20 * S])},
        packets={"t": np.array([5 * S, between, between]), "flow": np.array([1, 1, 3]),
                 "size": np.array([1000] * 3), "dir": np.array([1] * 3)},
    )
    r = dmmemu.run(trace, "dmm", engine=engine)
    flows = {row["flow"]: row for row in r.flows.iter_rows(named=True)}
    assert (flows[1]["lost"], flows[1]["delivered"]) == (1, 1)
    assert (flows[3]["lost"], flows[3]["delivered"]) == (0, 1)
    handover = r.handovers.filter(pl.col("kind") == "handover").row(0, named=True)
    assert handover["interruption_us"] == pytest.approx(997_000) and handover["lost"] == 1


def inet_mipv6_trace(root: Path) -> Path:
    """INET's MIPv6 showcase, as its network is described: the MN starts at home (on the HA's
    home link) and moves to a foreign AR whose round trip to the HA is 107 ms; the CN pings
    every 50 ms. It moves away at 10 s and comes home at 20 s."""
    from dmmemu.topology.graph import Link, Node, Topology

    names = [("cn", "cn"), ("core", "router"), ("ha", "anchor"), ("home", "poa"),
             ("foreign", "poa")]
    nodes = [Node(id=i, name=name, role=role) for i, (name, role) in enumerate(names)]
    links = [Link(a=0, b=1, delay_us=1), Link(a=1, b=2, delay_us=53_500),
             Link(a=2, b=3, delay_us=1), Link(a=1, b=4, delay_us=1)]
    topology = Topology.from_parts(name="inet-mipv6", nodes=nodes, links=links)
    return ping_trace(root, topology, [(0, 3), (10 * S, 4), (20 * S, 3)], end_s=30)


@pytest.mark.parametrize("engine", ENGINES)
def test_inet_mipv6_showcase_first_handover(tmp_path, engine):
    """INET's MIPv6 showcase: a first handover away from home takes 0.347 s link-loss
    detection + 0.651 s 802.11 attach + 0.396 s RS/RA + 1.509 s DAD of the care-of address
    + 1.107 s for the BU/BA (a 107 ms round trip and the HA's 1.000 s DAD before its first BA
    for the new binding cache entry) ≈ 4.0 s (INET measures 3.71-4.11 s, median 4.010 s).
    At home the MN holds no binding and its packets go natively; coming home it
    de-registers (RFC 6275 §11.5.4): a BU of lifetime 0 and the HA's BA."""
    practice = MIPv6(home_link="home", link_loss_ms=347, dad_ms=1509)
    r = dmmemu.run(inet_mipv6_trace(tmp_path), practice, engine=engine)
    rows = r.handovers.sort("row").rows(named=True)
    away, back = rows[1], rows[2]
    assert away["anchor_hold_us"] == 1_000_000
    assert away["signaling_us"] == pytest.approx(1_000_000 + 2 * 53_501)  # foreign-core-ha
    assert away["interruption_us"] == pytest.approx(347_000 + 651_000 + 396_000 + 1_509_000
                                                    + 1_107_002)
    assert away["msgs"] == 2 and back["msgs"] == 2
    sig = {(row["message"], row["cause"]): row["msgs"] for row in r.signaling.iter_rows(named=True)}
    assert sig == {("BU", "handover"): 1, ("BA", "handover"): 1,
                   ("BU de-registration", "deregistration"): 1,
                   ("BA de-registration", "deregistration"): 1}
    # At home (1..10 s and after 20 s) the path is native: cn -> core -> ha -> home, 3 hops,
    # the direct path itself; away, tunnelled from the HA (4 hops against 2).
    stretch = {row["path_hops"]: row["packets"] for row in r.stretch.iter_rows(named=True)}
    assert set(stretch) == {3, 4}


def test_counters_that_could_overflow_are_refused_before_the_run():
    """semantics.md §13: a binding refreshed every nanosecond over the 30-minute sample could
    count more signaling byte-hops than an int64 holds; the run is refused at open with what
    to change, instead of wrapping."""
    sample = Path(__file__).resolve().parents[1] / "traces" / "sample"
    with pytest.raises(PracticeError, match=r"signaling byte-hops .* lengthen the binding "
                                            r"lifetime \(lifetime_s, now 1e-09 s\)"):
        dmmemu.run(sample, PMIPv6(lifetime_s=1e-9))


@pytest.mark.parametrize("engine", ENGINES)
def test_anchor_selection_policies(coverage_hole_trace, engine):
    """semantics.md §5.6 on the coverage-hole trace (MNs 0 and 1 attach at ar0.0 at 0 s, in
    that order; MN 0 attaches again at ar0.1 at 25 s). LMAs gw0.0 (3) and gw0.1 (5)."""
    def run(selection):
        r = dmmemu.run(coverage_hole_trace, PMIPv6DistributedLMA(selection=selection),
                       engine=engine)
        peaks = {row["anchor"]: row["peak_bindings"] for row in r.anchors.iter_rows(named=True)}
        return r.flows["anchor"].to_list(), peaks
    # Hashed by MN id over (3, 5): MN 0 -> 3, MN 1 -> 5.
    assert run("hashed")[0] == [GW0, GW1]
    # Least loaded: MN 0 finds both empty and takes the lowest id; MN 1 then takes gw0.1.
    assert run("least-loaded")[0] == [GW0, GW1]
    # Nearest at each attach: MN 0's second attach at ar0.1 gets gw0.1; at bootstrap only:
    # it keeps gw0.0, which never lost its MN 1 either.
    attach_flows, attach_peaks = run("nearest-at-attach")
    bootstrap_flows, bootstrap_peaks = run("nearest-at-bootstrap")
    assert attach_flows == bootstrap_flows == [GW0, GW0]
    assert attach_peaks[GW1] == 1 and bootstrap_peaks[GW1] == 0
    with pytest.raises(PracticeError, match="selection must be one of"):
        run("round-robin")


def test_new_parameters_refuse_bad_nodes_by_name(handover_trace):
    """A home link must be a PoA, a CMD a node of the topology: refused with the name."""
    with pytest.raises(PracticeError, match="mipv6: home_link: node 'gw0.0' has role "
                                            "'anchor', not poa"):
        dmmemu.run(handover_trace, MIPv6(home_link="gw0.0"))
    with pytest.raises(PracticeError, match="dmm: cmd: .*'nowhere'"):
        dmmemu.run(handover_trace, DMM(cmd="nowhere"))


@pytest.mark.parametrize("engine", ENGINES)
def test_dmm_cmd_proxy_mode(three_maar_trace, engine):
    """RFC 8885 §3.2 (proxy mode), from PRACTICES.md: the CMD answers the serving MAAR at
    once, its PBA carrying a Previous MAAR option per previous MAAR, and signals the previous
    MAARs in parallel: 2k + 2 messages, latency 2·D(S, CMD) = 6 ms whatever k; the same
    bytes as relay mode."""
    r = dmmemu.run(three_maar_trace, DMM(cmd="central-anchor", cmd_mode="proxy"),
                   engine=engine)
    rows = r.handovers.sort("row")
    assert rows["msgs"].to_list() == [2, 2 * 1 + 2, 2 * 2 + 2]
    assert rows["signaling_us"].to_list() == [pytest.approx(6_000)] * 3
    assert rows["bytes"].to_list() == [240, 120 + 138 + 120 + 156,
                                       120 + 2 * 138 + 2 * 120 + (120 + 2 * 36)]


@pytest.mark.parametrize("engine", ENGINES)
def test_dmm_cmd_locator_mode(three_maar_trace, engine):
    """RFC 8885 §3.4 (locator mode): the CMD's PBUs as in relay mode; each previous MAAR
    sends a plain PBA to the serving MAAR and one to the CMD; the CMD sends none to S:
    1 + 3k messages. Latency D(S, CMD) + maxᵢ [D(CMD, Pᵢ) + D(Pᵢ, S)]: at 10 s 3 + 3 + 0.5
    ms; at 20 s 3 + max(3 + 1, 3 + 0.5) ms (gw0.0 is 1 ms from gw0.2, gw0.1 0.5 ms)."""
    r = dmmemu.run(three_maar_trace, DMM(cmd="central-anchor", cmd_mode="locator"),
                   engine=engine)
    rows = r.handovers.sort("row")
    assert rows["msgs"].to_list() == [2, 1 + 3 * 1, 1 + 3 * 2]
    assert rows["signaling_us"].to_list() == [pytest.approx(v) for v in (6_000, 6_500, 7_000)]
    assert rows["bytes"].to_list() == [240, 120 + 138 + 2 * 120, 120 + 2 * 138 + 4 * 120]
    with pytest.raises(PracticeError, match="cmd_mode must be one of relay, proxy, locator"):
        DMM(cmd="central-anchor", cmd_mode="broadcast").compile(
            dmmemu.Trace.open(three_maar_trace).topology)
    with pytest.raises(PracticeError, match="name the CMD's node with cmd"):
        DMM(cmd_mode="proxy").compile(dmmemu.Trace.open(three_maar_trace).topology)


def test_signaling_per_handover_as_a_function_of_the_previous_anchors(three_maar_trace):
    """Issue 11 §2: per mode, messages per handover against k, the previous MAARs the
    handover signalled (the handovers table's ``addresses``): 2k fully distributed, 2k + 2
    relay and proxy, 1 + 3k locator (RFC 8885 §3.2-3.4)."""
    from dmmemu.results import signaling_by_anchors

    formulas = {None: lambda k: 2 * k, "relay": lambda k: 2 * k + 2,
                "proxy": lambda k: 2 * k + 2, "locator": lambda k: 1 + 3 * k}
    for mode, formula in formulas.items():
        practice = DMM() if mode is None else DMM(cmd="central-anchor", cmd_mode=mode)
        result = dmmemu.run(three_maar_trace, practice)
        assert result.handovers.sort("row")["addresses"].to_list() == [0, 1, 2]
        table = signaling_by_anchors(result.handovers)
        assert table.select("addresses", "handovers", "mean_msgs").rows() == [
            (k, 1, float(formula(k))) for k in (1, 2)], mode
