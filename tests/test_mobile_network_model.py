"""Mobile networks in synthetic traces (``dmmemu.synthetic.mobile_networks``): who rides behind
which router, where riders board, what their rows are on board, and the CLI option."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from dmmemu.cli.gen import gen_command
from dmmemu.model_params import ParameterError
from dmmemu.synthetic.generator import SyntheticTrace
from dmmemu.synthetic.mobile_networks import MobileNetworkModel
from dmmemu.trace.reader import Trace

SPEC = SyntheticTrace(mns=120, packets=20_000, seed=3, duration_s=900.0, topology="composite",
                      networks=MobileNetworkModel(router_fraction=0.05, riders_per_router=3.0,
                                                  nested_fraction=0.4, ride_median_s=200.0))


@pytest.fixture(scope="module")
def real():
    return SPEC.realise()


def poa_at(mobility: pl.DataFrame, mn: int, t: int) -> int:
    """The PoA MN ``mn`` is at, at time ``t``, by its rows (−1 before its first)."""
    rows = mobility.filter((pl.col("mn") == mn) & (pl.col("t") <= t))
    return int(rows["poa"][-1]) if rows.height else -1


def rides(networks: pl.DataFrame, end: int) -> list[tuple[int, int, int, int]]:
    """(rider, router, board, alight) of every ride; alight is ``end`` for a ride to the end."""
    out, open_rides = [], {}
    for t, mn, router in networks.iter_rows():
        if mn in open_rides:
            board, held = open_rides.pop(mn)
            out.append((mn, held, board, t))
        if router is not None:
            open_rides[mn] = (t, router)
    out += [(mn, router, board, end) for mn, (board, router) in open_rides.items()]
    return out


def test_routers_riders_and_nesting(real) -> None:
    networks = real.networks
    assert networks is not None and networks.height > 0
    ridden = rides(networks, real.duration_ns)
    routers = set(networks["router"].drop_nulls().to_list())
    assert 2 <= len(routers) <= round(0.05 * 120)
    nested = {mn for mn, *_ in ridden if mn in routers}
    assert nested, "some router rides behind another"
    for mn, router, _, _ in ridden:
        if mn in nested:  # one level of nesting: a nested router rides a top router
            assert router not in nested
    assert any(router in nested for _, router, _, _ in ridden)  # and has riders itself
    riders = [mn for mn, *_ in ridden if mn not in routers]
    assert len(riders) == len(set(riders))  # a host rides once


def test_riders_board_where_their_router_is_and_take_its_rows_on_board(real) -> None:
    mob = real.mobility
    for rider, router, board, alight in rides(real.networks, real.duration_ns):
        assert poa_at(mob, rider, board) == poa_at(mob, router, board) >= 0
        # On board, every change of either is a change of both.
        times = mob.filter(pl.col("mn").is_in([rider, router]) & (pl.col("t") >= board)
                           & (pl.col("t") < alight))["t"].unique().to_list()
        for t in times:
            assert poa_at(mob, rider, t) == poa_at(mob, router, t), (rider, router, t)


def test_rows_are_changes_in_time_order_and_the_trace_opens(real, tmp_path) -> None:
    mob = real.mobility
    assert mob["t"].is_sorted()
    for (mn,), rows in mob.group_by("mn"):
        poa = rows["poa"].to_numpy()
        assert np.all(poa[1:] != poa[:-1]), mn
    path = SPEC.generate(tmp_path / "t")
    trace = Trace.open(path)
    assert trace.network_depth == 2
    assert trace.networks.height == real.networks.height
    assert "networks" in trace.manifest["params"]
    assert SyntheticTrace.from_manifest(path).networks == SPEC.networks


def test_off_by_default_and_the_seed_decides(real) -> None:
    assert SPEC.with_(networks=MobileNetworkModel()).realise().networks is None
    again = SPEC.realise()
    assert again.networks.equals(real.networks) and again.mobility.equals(real.mobility)
    plain = SPEC.with_(networks=MobileNetworkModel()).realise().mobility
    # Only riders' rows change; everyone else moves as without mobile networks.
    riders = set(real.networks["mn"].to_list())
    assert plain.filter(~pl.col("mn").is_in(riders)).equals(
        real.mobility.filter(~pl.col("mn").is_in(riders)))


def test_bad_parameters_name_the_option(tmp_path) -> None:
    with pytest.raises(ParameterError, match="router_fraction"):
        MobileNetworkModel(router_fraction=0.9)
    result = CliRunner().invoke(gen_command, [
        "--out", str(tmp_path / "x"), "--mns", "20", "--packets", "100",
        "--network-param", "riders=3", "--no-progress"])
    assert result.exit_code == 2
    assert "--network-param" in result.output and "riders" in result.output
    assert "Traceback" not in result.output


def test_cli_writes_networks(tmp_path) -> None:
    result = CliRunner().invoke(gen_command, [
        "--out", str(tmp_path / "g"), "--mns", "60", "--packets", "2000", "--duration", "600",
        "--network-param", "router_fraction=0.05", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert Trace.open(tmp_path / "g").networks.height > 0
