"""Flow classes (mechanism 1): what a flow's columns say about how it is anchored.

A practice lists its classes in order; each flow takes the first class whose match fits its
``continuity``, ``app`` and ``address_type`` columns, its peer node, and a seeded share of
the flows (an offload rule); the last class must match every flow. Both engines
call ``classify`` once at open and read only the integer table ``class_table`` per flow.
Rules: ``docs/semantics.md`` §1 and §7.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dmmemu.errors import PracticeError

# How a class's anchor is chosen.
ANCHOR_POLICY = 0  # by the practice's selection (PolicyTables.select), on an address it keeps
ANCHOR_LOCAL = 1  # the serving anchor of the PoA the MN is at: a new local address at each change
# The class's offload gateway of the PoA where the flow binds (PolicyTables.offload: SIPTO's,
# LIPA's local gateway), an address it keeps while the MN stays in that gateway's scope; by the
# practice's selection where the PoA has none.
ANCHOR_OFFLOAD = 2
ANCHORS = {"policy": ANCHOR_POLICY, "local": ANCHOR_LOCAL, "offload": ANCHOR_OFFLOAD}

# What a flow does when the address it is bound to dies (scope, hold, release).
ON_LOSS_BREAK = 0  # the flow breaks (a session that cannot survive renumbering)
ON_LOSS_RENUMBER = 1  # it takes a new address and resumes after re-establishment (RFC 8653)
ON_LOSS = {"break": ON_LOSS_BREAK, "renumber": ON_LOSS_RENUMBER}

# The source address types an application may ask for (RFC 8653 §3.1), as flows.parquet's
# address_type column writes them; a flow's code is the index here, -1 when it asks none.
ADDRESS_TYPES = ("fixed", "session-lasting", "non-persistent", "graceful-replacement")

# Columns of class_table.
CLASS_ANCHOR, CLASS_ON_LOSS, CLASS_DIRECT, CLASS_ROUTE_OPTIMISED = range(4)
CLASS_COLUMNS = 4
MAX_CLASSES = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowClass:
    """One class: its name, the match (``continuity``, ``apps`` and ``address_types``, the
    RFC 8653 type a flow asks for; ``peers``, node ids of the flow's correspondent, such as
    the local-network peers of LIPA; ``share`` of the flows, drawn per flow id with
    ``seed``: an operator's offload rule; None matches any), and
    what it means: ``anchor`` ("policy", "local" or "offload"), ``on_loss`` ("break" or
    "renumber"), and
    ``grace_ns``, RFC 8653's graceful replacement: the flow keeps its address this long
    after the address's first binding (the MN's first move away from it), then moves to a
    new one without loss (semantics.md §7.2; None: it keeps it for good);
    ``direct``, the k = 0 path (peer to PoA, carrying PolicyTables.direct_bytes per packet)
    instead of the path through the anchor chain; ``route_optimised``, the direct path once
    a correspondent binding with a peer that supports it is in place (semantics.md §15),
    the anchor's path until then."""

    name: str
    anchor: str = "policy"
    on_loss: str = "break"
    direct: bool = False
    route_optimised: bool = False
    grace_ns: int | None = None
    continuity: bool | None = None
    apps: tuple[str, ...] | None = None
    address_types: tuple[str, ...] | None = None
    peers: tuple[int, ...] | None = None
    share: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.anchor not in ANCHORS:
            raise PracticeError(f"flow class {self.name!r}: anchor must be one of "
                                f"{sorted(ANCHORS)}, got {self.anchor!r}")
        if self.on_loss not in ON_LOSS:
            raise PracticeError(f"flow class {self.name!r}: on_loss must be one of "
                                f"{sorted(ON_LOSS)}, got {self.on_loss!r}")
        if self.route_optimised and (self.direct or self.anchor != "policy"):
            raise PracticeError(f"flow class {self.name!r}: a route-optimised flow binds an "
                                "address by the practice's policy and is not always direct")
        if self.grace_ns is not None and not (
                isinstance(self.grace_ns, int) and not isinstance(self.grace_ns, bool)
                and 0 <= self.grace_ns < 2**62):
            raise PracticeError(f"flow class {self.name!r}: grace_ns must be a whole number of "
                                f"ns >= 0, got {self.grace_ns!r}")
        if self.grace_ns is not None and (self.anchor == "local" or self.direct
                                          or self.route_optimised):
            raise PracticeError(f"flow class {self.name!r}: a grace period applies to an "
                                "address the flow keeps through the anchor chain")
        if self.apps is not None and not all(isinstance(a, str) for a in self.apps):
            raise PracticeError(f"flow class {self.name!r}: apps must be app names")
        if self.peers is not None and not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in self.peers):
            raise PracticeError(f"flow class {self.name!r}: peers must be node ids")
        if self.share is not None and not (isinstance(self.share, (int, float))
                                           and 0.0 <= self.share <= 1.0):
            raise PracticeError(f"flow class {self.name!r}: share must be 0 to 1, got "
                                f"{self.share!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise PracticeError(f"flow class {self.name!r}: seed must be a whole number >= 0")
        if self.address_types is not None and not set(self.address_types) <= set(ADDRESS_TYPES):
            raise PracticeError(f"flow class {self.name!r}: address_types must be among "
                                f"{', '.join(ADDRESS_TYPES)}, got {self.address_types!r}")

    @property
    def matches_all(self) -> bool:
        return (self.continuity is None and self.apps is None and self.address_types is None
                and self.peers is None and self.share is None)


ALL_FLOWS = (FlowClass(name="all"),)


def check_classes(classes: tuple[FlowClass, ...]) -> None:
    """Refuse a class list some flow could fall through, or too long for the core."""
    if not classes or not all(isinstance(c, FlowClass) for c in classes):
        raise PracticeError("policy field 'flow_classes' must be a non-empty tuple of FlowClass")
    if len(classes) > MAX_CLASSES:
        raise PracticeError(f"at most {MAX_CLASSES} flow classes, got {len(classes)}")
    if not classes[-1].matches_all:
        raise PracticeError(f"the last flow class ({classes[-1].name!r}) must match every flow "
                            "(no continuity, apps, address_types, peers or share condition)")
    names = [c.name for c in classes]
    if len(set(names)) != len(names):
        raise PracticeError(f"flow class names must be distinct, got {names}")


def class_table(classes: tuple[FlowClass, ...]) -> np.ndarray:
    """uint8 (C, CLASS_COLUMNS): anchor, on-loss, direct and route-optimised codes per class."""
    return np.array([[ANCHORS[c.anchor], ON_LOSS[c.on_loss], int(c.direct),
                      int(c.route_optimised)] for c in classes],
                    np.uint8).reshape(len(classes), CLASS_COLUMNS)


def grace_table(classes: tuple[FlowClass, ...]) -> np.ndarray:
    """int64 (C,): each class's grace period in ns (semantics.md §7.2), -1 for none."""
    return np.array([-1 if c.grace_ns is None else c.grace_ns for c in classes], np.int64)


def drawn_share(flow_ids: np.ndarray, seed: int) -> np.ndarray:
    """float64 (F,) in [0, 1): one uniform draw per flow id, the same for an id wherever it
    sits in the trace (SplitMix64 of the id and the seed, its top 53 bits)."""
    with np.errstate(over="ignore"):
        z = np.asarray(flow_ids, np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def classify(classes: tuple[FlowClass, ...], replay: Any) -> np.ndarray:
    """uint8 (F,): the class of every flow of ``replay`` (a ReplayInput): the first match
    on its continuity, app, address type, peer and drawn share."""
    continuity = np.asarray(replay.flow_continuity).astype(bool)
    codes = (np.full(continuity.shape[0], -1, np.int32) if replay.flow_app is None
             else np.asarray(replay.flow_app))
    names = tuple(replay.app_names)
    asked = (np.full(continuity.shape[0], -1, np.int8) if replay.flow_address_type is None
             else np.asarray(replay.flow_address_type))
    out = np.full(continuity.shape[0], 255, np.uint8)
    for index in range(len(classes) - 1, -1, -1):  # the last written is the first match
        c = classes[index]
        fits = np.ones(continuity.shape[0], bool)
        if c.continuity is not None:
            fits &= continuity == c.continuity
        if c.apps is not None:
            wanted = [i for i, name in enumerate(names) if name in c.apps]
            fits &= np.isin(codes, np.array(wanted, np.int32))
        if c.address_types is not None:
            fits &= np.isin(asked, [ADDRESS_TYPES.index(a) for a in c.address_types])
        if c.peers is not None:
            fits &= np.isin(np.asarray(replay.flow_peer), np.array(c.peers, np.int64))
        if c.share is not None:
            fits &= drawn_share(replay.flow_ids, c.seed) < c.share
        out[fits] = index
    return out
