"""PFCP (TS 29.244): the N4 messages between an SMF and a UPF, built from their IEs.

Each builder returns one IPv4 packet (UDP port 8805) for one UE's PDU session with one QoS
flow: an uplink PDR and FAR (from the access side, the GTP-U header removed, on to the
core) and a downlink pair (from the core, to the UE's address, GTP-U toward the access
node). The sizes the practices count are these packets' lengths (``dmmemu.wire.sizes``).
"""

from __future__ import annotations

import struct

from dmmemu.wire import packets as wire

PORT_PFCP = 8805  # TS 29.244 §4.2.2

# Message types, TS 29.244 §7.3 (table 7.3-1).
SESSION_ESTABLISHMENT_REQUEST, SESSION_ESTABLISHMENT_RESPONSE = 50, 51
SESSION_MODIFICATION_REQUEST, SESSION_MODIFICATION_RESPONSE = 52, 53
SESSION_DELETION_REQUEST, SESSION_DELETION_RESPONSE = 54, 55

# IE types, TS 29.244 §8.1.2 (table 8.1.2-1).
IE_CREATE_PDR, IE_PDI, IE_CREATE_FAR, IE_FORWARDING_PARAMETERS = 1, 2, 3, 4
IE_CREATED_PDR, IE_UPDATE_FAR, IE_UPDATE_FORWARDING_PARAMETERS = 8, 10, 11
IE_CAUSE, IE_SOURCE_INTERFACE, IE_F_TEID, IE_PRECEDENCE = 19, 20, 21, 29
IE_DESTINATION_INTERFACE, IE_APPLY_ACTION, IE_PDR_ID, IE_F_SEID = 42, 44, 56, 57
IE_NODE_ID, IE_OUTER_HEADER_CREATION, IE_UE_IP_ADDRESS = 60, 84, 93
IE_OUTER_HEADER_REMOVAL, IE_FAR_ID, IE_PDN_TYPE, IE_QFI = 95, 108, 113, 124

CAUSE_REQUEST_ACCEPTED = 1  # §8.2.1
INTERFACE_ACCESS, INTERFACE_CORE = 0, 1  # §8.2.2, §8.2.24
NODE_ID_IPV4 = 0  # §8.2.38
# §8.2.26, in its two-octet form of Rel-16 (the flags in the first octet): forward, or
# buffer and notify the SMF (the downlink until the access node's tunnel end is known).
APPLY_FORWARD, APPLY_BUFFER_NOTIFY = bytes([0x02, 0]), bytes([0x0C, 0])
OUTER_HEADER_GTPU_IPV4 = 0x0100  # §8.2.56: GTP-U/UDP/IPv4 (creation description)
REMOVE_GTPU_IPV4 = 0  # §8.2.64: GTP-U/UDP/IPv4 (removal description)
PDN_TYPE_IPV4 = 1  # §8.2.79
QFI_DEFAULT = 9  # the QoS flow of the default rule (TS 23.501 §5.7.1: any 0..63)
PDR_UPLINK, PDR_DOWNLINK = 1, 2  # the session's PDR ids, and its FAR ids
UE_IPV4 = bytes([198, 51, 100, 7])  # RFC 5737 documentation address: the UE's address


def ie(ie_type: int, value: bytes) -> bytes:
    """§8.1.1: type and length (two octets each), then the value."""
    return struct.pack("!HH", ie_type, len(value)) + value


def grouped(ie_type: int, *members: bytes) -> bytes:
    """§8.1.1: a grouped IE carries its member IEs as its value."""
    return ie(ie_type, b"".join(members))


def header(message_type: int, seid: int, sequence: int, body: bytes) -> bytes:
    """§7.2.2.1: version 1, the S flag set (every session message carries the SEID), the
    length of what follows the first four octets, the SEID, a 3-octet sequence number and
    a spare octet."""
    length = 8 + 4 + len(body)
    return (struct.pack("!BBHQ", 0x21, message_type, length, seid)
            + struct.pack("!I", sequence << 8) + body)


def _node_id(address: bytes) -> bytes:
    return ie(IE_NODE_ID, bytes([NODE_ID_IPV4]) + address)


def _f_seid(seid: int, address: bytes) -> bytes:
    """§8.2.37: the V4 flag, the SEID and the node's IPv4 address."""
    return ie(IE_F_SEID, bytes([0x02]) + struct.pack("!Q", seid) + address)


def _f_teid(teid: int, address: bytes) -> bytes:
    """§8.2.3: the V4 flag, the TEID and the IPv4 address of the tunnel's end."""
    return ie(IE_F_TEID, bytes([0x01]) + struct.pack("!I", teid) + address)


def _outer_header_creation(teid: int, address: bytes) -> bytes:
    return ie(IE_OUTER_HEADER_CREATION, struct.pack("!HI", OUTER_HEADER_GTPU_IPV4, teid)
              + address)


def _cause() -> bytes:
    return ie(IE_CAUSE, bytes([CAUSE_REQUEST_ACCEPTED]))


