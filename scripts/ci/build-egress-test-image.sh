#!/usr/bin/env bash
# Build the development egress-proxy image the egress firewall tests run: a Debian bookworm
# root file system (debootstrap, minbase) with Debian's squid, imported as
# foreman-egresstest/squid:dev. No registry is needed, only Debian's mirror (the one apt uses).
#
# The image carries squid and nothing of Foreman's: the squid configuration and the policy
# helper live in the repository (src/agents/egress/) and are written into the container by
# Foreman at start, so the production image (foreman-agents/egress-proxy) works the same way.
#
# Idempotent, as root: an image that exists and can run `squid -v` is kept; the root file
# system is cached as a tarball (EGRESS_ROOTFS_CACHE) so a rebuild does not download again.
set -euo pipefail

readonly IMAGE="${EGRESS_TEST_IMAGE:-foreman-egresstest/squid:dev}"
readonly CACHE="${EGRESS_ROOTFS_CACHE:-/var/cache/foreman-egresstest/squid-bookworm-rootfs.tar}"
readonly SUITE="bookworm"
rootfs=""

log() { printf '[build-egress-test-image] %s\n' "$*"; }

cleanup() { if [[ -n "$rootfs" ]]; then rm -rf "$rootfs"; fi; }
trap cleanup EXIT

# The Debian mirror apt is configured with (deb822 sources or a classic sources.list line), or
# DEBIAN_MIRROR; empty on a machine that is not Debian (debootstrap then uses its own default).
find_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
    printf '%s\n' "$DEBIAN_MIRROR"
    return
  fi
  local found=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    found="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [[ -z "$found" && -f /etc/apt/sources.list ]]; then
    found="$(awk '$1 == "deb" && $0 !~ /security/ && $0 ~ /debian/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)"
  fi
  printf '%s\n' "$found"
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

image_works() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 &&
    docker run --rm --network none --entrypoint /usr/sbin/squid "$IMAGE" -v >/dev/null 2>&1
}

build_rootfs_tarball() {
  if [[ -s "$CACHE" ]]; then
    log "root file system cached at $CACHE"
    return
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "apt-get install debootstrap"
    apt_install debootstrap
  fi
  # Elsewhere than on Debian (an Ubuntu CI runner), debootstrap needs Debian's archive keys.
  if [[ ! -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
    log "apt-get install debian-archive-keyring"
    apt_install debian-archive-keyring
  fi
  local mirror
  mirror="$(find_mirror)"
  rootfs="$(mktemp -d /tmp/foreman-egresstest-rootfs.XXXXXX)"
  log "debootstrap --variant=minbase --include=squid $SUITE (from ${mirror:-the default mirror of debootstrap})"
  # shellcheck disable=SC2086 # an empty mirror is no argument: debootstrap's default
  debootstrap --variant=minbase --include=squid,ca-certificates \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$SUITE" "$rootfs" $mirror \
    >/tmp/foreman-egresstest-debootstrap.log 2>&1 || {
    tail -n 30 /tmp/foreman-egresstest-debootstrap.log >&2
    exit 1
  }
  # Package caches and lists are not needed at run time.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  mkdir -p "$(dirname "$CACHE")"
  tar -C "$rootfs" --numeric-owner -cf "$CACHE.partial" .
  mv "$CACHE.partial" "$CACHE"
  rm -rf "$rootfs"
  rootfs=""
  log "root file system cached at $CACHE ($(du -h "$CACHE" | cut -f1))"
}

main() {
  if [[ "$(id -u)" != "0" ]]; then
    log "must run as root"
    exit 1
  fi
  if image_works; then
    log "image $IMAGE already present"
    return
  fi
  build_rootfs_tarball
  log "importing $IMAGE"
  docker import --change 'ENTRYPOINT ["/usr/sbin/squid"]' --change 'CMD ["-N", "-d", "1"]' "$CACHE" "$IMAGE" >/dev/null
  if ! image_works; then
    log "the imported image cannot run squid -v"
    exit 1
  fi
  log "image $IMAGE built: $(docker run --rm --network none --entrypoint /usr/sbin/squid "$IMAGE" -v | head -n 1)"
}

main "$@"
