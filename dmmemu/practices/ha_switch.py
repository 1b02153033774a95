"""Home agent switch (RFC 5142; RFC 7429 §4.2.1's DMM use of it): Mobile IPv6 with several
home agents, one of which tells an MN to move to another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dmmemu.engine.flow_classes import FlowClass
from dmmemu.engine.policy import (
    RELOCATE_BY_DISTANCE,
    RELOCATE_BY_LOAD,
    RELOCATION_KEEP,
    RELOCATION_RENEW,
    PolicyTables,
)
from dmmemu.engine.signaling import (
    CAUSE_RELOCATION,
    ROLE_ANCHOR,
    ROLE_MN,
    ROLE_PREV_ANCHOR,
    Leg,
    MessageKind,
)
from dmmemu.errors import PracticeError
from dmmemu.practices.base import function_anchors, selection_code
from dmmemu.practices.mipv6 import BA, BU, DEREG_BA, DEREG_BU, MIPv6
from dmmemu.practices.mipv6_dha import MIPv6DistributedHA
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import (
    HAS_BYTES,
    IKE_AUTH_REQUEST_BYTES,
    IKE_AUTH_RESPONSE_BYTES,
    IKE_SA_INIT_BYTES,
)

HAS, IKE_SA_INIT, IKE_SA_INIT_R, IKE_AUTH, IKE_AUTH_R = range(4, 9)  # after MIPv6's kinds
MODES = {"rfc5142": RELOCATION_KEEP, "dmm": RELOCATION_RENEW}
TRIGGERS = {"distance": RELOCATE_BY_DISTANCE, "load": RELOCATE_BY_LOAD}


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeAgentSwitch(MIPv6DistributedHA):
    """``mipv6-dha`` (its home agents and bootstrap selection) where a home agent sends an
    MN a Home Agent Switch (RFC 5142 §5.1) when it registers from a new PoA and a trigger
    holds: ``trigger="distance"``, another HA serves the PoA and is more than ``gain_ms``
    nearer it (RFC 7429 §4.2.1: a topologically nearer HA); ``trigger="load"``, the HA
    holds at least ``load_bindings`` bindings and another has fewer (RFC 5142 §3.1–3.2,
    overload and load balancing). The MN stops using the old HA: it deletes its home binding
    with a BU of lifetime 0 (which acknowledges the switch; the HA's BA, RFC 6275
    §11.7.1), sets up its security association with the new HA (IKEv2, RFC 4877:
    IKE_SA_INIT and IKE_AUTH) and registers there (BU/BA).

    ``mode="rfc5142"``: the new HA is on the same home link, the home address is kept and
    the MN's flows go on through the new HA. ``mode="dmm"`` (the default): the new HA gives
    a new home address (RFC 5026 bootstrapping, the HA's DAD hold on its first BA); the
    switch is carried out only when no active flow that needs continuity uses the old
    address, and deferred otherwise (checked again at the next move); flows that need no
    continuity are renumbered onto the new address. The events table reports the switches
    (``anchor-relocated``), the deferrals (``relocation-deferred``) and, once each, the
    flows a switch at the first opportunity would have broken (``flow-spared``).
    """

    key: ClassVar[str] = "ha-switch"
    summary: ClassVar[str] = ("Home agent switch: an HA moves its MNs to a nearer or less "
                              "loaded HA, deferred while a session would break (RFC 5142)")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = MIPv6.message_kinds + (
        MessageKind("Home Agent Switch", "HAS"),
        MessageKind("IKE_SA_INIT", "IKE-SA-INIT"),
        MessageKind("IKE_SA_INIT response", "IKE-SA-INIT-R", reply=True),
        MessageKind("IKE_AUTH", "IKE-AUTH"),
        MessageKind("IKE_AUTH response", "IKE-AUTH-R", reply=True))

    mode: str = "dmm"
    trigger: str = "distance"
    gain_ms: float = 0.0
    load_bindings: int = 100
    has_bytes: int = HAS_BYTES
    ike_sa_init_bytes: int = IKE_SA_INIT_BYTES
    ike_auth_bytes: int = IKE_AUTH_REQUEST_BYTES
    ike_auth_reply_bytes: int = IKE_AUTH_RESPONSE_BYTES

    def compile(self, topology: Topology) -> PolicyTables:
        for name, choices in (("mode", MODES), ("trigger", TRIGGERS)):
            if getattr(self, name) not in choices:
                raise PracticeError(f"{self.key}: {name} must be one of {sorted(choices)}, "
                                    f"not {getattr(self, name)!r}")
        if self.per_flow:
            raise PracticeError(f"{self.key}: a home agent switch moves the MN's home "
                                "address; per_flow home addresses have none")
        if isinstance(self.load_bindings, bool) or not (
                isinstance(self.load_bindings, int) and self.load_bindings >= 1):
            raise PracticeError(f"{self.key}: load_bindings must be a whole number >= 1")
        anchors = function_anchors(topology, self.home_agents, "HA", self.key)
        classes = (FlowClass(name="needs continuity", continuity=True),
                   FlowClass(name="renumbered", on_loss="renumber"))
        return self._home_agent_tables(
            topology, extra_legs=tuple(self._switch_legs()),
            home_agents={"select": selection_code(self.key, self.selection),
                         "serving": topology.serving_anchors(anchors), "candidates": anchors,
                         "always_registered": True},
            flow_classes=classes, relocation=MODES[self.mode],
            relocation_trigger=TRIGGERS[self.trigger],
            relocation_gain_ns=self._ms(self.gain_ms, "gain_ms"),
            relocation_load=self.load_bindings)

    def _switch_legs(self) -> list[Leg]:
        """The switch, in order (RFC 5142 §5.1, §6.1): Home Agent Switch old HA -> MN; the
        BU of lifetime 0 and its BA with the old HA; IKE_SA_INIT and IKE_AUTH with the new
        HA; the home registration there, whose BA ends it (held for the HA's DAD when the
        home address is new)."""
        steps = ((HAS, ROLE_PREV_ANCHOR, ROLE_MN, self.has_bytes),
                 (DEREG_BU, ROLE_MN, ROLE_PREV_ANCHOR, self.bu_bytes),
                 (DEREG_BA, ROLE_PREV_ANCHOR, ROLE_MN, self.ba_bytes),
                 (IKE_SA_INIT, ROLE_MN, ROLE_ANCHOR, self.ike_sa_init_bytes),
                 (IKE_SA_INIT_R, ROLE_ANCHOR, ROLE_MN, self.ike_sa_init_bytes),
                 (IKE_AUTH, ROLE_MN, ROLE_ANCHOR, self.ike_auth_bytes),
                 (IKE_AUTH_R, ROLE_ANCHOR, ROLE_MN, self.ike_auth_reply_bytes),
                 (BU, ROLE_MN, ROLE_ANCHOR, self.bu_bytes))
        legs = [Leg(cause=CAUSE_RELOCATION, kind=kind, src=src, dst=dst, nbytes=size,
                    after=i - 1) for i, (kind, src, dst, size) in enumerate(steps)]
        return legs + [Leg(cause=CAUSE_RELOCATION, kind=BA, src=ROLE_ANCHOR, dst=ROLE_MN,
                           nbytes=self.ba_bytes, after=len(steps) - 1, ends=True, hold=True)]
