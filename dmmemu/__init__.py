"""dmmemu: trace-driven emulation of IP mobility-management practices."""

__version__ = "0.1.0"
