"""RunResult: the counters of one run as polars DataFrames, and their atomic Parquet output.

One function (``build_result``) turns ``RawCounters`` into tables, whichever engine produced
them, so engines that agree on counters agree on every table. Formulas: docs/semantics.md §9;
schemas: docs/results.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import polars as pl
import pyarrow as pa

from dmmemu.engine.flow_classes import ADDRESS_TYPES, ALL_FLOWS, FlowClass, classify
from dmmemu.engine.policy import (
    ANCHOR_FUNCTIONS,
    FUNCTIONS,
    INTERRUPTION_COMPONENTS,
    ON_ATTACH,
    ON_HANDOVER,
)
from dmmemu.engine.replay_io import (
    CAUSE_NAMES,
    DEFAULT_TIMELINE_BIN_NS,
    EVENT_ANCHOR_RELOCATED,
    EVENT_FLOW_SPARED,
    EVENT_NAMES,
    EVENT_RELOCATION_DEFERRED,
    HO_ATTACH,
    HO_DETACH,
    HO_HANDOVER,
    HO_KIND_NAMES,
    HO_NOOP,
    RawCounters,
    ReplayInput,
)
from dmmemu.engine.signaling import ROLE_ANCHOR

# Summary figures that are null when there is nothing to average (no delivered packet, no
# handover, no anchored packet): never NaN.
UNDEFINED_WHEN_EMPTY = ("mean_stretch", "p99_stretch", "mean_delay_us", "mean_direct_delay_us",
                        "mean_interruption_us", "max_anchor_share")

TABLES = ("summary", "flows", "anchors", "functions", "signaling", "handovers", "timeline",
          "stretch", "events")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMeta:
    """What identifies a run; carried by every table and every file."""

    practice: str
    params: Mapping[str, Any]
    trace: str
    engine: str
    seed: int | None
    version: str
    timeline_bin_ns: int = DEFAULT_TIMELINE_BIN_NS  # width of a timeline bin (semantics §11)
    # The trace's identity (``dmmemu.trace.reader.trace_identity``), for the manifest.
    trace_files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    run: str | None = None  # the run's label (``dmmemu.run(..., name=)``), None: the practice

    @property
    def timeline_bin_s(self) -> float:
        return self.timeline_bin_ns / 1e9

    @property
    def label(self) -> str:
        """What tells this run apart from others of one study: its name, else its practice."""
        return self.run if self.run is not None else self.practice

    def as_metadata(self) -> dict[str, str]:
        return {
            "dmmemu.run": self.label,
            "dmmemu.practice": self.practice,
            "dmmemu.params": json.dumps(dict(self.params), sort_keys=True, default=str),
            "dmmemu.trace": self.trace,
            "dmmemu.engine": self.engine,
            "dmmemu.seed": "" if self.seed is None else str(self.seed),
            "dmmemu.version": self.version,
            "dmmemu.timeline_bin_s": repr(self.timeline_bin_s),
        }


@dataclass(frozen=True, slots=True, repr=False)
class RunResult:
    """Result tables of one run (polars DataFrames) and the raw counters behind them."""

    meta: RunMeta
    summary: pl.DataFrame
    flows: pl.DataFrame
    anchors: pl.DataFrame
    functions: pl.DataFrame
    signaling: pl.DataFrame
    handovers: pl.DataFrame
    timeline: pl.DataFrame
    stretch: pl.DataFrame
    events: pl.DataFrame
    counters: RawCounters = field(repr=False)

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    def _headline(self) -> str:
        s = self.summary.row(0, named=True)
        stretch = "n/a" if s["mean_stretch"] is None else f"{s['mean_stretch']:.3f}"
        return (f"{s['packets']:,} packets, mean stretch {stretch}, {s['handovers']:,} "
                f"handovers, {s['signaling_msgs']:,} signaling messages, "
                f"{s['lost_packets']:,} lost")

    def __repr__(self) -> str:
        """One line for a notebook or a log: which run, its headline figures, its tables."""
        rows = ", ".join(f"{name} ({frame.height:,})" for name, frame in self.tables().items())
        return (f"<RunResult {self.meta.label!r}: {self.meta.practice} on "
                f"{self.meta.trace!r} ({self.meta.engine}); {self._headline()}; tables: {rows}>")

    def _repr_html_(self) -> str:
        """The headline and the summary row, for notebooks."""
        from html import escape

        title = escape(f"RunResult {self.meta.label!r}: {self.meta.practice} on "
                       f"{self.meta.trace!r}; {self._headline()}")
        tables = escape(", ".join(f"{n} ({f.height:,} rows)" for n, f in self.tables().items()))
        return (f"<div><p><b>{title}</b></p>{self.summary._repr_html_()}"
                f"<p>tables: {tables}</p></div>")

    @property
    def plot(self) -> Any:
        """Matplotlib charts of this run (a ``dmmemu.results.plotting.PlotAccessor``):
        ``result.plot.stretch_cdf()`` and the like."""
        from dmmemu.results.plotting import PlotAccessor

        return PlotAccessor(self)

    def write(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write one Parquet file per table into ``directory`` with a manifest, all at once:
        built in a hidden sibling and renamed into place (``dmmemu.results.store``), so the
        directory holds this whole run or what it held before. An earlier run there is
        replaced only with ``overwrite=True``; a trace directory or any directory of other
        files, never. The run metadata is also in each file's key-value metadata."""
        from dmmemu.results.store import ResultsWriter

        with ResultsWriter(directory, overwrite=overwrite, single=True) as writer:
            return writer.add(self.meta.label, self)


