"""What the engines take in and give back: one contract for the core and the reference.

``ReplayInput`` is a trace remapped to dense ids (flows 0..F-1 in ascending trace id order),
``PacketBatch`` one slice of the packet stream, ``RawCounters`` every number a run produces,
``timeline_bins`` the shape of its timeline. Rules: ``docs/semantics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from dmmemu.engine.policy import MAX_SEGMENT_BYTES
from dmmemu.engine.signaling import (  # noqa: F401  (the causes are part of this contract)
    CAUSE_ATTACH,
    CAUSE_DEREGISTRATION,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_NAMES,
    CAUSE_REFRESH,
    LEG_BYTES,
    LEG_BYTES_PER_ADDRESS,
    LEG_GATE_CAP_NS,
    LEG_OFFSET_NS,
    ROLE_NAMES,
)
from dmmemu.errors import PracticeError

# Control event kinds; packets sit between flow starts and flow ends (kind 2).
EV_MOVE = 0
EV_FLOW_START = 1
EV_PACKET = 2
EV_FLOW_END = 3

# Mobility row kinds (handover table).
HO_NOOP = 0
HO_DETACH = 1
HO_ATTACH = 2
HO_HANDOVER = 3
HO_KIND_NAMES = ("noop", "detach", "attach", "handover")


# Event kinds of the events table (semantics.md §14).
EVENT_BINDING_EXPIRED = 0
EVENT_ADDRESS_RELEASED = 1
EVENT_FLOW_BROKEN = 2
EVENT_FLOW_RENUMBERED = 3
# Relocation (§5 step 9a): done (node: the new anchor), deferred (node: the target), and a
# flow the deferred relocation would have broken (once per flow).
EVENT_ANCHOR_RELOCATED = 4
EVENT_RELOCATION_DEFERRED = 5
EVENT_FLOW_SPARED = 6
EVENT_NAMES = ("binding-expired", "address-released", "flow-broken", "flow-renumbered",
               "anchor-relocated", "relocation-deferred", "flow-spared")

# Smallest IP packet a packet row may carry (an IPv4 header alone).
MIN_PACKET_BYTES = 20

# Timeline (semantics.md §11): default bin width, and the most (bin, node) cells one timeline
# array may have; a run keeps four such int64 arrays (1.6 GB at the limit).
DEFAULT_TIMELINE_BIN_NS = 10_000_000_000
MAX_TIMELINE_CELLS = 50_000_000
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayInput:
    """A validated trace as dense arrays (read-only, C-contiguous)."""

    n_mns: int
    hops: np.ndarray  # uint16 (N, N)
    delay_ns: np.ndarray  # int64 (N, N)
    flow_ids: np.ndarray  # uint64 (F,), strictly ascending: trace id of dense flow f
    flow_mn: np.ndarray  # int32 (F,)
    flow_peer: np.ndarray  # int32 (F,): a cn node, -1 for an MN-to-MN flow
    flow_start: np.ndarray  # int64 (F,)
    flow_end: np.ndarray  # int64 (F,)
    flow_continuity: np.ndarray  # uint8 (F,)
    ev_t: np.ndarray  # int64 (E,): control events sorted by (t, kind, row)
    ev_kind: np.ndarray  # int8 (E,): EV_MOVE, EV_FLOW_START or EV_FLOW_END
    ev_a: np.ndarray  # int32 (E,): MN (move) or dense flow (start/end)
    ev_b: np.ndarray  # int32 (E,): new PoA or -1 (move); unused (0) for flows
    ev_row: np.ndarray  # int64 (E,): mobility row (move) or dense flow (start/end)
    n_mobility_rows: int
    t_begin: int
    t_end: int
    flow_app: np.ndarray | None = None  # int32 (F,): index into app_names, -1 null; None all null
    app_names: tuple[str, ...] = ()  # the distinct non-null apps of flows.parquet
    flow_address_type: np.ndarray | None = None  # int8 (F,): ADDRESS_TYPES index, -1 none
    # Mobile networks (semantics.md §16): the rows of networks.parquet follow the mobility rows
    # as MOVE events (row n_mobility_rows + i, a = MN, b = its router's MN or -1).
    # MN-to-MN flows (semantics.md §17): the other MN of each flow, -1 for a flow to a cn.
    flow_peer_mn: np.ndarray | None = None  # int32 (F,); None: every flow goes to a cn
    n_network_rows: int = 0
    mn_router: np.ndarray | None = None  # uint8 (M,): 1 for an MN that some row names a router
    network_depth: int = 0  # the most routers above one MN at any time (0..MAX_NETWORK_DEPTH)

    @property
    def n_nodes(self) -> int:
        return int(self.hops.shape[0])

    @property
    def n_rows(self) -> int:
        """Rows of the handover table: the mobility rows, then the networks rows."""
        return self.n_mobility_rows + self.n_network_rows

    @property
    def n_flows(self) -> int:
        return int(self.flow_ids.shape[0])


@dataclass(frozen=True, slots=True)
class PacketBatch:
    """Consecutive packet rows ``first_row .. first_row + len - 1`` of ``packets.parquet``."""

    t: np.ndarray  # int64
    flow: np.ndarray  # uint64: the trace's flow ids
    size: np.ndarray  # uint16
    dir: np.ndarray  # uint8
    first_row: int

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(slots=True, kw_only=True)
class RawCounters:
    """Every counter of one run; all int64 unless noted. Compared field by field in tests."""

    # per dense flow (F,)
    flow_packets: np.ndarray
    flow_bytes: np.ndarray
    flow_lost: np.ndarray
    flow_delayed: np.ndarray
    flow_overhead_bytes: np.ndarray
    flow_overhead_byte_hops: np.ndarray
    flow_hops_sum: np.ndarray
    flow_direct_hops_sum: np.ndarray
    flow_delay_ns_sum: np.ndarray
    flow_direct_delay_ns_sum: np.ndarray
    flow_anchor: np.ndarray  # int32, -1 = never bound
    # (F, 8), rows on 64-byte lines: the FLOW_SUMS arrays above are its columns (views), so
    # the core adds a flushed run of packets to one cache line per flow
    flow_sums: np.ndarray
    flow_broken: np.ndarray  # uint8
    flow_moves: np.ndarray
    flow_renumbered: np.ndarray  # times the flow took a new local address (§7.3)
    # per node (N,); only anchors are ever non-zero
    anchor_packets: np.ndarray
    anchor_bytes: np.ndarray
    anchor_peak_bindings: np.ndarray
    anchor_binding_ns: np.ndarray
    anchor_sig_msgs: np.ndarray
    anchor_sig_bytes: np.ndarray
    anchor_addresses: np.ndarray  # addresses created anchored at the node (§3)
    # per (role, node), shape (len(ROLE_NAMES), N + 1): messages each node handled in each
    # role at one end of the leg (§4); column N is the MN itself (all MNs together)
    role_sig_msgs: np.ndarray
    # per (cause, message kind): shape (len(CAUSE_NAMES), len(PolicyTables.message_kinds))
    sig_msgs: np.ndarray
    sig_bytes: np.ndarray
    sig_byte_hops: np.ndarray
    # per mobility row (R,)
    ho_kind: np.ndarray  # int8
    ho_from: np.ndarray  # int32
    ho_to: np.ndarray  # int32
    ho_interruption_ns: np.ndarray
    ho_signaling_ns: np.ndarray
    ho_hold_ns: np.ndarray  # the anchor's hold (first_ack_hold_ns) inside ho_signaling_ns
    ho_msgs: np.ndarray
    ho_bytes: np.ndarray
    ho_lost: np.ndarray
    ho_delayed: np.ndarray
    ho_addresses: np.ndarray  # addresses the attach's or handover's program signalled for
    # delivered packets by (path hops, direct hops): shape (S * max(H) + X + 1, max(H) + X + 1)
    # with (S, X) = path_bounds(K, d, two_ended) (§7.5, §16, §17)
    stretch_hist: np.ndarray
    # per (timeline bin, node): shape (n_bins, N), semantics.md §11; only anchors are non-zero
    timeline_packets: np.ndarray
    timeline_bytes: np.ndarray
    timeline_sig_msgs: np.ndarray
    timeline_binding_ns: np.ndarray
    # events (§14), in the order they happened: time, kind, MN, dense flow (-1), node (-1)
    event_t: np.ndarray
    event_kind: np.ndarray  # int8
    event_mn: np.ndarray  # int32
    event_flow: np.ndarray  # int32
    event_node: np.ndarray  # int32

    @classmethod
    def zeros(cls, n_flows: int, n_nodes: int, n_rows: int, max_hops: int,
              n_bins: int, n_kinds: int, levels: int, depth: int = 0,
              two_ended: bool = False) -> "RawCounters":
        """All-zero counters of the right shapes (flow_anchor -1, ho_from/ho_to -1); the
        stretch histogram has a row for every hop count a path of ``levels`` chain levels
        can have, behind up to ``depth`` mobile routers (§16) at one end, or at both ends
        of an MN-to-MN flow (``two_ended``, §17)."""
        segments, extra = path_bounds(levels, depth, two_ended)
        i64 = np.int64
        sums = _line_aligned_zeros(n_flows, len(FLOW_SUMS))
        return cls(
            **{name: np.zeros(n_flows, i64) for name in _FLOW_I64 if name not in FLOW_SUMS},
            **{name: sums[:, i] for i, name in enumerate(FLOW_SUMS)},
            flow_sums=sums,
            flow_anchor=np.full(n_flows, -1, np.int32),
            flow_broken=np.zeros(n_flows, np.uint8),
            **{name: np.zeros(n_nodes, i64) for name in _NODE_I64},
            **{name: np.zeros((len(CAUSE_NAMES), n_kinds), i64)
               for name in ("sig_msgs", "sig_bytes", "sig_byte_hops")},
            role_sig_msgs=np.zeros((len(ROLE_NAMES), n_nodes + 1), i64),
            ho_kind=np.zeros(n_rows, np.int8),
            ho_from=np.full(n_rows, -1, np.int32),
            ho_to=np.full(n_rows, -1, np.int32),
            **{name: np.zeros(n_rows, i64) for name in _HO_I64},
            stretch_hist=np.zeros((segments * max_hops + extra + 1, max_hops + extra + 1), i64),
            **{name: np.zeros((n_bins, n_nodes), i64) for name in _TIMELINE_I64},
            **events_arrays([]),
        )

    def differences(self, other: "RawCounters") -> list[str]:
        """Names of the fields where two runs differ (empty when they agree exactly)."""
        return [
            f.name
            for f in fields(self)
            if f.name != "flow_sums"  # its columns are compared by name
            and not np.array_equal(getattr(self, f.name), getattr(other, f.name))
        ]


def events_arrays(records: list[tuple[int, int, int, int, int]]) -> dict[str, np.ndarray]:
    """RawCounters' event fields from (t, kind, mn, flow, node) records."""
    columns = list(zip(*records)) or [(), (), (), (), ()]
    return {name: np.array(values, dtype) for name, values, dtype in zip(
        ("event_t", "event_kind", "event_mn", "event_flow", "event_node"), columns,
        (np.int64, np.int8, np.int32, np.int32, np.int32))}


