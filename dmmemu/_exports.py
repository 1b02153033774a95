"""Public names of a package, imported from their modules on first use (PEP 562).

Each layer's ``__init__.py`` re-exports its public names through this, so that importing one
module of a layer never imports the whole layer (and the layers above it) as a side effect.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps a public name to the module
    (relative to ``package``, or absolute when it starts with ``dmmemu``) that defines it."""

    def __getattr__(name: str) -> Any:
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        target = module if module.startswith("dmmemu") else f"{package}.{module}"
        value = getattr(importlib.import_module(target), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
