"""Hypothesis strategies: small random topologies, policies and traces for both engines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from dmmemu.engine.flow_classes import FlowClass
from dmmemu.engine.policy import (
    INTERRUPTION_COMPONENTS,
    MAX_CHAIN_LEVELS,
    SELECT_AT_ATTACH,
    SELECT_CENTRAL,
    SELECT_NAMES,
    SELECT_PER_FLOW,
    PolicyTables,
    native_at_serving,
)
from dmmemu.engine.replay_io import (
    MAX_NETWORK_DEPTH,
    PacketBatch,
    ReplayInput,
    control_events,
)
from dmmemu.engine.signaling import (
    ANCHOR_CONDITIONS,
    AT_MOVE,
    AT_SIGNALING_START,
    CAUSE_CORRESPONDENT,
    CAUSE_DEREGISTRATION,
    CAUSE_HANDOVER,
    CAUSE_NAMES,
    CAUSE_RELOCATION,
    LEVEL_ANCHOR_CONDITIONS,
    MOVING_CAUSES,
    ONCE,
    PAIR_CAUSES,
    PAIR_CONDITIONS,
    PAIR_ROLES,
    PER_ADDRESS,
    ROLE_ANCHOR,
    ROLE_LEVEL,
    ROLE_MN,
    ROLE_NAMES,
    ROLE_PEER,
    ROLE_PREV_ANCHOR,
    ROLE_PREV_LEVEL,
    ROLE_PREV_POA,
    WHEN_ALWAYS,
    WHEN_LEVEL_CHANGED,
    WHEN_LEVEL_KEPT,
    WHEN_MN_HOST,
    WHEN_MN_ROUTER,
    WHEN_TOKEN_STALE,
    Leg,
    MessageKind,
    program_table,
)
from dmmemu.topology.graph import Link, Node, Topology
from dmmemu.trace.mobile_networks import nesting_depth


@dataclass(frozen=True)
class Case:
    """One random engine input: policy, trace arrays, the packet stream in batches and the
    width of a timeline bin (semantics.md §11)."""

    policy: PolicyTables
    replay: ReplayInput
    batches: tuple[PacketBatch, ...]
    timeline_bin_ns: int


@st.composite
def topologies(draw: st.DrawFn, least: int = 1) -> Topology:
    """A connected graph of 3..9 nodes with at least one correspondent and ``least`` PoAs
    and anchors."""
    n_poa = draw(st.integers(least, 3))
    n_anchor = draw(st.integers(least, 3))
    n_cn = draw(st.integers(1, 2))
    n_router = draw(st.integers(0, 1))
    roles = ["poa"] * n_poa + ["anchor"] * n_anchor + ["cn"] * n_cn + ["router"] * n_router
    roles = draw(st.permutations(roles))
    n = len(roles)
    nodes = [Node(id=i, name=f"n{i}", role=r) for i, r in enumerate(roles)]
    delays = st.integers(1, 5).map(lambda x: x * 100.0)
    links = [Link(a=i, b=draw(st.integers(0, i - 1)), delay_us=draw(delays)) for i in range(1, n)]
    for _ in range(draw(st.integers(0, 3))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b:
            links.append(Link(a=a, b=b, delay_us=draw(delays)))
    return Topology.from_parts(nodes, links, name="random")


@st.composite
def programs(draw: st.DrawFn, n_kinds: int, levels: int = 0,
             correspondent: bool = False, localized: bool = False) -> list[Leg]:
    """Random signaling programs (semantics.md §4): up to 5 legs per cause, between any
    roles the cause has, once or per address, in series, in parallel (several legs after the
    same one) and gated, with offsets and caps on the 25 µs grid of the traces; legs at a
    chain level (of ``levels``) name its node and are sent always, only when it changed, or
    only when it did not; some are relayed by a third role with a tunnel. With
    ``correspondent``, a correspondent program (§15) of 1 to 5 legs per address, some of them
    sent only on a stale token. With ``localized``, localized-routing programs (§18) of 1 to 5
    legs per address each, between any roles and the other MN's, some sent only in one case
    of the two MNs' places."""
    legs: list[Leg] = []
    for cause in range(len(CAUSE_NAMES)):
        scopes: list[int] = []
        moving = cause in MOVING_CAUSES
        peer = cause == CAUSE_CORRESPONDENT
        pair = cause in PAIR_CAUSES
        if (peer and not correspondent) or (pair and not localized):
            continue
        for i in range(draw(st.integers(1 if peer or pair else 0, 5))):
            scope = PER_ADDRESS if peer or pair else draw(st.sampled_from([ONCE, PER_ADDRESS]))
            roles = [r for r in range(len(ROLE_NAMES))
                     if (r != ROLE_ANCHOR or scope == PER_ADDRESS)
                     and (r not in (ROLE_PREV_POA, ROLE_PREV_LEVEL) or moving)
                     and (r not in (ROLE_LEVEL, ROLE_PREV_LEVEL) or (levels > 0 and not pair))
                     and (r != ROLE_PEER or peer) and (r not in PAIR_ROLES or pair)
                     and (r != ROLE_PREV_ANCHOR or (cause == CAUSE_RELOCATION
                                                    and scope == PER_ADDRESS))]
            src = draw(st.sampled_from(roles))
            dst = draw(st.sampled_from([r for r in roles if r != src]))
            via = draw(st.sampled_from([-1, -1] + [
                r for r in roles if r not in (src, dst, ROLE_MN, ROLE_PREV_POA, ROLE_PREV_LEVEL)]))
            level = 0 if pair else draw(st.integers(0, levels))
            if level == 0 and {src, dst, via} & {ROLE_LEVEL, ROLE_PREV_LEVEL}:
                level = 1
            when = draw(st.sampled_from(
                [WHEN_ALWAYS] * (6 if pair else 1)
                + ([WHEN_LEVEL_CHANGED, WHEN_LEVEL_KEPT] if level else [])
                + (list(LEVEL_ANCHOR_CONDITIONS) if level and scope == PER_ADDRESS else [])
                + ([WHEN_TOKEN_STALE] * 2 if peer else [])
                + (list(PAIR_CONDITIONS) * 2 if pair else [])
                + (list(ANCHOR_CONDITIONS) if scope == PER_ADDRESS and not level else [])
                + ([WHEN_MN_ROUTER, WHEN_MN_HOST] if not level else [])))

            def reachable(j: int) -> bool:
                return not (scope == PER_ADDRESS and scopes[j] == PER_ADDRESS
                            and ONCE in scopes[j + 1:])

            earlier = [j for j in range(i) if reachable(j)]
            origins = [AT_SIGNALING_START] + (
                [AT_MOVE] if cause in (CAUSE_HANDOVER, CAUSE_DEREGISTRATION) else [])
            after = draw(st.sampled_from(origins + earlier))
            gate = draw(st.sampled_from([-1] + earlier))
            legs.append(Leg(
                cause=cause, kind=draw(st.integers(0, n_kinds - 1)), src=src, dst=dst,
                nbytes=draw(st.integers(40, 130)), scope=scope,
                bytes_per_address=draw(st.sampled_from([0, 0, 36])), after=after,
                offset_ns=draw(st.sampled_from([0, 0, 5_000, 25_000])), gate=gate,
                gate_cap_ns=draw(st.sampled_from([0, 10_000, 100_000])),
                ends=draw(st.booleans()),
                hold=scope == PER_ADDRESS and not (peer or pair) and draw(st.booleans()),
                level=level, when=when, via=via, via_bytes=0 if via < 0 else 40,
                at_poa=draw(st.sampled_from([(), (), (0,), (1, 2), (2,)])),
                at_prev_poa=draw(st.sampled_from(
                    [()] * 3 + ([(0,), (1, 2)] if moving else []))),
                registered=draw(st.sampled_from([None, None, True, False]))
                if scope == PER_ADDRESS else None))
            scopes.append(scope)
    return legs


