"""Coverage holes: an attached MN loses every PoA for a while and comes back.

A trace needs detaches in the middle of a session to show what a practice does with a
binding while its MN is away: PMIPv6 keeps the binding cache entry for
MinDelayBeforeBCEDelete (10 s, RFC 5213 §5.3.5) and then drops the prefix, so holes shorter
and longer than that behave differently. Holes arrive per MN as a Poisson process over the
time it is attached, with lognormal durations (median ``median_s``, shape ``sigma``), so
that with the defaults about half of them last longer than 10 s.
"""

from __future__ import annotations

import numpy as np
import polars as pl

NS_PER_S = 1_000_000_000


def draw_holes(rng: np.random.Generator, arrive_t: np.ndarray, leave_t: np.ndarray,
               duration_ns: int, per_mn_hour: float, median_s: float,
               sigma: float) -> pl.DataFrame:
    """Holes ``(mn, start, end)`` (ns) inside each MN's presence [arrive, leave) (leave −1:
    the end of the trace), at most one at a time per MN: a hole that starts before the
    previous one ended is dropped. No draw at all when ``per_mn_hour`` is 0."""
    schema = {"mn": pl.UInt32, "start": pl.Int64, "end": pl.Int64}
    if per_mn_hour == 0:
        return pl.DataFrame(schema=schema)
    leave = np.where(leave_t < 0, duration_ns, np.minimum(leave_t, duration_ns))
    present = np.maximum(leave - arrive_t, 0)
    counts = rng.poisson(per_mn_hour * present / (3600 * NS_PER_S))
    mn = np.repeat(np.arange(arrive_t.size, dtype=np.int64), counts)
    start = (arrive_t[mn] + rng.random(mn.size) * present[mn]).astype(np.int64)
    length = np.rint(rng.lognormal(np.log(median_s), sigma, mn.size) * NS_PER_S)
    end = start + np.maximum(length, 1).astype(np.int64)
    order = np.lexsort((start, mn))
    mn, start, end = mn[order], start[order], end[order]
    keep = np.ones(mn.size, bool)
    last_mn, last_end = -1, 0
    for i in range(mn.size):  # one pass over the holes, not the samples
        if mn[i] == last_mn and start[i] < last_end:
            keep[i] = False
            continue
        last_mn, last_end = mn[i], end[i]
    keep &= start > arrive_t[mn]  # after the MN's first attach
    return pl.DataFrame({"mn": mn[keep], "start": start[keep], "end": end[keep]},
                        schema=schema)


def apply_holes(mobility: pl.DataFrame, holes: pl.DataFrame, duration_ns: int) -> pl.DataFrame:
    """``mobility`` (t, mn, poa; sorted by t, mn) with each hole cut in: a detach at its
    start, no change inside it, and at its end an attach to the PoA the MN would be at then
    (none if it has left, or if the end is past the trace or already has a row)."""
    if holes.is_empty():
        return mobility
    rows = mobility.with_row_index("order").sort("mn", "t")
    by_start = holes.sort("mn", "start")
    inside = (rows.join_asof(by_start, left_on="t", right_on="start", by="mn",
                             strategy="backward", check_sortedness=False)
              .filter(pl.col("end").is_not_null() & (pl.col("t") < pl.col("end")))
              ["order"])
    kept = mobility.with_row_index("order").filter(~pl.col("order").is_in(inside.implode()))
    at_end = (holes.sort("mn", "end")
              .join_asof(rows.select("mn", "t", "poa"), left_on="end", right_on="t",
                         by="mn", strategy="backward", check_sortedness=False))
    resume = (at_end.filter((pl.col("end") < duration_ns) & (pl.col("poa") >= 0)
                            & (pl.col("t") < pl.col("end")))
              .select(t=pl.col("end"), mn=pl.col("mn"), poa=pl.col("poa")))
    detach = holes.select(t=pl.col("start"), mn=pl.col("mn"), poa=pl.lit(-1, pl.Int32))
    return (pl.concat([kept.drop("order"), detach.cast(mobility.schema),
                       resume.cast(mobility.schema)])
            .sort("t", "mn", maintain_order=True))
