"""Typed stub of the compiled replay core (``_core/replay.pyx``); rules: docs/semantics.md."""

from dmmemu.engine.policy import PolicyTables
from dmmemu.engine.replay_io import PacketBatch, RawCounters, ReplayInput

CHECKED: bool  # built with bounds checks (DMMEMU_CHECKED=1)

class Replay:
    """One replay of a trace under one practice: ``feed`` packet batches, then ``finish``.

    Raises ``ValueError`` when the inputs do not fit the contract (shapes, dtypes, ids out of
    range, control events not sorted by ``(t, kind)`` or outside ``[t_begin, t_end]``, a flow
    without exactly one start and one end event at its start and end times, a move to a node
    that is not a PoA), and ``dmmemu.errors.PracticeError`` when ``timeline_bin_ns`` is not a
    whole number of ns > 0 or makes the timeline too large (§11).
    """

    def __init__(self, policy: PolicyTables, replay: ReplayInput, *,
                 timeline_bin_ns: int = 10_000_000_000) -> None: ...
    def feed(self, batch: PacketBatch) -> None:
        """Handle the control events due before each packet, then the packet (§2, §7).

        Raises ``dmmemu.errors.PacketRowError`` (column ``"flow"``, ``"t"``, ``"dir"`` or
        ``"size"``, row ``batch.first_row + i``) at the first bad row; packets before it are
        counted, and the object then refuses ``feed`` and ``finish`` (``RuntimeError``).
        """
    def finish(self) -> RawCounters:
        """Handle the remaining control events, close the trace (§8), return the counters.

        Call once; a second call raises ``RuntimeError``.
        """
