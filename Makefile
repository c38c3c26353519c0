# Developer tasks for jobhealth. `make help` lists the targets.

SHELL := bash
.DEFAULT_GOAL := help

TESTBED := tests/testbed

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-16s %s\n", $$1, $$2}'

# ---- Rust ------------------------------------------------------------------

.PHONY: demo
demo: ## Start the control plane, run the operator on example Jobs, show JobHealth rows
	examples/demo.sh

.PHONY: test
test: ## Run every test; starts and stops the local control plane itself
	tests/run.sh

.PHONY: build
build: ## Build the jobhealth binary (release)
	cargo build --release --locked --bin jobhealth

.PHONY: crds
crds: ## Regenerate crds/ and the chart's CRDs from the Rust types
	cargo run --quiet --locked --bin jobhealth -- crd > crds/jobhealth.io.yaml
	cp crds/jobhealth.io.yaml charts/jobhealth/crds/jobhealth.io.yaml

PLUGIN_DIR ?= $(HOME)/.local/bin
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
.PHONY: install-plugin
install-plugin: build ## Install jobhealth and the kubectl plugin link into PLUGIN_DIR
	mkdir -p $(PLUGIN_DIR)
	install -m 0755 $(TARGET_DIR)/release/jobhealth $(PLUGIN_DIR)/jobhealth
	ln -sf jobhealth $(PLUGIN_DIR)/kubectl-jobhealth

# ---- Local control plane (tests/testbed) ----------------------------------
# The control plane's binaries are built from Go modules into a cache outside the
# repository (see tests/testbed/versions.sh); the cluster's state lives in .testbed/.

.PHONY: testbed-build
testbed-build: ## Build etcd, kube-*, kubectl and kwok into the cache (skips built ones)
	$(TESTBED)/build.sh >/dev/null

.PHONY: cluster-up
cluster-up: testbed-build ## Start the local control plane and print the kubeconfig path
	$(TESTBED)/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop the local control plane and delete .testbed/
	$(TESTBED)/cluster.sh down

.PHONY: cluster-status
cluster-status: ## Show whether each control-plane process is up
	$(TESTBED)/cluster.sh status

.PHONY: testbed-smoke
testbed-smoke: ## Run one Job per kwok pod fate against the running control plane
	$(TESTBED)/smoke.sh
