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
pub mod diagnose;
pub mod select;
pub mod yaml;

use kube::CustomResourceExt;

/// Returns both CustomResourceDefinitions as a YAML stream, as committed under `crds/`.
pub fn crd_yaml() -> String {
    let policy = yaml::to_yaml(&crd::JobHealthPolicy::crd()).expect("a CRD always serializes to YAML");
    let health = yaml::to_yaml(&crd::JobHealth::crd()).expect("a CRD always serializes to YAML");
    format!("---\n{policy}---\n{health}")
}
