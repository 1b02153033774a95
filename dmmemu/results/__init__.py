"""Result tables of a run, reading them back, comparing runs, and plots."""

from dmmemu._exports import lazy_exports

_EXPORTS = {
    "RunResult": "tables",
    "RunMeta": "tables",
    "build_result": "tables",
    "compare": "analysis",
    "load_results": "analysis",
    "combine_results": "analysis",
    "stretch_cdf": "analysis",
    "interruption_cdf": "analysis",
    "anchor_load": "analysis",
    "signaling_by_cause": "analysis",
    "signaling_by_anchors": "analysis",
    "flows_by": "analysis",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
