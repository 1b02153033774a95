"""The reference architectures of the DMM gap analysis (RFC 7429 §4) as generators: their
structure (counts, areas, functions, access attributes) and a round trip through
topology.toml (docs/topologies.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dmmemu.errors import TopologyError
from dmmemu.topology.generators import (
    Composite,
    Eps,
    FlatWifi,
    Hierarchical,
    build_generated,
)
from dmmemu.topology.graph import Topology


def names(topology: Topology, ids) -> list[str]:
    return [topology.nodes[int(i)].name for i in ids]


def round_trip(topology: Topology, tmp_path: Path) -> Topology:
    path = tmp_path / "topology.toml"
    topology.to_toml(path)
    again = Topology.from_toml(path)
    assert again.nodes == topology.nodes and again.links == topology.links
    np.testing.assert_array_equal(again.hops, topology.hops)
    np.testing.assert_array_equal(again.delay_ns, topology.delay_ns)
    return again


@pytest.mark.parametrize("generator", [FlatWifi, Hierarchical])
def test_wifi_access_attributes_follow_their_periods(generator, tmp_path) -> None:
    topology = generator(ipv4_every=3, nat_every=4).build()
    poas = [topology.nodes[p] for p in topology.nodes_with_role("poa")]
    assert all(p.access == "wifi" and p.functions == ("AR", "MAG") for p in poas)
    assert [i for i, p in enumerate(poas) if p.ipv4] == list(range(2, len(poas), 3))
    assert [i for i, p in enumerate(poas) if p.nat] == list(range(3, len(poas), 4))
    plain = generator().build()
    assert not any(n.ipv4 or n.nat for n in plain.nodes)  # no period, no such PoA
    assert names(topology, topology.nodes_with_function("CMD")) == ["central-anchor"]
    round_trip(topology, tmp_path)


def test_flat_wifi_gateways_can_host_distributed_anchors() -> None:
    topology = FlatWifi(rows=2, cols=3).build()
    maars = topology.nodes_with_function("MAAR")
    assert names(topology, maars) == [f"gw{r}.{c}" for r in range(2) for c in range(3)]
    assert topology.areas == ()  # a flat access has no domains


def test_hierarchical_map_domains_are_the_aggregation_areas(tmp_path) -> None:
    topology = Hierarchical(area_rows=1, area_cols=2, ar_rows=2, ar_cols=3).build()
    assert topology.areas == ("map-domain-0.0", "map-domain-0.1")
    for area in topology.areas:
        members = topology.area_members(area)
        (agg,) = [m for m in members if "MAP" in topology.nodes[m].functions]
        poas = [m for m in members if topology.nodes[m].role == "poa"]
        assert len(poas) == 6 and len(members) == 7
        # Every AR of the domain is served by its MAP (the aggregation node in front of it).
        assert set(topology.serving_anchors()[poas].tolist()) == {agg}
    round_trip(topology, tmp_path)


def test_eps_layout(tmp_path) -> None:
    eps = Eps(pgws=2, sgw_rows=1, sgw_cols=2, enb_rows=2, enb_cols=2, henb_sites=3,
              henbs_per_site=2, local_correspondents=2)
    topology = eps.build()
    count = {f: topology.nodes_with_function(f).size
             for f in ("PGW", "SGW", "MME", "eNB", "HeNB", "L-GW")}
    assert count == {"PGW": 2, "SGW": 2, "MME": 1, "eNB": 8, "HeNB": 6, "L-GW": 3}
    assert names(topology, [topology.central_anchor()]) == ["pgw0"]
    assert sorted(topology.areas) == ["lgw-site-0", "lgw-site-1", "lgw-site-2",
                                      "sgw-area-0.0", "sgw-area-0.1"]
    # An SGW service area: its SGW, its four eNBs, and the L-GW sites that lie in it
    # (sites 0 and 2 wrap onto area 0.0), with their HeNBs.
    area = names(topology, topology.area_members("sgw-area-0.0"))
    assert area == ["sgw0.0", "enb0.0", "enb0.1", "enb1.0", "enb1.1", "lgw0", "henb0.0",
                    "henb0.1", "lgw2", "henb2.0", "henb2.1"]
    site = names(topology, topology.area_members("lgw-site-1"))
    assert site == ["lgw1", "henb1.0", "henb1.1"]
    local = [n for n in topology.nodes if n.local_to]
    assert [(n.name, n.local_to) for n in local] == [
        (f"local{k}.{j}", f"lgw-site-{k}") for k in range(3) for j in range(2)]
    cellular = [topology.nodes[p] for p in topology.nodes_with_role("poa")]
    assert {p.access for p in cellular} == {"cellular"}
    # A local correspondent is nearer a HeNB of its site through the L-GW than through the
    # core: the path LIPA keeps local.
    lgw, henb, cn = (topology.node_id(n) for n in ("lgw1", "henb1.0", "local1.0"))
    assert topology.hops[cn, henb] == topology.hops[cn, lgw] + topology.hops[lgw, henb] == 2
    assert topology.delay_ns[cn, henb] == (eps.local_delay_us + eps.henb_delay_us) * 1000
    round_trip(topology, tmp_path)


def test_eps_is_registered_and_checks_its_parameters() -> None:
    topology = build_generated("eps", {"henb_sites": 1, "sgw_rows": 1, "sgw_cols": 1})
    assert topology.generator == "eps" and topology.nodes_with_function("L-GW").size == 1
    with pytest.raises(TopologyError, match="henbs_per_site must be in 1..1000, got 0"):
        Eps(henbs_per_site=0)
    with pytest.raises(TopologyError, match="ipv4_every must be in 0..1000, got -1"):
        FlatWifi(ipv4_every=-1)
    with pytest.raises(TopologyError, match="no parameter 'rows'"):
        build_generated("eps", {"rows": 2})


def test_composite_joins_the_three_regions(tmp_path) -> None:
    composite = Composite()
    topology = composite.build()
    poas = [topology.nodes[p] for p in topology.nodes_with_role("poa")]
    kinds = [p.name.rstrip("0123456789.") for p in poas]
    assert {k: kinds.count(k) for k in set(kinds)} == {"ar": 16, "hier-ar": 16, "enb": 8,
                                                       "henb": 4}
    assert sorted(topology.areas) == ["lgw-site-0", "lgw-site-1", *(
        f"map-domain-{r}.{c}" for r in range(2) for c in range(2)), "sgw-area-0.0",
        "sgw-area-0.1"]
    # One central anchor for all regions; the EPS region's PGW is a gateway like the others.
    assert names(topology, [topology.central_anchor()]) == ["central-anchor"]
    assert topology.nodes_with_function("PGW").size == topology.nodes_with_function(
        "MME").size == 1
    # IPv4 and NAT periods (5 and 7) count over the 32 WiFi ARs of both WiFi regions.
    wifi = [p for p in poas if p.access == "wifi"]
    assert [i for i, p in enumerate(wifi) if p.ipv4] == [4, 9, 14, 19, 24, 29]
    assert [i for i, p in enumerate(wifi) if p.nat] == [6, 13, 20, 27]
    assert not any(p.ipv4 or p.nat for p in poas if p.access == "cellular")
    # Regions lie left to right, one WiFi spacing apart, and do not overlap.
    xs = {k: [p.x for p, kind in zip(poas, kinds) if kind == k] for k in ("ar", "hier-ar",
                                                                          "enb")}
    assert (min(xs["ar"]), max(xs["ar"])) == (0.0, 450.0)
    assert (min(xs["hier-ar"]), max(xs["hier-ar"])) == (600.0, 1050.0)
    assert (min(xs["enb"]), max(xs["enb"])) == (1200.0, 2100.0)
    # Each region's PoAs are served by their own region's gateways.
    serving = topology.serving_anchors()
    for p in topology.nodes_with_role("poa").tolist():
        gw = topology.nodes[int(serving[p])].name
        name = topology.nodes[p].name
        expected = ("gw" if name.startswith("ar") else "agg" if name.startswith("hier")
                    else "sgw" if name.startswith("enb") else "lgw")
        assert gw.startswith(expected), (name, gw)
    round_trip(topology, tmp_path)
    assert build_generated("composite", {"flat_rows": 2}).nodes_with_role("poa").size == 36