# Where a handover row comes from (the handovers table's `source`).
SOURCES = ("mobility", "networks")


def _ids_or_null(ids: np.ndarray) -> pl.Series:
    """Engine ids (-1 for none) as a UInt32 column with nulls: a flow's peer node, or the
    other MN of an MN-to-MN flow (semantics.md §17)."""
    none = ids < 0
    return pl.from_arrow(pa.array(np.where(none, 0, ids).astype(np.uint32), mask=none))


def _flow_kinds(replay: ReplayInput, classes: tuple[FlowClass, ...]) -> dict[str, pl.Series]:
    """Each flow's ``app`` and ``address_type`` (null where the trace gives none) and the
    ``flow_class`` of the practice it took (semantics.md §1): what a study groups flows by."""
    def names(codes: np.ndarray | None, vocabulary: tuple[str, ...]) -> pl.Series:
        if codes is None:
            return pl.Series([None] * replay.n_flows, dtype=pl.String)
        lookup = pl.Series([*vocabulary, None], dtype=pl.String)
        return lookup.gather(np.where(np.asarray(codes) < 0, len(vocabulary), codes))

    return {"app": names(replay.flow_app, tuple(replay.app_names)),
            "address_type": names(replay.flow_address_type, ADDRESS_TYPES),
            "flow_class": pl.Series([c.name for c in classes], dtype=pl.String).gather(
                classify(classes, replay))}


def stretch_stats(hist: np.ndarray) -> tuple[float, float]:
    """Mean and 99th-percentile path stretch (hops / direct hops) over delivered packets,
    exact from the (path hops, direct hops) histogram; NaN when nothing was delivered.
    Packets whose direct path has no hop (two MNs at one PoA, §17) have no stretch and are
    left out (the summary counts them as ``same_poa_packets``)."""
    taken, direct = np.nonzero(hist)
    keep = direct > 0
    taken, direct = taken[keep], direct[keep]
    counts = hist[taken, direct]
    total = int(counts.sum())
    if total == 0:
        return float("nan"), float("nan")
    ratios = [Fraction(int(h), int(d)) for h, d in zip(taken, direct)]
    mean = sum((r * int(c) for r, c in zip(ratios, counts)), Fraction(0)) / total
    order = sorted(range(len(ratios)), key=ratios.__getitem__)
    need = Fraction(99, 100) * total
    seen = 0
    p99 = ratios[order[-1]]
    for i in order:
        seen += int(counts[i])
        if seen >= need:
            p99 = ratios[i]
            break
    return float(mean), float(p99)


