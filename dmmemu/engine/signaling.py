"""Signaling programs: which messages a trigger sends, between which roles, in what order.

A practice describes its signaling as legs (``Leg``); ``program_table`` packs them into the
int64 table both engines execute (``PolicyTables.legs``), and checks that every reference
between legs can be evaluated in one pass. Rules: ``docs/semantics.md`` §4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmmemu.errors import PracticeError

# Triggers of a program, which are also the causes signaling is counted under.
CAUSE_ATTACH = 0
CAUSE_HANDOVER = 1
CAUSE_FLOW = 2
CAUSE_REFRESH = 3
CAUSE_DEREGISTRATION = 4
CAUSE_CORRESPONDENT = 5  # return routability and the BU to a correspondent (semantics.md §15)
# Localized routing between two MNs (semantics.md §18): setting it up (again, after a move),
# and tearing it down when the MNs' places no longer allow it.
CAUSE_LOCALIZED = 6
CAUSE_LOCALIZED_END = 7
PAIR_CAUSES = (CAUSE_LOCALIZED, CAUSE_LOCALIZED_END)
# An address the MN's move took out of its anchor's scope (semantics.md §5 step 5): the
# network releases it (SIPTO's and LIPA's "reactivation requested").
CAUSE_RELEASE = 8
# An address the move took out of its anchor's scope where the practice lets such addresses
# live on (PolicyTables.deprecated_lifetime_ns, semantics.md §5 step 5): the network tells
# the MN that it is deprecated and for how long it lasts (SSC mode 3's PDU Session
# Modification Command with the address lifetime). Its release, later, is CAUSE_RELEASE.
CAUSE_DEPRECATION = 9
# The home address relocated to another anchor at a handover (PolicyTables.relocation,
# semantics.md §5 step 9a): RFC 5142's Home Agent Switch, then the new registration.
CAUSE_RELOCATION = 10
# A deprecated address nothing pins any more, given up by the MN before its lifetime ends
# (semantics.md §5 step 5: SSC mode 3's UE-requested release); a practice without legs of
# this cause releases it with its release program.
CAUSE_RETIREMENT = 11
MOVING_CAUSES = (CAUSE_HANDOVER, CAUSE_DEREGISTRATION, CAUSE_RELEASE,
                 CAUSE_DEPRECATION, CAUSE_RELOCATION, CAUSE_RETIREMENT)  # with a previous PoA
CAUSE_NAMES = ("attach", "handover", "flow", "refresh", "deregistration", "correspondent",
               "localized-routing", "localized-routing-end", "release", "deprecation",
               "relocation", "retirement")

# Roles a leg runs between, resolved to nodes when the leg runs (semantics.md §4).
ROLE_MN = 0  # the mobile node itself: at its PoA, one radio hop further, no extra delay
ROLE_POA = 1  # the PoA (MAG) the MN is at; at a de-registration, the one it left
ROLE_PREV_POA = 2  # the PoA it left (handover and de-registration only)
ROLE_ANCHOR = 3  # the anchor of the address signalled (legs once per address only)
ROLE_SERVING = 4  # the anchor serving the PoA (the tunnel's end, the serving MAAR)
ROLE_THIRD = 5  # the practice's third node (CMD, MME): PolicyTables.third_node
ROLE_LEVEL = 6  # the node at the leg's chain level for the PoA (a MAP, an SGW)
ROLE_PREV_LEVEL = 7  # the node at that level for the PoA it left
ROLE_PEER = 8  # the correspondent of a correspondent binding (correspondent programs only)
# The other MN of a localized-routing pair (§18): its PoA (MAG) and its home anchor (LMA).
ROLE_PEER_POA = 9
ROLE_PEER_ANCHOR = 10
PAIR_ROLES = (ROLE_PEER_POA, ROLE_PEER_ANCHOR)
ROLE_PREV_ANCHOR = 11  # the anchor a relocated address leaves (relocation programs only)
ROLE_NAMES = ("mn", "poa", "prev-poa", "anchor", "serving", "third", "level", "prev-level",
              "peer", "peer-poa", "peer-anchor", "prev-anchor")

# When a leg with a chain level is sent (semantics.md §4): bindings per level, so that a
# move updates only the levels whose node changed (a local BU inside a MAP domain, an
# intra-SGW move that never reaches the PGW).
WHEN_ALWAYS = 0
WHEN_LEVEL_CHANGED = 1  # only if the level's node differs between the new and the old PoA
WHEN_LEVEL_KEPT = 2  # only if it is the same node
# Only in a correspondent program: sent unless the home keygen token of the binding is younger
# than PolicyTables.token_lifetime_ns (RFC 6275 §5.2.7: a moving MN reuses it).
WHEN_TOKEN_STALE = 3
# Per address: sent only if the address's anchor is (is not) the third node: the contacted
# LMA answers itself, or first exchanges with the LMA it redirects to (RFC 6463).
WHEN_ANCHOR_IS_THIRD = 4
WHEN_ANCHOR_NOT_THIRD = 5
ANCHOR_CONDITIONS = (WHEN_ANCHOR_IS_THIRD, WHEN_ANCHOR_NOT_THIRD)
# Sent only for an MN that is (is not) a mobile router (semantics.md §16): NEMO's BU with the
# R flag and the Mobile Network Prefix option, and a host's plain BU (RFC 3963 §5.1).
WHEN_MN_ROUTER = 6
WHEN_MN_HOST = 7
MN_CONDITIONS = (WHEN_MN_ROUTER, WHEN_MN_HOST)
# Only in a localized-routing program (§18): sent only in one of the four places of the two
# MNs, RFC 6705's cases: the same or other PoAs (MAGs), the same or other anchors (LMAs).
# The code is WHEN_SAME_POA_SAME_ANCHOR + the pair's case (pair_case).
WHEN_SAME_POA_SAME_ANCHOR = 8
WHEN_OTHER_POA_SAME_ANCHOR = 9
WHEN_SAME_POA_OTHER_ANCHOR = 10
WHEN_OTHER_POA_OTHER_ANCHOR = 11
PAIR_CONDITIONS = (WHEN_SAME_POA_SAME_ANCHOR, WHEN_OTHER_POA_SAME_ANCHOR,
                   WHEN_SAME_POA_OTHER_ANCHOR, WHEN_OTHER_POA_OTHER_ANCHOR)
# Per address, at a chain level: sent only if the address's anchor is (is not) the level's
# node for the PoA: a gateway collocated with the SGW exchanges no S5 message with it.
WHEN_ANCHOR_IS_LEVEL = 12
WHEN_ANCHOR_NOT_LEVEL = 13
# Per address, at a chain level: as LEVEL_CHANGED, and only for the addresses anchored above
# the level (not at its node): HMIPv6's BU to the HA after a new MAP is the home address's,
# not that of a regional address the MAP itself anchors.
WHEN_LEVEL_CHANGED_ABOVE = 14
LEVEL_ANCHOR_CONDITIONS = (WHEN_ANCHOR_IS_LEVEL, WHEN_ANCHOR_NOT_LEVEL, WHEN_LEVEL_CHANGED_ABOVE)
WHEN_NAMES = ("always", "level-changed", "level-kept", "token-stale", "anchor-is-third",
              "anchor-not-third", "mn-router", "mn-host", "same-poa-same-anchor",
              "other-poa-same-anchor", "same-poa-other-anchor", "other-poa-other-anchor",
              "anchor-is-level", "anchor-not-level", "level-changed-above")


def pair_case(poa: int, anchor: int, peer_poa: int, peer_anchor: int) -> int:
    """The case of two MNs' places (§18), 0..3: bit 0 set on other PoAs, bit 1 on other
    anchors; ``WHEN_SAME_POA_SAME_ANCHOR + case`` is the condition that holds there."""
    return int(poa != peer_poa) | int(anchor != peer_anchor) << 1

# How often a leg runs per trigger.
ONCE = 0  # once per trigger
PER_ADDRESS = 1  # once per address the trigger signals for

# Where a leg's send time comes from when it follows no other leg.
AT_SIGNALING_START = -1  # after the interruption components before signaling (§5.10)
AT_MOVE = -2  # at the move itself (a previous MAG that notices the MN left)

# Leg flags.
FLAG_ENDS = 1  # the signaling is complete when every such leg has arrived
FLAG_HOLD = 2  # sent after the anchor's first-ack hold when the address is new (§5.9)
# A per-address leg sent only for an address registered before this run (a session the move
# keeps), or only for one that has never been (a session the move creates): semantics.md §4.
FLAG_REGISTERED = 4
FLAG_UNREGISTERED = 8
FLAGS = FLAG_ENDS | FLAG_HOLD | FLAG_REGISTERED | FLAG_UNREGISTERED

# Columns of PolicyTables.legs.
(LEG_CAUSE, LEG_SCOPE, LEG_KIND, LEG_SRC, LEG_DST, LEG_BYTES, LEG_BYTES_PER_ADDRESS, LEG_AFTER,
 LEG_OFFSET_NS, LEG_GATE, LEG_GATE_CAP_NS, LEG_FLAGS, LEG_LEVEL, LEG_WHEN, LEG_VIA,
 LEG_VIA_BYTES, LEG_AT_POA, LEG_AT_PREV_POA) = range(18)
LEG_COLUMNS = 18
# PoA classes (PolicyTables.poa_class, a practice's own codes) a leg may be limited to; the
# leg's LEG_AT_POA is a bit mask of them, 0 = at every PoA, and LEG_AT_PREV_POA the same
# for the PoA the MN left.
MAX_POA_CLASSES = 8
NO_VIA = -1  # LEG_VIA of a message that goes straight from its source to its destination
MAX_LEGS_PER_CAUSE = 48  # the core evaluates one trigger's legs in fixed-size arrays


@dataclass(frozen=True, slots=True)
class MessageKind:
    """One kind of message a practice counts: its name in the signaling table, the
    ``dmmemu.wire.sizes.MESSAGES`` format pcap export builds it with, whether it answers a
    request (and so echoes its sequence number), and whether it carries lifetime 0 (a
    de-registration)."""

    name: str
    wire: str
    reply: bool = False
    deregistration: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One message of a program: ``kind`` (index into the practice's message kinds) from role
    ``src`` to role ``dst``, ``nbytes`` long plus ``bytes_per_address`` for each address the
    trigger signals (one option per address), sent ``offset_ns`` after the leg ``after``
    arrives (an index in the same cause's legs, or ``AT_SIGNALING_START``/``AT_MOVE``); with
    a ``gate``, not before that leg arrives either, but waiting for it at most ``gate_cap_ns``.
    ``level`` (1..K, 0 = none) is the chain level the level roles name and ``when`` tests.
    ``via`` (a role, or ``NO_VIA``) relays the message: it goes source → via → destination,
    and the part between ``via`` and the MN end (the first part if neither end is the MN)
    carries ``via_bytes`` more, a tunnel (RFC 6275's HoTI and HoT through the HA).
    ``at_poa`` (PoA classes, empty = all) sends the leg only when the PoA the program runs at
    is of one of them: a message whose format depends on the access (RFC 5555's BU from an
    IPv4 care-of address). ``at_prev_poa`` does the same with the PoA the MN left (a
    handover or a de-registration only): 3GPP's handover between two eNBs and its handover
    in from another access are two legs of one program. ``registered`` (a per-address leg)
    sends it only for an address registered before (True) or never yet (False): the
    sessions a handover keeps and the one it creates get their own messages (5G's SSC
    mode 3).
    """

    cause: int
    kind: int
    src: int
    dst: int
    nbytes: int
    scope: int = PER_ADDRESS
    bytes_per_address: int = 0
    after: int = AT_SIGNALING_START
    offset_ns: int = 0
    gate: int = -1
    gate_cap_ns: int = 0
    ends: bool = False
    hold: bool = False
    level: int = 0
    when: int = WHEN_ALWAYS
    via: int = NO_VIA
    via_bytes: int = 0
    at_poa: tuple[int, ...] = ()
    at_prev_poa: tuple[int, ...] = ()
    registered: bool | None = None


