"""Small hand-made traces shared by several test modules."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dmmemu.topology.generators import FlatWifi
from dmmemu.trace.writer import write_trace

S = 1_000_000_000
POAS = (5, 7, 9, 11, 13, 15)  # FlatWifi(rows=2, cols=3, correspondents=2)
CNS = (2, 3)
SIZES = (1400, 52, 20, 27, 28, 39, 40, 47, 48, 200)


def grid_trace(path: Path) -> Path:
    """Five MNs moving every 2-6 s over the six ARs of ``FlatWifi(rows=2, cols=3,
    correspondents=2)`` (two of them IPv4-only, one behind a NAT), MN 4 detaching for 3 s; three flows each (with and without
    continuity, overlapping), one packet every 0.2 s in sizes that exercise every wire path."""
    rng = np.random.default_rng(7)
    moves: list[tuple[int, int, int]] = []
    for mn in range(5):
        t, poa = int(rng.integers(0, 2 * S)), int(rng.choice(POAS))
        while t < 40 * S:
            moves.append((t, mn, poa))
            t += int(rng.integers(2 * S, 6 * S))
            poa = int(rng.choice([p for p in POAS if p != poa]))
    moves += [(30 * S, 4, -1), (33 * S, 4, POAS[0])]  # MN 4 detaches and comes back
    moves.sort()
    flows = []  # (id, mn, peer, start, end, continuity)
    for mn in range(5):
        flows += [(10 * mn + 1, mn, CNS[0], 1 * S + mn, 38 * S, True),
                  (10 * mn + 2, mn, CNS[1], 5 * S, 25 * S, False),
                  (10 * mn + 3, mn, CNS[1], 20 * S, 39 * S, True)]
    packets = []  # (t, flow, size, dir)
    for fid, _, _, start, end, _ in flows:
        for k, t in enumerate(range(start, end + 1, S // 5)):
            packets.append((t, fid, SIZES[(k + fid) % len(SIZES)], (k + 1) % 2))
    packets.sort()
    # The third and sixth ARs give IPv4-only access, the fifth sits behind a NAT (RFC 5555).
    topology = FlatWifi(rows=2, cols=3, correspondents=2, ipv4_every=3, nat_every=5).build()
    return write_trace(
        path, name="pcap-grid", topology=topology,
        mobility={k: np.array(v) for k, v in zip(("t", "mn", "poa"), zip(*moves))},
        flows={k: np.array(v) for k, v in zip(
            ("flow", "mn", "peer", "start", "end", "continuity"), zip(*flows))},
        packets={k: np.array(v) for k, v in zip(("t", "flow", "size", "dir"), zip(*packets))},
    )