def build_result(counters: RawCounters, replay: ReplayInput, *, meta: RunMeta,
                 messages: tuple[str, ...], node_names: list[str], anchor_ids: np.ndarray,
                 mobility_t: np.ndarray, mobility_mn: np.ndarray,
                 interruption_ns: np.ndarray,
                 function_roles: tuple[tuple[int, ...], ...] = ANCHOR_FUNCTIONS,
                 not_applicable: str | None = None,
                 flow_classes: tuple[FlowClass, ...] = ALL_FLOWS) -> RunResult:
    """All result tables of one run from its counters (schemas in docs/results.md); the
    timeline's bins are ``meta.timeline_bin_ns`` wide, as the engine's were."""
    c = counters
    label = {"run": meta.label, "practice": meta.practice, "trace": meta.trace}

    delivered = c.flow_packets - c.flow_lost
    with np.errstate(divide="ignore", invalid="ignore"):
        flow_stretch = np.where(c.flow_direct_hops_sum > 0,
                                c.flow_hops_sum / np.maximum(c.flow_direct_hops_sum, 1), np.nan)
    flows = pl.DataFrame({
        "flow": replay.flow_ids,
        "mn": replay.flow_mn.astype(np.uint32),
        "peer": _ids_or_null(replay.flow_peer),
        "peer_mn": _ids_or_null(replay.flow_peer_mn if replay.flow_peer_mn is not None
                                else np.full(replay.n_flows, -1, np.int32)),
        "continuity": replay.flow_continuity.astype(bool),
        **_flow_kinds(replay, flow_classes),
        "anchor": c.flow_anchor,
        "packets": c.flow_packets,
        "bytes": c.flow_bytes,
        "delivered": delivered,
        "lost": c.flow_lost,
        "delayed": c.flow_delayed,
        "overhead_bytes": c.flow_overhead_bytes,
        "overhead_byte_hops": c.flow_overhead_byte_hops,
        "hops_sum": c.flow_hops_sum,
        "direct_hops_sum": c.flow_direct_hops_sum,
        "delay_us_sum": c.flow_delay_ns_sum / 1000.0,
        "direct_delay_us_sum": c.flow_direct_delay_ns_sum / 1000.0,
        "stretch": flow_stretch,
        "broken": c.flow_broken.astype(bool),
        "renumbered": c.flow_renumbered,
        "moves": c.flow_moves,
    }).with_columns(**{k: pl.lit(v) for k, v in label.items()})

    anchored_packets = int(c.anchor_packets[anchor_ids].sum())
    duration = max(replay.t_end - replay.t_begin, 1)
    anchors = pl.DataFrame({
        "anchor": anchor_ids.astype(np.int32),
        "name": [node_names[a] for a in anchor_ids],
        "packets": c.anchor_packets[anchor_ids],
        "bytes": c.anchor_bytes[anchor_ids],
        "share": c.anchor_packets[anchor_ids] / max(anchored_packets, 1),
        "peak_bindings": c.anchor_peak_bindings[anchor_ids],
        "mean_bindings": c.anchor_binding_ns[anchor_ids] / duration,
        "signaling_msgs": c.anchor_sig_msgs[anchor_ids],
        "signaling_bytes": c.anchor_sig_bytes[anchor_ids],
    }).with_columns(**{k: pl.lit(v) for k, v in label.items()})

    cause_idx, kind_idx = np.meshgrid(np.arange(len(CAUSE_NAMES)), np.arange(len(messages)),
                                      indexing="ij")
    signaling = pl.DataFrame({
        "message": [messages[k] for k in kind_idx.ravel()],
        "cause": [CAUSE_NAMES[i] for i in cause_idx.ravel()],
        "msgs": c.sig_msgs.ravel(),
        "bytes": c.sig_bytes.ravel(),
        "byte_hops": c.sig_byte_hops.ravel(),
    }).filter(pl.col("msgs") > 0).with_columns(**{k: pl.lit(v) for k, v in label.items()})

    rows = np.flatnonzero(c.ho_kind != HO_NOOP)
    # The practice's interruption components of each row, by the row's kind (semantics §5.10);
    # a detach has none (its row carries the de-registration).
    kinds = c.ho_kind[rows]
    on = np.where(kinds == HO_ATTACH, ON_ATTACH, ON_HANDOVER).astype(np.int8)
    detached = kinds == HO_DETACH
    components = {}
    for i, name in enumerate(INTERRUPTION_COMPONENTS):  # one column at a time: a small peak
        column = interruption_ns[i][on] / 1000.0
        column[detached] = 0.0
        components[f"{name}_us"] = column
    from_networks = rows >= replay.n_mobility_rows  # §16: networks rows follow mobility's
    handovers = pl.DataFrame({
        "row": np.where(from_networks, rows - replay.n_mobility_rows, rows).astype(np.int64),
        # An enum (one byte a row), not a string per row: the table has a row per move.
        "source": pl.Series(SOURCES, dtype=pl.Enum(SOURCES)).gather(
            from_networks.astype(np.int64)),
        "t": mobility_t[rows],
        "mn": mobility_mn[rows].astype(np.uint32),
        "kind": pl.Series(HO_KIND_NAMES, dtype=pl.String).gather(kinds),
        "from_poa": c.ho_from[rows],
        "to_poa": c.ho_to[rows],
        "interruption_us": c.ho_interruption_ns[rows] / 1000.0,
        **components,
        "signaling_us": c.ho_signaling_ns[rows] / 1000.0,
        "anchor_hold_us": c.ho_hold_ns[rows] / 1000.0,
        "msgs": c.ho_msgs[rows],
        "addresses": c.ho_addresses[rows],
        "bytes": c.ho_bytes[rows],
        "lost": c.ho_lost[rows],
        "delayed": c.ho_delayed[rows],
    }).with_columns(
        **{k: pl.lit(v) for k, v in label.items()})

    # Anchors that carried a packet or held a binding (a binding comes with its signaling).
    used = (c.anchor_packets[anchor_ids] > 0) | (c.anchor_peak_bindings[anchor_ids] > 0)
    timeline = _timeline(c, replay.t_begin, meta.timeline_bin_ns, anchor_ids[used],
                         node_names).with_columns(**{k: pl.lit(v) for k, v in label.items()})

    path_hops, direct_hops = np.nonzero(c.stretch_hist)
    stretch = pl.DataFrame({
        "path_hops": path_hops.astype(np.int32),
        "direct_hops": direct_hops.astype(np.int32),
        # null where the direct path has no hop (two MNs at one PoA, §17)
        "stretch": pl.Series(path_hops / np.maximum(direct_hops, 1)).set(
            pl.Series(direct_hops == 0), None),
        "packets": c.stretch_hist[path_hops, direct_hops],
    }).with_columns(**{k: pl.lit(v) for k, v in label.items()})

    flow_of = c.event_flow
    events = pl.DataFrame({
        "t": c.event_t,
        "kind": pl.Series(EVENT_NAMES, dtype=pl.String).gather(c.event_kind),
        "mn": c.event_mn.astype(np.uint32),
        "flow": pl.Series("flow", replay.flow_ids[np.maximum(flow_of, 0)], pl.UInt64).scatter(
            np.flatnonzero(flow_of < 0), None),
        "anchor": c.event_node,
        "name": pl.Series([node_names[a] for a in c.event_node], dtype=pl.String),
    }).with_columns(**{k: pl.lit(v) for k, v in label.items()})

    # A figure of nothing (no packet delivered, no handover) is null, never NaN.
    mean_stretch, p99_stretch = (None if math.isnan(x) else x
                                 for x in stretch_stats(c.stretch_hist))
    n_delivered = int(delivered.sum())
    is_ho = c.ho_kind == HO_HANDOVER
    n_ho = int(is_ho.sum())
    summary = pl.DataFrame([{
        **label,
        "not_applicable": not_applicable,
        "engine": meta.engine,
        "flows": replay.n_flows,
        "packets": int(c.flow_packets.sum()),
        "bytes": int(c.flow_bytes.sum()),
        "delivered_packets": n_delivered,
        "overhead_bytes": int(c.flow_overhead_bytes.sum()),
        "overhead_byte_hops": int(c.flow_overhead_byte_hops.sum()),
        "mean_stretch": mean_stretch,
        "p99_stretch": p99_stretch,
        "same_poa_packets": int(c.stretch_hist[:, 0].sum()),
        "mean_delay_us": (float(c.flow_delay_ns_sum.sum()) / n_delivered / 1000.0
                          if n_delivered else None),
        "mean_direct_delay_us": (float(c.flow_direct_delay_ns_sum.sum()) / n_delivered / 1000.0
                                 if n_delivered else None),
        "handovers": n_ho,
        "attaches": int((c.ho_kind == HO_ATTACH).sum()),
        "detaches": int((c.ho_kind == HO_DETACH).sum()),
        "signaling_msgs": int(c.sig_msgs.sum()),
        "signaling_bytes": int(c.sig_bytes.sum()),
        "signaling_byte_hops": int(c.sig_byte_hops.sum()),
        "mean_interruption_us": (float(c.ho_interruption_ns[is_ho].mean()) / 1000.0
                                 if n_ho else None),
        "lost_packets": int(c.flow_lost.sum()),
        "delayed_packets": int(c.flow_delayed.sum()),
        "broken_flows": int(c.flow_broken.sum()),
        "renumbered_flows": int((c.flow_renumbered > 0).sum()),
        "relocations": int((c.event_kind == EVENT_ANCHOR_RELOCATED).sum()),
        "deferred_relocations": int((c.event_kind == EVENT_RELOCATION_DEFERRED).sum()),
        "spared_flows": int((c.event_kind == EVENT_FLOW_SPARED).sum()),
        "anchors_used": int(used.sum()),
        "max_anchor_share": (float(c.anchor_packets[anchor_ids].max()) / anchored_packets
                             if anchored_packets else None),
        "peak_bindings": int(c.anchor_peak_bindings.max()) if c.anchor_peak_bindings.size else 0,
        "timeline_bin_s": meta.timeline_bin_s,
        "params": json.dumps(dict(meta.params), sort_keys=True, default=str),
        "seed": meta.seed,
        "dmmemu_version": meta.version,
    }], schema_overrides={"seed": pl.Int64, "not_applicable": pl.String, **dict.fromkeys(
        UNDEFINED_WHEN_EMPTY, pl.Float64)})

    functions = _functions(c, function_roles, node_names, duration).with_columns(
        **{k: pl.lit(v) for k, v in label.items()})
    return RunResult(meta=meta, summary=summary, flows=flows, anchors=anchors,
                     functions=functions, signaling=signaling, handovers=handovers,
                     timeline=timeline, stretch=stretch, events=events, counters=counters)


