"""5G system session and service continuity (TS 23.501 §5.6.9, TS 23.502): PDU sessions
anchored at a UPF (the PDU session anchor, PSA), relayed to the gNBs by the UPF serving the
UE's area (an intermediate UPF, I-UPF, where it is not the PSA), in GTP-U with the PDU
session container on N9 and N3; the AMF and SMF signal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dmmemu.engine.flow_classes import FlowClass
from dmmemu.engine.policy import PolicyTables
from dmmemu.engine.signaling import (
    AT_SIGNALING_START,
    CAUSE_ATTACH,
    CAUSE_DEPRECATION,
    CAUSE_DEREGISTRATION,
    CAUSE_HANDOVER,
    CAUSE_RELEASE,
    CAUSE_RETIREMENT,
    ONCE,
    PER_ADDRESS,
    ROLE_ANCHOR,
    ROLE_LEVEL,
    ROLE_POA,
    ROLE_PREV_LEVEL,
    ROLE_PREV_POA,
    ROLE_THIRD,
    WHEN_ALWAYS,
    WHEN_LEVEL_CHANGED,
    WHEN_LEVEL_CHANGED_ABOVE,
    WHEN_LEVEL_KEPT,
    Leg,
    MessageKind,
)
from dmmemu.errors import PracticeError
from dmmemu.model_params import seconds_to_ns
from dmmemu.practices.base import Practice, area_hosts, named_anchor, selection_code
from dmmemu.practices.programs import MessageKinds, Program
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import GTPU_EXT_UDP_IPV4_BYTES

# The areas a UPF serves: a 5G deployment's own (``upf-area-…``), or in a converged core the
# SGW service areas whose SGW site hosts a UPF (TS 23.501 §5.17.1, docs/topologies.md).
UPF_AREA_PREFIXES = ("upf-area-", "sgw-area-")

# The messages counted, (name in the signaling table, wire format in dmmemu.wire.sizes,
# reply). N4 is PFCP (built: dmmemu.wire.pfcp); NGAP (N2) rides on SCTP, counted with the
# sizes of test vectors or encodings and left out of pcap export (docs/sizes.md). N11
# between the AMF and the SMF is internal: they are one node here; the Xn preparation
# between the gNBs is not counted (no XnAP size measured yet: docs/practices.md).
KINDS = MessageKinds((
    ("N2 UL NAS Transport (PDU Session Establishment Request)",
     "NGAP-UplinkNASTransport-PDUSessionEstablishmentRequest", False),
    ("N2 PDU Session Resource Setup Request", "NGAP-PDUSessionResourceSetupRequest", False),
    ("N2 PDU Session Resource Setup Response", "NGAP-PDUSessionResourceSetupResponse", True),
    ("N2 PDU Session Resource Release Command", "NGAP-PDUSessionResourceReleaseCommand",
     False),
    ("N2 PDU Session Resource Release Response", "NGAP-PDUSessionResourceReleaseResponse",
     True),
    ("N2 Path Switch Request", "NGAP-PathSwitchRequest", False),
    ("N2 Path Switch Request Acknowledge", "NGAP-PathSwitchRequestAck", True),
    ("N2 UE Context Release Request", "NGAP-UEContextReleaseRequest", False),
    ("N2 UE Context Release Command", "NGAP-UEContextReleaseCommand", False),
    ("N2 UE Context Release Complete", "NGAP-UEContextReleaseComplete", True),
    ("N4 Session Establishment Request", "PFCP-SessionEstablishmentRequest", False),
    ("N4 Session Establishment Response", "PFCP-SessionEstablishmentResponse", True),
    ("N4 Session Modification Request", "PFCP-SessionModificationRequest", False),
    ("N4 Session Modification Response", "PFCP-SessionModificationResponse", True),
    ("N4 Session Deletion Request", "PFCP-SessionDeletionRequest", False),
    ("N4 Session Deletion Response", "PFCP-SessionDeletionResponse", True),
    ("End Marker", "EndMarker", False),
    ("XnAP Handover Request", "XnAP-HandoverRequest", False),
    ("XnAP Handover Request Acknowledge", "XnAP-HandoverRequestAck", True),
    ("XnAP SN Status Transfer", "XnAP-SNStatusTransfer", False),
    ("XnAP UE Context Release", "XnAP-UEContextRelease", False),
    ("N2 UL NAS Transport (PDU Session Release Complete)",
     "NGAP-UplinkNASTransport-PDUSessionReleaseComplete", True),
))
N4 = ("Establishment", "Modification", "Deletion")
# SSC mode 3 (TS 23.502 §4.3.5.2) also counts the SMF's PDU Session Modification Command
# with the PDU session address lifetime (in an N2 DL NAS Transport) and the UE's Complete.
SSC3_KINDS = MessageKinds(KINDS.rows + (
    ("N2 DL NAS Transport (PDU Session Modification Command)",
     "NGAP-DownlinkNASTransport-PDUSessionModificationCommand", False),
    ("N2 UL NAS Transport (PDU Session Modification Complete)",
     "NGAP-UplinkNASTransport-PDUSessionModificationComplete", True),
    ("N2 UL NAS Transport (PDU Session Release Request)",
     "NGAP-UplinkNASTransport-PDUSessionReleaseRequest", False),
))

# RFC 7429 §3's functions in the 5GS: the PSA anchors the address (AF) and routes to it
# (MR); the SMF holds the session's location (LM) beside the PSA's; the AMF and the gNBs
# update it (LU).
FIVEG_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR, ROLE_LEVEL), (ROLE_ANCHOR, ROLE_THIRD),
                   (ROLE_THIRD, ROLE_POA))

# TS 24.501 §5.3.7: the AMF's mobile reachable timer starts when it releases the UE's NAS
# signalling connection and runs 4 min longer than T3512 (54 min by default, table 10.2.1);
# at its expiry the implicit de-registration timer starts, by default 4 min longer than
# T3512 too, and at that one's expiry the UE is de-registered and its sessions released.
T3512_S = 54 * 60
IMPLICIT_DEREGISTRATION_S = 2 * (T3512_S + 4 * 60)

def upf_anchors(topology: Topology) -> np.ndarray:
    """The anchors hosting the UPF function, ascending ids."""
    return np.array(sorted(int(a) for a in topology.nodes_with_function("UPF")
                           if topology.role_of(int(a)) == "anchor"), np.int32)


def _amf_smf(topology: Topology) -> list[int]:
    """The nodes hosting both the AMF and the SMF function, ascending ids."""
    return sorted(set(topology.nodes_with_function("AMF").tolist())
                  & set(topology.nodes_with_function("SMF").tolist()))


def n3_upfs(topology: Topology) -> np.ndarray:
    """int32 (N,): for each PoA the UPF ending its N3 tunnels: its area's (an area of
    ``UPF_AREA_PREFIXES`` with a member hosting the UPF function), else the nearest anchor
    hosting the UPF function; -1 for other nodes (and everywhere on a topology with no
    UPF)."""
    upfs = upf_anchors(topology)
    upf_of = np.full(topology.n_nodes, -1, np.int32)
    if upfs.size == 0:
        return upf_of
    upf_of[:] = topology.serving_anchors(upfs)
    for prefix in reversed(UPF_AREA_PREFIXES):  # a 5G area wins over a converged one
        hosts = area_hosts(topology, prefix, "UPF")
        upf_of[hosts >= 0] = hosts[hosts >= 0]
    return upf_of


@dataclass(frozen=True, slots=True, kw_only=True)
class _FiveG(Practice):
    """What the SSC modes share: the topology's UPFs, the N3 UPF of each gNB (its area's,
    ``n3_upfs``), GTP-U with the PDU session container (44 B over IPv4, TS 29.281 §5.2.1,
    TS 38.415) on every segment, the AMF and SMF on the node hosting both (the third role),
    Xn handovers (TS 23.502 §4.9.1.2: N2 Path Switch, N4 to the UPFs, End Markers on the
    old path), PDU session establishment (§4.3.2.2.1) at each attach and
    the AN release (§4.2.6) at each detach, the session outliving it until the implicit
    de-registration (``implicit_deregistration_s``). With ``data_forwarding`` the source
    gNB forwards the downlink to the target while the path switches (TS 38.300 §9.2.3.2),
    so the interruption is the radio part alone; without it, until the new path is in
    place. The interruption components are those of ``epc`` (a network-controlled
    handover: no link-loss or movement detection; ``l2_attach_ms`` 50, the radio
    interruption, taken as LTE's: docs/practices.md)."""

    link_loss_ms: float = 0.0
    l2_attach_ms: float = 50.0
    detection_ms: float = 0.0
    lifetime_s: float = 0.0
    data_forwarding: bool = True
    implicit_deregistration_s: float = float(IMPLICIT_DEREGISTRATION_S)

    kinds: ClassVar[MessageKinds] = KINDS
    message_kinds: ClassVar[tuple[MessageKind, ...]] = KINDS.message_kinds
    encapsulations: ClassVar[tuple[str, ...]] = ("gtpu-ext-ipv4", "gtpu-ext-ipv4")

    def not_applicable(self, trace: Any) -> str | None:
        topology = trace.topology
        if not (n3_upfs(topology) >= 0).any():
            return "the topology has no UPF (no anchor hosting the UPF function)"
        if not _amf_smf(topology):
            return "the topology has no node hosting both the AMF and the SMF function"
        return None

    # ---- signaling programs
    def _n4(self, program: Program, step: str, dst: int, after: int, *,
            ends: str = "", **options: Any) -> int:
        """An N4 session ``step`` (Establishment, Modification, Deletion) from the SMF to
        ``dst`` and the UPF's response; the response's leg."""
        return program.pair((f"N4 Session {step} Request", f"N4 Session {step} Response"),
                            ROLE_THIRD, dst, after, ends=ends, level=1, **options)[1]

    def _establishment(self, program: Program, after: int = AT_SIGNALING_START,
                       when: int = WHEN_ALWAYS, **only: Any) -> int:
        """§4.3.2.2.1 for each PDU session: the UE's request in an N2 UL NAS Transport
        (step 1); N4 establishment at the PSA (steps 10a–b) and, where the N3 UPF is not
        the PSA, at that I-UPF (an I-UPF inserted at establishment, §4.3.2.2.1 step 10);
        the SMF's N2 PDU Session Resource Setup Request to the gNB (steps 11–12, with the
        NAS accept) and its response (step 14); N4 modification at the N3 UPF with the
        gNB's tunnel end (steps 16a–b), which can then send the downlink. ``when`` (a
        condition at the N3 UPF's level) limits it to the moves where it holds: SSC mode
        2's new session after a move into a new area. ``only`` (``registered=False``) runs
        every leg per address, for the sessions that condition selects: SSC mode 3's new
        session beside the kept one. The last response's leg."""
        once = {"scope": PER_ADDRESS if only else ONCE, **only,
                **({} if when == WHEN_ALWAYS else {"level": 1, "when": when})}
        step = program.add("N2 UL NAS Transport (PDU Session Establishment Request)",
                           ROLE_POA, ROLE_THIRD, after, **once)
        step = self._n4(program, "Establishment", ROLE_ANCHOR, step, when=when, **only)
        step = self._n4(program, "Establishment", ROLE_LEVEL, step,
                        when=WHEN_LEVEL_CHANGED_ABOVE, **only)
        step = program.add("N2 PDU Session Resource Setup Request", ROLE_THIRD, ROLE_POA,
                           step, **once)
        step = program.add("N2 PDU Session Resource Setup Response", ROLE_POA, ROLE_THIRD,
                           step, **once)
        return self._n4(program, "Modification", ROLE_LEVEL, step, ends="request", when=when,
                        **only)

    def _n3_kept(self, program: Program, switched: int, **only: Any) -> int:
        """§4.9.1.2.2 steps 3–5 after the Path Switch Request (leg ``switched``), for each
        session whose N3 UPF the move kept: it takes the target gNB's tunnel end and sends
        an End Marker to the source gNB. The response's leg. ``only`` limits every leg to
        some sessions (``registered=True``: the ones the move keeps)."""
        kept = {"level": 1, "when": WHEN_LEVEL_KEPT, **only}
        modify = program.add("N4 Session Modification Request", ROLE_THIRD, ROLE_LEVEL,
                             switched, ends=not self.data_forwarding, **kept)
        program.add("End Marker", ROLE_LEVEL, ROLE_PREV_POA, modify, **kept)
        return program.add("N4 Session Modification Response", ROLE_LEVEL, ROLE_THIRD,
                           modify, **kept)

    def _path_switch(self, program: Program, switched: int, **only: Any) -> int:
        """The N4 steps of §4.9.1.2 after the Path Switch Request (leg ``switched``), for
        each PDU session the handover keeps: without a new N3 UPF those of ``_n3_kept``;
        with one, where it is not the PSA, it is established (an I-UPF inserted,
        §4.9.1.2.3, or re-allocated, §4.9.1.2.4), then the PSA takes its tunnel end (or the
        gNB's, back in the PSA's area: the I-UPF's removal) and sends the End
        Markers along the old path (through the old I-UPF, if any). Returns the last
        response's leg; ``only`` as in ``_n3_kept``."""
        step = self._n3_kept(program, switched, **only)
        step = self._n4(program, "Establishment", ROLE_LEVEL, step,
                        when=WHEN_LEVEL_CHANGED_ABOVE, **only)
        changed = {"level": 1, "when": WHEN_LEVEL_CHANGED, **only}
        modify = program.add("N4 Session Modification Request", ROLE_THIRD, ROLE_ANCHOR, step,
                             ends=not self.data_forwarding, **changed)
        marker = program.add("End Marker", ROLE_ANCHOR, ROLE_PREV_LEVEL, modify, level=1,
                             when=WHEN_LEVEL_CHANGED_ABOVE, **only)
        program.add("End Marker", ROLE_PREV_LEVEL, ROLE_PREV_POA, marker, **changed)
        return program.add("N4 Session Modification Response", ROLE_ANCHOR, ROLE_THIRD,
                           modify, **changed)

    def _xn_handover(self, program: Program) -> None:
        """TS 38.300 §9.2.3.2.1's Xn handover: the preparation between the gNBs (the source's
        XnAP Handover Request, the target's Acknowledge, the SN Status Transfer), then TS
        23.502 §4.9.1.2: the target's N2 Path Switch Request (step 1), each session's N4
        steps, the AMF's acknowledgement, what the old path leaves behind, and the target's
        XnAP UE Context Release to the source (TS 38.300 §9.2.3.2.1 step 12)."""
        once = {"scope": ONCE}
        step = program.add("XnAP Handover Request", ROLE_PREV_POA, ROLE_POA, **once)
        step = program.add("XnAP Handover Request Acknowledge", ROLE_POA, ROLE_PREV_POA, step,
                           **once)
        step = program.add("XnAP SN Status Transfer", ROLE_PREV_POA, ROLE_POA, step, **once)
        step = program.add("N2 Path Switch Request", ROLE_POA, ROLE_THIRD, step, **once)
        step = self._sessions_switched(program, step)
        step = program.add("N2 Path Switch Request Acknowledge", ROLE_THIRD, ROLE_POA, step,
                           **once)
        program.add("XnAP UE Context Release", ROLE_POA, ROLE_PREV_POA, step, **once)
        self._old_path_released(program, step)

    def _sessions_switched(self, program: Program, switched: int) -> int:
        """What the handover does for each PDU session after the Path Switch Request."""
        return self._path_switch(program, switched)

    def _old_path_released(self, program: Program, released: int, **only: Any) -> None:
        """After the Path Switch Acknowledge (leg ``released``): the N4 deletion at an old
        I-UPF that is no longer on the path (§4.9.1.2.4, after a re-allocation or a removal)."""
        self._n4(program, "Deletion", ROLE_PREV_LEVEL, released,
                 when=WHEN_LEVEL_CHANGED_ABOVE, **only)

    def _an_release(self, program: Program) -> None:
        """§4.2.6 at a detach: the gNB's N2 UE Context Release Request (step 1), the N4
        modification that removes the gNB's tunnel end at the N3 UPF of each PDU session
        (steps 5–6, the session itself kept), the AMF's release of the UE context (steps
        2–4)."""
        once = {"scope": ONCE}
        step = program.add("N2 UE Context Release Request", ROLE_POA, ROLE_THIRD, **once)
        step = self._n4(program, "Modification", ROLE_LEVEL, step, ends="reply")
        step = program.add("N2 UE Context Release Command", ROLE_THIRD, ROLE_POA, step, **once)
        program.add("N2 UE Context Release Complete", ROLE_POA, ROLE_THIRD, step, **once)

    def _session_release(self, program: Program, after: int = AT_SIGNALING_START) -> None:
        """§4.3.4.2 for a PDU session a move took out of its PSA's service area (SSC mode 2,
        §4.3.5.1 step 1), or for SSC mode 3's old session when its address lifetime ends or
        its last flow does (§4.3.5.2 step 4): N4 deletion at the PSA (steps 1b–c), then the
        N2 PDU Session Resource Release Command with the NAS release (cause #39,
        reactivation requested, TS 24.501; the same size with another cause), the gNB's
        response, and the UE's PDU Session Release Complete in an N2 UL NAS Transport
        (step 8, the NAS acknowledgement)."""
        step = self._n4(program, "Deletion", ROLE_ANCHOR, after)
        step = program.add("N2 PDU Session Resource Release Command", ROLE_THIRD, ROLE_POA,
                           step, scope=ONCE)
        step = program.add("N2 PDU Session Resource Release Response", ROLE_POA, ROLE_THIRD,
                           step, scope=ONCE)
        program.add("N2 UL NAS Transport (PDU Session Release Complete)", ROLE_POA, ROLE_THIRD,
                    step, scope=ONCE, ends=True)

    def _deprecation(self, program: Program) -> None:
        """What the network says of a session out of its PSA's area that lives on: nothing
        (SSC modes 1 and 2 keep or release it)."""

    def _retirement(self, program: Program) -> None:
        """How the UE gives up such a session early: no program of its own (SSC modes 1 and
        2 have none such)."""

    def _legs(self) -> list[Leg]:
        programs = []
        for cause, write in ((CAUSE_ATTACH, self._establishment),
                             (CAUSE_HANDOVER, self._xn_handover),
                             (CAUSE_DEREGISTRATION, self._an_release),
                             (CAUSE_RELEASE, self._session_release),
                             (CAUSE_DEPRECATION, self._deprecation),
                             (CAUSE_RETIREMENT, self._retirement)):
            program = Program(cause, self.kinds)
            write(program)
            programs += program.legs
        return programs

    # ---- tables
    def _third(self, topology: Topology, upf_of: np.ndarray) -> int:
        """The node hosting the AMF and the SMF (N11 inside it: docs/practices.md); on a
        topology without one, which ``not_applicable`` reports, a router (else the first
        N3 UPF) stands in, so that the run still replays."""
        both = _amf_smf(topology) or topology.nodes_with_role("router").tolist()
        return int(both[0]) if both else int(upf_of[upf_of >= 0].min())

    def _n3(self, topology: Topology) -> np.ndarray:
        """``n3_upfs``; on a topology with no UPF, which ``not_applicable`` reports, the
        nearest anchor of each PoA, so that the run still replays."""
        upf_of = n3_upfs(topology)
        return upf_of if (upf_of >= 0).any() else topology.serving_anchors()

    def compile(self, topology: Topology) -> PolicyTables:
        upf_of = self._n3(topology)
        release = self._ms(self.implicit_deregistration_s * 1000.0,
                           "implicit_deregistration_s")
        return self._tables(
            topology, central=-1, chain=upf_of.reshape(1, -1), always_registered=True,
            segment_bytes=(GTPU_EXT_UDP_IPV4_BYTES, GTPU_EXT_UDP_IPV4_BYTES),
            function_roles=FIVEG_FUNCTIONS, message_kinds=self.message_kinds,
            legs=self._legs(), third_node=self._third(topology, upf_of),
            binding_outlives_detach=False, detach_release_ns=release,
            select_for_new_sessions_only=True, **self._anchoring(topology, upf_of))

    def _anchoring(self, topology: Topology, upf_of: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class SSC1(_FiveG):
    """SSC mode 1 (TS 23.501 §5.6.9.2.1): the PSA chosen when the PDU session is
    established (``selection`` among ``psas``, every anchor hosting the UPF function by
    default: the nearest to the gNB) is kept for the session's life, whatever the UE's
    moves; out of the PSA's area the UPF of the UE's area relays it as an I-UPF (N9 then
    N3), inserted, re-allocated and removed by the handovers (§4.9.1.2.3–4). A new session
    (after the implicit de-registration released the old one) chooses again."""

    key: ClassVar[str] = "5g-ssc1"
    summary: ClassVar[str] = ("5G SSC mode 1: the PDU session anchor kept, I-UPFs on the way "
                              "as the UE moves (TS 23.501 §5.6.9)")

    psas: tuple[str, ...] = ()
    selection: str = "nearest-at-attach"

    def __post_init__(self) -> None:
        Practice.__post_init__(self)  # slots=True: no zero-argument super()
        selection_code(self.key, self.selection)

    def _anchoring(self, topology: Topology, upf_of: np.ndarray) -> dict[str, Any]:
        if self.psas:
            psas = np.array(sorted(named_anchor(topology, n, self.key) for n in self.psas),
                            np.int32)
        else:
            psas = upf_anchors(topology)
            if not psas.size:  # no UPF: not applicable; anchored as the N3 fallback is
                psas = np.unique(upf_of[upf_of >= 0]).astype(np.int32)
        return {"select": selection_code(self.key, self.selection),
                "serving": topology.serving_anchors(psas), "candidates": psas}


@dataclass(frozen=True, slots=True, kw_only=True)
class _AreaPSA(_FiveG):
    """SSC modes 2 and 3 (with a single PSA per session): a session's PSA is the UPF of the
    UE's area when it is established, and it serves the session inside that area only.
    Flows on a session that ends under them and need continuity break; the others are
    re-established on the new address (renumbered, one round trip to their peer after)."""

    def _anchoring(self, topology: Topology, upf_of: np.ndarray) -> dict[str, Any]:
        psas = np.unique(upf_of[upf_of >= 0]).astype(np.int32)
        routers = [topology.nodes[int(u)].name for u in psas
                   if topology.role_of(int(u)) != "anchor"]
        if routers:
            raise PracticeError(f"{self.key}: the UPF of an area anchors its PDU sessions; "
                                f"node {routers[0]!r} hosts an area's UPF but its role is not "
                                "anchor")
        n = topology.n_nodes
        scope = np.ones((n, n), np.uint8)
        poas = upf_of >= 0
        for psa in psas:  # a session follows the UE inside its PSA's area only
            scope[psa] = 0
            scope[psa, poas & (upf_of == psa)] = 1
        classes = (FlowClass(name="needs continuity", continuity=True),
                   FlowClass(name="re-established", on_loss="renumber"))
        return {"select": selection_code(self.key, "nearest-at-attach"), "serving": upf_of,
                "candidates": psas, "scope": scope, "flow_classes": classes}


@dataclass(frozen=True, slots=True, kw_only=True)
class SSC2(_AreaPSA):
    """SSC mode 2 (TS 23.501 §5.6.9.2.2, with a single PSA): the PSA is the UPF of the
    UE's area; a move out of that area releases the PDU session (§4.3.5.1: the SMF's
    release with cause #39, reactivation requested) and the UE establishes a new one at the
    new area's UPF at once, with a new address: break before make."""

    key: ClassVar[str] = "5g-ssc2"
    summary: ClassVar[str] = ("5G SSC mode 2: break before make, a new PDU session at the "
                              "new area's UPF (TS 23.501 §5.6.9)")

    def _sessions_switched(self, program: Program, switched: int) -> int:
        """In the PSA's area the path switch of ``_path_switch`` (its N3 UPF is the PSA);
        into a new area the session was released (§4.3.5.1) and the UE's new one is
        established (§4.3.2.2.1 steps 1, 10, 11–16, at the new area's UPF: its PSA and N3
        UPF at once)."""
        return self._establishment(program, self._n3_kept(program, switched),
                                   WHEN_LEVEL_CHANGED)

    def _old_path_released(self, program: Program, released: int) -> None:
        """Nothing: a session's PSA is its N3 UPF, and the session that left its area was
        released before the handover's signaling (``_session_release``)."""


# TS 23.502 §4.3.5.2 leaves the PDU session address lifetime to the SMF's policy; TS 24.501
# gives it no default (docs/practices.md). One minute: long enough for most short flows to
# end on the old session.
ADDRESS_LIFETIME_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SSC3(_AreaPSA):
    """SSC mode 3 (TS 23.501 §5.6.9.2.3, TS 23.502 §4.3.5.2 with multiple PDU sessions):
    make before break. A move out of the PSA's area keeps the session through the Xn
    handover (an I-UPF inserted, as in mode 1); the SMF then sends the UE a PDU Session
    Modification Command with the PDU session address lifetime (``address_lifetime_s``),
    the UE establishes a new session at the new area's UPF, which new flows use, and the
    old one is released when its last flow ends or its lifetime does, whichever comes first;
    flows still on it then break if they need continuity, and are renumbered otherwise."""

    key: ClassVar[str] = "5g-ssc3"
    summary: ClassVar[str] = ("5G SSC mode 3: make before break, a new PDU session at the new "
                              "area's UPF while the old one lives out its address lifetime "
                              "(TS 23.501 §5.6.9)")
    kinds: ClassVar[MessageKinds] = SSC3_KINDS
    message_kinds: ClassVar[tuple[MessageKind, ...]] = SSC3_KINDS.message_kinds

    address_lifetime_s: float = ADDRESS_LIFETIME_S

    def _sessions_switched(self, program: Program, switched: int) -> int:
        """Every session the UE had before the move is switched as in mode 1 (kept, with an
        I-UPF out of its PSA's area); the new one is established after the acknowledgement."""
        return self._path_switch(program, switched, registered=True)

    def _old_path_released(self, program: Program, released: int) -> None:
        """Mode 1's N4 deletion at an old I-UPF for the kept sessions, then (§4.3.5.2 step
        3) the UE's new PDU session at the new area's UPF (§4.3.2.2.1), for the session the
        move creates only."""
        _FiveG._old_path_released(self, program, released, registered=True)
        self._establishment(program, released, registered=False)

    def _deprecation(self, program: Program) -> None:
        """§4.3.5.2 step 2 for a session the move took out of its PSA's area: the SMF's PDU
        Session Modification Command (cause #39, the PDU session address lifetime) through
        the AMF and the gNB (an N2 DL NAS Transport), and the UE's Complete (TS 24.501
        §6.3.2.3)."""
        step = program.add("N2 DL NAS Transport (PDU Session Modification Command)",
                           ROLE_THIRD, ROLE_POA, scope=ONCE)
        program.add("N2 UL NAS Transport (PDU Session Modification Complete)", ROLE_POA,
                    ROLE_THIRD, step, scope=ONCE, ends=True)

    def _retirement(self, program: Program) -> None:
        """§4.3.5.2 step 4, the UE releasing the old session once its last flow has left it
        (before the lifetime ends): §4.3.4.2 UE-requested, its PDU Session Release Request
        (cause #36, regular deactivation) in an N2 UL NAS Transport (step 1a), then the
        network's release as at the lifetime's end."""
        step = program.add("N2 UL NAS Transport (PDU Session Release Request)", ROLE_POA,
                           ROLE_THIRD, scope=ONCE)
        self._session_release(program, step)

    def _anchoring(self, topology: Topology, upf_of: np.ndarray) -> dict[str, Any]:
        lifetime = seconds_to_ns(self.address_lifetime_s, what=f"{self.key}: address_lifetime_s",
                                 error=PracticeError)
        return {**_AreaPSA._anchoring(self, topology, upf_of),
                "deprecated_lifetime_ns": lifetime}
