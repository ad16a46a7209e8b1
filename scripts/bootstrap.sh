#!/usr/bin/env bash
# Installs the Debian 12 packages Offload builds with, and only those that are missing; extra package names
# as arguments are installed the same way (CI: clang-14 libclang-rt-14-dev for fuzzing, docker.io debootstrap).
# Safe to run again and again: it touches apt only when something is absent.
set -euo pipefail

packages=(
  cmake g++ make ccache pkg-config lld
  libboost1.81-dev libboost-filesystem1.81-dev
  nlohmann-json3-dev libssl-dev libsqlite3-dev libhiredis-dev python3 nodejs
  redis-server
  libgtest-dev libgmock-dev
  "$@"
)

# npm comes with Node.js from nodesource; with Debian's nodejs it is a package of its own.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# libboost-dev / libboost-all-dev are Boost 1.74: no Process v2, and they would remove 1.81.
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "bootstrap: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
