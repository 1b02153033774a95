"""Compiled replay core: docs/semantics.md as C loops over structs and typed memoryviews.

``Replay(policy, replay)`` checks the inputs once in Python, then every packet and control
event is handled in ``with nogil:`` blocks; a bad packet row is recorded in C variables and
raised as ``PacketRowError`` after the block. State and invariants: ``replay.pxd``.
"""

cimport cython
from libc.stdint cimport INT64_MAX, INT64_MIN, int8_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc, realloc

cdef extern from *:
    # 1 when setup.py built this module with bounds checks (DMMEMU_CHECKED=1), else 0.
    int DMMEMU_CHECKED_BUILD
    # GCC/Clang builtin: a hint that never faults; the loop asks for flows a few rows ahead.
    void __builtin_prefetch(const void* addr) noexcept nogil

from _types cimport (
    addr_t, bin_t, count_t, flow_id_t, flow_t, hops_t, mn_t, node_t, psize_t, row_t, time_t,
)
from replay cimport (
    ANCHOR_LOCAL, ANCHOR_OFFLOAD, ANCHOR_POLICY, CLASS_ANCHOR, CLASS_DIRECT, CLASS_ON_LOSS,
    CLASS_ROUTE_OPTIMISED, ON_LOSS_BREAK, ON_LOSS_RENUMBER, AT_MOVE, AT_SIGNALING_START,
    CAUSE_ATTACH, CAUSE_CORRESPONDENT, CAUSE_DEREGISTRATION, CAUSE_FLOW, CAUSE_LOCALIZED,
    CAUSE_RELEASE, CAUSE_DEPRECATION, FLAG_REGISTERED, FLAG_UNREGISTERED, TIMER_DEPRECATED,
    CAUSE_RELOCATION, CAUSE_RETIREMENT, ROLE_PREV_ANCHOR, EVENT_ANCHOR_RELOCATED, EVENT_RELOCATION_DEFERRED,
    EVENT_FLOW_SPARED,
    CAUSE_LOCALIZED_END, ROLE_PEER_ANCHOR, ROLE_PEER_POA, WHEN_SAME_POA_SAME_ANCHOR,
    WHEN_OTHER_POA_OTHER_ANCHOR, TIMER_LOCALIZED, LocalPair,
    CAUSE_HANDOVER, CAUSE_REFRESH, ERR_DIR, ERR_FLOW, ERR_NONE, ERR_SIZE, ERR_T_ORDER,
    ERR_T_SPAN, EV_FLOW_END, EV_FLOW_START, EV_MOVE, EV_PACKET, FLAG_ENDS, FLAG_HOLD,
    FLOW_BOUND, FLOW_LOCAL, FLOW_UNBOUND, HO_ATTACH, HO_DETACH, HO_HANDOVER, HO_NOOP,
    LEG_AFTER, LEG_BYTES, LEG_BYTES_PER_ADDRESS, LEG_CAUSE, LEG_COLUMNS, LEG_DST, LEG_FLAGS,
    LEG_GATE, LEG_GATE_CAP_NS, LEG_KIND, LEG_LEVEL, LEG_OFFSET_NS, LEG_SCOPE, LEG_SRC,
    LEG_AT_POA, LEG_AT_PREV_POA, LEG_VIA, LEG_VIA_BYTES, LEG_WHEN, ROLE_LEVEL, ROLE_PEER,
    ROLE_PREV_LEVEL,
    WHEN_ANCHOR_IS_THIRD, WHEN_ANCHOR_NOT_THIRD, WHEN_LEVEL_CHANGED, WHEN_LEVEL_KEPT,
    WHEN_MN_HOST, WHEN_MN_ROUTER, WHEN_TOKEN_STALE, WHEN_ANCHOR_IS_LEVEL, WHEN_ANCHOR_NOT_LEVEL,
    WHEN_LEVEL_CHANGED_ABOVE,
    MAX_LEGS_PER_CAUSE, MIN_PACKET_BYTES, N_CAUSES, ONCE, PER_ADDRESS, ROLE_ANCHOR, ROLE_MN,
    ROLE_POA, ROLE_PREV_POA, ROLE_SERVING, ROLE_THIRD, SELECT_AT_ATTACH, SELECT_AT_BOOTSTRAP,
    SELECT_CENTRAL, SELECT_HASHED, SELECT_LEAST_LOADED,
    SELECT_PER_FLOW, SIGNAL_BOUND, SIGNAL_NEEDS_BINDING, SIGNAL_ONE, SIGNAL_RELEASED,
    STATE_FAILED,
    STATE_FINISHED, STATE_NEW, STATE_READY, TIMER_CORRESPONDENT, TIMER_EXPIRE, TIMER_GRACE,
    TIMER_RELEASE,
    EVENT_ADDRESS_RELEASED, EVENT_BINDING_EXPIRED, EVENT_FLOW_BROKEN, EVENT_FLOW_RENUMBERED,
    Address, Correspondent, EventRecord, FlowPath, FlowState, MobileNode, NetworkPlace,
)
from chain cimport Chain, Route, chain_route, direct_route
from paths cimport Paths, path_delay, path_hops
from timer_heap cimport Timer, TimerHeap, heap_due, heap_pop, heap_push

import numpy as np

from dmmemu.engine import correspondents as _correspondents
from dmmemu.engine import flow_classes as _classes
from dmmemu.engine import local_routing as _local_routing
from dmmemu.engine import policy as _policy
from dmmemu.engine import replay_io as _io
from dmmemu.engine import signaling as _sig
from dmmemu.errors import PacketRowError

# The C enums of replay.pxd must say what the Python contract says.
assert (EV_MOVE, EV_FLOW_START, EV_PACKET, EV_FLOW_END) == (
    _io.EV_MOVE, _io.EV_FLOW_START, _io.EV_PACKET, _io.EV_FLOW_END)
assert (HO_NOOP, HO_DETACH, HO_ATTACH, HO_HANDOVER) == (
    _io.HO_NOOP, _io.HO_DETACH, _io.HO_ATTACH, _io.HO_HANDOVER)
assert (CAUSE_ATTACH, CAUSE_HANDOVER, CAUSE_FLOW, CAUSE_REFRESH, CAUSE_DEREGISTRATION,
        CAUSE_CORRESPONDENT) == (
    _sig.CAUSE_ATTACH, _sig.CAUSE_HANDOVER, _sig.CAUSE_FLOW, _sig.CAUSE_REFRESH,
    _sig.CAUSE_DEREGISTRATION, _sig.CAUSE_CORRESPONDENT) and N_CAUSES == len(_sig.CAUSE_NAMES)
assert (ROLE_MN, ROLE_POA, ROLE_PREV_POA, ROLE_ANCHOR, ROLE_SERVING, ROLE_THIRD, ROLE_LEVEL,
        ROLE_PREV_LEVEL, ROLE_PEER, WHEN_LEVEL_CHANGED, WHEN_LEVEL_KEPT, WHEN_TOKEN_STALE) == (
    _sig.ROLE_MN, _sig.ROLE_POA, _sig.ROLE_PREV_POA, _sig.ROLE_ANCHOR, _sig.ROLE_SERVING,
    _sig.ROLE_THIRD, _sig.ROLE_LEVEL, _sig.ROLE_PREV_LEVEL, _sig.ROLE_PEER,
    _sig.WHEN_LEVEL_CHANGED, _sig.WHEN_LEVEL_KEPT, _sig.WHEN_TOKEN_STALE)
assert (WHEN_ANCHOR_IS_THIRD, WHEN_ANCHOR_NOT_THIRD) == _sig.ANCHOR_CONDITIONS
assert (WHEN_ANCHOR_IS_LEVEL, WHEN_ANCHOR_NOT_LEVEL,
        WHEN_LEVEL_CHANGED_ABOVE) == _sig.LEVEL_ANCHOR_CONDITIONS
assert (WHEN_MN_ROUTER, WHEN_MN_HOST) == _sig.MN_CONDITIONS
assert (CAUSE_LOCALIZED, CAUSE_LOCALIZED_END) == _sig.PAIR_CAUSES
assert (CAUSE_RELEASE, CAUSE_DEPRECATION) == (_sig.CAUSE_RELEASE, _sig.CAUSE_DEPRECATION)
assert (FLAG_REGISTERED, FLAG_UNREGISTERED) == (_sig.FLAG_REGISTERED, _sig.FLAG_UNREGISTERED)
assert (ROLE_PEER_POA, ROLE_PEER_ANCHOR) == _sig.PAIR_ROLES
assert (WHEN_SAME_POA_SAME_ANCHOR, WHEN_OTHER_POA_OTHER_ANCHOR) == (
    min(_sig.PAIR_CONDITIONS), max(_sig.PAIR_CONDITIONS))
assert (TIMER_CORRESPONDENT, TIMER_LOCALIZED) == (2, 3)
assert (ONCE, PER_ADDRESS, AT_SIGNALING_START, AT_MOVE, FLAG_ENDS, FLAG_HOLD,
        MAX_LEGS_PER_CAUSE) == (_sig.ONCE, _sig.PER_ADDRESS, _sig.AT_SIGNALING_START,
                                _sig.AT_MOVE, _sig.FLAG_ENDS, _sig.FLAG_HOLD,
                                _sig.MAX_LEGS_PER_CAUSE)
assert (LEG_CAUSE, LEG_SCOPE, LEG_KIND, LEG_SRC, LEG_DST, LEG_BYTES, LEG_BYTES_PER_ADDRESS,
        LEG_AFTER, LEG_OFFSET_NS, LEG_GATE, LEG_GATE_CAP_NS, LEG_FLAGS, LEG_LEVEL, LEG_WHEN,
        LEG_VIA, LEG_VIA_BYTES, LEG_AT_POA, LEG_AT_PREV_POA, LEG_COLUMNS) == (
    _sig.LEG_CAUSE, _sig.LEG_SCOPE, _sig.LEG_KIND, _sig.LEG_SRC, _sig.LEG_DST, _sig.LEG_BYTES,
    _sig.LEG_BYTES_PER_ADDRESS, _sig.LEG_AFTER, _sig.LEG_OFFSET_NS, _sig.LEG_GATE,
    _sig.LEG_GATE_CAP_NS, _sig.LEG_FLAGS, _sig.LEG_LEVEL, _sig.LEG_WHEN, _sig.LEG_VIA,
    _sig.LEG_VIA_BYTES, _sig.LEG_AT_POA, _sig.LEG_AT_PREV_POA, _sig.LEG_COLUMNS)
assert (SELECT_CENTRAL, SELECT_AT_ATTACH, SELECT_PER_FLOW, SELECT_AT_BOOTSTRAP, SELECT_HASHED,
        SELECT_LEAST_LOADED) == (
    _policy.SELECT_CENTRAL, _policy.SELECT_AT_ATTACH, _policy.SELECT_PER_FLOW,
    _policy.SELECT_AT_BOOTSTRAP, _policy.SELECT_HASHED, _policy.SELECT_LEAST_LOADED)
assert MIN_PACKET_BYTES == _io.MIN_PACKET_BYTES

# Columns of RawCounters.flow_sums (dmmemu.engine.replay_io.FLOW_SUMS, checked below).
cdef enum:
    SUM_PACKETS = 0
    SUM_LOST = 1
    SUM_HOPS = 2
    SUM_DIRECT_HOPS = 3
    SUM_DELAY = 4
    SUM_DIRECT_DELAY = 5
    SUM_OVERHEAD = 6
    SUM_OVERHEAD_BH = 7
    SUM_COLUMNS = 8

assert tuple(_io.FLOW_SUMS) == ("flow_packets", "flow_lost", "flow_hops_sum",
                                "flow_direct_hops_sum", "flow_delay_ns_sum",
                                "flow_direct_delay_ns_sum", "flow_overhead_bytes",
                                "flow_overhead_byte_hops") and len(_io.FLOW_SUMS) == SUM_COLUMNS
assert (CLASS_ANCHOR, CLASS_ON_LOSS, CLASS_DIRECT, CLASS_ROUTE_OPTIMISED, ANCHOR_POLICY,
        ANCHOR_LOCAL, ANCHOR_OFFLOAD, ON_LOSS_BREAK,
        ON_LOSS_RENUMBER) == (_classes.CLASS_ANCHOR, _classes.CLASS_ON_LOSS,
                              _classes.CLASS_DIRECT, _classes.CLASS_ROUTE_OPTIMISED,
                              _classes.ANCHOR_POLICY,
                              _classes.ANCHOR_LOCAL, _classes.ANCHOR_OFFLOAD,
                              _classes.ON_LOSS_BREAK,
                              _classes.ON_LOSS_RENUMBER)
assert (EVENT_BINDING_EXPIRED, EVENT_ADDRESS_RELEASED, EVENT_FLOW_BROKEN,
        EVENT_FLOW_RENUMBERED) == (_io.EVENT_BINDING_EXPIRED, _io.EVENT_ADDRESS_RELEASED,
                                   _io.EVENT_FLOW_BROKEN, _io.EVENT_FLOW_RENUMBERED)
assert (EVENT_ANCHOR_RELOCATED, EVENT_RELOCATION_DEFERRED, EVENT_FLOW_SPARED) == (
    _io.EVENT_ANCHOR_RELOCATED, _io.EVENT_RELOCATION_DEFERRED, _io.EVENT_FLOW_SPARED)
assert (CAUSE_RELOCATION, CAUSE_RETIREMENT, ROLE_PREV_ANCHOR) == (
    _sig.CAUSE_RELOCATION, _sig.CAUSE_RETIREMENT, _sig.ROLE_PREV_ANCHOR)
assert (_policy.RELOCATION_NONE, _policy.RELOCATION_KEEP, _policy.RELOCATION_RENEW,
        _policy.RELOCATE_BY_DISTANCE, _policy.RELOCATE_BY_LOAD) == (0, 1, 2, 0, 1)

_INT32_MAX = 2**31 - 1

# The per-flow state: one cache line read per packet and one off the fast path (semantics.md
# §3); the packet loop's layout depends on the first, the 128 B per flow on both.
FLOW_STATE_BYTES = sizeof(FlowState) + sizeof(FlowPath)
assert sizeof(FlowState) == 64 and sizeof(FlowPath) == 64, (sizeof(FlowState), sizeof(FlowPath))
# An MN's state is one line too (read per packet: its epoch and the end of its interruption);
# the colder mobile-network fields live in NetworkPlace.
assert sizeof(MobileNode) == 64, sizeof(MobileNode)

CHECKED = bool(DMMEMU_CHECKED_BUILD)  # built with bounds checks (setup.py, DMMEMU_CHECKED=1)

cdef extern from "stdlib.h":
    int posix_memalign(void** ptr, size_t alignment, size_t size) nogil


cdef void* _lines(size_t size) noexcept:
    """``size`` bytes on a 64-byte (cache line) boundary, NULL if none; free() releases it."""
    cdef void* ptr = NULL
    if posix_memalign(&ptr, 64, size) != 0:
        return NULL
    return ptr


cdef enum:
    PREFETCH_AHEAD = 8  # packet rows ahead whose flow state the loop prefetches (dense ids)


def _array(value, name, dtype, shape):
    """``value`` as a C-contiguous array of exactly ``dtype`` and ``shape`` (no silent casts)."""
    arr = np.asarray(value)
    if arr.dtype != np.dtype(dtype) or arr.shape != shape:
        raise ValueError(
            f"{name} must be a {np.dtype(dtype)} array of shape {shape}, "
            f"got {arr.dtype} {arr.shape}"
        )
    return np.ascontiguousarray(arr)


def _in_range(arr, lo, hi):
    return arr.size == 0 or (int(arr.min()) >= lo and int(arr.max()) < hi)


