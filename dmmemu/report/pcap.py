"""Export a sample of emulated packets as a pcap file Wireshark can read.

``export_pcap`` replays a trace through the pure-Python reference engine with an observer that
is told every delivered packet (§7.5) and every counted signaling message (§4), and writes the
earliest ``limit`` of them as real packets, built by ``dmmemu.wire.packets``, the same builders whose
sizes ``dmmemu.wire.sizes`` gives the practices. A data packet is written as it crosses one chain
segment, with that segment's outer headers; a signaling message as one whole IP packet.

File format: classic libpcap, nanosecond timestamps (magic ``0xa1b23c4d``), link type
LINKTYPE_RAW (101): each record is one IP packet, IPv4 or IPv6, with no link-layer header.
Timestamps are the trace's times (ns since the epoch of the trace, 1970 for a trace that
starts at 0), or shifted so that the trace's first instant is a chosen wall-clock time
(``epoch_ns``, ``dmmemu pcap --epoch``): a data packet at its trace time plus any
buffering wait (§7.4), a signaling message when its program sends it (§4: after the interruption components that precede the
signaling, and after the legs it follows). Refreshes start at ``reg_t + k·lifetime``.

Addresses (all from documentation ranges, so nothing in the file routes anywhere):

| what | IPv6 | IPv4 |
|---|---|---|
| node ``n`` (anchor, PoA/MAG, CN) | ``2001:db8::<n>`` | ``10.0.0.0 + n`` |
| MN ``m``'s address at anchor ``a`` (1) | ``2001:db8:1:<a>:1::<m>`` | ``100.64.0.0 + m % 2²²`` |
| MN ``m``'s care-of address at PoA ``p`` | ``2001:db8:2:<p>:1::<m>`` | ``10.0.0.0 + p`` |

(1) its home address, the address it forms from its home network prefix
``2001:db8:1:<a>::/64``, or its local address at the anchor serving its PoA.

The end of a segment at the PoA is the MN's care-of address when the MN runs the protocol
itself (``PolicyTables.mn_signals``: MIPv6 tunnels end at the MN), else the PoA node (the MAG).
A data packet of ``s`` bytes carries a user packet of exactly ``s`` bytes: IPv6/UDP from the
correspondent port 34900 to the MN port ``32768 + flow mod 2048`` (from 48 bytes; smaller
packets as ``dmmemu.wire.packets.data_packet`` says). UDP-tunnelled packets need Wireshark's
"Decode As": ``tshark -d udp.port==4191,ipv6 -d udp.port==5437,ipv6``.
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dmmemu.atomic_output import write_atomically
from dmmemu.engine.reference import ReferenceReplay
from dmmemu.engine.replay_io import (
    CAUSE_ATTACH,
    CAUSE_FLOW,
    CAUSE_HANDOVER,
    PacketBatch,
    check_counter_limits,
)
from dmmemu.engine.signaling import (
    CAUSE_RELOCATION,
)
from dmmemu.errors import DmmemuError, PacketRowError
from dmmemu.practices import Practice, get_practice
from dmmemu.trace.reader import Trace
from dmmemu.wire import packets as wire
from dmmemu.wire.sizes import ENCAPSULATIONS, MESSAGES, Message

PCAP_MAGIC_NS = 0xA1B23C4D  # libpcap with nanosecond timestamps
MAX_PCAP_SECONDS = 2**32  # a record's seconds field is 32 bits: up to 2106
PCAP_VERSION = (2, 4)
PCAP_SNAPLEN = 262_144
LINKTYPE_RAW = 101  # https://www.tcpdump.org/linktypes.html

SEGMENTS = ("tunnel", "first", "last")
CN_PORT = 34_900
MN_PORT_BASE = 32_768
MN_PORTS = 2_048
MAX_NODE_ID = 0xFFFF  # a node id is one 16-bit group of the prefixes above
DEFAULT_LIMIT = 10_000

# The route-optimisation headers are per direction: downlink gets the routing header.
RO_BY_DIRECTION = {"ro-routing-header": ("ro-home-address", "ro-routing-header"),
                   "ro-home-address": ("ro-home-address", "ro-routing-header")}
# RFC 5213 §8.4 handoff indicator of the causes that bring a new interface or a new MAG;
# every other cause's messages are about an attachment that has not changed.
HANDOFF_BY_CAUSE = {CAUSE_ATTACH: wire.HANDOFF_NEW_INTERFACE,
                    CAUSE_HANDOVER: wire.HANDOFF_BETWEEN_MAGS,
                    CAUSE_FLOW: wire.HANDOFF_NEW_INTERFACE}


class PcapError(DmmemuError):
    """A pcap export cannot be made as asked (unknown flow, no wire format for a size, …)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PcapSummary:
    """What ``export_pcap`` wrote."""

    path: Path
    practice: str
    segment: str
    packets: int  # records written
    data_packets: int
    messages: dict[str, int]  # message name -> records
    encapsulations: dict[str, int]  # encapsulation name (or "native") -> data records
    # Messages sent in the sample's time span that have no wire format to write (S1AP and
    # X2AP, ASN.1 PER over SCTP): message name -> how many, counted but not written.
    left_out: dict[str, int]
    truncated: bool  # the emulation delivered or counted more than ``limit``
    first_ns: int | None
    last_ns: int | None


