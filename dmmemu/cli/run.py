"""``dmmemu run``, ``dmmemu practices`` and ``dmmemu demo``: replay traces through practices."""

from __future__ import annotations

from pathlib import Path

import click

from dmmemu.cli._common import parse_params, sample_trace_path, user_errors
from dmmemu.cli.comparison import FORMATS, print_comparison

FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
    help="The comparison on stdout: a table that fits the terminal (best values marked), "
    "or csv, json, markdown for scripts and papers.")


@click.command("run")
@click.argument("trace", type=click.Path(path_type=Path))
@click.option("--practice", "-p", "practices", multiple=True, required=True,
              metavar="KEY[:LABEL]",
              help="Practice key (repeatable; `all`: every one, see `dmmemu practices`), with "
              "a label to run one practice more than once.")
@click.option("--param", "params", multiple=True, metavar="[SCOPE.]KEY=VALUE",
              help="Practice parameter (repeatable): for every run whose practice has it, or "
              "only for the run label or practice key SCOPE.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Output directory (one sub-directory per practice when several); never "
              "the trace's, written whole or not at all.")
@click.option("--overwrite", is_flag=True, help="Replace the results of an earlier run in --out.")
@click.option("--engine", type=click.Choice(["core", "reference"]), default="core",
              show_default=True)
@click.option("--timeline-bin", "timeline_bin_s", type=float, default=10.0, show_default=True,
              metavar="SECONDS", help="Width of the timeline's time bins.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@FORMAT_OPTION
@user_errors
def run_command(trace: Path, practices: tuple[str, ...], params: tuple[str, ...], out: Path,
                overwrite: bool, engine: str, timeline_bin_s: float, progress: bool,
                fmt: str) -> None:
    """Replay TRACE through each --practice and write its result tables as Parquet.

    --out receives every run at once when the last one is done (one sub-directory per
    practice when several), or nothing if one fails."""
    from dmmemu.cli.run_choice import choose_runs
    from dmmemu.engine.runner import run
    from dmmemu.results.store import ResultsWriter
    from dmmemu.trace.reader import Trace

    opened = Trace.open(trace)
    # Every practice, parameter and the output are checked before anything runs.
    chosen = choose_runs(practices, parse_params(params))
    for instance in chosen.values():
        instance.compile(opened.topology)
    summaries = []
    with ResultsWriter(out, overwrite=overwrite, single=len(chosen) == 1,
                       inputs=[opened.path]) as writer:
        for label, instance in chosen.items():
            result = run(opened, instance, engine=engine, progress=progress,
                         timeline_bin_s=timeline_bin_s,
                         name=None if label == instance.key else label)
            writer.add(label, result)
            summaries.append(result.summary)
            click.echo(f"{label}: done", err=True)
    click.echo(f"wrote {out}", err=True)
    print_comparison(summaries, fmt)


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
@click.option("--overwrite", is_flag=True, help="Replace the results of an earlier demo in --out.")
@click.option("--timeline-bin", "timeline_bin_s", type=float, default=10.0, show_default=True,
              metavar="SECONDS", help="Width of the timeline's time bins.")
@FORMAT_OPTION
@user_errors
def demo_command(trace: Path | None, out: Path | None, report_path: Path | None,
                 overwrite: bool, timeline_bin_s: float, fmt: str) -> None:
    """Run every registered practice on the sample trace, print a comparison table and write
    the HTML report."""
    from dmmemu.engine.runner import run
    from dmmemu.practices import PRACTICES
    from dmmemu.report.html import write_report
    from dmmemu.results.analysis import combine_results
    from dmmemu.results.store import ResultsWriter
    from dmmemu.trace.reader import Trace

    opened = Trace.open(trace if trace is not None else sample_trace_path())
    click.echo(f"trace {opened.name!r}: {opened.n_mns} MNs, {opened.flows.height} flows, "
               f"{opened.packet_count()} packets, {opened.mobility.height} mobility rows",
               err=True)
    title = f"dmmemu demo: {opened.name}"
    if out is None:
        results = [run(opened, key, timeline_bin_s=timeline_bin_s) for key in PRACTICES]
        report_path = Path("dmmemu-demo.html") if report_path is None else report_path
        write_report(combine_results(results), report_path, title=title)
    else:
        results = []
        with ResultsWriter(out, overwrite=overwrite, inputs=[opened.path]) as writer:
            for key in PRACTICES:
                results.append(run(opened, key, timeline_bin_s=timeline_bin_s))
                writer.add(key, results[-1])
            if report_path is None:  # inside the output, which appears with it
                write_report(combine_results(results), writer.staging / "report.html",
                             title=title)
                report_path = out / "report.html"
            else:
                write_report(combine_results(results), report_path, title=title)
    print_comparison([result.summary for result in results], fmt)
    click.echo(f"report: {report_path}", err=True)
