"""Header and message sizes in bytes: the one source of truth for every practice.

Every size here is measured once, at import, on a packet built by ``dmmemu.wire.packets`` (for an
encapsulation: the built packet minus the packet it carries). ``dmmemu.report.pcap`` writes the same
builders to capture files, so the bytes a practice counts are the bytes Wireshark shows. The
compositions match the reference table of sizes of real captures (``docs/sizes.md``; IP packet
bytes, no link layer, no IPsec); ``tests/test_wire.py`` holds that table and checks it.

``ENCAPSULATIONS`` and ``MESSAGES`` map a name to its size and builder; the constants below
are the sizes the practices import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from dmmemu.wire import packets as wire
from dmmemu.wire import pfcp

Encapsulate = Callable[[bytes, bytes, bytes], bytes]  # (inner, outer src, outer dst) -> packet
Build = Callable[[wire.MessageContext], bytes]


@dataclass(frozen=True, slots=True, kw_only=True)
class Encapsulation:
    """What a tunnel (or route-optimisation header) adds to every user packet."""

    bytes: int  # added to the inner packet
    build: Encapsulate
    outer: int  # address family of the outer addresses: 6 or 4
    inner: int  # family of the inner packet the name describes (the builder takes both)
    reference: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One signaling message: its size as one IP packet, and its builder (None for S1AP and
    X2AP, whose ASN.1 PER bodies dmmemu counts but does not build: ``sctp_carried``)."""

    bytes: int
    build: Build | None
    transport: int  # address family of the message's IP header: 6 or 4
    reference: str


# Documentation addresses (RFC 3849, RFC 5737) the sizes are measured with.
_V6 = (bytes.fromhex("20010db8000000000000000000000001"),
       bytes.fromhex("20010db8000000000000000000000002"))
