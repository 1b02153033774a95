"""``run``: replay one trace through one practice and return its result tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import polars as pl

from dmmemu import __version__
from dmmemu.engine.replay_io import RawCounters, check_counter_limits
from dmmemu.errors import PacketRowError, PracticeError
from dmmemu.model_params import seconds_to_ns
from dmmemu.practices import Practice, get_practice
from dmmemu.results.tables import RunMeta, RunResult, build_result
from dmmemu.trace.reader import Trace, trace_identity


def _core_engine():
    from dmmemu._core.replay import Replay

    return Replay


def _reference_engine():
    from dmmemu.engine.reference import ReferenceReplay

    return ReferenceReplay


# Engine name -> loader of a class with the (policy, replay, *, timeline_bin_ns) / feed /
# finish interface.
ENGINES = {"core": _core_engine, "reference": _reference_engine}


def run(
    trace: Trace | str | Path,
    practice: Practice | str,
    *,
    params: Mapping[str, Any] | None = None,
    engine: str = "core",
    progress: bool = False,
    timeline_bin_s: float = 10.0,
    name: str | None = None,
) -> RunResult:
    """Replay ``trace`` through ``practice`` (a key such as ``"dmm"`` or a Practice instance
    with its parameters) and return the result tables.

    ``engine="reference"`` runs the pure-Python reference engine instead of the compiled core
    (slow; for checking). ``timeline_bin_s`` is the width of the timeline table's bins, in
    seconds (rounded to whole nanoseconds). ``name`` labels the run (the ``run`` column of
    every table; default: the practice key), so that one practice run twice with different
    parameters stays two runs.
    """
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise PracticeError(f"name must be a non-empty string, got {name!r}")
    bin_ns = _timeline_bin_ns(timeline_bin_s)
    if not isinstance(trace, Trace):
        trace = Trace.open(trace)
    practice = get_practice(practice, params)
    try:
        make_engine = ENGINES[engine]
    except KeyError:
        raise PracticeError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}") from None
    tables = practice.compile(trace.topology)
    replay = trace.replay_input()
    check_counter_limits(tables, replay, trace.packet_count())
    replayer = make_engine()(tables, replay, timeline_bin_ns=bin_ns)
    try:
        for batch in trace.packet_batches(progress=progress):
            replayer.feed(batch)
    except PacketRowError as err:
        raise trace.packet_error(err) from None
    counters: RawCounters = replayer.finish()
    topology = trace.topology
    seed = trace.manifest.get("seed")
    meta = RunMeta(practice=practice.key, params=practice.params(), trace=trace.name,
                   engine=engine, seed=int(seed) if seed is not None else None,
                   version=__version__, timeline_bin_ns=bin_ns,
                   trace_files=trace_identity(trace.path), run=name)
    # The handover table's rows: mobility.parquet's, then networks.parquet's (§16).
    mobility = trace.mobility.select("t", "mn")
    if trace.networks is not None:
        mobility = pl.concat([mobility, trace.networks.select("t", "mn")])
    return build_result(
        counters, replay, meta=meta, messages=tuple(k.name for k in tables.message_kinds),
        node_names=[node.name for node in topology.nodes],
        anchor_ids=topology.nodes_with_role("anchor"),
        mobility_t=mobility["t"].to_numpy(), mobility_mn=mobility["mn"].to_numpy(),
        interruption_ns=tables.interruption_ns, function_roles=tables.function_roles,
        not_applicable=practice.not_applicable(trace), flow_classes=tables.flow_classes,
    )


def _timeline_bin_ns(seconds: float) -> int:
    """``timeline_bin_s`` as the engines' whole number of nanoseconds (at least 1)."""
    return seconds_to_ns(seconds, what="timeline_bin_s", low_ns=1, error=PracticeError)
