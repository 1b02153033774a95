"""dmmemu: trace-driven emulation of IP mobility-management practices.

Nothing heavy happens at import: the public names load their modules on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "run": ("dmmemu.runner", "run"),
    "compare": ("dmmemu.analysis", "compare"),
    "load_results": ("dmmemu.analysis", "load_results"),
    "write_report": ("dmmemu.report", "write_report"),
    "RunResult": ("dmmemu.results", "RunResult"),
    "Trace": ("dmmemu.trace", "Trace"),
    "Topology": ("dmmemu.topology", "Topology"),
    "PRACTICES": ("dmmemu.practices", "PRACTICES"),
    "get_practice": ("dmmemu.practices", "get_practice"),
    "TraceError": ("dmmemu.errors", "TraceError"),
    "TopologyError": ("dmmemu.errors", "TopologyError"),
    "PracticeError": ("dmmemu.errors", "PracticeError"),
    "DmmemuError": ("dmmemu.errors", "DmmemuError"),
}

__all__ = [
    "__version__", "run", "compare", "load_results", "write_report", "RunResult", "Trace",
    "Topology", "PRACTICES", "get_practice", "TraceError", "TopologyError", "PracticeError",
    "DmmemuError",
]

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import compare, load_results
    from .errors import DmmemuError, PracticeError, TopologyError, TraceError
    from .practices import PRACTICES, get_practice
    from .report import write_report
    from .results import RunResult
    from .runner import run
    from .topology import Topology
    from .trace import Trace


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'dmmemu' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value