MOBILE_NODES = "(mobile nodes)"  # the name of the functions table's row for the MNs' own load


def _functions(c: RawCounters, function_roles: tuple[tuple[int, ...], ...],
               node_names: list[str], duration: int) -> pl.DataFrame:
    """One row per (RFC 7429 function, node) with load in it. The location functions (LM,
    LU) count the signaling messages the node handled in the roles that play them (node -1:
    the MNs themselves); where the anchor role plays a function, the anchor counters add what
    they measure of it: addresses created (AF), packets and bytes forwarded (MR), bindings
    held (LM). A load a function does not have, or the engine does not measure, is null."""
    n = len(node_names)
    names = node_names + [MOBILE_NODES]
    parts = []
    for function, roles in zip(FUNCTIONS, function_roles):
        loads: dict[str, np.ndarray] = {}
        if function in ("LM", "LU"):
            loads["messages"] = (c.role_sig_msgs[list(roles)].sum(axis=0) if roles
                                 else np.zeros(n + 1, np.int64))
        if ROLE_ANCHOR in roles:  # the anchor counters, with no value for the MNs' row
            measured = {
                "AF": {"addresses": c.anchor_addresses},
                "MR": {"packets": c.anchor_packets, "bytes": c.anchor_bytes},
                "LM": {"peak_bindings": c.anchor_peak_bindings,
                       "mean_bindings": c.anchor_binding_ns / max(duration, 1)},
            }.get(function, {})
            loads.update({name: np.append(values, 0) for name, values in measured.items()})
        anchor_only = [name for name in loads if name != "messages"]
        rows = np.flatnonzero(np.any([values > 0 for values in loads.values()], axis=0)
                              if loads else np.zeros(n + 1, bool))
        columns: dict[str, Any] = {
            "function": pl.Series("function", [function] * rows.size, pl.String),
            "node": np.where(rows == n, -1, rows).astype(np.int32),
            "name": pl.Series("name", [names[r] for r in rows], pl.String),
        }
        mns_row = np.flatnonzero(rows == n)
        for name, dtype in FUNCTION_LOADS.items():
            if name not in loads:
                columns[name] = pl.Series(name, [None] * rows.size, dtype)
                continue
            column = pl.Series(name, loads[name][rows], dtype)
            if name in anchor_only and mns_row.size:  # the MNs are not an anchor
                column = column.scatter(mns_row, None)
            columns[name] = column
        parts.append(pl.DataFrame(columns))
    return pl.concat(parts)


