"""dmmemu.report.pcap: every registered practice's emulated packets, written as a pcap and read back
by tshark, are what the emulator counted: one data packet per delivered packet with the
outer headers of its tunnelled segment, one message per counted message with the size the
emulator counts, each dissected cleanly.

The expected records come from an observer of this file's own on a separate reference replay,
so the pcap's sampler and packet maker are checked, not restated. The trace is built by hand:
five MNs over a 2 × 3 flat-wifi grid for 40 s (moves every few seconds, one detach and
re-attach), flows with and without continuity, packet sizes across the IPv6/IPv4 boundaries.
"""

from __future__ import annotations

import struct
from collections import Counter

import pytest
from click.testing import CliRunner
from test_wire import MESSAGE_DISSECTION
from tshark import (
    dissect,
    frame_time_ns,
    innermost_ip_length,
    need_tshark,
    outer_ip_length,
    problems,
    protocols,
    read_pcap,
    values,
)

from dmmemu.cli.report import pcap_command
from dmmemu.engine.reference import ReferenceReplay
from dmmemu.practices import PRACTICES, get_practice
from dmmemu.report import pcap
from dmmemu.report.pcap import LINKTYPE_RAW, PcapError, export_pcap
from dmmemu.trace.reader import Trace
from dmmemu.wire.sizes import MESSAGES
from traces import grid_trace

S = 1_000_000_000
POAS = (5, 7, 9, 11, 13, 15)  # FlatWifi(rows=2, cols=3, correspondents=2)
CNS = (2, 3)


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> Trace:
    return Trace.open(grid_trace(tmp_path_factory.mktemp("pcap") / "grid"))


class Expected:
    """What the engine delivers and counts, as this test reads the ``ReplayObserver`` hook."""

    def __init__(self) -> None:
        self.data: list[tuple[int, int, int, int]] = []  # (time, flow, size, tunnel bytes)
        self.waited = 0  # packets delivered after a buffering wait
        self.messages: list[tuple[int, int, int, int]] = []  # (time sent, kind, size, tunnel)

    def delivered(self, t, wait, flow, direction, size, anchor, segments):
        tunnel = next((encap for _, _, encap, _ in segments if encap), 0)
        self.data.append((t + wait, flow, size, tunnel))
        self.waited += wait > 0

    def message(self, t, cause, kind, src, dst, size, mn, poa, anchor, via, tunnel, pair=None):
        self.messages.append((t, kind, size, tunnel if via >= 0 else 0))


def replay(trace: Trace, practice, observer=None):
    engine = ReferenceReplay(practice.compile(trace.topology), trace.replay_input(),
                             observer=observer)
    for batch in trace.packet_batches():
        engine.feed(batch)
    return engine.finish()


def expected(trace: Trace, practice) -> Expected:
    seen = Expected()
    replay(trace, practice, seen)
    return seen


def message_name(base: str, size: int) -> str:
    """The wire format built as ``base`` (or a variant of it) that has ``size`` bytes."""
    return next(n for n in MESSAGES
                if (n == base or n.startswith(base + "-")) and MESSAGES[n].bytes == size)


IDENTITY = ("mip6.mhtype", "gtpv2.message_type", "udp.dstport", "pfcp.msg_type",
            "gtp.message", "isakmp.exchangetype", "isakmp.flag_r")  # fields naming the kind


def dissected_as(layers, name: str, tunnel: int = 0) -> bool:
    """The packet is message ``name`` (inside an IPv6 tunnel of ``tunnel`` bytes, a HoTI or
    HoT through the HA): its size, protocol chain and kind, and every field
    tests/test_wire.py expects of it (values of context fields such as the handoff indicator
    differ from that test's, so only the identity fields' values are compared)."""
    chain, fields = MESSAGE_DISSECTION[name]
    return (int(layers["frame"]["frame.len"]) == MESSAGES[name].bytes + tunnel
            and protocols(layers).startswith("raw:" + "ipv6:" * (tunnel > 0) + chain)
            and all(values(layers, f) and (f not in IDENTITY or v in values(layers, f))
                    for f, v in fields.items()))


