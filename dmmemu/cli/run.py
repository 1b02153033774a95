"""``dmmemu run``, ``dmmemu practices`` and ``dmmemu demo``: replay traces through practices."""

from __future__ import annotations

from pathlib import Path

import click

from dmmemu.cli._common import (
    parse_params,
    print_comparison,
    sample_trace_path,
    user_errors,
)


@click.command("run")
@click.argument("trace", type=click.Path(path_type=Path))
@click.option("--practice", "-p", "practices", multiple=True, required=True,
              help="Practice key (repeatable); see `dmmemu practices`.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Practice parameter (repeatable), applied to every practice given.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Output directory (one sub-directory per practice when several).")
@click.option("--engine", type=click.Choice(["core", "reference"]), default="core",
              show_default=True)
@click.option("--timeline-bin", "timeline_bin_s", type=float, default=10.0, show_default=True,
              metavar="SECONDS", help="Width of the timeline's time bins.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@user_errors
def run_command(trace: Path, practices: tuple[str, ...], params: tuple[str, ...], out: Path,
                engine: str, timeline_bin_s: float, progress: bool) -> None:
    """Replay TRACE through each --practice and write its result tables as Parquet."""
    from dmmemu.engine.runner import run
    from dmmemu.practices import get_practice
    from dmmemu.trace.reader import Trace

    opened = Trace.open(trace)
    parameters = parse_params(params)
    # Every practice and parameter is checked before anything runs or is written.
    chosen = {key: get_practice(key, parameters) for key in practices}
    for instance in chosen.values():
        instance.compile(opened.topology)
    summaries = []
    for key, instance in chosen.items():
        result = run(opened, instance, engine=engine, progress=progress,
                     timeline_bin_s=timeline_bin_s)
        target = out / key if len(practices) > 1 else out
        result.write(target)
        summaries.append(result.summary)
        click.echo(f"{key}: wrote {target}", err=True)
    print_comparison(summaries)


@click.command("practices")
def practices_command() -> None:
    """List the registered practices."""
    from dmmemu.practices import PRACTICES

    width = max(map(len, PRACTICES))
    for key, cls in PRACTICES.items():
        click.echo(f"{key:<{width}}  {cls.summary}")


@click.command("demo")
@click.option("--trace", type=click.Path(path_type=Path), default=None,
              help="Trace directory (default: the bundled sample).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Also write every practice's tables under this directory.")
@click.option("--report", "report_path", type=click.Path(path_type=Path), default=None,
              help="HTML report path (default: OUT/report.html, else ./dmmemu-demo.html).")
@click.option("--timeline-bin", "timeline_bin_s", type=float, default=10.0, show_default=True,
              metavar="SECONDS", help="Width of the timeline's time bins.")
@user_errors
def demo_command(trace: Path | None, out: Path | None, report_path: Path | None,
                 timeline_bin_s: float) -> None:
    """Run every registered practice on the sample trace, print a comparison table and write
    the HTML report."""
    from dmmemu.engine.runner import run
    from dmmemu.practices import PRACTICES
    from dmmemu.report.html import write_report
    from dmmemu.results.analysis import combine_results
    from dmmemu.trace.reader import Trace

    opened = Trace.open(trace if trace is not None else sample_trace_path())
    click.echo(f"trace {opened.name!r}: {opened.n_mns} MNs, {opened.flows.height} flows, "
               f"{opened.packet_count()} packets, {opened.mobility.height} mobility rows",
               err=True)
    results = []
    for key in PRACTICES:
        result = run(opened, key, timeline_bin_s=timeline_bin_s)
        if out is not None:
            result.write(out / key)
        results.append(result)
    print_comparison([result.summary for result in results])
    if report_path is None:
        report_path = out / "report.html" if out is not None else Path("dmmemu-demo.html")
    write_report(combine_results(results), report_path, title=f"dmmemu demo: {opened.name}")
    click.echo(f"report: {report_path}", err=True)
