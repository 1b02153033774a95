#!/bin/sh
# Regenerate traces/sumo-sample with Eclipse SUMO's own tools, then import it with dmmemu.
#
#   pip install eclipse-sumo==1.28.0      # the sumo, netgenerate binaries and tools/
#   traces/sumo-sample/make.sh [OUT_DIR]  # default: this directory
#
# Only the trace's files are replaced (make.sh and README.md stay). SUMO's inputs and its
# floating-car data live in a temporary directory: the trace is generated, never downloaded.
# The same SUMO version gives the same trace, byte for byte.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
python=${PYTHON:-python}
SUMO_HOME=$("$python" -c 'import sumo; print(sumo.SUMO_HOME)')
export SUMO_HOME  # randomTrips.py finds duarouter through it
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# 1. Road network: a 6 x 6 Manhattan grid of 200 m blocks (1 km x 1 km), one lane each way.
"$SUMO_HOME/bin/netgenerate" --grid --grid.number 6 --grid.length 200 \
    --default.lanenumber 1 --output-file "$work/grid.net.xml" >/dev/null

# 2. Demand: 225 trips, one every 4 s for 15 minutes, at least 600 m long, mostly entering
#    and leaving at the edge of the grid.
"$python" "$SUMO_HOME/tools/randomTrips.py" --net-file "$work/grid.net.xml" \
    --begin 0 --end 900 --period 4 --seed 1 --fringe-factor 5 --min-distance 600 \
    --output-trip-file "$work/trips.xml" --route-file "$work/routes.rou.xml" >/dev/null

# 3. Simulation: 20 minutes, floating-car data every second, as Parquet.
"$SUMO_HOME/bin/sumo" --net-file "$work/grid.net.xml" --route-files "$work/routes.rou.xml" \
    --begin 0 --end 1200 --seed 1 --no-step-log \
    --fcd-output "$work/fcd.parquet" >/dev/null

# 4. Import: a 4 x 4 grid of PoAs 250 m apart over the network's bounds, 160 m range (the
#    outer ring road has coverage holes), 10 m hysteresis, 300 000 packets of traffic.
"$python" -m dmmemu import sumo "$work/fcd.parquet" --net "$work/grid.net.xml" \
    --spacing 250 --range 160 --hysteresis 10 --packets 300000 --seed 0 \
    --name sumo-sample --out "$work/trace" >/dev/null

mkdir -p "$out"
for f in trace.toml topology.toml mobility.parquet flows.parquet packets.parquet mn_names.csv
do
    rm -f "$out/$f"
done
cp "$work"/trace/* "$out"/
echo "wrote $out"
