"""Mobile IPv6 with distributed home agents (RFC 4640, RFC 5026, RFC 6611): several HAs,
each MN (or each flow) anchored at one near the PoA where it bootstraps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dmmemu.engine.policy import SELECT_PER_FLOW, PolicyTables
from dmmemu.practices.base import function_anchors, selection_code
from dmmemu.practices.mipv6 import MIPv6
from dmmemu.topology.graph import Topology


@dataclass(frozen=True, slots=True, kw_only=True)
class MIPv6DistributedHA(MIPv6):
    """MIPv6 (the parameters of ``mipv6``) with a home agent near the MN instead of one
    central HA. The HAs are ``home_agents`` (names), or every non-central anchor that can
    host the HA function. Bootstrapping (RFC 5026: the MN finds an HA, e.g. by DNS, and sets up
    its security association and home address with it by IKEv2) picks the HA by
    ``selection``, the engine's policies (semantics.md §5.6): ``nearest-at-bootstrap`` (the
    default: the HA nearest the MN's first PoA, then kept), ``nearest-at-attach``,
    ``hashed`` or ``least-loaded``. The home address is permanent and registered while the
    MN is attached, as with ``mipv6``.

    ``per_flow``: each flow gets a home address at the HA nearest the PoA where it starts
    (the distributed use of MIPv6 with several HAs that RFC 7429 §4 surveys), so the MN
    uses several HAs at once; an address lives while flows use it, and every move sends
    one BU/BA to each HA whose address still has active flows. Not modelled: the bootstrapping exchange itself
    (DNS or DHCP lookup, IKEv2 with the HA): docs/practices.md.
    """

    key: ClassVar[str] = "mipv6-dha"
    summary: ClassVar[str] = ("Mobile IPv6 with distributed home agents: the HA nearest the "
                              "MN at bootstrap, or per flow (RFC 4640, 5026)")

    home_agents: tuple[str, ...] = ()
    selection: str = "nearest-at-bootstrap"
    per_flow: bool = False

    def compile(self, topology: Topology) -> PolicyTables:
        anchors = function_anchors(topology, self.home_agents, "HA", self.key)
        select = SELECT_PER_FLOW if self.per_flow else selection_code(self.key, self.selection)
        return self._home_agent_tables(topology, home_agents={
            "select": select, "serving": topology.serving_anchors(anchors),
            "candidates": anchors, "always_registered": not self.per_flow})
