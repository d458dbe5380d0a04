#!/usr/bin/env bash
# Installs every build, test and tool dependency of Apiary from Debian's
# packages. Safe to run repeatedly; needs root (or sudo) and apt.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libyaml-cpp-dev libyaml-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  libboost-graph-dev libboost-dev libeigen3-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev librapidcheck-dev libcpp-httplib-dev libssl-dev
  gnuplot-nox
  # the openssl command makes the throwaway PKI of the extender's TLS tests
  openssl
  # curl drives the extender in docs/extender.md's "Try it locally" (and its test)
  curl
)

# `install-deps.sh fuzz` adds Clang and its libFuzzer runtime, for the
# libFuzzer build of the extender's fuzz targets (.ci/run's last stage).
if [ "${1:-}" = fuzz ]; then
  PACKAGES+=(clang libclang-rt-dev)
fi

# kubectl (Debian's kubernetes-client) lets a test prove the fake API server
# speaks Kubernetes' JSON; any kubectl will do, and some images ship one
# from another package that conflicts with Debian's.
if ! command -v kubectl >/dev/null 2>&1; then
  PACKAGES+=(kubernetes-client)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  $SUDO apt-get update -qq
fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
