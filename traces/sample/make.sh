#!/bin/sh
# Regenerate traces/sample: the composite reference topology, coverage holes, local peers at
# the HeNB sites, a flow mix whose applications ask for RFC 8653 address types, and mobile
# routers (one of them nested) with MNs riding behind them.
#
#   traces/sample/make.sh [OUT_DIR]   # default: this directory; needs dmmemu installed
#
# Only the trace's files are replaced (make.sh and README.md stay). The same dmmemu version
# gives the same trace, byte for byte.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
dmmemu=${DMMEMU:-dmmemu}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# A background application beside the default four: long, sparse, continuity needed
# (telemetry, push channels); it is what most often runs through a coverage hole.
"$dmmemu" gen --out "$work/sample" --topology composite --mns 300 --packets 1000000 \
    --seed 0 --holes-per-mn-hour 3 --traffic-param local_peer_share=0.5 \
    --traffic-param mn_peer_share=0.05 \
    --app-param web.address_type=non-persistent \
    --app-param video.address_type=graceful-replacement \
    --app-param voice.address_type=session-lasting \
    --app-param telemetry.share=0.2 --app-param telemetry.continuity=true \
    --app-param telemetry.size_law=lognormal --app-param telemetry.size_scale=20000.0 \
    --app-param telemetry.size_shape=1.0 --app-param telemetry.rate_pps=1.0 \
    --app-param telemetry.down_bytes=200 --app-param telemetry.up_every=1 \
    --app-param telemetry.up_bytes=100 \
    --network-param router_fraction=0.02 --network-param nested_fraction=0.34 \
    --no-progress >/dev/null

mkdir -p "$out"
for f in trace.toml topology.toml mobility.parquet flows.parquet packets.parquet \
    networks.parquet; do
    cp "$work/sample/$f" "$out/$f"
done
echo "wrote $out"
