"""What every import command shares: the trace written beside the traffic drawn over the
imported mobility, and the command-line options for topology size, traffic, seed and output
(named as ``dmmemu gen`` and ``dmmemu import sumo`` name them: ``--packets N`` is a packet
count, ``--packet-file/--no-packet-file`` whether packets.parquet is written)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Mapping

import click

from ..errors import DmmemuError
from ..reference_topologies import SitedAccess
from ..topology import Topology


def write_imported(out_dir: str | Path, *, name: str, topology: Topology, mobility,
                   traffic, seed: int, description: str, source: str, generator: str,
                   params: Mapping[str, Any], packets: bool, overwrite: bool,
                   t_end: int | None = None) -> Path:
    """Write an imported trace: its mobility, the traffic drawn over it, and a manifest
    recording the source (with its SHA-256), the importer, every parameter and the seed."""
    from ..traffic import TrafficModel, write_with_traffic

    manifest = {"description": description, "source": source, "generator": generator,
                "params": dict(params)}
    return write_with_traffic(
        out_dir, name=name, topology=topology, mobility=mobility,
        traffic=TrafficModel() if traffic is None else traffic, seed=seed,
        manifest=manifest, packets=packets, overwrite=overwrite, t_end=t_end,
    )


_SHARED_OPTIONS = (
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


def import_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every import command shares (topology size, traffic, seed, output);
    ``run_import`` consumes them."""
    for option in reversed(_SHARED_OPTIONS):
        command = option(command)
    return command


def run_import(importer: Callable[..., Path], *args: Any, correspondents: int,
               flows_per_hour: float | None, traffic_packets: int | None, arrivals: str,
               **options: Any) -> None:
    """Call ``importer`` with the shared options; a user error prints one line and exits 2."""
    try:
        from ..traffic import TrafficModel

        knobs = {"flows_per_mn_hour": flows_per_hour, "packets": traffic_packets}
        traffic = TrafficModel(arrivals=arrivals,
                               **{k: v for k, v in knobs.items() if v is not None})
        path = importer(*args, access=SitedAccess(correspondents=correspondents),
                        traffic=traffic, **options)
    except (DmmemuError, OSError) as exc:
        click.echo(f"dmmemu: error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {path}")
