//! Status conditions that follow the Kubernetes API conventions. Pure.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Builds a condition stamped with `now` as its transition time.
pub fn condition(type_: &str, status: bool, reason: &str, message: &str, generation: Option<i64>, now: Timestamp) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation: generation,
        last_transition_time: Time(now),
    }
}

/// Returns `existing` with `desired` in place of the condition of the same type. The
/// lastTransitionTime of an existing condition is kept unless its status flips.
pub fn merge_condition(existing: &[Condition], desired: Condition) -> Vec<Condition> {
    let mut merged: Vec<Condition> = existing.iter().filter(|c| c.type_ != desired.type_).cloned().collect();
    let previous = existing.iter().find(|c| c.type_ == desired.type_);
    let mut desired = desired;
    if let Some(previous) = previous
        && previous.status == desired.status
    {
        desired.last_transition_time = previous.last_transition_time.clone();
    }
    merged.push(desired);
    merged.sort_by(|left, right| left.type_.cmp(&right.type_));
    merged
}

/// Returns the condition of type `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn transition_time_kept_when_status_same() {
        let first = condition("Healthy", false, "OOMKilled", "first", Some(1), at("2025-01-01T00:00:00Z"));
        let second = condition("Healthy", false, "NonZeroExit", "second", Some(2), at("2025-01-01T01:00:00Z"));
        let merged = merge_condition(&[first], second);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].last_transition_time.0, at("2025-01-01T00:00:00Z"));
        assert_eq!(merged[0].reason, "NonZeroExit");
        assert_eq!(merged[0].observed_generation, Some(2));
    }

    #[test]
    fn transition_time_moves_when_status_flips() {
        let first = condition("Healthy", true, "Running", "", None, at("2025-01-01T00:00:00Z"));
        let second = condition("Healthy", false, "OOMKilled", "", None, at("2025-01-01T01:00:00Z"));
        let merged = merge_condition(&[first], second);
        assert_eq!(merged[0].last_transition_time.0, at("2025-01-01T01:00:00Z"));
    }

    #[test]
    fn other_conditions_are_kept() {
        let present = condition("JobPresent", true, "JobFound", "", None, at("2025-01-01T00:00:00Z"));
        let healthy = condition("Healthy", true, "Running", "", None, at("2025-01-01T00:00:00Z"));
        let merged = merge_condition(&[present], healthy);
        assert_eq!(merged.len(), 2);
        assert!(find(&merged, "JobPresent").is_some());
        assert!(find(&merged, "Healthy").is_some());
    }
}
