//! The custom resources: `JobHealthPolicy`, written by users, and `JobHealth`, written by the
//! operator for each selected Job.
//!
//! Doc comments on fields become `kubectl explain` text, so they are written for cluster users.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::classify::Thresholds;
use crate::finding::{Finding, State};

/// API group of both resources.
pub const GROUP: &str = "jobhealth.io";
/// Field manager used for every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "jobhealth-operator";
/// Label the operator puts on every `JobHealth` it creates, so it only ever deletes its own.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "jobhealth";
/// Default retention of a `JobHealth` after its Job is gone, in seconds.
pub const DEFAULT_RETENTION_SECONDS: i64 = 3600;

/// Selects Jobs in its namespace and sets the thresholds jobhealth uses to call them stuck.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "jobhealth.io",
    version = "v1alpha1",
    kind = "JobHealthPolicy",
    namespaced,
    shortname = "jhp",
    status = "JobHealthPolicyStatus",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Jobs","type":"integer","jsonPath":".status.jobs"}"#,
    printcolumn = r#"{"name":"Unhealthy","type":"integer","jsonPath":".status.unhealthy"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct JobHealthPolicySpec {
    /// Label selector for the Jobs in this namespace that this policy covers. Empty or absent
    /// selects every Job in the namespace. When several policies select one Job, the oldest
    /// policy wins, then the one whose name sorts first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,

    /// Thresholds for calling a Job stuck or long-running. Absent fields take their defaults.
    #[serde(default)]
    pub thresholds: ThresholdsSpec,

    /// Seconds to keep a Job's JobHealth after the Job is deleted, so the reason it failed stays
    /// readable. Defaults to 3600 (one hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub retention_seconds: Option<i64>,
}

/// Time thresholds, each in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdsSpec {
    /// Seconds a pod may stay Pending (scheduling, pulling, starting) before the Job is called
    /// stuck. Defaults to 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub pending_seconds: Option<i64>,

    /// Seconds an image pull may keep failing with a retryable error before it counts as
    /// ImagePullBackOff rather than ImagePullTransient. Defaults to 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub image_pull_seconds: Option<i64>,

    /// Seconds an active Job may have no running pod and make no progress before it is called
    /// Stalled. Defaults to 900.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub stalled_seconds: Option<i64>,

    /// Seconds a Job may run before it is reported as LongRunning. Absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub long_running_seconds: Option<i64>,

    /// Seconds a pod or Job may stay marked for deletion, or a finished pod may stay uncounted
    /// by the Job controller, before the Job is called StuckTerminating. Defaults to 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub terminating_seconds: Option<i64>,
}

impl ThresholdsSpec {
    /// Returns the thresholds with defaults filled in.
    pub fn resolve(&self) -> Thresholds {
        let defaults = Thresholds::default();
        Thresholds {
            pending_seconds: self.pending_seconds.unwrap_or(defaults.pending_seconds),
            image_pull_seconds: self.image_pull_seconds.unwrap_or(defaults.image_pull_seconds),
            stalled_seconds: self.stalled_seconds.unwrap_or(defaults.stalled_seconds),
            long_running_seconds: self.long_running_seconds.or(defaults.long_running_seconds),
            terminating_seconds: self.terminating_seconds.unwrap_or(defaults.terminating_seconds),
        }
    }
}

/// The operator's observations about the policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobHealthPolicyStatus {
    /// The policy generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready is True when the policy is valid and in use, False with the validation error
    /// otherwise.
    #[serde(default)]
    pub conditions: Vec<Condition>,

    /// Number of Jobs this policy covers.
    #[serde(default)]
    pub jobs: i64,

    /// Number of covered Jobs that are Stuck, Failing or Failed.
    #[serde(default)]
    pub unhealthy: i64,

    /// Number of covered Jobs in each state.
    #[serde(default)]
    pub counts: StateCounts,
}

/// Number of Jobs in each state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateCounts {
    /// Jobs whose pods are starting.
    #[serde(default)]
    pub pending: i64,
    /// Jobs whose pods are running.
    #[serde(default)]
    pub running: i64,
    /// Jobs that completed.
    #[serde(default)]
    pub succeeded: i64,
    /// Jobs that are suspended.
    #[serde(default)]
    pub suspended: i64,
    /// Jobs that are active but cannot progress.
    #[serde(default)]
    pub stuck: i64,
    /// Jobs that are still active but whose failure is decided.
    #[serde(default)]
    pub failing: i64,
    /// Jobs that failed.
    #[serde(default)]
    pub failed: i64,
}

impl StateCounts {
    /// Adds one Job in `state`.
    pub fn add(&mut self, state: State) {
        let slot = match state {
            State::Pending => &mut self.pending,
            State::Running => &mut self.running,
            State::Succeeded => &mut self.succeeded,
            State::Suspended => &mut self.suspended,
            State::Stuck => &mut self.stuck,
            State::Failing => &mut self.failing,
            State::Failed => &mut self.failed,
        };
        *slot += 1;
    }
}

/// The health of one Job, written by jobhealth. It has the Job's name and outlives the Job for
/// the policy's retention period.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "jobhealth.io",
    version = "v1alpha1",
    kind = "JobHealth",
    namespaced,
    shortname = "jh",
    status = "JobHealthStatus",
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct JobHealthSpec {
    /// Name of the Job this object describes (the same as this object's name).
    pub job_name: String,
    /// UID of the Job this object describes.
    pub job_uid: String,
    /// Name of the JobHealthPolicy that selects the Job.
    pub policy: String,
}

/// The latest classification of the Job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobHealthStatus {
    /// The generation of this JobHealth that the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// The Job's state: Pending, Running, Succeeded, Suspended, Stuck, Failing or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,

    /// The cause of the Job's state, one of a closed set such as OOMKilled or ImagePullBackOff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::finding::Reason>,

    /// One line for a person: what happened and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,

    /// The whole classification: cause, evidence, failed indexes, notes and advice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,

    /// Healthy is False while the Job is Stuck, Failing or Failed. JobPresent is False once the
    /// Job is deleted, from which time the retention period counts.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

impl JobHealthPolicy {
    /// Returns the thresholds with defaults filled in.
    pub fn thresholds(&self) -> Thresholds {
        self.spec.thresholds.resolve()
    }

    /// Returns the retention of a JobHealth after its Job is gone, in seconds.
    pub fn retention_seconds(&self) -> i64 {
        self.spec.retention_seconds.unwrap_or(DEFAULT_RETENTION_SECONDS)
    }
}
