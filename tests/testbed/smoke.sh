#!/usr/bin/env bash
# Checks the running test bed: runs one Job per pod fate (see stages/) and checks the Job
# conditions that the real Job controller sets and the pod statuses that kwok writes. It
# also checks the container logs that `kubectl logs` reads from kwok's kubelet API.
# Start the test bed first (`make cluster-up`). Needs jq.
#
# Usage: smoke.sh
#
# Works in the namespace testbed-smoke, which it deletes and creates again at the start
# and deletes at the end. Prints one line per check and each Job's final conditions, and
# exits 1 if a check failed. On a failed check it prints the object's status.
#
# Uses the test bed's kubeconfig in <repo>/.testbed, or in JOBHEALTH_TESTBED_DIR if set.
# It ignores KUBECONFIG so that it never deletes a namespace in another cluster.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

kubectl_bin=$(testbed_bin_dir)/kubectl
kubeconfig=${JOBHEALTH_TESTBED_DIR:-$repo_root/.testbed}/kubeconfig
namespace=testbed-smoke
failures=0

command -v jq >/dev/null || { echo "smoke: jq not found; install it (apt-get install jq)" >&2; exit 1; }
[[ -x "$kubectl_bin" ]] || { echo "smoke: $kubectl_bin not found; run 'make testbed-build'" >&2; exit 1; }
[[ -f "$kubeconfig" ]] || { echo "smoke: kubeconfig $kubeconfig not found; run 'make cluster-up'" >&2; exit 1; }

kc() {
  "$kubectl_bin" --kubeconfig "$kubeconfig" --namespace "$namespace" "$@"
}

job_json() {
  kc get job "$1" -o json 2>/dev/null
}

# Prints the JSON of the Job's first pod, or nothing if it has none.
pod_json() {
  kc get pods --selector "batch.kubernetes.io/job-name=$1" -o json 2>/dev/null | jq -c '.items[0] // empty'
}

events_json() {
  local pod
  pod=$(pod_json "$1" | jq -r '.metadata.name // empty')
  [[ -n "$pod" ]] || return 1
  kc get events --field-selector "involvedObject.name=$pod" -o json 2>/dev/null
}

# Polls until the jq filter is true for the JSON that the getter prints, and reports the
# check. Arguments: description, timeout in seconds, getter (job_json, pod_json or
# events_json), Job name, jq filter.
expect() {
  local description=$1 timeout_seconds=$2 getter=$3 job=$4 filter=$5
  local deadline=$((SECONDS + timeout_seconds)) json=""
  while true; do
    json=$($getter "$job" || true)
    if [[ -n "$json" ]] && jq -e "$filter" >/dev/null 2>&1 <<<"$json"; then
      echo "ok    $job: $description"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "FAIL  $job: $description (not seen within $timeout_seconds s)"
      if [[ -n "$json" ]]; then
        jq '.status // .items' <<<"$json" | sed 's/^/      /'
      else
        echo "      ($getter $job printed nothing)"
      fi
      failures=$((failures + 1))
      return 0
    fi
    sleep 0.5
  done
}

# The log of a container whose pod sets no jobhealth.io/log annotation.
default_log=$(printf 'jobhealth test bed: simulated log line %s\n' 1 2 3 4 5)

# Polls until `kubectl logs` prints exactly the expected text for the Job's first pod,
# and reports the check. Arguments: description, Job name, expected text, then flags
# for kubectl logs.
expect_logs() {
  local description=$1 job=$2 expected=$3
  shift 3
  local deadline=$((SECONDS + 10)) pod output=""
  while true; do
    pod=$(pod_json "$job" | jq -r '.metadata.name // empty')
    if [[ -n "$pod" ]]; then
      output=$(kc logs "$pod" "$@" 2>&1 || true)
      if [[ "$output" == "$expected" ]]; then
        echo "ok    $job: $description"
        return 0
      fi
    fi
    if ((SECONDS >= deadline)); then
      echo "FAIL  $job: $description (not seen within 10 s)"
      echo "      kubectl logs ${pod:-<no pod>}${*:+ $*} printed:"
      sed 's/^/        /' <<<"$output"
      echo "      expected:"
      sed 's/^/        /' <<<"$expected"
      failures=$((failures + 1))
      return 0
    fi
    sleep 0.5
  done
}

# Checks that the Job has no pods left, which needs kwok's deletion stages.
expect_no_pods() {
  local job=$1 timeout_seconds=$2 deadline=$((SECONDS + $2))
  while [[ -n "$(kc get pods --selector "batch.kubernetes.io/job-name=$job" -o name 2>/dev/null)" ]]; do
    if ((SECONDS >= deadline)); then
      echo "FAIL  $job: pods still exist after $timeout_seconds s"
      kc get pods --selector "batch.kubernetes.io/job-name=$job" -o wide | sed 's/^/      /'
      failures=$((failures + 1))
      return 0
    fi
    sleep 0.5
  done
  echo "ok    $job: its pods were deleted"
}