def _pdr(pdr_id: int, pdi: bytes, *extra: bytes) -> bytes:
    return grouped(IE_CREATE_PDR, ie(IE_PDR_ID, struct.pack("!H", pdr_id)),
                   ie(IE_PRECEDENCE, struct.pack("!I", 255)), pdi, *extra,
                   ie(IE_FAR_ID, struct.pack("!I", pdr_id)))


def _far(far_id: int, action: bytes, *forwarding: bytes) -> bytes:
    return grouped(IE_CREATE_FAR, ie(IE_FAR_ID, struct.pack("!I", far_id)),
                   ie(IE_APPLY_ACTION, action), *forwarding)


def _seid(ctx: wire.MessageContext, owner: int) -> int:
    """One SEID per UE and side (top octet 1: the SMF's, 2: the UPF's)."""
    return (owner << 56) | (ctx.mn & 0xFFFFFFFF)


def _packet(ctx: wire.MessageContext, message: bytes) -> bytes:
    return wire.udp(ctx.src, ctx.dst, PORT_PFCP, PORT_PFCP, message)


def session_establishment_request(ctx: wire.MessageContext) -> bytes:
    """§7.5.2 from the SMF: its Node ID and F-SEID, the uplink PDR (from the access side,
    the UPF choosing the F-TEID: CH flag, §8.2.3) with its FAR to the core, the downlink
    PDR (to the UE's address) with its FAR buffering until a modification names the N3
    tunnel's end; the PDN type."""
    uplink = _pdr(PDR_UPLINK,
                  grouped(IE_PDI, ie(IE_SOURCE_INTERFACE, bytes([INTERFACE_ACCESS])),
                          ie(IE_F_TEID, bytes([0x05])),  # V4 and CH: the UPF allocates
                          ie(IE_QFI, bytes([QFI_DEFAULT]))),
                  ie(IE_OUTER_HEADER_REMOVAL, bytes([REMOVE_GTPU_IPV4])))
    downlink = _pdr(PDR_DOWNLINK,
                    grouped(IE_PDI, ie(IE_SOURCE_INTERFACE, bytes([INTERFACE_CORE])),
                            ie(IE_UE_IP_ADDRESS, bytes([0x06]) + UE_IPV4)))  # V4, S/D
    body = b"".join((
        _node_id(ctx.src), _f_seid(_seid(ctx, 1), ctx.src), uplink, downlink,
        _far(PDR_UPLINK, APPLY_FORWARD, grouped(
            IE_FORWARDING_PARAMETERS, ie(IE_DESTINATION_INTERFACE, bytes([INTERFACE_CORE])))),
        _far(PDR_DOWNLINK, APPLY_BUFFER_NOTIFY),
        ie(IE_PDN_TYPE, bytes([PDN_TYPE_IPV4])),
    ))
    return _packet(ctx, header(SESSION_ESTABLISHMENT_REQUEST, 0, ctx.sequence, body))


def session_establishment_response(ctx: wire.MessageContext) -> bytes:
    """§7.5.3 from the UPF: its Node ID, the cause, its F-SEID and the Created PDR with the
    F-TEID it chose for the uplink."""
    created = grouped(IE_CREATED_PDR, ie(IE_PDR_ID, struct.pack("!H", PDR_UPLINK)),
                      _f_teid(wire.teid(wire.TEID_PGW_U, ctx.mn), ctx.src))
    body = _node_id(ctx.src) + _cause() + _f_seid(_seid(ctx, 2), ctx.src) + created
    return _packet(ctx, header(SESSION_ESTABLISHMENT_RESPONSE, _seid(ctx, 1), ctx.sequence,
                               body))


def session_modification_request(ctx: wire.MessageContext) -> bytes:
    """§7.5.4 from the SMF: the downlink FAR updated to forward, in GTP-U, to the access
    node's N3 tunnel end (the path switch of a handover, the end of a session's setup)."""
    update = grouped(
        IE_UPDATE_FAR, ie(IE_FAR_ID, struct.pack("!I", PDR_DOWNLINK)),
        ie(IE_APPLY_ACTION, APPLY_FORWARD),
        grouped(IE_UPDATE_FORWARDING_PARAMETERS,
                ie(IE_DESTINATION_INTERFACE, bytes([INTERFACE_ACCESS])),
                _outer_header_creation(wire.teid(wire.TEID_ENB_U, ctx.mn), ctx.dst)))
    return _packet(ctx, header(SESSION_MODIFICATION_REQUEST, _seid(ctx, 2), ctx.sequence,
                               update))


def session_modification_response(ctx: wire.MessageContext) -> bytes:
    """§7.5.5 from the UPF: the cause."""
    return _packet(ctx, header(SESSION_MODIFICATION_RESPONSE, _seid(ctx, 1), ctx.sequence,
                               _cause()))


def session_deletion_request(ctx: wire.MessageContext) -> bytes:
    """§7.5.6 from the SMF: the header alone names the session."""
    return _packet(ctx, header(SESSION_DELETION_REQUEST, _seid(ctx, 2), ctx.sequence, b""))


def session_deletion_response(ctx: wire.MessageContext) -> bytes:
    """§7.5.7 from the UPF: the cause."""
    return _packet(ctx, header(SESSION_DELETION_RESPONSE, _seid(ctx, 1), ctx.sequence,
                               _cause()))
