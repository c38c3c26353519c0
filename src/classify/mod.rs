//! Classification: turns a Job, its Pods and Events, the policy's thresholds and the current time
//! into a [`Finding`]. Pure: no API client and no clock, so it is tested with tables of
//! real-shaped objects.
//!
//! Precedence: the Job's conditions decide the outcome (Complete, then Failed, then
//! FailureTarget). For an active Job, blocked deletion, suspension, pods that cannot be created
//! or started, and a sidecar that keeps a finished pod alive come before failing attempts, which
//! come before the healthy states. The cause always comes from pods and Events, and a container
//! reason never overrides a terminal condition.

mod advice;
mod context;
mod deadline;
mod events;
mod evidence;
mod failed;
mod indexed;
pub mod input;
mod notes;
mod pods;
mod progress;
mod stuck;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};

use crate::finding::{Evidence, FailedIndex, Finding, MAX_FAILED_INDEXES, Note, Reason, Retryable, State, bounded};
use context::{Context, Recheck};
use evidence::EvidenceList;

pub use input::{InputError, JobObjects, Objects, SkippedObject, group_by_job, parse_objects};

/// Time thresholds for calling a Job stuck, in seconds. See `ThresholdsSpec` for their meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Seconds a pod may stay Pending before the Job is called stuck.
    pub pending_seconds: i64,
    /// Seconds a retryable image pull error may last before it counts as ImagePullBackOff.
    pub image_pull_seconds: i64,
    /// Seconds an active Job may have no running pod and no progress before it is Stalled.
    pub stalled_seconds: i64,
    /// Seconds a Job may run before it is reported as LongRunning; None means never.
    pub long_running_seconds: Option<i64>,
    /// Seconds a pod or Job may stay marked for deletion, or a finished pod uncounted, before
    /// the Job is StuckTerminating.
    pub terminating_seconds: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            pending_seconds: 300,
            image_pull_seconds: 600,
            stalled_seconds: 900,
            long_running_seconds: None,
            terminating_seconds: 600,
        }
    }
}

/// Everything the classifier reads about one Job.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// The Job.
    pub job: &'a Job,
    /// The Job's pods that still exist, in any order.
    pub pods: &'a [Pod],
    /// Events about the Job and its pods (including pods that no longer exist), in any order.
    pub events: &'a [Event],
}

/// A reason with its message, evidence and advice, before the state and notes are added.
pub(crate) struct Diagnosis {
    pub reason: Reason,
    pub cause: Option<Reason>,
    pub message: String,
    pub advice: Option<String>,
    /// Overrides the retryable value implied by the reason, when the evidence shows more.
    pub retryable: Option<Retryable>,
    pub evidence: EvidenceList,
    pub failed_indexes: Vec<FailedIndex>,
    /// True when the finding rests on Events because the pods are gone.
    pub pods_gone: bool,
}

impl Diagnosis {
    pub fn new(reason: Reason, message: String) -> Self {
        Diagnosis {
            reason,
            cause: None,
            message,
            advice: None,
            retryable: None,
            evidence: EvidenceList::default(),
            failed_indexes: Vec::new(),
            pods_gone: false,
        }
    }

    pub fn with_advice(mut self, advice: String) -> Self {
        self.advice = Some(advice);
        self
    }

    pub fn with_retryable(mut self, retryable: Retryable) -> Self {
        self.retryable = Some(retryable);
        self
    }
}

/// Classifies one Job at time `now`.
///
/// Reads no clock: `now` is the only time used. Pods and Events may be missing or partial, and
/// the finding rests on what is left. The proptest in `tests/classify_cases.rs` feeds it
/// arbitrary objects and checks that it does not panic and keeps the bounds of `finding`.
pub fn classify(observation: &Observation<'_>, thresholds: &Thresholds, now: Timestamp) -> Finding {
    let ctx = Context::new(observation, thresholds, now);
    let mut recheck = Recheck::default();
    let (state, diagnosis) = decide(&ctx, &mut recheck);
    let notes = notes::collect(&ctx, state, &diagnosis);
    finish(state, diagnosis, notes, recheck)
}

