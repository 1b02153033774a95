# Path lookups: the one interface through which both the packet loop and the signaling
# programs read hops and delays between two nodes (docs/semantics.md §1, H and D).
#
# Today an N x N pair of matrices, row-major; a larger topology can replace the struct and
# these two functions (by landmarks, by a tree of areas) without touching the engine. In a
# checked build (DMMEMU_CHECKED=1) every lookup is bounds-checked and an id out of range
# aborts with a message, as the memoryviews' own checks would raise.

from libc.stdint cimport int64_t
from libc.stdio cimport fprintf, stderr
from libc.stdlib cimport abort

from _types cimport count_t, hops_t, node_t, time_t

cdef extern from *:
    int DMMEMU_CHECKED_BUILD


cdef struct Paths:
    const hops_t* hops      # (n, n) hops of the shortest-delay path
    const int64_t* delay    # (n, n) its one-way delay, ns
    Py_ssize_t n


cdef inline Py_ssize_t _cell(const Paths* paths, node_t u, node_t v) noexcept nogil:
    if DMMEMU_CHECKED_BUILD and not (0 <= u < paths.n and 0 <= v < paths.n):
        fprintf(stderr, b"replay core: path lookup (%d, %d) outside %zd nodes\n", u, v,
                paths.n)
        abort()
    return u * paths.n + v


cdef inline count_t path_hops(const Paths* paths, node_t u, node_t v) noexcept nogil:
    """Hops from u to v."""
    return paths.hops[_cell(paths, u, v)]


cdef inline time_t path_delay(const Paths* paths, node_t u, node_t v) noexcept nogil:
    """One-way delay from u to v (ns)."""
    return paths.delay[_cell(paths, u, v)]
