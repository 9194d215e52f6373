#!/usr/bin/env bash
# Runs one agent job end to end on a real Kubernetes cluster (kind) through Foreman's Kubernetes
# runner: a kind cluster, the job image loaded into it, a namespace, then
# scripts/kubernetes/run-job-on-kind.ts on this host (Foreman's archive endpoints listen here and
# the job's NetworkPolicy allows exactly this host's address). Needs docker, kind and kubectl.
# Idempotent: the cluster and namespace are reused. See docs/kubernetes.md.
#
#   scripts/kubernetes/run-job-on-kind.sh            # cluster "foreman", image foreman-test/busybox:latest
#   CLUSTER=ci JOB_IMAGE=busybox:1.36 scripts/kubernetes/run-job-on-kind.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER="${CLUSTER:-foreman}"
NAMESPACE="${NAMESPACE:-foreman-agents}"
JOB_IMAGE="${JOB_IMAGE:-foreman-test/busybox:latest}"
PORT="${PORT:-3999}"

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "run-job-on-kind: $tool is not installed" >&2; exit 2; }
done

# kind >= 0.24 (kindnet with NetworkPolicy support) and Kubernetes >= 1.29 (native sidecars).
if ! kind get clusters | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --image "${KIND_NODE_IMAGE:-kindest/node:v1.31.0}"
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null
kind load docker-image --name "$CLUSTER" "$JOB_IMAGE"
kubectl get namespace "$NAMESPACE" >/dev/null 2>&1 || kubectl create namespace "$NAMESPACE"

# The address the cluster's pods reach this host at: the gateway of kind's Docker network.
FOREMAN_HOST_IP="${FOREMAN_HOST_IP:-$(docker network inspect kind -f '{{range .IPAM.Config}}{{if .Gateway}}{{.Gateway}} {{end}}{{end}}' | tr ' ' '\n' | grep -E '^[0-9.]+$' | head -n1)}"
echo "run-job-on-kind: cluster kind-$CLUSTER, namespace $NAMESPACE, Foreman at http://$FOREMAN_HOST_IP:$PORT"

FOREMAN_HOST_IP="$FOREMAN_HOST_IP" NAMESPACE="$NAMESPACE" JOB_IMAGE="$JOB_IMAGE" PORT="$PORT" \
  npx tsx scripts/kubernetes/run-job-on-kind.ts