fn decide(ctx: &Context<'_>, recheck: &mut Recheck) -> (State, Diagnosis) {
    if let Some(condition) = ctx.condition("Complete").or_else(|| ctx.condition("SuccessCriteriaMet")) {
        return (State::Succeeded, progress::succeeded(ctx, condition));
    }
    if let Some(condition) = ctx.condition("Failed") {
        return (State::Failed, failed::terminal(ctx, condition));
    }
    if let Some(condition) = ctx.condition("FailureTarget") {
        return (State::Failing, failed::terminal(ctx, condition));
    }

    if let Some(diagnosis) = stuck::terminating(ctx, recheck) {
        return (State::Stuck, diagnosis);
    }
    if progress::is_suspended(ctx) {
        // activeDeadlineSeconds does not run while the Job is suspended, so no recheck.
        return (State::Suspended, progress::suspended(ctx));
    }
    deadline_recheck(ctx, recheck);

    let diagnosis = stuck::pod_creation_failed(ctx)
        .or_else(|| stuck::blocked(ctx, recheck, false))
        .or_else(|| stuck::sidecar(ctx, recheck))
        .or_else(|| failed::failing(ctx))
        .or_else(|| stuck::blocked(ctx, recheck, true))
        .unwrap_or_else(|| progress::active(ctx, recheck));
    let state = active_state(diagnosis.reason);
    (state, with_deadline_warning(ctx, state, diagnosis))
}

/// Adds to a stuck or failing Job's message when `spec.activeDeadlineSeconds` will end it, because
/// the Job will then fail as DeadlineExceeded, which hides the cause found now.
fn with_deadline_warning(ctx: &Context<'_>, state: State, mut diagnosis: Diagnosis) -> Diagnosis {
    if !matches!(state, State::Stuck | State::Failing) {
        return diagnosis;
    }
    if let (Some(deadline), Some(start)) = (ctx.active_deadline_seconds(), ctx.start_time()) {
        let remaining = ctx.seconds_until(start, deadline);
        if remaining > 0 {
            // The end time rather than the time left, so the message stays the same between passes.
            if let Ok(ends_at) = start.checked_add(jiff::SignedDuration::from_secs(deadline)) {
                diagnosis.message.push_str(&format!(
                    "; spec.activeDeadlineSeconds ({deadline}) ends the Job as DeadlineExceeded at {ends_at} unless this is fixed"
                ));
            }
        }
    }
    diagnosis
}

/// Records when `spec.activeDeadlineSeconds` will end an active Job.
fn deadline_recheck(ctx: &Context<'_>, recheck: &mut Recheck) {
    if let (Some(deadline), Some(start)) = (ctx.active_deadline_seconds(), ctx.start_time()) {
        recheck.after(ctx.seconds_until(start, deadline));
    }
}

/// Returns the state of an active Job (no terminal condition) classified with `reason`.
fn active_state(reason: Reason) -> State {
    match reason {
        Reason::OOMKilled
        | Reason::NonZeroExit
        | Reason::CrashLoop
        | Reason::LivenessProbeKilled
        | Reason::InitContainerFailed
        | Reason::Disruption
        | Reason::DeadlineExceeded
        | Reason::IndexedJobFailedIndexes
        | Reason::BackoffLimitExceeded
        | Reason::PodFailurePolicy => State::Failing,
        Reason::ImagePullBackOff
        | Reason::InvalidImageName
        | Reason::ImagePullTransient
        | Reason::PodCreationFailed
        | Reason::Unschedulable
        | Reason::CreateContainerConfigError
        | Reason::VolumeMountFailed
        | Reason::SidecarBlocksCompletion
        | Reason::StuckTerminating
        | Reason::Stalled => State::Stuck,
        Reason::Succeeded => State::Succeeded,
        Reason::Running | Reason::LongRunning => State::Running,
        Reason::Pending => State::Pending,
        Reason::Suspended => State::Suspended,
    }
}

