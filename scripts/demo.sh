#!/usr/bin/env bash
# The main job on bundled defaults: install, build, then simulate the bundled
# Microsoft Philly 2017 trace (82,247 jobs) on a Philly-like cluster of 352
# 8-GPU nodes with the VC quotas reconstructed by the Helios authors, under
# HiveD placement and two baselines (static partitions, quota-only sharing).
# Prints the comparison tables; writes reports, plots and data to sim-out/.
#
# The placement model is on (apiary-sim's default): a job whose GPUs are
# spread over more nodes than its size needs runs slower (Gavel/Pollux
# measurements); HiveD packs jobs, the topology-blind baselines spread some,
# and their slower jobs show in JCT and in the "placement model" lines.
#
# Two runs: the trace as recorded (the cluster is lightly loaded), and a
# what-if at four times the arrival rate where VCs may borrow idle GPUs
# opportunistically - where sharing and isolation start to matter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
BUILD_DIR=${APIARY_BUILD_DIR:-build}
OUT=${APIARY_DEMO_OUT:-sim-out}
SIM=("$BUILD_DIR/sim/apiary-sim" run
  --trace traces/data/philly/philly_jobs_pollux.csv
  --vc-quotas traces/data/philly/philly_vc_nodes_helios.csv
  --sku P40 --gpus-per-node 8)
echo "== Philly 2017 as recorded"
"${SIM[@]}" --out "$OUT"
echo
echo "== Philly 2017 at 4x the arrival rate, idle GPUs lent to other VCs (--load-factor 4 --borrow)"
"${SIM[@]}" --load-factor 4 --borrow --out "$OUT/load4x-borrow"
