"""The synthetic trace generator: determinism, mobility, traffic, calibration, files, and
the ``gen`` command."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy import stats

from dmmemu.cli.gen import gen_command
from dmmemu.errors import DmmemuError, OutputError
from dmmemu.model_params import ParameterError
from dmmemu.synthetic.attachment import AttachmentRule
from dmmemu.synthetic.generator import GENERATOR, SyntheticError, SyntheticTrace
from dmmemu.synthetic.traffic import DEFAULT_APPS, Application, TrafficModel
from dmmemu.trace.reader import Trace

SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"
SMALL = dict(mns=40, packets=60_000, duration_s=600.0)


def frames_equal(a, b) -> bool:
    return a.mobility.equals(b.mobility) and a.flows.equals(b.flows)


def all_packets(real) -> pl.DataFrame:
    return pl.concat([pl.DataFrame(chunk) for chunk in real.packet_chunks(20_000)])


def handovers(mobility: pl.DataFrame) -> int:
    previous = pl.col("poa").shift(1).over("mn")
    return mobility.filter((previous >= 0) & (pl.col("poa") >= 0)).height


@pytest.fixture(scope="module")
def many_flows():
    """Few MNs and a large packet target: thousands of flows, no packets materialised."""
    spec = SyntheticTrace(mns=20, packets=6_000_000, duration_s=3600.0, seed=11)
    return spec, spec.realise()


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory):
    spec = SyntheticTrace(seed=3, **SMALL)
    return spec, spec.generate(tmp_path_factory.mktemp("synthetic") / "small")


# -------------------------------------------------------------------- determinism
def test_same_seed_same_frames_and_packets():
    a = SyntheticTrace(seed=5, **SMALL).realise()
    b = SyntheticTrace(seed=5, **SMALL).realise()
    assert frames_equal(a, b)
    assert all_packets(a).equals(all_packets(b))


def test_different_seed_different_frames():
    a = SyntheticTrace(seed=5, **SMALL).realise()
    b = SyntheticTrace(seed=6, **SMALL).realise()
    assert not a.mobility.equals(b.mobility)
    assert not a.flows.equals(b.flows)


def test_same_seed_byte_identical_files(small_trace, tmp_path):
    spec, path = small_trace
    again = spec.generate(tmp_path / "small")
    for name in ("trace.toml", "topology.toml", "mobility.parquet", "flows.parquet",
                 "packets.parquet"):
        assert (path / name).read_bytes() == (again / name).read_bytes(), name


def test_traffic_parameters_leave_mobility_unchanged():
    a = SyntheticTrace(seed=5, **SMALL).realise()
    b = SyntheticTrace(seed=5, **{**SMALL, "packets": 20_000},
                       traffic=TrafficModel(zipf_exponent=0.0)).realise()
    assert a.mobility.equals(b.mobility)
    assert not a.flows.equals(b.flows)


def test_seed_none_draws_and_records_a_seed():
    spec = SyntheticTrace(seed=None, mns=5, packets=100, duration_s=60.0)
    assert isinstance(spec.seed, int) and 0 <= spec.seed < 2**63
    assert spec.params()["mns"] == 5


# -------------------------------------------------------------------- mobility
def test_mobility_rows_valid_per_mn():
    spec = SyntheticTrace(seed=2, **SMALL)
    real = spec.realise()
    mob = real.mobility
    assert mob.schema == {"t": pl.Int64, "mn": pl.UInt32, "poa": pl.Int32}
    t = mob["t"].to_numpy()
    assert np.all(np.diff(t) >= 0)
    poas = set(real.topology.nodes_with_role("poa").tolist())
    assert set(mob["poa"].unique().to_list()) <= poas | {-1}
    assert mob["mn"].n_unique() == spec.mns
    for (mn,), rows in mob.group_by("mn"):
        poa = rows["poa"].to_list()
        assert poa[0] >= 0, f"MN {mn} starts with a detach"
        assert all(p != q for p, q in zip(poa, poa[1:])), f"MN {mn} repeats a PoA"
        assert -1 not in poa[:-1], f"MN {mn} comes back after leaving"
    first = mob.group_by("mn").agg(pl.col("t").min())["t"]
    assert (first > 0).sum() == round(spec.late_fraction * spec.mns)
    last = mob.group_by("mn").agg(pl.col("poa").last())["poa"]
    assert (last == -1).sum() == round(spec.early_fraction * spec.mns)


@pytest.mark.parametrize("mobility", ["random-waypoint", "manhattan", "gauss-markov"])
def test_every_mobility_model_is_deterministic_under_a_seed(mobility):
    a = SyntheticTrace(seed=5, mobility=mobility, **SMALL).realise()
    b = SyntheticTrace(seed=5, mobility=mobility, **SMALL).realise()
    c = SyntheticTrace(seed=6, mobility=mobility, **SMALL).realise()
    assert frames_equal(a, b)
    assert not a.mobility.equals(c.mobility)
    assert a.mobility["mn"].n_unique() == SMALL["mns"]


def test_handover_rate_follows_speed_and_hysteresis():
    """Straight legs at random angles cross a square grid of spacing s 4/(π s) times per
    metre; without pauses or hysteresis an MN at v m/s should hand over ~4v/(π s) per s
    (tests/test_mobility_models.py checks each model's rate more closely)."""
    base = dict(mns=60, duration_s=1200.0, late_fraction=0.0, early_fraction=0.0, packets=1,
                seed=4)
    still = {"speed_min_mps": 10.0, "speed_max_mps": 10.0, "pause_max_s": 0.0}
    eager = SyntheticTrace(mobility_params=still, attachment=AttachmentRule(hysteresis_m=0.0),
                           **base).realise()
    rate = handovers(eager.mobility) / (60 * 1200.0)
    expected = 10.0 * 4 / (math.pi * 150.0)
    assert 0.85 * expected < rate < 1.15 * expected
    sticky = SyntheticTrace(mobility_params=still, attachment=AttachmentRule(hysteresis_m=50.0),
                            **base).realise()
    slow = SyntheticTrace(mobility_params=still, attachment=AttachmentRule(
        hysteresis_m=0.0, time_to_trigger_s=5.0), **base).realise()
    assert handovers(sticky.mobility) < handovers(eager.mobility)
    assert handovers(slow.mobility) < handovers(eager.mobility)


# -------------------------------------------------------------------- traffic
def test_flow_sizes_follow_their_laws(many_flows):
    spec, real = many_flows
    app = real.flows["app"].to_numpy()
    for name, law in spec.traffic.apps.items():
        sizes = real.flow_bytes[app == name]
        assert sizes.size >= 150, name
        assert stats.kstest(sizes, law.size_cdf).pvalue > 1e-3, name
    # The test can reject: web sizes are not video sizes.
    web = real.flow_bytes[app == "web"]
    assert stats.kstest(web, spec.traffic.apps["video"].size_cdf).pvalue < 1e-6


def test_app_mix_peers_and_continuity(many_flows):
    spec, real = many_flows
    flows = real.flows
    n = flows.height
    apps = spec.traffic.apps
    shares = {name: app.share for name, app in apps.items()}
    total = sum(shares.values())
    counts = dict(flows.group_by("app").len().iter_rows())
    for name, share in shares.items():
        p = share / total
        assert abs(counts.get(name, 0) / n - p) < 4 * math.sqrt(p * (1 - p) / n), name
    expected = {name: app.continuity for name, app in apps.items()}
    assert all(expected[a] == c for a, c in flows.select("app", "continuity").iter_rows())
    cns = real.topology.nodes_with_role("cn")
    assert set(flows["peer"].unique().to_list()) <= set(cns.tolist())
    popularity = np.arange(1, cns.size + 1, dtype=float) ** -spec.traffic.zipf_exponent
    popularity /= popularity.sum()
    seen = flows["peer"].value_counts().sort("peer")
    share_top = seen.filter(pl.col("peer") == int(cns[0]))["count"][0] / n
    assert abs(share_top - popularity[0]) < 4 * math.sqrt(popularity[0] / n)
    assert seen["count"][0] == seen["count"].max()


def test_flows_within_presence_and_trace(many_flows):
    _, real = many_flows
    flows = real.flows
    assert flows["flow"].to_list() == list(range(flows.height))
    assert (flows["start"] <= flows["end"]).all()
    assert flows["end"].max() <= real.duration_ns
    assert np.all(np.diff(flows["start"].to_numpy()) >= 0)  # ids in start order


@pytest.mark.parametrize("target", [1, 30_000, 400_000, 3_000_000])
def test_packet_count_is_the_target(target):
    """The flow during which the budget runs out is cut short: the count is exact, even when
    a heavy-tailed flow straddles the target."""
    for seed in range(3):
        real = SyntheticTrace(seed=seed, packets=target, mns=60).realise()
        assert real.n_packets == target
    assert sum(len(chunk["t"]) for chunk in real.packet_chunks()) == target


# -------------------------------------------------------------------- packets
def test_packets_match_flows_and_sizes():
    spec = SyntheticTrace(seed=8, **SMALL)
    real = spec.realise()
    packets = all_packets(real)
    assert packets.height == real.n_packets
    t = packets["t"].to_numpy()
    assert np.all(np.diff(t) >= 0)
    assert packets["size"].min() >= 20 and set(packets["dir"].unique()) <= {0, 1}
    flows = real.flows.with_columns(pl.Series("bytes", real.flow_bytes))
    joined = packets.join(flows, on="flow", how="left")
    assert joined["start"].null_count() == 0
    assert ((joined["t"] >= joined["start"]) & (joined["t"] <= joined["end"])).all()
    down_bytes = pl.Series("db", [spec.traffic.apps[a].down_bytes for a in flows["app"]])
    down = (packets.filter(pl.col("dir") == 1).group_by("flow")
            .agg(pl.len().alias("n"), pl.col("size").cast(pl.Int64).sum().alias("sent")))
    check = flows.with_columns(down_bytes).join(down, on="flow")
    whole = check.filter(pl.col("n") == (pl.col("bytes") + pl.col("db") - 1) // pl.col("db"))
    assert whole.height > 0.8 * flows.height  # most flows end before the trace or detach
    rest = whole["bytes"] - (whole["n"] - 1) * whole["db"]
    assert (whole["sent"] == whole["bytes"] + (20 - rest).clip(lower_bound=0)).all()


def test_packet_windows_are_bounded():
    real = SyntheticTrace(seed=9, **SMALL).realise()
    sizes = [len(chunk["t"]) for chunk in real.packet_chunks(5_000)]
    assert sum(sizes) == real.n_packets
    assert max(sizes) < 2 * 5_000


# -------------------------------------------------------------------- files
def test_generated_trace_opens(small_trace):
    spec, path = small_trace
    trace = Trace.open(path)
    assert trace.name == "small"
    assert trace.manifest["generator"] == GENERATOR
    assert trace.manifest["seed"] == 3
    assert trace.n_mns == spec.mns
    assert trace.packet_count() == spec.realise().n_packets
    assert SyntheticTrace.from_manifest(path) == spec.with_(name="small",
                                                            description=trace.manifest[
                                                                "description"])


def test_overwrite_is_explicit(small_trace):
    spec, path = small_trace
    with pytest.raises(OutputError, match="already holds a trace"):
        spec.generate(path)


@pytest.mark.skipif(not (SAMPLE / "trace.toml").is_file(), reason="no bundled sample")
def test_bundled_sample_is_current():
    """traces/sample is what its recorded generator parameters produce (regenerate it with
    the command in traces/sample/README.md when the model changes)."""
    trace = Trace.open(SAMPLE)
    real = SyntheticTrace.from_manifest(SAMPLE).realise()
    assert trace.mobility.equals(real.mobility)
    stored = pl.read_parquet(SAMPLE / "flows.parquet")
    assert stored.select(real.flows.columns).equals(real.flows)
    assert pq.ParquetFile(SAMPLE / "packets.parquet").metadata.num_rows == real.n_packets
    assert sum(f.stat().st_size for f in SAMPLE.iterdir()) < 5_000_000


# -------------------------------------------------------------------- parameters
@pytest.mark.parametrize("changes", [
    {"mns": 0}, {"packets": 0}, {"seed": -1}, {"duration_s": 0.5, "step_s": 1.0},
    {"mobility_params": {"speed_min_mps": 0.0}}, {"mobility_params": {"speed_max_mps": 0.1}},
    {"mobility_params": {"alpha": 0.5}}, {"mobility": "teleport"}, {"late_fraction": 1.5},
    {"topology": "nowhere"}, {"topology_params": {"rows": 2, "colz": 2}},
    {"traffic": {"apps": {}}}, {"traffic": TrafficModel(packets=5)},
    {"attachment": {"hysteresis_m": 3.0}},
])
def test_bad_parameters_are_rejected(changes):
    with pytest.raises(DmmemuError):
        SyntheticTrace(**changes)


def test_bad_application_is_rejected():
    with pytest.raises(SyntheticError, match="size_law"):
        Application(share=1.0, continuity=True, size_law="zipf", size_scale=1e3,
                    size_shape=1.0, rate_pps=10.0)
    with pytest.raises(SyntheticError, match="unknown parameter 'colour'"):
        SyntheticTrace.from_params({"traffic": {"apps": {
            "web": {**DEFAULT_APPS["web"].params(), "colour": 1}}}})
    with pytest.raises(SyntheticError, match="unknown parameter 'hysteresis'"):
        SyntheticTrace.from_params({"attachment": {"hysteresis": 1.0}})


def test_params_round_trip():
    spec = SyntheticTrace(seed=4, mns=7, topology="hierarchical", mobility="manhattan",
                          mobility_params={"p_straight": 0.8, "p_left": 0.1, "p_right": 0.1},
                          attachment=AttachmentRule(range_m=120.0, time_to_trigger_s=1.0),
                          traffic=TrafficModel(zipf_exponent=0.5, arrivals="onoff"))
    assert SyntheticTrace.from_params({**spec.params(), "seed": 4}) == spec
    assert spec.params()["mobility_params"]["speed_max_mps"] == 15.0  # defaults recorded
    assert spec.with_(mobility="gauss-markov", mobility_params=None).motion.alpha == 0.75


def test_rate_instead_of_a_packet_target(tmp_path):
    spec = SyntheticTrace(seed=2, mns=30, packets=None, duration_s=600.0,
                          traffic=TrafficModel(flows_per_mn_hour=120.0))
    real = spec.realise()
    attached_s = 30 * 600.0 * 0.85  # roughly: late and early MNs miss part of the time
    assert real.flows.height == pytest.approx(120.0 / 3600 * attached_s, rel=0.25)
    path = spec.generate(tmp_path / "by-rate")
    assert "packets" not in Trace.open(path).manifest["params"]
    assert SyntheticTrace.from_manifest(path).packets is None


# -------------------------------------------------------------------- the gen command
def gen(*args: object) -> object:
    return CliRunner().invoke(gen_command, [str(a) for a in args], catch_exceptions=False)


def test_gen_command_writes_what_its_options_say(tmp_path):
    out = tmp_path / "g"
    result = gen("--out", out, "--mns", 12, "--packets", 5000, "--seed", 9, "--duration", 300,
                 "--topology", "hierarchical", "--mobility", "manhattan", "--speed-min", 2,
                 "--speed-max", 4, "--pause-max", 5, "--arrivals", "onoff", "--no-progress")
    assert result.exit_code == 0, result.output
    trace = Trace.open(out)
    assert trace.packet_count() == 5000 and trace.n_mns == 12
    params = trace.manifest["params"]
    assert params["mobility"] == "manhattan" and params["topology"] == "hierarchical"
    assert params["mobility_params"]["speed_max_mps"] == 4.0
    assert params["mobility_params"]["pause_max_s"] == 5.0
    assert params["traffic"]["arrivals"] == "onoff" and params["duration_s"] == 300.0
    spec = SyntheticTrace.from_manifest(out)
    assert spec.realise().flows.equals(trace.flows.select(spec.realise().flows.columns))


def test_gen_command_size_cdf_and_mobility_params(tmp_path):
    cdf = tmp_path / "sizes.csv"
    cdf.write_text("size,cumulative_share\n500,0\n4000,0.5\n40000,1\n")
    out = tmp_path / "g"
    result = gen("--out", out, "--mns", 5, "--packets", 3000, "--duration", 120,
                 "--mobility", "gauss-markov", "--mobility-param", "alpha=0.9",
                 "--size-cdf", cdf, "--no-progress")
    assert result.exit_code == 0, result.output
    params = Trace.open(out).manifest["params"]
    assert params["mobility_params"]["alpha"] == 0.9
    assert {app["size_law"] for app in params["traffic"]["apps"].values()} == {"empirical"}
    assert {app["size_file"] for app in params["traffic"]["apps"].values()} == {
        str(cdf.resolve())}


@pytest.mark.parametrize("args, message", [
    (("--mobility", "gauss-markov", "--speed-min", "1"), "--speed-min"),
    (("--size-cdf", "{tmp}/missing.csv"), "missing.csv"),
    (("--size-cdf", "{tmp}/bad.csv"), "line 3, field 'cumulative_share'"),
    (("--duration", "1"), "--duration"),
    (("--mobility-param", "alpha=2"), "unknown parameter 'alpha'"),
])
def test_gen_command_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "bad.csv").write_text("size,cumulative_share\n1,0.5\n2,0.4\n")
    args = [a.format(tmp=tmp_path) for a in args]
    result = CliRunner().invoke(gen_command, ["--out", str(tmp_path / "g"), "--packets", "100",
                                              "--no-progress", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_gen_command_refuses_to_overwrite_without_the_flag(tmp_path):
    out = tmp_path / "g"
    args = ("--out", out, "--mns", 3, "--packets", 500, "--no-progress")
    assert gen(*args).exit_code == 0
    again = CliRunner().invoke(gen_command, [str(a) for a in (*args, "--seed", 1)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert gen(*args, "--seed", 1, "--overwrite").exit_code == 0
    assert Trace.open(out).manifest["seed"] == 1


def test_a_manifest_cannot_make_dmmemu_read_outside_its_trace(tmp_path):
    """Issue 12 §4: the size CDF a trace.toml names is read only from inside its directory
    unless the caller says otherwise; `../` and absolute names are refused unread."""
    cdf = tmp_path / "sizes.csv"
    cdf.write_text("size,cumulative_share\n500,0\n4000,0.5\n40000,1\n")
    out = tmp_path / "g"
    assert gen("--out", out, "--mns", 3, "--packets", 500, "--duration", 60,
               "--size-cdf", cdf, "--no-progress").exit_code == 0
    with pytest.raises(ParameterError, match="size_file .* is outside the trace directory"):
        SyntheticTrace.from_manifest(out)
    spec = SyntheticTrace.from_manifest(out, files_outside=True)
    assert spec.realise().flows.equals(
        Trace.open(out).flows.select(spec.realise().flows.columns))
    manifest = (out / "trace.toml").read_text()
    (out / "trace.toml").write_text(manifest.replace(str(cdf.resolve()), "../sizes.csv"))
    with pytest.raises(ParameterError, match="'../sizes.csv' is outside the trace directory"):
        SyntheticTrace.from_manifest(out)
    shutil.copy(cdf, out / "sizes.csv")  # inside: read from there, whatever the cwd
    (out / "trace.toml").write_text(manifest.replace(str(cdf.resolve()), "sizes.csv"))
    assert SyntheticTrace.from_manifest(out).realise().flows.equals(
        spec.realise().flows)
