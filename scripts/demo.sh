#!/usr/bin/env bash
# The main job on bundled defaults: install, build, then validate the bundled
# example cluster and replay a bundled day of cluster events through the
# scheduler, printing every decision.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
BUILD_DIR=${APIARY_BUILD_DIR:-build}
echo "== apiary validate examples/configs/hived-basic.yaml"
"$BUILD_DIR/cli/apiary" validate examples/configs/hived-basic.yaml
echo
echo "== apiary replay --config examples/configs/hived-basic.yaml examples/replay/basic-events.jsonl"
"$BUILD_DIR/cli/apiary" replay --config examples/configs/hived-basic.yaml examples/replay/basic-events.jsonl
