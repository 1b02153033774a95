# Compiled replay core: the C state of a replay, declared once (the readable spec).
#
# The rules are docs/semantics.md; "§n" below refers to its sections. Everything a packet or
# a control event touches is one of these structs or a typed memoryview, so the whole replay
# runs without the GIL and without one Python object per packet or per event.
#
# replay.pyx cimports this file as the declarations module `replay`: setup.py names the
# extension dmmemu._core.replay while its sources live in _core/, so Cython would look for
# the module's own .pxd at dmmemu/_core/replay.pxd and never pairs this file with the .pyx.
# That is why the attributes of the cdef class Replay are declared in replay.pyx, and why
# this file holds only C-level names (enums, structs): nothing here needs a runtime import.

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

from _types cimport (
    addr_t, bin_t, count_t, flow_id_t, flow_t, hops_t, mn_t, node_t, psize_t, row_t, time_t,
)

# Mirrors of the constants of dmmemu.replay_io and dmmemu.policy (checked at import).
cdef enum:
    EV_MOVE = 0
    EV_FLOW_START = 1
    EV_PACKET = 2
    EV_FLOW_END = 3

cdef enum:
    HO_NOOP = 0
    HO_DETACH = 1
    HO_ATTACH = 2
    HO_HANDOVER = 3

cdef enum:
    CAUSE_ATTACH = 0
    CAUSE_HANDOVER = 1
    CAUSE_FLOW = 2
    CAUSE_REFRESH = 3
    CAUSE_DEREGISTRATION = 4
    CAUSE_CORRESPONDENT = 5
    CAUSE_LOCALIZED = 6
    CAUSE_LOCALIZED_END = 7
    CAUSE_RELEASE = 8
    CAUSE_DEPRECATION = 9
    CAUSE_RELOCATION = 10
    CAUSE_RETIREMENT = 11
    N_CAUSES = 12

# Signaling programs (dmmemu.engine.signaling): roles, scopes, origins, flags, columns.
cdef enum:
    ROLE_MN = 0
    ROLE_POA = 1
    ROLE_PREV_POA = 2
    ROLE_ANCHOR = 3
    ROLE_SERVING = 4
    ROLE_THIRD = 5
    ROLE_LEVEL = 6
    ROLE_PREV_LEVEL = 7
    ROLE_PEER = 8
    ROLE_PEER_POA = 9
    ROLE_PEER_ANCHOR = 10
    ROLE_PREV_ANCHOR = 11
    WHEN_ALWAYS = 0
    WHEN_LEVEL_CHANGED = 1
    WHEN_LEVEL_KEPT = 2
    WHEN_TOKEN_STALE = 3
    WHEN_ANCHOR_IS_THIRD = 4
    WHEN_ANCHOR_NOT_THIRD = 5
    WHEN_MN_ROUTER = 6
    WHEN_MN_HOST = 7
    WHEN_SAME_POA_SAME_ANCHOR = 8   # + the pair's case, up to WHEN_OTHER_POA_OTHER_ANCHOR
    WHEN_OTHER_POA_OTHER_ANCHOR = 11
    WHEN_ANCHOR_IS_LEVEL = 12
    WHEN_ANCHOR_NOT_LEVEL = 13
    WHEN_LEVEL_CHANGED_ABOVE = 14

cdef enum:
    ONCE = 0
    PER_ADDRESS = 1
    AT_SIGNALING_START = -1
    AT_MOVE = -2
    FLAG_ENDS = 1
    FLAG_HOLD = 2
    FLAG_REGISTERED = 4
    FLAG_UNREGISTERED = 8
    MAX_LEGS_PER_CAUSE = 48

cdef enum:
    LEG_CAUSE = 0
    LEG_SCOPE = 1
    LEG_KIND = 2
    LEG_SRC = 3
    LEG_DST = 4
    LEG_BYTES = 5
    LEG_BYTES_PER_ADDRESS = 6
    LEG_AFTER = 7
    LEG_OFFSET_NS = 8
    LEG_GATE = 9
    LEG_GATE_CAP_NS = 10
    LEG_FLAGS = 11
    LEG_LEVEL = 12
    LEG_WHEN = 13
    LEG_VIA = 14
    LEG_VIA_BYTES = 15
    LEG_AT_POA = 16
    LEG_AT_PREV_POA = 17
    LEG_COLUMNS = 18

# Which addresses of the MN a program runs over.
cdef enum:
    SIGNAL_NEEDS_BINDING = 0  # live addresses that need a binding at the PoA (moves)
    SIGNAL_BOUND = 1          # bound addresses (a de-registration)
    SIGNAL_ONE = 2            # one given address (a new address, a refresh)
    SIGNAL_RELEASED = 3       # addresses bound before the move that need no binding now

# Event kinds (§14), mirrors of dmmemu.engine.replay_io.EVENT_*.
cdef enum:
    EVENT_BINDING_EXPIRED = 0
    EVENT_ADDRESS_RELEASED = 1
    EVENT_FLOW_BROKEN = 2
    EVENT_FLOW_RENUMBERED = 3
    EVENT_ANCHOR_RELOCATED = 4
    EVENT_RELOCATION_DEFERRED = 5
    EVENT_FLOW_SPARED = 6


