"""``dmmemu import sumo|drivelog|assoc``: recorded movement turned into traces.

The options every import command shares are named as ``dmmemu gen`` names them: ``--packets N``
is a packet count, ``--packet-file/--no-packet-file`` whether packets.parquet is written.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Callable

import click

from dmmemu.cli._common import EXIT_USAGE, error_text, user_errors
from dmmemu.errors import DmmemuError
from dmmemu.importers.assoc import import_assoc
from dmmemu.importers.drivelog import import_drivelogs
from dmmemu.importers.sumo import FORMATS, LAYOUTS, import_sumo
from dmmemu.synthetic.attachment import AttachmentRule
from dmmemu.synthetic.traffic import ARRIVALS, TrafficModel
from dmmemu.topology.generators import SITED_ARCHITECTURES, SitedAccess

_SHARED_OPTIONS = (
    click.option("--architecture", type=click.Choice(list(SITED_ARCHITECTURES)),
                 default="flat", show_default=True,
                 help="Place the sites on a reference architecture: a distributed gateway "
                 "per site (flat), a MAP domain per site (hierarchical), or eNB sites in SGW "
                 "service areas (eps; docs/topologies.md)."),
    click.option("--sites-per-area", type=click.IntRange(min=1), default=4,
                 show_default=True, help="eps: eNB sites per SGW service area."),
    click.option("--correspondents", type=click.IntRange(min=1), default=4,
                 show_default=True, help="Correspondent nodes behind the core."),
    click.option("--flows-per-hour", type=float, default=None, metavar="RATE",
                 help="Flow arrivals per attached MN-hour.  [default: TrafficModel's]"),
    click.option("--arrivals", type=click.Choice(["poisson", "onoff"]), default="poisson",
                 show_default=True, help="Flow arrival process."),
    click.option("--packets", "traffic_packets", type=click.IntRange(min=1), default=None,
                 metavar="N",
                 help="Calibrate the flow rate so that the trace holds exactly N packets."),
    click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                 help="Seed of the traffic drawn over the imported mobility."),
    click.option("--name", default=None, help="Trace name (default: the directory's name)."),
    click.option("--packet-file/--no-packet-file", "packets", default=True, show_default=True,
                 help="Write packets.parquet (else the replay synthesises packets)."),
    click.option("--overwrite", is_flag=True, help="Replace an existing trace directory."),
)


# The counts of the cleaning rules the log importers share (source_rows.in_time_order) and
# the drive-test importer's own.
CLEANING_COUNTS = ("duplicates", "reordered", "cells_filled")


def import_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every import command shares (topology size, traffic, seed, output);
    ``run_import`` consumes them."""
    for option in reversed(_SHARED_OPTIONS):
        command = option(command)
    return command