def is_message(layers) -> bool:
    chain = protocols(layers)
    # GTP-U carrying no packet is an End Marker (TS 29.281 §7.3.2).
    return (":mipv6" in chain or ":gtpv2" in chain or ":pfcp" in chain or ":isakmp" in chain
            or chain.endswith(":gtp"))


def ip_headers(layers) -> int:
    return sum(proto in ("ip", "ipv6") for proto in protocols(layers).split(":"))


# ---------------------------------------------------------------- every practice
PARAMS = [(key, {}) for key in PRACTICES] + [
    ("pmipv6", {"lifetime_s": 5.0, "buffering": True}),  # refreshes and buffered packets
] + [("pmipv6-v4", {"transport": t}) for t in ("udp", "gre", "gre-key")] + [
    ("pmipv6-v4", {"ipv4_home_address": False}), ("ha-switch", {"mode": "rfc5142"})]


@pytest.mark.parametrize("key, params", PARAMS, ids=[
    key + "".join(f",{k}={v}" for k, v in params.items()) for key, params in PARAMS])
def test_every_packet_is_what_the_emulator_counted(trace, tmp_path, key, params):
    need_tshark()
    practice = get_practice(key, params)
    tables = practice.compile(trace.topology)
    seen = expected(trace, practice)
    # Each counted message, as the wire format it must be written in.
    every = [(t, message_name(tables.message_kinds[kind].wire, size), size + tunnel)
             for t, kind, size, tunnel in seen.messages]
    # ASN.1 PER over SCTP (S1AP, X2AP, NGAP) has no builder: counted, reported, not written.
    counted = [m for m in every if MESSAGES[m[1]].build is not None]
    unbuilt = Counter(name for _, name, _ in every if MESSAGES[name].build is None)
    formats = {(name, frame - MESSAGES[name].bytes) for _, name, frame in counted}
    total = len(seen.data) + len(counted)
    summary = export_pcap(trace, practice, tmp_path / f"{key}.pcap", limit=total)
    assert (summary.packets, summary.truncated) == (total, False)
    assert Counter(summary.left_out) == unbuilt
    packets = dissect(summary.path)
    assert len(packets) == total

    data, messages = [], []
    for layers in packets:
        assert problems(layers) == [], (protocols(layers), problems(layers))
        frame = int(layers["frame"]["frame.len"])
        assert outer_ip_length(layers) == frame
        if is_message(layers):
            names = [name for name, tunnel in formats if dissected_as(layers, name, tunnel)]
            assert len(names) == 1, (protocols(layers), names)
            messages.append((frame_time_ns(layers), names[0], frame))
            continue
        inner = innermost_ip_length(layers)
        data.append((frame_time_ns(layers), inner, frame - inner))
        assert ip_headers(layers) == (2 if frame > inner else 1), protocols(layers)

    # Data: one packet per delivered packet, at its time, of its size, with the bytes of the
    # first segment of its chain that has an outer header.
    assert Counter(data) == Counter((t, size, tunnel) for t, _, size, tunnel in seen.data)
    # Messages: one per counted message, in its wire format, of its size, when it was sent.
    assert Counter(messages) == Counter(counted)
    times = [frame_time_ns(layers) for layers in packets]
    assert times == sorted(times)
    if params.get("buffering"):  # the case exists to exercise refreshes and buffering
        assert seen.waited > 0
        assert len(seen.messages) > len(expected(trace, get_practice(key)).messages)


@pytest.mark.parametrize("key", list(PRACTICES))
def test_observer_changes_no_counter(trace, key):
    practice = get_practice(key)
    assert replay(trace, practice).differences(replay(trace, practice, Expected())) == []


