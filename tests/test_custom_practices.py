"""User-defined practices (docs/custom-practices.md): a subclass in a module without
postponed annotations, registered at run time or declared by an installed package in the
``dmmemu.practices`` entry point group, runs like dmmemu's own, from the library and the
CLI; a broken declaration is left out with a warning, not a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from custom_practice import FastAttachPMIPv6

import dmmemu
from dmmemu.errors import PracticeError
from dmmemu.practices import PRACTICES, register

TESTS = Path(__file__).resolve().parent
SAMPLE = TESTS.parent / "traces" / "sample"


@pytest.fixture
def registered():
    register(FastAttachPMIPv6)
    yield FastAttachPMIPv6
    PRACTICES.pop(FastAttachPMIPv6.key, None)


def test_a_subclass_without_postponed_annotations_checks_its_parameters() -> None:
    assert FastAttachPMIPv6().l2_attach_ms == 40.0
    with pytest.raises(PracticeError, match="l2_attach_ms must be >= 0"):
        FastAttachPMIPv6(l2_attach_ms=-1.0)
    with pytest.raises(PracticeError, match="l2_attach_ms must be a finite number"):
        FastAttachPMIPv6.from_params({"l2_attach_ms": "fast"})
    assert FastAttachPMIPv6.from_params({"lifetime_s": 30}).lifetime_s == 30


def test_a_registered_practice_runs_by_its_key(registered) -> None:
    """Only the L2 attach differs from pmipv6: every handover's interruption is shorter by
    exactly 651 - 40 ms (semantics.md §5.10: the components add up), nothing else changes."""
    fast_run, plain_run = dmmemu.run(SAMPLE, registered.key), dmmemu.run(SAMPLE, "pmipv6")
    moves = [frame.filter(pl.col("kind") == "handover")["interruption_us"]
             for frame in (fast_run.handovers, plain_run.handovers)]
    assert ((moves[1] - moves[0]).round(3) == 611_000.0).all()  # each handover, not a mean
    fast = fast_run.summary.row(0, named=True)
    plain = plain_run.summary.row(0, named=True)
    assert fast["practice"] == "pmipv6-fast-attach"
    assert plain["mean_interruption_us"] - fast["mean_interruption_us"] == pytest.approx(
        611_000.0)
    assert fast["signaling_msgs"] == plain["signaling_msgs"]
    assert fast["lost_packets"] < plain["lost_packets"]
    with pytest.raises(PracticeError, match="already"):
        register(type("Other", (FastAttachPMIPv6,), {"__module__": "elsewhere"}))
    with pytest.raises(PracticeError, match="not a Practice subclass"):
        register(int)  # type: ignore[arg-type]


def _installed(tmp_path: Path, entry_points: str) -> dict[str, str]:
    """A package installed on PYTHONPATH with ``entry_points`` (its dist-info, as pip
    writes it), for a fresh process to discover."""
    site = tmp_path / "site"
    info = site / "custom_practice_pkg-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: custom-practice-pkg\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    (site / "custom_practice.py").write_text((TESTS / "custom_practice.py").read_text())
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}


def _dmmemu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = Path(sys.executable).parent / "dmmemu"
    if not command.is_file():
        pytest.skip("the dmmemu entry point is not installed beside the interpreter")
    return subprocess.run([str(command), *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_an_installed_package_declares_a_practice_the_cli_sees(tmp_path: Path) -> None:
    env = _installed(tmp_path, "[dmmemu.practices]\n"
                               "pmipv6-fast-attach = custom_practice:FastAttachPMIPv6\n")
    listed = _dmmemu(env, "practices")
    assert listed.returncode == 0, listed.stderr
    assert "pmipv6-fast-attach  PMIPv6 over an access with a 40 ms L2 attach" in listed.stdout
    ran = _dmmemu(env, "run", str(SAMPLE), "-p", "pmipv6-fast-attach", "--param",
                  "lifetime_s=120", "--out", str(tmp_path / "out"), "--no-progress",
                  "--format", "csv")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[1].startswith("pmipv6-fast-attach,")


def test_a_broken_declaration_is_left_out_with_a_warning(tmp_path: Path) -> None:
    env = _installed(tmp_path, "[dmmemu.practices]\nbroken = custom_practice:NoSuchClass\n")
    listed = _dmmemu(env, "practices")
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr.startswith("dmmemu: warning: practice 'broken' from "
                                    "custom_practice:NoSuchClass left out")
    assert len(listed.stdout.splitlines()) == len(PRACTICES)
