"""Which runs a ``dmmemu run`` asks for: ``-p KEY[:LABEL]`` (``-p all``: every registered
practice) and ``--param [SCOPE.]KEY=VALUE``, where SCOPE is a run's label or a practice
key. An unscoped parameter goes to every run whose practice has it; a practice twice needs
a label per run, and each run's own parameters then go to it by its label."""

from __future__ import annotations

import dataclasses
from typing import Any

from dmmemu.errors import PracticeError

ALL = "all"


def choose_runs(specs: tuple[str, ...], params: dict[str, Any]) -> dict[str, Any]:
    """label -> Practice instance, in the order given; every error names the option."""
    from dmmemu.practices import PRACTICES, get_practice
    from dmmemu.results.store import plain_name

    runs: dict[str, str] = {}  # label -> practice key
    for spec in specs:
        key, _, label = spec.partition(":")
        keys = list(PRACTICES) if key == ALL else [key]
        if key == ALL and label:
            raise PracticeError(f"-p {spec}: 'all' takes no label")
        for one in keys:
            if one not in PRACTICES:
                raise PracticeError(f"-p {spec}: unknown practice {one!r}; registered: "
                                    f"{', '.join(PRACTICES)} (or all)")
            name = label or one
            if name in runs:
                raise PracticeError(
                    f"-p {spec}: a second run labelled {name!r}; give each run of a practice "
                    f"its own label (-p {one}:LABEL) and its parameters with --param "
                    "LABEL.KEY=VALUE")
            if not plain_name(name):
                raise PracticeError(f"-p {spec}: a label names the run's directory: no '/' "
                                    "or '\\', not hidden")
            runs[name] = one
    fields = {label: {f.name for f in dataclasses.fields(PRACTICES[key]) if f.init}
              for label, key in runs.items()}
    chosen: dict[str, dict[str, Any]] = {label: {} for label in runs}
    for dotted, value in params.items():
        scope, sep, name = dotted.rpartition(".")
        if not sep:
            targets = [label for label in runs if name in fields[label]]
            if not targets:
                raise PracticeError(f"--param {name}: no practice of this run has a parameter "
                                    f"{name!r}")
        else:
            targets = [label for label, key in runs.items() if scope in (label, key)]
            if not targets:
                raise PracticeError(f"--param {dotted}: {scope!r} is neither a run label nor "
                                    f"a practice of this run ({', '.join(runs)})")
        for label in targets:
            chosen[label][name] = value
    return {label: _practice(get_practice, runs[label], chosen[label], label)
            for label in runs}


def _practice(get_practice: Any, key: str, params: dict[str, Any], label: str) -> Any:
    """The practice of one run; a bad parameter names the run when it has its own label."""
    try:
        return get_practice(key, params)
    except PracticeError as exc:
        if label == key:
            raise
        raise PracticeError(f"run {label!r} ({key}): {exc}") from None