# The per-flow sums a flushed run of packets adds to, and the loss counter, as the columns
# of RawCounters.flow_sums in this order (the core writes one row per flow).
FLOW_SUMS = ("flow_packets", "flow_lost", "flow_hops_sum", "flow_direct_hops_sum",
             "flow_delay_ns_sum", "flow_direct_delay_ns_sum", "flow_overhead_bytes",
             "flow_overhead_byte_hops")


def _line_aligned_zeros(rows: int, cols: int) -> np.ndarray:
    """int64 zeros of shape (rows, cols) whose first row starts on a 64-byte boundary."""
    buf = np.zeros(rows * cols + 8, np.int64)
    skip = (-buf.ctypes.data % 64) // 8
    return buf[skip:skip + rows * cols].reshape(rows, cols)


_FLOW_I64 = (
    "flow_packets", "flow_bytes", "flow_lost", "flow_delayed", "flow_overhead_bytes",
    "flow_overhead_byte_hops", "flow_hops_sum", "flow_direct_hops_sum", "flow_delay_ns_sum",
    "flow_direct_delay_ns_sum", "flow_moves", "flow_renumbered",
)
_NODE_I64 = (
    "anchor_packets", "anchor_bytes", "anchor_peak_bindings", "anchor_binding_ns",
    "anchor_sig_msgs", "anchor_sig_bytes", "anchor_addresses",
)
_HO_I64 = (
    "ho_interruption_ns", "ho_signaling_ns", "ho_hold_ns", "ho_msgs", "ho_bytes", "ho_lost", "ho_delayed",
    "ho_addresses",
)
_TIMELINE_I64 = (
    "timeline_packets", "timeline_bytes", "timeline_sig_msgs", "timeline_binding_ns",
)