cdef struct EventRecord:
    time_t t
    mn_t mn
    flow_t flow             # dense flow, -1 none
    node_t node             # the anchor concerned
    int8_t kind


# Timer kinds (§12).
cdef enum:
    TIMER_EXPIRE = 0   # a binding that outlived a detach reaches the end of its lifetime
    TIMER_RELEASE = 1  # a detached MN's addresses die
    TIMER_CORRESPONDENT = 2  # a correspondent binding's BU reaches the peer (§15)
    TIMER_LOCALIZED = 3  # the last acknowledgement of a localized routing arrives (§18)
    TIMER_GRACE = 4  # a grace period (§7.2) ends: the MN's flows look at their addresses again
    TIMER_DEPRECATED = 5  # a deprecated address reaches the end of its lifetime (§5.5)

cdef enum:
    SELECT_CENTRAL = 1
    SELECT_AT_ATTACH = 2
    SELECT_PER_FLOW = 3
    SELECT_AT_BOOTSTRAP = 4
    SELECT_HASHED = 5
    SELECT_LEAST_LOADED = 6

cdef enum:
    MIN_PACKET_BYTES = 20

# Flow classes (dmmemu.engine.flow_classes): columns of the class table and their codes.
cdef enum:
    CLASS_ANCHOR = 0
    CLASS_ON_LOSS = 1
    CLASS_DIRECT = 2
    CLASS_ROUTE_OPTIMISED = 3
    ANCHOR_POLICY = 0
    ANCHOR_LOCAL = 1
    ANCHOR_OFFLOAD = 2
    ON_LOSS_BREAK = 0
    ON_LOSS_RENUMBER = 1

# How a flow reaches its anchor (§7 step 3): not yet decided, through one address of its
# MN's list, or through the local address of whatever PoA the MN is at.
cdef enum:
    FLOW_UNBOUND = 0
    FLOW_BOUND = 1
    FLOW_LOCAL = 2

# Which row check failed (§7), in the order they are made.
cdef enum:
    ERR_NONE = 0
    ERR_FLOW = 1        # unknown flow id
    ERR_T_ORDER = 2     # t decreases
    ERR_T_SPAN = 3      # t outside [start, end] of the flow
    ERR_DIR = 4         # dir not 0/1
    ERR_SIZE = 5        # size below MIN_PACKET_BYTES

# Lifecycle of a Replay object.
cdef enum:
    STATE_NEW = 0       # __init__ not run yet
    STATE_READY = 1     # accepts feed() and finish()
    STATE_FAILED = 2    # a batch raised; the counters are partial
    STATE_FINISHED = 3  # finish() returned the counters


# The state of a replay (§3), owned by a Replay in three malloc'd tables:
#   * flows: a FlowState (per packet) and a FlowPath (off the fast path) per dense flow, 128
#     bytes in all; what a flow counts goes straight into the RawCounters arrays;
#   * mobile nodes: a MobileNode each, with its live addresses as a doubly linked list;
#   * an address pool that grows with realloc; slots are named by index, never by pointer,
#     because a realloc moves them.
# Invariants:
#   * a live address is in exactly one MN's list, in creation order (appends at the tail);
#   * an address that died (live = 0) is in no list and keeps its slot while flows or
#     correspondent bindings still refer to it (refcount > 0, pair_refs > 0); a dead slot
#     that nothing refers to is on the free list, linked through `next`, and is reused by
#     the next new address;
#   * only live addresses are bound: every path that kills an address closes it first;
#   * a flow whose run_epoch equals its MN's epoch was attached, not broken and bound (or
#     local) when that path was cached; addresses die only at moves of their MN, which bump
#     the epoch, so it still is. A rider's path also depends on its routers (§16): every
#     change of a router's place bumps the epoch of each MN riding below it. The common packet therefore skips §7 steps 1-3 and the path.
#   * per-flow sums over delivered packets are kept as a run (packets and bytes on the cached
#     path, all in timeline bin run_bin) and multiplied out when the path changes, when the
#     flow delivers a packet in a later bin, and at the end; integer arithmetic makes that
#     exactly equal to adding per packet.
#   * timeline binding time (§11) is added per anchor, not per binding: the anchor held
#     bindings[a] bindings all through [held_since[a], now), so at every change of bindings[a]
#     (register, close) that interval times bindings[a] is spread over its bins. Summed, this
#     is each binding's overlap with each bin.


