"""Traffic: determinism, the requested distributions (KS and chi-square tests), attached
windows, calibration, empirical CDF files and writing a trace with traffic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from dmmemu.errors import DmmemuError
from dmmemu.synthetic.traffic import (
    DEFAULT_APPS,
    SIZE_LAWS,
    Application,
    EmpiricalSize,
    OnOffArrivals,
    SizeCdfError,
    TrafficModel,
    attached_windows,
    write_with_traffic,
)
from dmmemu.topology.generators import FlatWifi
from dmmemu.trace.reader import Trace

S = 1_000_000_000
TOPOLOGY = FlatWifi(rows=2, cols=2, correspondents=8).build()
POAS = TOPOLOGY.nodes_with_role("poa")
CNS = TOPOLOGY.nodes_with_role("cn")


def always_attached(n_mns: int) -> pl.DataFrame:
    return pl.DataFrame({"t": np.zeros(n_mns, np.int64), "mn": np.arange(n_mns, dtype=np.uint32),
                         "poa": np.resize(POAS, n_mns).astype(np.int32)})


def one_app(**law) -> dict[str, Application]:
    """A single application with short flows (no packets are materialised by these tests)."""
    return {"only": Application(share=1.0, continuity=True, rate_pps=100.0, **law)}


def write_cdf(path: Path, rows: list[tuple], header: str = "size,cumulative_share") -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


CDF_ROWS = [(200, 0.0), (1_000, 0.3), (5_000, 0.55), (20_000, 0.9), (100_000, 1.0)]


@pytest.fixture(scope="module")
def cdf_file(tmp_path_factory) -> Path:
    return write_cdf(tmp_path_factory.mktemp("cdf") / "sizes.csv", CDF_ROWS)


# -------------------------------------------------------------------- determinism
def test_same_seed_same_flows_and_packets():
    model = TrafficModel(packets=50_000)
    mob = always_attached(20)
    a = model.realise(mob, TOPOLOGY, t_end=600 * S, seed=7)
    b = model.realise(mob, TOPOLOGY, t_end=600 * S, seed=np.random.SeedSequence(7))
    assert a.flows.equals(b.flows)
    pa_, pb = (pl.concat([pl.DataFrame(c) for c in r.packets]) for r in (a, b))
    assert pa_.equals(pb) and pa_.height == 50_000
    c = model.realise(mob, TOPOLOGY, t_end=600 * S, seed=8)
    assert not a.flows.equals(c.flows)


def test_onoff_is_deterministic_too():
    model = TrafficModel(arrivals="onoff", flows_per_mn_hour=600.0)
    mob = always_attached(10)
    a = model.realise(mob, TOPOLOGY, t_end=900 * S, seed=1)
    b = model.realise(mob, TOPOLOGY, t_end=900 * S, seed=1)
    assert a.flows.equals(b.flows)


# -------------------------------------------------------------------- flow sizes
@pytest.mark.parametrize("law", [
    dict(size_law="lognormal", size_scale=20_000.0, size_shape=1.2),
    dict(size_law="pareto", size_scale=5_000.0, size_shape=1.4),
])
def test_flow_sizes_follow_a_parametric_law(law):
    model = TrafficModel(apps=one_app(**law), flows_per_mn_hour=1800.0)
    real = model.realise(always_attached(20), TOPOLOGY, t_end=600 * S, seed=3)
    app = model.apps["only"]
    sizes = real.flow_bytes
    assert sizes.size > 4000
    assert stats.kstest(sizes, app.size_cdf).pvalue > 1e-3
    other = Application(share=1.0, continuity=True, rate_pps=100.0, size_law=law["size_law"],
                        size_scale=law["size_scale"] * 1.3, size_shape=law["size_shape"])
    assert stats.kstest(sizes, other.size_cdf).pvalue < 1e-6  # the test can reject


def test_flow_sizes_follow_an_empirical_cdf_file(cdf_file):
    model = TrafficModel(apps=one_app(size_law="empirical", size_file=str(cdf_file)),
                         flows_per_mn_hour=1800.0)
    real = model.realise(always_attached(20), TOPOLOGY, t_end=600 * S, seed=4)
    sizes = real.flow_bytes
    law = model.apps["only"].law
    assert stats.kstest(sizes, law.cdf).pvalue > 1e-3
    assert sizes.min() >= 200 and sizes.max() <= 100_000
    # Knots are quantiles: the share below each knot size is its cumulative share.
    for size, share in CDF_ROWS[1:-1]:
        assert np.mean(sizes <= size) == pytest.approx(share, abs=0.03)


def test_empirical_cdf_from_parquet_and_inverse_sampling(tmp_path):
    path = tmp_path / "sizes.parquet"
    pq.write_table(pa.table({"size": [100, 300], "cumulative_share": [0.25, 1.0]}), path)
    law = EmpiricalSize.read(path)
    u = np.array([0.0, 0.25, 0.5, 1.0])
    assert law.sample(np.zeros(4), u).tolist() == [100.0, 100.0, 200.0 * 2 / 3 + 100 / 3, 300.0]
    assert law.cdf(np.array([99.0, 100.0, 200.0, 300.0, 1e9])).tolist() == pytest.approx(
        [0.0, 0.25, 0.625, 1.0, 1.0])


@pytest.mark.parametrize("rows, header, where, field", [
    ([(100, 0.2), (50, 0.5), (300, 1.0)], None, "line 3", "size"),
    ([(100, 0.6), (200, 0.5), (300, 1.0)], None, "line 3", "cumulative_share"),
    ([(100, -0.1), (300, 1.0)], None, "line 2", "cumulative_share"),
    ([(100, 0.5), (300, 1.5)], None, "line 3", "cumulative_share"),
    ([(100, 0.5), (300, 0.9)], None, "line 3", "cumulative_share"),
    ([(100, 0.5), ("big", 1.0)], None, "line 3", "size"),
    ([(0, 0.5), (300, 1.0)], None, "line 2", "size"),
    ([(100, 0.5), (300, 1.0)], "size,share", "line 1", "cumulative_share"),
    ([(100, 0.5), (300, 1.0)], "bytes,cumulative_share", "line 1", "size"),
])
def test_bad_cdf_files_name_file_line_and_field(tmp_path, rows, header, where, field):
    path = write_cdf(tmp_path / "bad.csv", rows, header or "size,cumulative_share")
    with pytest.raises(SizeCdfError) as info:
        EmpiricalSize.read(path)
    message = str(info.value)
    assert message.startswith(f"{path}, {where}, field {field!r}: "), message
    with pytest.raises(DmmemuError):  # through an Application too
        Application(share=1.0, continuity=True, rate_pps=1.0, size_law="empirical",
                    size_file=str(path))


def test_bad_parquet_cdf_names_the_row(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"size": [1.0, 2.0, 3.0], "cumulative_share": [0.1, 0.05, 1.0]}),
                   path)
    with pytest.raises(SizeCdfError, match=r"bad.parquet, row 1, field 'cumulative_share'"):
        EmpiricalSize.read(path)
    pq.write_table(pa.table({"size": [1.0]}), path)
    with pytest.raises(SizeCdfError, match="field 'cumulative_share': missing column"):
        EmpiricalSize.read(path)
    with pytest.raises(SizeCdfError, match="no such file"):
        EmpiricalSize.read(tmp_path / "absent.csv")


# -------------------------------------------------------------------- arrivals and peers
def test_poisson_inter_arrivals_are_exponential():
    rate = 0.5  # flows per MN-second
    model = TrafficModel(apps=one_app(size_law="lognormal", size_scale=1_000.0, size_shape=0.5),
                         flows_per_mn_hour=rate * 3600)
    real = model.realise(always_attached(10), TOPOLOGY, t_end=1200 * S, seed=5)
    flows = real.flows.sort("mn", "start")
    gaps = (flows.group_by("mn", maintain_order=True)
            .agg(pl.col("start").diff().drop_nulls())["start"].explode().to_numpy()) / S
    assert gaps.size > 5000
    assert stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue > 1e-3
    assert real.flow_rate_per_mn_s == pytest.approx(rate)
    assert flows.height / (10 * 1200) == pytest.approx(rate, rel=0.05)


def test_onoff_arrivals_are_bursty_with_the_requested_mean_rate():
    rate = 0.5
    model = TrafficModel(arrivals="onoff", on_mean_s=20.0, off_mean_s=40.0,
                         apps=one_app(size_law="lognormal", size_scale=1_000.0, size_shape=0.5),
                         flows_per_mn_hour=rate * 3600)
    real = model.realise(always_attached(30), TOPOLOGY, t_end=1800 * S, seed=6)
    flows = real.flows.sort("mn", "start")
    assert flows.height / (30 * 1800) == pytest.approx(rate, rel=0.1)
    gaps = (flows.group_by("mn", maintain_order=True)
            .agg(pl.col("start").diff().drop_nulls())["start"].explode().to_numpy()) / S
    assert gaps.std() / gaps.mean() > 1.3  # on/off: overdispersed against Poisson's 1
    assert stats.kstest(gaps, "expon", args=(0, gaps.mean())).pvalue < 1e-6


def test_onoff_state_lookup_matches_the_switch_times():
    model = TrafficModel(arrivals="onoff", on_mean_s=3.0, off_mean_s=5.0)
    onoff = OnOffArrivals(model, np.random.default_rng(0), 4, 100 * S)
    rng = np.random.default_rng(1)
    mn = rng.integers(0, 4, 2000)
    t = rng.integers(0, 100 * S, 2000)
    got = onoff.keep(mn, t)
    for m in range(4):
        switches = onoff.switch[onoff.offset[m]:onoff.offset[m] + onoff.count[m]]
        assert np.all(np.diff(switches) >= 0)
        sel = mn == m
        passed = np.searchsorted(switches, t[sel], side="right")
        assert np.array_equal(got[sel], onoff.first_on[m] ^ (passed % 2 == 1))
    share_on = np.mean(onoff.keep(np.repeat(np.arange(4), 50_000),
                                  np.tile(np.linspace(0, 100 * S, 50_000).astype(np.int64), 4)))
    assert 0.15 < share_on < 0.6  # 3 / 8 expected, loosely with four MNs


def test_peers_follow_zipf_popularity():
    model = TrafficModel(zipf_exponent=1.2, flows_per_mn_hour=1800.0,
                         apps=one_app(size_law="lognormal", size_scale=1_000.0, size_shape=0.5))
    real = model.realise(always_attached(20), TOPOLOGY, t_end=600 * S, seed=9)
    seen = real.flows["peer"].to_numpy()
    counts = np.array([(seen == c).sum() for c in CNS])
    assert counts.sum() == seen.size  # every peer is a cn node
    expected = np.arange(1, CNS.size + 1, dtype=float) ** -1.2
    expected *= seen.size / expected.sum()
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    uniform = np.full(CNS.size, seen.size / CNS.size)
    assert stats.chisquare(counts, uniform).pvalue < 1e-6


def test_a_share_of_flows_goes_to_another_attached_mn():
    """mn_peer_share: MN-to-MN flows (peer null, peer_mn another MN that was attached just
    before the flow starts); the other flows keep their cn; the share is the asked one."""
    model = TrafficModel(flows_per_mn_hour=1800.0, mn_peer_share=0.3,
                         apps=one_app(size_law="lognormal", size_scale=1_000.0, size_shape=0.5))
    mobility = always_attached(20)
    flows = model.realise(mobility, TOPOLOGY, t_end=600 * S, seed=9).flows
    to_mn = flows.filter(pl.col("peer_mn").is_not_null())
    assert to_mn["peer"].null_count() == to_mn.height
    assert (to_mn["peer_mn"] != to_mn["mn"]).all()
    assert set(to_mn["peer_mn"].to_list()) <= set(range(20))
    others = flows.filter(pl.col("peer_mn").is_null())
    assert others["peer"].is_in(CNS.tolist()).all()
    # Binomial: 0.3 of the flows, less the draws that named the flow's own MN (1/20 here).
    assert stats.binomtest(to_mn.height, flows.height, 0.3 * 19 / 20).pvalue > 1e-3
    plain = model.with_(mn_peer_share=0.0).realise(mobility, TOPOLOGY, t_end=600 * S, seed=9)
    assert "peer_mn" not in plain.flows.columns  # the files of earlier traces stay the same
    assert plain.flows.drop("peer").equals(flows.drop("peer", "peer_mn"))


def test_app_mix_and_continuity():
    model = TrafficModel(flows_per_mn_hour=1800.0)
    real = model.realise(always_attached(20), TOPOLOGY, t_end=600 * S, seed=10)
    flows = real.flows
    counts = dict(flows.group_by("app").len().iter_rows())
    names = list(DEFAULT_APPS)
    observed = np.array([counts.get(name, 0) for name in names])
    shares = np.array([DEFAULT_APPS[name].share for name in names])
    assert stats.chisquare(observed, shares / shares.sum() * observed.sum()).pvalue > 1e-3
    for name, continuity, rate, size in flows.select("app", "continuity", "rate_pps",
                                                      "size").unique().iter_rows():
        app = DEFAULT_APPS[name]
        assert (continuity, rate, size) == (app.continuity, app.rate_pps, app.down_bytes)
    assert not DEFAULT_APPS["web"].continuity and DEFAULT_APPS["voice"].continuity


# -------------------------------------------------------------------- attachment windows
def test_attached_windows():
    mob = pl.DataFrame({
        "t": [0, 0, 10, 20, 20, 30, 40, 50],
        "mn": [0, 1, 0, 0, 1, 0, 0, 2],
        "poa": [5, 6, 7, -1, -1, 5, -1, -1],
    })
    mn, start, end = attached_windows(mob, 100)
    assert list(zip(mn, start, end)) == [(0, 0, 19), (0, 30, 39), (1, 0, 19)]
    mn, start, end = attached_windows(mob.head(2), 100)
    assert list(zip(mn, start, end)) == [(0, 0, 100), (1, 0, 100)]


def test_flows_start_while_attached_and_end_before_a_detach():
    mob = pl.DataFrame({
        "t": np.array([0, 0, 100, 200, 300, 350, 500], np.int64) * S,
        "mn": np.array([0, 1, 0, 1, 0, 1, 0], np.uint32),
        "poa": np.array([POAS[0], POAS[1], -1, POAS[2], POAS[3], -1, POAS[1]], np.int32),
    })
    model = TrafficModel(flows_per_mn_hour=3600.0)
    real = model.realise(mob, TOPOLOGY, t_end=600 * S, seed=2)
    mn, start, end = attached_windows(mob, 600 * S)
    assert real.flows.height > 200
    for flow_mn, s, e in real.flows.select("mn", "start", "end").iter_rows():
        inside = (mn == flow_mn) & (start <= s) & (e <= end)
        assert inside.any(), (flow_mn, s, e)


@pytest.mark.parametrize("target", [1, 12_345, 400_000])
def test_packet_count_is_the_target(target):
    real = TrafficModel(packets=target).realise(always_attached(30), TOPOLOGY,
                                                t_end=900 * S, seed=target)
    assert real.n_packets == target
    assert sum(len(chunk["t"]) for chunk in real.packet_chunks(50_000)) == target


def test_packet_chunks_are_sorted_and_inside_their_flows():
    real = TrafficModel(packets=80_000).realise(always_attached(10), TOPOLOGY, t_end=600 * S,
                                                seed=12)
    packets = pl.concat([pl.DataFrame(chunk) for chunk in real.packet_chunks(7_000)])
    assert packets.height == 80_000
    assert packets["t"].is_sorted()
    joined = packets.join(real.flows, on="flow")
    assert ((joined["t"] >= joined["start"]) & (joined["t"] <= joined["end"])).all()
    down = packets.filter(pl.col("dir") == 1).join(real.flows, on="flow")
    assert (down["size"] <= down["size_right"]).all()


# -------------------------------------------------------------------- parameters
def test_model_round_trips_and_rejects_unknown_keys(cdf_file):
    model = TrafficModel(arrivals="onoff", packets=10, zipf_exponent=0.5,
                         apps={**DEFAULT_APPS, "files": Application(
                             share=0.1, continuity=False, size_law="empirical",
                             size_file=str(cdf_file), rate_pps=300.0)})
    assert TrafficModel.from_params(model.params()) == model
    with pytest.raises(DmmemuError, match="unknown parameter 'rate'"):
        TrafficModel.from_params({"rate": 3})
    with pytest.raises(DmmemuError, match="unknown parameter 'colour'"):
        TrafficModel.from_params({"apps": {"web": {**DEFAULT_APPS["web"].params(),
                                                   "colour": 1}}})


@pytest.mark.parametrize("changes", [
    {"arrivals": "bursty"}, {"packets": 0}, {"flows_per_mn_hour": 0.0}, {"apps": {}},
    {"zipf_exponent": -1.0}, {"on_mean_s": 0.0},
])
def test_bad_model_is_rejected(changes):
    with pytest.raises(DmmemuError):
        TrafficModel(**changes)


@pytest.mark.parametrize("law", [
    dict(size_law="zipf", size_scale=1.0, size_shape=1.0),
    dict(size_law="lognormal", size_scale=1e3),
    dict(size_law="pareto", size_scale=1e3, size_shape=1.0, size_file="x.csv"),
    dict(size_law="empirical"),
])
def test_bad_size_law_is_rejected(law):
    with pytest.raises(DmmemuError, match="size_"):
        Application(share=1.0, continuity=True, rate_pps=1.0, **law)
    assert set(SIZE_LAWS) == {"lognormal", "pareto", "empirical"}


def test_no_attached_time_is_an_error():
    mob = pl.DataFrame({"t": [5 * S], "mn": [0], "poa": [-1]})
    with pytest.raises(DmmemuError, match="attached"):
        TrafficModel().realise(mob, TOPOLOGY, t_end=10 * S, seed=0)


# -------------------------------------------------------------------- writing
def test_write_with_traffic_records_source_parameters_and_seed(tmp_path):
    traffic = TrafficModel(packets=30_000)
    mob = always_attached(12)
    path = write_with_traffic(tmp_path / "t", name="imported", topology=TOPOLOGY,
                              mobility=mob, traffic=traffic, seed=42,
                              manifest={"source": "unit test", "generator": "tests",
                                        "params": {"speed": 3}},
                              t_end=300 * S)
    trace = Trace.open(path)
    assert trace.manifest["seed"] == 42 and trace.manifest["source"] == "unit test"
    assert trace.manifest["params"]["speed"] == 3
    assert TrafficModel.from_params(trace.manifest["params"]["traffic"]) == traffic
    assert trace.packet_count() == 30_000
    real = traffic.realise(mob, TOPOLOGY, t_end=300 * S, seed=42)
    assert pl.read_parquet(path / "flows.parquet").equals(real.flows)


def test_write_without_packets_lets_the_engines_synthesise_them(tmp_path):
    path = write_with_traffic(tmp_path / "t", name="flows-only", topology=TOPOLOGY,
                              mobility=always_attached(5),
                              traffic=TrafficModel(flows_per_mn_hour=120.0), seed=1,
                              manifest={}, packets=False, t_end=600 * S)
    assert not (path / "packets.parquet").exists()
    trace = Trace.open(path)
    assert not trace.has_packets and trace.packet_count() > 0
    rates = {name: app.rate_pps for name, app in DEFAULT_APPS.items()}
    stored = pl.read_parquet(path / "flows.parquet")
    assert [rates[a] for a in stored["app"]] == stored["rate_pps"].to_list()
    with pytest.raises(DmmemuError, match="seed"):
        write_with_traffic(tmp_path / "u", name="x", topology=TOPOLOGY,
                           mobility=always_attached(5), traffic=TrafficModel(), seed=1,
                           manifest={"seed": 2})


# ------------------------------------------------------------------ flow classes by app
def test_apps_that_ask_an_address_type_write_it_and_read_back(tmp_path) -> None:
    """RFC 8653: an application's address type is each of its flows' address_type; with no
    application asking one, flows.parquet has no such column (and reads back null)."""
    import dataclasses as dc

    from dmmemu.model_params import ParameterError
    from dmmemu.synthetic.generator import SyntheticTrace
    from dmmemu.synthetic.traffic import DEFAULT_APPS, TrafficModel
    from dmmemu.trace.reader import Trace

    apps = dict(DEFAULT_APPS)
    apps["voice"] = dc.replace(apps["voice"], address_type="session-lasting", share=1.0)
    apps["web"] = dc.replace(apps["web"], share=1.0)  # half the flows, asking no type
    apps["video"] = dc.replace(apps["video"], share=0.0)
    apps["bulk"] = dc.replace(apps["bulk"], share=0.0)
    spec = SyntheticTrace(mns=10, packets=5000, duration_s=300, traffic=TrafficModel(apps=apps))
    path = spec.generate(tmp_path / "typed")
    flows = Trace.open(path).flows
    assert set(flows.filter(pl.col("app") == "voice")["address_type"].to_list()) == {
        "session-lasting"}
    assert flows.filter(pl.col("app") != "voice")["address_type"].null_count() == \
        flows.filter(pl.col("app") != "voice").height
    again = SyntheticTrace.from_manifest(path)  # the type is a recorded parameter
    assert again.traffic.apps["voice"].address_type == "session-lasting"
    plain = SyntheticTrace(mns=10, packets=5000, duration_s=300).generate(tmp_path / "plain")
    assert "address_type" not in pl.read_parquet(plain / "flows.parquet").columns
    with pytest.raises(ParameterError, match="address_type"):
        dc.replace(apps["web"], address_type="roaming")


def test_local_peers_are_reached_only_from_their_site() -> None:
    """On the EPS layout, a share of the flows started at a HeNB go to the correspondent
    local to its L-GW site; no flow goes there from anywhere else."""
    from dmmemu.synthetic.generator import SyntheticTrace
    from dmmemu.synthetic.traffic import TrafficModel

    spec = SyntheticTrace(mns=60, packets=None, duration_s=900, topology="eps",
                          topology_params={"henb_sites": 2, "henbs_per_site": 4},
                          traffic=TrafficModel(local_peer_share=1.0))
    real = spec.realise()
    topology, flows = real.topology, real.flows
    site_of = {n.id: n.local_to for n in topology.nodes if n.local_to}
    at = (flows.sort("start").join_asof(real.mobility.sort("t"), left_on="start",
                                         right_on="t", by="mn", check_sortedness=False))
    for peer, poa in zip(at["peer"].to_list(), at["poa"].to_list()):
        at_site = [a for a in topology.nodes[poa].areas if a.startswith("lgw-site")]
        if peer in site_of:
            assert at_site == [site_of[peer]]  # from a HeNB of its own site
        else:
            assert not at_site  # share 1: every flow started at a site stays local
    assert any(peer in site_of for peer in flows["peer"].to_list())
    plain = spec.with_(traffic=TrafficModel()).realise()
    assert not set(plain.flows["peer"].to_list()) & set(site_of)  # local only by choice
