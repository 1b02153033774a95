"""The ``dmmemu`` command: practices, run, gen, demo, and bad input (exit status 2, one line
on stderr naming the file, no traceback). Driven in-process with click's CliRunner, and
through the installed entry point in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

import dmmemu
from dmmemu.cli import main
from dmmemu.practices import PRACTICES
from dmmemu.results.tables import TABLES
from dmmemu.topology.generators import FlatWifi
from dmmemu.trace.reader import Trace
from dmmemu.trace.writer import write_trace

MS = 1_000_000  # ns
FILES = sorted([*(f"{name}.parquet" for name in TABLES), "manifest.json"])


def entry_point() -> str:
    """The installed ``dmmemu`` script: next to the interpreter (the venv), else on PATH.
    (``python -m dmmemu`` is not supported: the package has no ``__main__``.)"""
    beside = Path(sys.executable).parent / "dmmemu"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dmmemu")
    if found is None:
        pytest.skip("the dmmemu entry point is not installed")
    return found


class Outcome(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def cli_runner() -> CliRunner:
    """A runner keeping stderr apart (the default from click 8.2; an option before)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def invoke(*args: str | Path) -> Outcome:
    result = cli_runner().invoke(main, [str(a) for a in args])
    return Outcome(result.exit_code, result.stdout, result.stderr, result.exception)


def invoke_subprocess(*args: str | Path, cwd: Path | None = None) -> Outcome:
    proc = subprocess.run([entry_point(), *map(str, args)], check=False,
                          capture_output=True, text=True, cwd=cwd, timeout=120)
    return Outcome(proc.returncode, proc.stdout, proc.stderr, None)


def assert_ok(out: Outcome) -> None:
    assert out.exit_code == 0, (out.stdout, out.stderr, out.exception)


def read_tables(directory: Path) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(directory / f"{name}.parquet") for name in TABLES}


def assert_tables_equal(directory: Path, result: dmmemu.RunResult) -> None:
    assert sorted(p.name for p in directory.iterdir()) == FILES
    for name, frame in read_tables(directory).items():
        assert_frame_equal(frame, getattr(result, name))


def table_rows(stdout: str) -> list[str]:
    """First cell of every body row of the first polars table printed to stdout (a wide
    comparison continues in further tables with the same rows)."""
    first = stdout.split("└", 1)[0]
    cells = [line.strip("│ ").split("┆")[0].strip() for line in first.splitlines()
             if line.startswith("│")]
    assert cells and cells[0] == "run"
    return cells[1:]


