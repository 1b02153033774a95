"""The GTP and GRE packets epc writes, byte for byte against scapy's builders of the same
messages (scapy is a test oracle only: its contrib GTP and GTPv2 layers, TS 29.281 and
TS 29.274, and its GRE layer, RFC 2784 with RFC 2890's key)."""

from __future__ import annotations

from scapy.contrib import gtp_v2 as g
from scapy.contrib.gtp import GTP_U_Header
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import GRE
from scapy.packet import Raw

from dmmemu.wire import packets as wire

SRC, DST = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
MN = 7
CTX = wire.MessageContext(src=SRC, dst=DST, mn=MN, sequence=3)
INNER = wire.data_packet(200, src=(bytes(15) + b"\x01", SRC), dst=(bytes(15) + b"\x02", DST),
                         sport=1, dport=2)


def udp_datagram(packet: bytes) -> bytes:
    """The UDP header and payload of an IPv4 packet (the IP header's id and TTL are our
    choices, not the protocol's)."""
    return packet[(packet[0] & 0x0F) * 4:]


def scapy_udp(payload) -> bytes:
    """scapy's UDP datagram between the same IPv4 addresses (the checksum over the same
    pseudo-header)."""
    return bytes(IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=2152, dport=2152)
                 / payload)[20:]


def gtpv2(message_type: int, teid_role: int, *ies) -> bytes:
    header = g.GTPHeader(P=0, gtp_type=message_type, teid=wire.teid(teid_role, MN), seq=3)
    packet = header
    for ie in ies:
        packet = packet / ie
    return bytes(packet)


def fteid(interface: int, role: int, instance: int = 0):
    return g.IE_FTEID(ipv4_present=1, InterfaceType=interface, GRE_Key=wire.teid(role, MN),
                      ipv4="192.0.2.1", instance=instance)


def test_gtpu_g_pdu() -> None:
    ours = wire.gtpu(INNER, SRC, DST, teid=1)
    assert udp_datagram(ours) == scapy_udp(GTP_U_Header(gtp_type=255, teid=1) / Raw(INNER))


def test_gtpu_end_marker() -> None:
    ours = wire.gtpu_end_marker(CTX)
    theirs = GTP_U_Header(gtp_type=254, teid=wire.teid(wire.TEID_ENB_U, MN), length=0)
    assert udp_datagram(ours) == scapy_udp(theirs)


def test_keyed_gre() -> None:
    ours = wire.gre(INNER, SRC, DST, key=1)
    assert ours[20:] == bytes(GRE(key_present=1, key=1, proto=0x86DD) / Raw(INNER))


def test_modify_bearer_request_on_s11() -> None:
    uli = g.IE_ULI(TAI_Present=1, ECGI_Present=1, TAI=g.ULI_TAI(MCC="001", MNC="01", TAC=1),
                   ECGI=g.ULI_ECGI(MCC="001", MNC="01", ECI=MN << 8))
    bearer = g.IE_BearerContext(IE_list=[
        g.IE_EPSBearerID(EBI=wire.DEFAULT_EBI),
        fteid(wire.IF_S1U_ENB_GTPU, wire.TEID_ENB_U)])
    ours = wire.modify_bearer_request(CTX, on=wire.S11)
    assert ours[28:] == gtpv2(34, wire.TEID_SGW_C, uli, bearer)


def test_delete_session_response() -> None:
    ours = wire.delete_session_response(CTX)
    assert ours[28:] == gtpv2(37, wire.TEID_SGW_C, g.IE_Cause(Cause=16),
                              g.IE_RecoveryRestart(restart_counter=1))


def test_create_indirect_forwarding_tunnel_request() -> None:
    bearer = g.IE_BearerContext(IE_list=[
        g.IE_EPSBearerID(EBI=wire.DEFAULT_EBI),
        fteid(wire.IF_ENB_DL_FORWARDING, wire.TEID_FORWARDING),
        g.IE_FTEID(ipv4_present=1, InterfaceType=wire.IF_ENB_UL_FORWARDING,
                   GRE_Key=wire.teid(wire.TEID_FORWARDING, MN) + 1, ipv4="192.0.2.1",
                   instance=1)])
    ours = wire.create_indirect_forwarding_request(CTX)
    assert ours[28:] == gtpv2(166, wire.TEID_SGW_C, bearer)


def test_delete_indirect_forwarding_tunnel_request_is_a_bare_header() -> None:
    ours = wire.delete_indirect_forwarding_request(CTX)
    assert ours[28:] == gtpv2(168, wire.TEID_SGW_C)