# ---------------------------------------------------------------- sampling and options
def test_limit_keeps_the_earliest_packets(trace, tmp_path):
    need_tshark()
    full = export_pcap(trace, "mipv6", tmp_path / "full.pcap", limit=10**6)
    part = export_pcap(trace, "mipv6", tmp_path / "part.pcap", limit=50)
    assert (part.packets, part.truncated, full.truncated) == (50, True, False)
    full_times = [frame_time_ns(p) for p in dissect(full.path)]
    part_times = [frame_time_ns(p) for p in dissect(part.path)]
    assert part_times == full_times[:50]
    assert part.last_ns == part_times[-1]


def test_flows_keep_their_packets_and_their_mns_signaling(trace, tmp_path):
    need_tshark()
    practice = get_practice("pmipv6")
    seen = expected(trace, practice)
    summary = export_pcap(trace, practice, tmp_path / "flow.pcap", flows=[21], limit=10**6)
    mine = [d for d in seen.data if d[1] == 21]
    assert summary.data_packets == len(mine)
    packets = dissect(summary.path)
    nai = "mn00000002@dmmemu.example"  # flow 21 is MN 2's
    for layers in packets:
        if is_message(layers):
            assert values(layers, "mip6.mnid.identifier") == [nai]
        elif "udp" in protocols(layers):
            ports = {int(p) for p in values(layers, "udp.port")}
            assert 32768 + 21 in ports
    assert summary.packets - summary.data_packets == sum(summary.messages.values()) > 0


@pytest.mark.parametrize("segment", ["first", "last", "tunnel"])
def test_single_segment_chains_are_the_same_on_every_segment(trace, tmp_path, segment):
    summary = export_pcap(trace, "pmipv6", tmp_path / f"{segment}.pcap", segment=segment,
                          limit=500)
    assert summary.encapsulations == {"ipv6-in-ipv6": summary.data_packets}


def test_pcap_file_header_and_records(trace, tmp_path):
    summary = export_pcap(trace, "dmm", tmp_path / "dmm.pcap", limit=20)
    raw = summary.path.read_bytes()
    magic, major, minor, _, _, _, link = struct.unpack("<IHHiIII", raw[:24])
    assert (magic, major, minor, link) == (0xA1B23C4D, 2, 4, LINKTYPE_RAW)
    assert len(read_pcap(summary.path)) == summary.packets


@pytest.mark.parametrize("call, message", [
    ({"flows": [999]}, "flow 999 is not a flow"),
    ({"segment": "middle"}, "unknown segment"),
    ({"limit": 0}, "limit must be at least 1"),
    ({"params": {"pbu_bytes": 112}}, "counts 112 bytes for a PBU"),
    ({"params": {"encap_bytes": 41}}, "41 bytes of encapsulation"),
])
def test_impossible_exports_are_errors(trace, tmp_path, call, message):
    with pytest.raises(PcapError, match=message):
        export_pcap(trace, "pmipv6", tmp_path / "x.pcap", **call)


