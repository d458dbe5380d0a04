#!/usr/bin/env bash
# A/B of where a decided filter is handled (bench/README.md, "Deciding on the
# I/O thread"): the same apiary-extender binary with --decide-on-io-thread
# false and true, alternated ROUNDS times, wrk -t2 -c8 on the decided-filter
# body; prints req/s, latency percentiles and the extender's own CPU per
# call (utime+stime from /proc/PID/stat over the run).
#   BUILD=build ROUNDS=3 DUR=10s bash bench/extender/dispatch_ab.sh
# WRK_THREADS=N sets wrk's threads (default 2); PIN=1 pins wrk to CPU 0 and
# the extender to CPU 1 (taskset), so that the load generator does not take
# the server's core: on a two-vCPU machine this separates the server's tail
# from the scheduler's time slices shared with wrk. MODES="true" runs only
# one dispatch.
set -euo pipefail
BUILD=$(cd "${BUILD:-$(dirname "$0")/../../build}" && pwd)
cd "$(dirname "$0")"
EXTENDER=${EXTENDER:-${EXT_BIN:-$BUILD/scheduler-extender/apiary-extender}}
OUT=$(mktemp -d /tmp/apiary-ab-XXXXXX)
source ./lib.sh
trap 'cleanup_pids; rm -rf "$OUT"' EXIT
python3 setup.py config "$OUT" >/dev/null
start_fake_api
WRK_PIN=()
if [[ "${PIN:-0}" == 1 ]]; then EXT_PREFIX=(taskset -c 1); WRK_PIN=(taskset -c 0); fi
start_ext() { start_extender ext.log --log-level info --decide-on-io-thread "$1"; }
start_ext true
python3 setup.py populate "http://127.0.0.1:$API" "http://127.0.0.1:$EXT" "$OUT" --bind-pods 100 >/dev/null
kill $EPID; wait $EPID 2>/dev/null || true
hz=$(getconf CLK_TCK)
for _ in $(seq "${ROUNDS:-3}"); do for io in ${MODES:-false true}; do
  start_ext $io
  c0=$(awk '{print $14+$15}' /proc/$EPID/stat)
  res=$(BODY=$OUT/filter_decided.json "${WRK_PIN[@]}" wrk -t"${WRK_THREADS:-2}" -c8 -d"${DUR:-10s}" --latency -s post.lua "http://127.0.0.1:$EXT/v1/extender/filter")
  c1=$(awk '{print $14+$15}' /proc/$EPID/stat)
  n=$(echo "$res" | awk '/requests in/{print $1}')
  echo "io_thread=$io wrk_threads=${WRK_THREADS:-2} pin=${PIN:-0} load=$(cut -d' ' -f1 /proc/loadavg) rps=$(echo "$res" | awk '/Requests\/sec/{print $2}')" \
    "p50=$(echo "$res" | awk '/ 50%/{print $2}') p90=$(echo "$res" | awk '/ 90%/{print $2}')" \
    "p99=$(echo "$res" | awk '/ 99%/{print $2}') ext_cpu_us_per_call=$(python3 -c "print(round(($c1-$c0)*1e6/$hz/$n,1))")"
  kill $EPID; wait $EPID 2>/dev/null || true
done; done
