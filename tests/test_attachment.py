"""Attachment: the rule (nearest, hysteresis, time-to-trigger, range, leave) against a plain
per-sample loop, and the behaviours each parameter exists for."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmmemu.errors import DmmemuError
from dmmemu.synthetic import attachment
from dmmemu.synthetic.attachment import (
    AttachmentError,
    AttachmentRule,
    attach_positions,
)

S = 1_000_000_000
LINE = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])  # three PoAs on a line
LINE_IDS = np.array([7, 8, 9])


def reference(t, mn, x, y, poa_ids, poa_xy, rule, leave=None) -> list[tuple[int, int, int]]:
    """The module docstring's rule, one sample at a time."""
    rows = []
    leave = leave or {}
    for m in sorted(set(mn.tolist())):
        sel = np.flatnonzero(mn == m)
        sel = sel[np.argsort(t[sel], kind="stable")]
        cur, run = -1, None
        for i in sel:
            if m in leave and t[i] >= leave[m]:
                break
            d = np.sqrt((x[i] - poa_xy[:, 0]) ** 2 + (y[i] - poa_xy[:, 1]) ** 2)
            nb = int(np.argmin(d))
            new = cur
            if cur < 0:
                if d[nb] <= rule.range_m:
                    new = nb
            elif d[cur] > rule.range_m:
                new = nb if d[nb] <= rule.range_m else -1
            elif nb != cur and d[cur] - d[nb] > rule.hysteresis_m:
                run = t[i] if run is None else run
                if t[i] - run >= rule.time_to_trigger_ns:
                    new = nb
            else:
                run = None
            if new != cur:
                rows.append((int(t[i]), int(m), int(poa_ids[new]) if new >= 0 else -1))
                cur, run = new, None
        if m in leave and cur >= 0:
            rows.append((int(leave[m]), int(m), -1))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def walk(rng: np.random.Generator, n_mns: int, n_steps: int, step_m: float,
         box: float) -> tuple[np.ndarray, ...]:
    """Random walks, samples every second, shuffled (the input may come in any order)."""
    x = np.clip(np.cumsum(rng.normal(0, step_m, (n_mns, n_steps)), 1) + box / 2, 0, box)
    y = np.clip(np.cumsum(rng.normal(0, step_m, (n_mns, n_steps)), 1) + box / 2, 0, box)
    t = np.tile(np.arange(n_steps) * S, n_mns)
    mn = np.repeat(np.arange(n_mns), n_steps)
    order = rng.permutation(t.size)
    return t[order], mn[order], x.ravel()[order], y.ravel()[order]


def line_walk(xs: list[float], step_s: float = 1.0) -> tuple[np.ndarray, ...]:
    n = len(xs)
    return (np.arange(n, dtype=np.int64) * int(step_s * S), np.zeros(n, np.int64),
            np.array(xs, float), np.zeros(n))


def rows(frame: pl.DataFrame) -> list[tuple[int, int, int]]:
    return list(frame.iter_rows())


# -------------------------------------------------------------------- the rule
@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), hysteresis=st.sampled_from([0.0, 5.0, 30.0]),
       ttt=st.sampled_from([0.0, 1.0, 3.5, 20.0]),
       range_m=st.sampled_from([math.inf, 60.0, 90.0]), leave=st.booleans())
def test_matches_the_rule_sample_by_sample(seed, hysteresis, ttt, range_m, leave):
    rng = np.random.default_rng(seed)
    t, mn, x, y = walk(rng, n_mns=int(rng.integers(1, 6)), n_steps=int(rng.integers(2, 400)),
                       step_m=float(rng.choice([3.0, 15.0])), box=450.0)
    xy = np.mgrid[0:4, 0:4].reshape(2, -1).T * 150.0
    ids = np.arange(10, 26)
    rule = AttachmentRule(hysteresis_m=hysteresis, time_to_trigger_s=ttt, range_m=range_m)
    leave_t = ({int(m): int(rng.integers(0, t.max() + 2)) for m in np.unique(mn)
                if rng.random() < 0.7} if leave else None)
    got = attach_positions(t, mn, x, y, poa_ids=ids, poa_xy=xy, rule=rule, leave_t=leave_t)
    assert rows(got) == reference(t, mn, x, y, ids, xy, rule, leave_t)


