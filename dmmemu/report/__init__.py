"""What a person reads: the HTML comparison report and pcap captures for Wireshark."""

from dmmemu._exports import lazy_exports

_EXPORTS = {
    "write_report": "html",
    "export_pcap": "pcap",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
