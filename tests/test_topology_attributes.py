"""Node attributes of topology.toml: functions, areas, PoA access, a correspondent's site.

Round trips through topology.toml and write_trace, the Topology helpers, and one test per
malformed input, each checking that the TopologyError names the file, the node and the value.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dmmemu.errors import TopologyError
from dmmemu.topology import ACCESS_TYPES, FUNCTIONS
from dmmemu.topology.graph import Link, Node, Topology, tomllib
from dmmemu.topology.node_attributes import FUNCTION_BITS
from dmmemu.trace.reader import Trace
from dmmemu.trace.writer import write_trace

SITED_TOML = """\
name = "sited"

[[node]]
id = 0
name = "cn-far"
role = "cn"

[[node]]
id = 1
name = "lma"
role = "anchor"
functions = ["LMA", "HA"]
areas = ["map-domain-1"]

[[node]]
id = 2
name = "lgw"
role = "anchor"
functions = ["L-GW"]
areas = ["lgw-site-a", "sgw-area-north"]

[[node]]
id = 3
name = "ap"
role = "poa"
functions = ["MAG", "AR"]
areas = ["map-domain-1", "lgw-site-a"]
access = "wifi"
nat = true

[[node]]
id = 4
name = "enb"
role = "poa"
areas = ["sgw-area-north"]
access = "cellular"
ipv4 = true

[[node]]
id = 5
name = "cn-local"
role = "cn"
local_to = "lgw-site-a"

[[link]]
a = 0
b = 1
delay_us = 1000.0

[[link]]
a = 1
b = 3
delay_us = 100.0

[[link]]
a = 1
b = 4
delay_us = 100.0

[[link]]
a = 2
b = 3
delay_us = 50.0

