"""Result tables recomputed apart from ``build_result``: polars over the reference engine's
per-packet and per-message records (its ``ReplayObserver``), against the tables a core run
returns. What both engines share (the counters' meaning, the table assembly) is checked here
against an independent reading of the same run (DESIGN.md "Correctness")."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import dmmemu
from dmmemu.engine.reference import ReferenceReplay
from dmmemu.engine.replay_io import CAUSE_NAMES
from dmmemu.practices import PRACTICES, get_practice
from dmmemu.topology.graph import ROLE_CODES
from dmmemu.trace.reader import Trace
from traces import grid_trace

pytest.importorskip("dmmemu._core.replay", reason="the compiled core is not built")


class Records:
    """Every delivered packet and every message, as plain rows."""

    def __init__(self, hops, peer_of: dict[int, int]) -> None:
        self.hops, self.peer_of = hops, peer_of
        self.packets: list[tuple] = []
        self.messages: list[tuple] = []

    def delivered(self, t, wait, flow, direction, size, anchor, segments):
        # The path starts where its first segment does: the anchor, or the peer (direct).
        peer, head, poa = self.peer_of[flow], segments[0][0], segments[-1][1]
        hops = int(self.hops[peer, head]) + sum(int(self.hops[u, v]) for u, v, _, _ in segments)
        overhead = sum(encap for _, _, encap, _ in segments)
        overhead_hops = sum(encap * int(self.hops[u, v]) for u, v, encap, _ in segments)
        forwarder = -1 if head == peer else anchor  # a direct packet passes no anchor
        self.packets.append((flow, forwarder, size, hops, int(self.hops[peer, poa]), overhead,
                             overhead_hops))

    def message(self, t, cause, kind, src, dst, size, mn, poa, anchor, via, tunnel, pair=None):
        def part(a: int, b: int) -> int:  # hops of one part; the MN (-1) is at its PoA
            return int(self.hops[poa if a < 0 else a, poa if b < 0 else b]) + (a < 0) + (b < 0)

        if via < 0:
            byte_hops = size * part(src, dst)
        elif dst < 0:  # the relay's tunnel lies on the MN's side
            byte_hops = size * part(src, via) + (size + tunnel) * part(via, dst)
        else:
            byte_hops = (size + tunnel) * part(src, via) + size * part(via, dst)
        self.messages.append((cause, kind, size, byte_hops, src, dst, via))


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> Trace:
    return Trace.open(grid_trace(tmp_path_factory.mktemp("assembly") / "grid"))


@pytest.mark.parametrize("key", list(PRACTICES))
def test_tables_recomputed_from_the_reference_records(trace, key):
    practice = get_practice(key)
    tables = practice.compile(trace.topology)
    peer_of = dict(zip(trace.flows["flow"].to_list(), trace.flows["peer"].to_list()))
    records = Records(trace.topology.hops, peer_of)
    engine = ReferenceReplay(tables, trace.replay_input(), observer=records)
    for batch in trace.packet_batches():
        engine.feed(batch)
    engine.finish()
    result = dmmemu.run(trace, practice, engine="core")

    packets = pl.DataFrame(records.packets, orient="row", schema=[
        "flow", "anchor", "size", "hops", "direct", "overhead", "overhead_hops"])
    per_flow = packets.group_by("flow").agg(
        delivered=pl.len(), hops_sum=pl.col("hops").sum(), direct_hops_sum=pl.col("direct").sum(),
        overhead_bytes=pl.col("overhead").sum(),
        overhead_byte_hops=pl.col("overhead_hops").sum())
    got = result.flows.select(per_flow.columns).filter(pl.col("delivered") > 0)
    assert got.sort("flow").equals(per_flow.sort("flow").cast(dict(got.schema)))

    per_anchor = packets.filter(pl.col("anchor") >= 0).group_by("anchor").agg(
        packets=pl.len(), bytes=pl.col("size").sum())
    anchors = result.anchors.filter(pl.col("packets") > 0).select("anchor", "packets", "bytes")
    assert anchors.sort("anchor").equals(per_anchor.sort("anchor").cast(dict(anchors.schema)))

    s = result.summary.row(0, named=True)
    assert s["delivered_packets"] == packets.height
    assert s["lost_packets"] == trace.packet_count() - packets.height
    stretch = (packets["hops"] / packets["direct"]).mean()
    assert s["mean_stretch"] == pytest.approx(stretch, rel=1e-12)

    kinds = [k.name for k in tables.message_kinds]
    messages = pl.DataFrame(records.messages, orient="row", schema=[
        "cause", "kind", "bytes", "byte_hops", "src", "dst", "via"])
    per_message = messages.group_by("kind", "cause").agg(
        msgs=pl.len(), bytes=pl.col("bytes").sum(), byte_hops=pl.col("byte_hops").sum()
    ).with_columns(message=pl.col("kind").map_elements(kinds.__getitem__, pl.String),
                   cause=pl.col("cause").map_elements(CAUSE_NAMES.__getitem__, pl.String))
    columns = ["message", "cause", "msgs", "bytes", "byte_hops"]
    signaling = result.signaling.select(columns).sort("message", "cause")
    assert signaling.equals(per_message.select(columns).sort("message", "cause")
                            .cast(dict(signaling.schema)))
    assert s["signaling_msgs"] == messages.height > 0
    # A node's load: the messages it sent, received or relayed.
    table = np.array(records.messages, np.int64).reshape(-1, 7)
    ends, relays = table[:, 4:6].ravel(), table[:, 6]
    nodes = np.concatenate([ends[ends >= 0], relays[relays >= 0]])
    load = np.bincount(nodes, minlength=trace.topology.n_nodes)
    assert result.anchors["signaling_msgs"].to_list() == load[
        result.anchors["anchor"].to_numpy()].tolist()

    # The functions table (RFC 7429 §3). MR: what each anchor forwarded, as counted above.
    functions = result.functions
    mr = functions.filter(pl.col("function") == "MR").select(
        anchor="node", packets="packets", bytes="bytes")
    assert mr.sort("anchor").equals(per_anchor.sort("anchor").cast(dict(mr.schema)))
    # AF: every anchor a flow with continuity was bound to created an address there (a flow
    # without it may use the local address instead, which is not counted: results.md).
    af = functions.filter(pl.col("function") == "AF")
    bound = result.flows.filter(pl.col("continuity") & (pl.col("anchor") >= 0))["anchor"]
    assert set(af["node"].to_list()) >= set(bound.to_list()) and bound.len() > 0
    assert (af["addresses"] > 0).all() and af["packets"].is_null().all()
    # LM and LU messages, from the records, where the practice's roles are told apart by the
    # kind of node at a message's end: the anchor nodes (LM), and the MN (MIPv6's LU) or the
    # PoAs (PMIPv6's LU, the new and the previous MAG).
    roles = trace.topology.roles
    end_kind = np.where(ends < 0, -1, roles[np.maximum(ends, 0)])
    lu_end = {"mipv6": -1, "pmipv6": ROLE_CODES["poa"], "pmipv6-dlma": ROLE_CODES["poa"]}
    if key not in lu_end:  # DMM's serving and anchoring MAARs are both anchor nodes
        return
    for function, kind in {"LM": ROLE_CODES["anchor"], "LU": lu_end[key]}.items():
        at = ends[end_kind == kind]
        nodes, counts = np.unique(at, return_counts=True)
        got = functions.filter(pl.col("function") == function).sort("node")
        assert got["node"].to_list() == nodes.tolist(), function
        assert got["messages"].to_list() == counts.tolist(), function