/// Builds the finding, keeping every list and text within the bounds in `finding`.
fn finish(state: State, diagnosis: Diagnosis, notes: Vec<Note>, recheck: Recheck) -> Finding {
    let retryable = diagnosis
        .retryable
        .unwrap_or_else(|| advice::retryable(diagnosis.reason, diagnosis.cause));
    let mut failed_indexes = diagnosis.failed_indexes;
    failed_indexes.truncate(MAX_FAILED_INDEXES);
    for index in &mut failed_indexes {
        index.message = index.message.as_deref().map(bounded);
    }
    Finding {
        state,
        reason: diagnosis.reason,
        cause: diagnosis.cause,
        message: bounded(&advice::one_line(&diagnosis.message)),
        retryable,
        evidence: diagnosis.evidence.finish().into_iter().map(bound_evidence).collect(),
        failed_indexes,
        notes: notes
            .into_iter()
            .map(|note| Note { reason: note.reason, message: bounded(&advice::one_line(&note.message)) })
            .collect(),
        advice: diagnosis.advice.as_deref().map(|advice| bounded(&advice::one_line(advice))),
        recheck_after_seconds: recheck.seconds(),
    }
}

fn bound_evidence(item: Evidence) -> Evidence {
    let bound = |text: Option<String>| text.as_deref().map(bounded);
    Evidence {
        pod: bound(item.pod),
        container: bound(item.container),
        node: bound(item.node),
        reason: bound(item.reason),
        message: bound(item.message),
        time: bound(item.time),
        log_tail: item.log_tail.iter().map(|line| bounded(line)).collect(),
        ..item
    }
}

