"""Synthetic traces: mobility models, attachment rules, traffic models."""

from dmmemu._exports import lazy_exports

_EXPORTS = {
    "SyntheticTrace": "generator",
    "TrafficModel": "traffic",
    "AttachmentRule": "attachment",
    "MOBILITY_MODELS": "mobility_models",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
