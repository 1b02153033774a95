"""Packets synthesised from flows when a trace has no ``packets.parquet`` (semantics §10).

Flow f with rate r (``rate_pps``, default 50) and size S (``size``, default 1000) sends
packet k = 0, 1, … at ``start + k·⌊10⁹/r⌋`` while that is ≤ ``end``; even k go down
(``dir`` 1) with S bytes, odd k go up (``dir`` 0) with 64 bytes. All flows are merged by
``(t, flow id, k)``. ⌊10⁹/r⌋ is taken in float64 (exact for integer rates).

The rule is closed-form per flow, so packets are generated window by window in time, each
window vectorised over the flows active in it. Window bounds come from a piecewise-linear
estimate of the cumulative packet count, so every window holds about ``window_packets``
packets however the rate varies over the trace; memory is O(flows + one window).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from dmmemu.engine.replay_io import PacketBatch
from dmmemu.model_params import NS_PER_S

DEFAULT_RATE_PPS = 50.0
DEFAULT_SIZE = 1000
UPLINK_SIZE = 64  # bytes of every odd (uplink) packet: an acknowledgement-sized packet
DIR_UP = 0
DIR_DOWN = 1
# A rate above 10⁹ packets/s would give a zero interval, hence infinitely many packets.
MAX_RATE_PPS = float(NS_PER_S)
DEFAULT_WINDOW_PACKETS = 1_000_000


def packet_interval_ns(rate_pps: np.ndarray) -> np.ndarray:
    """⌊10⁹ / r⌋ per flow as int64; ``rate_pps`` must be finite and in (0, 10⁹].

    For integer rates the float quotient is exact enough that its floor equals the integer
    quotient (the quotient's rounding error is far below 1/r, its distance to an integer).
    """
    rate = np.asarray(rate_pps, dtype=np.float64)
    return np.floor(NS_PER_S / rate).astype(np.int64)


def packets_per_flow(start: np.ndarray, end: np.ndarray, interval_ns: np.ndarray) -> np.ndarray:
    """Packets each flow sends: ``(end − start) // interval + 1`` (int64, start ≤ end)."""
    return (np.asarray(end, np.int64) - np.asarray(start, np.int64)) // interval_ns + 1


def synthesised_count(start: np.ndarray, end: np.ndarray, rate_pps: np.ndarray) -> int:
    """Exact number of packets the rule produces for these flows."""
    counts = packets_per_flow(start, end, packet_interval_ns(rate_pps))
    if float(counts.sum(dtype=np.float64)) < 2.0**62:
        return int(counts.sum())
    return sum(int(c) for c in counts)  # beyond int64: exact in Python integers


def synthesise_packets(
    flow_ids: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    rate_pps: np.ndarray,
    size: np.ndarray,
    *,
    window_packets: int = DEFAULT_WINDOW_PACKETS,
) -> Iterator[PacketBatch]:
    """Yield the synthesised packets of these flows in ``(t, flow id, k)`` order.

    Arrays are per flow, in ascending ``flow_ids`` order (as ``Trace.flows``); ``start ≤ end``
    and rates in (0, 10⁹] are the caller's (validated) promise. Batches have consecutive
    ``first_row`` from 0; an instant shared by more than ``window_packets`` packets stays in
    one batch (windows only split between distinct times).
    """
    if window_packets < 1:
        raise ValueError(f"window_packets must be >= 1, got {window_packets}")
    flow_ids = np.ascontiguousarray(flow_ids, dtype=np.uint64)
    start = np.ascontiguousarray(start, dtype=np.int64)
    end = np.ascontiguousarray(end, dtype=np.int64)
    size = np.ascontiguousarray(size, dtype=np.uint16)
    if flow_ids.size > 1 and not np.all(flow_ids[1:] > flow_ids[:-1]):
        raise ValueError("flow_ids must be strictly ascending (dense flow order)")
    interval = packet_interval_ns(rate_pps)
    count = packets_per_flow(start, end, interval)
    last = start + (count - 1) * interval  # time of each flow's last packet, ≤ end
    first_row = 0
    lower = np.int64(-1)  # windows are (lower, upper]; times are ≥ 0
    for upper in window_bounds(start, last, count, window_packets):
        active = np.flatnonzero((start <= upper) & (last > lower))
        batch = _window(flow_ids, start, interval, count, size, active, lower, upper, first_row)
        lower = upper
        if len(batch):
            first_row += len(batch)
            yield batch


def window_bounds(
    start: np.ndarray, last: np.ndarray, count: np.ndarray, target: int
) -> np.ndarray:
    """Inclusive upper time bounds of windows holding about ``target`` packets each.

    Flow f's cumulative count is estimated as a jump of 1 at ``start`` then a ramp of
    ``count − 1`` packets up to ``last``; the sum over flows is piecewise linear between
    those instants, so it is evaluated there and inverted by interpolation.
    """
    if start.size == 0:
        return np.empty(0, np.int64)
    t_last = int(last.max())
    total = float(count.sum(dtype=np.float64))
    if total <= target:
        return np.array([t_last], np.int64)
    # Events: +1 jump and +slope at start, −slope at last (slope in packets/ns).
    span = (last - start).astype(np.float64)
    slope = np.divide(count - 1, span, out=np.zeros(span.size), where=span > 0)
    times = np.concatenate([start, last])
    order = np.argsort(times, kind="stable")
    times = times[order]
    jump = np.concatenate([np.ones(start.size), np.zeros(last.size)])[order]
    dslope = np.concatenate([slope, -slope])[order]
    # Value just after each event: jumps so far plus the integral of the slope up to it.
    rate_before = np.concatenate([[0.0], np.cumsum(dslope)[:-1]])
    gaps = np.diff(times.astype(np.float64), prepend=float(times[0]))
    cumulative = np.cumsum(jump) + np.cumsum(rate_before * gaps)
    targets = np.arange(target, total, target, dtype=np.float64)
    bounds = np.interp(targets, cumulative, times.astype(np.float64))
    bounds = np.unique(np.minimum(np.floor(bounds).astype(np.int64), t_last))
    if bounds.size == 0 or bounds[-1] != t_last:
        bounds = np.append(bounds, np.int64(t_last))
    return bounds


def _window(
    flow_ids: np.ndarray,
    start: np.ndarray,
    interval: np.ndarray,
    count: np.ndarray,
    size: np.ndarray,
    active: np.ndarray,
    lower: np.int64,
    upper: np.int64,
    first_row: int,
) -> PacketBatch:
    """Packets with ``lower < t ≤ upper`` of the ``active`` flows, merged by (t, flow, k)."""
    s = start[active]
    p = interval[active]
    k_lo = np.maximum((lower - s) // p + 1, 0)
    k_hi = np.minimum((upper - s) // p, count[active] - 1)
    n = np.maximum(k_hi - k_lo + 1, 0)
    total = int(n.sum())
    m = int(active.size)
    bits = max(m - 1, 1).bit_length()
    if (int(upper) - int(lower)) < 2 ** (63 - bits):
        # One int64 key per packet, (t − lower − 1) << bits | j with j the flow's rank among
        # the active ones (ranks follow flow ids): a plain sort of unique keys gives (t, flow).
        j = np.repeat(np.arange(m, dtype=np.int64), n)
        k = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n) + np.repeat(k_lo, n)
        key = ((s[j] + k * p[j] - (lower + 1)) << bits) | j
        key.sort()
        j = key & ((1 << bits) - 1)
        t = (key >> bits) + (lower + 1)
        dense = active[j]
        k = (t - s[j]) // p[j]
    else:  # a window too wide for the packed key: stable sort on t of (flow, k) rows
        dense = np.repeat(active, n)
        k = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n) + np.repeat(k_lo, n)
        t = start[dense] + k * interval[dense]
        order = np.argsort(t, kind="stable")
        t, dense, k = t[order], dense[order], k[order]
    even = (k & 1) == 0
    return PacketBatch(
        t=np.ascontiguousarray(t),
        flow=np.ascontiguousarray(flow_ids[dense]),
        size=np.where(even, size[dense], np.uint16(UPLINK_SIZE)).astype(np.uint16),
        dir=np.where(even, np.uint8(DIR_DOWN), np.uint8(DIR_UP)).astype(np.uint8),
        first_row=first_row,
    )
