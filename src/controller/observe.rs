//! Observe: reads what the classifier needs about one Job from the caches and the API server.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};

/// Maximum number of pods whose Events are read for one Job. The newest pods are read first.
const MAX_PODS_WITH_EVENTS: usize = 8;

/// A failure to observe a Job. Every variant is transient, so the reconcile backs off and retries.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// Listing Events failed, for example because the API server is unavailable or RBAC does
    /// not allow `list` on events.
    #[error("listing Events for {object} in namespace {namespace} failed: {source}")]
    ListEvents {
        namespace: String,
        object: String,
        #[source]
        source: kube::Error,
    },
}

impl ObserveError {
    /// Returns the PascalCase category used in Events and logs.
    pub fn category(&self) -> &'static str {
        match self {
            ObserveError::ListEvents { .. } => "ListEventsFailed",
        }
    }
}

/// The pods and Events of one Job.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub pods: Vec<Pod>,
    pub events: Vec<Event>,
}

/// Reads the pods of `job` from the pod cache, and the Events about the Job and its pods
/// (including pods that no longer exist but that the Job's Events name) from the API server.
pub async fn observe_job(client: &Client, pods: &Store<Pod>, job: &Job) -> Result<Observed, ObserveError> {
    let uid = job.uid().unwrap_or_default();
    let job_pods: Vec<Pod> = pods
        .state()
        .iter()
        .filter(|pod| pod.namespace() == job.namespace() && is_owned_by(pod, &uid))
        .map(|pod| (**pod).clone())
        .collect();
    let events = list_job_events(client, job, &job_pods).await?;
    Ok(Observed { pods: job_pods, events })
}

/// Lists the Events about `job` and its pods: the live `pods` first, then pods that the Job
/// controller's "Created pod" Events name, newest first, up to a bounded number of pods.
// NOTE: this costs up to 1 + MAX_PODS_WITH_EVENTS list calls per reconcile. An Event cache
// indexed by involved object would replace them once the number of Jobs makes that matter.
pub async fn list_job_events(client: &Client, job: &Job, pods: &[Pod]) -> Result<Vec<Event>, ObserveError> {
    let namespace = job.namespace().unwrap_or_default();
    let uid = job.uid().unwrap_or_default();
    let events_api: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let job_events = list_events(&events_api, &namespace, &format!("involvedObject.uid={uid}"), &job.name_any()).await?;

    let mut live: Vec<&Pod> = pods.iter().collect();
    live.sort_by_key(|pod| std::cmp::Reverse(pod.metadata.creation_timestamp.clone()));
    let mut pod_names: Vec<String> = live.iter().map(|pod| pod.name_any()).collect();
    for event in job_events.iter().rev() {
        if let Some(name) = event.message.as_deref().and_then(created_pod_name)
            && !pod_names.iter().any(|known| known == name)
        {
            pod_names.push(name.to_string());
        }
    }
    pod_names.truncate(MAX_PODS_WITH_EVENTS);

    let mut events = job_events;
    for name in pod_names {
        let selector = format!("involvedObject.kind=Pod,involvedObject.name={name}");
        events.extend(list_events(&events_api, &namespace, &selector, &name).await?);
    }
    for event in &mut events {
        event.metadata.managed_fields = None;
    }
    Ok(events)
}

async fn list_events(api: &Api<Event>, namespace: &str, field_selector: &str, object: &str) -> Result<Vec<Event>, ObserveError> {
    let params = ListParams::default().fields(field_selector);
    api.list(&params).await.map(|list| list.items).map_err(|source| ObserveError::ListEvents {
        namespace: namespace.to_string(),
        object: object.to_string(),
        source,
    })
}

/// Returns true when `pod` has `job_uid` as its controlling owner, or carries the Job
/// controller's controller-uid label.
pub fn is_owned_by(pod: &Pod, job_uid: &str) -> bool {
    let owned = pod
        .owner_references()
        .iter()
        .any(|owner| owner.kind == "Job" && owner.uid == job_uid && owner.controller == Some(true));
    owned || pod.labels().get("batch.kubernetes.io/controller-uid").map(String::as_str) == Some(job_uid)
}

/// Returns the pod name from a Job controller message such as "Created pod: nightly-x7k2p".
fn created_pod_name(message: &str) -> Option<&str> {
    message.strip_prefix("Created pod: ").map(str::trim).filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_pod_name_reads_job_controller_message() {
        assert_eq!(created_pod_name("Created pod: nightly-x7k2p"), Some("nightly-x7k2p"));
        assert_eq!(created_pod_name("Deleted pod: nightly-x7k2p"), None);
        assert_eq!(created_pod_name("Created pod: "), None);
    }
}