def test_blocks_and_windows_do_not_change_the_result(monkeypatch):
    t, mn, x, y = walk(np.random.default_rng(1), n_mns=30, n_steps=500, step_m=8.0, box=450.0)
    xy = np.mgrid[0:4, 0:4].reshape(2, -1).T * 150.0
    rule = AttachmentRule(time_to_trigger_s=2.0)
    whole = attach_positions(t, mn, x, y, poa_ids=np.arange(16), poa_xy=xy, rule=rule)
    monkeypatch.setattr(attachment, "BLOCK_SAMPLES", 700)
    monkeypatch.setattr(attachment, "DISTANCE_CELLS", 50)
    monkeypatch.setattr(attachment, "MAX_WINDOW", 8)
    assert attach_positions(t, mn, x, y, poa_ids=np.arange(16), poa_xy=xy,
                            rule=rule).equals(whole)


def test_schema_order_and_only_changes():
    t, mn, x, y = walk(np.random.default_rng(2), n_mns=5, n_steps=300, step_m=10.0, box=450.0)
    xy = np.mgrid[0:4, 0:4].reshape(2, -1).T * 150.0
    out = attach_positions(t, mn, x, y, poa_ids=np.arange(16), poa_xy=xy,
                           rule=AttachmentRule())
    assert out.schema == {"t": pl.Int64, "mn": pl.UInt32, "poa": pl.Int32}
    assert out.equals(out.sort("t", "mn"))
    for (_,), per_mn in out.group_by("mn"):
        poa = per_mn["poa"].to_list()
        assert poa[0] >= 0 and all(a != b for a, b in zip(poa, poa[1:]))
    assert out.group_by("mn").agg(pl.col("t").min())["t"].to_list() == [0] * 5


# -------------------------------------------------------------------- each parameter
def test_nearest_with_ties_to_the_first_listed():
    t, mn, x, y = line_walk([50.0, 60.0])  # 50: as near to 7 as to 8
    out = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE,
                           rule=AttachmentRule(hysteresis_m=0.0))
    assert rows(out) == [(0, 0, 7), (S, 0, 8)]


def test_hysteresis_prevents_ping_pong_at_a_boundary():
    wobble = [50.0 + (4.0 if k % 2 else -4.0) for k in range(60)]  # ±4 m around x = 50
    t, mn, x, y = line_walk(wobble)
    eager = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE,
                             rule=AttachmentRule(hysteresis_m=0.0))
    assert eager.height == 60  # a handover at every sample
    calm = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE,
                            rule=AttachmentRule(hysteresis_m=10.0))
    assert rows(calm) == [(0, 0, 7)]


def test_hysteresis_delays_the_switch_to_the_margin():
    t, mn, x, y = line_walk([float(v) for v in range(0, 101)])  # 1 m/s from PoA 7 to 8
    out = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE,
                           rule=AttachmentRule(hysteresis_m=20.0))
    assert rows(out) == [(0, 0, 7), (61 * S, 0, 8)]  # d7 − d8 = 2x − 100 > 20 from x = 61


def test_time_to_trigger_delays_a_switch():
    t, mn, x, y = line_walk([float(v) for v in range(0, 101)])
    for ttt in (0.0, 5.0, 12.5):
        out = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE,
                               rule=AttachmentRule(hysteresis_m=0.0, time_to_trigger_s=ttt))
        assert rows(out) == [(0, 0, 7), ((51 + math.ceil(ttt)) * S, 0, 8)]


def test_time_to_trigger_restarts_when_the_condition_lapses():
    xs = [40.0, 60, 60, 60, 40, 60, 60, 60, 60, 60]  # better at 1-3, not at 4, again from 5
    t, mn, x, y = line_walk(xs)
    out = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE,
                           rule=AttachmentRule(hysteresis_m=0.0, time_to_trigger_s=3.0))
    assert rows(out) == [(0, 0, 7), (8 * S, 0, 8)]


