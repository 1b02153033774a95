"""``dmmemu report`` (the HTML comparison page) and ``dmmemu pcap`` (a capture for Wireshark)."""

from __future__ import annotations

from pathlib import Path

import click

from dmmemu.cli._common import parse_params, user_errors
from dmmemu.report.html import write_report
from dmmemu.report.pcap import DEFAULT_LIMIT, SEGMENTS, PcapSummary, export_pcap


@click.command("report")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("report.html"), show_default=True, help="The HTML file to write.")
@click.option("--title", default=None, help="Page title (default: names the trace).")
def report_command(results_dir: Path, out: Path, title: str | None) -> None:
    """Write one self-contained HTML report of the runs in RESULTS_DIR (one run, or one
    sub-directory per practice as `dmmemu run` writes them)."""
    path = user_errors(write_report)(results_dir, out, title=title)
    click.echo(f"wrote {path}")


def _flow_ids(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of flow ids",
                                 param_hint="--flows") from None


def _epoch_ns(text: str | None) -> int | None:
    """``--epoch``: ISO 8601 (UTC unless zoned) or seconds since 1970, as ns."""
    if text is None:
        return None
    from datetime import datetime, timezone

    try:
        return round(float(text) * 1e9)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither an ISO 8601 time "
                                 "(2026-12-02T08:00:00) nor seconds since 1970",
                                 param_hint="--epoch") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


@click.command("pcap")
@click.argument("trace", type=click.Path(path_type=Path))
@click.option("--practice", "-p", required=True, help="Practice key; see `dmmemu practices`.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Practice parameter (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="pcap file to write.")
@click.option("--flows", default=None, metavar="IDS",
              help="Comma-separated trace flow ids: only their packets and their MNs' signaling.")
@click.option("--limit", type=click.IntRange(min=1), default=DEFAULT_LIMIT, show_default=True,
              help="Write at most this many packets (the earliest).")
@click.option("--segment", type=click.Choice(SEGMENTS), default="tunnel", show_default=True,
              help="Chain segment data packets are captured on.")
@click.option("--epoch", default=None, metavar="TIME",
              help="Wall-clock time of the trace's first instant: ISO 8601 "
              "(2026-12-02T08:00:00, UTC unless it gives a zone) or seconds since 1970.  "
              "[default: the trace's own times]")
@click.option("--overwrite", is_flag=True, help="Replace an existing pcap file.")
def pcap_command(trace: Path, practice: str, params: tuple[str, ...], out: Path,
                 flows: str | None, limit: int, segment: str, epoch: str | None,
                 overwrite: bool) -> None:
    """Write a sample of TRACE's emulated packets under --practice as a pcap file.

    Data packets carry their real outer headers, signaling messages their real formats; open
    the file with `tshark -d udp.port==4191,ipv6 -d udp.port==5437,ipv6 -r OUT` (the two
    UDP tunnels have no port of their own in Wireshark).
    """
    @user_errors
    def run() -> PcapSummary:
        return export_pcap(trace, practice, out, params=parse_params(params),
                           flows=_flow_ids(flows), limit=limit, segment=segment,
                           epoch_ns=_epoch_ns(epoch), overwrite=overwrite)

    summary = run()
    kinds = ", ".join(f"{n} {c}" for n, c in sorted(summary.messages.items())) or "none"
    more = " (limit reached)" if summary.truncated else ""
    click.echo(f"wrote {summary.packets} packets to {summary.path}{more}: "
               f"{summary.data_packets} data, messages: {kinds}")
    if summary.left_out:
        counts = ", ".join(f"{n} {c}" for n, c in sorted(summary.left_out.items()))
        click.echo(f"counted, not written (S1AP and X2AP over SCTP have no builder): {counts}")