# ------------------------------------------------------------------ traces
@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic trace made by the CLI itself (with packets.parquet)."""
    out = tmp_path_factory.mktemp("gen") / "g3"
    assert_ok(invoke("gen", "--out", out, "--mns", "20", "--packets", "20000", "--seed", "3",
                     "--no-progress"))
    return out


def small_parts() -> dict:
    """FlatWifi 2×2: two MNs, three flows (ids 4, 9, 20), 40 packets in row groups of 10."""
    topology = FlatWifi(rows=2, cols=2, correspondents=2).build()
    node = {n.name: n.id for n in topology.nodes}
    mobility = {
        "t": np.array([0, 0, 100 * MS], np.int64),
        "mn": np.array([0, 1, 0], np.uint32),
        "poa": np.array([node["ar0.0"], node["ar1.1"], node["ar0.1"]], np.int32),
    }
    flows = {
        "flow": np.array([4, 9, 20], np.uint64),
        "mn": np.array([0, 1, 0], np.uint32),
        "peer": np.array([node["cn0"], node["cn1"], node["cn0"]], np.uint32),
        "start": np.array([0, 0, 10 * MS], np.int64),
        "end": np.array([200 * MS, 200 * MS, 200 * MS], np.int64),
    }
    t = np.arange(0, 200 * MS, 5 * MS, dtype=np.int64)
    packets = {
        "t": t,
        "flow": np.array([4, 9] * (t.size // 2), np.uint64),
        "size": np.full(t.size, 500, np.uint16),
        "dir": np.arange(t.size, dtype=np.uint8) % 2,
    }
    return {"topology": topology, "node": node, "mobility": mobility, "flows": flows,
            "packets": packets}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    parts = small_parts()
    return write_trace(tmp_path / "small", name="small", topology=parts["topology"],
                       mobility=parts["mobility"], flows=parts["flows"],
                       packets=parts["packets"], row_group_rows=10)


def put(path: Path, columns: dict) -> None:
    """Write a Parquet file exactly as given (no casting)."""
    pq.write_table(pa.table({k: v if isinstance(v, pa.Array) else pa.array(v)
                             for k, v in columns.items()}), path, row_group_size=10)


# ------------------------------------------------------------------ practices, version
def test_practices_lists_every_key_with_its_summary() -> None:
    out = invoke("practices")
    assert_ok(out)
    lines = out.stdout.splitlines()
    assert len(lines) == len(PRACTICES)
    for line, (key, cls) in zip(lines, PRACTICES.items()):
        assert line.split()[0] == key
        assert line.endswith(cls.summary)
        assert cls.summary


def test_installed_entry_point_practices(tmp_path: Path) -> None:
    out = invoke_subprocess("practices", cwd=tmp_path)
    assert out.exit_code == 0, out.stderr
    assert out.stdout == invoke("practices").stdout
    assert out.stderr == ""


def test_version() -> None:
    out = invoke("--version")
    assert_ok(out)
    assert dmmemu.__version__ in out.stdout


# ------------------------------------------------------------------ run
def test_run_one_practice_writes_its_tables(generated: Path, tmp_path: Path) -> None:
    out = invoke("run", generated, "-p", "mipv6", "--out", tmp_path / "o", "--no-progress")
    assert_ok(out)
    assert_tables_equal(tmp_path / "o", dmmemu.run(generated, "mipv6"))
    assert table_rows(out.stdout) == ["mipv6"]
    assert out.stderr.splitlines()[-1] == f"wrote {tmp_path / 'o'}"


def test_run_two_practices_one_directory_each(generated: Path, tmp_path: Path) -> None:
    out = invoke("run", generated, "-p", "mipv6", "-p", "dmm", "--out", tmp_path / "o",
                 "--no-progress")
    assert_ok(out)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["dmm", "manifest.json",
                                                                 "mipv6"]
    trace = Trace.open(generated)
    for key in ("mipv6", "dmm"):
        assert_tables_equal(tmp_path / "o" / key, dmmemu.run(trace, key))
    assert table_rows(out.stdout) == ["mipv6", "dmm"]


def test_run_with_progress_bar(small: Path, tmp_path: Path) -> None:
    out = invoke("run", small, "-p", "dmm", "--out", tmp_path / "o")  # progress on by default
    assert_ok(out)
    assert_tables_equal(tmp_path / "o", dmmemu.run(small, "dmm"))


def test_run_param_reaches_the_practice(small: Path, tmp_path: Path) -> None:
    out = invoke("run", small, "-p", "pmipv6", "--param", "lifetime_s=3600",
                 "--param", "buffering=true", "--out", tmp_path / "o", "--no-progress")
    assert_ok(out)
    summary = pl.read_parquet(tmp_path / "o" / "summary.parquet")
    params = json.loads(summary["params"][0])
    assert params["lifetime_s"] == 3600 and params["buffering"] is True
    meta = pq.read_metadata(tmp_path / "o" / "flows.parquet").metadata
    assert json.loads(meta[b"dmmemu.params"]) == params
    expected = dmmemu.run(small, "pmipv6", params={"lifetime_s": 3600, "buffering": True})
    assert_tables_equal(tmp_path / "o", expected)


def test_run_param_applies_to_every_practice(small: Path, tmp_path: Path) -> None:
    out = invoke("run", small, "-p", "mipv6", "-p", "dmm", "--param", "l2_attach_ms=5",
                 "--out", tmp_path / "o", "--no-progress")
    assert_ok(out)
    for key in ("mipv6", "dmm"):
        summary = pl.read_parquet(tmp_path / "o" / key / "summary.parquet")
        assert json.loads(summary["params"][0])["l2_attach_ms"] == 5


def test_run_unknown_parameter(small: Path, tmp_path: Path) -> None:
    out = invoke("run", small, "-p", "mipv6", "--param", "lifetime=3600", "--out",
                 tmp_path / "o", "--no-progress")
    assert out.exit_code == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dmmemu: error:")
    assert "'lifetime'" in lines[0]
    assert "Traceback" not in out.stdout + out.stderr
    assert not (tmp_path / "o").exists()


def test_run_reference_engine_gives_the_core_numbers(generated: Path, tmp_path: Path) -> None:
    for engine in ("core", "reference"):
        assert_ok(invoke("run", generated, "-p", "pmipv6-dlma", "--engine", engine,
                         "--out", tmp_path / engine, "--no-progress"))
    core = pl.read_parquet(tmp_path / "core" / "summary.parquet")
    reference = pl.read_parquet(tmp_path / "reference" / "summary.parquet")
    assert core["engine"].to_list() == ["core"] and reference["engine"].to_list() == ["reference"]
    assert_frame_equal(core.drop("engine"), reference.drop("engine"))
    for name in ("flows", "anchors", "signaling", "handovers"):
        assert_frame_equal(pl.read_parquet(tmp_path / "core" / f"{name}.parquet"),
                           pl.read_parquet(tmp_path / "reference" / f"{name}.parquet"))


# ------------------------------------------------------------------ gen
def test_gen_is_deterministic_under_its_seed(generated: Path, tmp_path: Path) -> None:
    trace = Trace.open(generated)
    assert trace.has_packets and trace.packet_count() == 20000
    assert trace.manifest["seed"] == 3
    assert trace.n_mns == 20
    again = tmp_path / "again"
    out = invoke("gen", "--out", again, "--mns", "20", "--packets", "20000", "--seed", "3")
    assert_ok(out)
    assert str(again) in out.stdout
    Trace.open(again)
    for name in ("packets.parquet", "mobility.parquet", "flows.parquet"):
        assert_frame_equal(pl.read_parquet(again / name), pl.read_parquet(generated / name))
    other = tmp_path / "other"
    assert_ok(invoke("gen", "--out", other, "--mns", "20", "--packets", "20000", "--seed", "4",
                     "--no-progress"))
    assert not pl.read_parquet(other / "packets.parquet").equals(
        pl.read_parquet(generated / "packets.parquet"))


def test_gen_refuses_to_overwrite_without_flag(tmp_path: Path) -> None:
    target = tmp_path / "g"
    args = ("gen", "--out", target, "--mns", "3", "--packets", "500", "--no-progress")
    assert_ok(invoke(*args))
    out = invoke(*args, "--seed", "1")
    assert out.exit_code != 0
    assert "Traceback" not in out.stdout + out.stderr
    assert_ok(invoke(*args, "--seed", "1", "--overwrite"))
    assert Trace.open(target).manifest["seed"] == 1


@pytest.mark.parametrize("topology", ["hierarchical", "eps", "composite"])
def test_gen_writes_a_valid_trace_on_each_reference_architecture(tmp_path: Path,
                                                                 topology: str) -> None:
    target = tmp_path / topology
    assert_ok(invoke("gen", "--out", target, "--mns", "5", "--packets", "2000", "--topology",
                     topology, "--duration", "120", "--no-progress"))
    trace = Trace.open(target)
    assert trace.topology.name == topology  # written out node by node, named after it
    area = {"hierarchical": "map-domain-0.0", "eps": "sgw-area-0.0",
            "composite": "lgw-site-1"}[topology]
    assert trace.topology.area_members(area).size > 0  # its areas survive the written file
    visited = set(trace.mobility.filter(pl.col("poa") >= 0)["poa"].to_list())
    assert visited <= set(trace.topology.nodes_with_role("poa").tolist()) and visited


def test_gen_takes_topology_traffic_and_application_parameters(tmp_path: Path) -> None:
    target = tmp_path / "mix"
    assert_ok(invoke("gen", "--out", target, "--mns", "4", "--packets", "3000", "--duration",
                     "120", "--topology-param", "rows=2", "--topology-param", "cols=3",
                     "--traffic-param", "zipf_exponent=0.5",
                     "--app-param", "voice.address_type=session-lasting",
                     "--app-param", "chat.share=0.5", "--app-param", "chat.continuity=true",
                     "--app-param", "chat.size_law=lognormal",
                     "--app-param", "chat.size_scale=2000.0", "--app-param", "chat.size_shape=1.0",
                     "--app-param", "chat.rate_pps=2.0", "--no-progress"))
    trace = Trace.open(target)
    assert trace.topology.nodes_with_role("poa").size == 6
    params = trace.manifest["params"]
    assert params["traffic"]["zipf_exponent"] == 0.5
    assert params["traffic"]["apps"]["voice"]["address_type"] == "session-lasting"
    assert params["traffic"]["apps"]["chat"]["rate_pps"] == 2.0  # a new application
    assert "chat" in set(trace.flows["app"].to_list())
    for bad, where in ((("--app-param", "voice.colour=red"), "colour"),
                       (("--app-param", "novalue"), "--app-param"),
                       (("--app-param", "chat.share=0.5"), "chat"),
                       (("--traffic-param", "apps=1"), "--app-param"),
                       (("--topology-param", "rowz=2"), "rowz")):
        out = invoke("gen", "--out", tmp_path / "bad", "--mns", "2", "--packets", "100",
                     "--no-progress", *bad)
        assert out.exit_code == 2 and where in out.stderr, (bad, out.stderr)
        assert "Traceback" not in out.stdout + out.stderr


def test_gen_cuts_coverage_holes_into_the_mobility(tmp_path: Path) -> None:
    target = tmp_path / "holes"
    assert_ok(invoke("gen", "--out", target, "--mns", "10", "--packets", "2000", "--duration",
                     "600", "--holes-per-mn-hour", "30", "--hole-median", "4", "--no-progress"))
    trace = Trace.open(target)
    assert trace.manifest["params"]["holes_per_mn_hour"] == 30.0
    # Detaches followed by an attach of the same MN: holes, not only the early leavers.
    rows = trace.mobility.sort("mn", "t")
    back = rows.with_columns(before=pl.col("poa").shift(1).over("mn")).filter(
        (pl.col("before") == -1) & (pl.col("poa") >= 0))
    assert back.height > 10


# ------------------------------------------------------------------ demo
def test_demo_prints_one_row_per_practice(generated: Path) -> None:
    out = invoke("demo", "--trace", generated)
    assert_ok(out)
    assert table_rows(out.stdout) == list(PRACTICES)
    trace = Trace.open(generated)
    assert f"trace {trace.name!r}" in out.stderr


def test_demo_out_writes_every_practice(generated: Path, tmp_path: Path) -> None:
    out = invoke("demo", "--trace", generated, "--out", tmp_path / "demo")
    assert_ok(out)
    written = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert written == sorted([*PRACTICES, "manifest.json", "report.html"])
    assert "report: " + str(tmp_path / "demo" / "report.html") in out.stderr
    trace = Trace.open(generated)
    for key in PRACTICES:
        assert_tables_equal(tmp_path / "demo" / key, dmmemu.run(trace, key))


def test_demo_bad_trace_is_one_line(tmp_path: Path) -> None:
    out = invoke("demo", "--trace", tmp_path / "nothing")
    assert out.exit_code == 2
    assert out.stderr.splitlines() == [out.stderr.rstrip("\n")]
    assert out.stderr.startswith("dmmemu: error:") and str(tmp_path / "nothing") in out.stderr


# ------------------------------------------------------------------ bad input
def unsorted_mobility(trace: Path, parts: dict) -> str:
    cols = dict(parts["mobility"])
    cols["t"] = np.array([0, 0, 100 * MS, 50 * MS], np.int64)
    cols["mn"] = np.array([0, 1, 0, 1], np.uint32)
    cols["poa"] = np.append(cols["poa"], parts["node"]["ar1.0"]).astype(np.int32)
    put(trace / "mobility.parquet", cols)
    return "mobility.parquet"


def peer_not_cn(trace: Path, parts: dict) -> str:
    cols = dict(parts["flows"])
    cols["peer"] = np.array([parts["node"]["cn0"], parts["node"]["gw0.0"],
                             parts["node"]["cn0"]], np.uint32)
    put(trace / "flows.parquet", cols)
    return "flows.parquet"


def unknown_packet_flow(trace: Path, parts: dict) -> str:
    """Flow id 5 lies between the trace's ids 4 and 20, so the row-group statistics pass and
    only the engine, streaming row group 2, finds row 25."""
    cols = dict(parts["packets"])
    cols["flow"] = cols["flow"].copy()
    cols["flow"][25] = 5
    put(trace / "packets.parquet", cols)
    return "packets.parquet"


def float_mobility_t(trace: Path, parts: dict) -> str:
    cols = dict(parts["mobility"])
    cols["t"] = cols["t"].astype(np.float64)
    put(trace / "mobility.parquet", cols)
    return "mobility.parquet"


def float_packet_t(trace: Path, parts: dict) -> str:
    cols = dict(parts["packets"])
    cols["t"] = cols["t"].astype(np.float64)
    put(trace / "packets.parquet", cols)
    return "packets.parquet"


def missing_column(trace: Path, parts: dict) -> str:
    cols = dict(parts["flows"])
    del cols["end"]
    put(trace / "flows.parquet", cols)
    return "flows.parquet"


def empty_mobility(trace: Path, parts: dict) -> str:
    cols = {k: pa.array(v[:0], type=pa.from_numpy_dtype(v.dtype))
            for k, v in parts["mobility"].items()}
    put(trace / "mobility.parquet", cols)
    return "mobility.parquet"


def poa_not_a_poa(trace: Path, parts: dict) -> str:
    cols = dict(parts["mobility"])
    cols["poa"] = np.array([parts["node"]["ar0.0"], parts["node"]["ar1.1"],
                            parts["node"]["gw0.1"]], np.int32)
    put(trace / "mobility.parquet", cols)
    return "mobility.parquet"


def unreachable_node(trace: Path, parts: dict) -> str:
    n = parts["topology"].n_nodes
    text = (trace / "topology.toml").read_text()
    text += f'\n[[node]]\nid = {n}\nname = "island"\nrole = "router"\n'
    # Keep the [[link]] tables after the nodes valid TOML: append the node at the end.
    (trace / "topology.toml").write_text(text)
    return "topology.toml"


BAD_INPUTS: dict[str, tuple[Callable[[Path, dict], str], str]] = {
    # case: (corrupt the trace, return the file the message names; a fragment it must show)
    "unsorted-mobility-times": (unsorted_mobility, "column 't', row 3"),
    "peer-not-a-cn": (peer_not_cn, "column 'peer', row 1"),
    "unknown-flow-in-packets": (unknown_packet_flow, "column 'flow', row 25, value 5"),
    "float-t-mobility": (float_mobility_t, "column 't'"),
    "float-t-packets": (float_packet_t, "column 't'"),
    "missing-column": (missing_column, "column 'end'"),
    "empty-mobility": (empty_mobility, "no rows"),
    "poa-not-a-poa": (poa_not_a_poa, "column 'poa', row 2"),
    "unreachable-node": (unreachable_node, "'island'"),
}


def check_one_line_error(out: Outcome, *fragments: str) -> str:
    assert out.exit_code == 2, (out.stdout, out.stderr, out.exception)
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("dmmemu: error:")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in out.stdout + out.stderr
    return lines[0]


@pytest.mark.parametrize("how", ["in-process", "subprocess"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_status_2(case: str, how: str, small: Path,
                                            tmp_path: Path) -> None:
    corrupt, fragment = BAD_INPUTS[case]
    file = corrupt(small, small_parts())
    run = invoke if how == "in-process" else invoke_subprocess
    out = run("run", small, "-p", "mipv6", "--out", tmp_path / "o", "--no-progress")
    check_one_line_error(out, str(small / file), fragment)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("engine", ["core", "reference"])
@pytest.mark.parametrize("case,row,fragment", [
    ("unknown-flow", 25, "column 'flow', row 25, value 5"),
    ("time-decreases", 24, "column 't', row 24, value 115000000"),
    ("before-flow-start", 1, "column 't', row 1, value 5000000"),
])
def test_packet_row_errors_found_while_streaming(engine: str, case: str, row: int,
                                                 fragment: str, small: Path,
                                                 tmp_path: Path) -> None:
    """Rows the footer statistics cannot reveal: both engines stop at the row, named in
    packets.parquet."""
    cols = {k: v.copy() for k, v in small_parts()["packets"].items()}
    if case == "unknown-flow":
        cols["flow"][25] = 5
    elif case == "time-decreases":
        cols["t"][[23, 24]] = cols["t"][[24, 23]]
    else:
        cols["flow"][1] = 20  # flow 20 starts at 10 ms; this packet is at 5 ms
    put(small / "packets.parquet", cols)
    Trace.open(small)  # the footer checks pass
    out = invoke("run", small, "-p", "pmipv6", "--engine", engine, "--out", tmp_path / "o",
                 "--no-progress")
    check_one_line_error(out, str(small / "packets.parquet"), fragment)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("how", ["in-process", "subprocess"])
def test_unknown_practice_key(how: str, small: Path, tmp_path: Path) -> None:
    run = invoke if how == "in-process" else invoke_subprocess
    out = run("run", small, "-p", "dmm6", "--out", tmp_path / "o", "--no-progress")
    line = check_one_line_error(out, "'dmm6'")
    for key in PRACTICES:
        assert key in line  # the message lists the registered practices
    assert not (tmp_path / "o").exists()


def test_packet_error_after_the_progress_bar_is_still_one_error_line(small: Path,
                                                                     tmp_path: Path) -> None:
    """With the default progress bar, stderr holds the bar and then the error on a line of
    its own."""
    unknown_packet_flow(small, small_parts())
    out = invoke("run", small, "-p", "dmm", "--out", tmp_path / "o")
    assert out.exit_code == 2
    errors = [line for line in out.stderr.splitlines() if "dmmemu: error:" in line]
    assert len(errors) == 1 and errors[0].startswith("dmmemu: error:")
    assert str(small / "packets.parquet") in errors[0]
    assert out.stderr.endswith(errors[0] + "\n")
    assert "Traceback" not in out.stdout + out.stderr


def test_demo_default_sample_trace_from_the_checkout() -> None:
    """Without --trace, demo replays the bundled sample (``traces/sample`` of the checkout)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "traces" / "sample" / "trace.toml").is_file():
        pytest.skip("no sample trace in this checkout")
    out = invoke_subprocess("demo", cwd=root)
    assert out.exit_code == 0, out.stderr
    assert table_rows(out.stdout) == list(PRACTICES)
    assert out.stderr.startswith("trace 'sample':")


# ------------------------------------------------------------------ bad parameter values
def test_run_non_numeric_parameter_value(small: Path, tmp_path: Path) -> None:
    out = invoke("run", small, "-p", "dmm", "--param", "l2_attach_ms=abc", "--out",
                 tmp_path / "o", "--no-progress")
    check_one_line_error(out, "l2_attach_ms")


def test_run_boolean_parameter_given_as_no(small: Path, tmp_path: Path) -> None:
    out = invoke("run", small, "-p", "dmm", "--param", "buffering=no", "--out",
                 tmp_path / "o", "--no-progress")
    check_one_line_error(out, "buffering")  # "no" is not a TOML boolean: refused, not truthy


def test_run_out_is_an_existing_file(small: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a directory")
    out = invoke_subprocess("run", small, "-p", "dmm", "--out", target, "--no-progress")
    check_one_line_error(out, str(target))
