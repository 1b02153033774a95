"""Replay throughput: dmmemu end to end against the Parquet reader's own rate, in one run.

    python bench/throughput.py                     # 20M-packet synthetic trace (generated once)
    python bench/throughput.py --packets 5000000 --repeat 5
    python bench/throughput.py --trace traces/big  # an existing trace
    python bench/throughput.py --packets 60000000 --mns 60000 --flows 600000  # a city
    python bench/throughput.py --compare-with /path/to/other/checkout  # before/after

``--flows`` builds the city load shape of ``bench/city.py`` (flow ids shuffled, about 30
moves per MN-hour) instead of the synthetic generator's trace. ``--compare-with`` measures a
second dmmemu source tree (built in place: ``python setup.py build_ext --inplace``) end to
end on the same trace in the same run, interleaved with this one, and reports the ratio.

Every measurement runs in a fresh process (so peak RSS is that measurement's own) and is
repeated; medians are reported. Ratios are against baselines measured in the same run:
end to end / plain pyarrow scan of the same packets.parquet (the I/O limit), and core / pure-
Python reference engine, replay alone on packets held in memory, on a smaller trace (the
reference is too slow for 20M packets).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def _peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_scan(trace_dir: str) -> dict:
    """Decode every row group of packets.parquet to numpy, as the replay does, and nothing else."""
    import pyarrow.parquet as pq

    start = time.perf_counter()
    pf = pq.ParquetFile(Path(trace_dir) / "packets.parquet")
    rows = 0
    for i in range(pf.num_row_groups):
        table = pf.read_row_group(i, columns=["t", "flow", "size", "dir"])
        for column in table.columns:
            column.to_numpy()
        rows += table.num_rows
    return {"seconds": time.perf_counter() - start, "packets": rows, "rss_mib": _peak_rss_mib()}


def measure_run(trace_dir: str, practice: str, engine: str, source: str | None = None,
                warmup: str | None = None) -> dict:
    """One dmmemu.run, from opening the trace to the result tables; modules are imported
    first, as the scan imports pyarrow before its clock starts (with ``warmup``, a tiny
    trace run first, so a tree that imports lazily pays its imports outside the clock too);
    ``source``: the dmmemu tree to import instead of the installed one."""
    if source is not None:
        sys.path.insert(0, source)
    import dmmemu
    import dmmemu._core.replay  # noqa: F401

    if source is not None:
        assert Path(dmmemu.__file__).resolve().is_relative_to(Path(source).resolve())
    if warmup is not None:
        dmmemu.run(warmup, practice, engine=engine)
    start = time.perf_counter()
    result = dmmemu.run(trace_dir, practice, engine=engine)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "packets": int(result.summary["packets"][0]),
            "rss_mib": _peak_rss_mib()}


def registered_practices(source: str) -> list[str]:
    """The practice keys the dmmemu tree ``source`` registers."""
    sys.path.insert(0, source)
    import dmmemu

    return list(dmmemu.PRACTICES)


def measure_engine(trace_dir: str, practice: str, engine: str) -> dict:
    """The replay alone (construct, feed every batch, finish) on packets already in memory."""
    from dmmemu.engine.runner import ENGINES
    from dmmemu.practices import get_practice
    from dmmemu.trace.reader import Trace

    trace = Trace.open(trace_dir)
    policy = get_practice(practice).compile(trace.topology)
    replay = trace.replay_input()
    batches = list(trace.packet_batches())
    engine_cls = ENGINES[engine]()
    start = time.perf_counter()
    replayer = engine_cls(policy, replay)
    for batch in batches:
        replayer.feed(batch)
    replayer.finish()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "packets": sum(len(b) for b in batches),
            "rss_mib": _peak_rss_mib()}


def in_fresh_process(func, *args) -> dict:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx, max_tasks_per_child=1) as pool:
        return pool.submit(func, *args).result()


def repeated(repeat: int, func, *args) -> dict:
    return summarised([in_fresh_process(func, *args) for _ in range(repeat)])


def alternated(repeat: int, func, first: tuple, second: tuple) -> tuple[dict, dict]:
    """``func(*first)`` and ``func(*second)`` ``repeat`` times each, alternating, so that
    the machine's drift over the run falls on both alike."""
    runs: tuple[list, list] = ([], [])
    for _ in range(repeat):
        for args, out in zip((first, second), runs):
            out.append(in_fresh_process(func, *args))
    return summarised(runs[0]), summarised(runs[1])


def summarised(runs: list[dict]) -> dict:
    seconds = statistics.median(r["seconds"] for r in runs)
    packets = runs[0]["packets"]
    return {"seconds": seconds, "packets": packets, "pps": packets / seconds,
            "rss_mib": max(r["rss_mib"] for r in runs), "all_seconds": [r["seconds"] for r in runs]}


