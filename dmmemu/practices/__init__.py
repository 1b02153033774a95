"""Registered mobility-management practices, by key.

A practice is a frozen dataclass of parameters with RFC defaults; ``compile(topology)``
turns it into ``PolicyTables`` for the engines. ``PRACTICES`` maps key to class: dmmemu's
own, then those of installed packages that declare one in the ``dmmemu.practices`` entry
point group, and any ``register``ed at run time (docs/custom-practices.md).
"""

from __future__ import annotations

import warnings
from importlib.metadata import entry_points
from typing import Any, Mapping

from dmmemu.errors import DmmemuWarning, PracticeError
from dmmemu.practices.base import Practice
from dmmemu.practices.dmm import DMM
from dmmemu.practices.dsmipv6 import DSMIPv6
from dmmemu.practices.epc import EPC
from dmmemu.practices.epc_local import LIPA, SIPTO
from dmmemu.practices.fiveg import SSC1, SSC2, SSC3
from dmmemu.practices.ha_switch import HomeAgentSwitch
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
                           HMIPv6, HomeAgentSwitch, PMIPv6, PMIPv6DistributedLMA, PMIPv6LocalizedRouting,
                           PMIPv6RuntimeAssignment, PMIPv6IPv4Transport, EPC, SIPTO, LIPA,
                           SSC1, SSC2, SSC3, DMM)
}


ENTRY_POINT_GROUP = "dmmemu.practices"


def register(cls: type[Practice]) -> type[Practice]:
    """Add a practice class to ``PRACTICES`` under its ``key`` (usable as a decorator); the
    CLI and ``dmmemu.run`` then know it by that key. A key already taken is an error."""
    if not (isinstance(cls, type) and issubclass(cls, Practice)):
        raise PracticeError(f"{cls!r} is not a Practice subclass")
    key = cls.key
    if not key or not isinstance(key, str) or key == "all" or ":" in key or "." in key:
        raise PracticeError(f"{cls.__name__}: a practice needs a key (a name without ':' or "
                            f"'.', not 'all'), got {key!r}")
    if PRACTICES.get(key, cls) is not cls:
        raise PracticeError(f"{cls.__name__}: practice key {key!r} is already "
                            f"{PRACTICES[key].__module__}.{PRACTICES[key].__name__}'s")
    if not cls.summary:
        raise PracticeError(f"{cls.__name__}: a practice needs a one-line summary")
    PRACTICES[key] = cls
    return cls


def _register_installed() -> None:
    """The practices installed packages declare (``[project.entry-points."dmmemu.practices"]``
    ``key = "package.module:Class"``); one that does not load is left out with a warning."""
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register(point.load())
        except Exception as exc:  # a broken plugin must not take the CLI down
            warnings.warn(f"practice {point.name!r} from {point.value} left out: {exc}",
                          DmmemuWarning, stacklevel=2)


_register_installed()


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


__all__ = ["PRACTICES", "Practice", "get_practice", "register", "MIPv6", "MIPv6RouteOptimisation",
           "MIPv6DistributedHA", "NEMO", "DSMIPv6", "HMIPv6", "HomeAgentSwitch", "PMIPv6", "PMIPv6DistributedLMA",
           "PMIPv6IPv4Transport", "PMIPv6LocalizedRouting", "PMIPv6RuntimeAssignment", "EPC", "SIPTO",
           "LIPA", "SSC1", "SSC2", "SSC3", "DMM"]
