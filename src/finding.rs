//! The result of classifying one Job: its state, the reason, the evidence behind it and advice.
//!
//! These types are shared by the classifier, the `JobHealth` status and `jobhealth diagnose`, so
//! their serialized names are a contract with cluster users and scripts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Maximum number of evidence items a finding carries, so a `JobHealth` stays small.
pub const MAX_EVIDENCE: usize = 12;
/// Maximum number of failed indexes listed for an Indexed Job.
pub const MAX_FAILED_INDEXES: usize = 20;
/// Maximum length of one message or log line kept in a finding, in characters.
pub const MAX_MESSAGE_CHARS: usize = 512;
/// Maximum number of log lines kept per container.
pub const MAX_LOG_LINES: usize = 50;

/// The condition of a Job as a user sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum State {
    /// Pods are being created, scheduled or started, within the policy's thresholds.
    Pending,
    /// Pods are running and nothing suggests a problem.
    Running,
    /// The Job has the Complete condition.
    Succeeded,
    /// The Job is suspended (`spec.suspend: true`), for example by a queue controller.
    Suspended,
    /// The Job is active but cannot progress without a change (image, quota, scheduling, config).
    Stuck,
    /// The Job is still active but its outcome is decided: a FailureTarget condition, or pods
    /// failing toward the backoff budget.
    Failing,
    /// The Job has the Failed condition.
    Failed,
}

impl State {
    /// All states, in the order used for counts and tables.
    pub const ALL: [State; 7] = [
        State::Pending,
        State::Running,
        State::Succeeded,
        State::Suspended,
        State::Stuck,
        State::Failing,
        State::Failed,
    ];

    /// Returns the name used in status, Events and output.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "Pending",
            State::Running => "Running",
            State::Succeeded => "Succeeded",
            State::Suspended => "Suspended",
            State::Stuck => "Stuck",
            State::Failing => "Failing",
            State::Failed => "Failed",
        }
    }

    /// Returns true for states that need someone's attention.
    pub fn is_unhealthy(self) -> bool {
        match self {
            State::Stuck | State::Failing | State::Failed => true,
            State::Pending | State::Running | State::Succeeded | State::Suspended => false,
        }
    }
}

/// The cause of a Job's state. A closed set, because scripts and alerts match on these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Reason {
    // Failed or failing.
    /// A container of a failed pod was killed by the kernel for exceeding its memory limit.
    OOMKilled,
    /// A container exited with a non-zero code for its own reasons.
    NonZeroExit,
    /// With restartPolicy OnFailure the container restarted in place until the budget was spent.
    CrashLoop,
    /// The kubelet killed a container after its liveness probe failed.
    LivenessProbeKilled,
    /// An init container failed, so the main containers never ran.
    InitContainerFailed,
    /// Pods were ended by eviction, preemption, node drain or node shutdown.
    Disruption,
    /// The Job ran longer than `spec.activeDeadlineSeconds`.
    DeadlineExceeded,
    /// An Indexed Job failed because some indexes spent their per-index backoff budget.
    IndexedJobFailedIndexes,
    /// The Job spent its backoff budget and no more specific cause was found.
    BackoffLimitExceeded,
    /// A pod failure policy rule failed the Job and no more specific cause was found.
    PodFailurePolicy,
    // Stuck.
    /// The image cannot be pulled: it does not exist or access is denied.
    ImagePullBackOff,
    /// The image reference cannot be parsed.
    InvalidImageName,
    /// Image pulls fail for a reason that may pass (rate limit, timeout); the kubelet retries.
    ImagePullTransient,
    /// The Job controller cannot create pods (quota, admission denial).
    PodCreationFailed,
    /// The scheduler finds no node for the pods.
    Unschedulable,
    /// A container cannot be created because its configuration refers to something missing,
    /// such as a Secret, a ConfigMap or a key in one.
    CreateContainerConfigError,
    /// A volume cannot be attached or mounted.
    VolumeMountFailed,
    /// The work containers finished but a sidecar that is not a native sidecar keeps the pod running.
    SidecarBlocksCompletion,
    /// Deletion or pod accounting is blocked by finalizers for longer than the threshold.
    StuckTerminating,
    /// The Job is active, no pod runs, and nothing has progressed for longer than the threshold.
    Stalled,
    // Healthy or neutral.
    /// The Job completed.
    Succeeded,
    /// Pods are running.
    Running,
    /// Pods are starting, within the thresholds.
    Pending,
    /// The Job is suspended.
    Suspended,
    /// Pods have been running for longer than the policy's threshold.
    LongRunning,
}