# Load columns of the functions table and their types (null where not measured).
FUNCTION_LOADS = {"messages": pl.Int64, "addresses": pl.Int64, "packets": pl.Int64,
                  "bytes": pl.Int64, "peak_bindings": pl.Int64, "mean_bindings": pl.Float64}


def _timeline(c: RawCounters, t_begin: int, bin_ns: int, anchors: np.ndarray,
              node_names: list[str]) -> pl.DataFrame:
    """One row per (bin, anchor) of ``anchors``, bin by bin, anchors in the given order."""
    n_bins = c.timeline_packets.shape[0]
    bins = np.repeat(np.arange(n_bins, dtype=np.int64), anchors.size)
    names = pl.Series("name", [node_names[a] for a in anchors], dtype=pl.String)
    return pl.DataFrame({
        "t": t_begin + bins * bin_ns,
        "t_s": bins * bin_ns / 1e9,
        "anchor": np.tile(anchors.astype(np.int32), n_bins),
        "name": names.gather(np.tile(np.arange(anchors.size), n_bins)),
        "packets": c.timeline_packets[:, anchors].ravel(),
        "bytes": c.timeline_bytes[:, anchors].ravel(),
        "signaling_msgs": c.timeline_sig_msgs[:, anchors].ravel(),
        "mean_bindings": c.timeline_binding_ns[:, anchors].ravel() / bin_ns,
    })
