//! Jobs ended by `spec.activeDeadlineSeconds`, with what their pods were doing at the time.
//!
//! The deadline is the outcome, not the cause: a pod that hung while Running needs a fix or a
//! longer deadline, while a pod that never started needs the blocker removed.

use super::Diagnosis;
use super::advice::one_line;
use super::context::Context;
use super::events::{self, EventView};
use super::evidence::{self, EvidenceList, Rank};
use super::failed;
use super::pods;
use super::stuck::{blocker_advice, describe_blocker, pod_blocker};
use crate::finding::Reason;

/// Diagnoses a Job whose Failed or FailureTarget condition has reason DeadlineExceeded.
pub(crate) fn diagnose(ctx: &Context<'_>) -> Diagnosis {
    let deadline = ctx.active_deadline_seconds();
    let start = ctx.start_time();
    let deadline_text = match (deadline, start) {
        (Some(seconds), Some(start)) => format!("spec.activeDeadlineSeconds ({seconds}s, started {start})"),
        (Some(seconds), None) => format!("spec.activeDeadlineSeconds ({seconds}s)"),
        (None, _) => "spec.activeDeadlineSeconds".to_string(),
    };
    let deadline_field = match deadline {
        Some(seconds) => format!("spec.activeDeadlineSeconds ({seconds})"),
        None => "spec.activeDeadlineSeconds".to_string(),
    };
    let deadline_at = match (deadline, start) {
        (Some(seconds), Some(start)) => Some(start.as_second().saturating_add(seconds)),
        _ => None,
    };

    let (cause, cause_text, advice, mut list, pods_gone) = cause_from_attempts(ctx, deadline_at)
        .or_else(|| cause_from_pods(ctx, &deadline_field))
        .or_else(|| cause_from_events(ctx, &deadline_field))
        .unwrap_or_else(|| {
            (
                None,
                "no pod or Event shows what the pods were doing".to_string(),
                format!("raise {deadline_field} if the work needs longer, after checking the containers' logs"),
                EvidenceList::default(),
                ctx.pods.is_empty(),
            )
        });

    // The start time rather than the elapsed time, so the evidence does not change between passes.
    list.push(Rank::Key, evidence::job_fact(format!(
        "{deadline_text}; Job started {}",
        start.map(|start| start.to_string()).unwrap_or_else(|| "at an unknown time".to_string())
    )));
    for event in ctx.events.iter().filter(|event| is_deadline_event(event)) {
        list.push(Rank::Context, evidence::event(event));
    }

    let message = format!("Job ran longer than {deadline_text}; {cause_text}");
    let mut diagnosis = Diagnosis::new(Reason::DeadlineExceeded, message).with_advice(advice);
    diagnosis.cause = cause;
    diagnosis.evidence = list;
    diagnosis.pods_gone = pods_gone;
    diagnosis
}

type Cause = (Option<Reason>, String, String, EvidenceList, bool);

fn is_deadline_event(event: &EventView<'_>) -> bool {
    matches!(event.reason, "DeadlineExceeded" | "SuccessfulDelete") || (event.reason == "Killing" && event.pod().is_some())
}

/// Returns the cause when attempts failed before the deadline: the failures are what used the
/// time, and the kill by the deadline itself (exit 137 or 143) is left out.
fn cause_from_attempts(ctx: &Context<'_>, deadline_at: Option<i64>) -> Option<Cause> {
    let before: Vec<failed::Attempt<'_>> = failed::attempts(ctx)
        .into_iter()
        .filter(|attempt| match (deadline_at, attempt.finished_at()) {
            (Some(deadline), Some(finished)) => finished.as_second() < deadline,
            _ => false,
        })
        .collect();
    let diagnosis = failed::from_attempts(ctx, &before)?;
    let text = format!("before that, attempts failed: {}", diagnosis.message);
    let advice = diagnosis.advice.clone().unwrap_or_default();
    Some((Some(diagnosis.reason), text, advice, diagnosis.evidence, false))
}

