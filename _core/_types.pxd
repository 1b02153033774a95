# Shared C types of the compiled core.
#
# One name per meaning, so a declaration says what a number is (a time, a node, a count)
# and not only how wide it is. Widths follow the arrays of dmmemu.replay_io: times and
# counters are int64 like the trace and RawCounters; ids are int32 like flow_mn, ev_a, ev_b.

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint64_t

ctypedef int64_t time_t     # nanoseconds (packet, event and delay times)
ctypedef int32_t node_t     # topology node id; -1 = none (detached, no anchor, no relay)
ctypedef int32_t mn_t       # mobile node id, 0 .. n_mns-1
ctypedef int32_t flow_t     # dense flow index, 0 .. F-1; -1 = unknown trace id
ctypedef int32_t addr_t     # slot in the address pool; -1 = none (end of a list, unbound)
ctypedef int64_t row_t      # mobility row (handover table); -1 = none
ctypedef int64_t count_t    # every counter (packets, bytes, hops, messages, byte*hops)
ctypedef uint16_t hops_t    # hop count of one shortest path (topology matrix H)
ctypedef uint16_t psize_t   # packet size in bytes (packets.parquet size)
ctypedef uint64_t flow_id_t # flow id as written in the trace (sparse, strictly ascending)
ctypedef int32_t bin_t      # timeline bin (§11), 0 .. n_bins-1; n_bins * N <= 50 million
