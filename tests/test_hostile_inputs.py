"""Hostile inputs: malformed trace directories, absurd parameters, damaged logs and damaged
results directories, drawn by hypothesis, fed to ``Trace.open``, ``dmmemu.run``, the
importers, the readers of results and the CLI. Each ends in a
dmmemu error (``docs/errors.md``) or a clean result (finite figures), never another
exception, a NaN in a summary that delivered packets, exit status 1, or a hang (each
example has a time limit)."""

from __future__ import annotations

import math
import shutil
import signal
import struct
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import dmmemu
from dmmemu.cli import main
from dmmemu.errors import DmmemuError
from dmmemu.importers.assoc import import_assoc
from dmmemu.importers.drivelog import import_drivelogs
from dmmemu.practices import PRACTICES, get_practice
from dmmemu.synthetic.traffic import TrafficModel
from traces import grid_trace

TIME_LIMIT_S = 60  # one example: open, two runs; far longer means a hang
PARQUET = ("mobility.parquet", "flows.parquet", "packets.parquet")
RUN_PRACTICES = ("dmm", "mipv6")
SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
ABSURD = [-1, 0, 1, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1, 2**53, 2**63 - 1, -(2**63),
          200_000_000, 1e308, -1e308, math.nan, math.inf, -math.inf, 0.5]


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: int = TIME_LIMIT_S) -> Iterator[None]:
    def expired(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return grid_trace(tmp_path_factory.mktemp("hostile") / "base")


def assert_clean(summary: dict[str, Any]) -> None:
    """A run that succeeded shows finite figures, or null where there is nothing to average
    (no packet delivered, no handover), never NaN or infinity."""
    bad = [k for k, v in summary.items() if isinstance(v, float) and not math.isfinite(v)]
    assert not bad, f"non-finite figures {bad} in {summary}"


def open_and_run(path: Path) -> str:
    """'error' or 'ran'; anything but a DmmemuError propagates (and fails the test)."""
    with time_limit():
        try:
            trace = dmmemu.Trace.open(path)
            for key in RUN_PRACTICES:
                assert_clean(dmmemu.run(trace, key).summary.row(0, named=True))
        except DmmemuError as exc:
            assert str(exc) and "Traceback" not in str(exc)
            return "error"
    return "ran"


# ------------------------------------------------------------------ mutations of a trace
def _table_edit(edit: Callable[[pa.Table, st.DataObject], pa.Table]
                ) -> Callable[[Path, st.DataObject], None]:
    def mutate(path: Path, data: st.DataObject) -> None:
        file = path / data.draw(st.sampled_from(PARQUET), label="file")
        try:
            table = pq.read_table(file)
        except (OSError, pa.ArrowException):
            return  # damaged or removed by an earlier mutation
        if table.num_rows and table.num_columns:
            pq.write_table(edit(table, data), file, row_group_size=200)
    return mutate


def _column(table: pa.Table, data: st.DataObject) -> tuple[int, str]:
    name = data.draw(st.sampled_from(table.column_names), label="column")
    return table.column_names.index(name), name


@_table_edit
def retype(table: pa.Table, data: st.DataObject) -> pa.Table:
    index, name = _column(table, data)
    kind = data.draw(st.sampled_from(["float64", "int8", "string", "uint64", "bool",
                                      "int64", "timestamp"]), label="type")
    values = table.column(name).to_numpy(zero_copy_only=False)
    if kind == "string":
        new = pa.array(values.astype(str))
    elif kind == "timestamp":
        new = pa.array(values.astype(np.int64), pa.timestamp("ns"))
    else:
        new = pa.array(values.astype(kind))
    return table.set_column(index, name, new)


@_table_edit
def null_cell(table: pa.Table, data: st.DataObject) -> pa.Table:
    index, name = _column(table, data)
    mask = np.zeros(table.num_rows, bool)
    mask[data.draw(st.integers(0, table.num_rows - 1), label="row")] = True
    column = table.column(name)
    return table.set_column(index, name, pc.if_else(pa.array(mask),
                                                    pa.scalar(None, column.type), column))


@_table_edit
def absurd_value(table: pa.Table, data: st.DataObject) -> pa.Table:
    index, name = _column(table, data)
    values = table.column(name).to_numpy(zero_copy_only=False).astype(object)
    values[data.draw(st.integers(0, table.num_rows - 1), label="row")] = data.draw(
        st.sampled_from(ABSURD), label="value")
    for kind in (table.schema.field(name).type, pa.int64()):  # the value may not fit
        try:
            return table.set_column(index, name, pa.array(values.tolist(), type=kind))
        except (pa.ArrowInvalid, OverflowError, TypeError):
            pass
    return table.set_column(index, name, pa.array([float(v) for v in values.tolist()]))


@_table_edit
def reorder(table: pa.Table, data: st.DataObject) -> pa.Table:
    order = np.arange(table.num_rows)
    i, j = data.draw(st.integers(0, table.num_rows - 1)), data.draw(
        st.integers(0, table.num_rows - 1))
    order[[i, j]] = order[[j, i]]
    if data.draw(st.booleans(), label="reverse all"):
        order = order[::-1]
    return table.take(order)


@_table_edit
def duplicate_row(table: pa.Table, data: st.DataObject) -> pa.Table:
    row = data.draw(st.integers(0, table.num_rows - 1), label="row")
    order = np.insert(np.arange(table.num_rows), row, row)
    return table.take(order)


@_table_edit
def drop_column_or_rows(table: pa.Table, data: st.DataObject) -> pa.Table:
    if data.draw(st.booleans(), label="empty"):
        return table.slice(0, 0)
    return table.drop_columns([_column(table, data)[1]])


def _present(path: Path, data: st.DataObject) -> Path | None:
    """One of the trace's files still there (an earlier mutation may have removed it)."""
    files = [path / n for n in PARQUET + ("topology.toml", "trace.toml") if (path / n).exists()]
    return data.draw(st.sampled_from(files), label="file") if files else None


def damage_bytes(path: Path, data: st.DataObject) -> None:
    file = _present(path, data)
    if file is None or not file.stat().st_size:
        return
    raw = bytearray(file.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[:data.draw(st.integers(0, len(raw) - 1), label="at")]
    else:
        for _ in range(data.draw(st.integers(1, 4), label="flips")):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
    file.write_bytes(bytes(raw))


TOPOLOGY_EDITS = [
    "\n[[node]]\nid = 40\nname = \"alone\"\nrole = \"router\"\n",  # disconnected
    "\n[[node]]\nid = 40\nname = \"x\"\nrole = \"satellite\"\n",  # unknown role
    "\nunknown_key = 3\n",
    "\n[[link]]\na = 0\nb = 1\ndelay_us = 0.0\n\n[[link]]\na = 1\nb = 0\ndelay_us = 0.0\n",
    "\n[[link]]\na = 0\nb = 1\ndelay_us = -5.0\n",
    "\n[[link]]\na = 0\nb = 1\ndelay_us = 1e300\n",
    "\n[[link]]\na = 0\nb = 1\ndelay_us = \"fast\"\n",
    "\n[[link]]\na = 0\nb = 99999999\ndelay_us = 1.0\n",
    "\n[[node]]\nid = 4000000000\nname = \"big\"\nrole = \"router\"\n",
]
TRACE_TOML_EDITS = ['\nunknown = "x"\n', "\nseed = \"seven\"\n", "\nseed = -1\n",
                    "\nseed = 99999999999999999999\n", "\nname = 3\n",
                    '\nsource = "../../etc/passwd"\n', "\n[params]\nx = 1e999\n"]


def edit_toml(path: Path, data: st.DataObject) -> None:
    name, edits = data.draw(st.sampled_from([("topology.toml", TOPOLOGY_EDITS),
                                             ("trace.toml", TRACE_TOML_EDITS)]), label="toml")
    if not (path / name).exists():
        return
    with open(path / name, "a", encoding="utf-8") as handle:
        handle.write(data.draw(st.sampled_from(edits), label="edit"))


def remove_file(path: Path, data: st.DataObject) -> None:
    file = _present(path, data)
    if file is not None:
        file.unlink()


MUTATIONS = [retype, null_cell, absurd_value, reorder, duplicate_row, drop_column_or_rows,
             damage_bytes, edit_toml, remove_file]


@SETTINGS
@given(data=st.data())
def test_a_malformed_trace_is_an_error_or_a_clean_run(base: Path, tmp_path: Path,
                                                      data: st.DataObject) -> None:
    path = tmp_path / "t"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(base, path)
    for mutation in data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=2),
                              label="mutations"):
        mutation(path, data)
    event(open_and_run(path))


