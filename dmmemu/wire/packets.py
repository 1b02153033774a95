"""Byte-exact packets: the wire formats behind every size dmmemu counts.

Every builder returns the bytes of one whole IP packet (no link layer), packed with ``struct``
from the field layouts of the RFC or 3GPP section cited next to it. ``dmmemu.wire.sizes`` measures
its size constants on these builders and ``dmmemu.report.pcap`` writes them to capture files, so a
size in a result table and a packet in Wireshark cannot disagree.

Conventions
- Addresses are ``bytes``: 16 for IPv6, 4 for IPv4; a builder takes the family from them.
- Every checksum is computed: the IPv4 header checksum, UDP over its pseudo-header, and the
  Mobility Header over the IPv6 pseudo-header with the addresses RFC 6275 §6.1.1 names (the
  home address when a home address option or a type 2 routing header carries it).
- Payload and reserved bytes are zero; identifiers that a real node would draw at random
  (cookies, tokens, authenticators) are derived from the message's sequence number and MN id
  so the same emulation always writes the same bytes.
- Encapsulations take ``(inner, src, dst)``: the packet to carry and the outer addresses.
  Signaling builders take one ``MessageContext``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from dmmemu.errors import DmmemuError

# ---------------------------------------------------------------- protocol numbers (IANA)
PROTO_IPV4 = 4  # IPv4 encapsulation (RFC 2003, RFC 2473 §5)
PROTO_UDP = 17
PROTO_IPV6 = 41  # IPv6 encapsulation (RFC 2473, RFC 4213)
PROTO_ROUTING = 43  # IPv6 routing header
PROTO_GRE = 47
PROTO_NO_NEXT = 59  # IPv6 No Next Header (RFC 8200 §4.7)
PROTO_DSTOPTS = 60  # IPv6 destination options
PROTO_MH = 135  # Mobility Header (RFC 6275 §6.1)
PROTO_EXPERIMENT = 253  # RFC 3692: a bare IPv4 packet too small for UDP

ETHERTYPE_IPV4 = 0x0800  # GRE protocol types (RFC 2784 §2.4)
ETHERTYPE_IPV6 = 0x86DD

# ---------------------------------------------------------------- UDP ports (IANA)
PORT_GTPC = 2123  # TS 29.274 §4.2
PORT_GTPU = 2152  # TS 29.281 §4.4.2
PORT_DSMIP6 = 4191  # RFC 5555 §4.1 UDP encapsulation (NAT traversal)
PORT_PMIP6_CONTROL = 5436  # RFC 5844 §4.1 PMIPv6 signaling over IPv4
PORT_PMIP6_DATA = 5437  # RFC 5844 §4.2 PMIPv6 UDP tunnel over IPv4
PORT_IKE = 500  # RFC 7296 §2

IPV6_HEADER = 40
IPV4_HEADER = 20
UDP_HEADER = 8
MAX_IP_LENGTH = 65535


class WireError(DmmemuError, ValueError):
    """A packet cannot be built as asked (too large, wrong address family, bad field)."""


# ================================================================ checksums and IP headers
def internet_checksum(data: bytes) -> int:
    """RFC 1071 ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src: bytes, dst: bytes, protocol: int, length: int) -> bytes:
    """Upper-layer checksum pseudo-header: RFC 8200 §8.1 (IPv6) or RFC 768 (IPv4)."""
    if len(src) == 16:
        return src + dst + struct.pack("!I3xB", length, protocol)
    return src + dst + struct.pack("!xBH", protocol, length)


def _family(src: bytes, dst: bytes) -> int:
    if len(src) == len(dst) == 16:
        return 6
    if len(src) == len(dst) == 4:
        return 4
    raise WireError(f"source and destination must both be IPv6 (16 bytes) or IPv4 (4 bytes), "
                    f"got {len(src)} and {len(dst)} bytes")


def _addresses(src: bytes, dst: bytes, family: int) -> None:
    if _family(src, dst) != family:
        raise WireError(f"an IPv{family} header needs IPv{family} addresses, got "
                        f"{len(src)}-byte ones")


def ipv6(src: bytes, dst: bytes, next_header: int, payload: bytes, *, hop_limit: int = 64) -> bytes:
    """RFC 8200 §3: version 6, traffic class 0, flow label 0."""
    _addresses(src, dst, 6)
    if len(payload) > MAX_IP_LENGTH:
        raise WireError(f"IPv6 payload of {len(payload)} bytes exceeds {MAX_IP_LENGTH} "
                        "(jumbograms are not written)")
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, hop_limit,
                       src, dst) + payload


def ipv4(src: bytes, dst: bytes, protocol: int, payload: bytes, *, ttl: int = 64) -> bytes:
    """RFC 791 header without options, DF set and identification 0 (RFC 6864 §4.1)."""
    _addresses(src, dst, 4)
    total = IPV4_HEADER + len(payload)
    if total > MAX_IP_LENGTH:
        raise WireError(f"IPv4 packet of {total} bytes exceeds {MAX_IP_LENGTH}")
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, ttl, protocol, 0, src, dst)
    checksum = internet_checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def ip_packet(src: bytes, dst: bytes, protocol: int, payload: bytes) -> bytes:
    """IPv6 or IPv4, by the addresses' family."""
    if _family(src, dst) == 6:
        return ipv6(src, dst, protocol, payload)
    return ipv4(src, dst, protocol, payload)


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    """RFC 768 datagram in an IP packet; checksum over the pseudo-header (0 sent as 0xFFFF)."""
    length = UDP_HEADER + len(payload)
    if length > MAX_IP_LENGTH:
        raise WireError(f"UDP datagram of {length} bytes exceeds {MAX_IP_LENGTH}")
    segment = struct.pack("!HHHH", sport, dport, length, 0) + payload
    checksum = internet_checksum(pseudo_header(src, dst, PROTO_UDP, length) + segment) or 0xFFFF
    return ip_packet(src, dst, PROTO_UDP, segment[:6] + struct.pack("!H", checksum) + segment[8:])


def ip_version(packet: bytes) -> int:
    return packet[0] >> 4


# ================================================================ user packets
def data_packet(size: int, src: tuple[bytes, bytes], dst: tuple[bytes, bytes], sport: int,
                dport: int) -> bytes:
    """A user IP packet of exactly ``size`` bytes with a zero payload.

    ``src`` and ``dst`` are (IPv6, IPv4) address pairs. From 48 bytes it is IPv6/UDP; from 40,
    an IPv6 header with No Next Header and padding bytes; from 28, IPv4/UDP; from 20 (the
    smallest packet a trace may hold), an IPv4 header with protocol 253 (RFC 3692).
    """
    if size >= IPV6_HEADER + UDP_HEADER:
        return udp(src[0], dst[0], sport, dport, bytes(size - IPV6_HEADER - UDP_HEADER))
    if size >= IPV6_HEADER:
        return ipv6(src[0], dst[0], PROTO_NO_NEXT, bytes(size - IPV6_HEADER))
    if size >= IPV4_HEADER + UDP_HEADER:
        return udp(src[1], dst[1], sport, dport, bytes(size - IPV4_HEADER - UDP_HEADER))
    if size >= IPV4_HEADER:
        return ipv4(src[1], dst[1], PROTO_EXPERIMENT, bytes(size - IPV4_HEADER))
    raise WireError(f"an IP packet has at least {IPV4_HEADER} bytes, asked for {size}")


# ================================================================ encapsulations
def _ip_protocol_of(inner: bytes) -> int:
    return PROTO_IPV6 if ip_version(inner) == 6 else PROTO_IPV4


def ip_in_ipv6(inner: bytes, src: bytes, dst: bytes) -> bytes:
    """RFC 2473 generic packet tunnelling in IPv6 (IPv6 or IPv4 inside, RFC 2473 §5)."""
    return ipv6(src, dst, _ip_protocol_of(inner), inner)


def nested_ip_in_ipv6(inner: bytes, src: bytes, dst: bytes, *,
                      tunnel_src: bytes | None = None, tunnel_dst: bytes | None = None) -> bytes:
    """Two RFC 2473 tunnels, one inside the other (HMIPv6 via an HA: the HA→RCoA tunnel
    inside the MAP→LCoA tunnel, RFC 5380 §6.2). ``src``/``dst`` are the outer tunnel's
    ends; the inner tunnel's default to the same."""
    middle = ip_in_ipv6(inner, tunnel_src or src, tunnel_dst or dst)
    return ipv6(src, dst, PROTO_IPV6, middle)