def test_range_detaches_and_reattaches():
    xs = [0.0, 20, 40, 50, 60, 80, 100]  # out of 30 m range at 40..60
    t, mn, x, y = line_walk(xs)
    out = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE,
                           rule=AttachmentRule(range_m=30.0, hysteresis_m=0.0))
    assert rows(out) == [(0, 0, 7), (2 * S, 0, -1), (5 * S, 0, 8)]
    far = line_walk([500.0, 400.0, 230.0])
    assert rows(attach_positions(*far, poa_ids=LINE_IDS, poa_xy=LINE,
                                 rule=AttachmentRule(range_m=30.0))) == [(2 * S, 0, 9)]


def test_link_loss_moves_at_once_when_another_poa_is_in_range():
    # Hysteresis would keep PoA 7 at x = 90, but 90 m is beyond its 80 m range.
    t, mn, x, y = line_walk([0.0, 90.0])
    out = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE,
                           rule=AttachmentRule(range_m=80.0, hysteresis_m=500.0))
    assert rows(out) == [(0, 0, 7), (S, 0, 8)]


def test_leave_time_detaches_for_good():
    t = np.tile(np.arange(10) * S, 3)
    mn = np.repeat([0, 1, 2], 10)
    x = np.tile(np.linspace(0, 30, 10), 3)
    y = np.zeros(30)
    rule = AttachmentRule(range_m=25.0)
    as_map = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE, rule=rule,
                              leave_t={0: 4 * S, 1: 4 * S + 1})
    as_array = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE, rule=rule,
                                leave_t=np.array([4 * S, 4 * S + 1, -1]))
    assert as_map.equals(as_array)
    assert rows(as_map) == [(0, 0, 7), (0, 1, 7), (0, 2, 7), (4 * S, 0, -1),
                            (4 * S + 1, 1, -1), (8 * S, 2, -1)]  # MN 2 by range only
    gone = attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE, rule=rule,
                            leave_t={2: 9 * S})  # already out of range: no second -1
    assert rows(gone.filter(pl.col("mn") == 2)) == [(0, 2, 7), (8 * S, 2, -1)]


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize("changes", [
    {"range_m": 0.0}, {"hysteresis_m": -1.0}, {"time_to_trigger_s": float("nan")},
    {"hysteresis_m": "10"}, {"time_to_trigger_s": math.inf},
])
def test_bad_rule_is_rejected(changes):
    with pytest.raises(DmmemuError):
        AttachmentRule(**changes)


def test_rule_round_trips_and_rejects_unknown_keys():
    rule = AttachmentRule(range_m=80.0, time_to_trigger_s=0.5)
    assert AttachmentRule.from_params(rule.params()) == rule
    assert AttachmentRule.from_params(AttachmentRule().params()) == AttachmentRule()
    with pytest.raises(AttachmentError, match="unknown parameter 'hysteresis'"):
        AttachmentRule.from_params({"hysteresis": 3.0})


def test_bad_positions_are_rejected():
    t, mn, x, y = line_walk([0.0, 10.0, 20.0])
    kw = dict(poa_ids=LINE_IDS, poa_xy=LINE, rule=AttachmentRule())
    with pytest.raises(AttachmentError, match="two position samples"):
        attach_positions(np.zeros(3, np.int64), mn, x, y, **kw)
    with pytest.raises(AttachmentError, match="sample 1: x must be finite"):
        attach_positions(t, mn, np.array([0.0, np.nan, 1.0]), y, **kw)
    with pytest.raises(AttachmentError, match="mn -1"):
        attach_positions(t, np.array([0, -1, 0]), x, y, **kw)
    with pytest.raises(AttachmentError, match="poa_xy"):
        attach_positions(t, mn, x, y, poa_ids=LINE_IDS, poa_xy=LINE[:2], rule=AttachmentRule())
    with pytest.raises(AttachmentError, match="length"):
        attach_positions(t, mn[:2], x, y, **kw)


def test_no_samples_no_rows():
    empty = np.zeros(0, np.int64)
    out = attach_positions(empty, empty, empty.astype(float), empty.astype(float),
                           poa_ids=LINE_IDS, poa_xy=LINE, rule=AttachmentRule())
    assert out.height == 0 and out.schema == {"t": pl.Int64, "mn": pl.UInt32,
                                              "poa": pl.Int32}
