"""Traces as directories: open and validate, stream packet batches, write."""

from dmmemu._exports import lazy_exports

_EXPORTS = {
    "Trace": "reader",
    "PacketFileInfo": "reader",
    "unsupported_inputs": "reader",
    "write_trace": "writer",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