def stacked_ip_in_ipv6(inner: bytes, src: bytes, dst: bytes, *, tunnels: int) -> bytes:
    """``tunnels`` RFC 2473 tunnels, each inside the next, all between ``src`` and ``dst``:
    a visiting mobile node's tunnel inside the tunnels of the mobile routers it rides
    behind (RFC 3963 nested mobile networks), or the HMIPv6 pair."""
    for _ in range(tunnels):
        inner = ip_in_ipv6(inner, src, dst)
    return inner


def ip_in_ipv4(inner: bytes, src: bytes, dst: bytes) -> bytes:
    """IPv6-in-IPv4 (RFC 4213 §3.5, protocol 41) or IPv4-in-IPv4 (RFC 2003, protocol 4)."""
    return ipv4(src, dst, _ip_protocol_of(inner), inner)


def ip_in_udp(inner: bytes, src: bytes, dst: bytes, *, port: int = PORT_DSMIP6) -> bytes:
    """The packet as a UDP payload: DSMIPv6 NAT traversal (RFC 5555 §4.1, port 4191) or the
    PMIPv6 UDP tunnel over IPv4 (RFC 5844 §4.2, port 5437)."""
    return udp(src, dst, port, port, inner)


def gre(inner: bytes, src: bytes, dst: bytes, *, key: int | None = None) -> bytes:
    """GRE (RFC 2784 §2) with the optional key field (RFC 2890 §2.1) over IPv4 or IPv6."""
    ethertype = ETHERTYPE_IPV6 if ip_version(inner) == 6 else ETHERTYPE_IPV4
    if key is None:
        header = struct.pack("!HH", 0x0000, ethertype)
    else:
        header = struct.pack("!HHI", 0x2000, ethertype, key)  # K bit
    return ip_packet(src, dst, PROTO_GRE, header + inner)


GTPU_END_MARKER = 254  # TS 29.281 §6.1, §7.3.2: the last packet on a path being switched
GTPU_G_PDU = 255  # TS 29.281 §6.1 message type of a user packet
GTPU_EXT_PDU_SESSION = 0x85  # TS 29.281 §5.2.1, PDU Session Container (TS 38.415 §5.5.2)


def gtpu(inner: bytes, src: bytes, dst: bytes, *, teid: int = 1, sequence: int | None = None,
         qfi: int | None = None) -> bytes:
    """GTP-U G-PDU (TS 29.281 §5.1) in UDP port 2152.

    With ``sequence`` the S flag and the 4 optional octets are present; with ``qfi`` one
    PDU Session Container extension header (DL PDU SESSION INFORMATION, TS 38.415 §5.5.2.1)
    follows them, 4 more octets.
    """
    flags = 0x30  # version 1, protocol type GTP
    optional = b""
    extension = b""
    if sequence is not None or qfi is not None:
        next_type = 0
        if qfi is not None:
            flags |= 0x04  # E
            next_type = GTPU_EXT_PDU_SESSION
            # length 1 (× 4 octets); PDU type 0 (DL); QFI; no further extension header
            extension = struct.pack("!BBBB", 1, 0x00, qfi & 0x3F, 0)
        if sequence is not None:
            flags |= 0x02  # S
        optional = struct.pack("!HBB", (sequence or 0) & 0xFFFF, 0, next_type)
    body = optional + extension + inner
    header = struct.pack("!BBHI", flags, GTPU_G_PDU, len(body), teid & 0xFFFFFFFF)
    return udp(src, dst, PORT_GTPU, PORT_GTPU, header + body)


def gtpu_end_marker(ctx: MessageContext) -> bytes:
    """GTP-U End Marker (TS 29.281 §7.3.2): the bare 8-octet header, no payload, on the
    user-plane path that a handover switches away from, from ``src`` toward ``dst``."""
    header = struct.pack("!BBHI", 0x30, GTPU_END_MARKER, 0, teid(TEID_ENB_U, ctx.mn))
    return udp(ctx.src, ctx.dst, PORT_GTPU, PORT_GTPU, header)


def _split_ipv6(packet: bytes) -> tuple[int, bytes, bytes, bytes]:
    """(next header, source, destination, payload) of an IPv6 packet."""
    if ip_version(packet) != 6:
        raise WireError("route optimisation headers need an IPv6 packet inside; this one is "
                        f"IPv4 ({len(packet)} bytes: IPv6 needs at least {IPV6_HEADER})")
    return packet[6], packet[8:24], packet[24:40], packet[40:]


def type2_routing(inner: bytes, src: bytes, dst: bytes) -> bytes:
    """MIPv6 route-optimised downlink (RFC 6275 §6.4): the correspondent ``src`` sends its
    packet for the home address to the care-of address ``dst``, with a type 2 routing header
    holding the home address (the upper-layer checksum, over the home address, stays valid)."""
    next_header, source, home, payload = _split_ipv6(inner)
    if source != src:
        raise WireError("a type 2 routing header is added by the packet's own source")
    return ipv6(src, dst, PROTO_ROUTING, routing_header_type2(next_header, home) + payload)


def home_address_option(inner: bytes, src: bytes, dst: bytes) -> bytes:
    """MIPv6 route-optimised uplink (RFC 6275 §6.3): the MN's packet from its home address
    leaves from the care-of address ``src`` to the correspondent ``dst``, the home address in a
    destination option (the upper-layer checksum, over the home address, stays valid)."""
    next_header, home, destination, payload = _split_ipv6(inner)
    if destination != dst:
        raise WireError("a home address option keeps the packet's own destination")
    return ipv6(src, dst, PROTO_DSTOPTS, destination_options_hao(next_header, home) + payload)


def routing_header_type2(next_header: int, home: bytes) -> bytes:
    """RFC 6275 §6.4: 24 bytes, one segment left, the home address."""
    return struct.pack("!BBBB4x16s", next_header, 2, 2, 1, home)


HAO_TYPE = 201  # RFC 6275 §6.3, alignment 8n+6


def destination_options_hao(next_header: int, home: bytes) -> bytes:
    """RFC 6275 §6.3: destination options header with a PadN (4 bytes) and the home address
    option at offset 6 (its 8n+6 alignment): 24 bytes."""
    return struct.pack("!BBBB2xBB16s", next_header, 2, 1, 2, HAO_TYPE, 16, home)


# ================================================================ Mobility Header
@dataclass(frozen=True, slots=True)
class MobilityOption:
    """One mobility option (RFC 6275 §6.2): type, value and its alignment ``xn+y``."""

    type: int
    value: bytes
    align: tuple[int, int] = (1, 0)

    def encode(self) -> bytes:
        return struct.pack("!BB", self.type, len(self.value)) + self.value


def _padding(n: int) -> bytes:
    """Pad1 (one zero byte) or PadN (type 1, length n − 2, zeros): RFC 6275 §6.2.2–6.2.3."""
    if n == 0:
        return b""
    if n == 1:
        return b"\0"
    return struct.pack("!BB", 1, n - 2) + bytes(n - 2)


def _options(start: int, options: Sequence[MobilityOption]) -> bytes:
    """Options laid out from MH offset ``start``, each padded to its alignment; the whole
    header is then padded to a multiple of 8 octets (RFC 6275 §6.1.1, §6.2)."""
    out = bytearray()
    for option in options:
        x, y = option.align
        offset = start + len(out)
        out += _padding((y - offset) % x)
        out += option.encode()
    out += _padding(-(start + len(out)) % 8)
    return bytes(out)


