"""The shared shape of a practice: parameters in, PolicyTables out."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from dmmemu.engine.flow_classes import ALL_FLOWS, FlowClass
from dmmemu.engine.policy import (
    ANCHOR_FUNCTIONS,
    SELECT_CENTRAL,
    SELECT_NAMES,
    SELECT_PER_FLOW,
    PolicyTables,
    interruption_table,
)
from dmmemu.engine.signaling import Leg, MessageKind, program_table
from dmmemu.errors import PracticeError, TopologyError
from dmmemu.model_params import seconds_to_ns
from dmmemu.topology.graph import Topology


@dataclass(frozen=True, slots=True, kw_only=True)
class Practice:
    """Base of every practice: the interruption components every handover has.

    They are modelling parameters (no RFC fixes them), shared by every practice so that
    practices on the same access compare alike:
    ``link_loss_ms``: until the MN notices it lost the old link (handovers only, not an attach
    after a detach), 335 ms as INET's PMIPv6 showcase measures it on 802.11 (its MIPv6
    showcase: 347 ms); ``l2_attach_ms``: scan, authenticate and associate with the new PoA,
    651 ms as both INET showcases measure on 802.11 (testbeds report 53–420 ms; LTE X2 tens
    of ms: set it per access); ``detection_ms``: until the mobility protocol learns of the
    attach (a practice sets its own).
    """

    key: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    link_loss_ms: float = 335.0
    l2_attach_ms: float = 651.0
    detection_ms: float = 10.0
    lifetime_s: float = 60.0
    buffering: bool = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = type_name(f.type)
            if kind == "int" and not f.name.endswith("_bytes"):
                kind = "int count"  # a seed or a count (bindings), not a size in bytes
            check = _FIELD_CHECKS.get(kind)
            if check is None:
                raise PracticeError(f"{self.key}: parameter {f.name} has unsupported type {f.type}")
            expected, ok = check
            if not ok(value):
                raise PracticeError(
                    f"{self.key}: parameter {f.name} must be {expected}, got {value!r}")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise PracticeError(f"{self.key}: parameter {f.name} must be >= 0, got {value!r}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "Practice":
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = set(params) - allowed
        if unknown:
            raise PracticeError(
                f"practice {cls.key!r} has no parameter {sorted(unknown)[0]!r}; "
                f"parameters: {', '.join(sorted(allowed))}"
            )
        converted = {}
        for f in dataclasses.fields(cls):
            if f.name in params:
                value = params[f.name]
                if type_name(f.type) == "tuple[str, ...]" and isinstance(value, (list, str)):
                    value = tuple(value.split(",")) if isinstance(value, str) else tuple(value)
                converted[f.name] = value
        return cls(**converted)

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def not_applicable(self, trace: Any) -> str | None:
        """Why the practice has nothing to act on in ``trace`` (a ``Trace``), or None: LIPA
        where no flow goes to a local-network peer, localized routing without MN-to-MN flows.
        A run still happens; its summary says so, so that a comparison does not read the
        figures of a practice that did nothing as a perfect score."""
        return None

    def compile(self, topology: Topology) -> PolicyTables:  # pragma: no cover - abstract
        raise NotImplementedError

    def _positive(self, *names: str) -> None:
        """Parameters that must be > 0 (a period, a timeout), beside __post_init__'s >= 0."""
        for name in names:
            if getattr(self, name) <= 0:
                raise PracticeError(f"{self.key}: parameter {name} must be > 0")

    def _ms(self, value: float, name: str) -> int:
        """A parameter in ms as whole ns (checked: finite, in range)."""
        return seconds_to_ns(value, what=f"{self.key}: {name}", error=PracticeError, unit="ms")

    def _lifetime_ns(self) -> int:
        """``lifetime_s`` as whole ns (checked)."""
        return seconds_to_ns(self.lifetime_s, what=f"{self.key}: lifetime_s",
                             error=PracticeError)

    # ---- helpers for subclasses: one mechanism, parameterised
    def _tables(self, topology: Topology, *, select: int, central: int, serving: np.ndarray,
                chain: np.ndarray | None = None, always_registered: bool,
                segment_bytes: tuple[int, ...],
                flow_classes: tuple[FlowClass, ...] = ALL_FLOWS,
                function_roles: tuple[tuple[int, ...], ...] = ANCHOR_FUNCTIONS, native: np.ndarray | None = None,
                message_kinds: tuple[MessageKind, ...], legs: list[Leg],
                third_node: int = -1, binding_outlives_detach: bool = False,
                detach_release_ns: int = -1, candidates: np.ndarray | None = None,
                dad_ms: float = 0.0, scope: np.ndarray | None = None,
                first_ack_hold_ms: float = 0.0, **policy_fields: Any) -> PolicyTables:
        """PolicyTables with the interruption components of every practice; the other
        ``policy_fields`` (access_bytes, direct_bytes, ro_capable, poa_class, refresh_ns,
        select_for_new_sessions_only, …) go to PolicyTables as they are."""
        n = topology.n_nodes
        link_loss, l2, detection, dad, hold = (
            self._ms(value, name) for name, value in (
                ("link_loss_ms", self.link_loss_ms), ("l2_attach_ms", self.l2_attach_ms),
                ("detection_ms", self.detection_ms), ("dad_ms", dad_ms),
                ("first_ack_hold_ms", first_ack_hold_ms)))
        interruption = interruption_table(link_loss=link_loss, l2_attach=l2,
                                          movement_detection=detection, dad=dad)
        return PolicyTables(
            select=select, central=central, serving=np.ascontiguousarray(serving, np.int32),
            chain=(np.full((len(segment_bytes) - 1, n), -1, np.int32) if chain is None
                   else np.ascontiguousarray(chain, np.int32)),
            segment_bytes=np.array(segment_bytes, np.int32), flow_classes=flow_classes,
            function_roles=function_roles,
            scope=np.ones((n, n), np.uint8) if scope is None else scope,
            always_registered=always_registered,
            native=np.zeros((n, n), np.uint8) if native is None else native,
            buffering=self.buffering,
            message_kinds=message_kinds, legs=program_table(legs, len(message_kinds)),
            third_node=third_node, binding_outlives_detach=binding_outlives_detach,
            detach_release_ns=detach_release_ns, candidates=candidates,
            lifetime_ns=self._lifetime_ns(),
            interruption_ns=interruption, first_ack_hold_ns=hold, **policy_fields,
        )


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


