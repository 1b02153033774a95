"""The compiled core and the pure-Python reference agree exactly on random inputs.

Random inputs exercise every mechanism combination (not only the registered practices):
anchor selection, chains of 0 to 4 levels with access overrides, flow classes (local,
renumbered on loss, the direct path), native delivery, scope limits, buffering, refresh,
timeline bins (§11); the registered practices are checked on random
traces through ``dmmemu.run`` in ``test_practices.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from strategies import Case, cases

from dmmemu.engine.reference import ReferenceReplay
from dmmemu.errors import PacketRowError

core = pytest.importorskip("dmmemu._core.replay", reason="the compiled core is not built")


def replay_with(engine_cls, case: Case):
    engine = engine_cls(case.policy, case.replay, timeline_bin_ns=case.timeline_bin_ns)
    for batch in case.batches:
        engine.feed(batch)
    return engine.finish()


def record_events(counters, case: Case | None = None) -> None:
    """Tell hypothesis which kinds of event a case exercised (shown with --hypothesis-show-
    statistics), so a strategy that stops reaching one is seen."""
    from dmmemu.engine.flow_classes import classify
    from dmmemu.engine.replay_io import CAUSE_NAMES, EVENT_NAMES, HO_KIND_NAMES

    if case is not None:
        policy = case.policy
        event(f"chain levels: {policy.levels}")
        if policy.access_bytes.any():
            event("access override")
        used = classify(policy.flow_classes, case.replay)[counters.flow_packets > counters.flow_lost]
        for c in {int(u) for u in used}:
            cls = policy.flow_classes[c]
            event(f"delivered: anchor {cls.anchor}, direct {cls.direct}"
                  + (", route-optimised" if cls.route_optimised else ""))
        renumbered = classify(policy.flow_classes, case.replay)[counters.flow_renumbered > 0]
        if any(policy.flow_classes[int(c)].on_loss == "renumber" for c in renumbered):
            event("renumbered after losing its address")
        if any(policy.flow_classes[int(c)].grace_ns is not None for c in renumbered):
            event("renumbered in a class with a grace period")
        if policy.deprecated_lifetime_ns >= 0 and counters.sig_msgs[CAUSE_NAMES.index(
                "release")].any():
            event("deprecated address released (§5.5)")

    for kind, name in enumerate(HO_KIND_NAMES):
        if (counters.ho_kind == kind).any():
            event(f"move: {name}")
    for cause, name in enumerate(CAUSE_NAMES):
        if counters.sig_msgs[cause].any():
            event(f"signaling: {name}")
    for kind in set(counters.event_kind.tolist()):
        event(f"event: {EVENT_NAMES[kind]}")
    for name, field in (("broken flow", "flow_broken"), ("renumbered flow", "flow_renumbered"),
                        ("buffered packet", "flow_delayed"), ("lost packet", "flow_lost"),
                        ("anchor hold", "ho_hold_ns")):
        if getattr(counters, field).any():
            event(name)


def assert_engines_agree(case: Case) -> None:
    """The core's counters equal the reference's on ``case``, field by field."""
    expected = replay_with(ReferenceReplay, case)
    got = replay_with(core.Replay, case)
    record_events(expected, case)
    assert got.differences(expected) == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_core_equals_reference(case: Case) -> None:
    assert_engines_agree(case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(route_optimised=True))
def test_core_equals_reference_with_correspondent_bindings(case: Case) -> None:
    """Route optimisation on every trace (semantics.md §15): return routability, token
    reuse, refreshes, stale bindings, completion timers scheduled by packets."""
    assert_engines_agree(case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(relocating=True))
def test_core_equals_reference_with_relocation(case: Case) -> None:
    """Relocation of the home address at handovers (semantics.md §5 step 9a): kept or
    renewed, by distance or by load, deferred while a flow would break, its flows
    renumbered from the new address's registration."""
    assert_engines_agree(case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(mobile_networks=True))
def test_core_equals_reference_with_mobile_networks(case: Case) -> None:
    """MNs riding behind mobile routers (semantics.md §16): joins, leaves and switches,
    nested routers, routers that detach with riders, and moves that wait for a router."""
    assert_engines_agree(case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(localized=True))
