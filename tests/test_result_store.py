"""Outputs that cannot lose or mislead (``dmmemu.results.store``): a results directory is
complete or absent, never written into a trace or over earlier results without
``--overwrite``, and read back only when whole; errors in the user's words, exit status 2.

Each case of the first group is one a user met on an earlier dmmemu: the trace destroyed by
``--out TRACE``, a stale run shown after a second run, a partial run after a full disk."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from cli_invoke import invoke

import dmmemu
from dmmemu.errors import OutputError
from dmmemu.report.html import write_report
from dmmemu.results.analysis import load_results
from dmmemu.results.store import (
    MANIFEST,
    SCHEMA_VERSION,
    ResultsError,
    ResultsWarning,
    ResultsWriter,
    run_directories,
)
from dmmemu.trace.reader import TRACE_FILES, Trace
from traces import grid_trace


@pytest.fixture(scope="module")
def trace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return grid_trace(tmp_path_factory.mktemp("store") / "grid")


@pytest.fixture(scope="module")
def trace(trace_dir: Path) -> Trace:
    return Trace.open(trace_dir)


def contents(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (hidden ones too), by relative path."""
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def one_error_line(stderr: str) -> str:
    """The error: the last line of stderr and its only error (progress lines may precede)."""
    errors = [line for line in stderr.splitlines() if line.startswith("dmmemu: error: ")]
    assert errors == stderr.splitlines()[-1:], stderr
    assert "Traceback" not in stderr and "Errno" not in stderr and ".tmp" not in stderr
    return errors[0].removeprefix("dmmemu: error: ")


# ------------------------------------------------------------------ the cases users met
def test_run_refuses_to_write_into_its_trace(trace_dir: Path, tmp_path: Path) -> None:
    """`dmmemu run TRACE -p dmm --out TRACE` used to replace the trace's flows.parquet."""
    before = contents(trace_dir)
    for extra in ((), ("--overwrite",)):
        code, _, err = invoke("run", trace_dir, "-p", "dmm", "--out", trace_dir,
                              "--no-progress", *extra)
        assert code == 2
        assert one_error_line(err).startswith(f"--out {trace_dir} is the input")
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "--out", trace_dir / "results",
                          "--no-progress")
    assert code == 2 and "lies inside the input" in one_error_line(err)
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "--out", trace_dir.parent,
                          "--no-progress", "--overwrite")
    assert code == 2 and "holds the input" in one_error_line(err)
    assert contents(trace_dir) == before
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "--out", tmp_path / "o",
                          "--no-progress")
    assert code == 0, err  # the trace still runs


def test_a_second_run_needs_overwrite_and_replaces_the_first_whole(trace_dir: Path,
                                                                 tmp_path: Path) -> None:
    """`run -p dmm --out o` then `run -p dmm -p mipv6 --out o` used to leave the first run
    in o, which `report` and `load_results` then showed alone."""
    out = tmp_path / "o"
    assert invoke("run", trace_dir, "-p", "dmm", "--out", out, "--no-progress")[0] == 0
    first = contents(out)
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "-p", "mipv6", "--out", out,
                          "--no-progress")
    assert code == 2
    assert one_error_line(err) == (f"--out {out} already holds dmmemu results; pass "
                                   "--overwrite to replace it")
    assert contents(out) == first
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "-p", "mipv6", "--out", out,
                          "--no-progress", "--overwrite")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["dmm", MANIFEST, "mipv6"]
    tables = load_results(out)
    assert tables["summary"]["run"].to_list() == ["dmm", "mipv6"]
    assert tables["runs"]["practice"].to_list() == ["dmm", "mipv6"]
    page = write_report(out, tmp_path / "r.html").read_text(encoding="utf-8")
    assert '"mipv6"' in page and '"dmm"' in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o", "r.html"]  # nothing staged


