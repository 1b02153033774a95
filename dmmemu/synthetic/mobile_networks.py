"""Mobile networks of a synthetic trace: mobile routers (buses, trains, cars) and the MNs that
ride behind them for a while (``networks.parquet``, ``docs/traces.md``).

A ``router_fraction`` of the MNs are mobile routers; each gets a Poisson number of riders
(mean ``riders_per_router``) among the MNs that are not routers, and a ``nested_fraction`` of
the routers ride behind another router themselves (a car in a ferry, a body network in a bus:
one level of nesting). A rider boards when it and its router are at the same PoA, at the
first such time after a uniformly random instant of the trace, and alights after a
lognormal ride (median ``ride_median_s``, shape ``ride_sigma``), or rides to the end.

While it rides, a rider's own mobility rows are its router's: its radio sees what the
router's does. That is what the practices without mobile network support replay (each MN on
its own); the practices with it replay the router's rows and the networks rows. When the ride
ends, the rider goes on from where its own mobility model has it by then (the model knows
nothing of the ride, so it may resume at another PoA: a simplification of the model, not of
the replay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import polars as pl

from dmmemu.model_params import NS_PER_S, check_known_keys, check_number


@dataclass(frozen=True, slots=True, kw_only=True)
class MobileNetworkModel:
    """Who rides behind which mobile router, when; ``router_fraction`` 0 draws none."""

    router_fraction: float = 0.0  # of the MNs, mobile routers
    riders_per_router: float = 4.0  # mean riders per router (Poisson)
    nested_fraction: float = 0.0  # of the routers, riding behind another router
    ride_median_s: float = 600.0  # median ride (lognormal)
    ride_sigma: float = 1.0  # lognormal shape of the rides

    def __post_init__(self) -> None:
        where = "mobile networks"
        check_number(where, "router_fraction", self.router_fraction, low=0.0, high=0.5)
        check_number(where, "riders_per_router", self.riders_per_router, low=0.0, high=1000.0)
        check_number(where, "nested_fraction", self.nested_fraction, low=0.0, high=1.0)
        check_number(where, "ride_median_s", self.ride_median_s, low=0.0, strict=True)
        check_number(where, "ride_sigma", self.ride_sigma, low=0.0, high=5.0)

    @property
    def enabled(self) -> bool:
        return self.router_fraction > 0.0

    def params(self) -> dict[str, Any]:
        return {"router_fraction": self.router_fraction,
                "riders_per_router": self.riders_per_router,
                "nested_fraction": self.nested_fraction, "ride_median_s": self.ride_median_s,
                "ride_sigma": self.ride_sigma}

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, where: str) -> "MobileNetworkModel":
        check_known_keys(where, params, cls)
        return cls(**params)

    def draw(self, rng: np.random.Generator, mobility: pl.DataFrame, n_mns: int,
             duration_ns: int) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """The mobility rows with every rider's rows on board replaced by its router's, and
        the networks rows (``t``, ``mn``, ``router``), None when no MN rides."""
        if not self.enabled:
            return mobility, None
        n_routers = max(1, int(round(self.router_fraction * n_mns)))
        order = rng.permutation(n_mns)
        routers = np.sort(order[:n_routers])
        hosts = order[n_routers:]
        n_nested = int(round(self.nested_fraction * n_routers)) if n_routers > 1 else 0
        nested = np.sort(rng.permutation(routers)[:n_nested])
        top = np.setdiff1d(routers, nested)
        rows = {int(m): (part["t"].to_numpy(), part["poa"].to_numpy())
                for (m,), part in mobility.group_by("mn", maintain_order=True)}
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int32))
        rides: list[tuple[int, int, int]] = []  # (board, rider, router); alight appended after
        alights: list[tuple[int, int]] = []
        # Nested routers board a top router first, so that their riders see their final rows.
        pairs = [(int(m), int(rng.choice(top))) for m in nested]
        counts = rng.poisson(self.riders_per_router, size=n_routers)
        free = list(hosts)
        rng.shuffle(free)
        for router, k in zip(routers.tolist(), counts.tolist()):
            for _ in range(min(k, len(free))):
                pairs.append((int(free.pop()), router))
        for rider, router in pairs:
            own, theirs = rows.get(rider, empty), rows.get(router, empty)
            start = int(rng.integers(0, max(duration_ns, 1)))
            ride_ns = int(round(rng.lognormal(np.log(self.ride_median_s), self.ride_sigma)
                                * NS_PER_S))
            board = _first_meeting(own, theirs, start)
            if board is None:
                continue
            alight = board + max(ride_ns, 1)
            rows[rider] = _ride(own, theirs, board, alight if alight <= duration_ns else None)
            rides.append((board, rider, router))
            if alight <= duration_ns:
                alights.append((alight, rider))
        if not rides:
            return mobility, None
        merged = pl.concat([
            pl.DataFrame({"t": t, "mn": np.full(t.shape[0], m, np.uint32), "poa": poa},
                         schema={"t": pl.Int64, "mn": pl.UInt32, "poa": pl.Int32})
            for m, (t, poa) in sorted(rows.items())]).sort("t", "mn", maintain_order=True)
        events = sorted([(t, 0, m, r) for t, m, r in rides] + [(t, 1, m, -1) for t, m in alights])
        networks = pl.DataFrame({
            "t": [e[0] for e in events], "mn": [e[2] for e in events],
            "router": [e[3] if e[3] >= 0 else None for e in events]},
            schema={"t": pl.Int64, "mn": pl.UInt32, "router": pl.UInt32})
        return merged, networks


def _state(rows: tuple[np.ndarray, np.ndarray], at: np.ndarray) -> np.ndarray:
    """The PoA of an MN's rows at each time of ``at`` (−1 before its first row)."""
    t, poa = rows
    i = np.searchsorted(t, at, side="right") - 1
    return np.where(i >= 0, poa[np.maximum(i, 0)], -1)