def test_core_equals_reference_with_localized_routing(case: Case) -> None:
    """Localized routing between MNs (semantics.md §18) in any of the four cases: set up at
    a pair's first flow, set up again or torn down at either MN's moves, dropped at a detach
    or when the pair's last flow lets go, completion timers scheduled by packets."""
    assert_engines_agree(case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(graceful=True))
def test_core_equals_reference_with_grace_periods(case: Case) -> None:
    """Grace periods (semantics.md §7.2): flows that leave their address for a new one
    when its grace is over, on the core's cached paths that the grace timers invalidate."""
    assert_engines_agree(case)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases(crowded=True))
def test_core_equals_reference_on_crowded_mns(case: Case) -> None:
    """Hundreds of flows on a few MNs: many addresses per MN, pools that grow."""
    assert_engines_agree(case)


# Each timeline counter (§11) and the per-anchor total it splits by time.
TIMELINE_TOTALS = {
    "timeline_packets": "anchor_packets", "timeline_bytes": "anchor_bytes",
    "timeline_sig_msgs": "anchor_sig_msgs", "timeline_binding_ns": "anchor_binding_ns",
}


@pytest.mark.parametrize("engine_cls", [ReferenceReplay, core.Replay],
                         ids=["reference", "core"])
@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_timeline_sums_to_the_anchor_totals(engine_cls, case: Case) -> None:
    """Summed over the bins, every timeline column is its anchor's total (§11)."""
    got = replay_with(engine_cls, case)
    span = case.replay.t_end - case.replay.t_begin
    assert got.timeline_packets.shape == (span // case.timeline_bin_ns + 1, case.replay.n_nodes)
    for timeline, total in TIMELINE_TOTALS.items():
        assert getattr(got, timeline).sum(axis=0).tolist() == getattr(got, total).tolist()
    assert (got.timeline_binding_ns >= 0).all()
    assert (got.timeline_binding_ns <= case.timeline_bin_ns * got.anchor_peak_bindings).all()


@settings(max_examples=100, deadline=None)
@given(case=cases())
def test_batching_does_not_change_counters(case: Case) -> None:
    """One batch or many: the core gives the same counters."""
    import numpy as np

    from dmmemu.engine.replay_io import PacketBatch

    merged = PacketBatch(
        *(np.concatenate([getattr(b, name) for b in case.batches])
          for name in ("t", "flow", "size", "dir")), 0)
    single = Case(policy=case.policy, replay=case.replay, batches=(merged,),
                  timeline_bin_ns=case.timeline_bin_ns)
    assert replay_with(core.Replay, single).differences(replay_with(core.Replay, case)) == []


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_row_errors_agree(case: Case) -> None:
    """A corrupted packet row is reported identically (column and row) by both engines."""
    from dmmemu.engine.replay_io import PacketBatch

    batches = list(case.batches)
    if not any(len(b) for b in batches):
        return
    i = next(k for k, b in enumerate(batches) if len(b))
    b = batches[i]
    size = b.size.copy()
    size[-1] = 19  # below the 20-byte minimum
    batches[i] = PacketBatch(b.t, b.flow, size, b.dir, b.first_row)
    bad = Case(policy=case.policy, replay=case.replay, batches=tuple(batches),
               timeline_bin_ns=case.timeline_bin_ns)
    errors = []
    for engine_cls in (ReferenceReplay, core.Replay):
        with pytest.raises(PacketRowError) as info:
            replay_with(engine_cls, bad)
        errors.append((info.value.column, info.value.row))
    assert errors[0] == errors[1] == ("size", b.first_row + len(b) - 1)


def test_checked_build_when_asked() -> None:
    """CI sets DMMEMU_EXPECT_CHECKED=1 when it runs this suite against the checked build, so a
    build that silently lost its bounds checks fails here instead of passing unchecked."""
    import os

    if os.environ.get("DMMEMU_EXPECT_CHECKED") == "1":
        assert core.CHECKED
    else:
        assert isinstance(core.CHECKED, bool)
