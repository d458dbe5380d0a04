#!/usr/bin/env bash
# Installs dependencies, builds everything and runs every test (CTest).
# APIARY_SANITIZE=address,undefined builds with sanitizers into
# build-address-undefined (build-<sanitizers joined by ->).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${APIARY_SANITIZE:-}" ]; then
  export APIARY_BUILD_DIR=${APIARY_BUILD_DIR:-build-$(echo "$APIARY_SANITIZE" | tr ',' '-')}
  bash scripts/build.sh -DAPIARY_SANITIZE="$APIARY_SANITIZE" -DAPIARY_BUILD_BENCH=OFF
else
  bash scripts/build.sh
fi
BUILD_DIR=${APIARY_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${APIARY_JOBS:-$(nproc)}" ${APIARY_CTEST_ARGS:-}
