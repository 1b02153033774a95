"""3GPP EPS (TS 23.401): PGWs anchor each UE's PDN connection, SGWs of service areas relay
it to the eNBs in GTP-U, and the MME signals the handovers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dmmemu.engine.policy import PolicyTables
from dmmemu.engine.signaling import (
    AT_SIGNALING_START,
    CAUSE_ATTACH,
    CAUSE_DEREGISTRATION,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    CAUSE_RELEASE,
    ONCE,
    ROLE_ANCHOR,
    ROLE_LEVEL,
    ROLE_POA,
    ROLE_PREV_LEVEL,
    ROLE_PREV_POA,
    ROLE_THIRD,
    WHEN_ANCHOR_NOT_LEVEL,
    WHEN_LEVEL_CHANGED,
    WHEN_LEVEL_KEPT,
    Leg,
    MessageKind,
)
from dmmemu.errors import PracticeError
from dmmemu.practices.base import (
    Practice,
    area_hosts,
    choice,
    named_anchor,
    selection_code,
)
from dmmemu.practices.programs import MessageKinds, Program
from dmmemu.topology.graph import Topology
from dmmemu.wire.sizes import (
    ENCAPSULATIONS,
    GRE_KEY_IPV4_BYTES,
    GTPU_UDP_IPV4_BYTES,
    GTPU_UDP_IPV6_BYTES,
)

SGW_AREA_PREFIX = "sgw-area-"
# PoA classes (PolicyTables.poa_class): an eNB or HeNB of an SGW service area, or an access
# outside the EPS, reached from the PGW over S2a (a trusted WLAN, TS 23.402 §16).
EUTRAN, NON_3GPP = 0, 1

# The user plane of S1-U and S5/S8 (TS 29.281 §5.1), by transport; a PMIP-based S5/S8 is
# GRE with the key the PBU and PBA exchange (TS 29.275 §4.2, RFC 5845).
GTPU_BY_TRANSPORT = {"ipv4": ("gtpu-ipv4", GTPU_UDP_IPV4_BYTES),
                     "ipv6": ("gtpu-ipv6", GTPU_UDP_IPV6_BYTES)}
S5_PROTOCOLS = ("gtp", "pmip")
HANDOVERS = ("x2", "s1")

# The messages counted, (name in the signaling table, wire format in dmmemu.wire.sizes,
# reply). S1AP and X2AP ride on SCTP: counted with the sizes of test vectors or encodings,
# left out of pcap export (their formats have no builder).
_KINDS = (
    ("Create Session Request (S11)", "CSReq-S11", False),
    ("Create Session Request (S11, relocation)", "CSReq-S11-Relocation", False),
    ("Create Session Response (S11)", "CSResp-S11", True),
    ("Create Session Request (S5)", "CSReq", False),
    ("Create Session Response (S5)", "CSResp", True),
    ("Modify Bearer Request (S11)", "MBReq-S11", False),
    ("Modify Bearer Response (S11)", "MBResp-S11", True),
    ("Modify Bearer Request (S5)", "MBReq", False),
    ("Modify Bearer Response (S5)", "MBResp", True),
    ("Delete Session Request (S11)", "DSReq-S11", False),
    ("Delete Session Response (S11)", "DSResp", True),
    ("Delete Session Request (S11, disconnection)", "DSReq-S11-Disconnection", False),
    ("Delete Session Request (S5)", "DSReq", False),
    ("Delete Session Response (S5)", "DSResp", True),
    ("Create Indirect Data Forwarding Tunnel Request", "CIDFTReq", False),
    ("Create Indirect Data Forwarding Tunnel Response", "CIDFTResp", True),
    ("Delete Indirect Data Forwarding Tunnel Request", "DIDFTReq", False),
    ("Delete Indirect Data Forwarding Tunnel Response", "DIDFTResp", True),
    ("Release Access Bearers Request", "RABReq", False),
    ("Release Access Bearers Response", "RABResp", True),
    ("End Marker", "EndMarker", False),
    ("Create Session Request (S2a)", "CSReq-S2a", False),
    ("Create Session Response (S2a)", "CSResp", True),
    ("PBU (S5)", "PBU-IPv4-GRE", False),
    ("PBA (S5)", "PBA-IPv4-GRE", True),
    ("PBU (S2a)", "PBU-IPv4-GRE", False),
    ("PBA (S2a)", "PBA-IPv4-GRE", True),
    ("S1AP Initial Context Setup Request", "S1AP-InitialContextSetupRequest", False),
    ("S1AP Initial Context Setup Response", "S1AP-InitialContextSetupResponse", True),
    ("S1AP Path Switch Request", "S1AP-PathSwitchRequest", False),
    ("S1AP Path Switch Request Acknowledge", "S1AP-PathSwitchRequestAck", True),
    ("S1AP Handover Required", "S1AP-HandoverRequired", False),
    ("S1AP Handover Request", "S1AP-HandoverRequest", False),
    ("S1AP Handover Request Acknowledge", "S1AP-HandoverRequestAck", True),
    ("S1AP Handover Command", "S1AP-HandoverCommand", True),
    ("S1AP eNB Status Transfer", "S1AP-eNBStatusTransfer", False),
    ("S1AP MME Status Transfer", "S1AP-MMEStatusTransfer", False),
    ("S1AP Handover Notify", "S1AP-HandoverNotify", False),
    ("S1AP UE Context Release Command", "S1AP-UEContextReleaseCommand", False),
    ("S1AP UE Context Release Complete", "S1AP-UEContextReleaseComplete", True),
    ("S1AP UE Context Release Request", "S1AP-UEContextReleaseRequest", False),
    ("S1AP E-RAB Setup Request", "S1AP-ERABSetupRequest", False),
    ("S1AP E-RAB Setup Response", "S1AP-ERABSetupResponse", True),
    ("S1AP E-RAB Release Command", "S1AP-ERABReleaseCommand", False),
    ("S1AP E-RAB Release Response", "S1AP-ERABReleaseResponse", True),
    ("X2AP Handover Request", "X2AP-HandoverRequest", False),
    ("X2AP Handover Request Acknowledge", "X2AP-HandoverRequestAck", True),
    ("X2AP SN Status Transfer", "X2AP-SNStatusTransfer", False),
    ("X2AP UE Context Release", "X2AP-UEContextRelease", False),
)
EPC_KINDS = MessageKinds(_KINDS)
KIND = {name: i for i, (name, _, _) in enumerate(_KINDS)}
RELEASE_UE_CONTEXT = ("S1AP UE Context Release Command", "S1AP UE Context Release Complete")

# RFC 7429 §3's functions in the EPS: the PGW anchors the address (AF) and routes to it
# (MR); the MME holds the UE's location (LM) beside the PGW's session; the MME and the
# eNBs update it (LU).
EPC_FUNCTIONS = ((ROLE_ANCHOR,), (ROLE_ANCHOR, ROLE_LEVEL), (ROLE_ANCHOR, ROLE_THIRD),
                 (ROLE_THIRD, ROLE_POA))

# TS 24.301 §10.2 (table 10.2.1): T3412, the periodic tracking area update, 54 min by
# default; §5.3.5: the MME's mobile reachable timer runs 4 min longer, and at its expiry
# the UE is detached implicitly (the implicit detach timer after it is taken as 0).
IMPLICIT_DETACH_S = 54 * 60 + 4 * 60


@dataclass(frozen=True, slots=True, kw_only=True)
class EPC(Practice):
    """The EPS of TS 23.401 on a topology of SGW service areas (areas ``sgw-area-…``, the
    member hosting the SGW function): the PGW (``pgws``, every anchor hosting the PGW
    function by default, chosen by ``selection`` when the UE attaches) anchors its PDN
    connection; packets go PGW → SGW (S5/S8) and SGW → eNB (S1-U), each segment in GTP-U
    (36 B over IPv4, 56 over IPv6: ``transport``). The MME (the node hosting the MME
    function) signals. ``s5="pmip"`` makes S5/S8 PMIPv6-based (TS 23.402: the SGW is the
    MAG, the PGW the LMA; PBU/PBA instead of the S5 GTPv2-C exchanges; keyed GRE, 28 B).

    An attach sets up the default bearer (TS 23.401 §5.3.2.1: Create Session MME → SGW →
    PGW and back, Initial Context Setup, Modify Bearer to the SGW). A handover between
    eNBs is ``handover="x2"`` (§5.5.1.1: X2AP preparation, Path Switch, Modify Bearer to
    the SGW and an End Marker to the source eNB; with an SGW relocation Create Session at
    the target SGW, Modify Bearer toward the PGW, End Markers from the PGW along the old
    path, Delete Session at the old SGW) or ``"s1"`` (§5.5.1.2, through the MME, with
    indirect forwarding tunnels at the SGWs when ``indirect_forwarding``). With
    ``data_forwarding`` the source eNB forwards the downlink to the target while the path
    switches (TS 36.300 §10.1.2.1), so the interruption is the radio part alone; without
    it the interruption lasts until the new path is in place. A PoA outside every SGW area
    is a trusted WLAN reached over S2a (TS 23.402 §16: Create Session TWAN → PGW, GTP-U,
    keeping the address). A detach releases the S1 connection (§5.3.5) and the PDN
    connection outlives it until the implicit detach (``implicit_detach_s``). A new PDN
    connection (§5.10.2) and its release when a move leaves its gateway's area (§5.10.3)
    are the programs ``sipto`` and ``lipa`` use.

    The interruption components are LTE's: the handover is network-controlled, so there is
    no link-loss detection (``link_loss_ms`` 0) and no movement detection; ``l2_attach_ms``
    50 is the radio interruption of a handover to a known cell (20 ms plus up to 30 ms to
    the first random access occasion, as TS 36.133 §5.1.2.1 is commonly quoted; the
    section itself was not read, docs/practices.md). Message sizes come from their
    formats (GTPv2-C built from its IEs; S1AP and X2AP from test vectors or encodings:
    docs/sizes.md).
    """

    key: ClassVar[str] = "epc"
    summary: ClassVar[str] = ("3GPP EPS: PGW anchors, GTP-U through the SGW, X2 or S1 "
                              "handovers with SGW relocation (TS 23.401)")
    message_kinds: ClassVar[tuple[MessageKind, ...]] = EPC_KINDS.message_kinds

    link_loss_ms: float = 0.0
    l2_attach_ms: float = 50.0
    detection_ms: float = 0.0
    lifetime_s: float = 0.0
    pgws: tuple[str, ...] = ()
    selection: str = "nearest-at-attach"
    transport: str = "ipv4"
    s5: str = "gtp"
    handover: str = "x2"
    indirect_forwarding: bool = True
    data_forwarding: bool = True
    implicit_detach_s: float = float(IMPLICIT_DETACH_S)

    def __post_init__(self) -> None:
        Practice.__post_init__(self)  # slots=True: no zero-argument super()
        choice(self.key, "transport", self.transport, GTPU_BY_TRANSPORT)
        choice(self.key, "s5", self.s5, dict.fromkeys(S5_PROTOCOLS))
        choice(self.key, "handover", self.handover, dict.fromkeys(HANDOVERS))
        selection_code(self.key, self.selection)
        if self.s5 == "pmip" and self.transport != "ipv4":
            raise PracticeError(f"{self.key}: s5 pmip runs over IPv4 transport (keyed GRE "
                                "over IPv4, RFC 5845); set transport = ipv4")

    @property
    def encapsulations(self) -> tuple[str, ...]:
        """The wire format of the segments leaving the PGW and the SGW, for pcap export."""
        gtpu = GTPU_BY_TRANSPORT[self.transport][0]
        return ("gre-key-ipv4" if self.s5 == "pmip" else gtpu, gtpu)

    def not_applicable(self, trace: Any) -> str | None:
        if (area_hosts(trace.topology, SGW_AREA_PREFIX, "SGW") >= 0).any():
            return None
        return "the topology has no SGW service area (no area sgw-area-… with an SGW)"

    # ---- signaling programs
    def _s5_exchange(self, program: Program, request: str, src: int, dst: int, after: int,
                     *, ends: str = "", **options: Any) -> tuple[int, int]:
        """The S5/S8 (or, from the PoA, S2a) request and its reply: GTPv2-C ``request``
        and its response, or a PBU/PBA with a PMIP-based S5. ``ends`` names the one whose
        arrival completes the path ("request": the PGW switches the downlink on it;
        "reply"). Returns (request leg, reply leg)."""
        on = "S2a" if src == ROLE_POA else "S5"
        if self.s5 == "pmip":
            names = (f"PBU ({on})", f"PBA ({on})")
        else:
            names = (f"{request} Request ({on})", f"{request} Response ({on})")
        return program.pair(names, src, dst, after, ends=ends, **options)

    def _bearer_setup(self, program: Program, **place: Any) -> None:
        """The default bearer of an attach (§5.3.2.1 steps 12–24): Create Session MME →
        SGW → PGW and back, Initial Context Setup with the eNB, Modify Bearer to the SGW,
        which can then send the downlink. Coming from S2a (a handover attach, TS 23.402
        §8.2.1) the SGW also modifies the bearer at the PGW (step 23a), which only then
        moves the downlink to the EPS."""
        gtp = {"level": 1, **place}
        from_wlan = bool(place.get("at_prev_poa"))
        request = program.add("Create Session Request (S11)", ROLE_THIRD, ROLE_LEVEL, **gtp)
        # A PBU moves the PGW's binding at once (RFC 5213 §5.3); a GTP PGW waits for 23a.
        moves_now = "request" if from_wlan and self.s5 == "pmip" else ""
        _, answer = self._s5_exchange(program, "Create Session", ROLE_LEVEL, ROLE_ANCHOR,
                                      request, ends=moves_now, **gtp)
        answer = program.add("Create Session Response (S11)", ROLE_LEVEL, ROLE_THIRD, answer,
                             **gtp)
        once = {"scope": ONCE, **place}
        setup = program.exchange("S1AP Initial Context Setup", ROLE_THIRD, ROLE_POA, answer,
                                 **once)
        modify = program.add("Modify Bearer Request (S11)", ROLE_THIRD, ROLE_LEVEL, setup,
                             ends=True, **gtp)
        if from_wlan and self.s5 == "gtp":
            _, modify = self._s5_exchange(program, "Modify Bearer", ROLE_LEVEL, ROLE_ANCHOR,
                                          modify, ends="request", **gtp)
        program.add("Modify Bearer Response (S11)", ROLE_LEVEL, ROLE_THIRD, modify, **gtp)

    def _s2a(self, program: Program) -> None:
        """At a PoA outside the EPS: the TWAN's Create Session (or PBU) with the PGW
        (TS 23.402 §16.2); the TWAN forwards once it has the answer."""
        self._s5_exchange(program, "Create Session", ROLE_POA, ROLE_ANCHOR,
                          AT_SIGNALING_START, ends="reply", at_poa=(NON_3GPP,))

    def _x2(self, program: Program) -> None:
        """§5.5.1.1.2 and §5.5.1.1.3: an X2 handover between eNBs, without an SGW
        relocation (the SGW's node is kept) and with one (it changed)."""
        eps = {"at_poa": (EUTRAN,), "at_prev_poa": (EUTRAN,)}
        once = {"scope": ONCE, **eps}
        kept = {"level": 1, "when": WHEN_LEVEL_KEPT, **eps}
        moved = {"level": 1, "when": WHEN_LEVEL_CHANGED, **eps}
        switching = "" if self.data_forwarding else "request"
        step = program.add("X2AP Handover Request", ROLE_PREV_POA, ROLE_POA, **once)
        step = program.add("X2AP Handover Request Acknowledge", ROLE_POA, ROLE_PREV_POA,
                           step, **once)
        step = program.add("X2AP SN Status Transfer", ROLE_PREV_POA, ROLE_POA, step, **once)
        step = program.add("S1AP Path Switch Request", ROLE_POA, ROLE_THIRD, step, **once)
        # Without relocation: the SGW switches the downlink and ends the old path.
        modify = program.add("Modify Bearer Request (S11)", ROLE_THIRD, ROLE_LEVEL, step,
                             ends=bool(switching), **kept)
        program.add("End Marker", ROLE_LEVEL, ROLE_PREV_POA, modify, **kept)
        answer = program.add("Modify Bearer Response (S11)", ROLE_LEVEL, ROLE_THIRD, modify,
                             **kept)
        # With relocation: passed over when the SGW was kept, so the acknowledgement
        # follows the Modify Bearer Response above.
        create = program.add("Create Session Request (S11, relocation)", ROLE_THIRD,
                             ROLE_LEVEL, answer, **moved)
        answer = self._switch_at_pgw(program, create, switching, moved)
        answer = program.add("Create Session Response (S11)", ROLE_LEVEL, ROLE_THIRD, answer,
                             **moved)
        step = program.add("S1AP Path Switch Request Acknowledge", ROLE_THIRD, ROLE_POA,
                           answer, **once)
        step = program.add("X2AP UE Context Release", ROLE_POA, ROLE_PREV_POA, step, **once)
        program.exchange("Delete Session", ROLE_THIRD, ROLE_PREV_LEVEL, step, on="S11",
                         **moved)

    def _switch_at_pgw(self, program: Program, after: int, switching: str,
                       moved: dict[str, Any]) -> int:
        """After an SGW relocation: the target SGW modifies the bearer at the PGW, which
        switches the downlink and ends the old path with End Markers to the source SGW and
        on to the source eNB (§5.5.1.1.3 step 3, §5.5.1.2.2 step 16). The reply's leg."""
        modify, answer = self._s5_exchange(program, "Modify Bearer", ROLE_LEVEL, ROLE_ANCHOR,
                                           after, ends=switching, **moved)
        if self.s5 == "gtp":
            marker = program.add("End Marker", ROLE_ANCHOR, ROLE_PREV_LEVEL, modify, **moved)
            program.add("End Marker", ROLE_PREV_LEVEL, ROLE_PREV_POA, marker, **moved)
        return answer

    def _s1(self, program: Program) -> None:
        """§5.5.1.2.2: an S1-based handover through the MME, with and without an SGW
        relocation, with indirect forwarding tunnels when ``indirect_forwarding``."""
        eps = {"at_poa": (EUTRAN,), "at_prev_poa": (EUTRAN,)}
        once = {"scope": ONCE, **eps}
        always = {"level": 1, **eps}
        kept = {**always, "when": WHEN_LEVEL_KEPT}
        moved = {**always, "when": WHEN_LEVEL_CHANGED}
        switching = "" if self.data_forwarding else "request"
        step = program.add("S1AP Handover Required", ROLE_PREV_POA, ROLE_THIRD, **once)
        create = program.exchange("Create Session", ROLE_THIRD, ROLE_LEVEL, step, on="S11",
                                  **moved)
        step = program.add("S1AP Handover Request", ROLE_THIRD, ROLE_POA, create, **once)
        step = program.add("S1AP Handover Request Acknowledge", ROLE_POA, ROLE_THIRD, step,
                           **once)
        tunnels = "Create Indirect Data Forwarding Tunnel"
        if self.indirect_forwarding:  # steps 6 (target SGW, if relocated) and 8 (source)
            step = program.exchange(tunnels, ROLE_THIRD, ROLE_LEVEL, step, **moved)
            step = program.exchange(tunnels, ROLE_THIRD, ROLE_PREV_LEVEL, step, **always)
        step = program.add("S1AP Handover Command", ROLE_THIRD, ROLE_PREV_POA, step, **once)
        step = program.add("S1AP eNB Status Transfer", ROLE_PREV_POA, ROLE_THIRD, step, **once)
        step = program.add("S1AP MME Status Transfer", ROLE_THIRD, ROLE_POA, step, **once)
        step = program.add("S1AP Handover Notify", ROLE_POA, ROLE_THIRD, step, **once)
        modify = program.add("Modify Bearer Request (S11)", ROLE_THIRD, ROLE_LEVEL, step,
                             ends=bool(switching), **always)
        program.add("End Marker", ROLE_LEVEL, ROLE_PREV_POA, modify, **kept)
        answer = self._switch_at_pgw(program, modify, switching, moved)
        answer = program.add("Modify Bearer Response (S11)", ROLE_LEVEL, ROLE_THIRD, answer,
                             **always)
        _, step = program.pair(RELEASE_UE_CONTEXT, ROLE_THIRD, ROLE_PREV_POA, answer, **once)
        step = program.exchange("Delete Session", ROLE_THIRD, ROLE_PREV_LEVEL, step,
                                on="S11", **moved)
        if self.indirect_forwarding:  # steps 20 (source SGW) and 21 (target, if relocated)
            tunnels = "Delete Indirect Data Forwarding Tunnel"
            step = program.exchange(tunnels, ROLE_THIRD, ROLE_PREV_LEVEL, step, **always)
            program.exchange(tunnels, ROLE_THIRD, ROLE_LEVEL, step, **moved)

    def _release(self, program: Program) -> None:
        """§5.3.5: the S1 release when the UE is lost (a detach): the eNB asks the MME to
        release the UE context, the MME releases the access bearers at the SGW and the UE
        context at the eNB; the PDN connections stay. The S1AP messages go once per UE, the
        access bearers' once per PDN connection."""
        eps = {"at_poa": (EUTRAN,)}
        ask = program.add("S1AP UE Context Release Request", ROLE_POA, ROLE_THIRD,
                          scope=ONCE, **eps)
        release = program.add("Release Access Bearers Request", ROLE_THIRD, ROLE_LEVEL, ask,
                              level=1, **eps)
        release = program.add("Release Access Bearers Response", ROLE_LEVEL, ROLE_THIRD,
                              release, level=1, ends=True, **eps)
        program.pair(RELEASE_UE_CONTEXT, ROLE_THIRD, ROLE_POA, release, scope=ONCE, **eps)

    def _connectivity(self, program: Program) -> None:
        """§5.10.2 for one address: Create Session MME → SGW → gateway and back (no S5
        message when the gateway is the SGW itself), E-RAB Setup with the eNB, Modify
        Bearer to the SGW."""
        gtp = {"level": 1, "at_poa": (EUTRAN,)}
        s5 = {**gtp, "when": WHEN_ANCHOR_NOT_LEVEL}
        step = program.add("Create Session Request (S11)", ROLE_THIRD, ROLE_LEVEL, **gtp)
        step = program.add("Create Session Request (S5)", ROLE_LEVEL, ROLE_ANCHOR, step, **s5)
        step = program.add("Create Session Response (S5)", ROLE_ANCHOR, ROLE_LEVEL, step, **s5)
        step = program.add("Create Session Response (S11)", ROLE_LEVEL, ROLE_THIRD, step, **gtp)
        step = program.exchange("S1AP E-RAB Setup", ROLE_THIRD, ROLE_POA, step, **gtp)
        step = program.add("Modify Bearer Request (S11)", ROLE_THIRD, ROLE_LEVEL, step,
                           ends=True, **gtp)
        program.add("Modify Bearer Response (S11)", ROLE_LEVEL, ROLE_THIRD, step, **gtp)

    def _disconnection(self, program: Program) -> None:
        """§5.10.3 for the address the move took out of its gateway's area: Delete Session
        MME → the SGW that served it → gateway and back, E-RAB Release with the eNB the UE
        is at (its NAS PDU asks the UE to reactivate)."""
        gtp = {"level": 1}
        s5 = {**gtp, "when": WHEN_ANCHOR_NOT_LEVEL}
        step = program.add("Delete Session Request (S11, disconnection)", ROLE_THIRD,
                           ROLE_PREV_LEVEL, **gtp)
        step = program.add("Delete Session Request (S5)", ROLE_PREV_LEVEL, ROLE_ANCHOR, step,
                           **s5)
        step = program.add("Delete Session Response (S5)", ROLE_ANCHOR, ROLE_PREV_LEVEL, step,
                           **s5)
        step = program.add("Delete Session Response (S11)", ROLE_PREV_LEVEL, ROLE_THIRD, step,
                           **gtp)
        step = program.add("S1AP E-RAB Release Command", ROLE_THIRD, ROLE_POA, step,
                           at_poa=(EUTRAN,))
        program.add("S1AP E-RAB Release Response", ROLE_POA, ROLE_THIRD, step,
                    at_poa=(EUTRAN,), ends=True)

    def _legs(self) -> list[Leg]:
        program = Program(CAUSE_ATTACH, EPC_KINDS)
        self._bearer_setup(program, at_poa=(EUTRAN,))
        self._s2a(program)
        legs = program.legs
        program = Program(CAUSE_FLOW, EPC_KINDS)
        self._connectivity(program)
        legs += program.legs
        program = Program(CAUSE_HANDOVER, EPC_KINDS)
        (self._x2 if self.handover == "x2" else self._s1)(program)
        self._bearer_setup(program, at_poa=(EUTRAN,), at_prev_poa=(NON_3GPP,))
        self._s2a(program)
        legs += program.legs
        program = Program(CAUSE_DEREGISTRATION, EPC_KINDS)
        self._release(program)
        legs += program.legs
        program = Program(CAUSE_RELEASE, EPC_KINDS)
        self._disconnection(program)
        return legs + program.legs

    # ---- tables
    def compile(self, topology: Topology) -> PolicyTables:
        sgw = area_hosts(topology, SGW_AREA_PREFIX, "SGW")
        pgws = self._pgws(topology)
        mme = topology.nodes_with_function("MME")
        third = int(mme[0]) if mme.size else int(pgws[0])  # no EPS: the MME is never named
        poa_class = np.where(sgw >= 0, EUTRAN, NON_3GPP).astype(np.uint8)
        gtpu = GTPU_BY_TRANSPORT[self.transport][1]
        s5 = GRE_KEY_IPV4_BYTES if self.s5 == "pmip" else gtpu
        assert ENCAPSULATIONS[self.encapsulations[0]].bytes == s5
        release = self._ms(self.implicit_detach_s * 1000.0, "implicit_detach_s")
        return self._tables(
            topology, select=selection_code(self.key, self.selection), central=-1,
            serving=topology.serving_anchors(pgws), candidates=pgws,
            chain=sgw.reshape(1, -1), always_registered=True, segment_bytes=(s5, gtpu),
            function_roles=EPC_FUNCTIONS, message_kinds=self.message_kinds,
            legs=self._legs(), third_node=third, binding_outlives_detach=False,
            detach_release_ns=release, poa_class=poa_class, **self._local_gateways(topology))

    def _local_gateways(self, topology: Topology) -> dict[str, Any]:
        """The policy fields of PDN connections at local gateways (flow classes, their
        gateways, scope, bypass): none in the plain EPS (``dmmemu.practices.epc_local``)."""
        return {}

    def _pgws(self, topology: Topology) -> np.ndarray:
        """The named PGWs, else every anchor hosting the PGW function, else (a topology
        without an EPS) the central anchor; ascending ids."""
        if self.pgws:
            return np.array(sorted(named_anchor(topology, n, self.key) for n in self.pgws),
                            np.int32)
        hosts = sorted(int(a) for a in topology.nodes_with_function("PGW")
                       if topology.role_of(int(a)) == "anchor")
        if hosts:
            return np.array(hosts, np.int32)
        return np.array([named_anchor(topology, None, self.key)], np.int32)

