# The timer heap (docs/semantics.md §12): a binary heap of timers ordered by (due, seq),
# seq counting every timer pushed, so equal due times fire in the order they were set.

from libc.stdint cimport int8_t, int32_t
from libc.stdlib cimport realloc

from _types cimport count_t, time_t


cdef struct Timer:
    time_t due
    count_t seq
    int32_t target          # address slot or MN, by kind
    int8_t kind


cdef struct TimerHeap:
    Timer* entries          # malloc'd by the owner, grown here
    Py_ssize_t n
    Py_ssize_t capacity
    count_t seq             # seq of the latest timer pushed


cdef inline bint _before(const Timer* u, const Timer* v) noexcept nogil:
    return u.due < v.due or (u.due == v.due and u.seq < v.seq)


cdef inline count_t heap_push(TimerHeap* heap, time_t due, int8_t kind,
                              int32_t target) noexcept nogil:
    """Push a timer; its seq (>= 1), or 0 when the heap cannot grow (out of memory)."""
    cdef Timer* grown
    cdef Timer entry
    cdef Py_ssize_t i, parent
    if heap.n == heap.capacity:
        grown = <Timer*> realloc(heap.entries, 2 * heap.capacity * sizeof(Timer))
        if grown == NULL:
            return 0
        heap.entries = grown
        heap.capacity *= 2
    heap.seq += 1
    entry = Timer(due=due, seq=heap.seq, target=target, kind=kind)
    i = heap.n
    heap.n += 1
    while i > 0:  # sift up
        parent = (i - 1) // 2
        if not _before(&entry, &heap.entries[parent]):
            break
        heap.entries[i] = heap.entries[parent]
        i = parent
    heap.entries[i] = entry
    return heap.seq


cdef inline bint heap_due(const TimerHeap* heap, time_t t) noexcept nogil:
    """A timer is due at or before t."""
    return heap.n > 0 and heap.entries[0].due <= t


cdef inline Timer heap_pop(TimerHeap* heap) noexcept nogil:
    """Remove and return the earliest timer (the heap must not be empty)."""
    cdef Timer top = heap.entries[0], last
    cdef Py_ssize_t i = 0, child, n
    heap.n -= 1
    n = heap.n
    if n > 0:
        last = heap.entries[n]
        while True:  # sift down
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and _before(&heap.entries[child + 1], &heap.entries[child]):
                child += 1
            if not _before(&heap.entries[child], &last):
                break
            heap.entries[i] = heap.entries[child]
            i = child
        heap.entries[i] = last
    return top
