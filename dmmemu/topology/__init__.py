"""Topologies: nodes, links, shortest-path matrices, and the reference generators."""

from dmmemu._exports import lazy_exports

_EXPORTS = {
    "Topology": "graph",
    "Node": "graph",
    "Link": "graph",
    "FUNCTIONS": "node_attributes",
    "ACCESS_TYPES": "node_attributes",
    "TOPOLOGY_GENERATORS": "generators",
    "build_generated": "generators",
    "FlatWifi": "generators",
    "Hierarchical": "generators",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