def _first_meeting(own: tuple[np.ndarray, np.ndarray], theirs: tuple[np.ndarray, np.ndarray],
                   start: int) -> int | None:
    """The first time at or after ``start`` (else from the beginning) when both MNs are
    attached to the same PoA, None if they never are."""
    points = np.unique(np.concatenate([own[0], theirs[0], [start]]))
    mine, router = _state(own, points), _state(theirs, points)
    meet = (mine == router) & (mine >= 0)
    later = meet & (points >= start)
    if later.any():
        return int(points[np.argmax(later)])
    return int(points[np.argmax(meet)]) if meet.any() else None


def _ride(own: tuple[np.ndarray, np.ndarray], theirs: tuple[np.ndarray, np.ndarray], board: int,
          alight: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The rider's rows: its own outside the ride, its router's on board, its own state again
    at ``alight``; a row that repeats the PoA before it is dropped."""
    end = np.iinfo(np.int64).max if alight is None else alight
    before = own[0] < board
    after = own[0] >= end
    aboard = (theirs[0] >= board) & (theirs[0] < end)
    t = [own[0][before], [board], theirs[0][aboard]]
    poa = [own[1][before], _state(theirs, np.array([board])), theirs[1][aboard]]
    if alight is not None:
        t += [[alight], own[0][after]]
        poa += [_state(own, np.array([alight])), own[1][after]]
    t_all = np.concatenate(t).astype(np.int64)
    poa_all = np.concatenate(poa).astype(np.int32)
    last = np.ones(t_all.shape[0], bool)  # of equal times the later row holds
    last[:-1] = t_all[:-1] != t_all[1:]
    t_all, poa_all = t_all[last], poa_all[last]
    keep = np.ones(t_all.shape[0], bool)
    keep[1:] = poa_all[1:] != poa_all[:-1]
    return t_all[keep], poa_all[keep]
