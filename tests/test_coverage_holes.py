"""Coverage holes in synthetic traces (dmmemu.synthetic.coverage_holes): where they cut the
mobility rows, how they are drawn, and what PMIPv6 makes of holes on either side of its
10 s MinDelayBeforeBCEDelete (RFC 5213 §5.3.5)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import dmmemu
from dmmemu.model_params import ParameterError
from dmmemu.synthetic.coverage_holes import apply_holes, draw_holes
from dmmemu.synthetic.generator import SyntheticTrace

S = 1_000_000_000


def rows(*triples: tuple[int, int, int]) -> pl.DataFrame:
    return pl.DataFrame({"t": [t for t, _, _ in triples], "mn": [m for _, m, _ in triples],
                         "poa": [p for _, _, p in triples]},
                        schema={"t": pl.Int64, "mn": pl.UInt32, "poa": pl.Int32})


def holes(*triples: tuple[int, int, int]) -> pl.DataFrame:
    return pl.DataFrame({"mn": [m for m, _, _ in triples], "start": [s for _, s, _ in triples],
                         "end": [e for _, _, e in triples]},
                        schema={"mn": pl.UInt32, "start": pl.Int64, "end": pl.Int64})


def test_a_hole_detaches_hides_the_moves_inside_and_resumes_where_the_mn_is() -> None:
    mobility = rows((0, 0, 10), (0, 1, 11), (5 * S, 0, 12), (8 * S, 0, 13), (20 * S, 0, 10),
                    (30 * S, 1, 12))
    # MN 0 is away over [4, 9) s: its moves at 5 s and 8 s vanish and it comes back at 9 s
    # to 13, where it would be then. MN 1's hole [25, 30) s ends on a row of its own (its
    # move at 30 s), so no second row is added.
    got = apply_holes(mobility, holes((0, 4 * S, 9 * S), (1, 25 * S, 30 * S)), 60 * S)
    assert got.rows() == [(0, 0, 10), (0, 1, 11), (4 * S, 0, -1), (9 * S, 0, 13),
                          (20 * S, 0, 10), (25 * S, 1, -1), (30 * S, 1, 12)]
    assert apply_holes(mobility, holes(), 60 * S).equals(mobility)


def test_a_hole_that_runs_past_a_leave_or_the_trace_does_not_come_back() -> None:
    mobility = rows((0, 0, 10), (10 * S, 0, -1), (0, 1, 11))
    got = apply_holes(mobility, holes((0, 8 * S, 15 * S), (1, 50 * S, 70 * S)), 60 * S)
    # MN 0 left at 10 s, inside its hole: detached from 8 s for good. MN 1's hole ends
    # after the trace: no attach at 70 s.
    assert got.rows() == [(0, 0, 10), (0, 1, 11), (8 * S, 0, -1), (50 * S, 1, -1)]


def test_holes_are_drawn_inside_the_presence_one_at_a_time() -> None:
    rng = np.random.default_rng(1)
    arrive = np.array([0, 100 * S, 0], np.int64)
    leave = np.array([-1, -1, 1000 * S], np.int64)
    drawn = draw_holes(rng, arrive, leave, 3600 * S, 60.0, 10.0, 1.0)
    assert drawn.height > 100  # about 60 per MN-hour: 60 + 58 + 17 expected
    for mn, group in drawn.group_by("mn"):
        g = group.sort("start")
        assert (g["start"] > arrive[mn[0]]).all()
        assert (g["start"].to_numpy()[1:] >= g["end"].to_numpy()[:-1]).all()  # no overlap
    assert (drawn.filter(pl.col("mn") == 2)["start"] < 1000 * S).all()
    lengths = (drawn["end"] - drawn["start"]).to_numpy() / S
    assert 0.3 < (lengths > 10).mean() < 0.7  # median 10 s: both sides of the BCE hold
    assert draw_holes(rng, arrive, leave, 3600 * S, 0.0, 10.0, 1.0).is_empty()


def test_holes_are_seeded_and_leave_the_other_streams_alone() -> None:
    base = SyntheticTrace(mns=20, packets=5000, duration_s=600)
    holed = base.with_(holes_per_mn_hour=6.0)
    plain, cut = base.realise(), holed.realise()
    assert cut.mobility.equals(holed.realise().mobility)  # same seed, same holes
    # Only the holes differ: every row of the plain trace outside a hole is still there.
    detaches = cut.mobility.filter(pl.col("poa") == -1).height
    assert detaches > plain.mobility.filter(pl.col("poa") == -1).height
    with pytest.raises(ParameterError, match="hole_median_s"):
        base.with_(hole_median_s=0.0)


def test_pmipv6_keeps_the_prefix_through_short_holes_and_breaks_flows_after_long_ones(
        tmp_path) -> None:
    """Holes of 2 s keep every PMIPv6 prefix (the LMA holds the entry 10 s); holes of 60 s
    lose it, and flows that outlive the hole are counted broken."""
    results = {}
    for median in (2.0, 60.0):
        trace = SyntheticTrace(mns=30, packets=60_000, duration_s=900, holes_per_mn_hour=8.0,
                               hole_median_s=median, hole_sigma=0.0, seed=2)
        path = trace.generate(tmp_path / f"holes-{median:g}")
        results[median] = dmmemu.run(path, "pmipv6").summary.row(0, named=True)
    short, long = results[2.0], results[60.0]
    assert short["detaches"] > 30 and long["detaches"] > 30  # mid-trace, not only at the end
    assert short["broken_flows"] == 0
    assert long["broken_flows"] > 0