# ---------------------------------------------------------------- addresses
def node_ipv6(node: int) -> bytes:
    return bytes.fromhex("20010db8") + struct.pack("!QI", 0, node)


def node_ipv4(node: int) -> bytes:
    return struct.pack("!I", 0x0A000000 + node)


def mn_address(mn: int, anchor: int) -> bytes:
    """The MN's address anchored at ``anchor``: prefix ``2001:db8:1:<anchor>::/64``."""
    return anchor_prefix(anchor)[:8] + struct.pack("!Q", (1 << 48) | mn)


def anchor_prefix(anchor: int) -> bytes:
    return bytes.fromhex("20010db80001") + struct.pack("!H", anchor) + bytes(8)


def care_of_address(mn: int, poa: int) -> bytes:
    return bytes.fromhex("20010db80002") + struct.pack("!HQ", poa, (1 << 48) | mn)


def mn_ipv4(mn: int) -> bytes:
    return struct.pack("!I", 0x64400000 | (mn & 0x3FFFFF))


# ---------------------------------------------------------------- observed records
@dataclass(frozen=True, slots=True)
class _Delivered:
    wait: int
    flow: int
    direction: int
    size: int
    anchor: int  # the anchor of the flow's address (whose prefix the MN's address is in)
    segments: tuple[tuple[int, int, int, int], ...]  # (from, to, bytes, level) per segment


@dataclass(frozen=True, slots=True)
class _Signal:
    cause: int
    kind: int
    src: int  # node, -1 = the MN itself
    dst: int
    size: int
    mn: int
    poa: int
    anchor: int  # the address's anchor, -1 for a message sent once per trigger
    via: int  # the node that relays it (the HA of a HoTI or HoT), -1 none
    tunnel: int  # bytes its relay's tunnel adds on the MN's side
    pair: tuple[int, int, int] | None  # localized routing: the other MN, its PoA, its anchor


@dataclass(slots=True)
class _Sampler:
    """A ``ReplayObserver`` keeping the ``limit`` earliest records, by (time, arrival)."""

    limit: int
    flows: frozenset[int] | None
    mns: frozenset[int] | None
    delay_ns: Any  # D matrix
    unwritten: frozenset[int] = frozenset()  # message kinds with no wire format to build
    heap: list[tuple[int, int, Any]] = field(default_factory=list)  # (-t, -order, record)
    skipped: list[tuple[int, int]] = field(default_factory=list)  # (t, kind) not written
    # Unwritten kinds sent after everything a full sample holds: in its span only if nothing
    # later pushes a record out (the sample is not truncated); counted, not kept.
    skipped_beyond: dict[int, int] = field(default_factory=dict)
    order: int = 0
    truncated: bool = False

    def _later_than_kept(self, t: int) -> bool:
        """True when the sample is full and a record at ``t`` would come after all of it (a
        record told later sorts after an equal time); cheap, so most packets stop here."""
        if len(self.heap) < self.limit or t < -self.heap[0][0]:
            return False
        self.truncated = True
        return True

    def _keep(self, t: int, record: Any) -> None:
        self.order += 1
        if len(self.heap) < self.limit:
            heapq.heappush(self.heap, (-t, -self.order, record))
        else:
            heapq.heapreplace(self.heap, (-t, -self.order, record))

    def delivered(self, t: int, wait: int, flow: int, direction: int, size: int,
                  anchor: int, segments: list[tuple[int, int, int, int]]) -> None:
        if (self.flows is not None and flow not in self.flows) or self._later_than_kept(t + wait):
            return
        self._keep(t + wait, _Delivered(wait, flow, direction, size, anchor, tuple(segments)))

    def message(self, t: int, cause: int, kind: int, src: int, dst: int, size: int,
                mn: int, poa: int, anchor: int, via: int, tunnel: int,
                pair: tuple[int, int, int] | None = None) -> None:
        if self.mns is not None and mn not in self.mns:
            return
        if kind in self.unwritten:  # kept only while it may fall in the sample's span
            if len(self.heap) < self.limit or t <= -self.heap[0][0]:
                self.skipped.append((t, kind))
            else:
                self.skipped_beyond[kind] = self.skipped_beyond.get(kind, 0) + 1
            return
        if not self._later_than_kept(t):  # stamped when sent
            self._keep(t, _Signal(cause, kind, src, dst, size, mn, poa, anchor, via, tunnel,
                                  pair))

    def complete_before(self, t: int) -> bool:
        """True when the sample is full and holds only records earlier than ``t``: then no
        packet at or after ``t`` can enter it, and the replay may stop feeding packets."""
        return len(self.heap) >= self.limit and -self.heap[0][0] < t

    def records(self) -> list[tuple[int, Any]]:
        """Kept records in time order (ties in the order they were told)."""
        return [(-t, record) for t, _, record in sorted(self.heap, reverse=True)]


