"""PolicyTables: what a practice decided, as integer codes and lookup arrays for the engines.

A practice (``dmmemu.practices``) compiles its parameters against a topology into one of these;
both engines read nothing else from the practice. Field meanings: ``docs/semantics.md`` §1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmmemu.errors import PracticeError

# Anchor selection for a new address (docs/semantics.md §1).
SELECT_CENTRAL = 1
SELECT_AT_ATTACH = 2
SELECT_PER_FLOW = 3
SELECT_NAMES = {SELECT_CENTRAL: "central", SELECT_AT_ATTACH: "at-attach", SELECT_PER_FLOW: "per-flow"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyTables:
    """Integer codes and per-node lookup arrays; arrays are C-contiguous and read-only."""

    select: int
    central: int
    serving: np.ndarray  # int32 (N,): serving anchor of each PoA, -1 elsewhere
    second: np.ndarray  # int32 (N,): second chain anchor at each PoA, -1 for none
    scope: np.ndarray  # uint8 (N, N): scope[anchor, poa]
    always_registered: bool
    native_at_home: bool
    local_non_continuity: bool
    buffering: bool
    mn_originated: bool
    encap1: int
    encap2: int
    req_bytes: int
    ack_bytes: int
    lifetime_ns: int
    l2_ns: int
    detect_ns: int

    def __post_init__(self) -> None:
        n = self.serving.shape[0]
        if self.select not in SELECT_NAMES:
            raise PracticeError(f"unknown anchor selection code {self.select}")
        if self.select == SELECT_CENTRAL and not (0 <= self.central < n):
            raise PracticeError("central anchor selection needs a central anchor node")
        checks = [
            ("serving", self.serving, np.int32, (n,)),
            ("second", self.second, np.int32, (n,)),
            ("scope", self.scope, np.uint8, (n, n)),
        ]
        for name, arr, dtype, shape in checks:
            if arr.dtype != dtype or arr.shape != shape or not arr.flags.c_contiguous:
                raise PracticeError(
                    f"policy table {name!r} must be a C-contiguous {np.dtype(dtype)} array of shape "
                    f"{shape}, got {arr.dtype} {arr.shape}"
                )
            arr.setflags(write=False)
        for name in ("encap1", "encap2", "req_bytes", "ack_bytes", "lifetime_ns", "l2_ns", "detect_ns"):
            if int(getattr(self, name)) < 0:
                raise PracticeError(f"policy field {name!r} must be >= 0")

    @property
    def n_nodes(self) -> int:
        return int(self.serving.shape[0])
