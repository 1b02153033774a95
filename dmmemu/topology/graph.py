"""Topology: nodes with roles, links with one-way delays, and all-pairs path matrices.

The engines only index two matrices, ``hops`` (uint16) and ``delay_ns`` (int64), computed once
here by all-pairs shortest paths on delay (ties: fewest hops). Topologies come from
``topology.toml`` (explicit ``[[node]]``/``[[link]]`` tables, or ``generator`` + ``[params]``)
or from the generators in ``dmmemu.topology.generators``. A node may also name the functions
it can host, the areas it belongs to and, for a PoA or a correspondent, its access link or
site (``dmmemu.topology.node_attributes``); practices read those, the engines do not.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import tomli_w

from dmmemu.errors import TopologyError
from dmmemu.topology.node_attributes import (
    ATTRIBUTE_KEYS,
    DEFAULT_ACCESS,
    FUNCTION_BITS,
    FUNCTIONS,
    attribute_fields,
    attributes_from_toml,
    check_attributes,
    check_local_sites,
    function_bits,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROLES = ("poa", "anchor", "router", "cn")
ROLE_CODES = {role: code for code, role in enumerate(ROLES)}

# Largest topology: the hop and delay matrices take 10·N² bytes (250 MB at 5000 nodes).
MAX_NODES = 5000

# Delay and hops are minimised together as one int64 key: delay_ns << HOP_BITS | hops.
HOP_BITS = 16
_UNREACHABLE = np.int64(1) << np.int64(61)


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """A network node; ``central`` marks the anchor that centralised practices use.

    ``functions`` are the mobility functions the node can host (names from ``FUNCTIONS``),
    ``areas`` the named areas or domains it belongs to (a MAP domain, an SGW service area, an
    L-GW site). ``access``, ``ipv4`` and ``nat`` describe a PoA's access link and keep their
    defaults on other nodes; ``local_to`` names the area a correspondent is local to. Lists
    given for ``functions`` or ``areas`` are stored as tuples.
    """

    id: int
    name: str
    role: str
    x: float | None = None
    y: float | None = None
    central: bool = False
    functions: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    access: str = DEFAULT_ACCESS  # PoA only: one of ACCESS_TYPES
    ipv4: bool = False  # PoA only: the access link carries IPv4 only
    nat: bool = False  # PoA only: the access link is behind a NAT
    local_to: str | None = None  # cn only: an area some node declares

    def __post_init__(self) -> None:
        for key in ("functions", "areas"):
            if isinstance(getattr(self, key), list):
                object.__setattr__(self, key, tuple(getattr(self, key)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """An undirected link with a one-way delay in microseconds."""

    a: int
    b: int
    delay_us: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Topology:
    """Nodes, links and their shortest-path matrices (read-only arrays)."""

    name: str
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    hops: np.ndarray = field(repr=False)
    delay_ns: np.ndarray = field(repr=False)
    roles: np.ndarray = field(repr=False)  # int8 role code per node
    function_bits: np.ndarray = field(repr=False)  # uint32 per node, bits of FUNCTION_BITS
    source: str = "<memory>"
    generator: str | None = None
    params: Mapping[str, Any] | None = None

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_parts(
        cls,
        nodes: Sequence[Node],
        links: Sequence[Link],
        name: str = "",
        *,
        source: str = "<memory>",
        generator: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> "Topology":
        """Validate nodes and links and compute the path matrices."""
        nodes = tuple(nodes)
        links = tuple(links)
        n = len(nodes)
        if n == 0:
            raise TopologyError(f"{source}: the topology has no nodes")
        if n > MAX_NODES:
            raise TopologyError(
                f"{source}: {n} nodes; at most {MAX_NODES} are supported (all-pairs paths take "
                "O(N^2) memory and O(N^3) time): use fewer, larger cells")
        for i, node in enumerate(nodes):
            if node.id != i:
                raise TopologyError(
                    f"{source}: node ids must be dense from 0 in order; node #{i} "
                    f"({node.name!r}) has id {node.id}"
                )
            if node.role not in ROLE_CODES:
                raise TopologyError(
                    f"{source}: node {node.id} ({node.name!r}) has role {node.role!r}; "
                    f"expected one of {', '.join(ROLES)}"
                )
            if node.central and node.role != "anchor":
                raise TopologyError(
                    f"{source}: node {node.id} ({node.name!r}) is marked central but its role "
                    f"is {node.role!r}; only an anchor can be central"
                )
            check_attributes(node, f"{source}: node {node.id} ({node.name!r})")
        if sum(node.central for node in nodes) > 1:
            raise TopologyError(f"{source}: more than one node is marked central")
        check_local_sites(nodes, source)
        weight = np.full((n, n), _UNREACHABLE, dtype=np.int64)
        np.fill_diagonal(weight, 0)
        for i, link in enumerate(links):
            for end in (link.a, link.b):
                if not (isinstance(end, (int, np.integer)) and 0 <= end < n):
                    raise TopologyError(
                        f"{source}: link #{i} ({link.a}-{link.b}) names node {end!r}, "
                        f"which does not exist (ids 0..{n - 1})"
                    )
            if link.a == link.b:
                raise TopologyError(f"{source}: link #{i} connects node {link.a} to itself")
            if not (isinstance(link.delay_us, (int, float)) and math.isfinite(link.delay_us)
                    and link.delay_us >= 0):
                raise TopologyError(
                    f"{source}: link #{i} ({link.a}-{link.b}) has delay_us {link.delay_us!r}; "
                    "it must be a finite number >= 0"
                )
            key = (int(round(link.delay_us * 1000)) << HOP_BITS) | 1
            if key < weight[link.a, link.b]:
                weight[link.a, link.b] = weight[link.b, link.a] = key
        best = _all_pairs_min_plus(weight)
        unreachable = np.argwhere(best[0] >= _UNREACHABLE)
        if unreachable.size:
            v = int(unreachable[0][0])
            raise TopologyError(
                f"{source}: node {v} ({nodes[v].name!r}) cannot be reached from node 0 "
                f"({nodes[0].name!r}); every node must be connected"
            )
        hops = (best & ((1 << HOP_BITS) - 1)).astype(np.uint16)
        delay_ns = best >> HOP_BITS
        roles = np.array([ROLE_CODES[node.role] for node in nodes], dtype=np.int8)
        bits = function_bits(nodes)
        for arr in (hops, delay_ns, roles, bits):
            arr.setflags(write=False)
        return cls(
            name=name, nodes=nodes, links=links, hops=np.ascontiguousarray(hops),
            delay_ns=np.ascontiguousarray(delay_ns), roles=roles, function_bits=bits,
            source=source, generator=generator,
            params=dict(params) if params is not None else None,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> "Topology":
        """Build from the parsed form of ``topology.toml``."""
        data = dict(data)
        if "generator" in data:
            from dmmemu.topology.generators import build_generated

            extra = set(data) - {"generator", "params", "name"}
            if extra:
                raise TopologyError(
                    f"{source}: unknown key {sorted(extra)[0]!r} beside 'generator' "
                    "(allowed: generator, params, name)"
                )
            return build_generated(
                str(data["generator"]), dict(data.get("params", {})), source=source
            )
        extra = set(data) - {"name", "node", "link"}
        if extra:
            raise TopologyError(
                f"{source}: unknown key {sorted(extra)[0]!r} (allowed: name, node, link, "
                "or generator with params)"
            )
        nodes = [_node_from(entry, i, source) for i, entry in enumerate(data.get("node", []))]
        links = [_link_from(entry, i, source) for i, entry in enumerate(data.get("link", []))]
        return cls.from_parts(nodes, links, str(data.get("name", "")), source=source)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Topology":
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TopologyError(f"{path}: file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TopologyError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    def to_toml(self, path: str | Path) -> None:
        """Write the explicit node/link form (generators are expanded)."""
        Path(path).write_text(self.to_toml_text(), encoding="utf-8")

    def to_toml_text(self) -> str:
        """The explicit node/link form as TOML (tomli-w), a comment naming the generator."""
        nodes = []
        for node in self.nodes:
            fields: dict[str, Any] = {"id": node.id, "name": node.name, "role": node.role}
            for key in ("x", "y"):
                if getattr(node, key) is not None:
                    fields[key] = float(getattr(node, key))
            if node.central:
                fields["central"] = True
            nodes.append({**fields, **attribute_fields(node)})
        links = [{"a": link.a, "b": link.b, "delay_us": float(link.delay_us)}
                 for link in self.links]
        text = tomli_w.dumps({"name": self.name, "node": nodes, "link": links})
        if self.generator:
            text = (f"# expanded from generator {self.generator!r} with "
                    f"{dict(self.params or {})}\n{text}")
        return text

    # ---------------------------------------------------------------- queries
    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def role_of(self, node_id: int) -> str:
        return self.nodes[node_id].role

    def nodes_with_role(self, role: str) -> np.ndarray:
        if role not in ROLE_CODES:
            raise TopologyError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        return np.flatnonzero(self.roles == ROLE_CODES[role]).astype(np.int32)

    def nodes_with_function(self, function: str) -> np.ndarray:
        """Ids (ascending, int32) of the nodes that can host ``function`` (e.g. ``"LMA"``)."""
        if function not in FUNCTION_BITS:
            raise TopologyError(
                f"unknown function {function!r}; expected one of {', '.join(FUNCTIONS)}"
            )
        return np.flatnonzero(self.function_bits & FUNCTION_BITS[function]).astype(np.int32)

    def local_peers(self) -> dict[str, list[int]]:
        """The correspondents local to each site (``local_to``): site -> ascending ids."""
        sites: dict[str, list[int]] = {}
        for node in self.nodes:
            if node.local_to:
                sites.setdefault(node.local_to, []).append(node.id)
        return sites

    @property
    def areas(self) -> tuple[str, ...]:
        """The names of the areas the nodes declare, sorted."""
        return tuple(sorted({area for node in self.nodes for area in node.areas}))

    def area_members(self, area: str) -> np.ndarray:
        """Ids (ascending, int32) of the nodes that declare ``area`` in their ``areas``."""
        members = [node.id for node in self.nodes if area in node.areas]
        if not members:
            known = ", ".join(repr(a) for a in self.areas) or "none"
            raise TopologyError(
                f"{self.source}: no node declares area {area!r} (areas: {known})"
            )
        return np.array(members, dtype=np.int32)

    def node_id(self, name: str) -> int:
        for node in self.nodes:
            if node.name == name:
                return node.id
        raise TopologyError(f"{self.source}: no node named {name!r}")

    def central_anchor(self) -> int:
        """The node marked central, else the only anchor, else the anchor with the least mean
        delay to all PoAs (ties by id)."""
        for node in self.nodes:
            if node.central:
                return node.id
        anchors = self._require("anchor")
        if anchors.size == 1:
            return int(anchors[0])
        poas = self._require("poa")
        mean_delay = self.delay_ns[np.ix_(anchors, poas)].sum(axis=1)
        return int(anchors[int(np.argmin(mean_delay))])

    def serving_anchors(self, anchors: np.ndarray | None = None) -> np.ndarray:
        """For each PoA the nearest anchor by delay (ties by id); -1 for other nodes."""
        anchors = self._require("anchor") if anchors is None else np.asarray(anchors, np.int32)
        poas = self._require("poa")
        serving = np.full(self.n_nodes, -1, dtype=np.int32)
        # argmin returns the first minimum: anchors are ascending, so ties go to the lowest id.
        serving[poas] = anchors[np.argmin(self.delay_ns[np.ix_(poas, anchors)], axis=1)]
        return serving

    def _require(self, role: str) -> np.ndarray:
        ids = self.nodes_with_role(role)
        if ids.size == 0:
            raise TopologyError(f"{self.source}: the topology has no node with role {role!r}")
        return ids


def _all_pairs_min_plus(weight: np.ndarray) -> np.ndarray:
    """Floyd–Warshall on combined (delay, hops) keys; O(N^3) vectorised over rows."""
    best = weight.copy()
    for k in range(best.shape[0]):
        np.minimum(best, best[:, k, None] + best[None, k, :], out=best)
    np.minimum(best, _UNREACHABLE, out=best)
    return best


_NODE_KEYS = {"id", "name", "role", "x", "y", "central", *ATTRIBUTE_KEYS}
_LINK_KEYS = {"a", "b", "delay_us"}


def _node_from(entry: Mapping[str, Any], i: int, source: str) -> Node:
    unknown = set(entry) - _NODE_KEYS
    if unknown:
        raise TopologyError(f"{source}: [[node]] #{i} has unknown key {sorted(unknown)[0]!r}")
    for key in ("id", "role"):
        if key not in entry:
            raise TopologyError(f"{source}: [[node]] #{i} lacks required key {key!r}")
    if not isinstance(entry["id"], int) or isinstance(entry["id"], bool):
        raise TopologyError(f"{source}: [[node]] #{i} has non-integer id {entry['id']!r}")
    name = str(entry.get("name", f"n{entry['id']}"))
    role = str(entry["role"])
    attributes = attributes_from_toml(
        entry, role if role in ROLE_CODES else None, f"{source}: node {entry['id']} ({name!r})")
    return Node(
        id=entry["id"], name=name, role=role,
        x=_optional_float(entry, "x", i, source), y=_optional_float(entry, "y", i, source),
        central=_optional_bool(entry, "central", i, source), **attributes,
    )


def _link_from(entry: Mapping[str, Any], i: int, source: str) -> Link:
    unknown = set(entry) - _LINK_KEYS
    if unknown:
        raise TopologyError(f"{source}: [[link]] #{i} has unknown key {sorted(unknown)[0]!r}")
    for key in ("a", "b", "delay_us"):
        if key not in entry:
            raise TopologyError(f"{source}: [[link]] #{i} lacks required key {key!r}")
    delay = entry["delay_us"]
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise TopologyError(f"{source}: [[link]] #{i} has non-numeric delay_us {delay!r}")
    return Link(a=entry["a"], b=entry["b"], delay_us=float(delay))


def _optional_bool(entry: Mapping[str, Any], key: str, i: int, source: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise TopologyError(f"{source}: [[node]] #{i} has {key} {value!r}; use true or false")
    return value


def _optional_float(entry: Mapping[str, Any], key: str, i: int, source: str) -> float | None:
    if key not in entry:
        return None
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TopologyError(f"{source}: [[node]] #{i} has non-numeric {key} {value!r}")
    return float(value)
