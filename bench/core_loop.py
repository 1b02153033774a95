"""Packets per second of the compiled core's hot loop on a synthetic in-memory workload.

Usage: python bench/core_loop.py [--packets 20000000] [--batch 1000000] [--practice dmm]

The workload: a random tree of a few hundred nodes (cns, anchors, PoAs), 1,000 MNs attached
at t=0, 20,000 flows over the whole trace (dense ids), a few thousand handovers, packets of
random flows at strictly increasing times. Generation is not timed; feed() + finish() are.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dmmemu._core.replay import Replay
from dmmemu.engine.policy import (
    SELECT_CENTRAL,
    SELECT_PER_FLOW,
    PolicyTables,
    interruption_table,
    native_at_serving,
)
from dmmemu.engine.replay_io import (
    EV_FLOW_END,
    EV_FLOW_START,
    EV_MOVE,
    PacketBatch,
    ReplayInput,
)
from dmmemu.engine.signaling import (
    ROLE_MN,
    ROLE_SERVING,
    MessageKind,
    program_table,
    request_reply_program,
)


def topology(rng, n_nodes):
    """Random tree: hop counts and delays (1..5 us links) by Floyd-Warshall on the delay."""
    delay = np.full((n_nodes, n_nodes), np.iinfo(np.int64).max // 4, np.int64)
    np.fill_diagonal(delay, 0)
    for v in range(1, n_nodes):
        u = int(rng.integers(0, v))
        delay[u, v] = delay[v, u] = int(rng.integers(1, 6)) * 1000
    hops = np.where(delay == 0, 0, np.where(delay < np.iinfo(np.int64).max // 4, 1, 10**6))
    for k in range(n_nodes):
        via = delay[:, k, None] + delay[None, k, :]
        via_h = hops[:, k, None] + hops[None, k, :]
        better = (via < delay) | ((via == delay) & (via_h < hops))
        delay = np.where(better, via, delay)
        hops = np.where(better, via_h, hops)
    return hops.astype(np.uint16), delay


def workload(args):
    rng = np.random.default_rng(args.seed)
    n, n_cn, n_anchor = args.nodes, 10, 30
    hops, delay = topology(rng, n)
    anchors = np.arange(n_cn, n_cn + n_anchor)
    poas = np.arange(n_cn + n_anchor, n)
    serving = np.full(n, -1, np.int32)
    serving[poas] = anchors[np.argmin(delay[np.ix_(poas, anchors)], axis=1)]
    serving[anchors] = anchors
    kinds = (MessageKind("PBU", "PBU"), MessageKind("PBA", "PBA", reply=True))
    common = {
        "serving": serving, "chain": np.full((1, n), -1, np.int32),
        "segment_bytes": np.array([40, 0], np.int32),
        "scope": np.ones((n, n), np.uint8), "buffering": False, "lifetime_ns": 10**9, "message_kinds": kinds,
        "interruption_ns": interruption_table(l2_attach=50_000, movement_detection=100_000),
        "first_ack_hold_ns": 0,
    }
    if args.practice == "dmm":
        legs = program_table(request_reply_program(ROLE_SERVING, (72, 56)), len(kinds))
        policy = PolicyTables(select=SELECT_PER_FLOW, central=-1, always_registered=False,
                              native=native_at_serving(serving), legs=legs, **common)
    else:
        legs = program_table(request_reply_program(ROLE_MN, (72, 56)), len(kinds))
        policy = PolicyTables(select=SELECT_CENTRAL, central=int(anchors[0]),
                              always_registered=True, native=np.zeros((n, n), np.uint8),
                              legs=legs, **common)

    n_mns, n_flows, n_packets, n_moves = args.mns, args.flows, args.packets, args.moves
    t_end = n_packets * 1000  # one packet per us on average
    flow_mn = rng.integers(0, n_mns, n_flows).astype(np.int32)
    flow_peer = rng.integers(0, n_cn, n_flows).astype(np.int32)
    move_t = np.sort(rng.integers(1, t_end, n_moves))
    move_mn = rng.integers(0, n_mns, n_moves)
    move_to = rng.choice(poas, n_moves)
    # attaches at 0, flow starts at 0, moves, flow ends at t_end: already in (t, kind, row) order
    rows = n_mns + n_moves
    ev_t = np.concatenate([np.zeros(n_mns + n_flows, np.int64), move_t, np.full(n_flows, t_end)])
    ev_kind = np.concatenate([np.full(n_mns, EV_MOVE), np.full(n_flows, EV_FLOW_START),
                              np.full(n_moves, EV_MOVE), np.full(n_flows, EV_FLOW_END)]).astype(np.int8)
    ev_a = np.concatenate([np.arange(n_mns), np.arange(n_flows), move_mn, np.arange(n_flows)]).astype(np.int32)
    ev_b = np.concatenate([rng.choice(poas, n_mns), np.zeros(n_flows), move_to, np.zeros(n_flows)]).astype(np.int32)
    ev_row = np.concatenate([np.arange(n_mns), np.arange(n_flows), n_mns + np.arange(n_moves),
                             np.arange(n_flows)]).astype(np.int64)
    rin = ReplayInput(
        n_mns=n_mns, hops=hops, delay_ns=delay, flow_ids=np.arange(n_flows, dtype=np.uint64),
        flow_mn=flow_mn, flow_peer=flow_peer, flow_start=np.zeros(n_flows, np.int64),
        flow_end=np.full(n_flows, t_end, np.int64), flow_continuity=np.ones(n_flows, np.uint8),
        ev_t=ev_t, ev_kind=ev_kind, ev_a=ev_a, ev_b=ev_b, ev_row=ev_row,
        n_mobility_rows=rows, t_begin=0, t_end=t_end,
    )
    t = np.sort(rng.integers(0, t_end, n_packets))
    flow = rng.integers(0, n_flows, n_packets).astype(np.uint64)
    size = rng.integers(20, 1500, n_packets).astype(np.uint16)
    direction = rng.integers(0, 2, n_packets).astype(np.uint8)
    return policy, rin, (t, flow, size, direction)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=20_000_000)
    ap.add_argument("--batch", type=int, default=1_000_000)
    ap.add_argument("--mns", type=int, default=1_000)
    ap.add_argument("--flows", type=int, default=20_000)
    ap.add_argument("--moves", type=int, default=5_000)
    ap.add_argument("--nodes", type=int, default=300)
    ap.add_argument("--practice", choices=("dmm", "central"), default="dmm")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    policy, rin, (t, flow, size, direction) = workload(args)
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        engine = Replay(policy, rin)
        for lo in range(0, args.packets, args.batch):
            hi = min(lo + args.batch, args.packets)
            engine.feed(PacketBatch(t=t[lo:hi], flow=flow[lo:hi], size=size[lo:hi],
                                    dir=direction[lo:hi], first_row=lo))
        counters = engine.finish()
        best = min(best, time.perf_counter() - start)
    delivered = int(counters.flow_packets.sum() - counters.flow_lost.sum())
    print(f"{args.practice}: {args.packets:,} packets ({delivered:,} delivered, "
          f"{int((counters.ho_kind == 3).sum()):,} handovers) in {best:.3f} s "
          f"= {args.packets / best / 1e6:.1f} M packets/s (best of {args.repeat})")


if __name__ == "__main__":
    main()
