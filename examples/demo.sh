#!/usr/bin/env bash
# Starts the local control plane, installs the CRDs, runs the operator, applies the example
# policy and Jobs, and shows `kubectl get jobhealth` as results arrive until interrupted.
# Interrupting stops the operator and the control plane.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"
testbed=tests/testbed
namespace=${DEMO_NAMESPACE:-demo}

"$testbed/build.sh" >/dev/null
cargo build --release --locked --bin jobhealth
operator_binary=${CARGO_TARGET_DIR:-target}/release/jobhealth
"$testbed/cluster.sh" up
eval "$("$testbed/cluster.sh" env)"

# The operator's log is kept in target/, because stopping the control plane removes .testbed/.
log_dir=target/demo
mkdir -p "$log_dir"
operator_pid=""
cleanup() {
  if [[ -n $operator_pid ]] && kill -0 "$operator_pid" 2>/dev/null; then
    peak=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$operator_pid/status" 2>/dev/null || true)
    kill "$operator_pid" 2>/dev/null || true
    wait "$operator_pid" 2>/dev/null || true
    if [[ -n $peak ]]; then
      echo "operator peak resident memory (VmHWM): $peak"
    fi
  fi
  "$testbed/cluster.sh" down
}
trap cleanup EXIT
trap 'exit 0' INT TERM

kubectl apply --server-side --force-conflicts -f crds/jobhealth.io.yaml >/dev/null
kubectl wait --for=condition=Established crd/jobhealths.jobhealth.io crd/jobhealthpolicies.jobhealth.io --timeout=30s >/dev/null

# setsid keeps Ctrl-C away from the operator, so cleanup can read its peak memory first.
setsid "$operator_binary" run >"$log_dir/operator.log" 2>&1 &
operator_pid=$!
echo "operator running (pid $operator_pid), log in $log_dir/operator.log"

kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
until kubectl get serviceaccount default -n "$namespace" >/dev/null 2>&1; do sleep 0.5; done
kubectl apply -n "$namespace" -f examples/policy.yaml -f examples/jobs.yaml

while true; do
  if ! kill -0 "$operator_pid" 2>/dev/null; then
    echo "the operator stopped; the end of its log ($log_dir/operator.log):" >&2
    tail -n 20 "$log_dir/operator.log" >&2
    operator_pid=""
    exit 1
  fi
  output=$(kubectl get jobhealth -n "$namespace" -o wide 2>&1 || true)
  clear 2>/dev/null || printf '\n'
  echo "jobhealth demo: namespace $namespace, $(date -u +%H:%M:%S) UTC. Press Ctrl-C to stop."
  echo
  echo "$output"
  sleep 2
done