@st.composite
def policies(draw: st.DrawFn, topology: Topology, route_optimised: bool = False,
             mobile_networks: bool = False, localized: bool = False,
             graceful: bool = False, relocating: bool = False) -> PolicyTables:
    """Any combination of the mechanisms, not only the registered practices;
    ``route_optimised``: always with correspondent bindings (§15), every peer taking part;
    ``mobile_networks``: MNs ride behind routers (§16), with a home anchor and no route
    optimisation; ``localized``: localized routing (§18) in some of the four cases, with
    always-registered home addresses; ``graceful``: every class a grace period (§7.2), its
    flows on addresses they keep; ``relocating``: always a relocation of the home address
    (§5 step 9a), the first two PoAs served apart."""
    n = topology.n_nodes
    anchors = topology.nodes_with_role("anchor")
    poas = topology.nodes_with_role("poa")
    anchor = st.sampled_from(anchors.tolist())
    serving = np.full(n, -1, np.int32)
    for i, p in enumerate(poas):  # graceful, relocating: the first two PoAs served apart
        serving[p] = anchors[i] if (graceful or relocating) and i < 2 else draw(anchor)
    # Chains of 0 to MAX_CHAIN_LEVELS levels; a level's node is absent, the serving anchor,
    # an anchor, or the PoA itself, so nodes coincide with the anchor and with each other.
    levels = draw(st.integers(0, MAX_CHAIN_LEVELS))
    chain = np.full((levels, n), -1, np.int32)
    for k in range(levels):
        for p in poas:
            chain[k, p] = draw(st.one_of(st.just(-1), st.just(int(serving[p])), anchor,
                                         st.just(int(p))))
    segment_bytes = np.array([draw(st.sampled_from([20, 36, 40, 80])) for _ in
                              range(levels + 1)], np.int32)
    access_bytes = np.zeros(n, np.int32)
    if draw(st.booleans()):  # IPv4 transport (-20) or UDP behind a NAT (+8) at some PoAs
        for p in poas:
            access_bytes[p] = draw(st.sampled_from([-20, 0, 8]))
    apps = ("voice", "web")
    cns = topology.nodes_with_role("cn").tolist()
    # §7.3 offload gateways: none, an anchor, or the PoA's first chain level (a gateway
    # collocated with the SGW); §7.5 levels some anchors' addresses bypass.
    gateways = np.full(n, -1, np.int32)
    bypass = np.zeros(n, np.uint8)
    if draw(st.booleans()):
        for p in poas:
            gateways[p] = draw(st.one_of(st.just(-1), anchor,
                                         st.just(int(chain[0, p]) if levels else -1)))
        for a in anchors:
            bypass[a] = draw(st.integers(0, (1 << levels) - 1))
    homed = route_optimised or mobile_networks or localized or relocating
    select = draw(st.sampled_from(
        sorted(set(SELECT_NAMES) - ({SELECT_PER_FLOW} if homed else set()))
        if not graceful else [SELECT_PER_FLOW, SELECT_PER_FLOW, SELECT_AT_ATTACH]))
    # Route optimisation (§15) binds the MN's home address: any selection but per-flow.
    ro = route_optimised or (select != SELECT_PER_FLOW and not mobile_networks
                             and draw(st.booleans()))

    def kind_of_path() -> dict[str, object]:
        """A class's anchor and path: by the policy or local, direct or not, or (with ro)
        route-optimised."""
        if ro and draw(st.sampled_from([True, True, False])):
            return {"anchor": "policy", "route_optimised": True}
        return {"anchor": draw(st.sampled_from(["policy", "local", "offload"])),
                "direct": draw(st.booleans())}

    def with_grace(path: dict[str, object]) -> dict[str, object]:
        """Sometimes a grace period (§7.2), on a class that keeps an address it may have."""
        if graceful:
            path = {"anchor": draw(st.sampled_from(["policy", "offload"]))}
        if path.get("anchor") != "local" and not path.get("direct") and not path.get(
                "route_optimised"):
            path = {**path, "grace_ns": draw(st.sampled_from(
                [0, 20_000, 150_000] if graceful else [None, None, 0, 20_000, 150_000]))}
        return path

    classes = [FlowClass(name=f"class {i}", **with_grace(kind_of_path()),
                         on_loss=draw(st.sampled_from(["break", "renumber"])),
                         continuity=draw(st.sampled_from([None, False, True])),
                         apps=draw(st.sampled_from([None, apps[:1], apps])),
                         address_types=draw(st.sampled_from(
                             [None, ("non-persistent",), ("fixed", "session-lasting")])),
                         peers=draw(st.sampled_from([None, None, tuple(cns[:1]), tuple(cns)])),
                         share=draw(st.sampled_from([None, None, 0.5])),
                         seed=draw(st.integers(0, 3)))
               for i in range(draw(st.integers(0, 2)))]
    rest = ({"anchor": "policy", "route_optimised": True} if route_optimised
            else {"anchor": "policy"} if relocating or (localized and draw(st.booleans()))
            else kind_of_path())
    classes.append(FlowClass(name="rest", **with_grace(rest),
                             on_loss=draw(st.sampled_from(["break", "renumber"]))))
    ro = any(c.route_optimised for c in classes)
    ro_capable = np.zeros(n, np.uint8)
    for c in topology.nodes_with_role("cn"):
        ro_capable[c] = 1 if route_optimised else draw(st.sampled_from([0, 1, 1]))
    scope = np.ones((n, n), np.uint8)
    if draw(st.sampled_from([True, True, False])):  # often: releases (§5 step 5)
        for a in anchors:
            for p in poas:
                scope[a, p] = draw(st.sampled_from([0, 1]))
    native_cells = np.zeros((n, n), np.uint8)  # any anchor native at any PoA
    for a in anchors:
        for p in poas:
            native_cells[a, p] = draw(st.sampled_from([0, 0, 1]))
    candidates = np.array(sorted(draw(st.sets(anchor, min_size=1))), np.int32)
    n_kinds = draw(st.integers(1, 3))
    kinds = tuple(MessageKind(f"m{k}", f"m{k}", reply=k % 2 == 1) for k in range(n_kinds))
    # PoA classes 0..2 (IPv6, IPv4, behind a NAT) and, at some PoAs, a refresh period of its
    # own (a NAT keepalive shorter than the lifetime, or none).
    lifetime = draw(st.sampled_from([0, 1_000, 25_000, 400_000]))
    poa_class = np.zeros(n, np.uint8)
    refresh = np.full(n, lifetime, np.int64)
    for p in poas:
        poa_class[p] = draw(st.sampled_from([0, 0, 1, 2]))
        refresh[p] = draw(st.sampled_from([lifetime, lifetime, 0, 5_000, 110_000]))
    always_registered = localized or relocating or draw(st.booleans())
    # §5 step 9a: relocation of the home address, kept or renewed, by distance or load.
    relocation = draw(st.sampled_from([1, 2] if relocating else [0, 0, 1, 2])
                      ) if always_registered else 0
    return PolicyTables(
        relocation=relocation, relocation_trigger=draw(st.integers(0, 1)),
        relocation_gain_ns=draw(st.sampled_from([0, 5_000, 50_000])),
        relocation_load=draw(st.integers(1, 2)),
        select=select, central=draw(anchor) if select == SELECT_CENTRAL else -1,
        candidates=candidates,
        serving=serving, chain=chain, segment_bytes=segment_bytes, access_bytes=access_bytes,
        direct_bytes=draw(st.sampled_from([0, 48])), flow_classes=tuple(classes), scope=scope,
        always_registered=always_registered,
        native=draw(st.sampled_from([np.zeros((n, n), np.uint8), native_at_serving(serving),
                                     native_cells])),
        buffering=draw(st.booleans()),
        message_kinds=kinds,
        legs=program_table(draw(programs(n_kinds, levels, correspondent=ro,
                                         localized=localized)), n_kinds),
        ro_capable=ro_capable,
        select_for_new_sessions_only=draw(st.booleans()),
        token_lifetime_ns=draw(st.sampled_from([0, 25_000, 200_000])),
        correspondent_refresh_ns=draw(st.sampled_from([50_000, 300_000])) if ro else 0,
        third_node=draw(st.integers(0, n - 1)),
        binding_outlives_detach=draw(st.booleans()),
        detach_release_ns=draw(st.sampled_from([-1, 0, 50_000, 300_000])),
        deprecated_lifetime_ns=draw(st.sampled_from([-1, -1, 0, 30_000, 200_000])),
        lifetime_ns=lifetime,
        poa_class=poa_class, refresh_ns=refresh,
        interruption_ns=np.array(
            [[draw(st.integers(0, 3)) * 5_000 for _ in range(2)]
             for _ in INTERRUPTION_COMPONENTS], np.int64),
        first_ack_hold_ns=draw(st.sampled_from([0, 0, 7_000, 60_000])),
        mobile_networks=mobile_networks, bypass=bypass,
        # per class, the gateways drawn or none (each offload class its own row)
        offload=np.array([gateways if draw(st.booleans()) else np.full(n, -1, np.int32)
                          for _ in classes], np.int32).reshape(len(classes), n),
        local_routing=draw(st.sampled_from([15, 7, 1, 3, 5])) if localized else 0,
        local_tunnel_bytes=draw(st.sampled_from([0, 40])) if localized else 0,
    )