def run_import(importer: Callable[..., Path], *args: Any, architecture: str,
               sites_per_area: int, correspondents: int, flows_per_hour: float | None,
               traffic_packets: int | None, arrivals: str, **options: Any) -> None:
    """Call ``importer`` with the shared options; a user error prints one line and exits 2."""
    try:
        from dmmemu.synthetic.traffic import TrafficModel

        knobs = {"flows_per_mn_hour": flows_per_hour, "packets": traffic_packets}
        traffic = TrafficModel(arrivals=arrivals,
                               **{k: v for k, v in knobs.items() if v is not None})
        access = SitedAccess(architecture=architecture, sites_per_area=sites_per_area,
                             correspondents=correspondents)
        path = importer(*args, access=access, traffic=traffic, **options)
    except (DmmemuError, OSError) as exc:
        click.echo(f"dmmemu: error: {error_text(exc)}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"wrote {path}")
    from dmmemu.trace.reader import Trace

    counts = Trace.open(path).manifest.get("params", {}).get("counts", {})
    cleaned = [f"{counts[key]} {key.replace('_', ' ')}" for key in CLEANING_COUNTS
               if key in counts]
    if cleaned:
        click.echo(f"cleaned {counts['rows']} rows: {', '.join(cleaned)} "
                   "(rules: the importer's documentation)")


@click.command("sumo")
@click.argument("fcd", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Trace directory to write.")
@click.option("--net", type=click.Path(path_type=Path), default=None,
              help="SUMO network (.net.xml[.gz]): its convBoundary bounds the PoA layout "
                   "(default: the samples' bounding box).")
@click.option("--spacing", "spacing_m", type=float, default=None, metavar="METRES",
              help="Distance between PoAs of the layout.")
@click.option("--layout", type=click.Choice(list(LAYOUTS)), default="grid", show_default=True,
              help="grid: square cells; hex: cell sites on a hexagonal lattice.")
@click.option("--poas", "poa_csv", type=click.Path(path_type=Path), default=None,
              help="CSV of PoA positions (header x,y[,name]) instead of a layout.")
@click.option("--range", "range_m", type=float, default=math.inf, metavar="METRES",
              help="Farther than this from every PoA: detached.  [default: no limit]")
@click.option("--hysteresis", "hysteresis_m", type=float, default=10.0, show_default=True,
              metavar="METRES", help="Hand over only to a PoA nearer by more than this...")
@click.option("--time-to-trigger", "time_to_trigger_s", type=float, default=0.0,
              show_default=True, metavar="SECONDS", help="...for at least this long.")
@click.option("--max-speed", "max_speed_mps", type=float, default=70.0, show_default=True,
              metavar="M/S", help="A faster apparent move is a teleport.")
@click.option("--step", "step_s", type=float, default=None, metavar="SECONDS",
              help="FCD sampling period.  [default: detected]")
@click.option("--correspondents", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--architecture", type=click.Choice(["flat", "hierarchical"]), default="flat",
              show_default=True, help="A gateway in front of every AR (flat), or the ARs "
              "grouped by position into MAP domains (hierarchical; docs/topologies.md).")
@click.option("--domain-size", type=click.IntRange(min=1), default=9, show_default=True,
              help="hierarchical: ARs per MAP domain.")
@click.option("--format", "fcd_format", type=click.Choice(list(FORMATS)), default="auto",
              show_default=True)
@click.option("--arrivals", type=click.Choice(list(ARRIVALS)), default="poisson",
              show_default=True)
@click.option("--packets", type=click.IntRange(min=1), default=None,
              help="Exact packet count; the flow arrival rate is calibrated to it.  "
                   "[default: --flows-per-hour]")
@click.option("--flows-per-hour", type=float, default=None,
              help="Flows per attached vehicle-hour (when --packets is not given).  "
                   "[default: the traffic model's]")
@click.option("--packet-file/--no-packet-file", default=True, show_default=True,
              help="Write packets.parquet (else the replay synthesises packets).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--name", default=None, help="Trace name (default: the directory's name).")
@click.option("--overwrite", is_flag=True, help="Replace an existing trace directory.")
def sumo_command(fcd: Path, out: Path, net: Path | None, spacing_m: float | None,
                 layout: str, poa_csv: Path | None, range_m: float, hysteresis_m: float,
                 time_to_trigger_s: float, max_speed_mps: float, step_s: float | None,
                 correspondents: int, architecture: str, domain_size: int, fcd_format: str,
                 arrivals: str, packets: int | None,
                 flows_per_hour: float | None, packet_file: bool, seed: int,
                 name: str | None, overwrite: bool) -> None:
    """Import the SUMO floating-car data FCD (XML, CSV or Parquet) as a trace."""
    def run() -> Path:
        rule = AttachmentRule(range_m=range_m, hysteresis_m=hysteresis_m,
                              time_to_trigger_s=time_to_trigger_s)
        rate = {} if flows_per_hour is None else {"flows_per_mn_hour": flows_per_hour}
        traffic = TrafficModel(arrivals=arrivals, packets=packets, **rate)
        return import_sumo(fcd, out, net=net, spacing_m=spacing_m, layout=layout,
                           poa_csv=poa_csv, rule=rule, max_speed_mps=max_speed_mps,
                           step_s=step_s, correspondents=correspondents, traffic=traffic,
                           seed=seed, packet_file=packet_file, name=name, fcd_format=fcd_format,
                           overwrite=overwrite, architecture=architecture,
                           domain_size=domain_size)

    click.echo(f"wrote {user_errors(run)()}")


@click.command("drivelog")
@click.argument("logs", metavar="LOG...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Trace directory to write.")
@click.option("--max-gap", "max_gap_s", type=float, default=10.0, show_default=True,
              metavar="SECONDS", help="A longer time without a row detaches the MN.")
@click.option("--max-skew", "max_skew_s", type=float, default=2.0, show_default=True,
              metavar="SECONDS", help="A row this much earlier than an earlier row is "
              "re-ordered; more is an error.")
@click.option("--strict", is_flag=True, help="No cleaning: a row earlier than the one before "
              "it is an error, a row without a cell is no service.")
@import_options
def drivelog_command(logs: tuple[Path, ...], out: Path, **options: Any) -> None:
    """Import drive-test logs LOG... (G-NetTrack CSV, one file per drive and MN) as a trace:
    serving-cell changes become handovers, eNB/gNB sites anchor gateways."""
    run_import(import_drivelogs, logs, out, **options)


@click.command("assoc")
@click.argument("log", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Trace directory to write.")
@click.option("--time-col", default="time", show_default=True)
@click.option("--user-col", default="user", show_default=True)
@click.option("--ap-col", default="ap", show_default=True)
@click.option("--event-col", default=None,
              help="Start/Stop/Interim-Update column (RADIUS Acct-Status-Type).  "
                   "[default: none, every row is an association]")
@click.option("--controller-col", default=None,
              help="Column grouping APs into sites, one anchor gateway per controller.  "
                   "[default: none, a gateway per AP]")
@click.option("--ap-positions", type=click.Path(path_type=Path), default=None,
              help="CSV of AP positions (header ap,x,y; metres).  [default: a grid]")
@click.option("--grid-spacing", "grid_spacing_m", type=float, default=50.0,
              show_default=True, metavar="METRES", help="Distance between APs on the grid.")
@click.option("--max-skew", "max_skew_s", type=float, default=5.0, show_default=True,
              metavar="SECONDS", help="A user's row this much earlier than an earlier row "
              "is re-ordered; more is an error.")
@click.option("--session-timeout", "session_timeout_s", type=float, default=3600.0,
              show_default=True, metavar="SECONDS",
              help="A longer time without a row detaches the user.")
@import_options
def assoc_command(log: Path, out: Path, **options: Any) -> None:
    """Import the association log FILE (CSV or Parquet rows of time, user and access point,
    as WiFi controllers and RADIUS accounting export them) as a trace."""
    run_import(import_assoc, log, out, **options)
