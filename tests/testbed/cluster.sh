#!/usr/bin/env bash
# Runs a local Kubernetes control plane for jobhealth's tests: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler, with kwok faking one node and the pods on it.
# kwok also serves the node's kubelet API, so `kubectl logs` works for the fake pods.
# Every process listens on 127.0.0.1 only. Build the binaries first with build.sh
# (`make testbed-build`). `up` also needs jq.
#
# Usage:
#   cluster.sh up             Start the control plane, or keep it if it is already up and
#                             healthy, and print the kubeconfig path on the last line.
#   cluster.sh down           Stop the recorded processes and delete the state directory.
#   cluster.sh status         Report each process and the API server's health. Exits 1
#                             unless everything is up.
#   cluster.sh kubectl ARGS   Run the test bed's kubectl against the test bed.
#   cluster.sh env            Print shell exports of KUBECONFIG and PATH (with the test
#                             bed's bin directory first): eval "$(cluster.sh env)".
#
# A caller finds the admin kubeconfig at $JOBHEALTH_TESTBED_DIR/kubeconfig and kubectl
# at "$(source versions.sh; testbed_bin_dir)/kubectl". The machine's own kubectl may be
# too old for this API server.
#
# Environment (defaults in brackets):
#   JOBHEALTH_TESTBED_DIR                      state directory [<repo>/.testbed]
#   JOBHEALTH_TESTBED_ETCD_PORT                etcd client port [12379]
#   JOBHEALTH_TESTBED_ETCD_PEER_PORT           etcd peer port [12380]
#   JOBHEALTH_TESTBED_APISERVER_PORT           kube-apiserver HTTPS port [16443]
#   JOBHEALTH_TESTBED_CONTROLLER_MANAGER_PORT  kube-controller-manager HTTPS port [16257]
#   JOBHEALTH_TESTBED_SCHEDULER_PORT           kube-scheduler HTTPS port [16259]
#   JOBHEALTH_TESTBED_KUBELET_PORT             kubelet API port that kwok serves for the
#                                              fake node, HTTPS and HTTP [16250]
#   JOBHEALTH_TESTBED_CACHE                    binary cache root, see versions.sh
#
# State directory layout:
#   kubeconfig    admin kubeconfig (client certificate in group system:masters); the
#                 controller manager, scheduler and kwok use it too
#   certs/        CA, API server serving certificate, admin client certificate, the
#                 kubelet API's serving certificate, the API server's client certificate
#                 for the kubelet API and the service account signing key pair, made
#                 with openssl
#   etcd/         etcd data
#   kwok/         kwok's working directory (KWOK_WORKDIR), kept empty
#   container-logs/default.log
#                 the default log of every container, see stages/container-logs.yaml
#   container-logs/pods/
#                 logs that pods set in the jobhealth.io/log annotation
#   stages.sha256 checksum of stages/*.yaml as kwok loaded them
#   logs/NAME.log and pids/NAME.pid for each process, pod-log-writer.sh included
#
# The fake node is kwok-node-0 (4 CPUs, 16Gi memory, 110 pods) with no taints. Pod
# behaviour comes from the kwok stages in stages/, described in their headers. kwok
# reads them at start, and `up` restarts a running test bed after they change.
#
# Container logs: the node's InternalIP is 127.0.0.1 and its kubelet port is
# JOBHEALTH_TESTBED_KUBELET_PORT, where kwok serves the kubelet API. The API server dials
# only the InternalIP (--kubelet-preferred-address-types), so it never looks up the
# node's name in DNS. It verifies kwok's certificate against the test bed CA and sends a
# client certificate, which kwok 0.8 does not check. Every container logs
# "jobhealth test bed: simulated log line 1" to "... line 5" unless its pod sets the
# annotation jobhealth.io/log: then the container named by jobhealth.io/container
# (default: the first container) logs the annotation's value, one log line per line.
# pod-log-writer.sh, which runs as a component, writes those logs before the pod starts.
# stages/container-logs.yaml describes how kwok finds the logs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

bin_dir=$(testbed_bin_dir)
# Absolute, because the components run with the state directory as working directory.
state_dir=$(realpath -m -- "${JOBHEALTH_TESTBED_DIR:-$repo_root/.testbed}")
etcd_port=${JOBHEALTH_TESTBED_ETCD_PORT:-12379}
etcd_peer_port=${JOBHEALTH_TESTBED_ETCD_PEER_PORT:-12380}
apiserver_port=${JOBHEALTH_TESTBED_APISERVER_PORT:-16443}
controller_manager_port=${JOBHEALTH_TESTBED_CONTROLLER_MANAGER_PORT:-16257}
scheduler_port=${JOBHEALTH_TESTBED_SCHEDULER_PORT:-16259}
kubelet_port=${JOBHEALTH_TESTBED_KUBELET_PORT:-16250}

