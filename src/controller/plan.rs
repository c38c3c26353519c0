//! Plan: decides what to write for one Job from its finding and what is already recorded. Pure.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use kube::ResourceExt;

use crate::conditions::{condition, find, merge_condition};
use crate::crd::{JobHealth, JobHealthPolicy, JobHealthPolicyStatus, JobHealthSpec, JobHealthStatus, StateCounts};
use crate::select::PolicyError;
use crate::finding::{Finding, MAX_EVIDENCE, Reason, State, bounded};

/// Condition type that is False while the Job is Stuck, Failing or Failed.
pub const HEALTHY: &str = "Healthy";
/// Condition type that turns False when the Job is deleted; its transition starts retention.
pub const JOB_PRESENT: &str = "JobPresent";

/// How long to wait before classifying an active Job again when nothing changes.
const ACTIVE_RESYNC: Duration = Duration::from_secs(300);
/// How long to wait before classifying a finished Job again when nothing changes.
const FINISHED_RESYNC: Duration = Duration::from_secs(3600);

/// The writes planned for a Job that a policy covers.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportPlan {
    /// The JobHealth spec to apply, when the object is missing or its spec differs.
    pub spec: Option<JobHealthSpec>,
    /// The JobHealth status to apply, when it differs from the recorded one.
    pub status: Option<JobHealthStatus>,
    /// The Event to record on the Job, when the reason changed.
    pub event: Option<JobEvent>,
    /// When to classify the Job again if nothing changes before.
    pub requeue_after: Duration,
}

/// An Event to record on the Job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEvent {
    /// True for a Warning Event, false for a Normal one.
    pub warning: bool,
    /// The Event reason: the finding's reason.
    pub reason: String,
    /// The Event note: the finding's message.
    pub note: String,
}

/// Plans the writes for `job`, covered by `policy`, given its `finding` and the JobHealth
/// recorded so far (`existing`).
pub fn plan_report(job: &Job, policy: &JobHealthPolicy, existing: Option<&JobHealth>, finding: &Finding, now: Timestamp) -> ReportPlan {
    let desired_spec = JobHealthSpec {
        job_name: job.name_any(),
        job_uid: job.uid().unwrap_or_default(),
        policy: policy.name_any(),
    };
    let spec = match existing {
        Some(health) if health.spec == desired_spec => None,
        _ => Some(desired_spec),
    };

    let recorded = existing.and_then(|health| health.status.as_ref());
    let generation = existing.and_then(|health| health.metadata.generation);
    let desired_status = desired_status(recorded, finding, generation, now);
    let status = match recorded {
        Some(recorded) if *recorded == desired_status => None,
        _ => Some(desired_status),
    };

    // An Event marks a change of reason, not every pass; a JobHealth recreated for a new Job
    // with the same name starts over.
    let same_job = existing.is_some_and(|health| health.spec.job_uid == job.uid().unwrap_or_default());
    let recorded_reason = if same_job { recorded.and_then(|status| status.reason) } else { None };
    let event = if recorded_reason == Some(finding.reason) {
        None
    } else {
        Some(JobEvent {
            warning: finding.state.is_unhealthy(),
            reason: finding.reason.as_str().to_string(),
            note: finding.message.clone(),
        })
    };

    let resync = match finding.state {
        State::Succeeded | State::Failed => FINISHED_RESYNC,
        State::Pending | State::Running | State::Suspended | State::Stuck | State::Failing => ACTIVE_RESYNC,
    };
    let requeue_after = match finding.recheck_after_seconds {
        Some(seconds) if seconds > 0 => Duration::from_secs(seconds as u64).min(resync),
        // A threshold already due: look again soon rather than spin.
        Some(_) => Duration::from_secs(1),
        None => resync,
    };

    ReportPlan { spec, status, event, requeue_after }
}