def test_the_cli_on_malformed_traces_exits_0_or_2(base: Path, tmp_path: Path) -> None:
    """A few fixed cases through the whole command (the exit codes the suite above implies)."""
    cases = {
        "truncated flows": lambda p: (p / "flows.parquet").write_bytes(
            (p / "flows.parquet").read_bytes()[:100]),
        "no topology": lambda p: (p / "topology.toml").unlink(),
        "zero-delay cycle": lambda p: open(p / "topology.toml", "a").write(TOPOLOGY_EDITS[3]),
        "huge mn": lambda p: pq.write_table(pq.read_table(p / "mobility.parquet").set_column(
            1, "mn", pa.array(np.full(pq.read_metadata(p / "mobility.parquet").num_rows,
                                      2**31 - 2, np.uint32))), p / "mobility.parquet"),
    }
    runner = CliRunner()
    for name, mutate in cases.items():
        path = tmp_path / name.replace(" ", "-")
        shutil.copytree(base, path)
        mutate(path)
        with time_limit():
            result = runner.invoke(main, ["run", str(path), "-p", "dmm", "--out",
                                          str(tmp_path / f"out-{path.name}"), "--no-progress"])
        assert result.exit_code in (0, 2), (name, result.output, result.exception)
        assert "Traceback" not in result.output, name
        if result.exit_code == 2:
            assert result.output.strip().splitlines()[-1].startswith("dmmemu: error: "), name