certs_dir=$state_dir/certs
logs_dir=$state_dir/logs
pids_dir=$state_dir/pids
kubeconfig=$state_dir/kubeconfig
container_logs_dir=$state_dir/container-logs
# A file that marks a directory as test bed state, so that `down` never deletes a
# directory it did not create.
state_marker=$state_dir/.jobhealth-testbed

node_name=kwok-node-0
service_cidr=10.96.0.0/16
# The first address of service_cidr, which the API server gives the kubernetes Service.
apiserver_service_ip=10.96.0.1
pod_cidr=10.244.0.0/16

# Start order. `down` stops them in reverse. pod-log-writer is a script beside this one,
# the others are binaries in bin_dir.
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok pod-log-writer)
pod_log_writer=$here/pod-log-writer.sh

# Seconds that `down` waits after SIGTERM before it sends SIGKILL.
stop_grace_seconds=10

log() {
  echo "testbed: $*" >&2
}

die() {
  log "$*"
  exit 1
}

kubectl_testbed() {
  "$bin_dir/kubectl" --kubeconfig "$kubeconfig" "$@"
}

require_binaries() {
  local name missing=()
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
    [[ -x "$bin_dir/$name" ]] || missing+=("$name")
  done
  if ((${#missing[@]})); then
    die "missing binaries in $bin_dir: ${missing[*]}. Build them with 'make testbed-build' (tests/testbed/build.sh)."
  fi
  command -v jq >/dev/null || die "jq not found; pod-log-writer.sh needs it. Install it (apt-get install jq)."
}

# Prints the program that runs a component.
component_program() {
  if [[ "$1" == pod-log-writer ]]; then
    echo "$pod_log_writer"
  else
    echo "$bin_dir/$1"
  fi
}

# Prints the recorded PID of a component if that process is alive and still runs the
# component's program, which guards against a PID that the kernel has reused. A binary
# that build.sh replaced while the process ran shows up as "PATH (deleted)".
live_pid() {
  local name=$1 pid_file=$pids_dir/$1.pid pid exe expected arguments=()
  [[ -f "$pid_file" ]] || return 1
  pid=$(<"$pid_file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  if [[ "$name" == pod-log-writer ]]; then
    # The executable of a script's process is its interpreter, so compare the script path
    # that the interpreter runs, its first argument.
    mapfile -d '' -t arguments 2>/dev/null <"/proc/$pid/cmdline" || return 1
    [[ "${arguments[1]:-}" == "$pod_log_writer" ]] || return 1
  else
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    expected=$(readlink -f "$bin_dir/$name")
    [[ "$exe" == "$expected" || "$exe" == "$expected (deleted)" ]] || return 1
  fi
  echo "$pid"
}

any_pid_recorded() {
  compgen -G "$pids_dir/*.pid" >/dev/null
}

all_alive() {
  local name
  for name in "${components[@]}"; do
    live_pid "$name" >/dev/null || return 1
  done
}

apiserver_ready() {
  local url=https://127.0.0.1:$apiserver_port/readyz
  [[ "$(curl -fsS --max-time 5 --cacert "$certs_dir/ca.crt" --cert "$certs_dir/admin.crt" \
    --key "$certs_dir/admin.key" "$url" 2>/dev/null)" == ok ]]
}

node_ready() {
  [[ "$(kubectl_testbed get node "$node_name" --request-timeout=5s \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

kubelet_api_ready() {
  [[ "$(curl -fsS --max-time 5 --cacert "$certs_dir/ca.crt" \
    "https://127.0.0.1:$kubelet_port/healthz" 2>/dev/null)" == ok ]]
}

default_service_account_exists() {
  kubectl_testbed get serviceaccount default --namespace default --request-timeout=5s >/dev/null 2>&1
}

# Prints the last lines of each named component's log to standard error.
show_logs() {
  local name shown=" "
  for name in "$@"; do
    [[ "$shown" == *" $name "* ]] && continue
    shown+="$name "
    if [[ -f "$logs_dir/$name.log" ]]; then
      echo "----- last 40 lines of $logs_dir/$name.log -----" >&2
      tail -n 40 "$logs_dir/$name.log" >&2
    fi
  done
}

# Components started by this run of `up`, in start order.
started_components=()

# Stops the processes, keeps the logs, shows the named logs and exits 1.
fail_up() {
  local message=$1
  shift
  log "$message"
  show_logs "$@"
  stop_processes
  die "up failed. Logs are kept in $logs_dir until 'cluster.sh down'."
}

# Polls a check every 0.25 s until it succeeds. Fails the start-up at once if a started
# component has exited, or when the timeout passes. Arguments: timeout in seconds, what
# is awaited (for the message), the check command, then the components whose logs to show
# on failure.
await() {
  local timeout_seconds=$1 awaited=$2 check=$3
  shift 3
  local deadline=$((SECONDS + timeout_seconds)) name
  until $check; do
    for name in "${started_components[@]}"; do
      live_pid "$name" >/dev/null || fail_up "$name exited while waiting for $awaited" "$name" "$@"
    done
    ((SECONDS < deadline)) || fail_up "timed out after $timeout_seconds s waiting for $awaited" "$@"
    sleep 0.25
  done
}

check_port_free() {
  local port=$1 purpose=$2
  if [[ -n "$(ss -Htln "sport = :$port")" ]]; then
    die "port $port ($purpose) is already in use on this machine. Stop its listener or set the JOBHEALTH_TESTBED_*_PORT variable described in $0."
  fi
}

# Writes a CA, the API server's serving certificate, the admin client certificate, the
# kubelet API's serving certificate, the API server's client certificate for the kubelet
# API and the service account signing key pair into certs_dir.
generate_certs() {
  mkdir -p "$certs_dir"
  local dir=$certs_dir

  cat >"$dir/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
EOF
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 365 \
    -subj "/CN=jobhealth-testbed-ca" -config "$dir/ca.cnf" -extensions v3_ca \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null

  cat >"$dir/apiserver.ext" <<EOF
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:$apiserver_service_ip
EOF
  sign_certificate apiserver "/CN=kube-apiserver"

  cat >"$dir/admin.ext" <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
EOF
  sign_certificate admin "/O=system:masters/CN=jobhealth-testbed-admin"

  # The subjects follow a kubelet's serving certificate and kubeadm's
  # apiserver-kubelet-client certificate.
  cat >"$dir/kubelet.ext" <<EOF
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:$node_name,IP:127.0.0.1
EOF
  sign_certificate kubelet "/O=system:nodes/CN=system:node:$node_name"
  cp "$dir/admin.ext" "$dir/apiserver-kubelet-client.ext"
  sign_certificate apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"

  openssl genrsa -out "$dir/service-account.key" 2048 2>/dev/null
  openssl rsa -in "$dir/service-account.key" -pubout -out "$dir/service-account.pub" 2>/dev/null
  chmod 600 "$dir"/*.key
}

# Makes NAME.key and NAME.crt signed by the test bed CA, with the extensions in NAME.ext.
sign_certificate() {
  local name=$1 subject=$2 dir=$certs_dir
  openssl req -new -nodes -newkey rsa:2048 -subj "$subject" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -sha256 -days 365 -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm "$dir/$name.csr"
}

write_kubeconfig() {
  local ca admin_cert admin_key
  ca=$(base64 -w0 "$certs_dir/ca.crt")
  admin_cert=$(base64 -w0 "$certs_dir/admin.crt")
  admin_key=$(base64 -w0 "$certs_dir/admin.key")
  (
    umask 077
    cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: jobhealth-testbed
  cluster:
    server: https://127.0.0.1:$apiserver_port
    certificate-authority-data: $ca
users:
- name: jobhealth-testbed-admin
  user:
    client-certificate-data: $admin_cert
    client-key-data: $admin_key
contexts:
- name: jobhealth-testbed
  context:
    cluster: jobhealth-testbed
    user: jobhealth-testbed-admin
current-context: jobhealth-testbed
EOF
  )
}

# Starts a component in its own session so that it outlives the calling shell, and
# records its PID. Arguments: component name, then its flags. The component runs in the
# state directory, against which kwok resolves the relative paths in stages/*.yaml.
start_component() {
  local name=$1
  shift
  log "starting $name"
  local program
  program=$(component_program "$name")
  (cd "$state_dir" && exec setsid nohup "$program" "$@" >"$logs_dir/$name.log" 2>&1 </dev/null) &
  echo $! >"$pids_dir/$name.pid"
  started_components+=("$name")
}

start_etcd() {
  start_component etcd \
    --name testbed \
    --data-dir "$state_dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "testbed=http://127.0.0.1:$etcd_peer_port" \
    --unsafe-no-fsync
  # --unsafe-no-fsync: the data is thrown away with the test bed, so fsync would only
  # cost time.
  await 30 "etcd to report healthy" etcd_healthy etcd
}

etcd_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"'
}

start_apiserver() {
  # TaintNodesByCondition would give the new node a not-ready NoSchedule taint that only
  # the node-lifecycle controller removes, and that controller does not run here.
  # --kubelet-preferred-address-types InternalIP: for `kubectl logs` and `exec` the API
  # server dials the node, and by default it would first resolve the node's name in DNS.
  # The node's InternalIP is 127.0.0.1, where kwok serves the kubelet API.
  start_component kube-apiserver \
    --bind-address 127.0.0.1 \
    --secure-port "$apiserver_port" \
    --advertise-address 127.0.0.1 \
    --endpoint-reconciler-type none \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --tls-cert-file "$certs_dir/apiserver.crt" \
    --tls-private-key-file "$certs_dir/apiserver.key" \
    --client-ca-file "$certs_dir/ca.crt" \
    --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$certs_dir/service-account.pub" \
    --service-account-signing-key-file "$certs_dir/service-account.key" \
    --service-cluster-ip-range "$service_cidr" \
    --kubelet-preferred-address-types InternalIP \
    --kubelet-certificate-authority "$certs_dir/ca.crt" \
    --kubelet-client-certificate "$certs_dir/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$certs_dir/apiserver-kubelet-client.key" \
    --disable-admission-plugins TaintNodesByCondition \
    --allow-privileged \
    --profiling=false
  await 120 "kube-apiserver /readyz" apiserver_ready kube-apiserver etcd
}

# The controller manager and the scheduler get no --authentication-kubeconfig, so their
# HTTPS ports serve only the always-allowed paths such as /healthz. With one they poll
# for a front-proxy CA that this API server does not have, and log an error each time.
start_controller_manager() {
  local controllers=(
    job-controller
    cronjob-controller
    garbage-collector-controller
    ttl-after-finished-controller
    namespace-controller
    resourcequota-controller
    serviceaccount-controller
    serviceaccount-token-controller
    root-ca-certificate-publisher-controller
    pod-garbage-collector-controller
  )
  local controller_list
  controller_list=$(IFS=,; echo "${controllers[*]}")
  start_component kube-controller-manager \
    --kubeconfig "$kubeconfig" \
    --bind-address 127.0.0.1 \
    --secure-port "$controller_manager_port" \
    --leader-elect=false \
    --controllers "$controller_list" \
    --service-account-private-key-file "$certs_dir/service-account.key" \
    --root-ca-file "$certs_dir/ca.crt" \
    --service-cluster-ip-range "$service_cidr" \
    --profiling=false
}

start_scheduler() {
  start_component kube-scheduler \
    --kubeconfig "$kubeconfig" \
    --bind-address 127.0.0.1 \
    --secure-port "$scheduler_port" \
    --leader-elect=false \
    --profiling=false
}

# Installs kwok's Logs CustomResourceDefinition, through which pod-log-writer.sh gives
# single pods their own logs. It goes in before kwok starts, so that kwok's watch of Logs
# objects works from the start instead of retrying.
install_logs_crd() {
  kubectl_testbed apply --server-side -f "$here/kwok/logs-crd.yaml" >/dev/null ||
    fail_up "installing kwok's Logs CustomResourceDefinition failed" kube-apiserver
  kubectl_testbed wait --for condition=Established --timeout 30s \
    customresourcedefinition/logs.kwok.x-k8s.io >/dev/null ||
    fail_up "kwok's Logs CustomResourceDefinition was not established within 30 s" kube-apiserver
}

start_kwok() {
  local stage_flags=() stage_file
  for stage_file in "$here"/stages/*.yaml; do
    stage_flags+=(--config "$stage_file")
  done
  mkdir -p "$state_dir/kwok"
  stages_checksum >"$state_dir/stages.sha256"
  write_default_container_log
  # --node-ip becomes the node's InternalIP and each pod's hostIP, and --node-port the
  # node's kubelet port (see stages/node.yaml). The API server dials that address for
  # `kubectl logs`, and kwok serves the kubelet API there (--server-address), HTTPS with
  # the test bed CA's certificate and plain HTTP on the same port. kwok checks no client
  # credentials. --enable-crds Logs makes kwok watch Logs objects in the API server.
  KWOK_WORKDIR=$state_dir/kwok start_component kwok \
    --kubeconfig "$kubeconfig" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 \
    --node-port "$kubelet_port" \
    --server-address "127.0.0.1:$kubelet_port" \
    --tls-cert-file "$certs_dir/kubelet.crt" \
    --tls-private-key-file "$certs_dir/kubelet.key" \
    --enable-crds Logs \
    --cidr "$pod_cidr" \
    "${stage_flags[@]}"
  await 60 "kwok's kubelet API on 127.0.0.1:$kubelet_port" kubelet_api_ready kwok
}

# Writes the log that stages/container-logs.yaml gives every container, in the CRI log
# format that kwok reads.
write_default_container_log() {
  local timestamp line
  mkdir -p "$container_logs_dir"
  timestamp=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  for line in 1 2 3 4 5; do
    echo "$timestamp stdout F jobhealth test bed: simulated log line $line"
  done >"$container_logs_dir/default.log"
}

start_pod_log_writer() {
  start_component pod-log-writer "$bin_dir/kubectl" "$kubeconfig" "$container_logs_dir"
}

create_node() {
  kubectl_testbed apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $node_name
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: $node_name
    kubernetes.io/os: linux
    type: kwok
status:
  allocatable:
    cpu: "4"
    memory: 16Gi
    pods: "110"
  capacity:
    cpu: "4"
    memory: 16Gi
    pods: "110"
EOF
}

self_check_job=testbed-self-check
self_check_log="testbed self-check log"

# Runs a one-pod Job to Complete, reads its containers' logs, then deletes the Job and
# waits until its pod is gone. This exercises the scheduler, the Job controller, kwok's
# pod stages, pod-log-writer.sh, kwok's kubelet API and the garbage collector.
check_job_runs() {
  kubectl_testbed apply -f - >/dev/null <<EOF || fail_up "creating Job default/$self_check_job failed" kube-apiserver
apiVersion: batch/v1
kind: Job
metadata:
  name: $self_check_job
  namespace: default
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        jobhealth.io/run-seconds: "0"
        jobhealth.io/log: "$self_check_log"
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["true"]
      - name: helper
        image: busybox
        command: ["true"]
EOF
  await 60 "Job default/$self_check_job to complete" self_check_job_complete \
    kube-controller-manager kube-scheduler kwok
  await 30 "kubectl logs job/$self_check_job to print the containers' logs" \
    self_check_logs_printed kube-apiserver kwok pod-log-writer
  kubectl_testbed delete --namespace default "job/$self_check_job" --cascade=background >/dev/null ||
    fail_up "deleting Job default/$self_check_job failed" kube-apiserver
  await 30 "the pod of Job default/$self_check_job to be deleted" self_check_pods_gone \
    kube-controller-manager kwok
}

self_check_job_complete() {
  [[ "$(kubectl_testbed get job "$self_check_job" --namespace default --request-timeout=5s \
    -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}' 2>/dev/null)" == True ]]
}

# Checks the log from the jobhealth.io/log annotation and the default log.
self_check_logs_printed() {
  [[ "$(kubectl_testbed logs --namespace default "job/$self_check_job" --container main \
    --request-timeout=5s 2>/dev/null)" == "$self_check_log" ]] &&
    [[ "$(kubectl_testbed logs --namespace default "job/$self_check_job" --container helper \
      --tail 1 --request-timeout=5s 2>/dev/null)" == "jobhealth test bed: simulated log line 5" ]]
}

self_check_pods_gone() {
  [[ -z "$(kubectl_testbed get pods --namespace default --request-timeout=5s \
    --selector "batch.kubernetes.io/job-name=$self_check_job" -o name 2>/dev/null)" ]]
}

# Prints a checksum of the kwok stage files. kwok reads them only at start, so `up`
# restarts a running test bed whose stages have changed.
stages_checksum() {
  cat "$here"/stages/*.yaml | sha256sum | cut -d' ' -f1
}

cluster_healthy() {
  all_alive && apiserver_ready && node_ready
}

stop_processes() {
  local index name pid pids=()
  for ((index = ${#components[@]} - 1; index >= 0; index--)); do
    name=${components[index]}
    if pid=$(live_pid "$name"); then
      log "stopping $name (PID $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    elif [[ -f "$pids_dir/$name.pid" ]]; then
      log "$name is not running (recorded PID $(<"$pids_dir/$name.pid") is gone or runs another program)"
    fi
    rm -f "$pids_dir/$name.pid"
  done

  local deadline=$((SECONDS + stop_grace_seconds))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "PID $pid did not exit within $stop_grace_seconds s of SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

cmd_down() {
  if [[ ! -e "$state_dir" ]]; then
    log "nothing to stop: $state_dir does not exist"
    return 0
  fi
  [[ -f "$state_marker" ]] ||
    die "$state_dir exists but was not created by cluster.sh (no $state_marker), so it is left alone"
  stop_processes
  rm -rf "$state_dir"
  log "stopped; removed $state_dir"
}

cmd_up() {
  require_binaries

  if [[ -d "$state_dir" ]] && any_pid_recorded; then
    if [[ "$(cat "$state_dir/stages.sha256" 2>/dev/null)" != "$(stages_checksum)" ]]; then
      log "the kwok stages in $here/stages changed since the test bed started; starting it again"
      cmd_down
    elif cluster_healthy; then
      log "already up"
      echo "$kubeconfig"
      return 0
    else
      log "found a test bed that is partly up or unhealthy; stopping it and starting again"
      cmd_down
    fi
  elif [[ -e "$state_dir" ]]; then
    cmd_down
  fi

  check_port_free "$etcd_port" "etcd client"
  check_port_free "$etcd_peer_port" "etcd peer"
  check_port_free "$apiserver_port" kube-apiserver
  check_port_free "$controller_manager_port" kube-controller-manager
  check_port_free "$scheduler_port" kube-scheduler
  check_port_free "$kubelet_port" "kubelet API (kwok)"

  local started=$SECONDS
  # The components run in their own sessions, so Ctrl-C does not reach them.
  trap 'log "interrupted"; stop_processes; exit 130' INT TERM
  mkdir -p "$state_dir" "$logs_dir" "$pids_dir"
  touch "$state_marker"
  generate_certs
  write_kubeconfig

  start_etcd
  start_apiserver
  install_logs_crd
  start_controller_manager
  start_scheduler
  start_kwok
  start_pod_log_writer

  create_node || fail_up "creating node $node_name failed" kube-apiserver
  await 60 "node $node_name to be Ready" node_ready kwok
  await 60 "ServiceAccount default/default" default_service_account_exists kube-controller-manager
  check_job_runs
  trap - INT TERM
  log "up in $((SECONDS - started)) s; API server https://127.0.0.1:$apiserver_port"
  echo "$kubeconfig"
}

cmd_status() {
  local name pid healthy=true
  for name in "${components[@]}"; do
    if pid=$(live_pid "$name"); then
      echo "$name: running (PID $pid)"
    else
      echo "$name: not running"
      healthy=false
    fi
  done

  if [[ -f "$kubeconfig" ]] && apiserver_ready; then
    echo "kube-apiserver /readyz: ok (https://127.0.0.1:$apiserver_port)"
  else
    echo "kube-apiserver /readyz: not ok"
    healthy=false
  fi

  if [[ -f "$certs_dir/ca.crt" ]] && kubelet_api_ready; then
    echo "kubelet API (kwok) /healthz: ok (https://127.0.0.1:$kubelet_port)"
  else
    echo "kubelet API (kwok) /healthz: not ok"
    healthy=false
  fi

  if [[ -f "$kubeconfig" ]] && node_ready; then
    echo "node $node_name: Ready"
  else
    echo "node $node_name: not Ready"
    healthy=false
  fi

  echo "kubeconfig: $kubeconfig"
  echo "kubectl: $bin_dir/kubectl"
  $healthy
}

cmd_env() {
  printf 'export KUBECONFIG=%q\n' "$kubeconfig"
  # shellcheck disable=SC2016 # $PATH is expanded by the shell that evaluates this output.
  printf 'export PATH=%q:"$PATH"\n' "$bin_dir"
}

main() {
  local command=${1:-}
  case "$command" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    kubectl)
      shift
      [[ -f "$kubeconfig" ]] || die "no kubeconfig at $kubeconfig; run 'cluster.sh up' first"
      exec "$bin_dir/kubectl" --kubeconfig "$kubeconfig" "$@"
      ;;
    *)
      echo "usage: $0 up|down|status|env|kubectl ARGS..." >&2
      exit 2
      ;;
  esac
}

main "$@"
