"""Hand-computed runs of one MN (or a few) on a generated topology, on both engines: the
harness the practice tests share (test_route_optimisation, test_distributed_home_agents,
test_dsmipv6, test_hmipv6, test_nemo)."""

from __future__ import annotations

import numpy as np
import pytest

from dmmemu.engine.policy import PolicyTables
from dmmemu.engine.reference import ReferenceReplay
from dmmemu.engine.replay_io import (
    PacketBatch,
    RawCounters,
    ReplayInput,
    control_events,
)
from dmmemu.topology.graph import Topology
from dmmemu.trace.mobile_networks import nesting_depth


def engines() -> list:
    """The reference engine and the compiled core, as pytest parameters."""
    from dmmemu._core.replay import Replay

    return [pytest.param(ReferenceReplay, id="reference"), pytest.param(Replay, id="core")]


def one_mn(topology: Topology, moves: list[tuple[int, int]],
           flows: list[tuple[int, int, int, int]], end: int) -> ReplayInput:
    """MN 0 moving as ``moves`` says ((t, PoA), in time order), with ``flows`` ((id, peer,
    start, end), ascending ids, all needing continuity); the trace ends at ``end``."""
    ev = control_events(np.array([m[0] for m in moves], np.int64),
                        np.zeros(len(moves), np.int32),
                        np.array([m[1] for m in moves], np.int32),
                        np.array([f[2] for f in flows], np.int64),
                        np.array([f[3] for f in flows], np.int64))
    return ReplayInput(
        n_mns=1, hops=topology.hops, delay_ns=topology.delay_ns,
        flow_ids=np.array([f[0] for f in flows], np.uint64),
        flow_mn=np.zeros(len(flows), np.int32),
        flow_peer=np.array([f[1] for f in flows], np.int32),
        flow_start=np.array([f[2] for f in flows], np.int64),
        flow_end=np.array([f[3] for f in flows], np.int64),
        flow_continuity=np.ones(len(flows), np.uint8),
        ev_t=ev[0], ev_kind=ev[1], ev_a=ev[2], ev_b=ev[3], ev_row=ev[4],
        n_mobility_rows=len(moves), t_begin=0, t_end=end)


def mns_trace(topology: Topology, moves: list[tuple[int, int, int]],
              flows: list[tuple[int, ...]], end: int,
              networks: list[tuple[int, int, int]] = ()) -> ReplayInput:
    """Several MNs: ``moves`` ((t, MN, PoA), in time order), ``flows`` ((id, MN, peer,
    start, end), ascending ids, all needing continuity; a sixth item names the other MN of
    an MN-to-MN flow, whose peer is -1, semantics.md §17) and the rows of networks.parquet
    ``networks`` ((t, MN, router or -1), in time order; semantics.md §16)."""
    net = (np.array([r[0] for r in networks], np.int64),
           np.array([r[1] for r in networks], np.int32),
           np.array([r[2] for r in networks], np.int32))
    ev = control_events(np.array([m[0] for m in moves], np.int64),
                        np.array([m[1] for m in moves], np.int32),
                        np.array([m[2] for m in moves], np.int32),
                        np.array([f[3] for f in flows], np.int64),
                        np.array([f[4] for f in flows], np.int64), networks=net)
    n_mns = 1 + max([m[1] for m in moves] + [f[1] for f in flows])
    routers = np.zeros(n_mns, np.uint8)
    routers[[r[2] for r in networks if r[2] >= 0]] = 1
    return ReplayInput(
        n_mns=n_mns, hops=topology.hops, delay_ns=topology.delay_ns,
        flow_ids=np.array([f[0] for f in flows], np.uint64),
        flow_mn=np.array([f[1] for f in flows], np.int32),
        flow_peer=np.array([f[2] for f in flows], np.int32),
        flow_start=np.array([f[3] for f in flows], np.int64),
        flow_end=np.array([f[4] for f in flows], np.int64),
        flow_continuity=np.ones(len(flows), np.uint8),
        flow_peer_mn=np.array([f[5] if len(f) > 5 else -1 for f in flows], np.int32),
        ev_t=ev[0], ev_kind=ev[1], ev_a=ev[2], ev_b=ev[3], ev_row=ev[4],
        n_mobility_rows=len(moves), t_begin=0, t_end=end, n_network_rows=len(networks),
        mn_router=routers, network_depth=nesting_depth(net[1], net[2]))


def replay(engine, tables: PolicyTables, trace: ReplayInput,
           packets: list[tuple[int, int, int, int]]) -> RawCounters:
    """Feed ``packets`` ((t, flow id, size, dir), in time order) as one batch and finish."""
    e = engine(tables, trace)
    e.feed(PacketBatch(np.array([p[0] for p in packets], np.int64),
                       np.array([p[1] for p in packets], np.uint64),
                       np.array([p[2] for p in packets], np.uint16),
                       np.array([p[3] for p in packets], np.uint8), 0))
    return e.finish()
