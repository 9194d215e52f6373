#!/usr/bin/env bash
# Prepare a Docker daemon and the offline test image for Foreman's runner tests.
#
# Meant for a fresh Debian 12 machine, run as root, with Debian's apt mirror reachable but
# no container registry. Idempotent: every step checks before it acts, so running it twice
# is safe and the second run only reports what is already there.
#
#   1. Docker: if `docker info` works, nothing is installed or started. Otherwise install
#      docker.io from Debian, start dockerd in the background (log: /tmp/dockerd.log), and
#      retry with fewer features (no iptables/bridge, then the vfs storage driver) if the
#      default configuration does not come up within the wait.
#   2. busybox-static: installed if /bin/busybox is missing (the test image is built from it).
#   3. Image foreman-test/busybox:latest: a rootfs with only /bin/busybox, its applet
#      symlinks and /tmp (rebuilt if an existing one cannot run `sh`), imported with `docker import`. It has no /etc/passwd, which is
#      deliberate: containers must run as a numeric uid:gid, as Foreman's profiles do.
set -euo pipefail

readonly TEST_IMAGE="foreman-test/busybox:latest"
readonly DOCKERD_LOG="/tmp/dockerd.log"
readonly WAIT_SECONDS=60
rootfs=""

log() { printf '[setup-docker] %s\n' "$*"; }

docker_ready() { docker info >/dev/null 2>&1; }

apt_updated=false
apt_install() {
  if [[ "$apt_updated" == false ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=true
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

wait_for_docker() {
  local pid="$1" deadline=$((SECONDS + WAIT_SECONDS))
  while ((SECONDS < deadline)); do
    if docker_ready; then return 0; fi
    # dockerd died: no point waiting out the full minute for this configuration.
    if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 1
  done
  return 1
}

# Starts dockerd with the given extra flags; returns 0 once `docker info` answers.
try_dockerd() {
  log "starting dockerd $* (log: $DOCKERD_LOG)"
  {
    printf '\n=== %s dockerd %s ===\n' "$(date -u +%FT%TZ)" "$*"
  } >>"$DOCKERD_LOG"
  nohup dockerd "$@" >>"$DOCKERD_LOG" 2>&1 &
  local pid=$!
  if wait_for_docker "$pid"; then
    log "dockerd is up (pid $pid)"
    return 0
  fi
  log "dockerd did not come up with flags: $* — stopping pid $pid"
  kill "$pid" 2>/dev/null || true
  # Give it time to release /var/run/docker.pid and the socket before the next attempt.
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f /var/run/docker.pid
  return 1
}

ensure_docker() {
  if docker_ready; then
    log "docker daemon already reachable: skipping install and start"
    return
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io
  else
    log "dockerd already installed at $(command -v dockerd)"
  fi
  # Debian's package may have started it through an init script already.
  if docker_ready; then
    log "docker daemon reachable after install"
    return
  fi
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "a dockerd process exists but does not answer; waiting for it"
    if wait_for_docker "$(pgrep -x dockerd | head -n1)"; then return; fi
    log "the existing dockerd never answered: giving up (see $DOCKERD_LOG)"
    exit 1
  fi
  # Fallbacks for VMs/containers without netfilter or overlayfs support. The test suite
  # only needs NetworkMode "none" and a working memory cgroup, so these lose nothing it uses.
  try_dockerd && return
  try_dockerd --iptables=false --ip6tables=false --bridge=none && return
  try_dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs && return
  log "dockerd failed to start in every configuration; last lines of $DOCKERD_LOG:"
  tail -n 30 "$DOCKERD_LOG" >&2 || true
  exit 1
}

ensure_busybox() {
  if [[ -x /bin/busybox ]]; then
    log "busybox already installed at /bin/busybox"
  else
    apt_install busybox-static
  fi
}

ensure_test_image() {
  if docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
    if docker run --rm --network none "$TEST_IMAGE" sh -c true >/dev/null 2>&1; then
      log "image $TEST_IMAGE already present"
      return
    fi
    log "image $TEST_IMAGE exists but cannot run sh: rebuilding it"
    docker image rm -f "$TEST_IMAGE" >/dev/null
  fi
  rootfs="$(mktemp -d /tmp/foreman-busybox-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs/bin" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  # One symlink per applet (sh, ls, head, ip …), like the usual busybox image. Not
  # `busybox --install -s DIR`: it writes absolute links to wherever busybox sits on the
  # host (here the temporary rootfs), which dangle inside the image.
  local applet
  for applet in $(/bin/busybox --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
  done
  log "importing $TEST_IMAGE from $rootfs ($(ls "$rootfs/bin" | wc -l) entries in /bin)"
  tar -C "$rootfs" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$TEST_IMAGE" >/dev/null
  rm -rf "$rootfs"
  log "image $TEST_IMAGE built"
}

# A running daemon whose default bridge interface was deleted under it (another dockerd on the
# host, `ip link del`) cannot attach any container to `bridge` ("could not find bridge docker0"):
# put the interface back with the network's own gateway, as the daemon made it.
ensure_default_bridge() {
  local name gateway
  name="$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null || true)"
  [[ -n "$name" ]] || return 0
  ip link show "$name" >/dev/null 2>&1 && return 0
  gateway="$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' | sed -E 's#^([0-9]+\.[0-9]+\.[0-9]+)\.[0-9]+/#\1.1/#')"
  log "the default bridge $name is missing: recreating it with $gateway"
  ip link add "$name" type bridge
  ip addr add "$gateway" dev "$name"
  ip link set "$name" up
}

main() {
  if [[ "$(id -u)" != "0" ]]; then
    log "must run as root"
    exit 1
  fi
  ensure_docker
  ensure_default_bridge
  ensure_busybox
  ensure_test_image
  log "done: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}')"
}

main "$@"
