# Versions of the test bed's control plane. Sourced by build.sh and cluster.sh.
# Change a version here and in the matching go.mod together.
KUBERNETES_VERSION=1.36.3
ETCD_VERSION=3.6.17
KWOK_VERSION=0.8.0
# helm renders and lints the chart in tests. Its binary carries the version in its name,
# because the cache directory is keyed by the control plane's versions only.
HELM_VERSION=4.3.2

# Prints the directory that contains the built binaries for these versions.
testbed_bin_dir() {
  local cache_root=${JOBHEALTH_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jobhealth-testbed}
  echo "$cache_root/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin"
}