_V4 = (bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
_SAMPLE_BYTES = 1000


def _encapsulation(build: Encapsulate, *, outer: int, inner: int,
                   reference: str) -> Encapsulation:
    ends = _V6 if outer == 6 else _V4
    size = _SAMPLE_BYTES if inner == 6 else 30  # data_packet's IPv4 range is 20..39 bytes
    packet = wire.data_packet(size, src=(_V6[0], _V4[0]), dst=(_V6[1], _V4[1]), sport=1, dport=2)
    size = len(build(packet, *ends)) - len(packet)
    return Encapsulation(bytes=size, build=build, outer=outer, inner=inner, reference=reference)


def _message(build: Build, *, transport: int, reference: str) -> Message:
    ends = _V6 if transport == 6 else _V4
    ctx = wire.MessageContext(src=ends[0], dst=ends[1])
    return Message(bytes=len(build(ctx)), build=build, transport=transport, reference=reference)


SCTP_COMMON_HEADER = 12  # RFC 4960 §3.1
SCTP_DATA_CHUNK_HEADER = 16  # RFC 4960 §3.3.1: type, flags, length, TSN, stream, SSN, PPID


def sctp_carried(pdu_bytes: int, *, reference: str) -> Message:
    """An S1AP or X2AP message of ``pdu_bytes`` (its aligned-PER PDU, measured on a real
    encoding: docs/sizes.md) as one IPv4 packet: SCTP common header, one DATA chunk padded
    to 4 octets (RFC 4960 §3.2), the PDU. pcap export leaves these out."""
    size = wire.IPV4_HEADER + SCTP_COMMON_HEADER + SCTP_DATA_CHUNK_HEADER + pdu_bytes
    return Message(bytes=size + -pdu_bytes % 4, build=None, transport=4, reference=reference)


# Order matters where sizes collide: a practice that names no encapsulation gets the first
# entry of its size (dmmemu.report.pcap), so the common case of each size comes first.
ENCAPSULATIONS: dict[str, Encapsulation] = {
    "ipv6-in-ipv6": _encapsulation(wire.ip_in_ipv6, outer=6, inner=6,
                                   reference="RFC 2473: HA-CoA, LMA-MAG, MAP-LCoA tunnels"),
    "nested-ipv6-in-ipv6": _encapsulation(wire.nested_ip_in_ipv6, outer=6, inner=6,
                                          reference="RFC 5380 §6.2: HA-RCoA inside MAP-LCoA"),
    "nested3-ipv6-in-ipv6": _encapsulation(
        partial(wire.stacked_ip_in_ipv6, tunnels=3), outer=6, inner=6,
        reference="RFC 3963: an MN's tunnel inside two mobile routers' (a nested network)"),
    "nested4-ipv6-in-ipv6": _encapsulation(
        partial(wire.stacked_ip_in_ipv6, tunnels=4), outer=6, inner=6,
        reference="RFC 3963: an MN's tunnel inside three mobile routers'"),
    "ipv6-in-ipv4": _encapsulation(wire.ip_in_ipv4, outer=4, inner=6,
                                   reference="RFC 4213 §3.5, RFC 5555 §4.1"),
    "ipv4-in-ipv4": _encapsulation(wire.ip_in_ipv4, outer=4, inner=4, reference="RFC 2003"),
    "ipv4-in-ipv6": _encapsulation(wire.ip_in_ipv6, outer=6, inner=4,
                                   reference="RFC 2473 §5, RFC 5844"),
    "ipv6-in-udp-ipv4": _encapsulation(wire.ip_in_udp, outer=4, inner=6,
                                       reference="RFC 5555 §4.1 NAT traversal, UDP port 4191"),
    "pmip-udp-ipv4": _encapsulation(partial(wire.ip_in_udp, port=wire.PORT_PMIP6_DATA),
                                    outer=4, inner=6,
                                    reference="RFC 5844 §4.2 UDP tunnel, UDP port 5437"),
    "gre-ipv4": _encapsulation(wire.gre, outer=4, inner=6, reference="RFC 2784, RFC 5845"),
    "gre-key-ipv4": _encapsulation(partial(wire.gre, key=1), outer=4, inner=6,
                                   reference="RFC 2890 §2.1, RFC 5845"),
    "gre-ipv6": _encapsulation(wire.gre, outer=6, inner=6, reference="RFC 2784, RFC 5845"),
    "gre-key-ipv6": _encapsulation(partial(wire.gre, key=1), outer=6, inner=6,
                                   reference="RFC 2890 §2.1, RFC 5845"),
    "gtpu-ipv4": _encapsulation(wire.gtpu, outer=4, inner=6,
                                reference="TS 29.281 §5.1: S1-U, S5/S8, N3, N9"),
    "gtpu-seq-ipv4": _encapsulation(partial(wire.gtpu, sequence=0), outer=4, inner=6,
                                    reference="TS 29.281 §5.1 with sequence number"),
    "gtpu-ext-ipv4": _encapsulation(partial(wire.gtpu, qfi=9), outer=4, inner=6,
                                    reference="TS 29.281 §5.2, PDU session container (N3)"),
    "gtpu-ipv6": _encapsulation(wire.gtpu, outer=6, inner=6, reference="TS 29.281 §5.1"),
    "ro-routing-header": _encapsulation(wire.type2_routing, outer=6, inner=6,
                                        reference="RFC 6275 §6.4: MIPv6 RO downlink"),
    "ro-home-address": _encapsulation(wire.home_address_option, outer=6, inner=6,
                                      reference="RFC 6275 §6.3: MIPv6 RO uplink"),
}

MESSAGES: dict[str, Message] = {
    "BRR": _message(wire.binding_refresh_request, transport=6, reference="RFC 6275 §6.1.2"),
    "HoTI": _message(wire.home_test_init, transport=6, reference="RFC 6275 §6.1.3"),
    "CoTI": _message(wire.care_of_test_init, transport=6, reference="RFC 6275 §6.1.4"),
    "HoT": _message(wire.home_test, transport=6, reference="RFC 6275 §6.1.5"),
    "CoT": _message(wire.care_of_test, transport=6, reference="RFC 6275 §6.1.6"),
    "BU": _message(wire.binding_update_home, transport=6,
                   reference="RFC 6275 §6.1.7 to the HA, home address option"),
    "BU-CN": _message(wire.binding_update_correspondent, transport=6,
                      reference="RFC 6275 §6.1.7 to a CN, nonce indices, authorization data"),
    "BA": _message(wire.binding_acknowledgement, transport=6,
                   reference="RFC 6275 §6.1.8, type 2 routing header"),
    "BE": _message(wire.binding_error, transport=6, reference="RFC 6275 §6.1.9"),
    "BU-MR": _message(wire.binding_update_mobile_router, transport=6,
                      reference="RFC 3963 §4.1 R flag, §4.3 Mobile Network Prefix option"),
    "BA-MR": _message(wire.binding_acknowledgement_mobile_router, transport=6,
                      reference="RFC 3963 §4.2 R flag"),
    "LBU": _message(wire.local_binding_update, transport=6,
                    reference="RFC 5380 §6.1.1 local BU to the MAP"),
    "HAS": _message(wire.home_agent_switch, transport=6, reference="RFC 5142 §5.1"),
    "IKE-SA-INIT": _message(wire.ike_sa_init_request, transport=6,
                            reference="RFC 7296 §1.2: SA, KE (DH group 14), nonce"),
    "IKE-SA-INIT-R": _message(wire.ike_sa_init_response, transport=6,
                              reference="RFC 7296 §1.2, the responder's"),
    "IKE-AUTH": _message(wire.ike_auth_request, transport=6,
                         reference="RFC 7296 §1.2, §3.15: the RCoA asked for (RFC 5380 §10)"),
    "IKE-AUTH-R": _message(wire.ike_auth_response, transport=6,
                           reference="RFC 7296 §1.2, §3.15: the RCoA given"),
    "PBU": _message(wire.proxy_binding_update, transport=6, reference="RFC 5213 §8.1"),
    "PBA": _message(wire.proxy_binding_acknowledgement, transport=6,
                    reference="RFC 5213 §8.2"),
    "BU-IPv4CoA": _message(wire.binding_update_ipv4_care_of, transport=4,
                           reference="RFC 5555 §4.1, UDP port 4191, IPv4 CoA option"),
    "BA-IPv4CoA": _message(wire.binding_acknowledgement_ipv4_care_of, transport=4,
                           reference="RFC 5555 §4.1, UDP port 4191, NAT detection option"),
    "PBU-Redirect": _message(wire.proxy_binding_update_redirect_capable, transport=6,
                             reference="RFC 6463 §4.1, Redirect-Capability option"),
    "PBA-Redirect": _message(wire.proxy_binding_acknowledgement_redirect, transport=6,
                             reference="RFC 6463 §4.2, Redirect option"),
    "PBU-IPv4": _message(wire.proxy_binding_update_ipv4, transport=4,
                         reference="RFC 5844 §4.1, UDP port 5436"),
    "PBA-IPv4": _message(wire.proxy_binding_acknowledgement_ipv4, transport=4,
                         reference="RFC 5844 §4.1, UDP port 5436"),
    "PBU-IPv4-HoA": _message(wire.proxy_binding_update_ipv4_home, transport=4,
                             reference="RFC 5844 §3.1, §4.1: IPv4 home address request"),
    "PBA-IPv4-HoA": _message(wire.proxy_binding_acknowledgement_ipv4_home, transport=4,
                             reference="RFC 5844 §3.2, §4.1: IPv4 home address reply"),
    "PBU-IPv4-GRE": _message(wire.proxy_binding_update_ipv4_gre, transport=4,
                             reference="RFC 5844 §3.1, RFC 5845 §3.1: and the GRE key"),
    "PBA-IPv4-GRE": _message(wire.proxy_binding_acknowledgement_ipv4_gre, transport=4,
                             reference="RFC 5844 §3.2, RFC 5845 §3.1: and the GRE key"),
    "LRI": _message(wire.localized_routing_initiation, transport=6,
                    reference="RFC 6705 §10.1, two MNs on one MAG"),
    "LRA": _message(wire.localized_routing_acknowledgement, transport=6,
                    reference="RFC 6705 §10.2, two MNs on one MAG"),
    "LRI-MAGs": _message(partial(wire.localized_routing_initiation, across_mags=True),
                         transport=6,
                         reference="RFC 6705 §10.1, §11.1: and the other MAG's address"),
    "LRA-MAGs": _message(partial(wire.localized_routing_acknowledgement, across_mags=True),
                         transport=6,
                         reference="RFC 6705 §10.2, §11.1: and the other MAG's address"),
    "CSReq": _message(wire.create_session_request, transport=4, reference="TS 29.274 §7.2.1"),
    "CSResp": _message(wire.create_session_response, transport=4,
                       reference="TS 29.274 §7.2.2"),
    "MBReq": _message(wire.modify_bearer_request, transport=4, reference="TS 29.274 §7.2.7"),
    "MBResp": _message(wire.modify_bearer_response, transport=4, reference="TS 29.274 §7.2.8"),
    "DSReq": _message(wire.delete_session_request, transport=4, reference="TS 29.274 §7.2.9"),
    "DSResp": _message(wire.delete_session_response, transport=4,
                       reference="TS 29.274 §7.2.10"),
    "CSReq-S11": _message(partial(wire.create_session_request, on=wire.S11), transport=4,
                          reference="TS 29.274 §7.2.1 on S11, MME to SGW"),
    "CSReq-S11-Relocation": _message(
        partial(wire.create_session_request, on=wire.S11, relocation=True), transport=4,
        reference="TS 29.274 §7.2.1 on S11 at an X2 handover with SGW relocation"),
    "CSResp-S11": _message(partial(wire.create_session_response, on=wire.S11), transport=4,
                           reference="TS 29.274 §7.2.2 on S11, SGW to MME"),
    "CSReq-S2a": _message(partial(wire.create_session_request, on=wire.S2A), transport=4,
                          reference="TS 29.274 §7.2.1 on S2a, TWAN to PGW (TS 23.402 §16.2)"),
    "MBReq-S11": _message(partial(wire.modify_bearer_request, on=wire.S11), transport=4,
                          reference="TS 29.274 §7.2.7 on S11, MME to SGW"),
    "MBResp-S11": _message(partial(wire.modify_bearer_response, on=wire.S11), transport=4,
                           reference="TS 29.274 §7.2.8 on S11, SGW to MME"),
    "DSReq-S11": _message(partial(wire.delete_session_request, on=wire.S11), transport=4,
                          reference="TS 29.274 §7.2.9.1 on S11, Operation Indication clear"),
    "DSReq-S11-Disconnection": _message(
        partial(wire.delete_session_request, on=wire.S11, operation_indication=True),
        transport=4, reference="TS 29.274 §7.2.9.1 on S11, Operation Indication set"),
    "CIDFTReq": _message(wire.create_indirect_forwarding_request, transport=4,
                         reference="TS 29.274 §7.2.18"),
    "CIDFTResp": _message(wire.create_indirect_forwarding_response, transport=4,
                          reference="TS 29.274 §7.2.19"),
    "DIDFTReq": _message(wire.delete_indirect_forwarding_request, transport=4,
                         reference="TS 29.274 §7.2.12"),
    "DIDFTResp": _message(wire.delete_indirect_forwarding_response, transport=4,
                          reference="TS 29.274 §7.2.13"),
    "RABReq": _message(wire.release_access_bearers_request, transport=4,
                       reference="TS 29.274 §7.2.21"),
    "RABResp": _message(wire.release_access_bearers_response, transport=4,
                        reference="TS 29.274 §7.2.22"),
    "EndMarker": _message(wire.gtpu_end_marker, transport=4, reference="TS 29.281 §7.3.2"),
    # N4 (PFCP, TS 29.244) for one PDU session with one QoS flow, UDP port 8805.
    "PFCP-SessionEstablishmentRequest": _message(
        pfcp.session_establishment_request, transport=4,
        reference="TS 29.244 §7.5.2: an uplink and a downlink PDR and FAR"),
    "PFCP-SessionEstablishmentResponse": _message(
        pfcp.session_establishment_response, transport=4,
        reference="TS 29.244 §7.5.3: the UPF's F-SEID and uplink F-TEID"),
    "PFCP-SessionModificationRequest": _message(
        pfcp.session_modification_request, transport=4,
        reference="TS 29.244 §7.5.4: the downlink FAR to a new N3 tunnel end"),
    "PFCP-SessionModificationResponse": _message(
        pfcp.session_modification_response, transport=4, reference="TS 29.244 §7.5.5"),
    "PFCP-SessionDeletionRequest": _message(
        pfcp.session_deletion_request, transport=4, reference="TS 29.244 §7.5.6"),
    "PFCP-SessionDeletionResponse": _message(
        pfcp.session_deletion_response, transport=4, reference="TS 29.244 §7.5.7"),
    # NGAP (TS 38.413) for one UE with one PDU session and one QoS flow, the PDU sizes of
    # test vectors or of pycrate encodings of their IEs (docs/sizes.md names each one's).
    "NGAP-UplinkNASTransport-PDUSessionEstablishmentRequest": sctp_carried(
        81, reference="TS 38.413; its NAS PDU TS 24.501's"),
    "NGAP-PDUSessionResourceSetupRequest": sctp_carried(
        221, reference="TS 38.413; its NAS PDU TS 24.501's"),
    "NGAP-PDUSessionResourceSetupResponse": sctp_carried(43, reference="TS 38.413"),
    "NGAP-PDUSessionResourceReleaseCommand": sctp_carried(
        53, reference="TS 38.413; its NAS PDU TS 24.501's"),
    "NGAP-PDUSessionResourceReleaseResponse": sctp_carried(28, reference="TS 38.413"),
    "NGAP-PathSwitchRequest": sctp_carried(71, reference="TS 38.413"),
    "NGAP-PathSwitchRequestAck": sctp_carried(80, reference="TS 38.413"),
    "NGAP-UEContextReleaseRequest": sctp_carried(27, reference="TS 38.413"),
    "NGAP-UEContextReleaseCommand": sctp_carried(20, reference="TS 38.413"),
    "NGAP-UEContextReleaseComplete": sctp_carried(19, reference="TS 38.413"),
    "NGAP-DownlinkNASTransport-PDUSessionModificationCommand": sctp_carried(
        53, reference="TS 38.413; its NAS PDU TS 24.501 §8.3.9's"),
    "NGAP-UplinkNASTransport-PDUSessionModificationComplete": sctp_carried(
        62, reference="TS 38.413; its NAS PDU TS 24.501 §8.3.10's"),
    # The same PDU with the 4-byte PDU Session Release Complete (TS 24.501 §8.3.14) inside.
    "NGAP-UplinkNASTransport-PDUSessionReleaseComplete": sctp_carried(
        62, reference="TS 38.413; its NAS PDU TS 24.501 §8.3.14's"),
    # And with the 6-byte PDU Session Release Request (§8.3.12: the header and a 5GSM cause).
    "NGAP-UplinkNASTransport-PDUSessionReleaseRequest": sctp_carried(
        64, reference="TS 38.413; its NAS PDU TS 24.501 §8.3.12's"),
    # S1AP (TS 36.413) and X2AP (TS 36.423) for one UE with one E-RAB, the PDU sizes of
    # test vectors and captures, or of pycrate encodings of their IEs (docs/sizes.md names
    # each one's source).
    "S1AP-PathSwitchRequest": sctp_carried(71, reference="TS 36.413 §9.1.5.8"),
    "S1AP-PathSwitchRequestAck": sctp_carried(58, reference="TS 36.413 §9.1.5.9"),
    "S1AP-HandoverRequired": sctp_carried(258, reference="TS 36.413 §9.1.5.1"),
    "S1AP-HandoverRequest": sctp_carried(321, reference="TS 36.413 §9.1.5.4"),
    "S1AP-HandoverRequestAck": sctp_carried(202, reference="TS 36.413 §9.1.5.5"),
    "S1AP-HandoverCommand": sctp_carried(186, reference="TS 36.413 §9.1.5.2"),
    "S1AP-eNBStatusTransfer": sctp_carried(43, reference="TS 36.413 §9.1.5.13"),
    "S1AP-MMEStatusTransfer": sctp_carried(42, reference="TS 36.413 §9.1.5.14"),
    "S1AP-HandoverNotify": sctp_carried(44, reference="TS 36.413 §9.1.5.7"),
    "S1AP-UEContextReleaseCommand": sctp_carried(21, reference="TS 36.413 §9.1.4.5"),
    "S1AP-UEContextReleaseComplete": sctp_carried(19, reference="TS 36.413 §9.1.4.6"),
    "S1AP-InitialContextSetupRequest": sctp_carried(203, reference="TS 36.413 §9.1.4.1"),
    "S1AP-InitialContextSetupResponse": sctp_carried(41, reference="TS 36.413 §9.1.4.2"),
    "S1AP-UEContextReleaseRequest": sctp_carried(25, reference="TS 36.413 §9.1.4.4"),
    "S1AP-ERABSetupRequest": sctp_carried(115, reference="TS 36.413 §9.1.3.1"),
    "S1AP-ERABSetupResponse": sctp_carried(38, reference="TS 36.413 §9.1.3.2"),
    "S1AP-ERABReleaseCommand": sctp_carried(45, reference="TS 36.413 §9.1.3.5"),
    "S1AP-ERABReleaseResponse": sctp_carried(29, reference="TS 36.413 §9.1.3.6"),
    "X2AP-HandoverRequest": sctp_carried(307, reference="TS 36.423 §9.1.1.1"),
    "X2AP-HandoverRequestAck": sctp_carried(176, reference="TS 36.423 §9.1.1.2"),
    "X2AP-SNStatusTransfer": sctp_carried(39, reference="TS 36.423 §9.1.1.4"),
    "X2AP-UEContextRelease": sctp_carried(19, reference="TS 36.423 §9.1.1.5"),
    # XnAP (TS 38.423) between two gNBs for one UE with one PDU session: pycrate encodings
    # of their IEs (docs/sizes.md).
    "XnAP-HandoverRequest": sctp_carried(273, reference="TS 38.423 §9.1.1.1"),
    "XnAP-HandoverRequestAck": sctp_carried(452, reference="TS 38.423 §9.1.1.2"),
    "XnAP-SNStatusTransfer": sctp_carried(36, reference="TS 38.423 §9.1.1.4"),
    "XnAP-UEContextRelease": sctp_carried(19, reference="TS 38.423 §9.1.1.5"),
}

# Encapsulation added to the user's packet.
IPV6_IN_IPV6_BYTES = ENCAPSULATIONS["ipv6-in-ipv6"].bytes  # 40
NESTED_IPV6_IN_IPV6_BYTES = ENCAPSULATIONS["nested-ipv6-in-ipv6"].bytes  # 80
IPV6_IN_IPV4_BYTES = ENCAPSULATIONS["ipv6-in-ipv4"].bytes  # 20
IPV4_IN_IPV4_BYTES = ENCAPSULATIONS["ipv4-in-ipv4"].bytes  # 20
IPV4_IN_IPV6_BYTES = ENCAPSULATIONS["ipv4-in-ipv6"].bytes  # 40
IPV6_IN_UDP_IPV4_BYTES = ENCAPSULATIONS["ipv6-in-udp-ipv4"].bytes  # 28
GRE_IPV4_BYTES = ENCAPSULATIONS["gre-ipv4"].bytes  # 24
GRE_KEY_IPV4_BYTES = ENCAPSULATIONS["gre-key-ipv4"].bytes  # 28
GRE_IPV6_BYTES = ENCAPSULATIONS["gre-ipv6"].bytes  # 44
GRE_KEY_IPV6_BYTES = ENCAPSULATIONS["gre-key-ipv6"].bytes  # 48
GTPU_UDP_IPV4_BYTES = ENCAPSULATIONS["gtpu-ipv4"].bytes  # 36
GTPU_SEQ_UDP_IPV4_BYTES = ENCAPSULATIONS["gtpu-seq-ipv4"].bytes  # 40
GTPU_EXT_UDP_IPV4_BYTES = ENCAPSULATIONS["gtpu-ext-ipv4"].bytes  # 44
GTPU_UDP_IPV6_BYTES = ENCAPSULATIONS["gtpu-ipv6"].bytes  # 56
RO_ROUTING_HEADER_BYTES = ENCAPSULATIONS["ro-routing-header"].bytes  # 24
RO_HOME_ADDRESS_BYTES = ENCAPSULATIONS["ro-home-address"].bytes  # 24

# Mobility signaling.
BRR_BYTES = MESSAGES["BRR"].bytes  # 48
HOTI_BYTES = MESSAGES["HoTI"].bytes  # 56, +40 on the HA tunnel leg
COTI_BYTES = MESSAGES["CoTI"].bytes  # 56
HOT_BYTES = MESSAGES["HoT"].bytes  # 64, +40 on the HA tunnel leg
COT_BYTES = MESSAGES["CoT"].bytes  # 64
BU_HA_BYTES = MESSAGES["BU"].bytes  # 80
BU_CN_BYTES = MESSAGES["BU-CN"].bytes  # 96
BA_BYTES = MESSAGES["BA"].bytes  # 80
BU_MOBILE_ROUTER_BYTES = MESSAGES["BU-MR"].bytes  # 96: BU + the Mobile Network Prefix option
BA_MOBILE_ROUTER_BYTES = MESSAGES["BA-MR"].bytes  # 80
BE_BYTES = MESSAGES["BE"].bytes  # 64
LOCAL_BU_BYTES = MESSAGES["LBU"].bytes  # 80
HAS_BYTES = MESSAGES["HAS"].bytes  # 64
IKE_SA_INIT_BYTES = MESSAGES["IKE-SA-INIT"].bytes  # 424, both ways
IKE_AUTH_REQUEST_BYTES = MESSAGES["IKE-AUTH"].bytes  # 352
IKE_AUTH_RESPONSE_BYTES = MESSAGES["IKE-AUTH-R"].bytes  # 368
# PBU/PBA with NAI, HNP, handoff indicator, access technology type and timestamp: 112 to 120
# bytes in captures; the composition in dmmemu.wire.packets gives the upper end.
PBU_BYTES = MESSAGES["PBU"].bytes  # 120
PBA_BYTES = MESSAGES["PBA"].bytes  # 120
PBU_IPV4_BYTES = MESSAGES["PBU-IPv4"].bytes  # PBU + 28 - 40 = 108
PBU_REDIRECT_CAPABLE_BYTES = MESSAGES["PBU-Redirect"].bytes  # 128
PBA_REDIRECT_BYTES = MESSAGES["PBA-Redirect"].bytes  # 144
BU_IPV4_COA_BYTES = MESSAGES["BU-IPv4CoA"].bytes  # 92: IPv4 + UDP + IPv6 + BU with the CoA option
BA_IPV4_COA_BYTES = MESSAGES["BA-IPv4CoA"].bytes  # 92: with the NAT detection option
PBA_IPV4_BYTES = MESSAGES["PBA-IPv4"].bytes  # 108
# RFC 6705 for two MNs on one MAG; +24 with the other MAG's address when they are on two.
LRI_BYTES = MESSAGES["LRI"].bytes  # 152
LRA_BYTES = MESSAGES["LRA"].bytes  # 152
LRI_MAGS_BYTES = MESSAGES["LRI-MAGs"].bytes  # 176
LRA_MAGS_BYTES = MESSAGES["LRA-MAGs"].bytes  # 176
CREATE_SESSION_REQUEST_BYTES = MESSAGES["CSReq"].bytes  # 275
CREATE_SESSION_RESPONSE_BYTES = MESSAGES["CSResp"].bytes  # 240
MODIFY_BEARER_REQUEST_BYTES = MESSAGES["MBReq"].bytes  # 100
MODIFY_BEARER_RESPONSE_BYTES = MESSAGES["MBResp"].bytes  # 100
DELETE_SESSION_REQUEST_BYTES = MESSAGES["DSReq"].bytes  # 62
DELETE_SESSION_RESPONSE_BYTES = MESSAGES["DSResp"].bytes  # 51
