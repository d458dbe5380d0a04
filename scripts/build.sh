#!/usr/bin/env bash
# Configures and builds Apiary into ./build (or $APIARY_BUILD_DIR), after
# installing the Debian packages it needs. Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR=${APIARY_BUILD_DIR:-build}
# Let ccache share objects between clones in different folders (CI builds a
# fresh clone every time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
JOBS=${APIARY_JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${APIARY_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
# APIARY_BUILD_TARGETS (space-separated) limits the build to those targets.
cmake --build "$BUILD_DIR" -j "$JOBS" ${APIARY_BUILD_TARGETS:+--target $APIARY_BUILD_TARGETS}