/// Completes a finding from the classification recorded before, because the Job controller
/// deletes pods when a Job fails and their state is then gone:
/// - a DeadlineExceeded finding with no cause takes the recorded reason as its cause;
/// - a BackoffLimitExceeded or PodFailurePolicy finding, which the classifier gives only when it
///   finds nothing more specific, takes the recorded failure reason (such as OOMKilled or
///   Disruption) with its evidence and advice.
pub fn carry_forward(mut finding: Finding, recorded: Option<&JobHealthStatus>) -> Finding {
    let Some(previous) = recorded.and_then(|status| status.finding.as_ref()) else {
        return finding;
    };
    match finding.reason {
        // Carried on an earlier pass: keep it as it was.
        Reason::DeadlineExceeded if finding.cause.is_none() && previous.reason == Reason::DeadlineExceeded && previous.cause.is_some() => {
            finding.cause = previous.cause;
            finding.message = previous.message.clone();
        }
        Reason::DeadlineExceeded if finding.cause.is_none() && explains_wait(previous.reason) => {
            finding.cause = Some(previous.reason);
            finding.message = bounded(&format!(
                "{}; before the deadline jobhealth saw {}: {}",
                finding.message, previous.reason, previous.message
            ));
        }
        Reason::BackoffLimitExceeded | Reason::PodFailurePolicy if is_attempt_failure(previous.reason) => {
            let outcome = finding.reason;
            let suffix = format!("; the Job then failed ({outcome})");
            let message = if previous.message.ends_with(&suffix) {
                previous.message.clone()
            } else {
                bounded(&format!("{}{suffix}", previous.message))
            };
            // The recorded evidence already contains this pass's items after the first carry, so
            // only new items are added and the status stays the same from pass to pass.
            let mut evidence = previous.evidence.clone();
            for item in finding.evidence {
                if !evidence.contains(&item) {
                    evidence.push(item);
                }
            }
            evidence.truncate(MAX_EVIDENCE);
            finding = Finding {
                state: finding.state,
                reason: previous.reason,
                cause: previous.cause,
                message,
                retryable: previous.retryable,
                evidence,
                failed_indexes: finding.failed_indexes,
                notes: finding.notes,
                advice: previous.advice.clone().or(finding.advice),
                recheck_after_seconds: finding.recheck_after_seconds,
            };
        }
        _ => {}
    }
    finding
}

/// Returns true for reasons that describe what the pods were doing before a deadline passed.
fn explains_wait(reason: Reason) -> bool {
    match reason {
        Reason::Running
        | Reason::LongRunning
        | Reason::Pending
        | Reason::Stalled
        | Reason::Unschedulable
        | Reason::ImagePullBackOff
        | Reason::ImagePullTransient
        | Reason::InvalidImageName
        | Reason::CreateContainerConfigError
        | Reason::VolumeMountFailed
        | Reason::PodCreationFailed
        | Reason::SidecarBlocksCompletion
        | Reason::StuckTerminating
        | Reason::CrashLoop
        | Reason::OOMKilled
        | Reason::NonZeroExit
        | Reason::LivenessProbeKilled
        | Reason::InitContainerFailed
        | Reason::Disruption => true,
        // Outcomes, not what the pods were doing.
        Reason::DeadlineExceeded
        | Reason::IndexedJobFailedIndexes
        | Reason::BackoffLimitExceeded
        | Reason::PodFailurePolicy
        | Reason::Succeeded
        | Reason::Suspended => false,
    }
}

/// Returns true for reasons that name why a pod attempt failed.
fn is_attempt_failure(reason: Reason) -> bool {
    match reason {
        Reason::OOMKilled
        | Reason::NonZeroExit
        | Reason::CrashLoop
        | Reason::LivenessProbeKilled
        | Reason::InitContainerFailed
        | Reason::Disruption => true,
        Reason::DeadlineExceeded
        | Reason::IndexedJobFailedIndexes
        | Reason::BackoffLimitExceeded
        | Reason::PodFailurePolicy
        | Reason::ImagePullBackOff
        | Reason::InvalidImageName
        | Reason::ImagePullTransient
        | Reason::PodCreationFailed
        | Reason::Unschedulable
        | Reason::CreateContainerConfigError
        | Reason::VolumeMountFailed
        | Reason::SidecarBlocksCompletion
        | Reason::StuckTerminating
        | Reason::Stalled
        | Reason::Succeeded
        | Reason::Running
        | Reason::Pending
        | Reason::Suspended
        | Reason::LongRunning => false,
    }
}

/// Builds the status for `finding`, keeping condition transition times from `recorded`.
fn desired_status(recorded: Option<&JobHealthStatus>, finding: &Finding, generation: Option<i64>, now: Timestamp) -> JobHealthStatus {
    let existing_conditions = recorded.map(|status| status.conditions.as_slice()).unwrap_or_default();
    let healthy = condition(
        HEALTHY,
        !finding.state.is_unhealthy(),
        finding.reason.as_str(),
        &finding.message,
        generation,
        now,
    );
    let present = condition(JOB_PRESENT, true, "JobFound", "The Job exists.", generation, now);
    let conditions = merge_condition(&merge_condition(existing_conditions, healthy), present);

    JobHealthStatus {
        observed_generation: generation,
        state: Some(finding.state),
        reason: Some(finding.reason),
        message: Some(finding.message.clone()),
        finding: Some(finding.clone()),
        conditions,
    }
}

