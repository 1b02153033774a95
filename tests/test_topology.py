"""Topology loading, path matrices, anchor defaults and the reference generators."""

from __future__ import annotations

import numpy as np
import pytest

from dmmemu.errors import TopologyError
from dmmemu.topology.generators import FlatWifi, Hierarchical, build_generated
from dmmemu.topology.graph import Link, Node, Topology

LINE_TOML = """
name = "line"
[[node]]
id = 0
name = "cn"
role = "cn"
[[node]]
id = 1
name = "ha"
role = "anchor"
[[node]]
id = 2
name = "r"
role = "router"
[[node]]
id = 3
name = "ar"
role = "poa"
[[link]]
a = 0
b = 2
delay_us = 1000
[[link]]
a = 1
b = 2
delay_us = 250.5
[[link]]
a = 2
b = 3
delay_us = 100
"""


def test_toml_line_matrices(tmp_path):
    path = tmp_path / "topology.toml"
    path.write_text(LINE_TOML)
    topo = Topology.from_toml(path)
    assert topo.hops.dtype == np.uint16 and topo.delay_ns.dtype == np.int64
    assert topo.hops[0, 3] == 2 and topo.delay_ns[0, 3] == 1_100_000
    assert topo.hops[1, 3] == 2 and topo.delay_ns[1, 3] == 350_500
    assert (topo.hops == topo.hops.T).all() and (np.diag(topo.delay_ns) == 0).all()
    assert topo.central_anchor() == 1
    assert topo.serving_anchors().tolist() == [-1, -1, -1, 1]
    again = tmp_path / "again.toml"
    topo.to_toml(again)
    assert (Topology.from_toml(again).delay_ns == topo.delay_ns).all()


def test_shortest_delay_wins_over_fewer_hops():
    nodes = [Node(id=i, name=f"n{i}", role="router") for i in range(4)]
    links = [Link(a=0, b=3, delay_us=10), Link(a=0, b=1, delay_us=1), Link(a=1, b=2, delay_us=1),
             Link(a=2, b=3, delay_us=1)]
    topo = Topology.from_parts(nodes, links)
    assert topo.delay_ns[0, 3] == 3000 and topo.hops[0, 3] == 3


def test_equal_delay_takes_fewer_hops():
    nodes = [Node(id=i, name=f"n{i}", role="router") for i in range(3)]
    links = [Link(a=0, b=2, delay_us=2), Link(a=0, b=1, delay_us=1), Link(a=1, b=2, delay_us=1)]
    topo = Topology.from_parts(nodes, links)
    assert topo.delay_ns[0, 2] == 2000 and topo.hops[0, 2] == 1


@pytest.mark.parametrize("text, message", [
    (LINE_TOML.replace('role = "router"', 'role = "switch"'), "role 'switch'"),
    (LINE_TOML.replace("b = 3\n", "b = 9\n"), "does not exist"),
    (LINE_TOML.replace("delay_us = 100", "delay_us = -1"), "finite number >= 0"),
    (LINE_TOML.replace("a = 2\nb = 3\ndelay_us = 100", "a = 0\nb = 1\ndelay_us = 100"),
     "cannot be reached"),
    (LINE_TOML.replace('name = "line"', 'name = "line"\ncolour = 1'), "unknown key 'colour'"),
    (LINE_TOML.replace("id = 2\n", "id = 5\n"), "dense from 0"),
    ('generator = "ring"', "unknown topology generator 'ring'"),
    ('generator = "flat-wifi"\n[params]\nrowz = 2', "no parameter 'rowz'"),
    ("name = [", "not valid TOML"),
])
def test_bad_topologies_name_the_problem(tmp_path, text, message):
    path = tmp_path / "topology.toml"
    path.write_text(text)
    with pytest.raises(TopologyError, match=message) as info:
        Topology.from_toml(path)
    assert str(path) in str(info.value) or "generator" in str(info.value)


def test_flat_wifi_anchor_in_front_of_each_ar():
    topo = FlatWifi(rows=3, cols=2).build()
    poas = topo.nodes_with_role("poa")
    assert poas.size == 6
    serving = topo.serving_anchors()
    cn = topo.node_id("cn0")
    for p in poas:
        gw = serving[p]
        assert topo.nodes[gw].name == topo.nodes[p].name.replace("ar", "gw")
        # The gateway sits on the direct path, so anchoring there adds no stretch.
        assert topo.hops[cn, gw] + topo.hops[gw, p] == topo.hops[cn, p]
    central = topo.central_anchor()
    assert topo.nodes[central].name == "central-anchor"
    assert topo.hops[cn, central] + topo.hops[central, poas[0]] > topo.hops[cn, poas[0]]


def test_hierarchical_areas_and_generator_registry():
    topo = build_generated("hierarchical", {"area_rows": 1, "area_cols": 2, "ar_rows": 2,
                                            "ar_cols": 2})
    assert topo.nodes_with_role("poa").size == 8
    serving = topo.serving_anchors()[topo.nodes_with_role("poa")]
    assert len(set(serving.tolist())) == 2  # one aggregation anchor per area
    assert Hierarchical().build().nodes_with_role("anchor").size == 5
    with pytest.raises(TopologyError, match="rows must be in 1..1000, got 0"):
        FlatWifi(rows=0)


@pytest.mark.parametrize("params, message", [
    ({"rows": "a"}, "rows must be an integer"),
    ({"rows": 2.5}, "rows must be an integer"),
    ({"rows": 100_000}, "rows must be in 1..1000"),
    ({"spacing_m": 0}, "spacing_m must be finite and > 0"),
    ({"access_delay_us": float("nan")}, "access_delay_us must be finite"),
])
def test_generator_parameters_are_checked(params, message):
    with pytest.raises(TopologyError, match=message):
        build_generated("flat-wifi", params)


def test_central_must_be_a_boolean_and_size_is_bounded(tmp_path):
    path = tmp_path / "topology.toml"
    path.write_text(LINE_TOML.replace('name = "ha"', 'name = "ha"\ncentral = "no"'))
    with pytest.raises(TopologyError, match="use true or false"):
        Topology.from_toml(path)
    from dmmemu.topology.graph import MAX_NODES

    nodes = [Node(id=i, name=f"n{i}", role="router") for i in range(MAX_NODES + 1)]
    with pytest.raises(TopologyError, match="at most"):
        Topology.from_parts(nodes, [])
