"""A practice defined outside dmmemu, as docs/custom-practices.md shows: a module that does
not postpone its annotations (no ``from __future__ import annotations``)."""

from dataclasses import dataclass
from typing import ClassVar

from dmmemu.practices import PMIPv6


@dataclass(frozen=True, slots=True, kw_only=True)
class FastAttachPMIPv6(PMIPv6):
    """PMIPv6 over an access whose L2 attach takes 40 ms (an LTE-like radio) instead of
    802.11's 651 ms; every other parameter as ``pmipv6``."""

    key: ClassVar[str] = "pmipv6-fast-attach"
    summary: ClassVar[str] = "PMIPv6 over an access with a 40 ms L2 attach"

    l2_attach_ms: float = 40.0