/// The action for a JobHealth whose Job no longer exists.
#[derive(Clone, Debug, PartialEq)]
pub enum RetentionPlan {
    /// Record that the Job is gone; retention counts from now.
    MarkGone(JobHealthStatus),
    /// Keep the JobHealth until the retention period ends.
    Keep { remaining: Duration },
    /// The retention period is over: delete the JobHealth.
    Delete,
}

/// Plans what to do with `health`, whose Job is gone, given the retention in seconds.
pub fn plan_retention(health: &JobHealth, retention_seconds: i64, now: Timestamp) -> RetentionPlan {
    let status = health.status.clone().unwrap_or_default();
    let gone_since = find(&status.conditions, JOB_PRESENT)
        .filter(|condition| condition.status == "False")
        .map(|condition| condition.last_transition_time.0);

    let Some(gone_since) = gone_since else {
        let gone = condition(
            JOB_PRESENT,
            false,
            "JobDeleted",
            "The Job was deleted; this record is kept for the policy's retention period.",
            health.metadata.generation,
            now,
        );
        let conditions = merge_condition(&status.conditions, gone);
        return RetentionPlan::MarkGone(JobHealthStatus { conditions, ..status });
    };

    let elapsed = now.duration_since(gone_since).as_secs();
    if elapsed >= retention_seconds {
        RetentionPlan::Delete
    } else {
        RetentionPlan::Keep { remaining: Duration::from_secs((retention_seconds - elapsed) as u64) }
    }
}

/// Condition type on a policy: True when the policy is valid and in use.
pub const READY: &str = "Ready";

/// Builds the status of `policy` from its validation result and the JobHealth objects of the
/// Jobs it covers. Returns `None` when the recorded status is already the same.
pub fn plan_policy_status(
    policy: &JobHealthPolicy,
    validation: Result<(), &PolicyError>,
    covered: &[&JobHealth],
    now: Timestamp,
) -> Option<JobHealthPolicyStatus> {
    let recorded = policy.status.clone().unwrap_or_default();
    let generation = policy.metadata.generation;
    let ready = match validation {
        Ok(()) => condition(READY, true, "Valid", "The policy is valid and selects Jobs.", generation, now),
        Err(error) => condition(READY, false, error.category(), &error.to_string(), generation, now),
    };

    let mut counts = StateCounts::default();
    for health in covered {
        if let Some(state) = health.status.as_ref().and_then(|status| status.state) {
            counts.add(state);
        }
    }
    let unhealthy = counts.stuck + counts.failing + counts.failed;
    let desired = JobHealthPolicyStatus {
        observed_generation: generation,
        conditions: merge_condition(&recorded.conditions, ready),
        jobs: covered.len() as i64,
        unhealthy,
        counts,
    };
    if policy.status.as_ref() == Some(&desired) { None } else { Some(desired) }
}

