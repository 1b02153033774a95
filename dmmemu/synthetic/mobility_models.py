"""Synthetic mobility models: where each MN is at every sampling instant.

A model is a frozen dataclass of its parameters (speeds in m/s, pauses in s). Its
``positions(rng, n_mns, duration_ns, step_ns, area)`` yields position samples
``(t, mn, x, y)`` at ``t = k·step_ns`` for ``k = 0 … ⌊duration_ns / step_ns⌋``, in blocks of
whole MNs; ``dmmemu.synthetic.attachment`` turns them into PoA changes. MNs are drawn in fixed groups
of ``GROUP_MNS``, each from its own child of ``rng`` (``Generator.spawn``), so a seed gives
the same motion however the caller consumes the blocks.

Models (registry ``MOBILITY_MODELS``):

- ``random-waypoint``: start uniform in the area; repeat: destination uniform in the area,
  speed uniform in ``[speed_min_mps, speed_max_mps]``, straight line, then a pause uniform
  in ``[pause_min_s, pause_max_s]``.
- ``manhattan`` (Bai et al., IMPORTANT, 2003): streets every ``street_spacing_m`` (default:
  the PoA grid spacing, so streets run through the PoAs) over the area; start uniform on the
  streets, heading either way; at every intersection a pause uniform in
  ``[pause_min_s, pause_max_s]``, then straight / left / right with probabilities
  ``p_straight`` / ``p_left`` / ``p_right``, renormalised over the directions that stay in
  the area (a U-turn only when none does); each block at a speed uniform in
  ``[speed_min_mps, speed_max_mps]``. A block of the PoA grid crosses exactly one cell
  boundary, so an MN at speed v hands over about v / spacing times a second.
- ``gauss-markov`` (Liang & Haas, 1999; edges as in Camp et al., 2002): at every step,
  ``s ← α s + (1 − α) s̄ + √(1 − α²) σ_s N`` and ``d ← d̄ + α·wrap(d − d̄) + √(1 − α²) σ_d N``
  (``N`` standard normal), starting from the stationary law ``s ~ N(s̄, σ_s²)``,
  ``d ~ N(d̄, σ_d²)``; the MN moves ``max(s, 0)·Δt`` along ``d`` (the values before the
  update). ``d̄`` is ``mean_direction_deg``, or a per-MN uniform direction when that is not
  given, replaced by the direction to the area's centre while the MN is within
  ``edge_margin_m`` of an edge; an MN that would leave the area is reflected back in.
  The speed is a stationary AR(1) process of mean ``s̄``, so the mean speed converges to
  ``mean_speed_mps`` (less the small part of the law below 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from dmmemu.model_params import (
    NS_PER_S,
    ParameterError,
    check_known_keys,
    check_number,
    toml_values,
)

GROUP_MNS = 256  # MNs drawn from one child generator (fixed: part of the seed's meaning)
_DX = np.array([1, 0, -1, 0])  # headings: 0 east, 1 north, 2 west, 3 south
_DY = np.array([0, 1, 0, -1])

Positions = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # t int64, mn, x, y


@dataclass(frozen=True, slots=True, kw_only=True)
class Area:
    """The rectangle the MNs move in, and the spacing of the PoA grid inside it."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    spacing_m: float | None = None  # None: no grid (a single PoA, or all on one point)

    def __post_init__(self) -> None:
        for name in ("x_min", "y_min", "x_max", "y_max"):
            check_number("Area", name, getattr(self, name), low=-math.inf)
        if self.x_max < self.x_min or self.y_max < self.y_min:
            raise ParameterError(f"Area: the maximum must not be below the minimum, got {self}")
        if self.spacing_m is not None:
            check_number("Area", "spacing_m", self.spacing_m, low=0.0, strict=True)

    @classmethod
    def of_points(cls, xy: np.ndarray) -> "Area":
        """The bounding box of the PoAs; the spacing is the least gap between distinct x or
        y coordinates (the grid spacing for PoAs on a grid)."""
        xy = np.asarray(xy, dtype=np.float64)
        gaps = np.concatenate([np.diff(np.unique(xy[:, 0])), np.diff(np.unique(xy[:, 1]))])
        gaps = gaps[gaps > 1e-9]
        return cls(x_min=float(xy[:, 0].min()), y_min=float(xy[:, 1].min()),
                   x_max=float(xy[:, 0].max()), y_max=float(xy[:, 1].max()),
                   spacing_m=float(gaps.min()) if gaps.size else None)

    @property
    def low(self) -> np.ndarray:
        return np.array([self.x_min, self.y_min])

    @property
    def span(self) -> np.ndarray:
        return np.array([self.x_max - self.x_min, self.y_max - self.y_min])