def mobility_header(mh_type: int, data: bytes, options: Sequence[MobilityOption], *,
                    checksum_src: bytes, checksum_dst: bytes) -> bytes:
    """RFC 6275 §6.1.1: payload proto 59, length in 8-octet units excluding the first 8,
    type, reserved, checksum over the pseudo-header (``checksum_src``/``dst``, the home
    address where RFC 6275 §6.1.1 asks for it), message data and options."""
    body = data + _options(6 + len(data), options)
    length = 6 + len(body)
    header = struct.pack("!BBBBH", PROTO_NO_NEXT, length // 8 - 1, mh_type, 0, 0)
    checksum = internet_checksum(pseudo_header(checksum_src, checksum_dst, PROTO_MH, length)
                                 + header + body)
    return header[:4] + struct.pack("!H", checksum) + body


# MH types (RFC 6275 §6.1, RFC 5142 §5.1, RFC 6705 §10)
MH_BRR, MH_HOTI, MH_COTI, MH_HOT, MH_COT, MH_BU, MH_BA, MH_BE = 0, 1, 2, 3, 4, 5, 6, 7
MH_HAS = 12
MH_LRI, MH_LRA = 17, 18

# Mobility option types (RFC 6275 §6.2, RFC 3963 §4.3, RFC 4283, RFC 5213 §8, RFC 6705 §11)
OPT_NONCE_INDICES = 4
OPT_MOBILE_NETWORK_PREFIX = 6  # RFC 3963 §4.3
OPT_AUTH_DATA = 5
OPT_MN_ID = 8
OPT_HNP = 22
OPT_HANDOFF = 23
OPT_ATT = 24
OPT_TIMESTAMP = 27
OPT_MAG_IPV6 = 51
OPT_NAT_DETECTION = 31  # RFC 5555 §3.2.2 (Wireshark's MIP6_NATD)
OPT_IPV4_COA = 32  # RFC 5555 §3.1.2 (Wireshark's MIP6_IPV4COA)
OPT_GRE_KEY = 33  # RFC 5845 §3.1
OPT_IPV4_HOA_REQUEST = 36  # RFC 5844 §3.1
OPT_IPV4_HOA_REPLY = 37  # RFC 5844 §3.2
OPT_REDIRECT_CAPABILITY = 46  # RFC 6463 §4.1
OPT_REDIRECT = 47  # RFC 6463 §4.2
REDIRECT_K = 0x8000  # RFC 6463 §4.2: the option carries r2's IPv6 address
NAT_DETECTION_F = 0x8000  # RFC 5555 §3.2.2: the MN MUST use UDP encapsulation
NATKATIMEOUT_S = 110  # RFC 5555 NAT keepalive interval (UMIP's NATKATIMEOUT)
NO_NAT_REFRESH = 0xFFFFFFFF  # the refresh time of a NAT detection option when no NAT is seen

# Binding Update flags (RFC 6275 §6.1.7, RFC 5380 §6.1.1, RFC 5213 §8.1)
BU_A, BU_H, BU_L, BU_K, BU_M, BU_R, BU_P = 0x8000, 0x4000, 0x2000, 0x1000, 0x0800, 0x0400, 0x0200
BA_R = 0x40  # RFC 3963 §4.2: the HA supports mobile routers (BA flags octet: K, R, P)
BA_P = 0x20  # RFC 5213 §8.2 proxy registration flag in the BA flags octet

HANDOFF_NEW_INTERFACE = 1  # RFC 5213 §8.4 Handoff Indicator values
HANDOFF_BETWEEN_MAGS = 3
HANDOFF_NOT_CHANGED = 5
ATT_IEEE_80211 = 4  # RFC 5213 §8.5 Access Technology Type: IEEE 802.11a/b/g

DOMAIN = "dmmemu.example"  # RFC 2606 name for the NAI realm


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageContext:
    """Who sends one signaling message to whom, about which MN, and when.

    ``src``/``dst`` are the IP header's addresses (IPv6, or IPv4 for IPv4 transports).
    ``home_address`` is the MN's address the message is about (HoA, RCoA, or its address
    from ``prefix``); ``care_of_address`` its address at its current PoA. ``peer_*`` name the
    other MN of a localized-routing pair, and its MAG when that is another MAG.
    """

    src: bytes
    dst: bytes
    mn: int = 0
    home_address: bytes = bytes(16)
    care_of_address: bytes = bytes(16)
    prefix: bytes = bytes(16)
    sequence: int = 0
    lifetime_s: int = 60
    time_ns: int = 0
    handoff: int = HANDOFF_NEW_INTERFACE
    peer_mn: int = 1
    peer_prefix: bytes = bytes(16)
    peer_mag: bytes = bytes(16)  # the other MAG, in the messages across two MAGs
    new_home_agent: bytes = bytes(16)
    home_agent: bytes = bytes(16)  # the HA's IPv6 address, inside an IPv4-transported message
    ipv4_home_address: bytes = bytes(4)  # the MN's IPv4 home address (RFC 5844)
    behind_nat: bool = False  # the MN's IPv4 care-of address is behind a NAT (RFC 5555)


def nai(mn: int) -> bytes:
    """RFC 4282 NAI of an MN, fixed width (25 octets) so every PBU has the same size."""
    return f"mn{mn & 0xFFFFFFFF:08x}@{DOMAIN}".encode("ascii")


def _token(ctx: MessageContext, salt: int) -> bytes:
    """Eight deterministic bytes standing for a cookie, token or authenticator."""
    return struct.pack("!IHH", ctx.mn & 0xFFFFFFFF, ctx.sequence & 0xFFFF, salt)


def _lifetime_units(ctx: MessageContext) -> int:
    """RFC 6275 §6.1.7: lifetime in units of 4 seconds, saturated."""
    return min(ctx.lifetime_s // 4, 0xFFFF)


def _mn_id(mn: int) -> MobilityOption:
    return MobilityOption(OPT_MN_ID, bytes([1]) + nai(mn))  # RFC 4283 §3, subtype 1 = NAI


def _hnp(prefix: bytes) -> MobilityOption:
    return MobilityOption(OPT_HNP, struct.pack("!xB16s", 64, prefix), (8, 4))  # RFC 5213 §8.3


def _timestamp(time_ns: int) -> MobilityOption:
    """RFC 5213 §8.8: 48-bit seconds since 1970 and 16-bit 1/65536 fractions."""
    seconds, rest = divmod(time_ns, 1_000_000_000)
    value = (seconds << 16) | (rest * 65536 // 1_000_000_000)
    return MobilityOption(OPT_TIMESTAMP, struct.pack("!Q", value), (8, 2))


def _pmip_options(ctx: MessageContext) -> list[MobilityOption]:
    """RFC 5213 §8.1: handoff indicator, access technology type, home network prefix,
    timestamp and the MN's NAI, in the order that needs 2 bytes of padding in all."""
    return [
        MobilityOption(OPT_HANDOFF, struct.pack("!xB", ctx.handoff)),
        MobilityOption(OPT_ATT, struct.pack("!xB", ATT_IEEE_80211)),
        _hnp(ctx.prefix),
        _timestamp(ctx.time_ns),
        _mn_id(ctx.mn),
    ]


def _mh_packet(src: bytes, dst: bytes, mh: bytes, *, ext: bytes = b"",
               ext_type: int = PROTO_MH) -> bytes:
    """The Mobility Header in an IPv6 packet, after the extension header ``ext`` (of type
    ``ext_type``) if any."""
    return ipv6(src, dst, ext_type, ext + mh)


def _bu_data(ctx: MessageContext, flags: int) -> bytes:
    return struct.pack("!HHH", ctx.sequence & 0xFFFF, flags, _lifetime_units(ctx))


def _ba_data(ctx: MessageContext, flags: int = 0) -> bytes:
    return struct.pack("!BBHH", 0, flags, ctx.sequence & 0xFFFF, _lifetime_units(ctx))


def binding_refresh_request(ctx: MessageContext) -> bytes:
    """RFC 6275 §6.1.2 BRR from the HA or CN to the MN's home address: 48 bytes."""
    mh = mobility_header(MH_BRR, bytes(2), [], checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def home_test_init(ctx: MessageContext) -> bytes:
    """RFC 6275 §6.1.3 HoTI from the home address (reverse-tunnelled via the HA): 56 bytes."""
    mh = mobility_header(MH_HOTI, bytes(2) + _token(ctx, 1), [],
                         checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def care_of_test_init(ctx: MessageContext) -> bytes:
    """RFC 6275 §6.1.4 CoTI from the care-of address: 56 bytes."""
    mh = mobility_header(MH_COTI, bytes(2) + _token(ctx, 2), [],
                         checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def home_test(ctx: MessageContext) -> bytes:
    """RFC 6275 §6.1.5 HoT: home nonce index, the HoTI's cookie, home keygen token: 64."""
    data = struct.pack("!H", ctx.sequence & 0xFFFF) + _token(ctx, 1) + _token(ctx, 3)
    mh = mobility_header(MH_HOT, data, [], checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def care_of_test(ctx: MessageContext) -> bytes:
    """RFC 6275 §6.1.6 CoT: care-of nonce index, the CoTI's cookie, keygen token: 64."""
    data = struct.pack("!H", ctx.sequence & 0xFFFF) + _token(ctx, 2) + _token(ctx, 4)
    mh = mobility_header(MH_COT, data, [], checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def _bu_with_hao(ctx: MessageContext, flags: int, options: Sequence[MobilityOption]) -> bytes:
    """A BU from the care-of address ``src`` carrying the home address in a destination
    option; the MH checksum uses the home address as source (RFC 6275 §6.1.1)."""
    mh = mobility_header(MH_BU, _bu_data(ctx, flags), options,
                         checksum_src=ctx.home_address, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh,
                      ext=destination_options_hao(PROTO_MH, ctx.home_address),
                      ext_type=PROTO_DSTOPTS)


def binding_update_home(ctx: MessageContext) -> bytes:
    """RFC 6275 §6.1.7/§11.7.1 home registration (A, H flags) with the home address option,
    one PadN to the 8-octet boundary: 80 bytes."""
    return _bu_with_hao(ctx, BU_A | BU_H, [])


def binding_update_correspondent(ctx: MessageContext) -> bytes:
    """RFC 6275 §11.7.2 BU to a CN after return routability: home address option, nonce
    indices (§6.2.6) and binding authorization data (§6.2.7, 96-bit authenticator): 96."""
    options = [
        MobilityOption(OPT_NONCE_INDICES, struct.pack("!HH", ctx.sequence & 0xFFFF,
                                                      ctx.sequence & 0xFFFF), (2, 0)),
        MobilityOption(OPT_AUTH_DATA, _token(ctx, 5) + _token(ctx, 6)[:4], (8, 2)),
    ]
    return _bu_with_hao(ctx, BU_A, options)


def binding_update_mobile_router(ctx: MessageContext) -> bytes:
    """RFC 3963 §4.1, §6.1.1 (explicit mode): the mobile router's home registration, with the
    R flag and one Mobile Network Prefix option (§4.3: 8n+4 alignment, 20 octets), the
    home address option as a host's: 96 bytes."""
    option = MobilityOption(OPT_MOBILE_NETWORK_PREFIX, struct.pack("!xB16s", 64, ctx.prefix),
                            (8, 4))
    return _bu_with_hao(ctx, BU_A | BU_H | BU_R, [option])


def binding_acknowledgement_mobile_router(ctx: MessageContext) -> bytes:
    """RFC 3963 §4.2: the HA's BA to a mobile router, with the R flag (it supports mobile
    routers), type 2 routing header as a host's: 80 bytes."""
    mh = mobility_header(MH_BA, _ba_data(ctx, BA_R), [],
                         checksum_src=ctx.src, checksum_dst=ctx.home_address)
    return _mh_packet(ctx.src, ctx.dst, mh,
                      ext=routing_header_type2(PROTO_MH, ctx.home_address),
                      ext_type=PROTO_ROUTING)


def local_binding_update(ctx: MessageContext) -> bytes:
    """RFC 5380 §6.1.1/§10.1 local BU to the MAP (A, H and M flags) from the LCoA ``src``,
    the RCoA in the home address option: 80 bytes."""
    return _bu_with_hao(ctx, BU_A | BU_H | BU_M, [])


def binding_acknowledgement(ctx: MessageContext) -> bytes:
    """RFC 6275 §6.1.8 BA (status 0) to the care-of address ``dst`` with a type 2 routing
    header holding the home address, which is also the checksum's destination: 80 bytes."""
    mh = mobility_header(MH_BA, _ba_data(ctx), [],
                         checksum_src=ctx.src, checksum_dst=ctx.home_address)
    return _mh_packet(ctx.src, ctx.dst, mh,
                      ext=routing_header_type2(PROTO_MH, ctx.home_address),
                      ext_type=PROTO_ROUTING)


def binding_error(ctx: MessageContext) -> bytes:
    """RFC 6275 §6.1.9 Binding Error (status 1: unknown binding for home address destination
    option) naming the home address: 64 bytes."""
    data = struct.pack("!Bx16s", 1, ctx.home_address)
    mh = mobility_header(MH_BE, data, [], checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def home_agent_switch(ctx: MessageContext) -> bytes:
    """RFC 5142 §5.1 Home Agent Switch (MH type 12) listing one new home agent: 64 bytes."""
    data = struct.pack("!Bx16s", 1, ctx.new_home_agent)
    mh = mobility_header(MH_HAS, data, [], checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def proxy_binding_update(ctx: MessageContext) -> bytes:
    """RFC 5213 §8.1 PBU from the MAG (A, H, P flags) with the options of ``_pmip_options``:
    12 + 4 + 4 + 20 + 2 (PadN) + 10 + 28 = 80 octets of MH, 120 bytes in all."""
    mh = mobility_header(MH_BU, _bu_data(ctx, BU_A | BU_H | BU_P), _pmip_options(ctx),
                         checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def proxy_binding_acknowledgement(ctx: MessageContext) -> bytes:
    """RFC 5213 §8.2 PBA (status 0, P flag) echoing the PBU's options: 120 bytes."""
    mh = mobility_header(MH_BA, _ba_data(ctx, BA_P), _pmip_options(ctx),
                         checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def _ipv4_mapped(address: bytes) -> bytes:
    return bytes(10) + b"\xff\xff" + address


def _over_ipv4(ctx: MessageContext, build: Callable[[MessageContext], bytes]) -> bytes:
    """RFC 5844 §4.1: the Mobility Header of an IPv6 build, carried in UDP port 5436 over
    IPv4 (its checksum over the IPv4-mapped addresses)."""
    v6 = build(replace(ctx, src=_ipv4_mapped(ctx.src), dst=_ipv4_mapped(ctx.dst)))
    return udp(ctx.src, ctx.dst, PORT_PMIP6_CONTROL, PORT_PMIP6_CONTROL, v6[IPV6_HEADER:])


def _over_udp_ipv4(ctx: MessageContext, inner: bytes) -> bytes:
    """RFC 5555 §4.1: an IPv6 signaling packet from or to an IPv4 care-of address, in UDP
    port 4191 over IPv4 between the care-of address and the HA's IPv4 address."""
    return udp(ctx.src, ctx.dst, PORT_DSMIP6, PORT_DSMIP6, inner)


def binding_update_ipv4_care_of(ctx: MessageContext) -> bytes:
    """RFC 5555 §4.1: the home registration (A, H flags) from an IPv4 care-of address
    ``src``: IPv6 from the home address to the HA, the IPv4 Care-of Address option (§3.1.2,
    at 4n) instead of a home address option, in UDP over IPv4: 92 bytes."""
    option = MobilityOption(OPT_IPV4_COA, struct.pack("!xx4s", ctx.src), (4, 0))
    mh = mobility_header(MH_BU, _bu_data(ctx, BU_A | BU_H), [option],
                         checksum_src=ctx.home_address, checksum_dst=ctx.home_agent)
    return _over_udp_ipv4(ctx, _mh_packet(ctx.home_address, ctx.home_agent, mh))


def binding_acknowledgement_ipv4_care_of(ctx: MessageContext) -> bytes:
    """RFC 5555 §4.1: the HA's BA (status 0) to an IPv4 care-of address ``dst``, with the
    NAT Detection option (§3.2.2): the F flag and the keepalive refresh time NATKATIMEOUT
    behind a NAT, else no flag and refresh time 0xffffffff (as UMIP sends it): 92 bytes."""
    flags, refresh = ((NAT_DETECTION_F, NATKATIMEOUT_S) if ctx.behind_nat
                      else (0, NO_NAT_REFRESH))
    option = MobilityOption(OPT_NAT_DETECTION, struct.pack("!HI", flags, refresh), (4, 0))
    mh = mobility_header(MH_BA, _ba_data(ctx), [option],
                         checksum_src=ctx.home_agent, checksum_dst=ctx.home_address)
    return _over_udp_ipv4(ctx, _mh_packet(ctx.home_agent, ctx.home_address, mh))


def _ipv4_options(ctx: MessageContext, reply: bool, gre_key: bool) -> list[MobilityOption]:
    """RFC 5844 §3.1/§3.2: the IPv4 home address asked for (0.0.0.0: "allocate one") or
    given, as a /32; RFC 5845 §3.1: the GRE key of the downlink (PBU) or uplink (PBA)."""
    # The prefix length is the top 6 bits of its octet, the rest reserved.
    if reply:  # status 0 (success), prefix length, the address
        options = [MobilityOption(OPT_IPV4_HOA_REPLY, struct.pack(
            "!BB4s", 0, 32 << 2, ctx.ipv4_home_address), (4, 0))]
    else:
        options = [MobilityOption(OPT_IPV4_HOA_REQUEST, struct.pack(
            "!BB4s", 32 << 2, 0, bytes(4)), (4, 0))]
    if gre_key:
        options.append(MobilityOption(OPT_GRE_KEY, struct.pack(
            "!xxI", (ctx.mn << 1 | reply) & 0xFFFFFFFF), (4, 0)))
    return options


def _pmip_ipv4(ctx: MessageContext, reply: bool, gre_key: bool) -> bytes:
    """A PBU (PBA) over IPv4 transport (RFC 5844 §4.1, UDP port 5436) with the IPv4 home
    address options and, with ``gre_key``, the GRE key option."""
    def build(mapped: MessageContext) -> bytes:
        options = _pmip_options(mapped) + _ipv4_options(mapped, reply, gre_key)
        kind, data = (MH_BA, _ba_data(mapped, BA_P)) if reply else (
            MH_BU, _bu_data(mapped, BU_A | BU_H | BU_P))
        mh = mobility_header(kind, data, options, checksum_src=mapped.src,
                             checksum_dst=mapped.dst)
        return _mh_packet(mapped.src, mapped.dst, mh)
    return _over_ipv4(ctx, build)


def proxy_binding_update_ipv4_home(ctx: MessageContext) -> bytes:
    return _pmip_ipv4(ctx, False, False)


def proxy_binding_acknowledgement_ipv4_home(ctx: MessageContext) -> bytes:
    return _pmip_ipv4(ctx, True, False)


def proxy_binding_update_ipv4_gre(ctx: MessageContext) -> bytes:
    return _pmip_ipv4(ctx, False, True)


def proxy_binding_acknowledgement_ipv4_gre(ctx: MessageContext) -> bytes:
    return _pmip_ipv4(ctx, True, True)


def proxy_binding_update_redirect_capable(ctx: MessageContext) -> bytes:
    """RFC 6463 §4.1: the PBU of a new mobility session with the Redirect-Capability
    option (the MAG can be redirected): 128 bytes."""
    options = _pmip_options(ctx) + [MobilityOption(OPT_REDIRECT_CAPABILITY, bytes(2))]
    mh = mobility_header(MH_BU, _bu_data(ctx, BU_A | BU_H | BU_P), options,
                         checksum_src=ctx.src, checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def proxy_binding_acknowledgement_redirect(ctx: MessageContext) -> bytes:
    """RFC 6463 §4.2: the PBA (status 0) from the contacted LMA with the Redirect option
    naming the LMA that now holds the session (``new_home_agent``, its IPv6 address):
    144 bytes."""
    options = _pmip_options(ctx) + [MobilityOption(
        OPT_REDIRECT, struct.pack("!H16s", REDIRECT_K, ctx.new_home_agent))]
    mh = mobility_header(MH_BA, _ba_data(ctx, BA_P), options, checksum_src=ctx.src,
                         checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def proxy_binding_update_ipv4(ctx: MessageContext) -> bytes:
    """The PBU over IPv4 transport (RFC 5844 §4.1): the IPv6 header becomes IPv4 + UDP."""
    return _over_ipv4(ctx, proxy_binding_update)


def proxy_binding_acknowledgement_ipv4(ctx: MessageContext) -> bytes:
    """The PBA over IPv4 transport (RFC 5844 §4.1)."""
    return _over_ipv4(ctx, proxy_binding_acknowledgement)


def _mag_ipv6(address: bytes) -> MobilityOption:
    return MobilityOption(OPT_MAG_IPV6, struct.pack("!xB16s", 128, address), (8, 4))


def _lr_options(ctx: MessageContext, across_mags: bool) -> list[MobilityOption]:
    """RFC 6705 §6: both MNs' NAI and home network prefix; ``across_mags`` (the MNs are on
    different MAGs), the other MAG's address (MAG IPv6 Address option, §11.1: length 18).
    Wireshark 4.0 expects that option's length to be 16 while it dissects 18 octets, so it
    flags every RFC-conformant one."""
    options = [_mn_id(ctx.mn), _hnp(ctx.prefix), _mn_id(ctx.peer_mn), _hnp(ctx.peer_prefix)]
    if across_mags:
        options.append(_mag_ipv6(ctx.peer_mag))
    return options


def localized_routing_initiation(ctx: MessageContext, *, across_mags: bool = False) -> bytes:
    """RFC 6705 §10.1 LRI (MH type 17) between an LMA and a MAG about two MNs."""
    data = struct.pack("!HxxH", ctx.sequence & 0xFFFF, _lifetime_units(ctx))
    mh = mobility_header(MH_LRI, data, _lr_options(ctx, across_mags), checksum_src=ctx.src,
                         checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


def localized_routing_acknowledgement(ctx: MessageContext, *,
                                      across_mags: bool = False) -> bytes:
    """RFC 6705 §10.2 LRA (MH type 18, status 0), the answer to an LRI."""
    data = struct.pack("!HBBH", ctx.sequence & 0xFFFF, 0, 0, _lifetime_units(ctx))
    mh = mobility_header(MH_LRA, data, _lr_options(ctx, across_mags), checksum_src=ctx.src,
                         checksum_dst=ctx.dst)
    return _mh_packet(ctx.src, ctx.dst, mh)


# ================================================================ GTPv2-C (TS 29.274)
GTPV2_CREATE_SESSION_REQUEST = 32  # TS 29.274 §6.1 message types
GTPV2_CREATE_SESSION_RESPONSE = 33
GTPV2_MODIFY_BEARER_REQUEST = 34
GTPV2_MODIFY_BEARER_RESPONSE = 35
GTPV2_DELETE_SESSION_REQUEST = 36
GTPV2_DELETE_SESSION_RESPONSE = 37
GTPV2_CREATE_INDIRECT_FORWARDING_REQUEST = 166
GTPV2_CREATE_INDIRECT_FORWARDING_RESPONSE = 167
GTPV2_DELETE_INDIRECT_FORWARDING_REQUEST = 168
GTPV2_DELETE_INDIRECT_FORWARDING_RESPONSE = 169
GTPV2_RELEASE_ACCESS_BEARERS_REQUEST = 170
GTPV2_RELEASE_ACCESS_BEARERS_RESPONSE = 171

# IE types (TS 29.274 §8.1)
IE_IMSI = 1
IE_CAUSE = 2
IE_RECOVERY = 3
IE_APN = 71
IE_AMBR = 72
IE_EBI = 73
IE_IP_ADDRESS = 74
IE_MEI = 75
IE_MSISDN = 76
IE_INDICATION = 77
IE_PCO = 78
IE_PAA = 79
IE_BEARER_QOS = 80
IE_RAT_TYPE = 82
IE_SERVING_NETWORK = 83
IE_ULI = 86
IE_FTEID = 87
IE_BEARER_CONTEXT = 93
IE_CHARGING_ID = 94
IE_CHARGING_CHARACTERISTICS = 95
IE_PDN_TYPE = 99
IE_UE_TIME_ZONE = 114
IE_APN_RESTRICTION = 127
IE_SELECTION_MODE = 128
IE_CHANGE_REPORTING_ACTION = 131

# F-TEID interface types (TS 29.274 §8.22)
IF_S1U_ENB_GTPU, IF_S1U_SGW_GTPU = 0, 1
IF_S5S8_SGW_GTPU, IF_S5S8_PGW_GTPU, IF_S5S8_SGW_GTPC, IF_S5S8_PGW_GTPC = 4, 5, 6, 7
IF_S11_MME_GTPC, IF_S11_SGW_GTPC = 10, 11
IF_ENB_DL_FORWARDING, IF_ENB_UL_FORWARDING = 19, 20
IF_SGW_DL_FORWARDING, IF_SGW_UL_FORWARDING = 23, 28
IF_S2A_TWAN_GTPU, IF_S2A_TWAN_GTPC = 34, 35

CAUSE_REQUEST_ACCEPTED = 16  # TS 29.274 §8.4
RAT_WLAN, RAT_EUTRAN = 3, 6  # TS 29.274 §8.17
PDN_IPV4V6 = 3  # TS 29.274 §8.34
DEFAULT_EBI = 5  # the default bearer's EPS bearer id
PLMN_TEST = bytes([0x00, 0xF1, 0x10])  # MCC 001, MNC 01 (TS 24.008 §10.5.1.13 order)
APN = b"\x08internet"  # one label (TS 23.003 §9.1)
DNS4 = (bytes([192, 0, 2, 53]), bytes([192, 0, 2, 54]))  # RFC 5737 documentation addresses
DNS6 = bytes.fromhex("20010db8000000000000000000000053")
PCSCF4 = bytes([192, 0, 2, 60])

# TEID roles: one TEID per node and plane for each MN (top nibble = role).
TEID_SGW_C, TEID_PGW_C, TEID_SGW_U, TEID_PGW_U = 1, 2, 3, 4
TEID_MME_C, TEID_ENB_U, TEID_FORWARDING = 5, 6, 7


def teid(role: int, mn: int) -> int:
    return (role << 28) | (mn & 0x0FFFFFFF)


def _ie(ie_type: int, value: bytes, instance: int = 0) -> bytes:
    """TS 29.274 §8.2.1: type, length, spare and instance, value."""
    return struct.pack("!BHB", ie_type, len(value), instance & 0x0F) + value


def _tbcd(digits: str) -> bytes:
    """TS 29.274 §8.3 TBCD: two digits per octet, low nibble first, filler 0xF."""
    if len(digits) % 2:
        digits += "f"
    return bytes(int(digits[i + 1], 16) << 4 | int(digits[i], 16) for i in range(0, len(digits), 2))


def _fteid(interface: int, tunnel: int, address: bytes, instance: int = 0) -> bytes:
    """TS 29.274 §8.22 F-TEID with the address of the node's family."""
    flag = 0x80 if len(address) == 4 else 0x40
    return _ie(IE_FTEID, struct.pack("!BI", flag | interface, tunnel) + address, instance)


def _ebi(instance: int = 0) -> bytes:
    return _ie(IE_EBI, bytes([DEFAULT_EBI]), instance)


def _cause() -> bytes:
    return _ie(IE_CAUSE, bytes([CAUSE_REQUEST_ACCEPTED, 0]))


def _recovery() -> bytes:
    return _ie(IE_RECOVERY, bytes([1]))


def _uli(mn: int) -> bytes:
    """TS 29.274 §8.21: TAI and ECGI present (flags 0x18)."""
    tai = PLMN_TEST + struct.pack("!H", 1)
    ecgi = PLMN_TEST + struct.pack("!I", (mn & 0xFFF) << 8)
    return _ie(IE_ULI, bytes([0x18]) + tai + ecgi)


def _msisdn(mn: int) -> bytes:
    return _ie(IE_MSISDN, _tbcd(f"4917{mn % 10**10:010d}"))  # 14 digits, 7 octets


def _bearer_qos() -> bytes:
    """TS 29.274 §8.15: PCI set, priority level 9, QCI 9, no MBR/GBR (non-GBR bearer)."""
    return _ie(IE_BEARER_QOS, bytes([0x40 | 9 << 2, 9]) + bytes(20))


def _pco(containers: Sequence[tuple[int, bytes]]) -> bytes:
    """TS 24.008 §10.5.6.3 PCO: configuration protocol 0 (ext bit set), then containers."""
    value = b"\x80" + b"".join(struct.pack("!HB", cid, len(c)) + c for cid, c in containers)
    return _ie(IE_PCO, value)


def _gtpv2(ctx: MessageContext, message_type: int, tunnel: int, ies: Sequence[bytes]) -> bytes:
    """TS 29.274 §5.1 header with TEID (T flag), 24-bit sequence number, in UDP port 2123."""
    body = b"".join(ies)
    header = struct.pack("!BBHII", 0x48, message_type, 8 + len(body), tunnel & 0xFFFFFFFF,
                         (ctx.sequence & 0xFFFFFF) << 8)
    return udp(ctx.src, ctx.dst, PORT_GTPC, PORT_GTPC, header + body)


@dataclass(frozen=True, slots=True)
class GtpcInterface:
    """Which GTPv2-C interface a session message travels (TS 29.274 §7.2, the "P" and "C"
    columns of its IE tables): who sends it, and so which F-TEIDs and IEs it carries."""

    name: str
    sender: int  # the request's sender F-TEID interface type (§8.22)
    responder: int  # the response's sender F-TEID interface type
    user_plane: int  # the requester's user-plane F-TEID interface in a bearer context
    user_instance: int  # that F-TEID's instance in Create Session Request (§7.2.1, table 7.2.1-2)
    rat: int
    pgw_peer: bool  # the request also names the PGW's control-plane F-TEID (S11 only)


S5 = GtpcInterface("S5/S8", IF_S5S8_SGW_GTPC, IF_S5S8_PGW_GTPC, IF_S5S8_SGW_GTPU, 2,
                   RAT_EUTRAN, False)
S11 = GtpcInterface("S11", IF_S11_MME_GTPC, IF_S11_SGW_GTPC, IF_S1U_ENB_GTPU, 0, RAT_EUTRAN,
                    True)
S2A = GtpcInterface("S2a", IF_S2A_TWAN_GTPC, IF_S5S8_PGW_GTPC, IF_S2A_TWAN_GTPU, 6, RAT_WLAN,
                    False)


def create_session_request(ctx: MessageContext, *, on: GtpcInterface = S5,
                           relocation: bool = False) -> bytes:
    """Create Session Request (TS 29.274 §7.2.1), IPv4v6 PDN: SGW → PGW on S5/S8 with the
    IEs of a real S5/S8 capture (275 bytes over IPv4); MME → SGW on S11, which also names
    the PGW's control-plane F-TEID; TWAN → PGW on S2a (TS 23.402 §16.2), RAT WLAN. At an
    SGW relocation (``relocation``, S11) the bearer context carries the target eNB's S1-U
    F-TEID and the PGW's S5/S8-U F-TEID, which the new SGW needs (table 7.2.1-2)."""
    mn = ctx.mn
    pco = [(0x000D, b""), (0x0003, b""), (0x000A, b""), (0x0010, b""), (0x0001, b"")]
    bearer = [_ebi()]
    if on is not S11 or relocation:
        requester = TEID_ENB_U if on is S11 else TEID_SGW_U
        bearer.append(_fteid(on.user_plane, teid(requester, mn), ctx.src, on.user_instance))
    if relocation:
        bearer.append(_fteid(IF_S5S8_PGW_GTPU, teid(TEID_PGW_U, mn), ctx.dst, 3))
    bearer.append(_bearer_qos())
    ies = [
        _ie(IE_IMSI, _tbcd(f"00101{mn % 10**10:010d}")),
        _msisdn(mn),
        _ie(IE_MEI, _tbcd(f"35{mn % 10**14:014d}")),
        _uli(mn),
        _ie(IE_SERVING_NETWORK, PLMN_TEST),
        _ie(IE_RAT_TYPE, bytes([on.rat])),
        _ie(IE_INDICATION, bytes(3)),
        _fteid(on.sender, teid(TEID_MME_C if on is S11 else TEID_SGW_C, mn), ctx.src),
    ]
    if on.pgw_peer:
        ies.append(_fteid(IF_S5S8_PGW_GTPC, teid(TEID_PGW_C, mn), ctx.dst, 1))
    ies += [
        _ie(IE_APN, APN),
        _ie(IE_SELECTION_MODE, bytes([0])),
        _ie(IE_PDN_TYPE, bytes([PDN_IPV4V6])),
        _ie(IE_PAA, bytes([PDN_IPV4V6, 64]) + bytes(20)),
        _ie(IE_APN_RESTRICTION, bytes([0])),
        _ie(IE_AMBR, struct.pack("!II", 50_000, 100_000)),
        _pco(pco),
        _ie(IE_BEARER_CONTEXT, b"".join(bearer)),
        _recovery(),
        _ie(IE_UE_TIME_ZONE, bytes(2)),
        _ie(IE_CHARGING_CHARACTERISTICS, struct.pack("!H", 0x0800)),
    ]
    return _gtpv2(ctx, GTPV2_CREATE_SESSION_REQUEST, 0, ies)


def create_session_response(ctx: MessageContext, *, on: GtpcInterface = S5) -> bytes:
    """Create Session Response (TS 29.274 §7.2.2), PGW ``src`` → SGW (or TWAN) ``dst``: the
    PGW's F-TEIDs, the allocated IPv6 prefix and IPv4 address, DNS and P-CSCF in the PCO,
    the created default bearer: 240 bytes over IPv4. On S11 (SGW → MME) the SGW's own S11
    F-TEID and S1-U F-TEID join them."""
    mn = ctx.mn
    ipcp = struct.pack("!BBH", 3, 0, 16) + b"\x81\x06" + DNS4[0] + b"\x83\x06" + DNS4[1]
    pco = [(0x8021, ipcp), (0x000D, DNS4[0]), (0x000D, DNS4[1]), (0x0003, DNS6),
           (0x000C, PCSCF4), (0x0005, b"\x01"), (0x000A, b"")]
    ue4 = struct.pack("!I", 0x64400000 | (mn & 0x3FFFFF))  # 100.64.0.0/10
    bearer = [_ebi(), _cause()]
    if on is S11:
        bearer.append(_fteid(IF_S1U_SGW_GTPU, teid(TEID_SGW_U, mn), ctx.src, 0))
    bearer += [_fteid(IF_S5S8_PGW_GTPU, teid(TEID_PGW_U, mn), ctx.src, 2),
               _bearer_qos(), _ie(IE_CHARGING_ID, struct.pack("!I", mn & 0xFFFFFFFF))]
    ies = [_cause()]
    if on is S11:
        ies.append(_fteid(IF_S11_SGW_GTPC, teid(TEID_SGW_C, mn), ctx.src))
    ies += [
        _fteid(IF_S5S8_PGW_GTPC, teid(TEID_PGW_C, mn), ctx.src, 1),
        _ie(IE_PAA, bytes([PDN_IPV4V6, 64]) + ctx.prefix + ue4),
        _ie(IE_APN_RESTRICTION, bytes([0])),
        _ie(IE_AMBR, struct.pack("!II", 50_000, 100_000)),
        _pco(pco),
        _ie(IE_BEARER_CONTEXT, b"".join(bearer)),
        _recovery(),
    ]
    peer = TEID_MME_C if on is S11 else TEID_SGW_C
    return _gtpv2(ctx, GTPV2_CREATE_SESSION_RESPONSE, teid(peer, mn), ies)


def modify_bearer_request(ctx: MessageContext, *, on: GtpcInterface = S5) -> bytes:
    """Modify Bearer Request (TS 29.274 §7.2.7). On S5/S8, after an SGW relocation, new SGW
    ``src`` → PGW ``dst``: location, indication flags (4 octets), the new SGW's control and
    user plane F-TEIDs: 100 bytes over IPv4. On S11, MME → SGW at a path switch or after
    an attach: location and the eNB's S1-U F-TEID in the bearer context."""
    mn = ctx.mn
    if on is S11:
        bearer = [_ebi(), _fteid(IF_S1U_ENB_GTPU, teid(TEID_ENB_U, mn), ctx.src, 0)]
        ies = [_uli(mn), _ie(IE_BEARER_CONTEXT, b"".join(bearer))]
        return _gtpv2(ctx, GTPV2_MODIFY_BEARER_REQUEST, teid(TEID_SGW_C, mn), ies)
    bearer = [_ebi(), _fteid(IF_S5S8_SGW_GTPU, teid(TEID_SGW_U, mn), ctx.src, 1)]
    ies = [
        _uli(mn),
        _ie(IE_INDICATION, bytes(4)),
        _fteid(IF_S5S8_SGW_GTPC, teid(TEID_SGW_C, mn), ctx.src),
        _ie(IE_BEARER_CONTEXT, b"".join(bearer)),
    ]
    return _gtpv2(ctx, GTPV2_MODIFY_BEARER_REQUEST, teid(TEID_PGW_C, mn), ies)


def modify_bearer_response(ctx: MessageContext, *, on: GtpcInterface = S5) -> bytes:
    """Modify Bearer Response (TS 29.274 §7.2.8). PGW → SGW: cause, MSISDN, linked bearer,
    APN restriction, change reporting action, recovery, the modified bearer with its
    charging id: 100 bytes over IPv4. SGW → MME on S11: cause and the modified bearer with
    the SGW's S1-U F-TEID."""
    mn = ctx.mn
    if on is S11:
        bearer = [_ebi(), _cause(), _fteid(IF_S1U_SGW_GTPU, teid(TEID_SGW_U, mn), ctx.src, 0)]
        ies = [_cause(), _ie(IE_BEARER_CONTEXT, b"".join(bearer))]
        return _gtpv2(ctx, GTPV2_MODIFY_BEARER_RESPONSE, teid(TEID_MME_C, mn), ies)
    bearer = [_ebi(), _cause(), _ie(IE_CHARGING_ID, struct.pack("!I", mn & 0xFFFFFFFF))]
    ies = [
        _cause(),
        _msisdn(mn),
        _ebi(),
        _ie(IE_APN_RESTRICTION, bytes([0])),
        _ie(IE_CHANGE_REPORTING_ACTION, bytes([0])),
        _recovery(),
        _ie(IE_BEARER_CONTEXT, b"".join(bearer)),
    ]
    return _gtpv2(ctx, GTPV2_MODIFY_BEARER_RESPONSE, teid(TEID_SGW_C, mn), ies)


def delete_session_request(ctx: MessageContext, *, on: GtpcInterface = S5,
                           operation_indication: bool = False) -> bytes:
    """Delete Session Request (TS 29.274 §7.2.9.1): linked EPS bearer id and user location,
    SGW → PGW (62 bytes over IPv4). On S11, MME → SGW, also the indication flags: with
    Operation Indication clear to the SGW left at a relocation, which releases its own state
    and does not delete the session at the PGW (TS 23.401 §5.5.1.1.3 step 7); set for a PDN
    disconnection, which the SGW carries on to the gateway (§5.10.3; the OI flag is bit 4 of
    the first flags octet, §8.12)."""
    ies = [_ebi(), _uli(ctx.mn)]
    if on is S11:
        ies.append(_ie(IE_INDICATION, bytes([0x08 if operation_indication else 0, 0, 0, 0])))
    peer = TEID_SGW_C if on is S11 else TEID_PGW_C
    return _gtpv2(ctx, GTPV2_DELETE_SESSION_REQUEST, teid(peer, ctx.mn), ies)


def delete_session_response(ctx: MessageContext) -> bytes:
    """Delete Session Response (TS 29.274 §7.2.10.1): cause and recovery: 51 bytes over
    IPv4, on S5/S8 and S11 alike."""
    ies = [_cause(), _recovery()]
    return _gtpv2(ctx, GTPV2_DELETE_SESSION_RESPONSE, teid(TEID_SGW_C, ctx.mn), ies)


def _forwarding_bearer(ctx: MessageContext, interfaces: tuple[int, int],
                       cause: bool) -> bytes:
    items = [_ebi()] + ([_cause()] if cause else []) + [
        _fteid(interface, teid(TEID_FORWARDING, ctx.mn) + i, ctx.src, i)
        for i, interface in enumerate(interfaces)]
    return _ie(IE_BEARER_CONTEXT, b"".join(items))


def create_indirect_forwarding_request(ctx: MessageContext) -> bytes:
    """Create Indirect Data Forwarding Tunnel Request (TS 29.274 §7.2.18), MME → SGW in an
    S1-based handover (TS 23.401 §5.5.1.2.2 steps 6 and 8): per bearer the eNB's DL and UL
    forwarding F-TEIDs."""
    bearer = _forwarding_bearer(ctx, (IF_ENB_DL_FORWARDING, IF_ENB_UL_FORWARDING), False)
    return _gtpv2(ctx, GTPV2_CREATE_INDIRECT_FORWARDING_REQUEST, teid(TEID_SGW_C, ctx.mn),
                  [bearer])


def create_indirect_forwarding_response(ctx: MessageContext) -> bytes:
    """Create Indirect Data Forwarding Tunnel Response (§7.2.19): cause, and per bearer its
    cause and the SGW's DL and UL forwarding F-TEIDs."""
    bearer = _forwarding_bearer(ctx, (IF_SGW_DL_FORWARDING, IF_SGW_UL_FORWARDING), True)
    return _gtpv2(ctx, GTPV2_CREATE_INDIRECT_FORWARDING_RESPONSE, teid(TEID_MME_C, ctx.mn),
                  [_cause(), bearer])


def delete_indirect_forwarding_request(ctx: MessageContext) -> bytes:
    """Delete Indirect Data Forwarding Tunnel Request (§7.2.12), MME → SGW once the S1-based
    handover is over: the header alone (the TEID names the tunnels)."""
    return _gtpv2(ctx, GTPV2_DELETE_INDIRECT_FORWARDING_REQUEST, teid(TEID_SGW_C, ctx.mn), [])


def delete_indirect_forwarding_response(ctx: MessageContext) -> bytes:
    """Delete Indirect Data Forwarding Tunnel Response (its answer, §7.2.13): cause."""
    return _gtpv2(ctx, GTPV2_DELETE_INDIRECT_FORWARDING_RESPONSE, teid(TEID_MME_C, ctx.mn),
                  [_cause()])


def release_access_bearers_request(ctx: MessageContext) -> bytes:
    """Release Access Bearers Request (§7.2.21), MME → SGW when the S1 connection is
    released (TS 23.401 §5.3.5): every IE is conditional or optional, none applies on S11
    for E-UTRAN, so the header alone."""
    return _gtpv2(ctx, GTPV2_RELEASE_ACCESS_BEARERS_REQUEST, teid(TEID_SGW_C, ctx.mn), [])


def release_access_bearers_response(ctx: MessageContext) -> bytes:
    """Release Access Bearers Response (§7.2.22): cause and recovery."""
    return _gtpv2(ctx, GTPV2_RELEASE_ACCESS_BEARERS_RESPONSE, teid(TEID_MME_C, ctx.mn),
                  [_cause(), _recovery()])


# ---------------------------------------------------------------- IKEv2 (RFC 7296)
# The exchange an MN runs with a new MAP for its RCoA (RFC 5380 §10, RFC 4877): IKE_SA_INIT
# and IKE_AUTH, the RCoA asked for and given in a configuration payload. One common suite:
# AES-CBC-128, HMAC-SHA2-256 (PRF and 128-bit ICV), Diffie-Hellman group 14 (2048-bit MODP).
IKE_SA_INIT, IKE_AUTH = 34, 35  # exchange types (§3.1)
IKE_FLAG_INITIATOR, IKE_FLAG_RESPONSE = 0x08, 0x20
PL_NONE, PL_SA, PL_KE, PL_IDI, PL_IDR, PL_AUTH, PL_NONCE = 0, 33, 34, 35, 36, 39, 40
PL_TSI, PL_TSR, PL_SK, PL_CP = 44, 45, 46, 47
PROTO_IKE, PROTO_ESP = 1, 3  # §3.3.1 protocol ids
DH_GROUP_14, DH_GROUP_14_BYTES = 14, 256  # RFC 3526 §3
NONCE_BYTES, IV_BYTES, ICV_BYTES, AUTH_BYTES = 32, 16, 16, 32
ID_IPV6_ADDR, AUTH_SHARED_KEY = 5, 2  # §3.5, §3.8
CFG_REQUEST, CFG_REPLY, INTERNAL_IP6_ADDRESS = 1, 2, 8  # §3.15
TS_IPV6_ADDR_RANGE = 8  # §3.13.1


def _ike_payloads(payloads: Sequence[tuple[int, bytes]]) -> tuple[int, bytes]:
    """Chained generic payload headers (§3.2): (type of the first, the payloads)."""
    out = b""
    for i, (_, body) in enumerate(payloads):
        following = payloads[i + 1][0] if i + 1 < len(payloads) else PL_NONE
        out += struct.pack("!BBH", following, 0, 4 + len(body)) + body
    return (payloads[0][0] if payloads else PL_NONE), out


def _ike_transform(kind: int, transform_id: int, key_bits: int | None, last: bool) -> bytes:
    """§3.3.2 transform substructure, with a key length attribute (TV format) if given."""
    attributes = b"" if key_bits is None else struct.pack("!HH", 0x800E, key_bits)
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attributes), kind, 0,
                       transform_id) + attributes


def _ike_proposal(protocol: int, spi: bytes, transforms: Sequence[tuple[int, int, int | None]]
                  ) -> bytes:
    """§3.3.1: one proposal (the last) of ``transforms`` (type, id, key bits)."""
    body = b"".join(_ike_transform(k, i, bits, n == len(transforms) - 1)
                    for n, (k, i, bits) in enumerate(transforms))
    return struct.pack("!BBHBBBB", 0, 0, 8 + len(spi) + len(body), 1, protocol, len(spi),
                       len(transforms)) + spi + body


_IKE_SUITE = [(1, 12, 128), (2, 5, None), (3, 12, None), (4, DH_GROUP_14, None)]  # SA of IKE
_ESP_SUITE = [(1, 12, 128), (3, 12, None), (5, 0, None)]  # ESP: AES-CBC, HMAC, no ESN


def _ike_message(ctx: MessageContext, exchange: int, response: bool,
                 payloads: Sequence[tuple[int, bytes]]) -> bytes:
    """An IKEv2 message (§3.1 header) over UDP port 500 between ``src`` and ``dst``."""
    first, body = _ike_payloads(payloads)
    spi_i = struct.pack("!II", ctx.mn & 0xFFFFFFFF, 0x1CE1)
    spi_r = bytes(8) if exchange == IKE_SA_INIT and not response else struct.pack(
        "!II", ctx.mn & 0xFFFFFFFF, 0x1CE2)
    flags = IKE_FLAG_RESPONSE if response else IKE_FLAG_INITIATOR
    message_id = 0 if exchange == IKE_SA_INIT else 1
    header = spi_i + spi_r + struct.pack("!BBBBII", first, 0x20, exchange, flags, message_id,
                                         28 + len(body))
    return udp(ctx.src, ctx.dst, PORT_IKE, PORT_IKE, header + body)


def _filler(ctx: MessageContext, n: int, salt: int) -> bytes:
    """``n`` deterministic bytes standing for key material, nonces or ciphertext."""
    return (_token(ctx, salt) * (n // 8 + 1))[:n]


def _sa_init(ctx: MessageContext, response: bool) -> bytes:
    """§1.2 IKE_SA_INIT: SA, KE (group 14) and nonce: 424 bytes over IPv6."""
    key = struct.pack("!HH", DH_GROUP_14, 0) + _filler(ctx, DH_GROUP_14_BYTES, 11 + response)
    return _ike_message(ctx, IKE_SA_INIT, response, [
        (PL_SA, _ike_proposal(PROTO_IKE, b"", _IKE_SUITE)), (PL_KE, key),
        (PL_NONCE, _filler(ctx, NONCE_BYTES, 13 + response))])


def _traffic_selector(address: bytes) -> bytes:
    """§3.13: one IPv6 range selector, every protocol and port, of ``address`` alone."""
    return struct.pack("!BxxxBBHHH", 1, TS_IPV6_ADDR_RANGE, 0, 40, 0, 0xFFFF) + address * 2


def _ike_auth(ctx: MessageContext, response: bool) -> bytes:
    """§1.2 IKE_AUTH: identity, AUTH, the RCoA asked for (request) or given (reply) in a
    configuration payload, the ESP SA and traffic selectors, all inside the encrypted SK
    payload (§3.14: IV, ciphertext padded to the block, ICV): 336 / 352 bytes over IPv6."""
    identity = struct.pack("!Bxxx", ID_IPV6_ADDR) + (ctx.dst if response else ctx.src)
    auth = struct.pack("!Bxxx", AUTH_SHARED_KEY) + _filler(ctx, AUTH_BYTES, 15 + response)
    value = ctx.home_address + bytes([64]) if response else b""  # the RCoA and its prefix
    config = struct.pack("!Bxxx", CFG_REPLY if response else CFG_REQUEST) + struct.pack(
        "!HH", INTERNAL_IP6_ADDRESS, len(value)) + value
    esp = _ike_proposal(PROTO_ESP, _filler(ctx, 4, 17 + response), _ESP_SUITE)
    selectors = struct.pack("!Bxxx", 1) + _traffic_selector(ctx.home_address)
    first, inner = _ike_payloads([(PL_IDR if response else PL_IDI, identity), (PL_AUTH, auth),
                                  (PL_CP, config), (PL_SA, esp), (PL_TSI, selectors),
                                  (PL_TSR, selectors)])
    padded = len(inner) + 1 + (-(len(inner) + 1)) % IV_BYTES  # + pad length octet
    body = (_filler(ctx, IV_BYTES, 19) + _filler(ctx, padded, 21 + response)
            + _filler(ctx, ICV_BYTES, 23))
    # The SK payload's Next Payload names the first encrypted payload (§3.14).
    sk = struct.pack("!BBH", first, 0, 4 + len(body)) + body
    flags = IKE_FLAG_RESPONSE if response else IKE_FLAG_INITIATOR
    spi = struct.pack("!II", ctx.mn & 0xFFFFFFFF, 0x1CE1) + struct.pack(
        "!II", ctx.mn & 0xFFFFFFFF, 0x1CE2)
    header = spi + struct.pack("!BBBBII", PL_SK, 0x20, IKE_AUTH, flags, 1, 28 + len(sk))
    return udp(ctx.src, ctx.dst, PORT_IKE, PORT_IKE, header + sk)


def ike_sa_init_request(ctx: MessageContext) -> bytes:
    return _sa_init(ctx, False)


def ike_sa_init_response(ctx: MessageContext) -> bytes:
    return _sa_init(ctx, True)


def ike_auth_request(ctx: MessageContext) -> bytes:
    return _ike_auth(ctx, False)


def ike_auth_response(ctx: MessageContext) -> bytes:
    return _ike_auth(ctx, True)