# ------------------------------------------------------------------ absurd parameters
def _fields(key: str) -> list[str]:
    return sorted(get_practice(key).params())


@SETTINGS
@given(data=st.data())
def test_an_absurd_parameter_is_refused_or_runs_clean(base: Path, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(PRACTICES)), label="practice")
    name = data.draw(st.sampled_from(_fields(key)), label="parameter")
    value = data.draw(st.sampled_from(ABSURD + ["x", True, None, [], [1e308], {"a": 1}]),
                      label="value")
    with time_limit():
        try:
            practice = get_practice(key, {name: value})
            summary = dmmemu.run(base, practice).summary.row(0, named=True)
        except DmmemuError:
            return
    assert_clean(summary)


# ------------------------------------------------------------------ damaged logs
DRIVE_HEADER = "Timestamp,Longitude,Latitude,CellID,NetworkMode,NODEHEX"
DRIVE_ROW = st.tuples(
    st.sampled_from(["2017.11.21_09.00.0{}".format(i) for i in range(10)]
                    + ["2017.13.41_25.61.61", "", "-", "x", "1970.01.01_00.00.00",
                       "1969.12.31_23.59.59", "9999.12.31_23.59.59"]),
    st.sampled_from(["-8.47", "-", "181", "nan", "1e999"]),
    st.sampled_from(["51.89", "-", "-91", "inf"]),
    st.sampled_from(["1", "2", "-", "", "999999999999999999999"]),
    st.sampled_from(["LTE", "-", "NO SERVICE", "HSPA+"]),
    st.sampled_from(["1A2B3", "-", "ZZ", "FFFFFFFFFFFFFFFFFFFF"]),
)


@SETTINGS
@given(rows=st.lists(DRIVE_ROW, min_size=0, max_size=12), extra=st.sampled_from(
    ["", "a,b\n", "\x00\x01", ",,,,,,,,,\n", "\n\n"]))
def test_a_damaged_drive_log_is_an_error_or_a_trace(tmp_path: Path, rows, extra: str) -> None:
    log = tmp_path / "drive.csv"
    log.write_text("\n".join([DRIVE_HEADER, *(",".join(r) for r in rows)]) + "\n" + extra,
                   encoding="utf-8")
    out = tmp_path / "t"
    shutil.rmtree(out, ignore_errors=True)
    with time_limit():
        try:
            import_drivelogs(log, out, traffic=TrafficModel(packets=50), packets=False)
        except DmmemuError:
            assert not out.exists()
            return
    assert dmmemu.Trace.open(out).mobility.height > 0


@SETTINGS
@given(rows=st.lists(st.tuples(
    st.sampled_from(["2020-01-01T00:00:0{}".format(i) for i in range(10)]
                    + ["", "x", "1e99", "-5", "2020-13-01T00:00:00"]),
    st.sampled_from(["alice", "bob", "", "-"]),
    st.sampled_from(["ap1", "ap2", "", "-"]),
    st.sampled_from(["Start", "Stop", "Interim-Update", "", "Reboot"])), max_size=10))
def test_a_damaged_association_log_is_an_error_or_a_trace(tmp_path: Path, rows) -> None:
    log = tmp_path / "assoc.csv"
    log.write_text("\n".join(["time,user,ap,event", *(",".join(r) for r in rows)]) + "\n",
                   encoding="utf-8")
    out = tmp_path / "t"
    shutil.rmtree(out, ignore_errors=True)
    with time_limit():
        try:
            import_assoc(log, out, event_col="event", traffic=TrafficModel(packets=50),
                         packets=False)
        except DmmemuError:
            assert not out.exists()
            return
    assert dmmemu.Trace.open(out).mobility.height > 0


def test_a_parquet_footer_that_claims_more_than_the_file_is_an_error(base: Path,
                                                                     tmp_path: Path) -> None:
    """A footer length pointing before the file's start (a hand-made damage)."""
    path = tmp_path / "t"
    shutil.copytree(base, path)
    raw = bytearray((path / "packets.parquet").read_bytes())
    raw[-8:-4] = struct.pack("<I", 2**31)
    (path / "packets.parquet").write_bytes(bytes(raw))
    assert open_and_run(path) == "error"


