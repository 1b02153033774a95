"""Correspondent bindings (mechanism 7): which (MN, peer) pairs route optimisation tracks.

Both engines call ``correspondent_pairs`` once at open and keep one binding state per pair
(``docs/semantics.md`` §15); a flow reads its pair index, never the pair's members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmmemu.engine.flow_classes import CLASS_ROUTE_OPTIMISED


@dataclass(frozen=True, slots=True)
class CorrespondentPairs:
    """Pairs numbered in order of their first flow (dense flow index); ``flow_pair[f]`` is
    flow f's pair or −1 (not route-optimised, or a peer without support); the pairs of MN m
    are ``mn_pairs[mn_first[m]:mn_first[m + 1]]``, ascending."""

    flow_pair: np.ndarray  # int32 (F,)
    pair_mn: np.ndarray  # int32 (P,)
    pair_peer: np.ndarray  # int32 (P,)
    mn_first: np.ndarray  # int64 (M + 1,)
    mn_pairs: np.ndarray  # int32 (P,)


def correspondent_pairs(flow_mn: np.ndarray, flow_peer: np.ndarray, flow_class: np.ndarray,
                        classes: np.ndarray, ro_capable: np.ndarray,
                        n_mns: int) -> CorrespondentPairs:
    """One pair per (MN, peer) that has a flow of a route-optimised class to a peer marked in
    ``ro_capable``; ``classes`` is ``class_table``'s output. An MN-to-MN flow (peer −1)
    has none."""
    flow_mn = np.asarray(flow_mn, np.int64)
    flow_peer = np.asarray(flow_peer, np.int64)
    wants = classes[np.asarray(flow_class, np.intp), CLASS_ROUTE_OPTIMISED].astype(bool)
    wants &= (flow_peer >= 0) & np.asarray(ro_capable, bool)[np.maximum(flow_peer, 0)]
    flow_pair = np.full(flow_mn.shape[0], -1, np.int32)
    chosen = np.flatnonzero(wants)
    key = flow_mn[chosen] * (int(ro_capable.shape[0]) + 1) + flow_peer[chosen]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    # Number the pairs by their first flow: rank of each unique key's first occurrence.
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    flow_pair[chosen] = rank[inverse.reshape(-1)]
    firsts = chosen[first[order]]
    pair_mn = flow_mn[firsts].astype(np.int32)
    pair_peer = flow_peer[firsts].astype(np.int32)
    by_mn = np.argsort(pair_mn, kind="stable").astype(np.int32)
    counts = np.bincount(pair_mn, minlength=n_mns) if pair_mn.size else np.zeros(n_mns, np.int64)
    mn_first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return CorrespondentPairs(flow_pair=flow_pair, pair_mn=pair_mn, pair_peer=pair_peer,
                              mn_first=mn_first, mn_pairs=by_mn)