cdef inline time_t _origin(int64_t ref, time_t pre, const time_t* sync,
                          Py_ssize_t first) noexcept nogil:
    """§4: when a leg that follows ``ref`` can start, relative to its trigger: ``pre`` after
    the signaling start, 0 at the move, else the arrival (sync) of the earlier leg ``ref``."""
    if ref == AT_SIGNALING_START:
        return pre
    if ref == AT_MOVE:
        return 0
    return sync[ref - first]


@cython.final
cdef class Replay:
    """One replay of a trace under one practice: ``feed`` packet batches, then ``finish``."""

    # policy (§1)
    cdef int select                     # SELECT_* (§1)
    cdef const int32_t[::1] candidates  # (K,) anchors to hash over or compare loads of
    cdef node_t central                 # central anchor, -1 unless SELECT_CENTRAL
    cdef const int32_t[::1] serving     # (N,) serving anchor of each PoA
    cdef const int32_t[:, ::1] chain_nodes    # (K, N) chain[k, poa], -1 none (§7.5)
    cdef const int32_t[::1] segment_bytes     # (K+1,) encapsulation leaving each level
    cdef const int32_t[::1] access_bytes      # (N,) added on the segment into each PoA
    cdef Chain chain                    # reads the three above
    cdef count_t direct_bytes           # option bytes per packet on the direct path
    cdef const uint8_t[:, ::1] classes  # (C, CLASS_COLUMNS) flow classes (§1)
    cdef const int64_t[::1] grace       # (C,) each class's grace period (§7.2), -1 none
    cdef const int64_t[::1] grace_ends  # the distinct grace periods: a timer for each (§7.2)
    cdef const uint8_t[:, ::1] scope    # (N, N) scope[anchor, poa]
    cdef bint always_registered
    cdef const uint8_t[:, ::1] native   # (N, N) native[anchor, poa]
    cdef bint buffering
    cdef const uint8_t[::1] poa_class   # (N,) each PoA's class, for legs limited to some (§4)
    cdef const int32_t[:, ::1] offload  # (C, N) per class, offload gateway of each PoA (§7.3)
    cdef const uint8_t[::1] bypass      # (N,) chain levels an anchor's addresses skip (§7.5)
    cdef const int64_t[::1] refresh_ns  # (N,) refresh period of a binding registered there
    cdef const int64_t[:, ::1] legs     # (L, LEG_COLUMNS) signaling programs (§4)
    cdef Py_ssize_t leg_first[N_CAUSES] # first leg row of each cause
    cdef Py_ssize_t leg_count[N_CAUSES] # its number of legs
    cdef bint has_once[N_CAUSES]        # some leg of the cause runs once per trigger
    cdef node_t third                   # node of the third role, -1 none
    cdef bint new_sessions_only         # re-select a home only without a live one (§5.6)
    cdef bint outlives_detach           # a detach leaves bindings to their lifetime (§5.3)
    cdef time_t release_ns              # a detached MN's addresses die this long after, -1 never
    cdef time_t deprecated_ns           # an address out of scope dies this long after, -1 at once
    # §5 step 9a relocation of the home address at a handover, and the flows of each MN
    # (mn_flows[mn_flow_first[m]:mn_flow_first[m + 1]]) whose break would defer it.
    cdef int relocation                 # RELOCATION_NONE / _KEEP / _RENEW (0, 1, 2)
    cdef int relocation_trigger         # RELOCATE_BY_DISTANCE / _BY_LOAD (0, 1)
    cdef time_t relocation_gain_ns
    cdef int64_t relocation_load
    cdef const int64_t[::1] mn_flow_first
    cdef const int32_t[::1] mn_flows
    cdef uint8_t[::1] flow_spared       # a deferred relocation would have broken it
    cdef time_t pre_attach_ns           # Σ interruption components before signaling, attach
    cdef time_t pre_handover_ns         # the same for a handover
    cdef time_t first_ack_hold_ns       # anchor's hold before acknowledging a new binding
    # §15 correspondent bindings, and what the correspondent program being run names.
    cdef time_t token_lifetime_ns       # a home keygen token younger than this is reused
    cdef time_t rr_refresh_ns           # return routability again this often while in use
    cdef Py_ssize_t n_pairs
    cdef Correspondent* pairs           # (P,) malloc'd
    cdef const int64_t[::1] mn_first    # (M+1,) the pairs of MN m: mn_pairs[mn_first[m]:...]
    cdef const int32_t[::1] mn_pairs
    cdef node_t run_peer                # node of the peer role in the program being run
    cdef bint run_token_fresh           # its token-stale legs are not sent
    cdef bint run_token_sent            # one of them was
    cdef bint mobile_networks           # §16: MNs ride behind mobile routers
    cdef row_t n_mobility_rows          # rows from here on are networks rows (§16)
    cdef const uint8_t[::1] mn_router   # (M,) 1 for an MN that some networks row names a router
    cdef const int32_t[::1] flow_peer_mn  # (F,) the other MN of an MN-to-MN flow (§17), -1
    # §18 localized routing, and what the localized-routing program being run names.
    cdef int local_routing              # bit c: the routing takes case c
    cdef count_t local_tunnel_bytes     # the tunnel between two PoAs on the short way
    cdef Py_ssize_t n_local
    cdef LocalPair* local_pairs         # (P,) malloc'd
    cdef const int32_t[::1] flow_local  # (F,) the pair of an MN-to-MN flow, -1 none
    cdef const int64_t[::1] local_first  # (M+1,) the pairs of MN m: local_of[local_first[m]:...]
    cdef const int32_t[::1] local_of
    cdef node_t run_peer_poa            # the other MN's PoA and anchor in the program being run
    cdef node_t run_peer_anchor
    cdef int run_case                   # the case its conditions test

    # topology
    cdef Py_ssize_t n_nodes
    cdef const hops_t[:, ::1] hops      # (N, N) H, owned here, read through paths
    cdef const int64_t[:, ::1] delay    # (N, N) D (ns), the same
    cdef Paths paths                    # every lookup of H and D goes through it

    # flows
    cdef flow_t n_flows
    cdef bint dense_ids                 # flow_ids == 0..F-1: the id is the index
    cdef const flow_id_t[::1] flow_ids  # (F,) strictly ascending trace ids
    cdef flow_id_t id_min               # flow_ids[0] (sparse ids only)
    cdef flow_id_t id_max               # flow_ids[F-1] (sparse ids only)
    cdef int id_shift                   # bucket of an id = (id - id_min) >> id_shift
    cdef const int32_t[::1] id_bucket   # (B+1,) first index of each bucket; B = 2^k >= F
    cdef FlowState* flows               # (F,) malloc'd
    cdef FlowPath* paths_of             # (F,) malloc'd, off the fast path

    # mobile nodes and their addresses
    cdef mn_t n_mns
    cdef MobileNode* mns                # (n_mns,) malloc'd
    cdef NetworkPlace* places           # (n_mns,) malloc'd: mobile networks (§16)
    cdef Address* addrs                 # pool, realloc'd
    cdef addr_t addr_capacity           # slots allocated
    cdef addr_t addr_used               # slots ever handed out (high-water mark)
    cdef addr_t free_head               # first free slot below addr_used, -1 none
    cdef count_t* bindings              # (N,) bindings held by each anchor now

    cdef TimerHeap timers               # §12, entries malloc'd here
    cdef EventRecord* events            # §14, realloc'd
    cdef Py_ssize_t n_events
    cdef Py_ssize_t event_capacity
    cdef bint event_oom                 # an event could not be stored (raised after nogil)

    # control events (§2), consumed in order
    cdef const int64_t[::1] ev_t
    cdef const int8_t[::1] ev_kind
    cdef const int32_t[::1] ev_a
    cdef const int32_t[::1] ev_b
    cdef const int64_t[::1] ev_row
    cdef Py_ssize_t ev_next             # first control event not handled yet
    cdef time_t ev_due                  # packets at t >= ev_due must handle events first

    # timeline (§11)
    cdef time_t t_begin                 # start of bin 0
    cdef time_t bin_ns                  # bin width w
    cdef bin_t now_bin                  # bin of the latest packet or event time handled
    cdef time_t now_bin_end             # end of that bin
    cdef time_t* held_since             # (N,) binding time of each anchor is binned up to here
    cdef bin_t* held_bin                # (N,) bin of held_since

    # run
    cdef int state                      # STATE_*
    cdef time_t t_end
    cdef time_t last_t                  # time of the last accepted packet
    cdef int err_code                   # ERR_* of the failed row
    cdef Py_ssize_t err_index           # its index in the batch
    cdef time_t err_prev_t              # last accepted time when it failed

    # results: RawCounters arrays, written in place
    cdef object counters
    cdef int64_t[:, ::1] sums           # (F, SUM_COLUMNS) RawCounters.flow_sums, a line per flow
    cdef int64_t[::1] flow_delayed
    cdef int32_t[::1] flow_anchor
    cdef int64_t[::1] flow_moves
    cdef int64_t[::1] flow_renumbered
    cdef int64_t[::1] anchor_packets
    cdef int64_t[::1] anchor_bytes
    cdef int64_t[::1] anchor_peak_bindings
    cdef int64_t[::1] anchor_binding_ns
    cdef int64_t[::1] anchor_sig_msgs
    cdef int64_t[::1] anchor_sig_bytes
    cdef int64_t[::1] anchor_addresses
    cdef int64_t[:, ::1] role_sig_msgs
    cdef int64_t[:, ::1] sig_msgs
    cdef int64_t[:, ::1] sig_bytes
    cdef int64_t[:, ::1] sig_byte_hops
    cdef int8_t[::1] ho_kind
    cdef int32_t[::1] ho_from
    cdef int32_t[::1] ho_to
    cdef int64_t[::1] ho_interruption_ns
    cdef int64_t[::1] ho_signaling_ns
    cdef int64_t[::1] ho_hold_ns
    cdef int64_t[::1] ho_msgs
    cdef int64_t[::1] ho_addresses
    cdef int64_t[::1] ho_bytes
    cdef int64_t[::1] ho_lost
    cdef int64_t[::1] ho_delayed
    cdef int64_t[:, ::1] stretch_hist
    cdef int64_t[:, ::1] timeline_packets
    cdef int64_t[:, ::1] timeline_bytes
    cdef int64_t[:, ::1] timeline_sig_msgs
    cdef int64_t[:, ::1] timeline_binding_ns

    def __cinit__(self):
        self.flows = NULL
        self.paths_of = NULL
        self.mns = NULL
        self.places = NULL
        self.addrs = NULL
        self.bindings = NULL
        self.held_since = NULL
        self.held_bin = NULL
        self.timers.entries = NULL
        self.events = NULL
        self.pairs = NULL
        self.local_pairs = NULL
        self.state = STATE_NEW

    def __dealloc__(self):
        free(self.flows)
        free(self.paths_of)
        free(self.mns)
        free(self.places)
        free(self.addrs)
        free(self.bindings)
        free(self.held_since)
        free(self.held_bin)
        free(self.timers.entries)
        free(self.events)
        free(self.pairs)
        free(self.local_pairs)

    def __init__(self, policy, replay, *, timeline_bin_ns=_io.DEFAULT_TIMELINE_BIN_NS):
        if self.state != STATE_NEW:
            raise RuntimeError("Replay.__init__ may run only once")
        self.state = STATE_FAILED  # until the state is complete
        n = replay.n_nodes
        if policy.n_nodes != n:
            raise ValueError(f"policy has {policy.n_nodes} nodes, trace topology has {n}")
        n_flows = replay.n_flows
        n_mns = int(replay.n_mns)
        n_rows = int(replay.n_rows)
        self.n_mobility_rows = int(replay.n_mobility_rows)
        if n_flows > _INT32_MAX or n_mns > _INT32_MAX or n > _INT32_MAX // 4:
            raise ValueError("too many flows, mobile nodes or nodes for the compiled core")
        if n_mns < 0 or n_rows < 0:
            raise ValueError("n_mns and n_mobility_rows must be >= 0")
        self.mobile_networks = bool(policy.mobile_networks)
        mn_router = (np.zeros(n_mns, np.uint8) if replay.mn_router is None
                     else _array(replay.mn_router, "replay.mn_router", np.uint8, (n_mns,)))
        self.mn_router = mn_router
        depth = _io.replayed_depth(policy, replay)
        if not 0 <= depth <= _io.MAX_NETWORK_DEPTH:
            raise ValueError("replay.network_depth must be 0 to MAX_NETWORK_DEPTH")

        # Policy (§1). Every node id used as an index is checked here, once.
        serving = _array(policy.serving, "policy.serving", np.int32, (n,))
        levels = int(np.asarray(policy.chain).shape[0])
        chain_nodes = _array(policy.chain, "policy.chain", np.int32, (levels, n))
        segment_bytes = _array(policy.segment_bytes, "policy.segment_bytes", np.int32,
                               (levels + 1,))
        access_bytes = _array(policy.access_bytes, "policy.access_bytes", np.int32, (n,))
        scope = _array(policy.scope, "policy.scope", np.uint8, (n, n))
        if not (_in_range(serving, -1, n) and _in_range(chain_nodes, -1, n)):
            raise ValueError("policy.serving and policy.chain must hold node ids or -1")
        if (segment_bytes.size and int(segment_bytes.min()) < 0) or (n and int(np.min(
                _policy.last_segment_bytes(chain_nodes, segment_bytes, access_bytes, serving),
                initial=0)) < 0):
            raise ValueError("policy.segment_bytes with access_bytes must be >= 0 everywhere")
        if policy.select not in _policy.SELECT_NAMES:
            raise ValueError(f"unknown anchor selection code {policy.select}")
        candidates = _array(policy.candidates, "policy.candidates", np.int32,
                            (np.asarray(policy.candidates).shape[0],))
        if not _in_range(candidates, 0, n) or (
                policy.select in _policy.SELECT_FROM_CANDIDATES and candidates.size == 0):
            raise ValueError("policy.candidates must hold anchor node ids (some, to select from)")
        self.candidates = candidates
        if policy.select == SELECT_CENTRAL and not 0 <= policy.central < n:
            raise ValueError("central anchor selection needs a central anchor node")
        self.select = policy.select
        self.central = policy.central if policy.select == SELECT_CENTRAL else -1
        self.serving = serving
        self.chain_nodes = chain_nodes
        self.segment_bytes = segment_bytes
        self.access_bytes = access_bytes
        offload = _array(policy.offload, "policy.offload", np.int32,
                         (len(policy.flow_classes), n))
        bypass = _array(policy.bypass, "policy.bypass", np.uint8, (n,))
        if not _in_range(offload, -1, n) or (n and int(bypass.max()) >= 1 << levels):
            raise ValueError("policy.offload must hold node ids or -1, and policy.bypass "
                             "bit masks of the chain's levels")
        self.offload = offload
        self.bypass = bypass
        self.chain = Chain(nodes=NULL, segment_bytes=&self.segment_bytes[0],
                           access_bytes=NULL, bypass=NULL, levels=levels, n=n)
        if levels and n:
            self.chain.nodes = &self.chain_nodes[0, 0]
        if n:
            self.chain.access_bytes = &self.access_bytes[0]
            self.chain.bypass = &self.bypass[0]
        self.direct_bytes = policy.direct_bytes
        if self.direct_bytes < 0:
            raise ValueError("policy.direct_bytes must be >= 0")
        classes = _classes.class_table(policy.flow_classes)
        self.classes = classes
        self.grace = _classes.grace_table(policy.flow_classes)
        self.grace_ends = np.unique(np.asarray(self.grace)[np.asarray(self.grace) >= 0])
        self.scope = scope
        self.always_registered = bool(policy.always_registered)
        self.native = _array(policy.native, "policy.native", np.uint8, (n, n))
        self.buffering = bool(policy.buffering)
        self.poa_class = _array(policy.poa_class, "policy.poa_class", np.uint8, (n,))
        self.refresh_ns = _array(policy.refresh_ns, "policy.refresh_ns", np.int64, (n,))
        if bool(np.any(np.asarray(self.refresh_ns) < 0)):
            raise ValueError("policy.refresh_ns must hold periods >= 0")
        n_kinds = len(policy.message_kinds)
        legs = np.ascontiguousarray(policy.legs)
        _sig.check_program(legs, n_kinds)
        cdef Py_ssize_t c
        for c in range(N_CAUSES):
            own = np.flatnonzero(legs[:, LEG_CAUSE] == c)
            self.leg_first[c] = int(own[0]) if own.size else 0
            self.leg_count[c] = int(own.size)
            self.has_once[c] = bool(np.any(legs[own, LEG_SCOPE] == ONCE))
            if own.size > MAX_LEGS_PER_CAUSE:
                raise ValueError("too many signaling legs for one cause")
        if legs.shape[0] and int(legs[:, LEG_LEVEL].max()) > levels:
            raise ValueError("a signaling leg names a chain level the policy does not have")
        self.legs = legs
        self.third = policy.third_node
        self.new_sessions_only = bool(policy.select_for_new_sessions_only)
        if bool(np.any(legs[:, [LEG_SRC, LEG_DST, LEG_VIA]] == ROLE_THIRD)) and not (
                0 <= self.third < n):
            raise ValueError("policy.third_node must be a node id when a leg names it")
        self.outlives_detach = bool(policy.binding_outlives_detach)
        self.release_ns = policy.detach_release_ns
        if self.release_ns < -1:
            raise ValueError("policy.detach_release_ns must be >= -1")
        self.deprecated_ns = policy.deprecated_lifetime_ns
        if self.deprecated_ns < -1:
            raise ValueError("policy.deprecated_lifetime_ns must be >= -1")
        self.relocation = int(policy.relocation)
        self.relocation_trigger = int(policy.relocation_trigger)
        self.relocation_gain_ns = int(policy.relocation_gain_ns)
        self.relocation_load = int(policy.relocation_load)
        if not (0 <= self.relocation <= 2 and 0 <= self.relocation_trigger <= 1
                and self.relocation_gain_ns >= 0 and self.relocation_load >= 1):
            raise ValueError("policy relocation fields out of range")
        self.pre_attach_ns = policy.pre_signaling_ns(_policy.ON_ATTACH)
        self.pre_handover_ns = policy.pre_signaling_ns(_policy.ON_HANDOVER)
        self.first_ack_hold_ns = policy.first_ack_hold_ns
        if self.pre_attach_ns < 0 or self.pre_handover_ns < 0 or self.first_ack_hold_ns < 0:
            raise ValueError("policy interruption components must be >= 0")

        # Topology.
        hops = _array(replay.hops, "replay.hops", np.uint16, (n, n))
        self.n_nodes = n
        self.hops = hops
        self.delay = _array(replay.delay_ns, "replay.delay_ns", np.int64, (n, n))
        if n > 0:
            self.paths = Paths(hops=&self.hops[0, 0], delay=&self.delay[0, 0], n=n)
        else:
            self.paths = Paths(hops=NULL, delay=NULL, n=0)

        # Flows.
        shape = (n_flows,)
        flow_ids = _array(replay.flow_ids, "replay.flow_ids", np.uint64, shape)
        flow_mn = _array(replay.flow_mn, "replay.flow_mn", np.int32, shape)
        flow_peer = _array(replay.flow_peer, "replay.flow_peer", np.int32, shape)
        flow_start = _array(replay.flow_start, "replay.flow_start", np.int64, shape)
        flow_end = _array(replay.flow_end, "replay.flow_end", np.int64, shape)
        flow_class = _array(_classes.classify(policy.flow_classes, replay), "flow classes",
                            np.uint8, shape)
        if not _in_range(flow_class, 0, classes.shape[0]):
            raise ValueError("a flow matches no flow class")
        ro_capable = _array(policy.ro_capable, "policy.ro_capable", np.uint8, (n,))
        self.token_lifetime_ns = int(policy.token_lifetime_ns)
        self.rr_refresh_ns = int(policy.correspondent_refresh_ns)
        if self.token_lifetime_ns < 0 or self.rr_refresh_ns < 0:
            raise ValueError("policy correspondent times must be >= 0")
        pairs = _correspondents.correspondent_pairs(flow_mn, flow_peer, flow_class, classes,
                                                    ro_capable, n_mns)
        self.n_pairs = pairs.pair_mn.shape[0]
        if self.n_pairs and self.rr_refresh_ns <= 0:
            raise ValueError("route optimisation needs a correspondent refresh period > 0")
        self.mn_first = pairs.mn_first
        self.mn_pairs = pairs.mn_pairs
        if n_flows > 1 and not bool(np.all(flow_ids[1:] > flow_ids[:n_flows - 1])):
            raise ValueError("replay.flow_ids must be strictly ascending")
        flow_peer_mn = (np.full(n_flows, -1, np.int32) if replay.flow_peer_mn is None else
                        _array(replay.flow_peer_mn, "replay.flow_peer_mn", np.int32, shape))
        two_ended = flow_peer_mn >= 0
        if not (_in_range(flow_mn, 0, n_mns) and _in_range(flow_peer[~two_ended], 0, n)
                and bool(np.all(flow_peer[two_ended] == -1))
                and _in_range(flow_peer_mn, -1, n_mns)):
            raise ValueError("replay.flow_mn / flow_peer / flow_peer_mn hold an unknown MN or "
                             "node (an MN-to-MN flow has peer -1)")
        self.flow_peer_mn = flow_peer_mn
        by_mn = np.argsort(flow_mn, kind="stable").astype(np.int32)
        self.mn_flows = by_mn
        self.mn_flow_first = np.searchsorted(flow_mn[by_mn], np.arange(n_mns + 1)).astype(
            np.int64)
        self.flow_spared = np.zeros(n_flows, np.uint8)
        self.local_routing = int(policy.local_routing)
        self.local_tunnel_bytes = int(policy.local_tunnel_bytes)
        if not (0 <= self.local_routing < 16 and 0 <= self.local_tunnel_bytes <= 4096):
            raise ValueError("policy.local_routing / local_tunnel_bytes out of range")
        local = _local_routing.local_routing_pairs(flow_mn, replay.flow_peer_mn, flow_class,
                                                   classes, n_mns, self.local_routing != 0)
        self.n_local = local.pair_low.shape[0]
        if self.n_local and not (self.always_registered and self.select != SELECT_PER_FLOW
                                 and not self.mobile_networks):
            raise ValueError("localized routing needs always-registered home addresses")
        self.flow_local = local.flow_pair
        self.local_first = local.mn_first
        self.local_of = local.mn_pairs
        if bool(np.any(flow_start > flow_end)):
            raise ValueError("replay.flow_start must be <= replay.flow_end")
        self.n_flows = n_flows
        self.flow_ids = flow_ids
        self.dense_ids = n_flows == 0 or int(flow_ids.max()) == n_flows - 1  # ascending ids
        if not self.dense_ids:
            # Sparse ids: split the id range into B equal buckets, so that a lookup binary
            # searches one bucket (a row or two for evenly spread ids) instead of all F ids.
            n_buckets = 1 << max(n_flows - 1, 1).bit_length()
            span = int(flow_ids[n_flows - 1]) - int(flow_ids[0])
            shift = max(span.bit_length() - (n_buckets.bit_length() - 1), 0)
            buckets = (flow_ids - flow_ids[0]) >> np.uint64(shift)
            self.id_min = flow_ids[0]
            self.id_max = flow_ids[n_flows - 1]
            self.id_shift = shift
            self.id_bucket = np.searchsorted(
                buckets, np.arange(n_buckets + 1, dtype=np.uint64)).astype(np.int32)

        # Control events (§2): sorted by (t, kind); moves name an MN, a PoA or -1 and a row;
        # each flow starts once at its start and ends once at its end.
        n_ev = int(np.asarray(replay.ev_t).shape[0])
        shape = (n_ev,)
        ev_t = _array(replay.ev_t, "replay.ev_t", np.int64, shape)
        ev_kind = _array(replay.ev_kind, "replay.ev_kind", np.int8, shape)
        ev_a = _array(replay.ev_a, "replay.ev_a", np.int32, shape)
        ev_b = _array(replay.ev_b, "replay.ev_b", np.int32, shape)
        ev_row = _array(replay.ev_row, "replay.ev_row", np.int64, shape)
        is_move = ev_kind == EV_MOVE
        is_start = ev_kind == EV_FLOW_START
        is_end = ev_kind == EV_FLOW_END
        if not bool(np.all(is_move | is_start | is_end)):
            raise ValueError("replay.ev_kind must be EV_MOVE, EV_FLOW_START or EV_FLOW_END")
        if n_ev > 1:
            dt = np.diff(ev_t)
            if not bool(np.all((dt > 0) | ((dt == 0) & (np.diff(ev_kind) >= 0)))):
                raise ValueError("replay control events must be sorted by (t, kind)")
        is_network = is_move & (ev_row >= self.n_mobility_rows)
        is_own = is_move & ~is_network
        to = ev_b[is_own]
        if not (
            _in_range(ev_a[is_move], 0, n_mns)
            and _in_range(to, -1, n)
            and bool(np.all(serving[to[to >= 0]] >= 0))
            and _in_range(ev_row[is_move], 0, n_rows)
            and _in_range(ev_b[is_network], -1, n_mns)
        ):
            raise ValueError("a move names an unknown MN, a node that is not a PoA, a router "
                             "that is not an MN, or an unknown row")
        for name, mask, times in (("start", is_start, flow_start), ("end", is_end, flow_end)):
            f = ev_a[mask]
            if not (
                _in_range(f, 0, n_flows)
                and f.shape[0] == n_flows
                and bool(np.all(np.bincount(f, minlength=n_flows) == 1))
                and bool(np.all(ev_t[mask] == times[f]))
            ):
                raise ValueError(f"every flow needs exactly one flow {name} event, at its {name}")
        self.ev_t = ev_t
        self.ev_kind = ev_kind
        self.ev_a = ev_a
        self.ev_b = ev_b
        self.ev_row = ev_row
        self.ev_next = 0
        self.t_end = replay.t_end
        self.last_t = INT64_MIN

        # Timeline (§11): events in [t_begin, t_end], n_bins * N within the memory guard, and
        # the end of the last bin an int64, so bin edges and bin indices never overflow.
        n_bins = _io.timeline_bins(replay, timeline_bin_ns)
        self.t_begin = replay.t_begin
        self.bin_ns = timeline_bin_ns
        self.now_bin = 0
        self.now_bin_end = self.t_begin + self.bin_ns

        # Results.
        max_hops = int(hops.max()) if n > 0 else 0
        counters = _io.RawCounters.zeros(n_flows, n, n_rows, max_hops, n_bins, n_kinds, levels,
                                         depth, _io.two_ended(replay))
        self.counters = counters
        self.sums = counters.flow_sums
        self.flow_delayed = counters.flow_delayed
        self.flow_anchor = counters.flow_anchor
        self.flow_moves = counters.flow_moves
        self.flow_renumbered = counters.flow_renumbered
        self.anchor_packets = counters.anchor_packets
        self.anchor_bytes = counters.anchor_bytes
        self.anchor_peak_bindings = counters.anchor_peak_bindings
        self.anchor_binding_ns = counters.anchor_binding_ns
        self.anchor_sig_msgs = counters.anchor_sig_msgs
        self.anchor_sig_bytes = counters.anchor_sig_bytes
        self.anchor_addresses = counters.anchor_addresses
        self.role_sig_msgs = counters.role_sig_msgs
        self.sig_msgs = counters.sig_msgs
        self.sig_bytes = counters.sig_bytes
        self.sig_byte_hops = counters.sig_byte_hops
        self.ho_kind = counters.ho_kind
        self.ho_from = counters.ho_from
        self.ho_to = counters.ho_to
        self.ho_interruption_ns = counters.ho_interruption_ns
        self.ho_signaling_ns = counters.ho_signaling_ns
        self.ho_hold_ns = counters.ho_hold_ns
        self.ho_msgs = counters.ho_msgs
        self.ho_addresses = counters.ho_addresses
        self.ho_bytes = counters.ho_bytes
        self.ho_lost = counters.ho_lost
        self.ho_delayed = counters.ho_delayed
        self.stretch_hist = counters.stretch_hist
        self.timeline_packets = counters.timeline_packets
        self.timeline_bytes = counters.timeline_bytes
        self.timeline_sig_msgs = counters.timeline_sig_msgs
        self.timeline_binding_ns = counters.timeline_binding_ns

        # C state (§3).
        self.n_mns = n_mns
        # On cache-line boundaries: a FlowState is one line, so a packet touches one line of
        # it (malloc's 16-byte alignment would split most of them over two).
        self.flows = <FlowState*> _lines(max(n_flows, 1) * sizeof(FlowState))
        self.paths_of = <FlowPath*> _lines(max(n_flows, 1) * sizeof(FlowPath))
        self.mns = <MobileNode*> _lines(max(n_mns, 1) * sizeof(MobileNode))
        self.places = <NetworkPlace*> malloc(max(n_mns, 1) * sizeof(NetworkPlace))
        self.bindings = <count_t*> malloc(max(n, 1) * sizeof(count_t))
        self.held_since = <time_t*> malloc(max(n, 1) * sizeof(time_t))
        self.held_bin = <bin_t*> malloc(max(n, 1) * sizeof(bin_t))
        self.addr_capacity = max(n_mns, 16)
        self.addrs = <Address*> malloc(self.addr_capacity * sizeof(Address))
        self.timers = TimerHeap(entries=<Timer*> malloc(64 * sizeof(Timer)), n=0, capacity=64,
                                seq=0)
        self.event_capacity = 64
        self.events = <EventRecord*> malloc(self.event_capacity * sizeof(EventRecord))
        self.pairs = <Correspondent*> malloc(max(self.n_pairs, 1) * sizeof(Correspondent))
        self.local_pairs = <LocalPair*> malloc(max(self.n_local, 1) * sizeof(LocalPair))
        self.n_events = 0
        self.event_oom = False
        if (self.flows == NULL or self.paths_of == NULL or self.mns == NULL or self.places == NULL
                or self.bindings == NULL or self.held_since == NULL or self.held_bin == NULL
                or self.addrs == NULL or self.timers.entries == NULL or self.events == NULL
                or self.pairs == NULL or self.local_pairs == NULL):
            raise MemoryError("cannot allocate the replay state")
        self.addr_used = 0
        self.free_head = -1
        cdef Py_ssize_t i
        for i in range(n):
            self.bindings[i] = 0
            self.held_since[i] = self.t_begin
            self.held_bin[i] = 0
        cdef node_t home = self.central  # -1 unless CENTRAL: the home is known from the start
        for i in range(n_mns):
            self.mns[i] = MobileNode(
                poa=-1, home=home, until=INT64_MIN, ready=INT64_MIN, window_row=-1, moves=0,
                epoch=0,
                head=-1, tail=-1, release=0,
            )
            self.places[i] = NetworkPlace(pending_row=-1, router=-1, first_rider=-1,
                                          next_rider=-1, own=-1)
        cdef const int32_t[::1] mn_v = flow_mn
        cdef const int32_t[::1] peer_v = flow_peer
        cdef const int64_t[::1] start_v = flow_start
        cdef const int64_t[::1] end_v = flow_end
        cdef const uint8_t[::1] class_v = flow_class
        cdef const int32_t[::1] peer_mn_v = self.flow_peer_mn
        cdef const int32_t[::1] pair_v = pairs.flow_pair
        cdef const int32_t[::1] pair_mn_v = pairs.pair_mn
        cdef const int32_t[::1] pair_peer_v = pairs.pair_peer
        for i in range(n_flows):
            self.flows[i] = FlowState(
                start=start_v[i], end=end_v[i], bytes=0, run_packets=0, run_bytes=0,
                run_epoch=-1, mn=mn_v[i], addr=-1, run_bin=0, binding=FLOW_UNBOUND, broken=0,
                cls=class_v[i], two_ended=peer_mn_v[i] >= 0,
            )
            self.paths_of[i] = FlowPath(
                path_delay=0, path_direct_delay=0, resume=INT64_MIN, moves_at_start=0,
                peer=peer_v[i], path_anchor=-1, path_hops=0, path_direct=0, path_overhead=0,
                path_overhead_bh=0, local_anchor=-1, pair=pair_v[i],
            )
        for i in range(self.n_pairs):
            self.pairs[i] = Correspondent(
                rr_t=INT64_MIN, token_t=INT64_MIN, pending=0, active=0, addr=-1,
                mn=pair_mn_v[i], peer=pair_peer_v[i], bound_poa=-1, pending_poa=-1,
            )
        cdef const int32_t[::1] low_v = local.pair_low
        cdef const int32_t[::1] high_v = local.pair_high
        for i in range(self.n_local):
            self.local_pairs[i] = LocalPair(pending=0, active=0, low=low_v[i], high=high_v[i],
                                            case_=-1, pending_case=-1)
        self._advance(INT64_MIN, False)  # sets ev_due; handles nothing
        self.state = STATE_READY

    # ------------------------------------------------------------------ Python interface

    def feed(self, batch):
        """Handle the control events due before each packet of ``batch``, then the packet."""
        self._check_ready("feed")
        t = _array(batch.t, "batch.t", np.int64, np.shape(batch.t))
        if t.ndim != 1:
            raise ValueError("batch columns must be 1-D")
        shape = t.shape
        flow = _array(batch.flow, "batch.flow", np.uint64, shape)
        size = _array(batch.size, "batch.size", np.uint16, shape)
        direction = _array(batch.dir, "batch.dir", np.uint8, shape)
        cdef const int64_t[::1] t_v = t
        cdef const flow_id_t[::1] flow_v = flow
        cdef const psize_t[::1] size_v = size
        cdef const uint8_t[::1] dir_v = direction
        cdef int rc
        # Failed until the batch is through, so an exception (MemoryError) leaves it failed.
        self.state = STATE_FAILED
        with nogil:
            rc = self._feed(t_v, flow_v, size_v, dir_v)
        if self.event_oom:
            raise MemoryError("cannot grow the event records")
        if rc != 0:
            raise self._row_error(int(batch.first_row), t, flow, size, direction)
        self.state = STATE_READY

    def finish(self):
        """Handle the remaining control events, close the trace (§8) and return the counters."""
        self._check_ready("finish")
        self.state = STATE_FAILED
        cdef flow_t f
        cdef FlowState* fs
        c = self.counters
        cdef int64_t[::1] nbytes = c.flow_bytes
        cdef uint8_t[::1] broken = c.flow_broken
        with nogil:
            self._advance(INT64_MAX, True)
            for f in range(self.n_pairs):  # §15 trigger 5
                if self.pairs[f].active > 0:
                    self._rr_refreshes(f, self.t_end)
            self._close_all(self.t_end)
            for f in range(self.n_flows):
                fs = &self.flows[f]
                if fs.run_packets > 0:
                    self._flush(f)
                self.sums[f, SUM_PACKETS] += self.sums[f, SUM_LOST]  # it held the delivered ones
                nbytes[f] = fs.bytes
                broken[f] = fs.broken
        if self.event_oom:
            raise MemoryError("cannot grow the event records")
        records = [(self.events[i].t, self.events[i].kind, self.events[i].mn,
                    self.events[i].flow, self.events[i].node) for i in range(self.n_events)]
        for name, values in _io.events_arrays(records).items():
            setattr(c, name, values)
        self.state = STATE_FINISHED
        return c

    cdef int _check_ready(self, str what) except -1:
        if self.state == STATE_READY:
            return 0
        if self.state == STATE_NEW:
            raise RuntimeError("Replay was not initialised")
        if self.state == STATE_FAILED:
            raise RuntimeError(f"cannot {what}: an earlier call failed and the counters are partial")
        raise RuntimeError(f"cannot {what}: finish() already returned the counters")

    cdef object _row_error(self, first_row, t, flow, size, direction):
        """The PacketRowError of the row the packet loop stopped at."""
        i = self.err_index
        row = first_row + i
        code = self.err_code
        if code == ERR_FLOW:
            return PacketRowError("flow", row, int(flow[i]), "not a flow of the trace")
        if code == ERR_T_ORDER:
            return PacketRowError(
                "t", row, int(t[i]), f"time decreases (previous packet at t={self.err_prev_t})")
        if code == ERR_T_SPAN:
            f = int(flow[i]) if self.dense_ids else self._lookup(int(flow[i]))
            return PacketRowError(
                "t", row, int(t[i]),
                f"outside the flow's time span [{self.flows[f].start}, {self.flows[f].end}]")
        if code == ERR_DIR:
            return PacketRowError("dir", row, int(direction[i]), "must be 0 (uplink) or 1 (downlink)")
        return PacketRowError("size", row, int(size[i]), f"smaller than {MIN_PACKET_BYTES} bytes")

    # ------------------------------------------------------------------ packets (§7)

    cdef int _feed(self, const int64_t[::1] ts, const flow_id_t[::1] ids,
                   const psize_t[::1] sizes, const uint8_t[::1] dirs) except -1 nogil:
        """Row checks and §7 for each packet; returns 1 (err_* set) at the first bad row."""
        cdef Py_ssize_t i, n = ts.shape[0]
        cdef time_t t, last_t = self.last_t, due = self.ev_due
        cdef time_t next_bin_t = self.now_bin_end
        cdef bin_t cur_bin = self.now_bin
        cdef flow_id_t fid
        cdef flow_t f
        cdef psize_t s
        cdef FlowState* fs
        cdef MobileNode* mn
        cdef MobileNode* other
        cdef count_t epoch
        cdef time_t until
        cdef FlowState* flows = self.flows
        cdef MobileNode* mns = self.mns
        cdef flow_id_t n_flows = <flow_id_t> self.n_flows
        cdef bint dense = self.dense_ids
        cdef bint buffering = self.buffering
        cdef int err = ERR_NONE
        cdef int prepared
        for i in range(n):
            if dense and i + PREFETCH_AHEAD < n and ids[i + PREFETCH_AHEAD] < n_flows:
                __builtin_prefetch(&flows[ids[i + PREFETCH_AHEAD]])
            t = ts[i]
            fid = ids[i]
            if dense:
                if fid >= n_flows:
                    err = ERR_FLOW
                    break
                f = <flow_t> fid
            else:
                f = self._lookup(fid)
                if f < 0:
                    err = ERR_FLOW
                    break
            if t < last_t:
                err = ERR_T_ORDER
                break
            fs = &flows[f]
            if t < fs.start or t > fs.end:
                err = ERR_T_SPAN
                break
            if dirs[i] > 1:
                err = ERR_DIR
                break
            s = sizes[i]
            if s < MIN_PACKET_BYTES:
                err = ERR_SIZE
                break
            last_t = t
            if t >= due:
                self._advance(t, False)
                due = self.ev_due
            if t >= next_bin_t:  # §11: a later timeline bin (after the events due before t)
                cur_bin = self._bin_now(t)
                next_bin_t = self.now_bin_end
            fs.bytes += s
            mn = &mns[fs.mn]
            epoch = mn.epoch
            until = mn.until
            if fs.two_ended:  # §17: the other MN's place and window count too
                other = &mns[self.flow_peer_mn[f]]
                epoch += other.epoch
                if other.until > until:
                    until = other.until
            # Same epoch as the cached path: attached, bound, not broken (see replay.pxd).
            if fs.run_epoch != epoch:
                prepared = self._prepare(f, t, dirs[i])
                due = self.ev_due  # it may have scheduled a timer (§15)
                if not prepared:
                    continue
            if t < until and not self._wait(f, t):  # step 4, inside an MN's window
                continue
            if fs.run_bin != cur_bin:  # a run stays in one timeline bin
                if fs.run_packets > 0:
                    self._flush(f)
                fs.run_bin = cur_bin
            fs.run_packets += 1
            fs.run_bytes += s
        self.last_t = last_t
        if err != ERR_NONE:
            self.err_code = err
            self.err_index = i
            self.err_prev_t = last_t
            return 1
        return 0

    cdef bint _wait(self, flow_t f, time_t t) noexcept nogil:
        """§7.4 for a packet inside an MN's window: its flow's own wait ends at its
        address's end of the interruption (at least the MN's components), or the other MN's
        of an MN-to-MN flow (§17), whichever is later; 0 if it is lost."""
        cdef FlowState* fs = &self.flows[f]
        cdef MobileNode* mn = &self.mns[fs.mn]
        cdef MobileNode* other
        cdef time_t wait_end = mn.ready
        cdef row_t row = mn.window_row
        if fs.binding == FLOW_BOUND and self.addrs[fs.addr].until > wait_end:
            wait_end = self.addrs[fs.addr].until
        if fs.two_ended:
            other = &self.mns[self.flow_peer_mn[f]]
            if other.until > wait_end:
                wait_end = other.until
                row = other.window_row
        if t >= wait_end:
            return 1
        if not self.buffering:
            self.sums[f, SUM_LOST] += 1
            if row >= 0:
                self.ho_lost[row] += 1
            return 0
        self.flow_delayed[f] += 1
        self.sums[f, SUM_DELAY] += wait_end - t
        if row >= 0:
            self.ho_delayed[row] += 1
        return 1

    cdef flow_t _lookup(self, flow_id_t flow_id) noexcept nogil:
        """Dense index of a sparse trace flow id, -1 if the trace has no such flow.

        A binary search over the ids of the id's bucket (see id_bucket).
        """
        cdef flow_id_t b, v
        cdef flow_t lo, hi, mid
        if self.n_flows == 0 or flow_id < self.id_min or flow_id > self.id_max:
            return -1
        b = (flow_id - self.id_min) >> self.id_shift
        lo = self.id_bucket[b]
        hi = self.id_bucket[b + 1]
        while lo < hi:
            mid = lo + (hi - lo) // 2
            v = self.flow_ids[mid]
            if v < flow_id:
                lo = mid + 1
            elif v > flow_id:
                hi = mid
            else:
                return mid
        return -1

    cdef int _prepare(self, flow_t f, time_t t, uint8_t direction) except -1 nogil:
        """§7 steps 1-3 and the path of step 5 for a packet off the cached path (of
        ``direction``: route optimisation loses downlink packets a peer sends to an old
        care-of address, §15).

        Returns 0 if the packet is lost (counted here), 1 if it goes on to step 4.
        """
        cdef FlowState* fs = &self.flows[f]
        cdef FlowPath* ft = &self.paths_of[f]
        cdef MobileNode* mn = &self.mns[fs.mn]
        cdef node_t p = mn.poa, a, c
        cdef addr_t x
        cdef bint renumber = False, graceful = False, direct, cache = True
        cdef time_t lost_at = 0
        cdef Route route, lead
        cdef Correspondent* pair
        cdef time_t rr_out[4]
        cdef count_t depth, far_depth = 0, epoch = mn.epoch
        cdef MobileNode* other = NULL
        cdef node_t far = ft.peer, b
        if fs.run_packets > 0:
            self._flush(f)
        if fs.two_ended:  # §17: the other end is the other MN, where it is now
            other = &self.mns[self.flow_peer_mn[f]]
            far = other.poa
            epoch += other.epoch
        if p < 0 or far < 0:  # step 1: detached (either MN)
            self.sums[f, SUM_LOST] += 1
            return 0
        if fs.broken:  # step 2
            self.sums[f, SUM_LOST] += 1
            return 0
        if fs.binding == FLOW_BOUND and self._grace_over(fs, mn, p, t):
            # Step 2, graceful replacement: the grace is over, the flow takes a new address.
            x = fs.addr
            fs.addr = -1
            fs.binding = FLOW_UNBOUND
            self._let_go(f, t)
            self._drop(fs.mn, x, t)
            graceful = True
        elif fs.binding == FLOW_BOUND and not self.addrs[fs.addr].live:
            x = fs.addr
            if self.classes[fs.cls, CLASS_ON_LOSS] == ON_LOSS_RENUMBER:
                # Step 2, renumbered: the flow lets go of the dead address and binds anew.
                lost_at = max(mn.ready, self.addrs[x].retired_t)  # §7.3: re-established
                fs.addr = -1
                fs.binding = FLOW_UNBOUND
                self._let_go(f, t)
                self.addrs[x].refcount -= 1
                self._release(x)
                renumber = True
            else:
                fs.broken = 1
                self._event(EVENT_FLOW_BROKEN, t, fs.mn, f, self.addrs[x].anchor)
                self.sums[f, SUM_LOST] += 1
                return 0
        if fs.binding == FLOW_BOUND:
            a = self.addrs[fs.addr].anchor
        elif fs.binding == FLOW_LOCAL:
            a = self.serving[p]
        else:  # step 3: bind
            if self.classes[fs.cls, CLASS_ANCHOR] == ANCHOR_LOCAL:
                fs.binding = FLOW_LOCAL
                a = self.serving[p]
            else:
                a = self._class_anchor(fs.cls, mn, p)
                x = self._find(fs.mn, a)
                if x < 0:
                    x = self._append(fs.mn, a)
                    if self._needs_binding(a, p):  # the flow's packets are not held for it
                        self._run_program(CAUSE_FLOW, fs.mn, p, -1, SIGNAL_ONE, x, t, 0, 1,
                                          NULL, False)
                        self._register(x, p, t)
                self.addrs[x].refcount += 1
                fs.addr = x
                fs.binding = FLOW_BOUND
                if ft.pair >= 0:  # §15 trigger 2
                    pair = &self.pairs[ft.pair]
                    pair.active += 1
                    if pair.addr != x:  # the binding names its address: keep the slot
                        self.addrs[x].pair_refs += 1
                        if pair.addr >= 0:
                            self.addrs[pair.addr].pair_refs -= 1
                            self._release(pair.addr)
                        pair.addr = x
                    if pair.bound_poa != p and pair.pending == 0 and self._needs_binding(a, p):
                        self._rr(ft.pair, t, t if t > self.addrs[x].until
                                 else self.addrs[x].until, rr_out)
                if self.flow_local[f] >= 0:  # §18 trigger 2
                    self._local_bind(self.flow_local[f], fs.mn, self.flow_peer_mn[f], t, rr_out)
            self.flow_anchor[f] = a
            if renumber or graceful:
                self.flow_renumbered[f] += 1
                self._event(EVENT_FLOW_RENUMBERED, t, fs.mn, f, a)
            if renumber:  # lost until re-established; a graceful move loses nothing
                ft.resume = lost_at + 2 * path_delay(&self.paths, far, p)
        if fs.binding == FLOW_LOCAL:
            # Step 3, renumber: a new local address when the serving anchor changed since the
            # flow's last packet; packets before the re-establishment are lost, and the path
            # is not cached until then, so every one of them comes back here.
            if a != ft.local_anchor:
                if ft.local_anchor >= 0:
                    self.flow_renumbered[f] += 1
                    self._event(EVENT_FLOW_RENUMBERED, t, fs.mn, f, a)
                    ft.resume = mn.ready + 2 * path_delay(&self.paths, far, p)
                ft.local_anchor = a
        if t < ft.resume:  # renumbered: lost until the session is re-established
            self.sums[f, SUM_LOST] += 1
            if mn.window_row >= 0:
                self.ho_lost[mn.window_row] += 1
            return 0
        direct = self.classes[fs.cls, CLASS_DIRECT]
        if ft.pair >= 0:  # §15: the peer's binding decides
            pair = &self.pairs[ft.pair]
            if pair.bound_poa == p:
                direct = True
            elif pair.bound_poa >= 0:
                # The peer still sends to an old care-of address: downlink packets are lost,
                # uplink ones go through the anchor; the path depends on the direction, so it
                # is not cached (the window lasts one return routability).
                if direction == 1:
                    self.sums[f, SUM_LOST] += 1
                    if mn.window_row >= 0:
                        self.ho_lost[mn.window_row] += 1
                    return 0
                cache = False
        # Step 5: the direct path, or the path from the peer through the anchor chain (and
        # the home anchors of the routers the MN rides behind, §16).
        c = ft.peer
        depth = self._depth(fs.mn)
        if other != NULL:
            far_depth = self._depth(self.flow_peer_mn[f])
        if self.flow_local[f] >= 0 and self.local_pairs[self.flow_local[f]].case_ >= 0:
            # §18: MAG to MAG, or inside one MAG; no anchor forwards it
            direct_route(&self.paths, far, p, self.local_tunnel_bytes if far != p else 0,
                         &route)
            ft.path_anchor = -1
        elif direct:  # from the other end straight to the PoA
            direct_route(&self.paths, far, p, self.direct_bytes, &route)
            route.overhead += (depth + far_depth) * self.direct_bytes  # the networks' links
            route.overhead_bh += (depth + far_depth) * self.direct_bytes
            ft.path_anchor = -1  # no anchor forwards it
        else:
            self._end_route(fs.mn, a, p, depth, &route)
            if other == NULL:
                route.hops += path_hops(&self.paths, c, a)
                route.delay += path_delay(&self.paths, c, a)
            else:  # §17: from the other MN's PoA up to its anchor b, then to a
                b = other.home if other.home >= 0 else self.serving[far]
                self._end_route(self.flow_peer_mn[f], b, far, far_depth, &lead)
                route.hops += lead.hops + path_hops(&self.paths, b, a)
                route.delay += lead.delay + path_delay(&self.paths, b, a)
                route.overhead += lead.overhead
                route.overhead_bh += lead.overhead_bh
            ft.path_anchor = a
        ft.path_hops = <int32_t> (route.hops + depth + far_depth)
        ft.path_delay = route.delay
        ft.path_overhead = <int32_t> route.overhead
        ft.path_overhead_bh = <int32_t> route.overhead_bh
        ft.path_direct = <int32_t> (path_hops(&self.paths, far, p) + depth + far_depth)
        ft.path_direct_delay = path_delay(&self.paths, far, p)
        fs.run_epoch = epoch if cache else -1
        return 1

    cdef inline count_t _depth(self, mn_t m) noexcept nogil:
        """§16: how many mobile routers MN ``m`` rides behind (0 when they are not replayed)."""
        cdef count_t depth = 0
        if not self.mobile_networks:
            return 0
        while self.places[m].router >= 0:
            m = self.places[m].router
            depth += 1
        return depth

    cdef inline void _end_route(self, mn_t m, node_t a, node_t p, count_t depth,
                                Route* route) noexcept nogil:
        """One end's route from anchor ``a`` to MN ``m`` at PoA ``p``: down the chain, through
        the routers it rides behind if any (§16)."""
        if depth > 0:
            self._nested_route(m, a, p, depth, route)
        else:
            chain_route(&self.chain, &self.paths, a, p, route)

    cdef void _nested_route(self, mn_t m, node_t a, node_t p, count_t depth,
                            Route* route) noexcept nogil:
        """§16: from anchor ``a`` through the home anchors of the ``depth`` routers above MN
        ``m`` (its own first) to PoA ``p``: each router's tunnel nests around the ones inside
        it from its home anchor down, and the routers' own links carry the tunnels that end
        below them (depth, depth - 1, ..., 1 tunnels)."""
        cdef count_t tunnel = self.segment_bytes[0], i, h, links
        cdef node_t u = a, home
        cdef Route inner
        cdef mn_t r = self.places[m].router
        route.hops = 0
        route.delay = 0
        route.overhead = 0
        route.overhead_bh = 0
        for i in range(1, depth + 1):
            home = self.mns[r].home
            if home != u:
                h = path_hops(&self.paths, u, home)
                route.hops += h
                route.delay += path_delay(&self.paths, u, home)
                route.overhead += i * tunnel
                route.overhead_bh += i * tunnel * h
                u = home
            r = self.places[r].router
        chain_route(&self.chain, &self.paths, u, p, &inner)
        route.hops += inner.hops
        route.delay += inner.delay
        route.overhead += inner.overhead + inner.segments * depth * tunnel
        route.overhead_bh += inner.overhead_bh + inner.hops * depth * tunnel
        links = tunnel * depth * (depth + 1) // 2  # one hop each
        route.overhead += links
        route.overhead_bh += links

    cdef void _flush(self, flow_t f) noexcept nogil:
        """Add the run of packets delivered on the cached path to every sum they feed."""
        cdef FlowState* fs = &self.flows[f]
        cdef FlowPath* ft = &self.paths_of[f]
        cdef count_t k = fs.run_packets
        cdef node_t a = ft.path_anchor
        self.sums[f, SUM_PACKETS] += k  # delivered; finish() adds the lost ones
        self.sums[f, SUM_HOPS] += k * ft.path_hops
        self.sums[f, SUM_DIRECT_HOPS] += k * ft.path_direct
        self.sums[f, SUM_DELAY] += k * ft.path_delay
        self.sums[f, SUM_DIRECT_DELAY] += k * ft.path_direct_delay
        self.sums[f, SUM_OVERHEAD] += k * ft.path_overhead
        self.sums[f, SUM_OVERHEAD_BH] += k * ft.path_overhead_bh
        self.stretch_hist[ft.path_hops, ft.path_direct] += k
        if a >= 0:  # an anchor forwards them (not on the direct path)
            self.anchor_packets[a] += k
            self.anchor_bytes[a] += fs.run_bytes
            self.timeline_packets[fs.run_bin, a] += k
            self.timeline_bytes[fs.run_bin, a] += fs.run_bytes
        fs.run_packets = 0
        fs.run_bytes = 0

    # ------------------------------------------------------------------ control events

    cdef int _advance(self, time_t t, bint everything) except -1 nogil:
        """Handle the control events due before a packet at ``t`` (§2), or all of them, each
        after the timers due by its time (§12); then the timers due by ``t`` (by t_end)."""
        cdef Py_ssize_t i, n = self.ev_t.shape[0]
        cdef time_t te
        cdef int8_t kind
        while self.ev_next < n:
            i = self.ev_next
            te = self.ev_t[i]
            kind = self.ev_kind[i]
            if not everything and not (te < t or (te == t and kind < EV_PACKET)):
                break
            self.ev_next = i + 1
            self._fire_timers(te)
            if kind == EV_MOVE and self.ev_row[i] >= self.n_mobility_rows:
                self._network(self.ev_a[i], self.ev_b[i], self.ev_row[i], te)
            elif kind == EV_MOVE:
                self._own_row(self.ev_a[i], self.ev_b[i], self.ev_row[i], te)
            elif kind == EV_FLOW_START:
                self._flow_start(self.ev_a[i])
            else:
                self._flow_end(self.ev_a[i], te)
        self._fire_timers(self.t_end if everything else t)
        # The next event is due for packets at t >= its time (moves, starts) or > it (ends);
        # a timer for packets at t >= its due time.
        if self.ev_next >= n:
            self.ev_due = INT64_MAX
        else:
            te = self.ev_t[self.ev_next]
            if self.ev_kind[self.ev_next] < EV_PACKET or te == INT64_MAX:
                self.ev_due = te
            else:
                self.ev_due = te + 1
        if self.timers.n > 0 and self.timers.entries[0].due < self.ev_due:
            self.ev_due = self.timers.entries[0].due
        return 0

    # ------------------------------------------------------------------ timers (§12)

    cdef count_t _schedule(self, time_t due, int8_t kind, int32_t target) except -1 nogil:
        """Push a timer (timer_heap.pxd); returns its seq (>= 1)."""
        cdef count_t seq = heap_push(&self.timers, due, kind, target)
        if seq == 0:
            with gil:
                raise MemoryError("cannot grow the timer heap")
        if due < self.ev_due:  # scheduled by a packet (§15): later packets fire it first
            self.ev_due = due
        return seq

    cdef int _fire_timers(self, time_t t) except -1 nogil:
        """§12: every timer due at or before t, in (due, seq) order; stale ones do nothing."""
        cdef Timer e
        cdef MobileNode* mn
        cdef addr_t x, nxt
        cdef mn_t owner
        cdef node_t anchor
        while heap_due(&self.timers, t):
            e = heap_pop(&self.timers)
            if e.kind == TIMER_EXPIRE:
                if self.addrs[e.target].expiry == e.seq:  # still bound, not closed since
                    self._close(e.target, e.due)
                    self._event(EVENT_BINDING_EXPIRED, e.due, self.addrs[e.target].owner, -1,
                                self.addrs[e.target].anchor)
            elif e.kind == TIMER_CORRESPONDENT:  # §15 trigger 4: the BU reached the peer
                if self.pairs[e.target].pending == e.seq:
                    self.pairs[e.target].bound_poa = self.pairs[e.target].pending_poa
                    self.pairs[e.target].pending = 0
                    self.pairs[e.target].pending_poa = -1
                    self.mns[self.pairs[e.target].mn].epoch += 1  # its flows' paths change
            elif e.kind == TIMER_LOCALIZED:  # §18 trigger 4: the routing is in place
                if self.local_pairs[e.target].pending == e.seq:
                    self.local_pairs[e.target].case_ = self.local_pairs[e.target].pending_case
                    self.local_pairs[e.target].pending = 0
                    self.local_pairs[e.target].pending_case = -1
                    self.mns[self.local_pairs[e.target].low].epoch += 1  # the pair's paths
                    self.mns[self.local_pairs[e.target].high].epoch += 1
            elif e.kind == TIMER_GRACE:  # §7.2: its next packets look at their addresses
                self.mns[e.target].epoch += 1
            elif e.kind == TIMER_DEPRECATED:  # §5.5: a deprecated address's lifetime ends
                x = e.target
                if self.addrs[x].live and self.addrs[x].deprecated == e.seq:
                    owner = self.addrs[x].owner
                    anchor = self.addrs[x].anchor
                    if self.addrs[x].bound:
                        self._close(x, e.due)
                    self._retire(owner, x, self.mns[owner].poa, -1, e.due, 0, NULL, False)
                    self._event(EVENT_ADDRESS_RELEASED, e.due, owner, -1, anchor)
            else:
                mn = &self.mns[e.target]
                if mn.release == e.seq:  # still detached since
                    mn.release = 0
                    x = mn.head
                    while x >= 0:
                        nxt = self.addrs[x].next
                        if self.addrs[x].bound:
                            self._close(x, e.due)
                        self._event(EVENT_ADDRESS_RELEASED, e.due, e.target, -1,
                                    self.addrs[x].anchor)
                        self._leave(e.target, x)
                        x = nxt
        return 0

    cdef int _own_row(self, mn_t m, node_t p, row_t r, time_t t) except -1 nogil:
        """§16: a mobility row of MN ``m`` moves it, unless it rides behind a router."""
        self.places[m].own = p
        if self.mobile_networks and self.places[m].router >= 0:
            return 0  # its row stays a no-op: it moves with its router
        if self._move(m, p, r, t, False):
            self._follow(m, t)
        return 0

    cdef int _network(self, mn_t m, mn_t router, row_t r, time_t t) except -1 nogil:
        """§16: networks row ``r``: from ``t``, MN ``m`` rides behind ``router`` (-1: on its
        own)."""
        cdef MobileNode* mn = &self.mns[m]
        cdef NetworkPlace* place = &self.places[m]
        cdef node_t target
        if not self.mobile_networks or router == place.router:
            return 0
        self._unlink_rider(m)
        place.router = router
        place.pending_row = -1
        if router >= 0:
            self._link_rider(m, router)
        if router >= 0 and self.mns[router].poa < 0:
            # Behind a detached router: unreachable, and its move waits for the router to
            # attach (its bindings stay as they are meanwhile).
            mn.poa = -1
            mn.window_row = -1
            place.pending_row = r
            mn.epoch += 1
            self._follow(m, t)
            return 0
        target = self.mns[router].poa if router >= 0 else place.own
        if self._move(m, target, r, t, True):
            if router >= 0:
                self._ride(m, router)
            self._follow(m, t)
        return 0

    cdef void _link_rider(self, mn_t m, mn_t router) noexcept nogil:
        """Put ``m`` into the rider list of ``router``, in ascending MN order."""
        cdef mn_t* at = &self.places[router].first_rider
        while at[0] >= 0 and at[0] < m:
            at = &self.places[at[0]].next_rider
        self.places[m].next_rider = at[0]
        at[0] = m

    cdef void _unlink_rider(self, mn_t m) noexcept nogil:
        """Take ``m`` out of the rider list of its router, if it has one."""
        cdef mn_t* at
        if self.places[m].router < 0:
            return
        at = &self.places[self.places[m].router].first_rider
        while at[0] != m:
            at = &self.places[at[0]].next_rider
        at[0] = self.places[m].next_rider
        self.places[m].next_rider = -1

    cdef void _ride(self, mn_t m, mn_t router) noexcept nogil:
        """§16: an MN behind an attached router waits for the router's own interruption."""
        cdef MobileNode* mn = &self.mns[m]
        cdef time_t until = self.mns[router].until
        if until > mn.ready:
            mn.ready = until
            if until > mn.until:
                mn.until = until

    cdef int _follow(self, mn_t router, time_t t) except -1 nogil:
        """§16: the MNs riding behind ``router`` (ascending ids) are where it is now."""
        cdef mn_t m
        cdef MobileNode* mn
        cdef node_t p = self.mns[router].poa
        cdef row_t row
        if not self.mobile_networks:
            return 0
        m = self.places[router].first_rider
        while m >= 0:
            mn = &self.mns[m]
            if self.places[m].pending_row >= 0 and p >= 0:  # its move can happen now
                row = self.places[m].pending_row
                self.places[m].pending_row = -1
                self._move(m, p, row, t, True)
                self._ride(m, router)
            elif p < 0:
                mn.poa = -1
                mn.window_row = -1
                mn.epoch += 1
            else:
                if mn.poa >= 0:  # the network handed over: its flows did
                    mn.moves += 1
                mn.poa = p
                mn.window_row = self.mns[router].window_row
                mn.epoch += 1
                self._ride(m, router)
            self._follow(m, t)
            m = self.places[m].next_rider
        return 0

    cdef int _move(self, mn_t m, node_t p, row_t r, time_t t, bint forced) except -1 nogil:
        """§5: MN ``m`` moves to PoA ``p`` (-1 = detach) at ``t``; row ``r``; ``forced``
        (§16): its care-of address changes even where its PoA does not. 0 if nothing moved
        (§5.1)."""
        cdef MobileNode* mn = &self.mns[m]
        cdef node_t old = mn.poa
        cdef addr_t x, nxt
        cdef int8_t kind
        cdef int cause, cause_out
        cdef time_t pre, n_refreshed
        cdef time_t out[4]  # signaling, hold, messages, bytes of the program
        cdef time_t released[4]  # the same of the de-registration of released bindings
        cdef addr_t active
        cdef count_t n_signalled, n_released, released_msgs = 0, released_bytes = 0
        if p == old and not (forced and p >= 0):  # 1
            self.ho_kind[r] = HO_NOOP
            return 0
        mn.release = 0  # §12: a pending release no longer applies
        mn.epoch += 1
        cdef int64_t j
        cdef Correspondent* pair
        for j in range(self.mn_first[m], self.mn_first[m + 1]):  # §15 trigger 1
            if self.pairs[self.mn_pairs[j]].active > 0:
                self._rr_refreshes(self.mn_pairs[j], t)
                if p < 0:  # no return routability while detached
                    pair = &self.pairs[self.mn_pairs[j]]
                    pair.rr_t = INT64_MIN
                    pair.pending = 0
                    pair.pending_poa = -1
        if p < 0:  # §18 trigger 1: the MAG forgets the routing of a detached MN
            for j in range(self.local_first[m], self.local_first[m + 1]):
                if self.local_pairs[self.local_of[j]].active > 0:
                    self._drop_local(self.local_of[j])
        if p < 0:  # 2, 3: detach
            # The de-registration runs over the bindings it ends (none when they outlive the
            # detach: SIGNAL_ONE of no address), then they close.
            self._run_program(CAUSE_DEREGISTRATION, m, old, old,
                              SIGNAL_ONE if self.outlives_detach else SIGNAL_BOUND, -1, t, 0, 1,
                              out, False)
            x = mn.head
            while x >= 0:
                if self.addrs[x].bound:
                    if not self.outlives_detach:
                        self._close(x, t)
                    elif self.refresh_ns[self.addrs[x].reg_poa] > 0:  # §12: its last period
                        n_refreshed = 0
                        if t > self.addrs[x].reg_t:
                            n_refreshed = ((t - self.addrs[x].reg_t - 1)
                                           // self.refresh_ns[self.addrs[x].reg_poa])
                        self.addrs[x].expiry = self._schedule(
                            self.addrs[x].reg_t + (n_refreshed + 1)
                            * self.refresh_ns[self.addrs[x].reg_poa],
                            TIMER_EXPIRE, x)
                x = self.addrs[x].next
            self.ho_kind[r] = HO_DETACH
            self.ho_from[r] = old
            self.ho_signaling_ns[r] = out[0]
            self.ho_msgs[r] = out[2]
            self.ho_bytes[r] = out[3]
            if self.release_ns >= 0:
                mn.release = self._schedule(t + self.release_ns, TIMER_RELEASE, m)
            mn.poa = -1
            mn.window_row = -1
            return 1
        x = mn.head  # 2
        while x >= 0:
            self.addrs[x].was_bound = self.addrs[x].bound
            if self.addrs[x].bound:
                self._close(x, t)
            x = self.addrs[x].next
        if old < 0:  # 4
            kind = HO_ATTACH
            cause = CAUSE_ATTACH
            pre = self.pre_attach_ns
        else:
            kind = HO_HANDOVER
            cause = CAUSE_HANDOVER
            pre = self.pre_handover_ns
            mn.moves += 1
        x = mn.head  # 5: after a detach too; the network releases what the move took away,
        while x >= 0:  # or deprecates it for its lifetime
            nxt = self.addrs[x].next
            if not self.scope[self.addrs[x].anchor, p] and not self.addrs[x].deprecated:
                cause_out = CAUSE_RELEASE
                if self.deprecated_ns >= 0:
                    cause_out = CAUSE_DEPRECATION
                    self.addrs[x].deprecated = self._schedule(t + self.deprecated_ns,
                                                              TIMER_DEPRECATED, x)
                if self.leg_count[cause_out]:
                    self._run_program(cause_out, m, p, old, SIGNAL_ONE, x, t, pre, 1,
                                      released, False)
                    released_msgs += released[2]
                    released_bytes += released[3]
                if cause_out == CAUSE_RELEASE:
                    self._leave(m, x)
            x = nxt
        if kind == HO_ATTACH or self.new_sessions_only:  # 6 (a live session stays: §5.6)
            self._select_home(m, p)
        if self.always_registered and mn.home >= 0 and self._find(m, mn.home) < 0:  # 7
            self._append(m, mn.home)
        # 8, and in the same pass 9's start: every address that stays waits for the
        # components; count the addresses each program will run over.
        n_signalled = n_released = 0
        x = mn.head
        while x >= 0:
            nxt = self.addrs[x].next
            if not self._pinned(m, x) and not self.addrs[x].deprecated:
                self._leave(m, x)
            elif not self._pinned(m, x):  # a deprecated address nothing pins: released
                self._retire(m, x, p, old, t, pre, released, True)
                released_msgs += released[2]
                released_bytes += released[3]
            else:
                self.addrs[x].until = t + pre
                self.addrs[x].hold = 0
                if self._selected(SIGNAL_NEEDS_BINDING, x, -1, p):
                    n_signalled += 1
                elif self._selected(SIGNAL_RELEASED, x, -1, p):
                    n_released += 1
            x = nxt
        # 9: the program runs over the addresses that need a binding, extending their own
        # wait; addresses whose binding this move ends (native here now) are de-registered.
        self._run_program(cause, m, p, old, SIGNAL_NEEDS_BINDING, -1, t, pre, 1, out, True,
                          n_signalled)
        released[0] = released[1] = released[2] = released[3] = 0
        if n_released:  # a de-registration of no binding sends nothing
            self._run_program(CAUSE_DEREGISTRATION, m, p, old, SIGNAL_RELEASED, -1, t, pre, 1,
                              released, True, n_released)
        if released[0] > out[0]:
            out[0] = released[0]
            out[1] = released[1]
        out[2] += released[2] + released_msgs
        out[3] += released[3] + released_bytes
        if kind == HO_HANDOVER and self.relocation:  # 9a
            self._relocate(m, p, old, t, pre, released)
            out[2] += released[2]
            out[3] += released[3]
        mn.ready = t + pre  # 10
        mn.until = mn.ready
        active = -1  # the address with active flows that waits longest (first on ties)
        x = mn.head
        while x >= 0:
            if self._needs_binding(self.addrs[x].anchor, p):
                self._register(x, p, t)
            if self.addrs[x].until > mn.until:
                mn.until = self.addrs[x].until
            if self.addrs[x].refcount > 0 and (
                    active < 0 or self.addrs[x].until > self.addrs[active].until):
                active = x
            x = self.addrs[x].next
        if active >= 0:  # the row: the longest wait of an address with active flows
            out[0] = self.addrs[active].until - mn.ready
            out[1] = self.addrs[active].hold
        mn.window_row = r
        mn.poa = p
        self.ho_kind[r] = kind
        self.ho_from[r] = old
        self.ho_to[r] = p
        self.ho_interruption_ns[r] = pre + out[0]
        self.ho_signaling_ns[r] = out[0]
        self.ho_hold_ns[r] = out[1]
        self.ho_msgs[r] = out[2]
        self.ho_bytes[r] = out[3]
        self.ho_addresses[r] = n_signalled
        for j in range(self.mn_first[m], self.mn_first[m + 1]):  # §15 trigger 1
            pair = &self.pairs[self.mn_pairs[j]]
            if pair.active == 0:
                continue
            x = pair.addr
            if not self.addrs[x].live or not self._needs_binding(self.addrs[x].anchor, p):
                pair.bound_poa = -1
                continue
            self._rr(self.mn_pairs[j], t, self.addrs[x].until, out)
            self.ho_msgs[r] += out[2]
            self.ho_bytes[r] += out[3]
        for j in range(self.local_first[m], self.local_first[m + 1]):  # §18 trigger 1
            if self.local_pairs[self.local_of[j]].active > 0 and self._relocalize(
                    self.local_of[j], m, t, out):
                self.ho_msgs[r] += out[2]
                self.ho_bytes[r] += out[3]
        return 1

    # ------------------------------------------------------------------ localized routing (§18)

    cdef inline mn_t _other_end(self, int32_t k, mn_t m) noexcept nogil:
        return self.local_pairs[k].high if self.local_pairs[k].low == m else (
            self.local_pairs[k].low)

    cdef inline int _local_case(self, mn_t m, mn_t n) noexcept nogil:
        """The case of two attached MNs' places, -1 where localized routing does not take it."""
        cdef int case = ((self.mns[m].poa != self.mns[n].poa)
                         | (self.mns[m].home != self.mns[n].home) << 1)
        return case if (self.local_routing >> case) & 1 else -1

    cdef inline void _drop_local(self, int32_t k) noexcept nogil:
        self.local_pairs[k].case_ = -1
        self.local_pairs[k].pending = 0
        self.local_pairs[k].pending_case = -1

    cdef void _run_local(self, int cause, mn_t m, mn_t n, time_t t, time_t origin, int case,
                         time_t* out) noexcept nogil:
        """A localized-routing program for ``m`` at its PoA over its home address, with the
        other MN ``n``'s roles and the conditions testing ``case``."""
        self.run_peer_poa = self.mns[n].poa
        self.run_peer_anchor = self.mns[n].home
        self.run_case = case
        self._run_program(cause, m, self.mns[m].poa, -1, SIGNAL_ONE,
                          self._find(m, self.mns[m].home), t, origin - t, 1, out, False)

    cdef int _set_up(self, int32_t k, mn_t m, time_t t, time_t origin,
                     time_t* out) except -1 nogil:
        """setup(k, m, t, origin): the routing for pair ``k``, sent from ``m``'s side."""
        cdef mn_t n = self._other_end(k, m)
        cdef int case = self._local_case(m, n)
        self._run_local(CAUSE_LOCALIZED, m, n, t, origin, case, out)
        self.local_pairs[k].pending_case = <int8_t> case
        self.local_pairs[k].pending = self._schedule(origin + out[0], TIMER_LOCALIZED, k)
        return 0

    cdef int _local_bind(self, int32_t k, mn_t m, mn_t n, time_t t,
                         time_t* out) except -1 nogil:
        """Trigger 2: a flow of pair ``k`` binds; the first sets the routing up."""
        cdef time_t origin = t
        self.local_pairs[k].active += 1
        if (self.local_pairs[k].case_ >= 0 or self.local_pairs[k].pending != 0
                or self._local_case(m, n) < 0):
            return 0
        if self.mns[m].until > origin:
            origin = self.mns[m].until
        if self.mns[n].until > origin:
            origin = self.mns[n].until
        self._set_up(k, m, t, origin, out)
        return 0

    cdef bint _relocalize(self, int32_t k, mn_t m, time_t t, time_t* out) except -1 nogil:
        """Trigger 1 after ``m`` attached or handed over: set up again, or torn down. 0 if no
        program ran."""
        cdef LocalPair* pair = &self.local_pairs[k]
        cdef int old_case = pair.case_ if pair.case_ >= 0 else pair.pending_case
        cdef mn_t n = self._other_end(k, m)
        cdef time_t origin = self.mns[m].until
        self._drop_local(k)
        if self.mns[n].poa < 0:
            return 0
        if self.mns[n].until > origin:
            origin = self.mns[n].until
        if self._local_case(m, n) >= 0:
            self._set_up(k, m, t, origin, out)
            return 1
        if old_case >= 0:
            self._run_local(CAUSE_LOCALIZED_END, m, n, t, origin, old_case, out)
            return 1
        return 0

    # ------------------------------------------------------------------ correspondents (§15)

    cdef int _rr(self, int32_t k, time_t t, time_t origin, time_t* out) except -1 nogil:
        """rr(k, t, origin): return routability and the BU for pair ``k`` after ``origin``;
        ``out`` gets the program's signaling_ns, hold, messages and bytes."""
        cdef Correspondent* pair = &self.pairs[k]
        cdef mn_t m = pair.mn
        self.run_peer = pair.peer
        self.run_token_fresh = (pair.token_t != INT64_MIN
                                and origin - pair.token_t < self.token_lifetime_ns)
        self.run_token_sent = False
        self._run_program(CAUSE_CORRESPONDENT, m, self.mns[m].poa, -1, SIGNAL_ONE, pair.addr,
                          t, origin - t, 1, out, False)
        pair = &self.pairs[k]
        if self.run_token_sent:
            pair.token_t = origin
        pair.rr_t = origin
        pair.pending_poa = self.mns[m].poa
        pair.pending = self._schedule(origin + out[0], TIMER_CORRESPONDENT, k)
        return 0

    cdef void _rr_refreshes(self, int32_t k, time_t t) noexcept nogil:
        """refreshes(k, t): the full return routabilities every R since rr_t, before t."""
        cdef Correspondent* pair = &self.pairs[k]
        cdef count_t n, i
        if pair.rr_t == INT64_MIN or t <= pair.rr_t:
            return
        n = (t - pair.rr_t - 1) // self.rr_refresh_ns
        self.run_peer = pair.peer
        self.run_token_fresh = False
        for i in range(1, n + 1):
            self._run_program(CAUSE_CORRESPONDENT, pair.mn, self.mns[pair.mn].poa, -1,
                              SIGNAL_ONE, pair.addr, pair.rr_t + i * self.rr_refresh_ns, 0, 1,
                              NULL, False)
        pair.rr_t += n * self.rr_refresh_ns
        if n > 0:
            pair.token_t = pair.rr_t

    cdef void _let_go(self, flow_t f, time_t t) noexcept nogil:
        """§15 and §18 trigger 3: a flow with a pair lets go of its address."""
        cdef int32_t k = self.flow_local[f]
        cdef Correspondent* pair
        if k >= 0:
            self.local_pairs[k].active -= 1
            if self.local_pairs[k].active == 0:
                self._drop_local(k)
        k = self.paths_of[f].pair
        if k < 0:
            return
        pair = &self.pairs[k]
        pair.active -= 1
        if pair.active == 0:
            self._rr_refreshes(k, t)
            pair.bound_poa = -1
            pair.pending = 0
            pair.pending_poa = -1
            pair.rr_t = INT64_MIN

    cdef void _select_home(self, mn_t m, node_t p) noexcept nogil:
        """§5.6: the MN's home anchor at an attach (and, choosing for new sessions only, at
        a handover that released the home address), by the selection policy."""
        cdef MobileNode* mn = &self.mns[m]
        cdef Py_ssize_t i, k = self.candidates.shape[0]
        cdef node_t best
        if self.new_sessions_only and mn.home >= 0 and self._find(m, mn.home) >= 0:
            return  # the session at its anchor lives on: no new choice (RFC 6463)
        if self.select == SELECT_AT_ATTACH or (self.select == SELECT_AT_BOOTSTRAP
                                               and mn.home < 0):
            mn.home = self.serving[p]
        elif self.select == SELECT_HASHED and mn.home < 0:
            mn.home = self.candidates[m % k]
        elif self.select == SELECT_LEAST_LOADED:
            best = self.candidates[0]
            for i in range(1, k):  # ascending ids: the lowest wins ties
                if self.bindings[self.candidates[i]] < self.bindings[best]:
                    best = self.candidates[i]
            mn.home = best

    cdef node_t _relocation_target(self, node_t a, node_t p) noexcept nogil:
        """§5 step 9a: where the home address anchored at ``a`` should go, the MN at PoA
        ``p``; -1 for nowhere."""
        cdef Py_ssize_t i
        cdef node_t b = -1, c
        if self.relocation_trigger == 0:  # RELOCATE_BY_DISTANCE
            b = self.serving[p]
            if path_delay(&self.paths, a, p) - path_delay(&self.paths, b, p) > (
                    self.relocation_gain_ns):
                return b
            return -1
        if self.bindings[a] < self.relocation_load:
            return -1
        for i in range(self.candidates.shape[0]):  # ascending ids: the lowest wins ties
            c = self.candidates[i]
            if c != a and (b < 0 or self.bindings[c] < self.bindings[b]):
                b = c
        if b >= 0 and self.bindings[b] < self.bindings[a]:
            return b
        return -1

    cdef int _relocate(self, mn_t m, node_t p, node_t prev, time_t t, time_t pre,
                       time_t* out) except -1 nogil:
        """§5 step 9a: relocate MN ``m``'s home address if the trigger says so; ``out``
        gets the relocation program's figures (zeros if none ran)."""
        cdef MobileNode* mn = &self.mns[m]
        cdef addr_t x, y
        cdef node_t a, b
        cdef int64_t j
        cdef flow_t f
        cdef bint held = False
        out[0] = out[1] = out[2] = out[3] = 0
        if mn.home < 0:
            return 0
        x = self._find(m, mn.home)
        if x < 0:
            return 0
        a = self.addrs[x].anchor
        b = self._relocation_target(a, p)
        if b < 0 or b == a:
            return 0
        if self.relocation == 2:  # RELOCATION_RENEW: deferred while a flow would break
            for j in range(self.mn_flow_first[m], self.mn_flow_first[m + 1]):
                f = self.mn_flows[j]
                if (self.flows[f].binding == FLOW_BOUND and self.flows[f].addr == x
                        and self.classes[self.flows[f].cls, CLASS_ON_LOSS] == ON_LOSS_BREAK):
                    if not held:
                        self._event(EVENT_RELOCATION_DEFERRED, t, m, -1, b)
                        held = True
                    if not self.flow_spared[f]:
                        self.flow_spared[f] = 1
                        self._event(EVENT_FLOW_SPARED, t, m, f, b)
            if held:
                return 0
            y = self._append(m, b)
            self.addrs[y].from_anchor = a
            self.addrs[y].until = t + pre
            self._run_program(CAUSE_RELOCATION, m, p, prev, SIGNAL_ONE, y, t,
                              self.addrs[x].until - t, 1, out, True)
            self.addrs[x].retired_t = self.addrs[y].until
            self._leave(m, x)
        else:
            self.addrs[x].from_anchor = a
            self.addrs[x].anchor = b
            self._run_program(CAUSE_RELOCATION, m, p, prev, SIGNAL_ONE, x, t,
                              self.addrs[x].until - t, 1, out, True)
        mn.home = b
        self._event(EVENT_ANCHOR_RELOCATED, t, m, -1, b)
        return 0

    cdef void _event(self, int8_t kind, time_t t, mn_t m, flow_t f, node_t node) noexcept nogil:
        """§14: record an event; a failed allocation is raised after the nogil block."""
        cdef EventRecord* grown
        if self.n_events == self.event_capacity:
            grown = <EventRecord*> realloc(self.events,
                                           2 * self.event_capacity * sizeof(EventRecord))
            if grown == NULL:
                self.event_oom = True
                return
            self.events = grown
            self.event_capacity *= 2
        self.events[self.n_events] = EventRecord(t=t, mn=m, flow=f, node=node, kind=kind)
        self.n_events += 1

    cdef void _flow_start(self, flow_t f) noexcept nogil:
        """§6 start: remember the MN's handovers; the address is bound by the first packet."""
        self.paths_of[f].moves_at_start = self.mns[self.flows[f].mn].moves

    cdef void _flow_end(self, flow_t f, time_t t) noexcept nogil:
        """§6 end: count the flow's handovers and release its address."""
        cdef FlowState* fs = &self.flows[f]
        cdef FlowPath* ft = &self.paths_of[f]
        cdef mn_t m = fs.mn
        cdef addr_t x = fs.addr
        cdef Address* ad
        self.flow_moves[f] = self.mns[m].moves - ft.moves_at_start
        if fs.binding != FLOW_BOUND:
            return
        # No packet of f comes after its end (t <= end, and ends follow packets at equal t).
        fs.addr = -1
        ad = &self.addrs[x]
        if not ad.live and not fs.broken and (
                self.classes[fs.cls, CLASS_ON_LOSS] == ON_LOSS_BREAK):
            fs.broken = 1
            self._event(EVENT_FLOW_BROKEN, t, m, f, ad.anchor)
        self._let_go(f, t)
        self._drop(m, x, t)

    cdef void _drop(self, mn_t m, addr_t x, time_t t) noexcept nogil:
        """§6: a flow lets go of address x; x goes when nothing pins it any more."""
        cdef Address* ad = &self.addrs[x]
        ad.refcount -= 1
        if ad.refcount > 0:
            return
        if not ad.live:
            self._release(x)
        elif not self._pinned(m, x):
            if ad.bound:
                self._close(x, t)
            if ad.deprecated:
                self._retire(m, x, self.mns[m].poa, -1, t, 0, NULL, True)
            else:
                self._leave(m, x)

    cdef void _close_all(self, time_t t) noexcept nogil:
        """§8: close every bound live address, MN by MN, in list order."""
        cdef mn_t m
        cdef addr_t x
        for m in range(self.n_mns):
            x = self.mns[m].head
            while x >= 0:
                if self.addrs[x].bound:
                    self._close(x, t)
                x = self.addrs[x].next

    # ------------------------------------------------------------------ addresses (§3, §4)

    cdef addr_t _append(self, mn_t m, node_t anchor) except -1 nogil:
        """A new live, unbound address at ``anchor`` at the end of MN ``m``'s list."""
        cdef addr_t x
        cdef Address* grown
        cdef size_t capacity
        cdef MobileNode* mn = &self.mns[m]
        if self.free_head >= 0:
            x = self.free_head
            self.free_head = self.addrs[x].next
        else:
            if self.addr_used == self.addr_capacity:
                if self.addr_capacity >= 0x3FFFFFFF:
                    with gil:
                        raise MemoryError("address pool is full")
                capacity = 2 * <size_t> self.addr_capacity
                grown = <Address*> realloc(self.addrs, capacity * sizeof(Address))
                if grown == NULL:
                    with gil:
                        raise MemoryError("cannot grow the address pool")
                self.addrs = grown
                self.addr_capacity = <addr_t> capacity
            x = self.addr_used
            self.addr_used += 1
        self.anchor_addresses[anchor] += 1
        self.addrs[x] = Address(
            anchor=anchor, prev=mn.tail, next=-1, refcount=0, bound=0, live=1,
            reg_poa=-1, reg_t=0, was_bound=0, expiry=0, owner=m, until=INT64_MIN,
            hold=0, pair_refs=0, first_bound_t=INT64_MIN, deprecated=0, retired_t=INT64_MIN,
            from_anchor=-1,
        )
        if mn.tail >= 0:
            self.addrs[mn.tail].next = x
        else:
            mn.head = x
        mn.tail = x
        return x

    cdef inline bint _grace_over(self, FlowState* fs, MobileNode* mn, node_t p,
                                 time_t t) noexcept nogil:
        """§7.2: the grace period of bound flow ``fs``'s class on its live address is over,
        and its class would bind elsewhere now."""
        cdef Address* ad = &self.addrs[fs.addr]
        return (self.grace[fs.cls] >= 0 and ad.live and ad.first_bound_t != INT64_MIN
                and t - ad.first_bound_t >= self.grace[fs.cls]
                and self._class_anchor(fs.cls, mn, p) != ad.anchor)

    cdef inline node_t _class_anchor(self, uint8_t cls, MobileNode* mn, node_t p) noexcept nogil:
        """§7.3: the anchor a flow of class ``cls`` binds at, its MN at p (not a local class)."""
        if self.classes[cls, CLASS_ANCHOR] == ANCHOR_OFFLOAD and self.offload[cls, p] >= 0:
            return self.offload[cls, p]
        if self.select == SELECT_CENTRAL:
            return self.central
        if self.select == SELECT_PER_FLOW:
            return self.serving[p]
        return mn.home  # chosen for the MN at attach

    cdef addr_t _find(self, mn_t m, node_t anchor) noexcept nogil:
        """MN ``m``'s live address at ``anchor`` that is not deprecated (§5.5), -1 if none
        (there is at most one)."""
        cdef addr_t x = self.mns[m].head
        while x >= 0:
            if self.addrs[x].anchor == anchor and not self.addrs[x].deprecated:
                return x
            x = self.addrs[x].next
        return -1

    cdef void _leave(self, mn_t m, addr_t x) noexcept nogil:
        """Address ``x`` leaves MN ``m``'s list (dies); its slot is freed once no flow uses it."""
        cdef MobileNode* mn = &self.mns[m]
        cdef Address* ad = &self.addrs[x]
        if ad.prev >= 0:
            self.addrs[ad.prev].next = ad.next
        else:
            mn.head = ad.next
        if ad.next >= 0:
            self.addrs[ad.next].prev = ad.prev
        else:
            mn.tail = ad.prev
        ad.live = 0
        ad.prev = -1
        ad.next = -1
        self._release(x)

    cdef void _release(self, addr_t x) noexcept nogil:
        """Put the slot of a dead address on the free list, unless a flow or a
        correspondent binding still refers to it."""
        cdef Address* ad = &self.addrs[x]
        if ad.live or ad.refcount > 0 or ad.pair_refs > 0:
            return
        ad.next = self.free_head
        self.free_head = x

    cdef bint _pinned(self, mn_t m, addr_t x) noexcept nogil:
        """§3: flows use it, or it is the registered home address (not deprecated)."""
        return self.addrs[x].refcount > 0 or (
            self.always_registered and self.addrs[x].anchor == self.mns[m].home
            and not self.addrs[x].deprecated)

    cdef void _retire(self, mn_t m, addr_t x, node_t poa, node_t prev, time_t t, time_t pre,
                      time_t* out, bint early) noexcept nogil:
        """§5.5: deprecated address ``x`` (unbound by now) dies: the retirement program runs
        for it at ``poa`` when it goes ``early`` (before its lifetime's end) and the practice
        has one, the release program otherwise (none while the MN is detached; ``out`` gets
        its figures, zeros if none ran), and it leaves the list; its MN's flows look at their
        addresses again."""
        cdef int cause = CAUSE_RELEASE
        if early and self.leg_count[CAUSE_RETIREMENT]:
            cause = CAUSE_RETIREMENT
        if out != NULL:
            out[0] = out[1] = out[2] = out[3] = 0
        if poa >= 0 and self.leg_count[cause]:
            self._run_program(cause, m, poa, prev, SIGNAL_ONE, x, t, pre, 1, out, False)
        self._leave(m, x)
        self.addrs[x].retired_t = t
        self.mns[m].epoch += 1

    cdef bint _needs_binding(self, node_t anchor, node_t p) noexcept nogil:
        """§3: an address needs no binding at its own anchor's PoA when that is native."""
        return not self.native[anchor, p]

    cdef int _register(self, addr_t x, node_t p, time_t t) except -1 nogil:
        """§4 register: the anchor now holds a binding for ``x`` (its program has run)."""
        cdef Address* ad = &self.addrs[x]
        cdef node_t a = ad.anchor
        cdef Py_ssize_t j
        if ad.first_bound_t == INT64_MIN:  # §7.2: its first binding starts the grace periods
            ad.first_bound_t = t
            for j in range(self.grace_ends.shape[0]):  # its flows' paths change at each end
                if self.grace_ends[j] <= self.t_end - t:
                    self._schedule(t + self.grace_ends[j], TIMER_GRACE, ad.owner)
        self._bin_binding_time(a, t)
        ad.bound = 1
        ad.reg_t = t
        ad.reg_poa = p
        ad.expiry = 0
        self.bindings[a] += 1
        if self.bindings[a] > self.anchor_peak_bindings[a]:
            self.anchor_peak_bindings[a] = self.bindings[a]

    cdef void _close(self, addr_t x, time_t t) noexcept nogil:
        """§4 close: count the lazy refreshes, then release the binding."""
        cdef Address* ad = &self.addrs[x]
        cdef node_t a = ad.anchor
        cdef time_t held = t - ad.reg_t
        cdef count_t refreshes = 0
        cdef time_t period = self.refresh_ns[ad.reg_poa]  # where it registered (§4)
        if period > 0 and held > 0:
            refreshes = (held - 1) // period
        if refreshes > 0:
            # The refresh program at reg_poa, over x alone.
            self._run_program(CAUSE_REFRESH, ad.owner, ad.reg_poa, -1, SIGNAL_ONE, x, ad.reg_t,
                              0, refreshes, NULL, False)
        self._bin_binding_time(a, t)
        self.anchor_binding_ns[a] += held
        self.bindings[a] -= 1
        ad.bound = 0
        ad.expiry = 0

    cdef inline bint _selected(self, int select, addr_t x, addr_t one, node_t poa) noexcept nogil:
        if select == SIGNAL_ONE:
            return x == one
        if select == SIGNAL_BOUND:
            return self.addrs[x].bound
        if select == SIGNAL_RELEASED:
            return self.addrs[x].was_bound and not self._needs_binding(self.addrs[x].anchor, poa)
        return self._needs_binding(self.addrs[x].anchor, poa)

    cdef inline node_t _role_node(self, int64_t role, addr_t x, node_t poa, node_t prev,
                                  int64_t level) noexcept nogil:
        """The node a role names (§4); -1 for the MN itself."""
        if role == ROLE_MN:
            return -1
        if role == ROLE_POA:
            return poa
        if role == ROLE_PREV_POA:
            return prev
        if role == ROLE_ANCHOR:
            return self.addrs[x].anchor
        if role == ROLE_SERVING:
            return self.serving[poa]
        if role == ROLE_LEVEL:
            return self.chain_nodes[level - 1, poa]
        if role == ROLE_PREV_LEVEL:
            return self.chain_nodes[level - 1, prev]
        if role == ROLE_PEER:
            return self.run_peer
        if role == ROLE_PEER_POA:
            return self.run_peer_poa
        if role == ROLE_PEER_ANCHOR:
            return self.run_peer_anchor
        if role == ROLE_PREV_ANCHOR:
            return self.addrs[x].from_anchor
        return self.third

    cdef time_t _leg(self, int cause, Py_ssize_t i, addr_t x, node_t poa, node_t prev,
                     count_t k, time_t t, bin_t b, count_t times) noexcept nogil:
        """Count ``times`` messages of leg row ``i`` (for address ``x``, -1 for a leg run once)
        among ``k`` addresses, triggered at ``t`` (timeline bin ``b``); returns its one-way
        delay (through its relay, if it has one)."""
        cdef int64_t level = self.legs[i, LEG_LEVEL], via_role = self.legs[i, LEG_VIA]
        cdef node_t src = self._role_node(self.legs[i, LEG_SRC], x, poa, prev, level)
        cdef node_t dst = self._role_node(self.legs[i, LEG_DST], x, poa, prev, level)
        cdef node_t via = -1
        cdef node_t u = poa if src < 0 else src, v = poa if dst < 0 else dst
        cdef count_t size = self.legs[i, LEG_BYTES] + self.legs[i, LEG_BYTES_PER_ADDRESS] * k
        cdef count_t extra = self.legs[i, LEG_VIA_BYTES]
        cdef count_t hops, near, far, byte_hops
        cdef time_t delay
        cdef int64_t kind = self.legs[i, LEG_KIND]
        cdef node_t node
        cdef int end
        if via_role < 0:
            hops = path_hops(&self.paths, u, v) + (src < 0) + (dst < 0)
            byte_hops = size * hops
            delay = path_delay(&self.paths, u, v)
        else:  # two parts; the relay's tunnel on the MN's side (the first if neither is)
            via = self._role_node(via_role, x, poa, prev, level)
            near = path_hops(&self.paths, u, via) + (src < 0)
            far = path_hops(&self.paths, via, v) + (dst < 0)
            hops = near + far
            if dst < 0:
                byte_hops = size * near + (size + extra) * far
            else:
                byte_hops = (size + extra) * near + size * far
            delay = path_delay(&self.paths, u, via) + path_delay(&self.paths, via, v)
        if self.legs[i, LEG_WHEN] == WHEN_TOKEN_STALE:
            self.run_token_sent = True
        self.sig_msgs[cause, kind] += times
        self.sig_bytes[cause, kind] += times * size
        self.sig_byte_hops[cause, kind] += times * byte_hops
        for end in range(3):
            if end == 2 and via_role < 0:
                break
            node = src if end == 0 else (dst if end == 1 else via)
            # Each end (and the relay) handles it in its role; the MNs share the last column.
            self.role_sig_msgs[self.legs[i, LEG_SRC] if end == 0 else (
                self.legs[i, LEG_DST] if end == 1 else via_role),
                self.n_nodes if node < 0 else node] += times
            if node < 0:
                continue
            self.anchor_sig_msgs[node] += times
            self.anchor_sig_bytes[node] += times * size
            if cause == CAUSE_REFRESH:
                self._bin_refreshes(node, t, times, self.refresh_ns[poa])
            else:
                self.timeline_sig_msgs[b, node] += times
        return delay

    cdef inline bint _anchor_ok(self, Py_ssize_t row, addr_t x, node_t poa,
                                node_t prev) noexcept nogil:
        """§4: a per-address leg with a condition on the address's anchor (RFC 6463: the
        contacted LMA, the third node, answers itself or redirects; a gateway collocated
        with the level's node, the SGW, has no S5 to it: the level's node at the PoA left
        for a leg naming the previous level)."""
        cdef int64_t when = self.legs[row, LEG_WHEN]
        cdef int64_t registration = self.legs[row, LEG_FLAGS] & (FLAG_REGISTERED
                                                                 | FLAG_UNREGISTERED)
        cdef node_t at = poa
        if registration and (self.addrs[x].first_bound_t == INT64_MIN) == (
                registration == FLAG_REGISTERED):
            return False
        if when == WHEN_ANCHOR_IS_THIRD:
            return self.addrs[x].anchor == self.third
        if when == WHEN_ANCHOR_NOT_THIRD:
            return self.addrs[x].anchor != self.third
        if WHEN_ANCHOR_IS_LEVEL <= when <= WHEN_LEVEL_CHANGED_ABOVE:  # else: above it
            if (self.legs[row, LEG_SRC] == ROLE_PREV_LEVEL
                    or self.legs[row, LEG_DST] == ROLE_PREV_LEVEL):
                at = prev  # >= 0: a leg naming the previous level is sent only with one
            return (self.addrs[x].anchor == self.chain_nodes[self.legs[row, LEG_LEVEL] - 1, at]
                    ) == (when == WHEN_ANCHOR_IS_LEVEL)
        return True

    cdef bint _sent_for_some(self, Py_ssize_t row, mn_t m, int select, addr_t one,
                             node_t poa, node_t prev) noexcept nogil:
        """A per-address leg whose anchor condition holds for one address at least."""
        cdef int64_t when = self.legs[row, LEG_WHEN]
        cdef addr_t x
        if not (WHEN_ANCHOR_IS_THIRD <= when <= WHEN_ANCHOR_NOT_THIRD
                or WHEN_ANCHOR_IS_LEVEL <= when <= WHEN_LEVEL_CHANGED_ABOVE
                or self.legs[row, LEG_FLAGS] & (FLAG_REGISTERED | FLAG_UNREGISTERED)):
            return True
        x = self.mns[m].head if select != SIGNAL_ONE else one
        while x >= 0:
            if self._selected(select, x, one, poa) and self._anchor_ok(row, x, poa, prev):
                return True
            x = -1 if select == SIGNAL_ONE else self.addrs[x].next
        return False

    cdef bint _leg_sent(self, Py_ssize_t row, mn_t m, node_t poa, node_t prev) noexcept nogil:
        """§4: a leg with a chain level is sent only if the level roles it names exist and
        its condition on the level's node holds (no previous PoA counts as a change); a leg
        for routers or hosts only if MN ``m`` is one (§16)."""
        cdef int64_t level = self.legs[row, LEG_LEVEL], when = self.legs[row, LEG_WHEN]
        cdef int64_t src = self.legs[row, LEG_SRC], dst = self.legs[row, LEG_DST]
        cdef node_t here, before = -1
        cdef int64_t at_poa = self.legs[row, LEG_AT_POA]
        cdef int64_t at_prev = self.legs[row, LEG_AT_PREV_POA]
        if at_poa and not (at_poa >> self.poa_class[poa]) & 1:
            return False  # a variant for other access
        if at_prev and (prev < 0 or not (at_prev >> self.poa_class[prev]) & 1):
            return False  # a variant for a move from other access
        if (src == ROLE_PREV_POA or dst == ROLE_PREV_POA) and prev < 0:
            return False  # a release after a detach: no PoA left just now
        if when == WHEN_MN_ROUTER:
            return self.mn_router[m] == 1
        if when == WHEN_MN_HOST:
            return self.mn_router[m] == 0
        if WHEN_SAME_POA_SAME_ANCHOR <= when <= WHEN_OTHER_POA_OTHER_ANCHOR:  # §18
            return when == WHEN_SAME_POA_SAME_ANCHOR + self.run_case
        if level == 0:
            return when != WHEN_TOKEN_STALE or not self.run_token_fresh
        here = self.chain_nodes[level - 1, poa]
        if prev >= 0:
            before = self.chain_nodes[level - 1, prev]
        if (src == ROLE_LEVEL or dst == ROLE_LEVEL or self.legs[row, LEG_VIA] == ROLE_LEVEL) \
                and here < 0:
            return False
        if (src == ROLE_PREV_LEVEL or dst == ROLE_PREV_LEVEL) and before < 0:
            return False
        if when == WHEN_LEVEL_CHANGED or when == WHEN_LEVEL_CHANGED_ABOVE:
            return here != before or here < 0  # no node here: nothing hid the move
        if when == WHEN_LEVEL_KEPT:
            return here == before and here >= 0
        return when != WHEN_TOKEN_STALE or not self.run_token_fresh

    cdef void _run_program(self, int cause, mn_t m, node_t poa, node_t prev, int select,
                           addr_t one, time_t t, time_t pre, count_t times, time_t* out,
                           bint set_until, count_t known_k=-1) noexcept nogil:
        """§4: run the program of ``cause`` for MN ``m`` at ``poa`` over its addresses chosen
        by ``select``, triggered at ``t``, signaling starting at t + ``pre``; ``times`` runs
        at once (refreshes, at t + k * lifetime). ``out`` (or NULL) gets signaling_ns,
        hold_ns, messages and bytes of one run. With ``set_until`` (an attach or handover)
        each address signalled also gets its own end of the interruption: ``until`` = t + the
        latest arrival of an ending leg for it, and its own hold (§5.10)."""
        cdef Py_ssize_t first = self.leg_first[cause], n_legs = self.leg_count[cause]
        cdef Py_ssize_t i, j, run_end, row, ref, gate
        cdef time_t sync[MAX_LEGS_PER_CAUSE]
        cdef time_t arrival[MAX_LEGS_PER_CAUSE]
        cdef uint8_t executed[MAX_LEGS_PER_CAUSE]
        cdef uint8_t sent[MAX_LEGS_PER_CAUSE]
        cdef time_t send, g, done = INT64_MIN, done_once = INT64_MIN, hold_ns = 0
        cdef count_t k = 0, msgs = 0, nbytes = 0
        cdef addr_t x
        cdef bint first_address
        cdef bin_t b = 0 if cause == CAUSE_REFRESH else self._bin(t)  # refreshes bin their own
        if known_k >= 0:  # counted by the caller
            k = known_k
        else:
            x = self.mns[m].head if select != SIGNAL_ONE else one
            while x >= 0:  # k: the addresses the program runs over
                if self._selected(select, x, one, poa):
                    k += 1
                x = -1 if select == SIGNAL_ONE else self.addrs[x].next
        if k == 0 and not self.has_once[cause]:  # nothing runs, nothing is counted
            if out != NULL:
                out[0] = out[1] = out[2] = out[3] = 0
            return
        for i in range(n_legs):
            sent[i] = self._leg_sent(first + i, m, poa, prev)
        i = 0
        while i < n_legs:
            row = first + i
            if not sent[i]:  # not sent: takes no time, counts nothing, ends nothing
                sync[i] = _origin(self.legs[row, LEG_AFTER], pre, sync, first)
                executed[i] = 0
                if self.legs[row, LEG_SCOPE] == ONCE:
                    i += 1
                    continue
            if self.legs[row, LEG_SCOPE] == ONCE:
                send = (_origin(self.legs[row, LEG_AFTER], pre, sync, first)
                        + self.legs[row, LEG_OFFSET_NS])
                gate = self.legs[row, LEG_GATE]
                if gate >= 0 and executed[gate - first]:
                    g = sync[gate - first]
                    if g > send:
                        send = g if g < send + self.legs[row, LEG_GATE_CAP_NS] else (
                            send + self.legs[row, LEG_GATE_CAP_NS])
                sync[i] = send + self._leg(cause, row, -1, poa, prev, k, t, b, times)
                executed[i] = 1
                msgs += 1
                nbytes += self.legs[row, LEG_BYTES] + self.legs[row, LEG_BYTES_PER_ADDRESS] * k
                if self.legs[row, LEG_FLAGS] & FLAG_ENDS:
                    if sync[i] > done:
                        done = sync[i]
                    if sync[i] > done_once:
                        done_once = sync[i]
                i += 1
                continue
            # A run of legs per address [i, run_end): each address goes through it in turn.
            run_end = i
            while run_end < n_legs and self.legs[first + run_end, LEG_SCOPE] == PER_ADDRESS:
                run_end += 1
            for j in range(i, run_end):
                executed[j] = k > 0 and sent[j] and self._sent_for_some(
                    first + j, m, select, one, poa, prev)
            first_address = True
            x = self.mns[m].head if select != SIGNAL_ONE else one
            while x >= 0:
                if self._selected(select, x, one, poa):
                    for j in range(i, run_end):
                        row = first + j
                        ref = self.legs[row, LEG_AFTER]
                        if ref - first >= i:  # a leg of this run: this address's arrival
                            send = arrival[ref - first]
                        else:
                            send = _origin(ref, pre, sync, first)
                        if not sent[j] or not self._anchor_ok(row, x, poa, prev):
                            # not sent (for this address): passes its origin on
                            arrival[j] = send
                            if first_address or arrival[j] > sync[j]:
                                sync[j] = arrival[j]
                            continue
                        send += self.legs[row, LEG_OFFSET_NS]
                        if (self.legs[row, LEG_FLAGS] & FLAG_HOLD
                                and self.addrs[x].first_bound_t == INT64_MIN):
                            send += self.first_ack_hold_ns
                            if self.first_ack_hold_ns > hold_ns:
                                hold_ns = self.first_ack_hold_ns
                            if set_until:
                                self.addrs[x].hold += self.first_ack_hold_ns
                        gate = self.legs[row, LEG_GATE]
                        if gate >= 0 and executed[gate - first]:
                            g = arrival[gate - first] if gate - first >= i else sync[gate - first]
                            if g > send:
                                send = g if g < send + self.legs[row, LEG_GATE_CAP_NS] else (
                                    send + self.legs[row, LEG_GATE_CAP_NS])
                        arrival[j] = send + self._leg(cause, row, x, poa, prev, k, t, b, times)
                        if first_address or arrival[j] > sync[j]:
                            sync[j] = arrival[j]
                        if (set_until and self.legs[row, LEG_FLAGS] & FLAG_ENDS
                                and t + arrival[j] > self.addrs[x].until):
                            self.addrs[x].until = t + arrival[j]
                        msgs += 1
                        nbytes += self.legs[row, LEG_BYTES] + (
                            self.legs[row, LEG_BYTES_PER_ADDRESS] * k)
                    first_address = False
                x = -1 if select == SIGNAL_ONE else self.addrs[x].next
            for j in range(i, run_end):
                row = first + j
                if k == 0:  # a leg that runs for no address takes no time
                    sync[j] = _origin(self.legs[row, LEG_AFTER], pre, sync, first)
                elif executed[j] and self.legs[row, LEG_FLAGS] & FLAG_ENDS and sync[j] > done:
                    done = sync[j]
            i = run_end
        if set_until and done_once != INT64_MIN and k > 0:  # ending legs run once
            x = self.mns[m].head if select != SIGNAL_ONE else one
            while x >= 0:
                if self._selected(select, x, one, poa) and t + done_once > self.addrs[x].until:
                    self.addrs[x].until = t + done_once
                x = -1 if select == SIGNAL_ONE else self.addrs[x].next
        if out != NULL:
            out[0] = 0 if done == INT64_MIN or done < pre else done - pre
            out[1] = hold_ns
            out[2] = msgs
            out[3] = nbytes

    # ------------------------------------------------------------------ timeline (§11)

    cdef inline bin_t _bin(self, time_t t) noexcept nogil:
        """bin(t); t lies in [t_begin, t_end] (checked by timeline_bins for every input)."""
        return <bin_t> ((t - self.t_begin) // self.bin_ns)

    cdef inline bin_t _bin_now(self, time_t t) noexcept nogil:
        """bin(t) for the packet or event being handled: those times never decrease (§2), so
        this divides only when t has left the bin of the previous one."""
        if t >= self.now_bin_end:
            self.now_bin = self._bin(t)
            self.now_bin_end = self.t_begin + (self.now_bin + 1) * self.bin_ns
        return self.now_bin

    cdef void _bin_refreshes(self, node_t a, time_t reg_t, count_t n,
                             time_t life) noexcept nogil:
        """1 message at node ``a`` in the bin of each refresh k = 1..n (at reg_t + k *
        ``life``, the refresh period where the binding registered), one bin per step: every
        refresh before the end of the k-th refresh's bin is counted at once."""
        cdef count_t k = 1, last
        cdef bin_t i
        while k <= n:
            i = self._bin(reg_t + k * life)
            # The last refresh before the end of bin i: reg_t + last * life < t_begin + (i+1) w.
            last = (self.t_begin + (i + 1) * self.bin_ns - 1 - reg_t) // life
            if last > n:
                last = n
            self.timeline_sig_msgs[i, a] += last - k + 1
            k = last + 1

    cdef void _bin_binding_time(self, node_t a, time_t t) noexcept nogil:
        """Spread anchor a's binding time over [held_since[a], t) into its bins; call before
        every change of bindings[a] (constant over that interval; see replay.pxd)."""
        cdef time_t s = self.held_since[a], edge
        cdef bin_t i = self.held_bin[a]
        cdef count_t n_held = self.bindings[a]
        self.held_since[a] = t
        self.held_bin[a] = self._bin_now(t)
        if n_held == 0 or t <= s:
            return
        edge = self.t_begin + (i + 1) * self.bin_ns  # end of bin i
        while edge < t:
            self.timeline_binding_ns[i, a] += n_held * (edge - s)
            s = edge
            edge += self.bin_ns
            i += 1
        self.timeline_binding_ns[i, a] += n_held * (t - s)
