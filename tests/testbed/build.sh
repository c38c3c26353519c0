#!/usr/bin/env bash
# Builds the test bed's control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) and helm from Go modules into a cache outside the repository.
# A binary that is already in the cache is not rebuilt, because the cache directory is
# keyed by the versions pinned in the go.mod files beside this script.
#
# Prints the bin directory on the last line of standard output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

bin_dir=$(testbed_bin_dir)
mkdir -p "$bin_dir"

export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0

# Builds one Go package into $bin_dir unless the binary is there already.
# Arguments: module directory, package path, output name, extra ldflags.
build_one() {
  local module_dir=$1 package=$2 name=$3 ldflags=${4:-}
  if [[ -x "$bin_dir/$name" ]]; then
    return 0
  fi
  echo "building $name from $package" >&2
  local started=$SECONDS
  (cd "$here/$module_dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin_dir/$name.tmp" "$package")
  mv "$bin_dir/$name.tmp" "$bin_dir/$name"
  echo "built $name in $((SECONDS - started)) s" >&2
}

k8s_stamp="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION"
k8s_stamp+=" -X k8s.io/component-base/version.gitMajor=${KUBERNETES_VERSION%%.*}"
k8s_minor=${KUBERNETES_VERSION#*.}
k8s_stamp+=" -X k8s.io/component-base/version.gitMinor=${k8s_minor%%.*}"
k8s_stamp+=" -X k8s.io/component-base/version.gitTreeState=clean"
k8s_stamp+=" -X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES_VERSION"
k8s_stamp+=" -X k8s.io/client-go/pkg/version.gitMajor=${KUBERNETES_VERSION%%.*}"
k8s_stamp+=" -X k8s.io/client-go/pkg/version.gitMinor=${k8s_minor%%.*}"

build_one etcd go.etcd.io/etcd/server/v3 etcd
build_one kwok sigs.k8s.io/kwok/cmd/kwok kwok
for command in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  build_one k8s "k8s.io/kubernetes/cmd/$command" "$command" "$k8s_stamp"
done
build_one helm helm.sh/helm/v4/cmd/helm "helm-$HELM_VERSION" "-X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION"

echo "$bin_dir"
