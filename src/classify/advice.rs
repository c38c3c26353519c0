//! Whether a retry helps, how to name the field to change, and text helpers for messages.

use crate::finding::{Reason, Retryable};

/// Returns whether re-running the same Job is likely to help for `reason`, with `cause` the
/// deeper cause when one is known (what the pods were doing when a deadline passed, or the
/// common cause of the failed indexes).
pub(crate) fn retryable(reason: Reason, cause: Option<Reason>) -> Retryable {
    match reason {
        Reason::Disruption | Reason::ImagePullTransient => Retryable::Yes,
        Reason::OOMKilled
        | Reason::NonZeroExit
        | Reason::CrashLoop
        | Reason::LivenessProbeKilled
        | Reason::InitContainerFailed
        | Reason::BackoffLimitExceeded
        | Reason::PodFailurePolicy
        | Reason::ImagePullBackOff
        | Reason::InvalidImageName
        | Reason::PodCreationFailed
        | Reason::Unschedulable
        | Reason::CreateContainerConfigError
        | Reason::VolumeMountFailed
        | Reason::SidecarBlocksCompletion => Retryable::WithChange,
        Reason::DeadlineExceeded | Reason::IndexedJobFailedIndexes => match cause {
            // A hung pod or a deadline that ran out while waiting needs a fix or a longer deadline.
            Some(Reason::Running | Reason::Pending | Reason::Stalled | Reason::LongRunning) | None => {
                Retryable::WithChange
            }
            Some(cause) => retryable(cause, None),
        },
        Reason::StuckTerminating
        | Reason::Stalled
        | Reason::Succeeded
        | Reason::Running
        | Reason::Pending
        | Reason::Suspended
        | Reason::LongRunning => Retryable::No,
    }
}

/// Returns the pod template path of a container, such as `spec.template.spec.containers[ingest]`.
pub(crate) fn container_field(name: &str, init: bool) -> String {
    let list = if init { "initContainers" } else { "containers" };
    format!("spec.template.spec.{list}[{name}]")
}

/// Returns true when a message reads like a failure that may pass by itself: a timeout, a
/// refused or reset connection, a rate limit or a temporarily unavailable service.
pub(crate) fn looks_transient(message: &str) -> bool {
    const MARKERS: [&str; 17] = [
        "timeout",
        "timed out",
        "deadline exceeded",
        "connection refused",
        "connection reset",
        "broken pipe",
        "toomanyrequests",
        "too many requests",
        "rate limit",
        "temporarily unavailable",
        "temporary failure",
        "service unavailable",
        "try again",
        "i/o error",
        "tls handshake",
        "unexpected eof",
        "503",
    ];
    let lower = message.to_lowercase();
    MARKERS.iter().any(|marker| lower.contains(marker))
}

/// Returns true when an image pull error shows the image cannot be had with this spec: it does
/// not exist, or access to it is denied.
pub(crate) fn is_permanent_pull_error(message: &str) -> bool {
    const MARKERS: [&str; 12] = [
        "not found",
        "notfound",
        "manifest unknown",
        "name unknown",
        "repository does not exist",
        "pull access denied",
        "access denied",
        "unauthorized",
        "authentication required",
        "insufficient_scope",
        "forbidden",
        "denied",
    ];
    let lower = message.to_lowercase();
    MARKERS.iter().any(|marker| lower.contains(marker))
}

/// Formats a number of seconds for a person, such as "56h10m", "4m4s" or "30s".
pub(crate) fn format_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let days = seconds / 86_400;
    let hours = seconds % 86_400 / 3600;
    let minutes = seconds % 3600 / 60;
    let rest = seconds % 60;
    if days >= 2 {
        format!("{days}d{hours}h")
    } else if seconds >= 3600 {
        format!("{}h{minutes}m", seconds / 3600)
    } else if seconds >= 60 {
        if rest == 0 { format!("{minutes}m") } else { format!("{minutes}m{rest}s") }
    } else {
        format!("{rest}s")
    }
}

/// Replaces line breaks with spaces, so text fits the one-line message.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Returns "1 attempt" or "N attempts" style text.
pub(crate) fn plural(count: i64, singular: &str, plural: &str) -> String {
    if count == 1 { format!("1 {singular}") } else { format!("{count} {plural}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_retryable_follows_cause() {
        assert_eq!(retryable(Reason::DeadlineExceeded, Some(Reason::Running)), Retryable::WithChange);
        assert_eq!(retryable(Reason::DeadlineExceeded, Some(Reason::ImagePullTransient)), Retryable::Yes);
        assert_eq!(retryable(Reason::DeadlineExceeded, None), Retryable::WithChange);
    }

    #[test]
    fn pull_errors_sort_into_permanent_and_transient() {
        assert!(is_permanent_pull_error("failed to resolve reference \"r/x:1\": r/x:1: not found"));
        assert!(is_permanent_pull_error("pull access denied, repository does not exist"));
        assert!(!is_permanent_pull_error("429 Too Many Requests - toomanyrequests: rate limit"));
        assert!(looks_transient("toomanyrequests: You have reached your pull rate limit"));
        assert!(looks_transient("dial tcp 10.0.0.1:443: i/o timeout"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(30), "30s");
        assert_eq!(format_duration(244), "4m4s");
        assert_eq!(format_duration(600), "10m");
        assert_eq!(format_duration(3 * 3600 + 7 * 60), "3h7m");
        assert_eq!(format_duration(3 * 86_400 + 5 * 3600), "3d5h");
        assert_eq!(format_duration(-5), "0s");
    }

    #[test]
    fn one_line_joins_lines() {
        assert_eq!(one_line("a\n  b\n"), "a b");
    }
}