def _fcd_text() -> str:
    """A valid SUMO FCD export: two vehicles over 20 s."""
    steps = []
    for t in range(0, 20, 2):
        steps.append(f'<timestep time="{t}.00">\n'
                     f'<vehicle id="a" x="{10.0 * t:.2f}" y="5.00"/>\n'
                     f'<vehicle id="b" x="300.00" y="{15.0 * t:.2f}"/>\n</timestep>\n')
    return "<fcd-export>\n" + "".join(steps) + "</fcd-export>\n"


@SETTINGS
@given(data=st.data())
def test_a_damaged_sumo_export_is_an_error_or_a_trace(tmp_path: Path,
                                                      data: st.DataObject) -> None:
    from dmmemu.importers.sumo import import_sumo

    raw = bytearray(_fcd_text().encode())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[:data.draw(st.integers(0, len(raw) - 1), label="at")]
    else:
        for _ in range(data.draw(st.integers(1, 6), label="flips")):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(
                st.sampled_from(b'<>"=/ \x00\xff9.-e'))
    fcd = tmp_path / "fcd.xml"
    fcd.write_bytes(bytes(raw))
    out = tmp_path / "t"
    shutil.rmtree(out, ignore_errors=True)
    with time_limit():
        try:
            import_sumo(fcd, out, spacing_m=100.0, traffic=TrafficModel(packets=50),
                        packet_file=False)
        except DmmemuError:
            assert not out.exists()
            return
    assert dmmemu.Trace.open(out).mobility.height > 0


def test_every_error_and_warning_class_is_documented() -> None:
    """docs/errors.md lists every DmmemuError and DmmemuWarning subclass dmmemu defines."""
    import importlib
    import pkgutil

    import dmmemu as package
    from dmmemu.errors import DmmemuWarning

    for module in pkgutil.walk_packages(package.__path__, "dmmemu."):
        if not module.name.startswith(("dmmemu._core", "dmmemu.__main__")):
            importlib.import_module(module.name)

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found))

    text = (Path(__file__).parents[1] / "docs" / "errors.md").read_text(encoding="utf-8")
    names = {cls.__name__ for cls in subclasses(DmmemuError) | subclasses(DmmemuWarning)
             if cls.__module__.startswith("dmmemu.")}
    assert names >= {"TraceError", "OutputError", "ResultsError", "ResultsWarning"}
    assert sorted(n for n in names if f"`{n}`" not in text) == []


@pytest.mark.parametrize("args, words", [
    (("--mns", "1000000000"), "--mns must be in 1..10000000"),
    (("--mns", "5", "--packets", "1000000000000"), "packets/s per MN, more than the 100,000"),
    (("--duration", "1e300"), "--duration"),
    (("--topology-param", "rows=100000"), "rows must be in 1..1000"),
])
def test_gen_refuses_what_a_synthetic_trace_cannot_mean(tmp_path: Path, args, words) -> None:
    """Enormous generator options end in one line at once, not in gigabytes of memory."""
    with time_limit(30):
        result = CliRunner().invoke(main, ["gen", "--out", str(tmp_path / "g"),
                                           "--no-progress", *args])
    assert result.exit_code == 2 and words in result.output, result.output
    assert not (tmp_path / "g").exists()


@pytest.fixture(scope="module")
def results_dir(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile-results") / "results"
    dmmemu.run(base, "dmm").write(out)
    return out


@SETTINGS
@given(data=st.data())
def test_a_damaged_results_directory_is_refused_or_read_whole(results_dir: Path,
                                                              tmp_path: Path,
                                                              data: st.DataObject) -> None:
    """Readers of results (load_results, the report) on flipped, cut or removed files and
    edited manifests: a ResultsError, or every table read."""
    from dmmemu.report.html import write_report
    from dmmemu.results.analysis import load_results

    path = tmp_path / "r"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(results_dir, path)
    files = sorted(p for p in path.iterdir())
    file = data.draw(st.sampled_from(files), label="file")
    raw = bytearray(file.read_bytes())
    action = data.draw(st.sampled_from(["flip", "cut", "remove"]), label="action")
    if action == "remove":
        file.unlink()
    elif action == "cut":
        file.write_bytes(bytes(raw[:data.draw(st.integers(0, len(raw) - 1))]))
    else:
        for _ in range(data.draw(st.integers(1, 8), label="flips")):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
        file.write_bytes(bytes(raw))
    from dmmemu.results.tables import TABLES

    with time_limit():
        try:
            tables = load_results(path)
        except DmmemuError as exc:
            assert str(exc)
        else:  # read whole: every table, each with the run's rows
            assert set(tables) == {*TABLES, "runs"}
            assert tables["summary"].height == 1
        try:
            write_report(path, tmp_path / "r.html")
        except DmmemuError as exc:
            assert str(exc)
