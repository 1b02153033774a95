"""Checks shared by the parameter dataclasses of the generative models (mobility, traffic,
synthetic traces), so every model rejects a bad value with the same kind of message."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import numpy as np

from dmmemu.errors import DmmemuError


class ParameterError(DmmemuError, ValueError):
    """A parameter of a generative model (mobility, traffic, synthetic trace) is invalid."""


NS_PER_S = 1_000_000_000
# The longest duration a parameter may give (about 146 years): sums of such times still fit
# the engines' int64 nanoseconds.
MAX_NS = 2**62


NS_PER_UNIT = {"s": NS_PER_S, "ms": 1_000_000}


def seconds_to_ns(value: Any, *, what: str, low_ns: int = 0,
                  error: type[DmmemuError] = ParameterError, unit: str = "s") -> int:
    """A duration in seconds (or ``unit="ms"``) as whole nanoseconds, refusing what is not a
    finite number or falls outside ``low_ns .. MAX_NS``."""
    scale = NS_PER_UNIT[unit]
    ns = None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool) and math.isfinite(value) and abs(value) <= MAX_NS / scale:
        ns = int(round(value * scale))
    if ns is None or not low_ns <= ns <= MAX_NS:
        raise error(f"{what} must be a duration from {low_ns / scale:g} to "
                    f"{MAX_NS / scale:g} {unit}, got {value!r}")
    return ns


def check_integer(where: str, name: str, value: Any, *, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{where}: {name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ParameterError(f"{where}: {name} must be in {low}..{high}, got {value}")


def check_number(where: str, name: str, value: Any, *, low: float, high: float = math.inf,
                 strict: bool = False) -> None:
    """A finite number in [low, high] ((low, high] with ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{where}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < low or value > high or (strict and value == low):
        bound = f"> {low}" if strict else f">= {low}"
        if high != math.inf:
            bound += f" and <= {high}"
        raise ParameterError(f"{where}: {name} must be finite and {bound}, got {value!r}")


def check_choice(where: str, name: str, value: Any, choices: Mapping[str, Any]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(f"{where}: {name} {value!r} is unknown; known: "
                             f"{', '.join(choices)}")


def check_known_keys(where: str, params: Mapping[str, Any], cls: type) -> None:
    """Every key of ``params`` names a field of the dataclass ``cls``."""
    if not isinstance(params, Mapping):
        raise ParameterError(f"{where}: expected a table of parameters, got {params!r}")
    allowed = {f.name for f in dataclasses.fields(cls) if f.init}
    for key in params:
        if key not in allowed:
            raise ParameterError(f"{where}: unknown parameter {key!r}; parameters: "
                                 f"{', '.join(sorted(allowed))}")


def toml_values(obj: Any) -> dict[str, Any]:
    """The init fields of a parameter dataclass as TOML-ready values (None left out: TOML has
    no null, and every None field means "the default")."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
            if f.init and getattr(obj, f.name) is not None}