def test_a_full_disk_leaves_nothing_and_names_file_and_practice(
        trace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up in mipv6's fourth table, after dmm's nine: --out is absent, no
    staging directory is left, and the message names the table, practice and file."""
    real = pq.write_table
    written: list[str] = []

    def filling(table, where, *args, **kwargs):
        written.append(str(where))
        if len(written) == 9 + 4:  # dmm's nine tables, then mipv6's fourth
            Path(where).write_bytes(b"PAR1 partial")
            raise OSError(28, "No space left on device")
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", filling)
    out = tmp_path / "o"
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "-p", "mipv6", "--out", out,
                          "--no-progress")
    monkeypatch.undo()
    assert code == 2
    table = Path(written[-1]).name
    assert one_error_line(err) == (
        f"could not write the {table.removesuffix('.parquet')} table of practice 'mipv6' "
        f"({out / 'mipv6' / table}): No space left on device; nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_readers_refuse_a_partial_or_changed_run_by_name(trace: Trace, tmp_path: Path) -> None:
    run = dmmemu.run(trace, "dmm").write(tmp_path / "dmm")
    (run / "handovers.parquet").unlink()
    with pytest.raises(ResultsError, match=f"{run}: partial run: handovers.parquet is missing"):
        load_results(run)
    code, _, err = invoke("report", run, "--out", tmp_path / "r.html")
    assert code == 2 and "partial run: handovers.parquet is missing" in one_error_line(err)
    assert not (tmp_path / "r.html").exists()
    run = dmmemu.run(trace, "dmm").write(tmp_path / "again")
    with open(run / "flows.parquet", "ab") as handle:
        handle.write(b"appended")
    with pytest.raises(ResultsError, match="changed since it was written: flows.parquet has"):
        load_results(tmp_path / "again")


def test_tables_without_a_manifest_are_refused_or_left_out_by_name(trace: Trace,
                                                                   tmp_path: Path) -> None:
    """A run whose writing stopped before its manifest, or an older dmmemu's output: read
    alone it is an error; beside complete runs it is left out with a warning."""
    dmmemu.run(trace, "dmm").write(tmp_path / "dmm")
    old = tmp_path / "old"
    old.mkdir()
    pq.write_table(pl.DataFrame({"practice": ["mipv6"]}).to_arrow(), old / "summary.parquet")
    with pytest.raises(ResultsError, match=f"{old}: tables without {MANIFEST}"):
        load_results(old)
    with pytest.warns(ResultsWarning, match="left out old: tables without a manifest"):
        tables = load_results(tmp_path)
    assert tables["summary"]["run"].to_list() == ["dmm"]
    code, _, err = invoke("report", tmp_path, "--out", tmp_path / "r.html")
    assert code == 0
    assert err.splitlines()[0] == (f"dmmemu: warning: {tmp_path}: left out old: tables "
                                   "without a manifest (a run that did not finish, or not "
                                   "written by this dmmemu)")


def test_a_set_reads_the_runs_it_lists_only(trace: Trace, tmp_path: Path) -> None:
    out = tmp_path / "set"
    with ResultsWriter(out) as writer:
        writer.add("dmm", dmmemu.run(trace, "dmm"))
        writer.add("pmipv6", dmmemu.run(trace, "pmipv6"))
    dmmemu.run(trace, "mipv6").write(out / "stray")  # not one of the set's
    with pytest.warns(ResultsWarning, match="left out stray: not runs of the set"):
        runs = run_directories(out)
    assert [r.label for r in runs] == ["dmm", "pmipv6"]
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest == {"format": "dmmemu-results", "schema_version": SCHEMA_VERSION,
                        "kind": "set", "dmmemu_version": dmmemu.__version__,
                        "runs": ["dmm", "pmipv6"]}


def test_foreign_and_newer_manifests_are_refused(trace: Trace, tmp_path: Path) -> None:
    run = dmmemu.run(trace, "dmm").write(tmp_path / "dmm")
    manifest = json.loads((run / MANIFEST).read_text())
    (run / MANIFEST).write_text(json.dumps({**manifest, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(ResultsError, match="written by a newer dmmemu"):
        load_results(run)
    (run / MANIFEST).write_text("{not json")
    with pytest.raises(ResultsError, match=f"{run / MANIFEST}: not a dmmemu manifest"):
        load_results(run)
    (run / MANIFEST).write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ResultsError, match="not a dmmemu results manifest"):
        load_results(run)
    # dmmemu replaces only its own output: this directory is no longer one.
    with pytest.raises(OutputError, match="does not hold dmmemu results"):
        dmmemu.run(trace, "dmm").write(run, overwrite=True)


def test_the_manifest_records_the_run_and_the_trace_identity(trace: Trace,
                                                             trace_dir: Path,
                                                             tmp_path: Path) -> None:
    result = dmmemu.run(trace, "pmipv6", params={"lifetime_s": 30})
    manifest = json.loads((result.write(tmp_path / "r") / MANIFEST).read_text())
    assert manifest["kind"] == "run" and manifest["run"] == manifest["practice"] == "pmipv6"
    assert manifest["params"]["lifetime_s"] == 30 and manifest["engine"] == "core"
    files = manifest["trace"]["files"]
    assert manifest["trace"]["name"] == "pcap-grid"
    assert sorted(files) == sorted(n for n in TRACE_FILES if (trace_dir / n).is_file())
    for name, entry in files.items():
        assert entry["bytes"] == (trace_dir / name).stat().st_size
        assert len(entry.get("footer_sha256", entry.get("sha256"))) == 64
        assert ("footer_sha256" in entry) == name.endswith(".parquet")
    assert {name: entry["rows"] for name, entry in manifest["tables"].items()} == {
        name: frame.height for name, frame in result.tables().items()}


def test_the_same_inputs_give_bit_identical_results(trace_dir: Path, tmp_path: Path) -> None:
    """Issue 12 §4: a run in this process and one in a process of its own (the installed
    command) write the same bytes in every file, manifest too."""
    args = ["run", str(trace_dir), "-p", "dmm", "-p", "hmipv6", "--no-progress", "--out"]
    code, _, err = invoke(*args, tmp_path / "a")
    assert code == 0, err
    command = Path(sys.executable).parent / "dmmemu"
    if not command.is_file():
        pytest.skip("the dmmemu entry point is not installed beside the interpreter")
    done = subprocess.run([str(command), *args, str(tmp_path / "b")], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    first, second = contents(tmp_path / "a"), contents(tmp_path / "b")
    assert len(first) == 1 + 2 * 10 and first == second


def test_demo_out_is_one_output_with_its_report(trace_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert invoke("demo", "--trace", trace_dir, "--out", out)[0] == 0
    code, _, err = invoke("demo", "--trace", trace_dir, "--out", out)
    assert code == 2 and "pass --overwrite" in one_error_line(err)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the report beside the runs is no stray run
        assert len(run_directories(out)) == len(dmmemu.PRACTICES)


# ------------------------------------------------------------------ errors in the CLI's words
def test_errors_name_the_option_not_an_errno_or_a_keyword(trace_dir: Path,
                                                          tmp_path: Path) -> None:
    (tmp_path / "existing.txt").write_text("mine")
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "--out", tmp_path / "existing.txt",
                          "--no-progress")
    assert code == 2
    assert one_error_line(err) == (f"--out {tmp_path / 'existing.txt'} is a file, not a "
                                   "directory; choose another path")
    assert (tmp_path / "existing.txt").read_text() == "mine"
    code, _, err = invoke("gen", "--out", tmp_path / "g", "--duration", "-5")
    assert code == 2 and one_error_line(err) == "--duration must be finite and > 0.0, got -5.0"
    args = ("gen", "--out", tmp_path / "g", "--mns", "3", "--packets", "50", "--duration",
            "20", "--no-progress")
    assert invoke(*args)[0] == 0
    code, _, err = invoke(*args)
    assert code == 2
    assert one_error_line(err) == (f"--out {tmp_path / 'g'} already holds a trace; pass "
                                   "--overwrite to replace it")
    code, _, err = invoke("gen", "--out", tmp_path, "--overwrite", "--mns", "3")
    assert code == 2 and "does not hold a trace" in one_error_line(err)  # never rm -r
    assert (tmp_path / "existing.txt").read_text() == "mine"


def test_inputs_that_used_to_crash_or_pass_silently_are_errors_by_name(trace_dir: Path,
                                                                       tmp_path: Path) -> None:
    """An MN id of 200,000,000 in flows.parquet (a MemoryError traceback before), a flow of
    an MN that never attaches (accepted silently), an L2 attach of 11 days (NaN figures)."""
    import shutil

    import numpy as np
    import pyarrow as pa

    for mn, value in ((200_000_000, 200000000), (4999, 4999)):
        bad = tmp_path / f"mn-{mn}"
        shutil.copytree(trace_dir, bad)
        flows = pq.read_table(bad / "flows.parquet")
        column = flows.column("mn").to_numpy().copy()
        column[2] = mn
        pq.write_table(flows.set_column(1, "mn", pa.array(column.astype(np.uint32))),
                       bad / "flows.parquet")
        code, _, err = invoke("run", bad, "-p", "dmm", "--out", tmp_path / f"o-{mn}",
                              "--no-progress")
        assert code == 2
        assert one_error_line(err) == (
            f"{bad / 'flows.parquet'}, column 'mn', row 2, value {value}: must be an MN that "
            "mobility.parquet names: an MN that never attaches could only lose its flows' "
            "packets")
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "--param", "l2_attach_ms=1e9",
                          "--out", tmp_path / "o", "--no-progress")
    assert code == 2 and "more than the 3600 s a handover may take" in one_error_line(err)
    assert not (tmp_path / "o").exists()


def test_compare_tells_one_practice_given_twice_apart(trace: Trace) -> None:
    from dmmemu.practices import PMIPv6

    rows = dmmemu.compare(trace, ["pmipv6", PMIPv6(lifetime_s=5), "dmm"])
    assert rows["run"].to_list() == ["pmipv6", "pmipv6#2", "dmm"]
    assert rows["practice"].to_list() == ["pmipv6", "pmipv6", "dmm"]


def test_the_current_directory_is_never_an_output(trace_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An output is renamed into place, which the directory a user stands in cannot be."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for out in (".", str(tmp_path)):
        code, _, err = invoke("run", trace_dir, "-p", "dmm", "--out", out, "--no-progress")
        assert code == 2 and "is the current directory or holds it" in one_error_line(err)
    code, _, err = invoke("run", trace_dir, "-p", "dmm", "--out", "results", "--no-progress")
    assert code == 0, err
    assert sorted(p.name for p in work.iterdir()) == ["results"]


def test_a_damaged_table_of_the_right_size_is_refused_by_name(trace: Trace,
                                                              tmp_path: Path) -> None:
    """A byte flipped in place keeps a table's size: in its footer the manifest's footer
    hash sees it; inside its pages reading it does, and the error names the file."""
    run = dmmemu.run(trace, "dmm").write(tmp_path / "footer")
    raw = bytearray((run / "flows.parquet").read_bytes())
    raw[-20] ^= 0xFF  # inside the footer
    (run / "flows.parquet").write_bytes(bytes(raw))
    with pytest.raises(ResultsError, match="flows.parquet's Parquet footer differs"):
        load_results(run)
    run = dmmemu.run(trace, "dmm").write(tmp_path / "pages")
    manifest = json.loads((run / MANIFEST).read_text())
    assert len(manifest["tables"]["flows"]["footer_sha256"]) == 64
    raw = bytearray((run / "flows.parquet").read_bytes())
    pages_end = len(raw) - 8 - int.from_bytes(raw[-8:-4], "little")  # the footer's start
    start = pages_end // 2
    for at in range(start, min(start + 64, pages_end)):  # damaged bytes in the pages
        raw[at] ^= 0xFF
    (run / "flows.parquet").write_bytes(bytes(raw))
    try:
        tables = load_results(run)
    except ResultsError as exc:
        assert str(exc).startswith(f"{run / 'flows.parquet'}: damaged, cannot be read")
    else:  # the damage fell where a decoder cannot see it: the values differ, though
        assert not tables["flows"].drop("run").equals(dmmemu.run(trace, "dmm").flows.drop(
            "run")), "a damaged file read back unchanged"
