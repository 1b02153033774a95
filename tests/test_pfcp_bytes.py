"""The N4 messages (PFCP, TS 29.244) the 5G practices count, byte for byte against scapy's
builders of the same messages from the same IEs (scapy is a test oracle only: its contrib
PFCP layer), and dissected by scapy with no IE it does not know."""

from __future__ import annotations

import pytest
from scapy.contrib import pfcp as p
from scapy.packet import Raw

from dmmemu.wire import packets as wire
from dmmemu.wire import pfcp

SRC, DST = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
MN = 7
CTX = wire.MessageContext(src=SRC, dst=DST, mn=MN, sequence=3)
SMF_SEID, UPF_SEID = (1 << 56) | MN, (2 << 56) | MN
FORWARD = {"FORW": 1, "extra_data": b"\x00"}  # Rel-16's second octet of Apply Action


def pfcp_message(ours: bytes) -> bytes:
    """The PFCP message of one of our IPv4/UDP packets, after checking its ports."""
    assert ours[20:24] == bytes.fromhex("22652265")  # UDP 8805 -> 8805
    return ours[28:]


def header(message, seid: int):
    return p.PFCP(version=1, S=1, seid=seid, seq=3) / message


def test_session_establishment_request() -> None:
    uplink = p.IE_CreatePDR(IE_list=[
        p.IE_PDR_Id(id=1), p.IE_Precedence(precedence=255),
        p.IE_PDI(IE_list=[p.IE_SourceInterface(interface=0), p.IE_FTEID(CH=1, V4=1),
                          p.IE_QFI(QFI=9)]),
        p.IE_OuterHeaderRemoval(header=0), p.IE_FAR_Id(id=1)])
    downlink = p.IE_CreatePDR(IE_list=[
        p.IE_PDR_Id(id=2), p.IE_Precedence(precedence=255),
        p.IE_PDI(IE_list=[p.IE_SourceInterface(interface=1),
                          p.IE_UE_IP_Address(SD=1, V4=1, ipv4="198.51.100.7")]),
        p.IE_FAR_Id(id=2)])
    theirs = header(p.PFCPSessionEstablishmentRequest(IE_list=[
        p.IE_NodeId(id_type=0, ipv4="192.0.2.1"),
        p.IE_FSEID(v4=1, seid=SMF_SEID, ipv4="192.0.2.1"),
        uplink, downlink,
        p.IE_CreateFAR(IE_list=[p.IE_FAR_Id(id=1), p.IE_ApplyAction(**FORWARD),
                                p.IE_ForwardingParameters(IE_list=[
                                    p.IE_DestinationInterface(interface=1)])]),
        p.IE_CreateFAR(IE_list=[p.IE_FAR_Id(id=2),
                                p.IE_ApplyAction(BUFF=1, NOCP=1, extra_data=b"\x00")]),
        p.IE_PDNType(pdn_type=1)]), seid=0)
    assert pfcp_message(pfcp.session_establishment_request(CTX)) == bytes(theirs)


def test_session_establishment_response() -> None:
    theirs = header(p.PFCPSessionEstablishmentResponse(IE_list=[
        p.IE_NodeId(id_type=0, ipv4="192.0.2.1"), p.IE_Cause(cause=1),
        p.IE_FSEID(v4=1, seid=UPF_SEID, ipv4="192.0.2.1"),
        p.IE_CreatedPDR(IE_list=[
            p.IE_PDR_Id(id=1),
            p.IE_FTEID(V4=1, TEID=wire.teid(wire.TEID_PGW_U, MN), ipv4="192.0.2.1")])]),
        seid=SMF_SEID)
    assert pfcp_message(pfcp.session_establishment_response(CTX)) == bytes(theirs)


def test_session_modification_request_switches_the_downlink() -> None:
    theirs = header(p.PFCPSessionModificationRequest(IE_list=[p.IE_UpdateFAR(IE_list=[
        p.IE_FAR_Id(id=2), p.IE_ApplyAction(**FORWARD),
        p.IE_UpdateForwardingParameters(IE_list=[
            p.IE_DestinationInterface(interface=0),
            p.IE_OuterHeaderCreation(GTPUUDPIPV4=1, TEID=wire.teid(wire.TEID_ENB_U, MN),
                                     ipv4="192.0.2.2")])])]), seid=UPF_SEID)
    assert pfcp_message(pfcp.session_modification_request(CTX)) == bytes(theirs)


@pytest.mark.parametrize("ours, message, seid", [
    (pfcp.session_modification_response, p.PFCPSessionModificationResponse, SMF_SEID),
    (pfcp.session_deletion_response, p.PFCPSessionDeletionResponse, SMF_SEID),
])
def test_responses_carry_the_cause(ours, message, seid) -> None:
    theirs = header(message(IE_list=[p.IE_Cause(cause=1)]), seid=seid)
    assert pfcp_message(ours(CTX)) == bytes(theirs)


def test_session_deletion_request_is_a_bare_header() -> None:
    theirs = p.PFCP(version=1, S=1, seid=UPF_SEID, seq=3, message_type=54)
    assert pfcp_message(pfcp.session_deletion_request(CTX)) == bytes(theirs)


@pytest.mark.parametrize("build", [
    pfcp.session_establishment_request, pfcp.session_establishment_response,
    pfcp.session_modification_request, pfcp.session_modification_response,
    pfcp.session_deletion_request, pfcp.session_deletion_response])
def test_scapy_reads_every_ie(build) -> None:
    message = pfcp_message(build(CTX))
    parsed = p.PFCP(message)
    assert bytes(parsed) == message
    assert not parsed.haslayer(Raw) and not parsed.haslayer(p.IE_NotImplemented)