def request_reply(cause: int, kinds: tuple[int, int], sender: int, sizes: tuple[int, int], *,
                  hold: bool = False) -> list[Leg]:
    """The common program: a request from ``sender`` to the address's anchor, then its reply
    (which completes the signaling); ``hold`` makes the reply wait for the anchor's hold."""
    return [Leg(cause=cause, kind=kinds[0], src=sender, dst=ROLE_ANCHOR, nbytes=sizes[0]),
            Leg(cause=cause, kind=kinds[1], src=ROLE_ANCHOR, dst=sender, nbytes=sizes[1],
                after=0, ends=True, hold=hold)]


def request_reply_program(sender: int, sizes: tuple[int, int], *, hold: bool = False,
                          kinds: tuple[int, int] = (0, 1)) -> list[Leg]:
    """``request_reply`` on every attach, handover, new address and refresh, and nothing on
    a detach: the program of Mobile IPv6's home registration (the MN as ``sender``)."""
    return [leg for cause in (CAUSE_ATTACH, CAUSE_HANDOVER, CAUSE_FLOW, CAUSE_REFRESH)
            for leg in request_reply(cause, kinds, sender, sizes, hold=hold)]


def program_table(legs: list[Leg], n_kinds: int) -> np.ndarray:
    """``legs`` grouped by cause as PolicyTables.legs; ``after``/``gate`` indices are local to
    each cause's legs in the order given, and become rows of the table."""
    rows = []
    for cause in range(len(CAUSE_NAMES)):
        own = [leg for leg in legs if leg.cause == cause]
        if len(own) > MAX_LEGS_PER_CAUSE:
            raise PracticeError(f"a {CAUSE_NAMES[cause]} program has {len(own)} legs, more than "
                                f"{MAX_LEGS_PER_CAUSE}")
        base = len(rows)
        for leg in own:
            rows.append([
                leg.cause, leg.scope, leg.kind, leg.src, leg.dst, leg.nbytes,
                leg.bytes_per_address, leg.after if leg.after < 0 else base + leg.after,
                leg.offset_ns, leg.gate if leg.gate < 0 else base + leg.gate, leg.gate_cap_ns,
                (FLAG_ENDS if leg.ends else 0) | (FLAG_HOLD if leg.hold else 0)
                | {None: 0, True: FLAG_REGISTERED, False: FLAG_UNREGISTERED}[leg.registered],
                leg.level, leg.when, leg.via, leg.via_bytes,
                sum(1 << c for c in set(leg.at_poa)),
                sum(1 << c for c in set(leg.at_prev_poa)),
            ])
    table = np.array(rows, np.int64).reshape(len(rows), LEG_COLUMNS)
    check_program(table, n_kinds)
    return table


