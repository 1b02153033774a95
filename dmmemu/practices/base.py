"""The shared shape of a practice: parameters in, PolicyTables out."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from dmmemu.engine.policy import PolicyTables
from dmmemu.errors import PracticeError, TopologyError
from dmmemu.model_params import seconds_to_ns
from dmmemu.topology.graph import Topology


@dataclass(frozen=True, slots=True, kw_only=True)
class Practice:
    """Base of every practice: timers common to all handovers.

    ``l2_attach_ms`` and ``detection_ms`` are modelling parameters (no RFC fixes them):
    layer-2 attach to the new PoA, and the time until the mobility protocol learns of it.
    """

    key: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    messages: ClassVar[tuple[str, str]] = ("request", "ack")

    l2_attach_ms: float = 50.0
    detection_ms: float = 10.0
    lifetime_s: float = 60.0
    buffering: bool = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            check = _FIELD_CHECKS.get(str(f.type))
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
                if f.type in ("tuple[str, ...]",) and isinstance(value, (list, str)):
                    value = tuple(value.split(",")) if isinstance(value, str) else tuple(value)
                converted[f.name] = value
        return cls(**converted)

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def compile(self, topology: Topology) -> PolicyTables:  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- helpers for subclasses: one mechanism, parameterised
    def _tables(self, topology: Topology, *, select: int, central: int, serving: np.ndarray,
                second: np.ndarray | None = None, always_registered: bool,
                native_at_home: bool, local_non_continuity: bool, mn_originated: bool,
                encap1: int, encap2: int, req_bytes: int, ack_bytes: int) -> PolicyTables:
        n = topology.n_nodes
        return PolicyTables(
            select=select, central=central, serving=np.ascontiguousarray(serving, np.int32),
            second=(np.full(n, -1, np.int32) if second is None
                    else np.ascontiguousarray(second, np.int32)),
            scope=np.ones((n, n), np.uint8), always_registered=always_registered,
            native_at_home=native_at_home, local_non_continuity=local_non_continuity,
            buffering=self.buffering, mn_originated=mn_originated, encap1=encap1,
            encap2=encap2, req_bytes=req_bytes, ack_bytes=ack_bytes,
            lifetime_ns=seconds_to_ns(self.lifetime_s, what=f"{self.key}: lifetime_s",
                                      error=PracticeError),
            l2_ns=seconds_to_ns(self.l2_attach_ms, what=f"{self.key}: l2_attach_ms",
                                error=PracticeError, unit="ms"),
            detect_ns=seconds_to_ns(self.detection_ms, what=f"{self.key}: detection_ms",
                                    error=PracticeError, unit="ms"),
        )


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


# Annotation (as written in the dataclasses) -> (what the user must give, check).
_FIELD_CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "float": ("a finite number", _is_number),
    "int": ("a whole number of bytes up to 65535",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v <= 65535),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "str | None": ("a node name", lambda v: v is None or isinstance(v, str)),
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