# ---------------------------------------------------------------- export
SLICE_ROWS = 8192  # packets fed to the reference engine between checks for a full sample


def _slices(batches: Iterable[PacketBatch], rows: int) -> Iterator[PacketBatch]:
    """The packet stream in batches of at most ``rows`` rows (row numbers kept)."""
    for batch in batches:
        for lo in range(0, len(batch), rows):
            hi = lo + rows
            yield PacketBatch(batch.t[lo:hi], batch.flow[lo:hi], batch.size[lo:hi],
                              batch.dir[lo:hi], batch.first_row + lo)


def export_pcap(
    trace: Trace | str | Path,
    practice: Practice | str,
    out: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    flows: Iterable[int] | None = None,
    limit: int = DEFAULT_LIMIT,
    segment: str = "tunnel",
    epoch_ns: int | None = None,
    overwrite: bool = False,
) -> PcapSummary:
    """Write the earliest ``limit`` packets and messages of ``practice`` on ``trace`` to
    ``out`` (a pcap file, see the module docstring), whole or not at all; an existing file
    is replaced only with ``overwrite``.

    ``epoch_ns`` (ns since 1970, UTC) is the wall-clock time the trace's first instant
    (``Trace.t_begin``) is written at; by default the trace's own times are (1970 for a
    trace that starts at 0).

    ``flows`` keeps only the data packets of these trace flow ids and the signaling of their
    MNs. ``segment`` is the chain segment a data packet is captured on: ``"tunnel"`` (the
    first segment with an outer header, else the packet as it leaves the anchor), ``"first"``
    (from the anchor) or ``"last"`` (to the PoA).
    """
    if segment not in SEGMENTS:
        raise PcapError(f"unknown segment {segment!r}; choose one of {', '.join(SEGMENTS)}")
    if limit < 1:
        raise PcapError(f"limit must be at least 1, got {limit}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise PcapError(f"{out} exists; pass overwrite=True to replace it",
                        cli=f"--out {out} exists; pass --overwrite to replace it")
    if out.is_dir():
        raise PcapError(f"{out} is a directory; name the pcap file to write")
    if epoch_ns is not None and not 0 <= epoch_ns < MAX_PCAP_SECONDS * 10**9:
        raise PcapError(f"epoch must be from 1970 to 2106 (pcap's 32-bit seconds), got "
                        f"{epoch_ns} ns")
    if not isinstance(trace, Trace):
        trace = Trace.open(trace)
    practice = get_practice(practice, params)
    topology = trace.topology
    if topology.n_nodes - 1 > MAX_NODE_ID:
        raise PcapError(f"the topology has {topology.n_nodes} nodes; pcap export maps node ids "
                        f"into 16-bit address groups, so it handles at most {MAX_NODE_ID + 1}")
    tables = practice.compile(topology)
    replay = trace.replay_input()
    check_counter_limits(tables, replay, trace.packet_count())
    flow_mn = dict(zip(trace.flows["flow"].to_list(), trace.flows["mn"].to_list()))
    # A flow's other end: its correspondent node, or (an MN-to-MN flow, §17) the other MN,
    # written as -1 - its MN id.
    flow_peer = {flow: peer if peer is not None else -1 - peer_mn for flow, peer, peer_mn in zip(
        trace.flows["flow"].to_list(), trace.flows["peer"].to_list(),
        trace.flows["peer_mn"].to_list())}
    wanted_flows = wanted_mns = None
    if flows is not None:
        wanted_flows = frozenset(int(f) for f in flows)
        unknown = sorted(wanted_flows - flow_mn.keys())
        if unknown:
            raise PcapError(f"flow {unknown[0]} is not a flow of trace {trace.name!r}")
        wanted_mns = frozenset(flow_mn[f] for f in wanted_flows)

    nat = frozenset(node.id for node in topology.nodes if node.nat)
    writer = _PacketMaker(practice, tables, flow_mn, flow_peer, segment, nat)
    unwritten = frozenset(i for i, kind in enumerate(tables.message_kinds)
                          if kind.wire in MESSAGES and MESSAGES[kind.wire].build is None)
    sampler = _Sampler(limit=limit, flows=wanted_flows, mns=wanted_mns,
                       delay_ns=topology.delay_ns, unwritten=unwritten)
    engine = ReferenceReplay(tables, replay, observer=sampler)
    try:
        for batch in _slices(trace.packet_batches(), SLICE_ROWS):
            if len(batch) and sampler.complete_before(int(batch.t[0])):
                # Later packets cannot enter the sample. finish() still handles every
                # remaining move, flow end and binding close in order, so the messages and
                # refreshes timed before the sample's end are told exactly as in a full
                # replay; the skipped packets are not checked.
                sampler.truncated = True
                break
            engine.feed(batch)
    except PacketRowError as err:
        raise trace.packet_error(err) from None
    engine.finish()

    records = sampler.records()
    packets = [(t, writer.build(t, record)) for t, record in records]
    left_out: dict[str, int] = {}
    span_end = records[-1][0] if sampler.truncated and records else None
    for t, kind in sampler.skipped:
        if span_end is None or t <= span_end:
            name = tables.message_kinds[kind].wire
            left_out[name] = left_out.get(name, 0) + 1
    for kind, count in ({} if sampler.truncated else sampler.skipped_beyond).items():
        name = tables.message_kinds[kind].wire
        left_out[name] = left_out.get(name, 0) + count
    shift = 0 if epoch_ns is None else epoch_ns - trace.t_begin
    last = max((t for t, _ in packets), default=0) + shift
    if last >= MAX_PCAP_SECONDS * 10**9:
        raise PcapError(f"the sample ends {last / 1e9:.0f} s after 1970, beyond pcap's 32-bit "
                        "seconds (2106); give an earlier epoch (--epoch)")
    _write_pcap(out, [(t + shift, packet) for t, packet in packets])
    return PcapSummary(
        path=out, practice=practice.key, segment=segment, packets=len(packets),
        data_packets=sum(isinstance(r, _Delivered) for _, r in records),
        messages=dict(writer.message_counts), encapsulations=dict(writer.encap_counts),
        left_out=left_out,
        truncated=sampler.truncated, first_ns=records[0][0] if records else None,
        last_ns=records[-1][0] if records else None,
    )