/// Returns the cause from the pods that still exist: Running when a work container was still
/// running (the pod hung or was slow), else what kept the pod from starting.
fn cause_from_pods(ctx: &Context<'_>, deadline_field: &str) -> Option<Cause> {
    for pod in ctx.pods.iter().copied() {
        let containers = pods::containers(pod);
        let running: Vec<&pods::ContainerRef<'_>> = containers
            .iter()
            .filter(|container| container.is_running() && !container.native_sidecar && !container.init)
            .collect();
        let Some(first) = running.first() else {
            continue;
        };
        let mut list = EvidenceList::default();
        list.extend(Rank::Primary, running.iter().map(|container| evidence::running(container)));
        if let Some(deleted) = pod.metadata.deletion_timestamp.as_ref() {
            list.push(Rank::Key, evidence::pod_fact(pod, "Terminating", "the Job controller is deleting the pod".to_string(), Some(deleted.0)));
        }
        let since = first
            .status
            .state
            .as_ref()
            .and_then(|state| state.running.as_ref())
            .and_then(|running| running.started_at.as_ref())
            .map(|time| format!(" since {}", time.0))
            .unwrap_or_default();
        let restarts = first.status.restart_count;
        let text = format!(
            "its pod {} was still Running (container \"{}\" running{since}, {restarts} restarts), so it hung or was slow rather than crashed",
            pods::name(pod),
            first.name()
        );
        let advice = format!(
            "find what container \"{}\" waits on (its logs) and fix it, or raise {deadline_field} if the work needs longer",
            first.name()
        );
        return Some((Some(Reason::Running), text, advice, list, false));
    }

    let mut blockers: Vec<_> = ctx.pods.iter().filter_map(|pod| pod_blocker(ctx, pod)).collect();
    if blockers.is_empty() {
        return None;
    }
    let index = blockers
        .iter()
        .position(|blocker| blocker.reason != Reason::Pending)
        .unwrap_or(0);
    let blocker = blockers.swap_remove(index);
    let (message, advice) = describe_blocker(&blocker);
    let advice = match advice {
        Some(advice) => format!("{advice}; the deadline, {deadline_field}, only hid this cause"),
        None => format!("find why the pod did not start, or raise {deadline_field}"),
    };
    let text = format!("its pod was still waiting to run: {message}");
    Some((Some(blocker.reason), text, advice, blocker.evidence, false))
}

/// Returns the cause from Events when the pods are gone.
fn cause_from_events(ctx: &Context<'_>, deadline_field: &str) -> Option<Cause> {
    let pods_gone = ctx.pods.is_empty();
    let pod_events: Vec<&EventView<'_>> = ctx.events.iter().filter(|event| event.pod().is_some()).collect();
    let find = |predicate: fn(&EventView<'_>) -> bool| -> Option<&EventView<'_>> {
        pod_events.iter().copied().filter(|event| predicate(event)).max_by_key(|event| event.last)
    };

    let (reason, event, text) = if let Some(event) = find(|event| event.reason == "FailedScheduling") {
        (Reason::Unschedulable, event, "its pod could not be scheduled")
    } else if let Some(event) = find(events::is_pull_failure) {
        let reason = if super::advice::is_permanent_pull_error(event.message) {
            Reason::ImagePullBackOff
        } else {
            Reason::ImagePullTransient
        };
        (reason, event, "its pod could not pull its image")
    } else if let Some(event) = find(|event| event.reason == "Failed" && event.message.starts_with("Error: ") && !event.message.contains("Image")) {
        (Reason::CreateContainerConfigError, event, "its container could not be created")
    } else if let Some(event) = find(|event| matches!(event.reason, "FailedMount" | "FailedAttachVolume")) {
        (Reason::VolumeMountFailed, event, "its pod could not mount its volumes")
    } else if let Some(event) = find(|event| event.reason == "Started") {
        (Reason::Running, event, "its container had started and was still running")
    } else {
        return None;
    };

    let mut list = EvidenceList::default();
    list.push(Rank::Primary, evidence::event(event));
    let events_note = if pods_gone { "; the pod is gone, so this rests on Events" } else { "" };
    let text = format!(
        "{text} (pod {}, {} x{}: {}){events_note}",
        event.pod().unwrap_or("?"),
        event.reason,
        event.count,
        one_line(event.message)
    );
    let container = event.container.map(|name| (name, event.init_container));
    let advice = match blocker_advice(reason, container, "") {
        Some(advice) => format!("{advice}; the deadline, {deadline_field}, only hid this cause"),
        None => format!("find what the container waited on (its logs) and fix it, or raise {deadline_field} if the work needs longer"),
    };
    Some((Some(reason), text, advice, list, pods_gone))
}
