//! `jobhealth diagnose job/NAME`: classifies one Job of a live cluster, reading it once.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::{Client, ResourceExt};

use crate::classify::{Observation, Thresholds, classify};
use crate::controller::observe::{ObserveError, list_job_events};
use crate::diagnose::Diagnosis;
use crate::finding::{MAX_LOG_LINES, bounded};

/// A failure to diagnose a live Job.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The target is not `job/NAME`, `jobs/NAME` or a bare name.
    #[error("invalid target {target:?}: expected job/NAME")]
    InvalidTarget { target: String },
    /// The Job does not exist in the namespace.
    #[error("Job {namespace}/{name} not found")]
    JobNotFound { namespace: String, name: String },
    /// Reading the Job or its pods failed.
    #[error("reading {what} for Job {namespace}/{name} failed: {source}")]
    Read {
        namespace: String,
        name: String,
        what: &'static str,
        #[source]
        source: kube::Error,
    },
    /// Listing Events failed.
    #[error(transparent)]
    Events(#[from] ObserveError),
}

/// Returns the Job name from `job/NAME`, `jobs/NAME`, `job.batch/NAME` or `NAME`.
pub fn parse_target(target: &str) -> Result<String, LiveError> {
    let name = match target.split_once('/') {
        Some(("job" | "jobs" | "job.batch" | "jobs.batch", name)) => name,
        Some(_) => return Err(LiveError::InvalidTarget { target: target.to_string() }),
        None => target,
    };
    if name.is_empty() {
        return Err(LiveError::InvalidTarget { target: target.to_string() });
    }
    Ok(name.to_string())
}

/// Classifies Job `name` in `namespace`. With `log_lines` above zero, the last lines of each
/// container that the evidence names as terminated with an exit code are added to that evidence.
pub async fn diagnose_job(client: &Client, namespace: &str, name: &str, thresholds: &Thresholds, log_lines: usize) -> Result<Diagnosis, LiveError> {
    let read_error = |what: &'static str| {
        let namespace = namespace.to_string();
        let name = name.to_string();
        move |source| LiveError::Read { namespace, name, what, source }
    };
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let job = jobs
        .get_opt(name)
        .await
        .map_err(read_error("the Job"))?
        .ok_or_else(|| LiveError::JobNotFound { namespace: namespace.to_string(), name: name.to_string() })?;

    let pods_api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let selector = format!("batch.kubernetes.io/controller-uid={}", job.uid().unwrap_or_default());
    let pods = pods_api.list(&ListParams::default().labels(&selector)).await.map_err(read_error("pods"))?.items;
    let events = list_job_events(client, &job, &pods).await?;

    let observation = Observation { job: &job, pods: &pods, events: &events };
    let mut finding = classify(&observation, thresholds, Timestamp::now());

    if log_lines > 0 {
        let lines = log_lines.min(MAX_LOG_LINES);
        for item in &mut finding.evidence {
            let (Some(pod), Some(container), Some(_)) = (&item.pod, &item.container, item.exit_code) else {
                continue;
            };
            if !pods.iter().any(|live| live.name_any() == *pod) {
                continue;
            }
            let params = LogParams { container: Some(container.clone()), tail_lines: Some(lines as i64), ..LogParams::default() };
            match pods_api.logs(pod, &params).await {
                Ok(text) => {
                    let all: Vec<&str> = text.lines().collect();
                    item.log_tail = all[all.len().saturating_sub(lines)..].iter().map(|line| bounded(line)).collect();
                }
                Err(error) => tracing::warn!(pod = %pod, container = %container, error = %error, "reading container logs failed"),
            }
        }
    }

    Ok(Diagnosis { namespace: namespace.to_string(), job: job.name_any(), finding })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_forms() {
        assert_eq!(parse_target("job/nightly").unwrap(), "nightly");
        assert_eq!(parse_target("jobs.batch/nightly").unwrap(), "nightly");
        assert_eq!(parse_target("nightly").unwrap(), "nightly");
        assert!(parse_target("pod/nightly").is_err());
        assert!(parse_target("job/").is_err());
    }
}
