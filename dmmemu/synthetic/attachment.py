"""Attachment: which PoA a moving node uses, from its position samples.

Every source of positions (the synthetic mobility models, SUMO and other position traces)
turns them into ``mobility.parquet`` rows with the one rule below, so a handover means the
same thing whatever produced the motion.

The rule, per MN, over its samples in time order (``d(p)`` is the Euclidean distance from the
sample to PoA ``p``; the *nearest* PoA is the one with the least distance, ties going to the
PoA listed first in ``poa_ids``):

1. **Attach.** While detached, the MN attaches at the first sample whose nearest PoA is within
   ``range_m``, to that PoA, at once (no hysteresis, no time-to-trigger).
2. **Link loss.** While attached to ``c``, at the first sample with ``d(c) > range_m`` the MN
   moves at once to the nearest PoA if that one is within ``range_m``, else detaches (−1).
3. **Handover.** While attached to ``c`` (and ``c`` is in range), sample k is *better* when
   ``d(c) − d(nearest) > hysteresis_m``. The MN switches to the nearest PoA of sample k at the
   first better sample k such that every sample from some better sample j to k is better
   and ``t_k − t_j ≥ time_to_trigger_s``. The time-to-trigger is thus measured on the
   samples: a run of better samples restarts at the first sample that is not better, and the
   switch happens at a sample, never between two. With ``time_to_trigger_s = 0`` the first
   better sample switches. After any change the run starts afresh.
4. **Leave.** When ``leave_t`` gives an MN a leave time L, its samples at ``t ≥ L`` are
   ignored and, if it is attached just before L, a row ``(L, mn, −1)`` detaches it for good.

Only changes become rows: the first attach, each handover, each detach. An MN starts
detached, so its first row is an attach (or it has none).

The rule is a scan whose state is the current PoA, so it runs as rounds over all MNs of a
block at once: each round looks at a window of the next samples of every MN, vectorised,
and advances each MN to its first change in the window or past the window. Rounds number
about (samples per MN) / window + (changes per MN); a loop in Python runs per round, never
per sample. Memory is O(input + one block of MNs × window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import polars as pl

from dmmemu.model_params import ParameterError, seconds_to_ns
from dmmemu.trace.reader import MAX_MN_ID

BLOCK_SAMPLES = 2_000_000  # samples attached at once (whole MNs; one MN may exceed it)
DISTANCE_CELLS = 2_000_000  # sample × PoA distances held at once while finding the nearest
WINDOW_CELLS = 500_000  # MN × window samples held at once by one round of the scan
MIN_WINDOW = 8  # samples per MN looked at by one round, adapted between these bounds
MAX_WINDOW = 4096
_NO_RUN = np.iinfo(np.int64).max  # no run of better samples in progress
_NEVER = np.iinfo(np.int64).max  # leave time of an MN that does not leave


class AttachmentError(ParameterError):
    """Positions, PoAs or an attachment rule are invalid."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentRule:
    """How an MN picks and keeps a PoA (see the module docstring for the exact rule)."""

    range_m: float = math.inf  # farther than this from every PoA: detached (poa -1)
    hysteresis_m: float = 10.0  # switch only to a PoA nearer by more than this...
    time_to_trigger_s: float = 0.0  # ...continuously for at least this long

    def __post_init__(self) -> None:
        for name in ("range_m", "hysteresis_m", "time_to_trigger_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                                 np.floating)):
                raise AttachmentError(f"AttachmentRule: {name} must be a number, got {value!r}")
            if math.isnan(value) or value < 0:
                raise AttachmentError(f"AttachmentRule: {name} must be >= 0, got {value!r}")
        if self.range_m == 0:
            raise AttachmentError("AttachmentRule: range_m must be > 0 (inf: no range limit)")
        for name in ("hysteresis_m", "time_to_trigger_s"):
            if math.isinf(getattr(self, name)):
                raise AttachmentError(f"AttachmentRule: {name} must be finite")

    @property
    def time_to_trigger_ns(self) -> int:
        return seconds_to_ns(self.time_to_trigger_s, what="time_to_trigger_s",
                             error=AttachmentError)

    def params(self) -> dict[str, Any]:
        """TOML-ready values (TOML writes an infinite range as ``inf``)."""
        return {"range_m": float(self.range_m), "hysteresis_m": float(self.hysteresis_m),
                "time_to_trigger_s": float(self.time_to_trigger_s)}

    @classmethod
    def from_params(cls, params: Mapping[str, Any],
                    where: str = "AttachmentRule") -> "AttachmentRule":
        """Build from TOML-style values; unknown keys are an error naming the key."""
        allowed = ("range_m", "hysteresis_m", "time_to_trigger_s")
        if not isinstance(params, Mapping):
            raise AttachmentError(f"{where}: expected a table of parameters, got {params!r}")
        for key in params:
            if key not in allowed:
                raise AttachmentError(f"{where}: unknown parameter {key!r}; parameters: "
                                      f"{', '.join(allowed)}")
        return cls(**params)


def attach_positions(t: np.ndarray, mn: np.ndarray, x: np.ndarray, y: np.ndarray, *,
                     poa_ids: np.ndarray, poa_xy: np.ndarray, rule: AttachmentRule,
                     leave_t: Mapping[int, int] | np.ndarray | None = None) -> pl.DataFrame:
    """Mobility rows (``t`` Int64, ``mn`` UInt32, ``poa`` Int32, sorted by (t, mn)) from
    position samples (int64 ns, MN ids, metres) in any order.

    ``poa_ids`` are the node ids of the PoAs, ``poa_xy`` their positions (P × 2).
    ``leave_t`` maps MN id to leave time (ns), or is an array indexed by MN id where a
    negative value means the MN never leaves. Two samples of one MN at the same time are an
    error. The rule is in the module docstring.
    """
    if not isinstance(rule, AttachmentRule):
        raise AttachmentError(f"rule must be an AttachmentRule, got {type(rule).__name__}")
    t, mn, x, y = _samples(t, mn, x, y)
    poa_ids, poa_xy = _poas(poa_ids, poa_xy)
    leave = _leave_times(leave_t)
    if leave is not None:
        keep = t < _lookup(leave, mn)
        if not keep.all():
            t, mn, x, y = t[keep], mn[keep], x[keep], y[keep]
    step_mn = np.diff(mn)
    if not np.all((step_mn > 0) | ((step_mn == 0) & (np.diff(t) > 0))):  # not yet by (mn, t)
        order = np.lexsort((t, mn))
        t, mn, x, y = t[order], mn[order], x[order], y[order]
    same = (mn[1:] == mn[:-1]) & (t[1:] == t[:-1])
    if same.any():
        i = int(np.argmax(same))
        raise AttachmentError(f"MN {int(mn[i])} has two position samples at t = {int(t[i])} "
                              "ns; give one sample per MN and time")
    starts = np.flatnonzero(np.r_[True, mn[1:] != mn[:-1]]) if mn.size else np.zeros(0, int)
    bounds = np.r_[starts, mn.size]
    rows_i: list[np.ndarray] = []
    rows_poa: list[np.ndarray] = []
    last_state: list[np.ndarray] = []
    first = 0
    while first < starts.size:  # blocks of whole MNs with about BLOCK_SAMPLES samples
        last = int(np.searchsorted(bounds, bounds[first] + BLOCK_SAMPLES, side="right")) - 1
        last = max(last, first + 1)  # at least one MN
        lo, hi = int(bounds[first]), int(bounds[last])
        seg_lo = bounds[first:last] - lo
        seg_hi = bounds[first + 1:last + 1] - lo
        changes, poa, final = _scan(t[lo:hi], x[lo:hi], y[lo:hi], seg_lo, seg_hi,
                                    poa_xy, rule)
        rows_i.append(changes + lo)
        rows_poa.append(poa)
        last_state.append(final)
        first = last
    idx = np.concatenate(rows_i) if rows_i else np.zeros(0, np.int64)
    state = np.concatenate(rows_poa) if rows_poa else np.zeros(0, np.int32)
    out_t = t[idx]
    out_mn = mn[idx]
    out_poa = np.where(state >= 0, poa_ids[np.maximum(state, 0)], -1)
    if leave is not None and starts.size:
        final = np.concatenate(last_state)
        mns = mn[starts]
        at = _lookup(leave, mns)
        gone = (final >= 0) & (at < _NEVER)
        out_t = np.concatenate([out_t, at[gone]])
        out_mn = np.concatenate([out_mn, mns[gone]])
        out_poa = np.concatenate([out_poa, np.full(int(gone.sum()), -1, np.int64)])
    order = np.lexsort((out_mn, out_t))
    return pl.DataFrame({
        "t": pl.Series("t", out_t[order], dtype=pl.Int64),
        "mn": pl.Series("mn", out_mn[order].astype(np.uint32), dtype=pl.UInt32),
        "poa": pl.Series("poa", out_poa[order].astype(np.int32), dtype=pl.Int32),
    })


# -------------------------------------------------------------------- inputs

def _samples(t: Any, mn: Any, x: Any, y: Any
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    arrays = {"t": np.asarray(t), "mn": np.asarray(mn), "x": np.asarray(x),
              "y": np.asarray(y)}
    n = arrays["t"].shape
    for name, arr in arrays.items():
        if arr.ndim != 1 or arr.shape != n:
            raise AttachmentError(f"positions: {name} must be one-dimensional with the length "
                                  f"of t ({n[0] if n else 0}), got shape {arr.shape}")
    for name in ("t", "mn"):
        if arrays[name].size and not np.issubdtype(arrays[name].dtype, np.integer):
            raise AttachmentError(f"positions: {name} must be integers, got "
                                  f"{arrays[name].dtype}")
    mn = arrays["mn"]
    if mn.size and (int(mn.min()) < 0 or int(mn.max()) > MAX_MN_ID):
        i = int(np.argmax((mn < 0) | (mn > MAX_MN_ID)))
        raise AttachmentError(f"positions: sample {i}: mn {int(mn[i])} is not in "
                              f"0..{MAX_MN_ID}")
    xy = []
    for name in ("x", "y"):
        arr = arrays[name].astype(np.float64, copy=False)
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise AttachmentError(f"positions: sample {i}: {name} must be finite metres, "
                                  f"got {arr[i]!r}")
        xy.append(arr)
    return arrays["t"].astype(np.int64, copy=False), mn.astype(np.int64, copy=False), *xy


def _poas(poa_ids: Any, poa_xy: Any) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(poa_ids)
    xy = np.asarray(poa_xy, dtype=np.float64)
    if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise AttachmentError("poa_ids must be a non-empty one-dimensional array of node ids")
    if xy.shape != (ids.size, 2):
        raise AttachmentError(f"poa_xy must have shape ({ids.size}, 2) (x, y of each PoA), "
                              f"got {xy.shape}")
    if not np.isfinite(xy).all():
        raise AttachmentError("poa_xy must be finite metres")
    if ids.min() < 0 or ids.max() > np.iinfo(np.int32).max:
        raise AttachmentError("poa_ids must be node ids in 0..2^31-1")
    return ids.astype(np.int64), xy


def _leave_times(leave_t: Mapping[int, int] | np.ndarray | None) -> np.ndarray | None:
    """Leave time per MN id as a dense int64 array (``_NEVER``: no leave), or None."""
    if leave_t is None:
        return None
    if isinstance(leave_t, Mapping):
        if not leave_t:
            return None
        keys = np.fromiter((int(k) for k in leave_t), np.int64, len(leave_t))
        if keys.min() < 0 or keys.max() > MAX_MN_ID:
            raise AttachmentError("leave_t: MN ids must be in 0..2^32-2")
        out = np.full(int(keys.max()) + 1, _NEVER, np.int64)
        out[keys] = np.fromiter((int(v) for v in leave_t.values()), np.int64, len(leave_t))
        return out
    arr = np.asarray(leave_t)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise AttachmentError("leave_t must be a mapping of MN id to ns, or a one-dimensional "
                              "integer array indexed by MN id (negative: never leaves)")
    return np.where(arr < 0, _NEVER, arr).astype(np.int64)


def _lookup(leave: np.ndarray, mn: np.ndarray) -> np.ndarray:
    """Leave time of each MN (``_NEVER`` beyond the table)."""
    inside = mn < leave.size
    return np.where(inside, leave[np.where(inside, mn, 0)], _NEVER)


# -------------------------------------------------------------------- the scan
def _nearest(x: np.ndarray, y: np.ndarray, poa_xy: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest PoA (first on ties) and its distance, for every sample."""
    n = x.size
    near = np.empty(n, np.int32)
    dist = np.empty(n, np.float64)
    rows = max(1, DISTANCE_CELLS // poa_xy.shape[0])
    px, py = poa_xy[:, 0], poa_xy[:, 1]
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        d2 = (x[lo:hi, None] - px) ** 2 + (y[lo:hi, None] - py) ** 2
        k = np.argmin(d2, axis=1)
        near[lo:hi] = k
        dist[lo:hi] = np.sqrt(d2[np.arange(hi - lo), k])
    return near, dist


def _scan(t: np.ndarray, x: np.ndarray, y: np.ndarray, seg_lo: np.ndarray,
          seg_hi: np.ndarray, poa_xy: np.ndarray, rule: AttachmentRule
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Changes of a block of MNs (samples sorted by MN then t; MN i owns samples
    ``seg_lo[i]:seg_hi[i]``): sample indices, new PoA indices (−1: detached), and the
    final state of every MN."""
    near, near_d = _nearest(x, y, poa_xy)
    in_range = near_d <= rule.range_m
    px, py = poa_xy[:, 0], poa_xy[:, 1]
    ttt = rule.time_to_trigger_ns
    n_mns = seg_lo.size
    pos = seg_lo.astype(np.int64).copy()
    end = seg_hi.astype(np.int64)
    cur = np.full(n_mns, -1, np.int32)
    run = np.full(n_mns, _NO_RUN, np.int64)  # start time of a run of better samples
    out_i: list[np.ndarray] = []
    out_poa: list[np.ndarray] = []
    active = np.flatnonzero(pos < end)
    width = MIN_WINDOW
    while active.size:
        offs = np.arange(width, dtype=np.int64)
        idx = pos[active, None] + offs
        valid = idx < end[active, None]
        idx = np.minimum(idx, end[active, None] - 1)
        c = cur[active, None]
        attached = c >= 0
        cc = np.maximum(c, 0)
        d_cur = np.sqrt((x[idx] - px[cc]) ** 2 + (y[idx] - py[cc]) ** 2)  # as _nearest
        lost = attached & (d_cur > rule.range_m)
        better = (attached & ~lost & (near[idx] != c) & valid
                  & (d_cur - near_d[idx] > rule.hysteresis_m))
        # Start time of the run of better samples ending at each cell: the sample after the
        # last non-better one in the window, or the run carried in from earlier rounds.
        last_no = np.maximum.accumulate(np.where(better, -1, offs), axis=1)
        carried = np.where(run[active] == _NO_RUN, t[idx[:, 0]], run[active])[:, None]
        start_t = np.where(last_no < 0, carried,
                           t[np.take_along_axis(idx, np.minimum(last_no + 1, width - 1), 1)])
        fire = better & (t[idx] - start_t >= ttt)
        event = valid & np.where(attached, lost | fire, in_range[idx])
        has = event.any(axis=1)
        k = np.argmax(event, axis=1)
        # MNs with a change: move to it, start afresh after it.
        hit = active[has]
        at = idx[has, k[has]]
        new = np.where(in_range[at], near[at], -1).astype(np.int32)
        out_i.append(at)
        out_poa.append(new)
        cur[hit] = new
        pos[hit] = at + 1
        run[hit] = _NO_RUN
        # MNs without one: past the window, carrying a run of better samples that reaches it.
        miss = active[~has]
        tail = ~has
        last_valid = np.minimum(end[miss] - pos[miss], width) - 1
        rows = np.flatnonzero(tail)
        ends_better = better[rows, last_valid]
        run[miss] = np.where(ends_better, start_t[rows, last_valid], _NO_RUN)
        pos[miss] = pos[miss] + width
        active = active[pos[active] < end[active]]
        # Windows about as long as the distance to the next change: narrower when most MNs
        # changed (less work past a change), wider when most did not (fewer rounds).
        cap = int(np.clip(WINDOW_CELLS // max(active.size, 1), MIN_WINDOW, MAX_WINDOW))
        width = max(MIN_WINDOW, width // 2) if 2 * hit.size > has.size else 2 * width
        width = min(width, cap)
    changes = np.concatenate(out_i) if out_i else np.zeros(0, np.int64)
    poa = np.concatenate(out_poa) if out_poa else np.zeros(0, np.int32)
    order = np.argsort(changes, kind="stable")
    return changes[order], poa[order], cur
