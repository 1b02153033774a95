"""The bundled ``traces/sample`` gives every practice something to act on (traces/sample/
README.md): each element the practices need is counted in its files, not read from its
manifest, so a regenerated sample that lost one fails here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dmmemu.engine.flow_classes import ADDRESS_TYPES
from dmmemu.trace.reader import Trace

SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"

pytestmark = pytest.mark.skipif(not (SAMPLE / "trace.toml").is_file(),
                                reason="no bundled sample in this checkout")


@pytest.fixture(scope="module")
def sample() -> Trace:
    return Trace.open(SAMPLE)


@pytest.fixture(scope="module")
def moves(sample: Trace) -> pl.DataFrame:
    """Every mobility row with the MN's PoA before it (-1: detached) and its next row."""
    return (sample.mobility.sort("mn", "t")
            .with_columns(before=pl.col("poa").shift(1).over("mn").fill_null(-1),
                          next_t=pl.col("t").shift(-1).over("mn"))
            .filter(pl.col("poa") != pl.col("before")))


def _area_of(sample: Trace, prefix: str) -> np.ndarray:
    """Per node, the index of its area named ``prefix…`` (-1: none)."""
    area = np.full(len(sample.topology.nodes), -1)
    for k, name in enumerate(a for a in sample.topology.areas if a.startswith(prefix)):
        area[sample.topology.area_members(name)] = k
    return area


def _handovers_between(moves: pl.DataFrame, area: np.ndarray) -> tuple[int, int]:
    """(handovers inside one area, handovers from one area to another) of those areas."""
    ho = moves.filter((pl.col("before") >= 0) & (pl.col("poa") >= 0))
    src, dst = area[ho["before"].to_numpy()], area[ho["poa"].to_numpy()]
    both = (src >= 0) & (dst >= 0)
    return int((both & (src == dst)).sum()), int((both & (src != dst)).sum())


def test_map_domains_are_entered_left_and_moved_inside(sample, moves) -> None:
    domains = [a for a in sample.topology.areas if a.startswith("map-domain-")]
    assert len(domains) >= 2
    inside, across = _handovers_between(moves, _area_of(sample, "map-domain-"))
    assert inside > 0 and across > 0  # HMIPv6's local BU and its new-domain registration


def test_an_eps_region_with_sgw_areas_a_pgw_and_an_mme(sample, moves) -> None:
    topology = sample.topology
    count = {f: topology.nodes_with_function(f).size for f in ("PGW", "SGW", "MME", "eNB")}
    assert count["PGW"] >= 1 and count["MME"] == 1 and count["eNB"] >= 4
    assert sum(a.startswith("sgw-area-") for a in topology.areas) >= 2
    inside, across = _handovers_between(moves, _area_of(sample, "sgw-area-"))
    assert inside > 0 and across > 0  # an X2 handover keeping the SGW, and an SGW change
    # The central anchor is not the PGW: the centralised practices anchor at one node for
    # WiFi and cellular alike.
    assert "PGW" not in topology.nodes[topology.central_anchor()].functions


def test_ipv4_and_nated_pois_are_used(sample, moves) -> None:
    nodes = sample.topology.nodes
    attached = set(moves.filter(pl.col("poa") >= 0)["poa"].to_list())
    assert any(nodes[p].ipv4 for p in attached)  # DSMIPv6's IPv4 care-of addresses
    assert any(nodes[p].nat for p in attached)  # its UDP encapsulation and keepalives


def test_henb_sites_carry_flows_to_their_local_peers(sample) -> None:
    topology = sample.topology
    local_site = {i: n.local_to for i, n in enumerate(topology.nodes) if n.local_to}
    assert len(set(local_site.values())) >= 2
    flows = sample.flows.filter(pl.col("peer").is_in(list(local_site)))
    assert flows.height > 0
    # Each such flow starts while its MN is at a HeNB of its peer's own site (LIPA's case),
    # unless a coverage hole, cut in after the traffic, took the MN away at that time; the
    # riders of mobile routers are left out (on board their rows are their router's).
    riders = sample.networks["mn"].unique().to_list() if sample.networks is not None else []
    flows = flows.filter(~pl.col("mn").is_in(riders))
    at_start = flows.sort("start").join_asof(
        sample.mobility.sort("t"), left_on="start", right_on="t", by="mn",
        strategy="backward", check_sortedness=False).filter(pl.col("poa") >= 0)
    assert at_start.height > 0.8 * flows.height
    for poa, peer in zip(at_start["poa"].to_list(), at_start["peer"].to_list()):
        assert "HeNB" in topology.nodes[poa].functions
        assert local_site[peer] in topology.nodes[poa].areas


