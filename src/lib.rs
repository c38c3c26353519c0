//! jobhealth: a Kubernetes operator that classifies batch Jobs, records why they fail and, where a
//! policy allows it, acts on them.
//!
//! Each reconcile runs in phases: observe (client), classify (pure), plan (pure), act (client)
//! and report (client).

pub mod classify;
pub mod crd;
pub mod finding;
pub mod conditions;
pub mod controller;
pub mod select;

use kube::CustomResourceExt;

/// Returns both CustomResourceDefinitions as a YAML stream, as committed under `crds/`.
pub fn crd_yaml() -> String {
    let policy = serde_norway::to_string(&crd::JobHealthPolicy::crd()).expect("a CRD always serializes to YAML");
    let health = serde_norway::to_string(&crd::JobHealth::crd()).expect("a CRD always serializes to YAML");
    format!("---\n{policy}---\n{health}")
}
pub mod diagnose;