impl Reason {
    /// Returns the name used in status, Events and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::OOMKilled => "OOMKilled",
            Reason::NonZeroExit => "NonZeroExit",
            Reason::CrashLoop => "CrashLoop",
            Reason::LivenessProbeKilled => "LivenessProbeKilled",
            Reason::InitContainerFailed => "InitContainerFailed",
            Reason::Disruption => "Disruption",
            Reason::DeadlineExceeded => "DeadlineExceeded",
            Reason::IndexedJobFailedIndexes => "IndexedJobFailedIndexes",
            Reason::BackoffLimitExceeded => "BackoffLimitExceeded",
            Reason::PodFailurePolicy => "PodFailurePolicy",
            Reason::ImagePullBackOff => "ImagePullBackOff",
            Reason::InvalidImageName => "InvalidImageName",
            Reason::ImagePullTransient => "ImagePullTransient",
            Reason::PodCreationFailed => "PodCreationFailed",
            Reason::Unschedulable => "Unschedulable",
            Reason::CreateContainerConfigError => "CreateContainerConfigError",
            Reason::VolumeMountFailed => "VolumeMountFailed",
            Reason::SidecarBlocksCompletion => "SidecarBlocksCompletion",
            Reason::StuckTerminating => "StuckTerminating",
            Reason::Stalled => "Stalled",
            Reason::Succeeded => "Succeeded",
            Reason::Running => "Running",
            Reason::Pending => "Pending",
            Reason::Suspended => "Suspended",
            Reason::LongRunning => "LongRunning",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether running the same Job again is likely to help.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Retryable {
    /// Re-running the same spec is likely to work.
    Yes,
    /// A change to the spec, configuration or data is needed first.
    WithChange,
    /// Re-running is not the remedy (it succeeded, or it is held or blocked elsewhere).
    No,
}

/// A remark beside the reason, such as a retry that recovered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum NoteReason {
    /// The Job succeeded after one or more failed attempts.
    RecoveredAfterRetry,
    /// A process was killed for memory although the Job succeeded.
    OOMKillObserved,
    /// `spec.managedBy` names another controller, so jobhealth only reports on this Job.
    ManagedElsewhere,
    /// A queue or admission controller keeps the Job suspended.
    HeldByQueue,
    /// Pods were deleted or evicted while the Job ran.
    PodsDisrupted,
    /// The finding rests on Events only, because the pods are gone.
    PodsGone,
}

/// A remark beside the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    /// The kind of remark.
    pub reason: NoteReason,
    /// The observation, written for a person.
    pub message: String,
}

/// The kind of object a piece of evidence was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EvidenceSource {
    /// The Job's spec or status.
    Job,
    /// A pod's status or metadata.
    Pod,
    /// A container status inside a pod.
    Container,
    /// A Kubernetes Event.
    Event,
}

/// One fact the finding rests on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// The kind of object the fact was read from.
    pub source: Option<EvidenceSource>,
    /// The pod the fact concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The container the fact concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// True when the container is an init container.
    #[serde(default, skip_serializing_if = "is_false")]
    pub init_container: bool,
    /// The node the pod ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The container's exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The reason Kubernetes recorded: a container state reason, a condition reason or an Event reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The message Kubernetes recorded, cut to a bounded length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How many times an Event was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// When the fact was last seen (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The last lines the container logged, when logs were requested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The outcome of one failed index of an Indexed Job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedIndex {
    /// The completion index.
    pub index: i32,
    /// The cause found for this index.
    pub reason: Reason,
    /// The exit code of the last failed attempt, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The termination message of the last failed attempt, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The classification of one Job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The Job's state.
    pub state: State,
    /// The cause of the Job's state.
    pub reason: Reason,
    /// The deeper cause behind the reason, when one is known: for DeadlineExceeded, what the
    /// pods were doing when the deadline passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Reason>,
    /// One line for a person: what happened and where.
    pub message: String,
    /// Whether running the same Job again is likely to help.
    pub retryable: Retryable,
    /// The facts the finding rests on, at most a bounded number.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// For an Indexed Job, each failed index with its cause, at most a bounded number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_indexes: Vec<FailedIndex>,
    /// Remarks beside the reason.
    #[serde(default)]
    pub notes: Vec<Note>,
    /// The change to make, naming the field, when a change can help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// Seconds after which the classification may change with no new event, because it depends
    /// on elapsed time (a threshold or a deadline still to come).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_after_seconds: Option<i64>,
}

impl Finding {
    /// Builds a finding with no cause, evidence, notes or advice, which is not retryable.
    pub fn new(state: State, reason: Reason, message: String) -> Finding {
        Finding {
            state,
            reason,
            cause: None,
            message,
            retryable: Retryable::No,
            evidence: Vec::new(),
            failed_indexes: Vec::new(),
            notes: Vec::new(),
            advice: None,
            recheck_after_seconds: None,
        }
    }
}

/// Cuts `text` to at most [`MAX_MESSAGE_CHARS`] characters, marking the cut with an ellipsis.
pub fn bounded(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_MESSAGE_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_keeps_short_text() {
        assert_eq!(bounded("exit 1"), "exit 1");
    }

    #[test]
    fn bounded_cuts_long_text() {
        let long = "x".repeat(MAX_MESSAGE_CHARS * 2);
        let cut = bounded(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn reason_names_match_serde() {
        let json = serde_json::to_string(&Reason::OOMKilled).unwrap();
        assert_eq!(json, "\"OOMKilled\"");
        let json = serde_json::to_string(&Retryable::WithChange).unwrap();
        assert_eq!(json, "\"WithChange\"");
    }
}