/// Returns true when the JobHealth still describes an existing Job.
pub fn job_present(health: &JobHealth) -> bool {
    let conditions = health.status.as_ref().map(|status| status.conditions.as_slice()).unwrap_or_default();
    find(conditions, JOB_PRESENT).is_none_or(|condition| condition.status != "False")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::JobHealthPolicySpec;
    use crate::finding::Retryable;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn job() -> Job {
        let mut job = Job::default();
        job.metadata.name = Some("nightly".into());
        job.metadata.namespace = Some("team-a".into());
        job.metadata.uid = Some("uid-1".into());
        job
    }

    fn policy() -> JobHealthPolicy {
        JobHealthPolicy::new("default", JobHealthPolicySpec::default())
    }

    fn finding(state: State, reason: Reason) -> Finding {
        Finding::new(state, reason, format!("{reason} seen"))
    }

    /// Returns the JobHealth as stored after one reconcile: the spec applied first, then the
    /// status planned against the applied object, as `reconcile_job` does.
    fn stored(plan: &ReportPlan, previous: Option<&JobHealth>) -> JobHealth {
        let spec = plan.spec.clone().unwrap_or_else(|| previous.unwrap().spec.clone());
        let mut health = JobHealth::new("nightly", spec);
        health.metadata.generation = Some(1);
        health.status = previous.and_then(|p| p.status.clone());
        if let Some(status) = &plan.status {
            let mut status = status.clone();
            status.observed_generation = Some(1);
            for condition in &mut status.conditions {
                condition.observed_generation = Some(1);
            }
            health.status = Some(status);
        }
        health
    }

    #[test]
    fn first_pass_writes_everything() {
        let plan = plan_report(&job(), &policy(), None, &finding(State::Running, Reason::Running), at("2025-01-01T00:00:00Z"));
        assert!(plan.spec.is_some());
        assert!(plan.status.is_some());
        let event = plan.event.expect("first classification records an Event");
        assert!(!event.warning);
        assert_eq!(event.reason, "Running");
    }

    #[test]
    fn unchanged_finding_writes_nothing() {
        let running = finding(State::Running, Reason::Running);
        let first = plan_report(&job(), &policy(), None, &running, at("2025-01-01T00:00:00Z"));
        let health = stored(&first, None);
        let second = plan_report(&job(), &policy(), Some(&health), &running, at("2025-01-01T00:05:00Z"));
        assert_eq!(second.spec, None);
        assert_eq!(second.status, None);
        assert_eq!(second.event, None);
    }

    #[test]
    fn reason_change_records_warning() {
        let first = plan_report(&job(), &policy(), None, &finding(State::Running, Reason::Running), at("2025-01-01T00:00:00Z"));
        let health = stored(&first, None);
        let oom = finding(State::Failed, Reason::OOMKilled);
        let second = plan_report(&job(), &policy(), Some(&health), &oom, at("2025-01-01T00:05:00Z"));
        let event = second.event.expect("a new reason records an Event");
        assert!(event.warning);
        assert_eq!(event.reason, "OOMKilled");
        let status = second.status.expect("status changes");
        let healthy = find(&status.conditions, HEALTHY).unwrap();
        assert_eq!(healthy.status, "False");
        assert_eq!(healthy.last_transition_time.0, at("2025-01-01T00:05:00Z"));
        let present = find(&status.conditions, JOB_PRESENT).unwrap();
        assert_eq!(present.last_transition_time.0, at("2025-01-01T00:00:00Z"));
    }

    #[test]
    fn recheck_shortens_requeue() {
        let mut pending = finding(State::Pending, Reason::Pending);
        pending.recheck_after_seconds = Some(42);
        let plan = plan_report(&job(), &policy(), None, &pending, at("2025-01-01T00:00:00Z"));
        assert_eq!(plan.requeue_after, Duration::from_secs(42));

        let done = finding(State::Succeeded, Reason::Succeeded);
        let plan = plan_report(&job(), &policy(), None, &done, at("2025-01-01T00:00:00Z"));
        assert_eq!(plan.requeue_after, FINISHED_RESYNC);
    }

    #[test]
    fn retention_marks_then_keeps_then_deletes() {
        let first = plan_report(&job(), &policy(), None, &finding(State::Failed, Reason::OOMKilled), at("2025-01-01T00:00:00Z"));
        let mut health = stored(&first, None);

        let RetentionPlan::MarkGone(status) = plan_retention(&health, 3600, at("2025-01-01T01:00:00Z")) else {
            panic!("a JobHealth whose Job just went is marked first");
        };
        assert_eq!(find(&status.conditions, JOB_PRESENT).unwrap().status, "False");
        assert_eq!(status.reason, Some(Reason::OOMKilled), "marking keeps the finding");
        health.status = Some(status);

        let plan = plan_retention(&health, 3600, at("2025-01-01T01:30:00Z"));
        assert_eq!(plan, RetentionPlan::Keep { remaining: Duration::from_secs(1800) });

        let plan = plan_retention(&health, 3600, at("2025-01-01T02:00:00Z"));
        assert_eq!(plan, RetentionPlan::Delete);
    }

    #[test]
    fn policy_status_counts_states() {
        let mut policy = policy();
        policy.metadata.generation = Some(3);
        let failed = plan_report(&job(), &policy, None, &finding(State::Failed, Reason::OOMKilled), at("2025-01-01T00:00:00Z"));
        let running = plan_report(&job(), &policy, None, &finding(State::Running, Reason::Running), at("2025-01-01T00:00:00Z"));
        let failed = stored(&failed, None);
        let running = stored(&running, None);

        let status = plan_policy_status(&policy, Ok(()), &[&failed, &running], at("2025-01-01T00:00:00Z")).unwrap();
        assert_eq!(status.jobs, 2);
        assert_eq!(status.unhealthy, 1);
        assert_eq!(status.counts.failed, 1);
        assert_eq!(status.counts.running, 1);
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(find(&status.conditions, READY).unwrap().status, "True");

        policy.status = Some(status);
        let again = plan_policy_status(&policy, Ok(()), &[&failed, &running], at("2025-01-01T00:10:00Z"));
        assert_eq!(again, None, "an unchanged status is not written");
    }

    #[test]
    fn invalid_policy_is_not_ready() {
        let policy = policy();
        let error = PolicyError::InvalidSelector { policy: "default".into(), message: "unknown operator".into() };
        let status = plan_policy_status(&policy, Err(&error), &[], at("2025-01-01T00:00:00Z")).unwrap();
        let ready = find(&status.conditions, READY).unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, "InvalidSelector");
        assert!(ready.message.contains("unknown operator"));
    }

    #[test]
    fn deadline_cause_carried_from_previous_reason() {
        let first = plan_report(&job(), &policy(), None, &finding(State::Stuck, Reason::Unschedulable), at("2025-01-01T00:00:00Z"));
        let health = stored(&first, None);
        let deadline = finding(State::Failed, Reason::DeadlineExceeded);

        let carried = carry_forward(deadline.clone(), health.status.as_ref());
        assert_eq!(carried.reason, Reason::DeadlineExceeded);
        assert_eq!(carried.cause, Some(Reason::Unschedulable));
        assert!(carried.message.contains("Unschedulable seen"), "{}", carried.message);

        let mut known = deadline.clone();
        known.cause = Some(Reason::Running);
        assert_eq!(carry_forward(known, health.status.as_ref()).cause, Some(Reason::Running), "a known cause is kept");

        assert_eq!(carry_forward(deadline.clone(), None).cause, None, "nothing recorded, nothing carried");

        // The next pass finds the deadline again and must keep the carried cause.
        let mut carried_health = health.clone();
        carried_health.status = plan_report(&job(), &policy(), Some(&health), &carried, at("2025-01-01T00:01:00Z")).status;
        let again = carry_forward(deadline, carried_health.status.as_ref());
        assert_eq!(again, carried, "a carried cause is stable");
    }

    #[test]
    fn backoff_limit_takes_recorded_failure() {
        let mut disrupted = finding(State::Failing, Reason::Disruption);
        disrupted.retryable = Retryable::Yes;
        disrupted.advice = Some("run it again".into());
        let first = plan_report(&job(), &policy(), None, &disrupted, at("2025-01-01T00:00:00Z"));
        let health = stored(&first, None);

        let carried = carry_forward(finding(State::Failed, Reason::BackoffLimitExceeded), health.status.as_ref());
        assert_eq!(carried.state, State::Failed, "the state stays the Job's");
        assert_eq!(carried.reason, Reason::Disruption);
        assert_eq!(carried.retryable, Retryable::Yes);
        assert_eq!(carried.advice.as_deref(), Some("run it again"));
        assert!(carried.message.ends_with("the Job then failed (BackoffLimitExceeded)"), "{}", carried.message);

        // The next pass finds the same and must plan no write.
        let mut carried_health = health.clone();
        let second = plan_report(&job(), &policy(), Some(&health), &carried, at("2025-01-01T00:01:00Z"));
        carried_health.status = second.status.clone();
        let again = carry_forward(finding(State::Failed, Reason::BackoffLimitExceeded), carried_health.status.as_ref());
        assert_eq!(again, carried);
        let third = plan_report(&job(), &policy(), Some(&carried_health), &again, at("2025-01-01T00:02:00Z"));
        assert_eq!(third.status, None, "a carried finding is stable");
    }

    #[test]
    fn backoff_limit_ignores_non_failure_reason() {
        let first = plan_report(&job(), &policy(), None, &finding(State::Running, Reason::Running), at("2025-01-01T00:00:00Z"));
        let health = stored(&first, None);
        let carried = carry_forward(finding(State::Failed, Reason::BackoffLimitExceeded), health.status.as_ref());
        assert_eq!(carried.reason, Reason::BackoffLimitExceeded);
    }
}