# Annotation (as written in the dataclasses) -> (what the user must give, check).
def type_name(annotation: Any) -> str:
    """A field's type as written: ``float``, ``str | None``, ``tuple[str, ...]``, whether
    the module that declared it postpones annotations (strings) or not (type objects)."""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


_FIELD_CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "float": ("a finite number", _is_number),
    "int": ("a whole number of bytes from 0 to 65535",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v <= 65535),
    "int count": ("a whole number from 0 to 2147483647",
                  lambda v: isinstance(v, int) and not isinstance(v, bool) and v < 2**31),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "str | None": ("a node name", lambda v: v is None or isinstance(v, str)),
    "str": ("a name", lambda v: isinstance(v, str)),
    "tuple[str, ...]": ("a list of node names",
                        lambda v: isinstance(v, tuple) and all(isinstance(x, str) for x in v)),
}


def named_anchor(topology: Topology, name: str | None, what: str) -> int:
    """The anchor node called ``name``, or the topology's central anchor when None."""
    try:
        if name is None:
            return topology.central_anchor()
        node = topology.node_id(name)
    except TopologyError as exc:
        raise PracticeError(f"{what}: {exc}") from None
    if topology.role_of(node) != "anchor":
        raise PracticeError(f"{what}: node {name!r} has role {topology.role_of(node)!r}, not anchor")
    return node


def named_node(topology: Topology, name: str, what: str, *, role: str) -> int:
    """The node called ``name``, which must have ``role``."""
    try:
        node = topology.node_id(name)
    except TopologyError as exc:
        raise PracticeError(f"{what}: {exc}") from None
    if topology.role_of(node) != role:
        raise PracticeError(f"{what}: node {name!r} has role {topology.role_of(node)!r}, "
                            f"not {role}")
    return node


def area_hosts(topology: Topology, prefix: str, function: str) -> np.ndarray:
    """int32 (N,): for each PoA of an area named ``prefix…`` (a MAP domain, an SGW service
    area), the area's member that hosts ``function``, -1 outside every such area: a chain
    level that follows the PoA."""
    hosts_of = np.full(topology.n_nodes, -1, np.int32)
    for area in topology.areas:
        if not area.startswith(prefix):
            continue
        members = topology.area_members(area)
        hosts = [int(m) for m in members if function in topology.nodes[int(m)].functions]
        if not hosts:
            continue
        poas = [int(m) for m in members if topology.role_of(int(m)) == "poa"]
        hosts_of[poas] = hosts[0]
    return hosts_of


def selection_code(what: str, selection: str) -> int:
    """The engine's code of an anchor selection policy among several anchors (semantics.md
    §5.6: every one but the central anchor and per-flow anchoring, which are practices of
    their own); an unknown name is an error listing the known ones."""
    return choice(what, "selection", selection,
                  {name: code for code, name in SELECT_NAMES.items()
                   if code not in (SELECT_CENTRAL, SELECT_PER_FLOW)})


def choice(what: str, name: str, value: Any, choices: Mapping[str, Any]) -> Any:
    """``choices[value]`` for a parameter that names one of them; an unknown name is an
    error listing the known ones."""
    if not isinstance(value, str) or value not in choices:
        raise PracticeError(f"{what}: {name} must be one of {', '.join(choices)}, "
                            f"got {value!r}")
    return choices[value]


def function_anchors(topology: Topology, names: tuple[str, ...], function: str,
                     what: str) -> np.ndarray:
    """Named anchors, else the non-central anchors that can host ``function`` (an HA, an
    LMA), else, on a topology that names no function, every non-central anchor."""
    if names:
        return anchor_set(topology, names, what)
    hosts = [int(a) for a in topology.nodes_with_function(function)
             if topology.role_of(int(a)) == "anchor" and not topology.nodes[int(a)].central]
    if hosts:
        return np.array(hosts, np.int32)
    return anchor_set(topology, (), what)


def anchor_set(topology: Topology, names: tuple[str, ...], what: str) -> np.ndarray:
    """Named anchors, or (empty) every anchor not marked central; ascending ids."""
    if names:
        return np.array(sorted(named_anchor(topology, n, what) for n in names), np.int32)
    anchors = [int(a) for a in topology.nodes_with_role("anchor") if not topology.nodes[a].central]
    if not anchors:
        raise PracticeError(
            f"{what}: the topology {topology.name!r} has no anchor besides the central one; "
            "distributed anchoring needs anchor nodes near the PoAs"
        )
    return np.array(anchors, np.int32)
