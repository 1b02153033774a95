"""Packet formats byte for byte, and the sizes the practices take from them."""

from dmmemu._exports import lazy_exports

_EXPORTS = {
    "ENCAPSULATIONS": "sizes",
    "MESSAGES": "sizes",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
