# Anchor chains (docs/semantics.md §7 step 5): the path from an address's anchor down the
# levels of its chain to the PoA, with encapsulation bytes per segment.
#
# A chain is K rows of per-PoA nodes (PolicyTables.chain); the segment that leaves level l
# (0 = the anchor) carries segment_bytes[l], and the segment into the PoA adds the PoA's
# access_bytes (an IPv4-only or NATed access). The path is computed only when a flow's
# cached path is stale, never per packet, so the loop over the levels costs the common
# packet nothing.

from libc.stdint cimport int32_t, uint8_t

from _types cimport count_t, node_t, time_t
from paths cimport Paths, path_delay, path_hops


cdef struct Chain:
    const int32_t* nodes          # (levels, n) row-major: nodes[(k - 1) * n + p], -1 none
    const int32_t* segment_bytes  # (levels + 1,)
    const int32_t* access_bytes   # (n,)
    const uint8_t* bypass         # (n,) bit k - 1: addresses anchored at the node skip level k
    Py_ssize_t levels
    Py_ssize_t n


cdef struct Route:
    count_t hops                  # Σ hops of the segments
    time_t delay                  # Σ one-way delays of the segments (ns)
    count_t overhead              # Σ encapsulation bytes per packet
    count_t overhead_bh           # Σ encapsulation bytes × segment hops
    count_t segments              # how many segments (a tunnel nested around all adds to each)


cdef inline void _segment(const Paths* paths, Route* route, node_t u, node_t v,
                          count_t nbytes) noexcept nogil:
    cdef count_t h = path_hops(paths, u, v)
    route.hops += h
    route.delay += path_delay(paths, u, v)
    route.overhead += nbytes
    route.overhead_bh += nbytes * h
    route.segments += 1


cdef inline void chain_route(const Chain* chain, const Paths* paths, node_t a, node_t p,
                             Route* route) noexcept nogil:
    """The segments from anchor a down the chain to PoA p: a level whose node is absent or
    the PoA itself, or that a's addresses bypass, adds nothing; a node equal to the one the
    path has reached moves that node to its level."""
    cdef node_t u = a, b
    cdef Py_ssize_t k, level = 0
    cdef uint8_t bypass = chain.bypass[a]
    route.hops = 0
    route.delay = 0
    route.overhead = 0
    route.overhead_bh = 0
    route.segments = 0
    for k in range(1, chain.levels + 1):
        b = chain.nodes[(k - 1) * chain.n + p]
        if b < 0 or b == p or (bypass >> (k - 1)) & 1:
            continue
        if b != u:
            _segment(paths, route, u, b, chain.segment_bytes[level])
            u = b
        level = k
    _segment(paths, route, u, p, chain.segment_bytes[level] + chain.access_bytes[p])


cdef inline void direct_route(const Paths* paths, node_t c, node_t p, count_t option_bytes,
                              Route* route) noexcept nogil:
    """The direct path (k = 0) from peer c to PoA p, carrying per-packet option bytes."""
    route.hops = 0
    route.delay = 0
    route.overhead = 0
    route.overhead_bh = 0
    route.segments = 0
    _segment(paths, route, c, p, option_bytes)
