#!/usr/bin/env bash
# apiary-extender over HTTP with wrk (bench/README.md, "apiary-extender over
# HTTP"). Starts a fake API server and the extender on loopback, populates a
# 1,280-node cluster, then measures filter and bind.
#   BUILD=/work/build-ext bash bench/extender/run.sh
# EXTENDER=<binary> runs another apiary-extender build (e.g. an older one)
# against the same fake API server and bodies.
set -euo pipefail
cd "$(dirname "$0")"
BUILD=${BUILD:-/work/build-ext}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
LOG_LEVEL=${LOG_LEVEL:-info}
OUT=$(mktemp -d /tmp/apiary-bench-XXXXXX)
source ./lib.sh
trap cleanup_pids EXIT

python3 setup.py config "$OUT"
start_fake_api
start_extender extender.log --log-level "$LOG_LEVEL"
python3 setup.py populate "http://127.0.0.1:$API" "http://127.0.0.1:$EXT" "$OUT" --bind-pods "${BIND_PODS:-10000}"

URL=http://127.0.0.1:$EXT/v1/extender
echo "== filter, decided pod (Binding: the retry path), 1,280 node names"
BODY=$OUT/filter_decided.json wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s post.lua "$URL/filter"
echo "== filter, waiting 200-pod gang (full placement search every call), 1,280 node names"
BODY=$OUT/filter_waiting.json wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s post.lua "$URL/filter"
echo "== bind, first time ($(wc -l < "$OUT/bind_bodies.txt") pods: one binding POST, annotations included, to the API server each)"
BODIES=$OUT/bind_bodies.txt THREADS=1 ONCE=1 wrk -t1 -c"$CONNS" -d60s --latency -s rotate.lua "$URL/bind"
echo "== bind, repeated (idempotent: already bound, no API call)"
BODIES=$OUT/bind_bodies.txt THREADS=$THREADS wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s rotate.lua "$URL/bind"
curl -s "http://127.0.0.1:$EXT/metrics" | grep -E '^apiary_extender_(requests_total|api_bindings_total|pods)' || true
echo "(work dir $OUT)"
