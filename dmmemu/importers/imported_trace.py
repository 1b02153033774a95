"""What every importer shares: the trace written beside the traffic drawn over the imported
mobility, with a manifest that records the source and every parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from dmmemu.topology.graph import Topology


def write_imported(out_dir: str | Path, *, name: str, topology: Topology, mobility,
                   traffic, seed: int, description: str, source: str, generator: str,
                   params: Mapping[str, Any], packets: bool, overwrite: bool,
                   t_end: int | None = None) -> Path:
    """Write an imported trace: its mobility, the traffic drawn over it, and a manifest
    recording the source (with its SHA-256), the importer, every parameter and the seed."""
    from dmmemu.synthetic.traffic import TrafficModel, write_with_traffic

    manifest = {"description": description, "source": source, "generator": generator,
                "params": dict(params)}
    return write_with_traffic(
        out_dir, name=name, topology=topology, mobility=mobility,
        traffic=TrafficModel() if traffic is None else traffic, seed=seed,
        manifest=manifest, packets=packets, overwrite=overwrite, t_end=t_end,
    )
