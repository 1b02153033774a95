"""Full distributed mobility management: per-flow anchoring at the access (RFC 7429 §5,
RFC 8885 signaling, RFC 8653 address types)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dmmemu.engine.flow_classes import ALL_FLOWS, FlowClass
from dmmemu.engine.policy import SELECT_PER_FLOW, PolicyTables, native_at_serving
from dmmemu.engine.signaling import (
    CAUSE_ATTACH,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_REFRESH,
    ONCE,
    ROLE_ANCHOR,
    ROLE_SERVING,
    ROLE_THIRD,
    Leg,
    MessageKind,
    request_reply,
)
from dmmemu.errors import PracticeError, TopologyError
from dmmemu.model_params import seconds_to_ns
from dmmemu.practices.base import Practice, anchor_set, choice
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import IPV6_IN_IPV6_BYTES, PBA_BYTES, PBU_BYTES

PBU, PBA = 0, 1  # indices into DMM.message_kinds
# RFC 8885 §4 mobility options, type and length included: Serving MAAR (IPv6) 8n+6 = 18 B,
# Previous MAAR (IPv6, with the anchored prefix) 8n+4 = 36 B.
SERVING_MAAR_OPTION_BYTES = 18
PREVIOUS_MAAR_OPTION_BYTES = 36
CMD_MODES = ("relay", "proxy", "locator")  # RFC 8885 §3.3, §3.2, §3.4


def connection_manager_classes(grace_ns: int) -> tuple[FlowClass, ...]:
    """With a connection manager (RFC 8653 §3.1), a flow that asks for a non-persistent
    address, or asks for no type and needs no session continuity, uses the address of the
    anchor serving the PoA it is at and takes a new one there after a move; one that asks
    for a graceful-replacement address keeps the address of the MAAR where it started for
    ``grace_ns`` after the MN first moves away, then moves to the serving MAAR's without
    loss (semantics.md §7.2); one that asks for a fixed or session-lasting address, or
    needs continuity, keeps the address of the MAAR where it started."""
    return (
        FlowClass(name="asked non-persistent", address_types=("non-persistent",),
                  anchor="local"),
        FlowClass(name="asked graceful replacement", address_types=("graceful-replacement",),
                  on_loss="renumber", grace_ns=grace_ns),
        FlowClass(name="asked to last", address_types=("fixed", "session-lasting")),
        FlowClass(name="non-persistent", continuity=False, anchor="local"),
        FlowClass(name="session-lasting"))


# RFC 7429 §3: every MAAR anchors the prefixes it allocated and forwards their packets (AF,
# MR); the serving MAAR sends the location updates (LU). Without a CMD each anchoring MAAR
# keeps the entries of its own prefixes (LM); with one (RFC 8885 §3) the CMD holds the
# mobility sessions of every MN as well.
DMM_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_SERVING,))
DMM_WITH_CMD_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR,), (ROLE_THIRD, ROLE_ANCHOR),
                          (ROLE_SERVING,))


@dataclass(frozen=True, slots=True, kw_only=True)
class DMM(Practice):
    """An anchor (MAAR) at (or next to) every AR. Each flow is anchored at the MAAR serving the
    PoA where it sends its first packet and is delivered natively while the MN stays there.
    After a move, only addresses still used by active flows are kept reachable, by a tunnel
    from their anchor to the MAAR now serving the MN; the last hop is native. With
    ``connection_manager``, flows that need no continuity use the current local address
    (RFC 8653) and take a new one after a move, paying its re-establishment; flows that
    ask for a graceful-replacement address keep theirs ``graceful_s`` after their first
    binding away from it, then move to the local one without loss (a modelled period:
    no length for it was found; the default is the binding lifetime's default, 60 s).

    Signaling starts at the serving MAAR (the tunnel's end). ``cmd = None`` (the default) is
    the fully distributed target of RFC 7429 §5 (RFC 8885 defines no such mode): the serving
    MAAR sends a PBU to each previous MAAR anchoring an address in use and gets a PBA back,
    2k messages for k previous MAARs. ``cmd`` names the node of RFC 8885's central mobility
    database in relay mode (§3.1, §3.3): one PBU/PBA between the serving MAAR and the CMD at
    every attach; on a handover the serving MAAR's PBU to the CMD, the CMD's PBU (with a
    Serving MAAR option) to every previous MAAR, their PBAs, and one PBA to the serving MAAR
    with a Previous MAAR option per old anchor: 2k + 2 messages, latency
    2·D(S, CMD) + 2·maxᵢ D(CMD, Pᵢ). ``cmd_mode`` chooses the CMD's other modes:
    ``proxy`` (§3.2: the CMD answers the serving MAAR at once, its PBA carrying the
    Previous MAAR options, and signals the previous MAARs in parallel: 2k + 2 messages,
    latency 2·D(S, CMD)) and ``locator`` (§3.4: each previous MAAR answers the serving MAAR
    directly and the CMD: 1 + 3k messages, latency D(S, CMD) + maxᵢ [D(CMD, Pᵢ) +
    D(Pᵢ, S)]). Previous MAARs never de-register; a detached MN's sessions end with their
    lifetime (RFC 8885 §3), and so do its prefixes.
    """

    key: ClassVar[str] = "dmm"
    summary: ClassVar[str] = (
        "Distributed mobility management: each flow anchored at the AR where it starts sending")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = (MessageKind("PBU", "PBU"),
                                                         MessageKind("PBA", "PBA", reply=True))

    anchors: tuple[str, ...] = ()
    connection_manager: bool = True
    graceful_s: float = 60.0
    cmd: str | None = None
    cmd_mode: str = "relay"
    pbu_bytes: int = PBU_BYTES
    pba_bytes: int = PBA_BYTES
    encap_bytes: int = IPV6_IN_IPV6_BYTES

    def compile(self, topology: Topology) -> PolicyTables:
        serving = topology.serving_anchors(anchor_set(topology, self.anchors, self.key))
        lifetime = self._lifetime_ns()
        third = -1
        choice(self.key, "cmd_mode", self.cmd_mode, dict.fromkeys(CMD_MODES))
        if self.cmd is None and self.cmd_mode != "relay":
            raise PracticeError(f"{self.key}: cmd_mode {self.cmd_mode!r} is a mode of the CMD; "
                                "name the CMD's node with cmd")
        if self.cmd is not None:
            try:
                third = topology.node_id(self.cmd)
            except TopologyError as exc:
                raise PracticeError(f"{self.key}: cmd: {exc}") from None
        return self._tables(
            topology, select=SELECT_PER_FLOW, central=-1, serving=serving, chain=serving[None, :],
            always_registered=False, native=native_at_serving(serving),
            segment_bytes=(self.encap_bytes, 0),
            flow_classes=(connection_manager_classes(self._graceful_ns())
                          if self.connection_manager else ALL_FLOWS),
            function_roles=DMM_WITH_CMD_FUNCTIONS if self.cmd is not None else DMM_FUNCTIONS,
            message_kinds=self.message_kinds, legs=self._legs(), third_node=third,
            binding_outlives_detach=True, detach_release_ns=lifetime if lifetime else -1,
        )

    def _graceful_ns(self) -> int:
        """``graceful_s`` as whole ns (checked)."""
        return seconds_to_ns(self.graceful_s, what=f"{self.key}: graceful_s", error=PracticeError)

    def _handover_legs(self, sizes: tuple[int, int]) -> list[Leg]:
        """A handover with the CMD (RFC 8885 §3.2-3.4): the serving MAAR's PBU to the CMD
        (leg 0) and the CMD's PBU with a Serving MAAR option to each previous MAAR (leg 1)
        in every mode; then who answers whom is the mode."""
        pbu, pba = sizes
        head = [
            Leg(cause=CAUSE_HANDOVER, kind=PBU, src=ROLE_SERVING, dst=ROLE_THIRD, nbytes=pbu,
                scope=ONCE),
            Leg(cause=CAUSE_HANDOVER, kind=PBU, src=ROLE_THIRD, dst=ROLE_ANCHOR,
                nbytes=pbu + SERVING_MAAR_OPTION_BYTES, after=0),
        ]
        cmd_answers = {"bytes_per_address": PREVIOUS_MAAR_OPTION_BYTES, "scope": ONCE}
        if self.cmd_mode == "relay":  # §3.3: the CMD answers once every previous MAAR has
            return head + [
                Leg(cause=CAUSE_HANDOVER, kind=PBA, src=ROLE_ANCHOR, dst=ROLE_THIRD,
                    nbytes=pba, after=1),
                Leg(cause=CAUSE_HANDOVER, kind=PBA, src=ROLE_THIRD, dst=ROLE_SERVING,
                    nbytes=pba, after=2, ends=True, **cmd_answers)]
        if self.cmd_mode == "proxy":  # §3.2: the CMD answers at once, signals in parallel
            return head + [
                Leg(cause=CAUSE_HANDOVER, kind=PBA, src=ROLE_ANCHOR, dst=ROLE_THIRD,
                    nbytes=pba, after=1),
                Leg(cause=CAUSE_HANDOVER, kind=PBA, src=ROLE_THIRD, dst=ROLE_SERVING,
                    nbytes=pba, after=0, ends=True, **cmd_answers)]
        return head + [  # locator, §3.4: each previous MAAR answers S itself, and the CMD
            Leg(cause=CAUSE_HANDOVER, kind=PBA, src=ROLE_ANCHOR, dst=ROLE_SERVING, nbytes=pba,
                after=1, ends=True),
            Leg(cause=CAUSE_HANDOVER, kind=PBA, src=ROLE_ANCHOR, dst=ROLE_THIRD, nbytes=pba,
                after=1)]

    def _legs(self) -> list[Leg]:
        sizes = (self.pbu_bytes, self.pba_bytes)
        if self.cmd is None:
            return [leg for cause in (CAUSE_HANDOVER, CAUSE_FLOW, CAUSE_REFRESH)
                    for leg in request_reply(cause, (PBU, PBA), ROLE_SERVING, sizes)]
        with_cmd = [
            Leg(cause=CAUSE_ATTACH, kind=PBU, src=ROLE_SERVING, dst=ROLE_THIRD, nbytes=sizes[0],
                scope=ONCE),
            Leg(cause=CAUSE_ATTACH, kind=PBA, src=ROLE_THIRD, dst=ROLE_SERVING, nbytes=sizes[1],
                scope=ONCE, after=0, ends=True),
            *self._handover_legs(sizes),
        ]
        # A new address is registered with the CMD by its MAAR (§3.1), as is its refresh.
        return with_cmd + [
            leg for cause in (CAUSE_FLOW, CAUSE_REFRESH) for leg in (
                Leg(cause=cause, kind=PBU, src=ROLE_SERVING, dst=ROLE_THIRD, nbytes=sizes[0]),
                Leg(cause=cause, kind=PBA, src=ROLE_THIRD, dst=ROLE_SERVING, nbytes=sizes[1],
                    after=0, ends=True))]
