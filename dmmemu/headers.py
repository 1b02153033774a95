"""Header and message sizes in bytes: the one source of truth for every practice.

Sizes are IP-packet bytes (no link layer, no IPsec), from ``PRACTICES.md``'s table, which was
checked against real captures dissected by Wireshark.
"""

# Encapsulation added to the user's packet.
IPV6_IN_IPV6_BYTES = 40  # RFC 2473 outer IPv6 header
IPV6_IN_IPV4_BYTES = 20
GTPU_UDP_IPV4_BYTES = 36  # TS 29.281: 8 GTP-U + 8 UDP + 20 IPv4

# Mobility signaling.
BU_HA_BYTES = 80  # RFC 6275 §6.1.7 BU with home address option
BA_BYTES = 80  # RFC 6275 §6.1.8 BA with type 2 routing header
# RFC 5213 §8.1/8.2 PBU/PBA with NAI, HNP, handoff indicator, access technology type and
# timestamp options: 112 to 120 bytes in captures; the upper end is used.
PBU_BYTES = 120
PBA_BYTES = 120
