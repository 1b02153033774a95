"""Registered mobility-management practices, by key.

A practice is a frozen dataclass of parameters with RFC defaults; ``compile(topology)``
turns it into ``PolicyTables`` for the engines. ``PRACTICES`` maps key to class.
"""

from __future__ import annotations

from typing import Any, Mapping

from dmmemu.errors import PracticeError
from dmmemu.practices.base import Practice
from dmmemu.practices.dmm import DMM
from dmmemu.practices.dsmipv6 import DSMIPv6
from dmmemu.practices.epc import EPC
from dmmemu.practices.epc_local import LIPA, SIPTO
from dmmemu.practices.hmipv6 import HMIPv6
from dmmemu.practices.mipv6 import MIPv6
from dmmemu.practices.mipv6_dha import MIPv6DistributedHA
from dmmemu.practices.mipv6_ro import MIPv6RouteOptimisation
from dmmemu.practices.nemo import NEMO
from dmmemu.practices.pmipv6 import (
    PMIPv6,
    PMIPv6DistributedLMA,
    PMIPv6IPv4Transport,
    PMIPv6LocalizedRouting,
    PMIPv6RuntimeAssignment,
)

PRACTICES: dict[str, type[Practice]] = {
    cls.key: cls for cls in (MIPv6, MIPv6RouteOptimisation, MIPv6DistributedHA, NEMO, DSMIPv6,
                           HMIPv6, PMIPv6, PMIPv6DistributedLMA, PMIPv6LocalizedRouting,
                           PMIPv6RuntimeAssignment, PMIPv6IPv4Transport, EPC, SIPTO, LIPA,
                           DMM)
}


def get_practice(key: str | Practice, params: Mapping[str, Any] | None = None) -> Practice:
    """A practice instance from a key (and parameters), or the instance itself."""
    if isinstance(key, Practice):
        if params:
            raise PracticeError("parameters go either in the practice instance or in params")
        return key
    try:
        cls = PRACTICES[key]
    except KeyError:
        raise PracticeError(
            f"unknown practice {key!r}; registered: {', '.join(PRACTICES)}"
        ) from None
    return cls.from_params(params or {})


__all__ = ["PRACTICES", "Practice", "get_practice", "MIPv6", "MIPv6RouteOptimisation",
           "MIPv6DistributedHA", "NEMO", "DSMIPv6", "HMIPv6", "PMIPv6", "PMIPv6DistributedLMA",
           "PMIPv6IPv4Transport", "PMIPv6LocalizedRouting", "PMIPv6RuntimeAssignment", "EPC", "SIPTO",
           "LIPA",
           "DMM"]
