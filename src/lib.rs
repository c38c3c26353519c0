//! jobhealth: a Kubernetes operator that classifies batch Jobs, records why they fail and, where a
//! policy allows it, acts on them.
//!
//! Each reconcile runs in phases: observe (client), classify (pure), plan (pure), act (client)
//! and report (client).

pub mod classify;
pub mod crd;
pub mod finding;