@dataclass(slots=True)
class _PacketMaker:
    """Turns observed records into packet bytes, in time order."""

    practice: Practice
    tables: Any  # PolicyTables
    flow_mn: dict[int, int]
    flow_peer: dict[int, int]  # the cn node, or -1 - the other MN (an MN-to-MN flow)
    segment: str
    nat: frozenset[int]  # the PoAs behind a NAT (RFC 5555's NAT detection option)
    sequence: dict[tuple[int, int], int] = field(default_factory=dict)
    message_counts: dict[str, int] = field(default_factory=dict)
    encap_counts: dict[str, int] = field(default_factory=dict)
    _formats: dict[tuple[str, int], tuple[str, Message]] = field(default_factory=dict)

    def build(self, t: int, record: Any) -> bytes:
        if isinstance(record, _Delivered):
            return self._data(record)
        return self._message(t, record)

    # ---- data packets
    def _data(self, r: _Delivered) -> bytes:
        mn, peer = self.flow_mn[r.flow], self.flow_peer[r.flow]
        anchor = r.anchor
        port = MN_PORT_BASE + r.flow % MN_PORTS
        mn_end = (mn_address(mn, anchor), mn_ipv4(mn))
        if peer >= 0:
            cn_end = (node_ipv6(peer), node_ipv4(peer))
        else:  # the other MN, at an address of the same anchor (its own anchor is not told)
            cn_end = (mn_address(-1 - peer, anchor), mn_ipv4(-1 - peer))
        downlink = r.direction == 1
        if downlink:
            inner = wire.data_packet(r.size, cn_end, mn_end, CN_PORT, port)
        else:
            inner = wire.data_packet(r.size, mn_end, cn_end, port, CN_PORT)
        index = self._segment_index(r.segments)
        u, v, nbytes, level = r.segments[index]
        if nbytes == 0:
            self._count(self.encap_counts, "native")
            return inner
        name = self._encapsulation_name(level, nbytes)
        if name in RO_BY_DIRECTION:
            name = RO_BY_DIRECTION[name][r.direction]
        encap = ENCAPSULATIONS[name]
        self._count(self.encap_counts, name)
        if name == "ro-routing-header":
            return encap.build(inner, inner[8:24], care_of_address(mn, v))
        if name == "ro-home-address":
            return encap.build(inner, care_of_address(mn, v), inner[24:40])
        poa = r.segments[-1][1]
        ends = (self._address(u, encap.outer, mn, poa), self._address(v, encap.outer, mn, poa))
        src, dst = ends if downlink else ends[::-1]
        return encap.build(inner, src, dst)

    def _segment_index(self, segments: Sequence[tuple[int, int, int, int]]) -> int:
        if self.segment == "first":
            return 0
        if self.segment == "last":
            return len(segments) - 1
        for i, (_, _, nbytes, _) in enumerate(segments):  # "tunnel"
            if nbytes:
                return i
        return 0

    def _encapsulation_name(self, level: int, nbytes: int) -> str:
        """The practice's named encapsulation of a segment leaving chain ``level`` (its
        ``encapsulations`` attribute: a name per level), else the first of that size."""
        named = getattr(self.practice, "encapsulations", None)
        if named:
            name = named[level]
            if name not in ENCAPSULATIONS:
                raise PcapError(f"practice {self.practice.key!r} names encapsulation {name!r}, "
                                f"which dmmemu.wire.sizes.ENCAPSULATIONS does not have")
            if ENCAPSULATIONS[name].bytes != nbytes:
                raise PcapError(f"practice {self.practice.key!r} counts {nbytes} bytes for "
                                f"encapsulation {name!r}, whose wire format has "
                                f"{ENCAPSULATIONS[name].bytes}")
            return name
        for name, encap in ENCAPSULATIONS.items():
            if encap.bytes == nbytes:
                return name
        sizes = sorted({e.bytes for e in ENCAPSULATIONS.values()})
        raise PcapError(f"practice {self.practice.key!r} counts {nbytes} bytes of "
                        f"encapsulation, and no wire format has that size (sizes: {sizes}); "
                        f"use the default encapsulation size to export packets")

    def _address(self, node: int, family: int, mn: int, poa: int) -> bytes:
        """A node's address; the PoA end is the MN itself when the MN runs the protocol."""
        if node == poa and self.tables.mn_signals:  # its care-of address (RFC 5555: IPv4)
            return care_of_address(mn, poa) if family == 6 else mn_ipv4(mn)
        return node_ipv6(node) if family == 6 else node_ipv4(node)

    # ---- signaling
    def _message(self, t: int, r: _Signal) -> bytes:
        kind = self.tables.message_kinds[r.kind]
        name, message = self._format(kind.wire, r.size)
        self._count(self.message_counts, name)
        anchor = new_anchor = r.anchor if r.anchor >= 0 else int(self.tables.serving[r.poa])
        if r.cause == CAUSE_RELOCATION:  # with the old HA: about the address it held
            anchor = next((n for n in (r.src, r.dst) if n >= 0 and n != new_anchor), anchor)
        key = (r.mn, anchor)
        if not kind.reply:
            self.sequence[key] = (self.sequence.get(key, 0) + 1) & 0xFFFF
        src, dst = (self._end(node, message.transport, r.mn, r.poa) for node in (r.src, r.dst))
        if r.via >= 0:  # relayed through the HA: the MN's end is its home address (§15)
            src, dst = (mn_address(r.mn, anchor) if node < 0 else end
                        for node, end in ((r.src, src), (r.dst, dst)))
        lifetime_s = 0 if kind.deregistration else int(self.tables.lifetime_ns) // 1_000_000_000
        peer_mn, peer_prefix, peer_mag = 1, bytes(16), bytes(16)
        if r.pair is not None:  # RFC 6705: about the two MNs, and the MAG the message is not at
            peer_mn, peer_poa, peer_anchor = r.pair
            peer_prefix = anchor_prefix(peer_anchor)
            mag = r.src if r.src in (r.poa, peer_poa) else r.dst
            peer_mag = node_ipv6(peer_poa if mag == r.poa else r.poa)
        ctx = wire.MessageContext(
            src=src, dst=dst, mn=r.mn, home_address=mn_address(r.mn, anchor),
            care_of_address=care_of_address(r.mn, r.poa), prefix=anchor_prefix(anchor),
            sequence=self.sequence.get(key, 0), lifetime_s=lifetime_s, time_ns=t,
            handoff=HANDOFF_BY_CAUSE.get(r.cause, wire.HANDOFF_NOT_CHANGED), peer_mn=peer_mn, peer_prefix=peer_prefix,
            peer_mag=peer_mag,
            new_home_agent=node_ipv6(new_anchor), home_agent=node_ipv6(anchor),
            behind_nat=r.poa in self.nat,
        )
        packet = message.build(ctx)
        if r.via < 0:
            return packet
        # Written as it travels the relay's tunnel, between the relay and the MN's care-of
        # address (the part the emulator counts the tunnel bytes on).
        tunnel = next((e for e in ENCAPSULATIONS.values()
                       if e.bytes == r.tunnel and e.outer == message.transport), None)
        if tunnel is None:
            raise PcapError(f"practice {self.practice.key!r} relays a message with a tunnel of "
                            f"{r.tunnel} bytes, and no wire format has that size")
        ends = (node_ipv6(r.via), care_of_address(r.mn, r.poa))
        return tunnel.build(packet, *(ends if r.src >= 0 else ends[::-1]))

    @staticmethod
    def _end(node: int, family: int, mn: int, poa: int) -> bytes:
        """A message's source or destination: a node, or the MN at its care-of address."""
        if node < 0:
            return care_of_address(mn, poa) if family == 6 else mn_ipv4(mn)
        return node_ipv6(node) if family == 6 else node_ipv4(node)

    def _format(self, base: str, size: int) -> tuple[str, Message]:
        """The wire format of ``size`` bytes for a message kind built as ``base``: that
        format, or a variant of it (``BU-CN``, ``PBU-IPv4``)."""
        cached = self._formats.get((base, size))
        if cached is not None:
            return cached
        candidates = [n for n in MESSAGES if n == base or n.startswith(base + "-")]
        if not candidates:
            raise PcapError(f"practice {self.practice.key!r} builds a message as {base!r}, and "
                            f"dmmemu.wire.sizes.MESSAGES has no wire format of that name "
                            f"(known: {', '.join(MESSAGES)})")
        for name in candidates:
            if MESSAGES[name].bytes == size:
                self._formats[(base, size)] = (name, MESSAGES[name])
                return name, MESSAGES[name]
        known = ", ".join(f"{n} {MESSAGES[n].bytes} B" for n in candidates)
        raise PcapError(f"practice {self.practice.key!r} counts {size} bytes for a {base}, and "
                        f"no wire format has that size ({known}); use the default message "
                        f"sizes to export packets")

    @staticmethod
    def _count(counts: dict[str, int], name: str) -> None:
        counts[name] = counts.get(name, 0) + 1


def _write_pcap(path: Path, packets: Sequence[tuple[int, bytes]]) -> None:
    """Classic libpcap file, little-endian, nanosecond timestamps, LINKTYPE_RAW, written
    whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(struct.pack("<IHHiIII", PCAP_MAGIC_NS, *PCAP_VERSION, 0, 0,
                                 PCAP_SNAPLEN, LINKTYPE_RAW))
            for t, packet in packets:
                seconds, nanoseconds = divmod(t, 1_000_000_000)
                fh.write(struct.pack("<IIII", seconds, nanoseconds, len(packet),
                                     len(packet)))
                fh.write(packet)

    write_atomically(path, write)
