"""PolicyTables: what a practice decided, as integer codes and lookup arrays for the engines.

A practice (``dmmemu.practices``) compiles its parameters against a topology into one of these;
both engines read nothing else from the practice. Field meanings: ``docs/semantics.md`` §1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmmemu.engine.flow_classes import ALL_FLOWS, FlowClass, check_classes
from dmmemu.engine.signaling import (
    ANCHOR_CONDITIONS,
    CAUSE_CORRESPONDENT,
    CAUSE_LOCALIZED,
    LEG_CAUSE,
    LEG_DST,
    LEG_GATE_CAP_NS,
    LEG_LEVEL,
    LEG_OFFSET_NS,
    LEG_SRC,
    LEG_VIA,
    LEG_WHEN,
    MAX_POA_CLASSES,
    PAIR_CONDITIONS,
    ROLE_ANCHOR,
    ROLE_MN,
    ROLE_NAMES,
    ROLE_THIRD,
    MessageKind,
    check_program,
)
from dmmemu.errors import PracticeError

# Anchor selection for a new address (docs/semantics.md §1).
SELECT_CENTRAL = 1
SELECT_AT_ATTACH = 2
SELECT_PER_FLOW = 3
SELECT_AT_BOOTSTRAP = 4
SELECT_HASHED = 5
SELECT_LEAST_LOADED = 6
SELECT_NAMES = {SELECT_CENTRAL: "central", SELECT_AT_ATTACH: "nearest-at-attach",
                SELECT_PER_FLOW: "per-flow", SELECT_AT_BOOTSTRAP: "nearest-at-bootstrap",
                SELECT_HASHED: "hashed", SELECT_LEAST_LOADED: "least-loaded"}
SELECT_FROM_CANDIDATES = (SELECT_HASHED, SELECT_LEAST_LOADED)

# Relocation of the home address at a handover (semantics.md §5 step 9a): none, the address
# moved to the target anchor (RFC 5142), or a new address there (RFC 7429 §4.2.1); the
# target is the nearer serving anchor, or the least-loaded candidate.
RELOCATION_NONE = 0
RELOCATION_KEEP = 1
RELOCATION_RENEW = 2
RELOCATION_NAMES = ("none", "keep", "renew")
RELOCATE_BY_DISTANCE = 0
RELOCATE_BY_LOAD = 1
RELOCATION_TRIGGERS = ("distance", "load")

# Interruption components that precede a move's signaling (docs/semantics.md §5.10), in the
# order of the rows of PolicyTables.interruption_ns; its columns are ATTACH and HANDOVER.
MAX_CHAIN_LEVELS = 4  # nodes between an anchor and a PoA (HA -> MAP, PGW -> SGW, nested MRs)
MAX_SEGMENT_BYTES = 4096  # encapsulation of one segment, access overrides included

# The four functions of a mobility protocol (RFC 7429 §3): anchoring, mobility routing,
# location management, location update. A practice says which signaling roles play each
# (PolicyTables.function_roles), and the functions table reports the load of each node in it.
FUNCTIONS = ("AF", "MR", "LM", "LU")
ANCHOR_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_ANCHOR,), ())

INTERRUPTION_COMPONENTS = ("link_loss", "l2_attach", "movement_detection", "dad")
ON_ATTACH = 0
ON_HANDOVER = 1
MAX_INTERRUPTION_NS = 3600 * 10**9  # components + hold of one move, at most an hour


def interruption_table(*, link_loss: int = 0, l2_attach: int = 0, movement_detection: int = 0,
                       dad: int = 0) -> np.ndarray:
    """``PolicyTables.interruption_ns`` from per-component durations (ns): every component
    applies to attaches and handovers alike, but link-loss detection only to handovers (an MN
    attaching after a detach has no old link to lose)."""
    return np.array([[0, link_loss], [l2_attach, l2_attach],
                     [movement_detection, movement_detection], [dad, dad]], np.int64)


def native_at_serving(serving: np.ndarray) -> np.ndarray:
    """``PolicyTables.native`` where an address is native exactly at the PoAs its anchor
    serves (DMM: the anchor is the MN's first-hop router there)."""
    n = serving.shape[0]
    native = np.zeros((n, n), np.uint8)
    poas = np.flatnonzero(serving >= 0)
    native[serving[poas], poas] = 1
    return native


def last_segment_bytes(chain: np.ndarray, segment_bytes: np.ndarray, access_bytes: np.ndarray,
                       serving: np.ndarray) -> np.ndarray:
    """int64 per PoA: the encapsulation bytes of the segment into it, which leaves the deepest
    chain level present there (semantics.md §7.5), with the PoA's access override."""
    n = serving.shape[0]
    last_level = np.zeros(n, np.int64)
    for k in range(1, chain.shape[0] + 1):
        node = chain[k - 1]
        last_level[(node >= 0) & (node != np.arange(n))] = k
    poas = serving >= 0
    return segment_bytes[last_level[poas]].astype(np.int64) + access_bytes[poas]


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyTables:
    """Integer codes and per-node lookup arrays; arrays are C-contiguous and read-only."""

    select: int
    central: int
    serving: np.ndarray  # int32 (N,): serving anchor of each PoA, -1 elsewhere
    chain: np.ndarray  # int32 (K, N): chain[k, poa], node at level k+1 below the anchor, -1 none
    segment_bytes: np.ndarray  # int32 (K+1,): encapsulation of a segment leaving level l
    scope: np.ndarray  # uint8 (N, N): scope[anchor, poa]
    always_registered: bool
    native: np.ndarray  # uint8 (N, N): native[anchor, poa], no binding and a native path
    buffering: bool
    lifetime_ns: int
    interruption_ns: np.ndarray  # int64 (len(INTERRUPTION_COMPONENTS), 2): [component, kind]
    first_ack_hold_ns: int  # the anchor's hold before acknowledging a new binding (§5.9)
    message_kinds: tuple[MessageKind, ...]  # the kinds the legs count (signaling table rows)
    legs: np.ndarray  # int64 (L, LEG_COLUMNS): the signaling programs (§4)
    third_node: int = -1  # node of the third role (CMD, MME), -1 = none
    binding_outlives_detach: bool = False  # a detach leaves bindings to their lifetime (§5.3)
    detach_release_ns: int = -1  # a detached MN's addresses die this long after (§5.3), -1 never
    # §5.5: an address a move takes out of its anchor's scope is deprecated and dies this
    # long after (5G SSC mode 3's address lifetime); -1: it dies at once.
    deprecated_lifetime_ns: int = -1
    relocation: int = RELOCATION_NONE  # §5 step 9a
    relocation_trigger: int = RELOCATE_BY_DISTANCE
    relocation_gain_ns: int = 0  # DISTANCE: the target is nearer the PoA by more than this
    relocation_load: int = 1  # LOAD: the anchor holds at least this many bindings
    candidates: np.ndarray | None = None  # int32 (M,) ascending: anchors to hash over or load
    access_bytes: np.ndarray | None = None  # int32 (N,): added to the segment into each PoA
    direct_bytes: int = 0  # per-packet option bytes on the direct (k = 0) path
    flow_classes: tuple[FlowClass, ...] = ALL_FLOWS  # first match per flow (§1)
    function_roles: tuple[tuple[int, ...], ...] = ANCHOR_FUNCTIONS  # roles per FUNCTIONS entry
    # Correspondent bindings (semantics.md §15): the peers that take part in route
    # optimisation, the reuse time of a home keygen token and the refresh period.
    ro_capable: np.ndarray | None = None  # uint8 (N,): 1 for a correspondent that supports it
    token_lifetime_ns: int = 0  # a home keygen token younger than this is reused
    correspondent_refresh_ns: int = 0  # return routability again this often while in use
    # Per-PoA variants (semantics.md §4): each PoA's class, which legs may be limited to, and
    # its refresh period (a NAT keepalive shorter than the lifetime); default: the lifetime.
    poa_class: np.ndarray | None = None  # uint8 (N,): 0 .. MAX_POA_CLASSES - 1
    select_for_new_sessions_only: bool = False  # §5.6: no new home while the old one lives
    refresh_ns: np.ndarray | None = None  # int64 (N,): refresh period of a binding made there
    # §16: the practice replays networks.parquet (MNs ride behind mobile routers); without
    # it every MN rides on its own.
    mobile_networks: bool = False
    # §18 localized routing: bit c set for each case c (signaling.pair_case) in which the
    # MN-to-MN flows of two MNs take the short way once the program has set it up; the
    # tunnel between two PoAs (MAGs) on that way. 0 = never.
    local_routing: int = 0
    local_tunnel_bytes: int = 0
    # §7.3 per flow class, the offload gateway of each PoA (SIPTO's, LIPA's local gateway)
    # that the class's flows bind at if it is an "offload" class, -1 none; §7.5 per anchor,
    # the chain levels its addresses skip (bit k - 1: level k): LIPA's L-GW to its HeNB.
    offload: np.ndarray | None = None  # int32 (C, N)
    bypass: np.ndarray | None = None  # uint8 (N,)

    def __post_init__(self) -> None:
        n = self.serving.shape[0]
        if self.select not in SELECT_NAMES:
            raise PracticeError(f"unknown anchor selection code {self.select}")
        if self.select == SELECT_CENTRAL and not (0 <= self.central < n):
            raise PracticeError("central anchor selection needs a central anchor node")
        if self.candidates is None:
            object.__setattr__(self, "candidates", np.zeros(0, np.int32))
        if self.access_bytes is None:
            object.__setattr__(self, "access_bytes", np.zeros(n, np.int32))
        if self.ro_capable is None:
            object.__setattr__(self, "ro_capable", np.zeros(n, np.uint8))
        if self.poa_class is None:
            object.__setattr__(self, "poa_class", np.zeros(n, np.uint8))
        if self.refresh_ns is None:
            object.__setattr__(self, "refresh_ns", np.full(n, int(self.lifetime_ns), np.int64))
        if self.offload is None:
            object.__setattr__(self, "offload",
                               np.full((len(self.flow_classes), n), -1, np.int32))
        if self.bypass is None:
            object.__setattr__(self, "bypass", np.zeros(n, np.uint8))
        check_classes(self.flow_classes)
        if len(self.function_roles) != len(FUNCTIONS) or not all(
                0 <= role < len(ROLE_NAMES) for roles in self.function_roles for role in roles):
            raise PracticeError(f"policy field 'function_roles' must give, for each of "
                                f"{', '.join(FUNCTIONS)}, the signaling roles that play it")
        levels = self.chain.shape[0] if self.chain.ndim == 2 else -1
        if not 0 <= levels <= MAX_CHAIN_LEVELS:
            raise PracticeError(f"policy table 'chain' must have 0 to {MAX_CHAIN_LEVELS} levels "
                                f"(rows), got shape {self.chain.shape}")
        if self.chain.size and (self.chain.min() < -1 or self.chain.max() >= n):
            raise PracticeError("policy table 'chain' must hold node ids or -1")
        cands = np.asarray(self.candidates)
        if self.select in SELECT_FROM_CANDIDATES and not (
                cands.size and cands.min() >= 0 and cands.max() < n
                and bool(np.all(np.diff(cands) > 0))):
            raise PracticeError(f"anchor selection {SELECT_NAMES[self.select]!r} needs "
                                "candidate anchors: ascending node ids")
        checks = [
            ("serving", self.serving, np.int32, (n,)),
            ("chain", self.chain, np.int32, (levels, n)),
            ("segment_bytes", self.segment_bytes, np.int32, (levels + 1,)),
            ("access_bytes", self.access_bytes, np.int32, (n,)),
            ("scope", self.scope, np.uint8, (n, n)),
            ("native", self.native, np.uint8, (n, n)),
            ("candidates", self.candidates, np.int32, (self.candidates.shape[0],)),
            ("ro_capable", self.ro_capable, np.uint8, (n,)),
            ("poa_class", self.poa_class, np.uint8, (n,)),
            ("refresh_ns", self.refresh_ns, np.int64, (n,)),
            ("offload", self.offload, np.int32, (len(self.flow_classes), n)),
            ("bypass", self.bypass, np.uint8, (n,)),
            ("interruption_ns", self.interruption_ns, np.int64,
             (len(INTERRUPTION_COMPONENTS), 2)),
        ]
        for name, arr, dtype, shape in checks:
            if arr.dtype != dtype or arr.shape != shape or not arr.flags.c_contiguous:
                raise PracticeError(
                    f"policy table {name!r} must be a C-contiguous {np.dtype(dtype)} array of shape "
                    f"{shape}, got {arr.dtype} {arr.shape}"
                )
            arr.setflags(write=False)
        if not self.message_kinds or not all(
                isinstance(k, MessageKind) for k in self.message_kinds):
            raise PracticeError("policy field 'message_kinds' must be a non-empty tuple of "
                                "MessageKind")
        check_program(self.legs, len(self.message_kinds))
        self.legs.setflags(write=False)
        if self.legs.shape[0] and int(self.legs[:, LEG_LEVEL].max()) > levels:
            raise PracticeError(f"a signaling leg names chain level "
                                f"{int(self.legs[:, LEG_LEVEL].max())}, but the chain has "
                                f"{levels} levels")
        uses_third = bool(np.any(self.legs[:, [LEG_SRC, LEG_DST, LEG_VIA]] == ROLE_THIRD)
                          or np.any(np.isin(self.legs[:, LEG_WHEN], ANCHOR_CONDITIONS)))
        if uses_third and not 0 <= self.third_node < n:
            raise PracticeError("a signaling program names the third role (CMD, MME) but the "
                                "policy has no third node")
        if self.detach_release_ns < -1:
            raise PracticeError("policy field 'detach_release_ns' must be >= 0, or -1 for never")
        if self.deprecated_lifetime_ns < -1:
            raise PracticeError("policy field 'deprecated_lifetime_ns' must be >= 0, or -1 for "
                                "an address that dies as soon as it is out of scope")
        if not 0 <= self.relocation < len(RELOCATION_NAMES):
            raise PracticeError(f"policy field 'relocation' must be one of "
                                f"{list(range(len(RELOCATION_NAMES)))}")
        if not 0 <= self.relocation_trigger < len(RELOCATION_TRIGGERS):
            raise PracticeError(f"policy field 'relocation_trigger' must be one of "
                                f"{list(range(len(RELOCATION_TRIGGERS)))}")
        if self.relocation_gain_ns < 0 or self.relocation_load < 1:
            raise PracticeError("policy fields 'relocation_gain_ns' must be >= 0 and "
                                "'relocation_load' >= 1")
        if self.relocation != RELOCATION_NONE and not self.always_registered:
            raise PracticeError("relocation moves the home address: it needs "
                                "'always_registered'")
        if self.route_optimising:
            if self.correspondent_refresh_ns <= 0:
                raise PracticeError("route-optimised flow classes need a correspondent "
                                    "refresh period > 0 ('correspondent_refresh_ns')")
            if not bool(np.any(self.legs[:, LEG_CAUSE] == CAUSE_CORRESPONDENT)):
                raise PracticeError("route-optimised flow classes need a correspondent "
                                    "program (legs of cause 'correspondent')")
            if self.select == SELECT_PER_FLOW:
                raise PracticeError("route optimisation binds the MN's home address: it needs "
                                    "a selection with a home anchor, not per-flow")
        if self.mobile_networks and (self.route_optimising or self.select == SELECT_PER_FLOW):
            raise PracticeError("mobile networks nest their routers' tunnels around the home "
                                "address: they need a selection with a home anchor (not "
                                "per-flow) and no route optimisation")
        if self.local_routing:
            if not 0 < self.local_routing < 1 << len(PAIR_CONDITIONS):
                raise PracticeError(f"policy field 'local_routing' must be a bit mask of the "
                                    f"{len(PAIR_CONDITIONS)} cases")
            if not (self.always_registered and self.select != SELECT_PER_FLOW
                    and not self.mobile_networks):
                raise PracticeError("localized routing runs between the MNs' home addresses: "
                                    "it needs them always registered at a home anchor (not "
                                    "per-flow) and no mobile networks")
            if not bool(np.any(self.legs[:, LEG_CAUSE] == CAUSE_LOCALIZED)):
                raise PracticeError("localized routing needs a localized-routing program "
                                    "(legs of cause 'localized-routing')")
        if int(self.offload.min(initial=-1)) < -1 or int(self.offload.max(initial=-1)) >= n:
            raise PracticeError("policy table 'offload' must hold node ids or -1")
        if int(self.bypass.max(initial=0)) >= 1 << levels:
            raise PracticeError(f"policy table 'bypass' must hold bit masks of the chain's "
                                f"{levels} levels")
        if not 0 <= self.local_tunnel_bytes <= MAX_SEGMENT_BYTES:
            raise PracticeError(f"policy field 'local_tunnel_bytes' must be 0 to "
                                f"{MAX_SEGMENT_BYTES}")
        if bool(np.any(self.poa_class >= MAX_POA_CLASSES)) or bool(np.any(self.refresh_ns < 0)):
            raise PracticeError(f"policy tables 'poa_class' must hold 0 to {MAX_POA_CLASSES - 1} "
                                "and 'refresh_ns' periods >= 0")
        for name in ("direct_bytes", "lifetime_ns", "first_ack_hold_ns", "token_lifetime_ns",
                     "correspondent_refresh_ns"):
            if int(getattr(self, name)) < 0:
                raise PracticeError(f"policy field {name!r} must be >= 0")
        # Every segment's bytes, with any PoA's access override, in [0, MAX_SEGMENT_BYTES]:
        # an IPv4 or NAT override may lower a segment's header but not below nothing. The
        # override applies to the segment into the PoA, which leaves the deepest chain level
        # present there (semantics.md §7.5): level L[p].
        last = last_segment_bytes(self.chain, self.segment_bytes, self.access_bytes,
                                  self.serving)
        if self.bypass.any():  # a bypassed level: the segment into the PoA leaves any level
            last = np.concatenate([last, (self.segment_bytes[:, None]
                                          + self.access_bytes[None, :]).ravel()])
        lowest = min(int(self.segment_bytes.min()), int(last.min()) if last.size else 0)
        highest = max(int(self.segment_bytes.max()), int(last.max()) if last.size else 0,
                      int(self.direct_bytes))
        if int(self.segment_bytes.min()) < 0 or lowest < 0 or highest > MAX_SEGMENT_BYTES:
            raise PracticeError(
                f"policy tables 'segment_bytes' and 'access_bytes' must give every segment 0 to "
                f"{MAX_SEGMENT_BYTES} bytes of encapsulation, got {lowest} to {highest}")
        if bool(np.any(self.interruption_ns < 0)):
            raise PracticeError("policy table 'interruption_ns' must hold durations >= 0")
        # An interruption longer than this means nothing as a handover; the bound also keeps
        # t + interruption far inside int64 for every trace time.
        longest = (max(self.pre_signaling_ns(ON_ATTACH), self.pre_signaling_ns(ON_HANDOVER))
                   + int(self.first_ack_hold_ns) + int(self.legs[:, LEG_OFFSET_NS].sum())
                   + int(self.legs[:, LEG_GATE_CAP_NS].sum()))
        if longest > MAX_INTERRUPTION_NS:
            raise PracticeError(
                f"the interruption components, the anchor's hold and the signaling waits add "
                f"up to {longest / 1e9:g} s, more than the {MAX_INTERRUPTION_NS // 10**9} s a "
                "handover may take; check the link-loss, L2 attach, detection, DAD, hold and "
                "detection-delay parameters")

    @property
    def route_optimising(self) -> bool:
        """Some flow class goes direct once a correspondent binding is in place (§15)."""
        return any(c.route_optimised for c in self.flow_classes)

    @property
    def mn_signals(self) -> bool:
        """The MN itself takes part in the signaling (MIPv6): its tunnels end at the MN."""
        return bool(np.any(self.legs[:, [LEG_SRC, LEG_DST]] == ROLE_MN))

    @property
    def levels(self) -> int:
        """K, the chain levels below the anchor."""
        return int(self.chain.shape[0])

    @property
    def n_nodes(self) -> int:
        return int(self.serving.shape[0])

    def pre_signaling_ns(self, on: int) -> int:
        """Σ of the interruption components before the signaling of a move (``ON_ATTACH`` or
        ``ON_HANDOVER``)."""
        return int(self.interruption_ns[:, on].sum())