@st.composite
def cases(draw: st.DrawFn, crowded: bool = False, route_optimised: bool = False,
          mobile_networks: bool = False, localized: bool = False,
          graceful: bool = False, relocating: bool = False) -> Case:
    """A topology, a policy and a short trace with clustered times (ties are common);
    ``crowded``: hundreds of flows on a few MNs, so that the address pool, the timer heap
    and the per-address signaling grow past their first allocations; ``mobile_networks``:
    up to 5 MNs that join, leave and switch mobile routers, nested (§16); ``localized``:
    localized routing (§18), most flows between two MNs; ``graceful``: grace periods (§7.2);
    ``relocating``: relocations of the home address at handovers (§5 step 9a)."""
    topology = draw(topologies(least=2 if graceful or relocating else 1))  # somewhere to go
    policy = draw(policies(topology, route_optimised, mobile_networks, localized, graceful,
                           relocating))
    poas = topology.nodes_with_role("poa").tolist()
    cns = topology.nodes_with_role("cn").tolist()
    n_mns = draw(st.integers(2, 5) if mobile_networks else st.integers(2, 4) if localized
                 else st.integers(1, 2) if graceful else st.integers(1, 3))
    moving = localized or graceful or relocating  # many moves (between MNs' flows, inside
    # grace periods, between anchors)
    horizon = 1_000_000
    time = st.integers(0, 40).map(lambda x: x * (horizon // 40))

    mob = sorted(
        (draw(time), draw(st.integers(0, n_mns - 1)),
         draw(st.sampled_from(poas * (3 if moving else 1) + [-1])))
        for _ in range(draw(st.integers(4 if moving else 0, 16 if moving else 12)))
    )
    mob_t = np.array([m[0] for m in mob], np.int64)
    mob_mn = np.array([m[1] for m in mob], np.int32)
    mob_poa = np.array([m[2] for m in mob], np.int32)
    networks = draw(network_rows(n_mns, time)) if mobile_networks else []
    net = (np.array([r[0] for r in networks], np.int64),
           np.array([r[1] for r in networks], np.int32),
           np.array([r[2] for r in networks], np.int32))
    mn_router = np.zeros(n_mns, np.uint8)
    mn_router[net[2][net[2] >= 0]] = 1

    n_flows = draw(st.integers(150, 300) if crowded else st.integers(1, 5))
    if crowded:  # evenly spaced ids (drawing hundreds of distinct ones is slow)
        flow_ids = (np.arange(n_flows, dtype=np.uint64) * np.uint64(draw(st.integers(1, 3)))
                    + np.uint64(draw(st.integers(0, 50))))
    else:
        flow_ids = np.array(sorted(draw(st.sets(st.integers(0, 50), min_size=n_flows,
                                                max_size=n_flows))), np.uint64)
    spans = [sorted((draw(time), draw(time))) for _ in range(n_flows)]
    flow_start = np.array([s[0] for s in spans], np.int64)
    flow_end = np.array([s[1] for s in spans], np.int64)

    packets = []
    for f in range(n_flows):
        for _ in range(draw(st.integers(0, 2 if crowded else 8))):
            t = draw(st.integers(int(flow_start[f]), int(flow_end[f])))
            packets.append((t, int(flow_ids[f]), draw(st.integers(20, 1500)),
                            draw(st.integers(0, 1))))
    packets.sort(key=lambda p: p[0])
    t_all = ([int(flow_end.max())] + ([int(mob_t.max())] if mob else [])
             + [r[0] for r in networks] + [p[0] for p in packets])
    ev = control_events(mob_t, mob_mn, mob_poa, flow_start, flow_end, networks=net)
    flow_mn = [draw(st.integers(0, n_mns - 1)) for _ in range(n_flows)]
    # §17: some flows go to another MN (peer -1), where there is one.
    others = 3 if localized else 1  # draws of another MN against three of a correspondent
    peer_mn = [draw(st.sampled_from([-1, -1, -1] + [q for q in range(n_mns) if q != mn] * others))
               for mn in flow_mn]
    replay = ReplayInput(
        n_mns=n_mns, hops=topology.hops, delay_ns=topology.delay_ns, flow_ids=flow_ids,
        flow_mn=np.array(flow_mn, np.int32),
        flow_peer=np.array([draw(st.sampled_from(cns)) if q < 0 else -1 for q in peer_mn],
                           np.int32),
        flow_peer_mn=np.array(peer_mn, np.int32),
        flow_start=flow_start, flow_end=flow_end,
        flow_continuity=np.array([draw(st.booleans()) for _ in range(n_flows)], np.uint8),
        ev_t=ev[0], ev_kind=ev[1], ev_a=ev[2], ev_b=ev[3], ev_row=ev[4],
        n_mobility_rows=len(mob), t_begin=min([0] + t_all), t_end=max(t_all),
        flow_app=np.array([draw(st.sampled_from([-1, 0, 1])) for _ in range(n_flows)],
                          np.int32),
        app_names=("voice", "web"),
        flow_address_type=np.array([draw(st.sampled_from([-1, 0, 1, 2, 3]))
                                    for _ in range(n_flows)], np.int8),
        n_network_rows=len(networks), mn_router=mn_router,
        network_depth=nesting_depth(net[1], net[2]),
    )
    cut_points = sorted(draw(st.sets(st.integers(1, max(len(packets) - 1, 1)), max_size=3)))
    # Bins of 1..400 µs: 3 to 1001 bins on the 1 ms horizon (narrower ones would only make
    # the arrays big). Multiples of the 25 µs event grid put moves, flow starts and flow ends
    # exactly on bin edges; lifetimes of 1 µs and 25 µs put one refresh or several in a bin.
    timeline_bin_ns = draw(st.one_of(st.integers(1_000, 400_000),
                                     st.sampled_from([1_000, 25_000, 50_000, 125_000])))
    return Case(policy=policy, replay=replay, batches=split_batches(packets, cut_points),
                timeline_bin_ns=timeline_bin_ns)


@st.composite
def network_rows(draw: st.DrawFn, n_mns: int, time: st.SearchStrategy[int]
                 ) -> list[tuple[int, int, int]]:
    """Rows of networks.parquet (t, MN, router or -1) in time order: MNs join, switch and
    leave routers, nested up to MAX_NETWORK_DEPTH, never behind themselves (a row that would
    loop or nest deeper is dropped, as the reader would refuse it)."""
    rows = []
    riding: dict[int, int] = {}
    for t in sorted(draw(time) for _ in range(draw(st.integers(0, 8)))):
        mn = draw(st.integers(0, n_mns - 1))
        router = draw(st.sampled_from([-1] + [r for r in range(n_mns) if r != mn]))
        trial = dict(riding)
        trial.pop(mn, None)
        if router >= 0:
            trial[mn] = router
        if _depth_of(trial) is None:
            continue
        riding = trial
        rows.append((t, mn, router))
    return rows


def _depth_of(riding: dict[int, int]) -> int | None:
    """The most routers above one MN, None if some MN rides behind itself or deeper than
    MAX_NETWORK_DEPTH."""
    deepest = 0
    for mn in riding:
        seen, node = {mn}, mn
        while node in riding:
            node = riding[node]
            if node in seen:
                return None
            seen.add(node)
        deepest = max(deepest, len(seen) - 1)
    return deepest if deepest <= MAX_NETWORK_DEPTH else None


def split_batches(packets: list[tuple[int, int, int, int]],
                  cut_points: list[int]) -> tuple[PacketBatch, ...]:
    """Packet rows as batches cut before each index in ``cut_points``."""
    bounds = [0] + [c for c in cut_points if 0 < c < len(packets)] + [len(packets)]
    batches = []
    for lo, hi in zip(bounds, bounds[1:]):
        rows = packets[lo:hi]
        batches.append(PacketBatch(
            np.array([p[0] for p in rows], np.int64), np.array([p[1] for p in rows], np.uint64),
            np.array([p[2] for p in rows], np.uint16), np.array([p[3] for p in rows], np.uint8),
            lo,
        ))
    return tuple(batches)
