"""Localized routing (RFC 6705): which pairs of MNs the engines track for MN-to-MN flows.

Both engines call ``local_routing_pairs`` once at open and keep one state per pair
(``docs/semantics.md`` §18): a pair is two MNs, whichever of them a flow starts from, because
localized routing is set up between two MNs' MAGs and LMAs, not per flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmmemu.engine.flow_classes import ANCHOR_LOCAL, CLASS_ANCHOR, CLASS_DIRECT


@dataclass(frozen=True, slots=True)
class LocalPairs:
    """Pairs numbered in order of their first flow (dense flow index); ``flow_pair[f]`` is
    flow f's pair or −1; pair k is MNs ``pair_low[k] < pair_high[k]``; the pairs of MN m
    (either end) are ``mn_pairs[mn_first[m]:mn_first[m + 1]]``, ascending."""

    flow_pair: np.ndarray  # int32 (F,)
    pair_low: np.ndarray  # int32 (P,)
    pair_high: np.ndarray  # int32 (P,)
    mn_first: np.ndarray  # int64 (M + 1,)
    mn_pairs: np.ndarray  # int32 (2P,)


def local_routing_pairs(flow_mn: np.ndarray, flow_peer_mn: np.ndarray | None,
                        flow_class: np.ndarray, classes: np.ndarray, n_mns: int,
                        enabled: bool) -> LocalPairs:
    """One pair per two MNs with an MN-to-MN flow between them (either way) whose class goes
    through its home anchor (not direct, not a local address), when ``enabled``; ``classes``
    is ``class_table``'s output."""
    n_flows = int(np.asarray(flow_mn).shape[0])
    flow_pair = np.full(n_flows, -1, np.int32)
    if not enabled or flow_peer_mn is None or n_flows == 0:
        empty = np.zeros(0, np.int32)
        return LocalPairs(flow_pair=flow_pair, pair_low=empty, pair_high=empty,
                          mn_first=np.zeros(n_mns + 1, np.int64), mn_pairs=empty)
    mn = np.asarray(flow_mn, np.int64)
    other = np.asarray(flow_peer_mn, np.int64)
    cls = classes[np.asarray(flow_class, np.intp)]
    chosen = np.flatnonzero((other >= 0) & (cls[:, CLASS_DIRECT] == 0)
                            & (cls[:, CLASS_ANCHOR] != ANCHOR_LOCAL))
    low = np.minimum(mn[chosen], other[chosen])
    high = np.maximum(mn[chosen], other[chosen])
    _, first, inverse = np.unique(low * (n_mns + 1) + high, return_index=True,
                                  return_inverse=True)
    order = np.argsort(first, kind="stable")  # number the pairs by their first flow
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    flow_pair[chosen] = rank[inverse.reshape(-1)]
    firsts = first[order]
    pair_low = low[firsts].astype(np.int32)
    pair_high = high[firsts].astype(np.int32)
    ends = np.concatenate([pair_low, pair_high])
    pair_of_end = np.concatenate([np.arange(pair_low.shape[0])] * 2)
    by_mn = np.lexsort((pair_of_end, ends))
    counts = np.bincount(ends, minlength=n_mns)
    mn_first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return LocalPairs(flow_pair=flow_pair, pair_low=pair_low, pair_high=pair_high,
                      mn_first=mn_first, mn_pairs=pair_of_end[by_mn].astype(np.int32))
