"""pmipv6-lr (RFC 6705 localized routing, semantics.md §18) by hand, on both engines, on
test_mn_to_mn's flat WiFi of two ARs (``FlatWifi(rows=1, cols=2, correspondents=1)``);
one-way delays in µs, hops in brackets:

    CORE 0 --2000-- central anchor 1    1-AR0 3.1 ms [3], 1-AR1 3.1 ms [3]
      |--1000-- GW0 3 --100-- AR0 4     GW0-AR0 0.1 ms [1], GW0-AR1 0.6 ms [2]
      |--1000-- GW1 5 --100-- AR1 6     GW1-AR1 0.1 ms [1], GW1-AR0 0.6 ms [2]
                GW0 --500-- GW1         AR0-AR1 0.7 ms [3]

One flow of MN 0 to MN 1, downlink packets of 1000 B. Every interruption component is 0: a
move's interruption is its PBU/PBA round trip. The expected counts follow the sequences of
PRACTICES.md's pmipv6-lr row (RFC 6705's cases A11, A21, A12 and the A22 teardown).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hand_runs import engines, mns_trace, replay
from test_mn_to_mn import AR0, AR1, GW0, GW1, HA, MS, TOPOLOGY, US, ZERO, S
from tshark import dissect, need_tshark, problems, read_pcap, values

from dmmemu.engine.signaling import CAUSE_HANDOVER, CAUSE_LOCALIZED, CAUSE_LOCALIZED_END
from dmmemu.errors import PracticeError
from dmmemu.practices import get_practice
from dmmemu.practices.pmipv6 import LRA, LRA_END, LRA_MAGS, LRI, LRI_END, LRI_MAGS
from dmmemu.report.pcap import export_pcap
from dmmemu.wire import packets as wire
from dmmemu.wire.sizes import MESSAGES

LMA = HA  # the central anchor, as the LMA of every MN
FLOW = 5
SAMPLE = Path(__file__).resolve().parents[1] / "traces" / "sample"


def run(engine, moves, packets, params):
    trace = mns_trace(TOPOLOGY, moves, [(FLOW, 0, -1, 0, 2 * S, 1)], 2 * S)
    tables = get_practice("pmipv6-lr", {**ZERO, **params}).compile(TOPOLOGY)
    return replay(engine, tables, trace, [(t, FLOW, 1000, 1) for t in packets])


@pytest.mark.parametrize("engine", engines())
def test_one_lma_inside_one_mag_then_between_two(engine) -> None:
    """One LMA (the central anchor) for both MNs. Both at AR0: the first packet (0.5 s) makes
    the LMA send an LRI to AR0 (A11), answered by an LRA: in place at 0.5062 s. MN 1 moves
    to AR1 at 1 s: after its PBA (1.0062 s) the LMA sends an LRI naming the other MAG to each
    MAG (A21), in place at 1.0124 s. MN 1 detaches at 1.8 s: the routing is dropped."""
    moves = [(0, 0, AR0), (0, 1, AR0), (1 * S, 1, AR1), (1800 * MS, 1, -1)]
    packets = [500 * MS, 504 * MS, 600 * MS, 1010 * MS, 1500 * MS, 1900 * MS]
    c = run(engine, moves, packets, {"lmas": ("central-anchor",)})
    # Through the LMA: AR0 <- LMA (40 B, [3]) and LMA -> AR0 (40 B, [3]): 6 hops, 6.2 ms
    # (0.5 s, 0.504 s: the LRA not back yet; 1.01 s: MN 1 at AR1, the new LRAs not back).
    # 0.6 s: inside AR0, 0 hops. 1.5 s: the AR1-AR0 tunnel, 40 B on [3], 0.7 ms. 1.9 s: lost.
    assert c.flow_packets.tolist() == [6] and c.flow_lost.tolist() == [1]
    assert c.flow_hops_sum.tolist() == [6 + 6 + 0 + 6 + 3]
    assert c.flow_direct_hops_sum.tolist() == [0 + 0 + 0 + 3 + 3]
    assert c.flow_delay_ns_sum.tolist() == [3 * 6200 * US + 700 * US]
    assert c.flow_overhead_bytes.tolist() == [3 * 80 + 40]
    assert c.flow_overhead_byte_hops.tolist() == [3 * 240 + 120]
    assert c.anchor_packets[LMA] == 3  # the localized packets pass no anchor
    assert c.stretch_hist[6, 0] == 2 and c.stretch_hist[0, 0] == 1
    assert c.stretch_hist[6, 3] == 1 and c.stretch_hist[3, 3] == 1
    sent = c.sig_msgs[CAUSE_LOCALIZED]
    assert (sent[LRI], sent[LRA], sent[LRI_MAGS], sent[LRA_MAGS]) == (1, 1, 2, 2)
    assert c.sig_bytes[CAUSE_LOCALIZED][[LRI, LRI_MAGS]].tolist() == [152, 2 * 176]
    assert c.sig_msgs[CAUSE_LOCALIZED_END].sum() == 0
    # MN 1's handover row: its 4 PMIPv6 messages and the 4 of the new routing.
    assert c.ho_msgs.tolist()[2] == 4 + 4
    assert c.sig_msgs[CAUSE_HANDOVER].sum() == 4


@pytest.mark.parametrize("engine", engines())
def test_two_lmas_one_mag_then_torn_down_then_set_up_again(engine) -> None:
    """LMAs GW0 and GW1, nearest at attach: MN 0 attaches at AR0 (GW0), MN 1 at AR1 (GW1),
    then moves to AR0 at 0.2 s. The first packet (0.5 s) makes AR0 send an LRI to each LMA
    (A12): in place when GW1's LRA is back (0.5012 s). MN 0 moves to AR1 at 1 s: other MAGs
    and other LMAs (A22) is not supported, so AR0, where the routing was, sends an LRI with
    lifetime 0 to each LMA. MN 1 moves to AR1 at 1.6 s: A12 again, set up by AR1."""
    moves = [(0, 0, AR0), (0, 1, AR1), (200 * MS, 1, AR0), (1 * S, 0, AR1), (1600 * MS, 1, AR1)]
    packets = [500 * MS, 600 * MS, 1500 * MS, 1700 * MS]
    c = run(engine, moves, packets, {})
    # 0.5 s: GW1 -> AR0 (40 B, [2], 0.6 ms), GW1 -> GW0 ([1], 0.5 ms), GW0 -> AR0 (40 B, [1],
    # 0.1 ms): 4 hops. 1.5 s: GW1 -> AR0 [2], GW1 -> GW0 [1], GW0 -> AR1 (40 B, [2], 0.6
    # ms): 5 hops against AR0-AR1's 3. 0.6 s and 1.7 s: inside one MAG.
    assert c.flow_packets.tolist() == [4] and c.flow_lost.tolist() == [0]
    assert c.flow_hops_sum.tolist() == [4 + 0 + 5 + 0]
    assert c.flow_direct_hops_sum.tolist() == [0 + 0 + 3 + 0]
    assert c.flow_delay_ns_sum.tolist() == [1200 * US + 1700 * US]
    assert c.flow_overhead_bytes.tolist() == [80 + 80]
    assert c.flow_overhead_byte_hops.tolist() == [80 + 40 + 80 + 80]
    assert c.anchor_packets[GW0] == 2 and c.anchor_packets[GW1] == 0
    setup, end = c.sig_msgs[CAUSE_LOCALIZED], c.sig_msgs[CAUSE_LOCALIZED_END]
    assert (setup[LRI], setup[LRA], setup[LRI_MAGS]) == (4, 4, 0)
    assert (end[LRI_END], end[LRA_END]) == (2, 2)
    # The moves' rows: 4 PMIPv6 messages each, and the routing's 4 at 1 s and at 1.6 s.
    assert c.ho_msgs.tolist() == [2, 2, 4, 4 + 4, 4 + 4]
    # Byte-hops of the teardown: AR0 -> GW0 [1] and AR0 -> GW1 [2], both ways, 152 B each.
    assert c.sig_byte_hops[CAUSE_LOCALIZED_END].sum() == 152 * (1 + 2) * 2


@pytest.mark.parametrize("engine", engines())
def test_a_case_left_out_keeps_the_flows_on_the_lmas(engine) -> None:
    """With only the same-MAG case taken, two MNs on two MAGs stay on the LMA: the move to
    AR1 tears the A11 routing down (an LRI of lifetime 0 from the LMA to AR0)."""
    moves = [(0, 0, AR0), (0, 1, AR0), (1 * S, 1, AR1)]
    c = run(engine, moves, [500 * MS, 600 * MS, 1500 * MS],
            {"lmas": ("central-anchor",), "cases": ("same-mag-same-lma",)})
    assert c.flow_hops_sum.tolist() == [6 + 0 + 6]
    assert c.anchor_packets[LMA] == 2
    assert c.sig_msgs[CAUSE_LOCALIZED][LRI_MAGS] == 0
    assert c.sig_msgs[CAUSE_LOCALIZED_END][[LRI_END, LRA_END]].tolist() == [1, 1]


def test_unknown_case_is_refused() -> None:
    with pytest.raises(PracticeError, match="cases"):
        get_practice("pmipv6-lr", {"cases": ("other-mags-other-lmas",)})


def _mag_option(packet: bytes) -> bytes | None:
    """The address in the MAG IPv6 Address option (RFC 6705 §11.1) of an LRI or LRA."""
    mh = packet[40:]
    offset = 6 + 6  # the MH header, then sequence, reserved or status, lifetime
    while offset < len(mh):
        if mh[offset] == 0:
            offset += 1
            continue
        if mh[offset] == wire.OPT_MAG_IPV6:
            return mh[offset + 4:offset + 20]
        offset += 2 + mh[offset + 1]
    return None


def test_pcap_of_the_sample_has_every_localized_routing_message(tmp_path) -> None:
    """The sample's MN-to-MN flows under pmipv6-lr: LRIs and LRAs of both sizes, each
    across two MAGs naming the MAG the other message of its pair goes to; tshark dissects
    every packet cleanly but the LRI/LRA themselves, which Wireshark 4.0 reads from the
    wrong offset (see test_wire.WIRESHARK_BUG_CONTEXT)."""
    need_tshark()
    flows = pl.read_parquet(SAMPLE / "flows.parquet").filter(pl.col("peer_mn").is_not_null())
    summary = export_pcap(SAMPLE, "pmipv6-lr", tmp_path / "lr.pcap",
                          flows=flows["flow"].to_list(), limit=20_000)
    for name in ("LRI", "LRA", "LRI-MAGs", "LRA-MAGs"):
        assert summary.messages.get(name, 0) > 0, name
    layers = dissect(summary.path)
    packets = read_pcap(summary.path)
    assert len(layers) == len(packets) == summary.packets
    across: dict[int, list[bytes]] = {}
    for dissected, (t, packet) in zip(layers, packets):
        kind = values(dissected, "mip6.mhtype")
        if kind and kind[0] in ("17", "18"):
            assert len(packet) in (MESSAGES["LRI"].bytes, MESSAGES["LRI-MAGs"].bytes)
            assert (packet[41] + 1) * 8 == len(packet) - 40  # the MH length field
            mag = _mag_option(packet)
            assert (mag is not None) == (len(packet) == MESSAGES["LRI-MAGs"].bytes)
            if mag is not None and kind[0] == "17":  # the LMA's LRIs to the two MAGs
                across.setdefault(t, []).append(packet)
            continue
        assert problems(dissected) == []
    assert across
    for pair in across.values():  # each names the MAG the other one goes to
        assert len(pair) == 2
        assert _mag_option(pair[0]) == pair[1][24:40] and _mag_option(pair[1]) == pair[0][24:40]