def test_command_line(trace, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli.pcap"
    done = runner.invoke(pcap_command, [str(trace.path), "--practice", "mipv6", "--out",
                                        str(out), "--flows", "1,2", "--limit", "40"])
    assert done.exit_code == 0, done.output
    assert out.is_file() and "wrote 40 packets" in done.output
    bad = runner.invoke(pcap_command, [str(trace.path), "-p", "mipv6", "--out",
                                       str(tmp_path / "other.pcap"), "--flows", "7"])
    assert bad.exit_code == 2 and "dmmemu: error: flow 7 is not a flow" in bad.output
    again = runner.invoke(pcap_command, [str(trace.path), "-p", "mipv6", "--out", str(out)])
    assert again.exit_code == 2
    assert f"dmmemu: error: --out {out} exists; pass --overwrite to replace it" in again.output


def test_epoch_sets_the_wall_clock_of_the_first_instant(trace, tmp_path):
    """--epoch: the capture starts at a chosen time; the gaps between packets stay."""
    plain = read_pcap(export_pcap(trace, "dmm", tmp_path / "plain.pcap", limit=30).path)
    runner = CliRunner()
    out = tmp_path / "dated.pcap"
    done = runner.invoke(pcap_command, [str(trace.path), "-p", "dmm", "--out", str(out),
                                        "--limit", "30", "--epoch", "2026-12-02T08:00:00"])
    assert done.exit_code == 0, done.output
    dated = read_pcap(out)
    epoch = 1_796_198_400 * 10**9  # 2026-12-02T08:00:00Z
    assert [t for t, _ in dated] == [t - trace.t_begin + epoch for t, _ in plain]
    assert [p for _, p in dated] == [p for _, p in plain]
    zoned = runner.invoke(pcap_command, [str(trace.path), "-p", "dmm", "--out", str(out),
                                         "--limit", "30", "--overwrite",
                                         "--epoch", "2026-12-02T09:00:00+01:00"])
    assert zoned.exit_code == 0 and read_pcap(out) == dated
    for bad, words in (("yesterday", "neither an ISO 8601 time"),
                       ("1e12", "epoch must be from 1970 to 2106")):
        failed = runner.invoke(pcap_command, [str(trace.path), "-p", "dmm", "--out",
                                              str(tmp_path / "x.pcap"), "--epoch", bad])
        assert failed.exit_code == 2 and words in failed.output, failed.output


@pytest.mark.parametrize("key", list(PRACTICES))
@pytest.mark.parametrize("limit", [1, 40, 400])
def test_stopping_early_writes_the_same_file_as_a_full_replay(trace, tmp_path, monkeypatch,
                                                              key, limit):
    """Once the sample is complete the export stops feeding packets; the file must be
    byte-identical to the one a full replay gives (messages and refreshes included)."""
    fed = []
    real_feed = pcap.ReferenceReplay.feed
    monkeypatch.setattr(pcap.ReferenceReplay, "feed",
                        lambda self, batch: (fed.append(len(batch)), real_feed(self, batch)))
    monkeypatch.setattr(pcap, "SLICE_ROWS", 3)  # the test trace is small: check often
    early = export_pcap(trace, key, tmp_path / "early.pcap", limit=limit,
                        params={"lifetime_s": 0.05})
    early_rows = sum(fed)
    fed.clear()
    monkeypatch.setattr(pcap._Sampler, "complete_before", lambda self, t: False)
    full = export_pcap(trace, key, tmp_path / "full.pcap", limit=limit,
                       params={"lifetime_s": 0.05})
    assert sum(fed) == trace.packet_count()
    if limit < 400:
        assert early_rows < sum(fed)  # it did stop early
    assert early.packets == full.packets
    assert (tmp_path / "early.pcap").read_bytes() == (tmp_path / "full.pcap").read_bytes()


@pytest.mark.parametrize("key", ["pmipv6", "mipv6"])
def test_deregistrations_carry_lifetime_zero(trace, tmp_path, key):
    """A de-registration PBU/PBA (RFC 5213 §5.3.5, §6.9.1.4) is written with lifetime 0, as
    tshark reads it; every other binding message carries the practice's lifetime (in 4 s
    units). The grid trace has PMIPv6 handovers and one detach; MIPv6 never de-registers
    there (no home link), so it has none."""
    need_tshark()
    practice = get_practice(key)
    kinds = practice.compile(trace.topology).message_kinds
    seen = expected(trace, practice)
    deregistrations = sum(kinds[kind].deregistration for _, kind, _, _ in seen.messages)
    total = len(seen.data) + len(seen.messages)
    summary = export_pcap(trace, practice, tmp_path / f"{key}.pcap", limit=total)
    lifetimes = [values(layers, "mip6.bu.lifetime") + values(layers, "mip6.ba.lifetime")
                 for layers in dissect(summary.path) if is_message(layers)]
    assert sum(found == ["0"] for found in lifetimes) == deregistrations
    assert (deregistrations > 0) == (key == "pmipv6")
    units = str(int(practice.lifetime_s) // 4)
    assert all(found in (["0"], [units]) for found in lifetimes)
