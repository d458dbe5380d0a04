#!/usr/bin/env bash
# "Try it locally" (docs/extender.md, section 3): apiary-extender against the
# bundled fake Kubernetes API server, driven with curl as kube-scheduler
# drives it: one filter, one bind, then inspect and metrics. Needs only a
# build (`APIARY_BUILD_TARGETS="apiary-extender fake-kube-apiserver" bash
# scripts/build.sh`) and curl. Run from the repository root; BUILD names the
# build directory (default build). A test (extender_try_it_locally) runs it.
set -euo pipefail
command -v curl >/dev/null || { echo "try-it.sh: needs curl (apt-get install curl)" >&2; exit 77; }
BUILD=${BUILD:-build}
WORK=$(mktemp -d)
cleanup() {
  kill "${EXT_PID:-}" "${API_PID:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# Waits (up to 20 s) until the command succeeds.
retry() { for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; "$@"; }

# 1. The fake API server (pods, nodes, leases, watches, bindings) on a free
#    port, and the seven nodes of examples/configs/hived-basic.yaml.
"$BUILD/tests/fake-kube-apiserver" >"$WORK/api.log" &
API_PID=$!
retry grep -q "listening on" "$WORK/api.log"
API=http://127.0.0.1:$(sed -n 's/^listening on //p' "$WORK/api.log")
for n in dgx-01 dgx-02 dgx-03 dgx-04 k80-01 k80-02 k80-03; do
  curl -sf "$API/api/v1/nodes" -d '{"metadata":{"name":"'$n'"},
    "status":{"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
done

# 2. The extender, with the example config, on a free port; ready once it
#    has recovered the (here: no) bound pods.
"$BUILD/scheduler-extender/apiary-extender" --config examples/configs/hived-basic.yaml \
  --master "$API" --listen 127.0.0.1:0 >"$WORK/extender.log" 2>&1 &
EXT_PID=$!
retry grep -q "event=serving" "$WORK/extender.log"
EXT=http://$(sed -n 's/.*event=serving address=\([0-9.:]*\).*/\1/p' "$WORK/extender.log" | head -1)
retry curl -sf "$EXT/readyz"
echo "extender at $EXT: $(curl -s "$EXT/readyz")"

# 3. A pod asking for 4 V100 GPUs of VC research, created in the API server
#    (the extender learns of it through its watch).
POD='{"metadata":{"name":"train-0","namespace":"default","annotations":{
  "hivedscheduler.microsoft.com/pod-scheduling-spec":"{virtualCluster: research, priority: 10, leafCellType: V100, leafCellNumber: 4}"}},
  "spec":{"schedulerName":"hivedscheduler-ds-research","containers":[{"name":"main","image":"trainer",
  "resources":{"limits":{"hivedscheduler.microsoft.com/pod-scheduling-enable":"1"}}}]}}'
POD=$(curl -sf "$API/api/v1/namespaces/default/pods" -d "$POD")
UID_=$(printf '%s' "$POD" | sed -n 's/.*"uid": *"\([^"]*\)".*/\1/p')

# 4. kube-scheduler's filter call: the extender answers with one node (the
#    first calls may say the pod "has not been informed" while the watch
#    catches up; kube-scheduler retries, so does this script).
NODES='["dgx-01","dgx-02","dgx-03","dgx-04","k80-01","k80-02","k80-03"]'
for _ in $(seq 100); do
  FILTER=$(curl -s "$EXT/v1/extender/filter" -d '{"Pod":'"$POD"',"NodeNames":'"$NODES"'}')
  case "$FILTER" in *'"NodeNames":["'*) break ;; esac
  sleep 0.2
done
echo "filter: $FILTER"
NODE=$(printf '%s' "$FILTER" | sed -n 's/.*"NodeNames":\["\([^"]*\)".*/\1/p')
[ -n "$NODE" ]

# 5. Its bind call: the extender writes the placement annotations and binds.
BIND=$(curl -sf "$EXT/v1/extender/bind" \
  -d '{"PodName":"train-0","PodNamespace":"default","PodUID":"'"$UID_"'","Node":"'"$NODE"'"}')
echo "bind: $BIND"
[ "$BIND" = '{"Error":""}' ]
retry sh -c "curl -sf '$API/api/v1/namespaces/default/pods/train-0' | grep -q '\"nodeName\": *\"$NODE\"'"
echo "GPUs of train-0 on $NODE: $(curl -sf "$API/api/v1/namespaces/default/pods/train-0" |
  sed -n 's/.*"hivedscheduler.microsoft.com\/pod-leaf-cell-isolation": *"\([^"]*\)".*/\1/p')"

# 6. What the scheduler holds, and its metrics.
AG=$(curl -sf "$EXT/v1/inspect/affinitygroups/")
echo "groups: $AG"
case "$AG" in *'"name":"default/train-0"'*'"state":"Allocated"'*) ;; *) exit 1 ;; esac
curl -sf "$EXT/metrics" | grep -E '^apiary_extender_(pods\{state="Bound"\}|vc_leaf_cells\{vc="research".*status="used")'