# Checks that the ttl-after-finished controller deleted the Job.
expect_job_deleted() {
  local job=$1 timeout_seconds=$2 deadline=$((SECONDS + $2))
  while kc get job "$job" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "FAIL  $job: Job still exists after $timeout_seconds s"
      failures=$((failures + 1))
      return 0
    fi
    sleep 0.5
  done
  echo "ok    $job: Job deleted after it finished (ttlSecondsAfterFinished: 0)"
}

# Creates a Job. Arguments, in order:
#   name
#   value of the jobhealth.io/fate label, or "" for no label
#   YAML lines of the Job spec that precede the template, indented by two spaces
#   YAML lines of the pod spec, indented by six spaces
#   pod annotations as a YAML flow mapping (optional)
create_job() {
  local name=$1 fate=$2 job_spec=$3 pod_spec=$4 annotations=${5:-"{}"} labels="{}"
  if [[ -n "$fate" ]]; then
    labels="{jobhealth.io/fate: $fate}"
  fi
  kc apply -f - >/dev/null <<EOF
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
spec:
$job_spec
  template:
    metadata:
      labels: $labels
      annotations: $annotations
    spec:
$pod_spec
EOF
}

one_container='      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "exit 0"]'

print_conditions() {
  local job
  echo
  echo "Job conditions (type=status/reason):"
  for job in "$@"; do
    printf '  %-16s %s\n' "$job" "$(job_json "$job" |
      jq -r '[.status.conditions[]? | "\(.type)=\(.status)/\(.reason // "")"] | join(" ")
             | if . == "" then "none (the Job is still active)" else . end')"
  done
}

echo "smoke: resetting namespace $namespace"
"$kubectl_bin" --kubeconfig "$kubeconfig" delete namespace "$namespace" --ignore-not-found --wait=true >/dev/null
"$kubectl_bin" --kubeconfig "$kubeconfig" create namespace "$namespace" >/dev/null
# Pods are rejected until the serviceaccount controller has made the namespace's
# default ServiceAccount.
service_account_deadline=$((SECONDS + 30))
until kc get serviceaccount default >/dev/null 2>&1; do
  if ((SECONDS >= service_account_deadline)); then
    echo "smoke: ServiceAccount $namespace/default did not appear within 30 s; is kube-controller-manager running? See 'cluster.sh status'." >&2
    exit 1
  fi
  sleep 0.25
done

echo "smoke: creating Jobs"
# crash-loop goes first because its checks watch short-lived states: each crash leaves
# the container in CrashLoopBackOff for 3 s, and the third crash fails the Job.
create_job crash-loop crash-loop '  backoffLimit: 3' '      restartPolicy: OnFailure
      containers:
      - name: main
        image: busybox' \
  '{jobhealth.io/run-seconds: "1", jobhealth.io/backoff-seconds: "3"}'
create_job succeed "" '  backoffLimit: 0' '      restartPolicy: Never
      initContainers:
      - name: setup
        image: busybox
        command: ["true"]
      containers:
      - name: main
        image: busybox
        command: ["true"]'
create_job fail fail '  backoffLimit: 0' "$one_container" \
  '{jobhealth.io/exit-code: "3", jobhealth.io/termination-message: boom}'
create_job oom oom '  backoffLimit: 0' "$one_container" \
  '{jobhealth.io/log: "reading 3 input files\nallocating 64Gi for the join"}'
create_job run-forever run-forever '  backoffLimit: 0
  activeDeadlineSeconds: 5' "$one_container"
create_job sidecar sidecar '  backoffLimit: 0' '      restartPolicy: Never
      containers:
      - name: main
        image: busybox
      - name: proxy
        image: envoyproxy/envoy:v1.31.0' \
  '{jobhealth.io/log: "main finished"}'
create_job image-pull image-pull '  backoffLimit: 0' '      restartPolicy: Never
      containers:
      - name: main
        image: does-not-exist'
create_job config-error config-error '  backoffLimit: 0' "$one_container" \
  '{jobhealth.io/secret-name: app-secret, jobhealth.io/secret-key: token}'
create_job unschedulable "" '  backoffLimit: 0' '      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        resources:
          requests:
            cpu: "64"'
create_job unknown-fate no-such-fate '  backoffLimit: 0' "$one_container"
create_job ttl "" '  backoffLimit: 0
  ttlSecondsAfterFinished: 0' "$one_container"

echo "smoke: checking"
for restarts in 1 2; do
  expect "pod restarted in place: CrashLoopBackOff, restartCount $restarts, lastState exit code 1" 15 \
    pod_json crash-loop \
    '.status.phase == "Running"
     and (.status.containerStatuses[0]
          | .restartCount == '"$restarts"' and .state.waiting.reason == "CrashLoopBackOff"
            and .lastState.terminated.exitCode == 1)'
done
expect "Job Failed with BackoffLimitExceeded" 30 job_json crash-loop \
  '.status.conditions | any(.type == "Failed" and .status == "True" and .reason == "BackoffLimitExceeded")'

expect "Job Complete" 30 job_json succeed \
  '.status.conditions | any(.type == "Complete" and .status == "True")'
