//! Policy validation and the choice of the policy that covers a Job. Pure.

use k8s_openapi::api::batch::v1::Job;
use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};

use crate::crd::JobHealthPolicy;

/// A reason a policy cannot be used. A policy with such an error selects no Job until it is changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// The label selector has an unknown operator, or values where none are allowed, or none
    /// where some are required.
    #[error("policy {policy}: invalid spec.selector: {message}")]
    InvalidSelector { policy: String, message: String },
    /// A threshold or the retention period is zero or negative.
    #[error("policy {policy}: {field} must be greater than zero, got {value}")]
    InvalidThreshold { policy: String, field: &'static str, value: i64 },
}

impl PolicyError {
    /// Returns the PascalCase category used as condition reason, Event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            PolicyError::InvalidSelector { .. } => "InvalidSelector",
            PolicyError::InvalidThreshold { .. } => "InvalidThreshold",
        }
    }
}

/// Checks a policy and returns its parsed selector.
pub fn validate_policy(policy: &JobHealthPolicy) -> Result<Selector, PolicyError> {
    let name = policy.name_any();
    let thresholds = &policy.spec.thresholds;
    let checked = [
        ("spec.thresholds.pendingSeconds", thresholds.pending_seconds),
        ("spec.thresholds.imagePullSeconds", thresholds.image_pull_seconds),
        ("spec.thresholds.stalledSeconds", thresholds.stalled_seconds),
        ("spec.thresholds.longRunningSeconds", thresholds.long_running_seconds),
        ("spec.thresholds.terminatingSeconds", thresholds.terminating_seconds),
    ];
    for (field, value) in checked {
        if let Some(value) = value
            && value <= 0
        {
            return Err(PolicyError::InvalidThreshold { policy: name, field, value });
        }
    }
    // Zero retention is allowed: it deletes a JobHealth as soon as its Job is gone.
    if let Some(value) = policy.spec.retention_seconds
        && value < 0
    {
        return Err(PolicyError::InvalidThreshold { policy: name, field: "spec.retentionSeconds", value });
    }

    let selector = policy.spec.selector.clone().unwrap_or_default();
    Selector::try_from(selector).map_err(|error| PolicyError::InvalidSelector { policy: name, message: error.0 })
}

/// Returns true when a valid `policy` selects `job`: same namespace and matching labels.
pub fn policy_selects(policy: &JobHealthPolicy, selector: &Selector, job: &Job) -> bool {
    if policy.namespace() != job.namespace() {
        return false;
    }
    selector.matches(job.labels())
}

/// Chooses the policy that covers `job`: among the valid policies that select it, the oldest,
/// then the one whose name sorts first. Invalid policies select nothing.
pub fn choose_policy<'a, I>(policies: I, job: &Job) -> Option<&'a JobHealthPolicy>
where
    I: IntoIterator<Item = &'a JobHealthPolicy>,
{
    policies
        .into_iter()
        .filter(|policy| policy.metadata.deletion_timestamp.is_none())
        .filter(|policy| match validate_policy(policy) {
            Ok(selector) => policy_selects(policy, &selector, job),
            Err(_) => false,
        })
        .min_by(|left, right| {
            let left_key = (left.metadata.creation_timestamp.as_ref().map(|time| time.0), left.name_any());
            let right_key = (right.metadata.creation_timestamp.as_ref().map(|time| time.0), right.name_any());
            left_key.cmp(&right_key)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::JobHealthPolicySpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, Time};
    use std::collections::BTreeMap;

    fn policy(name: &str, created: &str, selector: Option<LabelSelector>) -> JobHealthPolicy {
        let mut policy = JobHealthPolicy::new(name, JobHealthPolicySpec { selector, ..Default::default() });
        policy.metadata.namespace = Some("team-a".into());
        policy.metadata.creation_timestamp = Some(Time(created.parse().unwrap()));
        policy
    }

    fn job(labels: &[(&str, &str)]) -> Job {
        let mut job = Job::default();
        job.metadata.name = Some("nightly".into());
        job.metadata.namespace = Some("team-a".into());
        job.metadata.labels = Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        job
    }

    fn match_labels(pairs: &[(&str, &str)]) -> Option<LabelSelector> {
        let labels: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Some(LabelSelector { match_labels: Some(labels), ..Default::default() })
    }

    #[test]
    fn empty_selector_selects_all() {
        let all = policy("all", "2025-01-01T00:00:00Z", None);
        assert_eq!(choose_policy([&all], &job(&[])).map(|p| p.name_any()), Some("all".to_string()));
    }

    #[test]
    fn labels_must_match() {
        let batch = policy("batch", "2025-01-01T00:00:00Z", match_labels(&[("tier", "batch")]));
        assert!(choose_policy([&batch], &job(&[("tier", "web")])).is_none());
        assert!(choose_policy([&batch], &job(&[("tier", "batch")])).is_some());
    }

    #[test]
    fn other_namespace_never_selects() {
        let mut other = policy("other", "2025-01-01T00:00:00Z", None);
        other.metadata.namespace = Some("team-b".into());
        assert!(choose_policy([&other], &job(&[])).is_none());
    }

    #[test]
    fn oldest_policy_wins_then_name() {
        let newer = policy("a-newer", "2025-02-01T00:00:00Z", None);
        let older = policy("z-older", "2025-01-01T00:00:00Z", None);
        let chosen = choose_policy([&newer, &older], &job(&[])).unwrap();
        assert_eq!(chosen.name_any(), "z-older");

        let twin_b = policy("b", "2025-01-01T00:00:00Z", None);
        let twin_a = policy("a", "2025-01-01T00:00:00Z", None);
        let chosen = choose_policy([&twin_b, &twin_a], &job(&[])).unwrap();
        assert_eq!(chosen.name_any(), "a");
    }

    #[test]
    fn invalid_selector_selects_nothing() {
        let broken = LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "Sometimes".into(),
                values: None,
            }]),
            ..Default::default()
        };
        let invalid = policy("invalid", "2025-01-01T00:00:00Z", Some(broken));
        let error = validate_policy(&invalid).unwrap_err();
        assert_eq!(error.category(), "InvalidSelector");
        assert!(choose_policy([&invalid], &job(&[])).is_none());
    }

    #[test]
    fn negative_threshold_is_invalid() {
        let mut invalid = policy("invalid", "2025-01-01T00:00:00Z", None);
        invalid.spec.thresholds.pending_seconds = Some(-5);
        let error = validate_policy(&invalid).unwrap_err();
        assert_eq!(error.category(), "InvalidThreshold");
        assert!(error.to_string().contains("spec.thresholds.pendingSeconds"));
    }
}
