#!/usr/bin/env bash
# Runs every test: builds the local control plane (cached after the first run), runs the unit
# and offline tests, then the end-to-end tests against the control plane, which this script
# starts and stops. Fails, rather than skips, when the control plane cannot start.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
cd "$repo_root"

# The control plane's kubectl is built first: the command-line tests run it as a plugin host.
echo "== building the control plane (cached after the first run)"
"$here/testbed/build.sh" >/dev/null

echo "== unit and offline tests"
cargo test --locked --no-fail-fast --lib --bins --test crds --test manifests --test classify_cases --test cli

started_here=0
if ! "$here/testbed/cluster.sh" status >/dev/null 2>&1; then
  started_here=1
fi
stop_cluster() {
  if [[ $started_here -eq 1 ]]; then
    "$here/testbed/cluster.sh" down || true
  fi
}
trap stop_cluster EXIT

echo "== starting the control plane"
"$here/testbed/cluster.sh" up

echo "== end-to-end tests"
cargo test --locked --no-fail-fast --test operator_e2e --test lifecycle_e2e --test cli_e2e