cdef struct Address:
    node_t anchor           # node that anchors the address (holds its binding)
    addr_t prev             # previous address in the MN's live list, -1 at the head
    addr_t next             # next address in the MN's live list, or next free slot; -1 at the end
    flow_t refcount         # flows bound to it that have not ended
    uint8_t bound           # the anchor holds a binding for it
    uint8_t live            # still in the MN's list
    uint8_t was_bound       # it was bound when the MN's latest move began (§5.9)
    node_t reg_poa          # PoA of the last registration
    time_t reg_t            # time of the last registration (ns)
    count_t expiry          # seq of its pending expiry timer (§12), 0 = none
    mn_t owner              # the MN whose address it is
    time_t until            # end of its interruption at the MN's last move (§5.10)
    time_t hold             # the anchor's hold inside it
    flow_t pair_refs        # correspondent bindings (§15) naming it: its slot is kept for them
    time_t first_bound_t    # its first registration, INT64_MIN none: its grace periods start
                            # there (§7.2), and no first-ack hold comes after it (§4)
    count_t deprecated      # seq of its lifetime timer once out of scope (§5.5), 0 = none
    time_t retired_t        # when a deprecated one retired (or a relocation replaced it),
                            # INT64_MIN none: its flows' re-establishment starts there (§7.3)
    node_t from_anchor      # the anchor it is relocated from (§5 step 9a), -1 none


cdef struct MobileNode:
    node_t poa              # current PoA, -1 = detached
    node_t home             # anchor of the home address, -1 = none
    time_t until            # end of the longest interruption of its addresses (ns), INT64_MIN none
    time_t ready            # end of the components before signaling at its last move
    row_t window_row        # mobility row of that interruption, -1 = none
    count_t moves           # handovers so far
    count_t epoch           # bumped whenever poa changes: the paths of its flows are stale
    addr_t head             # oldest live address, -1 = empty list
    addr_t tail             # newest live address, -1 = empty list
    count_t release         # seq of its pending release timer (§12), 0 = none


cdef struct NetworkPlace:
    # Where an MN stands in the mobile networks (§16), apart from MobileNode (64 bytes, read
    # per packet): the router it rides behind and the MNs that ride behind it, as a list in
    # ascending MN order (first_rider, then each rider's next_rider).
    row_t pending_row       # networks row whose move waits for its router to attach, -1 none
    mn_t router             # MN of its mobile router, -1 = on its own
    mn_t first_rider        # lowest MN riding behind it, -1 = none
    mn_t next_rider         # next MN behind the same router, -1 = the last
    node_t own              # PoA of its own latest mobility row



cdef struct FlowState:
    # What the packet loop reads and writes for every packet (one cache line).
    time_t start            # first time a packet may have
    time_t end              # last time a packet may have
    count_t bytes           # offered bytes (every checked packet)
    count_t run_packets     # packets delivered on the cached path since its last flush
    count_t run_bytes       # their bytes
    count_t run_epoch       # MN epoch the cached path belongs to; -1 = no cached path
    mn_t mn                 # MN of the flow
    addr_t addr             # bound address (FLOW_BOUND), else -1
    bin_t run_bin           # timeline bin of the run's packets
    uint8_t binding         # FLOW_UNBOUND, FLOW_BOUND or FLOW_LOCAL
    uint8_t broken          # its address died under it
    uint8_t cls             # flow class (§1), a row of Replay.classes
    uint8_t two_ended       # an MN-to-MN flow (§17): its path also follows the other MN,
                            # and run_epoch is the sum of the two MNs' epochs


cdef struct FlowPath:
    # The rest of a flow's state, touched only off the fast path (on a path change, a
    # renumbering, a flow event): its cached path, 64 bytes with FlowState's 64. What the
    # flow counts (lost, delayed, the sums) is written straight into the RawCounters arrays.
    time_t path_delay       # delay of the cached path, without buffering wait
    time_t path_direct_delay  # direct delay peer -> PoA
    time_t resume           # a renumbered flow's packets before this are lost (§7.3)
    count_t moves_at_start  # MN handovers when the flow started
    node_t peer             # cn node of the flow, -1 for an MN-to-MN flow (§17)
    node_t path_anchor      # anchor of the cached path, -1 on the direct path
    int32_t path_hops       # hops of the cached path (peer -> anchor -> chain -> PoA)
    int32_t path_direct     # direct hops peer -> PoA
    int32_t path_overhead   # encapsulation bytes per packet on the cached path
    int32_t path_overhead_bh  # its byte*hops: at most 5 segments x 4096 B x 65535 hops < 2^31
    node_t local_anchor     # anchor of its local address at its last packet, -1 = none
    int32_t pair            # its correspondent binding (§15), -1 = none


cdef struct Correspondent:
    # The binding of one (MN, peer) pair at the peer (§15): route optimisation's state.
    time_t rr_t             # start of its last return routability, INT64_MIN = none
    time_t token_t          # when its last home keygen token was asked for, INT64_MIN = none
    count_t pending         # seq of its pending completion timer, 0 = none
    flow_t active           # its flows bound to an address
    addr_t addr             # the address they use, -1 = none yet
    mn_t mn
    node_t peer
    node_t bound_poa        # PoA of the care-of address the peer holds, -1 = none
    node_t pending_poa      # PoA of the pending return routability, -1 = none


cdef struct LocalPair:
    # The localized routing between two MNs low < high (§18).
    count_t pending         # seq of its pending completion timer, 0 = none
    flow_t active           # its flows bound to an address
    mn_t low
    mn_t high
    int8_t case_            # the case of the routing in place, -1 = none
    int8_t pending_case     # the case being set up, -1 = none