def timeline_bins(replay: ReplayInput, bin_ns: int) -> int:
    """``n_bins`` of the timeline of ``replay`` in bins of ``bin_ns`` ns (semantics.md §11).

    Both engines call this in their constructors, so they accept and refuse the same inputs:
    ``PracticeError`` for a bin that is not a positive whole number of ns or that makes the
    timeline too large, ``ValueError`` for control events outside ``[t_begin, t_end]``.
    """
    if isinstance(bin_ns, bool) or not isinstance(bin_ns, (int, np.integer)) or bin_ns <= 0:
        raise PracticeError(
            f"timeline_bin_ns must be a whole number of nanoseconds > 0, got {bin_ns!r}")
    bin_ns = int(bin_ns)
    t_begin, t_end = int(replay.t_begin), int(replay.t_end)
    ev_t = np.asarray(replay.ev_t)
    if t_end < t_begin or (ev_t.size and (int(ev_t.min()) < t_begin or int(ev_t.max()) > t_end)):
        raise ValueError("replay control events must lie in [replay.t_begin, replay.t_end]")
    span = t_end - t_begin
    if span >= _INT64_MAX:
        raise ValueError("replay.t_end - replay.t_begin must be less than 2**63 - 1 ns")
    n_bins = span // bin_ns + 1
    n_nodes = max(replay.n_nodes, 1)
    cells = n_bins * n_nodes
    if cells > MAX_TIMELINE_CELLS:
        # The narrowest bin that fits: span // w + 1 <= max_bins, i.e. span < max_bins * w.
        max_bins = max(MAX_TIMELINE_CELLS // n_nodes, 1)
        narrowest = span // max_bins + 1
        raise PracticeError(
            f"a timeline of {bin_ns} ns bins over this {span / 1e9:g} s trace needs "
            f"{n_bins:,} bins x {n_nodes} nodes = {cells:,} cells, more than the "
            f"{MAX_TIMELINE_CELLS:,} allowed; choose a wider timeline bin, at least "
            f"{narrowest} ns (timeline_bin_s = {_seconds(narrowest)})")
    if max(t_begin, 0) + n_bins * bin_ns > _INT64_MAX:  # bin edges and t - t_begin fit
        raise PracticeError(
            f"timeline bins of {bin_ns} ns from t_begin = {t_begin} reach past the largest "
            "int64 time; choose a narrower timeline bin")
    return n_bins


def _seconds(ns: int) -> str:
    """``ns`` as exact decimal seconds (``1.5``, ``0.000001``)."""
    whole, frac = divmod(ns, 1_000_000_000)
    return f"{whole}.{frac:09d}".rstrip("0").rstrip(".")


def control_events(
    mobility_t: np.ndarray, mobility_mn: np.ndarray, mobility_poa: np.ndarray,
    flow_start: np.ndarray, flow_end: np.ndarray,
    networks: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Moves, flow starts and flow ends as one array set sorted by (t, kind, row).

    Returns ``(ev_t, ev_kind, ev_a, ev_b, ev_row)`` as ReplayInput wants them; flows must be
    in dense (ascending trace id) order. ``networks`` (t, mn, router or -1) are the rows of
    networks.parquet: MOVE events numbered after the mobility rows (semantics.md §16).
    """
    if networks is None:
        networks = (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))
    net_t, net_mn, net_router = networks
    n_mob = mobility_t.shape[0]
    n_net = net_t.shape[0]
    n_flows = flow_start.shape[0]
    flow_rows = np.arange(n_flows, dtype=np.int64)
    ev_t = np.concatenate([mobility_t, net_t, flow_start, flow_end]).astype(np.int64)
    ev_kind = np.concatenate([
        np.full(n_mob + n_net, EV_MOVE, np.int8),
        np.full(n_flows, EV_FLOW_START, np.int8),
        np.full(n_flows, EV_FLOW_END, np.int8),
    ])
    ev_a = np.concatenate([mobility_mn, net_mn, flow_rows, flow_rows]).astype(np.int32)
    ev_b = np.concatenate([mobility_poa, net_router,
                           np.zeros(2 * n_flows, np.int32)]).astype(np.int32)
    ev_row = np.concatenate([np.arange(n_mob + n_net, dtype=np.int64), flow_rows, flow_rows])
    # One stable sort by t: equal times keep the concatenation's order, which is by kind
    # (moves, starts, ends) and by row within a kind, i.e. the (t, kind, row) order.
    order = np.argsort(ev_t, kind="stable")
    return tuple(np.ascontiguousarray(arr[order]) for arr in (ev_t, ev_kind, ev_a, ev_b, ev_row))


def path_bounds(levels: int, depth: int = 0, two_ended: bool = False) -> tuple[int, int]:
    """(the most shortest paths in one packet's path, the most hops it adds beside them).
    One end (§7.5, §16): peer to anchor, one segment to the home anchor of each of up to
    ``depth`` mobile routers, one per chain level and one into the PoA, and the routers'
    links; an MN-to-MN flow (§17): two such ends, without the peer, joined at the anchors."""
    if two_ended:
        return 2 * (levels + 1 + depth) + 1, 2 * depth
    return levels + 2 + depth, depth


def two_ended(replay: ReplayInput) -> bool:
    """The trace has an MN-to-MN flow (§17)."""
    return replay.flow_peer_mn is not None and bool(np.any(replay.flow_peer_mn >= 0))


def replayed_depth(policy: Any, replay: ReplayInput) -> int:
    """The mobile networks' depth a run replays: the trace's, under a practice that replays
    networks.parquet (§16), else 0 (every MN rides on its own)."""
    return int(replay.network_depth) if policy.mobile_networks else 0


# The most mobile routers above one MN (a network nested twice); deeper nesting is refused
# when networks.parquet is read.
MAX_NETWORK_DEPTH = 3


def check_counter_limits(policy: Any, replay: ReplayInput, n_packets: int) -> None:
    """Refuse a run whose counters could pass the largest int64 (semantics.md §13).

    Each counter is bounded from the inputs alone, at open, before anything runs: packet
    sums by the packet count and the longest path, signaling by the moves and flows (an MN
    has at most one address per flow and a home address) and the refreshes a lifetime
    allows, binding time by the addresses alive at once. A bound above the limit names the
    counter and what to change, so no count ever wraps silently.
    """
    max_hops = int(replay.hops.max()) if replay.hops.size else 0
    max_delay = int(replay.delay_ns.max()) if replay.delay_ns.size else 0
    span = max(int(replay.t_end) - int(replay.t_begin), 1)
    legs = policy.legs
    per_mn = int(np.bincount(replay.flow_mn).max()) + 1 if replay.n_flows else 1
    leg_bytes = (int(legs[:, LEG_BYTES].max() + legs[:, LEG_BYTES_PER_ADDRESS].max() * per_mn)
                 if legs.shape[0] else 0)
    # The shortest refresh period of any binding (per PoA) or correspondent binding.
    periods = [int(p) for p in np.asarray(policy.refresh_ns) if p > 0] + [
        int(p) for p in (policy.lifetime_ns, policy.correspondent_refresh_ns) if p > 0]
    lifetime = min(periods, default=0)
    runs_per_binding = span // lifetime + 2 if lifetime > 0 else 2  # refreshes, and itself
    triggers = replay.n_rows + replay.n_flows
    messages = triggers * per_mn * legs.shape[0] * runs_per_binding
    # A buffered packet waits at most the move's components, hold, offsets, caps and legs.
    wait = 0
    if policy.buffering:
        wait = (max(policy.pre_signaling_ns(0), policy.pre_signaling_ns(1))
                + int(policy.first_ack_hold_ns) + int(legs[:, LEG_OFFSET_NS].sum())
                + int(legs[:, LEG_GATE_CAP_NS].sum()) + 2 * legs.shape[0] * max_delay)
    depth = replayed_depth(policy, replay)
    segments, extra = path_bounds(policy.levels, depth, two_ended(replay))
    # One packet's encapsulation byte-hops is an int32 of the core's flow state: every
    # segment with the tunnels of up to `depth` routers nested inside it, and their links.
    per_packet = (segments * MAX_SEGMENT_BYTES * (depth + 1) * max(max_hops, 1)
                  + extra * depth * MAX_SEGMENT_BYTES)
    if per_packet >= 2**31:
        raise PracticeError(
            f"this topology's longest path ({max_hops} hops) with {depth} nested mobile "
            "routers could give one packet more encapsulation byte-hops than the core holds; "
            "use a topology with shorter paths or less nesting")
    bounds = {
        "packet bytes": (n_packets * 65535, "split the trace (fewer packets per run)"),
        "path hops": (n_packets * (segments * max_hops + extra + 2), "split the trace"),
        "encapsulation byte-hops": (n_packets * per_packet, "split the trace"),
        "path delays": (n_packets * (segments * max_delay + wait),
                        "check the link delays of topology.toml, or split the trace"),
        "signaling byte-hops": (messages * leg_bytes * (max_hops + 2),
                                f"lengthen the binding lifetime (lifetime_s, now "
                                f"{lifetime / 1e9:g} s), or split the trace"),
        "binding time": ((replay.n_flows + replay.n_mns) * span,
                         "split the trace into shorter periods"),
    }
    for name, (bound, what) in bounds.items():
        if bound > _INT64_MAX:
            raise PracticeError(
                f"this run could count more {name} than a 64-bit counter holds (up to "
                f"{bound:.3g}); {what}")
