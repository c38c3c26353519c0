#!/usr/bin/env bash
# Writes the container log that a pod sets in its jobhealth.io/log annotation, so that
# `kubectl logs` returns it through kwok's kubelet API. cluster.sh runs this script as a
# test bed component, and stops it with SIGTERM.
#
# Usage: pod-log-writer.sh KUBECTL KUBECONFIG CONTAINER_LOGS_DIR
#
# For each pod with the annotation it:
#   1. writes the annotation's value, one log line per line of the value (a final newline
#      is dropped), to CONTAINER_LOGS_DIR/pods/NAMESPACE_NAME_UID.log in the CRI log format,
#      stamped with the pod's creation time;
#   2. creates or updates a kwok Logs object with the pod's name and namespace, owned by
#      the pod so that the garbage collector deletes it with the pod. It points the
#      container named by jobhealth.io/container (default: the first container) at that
#      file and every other container at CONTAINER_LOGS_DIR/default.log;
#   3. annotates the pod with jobhealth.io/log-written: "true". The pod-start stage starts
#      no pod that has jobhealth.io/log without jobhealth.io/log-written, so the log
#      exists before the container runs.
# A change of the annotation's value rewrites the file, so a test can make a running
# container log more. Removing the annotation keeps the last log. When the pod is deleted,
# its file is removed.
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 KUBECTL KUBECONFIG CONTAINER_LOGS_DIR" >&2
  exit 2
fi
kubectl_bin=$1
kubeconfig=$2
container_logs_dir=$3
pod_logs_dir=$container_logs_dir/pods
default_log=$container_logs_dir/default.log

log() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) pod-log-writer: $*"
}

kc() {
  "$kubectl_bin" --kubeconfig "$kubeconfig" --request-timeout=10s "$@"
}

# Turns each watch event (ADDED, MODIFIED or DELETED) of a pod that has jobhealth.io/log
# into one line of compact JSON.
# shellcheck disable=SC2016 # $annotations is a jq variable.
event_filter='
  .object as $pod
  | ($pod.metadata.annotations // {}) as $annotations
  | select($annotations["jobhealth.io/log"] != null)
  | {
      type,
      namespace: $pod.metadata.namespace,
      name: $pod.metadata.name,
      uid: $pod.metadata.uid,
      created: $pod.metadata.creationTimestamp,
      deleting: ($pod.metadata.deletionTimestamp != null),
      container: ($annotations["jobhealth.io/container"] // $pod.spec.containers[0].name),
      text: $annotations["jobhealth.io/log"]
    }'

# Container and text of the last log written, by pod UID, so that the status updates of
# a pod do not rewrite its log. After a restart this script writes every log once more.
declare -A written

# Writes one pod's log file, Logs object and annotation. Argument: an event_filter line.
write_pod_log() {
  local event=$1 namespace name uid container key file
  namespace=$(jq -r .namespace <<<"$event")
  name=$(jq -r .name <<<"$event")
  uid=$(jq -r .uid <<<"$event")
  container=$(jq -r .container <<<"$event")
  key=$(jq -c '[.container, .text]' <<<"$event")
  file=$pod_logs_dir/${namespace}_${name}_${uid}.log

  if [[ "${written[$uid]:-}" == "$key" && -f "$file" ]]; then
    return 0
  fi

  jq -r '.created as $time | .text | rtrimstr("\n") | split("\n")[] | "\($time) stdout F \(.)"' \
    <<<"$event" >"$file.tmp"
  mv "$file.tmp" "$file"

  if ! jq --arg file "$file" --arg default "$default_log" '{
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: "Logs",
        metadata: {
          name: .name,
          namespace: .namespace,
          ownerReferences: [{apiVersion: "v1", kind: "Pod", name: .name, uid: .uid}]
        },
        spec: {logs: [{containers: [.container], logsFile: $file}, {logsFile: $default}]}
      }' <<<"$event" | kc apply --server-side --field-manager jobhealth-testbed -f - >/dev/null; then
    log "failed to apply the Logs object of pod $namespace/$name (UID $uid); retrying on its next update"
    return 0
  fi
  if ! kc annotate --namespace "$namespace" "pod/$name" --overwrite \
    jobhealth.io/log-written=true >/dev/null; then
    log "failed to annotate pod $namespace/$name (UID $uid) with jobhealth.io/log-written; retrying on its next update"
    return 0
  fi
  written[$uid]=$key
  log "wrote the log of container $container of pod $namespace/$name (UID $uid), $(wc -l <"$file") lines"
}

remove_pod_log() {
  local event=$1 uid
  uid=$(jq -r .uid <<<"$event")
  rm -f "$pod_logs_dir/$(jq -r '"\(.namespace)_\(.name)_\(.uid).log"' <<<"$event")"
  unset "written[$uid]"
}

# Lists the pods, then follows their changes until the watch ends.
watch_pods() {
  local event
  kc get pods --all-namespaces --watch --output-watch-events --request-timeout=0 -o json |
    jq --unbuffered -c "$event_filter" |
    while IFS= read -r event; do
      if [[ "$(jq -r .type <<<"$event")" == DELETED ]]; then
        remove_pod_log "$event"
      elif ! jq -e .deleting <<<"$event" >/dev/null; then
        write_pod_log "$event"
      fi
    done
}

# The trap sends the signal on to this script's process group, which contains the watch
# pipeline. cluster.sh starts the script in a new session, so the group contains nothing
# else.
trap 'trap - TERM INT; log "stopping on a signal"; kill -TERM 0; exit 143' TERM INT

mkdir -p "$pod_logs_dir"
log "started; writing to $pod_logs_dir"
while [[ -f "$kubeconfig" ]]; do
  # Running the pipeline in the background lets `wait` return as soon as a signal
  # arrives, so the trap runs at once.
  watch_pods &
  wait $! || log "the pod watch failed (exit code $?)"
  log "the pod watch ended; listing the pods again in 1 s"
  sleep 1
done
log "stopped: $kubeconfig no longer exists"
