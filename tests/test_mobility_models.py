"""Mobility models: determinism under a seed, staying in the area, and their laws (handover
rates against the analytic rate, Manhattan turns, Gauss-Markov speed)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from dmmemu.errors import DmmemuError
from dmmemu.synthetic.attachment import AttachmentRule, attach_positions
from dmmemu.synthetic.mobility_models import (
    GROUP_MNS,
    MOBILITY_MODELS,
    Area,
    GaussMarkov,
    ManhattanGrid,
    RandomWaypoint,
    build_mobility,
)

S = 1_000_000_000
SPACING = 150.0
GRID = np.mgrid[0:8, 0:8].reshape(2, -1).T * SPACING  # 8 × 8 PoAs, as the default topology
AREA = Area.of_points(GRID)


def positions(model, n_mns: int, duration_s: float, seed: int = 0, step_s: float = 1.0,
              area: Area = AREA) -> tuple[np.ndarray, ...]:
    blocks = list(model.positions(np.random.default_rng(seed), n_mns, int(duration_s * S),
                                  int(step_s * S), area))
    return tuple(np.concatenate(column) for column in zip(*blocks))


def handovers_per_mn_s(model, n_mns: int, duration_s: float, seed: int = 0,
                       hysteresis_m: float = 0.0) -> float:
    t, mn, x, y = positions(model, n_mns, duration_s, seed)
    mob = attach_positions(t, mn, x, y, poa_ids=np.arange(64), poa_xy=GRID,
                           rule=AttachmentRule(hysteresis_m=hysteresis_m))
    return (mob.height - n_mns) / (n_mns * duration_s)  # every row but the first attaches


MODELS = [RandomWaypoint(), ManhattanGrid(), GaussMarkov()]


# -------------------------------------------------------------------- determinism, area
@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_same_seed_same_positions(model):
    n = GROUP_MNS + 20  # two groups
    a = positions(model, n, 120.0, seed=5)
    b = positions(model, n, 120.0, seed=5)
    c = positions(model, n, 120.0, seed=6)
    for left, right in zip(a, b):
        assert np.array_equal(left, right)
    assert not np.array_equal(a[2], c[2])
    # Each group of MNs has its own stream: more MNs leave the first group's tracks alone.
    more = positions(model, 3 * GROUP_MNS, 120.0, seed=5)
    first = a[1] < GROUP_MNS
    assert np.array_equal(more[2][more[1] < GROUP_MNS], a[2][first])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_samples_cover_every_mn_and_step_inside_the_area(model):
    t, mn, x, y = positions(model, 30, 300.0, step_s=2.0)
    assert t.dtype == np.int64
    assert t.size == 30 * 151 and set(np.unique(t)) == set(np.arange(151) * 2 * S)
    assert np.array_equal(np.bincount(mn), np.full(30, 151))
    assert x.min() >= AREA.x_min and x.max() <= AREA.x_max + 1e-9
    assert y.min() >= AREA.y_min and y.max() <= AREA.y_max + 1e-9


def test_area_of_points():
    area = Area.of_points(GRID + [10.0, -5.0])
    assert (area.x_min, area.y_min, area.x_max, area.y_max) == (10.0, -5.0, 1060.0, 1045.0)
    assert area.spacing_m == SPACING
    assert Area.of_points(np.array([[3.0, 4.0]])).spacing_m is None


# -------------------------------------------------------------------- random waypoint
def test_random_waypoint_handover_rate_follows_speed():
    """Straight legs at random angles cross a square grid of spacing s 4/(π s) times per
    metre; without pauses or hysteresis an MN at v m/s should hand over ~4v/(π s) per s."""
    rates = {}
    for v in (2.0, 10.0):
        model = RandomWaypoint(speed_min_mps=v, speed_max_mps=v, pause_max_s=0.0)
        rates[v] = handovers_per_mn_s(model, 60, 1200.0, seed=4)
        expected = v * 4 / (math.pi * SPACING)
        assert 0.85 * expected < rates[v] < 1.15 * expected, (v, rates[v], expected)
    assert 3.5 < rates[10.0] / rates[2.0] < 6.5


def test_random_waypoint_pauses_lower_the_rate():
    moving = handovers_per_mn_s(RandomWaypoint(speed_min_mps=5, speed_max_mps=5,
                                               pause_max_s=0.0), 40, 1200.0)
    pausing = handovers_per_mn_s(RandomWaypoint(speed_min_mps=5, speed_max_mps=5,
                                                pause_min_s=60.0, pause_max_s=60.0), 40, 1200.0)
    assert pausing < 0.8 * moving


# -------------------------------------------------------------------- Manhattan
def test_manhattan_moves_on_streets():
    t, mn, x, y = positions(ManhattanGrid(), 40, 600.0)
    on_x = np.abs(x / SPACING - np.round(x / SPACING)) < 1e-6
    on_y = np.abs(y / SPACING - np.round(y / SPACING)) < 1e-6
    assert np.all(on_x | on_y)


def test_manhattan_handover_rate_is_speed_over_spacing():
    """Streets run through the PoAs: every block crosses exactly one cell boundary, so an MN
    at v m/s hands over v / spacing times a second."""
    for v in (3.0, 12.0):
        model = ManhattanGrid(speed_min_mps=v, speed_max_mps=v)
        rate = handovers_per_mn_s(model, 60, 1200.0, seed=2)
        assert rate == pytest.approx(v / SPACING, rel=0.03), v


def turns_at_interior_intersections(gx: np.ndarray, gy: np.ndarray, n_blocks: int
                                    ) -> np.ndarray:
    """Counts of (straight, left, right, back) decisions of one MN sampled finely (grid
    units), at intersections with all four ways inside the grid."""
    dx, dy = np.round(np.diff(gx), 9), np.round(np.diff(gy), 9)
    pure = (dx != 0) ^ (dy != 0)  # intervals inside one block
    heading = np.select([dx > 0, dy > 0, dx < 0], [0, 1, 2], 3)[pure]
    mx, my = ((gx[:-1] + gx[1:]) / 2)[pure], ((gy[:-1] + gy[1:]) / 2)[pure]
    along_x = heading % 2 == 0
    block = np.stack([np.where(along_x, np.floor(mx), np.round(mx)),
                      np.where(along_x, np.round(my), np.floor(my)), along_x], axis=1)
    new = np.flatnonzero(np.any(block[1:] != block[:-1], axis=1))
    before, after = heading[new], heading[new + 1]
    ix = block[new, 0] + (before == 0)  # the intersection at the end of the earlier block
    iy = block[new, 1] + (before == 1)
    inner = (ix >= 1) & (ix <= n_blocks - 1) & (iy >= 1) & (iy <= n_blocks - 1)
    return np.bincount(((after - before) % 4)[inner], minlength=4)[[0, 1, 3, 2]]


def test_manhattan_turn_probabilities():
    """Where all ways are open, straight / left / right follow 0.5 / 0.25 / 0.25."""
    n = 60
    t, mn, x, y = positions(ManhattanGrid(speed_min_mps=10.0, speed_max_mps=10.0), n,
                            1500.0, step_s=0.5)
    gx, gy = (x / SPACING).reshape(n, -1), (y / SPACING).reshape(n, -1)
    counts = sum(turns_at_interior_intersections(gx[i], gy[i], 7) for i in range(n))
    assert counts[3] == 0  # never back where another way is open
    assert counts[:3].sum() > 2000
    chi = stats.chisquare(counts[:3], counts[:3].sum() * np.array([0.5, 0.25, 0.25]))
    assert chi.pvalue > 1e-3, counts


# -------------------------------------------------------------------- Gauss-Markov
def test_gauss_markov_mean_speed_converges():
    big = Area(x_min=0.0, y_min=0.0, x_max=100_000.0, y_max=100_000.0, spacing_m=150.0)
    for mean in (2.0, 8.0):
        model = GaussMarkov(alpha=0.8, mean_speed_mps=mean, speed_std_mps=0.5)
        t, mn, x, y = positions(model, 50, 2000.0, area=big)
        step = np.hypot(np.diff(x.reshape(50, -1)), np.diff(y.reshape(50, -1)))
        assert step.mean() == pytest.approx(mean, rel=0.02)
        # Memory: consecutive speeds correlate with coefficient alpha.
        r = np.corrcoef(step[:, 1:].ravel(), step[:, :-1].ravel())[0, 1]
        assert r == pytest.approx(0.8, abs=0.05)


def test_gauss_markov_alpha_one_moves_straight():
    big = Area(x_min=0.0, y_min=0.0, x_max=100_000.0, y_max=100_000.0, spacing_m=150.0)
    model = GaussMarkov(alpha=1.0, mean_direction_deg=90.0, direction_std_deg=0.0,
                        edge_margin_m=0.0)
    t, mn, x, y = positions(model, 5, 100.0, area=big)
    x = x.reshape(5, -1)
    assert np.allclose(x, x[:, :1])  # due north


def test_gauss_markov_handover_rate_grows_with_speed():
    """With some hysteresis (a Gauss-Markov path wiggles: without it, an MN moving along a
    cell boundary hands over back and forth)."""
    rate = {v: handovers_per_mn_s(GaussMarkov(mean_speed_mps=v, speed_std_mps=0.3), 40,
                                  900.0, hysteresis_m=10.0) for v in (1.0, 8.0)}
    assert rate[8.0] > 5 * rate[1.0]


# -------------------------------------------------------------------- parameters
def test_registry_and_defaults():
    assert MOBILITY_MODELS == {"random-waypoint": RandomWaypoint, "manhattan": ManhattanGrid,
                               "gauss-markov": GaussMarkov}
    m = ManhattanGrid()
    assert (m.p_straight, m.p_left, m.p_right) == (0.5, 0.25, 0.25)
    assert m.spacing(AREA) == SPACING
    for model in MODELS:
        key = next(k for k, v in MOBILITY_MODELS.items() if isinstance(model, v))
        assert build_mobility(key, model.params()) == model


@pytest.mark.parametrize("name, params", [
    ("random-waypoint", {"speed_min_mps": 0.0}),
    ("random-waypoint", {"speed_min_mps": 5.0, "speed_max_mps": 1.0}),
    ("random-waypoint", {"pause_max_s": -1.0}),
    ("manhattan", {"p_straight": 0.6}),
    ("manhattan", {"street_spacing_m": 0.0}),
    ("gauss-markov", {"alpha": 1.5}),
    ("gauss-markov", {"mean_speed_mps": float("inf")}),
    ("teleport", {}),
])
def test_bad_parameters_are_rejected(name, params):
    with pytest.raises(DmmemuError):
        build_mobility(name, params)


def test_unknown_key_is_named():
    with pytest.raises(DmmemuError, match="unknown parameter 'speed_mps'"):
        build_mobility("gauss-markov", {"speed_mps": 3.0})


def test_manhattan_needs_a_grid():
    one = Area.of_points(np.array([[0.0, 0.0]]))
    with pytest.raises(DmmemuError, match="street_spacing_m"):
        positions(ManhattanGrid(), 2, 10.0, area=one)
    t, mn, x, y = positions(ManhattanGrid(street_spacing_m=50.0), 2, 10.0, area=one)
    assert np.all(x == 0.0) and np.all(y == 0.0)


def test_mobility_frame_from_a_model_is_a_valid_trace_part():
    t, mn, x, y = positions(GaussMarkov(), 10, 60.0)
    mob = attach_positions(t, mn, x, y, poa_ids=np.arange(64), poa_xy=GRID,
                           rule=AttachmentRule())
    assert mob.schema == {"t": pl.Int64, "mn": pl.UInt32, "poa": pl.Int32}
    assert mob["mn"].n_unique() == 10
