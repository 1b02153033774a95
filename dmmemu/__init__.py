"""dmmemu: trace-driven emulation of IP mobility-management practices.

Nothing heavy happens at import: the public names load their modules on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmmemu._exports import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "run": "dmmemu.engine.runner",
    "compare": "dmmemu.results.analysis",
    "load_results": "dmmemu.results.analysis",
    "write_report": "dmmemu.report.html",
    "RunResult": "dmmemu.results.tables",
    "Trace": "dmmemu.trace.reader",
    "Topology": "dmmemu.topology.graph",
    "PRACTICES": "dmmemu.practices",
    "get_practice": "dmmemu.practices",
    "TraceError": "dmmemu.errors",
    "TopologyError": "dmmemu.errors",
    "PracticeError": "dmmemu.errors",
    "DmmemuError": "dmmemu.errors",
}

__all__ = [
    "__version__", "run", "compare", "load_results", "write_report", "RunResult", "Trace",
    "Topology", "PRACTICES", "get_practice", "TraceError", "TopologyError", "PracticeError",
    "DmmemuError",
]

if TYPE_CHECKING:  # pragma: no cover
    from dmmemu.engine.runner import run
    from dmmemu.errors import DmmemuError, PracticeError, TopologyError, TraceError
    from dmmemu.practices import PRACTICES, get_practice
    from dmmemu.report.html import write_report
    from dmmemu.results.analysis import compare, load_results
    from dmmemu.results.tables import RunResult
    from dmmemu.topology.graph import Topology
    from dmmemu.trace.reader import Trace


__getattr__ = lazy_exports(__name__, _EXPORTS)
