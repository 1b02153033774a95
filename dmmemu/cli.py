"""The ``dmmemu`` command: run, practices, gen, demo.

User errors (bad traces, unknown practices, bad parameters) print one line without a
traceback and exit with status 2.
"""

from __future__ import annotations

import functools
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import click

from .errors import DmmemuError

EXIT_USAGE = 2

COMPARISON_COLUMNS = (
    "practice", "packets", "mean_stretch", "p99_stretch", "mean_delay_us", "overhead_bytes",
    "handovers", "signaling_msgs", "signaling_bytes", "mean_interruption_us", "lost_packets",
    "broken_flows", "anchors_used", "max_anchor_share",
)


def _user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn dmmemu's own errors into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DmmemuError, OSError) as exc:  # OSError: an output path the user named
            click.echo(f"dmmemu: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


def sample_trace_path() -> Path:
    """The bundled sample trace: ``traces/sample`` of a source checkout, else the installed copy."""
    checkout = Path(__file__).resolve().parent.parent / "traces" / "sample"
    for local in (Path("traces") / "sample", checkout):
        if (local / "trace.toml").is_file():
            return local
    return Path(str(resources.files("dmmemu") / "traces" / "sample"))


def _parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--param key=value`` pairs; values are read as TOML scalars (numbers, true/false,
    quoted strings, arrays), anything else as a plain string."""
    from .topology import tomllib

    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--param")
        try:
            params[key.strip()] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            params[key.strip()] = text
    return params


def _print_comparison(summaries) -> None:
    import polars as pl

    table = pl.concat(summaries, how="vertical_relaxed").select(COMPARISON_COLUMNS)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, float_precision=3,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        click.echo(table)


class _UserErrorGroup(click.Group):
    """Every sub-command's user errors (dmmemu's own, and a path the user named that the system
    refuses) end as one line and exit status 2, wherever they are raised."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DmmemuError, OSError) as exc:
            click.echo(f"dmmemu: error: {exc}", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_UserErrorGroup)
@click.version_option(package_name="dmmemu")
def main() -> None:
    """dmmemu: replay mobility and traffic traces through mobility-management practices."""


@main.command("run")
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
@_user_errors
def run_command(trace: Path, practices: tuple[str, ...], params: tuple[str, ...], out: Path,
                engine: str, timeline_bin_s: float, progress: bool) -> None:
    """Replay TRACE through each --practice and write its result tables as Parquet."""
    from .practices import get_practice
    from .runner import run
    from .trace import Trace

    opened = Trace.open(trace)
    parameters = _parse_params(params)
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
    _print_comparison(summaries)


@main.command("practices")
def practices_command() -> None:
    """List the registered practices."""
    from .practices import PRACTICES

    width = max(map(len, PRACTICES))
    for key, cls in PRACTICES.items():
        click.echo(f"{key:<{width}}  {cls.summary}")


@main.command("demo")
@click.option("--trace", type=click.Path(path_type=Path), default=None,
              help="Trace directory (default: the bundled sample).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Also write every practice's tables under this directory.")
@click.option("--report", "report_path", type=click.Path(path_type=Path), default=None,
              help="HTML report path (default: OUT/report.html, else ./dmmemu-demo.html).")
@click.option("--timeline-bin", "timeline_bin_s", type=float, default=10.0, show_default=True,
              metavar="SECONDS", help="Width of the timeline's time bins.")
@_user_errors
def demo_command(trace: Path | None, out: Path | None, report_path: Path | None,
                 timeline_bin_s: float) -> None:
    """Run every registered practice on the sample trace, print a comparison table and write
    the HTML report."""
    from .analysis import combine_results
    from .practices import PRACTICES
    from .report import write_report
    from .runner import run
    from .trace import Trace

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
    _print_comparison([result.summary for result in results])
    if report_path is None:
        report_path = out / "report.html" if out is not None else Path("dmmemu-demo.html")
    write_report(combine_results(results), report_path, title=f"dmmemu demo: {opened.name}")
    click.echo(f"report: {report_path}", err=True)


@main.group("import")
def import_group() -> None:
    """Turn recorded movement (SUMO, drive tests, association logs) into traces."""


def _register_commands() -> None:
    """Sub-commands that live beside the code they drive."""
    from .generate_cli import gen_command
    from .importers.assoc import assoc_command
    from .importers.drivelog import drivelog_command
    from .importers.sumo import sumo_command
    from .pcap import pcap_command
    from .report import report_command

    for command in (gen_command, report_command, pcap_command):
        main.add_command(command)
    for command in (sumo_command, drivelog_command, assoc_command):
        import_group.add_command(command)


_register_commands()