def sample_times_ns(duration_ns: int, step_ns: int) -> np.ndarray:
    """The sampling instants ``0, step, …, ≤ duration`` (int64 ns)."""
    if step_ns < 1 or duration_ns < 0:
        raise ParameterError(f"need step_ns >= 1 and duration_ns >= 0, got {step_ns}, "
                             f"{duration_ns}")
    return np.arange(duration_ns // step_ns + 1, dtype=np.int64) * step_ns


class _Model:
    """What every mobility model shares: grouped sampling and TOML parameters."""

    __slots__ = ()

    def positions(self, rng: np.random.Generator, n_mns: int, duration_ns: int,
                  step_ns: int, area: Area) -> Iterator[Positions]:
        """Position samples of MNs ``0 … n_mns − 1``, one block per group of
        ``GROUP_MNS`` MNs, each block ordered by (mn, t)."""
        t = sample_times_ns(duration_ns, step_ns)
        times_s = t / NS_PER_S
        n_groups = -(-n_mns // GROUP_MNS)
        for g, child in enumerate(rng.spawn(n_groups)):
            lo = g * GROUP_MNS
            n = min(n_mns, lo + GROUP_MNS) - lo
            x, y = self._track(child, n, times_s, step_ns / NS_PER_S, area)
            yield (np.tile(t, n), np.repeat(np.arange(lo, lo + n, dtype=np.int64), t.size),
                   x.T.ravel(), y.T.ravel())

    def _track(self, rng: np.random.Generator, n: int, times_s: np.ndarray, step_s: float,
               area: Area) -> tuple[np.ndarray, np.ndarray]:
        """x and y of ``n`` MNs at ``times_s``, shape (steps, n)."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return toml_values(self)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], where: str | None = None) -> Any:
        """Build from TOML-style values; unknown keys are an error naming the key."""
        check_known_keys(where or cls.__name__, params, cls)
        return cls(**params)


def _check_speeds_and_pauses(model: Any) -> None:
    where = type(model).__name__
    check_number(where, "speed_min_mps", model.speed_min_mps, low=0.0, strict=True)
    check_number(where, "speed_max_mps", model.speed_max_mps, low=model.speed_min_mps)
    check_number(where, "pause_min_s", model.pause_min_s, low=0.0)
    check_number(where, "pause_max_s", model.pause_max_s, low=model.pause_min_s)


def _interpolate(times_s: np.ndarray, knot_t: np.ndarray, knot_x: np.ndarray,
                 knot_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-linear positions at ``times_s`` from knots (one column per MN), shape
    (steps, MNs). One ``np.interp`` for all MNs: MN i's knots and times are shifted by
    i·offset so that its knots are the only ones in reach of its times."""
    n = knot_t.shape[1]
    offset = float(knot_t.max()) + float(times_s.max()) + 1.0
    shift = np.arange(n, dtype=np.float64) * offset
    xp = (knot_t + shift).T.ravel()
    at = (times_s[:, None] + shift).T.ravel()
    x = np.interp(at, xp, knot_x.T.ravel()).reshape(n, times_s.size).T
    y = np.interp(at, xp, knot_y.T.ravel()).reshape(n, times_s.size).T
    return x, y


# -------------------------------------------------------------------- random waypoint
@dataclass(frozen=True, slots=True, kw_only=True)
class RandomWaypoint(_Model):
    """Random waypoint: straight legs to uniform destinations, uniform speeds, pauses."""

    speed_min_mps: float = 0.5
    speed_max_mps: float = 15.0
    pause_min_s: float = 0.0
    pause_max_s: float = 60.0

    def __post_init__(self) -> None:
        _check_speeds_and_pauses(self)

    def describe(self) -> str:
        return (f"random waypoint ({self.speed_min_mps:g}-{self.speed_max_mps:g} m/s, pauses "
                f"{self.pause_min_s:g}-{self.pause_max_s:g} s)")

    def _track(self, rng: np.random.Generator, n: int, times_s: np.ndarray, step_s: float,
               area: Area) -> tuple[np.ndarray, np.ndarray]:
        lo, span = area.low, area.span
        horizon = float(times_s[-1])
        pos = lo + span * rng.random((n, 2))
        t = np.zeros(n)
        knots_t, knots_x, knots_y = [t], [pos[:, 0]], [pos[:, 1]]
        still = bool(np.all(span == 0))  # one PoA, or all on one point: nowhere to go
        while t.min() <= horizon and not still:
            dest = lo + span * rng.random((n, 2))
            speed = rng.uniform(self.speed_min_mps, self.speed_max_mps, size=n)
            pause = rng.uniform(self.pause_min_s, self.pause_max_s, size=n)
            arrival = t + np.hypot(*(dest - pos).T) / speed
            t = arrival + pause
            pos = dest
            knots_t += [arrival, t]
            knots_x += [dest[:, 0], dest[:, 0]]
            knots_y += [dest[:, 1], dest[:, 1]]
        if still:
            knots_t.append(np.full(n, horizon + 1.0))
            knots_x.append(pos[:, 0])
            knots_y.append(pos[:, 1])
        return _interpolate(times_s, np.vstack(knots_t), np.vstack(knots_x),
                            np.vstack(knots_y))


# -------------------------------------------------------------------- Manhattan grid
@dataclass(frozen=True, slots=True, kw_only=True)
class ManhattanGrid(_Model):
    """Manhattan grid: MNs follow streets and turn at intersections."""

    speed_min_mps: float = 0.5
    speed_max_mps: float = 15.0
    pause_min_s: float = 0.0
    pause_max_s: float = 0.0  # at each intersection
    street_spacing_m: float | None = None  # None: the PoA grid spacing
    p_straight: float = 0.5
    p_left: float = 0.25
    p_right: float = 0.25

    def __post_init__(self) -> None:
        where = "ManhattanGrid"
        _check_speeds_and_pauses(self)
        if self.street_spacing_m is not None:
            check_number(where, "street_spacing_m", self.street_spacing_m, low=0.0,
                         strict=True)
        for name in ("p_straight", "p_left", "p_right"):
            check_number(where, name, getattr(self, name), low=0.0, high=1.0)
        total = self.p_straight + self.p_left + self.p_right
        if abs(total - 1.0) > 1e-9:
            raise ParameterError(f"{where}: p_straight + p_left + p_right must be 1, got "
                                 f"{total:g}")

    def describe(self) -> str:
        return (f"Manhattan grid ({self.speed_min_mps:g}-{self.speed_max_mps:g} m/s, turns "
                f"{self.p_straight:g}/{self.p_left:g}/{self.p_right:g})")

    def spacing(self, area: Area) -> float:
        spacing = self.street_spacing_m if self.street_spacing_m is not None else area.spacing_m
        if spacing is None:
            raise ParameterError("ManhattanGrid: the PoAs form no grid (one PoA, or all on one "
                                 "point); give street_spacing_m")
        return spacing

    def _track(self, rng: np.random.Generator, n: int, times_s: np.ndarray, step_s: float,
               area: Area) -> tuple[np.ndarray, np.ndarray]:
        s = self.spacing(area)
        nx = int(math.floor((area.x_max - area.x_min) / s + 1e-9))  # blocks along x
        ny = int(math.floor((area.y_max - area.y_min) / s + 1e-9))
        horizon = float(times_s[-1])
        # Start uniform on the streets: a horizontal street with probability of its share
        # of street length, a uniform point along it, heading either way.
        across = (ny + 1) * nx  # length of horizontal streets, in blocks
        along = (nx + 1) * ny
        horizontal = rng.random(n) * max(across + along, 1) < across
        street = np.floor(rng.random(n) * np.where(horizontal, ny + 1, nx + 1))
        at = rng.random(n) * np.where(horizontal, nx, ny)
        backwards = rng.random(n) < 0.5
        gx = np.where(horizontal, at, street)  # grid units
        gy = np.where(horizontal, street, at)
        heading = np.where(horizontal, np.where(backwards, 2, 0), np.where(backwards, 3, 1))
        # First leg: to the next intersection ahead.
        i = np.where(heading == 0, np.ceil(gx), np.where(heading == 2, np.floor(gx), gx))
        j = np.where(heading == 1, np.ceil(gy), np.where(heading == 3, np.floor(gy), gy))
        i, j = i.astype(np.int64), j.astype(np.int64)
        t = np.zeros(n)
        knots_t, knots_x, knots_y = [t], [gx], [gy]
        still = nx == 0 and ny == 0
        if not still:
            speed = rng.uniform(self.speed_min_mps, self.speed_max_mps, size=n)
            t = t + np.hypot(i - gx, j - gy) * s / speed
            knots_t.append(t)
            knots_x.append(i.astype(np.float64))
            knots_y.append(j.astype(np.float64))
        weights = np.array([self.p_straight, self.p_left, self.p_right])
        rows = np.arange(n)
        while not still and t.min() <= horizon:
            pause = rng.uniform(self.pause_min_s, self.pause_max_s, size=n)
            turn = rng.random(n)
            speed = rng.uniform(self.speed_min_mps, self.speed_max_mps, size=n)
            options = np.stack([heading, (heading + 1) % 4, (heading + 3) % 4], axis=1)
            ni = i[:, None] + _DX[options]
            nj = j[:, None] + _DY[options]
            inside = (ni >= 0) & (ni <= nx) & (nj >= 0) & (nj <= ny)
            w = weights * inside
            cum = np.cumsum(w, axis=1)
            total = cum[:, -1]
            pick = np.minimum((turn[:, None] * total[:, None] >= cum).sum(axis=1), 2)
            heading = np.where(total > 0, options[rows, pick], (heading + 2) % 4)
            depart = t + pause
            i = i + _DX[heading]
            j = j + _DY[heading]
            t = depart + s / speed
            knots_t += [depart, t]
            knots_x += [knots_x[-1], i.astype(np.float64)]
            knots_y += [knots_y[-1], j.astype(np.float64)]
        if still:
            knots_t.append(np.full(n, horizon + 1.0))
            knots_x.append(gx)
            knots_y.append(gy)
        x, y = _interpolate(times_s, np.vstack(knots_t), np.vstack(knots_x),
                            np.vstack(knots_y))
        return area.x_min + x * s, area.y_min + y * s


# -------------------------------------------------------------------- Gauss-Markov
@dataclass(frozen=True, slots=True, kw_only=True)
class GaussMarkov(_Model):
    """Gauss-Markov: speed and direction are AR(1) processes with memory ``alpha`` per
    position step, pulled towards their means; edges push MNs back to the centre."""

    alpha: float = 0.75
    mean_speed_mps: float = 5.0
    speed_std_mps: float = 1.5
    mean_direction_deg: float | None = None  # None: a uniform direction per MN
    direction_std_deg: float = 30.0
    edge_margin_m: float | None = None  # None: half the PoA grid spacing (0 without a grid)

    def __post_init__(self) -> None:
        where = "GaussMarkov"
        check_number(where, "alpha", self.alpha, low=0.0, high=1.0)
        check_number(where, "mean_speed_mps", self.mean_speed_mps, low=0.0)
        check_number(where, "speed_std_mps", self.speed_std_mps, low=0.0)
        if self.mean_direction_deg is not None:
            check_number(where, "mean_direction_deg", self.mean_direction_deg, low=-360.0,
                         high=360.0)
        check_number(where, "direction_std_deg", self.direction_std_deg, low=0.0)
        if self.edge_margin_m is not None:
            check_number(where, "edge_margin_m", self.edge_margin_m, low=0.0)

    def describe(self) -> str:
        return (f"Gauss-Markov (alpha {self.alpha:g}, mean speed {self.mean_speed_mps:g} m/s, "
                f"sd {self.speed_std_mps:g} m/s)")

    def _track(self, rng: np.random.Generator, n: int, times_s: np.ndarray, step_s: float,
               area: Area) -> tuple[np.ndarray, np.ndarray]:
        a = self.alpha
        noise = math.sqrt(max(0.0, 1.0 - a * a))
        sd_s = self.speed_std_mps
        sd_d = math.radians(self.direction_std_deg)
        margin = self.edge_margin_m
        if margin is None:
            margin = area.spacing_m / 2 if area.spacing_m is not None else 0.0
        lo, span = area.low, area.span
        centre = lo + span / 2
        x = lo[0] + span[0] * rng.random(n)
        y = lo[1] + span[1] * rng.random(n)
        if self.mean_direction_deg is None:
            own = rng.uniform(-math.pi, math.pi, size=n)
        else:
            own = np.full(n, math.radians(self.mean_direction_deg))
        speed = self.mean_speed_mps + sd_s * rng.standard_normal(n)
        heading = own + sd_d * rng.standard_normal(n)
        out_x = np.empty((times_s.size, n))
        out_y = np.empty((times_s.size, n))
        out_x[0], out_y[0] = x, y
        for k in range(1, times_s.size):
            dt = times_s[k] - times_s[k - 1]
            move = np.maximum(speed, 0.0) * dt
            x = x + move * np.cos(heading)
            y = y + move * np.sin(heading)
            x, heading = _reflect(x, heading, lo[0], lo[0] + span[0], math.pi)
            y, heading = _reflect(y, heading, lo[1], lo[1] + span[1], 0.0)
            near_edge = ((x - lo[0] < margin) | (lo[0] + span[0] - x < margin)
                         | (y - lo[1] < margin) | (lo[1] + span[1] - y < margin))
            mean = np.where(near_edge, np.arctan2(centre[1] - y, centre[0] - x), own)
            speed = (a * speed + (1 - a) * self.mean_speed_mps
                     + noise * sd_s * rng.standard_normal(n))
            heading = mean + a * _wrap(heading - mean) + noise * sd_d * rng.standard_normal(n)
            out_x[k], out_y[k] = x, y
        return out_x, out_y


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Angles in [−π, π)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _reflect(v: np.ndarray, heading: np.ndarray, low: float, high: float,
             mirror: float) -> tuple[np.ndarray, np.ndarray]:
    """Reflect coordinates that left [low, high] back in; the heading mirrors with them
    (``mirror − heading``: π for a vertical wall, 0 for a horizontal one)."""
    out = (v < low) | (v > high)
    v = np.where(v < low, 2 * low - v, np.where(v > high, 2 * high - v, v))
    return np.clip(v, low, high), np.where(out, mirror - heading, heading)


MOBILITY_MODELS: dict[str, type] = {
    "random-waypoint": RandomWaypoint,
    "manhattan": ManhattanGrid,
    "gauss-markov": GaussMarkov,
}


def build_mobility(name: str, params: Mapping[str, Any] | None = None,
                   where: str = "mobility") -> Any:
    """A registered model from TOML-style parameters; unknown names and keys are errors."""
    if name not in MOBILITY_MODELS:
        raise ParameterError(f"{where}: model {name!r} is unknown; known: "
                             f"{', '.join(MOBILITY_MODELS)}")
    return MOBILITY_MODELS[name].from_params(params or {}, where=f"{where} {name!r}")
