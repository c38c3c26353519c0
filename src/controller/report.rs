//! Report: writes JobHealth objects and their status with server-side apply, and records Events
//! on Jobs.

use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::{Event as RecordedEvent, EventType, Recorder};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

use crate::crd::{FIELD_MANAGER, JobHealth, JobHealthPolicy, JobHealthPolicyStatus, JobHealthSpec, JobHealthStatus, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use crate::controller::plan::JobEvent;

/// Label on a JobHealth naming the policy that covers its Job.
pub const POLICY_LABEL: &str = "jobhealth.io/policy";

/// A failed write. Every variant is transient unless the API server keeps rejecting the object
/// (RBAC or a schema mismatch), which shows in the logs with the error's category.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Creating or updating a JobHealth failed.
    #[error("applying JobHealth {namespace}/{name} failed: {source}")]
    ApplyHealth {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// Writing the status of a JobHealth failed.
    #[error("applying status of JobHealth {namespace}/{name} failed: {source}")]
    ApplyHealthStatus {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// Writing the status of a JobHealthPolicy failed.
    #[error("applying status of JobHealthPolicy {namespace}/{name} failed: {source}")]
    ApplyPolicyStatus {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// Deleting a JobHealth failed.
    #[error("deleting JobHealth {namespace}/{name} failed: {source}")]
    DeleteHealth {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// Recording an Event on a Job or a policy failed, for example because RBAC does not allow
    /// `create` or `patch` on events.k8s.io events. The status is already written at this point.
    #[error("recording Event {reason} on {namespace}/{name} failed: {source}")]
    PublishEvent {
        namespace: String,
        name: String,
        reason: String,
        #[source]
        source: kube::Error,
    },
}

impl ReportError {
    /// Returns true when the API server returned 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        let source = match self {
            ReportError::ApplyHealth { source, .. }
            | ReportError::ApplyHealthStatus { source, .. }
            | ReportError::ApplyPolicyStatus { source, .. }
            | ReportError::DeleteHealth { source, .. }
            | ReportError::PublishEvent { source, .. } => source,
        };
        matches!(source, kube::Error::Api(status) if status.code == 404)
    }

    /// Returns the PascalCase category used in Events and logs.
    pub fn category(&self) -> &'static str {
        match self {
            ReportError::ApplyHealth { .. } => "ApplyHealthFailed",
            ReportError::ApplyHealthStatus { .. } => "ApplyHealthStatusFailed",
            ReportError::ApplyPolicyStatus { .. } => "ApplyPolicyStatusFailed",
            ReportError::DeleteHealth { .. } => "DeleteHealthFailed",
            ReportError::PublishEvent { .. } => "PublishEventFailed",
        }
    }
}

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Creates or updates the JobHealth named after the Job, with the operator's labels.
pub async fn apply_health(client: &Client, namespace: &str, spec: &JobHealthSpec) -> Result<JobHealth, ReportError> {
    let api: Api<JobHealth> = Api::namespaced(client.clone(), namespace);
    let body = json!({
        "apiVersion": JobHealth::api_version(&()),
        "kind": JobHealth::kind(&()),
        "metadata": {
            "name": spec.job_name,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY_VALUE,
                POLICY_LABEL: spec.policy,
            },
        },
        "spec": spec,
    });
    api.patch(&spec.job_name, &apply_params(), &Patch::Apply(&body))
        .await
        .map_err(|source| ReportError::ApplyHealth { namespace: namespace.to_string(), name: spec.job_name.clone(), source })
}

/// Replaces the status of a JobHealth. The whole status is applied each time, so fields the
/// operator no longer sets are removed.
pub async fn apply_health_status(client: &Client, namespace: &str, name: &str, status: &JobHealthStatus) -> Result<(), ReportError> {
    let api: Api<JobHealth> = Api::namespaced(client.clone(), namespace);
    let body = json!({
        "apiVersion": JobHealth::api_version(&()),
        "kind": JobHealth::kind(&()),
        "status": status,
    });
    api.patch_status(name, &apply_params(), &Patch::Apply(&body))
        .await
        .map(|_| ())
        .map_err(|source| ReportError::ApplyHealthStatus { namespace: namespace.to_string(), name: name.to_string(), source })
}

/// Replaces the status of a JobHealthPolicy.
pub async fn apply_policy_status(client: &Client, namespace: &str, name: &str, status: &JobHealthPolicyStatus) -> Result<(), ReportError> {
    let api: Api<JobHealthPolicy> = Api::namespaced(client.clone(), namespace);
    let body = json!({
        "apiVersion": JobHealthPolicy::api_version(&()),
        "kind": JobHealthPolicy::kind(&()),
        "status": status,
    });
    api.patch_status(name, &apply_params(), &Patch::Apply(&body))
        .await
        .map(|_| ())
        .map_err(|source| ReportError::ApplyPolicyStatus { namespace: namespace.to_string(), name: name.to_string(), source })
}

/// Deletes a JobHealth the operator created, only if it is still the same object (same UID).
/// A JobHealth that is already gone counts as deleted.
pub async fn delete_health(client: &Client, health: &JobHealth) -> Result<(), ReportError> {
    let namespace = health.namespace().unwrap_or_default();
    let name = health.name_any();
    let api: Api<JobHealth> = Api::namespaced(client.clone(), &namespace);
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: health.uid(), resource_version: None }),
        ..DeleteParams::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(source) => Err(ReportError::DeleteHealth { namespace, name, source }),
    }
}

/// Returns true when the operator created `health`, so it may delete it.
pub fn is_managed(health: &JobHealth) -> bool {
    health.labels().get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

/// Records `event` on `object` (a Job or a policy) through the events.k8s.io API. `action` names
/// what the operator did, such as `Classify` or `Validate`.
pub async fn publish_event<K>(recorder: &Recorder, object: &K, action: &str, event: &JobEvent) -> Result<(), ReportError>
where
    K: Resource<DynamicType = ()>,
{
    // The events.k8s.io API rejects a note over 1 kB, so cut it at a character boundary.
    let mut note = String::new();
    for character in event.note.chars() {
        if note.len() + character.len_utf8() > 1000 {
            break;
        }
        note.push(character);
    }
    let recorded = RecordedEvent {
        type_: if event.warning { EventType::Warning } else { EventType::Normal },
        reason: event.reason.clone(),
        note: Some(note),
        action: action.to_string(),
        secondary: None,
    };
    recorder
        .publish(&recorded, &object.object_ref(&()))
        .await
        .map_err(|source| ReportError::PublishEvent {
            namespace: object.meta().namespace.clone().unwrap_or_default(),
            name: object.meta().name.clone().unwrap_or_default(),
            reason: event.reason.clone(),
            source,
        })
}
