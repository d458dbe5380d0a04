# Shared by run.sh and dispatch_ab.sh (source it; needs $BUILD and $OUT):
# start the fake API server and an apiary-extender on loopback and wait
# until each is up. Every process started is killed on exit.
pids=()
cleanup_pids() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }

# Sets API to the fake API server's port.
start_fake_api() {
  "$BUILD/tests/fake-kube-apiserver" --port 0 > "$OUT/api.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q 'listening on' "$OUT/api.log" && break; sleep 0.05; done
  API=$(sed -n 's/listening on //p' "$OUT/api.log")
}

# start_extender LOG [FLAGS...]: runs the extender
# (${EXTENDER:-$BUILD/scheduler-extender/apiary-extender}) against $API with
# FLAGS, logging to $OUT/LOG, behind the words of EXT_PREFIX (e.g.
# `EXT_PREFIX=(taskset -c 1)`). Sets EPID and EXT (its port) once /readyz
# answers.
EXT_PREFIX=()
start_extender() {
  local log=$1; shift
  "${EXT_PREFIX[@]}" "${EXTENDER:-$BUILD/scheduler-extender/apiary-extender}" --config "$OUT/config.yaml" \
    --master "http://127.0.0.1:$API" --listen 127.0.0.1:0 "$@" > "$OUT/$log" 2>&1 &
  EPID=$!
  pids+=($EPID)
  for _ in $(seq 100); do grep -q 'event=serving' "$OUT/$log" && break; sleep 0.05; done
  EXT=$(sed -n 's/.*event=serving address=127.0.0.1:\([0-9]*\).*/\1/p' "$OUT/$log")
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$EXT/readyz" >/dev/null && break; sleep 0.05; done
}
