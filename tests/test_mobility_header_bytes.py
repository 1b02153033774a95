"""The Mobile IPv6 and NEMO messages dmmemu writes, byte for byte against scapy's builders
of the same messages (scapy is a test oracle only: its IPv6 mobility layers, RFC 6275 §6.1
and §6.2, and RFC 3963's Mobile Network Prefix option): the home registration BU and its BA,
the return-routability messages (HoTI, HoT, CoTI, CoT), the BU to a correspondent with its
nonce indices and binding authorization data, and the mobile router's BU with its prefix.
Each scapy packet is built from the values the message must carry (sequence, flags,
lifetime, cookies, tokens, options), never by parsing dmmemu's bytes; checksums are
scapy's own, over its pseudo-header (the home address option's address as source, the
type 2 routing header's as destination, RFC 6275 §6.1.1)."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BU,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
    MIP6MH_CoT,
    MIP6MH_CoTI,
    MIP6MH_HoT,
    MIP6MH_HoTI,
    MIP6OptBindingAuthData,
    MIP6OptMobNetPrefix,
    MIP6OptNonceIndices,
)

from dmmemu.wire import packets as wire

MN = 0x2A
SEQUENCE = 7
LIFETIME_S = 3600
COA, HA, HOA, CN = "2001:db8:1::7", "2001:db8::1", "2001:db8:2::7", "2001:db8:3::1"
PREFIX = "2001:db8:4::"


def raw(text: str) -> bytes:
    return ipaddress.IPv6Address(text).packed


def context(src: str, dst: str) -> wire.MessageContext:
    return wire.MessageContext(src=raw(src), dst=raw(dst), mn=MN, home_address=raw(HOA),
                               care_of_address=raw(COA), prefix=raw(PREFIX),
                               sequence=SEQUENCE, lifetime_s=LIFETIME_S)


def token(salt: int) -> bytes:
    """The 8 bytes dmmemu stands a cookie, token or authenticator in with (its MN, the
    sequence number and a salt per field): the same bytes scapy is given."""
    return struct.pack("!IHH", MN, SEQUENCE, salt)


def with_hao(mh) -> bytes:
    """A packet from the care-of address to the HA or CN with the home address option in a
    destination options header (RFC 6275 §6.3), scapy aligning it at 8n + 6."""
    return bytes(IPv6(src=COA, dst=HA if mh.flags.H else CN)
                 / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) / mh)


def bu(flags: str, options=()):
    """scapy's BU with ``flags`` (its letters: A, H, R), the sequence number and lifetime."""
    return MIP6MH_BU(seq=SEQUENCE, flags=flags, mhtime=LIFETIME_S // 4,
                     options=list(options))


CASES = {
    "BU home registration (A, H)": (
        wire.binding_update_home, (COA, HA),
        lambda: with_hao(bu("AH"))),
    "BU of a mobile router (A, H, R) with a Mobile Network Prefix option (RFC 3963)": (
        wire.binding_update_mobile_router, (COA, HA),
        lambda: with_hao(bu("AHR", [MIP6OptMobNetPrefix(plen=64, prefix=PREFIX)]))),
    "BU to a correspondent with nonce indices and binding authorization data": (
        wire.binding_update_correspondent, (COA, CN),
        lambda: with_hao(bu("A", [MIP6OptNonceIndices(olen=4, hni=SEQUENCE, coni=SEQUENCE),
                                MIP6OptBindingAuthData(
                                    olen=12, authenticator=int.from_bytes(
                                        token(5) + token(6)[:4], "big"))]))),
    "BA to the care-of address, type 2 routing header": (
        wire.binding_acknowledgement, (HA, COA),
        lambda: bytes(IPv6(src=HA, dst=COA) / IPv6ExtHdrRouting(type=2, segleft=1,
                                                                  addresses=[HOA])
                      / MIP6MH_BA(status=0, flags=0, seq=SEQUENCE,
                                  mhtime=LIFETIME_S // 4))),
    "HoTI": (wire.home_test_init, (HOA, CN),
             lambda: bytes(IPv6(src=HOA, dst=CN) / MIP6MH_HoTI(cookie=token(1)))),
    "CoTI": (wire.care_of_test_init, (COA, CN),
             lambda: bytes(IPv6(src=COA, dst=CN) / MIP6MH_CoTI(cookie=token(2)))),
    "HoT": (wire.home_test, (CN, HOA),
            lambda: bytes(IPv6(src=CN, dst=HOA) / MIP6MH_HoT(index=SEQUENCE, cookie=token(1),
                                                             token=token(3)))),
    "CoT": (wire.care_of_test, (CN, COA),
            lambda: bytes(IPv6(src=CN, dst=COA) / MIP6MH_CoT(index=SEQUENCE, cookie=token(2),
                                                             token=token(4)))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_message_bytes_equal_scapys(name: str) -> None:
    build, (src, dst), oracle = CASES[name]
    ours = build(context(src, dst))
    theirs = oracle()
    assert ours.hex() == theirs.hex()
