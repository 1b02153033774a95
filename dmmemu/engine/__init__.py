"""The replay engines and their contract: policy tables in, raw counters out."""

from dmmemu._exports import lazy_exports

_EXPORTS = {
    "PolicyTables": "policy",
    "ReplayInput": "replay_io",
    "PacketBatch": "replay_io",
    "RawCounters": "replay_io",
    "ReferenceReplay": "reference",
    "run": "runner",
    "ENGINES": "runner",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