expect "pod Succeeded, container exited 0 Completed, init container Completed" 10 pod_json succeed \
  '.status.phase == "Succeeded"
   and (.status.containerStatuses[0].state.terminated | .exitCode == 0 and .reason == "Completed")
   and (.status.initContainerStatuses[0].state.terminated | .exitCode == 0 and .reason == "Completed")'

expect "Job Failed with BackoffLimitExceeded" 30 job_json fail \
  '.status.conditions | any(.type == "Failed" and .status == "True" and .reason == "BackoffLimitExceeded")'
expect "pod Failed, container exited 3 Error with message boom" 10 pod_json fail \
  '.status.phase == "Failed"
   and (.status.containerStatuses[0].state.terminated | .exitCode == 3 and .reason == "Error" and .message == "boom")'
expect_logs "kubectl logs prints the default log" fail "$default_log"
expect_logs "kubectl logs --tail 2 prints default log lines 4 and 5" fail "$(tail -n 2 <<<"$default_log")" \
  --tail 2

expect "Job Failed with BackoffLimitExceeded" 30 job_json oom \
  '.status.conditions | any(.type == "Failed" and .status == "True" and .reason == "BackoffLimitExceeded")'
expect "pod Failed, container OOMKilled with exit code 137" 10 pod_json oom \
  '.status.phase == "Failed"
   and (.status.containerStatuses[0].state.terminated | .exitCode == 137 and .reason == "OOMKilled")'
expect_logs "kubectl logs prints the jobhealth.io/log annotation" oom \
  $'reading 3 input files\nallocating 64Gi for the join'
expect_logs "kubectl logs --tail 1 prints the annotation's last line" oom \
  'allocating 64Gi for the join' --tail 1

expect "Job Failed with DeadlineExceeded" 30 job_json run-forever \
  '.status.conditions | any(.type == "Failed" and .status == "True" and .reason == "DeadlineExceeded")'
expect_no_pods run-forever 30

expect "pod Running and not Ready, main exited 0, proxy running" 20 pod_json sidecar \
  '.status.phase == "Running"
   and (.status.conditions | any(.type == "Ready" and .status == "False"))
   and (.status.containerStatuses | map({(.name): .}) | add
        | (.main.state.terminated | .exitCode == 0 and .reason == "Completed")
          and (.proxy.state.running != null))'
expect "Job still active" 5 job_json sidecar \
  '.status.active == 1 and ([.status.conditions[]? | select(.status == "True")] | length == 0)'
expect_logs "kubectl logs -c main prints the annotation" sidecar 'main finished' --container main
expect_logs "kubectl logs -c proxy --tail 2 prints default log lines 4 and 5" sidecar \
  "$(tail -n 2 <<<"$default_log")" --container proxy --tail 2

expect "pod Pending in ImagePullBackOff with the pull error" 20 pod_json image-pull \
  '.status.phase == "Pending"
   and (.status.containerStatuses[0].state.waiting
        | .reason == "ImagePullBackOff"
          and (.message | startswith("Back-off pulling image \"does-not-exist\": ErrImagePull: rpc error: code = NotFound"))
          and (.message | endswith("docker.io/library/does-not-exist:latest: not found")))'
expect "events Failed (pull error) and BackOff" 10 events_json image-pull \
  '.items | (any(.type == "Warning" and .reason == "Failed"
                 and (.message | startswith("Failed to pull image \"does-not-exist\": rpc error")))
             and any(.reason == "BackOff" and .message == "Back-off pulling image \"does-not-exist\""))'

expect "pod Pending in CreateContainerConfigError" 20 pod_json config-error \
  '.status.phase == "Pending"
   and (.status.containerStatuses[0].state.waiting
        | .reason == "CreateContainerConfigError"
          and .message == "couldn'"'"'t find key token in Secret testbed-smoke/app-secret")'
expect "event Failed with the config error" 10 events_json config-error \
  '.items | any(.type == "Warning" and .reason == "Failed"
                and .message == "Error: couldn'"'"'t find key token in Secret testbed-smoke/app-secret")'

expect "pod Pending with PodScheduled=False Unschedulable" 20 pod_json unschedulable \
  '.status.phase == "Pending"
   and (.status.conditions | any(.type == "PodScheduled" and .status == "False" and .reason == "Unschedulable"))'

expect "event UnknownFate, pod stays Pending" 20 events_json unknown-fate \
  '.items | any(.type == "Warning" and .reason == "UnknownFate")'

expect_job_deleted ttl 20

# Deleting a Job with background propagation lets the garbage collector delete its
# pods; kwok then terminates and removes them.
kc delete job sidecar image-pull --cascade=background --wait=true >/dev/null
expect_no_pods sidecar 30
expect_no_pods image-pull 30

print_conditions succeed fail oom run-forever crash-loop config-error unschedulable unknown-fate

"$kubectl_bin" --kubeconfig "$kubeconfig" delete namespace "$namespace" --wait=false >/dev/null
echo
if ((failures)); then
  echo "smoke: $failures check(s) failed"
  exit 1
fi
echo "smoke: all checks passed"
