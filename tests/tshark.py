"""tshark as the test oracle for packets dmmemu writes: reading a pcap back as JSON, and the
questions the wire and pcap tests ask of a dissection (protocol chain, malformed packets,
expert info, per-layer lengths). Shared by tests/test_wire.py and tests/test_pcap.py."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

TSHARK_INSTALL = "tshark is not installed; install it with `apt-get install -y tshark`"
# The UDP tunnels have no port Wireshark knows (RFC 5555 port 4191, RFC 5844 port 5437). They
# carry IPv6 or IPv4 packets, so their payload goes to the "ip" dissector, which hands an
# IPv6 packet on to the IPv6 one (and names itself in the chain: see ``protocols``).
TSHARK_OPTIONS = ["-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                  "-d", "udp.port==4191,ip", "-d", "udp.port==5437,ip"]
PI_WARN = 0x00600000  # epan/proto.h expert severities: chat, note, warn, error
MALFORMED = "_ws.malformed"
EXPERT = "_ws.expert"


def need_tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.skip(TSHARK_INSTALL)
    return path


def write_pcap(path: Path, packets: list[tuple[int, bytes]]) -> None:
    """A LINKTYPE_RAW pcap with nanosecond timestamps, written independently of dmmemu.report.pcap."""
    with path.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 101))
        for t, packet in packets:
            fh.write(struct.pack("<IIII", t // 10**9, t % 10**9, len(packet), len(packet)))
            fh.write(packet)


def read_pcap(path: Path) -> list[tuple[int, bytes]]:
    """(time in ns, packet) of each record of a nanosecond pcap, read independently of
    dmmemu.report.pcap; every record whole (captured length = original length)."""
    raw = path.read_bytes()
    packets, offset = [], 24
    while offset < len(raw):
        seconds, nanoseconds, included, original = struct.unpack("<IIII", raw[offset:offset + 16])
        assert included == original and nanoseconds < 10**9
        packets.append((seconds * 10**9 + nanoseconds, raw[offset + 16:offset + 16 + included]))
        offset += 16 + included
    assert offset == len(raw)
    return packets


def dissect(path: Path) -> list[dict[str, Any]]:
    """tshark's full dissection of every packet (its ``layers`` object)."""
    tshark = need_tshark()
    done = subprocess.run([tshark, "-r", str(path), "-T", "json", "--no-duplicate-keys",
                           *TSHARK_OPTIONS], capture_output=True, text=True, check=True)
    return [packet["_source"]["layers"] for packet in json.loads(done.stdout)]


def values(tree: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere in a dissection, in tree order (lists flattened)."""
    found: list[Any] = []
    for k, v in _items(tree):
        if k == key:
            found.extend(v if isinstance(v, list) else [v])
    return found


def _items(tree: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield k, v
            yield from _items(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from _items(v)


def problems(layers: dict[str, Any]) -> list[str]:
    """Malformed-packet markers and expert infos at warning or error severity, except the
    one Wireshark's own Home Agent Switch dissector causes (``has_misread``)."""
    found = [MALFORMED for _ in values(layers, MALFORMED)]
    for expert in values(layers, EXPERT):
        severity = int(expert.get("_ws.expert.severity", 0)) if isinstance(expert, dict) else 0
        if severity >= PI_WARN:
            found.append(expert.get("_ws.expert.message", json.dumps(expert)))
    if has_misread(layers):
        found = [p for p in found if not p.endswith(OPTION_PAST_END)]
    return found


OPTION_PAST_END = "(length byte past end of options)"


def has_misread(layers: dict[str, Any]) -> bool:
    """A Home Agent Switch (RFC 5142 §4, MH type 12) that Wireshark misreads: its
    dissect_mip6_has (epan/dissectors/packet-mip6.c) returns the message data's length
    without the 6 bytes of the Mobility Header before it, so the mobility options are read
    from inside the last home agent address, whose final bytes come out as options running
    past the header's end. Only when the header is the RFC's: its length (hlen + 1) x 8
    octets is exactly the 6-byte header, the 2 bytes of count and reserved and the
    addresses, and no real option follows."""
    if "12" not in values(layers, "mip6.mhtype"):
        return False
    count = int(values(layers, "mip6.has.num_addrs")[0])
    length = (int(values(layers, "mip6.hlen")[0]) + 1) * 8
    return (length == 6 + 2 + 16 * count
            and len(values(layers, "mip6.has.address")) == count)


def protocols(layers: dict[str, Any]) -> str:
    """The protocol chain, without the "ip" step Wireshark's IP dissector adds when a UDP
    tunnel's payload (decoded as "ip") turns out to be IPv6: "udp:ip:ipv6" is one header."""
    return layers["frame"]["frame.protocols"].replace(":udp:ip:ipv6", ":udp:ipv6")


def check_fields(layers: dict[str, Any], fields: dict[str, str | None]) -> None:
    for key, expected in fields.items():
        found = values(layers, key)
        assert found, f"no field {key}"
        if expected is not None:
            assert expected in found, f"{key}: {found}"


def _ip_lengths(layers: dict[str, Any]) -> list[int]:
    """Total length of each IP header, outermost first, from the protocol chain."""
    ip4 = iter(values(layers, "ip.len"))
    ip6 = iter(values(layers, "ipv6.plen"))
    out = []
    for proto in protocols(layers).split(":"):
        if proto == "ip":
            out.append(int(next(ip4)))
        elif proto == "ipv6":
            out.append(int(next(ip6)) + 40)
    return out


def outer_ip_length(layers: dict[str, Any]) -> int:
    return _ip_lengths(layers)[0]


def innermost_ip_length(layers: dict[str, Any]) -> int:
    return _ip_lengths(layers)[-1]


def frame_time_ns(layers: dict[str, Any]) -> int:
    return int(Decimal(layers["frame"]["frame.time_epoch"]) * 10**9)