/// Returns the newest time recorded anywhere in the observation: creation, start, completion,
/// condition and container-state times, and when Events were last seen. Deletion timestamps are
/// left out because they lie in the future during a grace period.
///
/// `jobhealth diagnose -f` uses it as "now" for a saved snapshot that has no time of its own.
pub fn newest_timestamp(observation: &Observation<'_>) -> Option<Timestamp> {
    let mut times: Vec<Timestamp> = Vec::new();
    let job = observation.job;
    times.extend(job.metadata.creation_timestamp.as_ref().map(|time| time.0));
    if let Some(status) = job.status.as_ref() {
        times.extend(status.start_time.as_ref().map(|time| time.0));
        times.extend(status.completion_time.as_ref().map(|time| time.0));
        for condition in status.conditions.iter().flatten() {
            times.extend(condition.last_transition_time.as_ref().map(|time| time.0));
            times.extend(condition.last_probe_time.as_ref().map(|time| time.0));
        }
    }
    for pod in observation.pods {
        times.extend(pods::latest_activity(pod));
        for condition in pod.status.iter().flat_map(|status| status.conditions.iter().flatten()) {
            times.extend(condition.last_probe_time.as_ref().map(|time| time.0));
        }
    }
    for event in observation.events {
        times.extend(events::event_last_time(event));
        times.extend(event.metadata.creation_timestamp.as_ref().map(|time| time.0));
    }
    times.into_iter().max()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2025-09-20T12:10:00Z";

    fn job(restart_policy: &str, status: &str) -> Job {
        let yaml = format!(
            "metadata: {{name: load, namespace: ns, uid: job-uid}}\nspec:\n  backoffLimit: 3\n  template:\n    spec:\n      restartPolicy: {restart_policy}\n      containers: [{{name: main}}]\nstatus:\n{status}"
        );
        serde_norway::from_str(&yaml).expect("valid Job YAML")
    }

    fn pod(yaml: &str) -> Pod {
        serde_norway::from_str(yaml).expect("valid Pod YAML")
    }

    fn classify_at_now(job: &Job, pods: &[Pod], events: &[Event]) -> Finding {
        let observation = Observation { job, pods, events };
        classify(&observation, &Thresholds::default(), NOW.parse().unwrap())
    }

    const FAILED: &str = "  startTime: '2025-09-20T12:00:00Z'\n  failed: 4\n  conditions:\n  - {type: Failed, status: 'True', reason: BackoffLimitExceeded}\n";

    fn failed_pod(name: &str, exit_code: i32, reason: &str, message: &str) -> Pod {
        pod(&format!(
            r#"
metadata: {{name: {name}, namespace: ns, ownerReferences: [{{apiVersion: batch/v1, kind: Job, name: load, uid: job-uid, controller: true}}]}}
spec: {{restartPolicy: Never, containers: [{{name: main}}]}}
status:
  phase: Failed
  containerStatuses:
  - name: main
    image: i
    imageID: ""
    ready: false
    restartCount: 0
    state: {{terminated: {{exitCode: {exit_code}, reason: {reason}, message: "{message}", finishedAt: "2025-09-20T12:05:00Z"}}}}
"#
        ))
    }

    #[test]
    fn exit_137_without_oom_is_nonzero_exit() {
        let finding = classify_at_now(&job("Never", FAILED), &[failed_pod("load-a", 137, "Error", "")], &[]);
        assert_eq!(finding.state, State::Failed);
        assert_eq!(finding.reason, Reason::NonZeroExit);
        assert!(finding.message.contains("SIGKILL, not an OOM kill"), "{}", finding.message);
    }

    #[test]
    fn oom_reason_beats_exit_code() {
        let finding = classify_at_now(&job("Never", FAILED), &[failed_pod("load-a", 137, "OOMKilled", "")], &[]);
        assert_eq!(finding.reason, Reason::OOMKilled);
        assert_eq!(finding.retryable, Retryable::WithChange);
    }

    #[test]
    fn transient_exit_message_is_retryable() {
        let pods = [failed_pod("load-a", 1, "Error", "dial tcp 10.0.0.5:5432: connect: connection refused")];
        let finding = classify_at_now(&job("Never", FAILED), &pods, &[]);
        assert_eq!(finding.reason, Reason::NonZeroExit);
        assert_eq!(finding.retryable, Retryable::Yes);
    }

    #[test]
    fn onfailure_restarts_are_crash_loop() {
        let status = "  startTime: '2025-09-20T12:00:00Z'\n  active: 1\n";
        let restarting = pod(
            r#"
metadata: {name: load-a, namespace: ns, ownerReferences: [{apiVersion: batch/v1, kind: Job, name: load, uid: job-uid, controller: true}]}
spec: {restartPolicy: OnFailure, containers: [{name: main}]}
status:
  phase: Running
  containerStatuses:
  - name: main
    image: i
    imageID: ""
    ready: false
    restartCount: 2
    lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: "2025-09-20T12:08:00Z"}}
    state: {waiting: {reason: CrashLoopBackOff}}
"#,
        );
        let finding = classify_at_now(&job("OnFailure", status), &[restarting], &[]);
        assert_eq!(finding.state, State::Failing);
        assert_eq!(finding.reason, Reason::CrashLoop);
        assert!(finding.message.contains("restarted in place 2 times"), "{}", finding.message);
        assert!(finding.message.contains("2 failures so far"), "{}", finding.message);
    }

    #[test]
    fn pod_of_other_job_is_ignored() {
        let mut other = failed_pod("load-b", 1, "Error", "");
        other.metadata.owner_references.as_mut().unwrap()[0].uid = "other-job".to_string();
        let running = "  startTime: '2025-09-20T12:09:00Z'\n  active: 1\n";
        let finding = classify_at_now(&job("Never", running), &[other], &[]);
        assert_eq!(finding.state, State::Pending);
    }

    #[test]
    fn event_of_other_job_is_ignored() {
        let running = "  startTime: '2025-09-20T12:09:00Z'\n  active: 0\n";
        let event: Event = serde_norway::from_str(
            "metadata: {name: e}\ninvolvedObject: {kind: Job, name: load, namespace: ns, uid: other-job}\nreason: FailedCreate\ntype: Warning\nmessage: 'exceeded quota'\nlastTimestamp: '2025-09-20T12:09:30Z'",
        )
        .unwrap();
        let finding = classify_at_now(&job("Never", running), &[], &[event]);
        assert_eq!(finding.reason, Reason::Pending);
    }

    #[test]
    fn empty_job_is_pending_without_panic() {
        let job = Job::default();
        let observation = Observation { job: &job, pods: &[], events: &[] };
        let finding = classify(&observation, &Thresholds::default(), Timestamp::UNIX_EPOCH);
        assert_eq!(finding.state, State::Pending);
        assert_eq!(finding.reason, Reason::Pending);
    }

    #[test]
    fn newest_timestamp_of_empty_job_is_none() {
        let job = Job::default();
        let observation = Observation { job: &job, pods: &[], events: &[] };
        assert_eq!(newest_timestamp(&observation), None);
    }
}
