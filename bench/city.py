"""A city-sized benchmark trace: many MNs walking a grid of ARs, flows in random id order.

Not a mobility model (the synthetic generator has those): a load shape for the replay core,
sized like a city and built with numpy in a minute. Each MN attaches within the first
minute and then makes Poisson(``moves_per_mn_hour``) moves to a grid neighbour of its AR;
flows have random MNs, uniform starts, exponential durations (mean 300 s) and ids that are a
random permutation (unrelated to start order, so consecutive packets touch unrelated flow
state); packets are spread uniformly inside their flows, two thirds downlink.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

S = 1_000_000_000


def _reflect(x: np.ndarray, size: int) -> np.ndarray:
    """A walk on 0..size-1 that bounces off both ends (a triangle wave of period 2(size-1))."""
    if size == 1:
        return np.zeros_like(x)
    period = 2 * (size - 1)
    x = np.mod(x, period)
    return np.where(x < size, x, period - x)


def city_trace(path: Path, *, packets: int, mns: int, flows: int, seed: int,
               side: int = 16, duration_s: int = 3600, moves_per_mn_hour: float = 30.0) -> Path:
    from dmmemu.topology.generators import FlatWifi
    from dmmemu.trace.writer import write_trace

    rng = np.random.default_rng(seed)
    topology = FlatWifi(rows=side, cols=side, correspondents=16).build()
    ar = {node.name: node.id for node in topology.nodes if node.role == "poa"}
    ar_grid = np.array([[ar[f"ar{r}.{c}"] for c in range(side)] for r in range(side)])
    cns = topology.nodes_with_role("cn")
    end = duration_s * S

    # Mobility: per MN one attach and Poisson moves, a grid random walk.
    n_moves = rng.poisson(moves_per_mn_hour * duration_s / 3600, mns)
    rows_per_mn = n_moves + 1
    mn = np.repeat(np.arange(mns, dtype=np.int64), rows_per_mn)
    first = np.concatenate([[0], np.cumsum(rows_per_mn)[:-1]])
    attach_t = rng.integers(0, 60 * S, mns)
    t = rng.integers(np.repeat(attach_t, rows_per_mn), end)
    t[first] = attach_t
    order = np.lexsort((t, mn))  # by MN, then time: the walk's order
    t = t[order]
    step = rng.integers(0, 4, mn.size)
    dr = np.where(step == 0, 1, np.where(step == 1, -1, 0))
    dc = np.where(step == 2, 1, np.where(step == 3, -1, 0))
    dr[first], dc[first] = rng.integers(0, side, mns), rng.integers(0, side, mns)
    walk_r = np.cumsum(dr) - np.repeat(np.cumsum(dr)[first] - dr[first], rows_per_mn)
    walk_c = np.cumsum(dc) - np.repeat(np.cumsum(dc)[first] - dc[first], rows_per_mn)
    poa = ar_grid[_reflect(walk_r, side), _reflect(walk_c, side)]
    by_time = np.argsort(t, kind="stable")
    mobility = {"t": t[by_time], "mn": mn[by_time], "poa": poa[by_time]}

    # Flows: ids a random permutation, unrelated to their start order.
    start = rng.integers(60 * S, end - 60 * S, flows)
    length = np.minimum(rng.exponential(300 * S, flows).astype(np.int64) + S, end - start)
    ids = rng.permutation(flows).astype(np.uint64)
    flow_table = {"flow": ids, "mn": rng.integers(0, mns, flows),
                  "peer": rng.choice(cns, flows), "start": start, "end": start + length,
                  "continuity": rng.random(flows) < 0.8}

    # Packets: a share of the total per flow by its length, uniform times inside it.
    per_flow = rng.multinomial(packets, length / length.sum())
    owner = np.repeat(np.arange(flows), per_flow)
    packet_t = start[owner] + (rng.random(packets) * length[owner]).astype(np.int64)
    by_time = np.argsort(packet_t, kind="stable")
    packet_t = packet_t[by_time]
    owner = owner[by_time]
    downlink = rng.random(packets) < 2 / 3
    packet_table = {"t": packet_t, "flow": ids[owner],
                    "size": np.where(downlink, 1000, 64).astype(np.uint16),
                    "dir": downlink.astype(np.uint8)}
    return write_trace(path, name=path.name, topology=topology, mobility=mobility,
                       flows=flow_table, packets=packet_table, overwrite=True,
                       manifest={"description": f"city load shape: {mns} MNs, {flows} flows, "
                                                f"{packets} packets (bench/city.py)",
                                 "seed": seed})
