#!/usr/bin/env bash
# The main job on bundled defaults: install, build, then simulate the bundled
# Microsoft Philly 2017 trace (82,247 jobs) on a Philly-like cluster of 352
# 8-GPU nodes with the VC quotas reconstructed by the Helios authors, under
# HiveD placement and two baselines (static partitions, quota-only sharing).
# Prints the comparison table; writes the report, plots and data to sim-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
BUILD_DIR=${APIARY_BUILD_DIR:-build}
OUT=${APIARY_DEMO_OUT:-sim-out}
"$BUILD_DIR/sim/apiary-sim" run \
  --trace traces/data/philly/philly_jobs_pollux.csv \
  --vc-quotas traces/data/philly/philly_vc_nodes_helios.csv \
  --sku P40 --gpus-per-node 8 --out "$OUT"
