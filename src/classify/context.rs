//! The facts every part of the classifier reads: the Job, its pods, its Events and the clock.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::{Container, Pod};

use super::events::{EventView, Target, relevant_events};
use super::{Observation, Thresholds};

/// The `spec.managedBy` value of the built-in Job controller.
pub(crate) const JOB_CONTROLLER: &str = "kubernetes.io/job-controller";

/// The Job controller's default `spec.backoffLimit`.
pub(crate) const DEFAULT_BACKOFF_LIMIT: i32 = 6;

/// One Job's objects, filtered and normalized, with the thresholds and the time of classification.
pub(crate) struct Context<'a> {
    pub job: &'a Job,
    pub spec: Option<&'a JobSpec>,
    pub status: Option<&'a JobStatus>,
    /// The Job's pods, ignoring pods that another Job controls.
    pub pods: Vec<&'a Pod>,
    /// Events about the Job or its pods.
    pub events: Vec<EventView<'a>>,
    pub thresholds: Thresholds,
    pub now: Timestamp,
}

impl<'a> Context<'a> {
    pub fn new(observation: &Observation<'a>, thresholds: &Thresholds, now: Timestamp) -> Self {
        let job = observation.job;
        let job_uid = job.metadata.uid.as_deref().filter(|uid| !uid.is_empty());
        let pods: Vec<&Pod> = observation
            .pods
            .iter()
            .filter(|pod| !controlled_by_other_job(pod, job_uid))
            .collect();
        let events = relevant_events(job, &pods, observation.events);
        // Negative thresholds make no sense; they count as zero.
        let thresholds = Thresholds {
            pending_seconds: thresholds.pending_seconds.max(0),
            image_pull_seconds: thresholds.image_pull_seconds.max(0),
            stalled_seconds: thresholds.stalled_seconds.max(0),
            long_running_seconds: thresholds.long_running_seconds.map(|seconds| seconds.max(0)),
            terminating_seconds: thresholds.terminating_seconds.max(0),
        };
        Context {
            job,
            spec: job.spec.as_ref(),
            status: job.status.as_ref(),
            pods,
            events,
            thresholds,
            now,
        }
    }

    pub fn job_name(&self) -> &'a str {
        self.job.metadata.name.as_deref().unwrap_or("<unnamed>")
    }

    /// Returns the Job condition of `type_` whose status is "True".
    pub fn condition(&self, type_: &str) -> Option<&'a JobCondition> {
        self.status?
            .conditions
            .as_ref()?
            .iter()
            .find(|condition| condition.type_ == type_ && condition.status == "True")
    }

    /// Returns the pod template's restartPolicy, else the first pod's.
    pub fn restart_policy(&self) -> Option<&'a str> {
        self.spec
            .and_then(|spec| spec.template.spec.as_ref())
            .and_then(|spec| spec.restart_policy.as_deref())
            .or_else(|| {
                self.pods
                    .iter()
                    .find_map(|pod| pod.spec.as_ref().and_then(|spec| spec.restart_policy.as_deref()))
            })
    }

    /// Returns true when containers restart in place (restartPolicy OnFailure).
    pub fn restarts_in_place(&self) -> bool {
        self.restart_policy() == Some("OnFailure")
    }

    /// Returns the container `name` of the pod template, regular or init.
    pub fn template_container(&self, name: &str) -> Option<&'a Container> {
        let spec = self.spec?.template.spec.as_ref()?;
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .find(|container| container.name == name)
    }

    /// Returns true when the pod template lists `name` as a regular container.
    pub fn template_has_container(&self, name: &str) -> Option<bool> {
        let spec = self.spec?.template.spec.as_ref()?;
        if spec.containers.is_empty() {
            return None;
        }
        Some(spec.containers.iter().any(|container| container.name == name))
    }

    /// Returns `spec.managedBy` when it names a controller other than the built-in one.
    pub fn managed_elsewhere(&self) -> Option<&'a str> {
        self.spec?
            .managed_by
            .as_deref()
            .filter(|manager| !manager.is_empty() && *manager != JOB_CONTROLLER)
    }

    pub fn start_time(&self) -> Option<Timestamp> {
        self.status?.start_time.as_ref().map(|time| time.0)
    }

    pub fn active_deadline_seconds(&self) -> Option<i64> {
        self.spec?.active_deadline_seconds
    }

    pub fn backoff_limit(&self) -> i32 {
        self.spec.and_then(|spec| spec.backoff_limit).unwrap_or(DEFAULT_BACKOFF_LIMIT)
    }

    pub fn failed_count(&self) -> i32 {
        self.status.and_then(|status| status.failed).unwrap_or(0).max(0)
    }

    pub fn succeeded_count(&self) -> i32 {
        self.status.and_then(|status| status.succeeded).unwrap_or(0).max(0)
    }

    /// Returns the seconds from `time` to now, saturating, negative when `time` is in the future.
    pub fn seconds_since(&self, time: Timestamp) -> i64 {
        self.now.as_second().saturating_sub(time.as_second())
    }

    /// Returns the seconds from now until `time` plus `offset` seconds, saturating.
    pub fn seconds_until(&self, time: Timestamp, offset: i64) -> i64 {
        time.as_second().saturating_add(offset).saturating_sub(self.now.as_second())
    }

    /// Returns the Events about the pod `name`.
    pub fn pod_events<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s EventView<'a>> + 's {
        self.events.iter().filter(move |event| event.is_about_pod(name))
    }

    /// Returns the Events about the Job itself.
    pub fn job_events(&self) -> impl Iterator<Item = &EventView<'a>> {
        self.events.iter().filter(|event| event.target == Target::Job)
    }

    /// Returns the pods that are neither finished nor being deleted.
    pub fn live_pods(&self) -> impl Iterator<Item = &'a Pod> + '_ {
        self.pods.iter().copied().filter(|pod| {
            pod.metadata.deletion_timestamp.is_none() && !super::pods::is_finished(pod)
        })
    }
}

/// Returns true when the pod's controller is a Job other than the one with `job_uid`.
fn controlled_by_other_job(pod: &Pod, job_uid: Option<&str>) -> bool {
    let Some(job_uid) = job_uid else {
        return false;
    };
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|owner| owner.kind == "Job" && owner.controller == Some(true) && !owner.uid.is_empty() && owner.uid != job_uid)
}

/// The earliest time after now at which the classification may change.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Recheck(Option<i64>);

impl Recheck {
    /// Records that the classification may change in `seconds`; ignored unless positive.
    pub fn after(&mut self, seconds: i64) {
        if seconds <= 0 {
            return;
        }
        self.0 = Some(self.0.map_or(seconds, |current| current.min(seconds)));
    }

    pub fn seconds(self) -> Option<i64> {
        self.0
    }
}