def check_program(table: np.ndarray, n_kinds: int) -> None:
    """Refuse a leg table the engines could not run in one pass (semantics.md §4)."""
    if table.dtype != np.int64 or table.ndim != 2 or table.shape[1] != LEG_COLUMNS:
        raise PracticeError(f"policy table 'legs' must be int64 of shape (L, {LEG_COLUMNS})")
    causes = table[:, LEG_CAUSE]
    if table.shape[0] and (np.any(np.diff(causes) < 0)):
        raise PracticeError("policy table 'legs' must be grouped by cause, in cause order")
    for i, row in enumerate(table.tolist()):
        (cause, scope, kind, src, dst, nbytes, per_address, after, offset, gate, cap,
         flags, level, when, via, via_bytes, at_poa, at_prev_poa) = row
        where = f"signaling leg {i}"
        if not 0 <= cause < len(CAUSE_NAMES):
            raise PracticeError(f"{where}: unknown cause {cause}")
        if scope not in (ONCE, PER_ADDRESS):
            raise PracticeError(f"{where}: unknown scope {scope}")
        if not 0 <= kind < n_kinds:
            raise PracticeError(f"{where}: message kind {kind} is not one of the {n_kinds} kinds")
        for role in (src, dst):
            if not 0 <= role < len(ROLE_NAMES):
                raise PracticeError(f"{where}: unknown role {role}")
        if src == dst:
            raise PracticeError(f"{where}: a message from {ROLE_NAMES[src]} to itself")
        if not 0 <= when < len(WHEN_NAMES):
            raise PracticeError(f"{where}: unknown condition {when}")
        level_when = when in (WHEN_LEVEL_CHANGED, WHEN_LEVEL_KEPT) + LEVEL_ANCHOR_CONDITIONS
        if level < 0 or ((ROLE_LEVEL in (src, dst) or ROLE_PREV_LEVEL in (src, dst)
                          or level_when) and level == 0):
            raise PracticeError(f"{where}: a level role or condition needs a chain level >= 1")
        if when in ANCHOR_CONDITIONS and (scope != PER_ADDRESS or level != 0):
            raise PracticeError(f"{where}: a condition on the address's anchor needs a leg run "
                                "per address, at no chain level")
        if when in LEVEL_ANCHOR_CONDITIONS and (scope != PER_ADDRESS or level == 0):
            raise PracticeError(f"{where}: a condition on the address's anchor and a chain "
                                "level's node needs a leg run per address, at a chain level")
        if when in MN_CONDITIONS and level != 0:
            raise PracticeError(f"{where}: a condition on the MN (router or host) needs a leg "
                                "at no chain level")
        if ROLE_PEER in (src, dst, via) or when == WHEN_TOKEN_STALE:
            if cause != CAUSE_CORRESPONDENT:
                raise PracticeError(f"{where}: the peer role and the token condition exist "
                                    "only in correspondent programs")
        if set(PAIR_ROLES) & {src, dst, via} or when in PAIR_CONDITIONS:
            if cause not in PAIR_CAUSES or level != 0:
                raise PracticeError(f"{where}: the other MN's roles and the conditions on the "
                                    "two MNs' places exist only in localized-routing "
                                    "programs, at no chain level")
        if cause in (CAUSE_CORRESPONDENT,) + PAIR_CAUSES and (
                scope != PER_ADDRESS or after == AT_MOVE or flags & FLAG_HOLD):
            raise PracticeError(f"{where}: a {CAUSE_NAMES[cause]} program's legs run per "
                                "address, from its signaling start, without the anchor's hold")
        if via != NO_VIA and not (0 <= via < len(ROLE_NAMES) and via not in (src, dst)
                                  and via not in (ROLE_MN, ROLE_PREV_POA, ROLE_PREV_LEVEL)):
            raise PracticeError(f"{where}: a message is relayed by a node other than its ends, "
                                "one every run has (not the MN or a previous node)")
        if via == ROLE_LEVEL and level == 0:
            raise PracticeError(f"{where}: a level role needs a chain level >= 1")
        if via_bytes < 0 or via_bytes > 4096 or (via == NO_VIA and via_bytes):
            raise PracticeError(f"{where}: via_bytes must be 0 to 4096, and 0 without a relay")
        if not (0 <= at_poa < 1 << MAX_POA_CLASSES and 0 <= at_prev_poa < 1 << MAX_POA_CLASSES):
            raise PracticeError(f"{where}: PoA classes must be 0 to {MAX_POA_CLASSES - 1}")
        if at_prev_poa and cause not in MOVING_CAUSES:
            raise PracticeError(f"{where}: a {CAUSE_NAMES[cause]} has no previous PoA whose "
                                "class a leg could depend on")
        if ROLE_ANCHOR == via and scope != PER_ADDRESS:
            raise PracticeError(f"{where}: the anchor role exists only in legs run per address")
        if ROLE_PREV_LEVEL in (src, dst) and cause not in MOVING_CAUSES:
            raise PracticeError(f"{where}: a {CAUSE_NAMES[cause]} has no previous PoA")
        if ROLE_ANCHOR in (src, dst) and scope != PER_ADDRESS:
            raise PracticeError(f"{where}: the anchor role exists only in legs run per address")
        if ROLE_PREV_POA in (src, dst) and cause not in MOVING_CAUSES:
            raise PracticeError(f"{where}: a {CAUSE_NAMES[cause]} has no previous PoA")
        if after == AT_MOVE and cause not in (CAUSE_HANDOVER, CAUSE_DEREGISTRATION):
            raise PracticeError(f"{where}: only a handover or a de-registration starts at the move")
        if min(nbytes, per_address, offset, cap) < 0 or nbytes > 65535 or per_address > 65535:
            raise PracticeError(f"{where}: sizes, offsets and caps must be >= 0 (sizes <= 65535)")
        if flags & ~FLAGS:
            raise PracticeError(f"{where}: unknown flags {flags}")
        if ROLE_PREV_ANCHOR in (src, dst, via) and (cause != CAUSE_RELOCATION
                                                    or scope != PER_ADDRESS):
            raise PracticeError(f"{where}: the previous anchor exists only in relocation "
                                "programs, in legs run per address")
        registration = flags & (FLAG_REGISTERED | FLAG_UNREGISTERED)
        if registration and (scope != PER_ADDRESS
                             or registration == FLAG_REGISTERED | FLAG_UNREGISTERED):
            raise PracticeError(f"{where}: only a leg run per address can depend on its "
                                "address's registration, one way")
        if flags & FLAG_HOLD and scope != PER_ADDRESS:
            raise PracticeError(f"{where}: only a leg run per address can wait for the hold")
        for ref, name in ((after, "after"), (gate, "gate")):
            if ref in (AT_SIGNALING_START, AT_MOVE) and name == "after":
                continue
            if ref == -1 and name == "gate":
                continue
            if not 0 <= ref < i or causes[ref] != cause:
                raise PracticeError(f"{where}: {name} must name an earlier leg of the same cause")
            if scope == PER_ADDRESS and table[ref, LEG_SCOPE] == PER_ADDRESS:
                between = table[ref + 1:i, LEG_SCOPE]
                if np.any(between == ONCE):
                    raise PracticeError(
                        f"{where}: a leg run per address may follow only per-address legs of "
                        "its own run (no leg run once in between)")
