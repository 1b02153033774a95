"""What a node offers beyond its role: the mobility functions it can host, the named areas it
belongs to, a PoA's access link and the site a correspondent is local to.

They are inputs for practices: read from ``topology.toml``, validated, written back and
exposed on ``Node`` and ``Topology``; the engines do not read them. Every key is optional and
a node that uses none of them is written exactly as before. Format: ``docs/traces.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from dmmemu.errors import TopologyError

if TYPE_CHECKING:
    from dmmemu.topology.graph import Node

# The mobility functions a node can host (case-sensitive, as the specifications write them).
FUNCTIONS = (
    "HA",  # home agent, RFC 6275
    "LMA",  # local mobility anchor, RFC 5213
    "MAG",  # mobile access gateway, RFC 5213
    "MAP",  # mobility anchor point, RFC 5380
    "AR",  # access router, RFC 6275 / RFC 5380
    "SGW",  # serving gateway, 3GPP TS 23.401
    "PGW",  # PDN gateway, 3GPP TS 23.401
    "L-GW",  # local gateway (LIPA/SIPTO), 3GPP TS 23.401
    "MME",  # mobility management entity, 3GPP TS 23.401
    "CMD",  # central mobility database, RFC 8885
    "MAAR",  # mobility anchor and access router, RFC 8885
    "MR",  # mobile router, RFC 3963
    "UPF",  # user plane function, 3GPP TS 23.501
    "SMF",  # session management function, 3GPP TS 23.501
    "AMF",  # access and mobility management function, 3GPP TS 23.501
    "eNB",  # E-UTRAN base station, 3GPP TS 36.300
    "HeNB",  # home eNB (a femtocell at a local site), 3GPP TS 36.300
)
# Bit of each function in Topology.function_bits (uint32: room for 32 functions).
FUNCTION_BITS = {name: 1 << bit for bit, name in enumerate(FUNCTIONS)}

ACCESS_TYPES = ("wifi", "cellular", "wired", "other")
DEFAULT_ACCESS = "other"  # not stated: no practice may assume a kind of access link

POA_KEYS = ("access", "ipv4", "nat")  # only on a node with role "poa"
CN_KEYS = ("local_to",)  # only on a node with role "cn"
ATTRIBUTE_KEYS = ("functions", "areas", *POA_KEYS, *CN_KEYS)


def attributes_from_toml(entry: Mapping[str, Any], role: str | None,
                         where: str) -> dict[str, Any]:
    """The ``Node`` keyword arguments of the attribute keys of one ``[[node]]`` table, after
    checking their TOML types and that a role-limited key sits on a node of that role (not
    checked for an unknown ``role``, None, which ``Topology.from_parts`` reports).
    ``where`` names the node in messages (``"<file>: node 3 ('ar3')"``)."""
    for keys, only in ((POA_KEYS, "poa"), (CN_KEYS, "cn")):
        present = [key for key in keys if key in entry]
        if present and role is not None and role != only:
            raise TopologyError(
                f"{where} has key {present[0]!r} but its role is {role!r}; "
                f"{', '.join(keys)} belong to a node with role {only!r} only"
            )
    out: dict[str, Any] = {}
    for key in ("functions", "areas"):
        if key in entry:
            value = entry[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TopologyError(
                    f'{where} has {key} {value!r}; use a list of names, e.g. {key} = ["..."]'
                )
            out[key] = tuple(value)
    for key in ("access", "local_to"):
        if key in entry:
            if not isinstance(entry[key], str):
                raise TopologyError(f"{where} has {key} {entry[key]!r}; use a quoted name")
            out[key] = entry[key]
    for key in ("ipv4", "nat"):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise TopologyError(f"{where} has {key} {entry[key]!r}; use true or false")
            out[key] = entry[key]
    return out


def check_attributes(node: Node, where: str) -> None:
    """Values of one node's attributes: known functions, area names, an access type, and the
    PoA and correspondent attributes only on nodes of those roles (in-memory nodes too)."""
    for key, allowed in (("functions", FUNCTIONS), ("areas", None)):
        names = getattr(node, key)
        if not isinstance(names, tuple) or not all(isinstance(v, str) for v in names):
            raise TopologyError(f"{where} has {key} {names!r}; use a list of names")
        for i, name in enumerate(names):
            if allowed is not None and name not in allowed:
                raise TopologyError(
                    f"{where} has unknown function {name!r}; allowed functions are "
                    f"{', '.join(allowed)} (case-sensitive)"
                )
            if allowed is None and not name.strip():
                raise TopologyError(f"{where} has an empty area name; give every area a name")
            if name in names[:i]:
                raise TopologyError(f"{where} lists {name!r} twice in {key}; keep one")
    if node.access not in ACCESS_TYPES:
        raise TopologyError(
            f"{where} has access {node.access!r}; expected one of {', '.join(ACCESS_TYPES)}"
        )
    for key in ("ipv4", "nat"):
        if not isinstance(getattr(node, key), bool):
            raise TopologyError(f"{where} has {key} {getattr(node, key)!r}; use true or false")
    if node.role != "poa" and (node.access != DEFAULT_ACCESS or node.ipv4 or node.nat):
        raise TopologyError(
            f"{where} has PoA access attributes (access, ipv4, nat) but its role is "
            f"{node.role!r}; they describe the access link of a node with role 'poa' only"
        )
    if node.local_to is not None:
        if node.role != "cn":
            raise TopologyError(
                f"{where} has local_to {node.local_to!r} but its role is {node.role!r}; only "
                "a correspondent (role 'cn') is local to a site"
            )
        if not isinstance(node.local_to, str) or not node.local_to.strip():
            raise TopologyError(f"{where} has local_to {node.local_to!r}; name an area")


def check_local_sites(nodes: Sequence[Node], source: str) -> None:
    """Every ``local_to`` names an area that some node declares in its ``areas``."""
    declared = {area for node in nodes for area in node.areas}
    for node in nodes:
        if node.local_to is not None and node.local_to not in declared:
            known = ", ".join(repr(a) for a in sorted(declared)) or "none"
            raise TopologyError(
                f"{source}: node {node.id} ({node.name!r}) has local_to {node.local_to!r}, "
                f"but no node declares that area in its areas (areas of this topology: "
                f"{known})"
            )


def function_bits(nodes: Sequence[Node]) -> np.ndarray:
    """One uint32 per node: bit ``FUNCTION_BITS[f]`` set when the node can host ``f``."""
    bits = np.zeros(len(nodes), dtype=np.uint32)
    for node in nodes:
        for name in node.functions:
            bits[node.id] |= FUNCTION_BITS[name]
    return bits


def attribute_fields(node: Node) -> dict[str, Any]:
    """The ``topology.toml`` keys of the attributes that differ from their defaults."""
    fields: dict[str, Any] = {}
    for key in ("functions", "areas"):
        names = getattr(node, key)
        if names:
            fields[key] = list(names)
    if node.access != DEFAULT_ACCESS:
        fields["access"] = node.access
    for key in ("ipv4", "nat"):
        if getattr(node, key):
            fields[key] = True
    if node.local_to is not None:
        fields["local_to"] = node.local_to
    return fields
