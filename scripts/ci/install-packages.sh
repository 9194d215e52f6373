#!/usr/bin/env bash
# The Debian packages Foreman's tests and CI use, besides Docker (scripts/ci/setup-docker.sh).
# Idempotent, as root: only what is missing is installed.
#
#   faketime   the shifted-clock test run (scripts/ci/test-shifted-clock.sh)
#   openssl    certificates for the Docker TLS handshake test (test/unit/agents/docker-connection.test.ts)
#              and the integrity check of install-helm.sh
#   unzip      install-helm.sh
#   chromium   the dashboard's browser tests (test/integration/ui/), driven by playwright-core
#   iproute2   `ip netns` for the private dockerd of the Docker-restart fault test (test/faults/)
# Then the Helm binary for the chart test (install-helm.sh, beside this file).
set -euo pipefail

readonly PACKAGES=(faketime openssl unzip chromium iproute2)
here="$(cd "$(dirname "$0")" && pwd)"

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "[install-packages] already installed: ${PACKAGES[*]}"
  bash "$here/install-helm.sh"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[install-packages] must run as root to install: ${missing[*]}" >&2
  exit 1
fi
echo "[install-packages] apt-get install ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
bash "$here/install-helm.sh"