def ensure_trace(path: Path, packets: int, mns: int, seed: int) -> Path:
    from dmmemu.synthetic.generator import SyntheticTrace

    if not (path / "trace.toml").is_file():
        print(f"generating {path} ({packets:,} packets) ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        SyntheticTrace(mns=mns, packets=packets, seed=seed).generate(path, overwrite=True)
        print(f"  generated in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path


def ensure_city(path: Path, packets: int, mns: int, flows: int, seed: int) -> Path:
    from city import city_trace

    if not (path / "trace.toml").is_file():
        print(f"generating {path} ({packets:,} packets, {mns:,} MNs, {flows:,} flows) ...",
              file=sys.stderr, flush=True)
        start = time.perf_counter()
        city_trace(path, packets=packets, mns=mns, flows=flows, seed=seed)
        print(f"  generated in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=20_000_000)
    parser.add_argument("--mns", type=int, default=2000)
    parser.add_argument("--flows", type=int, default=None,
                        help="build the city load shape (bench/city.py) with this many flows")
    parser.add_argument("--compare-with", type=Path, default=None,
                        help="another dmmemu source tree to measure end to end beside this one")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the core/reference comparison on the small trace")
    parser.add_argument("--trace", type=Path, default=None)
    parser.add_argument("--ratio-packets", type=int, default=300_000,
                        help="size of the trace for the core/reference comparison")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--practice", action="append", default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    from dmmemu.practices import PRACTICES

    practices = args.practice or list(PRACTICES)
    if args.trace:
        trace = args.trace
    elif args.flows:
        trace = ensure_city(DATA / f"city-{args.packets}-{args.mns}-{args.flows}", args.packets,
                            args.mns, args.flows, seed=3)
    else:
        trace = ensure_trace(DATA / f"synthetic-{args.packets}", args.packets, args.mns, seed=1)
    small = None if args.no_reference else ensure_trace(
        DATA / f"synthetic-{args.ratio_packets}", args.ratio_packets, max(args.mns // 10, 50),
        seed=2)

    report: dict = {"trace": str(trace), "repeat": args.repeat}
    scan = repeated(args.repeat, measure_scan, str(trace))
    report["scan"] = scan
    print(f"pyarrow scan   {scan['packets']:>12,} packets  {scan['pps'] / 1e6:7.1f} M/s  "
          f"peak RSS {scan['rss_mib']:7.0f} MiB", flush=True)
    report["practices"] = {}
    other = str(args.compare_with.resolve()) if args.compare_with else None
    warmup = str(ensure_trace(DATA / "warmup", 2_000, 5, seed=9))
    theirs = set(in_fresh_process(registered_practices, other)) if other else set()
    for key in practices:
        this = (str(trace), key, "core", None, warmup)
        before = None
        if key in theirs:
            end_to_end, before = alternated(args.repeat, measure_run, this,
                                            (str(trace), key, "core", other, warmup))
        else:
            end_to_end = repeated(args.repeat, measure_run, *this)
        entry = {"end_to_end": end_to_end, "vs_scan": end_to_end["pps"] / scan["pps"]}
        line = (f"{key:<14} {end_to_end['packets']:>12,} packets  "
                f"{end_to_end['pps'] / 1e6:7.1f} M/s  peak RSS {end_to_end['rss_mib']:7.0f} MiB  "
                f"= {entry['vs_scan']:4.2f} x scan")
        if before is not None:
            entry["compared"] = before
            entry["compared_vs_scan"] = before["pps"] / scan["pps"]
            line += (f"   {args.compare_with.name}: {before['pps'] / 1e6:6.1f} M/s "
                     f"{before['rss_mib']:6.0f} MiB = {entry['compared_vs_scan']:4.2f} x scan")
        elif other:
            line += f"   {args.compare_with.name}: not a practice there"
        if not args.no_reference:
            core_small = repeated(args.repeat, measure_engine, str(small), key, "core")
            reference_small = repeated(1, measure_engine, str(small), key, "reference")
            entry.update(core_small=core_small, reference_small=reference_small,
                         core_vs_reference=reference_small["seconds"] / core_small["seconds"])
            line += (f"   replay core {core_small['pps'] / 1e6:6.1f} M/s reference "
                     f"{reference_small['pps'] / 1e6:5.2f} M/s = "
                     f"{entry['core_vs_reference']:4.0f} x ({core_small['packets']:,} packets)")
        report["practices"][key] = entry
        print(line, flush=True)
        print(json.dumps({"practice": key, **{k: v for k, v in entry.items()
                                               if isinstance(v, float)}}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