[[link]]
a = 2
b = 5
delay_us = 10.0
"""


@pytest.fixture
def sited(tmp_path: Path) -> Topology:
    path = tmp_path / "topology.toml"
    path.write_text(SITED_TOML)
    return Topology.from_toml(path)


def bad(tmp_path: Path, text: str, *pieces: str) -> str:
    """Load ``text``; the TopologyError must name the file and every piece (literally)."""
    path = tmp_path / "topology.toml"
    path.write_text(text)
    with pytest.raises(TopologyError) as err:
        Topology.from_toml(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    for piece in pieces:
        assert piece in message, (piece, message)
    return message


# ------------------------------------------------------------------ reading and writing
def test_attributes_are_read(sited: Topology) -> None:
    lma, lgw, ap, enb, local = (sited.nodes[i] for i in (1, 2, 3, 4, 5))
    assert lma.functions == ("LMA", "HA") and lma.areas == ("map-domain-1",)
    assert ap.functions == ("MAG", "AR") and ap.areas == ("map-domain-1", "lgw-site-a")
    assert (ap.access, ap.ipv4, ap.nat) == ("wifi", False, True)
    assert (enb.access, enb.ipv4, enb.nat) == ("cellular", True, False)
    assert local.local_to == "lgw-site-a" and sited.nodes[0].local_to is None
    # Defaults on nodes that do not use the keys.
    far = sited.nodes[0]
    assert (far.functions, far.areas, far.access, far.ipv4, far.nat) == ((), (), "other",
                                                                          False, False)
    assert lgw.access == "other"


def test_topology_toml_round_trip_is_identical(sited: Topology, tmp_path: Path) -> None:
    """What is written reads as the hand-written file it came from, key for key."""
    assert tomllib.loads(sited.to_toml_text()) == tomllib.loads(SITED_TOML)
    again = tmp_path / "again.toml"
    sited.to_toml(again)
    reread = Topology.from_toml(again)
    assert reread.nodes == sited.nodes
    np.testing.assert_array_equal(reread.function_bits, sited.function_bits)


def test_nodes_without_attributes_are_written_inline() -> None:
    """tomli-w writes short tables inline, in one array per kind."""
    topo = Topology.from_parts(
        [Node(id=0, name="a", role="anchor", central=True), Node(id=1, name="p", role="poa",
                                                                  x=1.0, y=2.0)],
        [Link(a=0, b=1, delay_us=5)], name="plain")
    assert topo.to_toml_text() == (
        'name = "plain"\nnode = [\n    { id = 0, name = "a", role = "anchor", central = true },'
        '\n    { id = 1, name = "p", role = "poa", x = 1.0, y = 2.0 },\n]\n'
        'link = [\n    { a = 0, b = 1, delay_us = 5.0 },\n]\n'
    )


def test_explicit_defaults_read_back_as_defaults(tmp_path: Path) -> None:
    text = SITED_TOML.replace('access = "cellular"\nipv4 = true',
                              'access = "other"\nipv4 = false\nnat = false')
    path = tmp_path / "topology.toml"
    path.write_text(text)
    enb = Topology.from_toml(path).nodes[4]
    assert (enb.access, enb.ipv4, enb.nat) == ("other", False, False)


def test_write_trace_keeps_the_attributes(sited: Topology, tmp_path: Path) -> None:
    path = write_trace(
        tmp_path / "trace", name="sited", topology=sited,
        mobility={"t": np.array([0, 10], np.int64), "mn": np.array([0, 0], np.uint32),
                  "poa": np.array([3, 4], np.int32)},
        flows={"flow": np.array([1], np.uint64), "mn": np.array([0], np.uint32),
               "peer": np.array([5], np.uint32), "start": np.array([0], np.int64),
               "end": np.array([10], np.int64)},
    )
    assert (path / "topology.toml").read_text() == sited.to_toml_text()
    assert Trace.open(path).topology.nodes == sited.nodes


def test_in_memory_lists_become_tuples() -> None:
    node = Node(id=0, name="x", role="anchor", functions=["HA"], areas=["d"])
    assert node.functions == ("HA",) and node.areas == ("d",)
    assert hash(node) == hash(Node(id=0, name="x", role="anchor", functions=("HA",),
                                   areas=("d",)))


# ------------------------------------------------------------------ helpers
def test_helpers(sited: Topology) -> None:
    assert sited.nodes_with_function("LMA").tolist() == [1]
    assert sited.nodes_with_function("AR").tolist() == [3]
    assert sited.nodes_with_function("SMF").tolist() == []
    assert sited.nodes_with_function("HA").dtype == np.int32
    assert sited.areas == ("lgw-site-a", "map-domain-1", "sgw-area-north")
    assert sited.area_members("lgw-site-a").tolist() == [2, 3]
    assert sited.area_members("sgw-area-north").tolist() == [2, 4]
    assert sited.area_members("map-domain-1").dtype == np.int32
    bits = sited.function_bits
    assert bits.dtype == np.uint32 and not bits.flags.writeable
    assert bits.tolist() == [0, FUNCTION_BITS["LMA"] | FUNCTION_BITS["HA"],
                             FUNCTION_BITS["L-GW"], FUNCTION_BITS["MAG"] | FUNCTION_BITS["AR"],
                             0, 0]
    assert len(FUNCTIONS) <= 8 * bits.dtype.itemsize and ACCESS_TYPES[-1] == "other"


def test_helper_errors(sited: Topology) -> None:
    with pytest.raises(TopologyError, match="unknown function 'lma'; expected one of HA, LMA"):
        sited.nodes_with_function("lma")
    with pytest.raises(TopologyError, match=re.escape(
            "no node declares area 'nowhere' (areas: 'lgw-site-a', 'map-domain-1', "
            "'sgw-area-north')")):
        sited.area_members("nowhere")


# ------------------------------------------------------------------ malformed input
def test_unknown_function_names_node_value_and_vocabulary(tmp_path: Path) -> None:
    message = bad(tmp_path, SITED_TOML.replace('"LMA", "HA"', '"LMA", "ha"'),
                  "node 1 ('lma')", "unknown function 'ha'", "case-sensitive")
    assert ", ".join(FUNCTIONS) in message


@pytest.mark.parametrize("old, new, pieces", [
    ('functions = ["L-GW"]', 'functions = "L-GW"', ("node 2 ('lgw')", "functions 'L-GW'",
                                                    "list of names")),
    ('functions = ["L-GW"]', 'functions = ["L-GW", 3]', ("node 2 ('lgw')", "list of names")),
    ('functions = ["L-GW"]', 'functions = ["L-GW", "L-GW"]',
     ("node 2 ('lgw')", "'L-GW' twice in functions")),
    ('areas = ["sgw-area-north"]', 'areas = ["sgw-area-north", " "]',
     ("node 4 ('enb')", "empty area name")),
    ('areas = ["sgw-area-north"]', 'areas = ["sgw-area-north", "sgw-area-north"]',
     ("node 4 ('enb')", "'sgw-area-north' twice in areas")),
    ('areas = ["sgw-area-north"]', 'areas = "sgw-area-north"', ("node 4 ('enb')", "areas")),
    ('access = "cellular"', 'access = "5g"',
     ("node 4 ('enb')", "access '5g'", "wifi, cellular, wired, other")),
    ('access = "cellular"', "access = 1", ("node 4 ('enb')", "access 1")),
    ("ipv4 = true", 'ipv4 = "yes"', ("node 4 ('enb')", "ipv4 'yes'", "true or false")),
    ('role = "cn"\nlocal_to', 'role = "cn"\nnat = false\nlocal_to',
     ("node 5 ('cn-local')", "key 'nat'", "role is 'cn'", "role 'poa' only")),
    ('functions = ["L-GW"]', 'functions = ["L-GW"]\naccess = "wired"',
     ("node 2 ('lgw')", "key 'access'", "role is 'anchor'")),
    ('functions = ["L-GW"]', 'functions = ["L-GW"]\nipv4 = false',
     ("node 2 ('lgw')", "key 'ipv4'", "role is 'anchor'")),
    ('nat = true', 'nat = true\nlocal_to = "lgw-site-a"',
     ("node 3 ('ap')", "key 'local_to'", "role is 'poa'", "role 'cn' only")),
    ('local_to = "lgw-site-a"', 'local_to = "lgw-site-b"',
     ("node 5 ('cn-local')", "local_to 'lgw-site-b'", "no node declares that area",
      "'lgw-site-a', 'map-domain-1', 'sgw-area-north'")),
    ('local_to = "lgw-site-a"', "local_to = 7", ("node 5 ('cn-local')", "local_to 7")),
    ('local_to = "lgw-site-a"', 'local_to = "lgw-site-a"\ncolour = "red"',
     ("[[node]] #5 has unknown key 'colour'",)),
])
def test_bad_attributes_name_the_problem(tmp_path: Path, old: str, new: str,
                                         pieces: tuple[str, ...]) -> None:
    assert old in SITED_TOML
    bad(tmp_path, SITED_TOML.replace(old, new, 1), *pieces)


def test_unknown_role_is_reported_before_role_limited_keys(tmp_path: Path) -> None:
    bad(tmp_path, SITED_TOML.replace('role = "poa"\nfunctions = ["MAG", "AR"]',
                                     'role = "ap"\nfunctions = ["MAG", "AR"]'),
        "node 3 ('ap') has role 'ap'")


@pytest.mark.parametrize("node, pieces", [
    (Node(id=1, name="p", role="poa", functions=("HA", "XX")), ("unknown function 'XX'",)),
    (Node(id=1, name="r", role="router", nat=True), ("role is 'router'", "access, ipv4, nat")),
    (Node(id=1, name="r", role="router", access="wifi"), ("role is 'router'",)),
    (Node(id=1, name="p", role="poa", access="dsl"), ("access 'dsl'",)),
    (Node(id=1, name="p", role="poa", local_to="a"), ("local_to 'a'", "role is 'poa'")),
    (Node(id=1, name="c", role="cn", local_to="nowhere"), ("no node declares that area",)),
])
def test_in_memory_nodes_are_checked(node: Node, pieces: tuple[str, ...]) -> None:
    with pytest.raises(TopologyError) as err:
        Topology.from_parts([Node(id=0, name="a", role="anchor", areas=("a",)), node],
                            [Link(a=0, b=1, delay_us=1)], source="mem")
    message = str(err.value)
    assert message.startswith(f"mem: node 1 ('{node.name}')"), message
    for piece in pieces:
        assert piece in message, (piece, message)