def test_coverage_holes_on_both_sides_of_the_bce_hold(sample, moves) -> None:
    holes = moves.filter((pl.col("poa") == -1) & pl.col("next_t").is_not_null())
    seconds = ((holes["next_t"] - holes["t"]) / 1e9).to_numpy()
    # PMIPv6's MinDelayBeforeBCEDelete is 10 s (RFC 5213 §12): holes end before and after it.
    assert (seconds < 10).sum() > 10 and (seconds > 10).sum() > 10
    # Flows run through them: a flow of the MN spans the hole.
    spans = holes.join(sample.flows, on="mn").filter(
        (pl.col("start") < pl.col("t")) & (pl.col("end") > pl.col("next_t")))
    assert spans.height > 0


def test_flow_classes_by_application(sample) -> None:
    flows = sample.flows
    assert set(flows["continuity"].to_list()) == {True, False}
    assert flows["app"].n_unique() >= 4
    types = set(flows["address_type"].drop_nulls().to_list())
    assert len(types) >= 3 and types <= set(ADDRESS_TYPES)
    assert flows["address_type"].null_count() > 0  # and flows that ask for none


def test_mobile_routers_carry_riders_one_of_them_nested(sample) -> None:
    networks = sample.networks
    assert networks is not None
    routers = set(networks["router"].drop_nulls().to_list())
    riders = set(networks.filter(pl.col("router").is_not_null())["mn"].to_list())
    assert len(routers) >= 3 and len(riders - routers) >= 10
    assert riders & routers and sample.network_depth == 2  # a router behind a router
    assert networks["router"].null_count() > 0  # riders also get off
    # Riders have flows: NEMO's nested tunnels carry packets.
    assert sample.flows.filter(pl.col("mn").is_in(list(riders - routers))).height > 0


def test_mn_to_mn_flows_some_between_mns_at_one_poa(sample, runs) -> None:
    to_mn = sample.flows.filter(pl.col("peer_mn").is_not_null())
    assert to_mn.height >= 20 and to_mn["peer"].null_count() == to_mn.height
    # Both ends move: their packets are delivered, some while the two MNs share a PoA.
    mipv6 = runs["mipv6"]
    assert mipv6.flows.filter(pl.col("peer_mn").is_not_null())["delivered"].sum() > 0
    assert mipv6.summary["same_poa_packets"][0] > 0


@pytest.fixture(scope="module")
def runs() -> dict:
    import dmmemu
    from dmmemu.practices import PRACTICES

    return {key: dmmemu.run(SAMPLE, key) for key in PRACTICES}


def _messages(result, name: str) -> int:
    return int(result.signaling.filter(pl.col("message") == name)["msgs"].sum())


def test_every_practice_finds_what_it_acts_on(runs) -> None:
    """No practice is "not applicable" on the sample, and each one's own mechanism shows in
    its tables (a practice whose distinguishing messages never fire would compare like
    plain MIPv6 or PMIPv6)."""
    assert all(r.summary["not_applicable"].to_list() == [None] for r in runs.values())
    ro = runs["mipv6-ro"]
    assert _messages(ro, "BU to CN") > 0 and _messages(ro, "HoTI") < _messages(ro, "CoTI")
    assert ro.summary["mean_stretch"][0] < runs["mipv6"].summary["mean_stretch"][0]
    dsmip = runs["dsmipv6"].signaling
    assert dsmip.filter((pl.col("message") == "BU from IPv4")
                        & (pl.col("cause") == "refresh"))["msgs"].sum() > 0  # NAT keepalives
    assert _messages(runs["hmipv6"], "IKE_AUTH") > 0
    assert _messages(runs["hmipv6"], "local BU") > _messages(runs["hmipv6"], "IKE_AUTH")
    assert runs["mipv6-dha"].summary["anchors_used"][0] > 1
    assert runs["pmipv6"].summary["broken_flows"][0] > 0  # holes past MinDelayBeforeBCEDelete
    assert runs["mipv6"].summary["broken_flows"][0] == 0  # a permanent home address
    assert runs["dmm"].summary["renumbered_flows"][0] > 0
    assert _messages(runs["pmipv6-rt"], "proxy PBU") > 0  # redirected sessions
    assert runs["pmipv6-v4"].summary["overhead_bytes"][0] < runs["pmipv6"].summary[
        "overhead_bytes"][0]  # a 20-byte IPv4 outer header instead of 40
    nemo, mipv6 = runs["nemo"], runs["mipv6"]
    assert _messages(nemo, "BU mobile router") > 0
    # Riders do not signal their routers' moves (fewer handovers than each MN on its own),
    # and their packets carry the routers' tunnels too.
    assert nemo.summary["handovers"][0] < mipv6.summary["handovers"][0]
    assert nemo.summary["overhead_bytes"][0] > mipv6.summary["overhead_bytes"][0]
    assert (nemo.handovers["source"] == "networks").sum() > 0
